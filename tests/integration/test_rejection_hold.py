"""A rejected action does not come back at the next run: the rejection holds while the
venue shows the same state, lapses when the venue changes, survives a restart, and an
operator can lift it. The real engine over the sim and a SQLite ledger; the store's
reads behind it (`latest_actions`, the filtered audit log) on both backends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import LedgerChanges
from console.domain.reconciliation import (
    Action,
    ActionKind,
    ActionState,
    AuditEntry,
    Decision,
    PlannedAction,
    RunRecord,
    RunStatus,
    RunTrigger,
)
from console.engine.actions import HOLD_PREFIX, ActionError, venue_fingerprint
from console.store import Ledger

VENUE, ACCOUNT = "sim", "main"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimSession]:
    session = build_sim_session(f"sqlite:///{tmp_path / 'ledger.db'}", "crashed-session")
    yield session
    session.close()


def pending(session: SimSession) -> dict[str, tuple[str, int]]:
    """subject -> (run_id, index) of what the inbox shows."""
    return {p.action.subject: (run_id, i)
            for run_id, i, p in session.ledger.pending_actions(VENUE, ACCOUNT)}


def run(session: SimSession) -> RunRecord:
    return asyncio.run(session.service.run_once(RunTrigger.MANUAL)).run


def proposals(record: RunRecord, subject: str) -> list[PlannedAction]:
    return [p for p in record.actions
            if p.action.subject == subject and p.decision is Decision.NEEDS_APPROVAL]


def reject_first(session: SimSession) -> str:
    """Run, reject the first cancel the inbox shows (as alice); its subject."""
    run(session)
    subject, (run_id, index) = sorted(pending(session).items())[0]
    asyncio.run(session.engine.executor.reject(run_id, index, "alice", "my hedge"))
    return subject


def test_a_rejection_holds_while_the_venue_is_unchanged(sim: SimSession) -> None:
    subject = reject_first(sim)
    other = next(s for s in pending(sim))  # the second cancel, still awaiting approval
    for _ in range(2):
        record = run(sim)
        assert subject not in pending(sim), "the rejected action came back"
        [held] = proposals(record, subject)
        assert held.state is ActionState.REJECTED
        assert held.applied_by == f"{HOLD_PREFIX}operator:alice"
        assert held.error == "my hedge"
        assert other in pending(sim)  # only the rejected one is held
    standing = asyncio.run(sim.engine.executor.held_rejections())
    assert [(h.action.subject, h.rejected_by, h.reason) for h in standing] == [
        (subject, "operator:alice", "my hedge")]


def test_a_venue_change_ends_the_hold(sim: SimSession) -> None:
    subject = reject_first(sim)
    run(sim)
    assert subject not in pending(sim)
    order = sim.exchange.get_order(ACCOUNT, subject)
    assert order is not None and order.price is not None
    sim.exchange.drop_private_events(ACCOUNT)  # a hand amend, behind the engine's back
    sim.exchange.amend_order(ACCOUNT, order.venue_order_id, price=order.price - Decimal(100))
    sim.exchange.restore_private_events(ACCOUNT)
    record = run(sim)
    [again] = proposals(record, subject)
    assert again.state is ActionState.PENDING and subject in pending(sim)
    # once the venue changed, the old rejection is history: it does not hold again
    run(sim)
    assert subject in pending(sim)


def test_an_operator_can_lift_a_hold(sim: SimSession) -> None:
    subject = reject_first(sim)
    record = run(sim)
    index = next(i for i, p in enumerate(record.actions)
                 if p.action.subject == subject and p.decision is Decision.NEEDS_APPROVAL)
    lifted = asyncio.run(sim.engine.executor.lift_rejection(record.run_id, index, "bob"))
    assert lifted.subject == subject
    assert asyncio.run(sim.engine.executor.held_rejections()) == []
    entry = sim.ledger.audit_log(1, venue=VENUE, account=ACCOUNT)[0]
    assert (entry.actor, entry.action, entry.subject) == (
        "operator:bob", "cancel_order:rejection_lifted", subject)
    run(sim)
    assert subject in pending(sim)
    with pytest.raises(ActionError, match="lifted already"):
        asyncio.run(sim.engine.executor.lift_rejection(record.run_id, index, "bob"))


def test_the_hold_survives_a_restart(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    first = build_sim_session(url, "crashed-session")
    try:
        subject = reject_first(first)
    finally:
        first.close()
    # a new process on the same ledger, against the same venue state
    second = build_sim_session(url, "crashed-session", exchange=first.exchange)
    try:
        record = run(second)
        [held] = proposals(record, subject)
        assert held.state is ActionState.REJECTED and subject not in pending(second)
    finally:
        second.close()


def test_decisions_stay_on_their_own_account(sim: SimSession) -> None:
    """An id from another account's run is refused, never carried out on this venue."""
    run(sim)
    other = RunRecord("elsewhere", "bybit", "main", RunTrigger.MANUAL, 1, 2, RunStatus.OK,
                      actions=(PlannedAction(Action(ActionKind.CANCEL_ORDER, subject="x"),
                                             Decision.NEEDS_APPROVAL),))
    sim.ledger.commit_run(other, LedgerChanges())
    with pytest.raises(ActionError, match="of bybit/main, not of sim/main"):
        asyncio.run(sim.engine.executor.approve("elsewhere", 0, "mallory"))


def test_the_fingerprint_ignores_times_and_sees_venue_facts(sim: SimSession) -> None:
    record = run(sim)
    planned = next(p for p in record.actions if p.action.kind is ActionKind.CANCEL_ORDER)
    action = planned.action
    assert action.order is not None
    same = venue_fingerprint(action, record.discrepancies)
    touched = replace(action, order=action.order.evolve(updated_at=1))
    assert venue_fingerprint(touched, record.discrepancies) == same
    moved = replace(action, order=action.order.evolve(filled_qty=action.order.qty))
    assert venue_fingerprint(moved, record.discrepancies) != same
    assert venue_fingerprint(action, ()) != same  # the discrepancy's evidence counts too


# -- the store reads behind the hold, on both backends -------------------------------------

def _run(run_id: str, started_at: int, *states: tuple[str, ActionState]) -> RunRecord:
    return RunRecord(run_id, "bybit", "main", RunTrigger.PERIODIC, started_at,
                     started_at + 10, RunStatus.OK, actions=tuple(
                         PlannedAction(Action(ActionKind.CANCEL_ORDER, subject=subject),
                                       Decision.NEEDS_APPROVAL, state=state)
                         for subject, state in states))


def test_latest_actions_is_the_newest_record_of_each_proposal(ledger: Ledger) -> None:
    ledger.commit_run(_run("r1", 1_000, ("a", ActionState.REJECTED),
                           ("b", ActionState.PENDING)), LedgerChanges())
    ledger.commit_run(_run("r2", 2_000, ("a", ActionState.PENDING)), LedgerChanges())
    ledger.commit_run(_run("r0", 500, ("c", ActionState.REJECTED)), LedgerChanges())
    other = RunRecord("x1", "sim", "main", RunTrigger.PERIODIC, 9_000, 9_010, RunStatus.OK,
                      actions=(PlannedAction(Action(ActionKind.CANCEL_ORDER, subject="a"),
                                             Decision.NEEDS_APPROVAL,
                                             state=ActionState.REJECTED),))
    ledger.commit_run(other, LedgerChanges())
    latest = ledger.latest_actions("bybit", "main", [("cancel_order", "a"),
                                                     ("cancel_order", "b"),
                                                     ("cancel_order", "c"),
                                                     ("cancel_order", "zz")])
    assert {k[1]: (run_id, p.state) for k, (run_id, _i, p) in latest.items()} == {
        "a": ("r2", ActionState.PENDING),
        "b": ("r1", ActionState.SUPERSEDED),  # r2 (a full run) superseded it
        "c": ("r0", ActionState.REJECTED),
    }


def test_the_audit_log_filters_by_account_and_action(ledger: Ledger) -> None:
    for at, venue, action in ((1, "sim", "x:rejected"), (2, "bybit", "x:rejected"),
                              (3, "sim", "x:rejection_lifted"), (4, "sim", "other")):
        ledger.append_audit(AuditEntry(at=at, actor="operator:a", action=action,
                                       subject="s", venue=venue, account="main"))
    assert [e.at for e in ledger.audit_log(10)] == [4, 3, 2, 1]
    assert [e.at for e in ledger.audit_log(10, venue="sim", account="main")] == [4, 3, 1]
    assert [e.at for e in ledger.audit_log(10, venue="sim",
                                           actions={"x:rejected", "x:rejection_lifted"})] == [
        3, 1]
    assert ledger.audit_log(10, account="other") == []
