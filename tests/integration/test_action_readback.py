"""What our own approved actions move on the venue is read back into the ledger
(console/engine/readback.py): a cancel approved from the CLI (no stream running) releases
margin, and the next reconciliation must not take that for a discrepancy and stay paused.
Writing the same again (as a running stream does) changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import Order, OrderStatus, OrderType, TimeInForce
from console.domain.reconciliation import ActionKind, ActionState, RunStatus, RunTrigger
from console.engine.readback import ReadBack, record_outcome
from console.engine.reconcile_service import RunOutcome


def run(session: SimSession, trigger: RunTrigger = RunTrigger.MANUAL) -> RunOutcome:
    return asyncio.run(session.service.run_once(trigger))


@pytest.fixture
def open_session(ledger_url: str) -> Iterator[Callable[[str], SimSession]]:
    sessions: list[SimSession] = []

    def _open(scenario: str) -> SimSession:
        session = build_sim_session(ledger_url, scenario)
        sessions.append(session)
        return session

    yield _open
    for s in sessions:
        s.close()


def _pending_cancels(session: SimSession) -> list[tuple[str, int]]:
    return [(run_id, i) for run_id, i, p in session.ledger.pending_actions("sim", "main")
            if p.action.kind is ActionKind.CANCEL_ORDER]


def _balances(session: SimSession) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {b.asset: (b.total, b.free, b.locked)
            for b in session.ledger.balances("sim", "main")}


def _venue_balances(session: SimSession) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {b.asset: (b.total, b.free, b.locked) for b in session.exchange.balances("main")}


def test_approved_cancels_leave_the_next_run_clean_and_trading(open_session) -> None:
    session = open_session("crashed-session")
    first = run(session, RunTrigger.STARTUP).run
    assert first.mode.value == "paused"
    pending = _pending_cancels(session)
    assert len(pending) == 2
    for run_id, index in pending:
        state = asyncio.run(session.service.executor.approve(run_id, index, "alice"))
        assert state is ActionState.APPLIED
    assert session.exchange.open_orders("main") == []
    # the margin the cancels released is in the ledger as the venue has it
    assert _balances(session) == _venue_balances(session)
    assert _balances(session)["USDT"][2] == 0

    second = run(session).run
    assert second.status is RunStatus.OK
    assert second.discrepancies == (), [d.summary for d in second.discrepancies]
    assert second.mode.value == "trading", second.pause_reason


def test_a_fill_that_raced_an_approved_cancel_is_recorded_with_its_position(
        open_session) -> None:
    session = open_session("crashed-session")
    run(session, RunTrigger.STARTUP)
    run_id, index = _pending_cancels(session)[0]
    target = session.ledger.load_run(run_id).actions[index].action.order  # type: ignore[union-attr]
    assert target is not None
    session.exchange.hand_fill("main", target.venue_order_id)
    state = asyncio.run(session.service.executor.approve(run_id, index, "alice"))
    assert state is ActionState.FAILED  # filled, not cancelled

    venue_fills = {f.exec_id for f in session.exchange.fills("main")
                   if f.venue_order_id == target.venue_order_id}
    assert venue_fills
    ledger_fills = {f.exec_id for f in session.ledger.fills("sim", "main")}
    assert venue_fills <= ledger_fills
    assert {p.key: p.size for p in session.ledger.positions("sim", "main")} == {
        p.key: p.size for p in session.exchange.positions("main")}
    assert _balances(session) == _venue_balances(session)

    after = run(session).run
    kinds = {d.kind.value for d in after.discrepancies}
    assert not kinds & {"missing_fill", "balance_mismatch", "position_missing_locally",
                        "position_mismatch"}, [d.summary for d in after.discrepancies]


def test_reading_back_twice_as_a_stream_would_writes_nothing_new(open_session) -> None:
    session = open_session("restart-with-position")
    run(session, RunTrigger.STARTUP)
    assert run(session).run.mode.value == "trading"
    position = next(p for p in session.ledger.positions("sim", "main") if not p.is_flat)
    assert position.side is not None
    engine = session.engine
    now = session.service.clock_ms()
    intent = Order(venue="sim", account="main", category=position.category,
                   symbol=position.symbol, side=position.side.opposite, type=OrderType.MARKET,
                   qty=abs(position.size), status=OrderStatus.PENDING_NEW,
                   client_order_id=engine.orders.ids.next(), reduce_only=True,
                   time_in_force=TimeInForce.IOC, created_at=now, updated_at=now)
    placed = asyncio.run(engine.orders.place(intent))
    readback = ReadBack((placed,), frozenset({position.key}))

    def record() -> bool:
        return asyncio.run(record_outcome(engine.venue, session.ledger, readback,
                                          clock_ms=session.service.clock_ms, what="test"))

    assert record()
    fills = sorted(session.ledger.fills("sim", "main"), key=lambda f: f.exec_id)
    mine = [f for f in fills if f.client_order_id == placed.client_order_id]
    assert mine and sum(f.qty for f in mine) == abs(position.size)
    assert session.ledger.positions("sim", "main") == []
    balances = _balances(session)
    assert balances == _venue_balances(session)

    assert record()  # again, as the stream writes the same
    assert sorted(session.ledger.fills("sim", "main"), key=lambda f: f.exec_id) == fills
    assert session.ledger.positions("sim", "main") == []
    assert _balances(session) == balances

    after = run(session).run
    assert after.discrepancies == (), [d.summary for d in after.discrepancies]
    assert after.mode.value == "trading"
