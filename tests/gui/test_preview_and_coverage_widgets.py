"""The preview dialog (a plan-only reconciliation, a restart rehearsal) and the coverage
panel render the engine's reports, offscreen; screenshots go to build/screenshots."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QTableWidget, QWidget

from console.bootstrap import build_sim_session
from console.domain.capabilities import EndpointBudget
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.engine.coverage import CoverageReport, account_coverage, coverage_of
from console.engine.preview import ReconcilePreview, preview_reconcile
from console.engine.rehearsal import RestartRehearsal, rehearse_restart
from console.ui.dialogs.preview import PreviewDialog, show_report
from console.ui.format import fmt_ms
from console.ui.widgets.coverage import CoveragePanel, coverage_tooltip

from .conftest import SCREENSHOTS, drive
from .shown_texts import assert_no_canary_shown

NOW = 1_796_400_000_000


def _cells(table: QTableWidget) -> list[list[str]]:
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def _save(widget: QWidget, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert_no_canary_shown(widget)
    image = widget.grab().toImage()
    assert not image.isNull()
    assert image.save(str(SCREENSHOTS / name))


def _reports(loop: qasync.QEventLoop, tmp_path: Path,
             scenario: str) -> tuple[ReconcilePreview, RestartRehearsal, CoverageReport]:
    sim = build_sim_session(f"sqlite:///{tmp_path / 'ledger.db'}", scenario)
    try:
        preview = drive(loop, preview_reconcile(sim.engine.reconciler))
        rehearsal = drive(loop, rehearse_restart(sim.engine))
        drive(loop, sim.engine.reconciler.run_once())
        coverage = drive(loop, account_coverage(sim.engine.venue, sim.ledger))
    finally:
        sim.close()
    return preview, rehearsal, coverage


def test_the_preview_dialog_shows_the_plan_and_each_decision(
        qapp: QApplication, loop: qasync.QEventLoop, tmp_path: Path) -> None:
    preview, _, _ = _reports(loop, tmp_path, "bracket-missing-protection")
    dialog = show_report(preview)
    try:
        assert dialog.isVisible() and not dialog.isModal()
        assert dialog.windowTitle() == "Preview reconcile: sim/main"
        assert dialog.headline.text().startswith("Nothing was applied or recorded. A run now "
                                                 "would find 2 discrepancies and plan 4 "
                                                 "actions: 3 auto, 1 needing approval, 0 "
                                                 "blocked.")
        assert "trading TRADING -> PAUSED" in dialog.headline.text()
        actions = _cells(dialog.action_table)
        assert [row[1:3] for row in actions] == [
            ["pause_trading", "auto"], ["mark_cancelled", "auto"], ["alert", "auto"],
            ["place_protection", "needs approval"]]
        kinds = [row[0] for row in _cells(dialog.discrepancy_table)]
        assert kinds == ["order_missing_on_venue", "bracket_missing_protection"]
        assert "open orders: venue 1, ledger 2" in dialog.facts.text()
        assert all(label.textFormat() is Qt.TextFormat.PlainText
                   for label in dialog.findChildren(QLabel))
        _save(dialog, "preview-reconcile.png")
    finally:
        dialog.close()


def test_the_dialog_shows_a_rehearsal_with_its_brackets(
        qapp: QApplication, loop: qasync.QEventLoop, tmp_path: Path) -> None:
    _, rehearsal, _ = _reports(loop, tmp_path, "bracket-entry-open")
    dialog = PreviewDialog(rehearsal)
    try:
        assert dialog.windowTitle() == "Restart rehearsal: sim/main"
        summary = dialog.rehearsal_summary.text()
        assert summary.startswith("Workers restarting: demo/w1 (every worker with a saved "
                                  "runner state). No emergency halt to restore.")
        assert "It would cancel 1 order, restore 0 brackets" in summary
        assert summary.endswith("place 0 protection orders and clear 1 bracket.")
        [bracket] = _cells(dialog.brackets)
        assert bracket[:3] == ["demo/w1", "BTCUSDT", "held"]
        assert [row[1:3] for row in _cells(dialog.action_table)] == [
            ["cancel_order", "needs approval"], ["clear_bracket", "needs approval"]]
        dialog.show()
        _save(dialog, "restart-rehearsal.png")
    finally:
        dialog.close()


def test_the_coverage_panel_shows_history_checks_and_budgets(qapp: QApplication) -> None:
    runs = [RunRecord(run_id="r1", venue="bybit", account="main",
                      trigger=RunTrigger.PERIODIC, started_at=NOW - 120_000,
                      finished_at=NOW - 119_000, status=RunStatus.OK,
                      fills_window=(NOW - 7_200_000, NOW - 3_600_000)),
            RunRecord(run_id="r2", venue="bybit", account="main",
                      trigger=RunTrigger.PERIODIC, started_at=NOW - 60_000,
                      finished_at=NOW - 59_000, status=RunStatus.PARTIAL,
                      errors=("positions: HTTP 502",),
                      fills_window=(NOW - 1_800_000, NOW - 60_000))]
    budgets = [EndpointBudget("/v5/order/create", 10, 2, NOW + 1000, NOW - 5000),
               EndpointBudget("/v5/position/list", 50, 49, None, NOW - 5000)]
    report = coverage_of("bybit", "main", runs, NOW - 60_000, budgets=budgets, at=NOW,
                         complete=True)
    panel = CoveragePanel(report)
    try:
        panel.resize(760, 560)
        panel.show()
        fills = panel.fills.text()
        assert fills.startswith(f"From {fmt_ms(NOW - 7_200_000)} to {fmt_ms(NOW - 60_000)} "
                                "in 2 fetches, 1 gap: ")
        assert fills.endswith(f"verified complete to {fmt_ms(NOW - 60_000)}.")
        lists = {row[0]: row for row in _cells(panel.lists)}
        assert lists["Positions"][1] == f"{fmt_ms(NOW - 119_000)} (119 s ago)"
        assert lists["Positions"][2].endswith(": HTTP 502")
        assert lists["Open orders"][2] == "verified by every later run"
        assert [row[:2] for row in _cells(panel.budgets)] == [
            ["/v5/order/create", "2 of 10 left"], ["/v5/position/list", "49 of 50 left"]]
        tip = coverage_tooltip(report, NOW)
        assert "Tightest rate limit: /v5/order/create 2 of 10 left" in tip
        assert panel.toolTip() == tip
        _save(panel, "coverage-panel.png")
    finally:
        panel.close()


def test_an_empty_panel_and_a_venue_without_figures(
        qapp: QApplication, loop: qasync.QEventLoop, tmp_path: Path) -> None:
    panel = CoveragePanel()
    try:
        assert panel.title.text().startswith("Coverage: no report yet")
        _, _, coverage = _reports(loop, tmp_path, "clean")
        panel.show_report(coverage)
        assert panel.budget_note.text() == "This venue reports no rate-limit figures."
        assert panel.budgets.isHidden()
        assert all(row[1] != "never verified in the runs examined" for row in
                   _cells(panel.lists))
        assert "Rate limits: this venue reports no figures" in coverage_tooltip(coverage)
    finally:
        panel.close()
