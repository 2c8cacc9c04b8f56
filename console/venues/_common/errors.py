"""Venue failures in our taxonomy (console.errors), for what every connector shares: the
context of a failed call, secret scrubbing, HTTP statuses, transport errors and
unreadable answers. How the caller must react decides the class, not where the failure
came from. A venue's own error-code table stays in its package and builds on these.

* Transport: a connection that could not even be opened is transient for every call
  (nothing was sent); any other network failure (a reset, a read timeout, a broken
  body), and HTTP 5xx, is transient for reads and *unknown outcome* for writes: a 5xx or
  a timeout says nothing about whether the order exists, so the order manager resolves
  it by its client id, never by sending again. HTTP 403/429 are rate limits; 401 is an
  authentication failure naming the profile whose credentials to check.
* An answer we cannot read is `MalformedVenueDataError` for reads and unknown-outcome for
  writes (the venue may well have acted on it).
* Texts never contain the API key or secret: `scrub` removes them from anything quoted
  (client libraries' exception texts carry URLs and parameters, and may one day carry
  more).

`requests` and `aiohttp` errors are recognised only when the library is already loaded:
an exception cannot come from a library nobody imported, and a connector that uses one
client does not pay for importing the other.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

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

log = logging.getLogger(__name__)

MIN_SECRET_LEN: Final = 4
"""Shorter strings are not scrubbed: replacing every "ab" in a text would garble it and
protect nothing."""


class VenueAuthError(FatalVenueError):
    """The key, secret, permissions or IP binding are wrong: only the operator can fix it."""


class ClockSkewError(FatalVenueError):
    """Requests are signed with a timestamp outside the venue's receive window."""


class ErrorClass(StrEnum):
    """The `class` label of the rest_errors counter."""

    RATE_LIMITED = "rate_limited"
    TRANSIENT = "transient"
    SERVER = "server"
    """A venue code table's category only, never a label: transient for a read, an
    unknown outcome for a write."""
    UNKNOWN_OUTCOME = "unknown_outcome"
    NOT_FOUND = "not_found"
    DUPLICATE = "duplicate"
    AUTH = "auth"
    CLOCK = "clock"
    MALFORMED = "malformed"
    FATAL = "fatal"


def profile_label(profile: str) -> str:
    """How an error names the profile whose credentials the operator should check."""
    return f"profile {profile!r}" if profile else "this profile"


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret (key, secret) found in `text` with ***, and escape what a
    venue's text may carry that no log file can hold (a lone surrogate: "\\ud800")."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SECRET_LEN:
            text = text.replace(secret, "***")
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


@dataclass(frozen=True, slots=True)
class ErrorContext:
    """What classification needs to know about the call that failed."""

    endpoint: str
    write: bool
    """An order write: a failure after sending leaves its outcome unknown."""
    venue: str = ""
    profile: str = ""
    now_ms: int = 0
    clock_offset_ms: int = 0
    """Venue time minus local time: reset timestamps are in venue time."""
    secrets: tuple[str, ...] = ()

    @property
    def profile_label(self) -> str:
        return profile_label(self.profile)

    @property
    def venue_ms(self) -> int:
        return self.now_ms + self.clock_offset_ms

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def text(self, message: str) -> str:
        """`message` prefixed with the venue's name and scrubbed."""
        return self.scrub(f"{self.venue}: {message}" if self.venue else message)


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    """Case-insensitive header lookup on a client's headers object or a plain mapping."""
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


_HEADER_INT: Final = re.compile(r"[0-9]{1,15}")
"""A header count or timestamp: ASCII digits only (str.isdigit() also accepts "²" and
"١", which int() then refuses or misreads), at most 15 of them (epoch ms has 13; a
4,300-digit value would make int() itself raise)."""


def header_int(headers: Mapping[str, Any] | None, name: str) -> int | None:
    """Header `name` as a non-negative integer; None when absent. An unreadable value
    (not ASCII digits, negative, huge) is logged and treated as absent: a broken
    rate-limit header must never fail the call it came with."""
    raw = header(headers, name)
    if raw is None:
        return None
    text = raw.strip()
    if _HEADER_INT.fullmatch(text) is None:
        shown = text.encode("ascii", "backslashreplace").decode("ascii")
        log.warning("ignoring response header %s: %.40r is not a non-negative integer",
                    name, shown)
        return None
    return int(text)


def reset_hint_ms(headers: Mapping[str, Any] | None, name: str,
                  ctx: ErrorContext) -> int | None:
    """Milliseconds until the reset timestamp (venue ms) in header `name`, 0 if already
    past; None when the header is absent or unreadable."""
    reset_at = header_int(headers, name)
    if reset_at is None:
        return None
    return max(0, reset_at - ctx.venue_ms)


def retry_after_ms(headers: Mapping[str, Any] | None) -> int | None:
    """The standard `Retry-After` header (whole seconds) in milliseconds; None when
    absent or not a number of seconds."""
    seconds = header_int(headers, "Retry-After")
    return None if seconds is None else seconds * 1000


def error_for_http_status(status: int, ctx: ErrorContext, *,
                          retry_after: int | None = None) -> VenueError:
    """The error for an HTTP status other than 2xx; `retry_after` (ms) is the venue's
    reset hint for a rate limit."""
    text = ctx.text(f"HTTP {status} on {ctx.endpoint}")
    code = f"http_{status}"
    venue = ctx.venue
    if status in (403, 429):
        why = "IP rate limit (or a forbidden region)" if status == 403 else "rate limit"
        return RateLimitedError(f"{text}: {why}", venue=venue, code=code,
                                retry_after_ms=retry_after)
    if status >= 500:
        if ctx.write:
            return UnknownOutcomeError(f"{text}: status unknown; resolve by client id",
                                       venue=venue, code=code)
        return TransientVenueError(text, venue=venue, code=code)
    if status == 401:
        return VenueAuthError(f"{text}: check the API key/secret of {ctx.profile_label}",
                              venue=venue, code=code)
    return FatalVenueError(text, venue=venue, code=code)


def malformed(detail: str, ctx: ErrorContext) -> VenueError:
    """An unreadable answer: never trusted; for writes the outcome is unknown."""
    text = ctx.text(f"malformed answer on {ctx.endpoint}: {detail}")
    if ctx.write:
        return UnknownOutcomeError(f"{text}; the request may have taken effect",
                                   venue=ctx.venue, code="malformed")
    return MalformedVenueDataError(text, venue=ctx.venue, code="malformed")


def network_error(detail: str, ctx: ErrorContext, *, sent: bool,
                  code: str = "network") -> VenueError:
    """A transport failure: transient unless a write may have reached the venue."""
    text = ctx.text(f"network error on {ctx.endpoint}: {detail}")
    if ctx.write and sent:
        return UnknownOutcomeError(f"{text}; the request may have taken effect",
                                   venue=ctx.venue, code=code)
    return TransientVenueError(text, venue=ctx.venue, code=code)


_NEVER_SENT: Final = frozenset({"NewConnectionError", "ConnectionRefusedError",
                                "NameResolutionError"})
"""urllib3's and the OS's names for "the TCP connection could not be opened"."""


def _chain_says_never_sent(exc: BaseException) -> bool:
    seen: set[int] = set()
    stack: list[object] = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen or item is None:
            continue
        seen.add(id(item))
        if any(cls.__name__ in _NEVER_SENT for cls in type(item).__mro__):
            return True
        if isinstance(item, BaseException):
            stack.extend(item.args)
            stack.extend((item.__cause__, item.__context__, getattr(item, "reason", None)))
    return False


def never_sent(exc: BaseException) -> bool:
    """True when the connection could not be opened: the request never left, so nothing
    can have happened, even for a write."""
    if "requests" in sys.modules:
        import requests

        if isinstance(exc, requests.exceptions.ConnectTimeout):
            return True
        if isinstance(exc, requests.exceptions.ConnectionError):
            return _chain_says_never_sent(exc)
    if "aiohttp" in sys.modules:
        import aiohttp

        connect_timeout = getattr(aiohttp, "ConnectionTimeoutError", None)  # aiohttp >= 3.10
        if isinstance(exc, aiohttp.ClientConnectorError) or (
                connect_timeout is not None and isinstance(exc, connect_timeout)):
            return True
    return False


def _requests_error(exc: BaseException, ctx: ErrorContext) -> VenueError | None:
    if "requests" not in sys.modules:
        return None
    import requests

    if isinstance(exc, requests.exceptions.InvalidJSONError):
        return malformed("the body is not JSON", ctx)
    if isinstance(exc, requests.exceptions.RequestException):
        code = "timeout" if isinstance(exc, requests.exceptions.Timeout) else "network"
        return network_error(f"{type(exc).__name__}: {exc}", ctx, sent=not never_sent(exc),
                             code=code)
    return None


def _aiohttp_error(exc: BaseException, ctx: ErrorContext) -> VenueError | None:
    if "aiohttp" not in sys.modules:
        return None
    import aiohttp

    if isinstance(exc, aiohttp.ContentTypeError):
        return malformed("the body is not JSON", ctx)
    if isinstance(exc, aiohttp.ClientResponseError):
        return error_for_http_status(exc.status, ctx,
                                     retry_after=retry_after_ms(exc.headers))
    if isinstance(exc, aiohttp.ClientError):
        code = "timeout" if isinstance(exc, TimeoutError) else "network"
        return network_error(f"{type(exc).__name__}: {exc}", ctx, sent=not never_sent(exc),
                             code=code)
    return None


def error_for_transport(exc: BaseException, ctx: ErrorContext) -> VenueError | None:
    """Map a transport-level exception (requests, aiohttp, timeouts, JSON decoding, OS
    errors) onto our taxonomy; None when `exc` is none of these (a venue's own exception
    types, or a bug, which the caller must let through)."""
    if isinstance(exc, VenueError):
        return exc
    mapped = _requests_error(exc, ctx) or _aiohttp_error(exc, ctx)
    if mapped is not None:
        return mapped
    if isinstance(exc, json.JSONDecodeError):
        return malformed(f"{type(exc).__name__}: {exc}", ctx)
    if isinstance(exc, TimeoutError):
        return network_error(f"timed out: {exc}", ctx, sent=True, code="timeout")
    if isinstance(exc, OSError):
        text = ctx.text(f"I/O error on {ctx.endpoint}: {exc}")
        if ctx.write:
            return UnknownOutcomeError(text, venue=ctx.venue, code="network")
        return TransientVenueError(text, venue=ctx.venue, code="network")
    return None


def error_class(error: VenueError) -> str:
    """The `class` label for telemetry."""
    if isinstance(error, RateLimitedError):
        return ErrorClass.RATE_LIMITED.value
    if isinstance(error, TransientVenueError):
        return ErrorClass.TRANSIENT.value
    if isinstance(error, UnknownOutcomeError):
        return ErrorClass.UNKNOWN_OUTCOME.value
    if isinstance(error, OrderNotFoundError):
        return ErrorClass.NOT_FOUND.value
    if isinstance(error, errors.DuplicateClientOrderIdError):
        return ErrorClass.DUPLICATE.value
    if isinstance(error, VenueAuthError):
        return ErrorClass.AUTH.value
    if isinstance(error, ClockSkewError):
        return ErrorClass.CLOCK.value
    if isinstance(error, MalformedVenueDataError):
        return ErrorClass.MALFORMED.value
    return ErrorClass.FATAL.value
