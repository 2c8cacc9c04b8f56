"""The VenuePort contract (docs/architecture.md, "The venue port"), one suite for every
registered venue client.

What every adapter must do, whatever the venue: round trips of place, fetch, amend,
cancel and cancel-all; None (not an error) for an order the venue never had; fills
windows inclusive at both ends; signed position sizes; balances equal to the venue's;
errors typed by how the caller must react; calls counted; a private stream that reports
its connection and the account's changes.

It runs once per (venue, market) (`venue_harness.suite_targets`). Where a market's rules
differ, a test follows what is declared, never a venue's name: `capabilities.amend`
(an in-place amend, or none: the order manager then cancels and creates), whether the
instrument trades as positions (`Harness.holds_positions`: spot holds balances, and
an order locks what it would spend) and whether the connector takes orders with a
trigger price in that market (`Harness.conditional_orders`), the asset an order's
margin is held in (`Harness.margin_asset`), quantities on each instrument's step
(`Harness.btc_qty`, `Harness.eth_qty`: inverse contracts count USD) and how the
dead-man's switch is armed (`Harness.dead_man_on_stream`, `Harness.dead_man_timeout_ms`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest
from venue_harness import ACCOUNT, Contract, Harness

from console.domain import (
    Order,
    OrderStatus,
    OrderType,
    Side,
    TriggerDirection,
)
from console.domain.events import ConnectionEvent, ConnectionState, OrderEvent, VenueEvent
from console.errors import (
    CapabilityUnsupported,
    DuplicateClientOrderIdError,
    FatalVenueError,
    OrderNotFoundError,
)


def intent(h: Harness, client_id: str, **changes: Any) -> Order:
    base = Order(venue=h.venue.venue, account=ACCOUNT, category=h.category, symbol=h.sym("test"),
                 side=Side.BUY, type=OrderType.LIMIT, qty=D(2), price=D(95),
                 status=OrderStatus.PENDING_NEW, client_order_id=client_id,
                 strategy_id="demo", worker_id="w1")
    return base.evolve(**changes)


def facts(order: Order) -> tuple[Any, ...]:
    """What the venue is the truth for (docs/architecture.md, "Reconciliation")."""
    return (order.venue_order_id, order.client_order_id, order.symbol, order.side,
            order.type, order.qty, order.price, order.trigger_price, order.status,
            order.filled_qty, order.reduce_only)


@contextlib.asynccontextmanager
async def running_stream(h: Harness, wanted: bool) -> AsyncIterator[None]:
    """The private stream running (connected, its events drained) inside the block when
    `wanted`; nothing otherwise."""
    if not wanted:
        yield
        return
    events: AsyncIterator[VenueEvent] = h.venue.stream()
    connected = asyncio.Event()

    async def drain() -> None:
        async for event in events:
            if isinstance(event, ConnectionEvent) \
                    and event.state is ConnectionState.CONNECTED:
                connected.set()

    task = asyncio.ensure_future(drain())
    try:
        await asyncio.wait_for(connected.wait(), 10)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await events.aclose()  # type: ignore[attr-defined]


def test_place_fetch_amend_cancel_round_trip(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        venue = h.venue
        placed = await venue.place_order(intent(h, "rc-w1-e-rt-1"))
        assert placed.status is OrderStatus.NEW and placed.venue_order_id
        assert (placed.venue, placed.account) == (venue.venue, venue.account)
        assert (placed.strategy_id, placed.worker_id) == ("demo", "w1")  # intent kept

        listed = {o.venue_order_id: o for o in await venue.fetch_open_orders()}
        assert facts(listed[placed.venue_order_id]) == facts(placed)
        fetched = await venue.fetch_order(placed)
        assert fetched is not None and facts(fetched) == facts(placed)
        by_client_id = await venue.fetch_order(placed.evolve(venue_order_id=""))
        assert by_client_id is not None
        assert by_client_id.venue_order_id == placed.venue_order_id

        amended = placed
        if venue.capabilities.amend:  # otherwise the order manager never asks for one
            amended = await venue.amend_order(placed, qty=D(3), price=D("96.5"))
            assert (amended.qty, amended.price, amended.status) == (D(3), D("96.5"),
                                                                    OrderStatus.NEW)
            again = await venue.fetch_order(placed)
            assert again is not None and (again.qty, again.price) == (D(3), D("96.5"))

        cancelled = await venue.cancel_order(amended)
        assert cancelled.status is OrderStatus.CANCELLED
        assert placed.venue_order_id not in {o.venue_order_id
                                             for o in await venue.fetch_open_orders()}
        final = await venue.fetch_order(placed)
        assert final is not None and final.status is OrderStatus.CANCELLED

    contract.run(body)


def test_a_market_order_fills_and_its_fills_are_listed(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        since = h.clock.now
        placed = await h.venue.place_order(intent(h, "rc-w1-e-mkt-1", type=OrderType.MARKET,
                                                  price=None))
        assert placed.status is OrderStatus.FILLED and placed.filled_qty == D(2)
        assert placed.price is None and placed.avg_price is not None
        fills = await h.venue.fetch_fills(since, h.clock.now)
        assert sum(f.qty for f in fills) == D(2)
        assert {f.venue_order_id for f in fills} == {placed.venue_order_id}
        assert {f.client_order_id for f in fills} == {"rc-w1-e-mkt-1"}

    contract.run(body)


def test_conditional_orders_are_open_and_untriggered(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        conditional = intent(h, "rc-w1-s-cond-1", side=Side.SELL, type=OrderType.MARKET,
                             price=None, trigger_price=D(90),
                             trigger_direction=TriggerDirection.FALL)
        if not h.conditional_orders:  # refused, typed, before anything reaches the venue
            with pytest.raises(FatalVenueError):
                await h.venue.place_order(conditional)
            assert h.venue.calls["place_order"] == 0
            assert await h.venue.fetch_open_orders() == []
            assert h.exchange.open_orders(ACCOUNT, h.category) == []
            return
        stop = await h.venue.place_order(conditional)
        assert stop.status is OrderStatus.UNTRIGGERED
        listed = await h.venue.fetch_open_orders()
        assert [(o.venue_order_id, o.status, o.trigger_price) for o in listed] == [
            (stop.venue_order_id, OrderStatus.UNTRIGGERED, D(90))]

    contract.run(body)


def test_cancel_all_by_symbol_then_by_category(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        venue = h.venue
        tst = [await venue.place_order(intent(h, f"rc-w1-e-ca-{i}")) for i in range(3)]
        btc = await venue.place_order(intent(h, "rc-w1-e-ca-b", symbol=h.sym("btc"),
                                             qty=h.btc_qty, price=D(50000)))
        first = await venue.cancel_all(h.category, h.sym("test"))
        assert {o.venue_order_id for o in first} == {o.venue_order_id for o in tst}
        assert all(o.status is OrderStatus.CANCELLED for o in first)
        assert [o.venue_order_id for o in await venue.fetch_open_orders()] == [
            btc.venue_order_id]
        rest = await venue.cancel_all(h.category)
        assert [(o.venue_order_id, o.status) for o in rest] == [
            (btc.venue_order_id, OrderStatus.CANCELLED)]
        assert await venue.fetch_open_orders() == []
        assert await venue.cancel_all(h.category) == []

    contract.run(body)


def test_fetch_order_is_none_for_an_unknown_order(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        assert await h.venue.fetch_order(intent(h, "rc-w1-e-never-1")) is None
        by_venue_id = intent(h, "x").evolve(client_order_id="",
                                            venue_order_id="00000000-0000-0000-0000-0000")
        assert await h.venue.fetch_order(by_venue_id) is None

    contract.run(body)


def test_fills_windows_are_inclusive_at_both_ends(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        times = []
        for i in range(3):
            times.append(h.clock.advance(1000))
            await h.venue.place_order(intent(h, f"rc-w1-e-win-{i}", type=OrderType.MARKET,
                                             price=None, qty=D(1)))
        t0, t1, t2 = times

        async def window(since: int, until: int) -> list[int]:
            return sorted(f.exec_time for f in await h.venue.fetch_fills(since, until))

        assert await window(t0, t2) == [t0, t1, t2]
        assert await window(t0 + 1, t2 - 1) == [t1]
        assert await window(t1, t1) == [t1]
        assert await window(t2 + 1, t2 + 10_000) == []
        with pytest.raises(FatalVenueError):
            await h.venue.fetch_fills(t2, t0)

    contract.run(body)


def test_positions_have_signed_sizes(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        before = {b.asset: b.total for b in h.exchange.balances(ACCOUNT)}
        await h.venue.place_order(intent(h, "rc-w1-e-long-1", type=OrderType.MARKET,
                                         price=None, qty=D(3)))
        await h.venue.place_order(intent(h, "rc-w1-e-short-1", symbol=h.sym("eth"),
                                         side=Side.SELL, type=OrderType.MARKET, price=None,
                                         qty=h.eth_qty))
        if not h.holds_positions:  # spot: what was bought and sold is in the balances
            assert await h.venue.fetch_positions() == []
            got = {b.asset: b.total for b in await h.venue.fetch_balances()}
            after = {b.asset: b.total for b in h.exchange.balances(ACCOUNT)}
            test = h.exchange.instrument(h.category, h.sym("test")).base
            eth = h.exchange.instrument(h.category, h.sym("eth")).base
            assert (got[test], got[eth]) == (after[test], after[eth])
            assert before[test] < got[test] <= before[test] + 3  # less a fee in the coin
            assert got[eth] == before[eth] - h.eth_qty
            return
        positions = {p.symbol: p for p in await h.venue.fetch_positions()}
        assert positions[h.sym("test")].size == D(3) and positions[h.sym("test")].side is Side.BUY
        assert positions[h.sym("eth")].size == -h.eth_qty
        assert positions[h.sym("eth")].side is Side.SELL
        for pos in positions.values():
            sim = h.exchange.position(ACCOUNT, h.category, pos.symbol)
            assert sim is not None
            assert (pos.size, pos.entry_price, pos.position_side) == (
                sim.size, sim.entry_price, sim.position_side)
        await h.venue.place_order(intent(h, "rc-w1-e-flat-1", side=Side.SELL,
                                         type=OrderType.MARKET, price=None, qty=D(3),
                                         reduce_only=True))
        assert {p.symbol for p in await h.venue.fetch_positions()} == {h.sym("eth")}

    contract.run(body)


def test_balances_match_the_venue(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        await h.venue.place_order(intent(h, "rc-w1-e-bal-1", type=OrderType.MARKET,
                                         price=None, qty=D(1)))
        got = {b.asset: b for b in await h.venue.fetch_balances()}
        want = {b.asset: b for b in h.exchange.balances(ACCOUNT) if b.total != 0}
        assert set(got) == set(want)
        for asset, balance in got.items():
            assert (balance.total, balance.free) == (want[asset].total, want[asset].free)
            assert balance.account == ACCOUNT and balance.venue == h.venue.venue
            if not h.holds_positions:  # spot: a holding is what is free and what is locked
                assert balance.total == balance.free + balance.locked
                assert balance.locked == want[asset].locked

    contract.run(body)


def test_locked_balance_matches_the_venue(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        await h.venue.place_order(intent(h, "rc-w1-e-lock-1"))
        got = {b.asset: b.locked for b in await h.venue.fetch_balances()}
        want = h.exchange.balance(ACCOUNT, h.margin_asset).locked
        assert want > 0 and got[h.margin_asset] == want  # order margin is held, counted once
        if not h.holds_positions:  # spot: a buy locks the quote it would spend, a sell
            assert want == D(2) * D(95)  # the coin it would give
            await h.venue.place_order(intent(h, "rc-w1-e-lock-2", side=Side.SELL,
                                             price=D(105)))
            base = h.exchange.instrument(h.category, h.sym("test")).base
            balances = {b.asset: b for b in await h.venue.fetch_balances()}
            assert balances[base].locked == h.exchange.balance(ACCOUNT, base).locked == D(2)
            assert balances[h.margin_asset].locked == want

    contract.run(body)


def test_errors_are_typed_by_how_to_react(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        venue = h.venue
        ghost = intent(h, "rc-w1-e-ghost-1")
        with pytest.raises(OrderNotFoundError):
            await venue.cancel_order(ghost)
        with pytest.raises(OrderNotFoundError):
            await venue.amend_order(ghost, price=D(90))
        with pytest.raises(FatalVenueError):
            await venue.place_order(intent(h, "rc-w1-e-bad-1", qty=D("1.5")))  # step is 1
        with pytest.raises(FatalVenueError):
            await venue.place_order(intent(h, "rc-w1-e-bad-2", symbol="NOPEUSDT"))
        await venue.place_order(intent(h, "rc-w1-e-twice-1"))
        with pytest.raises(DuplicateClientOrderIdError):
            await venue.place_order(intent(h, "rc-w1-e-twice-1"))
        filled = await venue.place_order(intent(h, "rc-w1-e-done-1", type=OrderType.MARKET,
                                                price=None))
        with pytest.raises(FatalVenueError):  # too late to cancel a filled order
            await venue.cancel_order(filled)

    contract.run(body)


def test_every_request_is_counted(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        venue = h.venue
        placed = await venue.place_order(intent(h, "rc-w1-e-cnt-1"))
        await venue.fetch_open_orders()
        await venue.fetch_order(placed)
        await venue.fetch_fills(h.clock.now - 1000, h.clock.now)
        await venue.fetch_positions()
        await venue.fetch_balances()
        amended = await venue.amend_order(placed, price=D(94))
        await venue.cancel_order(amended)  # the same order, unless amending replaced it
        await venue.cancel_all(h.category)
        asked = ["place_order", "fetch_open_orders", "fetch_order", "fetch_fills",
                 "fetch_balances", "amend_order", "cancel_order", "cancel_all"]
        if h.holds_positions:  # spot has no positions to ask the venue for
            asked.append("fetch_positions")
        for method in asked:
            assert venue.calls[method] >= 1, method

    contract.run(body)


def test_the_stream_reports_connection_and_changes(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        events: AsyncIterator[VenueEvent] = h.venue.stream()
        try:
            while True:
                event = await asyncio.wait_for(events.__anext__(), 10)
                if isinstance(event, ConnectionEvent) \
                        and event.state is ConnectionState.CONNECTED:
                    assert not event.reconnected
                    break
            placed = await h.venue.place_order(intent(h, "rc-w1-e-str-1"))
            while True:
                event = await asyncio.wait_for(events.__anext__(), 10)
                if isinstance(event, OrderEvent):
                    break
            assert event.order.venue_order_id == placed.venue_order_id
            assert event.order.status is OrderStatus.NEW
            assert (event.order.venue, event.order.account) == (h.venue.venue, ACCOUNT)
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    contract.run(body)


def test_declared_capabilities_hold(contract: Contract) -> None:
    """Every member of the port exists on every venue; what `capabilities` declares is what
    the member does (and an undeclared capability answers in the documented way)."""

    async def body(h: Harness) -> None:
        venue = h.venue
        caps = venue.capabilities
        assert h.category in venue.categories
        await venue.warm_priority_lane()  # never fails, lane or not
        with venue.priority():
            placed = await venue.place_order(intent(h, "rc-w1-e-cap-1"))
        if caps.priority_lane:
            # every request of the placement (a read-back included) took the lane
            assert venue.priority_calls == venue.calls
            assert venue.priority_calls["place_order"] >= 1
        else:
            assert venue.priority_calls == venue.calls
        outside = venue.calls["fetch_open_orders"]
        await venue.fetch_open_orders()
        assert venue.calls["fetch_open_orders"] == outside + h.listing_requests
        if caps.priority_lane:  # outside `priority()`: the normal lane
            assert venue.priority_calls["fetch_open_orders"] == 0
        if caps.amend:
            amended = await venue.amend_order(placed, price=D(94))
            assert (amended.venue_order_id, amended.price) == (placed.venue_order_id, D(94))
        replacement = intent(h, "rc-w1-e-cap-2", price=D(93))
        if caps.atomic_replace:
            old, new = await venue.replace_order(placed, replacement)
            assert (old.venue_order_id, old.status) == (placed.venue_order_id,
                                                        OrderStatus.CANCELLED)
            assert (new.client_order_id, new.price, new.status) == (
                "rc-w1-e-cap-2", D(93), OrderStatus.NEW)
            live = [o for o in await venue.fetch_open_orders() if o.symbol == placed.symbol]
            assert [o.client_order_id for o in live] == ["rc-w1-e-cap-2"]  # one, never two
            placed = new
        else:
            with pytest.raises(CapabilityUnsupported):
                await venue.replace_order(placed, replacement)
        if caps.bulk_cancel_ids:
            acks = await venue.cancel_all_ids(h.category, h.sym("test"))
            assert (placed.venue_order_id, placed.client_order_id) in acks
        else:
            with pytest.raises(CapabilityUnsupported):
                await venue.cancel_all_ids(h.category, h.sym("test"))
        budget = venue.rate_budget()
        if caps.rate_budget:
            assert budget is not None and budget.endpoints, "requests were made"
        else:
            assert budget is None
        if caps.dead_man_switch:
            async with running_stream(h, h.dead_man_on_stream):
                armed = await venue.set_dead_man_switch(60_000)
                assert armed.armed and armed.timeout_ms == (h.dead_man_timeout_ms or 60_000)
                assert venue.dead_man_state() == armed  # what the status bar shows
                disarmed = await venue.set_dead_man_switch(None)
                assert not disarmed.armed and venue.dead_man_state() == disarmed
        else:
            with pytest.raises(CapabilityUnsupported):
                await venue.set_dead_man_switch(60_000)
            assert venue.dead_man_state() is None

    contract.run(body)
