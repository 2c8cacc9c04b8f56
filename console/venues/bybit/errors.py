"""Bybit failures in our taxonomy (console.errors): how the caller must react decides the
class, not where the failure came from. What every venue shares (the error context,
scrubbing, HTTP statuses, transport errors, malformed answers) is in
`console.venues._common.errors`; this module holds what is Bybit's.

* retCode table (`RET_CODES`): rate limits wait for the venue's reset hint (the
  X-Bapi-Limit-Reset-Timestamp header); server-side trouble is transient for reads but
  *unknown outcome* for order writes (a 5xx or a timeout says nothing about whether the
  order exists); key, signature, permission and IP problems are fatal and name the
  profile whose credentials to check; unknown orders raise `OrderNotFoundError`; a reused
  orderLinkId raises `DuplicateClientOrderIdError` (the order manager resolves it by
  query).
* pybit's exceptions: `InvalidRequestError` carries a retCode, `FailedRequestError` an
  HTTP status (or "JSON decoding"); a body that is JSON but not an object fails inside
  pybit with AttributeError/TypeError/KeyError/ValueError, which is a malformed answer;
  PermissionError means pybit was given no keys.

Texts never contain the API secret: pybit's exception texts carry the request's URL and
parameters, never the signature headers, and `scrub` removes the key and the secret from
anything we quote, should they ever appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from pybit.exceptions import FailedRequestError, InvalidRequestError

from console import errors
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
    error_for_transport,
    header,
    malformed,
    reset_hint_ms,
    scrub,
)
from console.venues._common.errors import ErrorClass as Kind
from console.venues._common.errors import (
    error_for_http_status as _error_for_http_status,
)

VENUE: Final = "bybit"
RESET_HEADER: Final = "X-Bapi-Limit-Reset-Timestamp"
STATUS_HEADER: Final = "X-Bapi-Limit-Status"
LIMIT_HEADER: Final = "X-Bapi-Limit"


class DuplicateClientOrderIdError(errors.DuplicateClientOrderIdError):
    """The orderLinkId is already in use (110072 / 170141): an earlier attempt got through."""


# How a retCode must be handled: `Kind` is the shared `ErrorClass` (also the `class` label
# of the rest_errors counter), SERVER included for codes that mean "the server may or may
# not have done it".
RET_CODES: Final[Mapping[int, Kind]] = {
    10000: Kind.SERVER,        # server timeout
    10016: Kind.SERVER,        # internal server error / service restarting
    170007: Kind.SERVER,       # spot: timeout waiting for the backend
    10019: Kind.TRANSIENT,     # service restarting: the request was not accepted
    110079: Kind.TRANSIENT,    # order is being processed, try later: nothing was done
    10006: Kind.RATE_LIMITED,  # too many visits (UID limit per endpoint)
    10018: Kind.RATE_LIMITED,  # IP rate limit
    10429: Kind.RATE_LIMITED,  # system-level frequency protection
    10002: Kind.CLOCK,         # timestamp outside recv_window
    10003: Kind.AUTH,          # API key invalid (or wrong environment)
    10004: Kind.AUTH,          # signature error
    10005: Kind.AUTH,          # permission denied
    10007: Kind.AUTH,          # user authentication failed
    10009: Kind.AUTH,          # IP banned
    10010: Kind.AUTH,          # IP not bound to the key
    33004: Kind.AUTH,          # API key expired (derivatives)
    110001: Kind.NOT_FOUND,    # order does not exist
    170213: Kind.NOT_FOUND,    # spot: order does not exist
    110072: Kind.DUPLICATE,    # orderLinkId is duplicate
    170141: Kind.DUPLICATE,    # spot: duplicate clientOrderId
}
"""Every retCode we treat specially; any other non-zero code is FATAL (a bad request:
parameters, balance, symbol, state). Documented in the report and tested row by row."""

CREDENTIALS_REFUSED: Final = frozenset({"10003", "10004", "10007", "10009", "10010", "33004",
                                         "http_401"})
"""The auth codes that refuse the key itself (unknown or expired key, bad signature,
failed user authentication, banned or unbound IP): every request would be refused the
same way, so they open an `AuthGate` episode. 10005 (permission denied) is not among
them: a read-only key still reads."""


def refuses_credentials(error: VenueError) -> bool:
    """True when `error` says the credentials themselves were refused."""
    return isinstance(error, VenueAuthError) and error.code in CREDENTIALS_REFUSED


def retry_after_ms(headers: Mapping[str, Any] | None, ctx: ErrorContext) -> int | None:
    """Milliseconds until Bybit's reset timestamp (venue time), 0 if already past; None
    when the header is absent or unreadable."""
    return reset_hint_ms(headers, RESET_HEADER, ctx)


def kind_of(code: int) -> Kind:
    return RET_CODES.get(code, Kind.FATAL)


def error_for_ret_code(code: int, message: str, ctx: ErrorContext,
                       headers: Mapping[str, Any] | None = None) -> VenueError:
    """The error for a response whose retCode is not 0."""
    shown = message if len(message) <= 300 else message[:300] + "..."
    text = scrub(f"{VENUE}: {shown or 'error'} (retCode {code}) on {ctx.endpoint}",
                 ctx.secrets)
    kind = kind_of(code)
    scode = str(code)
    if kind is Kind.RATE_LIMITED:
        return RateLimitedError(text, venue=VENUE, code=scode,
                                retry_after_ms=retry_after_ms(headers, ctx))
    if kind is Kind.SERVER:
        if ctx.write:
            return UnknownOutcomeError(f"{text}: the order may or may not have been changed; "
                                       "resolve it by its client id", venue=VENUE, code=scode)
        return TransientVenueError(text, venue=VENUE, code=scode)
    if kind is Kind.TRANSIENT:
        return TransientVenueError(text, venue=VENUE, code=scode)
    if kind is Kind.AUTH:
        return VenueAuthError(f"{text}: check the API key/secret of {ctx.profile_label} "
                              "(key, secret, permissions, IP whitelist, mainnet/testnet)",
                              venue=VENUE, code=scode)
    if kind is Kind.CLOCK:
        skew = f" (measured skew {ctx.clock_offset_ms} ms)" if ctx.clock_offset_ms else ""
        return ClockSkewError(f"{text}: the local clock disagrees with Bybit's{skew}; "
                              "synchronise the system clock (NTP)", venue=VENUE, code=scode)
    if kind is Kind.NOT_FOUND:
        return OrderNotFoundError(text, venue=VENUE, code=scode)
    if kind is Kind.DUPLICATE:
        return DuplicateClientOrderIdError(f"{text}: an earlier request with this client id "
                                           "got through", venue=VENUE, code=scode)
    return FatalVenueError(text, venue=VENUE, code=scode)


def error_for_http_status(status: int, ctx: ErrorContext,
                          headers: Mapping[str, Any] | None = None) -> VenueError:
    """The error for an HTTP status other than 200 (pybit's FailedRequestError)."""
    return _error_for_http_status(status, _bybit(ctx),
                                  retry_after=retry_after_ms(headers, ctx))


def error_for_exception(exc: BaseException, ctx: ErrorContext) -> VenueError:
    """Map whatever the blocking pybit call raised onto our taxonomy (a bug stays a bug:
    it is raised again)."""
    ctx = _bybit(ctx)
    if isinstance(exc, VenueError):
        return exc
    if isinstance(exc, InvalidRequestError):
        code = exc.status_code
        if isinstance(code, int) and not isinstance(code, bool) and 0 < code < 2 ** 31:
            return error_for_ret_code(code, str(exc.message), ctx, exc.resp_headers)
        return malformed(f"retCode {str(code)[:40]!r} is not a venue error code", ctx)
    if isinstance(exc, FailedRequestError):
        if exc.request == "JSON decoding":
            return malformed("the body is not JSON", ctx)
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        return error_for_http_status(status, ctx, exc.resp_headers)
    if isinstance(exc, PermissionError):
        return VenueAuthError(f"{VENUE}: no API key/secret for {ctx.profile_label}",
                              venue=VENUE, code="no_credentials")
    mapped = error_for_transport(exc, ctx)
    if mapped is not None:
        return mapped
    if isinstance(exc, AttributeError | TypeError | KeyError | ValueError | ArithmeticError
                  | RecursionError):
        # pybit reads the envelope itself: a body that is JSON but not an object, or
        # that json cannot hold (huge numbers, deep nesting), fails inside it with one
        # of these
        return malformed(f"{type(exc).__name__}: {str(exc)[:200]}", ctx)
    raise exc


def _bybit(ctx: ErrorContext) -> ErrorContext:
    """The context named for Bybit (callers building one by hand may leave it out)."""
    return ctx if ctx.venue == VENUE else replace(ctx, venue=VENUE)


__all__ = [
    "CREDENTIALS_REFUSED", "LIMIT_HEADER", "RESET_HEADER", "RET_CODES", "STATUS_HEADER",
    "VENUE", "ClockSkewError",
    "DuplicateClientOrderIdError", "ErrorContext", "Kind", "VenueAuthError", "error_class",
    "error_for_exception", "error_for_http_status", "error_for_ret_code", "header",
    "kind_of", "malformed", "refuses_credentials", "retry_after_ms", "scrub",
]
