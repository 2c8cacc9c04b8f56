"""BybitVenue over a scripted pybit stand-in, fed what a hostile or broken venue could
send: every read fails with `MalformedVenueDataError` naming the field (so a
reconciliation marks that one list unverified), a malformed rate-limit header is
ignored (logged) instead of failing the call, and after the venue refused the
credentials the next calls fail fast with the typed auth error instead of signing with
the same secret again."""

from __future__ import annotations

import logging
from decimal import Decimal as D
from typing import Any

import pytest
from bybit_payloads import coin_json, execution_json, order_json, position_json
from pybit.exceptions import InvalidRequestError
from test_venue_bybit_client import KEY, NOW, SECRET, FakeBybit, ok, run, venue

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.errors import MalformedVenueDataError
from console.venues._common.errors import VenueAuthError
from console.venues._common.malformed import UNEXPECTED

L = Category.LINEAR


def listing(*items: Any, **result: Any) -> Any:
    return lambda params: ok({"category": "linear", "list": list(items),
                              "nextPageCursor": "", **result})


READS: list[tuple[str, str, Any, str]] = [
    ("fetch_open_orders", "get_open_orders", listing(order_json(qty="1e999999999")), "qty"),
    ("fetch_open_orders", "get_open_orders", listing(order_json(symbol={"a": 1})),
     "symbol"),
    ("fetch_open_orders", "get_open_orders", listing(None), "order: expected an object"),
    ("fetch_open_orders", "get_open_orders",
     lambda p: ok({"category": "linear", "list": None}), ".list"),
    ("fetch_open_orders", "get_open_orders", listing(order_json(createdTime=str(2 ** 63))),
     "createdTime"),
    ("fetch_positions", "get_positions", listing(position_json(positionIdx="--1")),
     "positionIdx"),
    ("fetch_positions", "get_positions", listing(position_json(symbol="BTC\ud800USD")),
     "symbol"),
    ("fetch_positions", "get_positions", listing(position_json(size="²")), "size"),
    ("fetch_balances", "get_wallet_balance",
     lambda p: ok({"list": [{"coin": [coin_json(walletBalance=None)]}]}), "walletBalance"),
    ("fetch_balances", "get_wallet_balance", lambda p: ok({"list": [{"coin": None}]}),
     "wallet[0].coin"),
    ("fetch_balances", "get_wallet_balance",
     lambda p: ({"retCode": 0, "result": {"list": []}, "time": "²"}, 0.0, {}), "time"),
    ("fetch_balances", "get_wallet_balance",
     lambda p: ({"retCode": 0, "result": None, "time": 1}, 0.0, {}), "result"),
    ("fetch_balances", "get_wallet_balance",
     lambda p: ({"retCode": False, "result": {"list": []}}, 0.0, {}), "retCode"),
]


@pytest.mark.parametrize(("method", "pybit", "handler", "field"), READS)
def test_a_malformed_read_is_typed_and_names_the_field(method: str, pybit: str,
                                                       handler: Any, field: str) -> None:
    fake = FakeBybit()
    fake.handlers[pybit] = handler
    v = venue(fake, category=Category.INVERSE if pybit == "get_positions" else L)
    call = getattr(v, method)
    with pytest.raises(MalformedVenueDataError) as err:
        run(v, call())
    assert field in str(err.value) and UNEXPECTED not in str(err.value)
    assert len(fake.named(pybit)) == 1  # refused, not retried


def test_fills_with_a_malformed_execution_are_typed() -> None:
    fake = FakeBybit()
    fake.handlers["get_executions"] = listing(execution_json(execTime="١٧٠٠"))
    v = venue(fake)
    with pytest.raises(MalformedVenueDataError, match="execTime"):
        run(v, v.fetch_fills(NOW - 1000, NOW))


@pytest.mark.parametrize("error", [RecursionError("maximum recursion depth exceeded"),
                                   ValueError("Exceeds the limit (4300 digits)"),
                                   OverflowError("int too large"),
                                   AttributeError("'list' object has no attribute 'get'")])
def test_what_pybit_raises_reading_a_hostile_body_is_malformed(error: Exception) -> None:
    fake = FakeBybit()

    def handler(params: dict[str, Any]) -> Any:
        raise error

    fake.handlers["get_positions"] = handler
    v = venue(fake)
    with pytest.raises(MalformedVenueDataError, match=type(error).__name__):
        run(v, v.fetch_positions())


def test_an_unreadable_server_time_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeBybit()
    fake.handlers["get_server_time"] = lambda p: ok({"timeNano": "²" * 19})
    fake.handlers["get_open_orders"] = listing()
    v = venue(fake)
    with caplog.at_level(logging.WARNING):
        assert run(v, v.fetch_open_orders()) == []
    assert any("could not read the venue clock" in r.getMessage() for r in caplog.records)


BAD_HEADERS = ["²", "١٠", "-5", "1e3", "9" * 5000, "", " ", "0x10", "12.5", "\ud800"]


@pytest.mark.parametrize("value", BAD_HEADERS)
def test_a_malformed_rate_limit_header_is_ignored_not_fatal(
        value: str, caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeBybit()
    headers = {"X-Bapi-Limit": value, "X-Bapi-Limit-Status": value,
               "X-Bapi-Limit-Reset-Timestamp": value}
    fake.handlers["get_open_orders"] = lambda p: ok({"list": [], "nextPageCursor": ""},
                                                    headers)
    sleeps: list[float] = []
    v = venue(fake, sleeps=sleeps)

    async def twice() -> None:
        assert await v.fetch_open_orders() == []
        budget = v.rate_budget().get("/v5/order/realtime")
        assert budget is None or (budget.limit, budget.remaining, budget.reset_at) == (
            None, None, None)
        assert await v.fetch_open_orders() == []

    with caplog.at_level(logging.WARNING):
        run(v, twice())
    assert sleeps == []  # an unreadable budget is no reason to wait
    if value.strip():
        assert any("ignoring response header" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("value", ["²", "-5", "9" * 5000, "١٠"])
def test_a_rate_limit_refusal_with_a_malformed_reset_header_backs_off(value: str) -> None:
    fake = FakeBybit()
    answers = iter([InvalidRequestError(request="GET x", message="Too many visits!",
                                        status_code=10006, time="",
                                        resp_headers={"X-Bapi-Limit-Reset-Timestamp": value}),
                    ok({"list": [], "nextPageCursor": ""})])

    def handler(params: dict[str, Any]) -> Any:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    fake.handlers["get_open_orders"] = handler
    sleeps: list[float] = []
    v = venue(fake, sleeps=sleeps)
    assert run(v, v.fetch_open_orders()) == []
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 0.1  # the policy's own backoff


def refused(code: int) -> InvalidRequestError:
    return InvalidRequestError(request="GET x", message="error sign!", status_code=code,
                               time="", resp_headers={})


def test_after_a_refused_signature_calls_fail_fast_without_signing_again(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeBybit()

    def handler(params: dict[str, Any]) -> Any:
        raise refused(10004)

    fake.handlers["get_open_orders"] = handler
    clock = [NOW]
    v = venue(fake, clock=lambda: clock[0], auth_retry_base_ms=60_000,
              auth_retry_max_ms=600_000)

    async def main() -> None:
        with pytest.raises(VenueAuthError, match="profile 'main'"):
            await v.fetch_open_orders()
        assert len(fake.named("get_open_orders")) == 1
        for _ in range(5):  # the periodic runs: nothing reaches the venue
            with pytest.raises(VenueAuthError, match="authentication was refused"):
                await v.fetch_open_orders()
        assert len(fake.named("get_open_orders")) == 1
        # the emergency lane still tries
        with v.priority(), pytest.raises(VenueAuthError):
            await v.fetch_open_orders()
        assert len(fake.named("get_open_orders")) == 2
        clock[0] += 60_000  # the probe, refused again: now two minutes
        with pytest.raises(VenueAuthError):
            await v.fetch_open_orders()
        assert len(fake.named("get_open_orders")) == 3
        clock[0] += 60_000
        with pytest.raises(VenueAuthError, match="for 60 s"):
            await v.fetch_open_orders()
        assert len(fake.named("get_open_orders")) == 3
        clock[0] += 60_000  # fixed meanwhile: accepted, and the episode ends
        fake.handlers["get_open_orders"] = listing()
        assert await v.fetch_open_orders() == []
        assert v.auth_gate.episode is None
        assert await v.fetch_open_orders() == []

    with caplog.at_level(logging.INFO):
        run(v, main())
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "authentication was refused" in errors[0].getMessage()
    assert all(SECRET not in r.getMessage() and KEY not in r.getMessage()
               for r in caplog.records)


def test_a_missing_permission_does_not_close_the_gate() -> None:
    fake = FakeBybit()

    def handler(params: dict[str, Any]) -> Any:
        raise refused(10005)

    fake.handlers["place_order"] = handler
    fake.handlers["get_open_orders"] = listing()
    v = venue(fake)

    async def main() -> None:
        order = Order(venue="bybit", account="acct", category=L, symbol="ETHUSDT",
                      side=Side.BUY, type=OrderType.LIMIT, qty=D(1), price=D(100),
                      status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-e-a-1")
        with pytest.raises(VenueAuthError):
            await v.place_order(order)
        assert await v.fetch_open_orders() == []  # a read-only key still reads

    run(v, main())
    assert v.auth_gate.episode is None
