"""The reconcile service end to end: the sim venue, a real ledger (SQLite and PostgreSQL),
the pure reconciler, the action executor. Nothing of ours is faked."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import OrderStatus
from console.domain.reconciliation import (
    ActionKind,
    ActionState,
    Decision,
    RunStatus,
    RunTrigger,
    TradingMode,
)
from console.engine.reconcile_service import LEDGER_FIXES, RunOutcome
from console.errors import TransientVenueError
from console.sim.scenarios import SCENARIOS
from console.sim.venue import MISSING


def run(session: SimSession, trigger: RunTrigger = RunTrigger.MANUAL) -> RunOutcome:
    return asyncio.run(session.service.run_once(trigger))


@pytest.fixture
def open_session(ledger_url: str) -> Iterator[type[SimSession]]:
    sessions: list[SimSession] = []

    def _open(scenario: str) -> SimSession:
        session = build_sim_session(ledger_url, scenario)
        sessions.append(session)
        return session

    yield _open  # type: ignore[misc]
    for s in sessions:
        s.close()


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_each_scenario_is_found_and_the_ledger_side_is_repaired(open_session, scenario) -> None:
    session = open_session(scenario)
    first = run(session, RunTrigger.STARTUP).run
    assert first.status is RunStatus.OK, first.errors
    found = {d.kind.value for d in first.discrepancies}
    assert found == set(session.seed.expect), [d.summary for d in first.discrepancies]
    for d in first.discrepancies:
        assert d.ledger or d.venue, f"{d.kind} carries no evidence"

    second = run(session).run
    # Every ledger fix was applied in the first run: what remains is only what waits for
    # an operator (venue-changing actions), proposed again.
    remaining_ledger = [p for p in second.actions
                        if p.action.kind.changes_ledger and p.action.kind not in (
                            ActionKind.CLEAR_BRACKET,)]
    assert remaining_ledger == [], [p.action.summary for p in remaining_ledger]
    waiting_first = {(p.action.kind, p.action.subject) for p in first.actions
                     if p.decision is Decision.NEEDS_APPROVAL}
    waiting_second = {(p.action.kind, p.action.subject) for p in second.actions
                      if p.decision is Decision.NEEDS_APPROVAL}
    assert waiting_second == waiting_first
    if not waiting_first:
        assert second.discrepancies == ()
        assert second.mode is TradingMode.TRADING


def test_restart_with_position_pauses_then_a_clean_run_resumes(open_session) -> None:
    session = open_session("restart-with-position")
    first = run(session, RunTrigger.STARTUP).run
    assert first.mode is TradingMode.PAUSED and "position" in first.pause_reason
    venue_positions = session.exchange.positions("main")
    assert {p.key: p.size for p in session.ledger.positions("sim", "main")} == {
        p.key: p.size for p in venue_positions}
    second = run(session).run
    assert second.mode is TradingMode.TRADING
    assert [e.action for e in session.ledger.audit_log()][:2] == ["resume_trading",
                                                                  "pause_trading"]


def test_malformed_positions_answer_changes_nothing(open_session) -> None:
    session = open_session("restart-with-position")
    session.venue.malformed_next("fetch_positions")
    outcome = run(session, RunTrigger.STARTUP).run
    assert outcome.status is RunStatus.PARTIAL
    assert any(e.startswith("positions:") and "malformed" in e for e in outcome.errors)
    assert session.ledger.positions("sim", "main") == []
    assert not any(d.kind.is_position for d in outcome.discrepancies)
    assert any("position" in text for text in outcome.unverified)


def test_failed_open_orders_fetch_is_not_read_as_no_orders(open_session) -> None:
    session = open_session("manual-cancel")
    session.venue.fail_next("fetch_open_orders", TransientVenueError("connection reset"))
    before = session.ledger.orders("sim", "main")
    outcome = run(session).run
    assert outcome.status is RunStatus.PARTIAL
    assert session.ledger.orders("sim", "main") == before
    assert not any(p.action.kind is ActionKind.MARK_CANCELLED for p in outcome.actions)
    assert "open orders: connection reset" in outcome.errors
    # Next cycle the venue answers and the hand cancel is taken from the venue.
    again = run(session).run
    assert any(p.action.kind is ActionKind.MARK_CANCELLED for p in again.actions)


def test_a_failed_order_query_leaves_the_order_unresolved(open_session) -> None:
    session = open_session("manual-cancel")
    session.venue.fail_next("fetch_order", TransientVenueError("timeout"))
    outcome = run(session).run
    assert not any(p.action.kind is ActionKind.MARK_CANCELLED for p in outcome.actions)
    assert outcome.unverified
    active = [o for o in session.ledger.orders("sim", "main") if o.is_active]
    assert len(active) >= 1
    again = run(session).run
    marked = [p.action.order for p in again.actions if p.action.kind is ActionKind.MARK_CANCELLED]
    assert marked and all(o is not None and o.status is OrderStatus.CANCELLED for o in marked)


def _pending_cancels(session: SimSession) -> list[tuple[str, int]]:
    return [(run_id, i) for run_id, i, p in session.ledger.pending_actions("sim", "main")
            if p.action.kind is ActionKind.CANCEL_ORDER]


def test_approving_a_cancel_cancels_on_the_venue_and_is_audited(open_session) -> None:
    session = open_session("orphan-order")
    run(session, RunTrigger.STARTUP)
    open_before = {o.venue_order_id for o in session.exchange.open_orders("main")}
    pending = _pending_cancels(session)
    if not pending:  # an external order is adopted, not cancelled: stage one of ours
        session = open_session("crashed-session")
        run(session, RunTrigger.STARTUP)
        open_before = {o.venue_order_id for o in session.exchange.open_orders("main")}
        pending = _pending_cancels(session)
    run_id, index = pending[0]
    target = session.ledger.load_run(run_id).actions[index].action.order  # type: ignore[union-attr]
    assert target is not None
    state = asyncio.run(session.service.executor.approve(run_id, index, "alice"))
    assert state is ActionState.APPLIED
    open_after = {o.venue_order_id for o in session.exchange.open_orders("main")}
    assert open_after == open_before - {target.venue_order_id}
    recorded = session.ledger.load_run(run_id).actions[index]  # type: ignore[union-attr]
    assert recorded.state is ActionState.APPLIED and recorded.applied_by == "operator:alice"
    entry = session.ledger.audit_log(1)[0]
    assert entry.actor == "operator:alice" and entry.action == "cancel_order:applied"


def test_rejecting_leaves_the_order_and_records_who(open_session) -> None:
    session = open_session("crashed-session")
    run(session, RunTrigger.STARTUP)
    open_before = session.exchange.open_orders("main")
    run_id, index = _pending_cancels(session)[0]
    asyncio.run(session.service.executor.reject(run_id, index, "bob", "mine, leave it"))
    assert session.exchange.open_orders("main") == open_before
    recorded = session.ledger.load_run(run_id).actions[index]  # type: ignore[union-attr]
    assert recorded.state is ActionState.REJECTED and recorded.applied_by == "operator:bob"
    assert session.ledger.audit_log(1)[0].action == "cancel_order:rejected"


def test_a_cancel_that_fails_asks_the_venue_and_keeps_a_racing_fill(open_session) -> None:
    session = open_session("crashed-session")
    run(session, RunTrigger.STARTUP)
    run_id, index = _pending_cancels(session)[0]
    target = session.ledger.load_run(run_id).actions[index].action.order  # type: ignore[union-attr]
    assert target is not None
    session.exchange.hand_fill("main", target.venue_order_id)
    session.venue.fail_next("cancel_order", TransientVenueError("502 from the venue"))
    state = asyncio.run(session.service.executor.approve(run_id, index, "alice"))
    assert state is ActionState.FAILED
    recorded = session.ledger.load_run(run_id).actions[index]  # type: ignore[union-attr]
    assert "FILLED" in recorded.error
    stored = {o.venue_order_id: o for o in session.ledger.orders("sim", "main")}
    assert stored[target.venue_order_id].status is OrderStatus.FILLED


def test_the_loop_runs_at_startup_periodically_on_demand_and_stops(open_session) -> None:
    session = open_session("clean")
    service = session.service
    service.interval_s = 0.05

    async def scenario() -> list[RunTrigger]:
        seen: list[RunTrigger] = []
        service.on_run(lambda outcome: seen.append(outcome.run.trigger))
        await service.start()
        await asyncio.sleep(0.2)
        service.request(RunTrigger.RECONNECT)
        for _ in range(200):  # served within a run's time, however loaded the machine
            if RunTrigger.RECONNECT in seen:
                break
            await asyncio.sleep(0.025)
        await service.stop()
        count = len(seen)
        await asyncio.sleep(0.15)
        assert len(seen) == count, "a run happened after stop()"
        return seen

    seen = asyncio.run(scenario())
    assert seen[0] is RunTrigger.STARTUP
    assert RunTrigger.PERIODIC in seen
    assert RunTrigger.RECONNECT in seen
    assert len(session.ledger.list_runs("sim", "main", 100)) == len(seen)


@pytest.mark.parametrize(("method", "fields", "message"), [
    ("fetch_open_orders", {"status": "Zombie"}, "order.status: unknown value 'Zombie'"),
    ("fetch_open_orders", {"qty": "-3"}, "order.qty: -3 is negative"),
    ("fetch_fills", {"qty": "many"}, "fill.qty: 'many' is not a number"),
    ("fetch_positions", {"size": None}, "position.size: missing"),
    ("fetch_balances", {"asset": MISSING}, "balance.asset: missing"),
])
def test_malformed_venue_records_are_typed_errors_and_change_nothing(
        open_session, method, fields, message) -> None:
    session = open_session("missed-fill")
    session.venue.corrupt_next(method, **fields)
    snapshot = lambda: (session.ledger.orders("sim", "main"),  # noqa: E731
                        session.ledger.fills("sim", "main"),
                        session.ledger.positions("sim", "main"),
                        session.ledger.balances("sim", "main"))
    kinds = {"fetch_open_orders": 0, "fetch_fills": 1, "fetch_positions": 2,
             "fetch_balances": 3}
    before = snapshot()
    outcome = run(session, RunTrigger.STARTUP).run
    assert outcome.status is RunStatus.PARTIAL
    assert any(message in e for e in outcome.errors), outcome.errors
    # Nothing derived from the malformed answer reached the ledger.
    assert snapshot()[kinds[method]] == before[kinds[method]]
    # The next, well-formed answer is reconciled as usual.
    again = run(session).run
    assert again.status is RunStatus.OK


def test_ledger_actions_can_wait_for_approval_and_then_apply(ledger_url: str) -> None:
    from console.reconcile import ReconcileConfig

    session = build_sim_session(ledger_url, "manual-cancel",
                                config=ReconcileConfig(ledger_actions_auto=False))
    try:
        first = run(session, RunTrigger.STARTUP).run
        [index] = [i for i, p in enumerate(first.actions)
                   if p.action.kind is ActionKind.MARK_CANCELLED]
        assert first.actions[index].decision is Decision.NEEDS_APPROVAL
        target = first.actions[index].action.order
        assert target is not None
        stored = {o.ident: o for o in session.ledger.orders("sim", "main")}
        assert stored[target.ident].status is OrderStatus.NEW  # nothing applied yet
        state = asyncio.run(session.service.executor.approve(first.run_id, index, "carol"))
        assert state is ActionState.APPLIED
        stored = {o.ident: o for o in session.ledger.orders("sim", "main")}
        assert stored[target.ident].status is OrderStatus.CANCELLED
        assert stored[target.ident].strategy_id == target.strategy_id
        assert session.ledger.audit_log(1)[0].action == "mark_cancelled:applied"
    finally:
        session.close()


@pytest.mark.parametrize("fill_recorded", [True, False], ids=["stream-fill", "no-fill"])
def test_an_order_the_ledger_holds_rejected_is_reopened_by_its_fill(
        open_session, fill_recorded: bool) -> None:
    """The ledger holds an order REJECTED (a create that timed out, judged too early) that
    the venue executed: a fill naming it makes the reconciler ask the venue by id, and the
    venue's FILLED wins over the ledger's REJECTED."""
    from decimal import Decimal

    from console.domain import Category, LedgerChanges, Order, OrderRole, OrderType, Side

    session = open_session("clean")
    run(session, RunTrigger.STARTUP)
    client_id = session.engine.ids.next(OrderRole.ENTRY)
    now = time.time_ns() // 1_000_000
    rejected = Order(venue="sim", account="main", category=Category.LINEAR,
                     symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                     qty=Decimal("0.01"), status=OrderStatus.REJECTED,
                     client_order_id=client_id, price=Decimal("50000"), strategy_id="s1",
                     worker_id="w1", role=OrderRole.ENTRY, created_at=now - 60_000,
                     updated_at=now - 59_000)
    session.ledger.upsert_orders([rejected])
    landed = session.exchange.place_order(
        "main", category=Category.LINEAR, symbol="BTCUSDT", side=Side.BUY,
        order_type=OrderType.LIMIT, qty=rejected.qty, price=rejected.price,
        client_order_id=client_id)
    session.exchange.hand_fill("main", landed.venue_order_id)
    fill = session.exchange.fills("main")[-1]
    if fill_recorded:  # the stream recorded the fill but not the order's FILLED push
        session.ledger.apply_changes("sim", "main", LedgerChanges(fills=(fill,)))
    first = run(session).run
    row = session.ledger.get_order("sim", "main", client_id)
    assert row is not None
    assert (row.status, row.venue_order_id, row.filled_qty, row.strategy_id, row.role) == (
        OrderStatus.FILLED, landed.venue_order_id, rejected.qty, "s1", OrderRole.ENTRY)
    assert any(d.subject == client_id for d in first.discrepancies)
    assert [f.exec_id for f in session.ledger.fills("sim", "main")
            if f.venue_order_id == landed.venue_order_id] == [fill.exec_id]
    again = run(session).run
    assert again.discrepancies == ()



def test_a_run_s_automatic_ledger_fixes_are_one_audit_entry(open_session) -> None:
    """`recon-console audit` shows what changed the book: the fixes a run applied on its
    own are one entry (per kind how many, the first subjects named), after which the
    mode change; a run that fixes nothing adds none."""
    session = open_session("restart-with-position")
    first = run(session, RunTrigger.STARTUP).run
    fixes = [p.action for p in first.actions if p.decision is Decision.AUTO
             and p.action.kind.changes_ledger]
    assert fixes
    entries = session.ledger.audit_log(10, actions=(LEDGER_FIXES,))
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.run_id, entry.venue, entry.account) == (
        "auto", first.run_id, first.venue, first.account)
    details = dict(entry.details)
    kinds = {a.kind.value for a in fixes}
    assert {k: int(details[k]) for k in kinds} == {
        k: sum(1 for a in fixes if a.kind.value == k) for k in kinds}
    assert details["fix 1"] == f"{fixes[0].kind.value} {fixes[0].subject}"
    assert [e.action for e in session.ledger.audit_log(2)] == ["pause_trading", LEDGER_FIXES]
    run(session)
    assert len(session.ledger.audit_log(10, actions=(LEDGER_FIXES,))) == 1
