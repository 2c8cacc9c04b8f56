"""The shared error machinery: scrubbing, the error context, HTTP statuses, transport
errors (requests and aiohttp) for reads and for writes, and telemetry class labels."""

from __future__ import annotations

import json

import aiohttp
import pytest
import requests
from aiohttp.client_reqrep import ConnectionKey
from yarl import URL

from console import errors
from console.errors import (
    CapabilityUnsupported,
    FatalVenueError,
    MalformedVenueDataError,
    OrderNotFoundError,
    RateLimitedError,
    TransientVenueError,
    UnknownOutcomeError,
    VenueError,
)
from console.venues._common.errors import (
    ClockSkewError,
    ErrorClass,
    ErrorContext,
    VenueAuthError,
    error_class,
    error_for_http_status,
    error_for_transport,
    header,
    header_int,
    malformed,
    never_sent,
    reset_hint_ms,
    retry_after_ms,
    scrub,
)

SECRET = "S3cr3tS3cr3tS3cr3t"
KEY = "KeyKeyKey123"
READ = ErrorContext("/orders", write=False, venue="acme", profile="main", now_ms=1_000_000,
                    secrets=(SECRET, KEY))
WRITE = ErrorContext("/order", write=True, venue="acme", profile="main", now_ms=1_000_000,
                     secrets=(SECRET, KEY))


def test_scrub_replaces_secrets_but_not_tiny_strings() -> None:
    assert scrub(f"a{SECRET}b{KEY}c", [SECRET, KEY]) == "a***b***c"
    assert scrub("abc", ["ab", ""]) == "abc"  # too short to be a secret: left alone
    assert READ.text(f"saw {SECRET}") == "acme: saw ***"
    assert ErrorContext("/x", write=False).text("plain") == "plain"


def test_context_labels_and_header_lookup() -> None:
    assert READ.profile_label == "profile 'main'"
    assert ErrorContext("/x", write=False).profile_label == "this profile"
    assert header({"x-reset": 5}, "X-Reset") == "5" and header(None, "X") is None
    assert header({"A": None}, "a") is None
    skewed = ErrorContext("/x", write=False, now_ms=1_000, clock_offset_ms=500)
    assert reset_hint_ms({"R": "1750"}, "R", skewed) == 250  # resets are in venue time
    assert reset_hint_ms({"R": "1000"}, "R", skewed) == 0
    assert reset_hint_ms({"R": "soon"}, "R", skewed) is None
    assert retry_after_ms({"retry-after": "3"}) == 3000 and retry_after_ms({}) is None


@pytest.mark.parametrize(("status", "read_cls", "write_cls"), [
    (403, RateLimitedError, RateLimitedError),
    (429, RateLimitedError, RateLimitedError),
    (500, TransientVenueError, UnknownOutcomeError),
    (503, TransientVenueError, UnknownOutcomeError),
    (401, VenueAuthError, VenueAuthError),
    (400, FatalVenueError, FatalVenueError),
])
def test_http_statuses(status: int, read_cls: type, write_cls: type) -> None:
    read = error_for_http_status(status, READ, retry_after=750)
    assert type(read) is read_cls and type(error_for_http_status(status, WRITE)) is write_cls
    assert read.venue == "acme" and read.code == f"http_{status}"
    assert str(read).startswith(f"acme: HTTP {status} on /orders")
    if isinstance(read, RateLimitedError):
        assert read.retry_after_ms == 750
    if status == 401:
        assert "check the API key/secret of profile 'main'" in str(read)


def test_malformed_answers_are_unknown_outcomes_for_writes() -> None:
    read = malformed(f"field x: {SECRET}", READ)
    assert type(read) is MalformedVenueDataError and SECRET not in str(read)
    assert type(malformed("x", WRITE)) is UnknownOutcomeError


def _refused() -> requests.exceptions.ConnectionError:
    class NewConnectionError(OSError):  # the name urllib3 uses
        pass

    return requests.exceptions.ConnectionError(NewConnectionError("Connection refused"))


def _response_error(cls: type[aiohttp.ClientResponseError], status: int,
                    headers: dict[str, str] | None = None) -> aiohttp.ClientResponseError:
    info = aiohttp.RequestInfo(URL("http://127.0.0.1:9/x"), "POST", {},  # type: ignore[arg-type]
                               URL("http://127.0.0.1:9/x"))
    return cls(info, (), status=status, message="", headers=headers)  # type: ignore[arg-type]


CONNECT_REFUSED = aiohttp.ClientConnectorError(
    ConnectionKey("127.0.0.1", 9, False, True, None, None, None),
    ConnectionRefusedError(111, "refused"))


@pytest.mark.parametrize(("exc", "read_cls", "write_cls"), [
    # requests (blocking clients)
    (requests.exceptions.ReadTimeout("read timed out"), TransientVenueError,
     UnknownOutcomeError),
    (requests.exceptions.ConnectionError("Connection aborted."), TransientVenueError,
     UnknownOutcomeError),
    (requests.exceptions.ConnectTimeout("connect timed out"), TransientVenueError,
     TransientVenueError),
    (_refused(), TransientVenueError, TransientVenueError),
    (requests.exceptions.InvalidJSONError("bad json"), MalformedVenueDataError,
     UnknownOutcomeError),
    # aiohttp (async clients)
    (CONNECT_REFUSED, TransientVenueError, TransientVenueError),
    (aiohttp.ConnectionTimeoutError("connect"), TransientVenueError, TransientVenueError),
    (aiohttp.ServerDisconnectedError(), TransientVenueError, UnknownOutcomeError),
    (aiohttp.SocketTimeoutError("read"), TransientVenueError, UnknownOutcomeError),
    (_response_error(aiohttp.ClientResponseError, 502), TransientVenueError,
     UnknownOutcomeError),
    (_response_error(aiohttp.ContentTypeError, 200), MalformedVenueDataError,
     UnknownOutcomeError),
    # plain Python
    (TimeoutError("total timeout"), TransientVenueError, UnknownOutcomeError),
    (json.JSONDecodeError("Expecting value", "<html>", 0), MalformedVenueDataError,
     UnknownOutcomeError),
    (OSError("broken pipe"), TransientVenueError, UnknownOutcomeError),
])
def test_transport_errors_for_reads_and_writes(exc: BaseException, read_cls: type,
                                               write_cls: type) -> None:
    read, write = error_for_transport(exc, READ), error_for_transport(exc, WRITE)
    assert type(read) is read_cls and type(write) is write_cls
    assert read is not None and read.venue == "acme"


def test_never_sent_is_recognised_only_for_connections_not_opened() -> None:
    assert never_sent(CONNECT_REFUSED) and never_sent(_refused())
    assert never_sent(requests.exceptions.ConnectTimeout("x"))
    assert not never_sent(aiohttp.ServerDisconnectedError())
    assert not never_sent(requests.exceptions.ReadTimeout("x"))


def test_timeouts_and_rate_limit_hints_keep_their_details() -> None:
    timeout = error_for_transport(requests.exceptions.ReadTimeout("slow"), READ)
    assert timeout is not None and timeout.code == "timeout"
    limited = error_for_transport(_response_error(aiohttp.ClientResponseError, 429,
                                                  {"Retry-After": "2"}), READ)
    assert isinstance(limited, RateLimitedError) and limited.retry_after_ms == 2000


def test_other_exceptions_are_not_transport_errors() -> None:
    assert error_for_transport(RuntimeError("a bug"), READ) is None
    assert error_for_transport(KeyError("x"), READ) is None
    known = TransientVenueError("already ours")
    assert error_for_transport(known, READ) is known


def test_no_transport_text_contains_the_secret_or_the_key() -> None:
    leaky: list[BaseException] = [
        requests.exceptions.ConnectionError(f"failed with {SECRET}"),
        OSError(f"{KEY}"),
        json.JSONDecodeError(f"{SECRET}", "doc", 0),
        aiohttp.ServerDisconnectedError(f"{SECRET}"),
        TimeoutError(KEY),
    ]
    for exc in leaky:
        for ctx in (READ, WRITE):
            text = str(error_for_transport(exc, ctx))
            assert SECRET not in text and KEY not in text, text


@pytest.mark.parametrize(("error", "label"), [
    (RateLimitedError("x"), ErrorClass.RATE_LIMITED),
    (TransientVenueError("x"), ErrorClass.TRANSIENT),
    (UnknownOutcomeError("x"), ErrorClass.UNKNOWN_OUTCOME),
    (OrderNotFoundError("x"), ErrorClass.NOT_FOUND),
    (errors.DuplicateClientOrderIdError("x"), ErrorClass.DUPLICATE),
    (VenueAuthError("x"), ErrorClass.AUTH), (ClockSkewError("x"), ErrorClass.CLOCK),
    (MalformedVenueDataError("x"), ErrorClass.MALFORMED),
    (CapabilityUnsupported("x"), ErrorClass.FATAL), (VenueError("x"), ErrorClass.FATAL)])
def test_telemetry_class_labels(error: VenueError, label: ErrorClass) -> None:
    assert error_class(error) == label.value


@pytest.mark.parametrize(("raw", "expected"), [
    ("10", 10), (" 42 ", 42), ("0", 0), ("1700000000000", 1_700_000_000_000),
    ("²", None), ("١٠", None), ("-5", None), ("1e3", None), ("12.5", None), ("", None),
    ("9" * 16, None), ("9" * 5000, None), ("\ud800", None), ("0x10", None),
])
def test_header_integers_are_ascii_bounded_and_never_raise(raw: str,
                                                           expected: int | None) -> None:
    assert header_int({"X-Bapi-Limit": raw}, "x-bapi-limit") == expected
    assert header_int({}, "X-Bapi-Limit") is None
