"""BybitVenue's own logic over a scripted pybit stand-in (no network): one session per
worker thread, pagination, 7-day fill windows, rate budgets, clock skew, error
classification, follow-up reads after writes, and that pybit's retries are off."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest
from bybit_payloads import execution_json, order_json
from pybit.exceptions import InvalidRequestError

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.errors import (
    FatalVenueError,
    MalformedVenueDataError,
    TransientVenueError,
    UnknownOutcomeError,
)
from console.venues.bybit import BybitConfig, BybitVenue
from console.venues.bybit.client import FILLS_WINDOW_MS, NEVER_RETRY_CODE

KEY, SECRET = "key-0123456789", "secret-0123456789abcdef"
NOW = 1_700_000_000_000
DAY = 86_400_000

Handler = Callable[[dict[str, Any]], Any]


def ok(result: dict[str, Any], headers: dict[str, str] | None = None,
       time: int = NOW) -> tuple[dict[str, Any], float, dict[str, str]]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {},
            "time": time}, 0.001, headers or {}


class FakeBybit:
    """A pybit HTTP stand-in shared by every session the venue creates."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {
            "get_server_time": lambda p: ok({"timeSecond": str(NOW // 1000),
                                             "timeNano": str(NOW * 1_000_000)}),
        }
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.threads: dict[int, int] = {}
        self.lock = threading.Lock()
        self.sessions = 0

    def session(self) -> Any:
        fake = self
        with self.lock:
            self.sessions += 1
        owner = threading.get_ident()

        class Session:
            def __getattr__(self, name: str) -> Callable[..., Any]:
                def call(**params: Any) -> Any:
                    assert threading.get_ident() == owner, "a session crossed threads"
                    with fake.lock:
                        fake.calls.append((name, params))
                    return fake.handlers[name](params)
                return call

        return Session()

    def named(self, name: str) -> list[dict[str, Any]]:
        return [p for n, p in self.calls if n == name]


def venue(fake: FakeBybit, clock: Callable[[], int] = lambda: NOW,
          sleeps: list[float] | None = None, **changes: Any) -> BybitVenue:
    async def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    config = BybitConfig(**{"account": "acct", "rest_url": "http://127.0.0.1:9",
                            "ws_private_url": "ws://127.0.0.1:9/v5/private",
                            "retry_base_ms": 10, "retry_max_ms": 100, **changes})
    return BybitVenue(config, KEY, SECRET, profile="main", clock_ms=clock, sleep=sleep,
                      session_factory=fake.session)


def run(venue_: BybitVenue, coro: Any) -> Any:
    async def main() -> Any:
        try:
            return await coro
        finally:
            await venue_.aclose()
    return asyncio.run(main())


def pages(items: list[dict[str, Any]], limit: int) -> Handler:
    """Cursor pagination over `items` like Bybit's (cursor = next index)."""
    def handler(params: dict[str, Any]) -> Any:
        start = int(params.get("cursor") or 0)
        chunk = items[start:start + int(params["limit"])]
        assert int(params["limit"]) == limit
        more = start + len(chunk) < len(items)
        return ok({"category": "linear", "list": chunk,
                   "nextPageCursor": str(start + len(chunk)) if more else ""})
    return handler


def test_pybit_sessions_are_built_without_their_own_retries() -> None:
    config = BybitConfig(account="acct", rest_url="http://127.0.0.1:9/",
                         ws_private_url="ws://127.0.0.1:9/v5/private", recv_window_ms=7000)
    v = BybitVenue(config, KEY, SECRET, profile="main")
    session = v._new_session()
    assert session.endpoint == "http://127.0.0.1:9"
    assert session.retry_codes == {NEVER_RETRY_CODE} and not session.force_retry
    assert session.max_retries == 1 and session.return_response_headers
    assert session.recv_window == 7000
    assert SECRET not in repr(session) and SECRET not in repr(v) and KEY not in repr(v)
    asyncio.run(v.aclose())


def test_open_orders_follow_every_page_and_count_each_request() -> None:
    fake = FakeBybit()
    items = [order_json(orderId=f"id-{i}") for i in range(120)]
    fake.handlers["get_open_orders"] = pages(items, 50)
    v = venue(fake)
    orders = run(v, v.fetch_open_orders())
    assert len(orders) == 120 and v.calls["fetch_open_orders"] == 3
    first = fake.named("get_open_orders")[0]
    assert first == {"category": "linear", "openOnly": 0, "settleCoin": "USDT", "limit": 50}


def test_symbols_scope_each_listing() -> None:
    fake = FakeBybit()
    fake.handlers["get_open_orders"] = pages([order_json()], 50)
    v = venue(fake, symbols=("ETHUSDT", "BTCUSDT"))
    orders = run(v, v.fetch_open_orders())
    assert len(orders) == 1  # the same order listed twice is one order
    assert [p["symbol"] for p in fake.named("get_open_orders")] == ["ETHUSDT", "BTCUSDT"]


def test_one_session_per_worker_thread() -> None:
    fake = FakeBybit()
    fake.handlers["get_open_orders"] = pages([order_json()], 50)
    v = venue(fake, rest_workers=3)

    async def many() -> None:
        await asyncio.gather(*(v.fetch_open_orders() for _ in range(12)))

    run(v, many())
    assert 1 <= fake.sessions <= 3  # the asserts inside the fake check no crossing


def test_fills_are_fetched_in_seven_day_windows_inclusive() -> None:
    fake = FakeBybit()
    since, until = NOW - 20 * DAY, NOW
    inside = [execution_json(execId=f"e{i}", execTime=str(t)) for i, t in
              enumerate([since, since + 7 * DAY, until])]
    outside = [execution_json(execId="before", execTime=str(since - 1)),
               execution_json(execId="after", execTime=str(until + 1))]

    def handler(params: dict[str, Any]) -> Any:
        assert params["endTime"] - params["startTime"] < FILLS_WINDOW_MS
        chosen = [e for e in inside + outside
                  if params["startTime"] - 1 <= int(e["execTime"]) <= params["endTime"] + 1]
        return ok({"category": "linear", "list": chosen, "nextPageCursor": ""})

    fake.handlers["get_executions"] = handler
    v = venue(fake)
    fills = run(v, v.fetch_fills(since, until))
    windows = [(p["startTime"], p["endTime"]) for p in fake.named("get_executions")]
    assert windows[0][0] == since and windows[-1][1] == until and len(windows) == 3
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(windows))
    assert [f.exec_id for f in fills] == ["e0", "e1", "e2"]  # sorted, edges kept, no dupes
    assert v.calls["fetch_fills"] == 3


def test_fills_before_bybits_retention_are_not_queried() -> None:
    fake = FakeBybit()
    fake.handlers["get_executions"] = lambda p: ok({"list": [], "nextPageCursor": ""})
    v = venue(fake, fills_history_days=10)
    run(v, v.fetch_fills(0, NOW))
    assert fake.named("get_executions")[0]["startTime"] == NOW - 10 * DAY
    assert v.calls["fetch_fills"] == 2
    with pytest.raises(FatalVenueError, match="ends"):
        run(venue(fake), venue(fake).fetch_fills(5, 4))


def test_a_cursor_that_does_not_advance_is_malformed() -> None:
    fake = FakeBybit()
    fake.handlers["get_open_orders"] = lambda p: ok({"list": [order_json()],
                                                     "nextPageCursor": "same"})
    v = venue(fake)
    with pytest.raises(MalformedVenueDataError, match="did not advance"):
        run(v, v.fetch_open_orders())


def test_a_spent_rate_budget_delays_the_next_call_until_its_reset() -> None:
    fake = FakeBybit()
    headers = {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "0",
               "X-Bapi-Limit-Reset-Timestamp": str(NOW + 400)}
    fake.handlers["get_open_orders"] = lambda p: ok({"list": [], "nextPageCursor": ""},
                                                    headers)
    sleeps: list[float] = []
    v = venue(fake, sleeps=sleeps, retry_max_ms=1000)  # waits are capped at retry_max_ms

    async def twice() -> None:
        await v.fetch_open_orders()
        budget = v.rate_budget().get("/v5/order/realtime")
        assert budget is not None and (budget.limit, budget.remaining) == (10, 0)
        assert budget.reset_at == NOW + 400
        await v.fetch_open_orders()

    run(v, twice())
    assert sleeps == [0.4]


def test_rate_limit_answers_wait_for_the_reset_and_retry() -> None:
    fake = FakeBybit()
    answers = iter([
        InvalidRequestError(request="GET x", message="Too many visits!", status_code=10006,
                            time="", resp_headers={"X-Bapi-Limit-Reset-Timestamp":
                                                   str(NOW + 50)}),
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
    assert sleeps == [0.05] and v.calls["fetch_open_orders"] == 2


def test_a_clock_far_from_bybits_is_measured_compensated_and_reported(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeBybit()
    fake.handlers["get_wallet_balance"] = lambda p: ok({"list": []})
    v = venue(fake, clock=lambda: NOW - 3000)  # the local clock is 3 s behind
    run(v, v.fetch_balances())
    assert v.clock_skew_ms == 3000 and v._clock_offset_ms == 3000
    assert "3000 ms behind Bybit's" in caplog.text
    assert v.calls["sync_clock"] == 1
    small = venue(FakeBybit(), clock=lambda: NOW - 100)
    assert run(small, small.sync_clock()) == 100 and small._clock_offset_ms == 0


def test_transport_errors_on_reads_are_retried_on_writes_not() -> None:
    import requests

    fake = FakeBybit()

    def boom(params: dict[str, Any]) -> Any:
        raise requests.exceptions.ReadTimeout("read timed out")

    fake.handlers["get_positions"] = boom
    fake.handlers["place_order"] = boom
    v = venue(fake, retry_tries=3)
    with pytest.raises(TransientVenueError):
        run(v, v.fetch_positions())
    assert v.calls["fetch_positions"] == 3
    order = Order(venue="bybit", account="acct", category=Category.LINEAR, symbol="BTCUSDT",
                  side=Side.BUY, type=OrderType.LIMIT, qty=D(1), price=D(100),
                  status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-e-a-1")
    w = venue(fake, retry_tries=3)
    with pytest.raises(UnknownOutcomeError):
        run(w, w.place_order(order))
    assert w.calls["place_order"] == 1


def test_writes_read_the_order_back_or_fall_back_to_what_was_sent() -> None:
    fake = FakeBybit()
    fake.handlers["place_order"] = lambda p: ok({"orderId": "v-9",
                                                 "orderLinkId": p["orderLinkId"]})
    fake.handlers["cancel_order"] = lambda p: ok({"orderId": "v-9", "orderLinkId": ""})
    fake.handlers["get_open_orders"] = lambda p: ok(
        {"category": "linear", "nextPageCursor": "",
         "list": [order_json(orderId="v-9", orderStatus="PartiallyFilled",
                             cumExecQty="0.05")]})
    order = Order(venue="bybit", account="acct", category=Category.LINEAR, symbol="ETHUSDT",
                  side=Side.BUY, type=OrderType.LIMIT, qty=D("0.10"), price=D(1600),
                  status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-e-a-1",
                  strategy_id="s1", worker_id="w1")
    v = venue(fake)
    placed = run(v, v.place_order(order))
    assert placed.venue_order_id == "v-9" and placed.status is OrderStatus.PARTIALLY_FILLED
    assert placed.strategy_id == "s1" and placed.worker_id == "w1"
    assert v.calls["place_order"] == 2
    # the read-back fails: the answer is built from the request, never a guessed fill
    fake.handlers["get_open_orders"] = lambda p: ok({"list": "garbage"})
    w = venue(fake)
    fallback = run(w, w.place_order(order))
    assert fallback.status is OrderStatus.NEW and fallback.venue_order_id == "v-9"
    x = venue(fake)
    cancelled = run(x, x.cancel_order(placed))
    assert cancelled.status is OrderStatus.PENDING_CANCEL  # accepted, not yet seen final


def test_a_malformed_write_answer_is_an_unknown_outcome() -> None:
    fake = FakeBybit()
    fake.handlers["place_order"] = lambda p: ok({"orderLinkId": "x"})  # no orderId
    order = Order(venue="bybit", account="acct", category=Category.LINEAR, symbol="ETHUSDT",
                  side=Side.BUY, type=OrderType.LIMIT, qty=D(1), price=D(1),
                  status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-e-a-1")
    v = venue(fake)
    with pytest.raises(UnknownOutcomeError, match="orderId: missing"):
        run(v, v.place_order(order))


def test_fetch_order_is_none_only_when_both_lists_are_empty() -> None:
    fake = FakeBybit()
    empty = ok({"category": "linear", "list": [], "nextPageCursor": ""})
    fake.handlers["get_open_orders"] = lambda p: empty
    fake.handlers["get_order_history"] = lambda p: empty
    probe = Order(venue="bybit", account="acct", category=Category.LINEAR, symbol="ETHUSDT",
                  side=Side.BUY, type=OrderType.LIMIT, qty=D(1), price=D(1),
                  status=OrderStatus.NEW, client_order_id="rc-w1-e-a-1",
                  created_at=NOW - 30 * DAY)
    v = venue(fake)
    assert run(v, v.fetch_order(probe)) is None
    history = fake.named("get_order_history")[0]
    assert history["orderLinkId"] == "rc-w1-e-a-1"
    # an old order is looked for in a window around its creation
    assert history["startTime"] <= probe.created_at <= history["endTime"]
    fake.handlers["get_order_history"] = lambda p: ok(
        {"list": [order_json(orderId="v-1", orderLinkId="rc-w1-e-a-1",
                             orderStatus="Filled", cumExecQty="0.10")]})
    w = venue(fake)
    found = run(w, w.fetch_order(probe))
    assert found is not None and found.status is OrderStatus.FILLED


def test_the_priority_lane_skips_the_budget_wait_and_has_its_own_threads() -> None:
    fake = FakeBybit()
    threads: list[str] = []
    headers = {"X-Bapi-Limit": "10", "X-Bapi-Limit-Status": "0",
               "X-Bapi-Limit-Reset-Timestamp": str(NOW + 400)}

    def handler(params: dict[str, Any]) -> Any:
        threads.append(threading.current_thread().name)
        return ok({"list": [], "nextPageCursor": ""}, headers)

    fake.handlers["get_open_orders"] = handler
    sleeps: list[float] = []
    v = venue(fake, sleeps=sleeps, retry_max_ms=1000)

    async def main() -> None:
        await v.warm_priority_lane()
        await v.fetch_open_orders()  # the budget is now spent
        with v.priority():
            await v.fetch_open_orders()

    run(v, main())
    assert sleeps == []  # the urgent call did not wait for the reset
    assert threads[0].startswith("bybit-acct-rest") and threads[1].startswith("bybit-acct-pri")
    assert v.calls["fetch_open_orders"] == 2 and v.priority_calls == {"fetch_open_orders": 1}
    # warming built one session per priority worker (4) besides the normal one
    assert fake.sessions == 5
