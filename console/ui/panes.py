"""The widgets of one scope of the window: one account's, or every account's at once.

The window (`console.ui.main_window`) stacks them: each table tab and each dock holds a
stack with one page per scope, and choosing a scope in the accounts bar turns every
stack to that scope's page. Each page keeps its own filter, sort, selection and scroll
position, and nothing is rebuilt or re-read on a switch.

A `ScopePane` holds the tables (orders, positions, executions, balances) and the
inbox, alerts and audit panels over a `ScopeView`: an account's controller, or the
all-accounts view (whose tables carry an Account column, shown first). An `AccountPane`
adds what belongs to one account only: its charts, its emergency report and its status
bar. Per-account panes go when their account closes; every connection they make is to
a slot of their own widgets, so nothing is left pointing at a deleted widget.
"""

from __future__ import annotations

import contextlib
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QSplitter, QStatusBar, QTableView, QWidget

from console.domain import Balance, Fill, Order, Position
from console.engine.emergency import EmergencyReport
from console.engine.reconcile_service import RunOutcome
from console.ui.all_accounts import ACCOUNT_TITLE
from console.ui.controller import ConsoleController
from console.ui.models.base import RecordTableModel
from console.ui.models.orders import is_finished
from console.ui.scope import ScopeView
from console.ui.settings import UiSettings
from console.ui.theme import ThemeState
from console.ui.widgets.alerts import AlertsPanel
from console.ui.widgets.audit import AuditPanel
from console.ui.widgets.charts import HistoryChart, LatencyChart
from console.ui.widgets.emergency import EmergencyReportPanel
from console.ui.widgets.inbox import InboxPanel
from console.ui.widgets.status_bar import StatusPanel
from console.ui.widgets.table import TablePanel

TABLES = ("orders", "positions", "executions", "balances")
TAB_TITLES = {"orders": "Open orders", "positions": "Positions", "executions": "Executions",
              "balances": "Balances"}
PLACEHOLDERS = {"orders": "Filter orders (symbol, side, status, id…)",
                "positions": "Filter positions…", "executions": "Filter executions…",
                "balances": "Filter balances…"}
ALL_SUFFIX = "_all"
"""The all-accounts tables keep their column layout under their own name."""


class ScopePane(QObject):
    """The tables and the inbox, alerts and audit panels of one scope."""

    def __init__(self, scope: ScopeView, *, settings: UiSettings, all_accounts: bool,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scope = scope
        self.all_accounts = all_accounts
        suffix = ALL_SUFFIX if all_accounts else ""
        s = settings
        self.orders_table: TablePanel[Order] = TablePanel(
            "orders" + suffix, scope.orders, settings=s, placeholder=PLACEHOLDERS["orders"])
        self.positions_table: TablePanel[Position] = TablePanel(
            "positions" + suffix, scope.positions, settings=s,
            placeholder=PLACEHOLDERS["positions"])
        self.fills_table: TablePanel[Fill] = TablePanel(
            "executions" + suffix, scope.fills, settings=s,
            placeholder=PLACEHOLDERS["executions"])
        self.balances_table: TablePanel[Balance] = TablePanel(
            "balances" + suffix, scope.balances, settings=s,
            placeholder=PLACEHOLDERS["balances"])
        self.tables: dict[str, TablePanel[Any]] = {
            "orders": self.orders_table, "positions": self.positions_table,
            "executions": self.fills_table, "balances": self.balances_table}
        self.show_finished = QCheckBox("Show finished (10 min)", self.orders_table)
        self.show_finished.setChecked(True)
        self.show_finished.setToolTip("Orders that filled, were cancelled or rejected in the "
                                      "last 10 minutes stay listed, greyed")
        self.show_finished.toggled.connect(self._show_finished)
        self.orders_table.toolbar.insertWidget(1, self.show_finished)
        self.inbox = InboxPanel(scope, settings=s)
        self.alerts_panel = AlertsPanel(scope, settings=s)
        self.audit_panel = AuditPanel(scope, settings=s)
        if all_accounts:
            for table in (*self.tables.values(), self.inbox.action_table,
                          self.alerts_panel.table, self.audit_panel.table):
                account_first(table.view, table.model)
            account_first(self.inbox.runs_view, scope.runs)

    def _show_finished(self, on: bool) -> None:
        self.orders_table.proxy.set_hidden(None if on else is_finished)

    def widgets(self) -> list[QWidget]:
        """Every page this pane puts in the window's stacks."""
        return [*self.tables.values(), self.inbox, self.alerts_panel, self.audit_panel]

    def save_state(self) -> None:
        for table in self.tables.values():
            table.save_state()
        self.inbox.action_table.save_state()
        self.alerts_panel.table.save_state()
        self.audit_panel.table.save_state()

    def dispose(self) -> None:
        """Delete the pages on the GUI thread's next turn. They keep their Qt parent until
        then: a page Python owned could be freed by a garbage collection in a worker
        thread, which Qt does not survive."""
        for widget in self.widgets():
            widget.hide()
            widget.deleteLater()
        self.deleteLater()


class AccountPane(ScopePane):
    """One account's pages: its tables and panels, plus its charts, its emergency report
    and its status bar (a bar of its own, shown in the window's status bar while the
    account has the focus). The controller's signals reach the window through this
    pane's, so they stop when the pane goes."""

    said = Signal(str, str)
    """(account label, text): one line for the status bar."""
    report_shown = Signal()
    state_changed = Signal()
    """Risk, runs, stream or inbox changed: the window's actions follow."""
    resume_requested = Signal(object)
    """The status bar's Resume button: the `ConsoleController` to resume."""

    def __init__(self, controller: ConsoleController, *, settings: UiSettings,
                 theme: ThemeState, parent: QObject | None = None) -> None:
        super().__init__(controller, settings=settings, all_accounts=False, parent=parent)
        self.controller = controller
        self.latency_chart = LatencyChart(theme)
        self.history_chart = HistoryChart(theme)
        self.charts = QSplitter(Qt.Orientation.Vertical)
        self.charts.addWidget(self.latency_chart)
        self.charts.addWidget(self.history_chart)
        self.charts.setSizes([300, 300])
        self.report_panel = EmergencyReportPanel(theme)
        self.status_bar = QStatusBar()
        self.status_bar.setObjectName("accountStatus")
        self.status_bar.setSizeGripEnabled(False)
        self.status = StatusPanel(self.status_bar, controller, theme,
                                  clock_ms=controller.clock_ms)
        self.status.resume.clicked.connect(self._resume_clicked)
        self._theme = theme
        c = controller
        c.message.connect(self._said)
        c.run_finished.connect(self._run_finished)
        c.engine_started.connect(self._runs_changed)
        c.inbox_changed.connect(self._runs_changed)
        c.emergency_reported.connect(self._reported)
        c.risk_changed.connect(self.state_changed)
        c.stream_changed.connect(self._stream_changed)

    def _said(self, text: str) -> None:
        self.said.emit(self.controller.label, text)

    def _run_finished(self, outcome: RunOutcome) -> None:
        self.history_chart.add_outcome(outcome.run, outcome.duration_ms)
        self.state_changed.emit()

    def _runs_changed(self) -> None:
        self.history_chart.add_runs(self.controller.run_history)
        self.state_changed.emit()

    def _stream_changed(self, _state: str) -> None:
        self.state_changed.emit()

    def _reported(self, report: EmergencyReport) -> None:
        self.report_panel.show_report(report)
        self.report_shown.emit()

    def _resume_clicked(self) -> None:
        self.resume_requested.emit(self.controller)

    def feed_charts(self) -> None:
        self.latency_chart.feed(self.controller.metrics_snapshot())

    def widgets(self) -> list[QWidget]:
        return [*super().widgets(), self.charts, self.report_panel, self.status_bar]

    def dispose(self) -> None:
        """The account closed: its status panel is a plain object listening to the
        window's theme, so it is unplugged from it before its widgets go."""
        self.status.timer.stop()
        for slot in (getattr(self.status, "update", None),
                     getattr(self.status, "_alerts_changed", None)):
            if slot is not None:
                with contextlib.suppress(RuntimeError, TypeError):  # not connected
                    self._theme.changed.disconnect(slot)
        super().dispose()


def account_first(view: QTableView, model: RecordTableModel[Any]) -> None:
    """Show the Account column (the model's last) first."""
    titles = [c.title for c in model.columns]
    if ACCOUNT_TITLE not in titles:
        return
    logical = titles.index(ACCOUNT_TITLE)
    header = view.horizontalHeader()
    header.moveSection(header.visualIndex(logical), 0)
