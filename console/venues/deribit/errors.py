"""Deribit failures in our taxonomy (console.errors): how the caller must react decides
the class, not where the failure came from. What every venue shares (the error context,
scrubbing, HTTP statuses, transport errors, malformed answers) is in
`console.venues._common.errors`; this module holds Deribit's JSON-RPC error table.

Deribit answers JSON-RPC 2.0: a success carries `result`, a failure
`{"error": {"code": 10004, "message": "order_not_found", "data": {...}}}` (HTTP 400 for
most errors over HTTP: UNVERIFIED for every code, so the body decides, never the status,
except 5xx and 429). The code table is the classic one (ccxt's, NautilusTrader's): the
newer docs page gives other meanings for a few codes, UNVERIFIED which the live API
follows, so the message is always kept in the text.

* 10028 `too_many_requests`: the credit pool ran dry AND Deribit ends the session
  (`SessionTerminatedError`, a rate limit): the client drains its credit estimate, drops
  its token and has the private stream reconnect, which reports
  `ConnectionEvent(reconnected=True)` and so a reconciliation.
* 10047 (matching-engine queue full) is a rate limit too; 10040 `retry`, 10041
  settlement, 11051 maintenance and 13028 `temporarily_unavailable` are transient (the
  request was not processed); 11094 `internal_server_error` and 13888 `timed_out` are
  unknown outcomes for writes (the order may exist: resolved by its label).
* 13004 `invalid_credentials` (public/auth) refuses the key itself: it opens an auth-gate
  episode. 13009 `unauthorized` (an expired or revoked token) is answered by a fresh
  `public/auth` first; only a refused `public/auth` is the operator's problem.
* 10004 `order_not_found` (and 10029 `not_owner_of_order`) is an unknown order; 10010
  `already_closed`, 11044 `not_open_order` and 11008 `already_filled` are FATAL with their
  code: the client asks what became of the order before it says which error it is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any, Final

from console.errors import (
    FatalVenueError,
    OrderNotFoundError,
    RateLimitedError,
    TransientVenueError,
    UnknownOutcomeError,
    VenueError,
)
from console.venues._common.errors import (
    ClockSkewError,
    ErrorContext,
    VenueAuthError,
    error_class,
    error_for_http_status,
    error_for_transport,
    malformed,
    retry_after_ms,
    scrub,
)
from console.venues._common.errors import ErrorClass as Kind

VENUE: Final = "deribit"
SESSION_TERMINATED: Final = 10028
UNAUTHORIZED: Final = 13009
INVALID_CREDENTIALS: Final = 13004
ORDER_NOT_FOUND: Final = 10004
CLOSED_CODES: Final = frozenset({10010, 11044, 11008})
"""already_closed, not_open_order, already_filled: the order's state decides the error."""
MESSAGE_MAX: Final = 300


class SessionTerminatedError(RateLimitedError):
    """10028: the credit pool is empty and Deribit ended the session (see the module
    docstring): wait for credits, authenticate again, reconcile."""


CODES: Final[Mapping[int, Kind]] = {
    10028: Kind.RATE_LIMITED,   # too_many_requests (the session is terminated)
    10047: Kind.RATE_LIMITED,   # matching_engine_queue_full
    11035: Kind.FATAL,          # no_more_stops: a limit of open stops, not of rate
    10040: Kind.TRANSIENT,      # retry: can't be processed right now
    10041: Kind.TRANSIENT,      # settlement_in_progress: trading paused for seconds
    11051: Kind.TRANSIENT,      # system_maintenance
    13028: Kind.TRANSIENT,      # temporarily_unavailable
    11094: Kind.SERVER,         # internal_server_error
    13888: Kind.SERVER,         # timed_out
    9999: Kind.AUTH,            # api_not_enabled
    10000: Kind.AUTH,           # authorization_required
    13004: Kind.AUTH,           # invalid_credentials
    13009: Kind.AUTH,           # unauthorized: wrong or expired token
    13021: Kind.AUTH,           # forbidden: the key lacks the scope
    13001: Kind.AUTH,           # account_not_activated
    13002: Kind.AUTH,           # account_blocked
    10004: Kind.NOT_FOUND,      # order_not_found
    10029: Kind.NOT_FOUND,      # not_owner_of_order
}
"""Codes with a class of their own; any code not listed is FATAL (a bad request, funds,
a price off the tick, a post-only order that would take: 11054, ...)."""

CREDENTIALS_REFUSED: Final = frozenset({str(INVALID_CREDENTIALS), "9999", "13001", "13002",
                                        "http_401"})
"""Refusals of the key itself: every request would be refused the same way, so they open
an `AuthGate` episode (13009 is a token's problem, 13021 one method's scope)."""


def _shown(message: str) -> str:
    return message if len(message) <= MESSAGE_MAX else message[:MESSAGE_MAX] + "..."


def kind_of(code: int) -> Kind:
    return CODES.get(code, Kind.FATAL)


def refuses_credentials(error: VenueError) -> bool:
    return isinstance(error, VenueAuthError) and str(error.code) in CREDENTIALS_REFUSED


def error_for_code(code: int, message: str, ctx: ErrorContext, *,
                   data: object = None) -> VenueError:
    """The error for a JSON-RPC error object."""
    ctx = _deribit(ctx)
    reason = ""
    if isinstance(data, Mapping) and isinstance(data.get("reason"), str):
        reason = f" ({_shown(data['reason'])})"
    text = ctx.scrub(f"{VENUE}: {_shown(message) or 'error'}{reason} (code {code}) on "
                     f"{ctx.endpoint}")
    scode = str(code)
    kind = kind_of(code)
    if code == SESSION_TERMINATED:
        return SessionTerminatedError(f"{text}: the credit pool is empty and Deribit ended "
                                      "the session", venue=VENUE, code=scode)
    if kind is Kind.RATE_LIMITED:
        return RateLimitedError(text, venue=VENUE, code=scode)
    if kind is Kind.TRANSIENT:
        return TransientVenueError(text, venue=VENUE, code=scode)
    if kind is Kind.SERVER:
        if ctx.write:
            return UnknownOutcomeError(f"{text}: the order may or may not have been "
                                       "changed; resolve it by its label", venue=VENUE,
                                       code=scode)
        return TransientVenueError(text, venue=VENUE, code=scode)
    if kind is Kind.AUTH:
        return VenueAuthError(f"{text}: check the client id/secret of {ctx.profile_label} "
                              "(scopes trade:read_write and account:read, IP whitelist, "
                              "mainnet/testnet)", venue=VENUE, code=scode)
    if kind is Kind.NOT_FOUND:
        return OrderNotFoundError(text, venue=VENUE, code=scode)
    return FatalVenueError(text, venue=VENUE, code=scode)


def decode_body(body: str | None) -> Any:
    """The JSON of an answer: numbers with a fraction or exponent as `Decimal` (Deribit
    sends money as JSON numbers; a float would round it), integers as int. None for an
    empty body. Raises ValueError (also for NaN/Infinity) or RecursionError."""
    if body is None or body.strip() == "":
        return None

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_float=Decimal, parse_constant=refuse)


def decode_frame(text: str) -> Any:
    """A WebSocket text frame as `decode_body` reads it; the raw text when it is not
    JSON (the stream's parser then reports it as malformed, never fatal)."""
    try:
        return decode_body(text)
    except (ValueError, RecursionError):
        return text


def rpc_error(payload: Any) -> tuple[int, str, object] | None:
    """(code, message, data) of a JSON-RPC error answer; None when `payload` carries no
    error object (or one whose code is not an integer: then it is malformed, not coded)."""
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if not isinstance(error, Mapping):
        return None
    code = error.get("code")
    if isinstance(code, bool) or not isinstance(code, int):
        return None
    message = error.get("message")
    return code, message if isinstance(message, str) else "", error.get("data")


def error_for_answer(status: int, headers: Mapping[str, Any] | None, payload: Any,
                     ctx: ErrorContext) -> VenueError | None:
    """The error an HTTP answer stands for; None for a JSON-RPC success (`result`)."""
    ctx = _deribit(ctx)
    coded = rpc_error(payload)
    if status >= 500:
        said = f" ({_shown(coded[1])}, code {coded[0]})" if coded else ""
        text = ctx.text(f"HTTP {status} on {ctx.endpoint}{said}")
        if ctx.write:
            return UnknownOutcomeError(f"{text}: status unknown; resolve it by its label",
                                       venue=VENUE, code=f"http_{status}")
        return TransientVenueError(text, venue=VENUE, code=f"http_{status}")
    if coded is not None:
        return error_for_code(coded[0], coded[1], ctx, data=coded[2])
    if status == 429 or not 200 <= status < 300:
        return error_for_http_status(status, ctx, retry_after=retry_after_ms(headers))
    if not isinstance(payload, Mapping) or "result" not in payload:
        return malformed("a JSON-RPC answer without `result` or `error`", ctx)
    return None


def error_for_exception(exc: BaseException, ctx: ErrorContext) -> VenueError:
    """aiohttp, timeout, JSON and OS failures in our taxonomy; anything else is a bug
    and raised again."""
    mapped = error_for_transport(exc, _deribit(ctx))
    if mapped is None:
        raise exc
    return mapped


def _deribit(ctx: ErrorContext) -> ErrorContext:
    return ctx if ctx.venue == VENUE else replace(ctx, venue=VENUE)


__all__ = [
    "CLOSED_CODES", "CODES", "CREDENTIALS_REFUSED", "INVALID_CREDENTIALS", "ORDER_NOT_FOUND",
    "SESSION_TERMINATED", "UNAUTHORIZED", "VENUE", "ClockSkewError", "ErrorContext", "Kind",
    "SessionTerminatedError", "VenueAuthError", "decode_body", "decode_frame",
    "error_class", "error_for_answer", "error_for_code", "error_for_exception", "kind_of",
    "malformed", "refuses_credentials", "rpc_error", "scrub",
]
