"""A reconciliation reads the ledger while the venue is fetched (console.store.book_version):
a write that lands between that read and the end of the fetch must never make an order
look like a stranger; with no write meanwhile, the ledger is read once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.reconciliation import RunStatus, RunTrigger, TradingMode
from console.engine.reconcile_service import RunOutcome

STRANGERS = {"unknown_ours", "order_unknown_locally", "status_mismatch"}


@pytest.fixture
def session(ledger_url: str) -> Iterator[SimSession]:
    s = build_sim_session(ledger_url, "clean")
    asyncio.run(s.service.run_once(RunTrigger.STARTUP))
    yield s
    s.close()


def fresh(session: SimSession, price: str) -> Order:
    return Order(venue="sim", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                 status=OrderStatus.PENDING_NEW,
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY),
                 price=Decimal(price), strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)


def count_reads(session: SimSession, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The book versions of every snapshot the ledger hands out (a re-read included)."""
    ledger = session.ledger
    original = ledger.versioned_snapshot
    versions: list[int] = []

    def read(*args: Any, **kwargs: Any) -> Any:
        snapshot, version = original(*args, **kwargs)
        versions.append(version)
        return snapshot, version

    monkeypatch.setattr(ledger, "versioned_snapshot", read)
    return versions


def test_the_ledger_is_read_while_the_venue_is_fetched(
        session: SimSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """The read starts with the fetch and is done before the fetch ends: the run's
    snapshot is that read (one read, nothing written meanwhile)."""
    versions = count_reads(session, monkeypatch)
    venue = session.venue
    original = venue.fetch_open_orders
    read_before_listing_ended: list[bool] = []

    async def slow_listing() -> list[Order]:
        for _ in range(500):  # the listing outlasts the ledger's read
            if versions:
                break
            await asyncio.sleep(0.01)
        read_before_listing_ended.append(bool(versions))
        return await original()

    monkeypatch.setattr(venue, "fetch_open_orders", slow_listing)
    outcome: RunOutcome = asyncio.run(session.service.run_once(RunTrigger.PERIODIC))
    assert read_before_listing_ended == [True]
    assert len(versions) == 1
    assert outcome.run.status is RunStatus.OK
    assert not outcome.discrepancies


def test_an_order_placed_after_the_read_and_before_the_fetch_ends_is_no_stranger(
        session: SimSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """Forces the interleaving the concurrent read allows: the ledger is read, then the
    order manager places an order (intent written, sent, answer recorded), then the
    open-orders listing is taken and shows it. The first snapshot does not hold the
    order; the moved book version makes the run read the ledger again."""
    versions = count_reads(session, monkeypatch)
    venue = session.venue
    original = venue.fetch_open_orders
    placed: list[Order] = []

    async def listing_after_a_placement() -> list[Order]:
        while not versions:  # the concurrent read is done
            await asyncio.sleep(0.001)
        placed.append(await session.engine.orders.place(fresh(session, "41000")))
        return await original()

    monkeypatch.setattr(venue, "fetch_open_orders", listing_after_a_placement)
    outcome = asyncio.run(session.service.run_once(RunTrigger.PERIODIC))
    run = outcome.run
    assert placed and placed[0].status is OrderStatus.NEW
    assert outcome.venue_open_orders is not None
    assert placed[0].ident in {o.ident for o in outcome.venue_open_orders}
    assert len(versions) == 2 and versions[1] > versions[0]  # read again, after the write
    kinds = {d.kind.value for d in run.discrepancies}
    assert not kinds & STRANGERS, [d.summary for d in run.discrepancies]
    assert run.mode is TradingMode.TRADING
    assert run.status is RunStatus.OK


def test_an_order_still_being_sent_when_the_fetch_ends_is_in_flight_not_a_stranger(
        session: SimSession, monkeypatch: pytest.MonkeyPatch) -> None:
    """The intent is written after the concurrent read and the order is still with the
    venue when the listing (which shows it) ends: the re-read holds it PENDING_NEW and
    its sender is known to the run, as with a read after the fetch."""
    versions = count_reads(session, monkeypatch)
    venue = session.venue
    original_list, original_place = venue.fetch_open_orders, venue.place_order
    at_venue = asyncio.Event()
    answer = asyncio.Event()

    async def held_place(order: Order) -> Order:
        result = await original_place(order)
        at_venue.set()
        await answer.wait()  # the venue has it; its answer is late
        return result

    async def listing() -> list[Order]:
        while not versions:
            await asyncio.sleep(0.001)
        await at_venue.wait()
        return await original_list()

    monkeypatch.setattr(venue, "place_order", held_place)
    monkeypatch.setattr(venue, "fetch_open_orders", listing)

    async def race() -> tuple[RunOutcome, Order]:
        async def trade() -> Order:
            while not versions:
                await asyncio.sleep(0.001)
            return await session.engine.orders.place(fresh(session, "41001"))

        trading = asyncio.ensure_future(trade())
        outcome = await session.service.run_once(RunTrigger.PERIODIC)
        answer.set()
        return outcome, await trading

    outcome, order = asyncio.run(race())
    run = outcome.run
    assert order.status is OrderStatus.NEW
    assert len(versions) == 2
    kinds = {d.kind.value for d in run.discrepancies}
    assert not kinds & STRANGERS, [d.summary for d in run.discrepancies]
    assert run.mode is TradingMode.TRADING
