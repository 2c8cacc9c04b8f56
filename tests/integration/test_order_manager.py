"""Order manager and private stream against the sim venue and a real ledger."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.events import ConnectionEvent, ConnectionState
from console.domain.reconciliation import RunTrigger, TradingMode
from console.engine.order_manager import OrderOutcomeUnknownError, TradingPausedError
from console.engine.reconcile_service import RunOutcome
from console.engine.stream_consumer import StreamConsumer
from console.errors import FatalVenueError, TransientVenueError, UnknownOutcomeError


@pytest.fixture
def session(ledger_url: str) -> Iterator[SimSession]:
    s = build_sim_session(ledger_url, "clean")
    asyncio.run(s.service.run_once(RunTrigger.STARTUP))
    yield s
    s.close()


def intent(price: str = "50000", qty: str = "0.01", **kw: object) -> Order:
    base = Order(venue="sim", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=Decimal(qty),
                 status=OrderStatus.PENDING_NEW, client_order_id="x-placeholder",
                 price=Decimal(price), strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)
    return base.evolve(**kw)


def fresh(session: SimSession, **kw: object) -> Order:
    client_id = session.engine.ids.next(OrderRole.ENTRY)
    return intent(**kw).evolve(client_order_id=client_id)


def stored(session: SimSession, client_id: str) -> Order:
    found = [o for o in session.ledger.orders("sim", "main") if o.client_order_id == client_id]
    assert len(found) == 1
    return found[0]


def test_place_records_the_venue_view_and_keeps_ownership(session: SimSession) -> None:
    order = fresh(session)
    placed = asyncio.run(session.engine.orders.place(order))
    assert placed.status is OrderStatus.NEW and placed.venue_order_id
    row = stored(session, order.client_order_id)
    assert (row.status, row.venue_order_id, row.strategy_id, row.role) == (
        OrderStatus.NEW, placed.venue_order_id, "s1", OrderRole.ENTRY)


def test_a_lost_response_is_resolved_by_client_id_never_resent(session: SimSession) -> None:
    order = fresh(session)
    before = len(session.exchange.open_orders("main"))
    session.venue.lose_response_next("place_order")
    placed = asyncio.run(session.engine.orders.place(order))
    assert placed.status is OrderStatus.NEW
    assert len(session.exchange.open_orders("main")) == before + 1  # exactly one order
    assert session.venue.calls["place_order"] == 1
    assert stored(session, order.client_order_id).venue_order_id == placed.venue_order_id


def test_a_request_that_never_arrived_ends_rejected(session: SimSession) -> None:
    order = fresh(session)
    session.venue.fail_next("place_order", TransientVenueError("connection reset"))
    with pytest.raises(TransientVenueError):
        asyncio.run(session.engine.orders.place(order))
    # A transient error on a write is not an unknown outcome by our taxonomy only when the
    # adapter says so; the intent stays recorded either way, never silently dropped.
    assert stored(session, order.client_order_id).status in (OrderStatus.PENDING_NEW,
                                                            OrderStatus.REJECTED)


def test_unknown_outcome_with_the_venue_unreachable_stays_pending(session: SimSession) -> None:
    order = fresh(session)
    session.engine.orders.resolve_delay_s = 0
    session.venue.lose_response_next("place_order")
    for _ in range(3):
        session.venue.fail_next("fetch_order", TransientVenueError("timeout"))
    with pytest.raises(OrderOutcomeUnknownError, match="stays pending"):
        asyncio.run(session.engine.orders.place(order))
    assert stored(session, order.client_order_id).status is OrderStatus.PENDING_NEW
    # The reconciler settles it from the venue.
    asyncio.run(session.service.run_once())
    assert stored(session, order.client_order_id).status is OrderStatus.NEW


def test_a_duplicate_client_id_is_resolved_to_the_existing_order(session: SimSession) -> None:
    order = fresh(session)
    first = asyncio.run(session.engine.orders.place(order))
    again = asyncio.run(session.engine.orders.place(order))
    assert again.venue_order_id == first.venue_order_id
    assert [o.client_order_id for o in session.exchange.open_orders("main")].count(
        order.client_order_id) == 1


def test_a_refused_order_is_recorded_rejected(session: SimSession) -> None:
    order = fresh(session, qty="0.0000001")
    with pytest.raises(FatalVenueError):
        asyncio.run(session.engine.orders.place(order))
    assert stored(session, order.client_order_id).status is OrderStatus.REJECTED


def test_paused_trading_refuses_risk_but_passes_reduce_only(session: SimSession) -> None:
    session.engine.risk.set(TradingMode.PAUSED, "1 position discrepancy")
    with pytest.raises(TradingPausedError, match="1 position discrepancy"):
        asyncio.run(session.engine.orders.place(fresh(session)))
    closing = fresh(session, reduce_only=True, side=Side.SELL, price="70000")
    try:
        asyncio.run(session.engine.orders.place(closing))
    except FatalVenueError as exc:  # the sim may refuse a reduce-only with no position
        assert "reduce" in str(exc).lower()


def test_cancel_then_lost_answer_still_ends_cancelled(session: SimSession) -> None:
    placed = asyncio.run(session.engine.orders.place(fresh(session)))
    session.venue.lose_response_next("cancel_order")
    seen, error = asyncio.run(session.engine.orders.cancel(placed))
    assert error == "" and seen is not None and seen.status is OrderStatus.CANCELLED
    assert stored(session, placed.client_order_id).status is OrderStatus.CANCELLED


def test_stream_writes_each_fill_once_and_reconnect_reconciles(session: SimSession) -> None:
    async def scenario() -> tuple[int, list[RunTrigger]]:
        engine = session.engine
        triggers: list[RunTrigger] = []
        engine.reconciler.on_run(lambda o: triggers.append(o.run.trigger))
        engine.reconciler.interval_s = 3600
        engine.stream.start()
        await engine.reconciler.start()
        placed = await engine.orders.place(fresh(session))
        await asyncio.sleep(0.05)
        session.exchange.hand_fill("main", placed.venue_order_id)
        await asyncio.sleep(0.1)
        fills = [f for f in session.ledger.fills("sim", "main")
                 if f.venue_order_id == placed.venue_order_id]
        assert stored(session, placed.client_order_id).status is OrderStatus.FILLED
        # A reconnect (the adapter reports it) triggers an immediate reconciliation.
        engine.stream._on_connection(ConnectionEvent(ConnectionState.CONNECTED,
                                                     reconnected=True))
        await asyncio.sleep(0.2)
        await engine.stop()
        return len(fills), triggers

    count, triggers = asyncio.run(scenario())
    assert count == 1
    assert RunTrigger.RECONNECT in triggers


def test_duplicated_and_reordered_events_change_nothing(session: SimSession) -> None:
    from console.domain.events import FillEvent, OrderEvent
    from console.engine.stream_consumer import changes_for

    placed = asyncio.run(session.engine.orders.place(fresh(session)))
    filled = session.exchange.hand_fill("main", placed.venue_order_id)
    fill = session.exchange.fills("main")[-1]
    known = {placed.venue_order_id: stored(session, placed.client_order_id)}
    older = filled.evolve(status=OrderStatus.NEW, filled_qty=Decimal(0), avg_price=None,
                          updated_at=filled.updated_at - 1)
    changes = changes_for([OrderEvent(filled), FillEvent(fill), FillEvent(fill),
                           OrderEvent(older)], known)
    assert len(changes.fills) == 1
    assert [o.status for o in changes.orders] == [OrderStatus.FILLED]
    assert changes.orders[0].strategy_id == "s1"
    assert isinstance(session.engine.stream, StreamConsumer)


def test_orders_placed_during_a_reconciliation_are_not_taken_for_strangers(
        session: SimSession) -> None:
    """A busy bot places orders while the open-orders listing is paged: they must not come
    out as "unknown ours" (a cancel proposal for a live order) nor pause trading."""
    session.venue.page_limits["fetch_open_orders"] = 1  # one order per page: a long listing
    for price in ("40000", "40001", "40002"):
        asyncio.run(session.engine.orders.place(fresh(session, price=price)))

    async def race() -> object:
        async def trade() -> None:
            for price in ("41000", "41001", "41002", "41003"):
                await asyncio.sleep(0)
                await session.engine.orders.place(fresh(session, price=price))

        outcome, _ = await asyncio.gather(session.service.run_once(RunTrigger.PERIODIC),
                                          trade())
        return outcome

    run = asyncio.run(race()).run  # type: ignore[attr-defined]
    kinds = {d.kind.value for d in run.discrepancies}
    assert not kinds & {"unknown_ours", "order_unknown_locally", "status_mismatch"}, [
        d.summary for d in run.discrepancies]
    assert run.mode is TradingMode.TRADING
    assert run.status.value == "ok"


# -- an unknown outcome the venue does not know yet ----------------------------------------


def _timed_out_create(session: SimSession) -> Order:
    """A create whose request times out before the venue has the order: the follow-up
    queries find nothing yet."""
    order = fresh(session)
    session.engine.orders.resolve_delay_s = 0
    session.venue.fail_next("place_order", UnknownOutcomeError("timeout", venue="sim"))
    with pytest.raises(OrderOutcomeUnknownError, match="does not know") as raised:
        asyncio.run(session.engine.orders.place(order))
    assert "stays PENDING_NEW" in str(raised.value)
    return order


def test_a_create_that_timed_out_and_landed_later_ends_filled_not_rejected(
        session: SimSession) -> None:
    order = _timed_out_create(session)
    assert stored(session, order.client_order_id).status is OrderStatus.PENDING_NEW
    # The venue executes it a moment later, and every push about it is dropped.
    session.exchange.drop_private_events("main")
    landed = session.exchange.place_order(
        "main", category=Category.LINEAR, symbol="BTCUSDT", side=Side.BUY,
        order_type=OrderType.LIMIT, qty=order.qty, price=order.price,
        client_order_id=order.client_order_id)
    session.exchange.hand_fill("main", landed.venue_order_id)
    session.exchange.restore_private_events("main")
    asyncio.run(session.service.run_once())
    row = stored(session, order.client_order_id)
    assert (row.status, row.venue_order_id, row.filled_qty, row.strategy_id) == (
        OrderStatus.FILLED, landed.venue_order_id, order.qty, "s1")
    fills = [f for f in session.ledger.fills("sim", "main")
             if f.venue_order_id == landed.venue_order_id]
    assert sum(f.qty for f in fills) == order.qty


def test_an_order_the_venue_never_saw_is_rejected_only_after_the_grace(
        session: SimSession) -> None:
    order = _timed_out_create(session)
    first = asyncio.run(session.service.run_once()).run
    assert stored(session, order.client_order_id).status is OrderStatus.PENDING_NEW
    assert any("in flight" in u for u in first.unverified)
    session.service.config = replace(session.service.config, pending_grace_ms=0)
    asyncio.run(session.service.run_once())
    assert stored(session, order.client_order_id).status is OrderStatus.REJECTED


def test_the_order_manager_rejects_an_order_still_unknown_after_the_grace(
        session: SimSession) -> None:
    order = fresh(session)
    orders = session.engine.orders
    orders.resolve_delay_s = 0
    orders.pending_grace_ms = 0
    session.venue.fail_next("place_order", UnknownOutcomeError("timeout", venue="sim"))
    placed = asyncio.run(orders.place(order))
    assert placed.status is OrderStatus.REJECTED
    assert stored(session, order.client_order_id).status is OrderStatus.REJECTED


def test_a_stream_event_for_an_order_the_ledger_holds_rejected_reopens_it(
        session: SimSession) -> None:
    """A ledger written before the grace existed holds an order REJECTED that the venue
    later filled: its pushes name a terminal ledger order, which asks for a reconciliation
    instead of being dropped."""
    order = fresh(session)
    now = time.time_ns() // 1_000_000
    rejected = order.evolve(status=OrderStatus.REJECTED, created_at=now - 60_000,
                            updated_at=now - 59_000)
    session.ledger.upsert_orders([rejected])

    async def scenario() -> list[RunTrigger]:
        engine = session.engine
        triggers: list[RunTrigger] = []
        reconciled = asyncio.Event()

        def seen(outcome: RunOutcome) -> None:
            triggers.append(outcome.run.trigger)
            if outcome.run.trigger.value == "stream":
                reconciled.set()

        engine.reconciler.on_run(seen)
        engine.reconciler.interval_s = 3600
        engine.stream.start()
        try:
            await engine.reconciler.start()
            await asyncio.sleep(0.05)
            landed = session.exchange.place_order(
                "main", category=Category.LINEAR, symbol="BTCUSDT", side=Side.BUY,
                order_type=OrderType.LIMIT, qty=order.qty, price=order.price,
                client_order_id=order.client_order_id)
            session.exchange.hand_fill("main", landed.venue_order_id)
            try:
                await asyncio.wait_for(reconciled.wait(), 5)
            except TimeoutError:
                pytest.fail("the stream's news of a REJECTED order asked for no reconciliation")
        finally:
            await engine.stop()
        return triggers

    triggers = asyncio.run(scenario())
    row = stored(session, order.client_order_id)
    assert row.status is OrderStatus.FILLED
    assert row.venue_order_id and row.filled_qty == order.qty and row.strategy_id == "s1"
    assert RunTrigger.STREAM in triggers
    fills = [f for f in session.ledger.fills("sim", "main")
             if f.venue_order_id == row.venue_order_id]
    assert len(fills) == 1
