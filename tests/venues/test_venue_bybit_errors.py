"""Bybit failures → our taxonomy: the retCode table row by row, HTTP statuses, transport
errors for reads and for writes, pybit's own exceptions, and no secret in any text."""

from __future__ import annotations

import json

import pytest
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
from console.venues.bybit.errors import (
    RET_CODES,
    ClockSkewError,
    DuplicateClientOrderIdError,
    ErrorContext,
    Kind,
    VenueAuthError,
    error_class,
    error_for_exception,
    error_for_http_status,
    error_for_ret_code,
    retry_after_ms,
    scrub,
)

SECRET = "S3cr3tS3cr3tS3cr3tS3cr3tS3cr3t0000"
KEY = "KeyKeyKeyKeyKey123"
READ = ErrorContext("/v5/order/realtime", write=False, profile="main", now_ms=1_000_000,
                    secrets=(SECRET, KEY))
WRITE = ErrorContext("/v5/order/create", write=True, profile="main", now_ms=1_000_000,
                     secrets=(SECRET, KEY))

EXPECTED: dict[int, tuple[type[VenueError], type[VenueError]]] = {
    # code: (class for a read, class for a write)
    10000: (TransientVenueError, UnknownOutcomeError),
    10016: (TransientVenueError, UnknownOutcomeError),
    170007: (TransientVenueError, UnknownOutcomeError),
    10019: (TransientVenueError, TransientVenueError),
    110079: (TransientVenueError, TransientVenueError),
    10006: (RateLimitedError, RateLimitedError),
    10018: (RateLimitedError, RateLimitedError),
    10429: (RateLimitedError, RateLimitedError),
    10002: (ClockSkewError, ClockSkewError),
    10003: (VenueAuthError, VenueAuthError),
    10004: (VenueAuthError, VenueAuthError),
    10005: (VenueAuthError, VenueAuthError),
    10007: (VenueAuthError, VenueAuthError),
    10009: (VenueAuthError, VenueAuthError),
    10010: (VenueAuthError, VenueAuthError),
    33004: (VenueAuthError, VenueAuthError),
    110001: (OrderNotFoundError, OrderNotFoundError),
    170213: (OrderNotFoundError, OrderNotFoundError),
    110072: (DuplicateClientOrderIdError, DuplicateClientOrderIdError),
    170141: (DuplicateClientOrderIdError, DuplicateClientOrderIdError),
    # anything else is a bad request: fatal
    10001: (FatalVenueError, FatalVenueError),
    110007: (FatalVenueError, FatalVenueError),
    110017: (FatalVenueError, FatalVenueError),
    110064: (FatalVenueError, FatalVenueError),
}


def test_the_table_covers_every_special_code() -> None:
    assert set(RET_CODES) <= set(EXPECTED)


@pytest.mark.parametrize("code", sorted(EXPECTED))
def test_ret_code_table(code: int) -> None:
    read_cls, write_cls = EXPECTED[code]
    read = error_for_ret_code(code, "msg", READ)
    write = error_for_ret_code(code, "msg", WRITE)
    assert type(read) is read_cls and type(write) is write_cls
    assert read.code == str(code) and read.venue == "bybit"
    assert f"retCode {code}" in str(read) and "/v5/order/realtime" in str(read)


def test_auth_errors_name_the_profile() -> None:
    error = error_for_ret_code(10004, "error sign!", READ)
    assert isinstance(error, FatalVenueError)
    assert "check the API key/secret of profile 'main'" in str(error)
    assert "retCode 10004" in str(error)


def test_duplicate_client_id_is_recognisable_without_importing_the_adapter() -> None:
    error = error_for_ret_code(110072, "OrderLinkedID is duplicate", WRITE)
    assert isinstance(error, FatalVenueError)
    assert isinstance(error, errors.DuplicateClientOrderIdError) and error.code == "110072"


def test_rate_limits_carry_the_reset_hint() -> None:
    headers = {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "0",
               "X-Bapi-Limit-Reset-Timestamp": "1000750"}
    error = error_for_ret_code(10006, "Too many visits!", READ, headers)
    assert isinstance(error, RateLimitedError) and error.retry_after_ms == 750
    lower = {k.lower(): v for k, v in headers.items()}
    assert retry_after_ms(lower, READ) == 750
    assert retry_after_ms({"X-Bapi-Limit-Reset-Timestamp": "999000"}, READ) == 0
    assert retry_after_ms({}, READ) is None
    assert retry_after_ms({"X-Bapi-Limit-Reset-Timestamp": "soon"}, READ) is None
    skewed = ErrorContext("/x", write=False, now_ms=1_000_000, clock_offset_ms=500)
    assert retry_after_ms(headers, skewed) == 250  # the reset is in venue time


@pytest.mark.parametrize(("status", "read_cls", "write_cls"), [
    (403, RateLimitedError, RateLimitedError),
    (429, RateLimitedError, RateLimitedError),
    (500, TransientVenueError, UnknownOutcomeError),
    (502, TransientVenueError, UnknownOutcomeError),
    (503, TransientVenueError, UnknownOutcomeError),
    (401, VenueAuthError, VenueAuthError),
    (404, FatalVenueError, FatalVenueError),
])
def test_http_statuses(status: int, read_cls: type, write_cls: type) -> None:
    assert type(error_for_http_status(status, READ)) is read_cls
    assert type(error_for_http_status(status, WRITE)) is write_cls


def _refused() -> requests.exceptions.ConnectionError:
    class NewConnectionError(OSError):  # the name urllib3 uses
        pass

    class MaxRetryError(Exception):
        def __init__(self, reason: BaseException) -> None:
            super().__init__("Max retries exceeded")
            self.reason = reason

    return requests.exceptions.ConnectionError(
        MaxRetryError(NewConnectionError("[Errno 111] Connection refused")))


@pytest.mark.parametrize(("exc", "read_cls", "write_cls"), [
    (requests.exceptions.ReadTimeout("read timed out"), TransientVenueError,
     UnknownOutcomeError),
    (requests.exceptions.ChunkedEncodingError("broken"), TransientVenueError,
     UnknownOutcomeError),
    (requests.exceptions.ConnectionError("Connection aborted. RemoteDisconnected"),
     TransientVenueError, UnknownOutcomeError),
    # the request never left: nothing can have happened, even for a write
    (requests.exceptions.ConnectTimeout("connect timed out"), TransientVenueError,
     TransientVenueError),
    (_refused(), TransientVenueError, TransientVenueError),
    (requests.exceptions.InvalidJSONError("bad json"), MalformedVenueDataError,
     UnknownOutcomeError),
])
def test_transport_errors_for_reads_and_writes(exc: BaseException, read_cls: type,
                                               write_cls: type) -> None:
    assert type(error_for_exception(exc, READ)) is read_cls
    assert type(error_for_exception(exc, WRITE)) is write_cls


def test_pybit_exceptions() -> None:
    invalid = InvalidRequestError(request="POST /v5/order/create: {}", message="params error",
                                  status_code=10001, time="10:00:00", resp_headers={})
    assert type(error_for_exception(invalid, WRITE)) is FatalVenueError
    not_found = InvalidRequestError(request="x", message="Order does not exist.",
                                    status_code=110001, time="", resp_headers=None)
    assert isinstance(error_for_exception(not_found, WRITE), OrderNotFoundError)
    gateway = FailedRequestError(request="POST x: {}", message="HTTP status code is not 200.",
                                 status_code=502, time="", resp_headers={})
    assert isinstance(error_for_exception(gateway, WRITE), UnknownOutcomeError)
    assert isinstance(error_for_exception(gateway, READ), TransientVenueError)
    garbage = FailedRequestError(request="JSON decoding", message="Conflict.",
                                 status_code=409, time="", resp_headers=None)
    assert isinstance(error_for_exception(garbage, READ), MalformedVenueDataError)
    assert isinstance(error_for_exception(garbage, WRITE), UnknownOutcomeError)
    # pybit reads the envelope with .get(): a JSON list fails inside it
    assert isinstance(error_for_exception(AttributeError("'list' object has no attribute "
                                                         "'get'"), READ),
                      MalformedVenueDataError)
    assert isinstance(error_for_exception(PermissionError("keys"), READ), VenueAuthError)
    with pytest.raises(RuntimeError):
        error_for_exception(RuntimeError("a bug stays a bug"), READ)


def test_no_text_ever_contains_the_secret_or_the_key() -> None:
    leaky = [
        InvalidRequestError(request=f"GET x?api_key={KEY}", message=f"bad {SECRET}",
                            status_code=10004, time="", resp_headers=None),
        requests.exceptions.ConnectionError(f"failed with {SECRET} in it"),
        OSError(f"{KEY}"),
        json.JSONDecodeError(f"{SECRET}", "doc", 0),
    ]
    for exc in leaky:
        for ctx in (READ, WRITE):
            text = str(error_for_exception(exc, ctx))
            assert SECRET not in text and KEY not in text, text
    assert scrub(f"a{SECRET}b", [SECRET]) == "a***b"


def test_pybit_exception_texts_carry_params_but_no_signature() -> None:
    # pybit's own text: the request line and its parameters, never the headers
    exc = InvalidRequestError(request='POST http://x/v5/order/create: {"qty": "1"}',
                              message="error sign!", status_code=10004, time="t",
                              resp_headers={"X-Bapi-Limit": "10"})
    assert "X-BAPI-SIGN" not in str(exc) and '"qty": "1"' in str(exc)


@pytest.mark.parametrize(("error", "label"), [
    (RateLimitedError("x"), Kind.RATE_LIMITED), (TransientVenueError("x"), Kind.TRANSIENT),
    (UnknownOutcomeError("x"), Kind.UNKNOWN_OUTCOME), (OrderNotFoundError("x"), Kind.NOT_FOUND),
    (DuplicateClientOrderIdError("x"), Kind.DUPLICATE), (VenueAuthError("x"), Kind.AUTH),
    (ClockSkewError("x"), Kind.CLOCK), (MalformedVenueDataError("x"), Kind.MALFORMED),
    (FatalVenueError("x"), Kind.FATAL)])
def test_telemetry_class_labels(error: VenueError, label: Kind) -> None:
    assert error_class(error) == label.value
