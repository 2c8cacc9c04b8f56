"""SimVenue: the async venue port over one sim account, its paging and call counting,
and the fault hooks tests use."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest
from sim_helpers import Clock

from console.domain import (
    Category,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Side,
    TimeInForce,
)
from console.domain.events import BalanceEvent, ConnectionEvent, OrderEvent
from console.engine.ports import VenuePort
from console.errors import FatalVenueError, OrderNotFoundError, TransientVenueError
from console.sim import SimExchange, SimVenue

L = Category.LINEAR
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def rest(ex: SimExchange, n: int, *, start: int = 0) -> None:
    for i in range(n):
        ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                       order_type=OrderType.LIMIT, qty=D(1), price=D(90) - D(i + start) / 10)


def intent(**changes: object) -> Order:
    base = Order(venue="sim", account="a", category=L, symbol="TSTUSDT", side=Side.BUY,
                 type=OrderType.LIMIT, qty=D(2), price=D(95), status=OrderStatus.PENDING_NEW,
                 client_order_id="rc-w1-e-abc-1", strategy_id="demo", worker_id="w1",
                 role=OrderRole.ENTRY)
    return base.evolve(**changes)


def test_it_is_a_venue_port(ex: SimExchange) -> None:
    venue: VenuePort = SimVenue(ex, "a")  # checked by mypy: structural conformance
    assert venue.venue == "sim" and venue.account == "a"
    with pytest.raises(ValueError, match="does not exist"):
        SimVenue(ex, "nobody")


@pytest.mark.parametrize(("count", "pages"), [(0, 1), (49, 1), (50, 1), (51, 2), (100, 2),
                                              (120, 3)])
def test_open_orders_are_paged_fifty_at_a_time(ex: SimExchange, count: int,
                                               pages: int) -> None:
    rest(ex, count)
    venue = SimVenue(ex, "a")
    orders = run(venue.fetch_open_orders())
    assert [o.venue_order_id for o in orders] == [o.venue_order_id for o in ex.open_orders("a")]
    assert len(orders) == count
    assert venue.calls["fetch_open_orders"] == pages


def test_page_limits_are_configurable_and_fills_page_by_hundred(ex: SimExchange,
                                                               clock: Clock) -> None:
    ex.configure_book(L, "TSTUSDT", level_qty=D(1))
    ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                   order_type=OrderType.MARKET, qty=D(20))  # 20 fills, one per level
    for _ in range(11):
        clock.advance()
        ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.SELL,
                       order_type=OrderType.MARKET, qty=D(20))
        ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                       order_type=OrderType.MARKET, qty=D(20))
    assert len(ex.fills("a")) == 460
    venue = SimVenue(ex, "a")
    fills = run(venue.fetch_fills(0, clock.now))
    assert fills == ex.fills("a") and venue.calls["fetch_fills"] == 5
    small = SimVenue(ex, "a", page_limits={"fetch_fills": 7, "fetch_open_orders": 2})
    window = run(small.fetch_fills(clock.now - 1000, clock.now))
    assert window == ex.fills("a", since=clock.now - 1000) and len(window) == 80
    assert small.calls["fetch_fills"] == 12  # ceil(80 / 7)
    rest(ex, 5)
    assert len(run(small.fetch_open_orders())) == 5 and small.calls["fetch_open_orders"] == 3
    with pytest.raises(ValueError):
        SimVenue(ex, "a", page_limits={"fetch_balances": 1})


def test_fills_window_splits_the_range_like_a_seven_day_limit(ex: SimExchange,
                                                              clock: Clock) -> None:
    start = clock.now
    for _ in range(3):
        ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                       order_type=OrderType.MARKET, qty=D(1))
        clock.advance(10_000)
    venue = SimVenue(ex, "a", fills_window_ms=4_000)
    fills = run(venue.fetch_fills(start, start + 20_000))
    assert [f.exec_time for f in fills] == [start, start + 10_000, start + 20_000]
    assert venue.calls["fetch_fills"] == 6  # windows of 4 s over 20.001 s, one page each


def test_positions_balances_and_single_orders(ex: SimExchange) -> None:
    ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                   order_type=OrderType.MARKET, qty=D(3), client_order_id="m1")
    venue = SimVenue(ex, "a")
    (pos,) = run(venue.fetch_positions())
    assert pos.size == D(3) and venue.calls["fetch_positions"] == 1
    assert run(venue.fetch_balances()) == ex.balances("a")
    by_cid = run(venue.fetch_order(intent(client_order_id="m1")))
    assert by_cid is not None and by_cid.status is OrderStatus.FILLED
    by_vid = run(venue.fetch_order(intent(venue_order_id=by_cid.venue_order_id,
                                          client_order_id="")))
    assert by_vid == by_cid
    assert run(venue.fetch_order(intent(client_order_id="never"))) is None
    assert run(venue.fetch_order(intent(venue_order_id="0000", client_order_id=""))) is None
    assert venue.calls["fetch_order"] == 4


def test_writes_carry_the_ledger_intent_over(ex: SimExchange) -> None:
    venue = SimVenue(ex, "a")
    placed = run(venue.place_order(intent()))
    assert placed.status is OrderStatus.NEW and placed.venue_order_id
    assert (placed.strategy_id, placed.worker_id, placed.role, placed.origin) == (
        "demo", "w1", OrderRole.ENTRY, Origin.OURS)
    amended = run(venue.amend_order(placed, qty=D(3), price="94.5"))
    assert (amended.qty, amended.price, amended.role) == (D(3), D("94.5"), OrderRole.ENTRY)
    with pytest.raises(FatalVenueError) as info:
        run(venue.amend_order(placed, price=94.5))
    assert info.value.code == "invalid_request"
    cancelled = run(venue.cancel_order(amended))
    assert cancelled.status is OrderStatus.CANCELLED and cancelled.worker_id == "w1"
    with pytest.raises(FatalVenueError) as info:
        run(venue.place_order(intent(qty=D("0.5"))))
    assert info.value.code == "invalid_qty"
    with pytest.raises(OrderNotFoundError):
        run(venue.cancel_order(intent(client_order_id="gone")))
    ioc = run(venue.place_order(intent(client_order_id="i1", price=D(101),
                                       time_in_force=TimeInForce.IOC)))
    assert ioc.status is OrderStatus.FILLED
    run(venue.place_order(intent(client_order_id="r1")))
    run(venue.place_order(intent(client_order_id="r2", type=OrderType.MARKET, price=None,
                                 trigger_price=D(80), side=Side.SELL, reduce_only=True)))
    assert len(run(venue.cancel_all(L))) == 2
    assert venue.calls == {"place_order": 5, "amend_order": 2, "cancel_order": 2,
                           "cancel_all": 1}


def test_fail_next_and_malformed_next_hit_one_call_each(ex: SimExchange) -> None:
    venue = SimVenue(ex, "a")
    venue.fail_next("fetch_balances", TransientVenueError("timeout", venue="sim"))
    with pytest.raises(TransientVenueError):
        run(venue.fetch_balances())
    assert run(venue.fetch_balances()) == ex.balances("a")
    venue.malformed_next("fetch_open_orders")
    with pytest.raises(FatalVenueError) as info:
        run(venue.fetch_open_orders())
    assert info.value.code == "malformed"
    assert run(venue.fetch_open_orders()) == []
    assert venue.calls["fetch_balances"] == 2 and venue.calls["fetch_open_orders"] == 2
    with pytest.raises(ValueError, match="unknown venue method"):
        venue.fail_next("fetch_everything", RuntimeError())


def test_pages_see_changes_made_between_them(ex: SimExchange) -> None:
    rest(ex, 4)
    venue = SimVenue(ex, "a", page_limits={"fetch_open_orders": 2})

    async def race() -> list[Order]:
        listing = asyncio.create_task(venue.fetch_open_orders())
        await asyncio.sleep(0)  # first page taken
        first = ex.open_orders("a")[0]
        ex.cancel_order("a", first.venue_order_id)  # already listed
        ex.cancel_order("a", ex.open_orders("a")[-1].venue_order_id)  # not listed yet
        rest(ex, 1, start=10)  # new, after the cursor
        return await listing

    orders = run(race())
    assert len(orders) == 4  # 2 from page one, then the third and the new one


def test_stream_yields_delivered_events(ex: SimExchange) -> None:
    venue = SimVenue(ex, "a")

    async def listen() -> list[type]:
        stream = venue.stream()
        got: list[type] = []

        async def consume() -> None:
            async for event in stream:
                got.append(type(event))
                if len(got) == 3:
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        rest(ex, 1)
        await asyncio.wait_for(task, 1)
        await stream.aclose()
        return got

    assert run(listen()) == [ConnectionEvent, OrderEvent, BalanceEvent]
