"""Runs in the ledger: exact round trip, all-or-nothing commit, the approval inbox."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import select

from console.domain import LedgerChanges, OrderStatus
from console.domain.reconciliation import (
    Action,
    ActionKind,
    ActionState,
    Decision,
    Discrepancy,
    DiscrepancyKind,
    PlannedAction,
    RunRecord,
    RunStatus,
    RunTrigger,
    Severity,
    TradingMode,
)
from console.errors import LedgerError
from console.store import tables

V, A = "bybit", "main"


def full_run(build, run_id: str = "run-1", started_at: int = 10_000) -> RunRecord:
    """A run with every field and every kind of action payload set."""
    order = build.order("c1", status=OrderStatus.CANCELLED)
    return RunRecord(
        run_id=run_id, venue=V, account=A, trigger=RunTrigger.RECONNECT,
        started_at=started_at, finished_at=started_at + 250, status=RunStatus.PARTIAL,
        mode=TradingMode.PAUSED, pause_reason="position mismatch on BTCUSDT",
        venue_calls=(("fetch_open_orders", 2), ("fetch_fills", 3)),
        discrepancies=(
            Discrepancy(kind=DiscrepancyKind.STATUS_MISMATCH, subject="c1",
                        summary="ledger NEW, venue CANCELLED", symbol="BTCUSDT",
                        ledger=(("status", "NEW"), ("qty", "0.010")),
                        venue=(("status", "CANCELLED"),), ledger_seen_at=9_000,
                        venue_seen_at=10_100),
            Discrepancy(kind=DiscrepancyKind.BALANCE_MISMATCH, subject="USDT", summary="off"),
        ),
        actions=(
            PlannedAction(Action(ActionKind.MARK_CANCELLED, "c1",
                                 reason=DiscrepancyKind.STATUS_MISMATCH, summary="mark",
                                 order=order), Decision.AUTO, ActionState.APPLIED,
                          applied_by="auto", applied_at=10_200),
            PlannedAction(Action(ActionKind.ADD_FILL, "e1", fill=build.fill("e1")),
                          Decision.AUTO, ActionState.FAILED, applied_by="auto",
                          applied_at=10_210, error="boom"),
            PlannedAction(Action(ActionKind.UPSERT_POSITION, "linear:BTCUSDT:one_way",
                                 position=build.position(), severity=Severity.CRITICAL),
                          Decision.AUTO),
            PlannedAction(Action(ActionKind.UPDATE_BALANCE, "USDT", balance=build.balance()),
                          Decision.AUTO),
            PlannedAction(Action(ActionKind.RESTORE_BRACKET, "u1/w1", bracket=build.bracket(),
                                 user_id="u1", worker_id="w1"), Decision.AUTO),
            PlannedAction(Action(ActionKind.CANCEL_ORDER, "v-9", summary="orphan",
                                 reason=DiscrepancyKind.ORPHANED_PROTECTION,
                                 order=build.order("", venue_order_id="v-9")),
                          Decision.NEEDS_APPROVAL),
            PlannedAction(Action(ActionKind.PAUSE_TRADING, "account",
                                 severity=Severity.WARNING), Decision.AUTO),
        ),
        errors=("fetch_positions: timeout",), unverified=("positions",),
        fills_window=(5_000, 10_000),
    )


def pending(kind: ActionKind, subject: str) -> PlannedAction:
    return PlannedAction(Action(kind, subject, summary=f"{kind.value} {subject}"),
                         Decision.NEEDS_APPROVAL)


def simple_run(run_id: str, started_at: int, *actions: PlannedAction, venue: str = V,
               account: str = A, status: RunStatus = RunStatus.OK) -> RunRecord:
    return RunRecord(run_id=run_id, venue=venue, account=account, trigger=RunTrigger.PERIODIC,
                     started_at=started_at, finished_at=started_at + 10, status=status,
                     actions=actions)


def dump(ledger) -> dict[str, list[tuple]]:
    """Every row of every ledger table, to prove that a failed commit changed nothing."""
    out = {}
    with ledger.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            rows = conn.execute(select(table)).all()
            out[table.name] = sorted(tuple(map(repr, row)) for row in rows)
    return out


def test_a_run_round_trips_exactly(ledger, build):
    run = full_run(build)
    ledger.commit_run(run, LedgerChanges())
    assert ledger.load_run("run-1") == run
    assert ledger.load_run("missing") is None
    bare = simple_run("run-0", 1)
    ledger.commit_run(bare, LedgerChanges())
    assert ledger.load_run("run-0") == bare


def test_list_runs_newest_first_with_limit(ledger, build):
    # Without the approval action: a later run would supersede it (tested below).
    runs = [replace(full_run(build, f"run-{i}", started_at=1_000 * i),
                    actions=full_run(build).actions[:5]) for i in range(1, 5)]
    for run in runs:
        ledger.commit_run(run, LedgerChanges())
    ledger.commit_run(simple_run("elsewhere", 9_000, account="other"), LedgerChanges())
    assert ledger.list_runs(V, A) == runs[::-1]
    assert ledger.list_runs(V, A, limit=2) == [runs[3], runs[2]]


def test_commit_run_applies_its_changes(ledger, build):
    ledger.commit_run(full_run(build), LedgerChanges(
        orders=(build.order("c1"),), fills=(build.fill("e1"),), positions=(build.position(),),
        balances=(build.balance(),), runner_states=(build.runner_state(),)))
    assert ledger.orders(V, A) == [build.order("c1")]
    assert ledger.fills(V, A) == [build.fill("e1")]
    assert ledger.positions(V, A) == [build.position()]
    assert ledger.balances(V, A) == [build.balance()]
    assert ledger.runner_states(V, A) == [build.runner_state()]


def test_commit_run_is_all_or_nothing(ledger, build):
    older = simple_run("run-0", 1_000, pending(ActionKind.CANCEL_ORDER, "v-9"))
    ledger.commit_run(older, LedgerChanges(
        orders=(build.order("c1"),), positions=(build.position("BTCUSDT"),
                                                build.position("ETHUSDT"))))
    before = dump(ledger)

    # The last write of the run (runner states) breaks a NOT NULL constraint, after the run,
    # its actions, the supersede update, orders, fills, positions and removals went out.
    broken = build.runner_state("w9")
    object.__setattr__(broken, "total_trades", None)
    changes = LedgerChanges(
        orders=(build.order("c1", status=OrderStatus.FILLED), build.order("c2")),
        fills=(build.fill("e1"),), positions=(build.position("BTCUSDT", size="3"),),
        removed_positions=(build.position("ETHUSDT").key,), balances=(build.balance(),),
        runner_states=(broken,))
    newer = simple_run("run-1", 2_000, pending(ActionKind.CANCEL_ORDER, "v-9"))
    with pytest.raises(LedgerError, match="run-1"):
        ledger.commit_run(newer, changes)
    assert dump(ledger) == before
    assert ledger.load_run("run-1") is None
    assert [rid for rid, _i, _a in ledger.pending_actions(V, A)] == ["run-0"]

    # A duplicate run id fails at the first statement: nothing of the changes lands either.
    with pytest.raises(LedgerError, match="run-0"):
        ledger.commit_run(replace(older, finished_at=5), replace(changes, runner_states=()))
    assert dump(ledger) == before


def test_a_partial_run_supersedes_only_what_it_proposes_again(ledger):
    cancel_x, cancel_y = (pending(ActionKind.CANCEL_ORDER, s) for s in ("x", "y"))
    ledger.commit_run(simple_run("r1", 1_000, cancel_x, cancel_y), LedgerChanges())
    ledger.commit_run(simple_run("other-acct", 1_500, cancel_x, account="other"),
                      LedgerChanges())
    assert [(r, i) for r, i, _ in ledger.pending_actions(V, A)] == [("r1", 0), ("r1", 1)]

    flatten_x = pending(ActionKind.FLATTEN_POSITION, "x")  # same subject, other kind
    auto_y = PlannedAction(Action(ActionKind.CANCEL_ORDER, "y"), Decision.AUTO)
    ledger.commit_run(simple_run("r2", 2_000, cancel_x, flatten_x, auto_y,
                                 status=RunStatus.PARTIAL), LedgerChanges())

    inbox = ledger.pending_actions(V, A)
    assert [(r, i, p.action.kind, p.action.subject) for r, i, p in inbox] == [
        ("r2", 0, ActionKind.CANCEL_ORDER, "x"),
        ("r2", 1, ActionKind.FLATTEN_POSITION, "x"),
        ("r1", 1, ActionKind.CANCEL_ORDER, "y"),
    ]
    assert inbox[0][2] == cancel_x
    superseded = ledger.load_run("r1").actions[0]
    assert (superseded.state, superseded.applied_by, superseded.applied_at) == (
        ActionState.SUPERSEDED, "run:r2", 2_010)
    # Another account's inbox is its own.
    assert [(r, i) for r, i, _ in ledger.pending_actions(V, "other")] == [("other-acct", 0)]


def test_a_fully_verified_run_supersedes_every_older_approval(ledger):
    """What a verified run no longer proposes has gone away: it must leave the inbox."""
    cancel_x, cancel_y = (pending(ActionKind.CANCEL_ORDER, s) for s in ("x", "y"))
    ledger.commit_run(simple_run("r1", 1_000, cancel_x, cancel_y), LedgerChanges())
    ledger.commit_run(simple_run("r2", 2_000, cancel_x), LedgerChanges())
    assert [(r, i) for r, i, _ in ledger.pending_actions(V, A)] == [("r2", 0)]
    assert [p.state for p in ledger.load_run("r1").actions] == [ActionState.SUPERSEDED] * 2
    ledger.commit_run(simple_run("r3", 3_000), LedgerChanges())
    assert ledger.pending_actions(V, A) == []


def test_set_action_state_records_who_and_when(ledger):
    ledger.commit_run(simple_run("r1", 1_000, pending(ActionKind.CANCEL_ORDER, "x"),
                                 pending(ActionKind.CANCEL_ORDER, "y"),
                                 pending(ActionKind.CANCEL_ORDER, "z")), LedgerChanges())
    ledger.set_action_state("r1", 0, ActionState.REJECTED, by="operator:ann", at=5_000)
    ledger.set_action_state("r1", 1, ActionState.FAILED, by="operator:bob", at=6_000,
                            error="venue said no")
    ledger.set_action_state("r1", 1, ActionState.APPLIED, by="operator:bob", at=7_000)
    actions = ledger.load_run("r1").actions
    assert [(a.state, a.applied_by, a.applied_at, a.error) for a in actions] == [
        (ActionState.REJECTED, "operator:ann", 5_000, ""),
        (ActionState.APPLIED, "operator:bob", 7_000, ""),
        (ActionState.PENDING, "", None, ""),
    ]
    assert [(r, i) for r, i, _ in ledger.pending_actions(V, A)] == [("r1", 2)]

    with pytest.raises(LedgerError, match="already rejected"):
        ledger.set_action_state("r1", 0, ActionState.APPLIED, by="operator:ann", at=8_000)
    with pytest.raises(LedgerError, match="no action #7"):
        ledger.set_action_state("r1", 7, ActionState.APPLIED, by="operator:ann", at=8_000)
    with pytest.raises(LedgerError, match="cannot be set"):
        ledger.set_action_state("r1", 2, ActionState.SUPERSEDED, by="operator:ann", at=8_000)


def test_a_superseded_action_can_no_longer_be_approved(ledger):
    ledger.commit_run(simple_run("r1", 1_000, pending(ActionKind.CANCEL_ORDER, "x")),
                      LedgerChanges())
    ledger.commit_run(simple_run("r2", 2_000, pending(ActionKind.CANCEL_ORDER, "x")),
                      LedgerChanges())
    with pytest.raises(LedgerError, match="already superseded"):
        ledger.set_action_state("r1", 0, ActionState.APPLIED, by="operator:ann", at=3_000)
    assert ledger.load_run("r1").actions[0].state is ActionState.SUPERSEDED


def test_balances_in_action_payloads_stay_exact(ledger, build):
    balance = build.balance(total="0.00000001")
    run = simple_run("r1", 1, PlannedAction(Action(ActionKind.UPDATE_BALANCE, "USDT",
                                                   balance=balance), Decision.AUTO))
    ledger.commit_run(run, LedgerChanges())
    stored = ledger.load_run("r1").actions[0].action.balance
    assert stored == balance and stored.total.as_tuple() == Decimal("0.00000001").as_tuple()
