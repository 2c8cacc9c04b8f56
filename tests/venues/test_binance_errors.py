"""Binance's answers in our error taxonomy: the code table row by row (and where spot and
USD-M differ), HTTP statuses before codes, success codes, transport failures through
ccxt's wrappers, and scrubbed texts."""

from __future__ import annotations

from typing import Any

import aiohttp
import ccxt
import pytest
from aiohttp.client_reqrep import ConnectionKey

from console.domain import Category
from console.errors import (
    DuplicateClientOrderIdError,
    FatalVenueError,
    OrderNotFoundError,
    RateLimitedError,
    TransientVenueError,
    UnknownOutcomeError,
    VenueError,
)
from console.venues.binance import errors as e

SECRET, KEY = "sekret-0123456789abcdef", "key-0123456789"
READ = e.ErrorContext(endpoint="/fapi/v1/order", write=False, venue="binance",
                      profile="desk", secrets=(SECRET, KEY))
WRITE = e.ErrorContext(endpoint="/fapi/v1/order", write=True, venue="binance",
                       profile="desk", secrets=(SECRET, KEY))
FUT, SPOT = Category.LINEAR, Category.SPOT


def answer(status: int, body: Any, ctx: e.ErrorContext = READ, *, market: Category = FUT,
           headers: dict[str, str] | None = None) -> VenueError | None:
    return e.error_for_answer(status, headers or {}, body, ctx, market=market)


@pytest.mark.parametrize(("code", "read", "write"), [
    (-1000, TransientVenueError, UnknownOutcomeError),
    (-1001, TransientVenueError, UnknownOutcomeError),
    (-1006, TransientVenueError, UnknownOutcomeError),
    (-1007, TransientVenueError, UnknownOutcomeError),
    (-1008, TransientVenueError, UnknownOutcomeError),
    (-1003, RateLimitedError, RateLimitedError),
    (-1015, RateLimitedError, RateLimitedError),
    (-1021, e.ClockSkewError, e.ClockSkewError),
    (-1022, e.VenueAuthError, e.VenueAuthError),
    (-2014, e.VenueAuthError, e.VenueAuthError),
    (-2015, e.VenueAuthError, e.VenueAuthError),
    (-2013, OrderNotFoundError, OrderNotFoundError),
    (-4116, e.DuplicateClientOrderIdError, e.DuplicateClientOrderIdError),
    (-4117, TransientVenueError, TransientVenueError),
    (-5028, e.ClockSkewError, e.ClockSkewError),
    (-1125, e.InvalidListenKeyError, e.InvalidListenKeyError),
    (-2011, FatalVenueError, FatalVenueError),
    (-2010, FatalVenueError, FatalVenueError),
    (-2019, FatalVenueError, FatalVenueError),
    (-2021, FatalVenueError, FatalVenueError),
    (-5022, FatalVenueError, FatalVenueError),
    (-4120, FatalVenueError, FatalVenueError),
])
def test_futures_code_table(code: int, read: type[VenueError], write: type[VenueError]) -> None:
    body = {"code": code, "msg": "some message"}
    got_read, got_write = answer(400, body), answer(400, body, WRITE)
    assert type(got_read) is read and type(got_write) is write
    assert got_read is not None and got_read.code == str(code)
    assert got_read.venue == "binance" and "some message" in str(got_read)


def test_codes_that_mean_other_things_on_spot() -> None:
    assert type(answer(400, {"code": -2026, "msg": "archived"}, market=SPOT)) \
        is OrderNotFoundError
    assert type(answer(400, {"code": -2026, "msg": "reduce only type"})) is FatalVenueError
    assert type(answer(400, {"code": -4116, "msg": "dup"}, market=SPOT)) is FatalVenueError
    duplicate = answer(400, {"code": -2010, "msg": "Duplicate order sent."}, market=SPOT)
    assert isinstance(duplicate, DuplicateClientOrderIdError)
    assert type(answer(400, {"code": -2010, "msg": "Duplicate order sent."})) \
        is FatalVenueError


def test_the_dead_listen_key_is_the_code_the_stream_looks_for() -> None:
    error = answer(400, {"code": -1125, "msg": "This listenKey does not exist."})
    assert isinstance(error, FatalVenueError) and error.code == "-1125"


def test_rate_limits_wait_retry_after() -> None:
    limited = answer(429, {"code": -1003, "msg": "Too many requests queued."},
                     headers={"Retry-After": "7"})
    assert isinstance(limited, RateLimitedError)
    assert (limited.retry_after_ms, limited.code) == (7000, "-1003")
    banned = answer(418, None, WRITE, headers={"retry-after": "120"})
    assert isinstance(banned, RateLimitedError) and banned.retry_after_ms == 120_000
    assert "418" in str(banned)
    waf = answer(403, None)
    assert isinstance(waf, RateLimitedError)


def test_a_5xx_is_an_unknown_outcome_for_writes_whatever_the_body() -> None:
    body = {"code": -2010, "msg": "rejected"}
    assert type(answer(503, body, WRITE)) is UnknownOutcomeError
    assert type(answer(502, None, WRITE)) is UnknownOutcomeError
    assert type(answer(500, None)) is TransientVenueError


def test_http_statuses_without_a_code() -> None:
    unauthorised = answer(401, None)
    assert isinstance(unauthorised, e.VenueAuthError) and "desk" in str(unauthorised)
    assert type(answer(404, None)) is FatalVenueError
    assert answer(200, {"orderId": 1}) is None


@pytest.mark.parametrize("body", [
    {"code": 200, "msg": "The operation of cancel all open order is done."},
    {"algoId": 1, "clientAlgoId": "x", "code": "200", "msg": "success"},
    {"code": 0, "msg": "ok"}, [], [{"orderId": 1}], None])
def test_success_bodies(body: Any) -> None:
    assert answer(200, body) is None


def test_a_code_that_is_not_a_number_is_no_error_code() -> None:
    assert e.body_code({"code": "abc", "msg": "x"}) is None
    assert e.body_code({"code": True}) is None
    assert e.body_code({"code": "-2013", "msg": "Order does not exist."}) == (
        -2013, "Order does not exist.")


def test_texts_are_scrubbed_and_bounded() -> None:
    error = answer(400, {"code": -1102, "msg": f"bad {SECRET} and {KEY} " + "x" * 500})
    assert error is not None
    text = str(error)
    assert SECRET not in text and KEY not in text and "***" in text
    assert len(text) < 450


def test_credentials_refused_open_the_gate_once_accepted_only_for_the_key() -> None:
    bad_signature = answer(400, {"code": -1022, "msg": "Signature invalid."})
    no_permission = answer(401, {"code": -2015, "msg": "Invalid API-key, IP, or "
                                                       "permissions for action."})
    assert bad_signature is not None and no_permission is not None
    assert e.refuses_credentials(bad_signature)
    assert e.refuses_credentials(no_permission)
    assert not e.refuses_credentials(no_permission, accepted_before=True)
    assert e.refuses_credentials(bad_signature, accepted_before=True)
    clock = answer(400, {"code": -1021, "msg": "Timestamp outside recvWindow."})
    assert clock is not None and not e.refuses_credentials(clock)


def test_json_decoding_refuses_what_json_does_not_have() -> None:
    assert e.decode_body('{"code": -1, "msg": "x"}') == {"code": -1, "msg": "x"}
    assert e.decode_body("") is None
    for text in ('{"price": NaN}', '{"x": Infinity}', "<html>502</html>"):
        with pytest.raises(ValueError):  # json's own error
            e.decode_body(text)


def test_ccxt_transport_errors_follow_what_was_sent() -> None:
    never = ccxt.ExchangeNotAvailable("binance POST http://127.0.0.1:9/fapi/v1/order")
    never.__cause__ = aiohttp.ClientConnectorError(
        ConnectionKey("127.0.0.1", 9, False, True, None, None, None),
        ConnectionRefusedError(111, "refused"))
    assert type(e.error_for_exception(never, WRITE)) is TransientVenueError  # nothing sent
    timeout = ccxt.RequestTimeout("binance POST http://127.0.0.1:9/fapi/v1/order")
    timeout.__cause__ = TimeoutError()
    assert type(e.error_for_exception(timeout, WRITE)) is UnknownOutcomeError
    assert type(e.error_for_exception(timeout, READ)) is TransientVenueError
    cut = ccxt.ExchangeNotAvailable("binance POST")
    cut.__cause__ = aiohttp.ServerDisconnectedError()
    assert type(e.error_for_exception(cut, WRITE)) is UnknownOutcomeError


def test_other_ccxt_errors_are_fatal_and_bugs_stay_bugs() -> None:
    missing = ccxt.AuthenticationError(f"binance requires secret {SECRET}")
    error = e.error_for_exception(missing, READ)
    assert type(error) is FatalVenueError and SECRET not in str(error)
    with pytest.raises(KeyError):
        e.error_for_exception(KeyError("a bug"), READ)
