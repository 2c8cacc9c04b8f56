"""Two ledger operations the window needs, on SQLite and PostgreSQL: the orders that ended
recently (the window lists them for a while, such as the emergency stop's flattening
orders that fill at once), and forgetting one account's book when the venue behind it is
rebuilt from nothing (the window's embedded sim), keeping its runs and audit log."""

from __future__ import annotations

from console.domain import LedgerChanges, OrderStatus
from console.domain.alerts import Alert
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
    Severity,
)
from console.domain.snapshot import FillCoverage

V, A = "bybit", "main"


def test_finished_orders_are_the_terminal_ones_since_newest_first(ledger, build) -> None:
    ledger.upsert_orders([
        build.order("live", status=OrderStatus.NEW, updated_at=5_000),
        build.order("old-fill", status=OrderStatus.FILLED, updated_at=1_000),
        build.order("filled", status=OrderStatus.FILLED, updated_at=4_000),
        build.order("cancelled", status=OrderStatus.CANCELLED, updated_at=6_000),
        build.order("rejected", status=OrderStatus.REJECTED, updated_at=3_000),
        build.order("other", status=OrderStatus.FILLED, updated_at=6_000, account="other"),
    ])
    found = ledger.finished_orders(V, A, 3_000)
    assert [o.ident for o in found] == ["cancelled", "filled", "rejected"]
    assert [o.ident for o in ledger.finished_orders(V, A, 3_000, limit=2)] == [
        "cancelled", "filled"]
    assert ledger.finished_orders(V, A, 7_000) == []


def test_reset_book_forgets_one_accounts_book_and_keeps_its_history(ledger, build) -> None:
    for account in (A, "other"):
        ledger.apply_changes(V, account, LedgerChanges(
            orders=(build.order("o1", account=account),
                    build.order("o2", status=OrderStatus.FILLED, account=account)),
            fills=(build.fill("f1", account=account),),
            positions=(build.position(account=account),),
            balances=(build.balance(account=account),),
            runner_states=(build.runner_state(account=account,
                                              user_id=f"u-{account}"),)))
    pending = PlannedAction(Action(ActionKind.CANCEL_ORDER, "o1", summary="cancel o1"),
                            Decision.NEEDS_APPROVAL)
    run = RunRecord("r1", V, A, RunTrigger.STARTUP, 1_000, 1_100, RunStatus.OK,
                    actions=(pending,), fills_window=(0, 1_000))
    ledger.commit_run(run, LedgerChanges(), FillCoverage(0, 1_000))
    ledger.append_audit(AuditEntry(at=1_200, actor="operator:ann", action="cancel_order:rejected",
                                   subject="o1", venue=V, account=A))
    ledger.upsert_alerts([Alert(V, A, "trading_paused", f"{V}/{A}", Severity.CRITICAL,
                                "paused", 1_000, 1_000)])
    assert ledger.fill_coverage(V, A) == 1_000

    assert ledger.reset_book(V, A, by="demo_sim_rebuilt", at=2_000) == 2

    assert ledger.orders(V, A) == [] and ledger.fills(V, A) == []
    assert ledger.positions(V, A) == [] and ledger.balances(V, A) == []
    assert ledger.runner_states(V, A) == [] and ledger.fill_coverage(V, A) is None
    assert ledger.pending_actions(V, A) == []
    stored = ledger.load_run("r1")
    assert stored is not None and stored.actions[0].state is ActionState.SUPERSEDED
    assert stored.actions[0].applied_by == "demo_sim_rebuilt"
    assert ledger.alerts(V, A, active_only=True) == []
    assert [a.cleared_at for a in ledger.alerts(V, A, active_only=False)] == [2_000]
    assert [e.action for e in ledger.audit_log()] == ["cancel_order:rejected"]
    assert [r.run_id for r in ledger.list_runs(V, A)] == ["r1"]
    # the other account is untouched
    assert {o.ident for o in ledger.orders(V, "other")} == {"o1", "o2"}
    assert ledger.fills(V, "other") and ledger.positions(V, "other")
    assert ledger.balances(V, "other") and ledger.runner_states(V, "other")
