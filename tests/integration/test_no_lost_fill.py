"""No fill is lost for good: the sim venue with a controllable clock, the real private-stream
consumer, a real ledger (SQLite and PostgreSQL), the reconcile service.

A fill whose push is dropped must be back-filled by the next reconciliation whose fill
fetch succeeds, however long the stream kept recording later fills meanwhile; and an order
whose filled quantity exceeds the fills the ledger holds for it makes the reconciliation
reach back to that order's creation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.reconciliation import DiscrepancyKind, RunStatus, RunTrigger
from console.engine.session import EngineSession
from console.errors import TransientVenueError
from console.reconcile import ReconcileConfig
from console.sim import SimExchange
from console.sim.venue import SimVenue
from console.store import Ledger

MINUTE = 60_000
HOUR = 60 * MINUTE
START = 1_760_000_000_000
V, A = "sim", "main"


class Clock:
    """Epoch milliseconds that move only when the test says so."""

    def __init__(self, now: int = START) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> None:
        self.now += ms


@dataclass
class Book:
    clock: Clock
    exchange: SimExchange
    venue: SimVenue
    ledger: Ledger
    engine: EngineSession

    def buy(self, price: str, qty: str = "0.01") -> Order:
        client_id = self.engine.ids.next(OrderRole.ENTRY)
        return Order(venue=V, account=A, category=Category.LINEAR, symbol="BTCUSDT",
                     side=Side.BUY, type=OrderType.LIMIT, qty=Decimal(qty),
                     status=OrderStatus.PENDING_NEW, client_order_id=client_id,
                     price=Decimal(price), strategy_id="s1", worker_id="w1",
                     role=OrderRole.ENTRY)

    def stored(self, ident: str) -> Order:
        found = self.ledger.get_order(V, A, ident)
        assert found is not None
        return found

    def fills_of(self, order: Order) -> list[str]:
        return [f.exec_id for f in self.ledger.fills(V, A)
                if f.venue_order_id == order.venue_order_id]


@pytest.fixture
def book(ledger_url: str) -> Iterator[Book]:
    clock = Clock()
    exchange = SimExchange(seed=12, clock_ms=clock, venue=V)
    exchange.create_account(A, {"USDT": Decimal(1_000_000)})
    exchange.set_price(Category.LINEAR, "BTCUSDT", Decimal(60_000))
    venue = SimVenue(exchange, A)
    ledger = Ledger.open(ledger_url)
    config = ReconcileConfig(fill_default_lookback_ms=HOUR)
    engine = EngineSession(venue, ledger, config, clock_ms=clock, interval_s=3600)
    try:
        yield Book(clock, exchange, venue, ledger, engine)
    finally:
        ledger.close()


async def _until(condition, timeout_s: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        assert loop.time() < deadline, "the stream did not record the event in time"
        await asyncio.sleep(0.01)


def test_a_dropped_fill_followed_minutes_later_by_a_recorded_one_is_back_filled(
        book: Book) -> None:
    """The stream records a later fill; the dropped one must still be asked for."""

    async def scenario() -> tuple[Order, str, list[RunStatus], list[object]]:
        engine = book.engine
        engine.stream.start()
        await asyncio.sleep(0.01)  # the stream subscribes
        startup = await engine.reconciler.run_once(RunTrigger.STARTUP)
        assert startup.run.status is RunStatus.OK, startup.run.errors
        book.clock.advance(MINUTE)
        first = await engine.orders.place(book.buy("50000"))
        book.exchange.drop_private_events(A)
        book.exchange.hand_fill(A, first.venue_order_id)  # its pushes never arrive
        book.exchange.restore_private_events(A)
        lost = book.exchange.fills(A)[-1].exec_id
        book.clock.advance(6 * MINUTE)  # more than the fill margin
        second = await engine.orders.place(book.buy("50001"))
        book.exchange.hand_fill(A, second.venue_order_id)  # the stream records this one
        await _until(lambda: len(book.fills_of(second)) == 1)
        book.clock.advance(MINUTE)
        runs = [await engine.reconciler.run_once(RunTrigger.PERIODIC) for _ in range(2)]
        await engine.stop()
        return first, lost, [r.run.status for r in runs], [r.run for r in runs]

    first, lost, statuses, runs = asyncio.run(scenario())
    assert statuses == [RunStatus.OK, RunStatus.OK]
    assert book.fills_of(first) == [lost]
    order = book.stored(first.ident)
    assert order.status is OrderStatus.FILLED and order.filled_qty == first.qty
    missing = [d.subject for d in runs[0].discrepancies  # type: ignore[attr-defined]
               if d.kind is DiscrepancyKind.MISSING_FILL]
    assert missing == [lost]
    assert runs[1].discrepancies == ()  # type: ignore[attr-defined]


def test_an_order_filled_beyond_its_ledger_fills_is_back_filled_from_its_creation(
        book: Book) -> None:
    """An order the ledger holds FILLED with no fill behind it, its fill older than any
    window a run would ask by default: the run reaches back to the order's creation."""

    async def scenario() -> tuple[Order, str]:
        engine = book.engine
        await engine.reconciler.run_once(RunTrigger.STARTUP)
        placed = await engine.orders.place(book.buy("50000"))
        book.exchange.hand_fill(A, placed.venue_order_id)  # no stream running: not recorded
        lost = book.exchange.fills(A)[-1].exec_id
        # a run that learns the order FILLED (by-id lookup) while its fill fetch fails
        book.clock.advance(MINUTE)
        book.venue.fail_next("fetch_fills", TransientVenueError("fills: 502"))
        partial = await engine.reconciler.run_once(RunTrigger.PERIODIC)
        assert partial.run.status is RunStatus.PARTIAL
        assert book.stored(placed.ident).status is OrderStatus.FILLED
        assert book.fills_of(placed) == []
        book.clock.advance(3 * HOUR)  # far past the default look-back (one hour here)
        await engine.reconciler.run_once(RunTrigger.PERIODIC)
        return placed, lost

    placed, lost = asyncio.run(scenario())
    assert book.fills_of(placed) == [lost]
    again = asyncio.run(book.engine.reconciler.run_once(RunTrigger.PERIODIC)).run
    assert again.status is RunStatus.OK and again.discrepancies == ()


def test_an_order_whose_fills_the_venue_no_longer_lists_costs_one_older_fetch(
        book: Book) -> None:
    """The venue's history may no longer hold an old order's fills: the older window is
    asked once, and again only when the evidence (filled quantity, ledger fills) moves."""
    gone = book.buy("50000").evolve(
        status=OrderStatus.FILLED, venue_order_id="gone-1", filled_qty=Decimal("0.01"),
        avg_price=Decimal("50000"), created_at=START - 3 * HOUR, updated_at=START - 3 * HOUR)
    book.ledger.upsert_orders([gone])

    def fill_calls() -> int:
        before = book.venue.calls["fetch_fills"]
        asyncio.run(book.engine.reconciler.run_once(RunTrigger.PERIODIC))
        book.clock.advance(MINUTE)
        return book.venue.calls["fetch_fills"] - before

    assert fill_calls() == 2  # the window, then back to the order's creation
    assert fill_calls() == 1
    assert fill_calls() == 1
    book.ledger.upsert_orders([gone.evolve(filled_qty=Decimal("0.02"), qty=Decimal("0.02"))])
    assert fill_calls() == 2  # new evidence: asked again
