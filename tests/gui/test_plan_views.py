"""The window's plan-only views over real sim accounts: "Preview reconcile" shows what a
run would do and writes nothing, "Restart rehearsal…" opens, the "Coverage and budgets"
dock follows the selected account, the Demo menu's lost order becomes an inbox item, the
emergency stop's status line is the engine's headline, and the charts keep their height.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt

from console.domain.reconciliation import ActionKind
from console.engine.emergency import headline
from console.engine.preview import ReconcilePreview
from console.engine.rehearsal import RestartRehearsal
from console.ui.main_window import ONE_ACCOUNT
from console.ui.widgets.charts import HISTORY_MIN_HEIGHT

from . import accounts_harness
from .accounts_harness import MakeAccounts
from .conftest import Harness, MakeConsole

make_accounts = accounts_harness.make_accounts


def _ledger_counts(h: Harness) -> dict[str, Any]:
    """Everything a run or an action would write, counted."""
    c = h.controller
    ledger, venue, account = c.session.ledger, c.venue, c.account
    return {
        "runs": len(ledger.list_runs(venue, account, limit=10_000)),
        "audit": len(ledger.audit_log(limit=100_000)),
        "orders": sorted((o.ident, o.status.value, o.updated_at)
                         for o in ledger.orders(venue, account)),
        "positions": len(ledger.positions(venue, account)),
        "pending": len(ledger.pending_actions(venue, account)),
        "coverage": ledger.fill_coverage(venue, account),
    }


def test_preview_shows_the_plan_and_writes_nothing(make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    w.chaos("place_lost_order")  # something for the plan: an order ours, unknown
    on_venue = sorted(o.venue_order_id for o in h.sim_open())
    before = _ledger_counts(h)
    assert w.act_preview.isEnabled()
    assert w.act_preview.shortcut().toString() == "Shift+F5"
    seen: list[str] = []
    h.controller.work_progress.connect(seen.append)
    w.act_preview.trigger()
    h.idle()
    dialog = w.preview_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert isinstance(dialog.report, ReconcilePreview)
    assert dialog.windowTitle().startswith("Preview reconcile: sim/main")
    assert dialog.headline.text().startswith("Nothing was applied or recorded.")
    kinds = [dialog.action_table.item(r, 1).text()
             for r in range(dialog.action_table.rowCount())]
    assert ActionKind.CANCEL_ORDER.value in kinds
    assert seen and seen[0] == "Preview reconcile…"  # progress while it ran
    status = w.status
    assert status.working_text == "" and not status.progress.isVisible()
    # nothing recorded in the ledger, nothing sent to the venue
    assert _ledger_counts(h) == before
    assert sorted(o.venue_order_id for o in h.sim_open()) == on_venue
    assert "nothing applied" in h.controller.results[-1]
    dialog.close()


def test_the_rehearsal_opens(make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    before = _ledger_counts(h)
    w.act_rehearse.trigger()
    h.idle()
    dialog = w.preview_dialog
    assert dialog is not None and dialog.isVisible()
    assert isinstance(dialog.report, RestartRehearsal)
    assert dialog.windowTitle().startswith("Restart rehearsal: sim/main")
    assert dialog.rehearsal_summary.text().startswith("Workers restarting:")
    assert _ledger_counts(h) == before
    dialog.close()


def test_plan_actions_need_one_account(make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    w = a.window
    w.select_scope(None)
    for action in (w.act_preview, w.act_rehearse, w.act_reconcile):
        assert not action.isEnabled()
        assert ONE_ACCOUNT in action.toolTip()
    assert w.preview_reconcile() is None
    w.select_scope("beta")
    assert w.act_preview.isEnabled() and ONE_ACCOUNT not in w.act_preview.toolTip()


def test_the_coverage_dock_follows_the_selected_account(make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    w = a.window
    for _ in range(3):  # alpha has more runs than beta
        a.run(a.controller("alpha").reconcile_now())
    a.idle()
    w.select_scope("alpha")
    w.coverage_dock.show()
    w.coverage_dock.raise_()
    a.idle()
    alpha_runs = len(a.controller("alpha").session.ledger.list_runs("sim", "main", 1000))
    report = w.coverage_panel.report
    assert report is not None and report.runs_examined == alpha_runs == 4
    assert w.coverage_account.text().startswith("alpha")
    assert w.coverage_panel.lists.rowCount() == 4
    assert all(check.verified_at is not None for check in report.lists)

    w.select_scope("beta")
    a.idle()
    report = w.coverage_panel.report
    assert report is not None and report.runs_examined == 1
    assert w.coverage_account.text().startswith("beta")
    # the status bar's hover carries the same report
    tip = w.status.last_ok.toolTip()
    assert "coverage" in tip and "Fills: From" in tip

    # another run of beta: the dock follows it
    a.run(a.controller("beta").reconcile_now())
    a.idle()
    report = w.coverage_panel.report
    assert report is not None and report.runs_examined == 2


def test_the_demo_menu_yields_an_inbox_item(make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    assert w.demo_menu is not None and w.act_lost_order in w.demo_menu.actions()
    assert not h.controller.pending
    w.act_lost_order.trigger()
    assert "Chaos: placed" in h.controller.results[-1]
    h.run(h.controller.reconcile_now())
    h.idle()
    lost = [i for i in h.controller.pending
            if i.planned.action.kind is ActionKind.CANCEL_ORDER and i.awaiting]
    assert len(lost) == 1
    w.inbox.show_pending()
    h.idle()
    assert w.inbox.action_table.model.rowCount() >= 1


def test_the_emergency_status_line_is_the_headline(make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[True])
    h.run(h.controller.emergency_stop(flatten=False))
    h.idle()
    report = h.controller.last_report
    assert report is not None
    said = next(t for t in reversed(h.controller.results) if t.startswith("Emergency stop:"))
    assert said.endswith(headline(report).text + ".")
    assert "cancelled" in said


def test_the_charts_keep_a_readable_height(make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    assert w.history_chart.minimumHeight() >= HISTORY_MIN_HEIGHT >= 160
    w.resizeDocks([w.charts_dock], [40], Qt.Orientation.Vertical)
    h.pump(0.05)
    assert w.history_chart.height() >= HISTORY_MIN_HEIGHT
    assert w.latency_chart.height() >= w.latency_chart.minimumHeight() > 0
