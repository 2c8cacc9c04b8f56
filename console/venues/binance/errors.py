"""Binance failures in our taxonomy (console.errors): how the caller must react decides
the class, not where the failure came from. What every venue shares (the error context,
scrubbing, HTTP statuses, transport errors, malformed answers) is in
`console.venues._common.errors`; this module holds what is Binance's.

Why a table of our own: pointed at a loopback URL (the simulated front-end), ccxt skips
its futures error mapping, and its classes say nothing about outcomes anyway. Every
answer is therefore classified here from its HTTP status and the `code` of its body
({"code": -2013, "msg": "Order does not exist."}), in this order:
* HTTP 429 and 418 (an IP ban) are rate limits: wait what `Retry-After` says (seconds),
  never hammer. HTTP 403 is Binance's WAF (a rate limit or a security block): the
  shared handling (a rate limit).
* HTTP 5xx: the execution status is UNKNOWN (Binance's own words): transient for reads,
  unknown outcome for writes, whatever the body says.
* A body `code` other than 0/200: the code table (`COMMON_CODES` plus the market's own:
  some codes mean different things on spot and on USD-M, -2021, -2022 and -2026 among
  them). -1006/-1007 (execution status unknown) and -1000/-1001/-1008 (Binance failed
  or is overloaded) are unknown outcomes for writes; -1003/-1015 rate limits; -1021 the
  clock; -1022/-2014/-2015 and HTTP 401 the credentials; -2013 (and spot -2026, archived)
  an unknown order; -4116 (USD-M) and spot's "Duplicate order sent." a reused client
  id; -1125 a dead listenKey (`InvalidListenKeyError`, code "-1125": the stream
  replaces the key). Any other code is fatal (a bad request, funds, a state).
* Any other non-2xx status without a code: the shared HTTP handling.

-2011 (CANCEL_REJECTED: "Unknown order sent.", or a finished order) is fatal here; the
client asks the venue what became of the order before it says which error it is (an
order that filled is never taken for cancelled).

Texts never contain the API key or secret: they are scrubbed (`ErrorContext.scrub`) from
everything quoted, and a venue message is cut to 300 characters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from console import errors
from console.domain.enums import Category
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
    network_error,
    never_sent,
    retry_after_ms,
    scrub,
)
from console.venues._common.errors import ErrorClass as Kind

VENUE: Final = "binance"
WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
ORDER_COUNT_HEADER: Final = "X-MBX-ORDER-COUNT-"
"""Followed by the interval: 10S and 1M on USD-M, 10S and 1D on spot."""
SUCCESS_CODES: Final = frozenset({0, 200})
"""Bodies that carry a `code` on success: {"code": 200, "msg": "The operation of cancel
all open order is done."}, the algo cancel's {"code": "200", "msg": "success"}."""
DUPLICATE_MESSAGE: Final = "Duplicate order sent."
"""Spot's -2010 message for a client id in use (errors.md, "Messages for -1010 ...")."""
DEAD_LISTEN_KEY: Final = -1125
CANCEL_REJECTED: Final = -2011
NO_SUCH_ORDER: Final = -2013

_INT_CODE: Final = re.compile(r"-?[0-9]{1,9}")


class DuplicateClientOrderIdError(errors.DuplicateClientOrderIdError):
    """The client id is in use (-4116 on USD-M, "Duplicate order sent." on spot): an
    earlier attempt got through; ask for it, never resend under a new id."""


class InvalidListenKeyError(FatalVenueError):
    """-1125 "This listenKey does not exist.": the stream must create a new key."""


class HedgeModeError(FatalVenueError):
    """The USD-M account holds positions per side (Hedge Mode): read, never traded."""


COMMON_CODES: Final[Mapping[int, Kind]] = {
    -1000: Kind.SERVER,        # UNKNOWN: an unknown error while processing the request
    -1001: Kind.SERVER,        # DISCONNECTED: internal error
    -1004: Kind.SERVER,        # SERVER_BUSY (derivatives): busy, wait and try again
    -1006: Kind.SERVER,        # UNEXPECTED_RESP: execution status unknown
    -1007: Kind.SERVER,        # TIMEOUT: send status unknown; execution status unknown
    -1008: Kind.SERVER,        # SERVER_BUSY: overloaded (the order may still go through)
    -1003: Kind.RATE_LIMITED,  # TOO_MANY_REQUESTS (also an IP ban "until %s")
    -1015: Kind.RATE_LIMITED,  # TOO_MANY_ORDERS
    -1034: Kind.RATE_LIMITED,  # TOO_MANY_CONNECTIONS
    -1021: Kind.CLOCK,         # INVALID_TIMESTAMP: outside recvWindow / ahead of server
    -1002: Kind.AUTH,          # UNAUTHORIZED
    -1022: Kind.AUTH,          # INVALID_SIGNATURE
    -1099: Kind.AUTH,          # not found, authenticated, or authorized
    -2014: Kind.AUTH,          # BAD_API_KEY_FMT
    -2015: Kind.AUTH,          # REJECTED_MBX_KEY: invalid API key, IP, or permissions
    -2013: Kind.NOT_FOUND,     # NO_SUCH_ORDER
}
"""Codes with one meaning on both markets; any code not listed is FATAL."""

SPOT_CODES: Final[Mapping[int, Kind]] = {
    **COMMON_CODES,
    -2026: Kind.NOT_FOUND,     # ORDER_ARCHIVED: cancelled/expired without fills > 90 days
}
FUTURES_CODES: Final[Mapping[int, Kind]] = {
    **COMMON_CODES,
    -4116: Kind.DUPLICATE,     # DUPLICATED_CLIENT_ORDER_ID
    -4117: Kind.TRANSIENT,     # STOP_ORDER_TRIGGERING: the order is being triggered now
    -5028: Kind.CLOCK,         # timestamp outside the matching engine's recvWindow
    -2017: Kind.AUTH,          # API keys are locked on this account
}

CREDENTIALS_REFUSED: Final = frozenset({"-1022", "-2014", "-2015", "http_401"})
"""The auth codes that refuse the key itself (bad signature, bad key format, a key that
is unknown or not allowed from this IP): every request would be refused the same way, so
they open an `AuthGate` episode. -2015 also means "no permission for this action" (a
read-only key placing an order) and, once a request was accepted, a temporary ban: it
opens an episode only while no request has been accepted yet (see
`refuses_credentials`)."""


def codes_for(market: Category) -> Mapping[int, Kind]:
    return SPOT_CODES if market is Category.SPOT else FUTURES_CODES


def kind_of(code: int, market: Category, message: str = "") -> Kind:
    if market is Category.SPOT and code == -2010 and message == DUPLICATE_MESSAGE:
        return Kind.DUPLICATE
    return codes_for(market).get(code, Kind.FATAL)


def refuses_credentials(error: VenueError, *, accepted_before: bool = False) -> bool:
    """True when `error` says the credentials themselves were refused (see
    `CREDENTIALS_REFUSED`)."""
    if not isinstance(error, VenueAuthError) or error.code not in CREDENTIALS_REFUSED:
        return False
    return not (error.code == "-2015" and accepted_before)


def _shown(message: str) -> str:
    return message if len(message) <= 300 else message[:300] + "..."


def error_for_code(code: int, message: str, ctx: ErrorContext, *, market: Category,
                   headers: Mapping[str, Any] | None = None) -> VenueError:
    """The error for an answer whose body `code` is not a success."""
    ctx = _binance(ctx)
    text = ctx.scrub(f"{VENUE}: {_shown(message) or 'error'} (code {code}) on "
                     f"{ctx.endpoint}")
    kind = kind_of(code, market, message)
    scode = str(code)
    if code == DEAD_LISTEN_KEY:
        return InvalidListenKeyError(text, venue=VENUE, code=scode)
    if kind is Kind.RATE_LIMITED:
        return RateLimitedError(text, venue=VENUE, code=scode,
                                retry_after_ms=retry_after_ms(headers))
    if kind is Kind.SERVER:
        if ctx.write:
            return UnknownOutcomeError(f"{text}: the order may or may not have been "
                                       "changed; resolve it by its client id", venue=VENUE,
                                       code=scode)
        return TransientVenueError(text, venue=VENUE, code=scode)
    if kind is Kind.TRANSIENT:
        return TransientVenueError(text, venue=VENUE, code=scode)
    if kind is Kind.AUTH:
        return VenueAuthError(f"{text}: check the API key/secret of {ctx.profile_label} "
                              "(key, secret, IP whitelist, permissions such as Enable "
                              "Futures, mainnet/testnet)", venue=VENUE, code=scode)
    if kind is Kind.CLOCK:
        skew = f" (measured skew {ctx.clock_offset_ms} ms)" if ctx.clock_offset_ms else ""
        return ClockSkewError(f"{text}: the local clock disagrees with Binance's{skew}; "
                              "synchronise the system clock (NTP)", venue=VENUE, code=scode)
    if kind is Kind.NOT_FOUND:
        return OrderNotFoundError(text, venue=VENUE, code=scode)
    if kind is Kind.DUPLICATE:
        return DuplicateClientOrderIdError(f"{text}: an earlier request with this client "
                                           "id got through", venue=VENUE, code=scode)
    return FatalVenueError(text, venue=VENUE, code=scode)


def decode_body(body: str | None) -> Any:
    """The JSON of an answer's body; None when there is none. Raises ValueError (also for
    NaN/Infinity, which JSON does not have) or RecursionError on a body that is not JSON
    we can hold."""
    if body is None or body.strip() == "":
        return None

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(body, parse_constant=refuse)


def body_code(payload: Any) -> tuple[int, str] | None:
    """(code, msg) of an error body; None for a body without a code or with a success
    code. A `code` that is not a small integer is not a Binance error code: None."""
    if not isinstance(payload, Mapping) or "code" not in payload:
        return None
    raw = payload["code"]
    code: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        code = raw
    elif isinstance(raw, str) and _INT_CODE.fullmatch(raw):
        code = int(raw)
    if code is None or code in SUCCESS_CODES:
        return None
    msg = payload.get("msg")
    return code, msg if isinstance(msg, str) else ""


def error_for_answer(status: int, headers: Mapping[str, Any] | None, payload: Any,
                     ctx: ErrorContext, *, market: Category) -> VenueError | None:
    """The error an answer stands for (see the module docstring); None for a success."""
    ctx = _binance(ctx)
    coded = body_code(payload)
    if status in (418, 429):
        why = "IP banned (418)" if status == 418 else "rate limited (429)"
        said = f": {_shown(coded[1])} (code {coded[0]})" if coded else ""
        return RateLimitedError(ctx.text(f"{why} on {ctx.endpoint}{said}; waiting "
                                         "Retry-After"),
                                venue=VENUE, code=str(coded[0]) if coded else f"http_{status}",
                                retry_after_ms=retry_after_ms(headers))
    if status >= 500:
        said = f" ({_shown(coded[1])}, code {coded[0]})" if coded else ""
        text = ctx.text(f"HTTP {status} on {ctx.endpoint}{said}")
        if ctx.write:
            return UnknownOutcomeError(f"{text}: execution status unknown; resolve it by "
                                       "its client id", venue=VENUE, code=f"http_{status}")
        return TransientVenueError(text, venue=VENUE, code=f"http_{status}")
    if coded is not None:
        return error_for_code(coded[0], coded[1], ctx, market=market, headers=headers)
    if not 200 <= status < 300:
        return error_for_http_status(status, ctx, retry_after=retry_after_ms(headers))
    return None


_CCXT_NETWORK: Final = frozenset({"NetworkError", "RequestTimeout", "ExchangeNotAvailable"})


def error_for_exception(exc: BaseException, ctx: ErrorContext) -> VenueError:
    """Map what a ccxt call raised (other than an answer we captured) onto our taxonomy.
    ccxt wraps aiohttp's errors in its own classes and chains the original (`from e`):
    the original decides whether anything was sent. Any other ccxt error (a missing
    credential, an unsupported call) is fatal; anything else is a bug and raised again."""
    ctx = _binance(ctx)
    if isinstance(exc, VenueError):
        return exc
    cause = exc.__cause__
    if cause is not None:
        mapped = error_for_transport(cause, ctx)
        if mapped is not None:
            return mapped
    mapped = error_for_transport(exc, ctx)
    if mapped is not None:
        return mapped
    names = {cls.__name__ for cls in type(exc).__mro__}
    from_ccxt = type(exc).__module__.startswith("ccxt")
    if from_ccxt and names & _CCXT_NETWORK:
        code = "timeout" if "RequestTimeout" in names else "network"
        sent = cause is None or not never_sent(cause)
        return network_error(f"{type(exc).__name__}: {exc}", ctx, sent=sent, code=code)
    if from_ccxt and "BaseError" in names:
        return FatalVenueError(ctx.text(f"{type(exc).__name__} on {ctx.endpoint}: "
                                        f"{_shown(str(exc))}"), venue=VENUE, code="client")
    raise exc


def _binance(ctx: ErrorContext) -> ErrorContext:
    """The context named for Binance (callers building one by hand may leave it out)."""
    return ctx if ctx.venue == VENUE else replace(ctx, venue=VENUE)


__all__ = [
    "CANCEL_REJECTED", "COMMON_CODES", "CREDENTIALS_REFUSED", "DEAD_LISTEN_KEY",
    "DUPLICATE_MESSAGE", "FUTURES_CODES", "NO_SUCH_ORDER", "ORDER_COUNT_HEADER",
    "SPOT_CODES", "SUCCESS_CODES", "VENUE", "WEIGHT_HEADER", "ClockSkewError",
    "DuplicateClientOrderIdError", "ErrorContext", "HedgeModeError", "InvalidListenKeyError",
    "Kind", "VenueAuthError", "body_code", "codes_for", "decode_body",
    "error_class", "error_for_answer", "error_for_code", "error_for_exception", "kind_of",
    "malformed", "refuses_credentials", "scrub",
]
