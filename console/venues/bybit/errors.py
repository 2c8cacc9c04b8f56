"""Bybit failures in our taxonomy (console.errors): how the caller must react decides the
class, not where the failure came from.

* retCode table (`RET_CODES`): rate limits wait for the venue's reset hint; server-side
  trouble is transient for reads but *unknown outcome* for order writes (design §5: a
  5xx or a timeout says nothing about whether the order exists); key, signature,
  permission and IP problems are fatal and name the profile whose credentials to check;
  unknown orders raise `OrderNotFoundError`; a reused orderLinkId raises
  `DuplicateClientOrderIdError` (the order manager resolves it by query).
* Transport: a connection that could not even be opened is transient for every call
  (nothing was sent); any other network failure, and HTTP 5xx, is transient for reads and
  unknown-outcome for writes; HTTP 403/429 are rate limits.
* An answer we cannot read is `MalformedVenueDataError` for reads and unknown-outcome for
  writes (the venue may well have acted on it).

Texts never contain the API secret: pybit's exception texts carry the request's URL and
parameters, never the signature headers, and `scrub` removes the key and the secret from
anything we quote, should they ever appear.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from console import errors
from console.errors import (
    FatalVenueError,
    MalformedVenueDataError,
    OrderNotFoundError,
    RateLimitedError,
    TransientVenueError,
    UnknownOutcomeError,
    VenueError,
)

VENUE: Final = "bybit"
RESET_HEADER: Final = "X-Bapi-Limit-Reset-Timestamp"
STATUS_HEADER: Final = "X-Bapi-Limit-Status"
LIMIT_HEADER: Final = "X-Bapi-Limit"


class DuplicateClientOrderIdError(errors.DuplicateClientOrderIdError):
    """The orderLinkId is already in use (110072 / 170141): an earlier attempt got through."""


class VenueAuthError(FatalVenueError):
    """The key, secret, permissions or IP binding are wrong: only the operator can fix it."""


class ClockSkewError(FatalVenueError):
    """Requests are signed with a timestamp outside the venue's receive window."""


class Kind(StrEnum):
    """How a retCode must be handled; also the `class` label of the rest_errors counter."""

    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    SERVER = "server"            # transient for reads, unknown outcome for writes
    UNKNOWN_OUTCOME = "unknown_outcome"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    AUTH = "auth"
    CLOCK = "clock"
    MALFORMED = "malformed"
    FATAL = "fatal"


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


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What classification needs to know about the call that failed."""

    endpoint: str
    write: bool
    profile: str = ""
    now_ms: int = 0
    clock_offset_ms: int = 0
    """Venue time minus local time: reset timestamps are in venue time."""
    secrets: tuple[str, ...] = ()

    @property
    def profile_label(self) -> str:
        return f"profile {self.profile!r}" if self.profile else "this profile"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (key, secret) found in `text` with ***."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup on requests' headers or a plain mapping."""
    if not headers:
        return None
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        for key, candidate in headers.items():
            if isinstance(key, str) and key.lower() == lowered:
                value = candidate
                break
    return None if value is None else str(value)


def retry_after_ms(headers: Mapping[str, Any] | None, ctx: ErrorContext) -> int | None:
    """Milliseconds until the venue's reset timestamp (venue time), 0 if already past;
    None when the header is absent or unreadable."""
    raw = header(headers, RESET_HEADER)
    if raw is None or not raw.strip().isdigit():
        return None
    reset = int(raw.strip())
    return max(0, reset - (ctx.now_ms + ctx.clock_offset_ms))


def kind_of(code: int) -> Kind:
    return RET_CODES.get(code, Kind.FATAL)


def error_for_ret_code(code: int, message: str, ctx: ErrorContext,
                       headers: Mapping[str, Any] | None = None) -> VenueError:
    """The error for a response whose retCode is not 0."""
    text = scrub(f"{VENUE}: {message or 'error'} (retCode {code}) on {ctx.endpoint}",
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
    text = f"{VENUE}: HTTP {status} on {ctx.endpoint}"
    code = f"http_{status}"
    if status in (403, 429):
        why = "IP rate limit (or a forbidden region)" if status == 403 else "rate limit"
        return RateLimitedError(f"{text}: {why}", venue=VENUE, code=code,
                                retry_after_ms=retry_after_ms(headers, ctx))
    if status >= 500:
        if ctx.write:
            return UnknownOutcomeError(f"{text}: status unknown; resolve by client id",
                                       venue=VENUE, code=code)
        return TransientVenueError(text, venue=VENUE, code=code)
    if status == 401:
        return VenueAuthError(f"{text}: check the API key/secret of {ctx.profile_label}",
                              venue=VENUE, code=code)
    return FatalVenueError(text, venue=VENUE, code=code)


def malformed(detail: str, ctx: ErrorContext) -> VenueError:
    """An unreadable answer: never trusted; for writes the outcome is unknown."""
    text = scrub(f"{VENUE}: malformed answer on {ctx.endpoint}: {detail}", ctx.secrets)
    if ctx.write:
        return UnknownOutcomeError(f"{text}; the request may have taken effect",
                                   venue=VENUE, code="malformed")
    return MalformedVenueDataError(text, venue=VENUE, code="malformed")


def _never_sent(exc: requests.exceptions.RequestException) -> bool:
    """True when the TCP connection could not be opened: the request never left."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        if any(cls.__name__ in ("NewConnectionError", "ConnectionRefusedError",
                                "NameResolutionError")
               for cls in type(item).__mro__):
            return True
        if isinstance(item, BaseException):
            stack.extend(item.args)
            stack.extend((item.__cause__, item.__context__, getattr(item, "reason", None)))
    return False


def error_for_exception(exc: BaseException, ctx: ErrorContext) -> VenueError:
    """Map whatever the blocking pybit call raised onto our taxonomy."""
    if isinstance(exc, VenueError):
        return exc
    if isinstance(exc, InvalidRequestError):
        code = exc.status_code
        if isinstance(code, int):
            return error_for_ret_code(code, str(exc.message), ctx, exc.resp_headers)
        return malformed(f"retCode {code!r} is not an integer", ctx)
    if isinstance(exc, FailedRequestError):
        if exc.request == "JSON decoding":
            return malformed("the body is not JSON", ctx)
        status = exc.status_code if isinstance(exc.status_code, int) else 0
        return error_for_http_status(status, ctx, exc.resp_headers)
    if isinstance(exc, requests.exceptions.InvalidJSONError):
        return malformed("the body is not JSON", ctx)
    if isinstance(exc, requests.exceptions.RequestException):
        detail = scrub(f"{type(exc).__name__}: {exc}", ctx.secrets)
        text = f"{VENUE}: network error on {ctx.endpoint}: {detail}"
        code = "timeout" if isinstance(exc, requests.exceptions.Timeout) else "network"
        if ctx.write and not _never_sent(exc):
            return UnknownOutcomeError(f"{text}; the request may have taken effect",
                                       venue=VENUE, code=code)
        return TransientVenueError(text, venue=VENUE, code=code)
    if isinstance(exc, PermissionError):
        return VenueAuthError(f"{VENUE}: no API key/secret for {ctx.profile_label}",
                              venue=VENUE, code="no_credentials")
    if isinstance(exc, json.JSONDecodeError | AttributeError | TypeError | KeyError
                  | ValueError):
        # pybit reads the envelope itself: a body that is JSON but not an object fails
        # inside it with one of these
        return malformed(f"{type(exc).__name__}: {exc}", ctx)
    if isinstance(exc, OSError):
        text = scrub(f"{VENUE}: I/O error on {ctx.endpoint}: {exc}", ctx.secrets)
        if ctx.write:
            return UnknownOutcomeError(text, venue=VENUE, code="network")
        return TransientVenueError(text, venue=VENUE, code="network")
    raise exc


def error_class(error: VenueError) -> str:
    """The `class` label for telemetry."""
    if isinstance(error, RateLimitedError):
        return Kind.RATE_LIMITED.value
    if isinstance(error, TransientVenueError):
        return Kind.TRANSIENT.value
    if isinstance(error, UnknownOutcomeError):
        return Kind.UNKNOWN_OUTCOME.value
    if isinstance(error, OrderNotFoundError):
        return Kind.NOT_FOUND.value
    if isinstance(error, DuplicateClientOrderIdError):
        return Kind.DUPLICATE.value
    if isinstance(error, VenueAuthError):
        return Kind.AUTH.value
    if isinstance(error, ClockSkewError):
        return Kind.CLOCK.value
    if isinstance(error, MalformedVenueDataError):
        return Kind.MALFORMED.value
    return Kind.FATAL.value
