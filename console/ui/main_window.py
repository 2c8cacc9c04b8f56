"""The main window: live tables, the discrepancy inbox, alerts, audit log, charts, and the
actions an operator takes, with the red EMERGENCY STOP always in view.

The window only arranges widgets and turns clicks into controller coroutines (run by
`TaskRunner`: a slot never awaits, never blocks, never runs a modal loop). What is at
stake is always visible: the SIMULATED / TESTNET / MAINNET badge is in the title and,
permanently, in the status bar.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolBar,
    QWidget,
)

from console.domain import Balance, Fill, Order, Position
from console.engine.emergency import EmergencyReport
from console.engine.reconcile_service import RunOutcome
from console.errors import UserFacingError
from console.ui.controller import AmendAsker, ConsoleController
from console.ui.dialogs.amend import AmendDialog, ask_amend
from console.ui.dialogs.credentials import CredentialsDialog
from console.ui.dialogs.emergency import EmergencyDialog
from console.ui.dialogs.profile import ProfileDialog
from console.ui.models.inbox import InboxItem
from console.ui.models.orders import is_finished
from console.ui.notifications import Notice, Notifier
from console.ui.ports import CredentialsPort, ProfilesPort
from console.ui.settings import UiSettings
from console.ui.tasks import TaskRunner
from console.ui.theme import ThemeState
from console.ui.widgets.alerts import AlertsPanel
from console.ui.widgets.audit import AuditPanel
from console.ui.widgets.charts import HistoryChart, LatencyChart
from console.ui.widgets.emergency import EmergencyButton, EmergencyReportPanel
from console.ui.widgets.inbox import InboxPanel
from console.ui.widgets.status_bar import StatusPanel
from console.ui.widgets.table import TablePanel

log = logging.getLogger(__name__)

CHART_FEED_MS = 200


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, controller: ConsoleController, *, settings: UiSettings,
                 theme: ThemeState, notifier: Notifier,
                 credentials: CredentialsPort | None = None,
                 profiles: ProfilesPort | None = None,
                 amend_asker: AmendAsker | None = None,
                 versions: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.settings = settings
        self.theme = theme
        self.notifier = notifier
        self.credentials_port = credentials
        self.profiles_port = profiles
        self.versions = versions
        self.tasks = TaskRunner(self)
        self.tasks.failed.connect(self._task_failed)
        self.amend_dialogs: list[AmendDialog] = []
        self.amend_asker: AmendAsker = amend_asker or (
            lambda order: ask_amend(order, self, self.amend_dialogs))
        self.show_error_dialogs = True
        self.last_error = ""
        self.emergency_dialog: EmergencyDialog | None = None
        self.credentials_dialog: CredentialsDialog | None = None
        self.profile_dialog: ProfileDialog | None = None
        ident = controller.identity
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"Recon Console — {ident.badge.value} — {ident.venue}/"
                            f"{ident.account} ({ident.profile})"
                            + (" — READ-ONLY" if controller.read_only else ""))
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._build_tables()
        self._build_docks()
        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        self.status = StatusPanel(self.statusBar(), controller, theme,
                                  clock_ms=controller.clock_ms)
        self.status.resume.clicked.connect(lambda: self.run(controller.resume(), "resume"))
        self._connect()
        self.resize(1680, 1050)
        self.default_state = self.saveState()
        settings.restore_window(self)
        self.apply_shortcut_policy()
        self.update_actions()

    # -- construction ------------------------------------------------------------------------

    def _build_tables(self) -> None:
        c, s = self.controller, self.settings
        self.orders_table: TablePanel[Order] = TablePanel(
            "orders", c.orders, settings=s, placeholder="Filter orders (symbol, side, "
            "status, id…)")
        self.positions_table: TablePanel[Position] = TablePanel(
            "positions", c.positions, settings=s, placeholder="Filter positions…")
        self.fills_table: TablePanel[Fill] = TablePanel(
            "executions", c.fills, settings=s, placeholder="Filter executions…")
        self.balances_table: TablePanel[Balance] = TablePanel(
            "balances", c.balances, settings=s, placeholder="Filter balances…")
        self.show_finished = QCheckBox("Show finished (10 min)", self.orders_table)
        self.show_finished.setChecked(True)
        self.show_finished.setToolTip("Orders that filled, were cancelled or rejected in the "
                                      "last 10 minutes stay listed, greyed")
        self.show_finished.toggled.connect(
            lambda on: self.orders_table.proxy.set_hidden(None if on else is_finished))
        self.orders_table.toolbar.insertWidget(1, self.show_finished)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("bookTabs")
        self.tabs.addTab(self.orders_table, "Open orders")
        self.tabs.addTab(self.positions_table, "Positions")
        self.tabs.addTab(self.fills_table, "Executions")
        self.tabs.addTab(self.balances_table, "Balances")
        self.setCentralWidget(self.tabs)
        self.tables: dict[str, TablePanel[Any]] = {
            "orders": self.orders_table, "positions": self.positions_table,
            "executions": self.fills_table, "balances": self.balances_table}

    def _dock(self, title: str, name: str, widget: QWidget,
              area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{name}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable
                         | QDockWidget.DockWidgetFeature.DockWidgetClosable)
        self.addDockWidget(area, dock)
        return dock

    def _build_docks(self) -> None:
        c, s = self.controller, self.settings
        self.inbox = InboxPanel(c, settings=s)
        self.alerts_panel = AlertsPanel(c, settings=s)
        self.audit_panel = AuditPanel(c, settings=s)
        self.latency_chart = LatencyChart(self.theme)
        self.history_chart = HistoryChart(self.theme)
        self.report_panel = EmergencyReportPanel(self.theme)
        charts = QSplitter(Qt.Orientation.Vertical)
        charts.addWidget(self.latency_chart)
        charts.addWidget(self.history_chart)
        charts.setSizes([300, 300])
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.inbox_dock = self._dock("Discrepancy inbox", "inbox", self.inbox, bottom)
        self.charts_dock = self._dock("Charts", "charts", charts, right)
        self.alerts_dock = self._dock("Alerts", "alerts", self.alerts_panel, right)
        self.audit_dock = self._dock("Audit log", "audit", self.audit_panel, right)
        self.report_dock = self._dock("Emergency report", "emergency", self.report_panel, right)
        self.splitDockWidget(self.charts_dock, self.alerts_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.alerts_dock, self.audit_dock)
        self.tabifyDockWidget(self.audit_dock, self.report_dock)
        self.alerts_dock.raise_()
        self.resizeDocks([self.charts_dock], [640], Qt.Orientation.Horizontal)
        self.resizeDocks([self.inbox_dock], [420], Qt.Orientation.Vertical)
        self.resizeDocks([self.charts_dock, self.alerts_dock], [480, 170],
                         Qt.Orientation.Vertical)

    def _action(self, text: str, slot: Callable[[], object], *, shortcut: str = "",
                tip: str = "", destructive: bool = False) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.triggered.connect(slot)
        action.setProperty("destructive", destructive)
        action.setProperty("wanted_shortcut", shortcut)
        if shortcut and not destructive:
            action.setShortcut(QKeySequence(shortcut))
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        c = self.controller
        self.act_reconcile = self._action(
            "Reconcile now", self.reconcile_now, shortcut="F5",
            tip="Run a reconciliation now (F5)")
        self.act_amend = self._action(
            "Amend…", self.amend_selected, shortcut="Ctrl+E",
            tip="Change the selected order's price or quantity (Ctrl+E)")
        self.act_approve = self._action(
            "Approve selected", self.approve_selected, shortcut="Ctrl+Shift+A",
            tip="Approve the selected inbox actions", destructive=True)
        self.act_reject = self._action(
            "Reject selected", self.reject_selected, shortcut="Ctrl+Shift+J",
            tip="Reject the selected inbox actions (nothing is sent)")
        self.act_orphans = self._action(
            "Cancel orphans…", self.cancel_orphans, shortcut="Ctrl+Shift+O",
            tip="Cancel every orphan order the inbox proposes (lists them, asks once)",
            destructive=True)
        self.act_halt = self._action(
            "Emergency: halt", self.emergency_pressed, shortcut="Ctrl+Shift+H",
            tip="Halt trading now: no new orders, strategies stopped (nothing is sent)")
        self.act_cancel_all = self._action(
            "Emergency: cancel all orders…", lambda: self.emergency(flatten=False),
            shortcut="Ctrl+Shift+C", tip="Halt and cancel every open order (asks once)",
            destructive=True)
        self.act_flatten = self._action(
            "Emergency: cancel all and flatten…", lambda: self.emergency(flatten=True),
            shortcut="Ctrl+Shift+F", tip="Halt, cancel everything, close every position "
            "(asks once)", destructive=True)
        self.act_resume = self._action("Resume trading…",
                                       lambda: self.run(c.resume(), "resume"))
        self.act_export = self._action("Export current table as CSV…", self.export_current,
                                       shortcut="Ctrl+Shift+S")
        self.act_credentials = self._action("API credentials…", self.open_credentials)
        self.act_profile = self._action("Add a venue profile…", self.open_profile)
        self.act_quit = self._action("Quit", self.close, shortcut="Ctrl+Q")
        self.act_destructive = QAction("Enable shortcuts for destructive actions", self)
        self.act_destructive.setCheckable(True)
        self.act_destructive.setChecked(self.settings.destructive_shortcuts)
        self.act_destructive.toggled.connect(self._set_destructive)
        self.act_sound = QAction("Sound on critical alerts", self)
        self.act_sound.setCheckable(True)
        self.act_sound.setChecked(self.settings.sound_on_critical)
        self.act_sound.toggled.connect(self._set_sound)
        self.notifier.sound = self.settings.sound_on_critical
        self.theme_group = QActionGroup(self)
        self.act_dark = QAction("Dark theme", self.theme_group)
        self.act_light = QAction("Light theme", self.theme_group)
        for action, name in ((self.act_dark, "dark"), (self.act_light, "light")):
            action.setCheckable(True)
            action.setChecked(self.theme.name == name)
            action.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
        self.act_reset_layout = self._action("Reset layout", self.reset_layout)
        # demo and chaos (sim only)
        self.act_demo_start = self._action("Start demo quoting",
                                           lambda: self.run(c.start_demo(), "demo"))
        self.act_demo_stop = self._action("Stop demo quoting",
                                          lambda: self.run(c.stop_demo(), "demo"))
        self.chaos_actions = {
            "hand_cancel": self._action("Cancel an order by hand (stream misses it)",
                                        lambda: self.chaos("hand_cancel")),
            "hand_fill": self._action("Fill an order by hand (stream misses it)",
                                      lambda: self.chaos("hand_fill")),
            "close_position": self._action("Close a position by hand (stream misses it)",
                                           lambda: self.chaos("close_position")),
            "drop_private_events": self._action("Drop the next 20 private events",
                                                lambda: self.chaos("drop_private_events", 20)),
            "cut_stream": self._action("Cut the WebSocket for 10 s",
                                       lambda: self.chaos("cut_stream", 10.0)),
        }
        self.act_about = self._action("About", self.about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Actions", self)
        bar.setObjectName("actionsToolbar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.toggleViewAction().setEnabled(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.act_reconcile, self.act_amend, self.act_orphans):
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.act_export)
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.emergency_button = EmergencyButton(bar)
        self.emergency_button.clicked.connect(self.emergency_pressed)
        bar.addWidget(self.emergency_button)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        for action in (self.act_profile, self.act_credentials, self.act_export):
            file.addAction(action)
        file.addSeparator()
        file.addAction(self.act_quit)
        view = menu.addMenu("&View")
        view.addAction(self.act_dark)
        view.addAction(self.act_light)
        view.addSeparator()
        for dock in (self.inbox_dock, self.charts_dock, self.alerts_dock, self.audit_dock,
                     self.report_dock):
            view.addAction(dock.toggleViewAction())
        view.addAction(self.act_reset_layout)
        actions = menu.addMenu("&Actions")
        for action in (self.act_reconcile, self.act_amend, self.act_approve, self.act_reject,
                       self.act_orphans):
            actions.addAction(action)
        actions.addSeparator()
        for action in (self.act_halt, self.act_cancel_all, self.act_flatten, self.act_resume):
            actions.addAction(action)
        settings = menu.addMenu("&Settings")
        settings.addAction(self.act_destructive)
        settings.addAction(self.act_sound)
        self.demo_menu = None
        if self.controller.chaos is not None or self.controller.demo is not None:
            demo = menu.addMenu("&Demo")
            demo.addAction(self.act_demo_start)
            demo.addAction(self.act_demo_stop)
            demo.addSeparator()
            chaos = demo.addMenu("Chaos on the exchange")
            for action in self.chaos_actions.values():
                chaos.addAction(action)
            self.demo_menu = demo
        help_ = menu.addMenu("&Help")
        help_.addAction(self.act_about)

    def _connect(self) -> None:
        c = self.controller
        c.message.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        c.run_finished.connect(self._run_finished)
        c.emergency_reported.connect(self._emergency_reported)
        c.risk_changed.connect(self.update_actions)
        c.engine_started.connect(self.update_actions)
        c.engine_started.connect(lambda: self.history_chart.add_runs(c.run_history))
        c.inbox_changed.connect(lambda: self.history_chart.add_runs(c.run_history))
        self.inbox.approve_requested.connect(self.approve)
        self.inbox.reject_requested.connect(self.reject)
        self.alerts_panel.acknowledge_requested.connect(
            lambda alerts: self.run(c.acknowledge(alerts), "acknowledge"))
        self.orders_table.view.selectionModel().selectionChanged.connect(
            lambda *_a: self.update_actions())
        self.orders_table.view.doubleClicked.connect(lambda _i: self.amend_selected())
        self.tasks.busy_changed.connect(lambda _b: self.update_actions())
        self.notifier.notified.connect(self._notified)
        self.feed_timer = QTimer(self)
        self.feed_timer.setInterval(CHART_FEED_MS)
        self.feed_timer.timeout.connect(self._feed_charts)
        self.feed_timer.start()

    # -- helpers -----------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, object], name: str) -> asyncio.Task[object]:
        return self.tasks.spawn(coro, name)

    def _task_failed(self, name: str, message: str) -> None:
        self.last_error = f"{name}: {message}"
        self.statusBar().showMessage(f"{name}: {message}", 30_000)
        if self.show_error_dialogs:
            box = QMessageBox(QMessageBox.Icon.Warning, "Recon Console", message,
                              QMessageBox.StandardButton.Ok, self)
            # venue and exception text: shown as written, never as HTML with live links
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()

    def _notified(self, notice: Notice) -> None:
        if notice.shown_by == "window":
            self.statusBar().showMessage(f"{notice.title}: {notice.text}", 30_000)

    def _feed_charts(self) -> None:
        self.latency_chart.feed(self.controller.session.metrics.snapshot())

    def _run_finished(self, outcome: RunOutcome) -> None:
        self.history_chart.add_outcome(outcome.run, outcome.duration_ms)
        self.update_actions()

    def _emergency_reported(self, report: EmergencyReport) -> None:
        self.report_panel.show_report(report)
        self.report_dock.show()
        self.report_dock.raise_()
        if self.emergency_dialog is not None:
            self.emergency_dialog.close()

    def update_actions(self) -> None:
        c = self.controller
        ro = c.read_only
        order = self.orders_table.current()
        self.act_amend.setEnabled(not ro and order is not None and order.is_active)
        self.act_orphans.setEnabled(not ro)
        self.act_approve.setEnabled(True)
        self.act_cancel_all.setEnabled(not ro and not c.emergency_running)
        self.act_flatten.setEnabled(not ro and not c.emergency_running)
        self.act_reconcile.setEnabled(not c.reconciling and not self.tasks.running("reconcile"))
        risk = c.session.risk
        self.act_resume.setEnabled(risk.halted or risk.paused)
        demo = c.demo
        self.act_demo_start.setEnabled(demo is not None and not ro and not demo.running)
        self.act_demo_stop.setEnabled(demo is not None and demo.running)
        for action in self.chaos_actions.values():
            action.setEnabled(c.chaos is not None)

    def apply_shortcut_policy(self) -> None:
        """Destructive actions get their keys only when the operator opted in."""
        on = self.settings.destructive_shortcuts
        for action in self.actions():
            if action.property("destructive"):
                wanted = str(action.property("wanted_shortcut") or "")
                action.setShortcut(QKeySequence(wanted) if on and wanted else QKeySequence())

    def _set_destructive(self, on: bool) -> None:
        self.settings.destructive_shortcuts = on
        self.apply_shortcut_policy()

    def _set_sound(self, on: bool) -> None:
        self.settings.sound_on_critical = on
        self.notifier.sound = on

    def set_theme(self, name: str) -> None:
        self.theme.apply(name)
        self.settings.theme = self.theme.name
        (self.act_dark if self.theme.name == "dark" else self.act_light).setChecked(True)

    def reset_layout(self) -> None:
        self.restoreState(self.default_state)
        for dock in (self.inbox_dock, self.charts_dock, self.alerts_dock, self.audit_dock,
                     self.report_dock):
            dock.show()
        self.alerts_dock.raise_()

    def current_table(self) -> TablePanel[Any]:
        widget = self.tabs.currentWidget()
        for table in self.tables.values():
            if table is widget:
                return table
        return self.orders_table

    # -- operator actions --------------------------------------------------------------------

    def reconcile_now(self) -> asyncio.Task[object] | None:
        if self.controller.reconciling:
            self.statusBar().showMessage("A reconciliation is already running.", 5000)
            return None
        self.act_reconcile.setEnabled(False)
        return self.run(self.controller.reconcile_now(), "reconcile")

    def approve(self, items: list[InboxItem]) -> asyncio.Task[object]:
        return self.run(self.controller.approve(items), "approve")

    def reject(self, items: list[InboxItem]) -> asyncio.Task[object]:
        return self.run(self.controller.reject(items), "reject")

    def approve_selected(self) -> asyncio.Task[object]:
        return self.approve(self.inbox.selected())

    def reject_selected(self) -> asyncio.Task[object]:
        return self.reject(self.inbox.selected())

    def cancel_orphans(self) -> asyncio.Task[object]:
        return self.run(self.controller.cancel_orphans(), "cancel orphans")

    def amend_selected(self) -> asyncio.Task[object] | None:
        order = self.orders_table.current()
        if order is None or not order.is_active:
            self.statusBar().showMessage("Select an open order to amend.", 5000)
            return None
        return self.run(self.controller.amend(order, self.amend_asker), "amend")

    def emergency_pressed(self) -> asyncio.Task[object]:
        """The red button: halt at once (no confirmation), then offer the escalations."""
        return self.run(self._halt_and_offer(), "emergency halt")

    async def _halt_and_offer(self) -> None:
        newly = await self.controller.halt()
        if self.emergency_dialog is None:
            dialog = EmergencyDialog(self, read_only=self.controller.read_only)
            dialog.cancel_all_requested.connect(lambda: self.emergency(flatten=False))
            dialog.flatten_requested.connect(lambda: self.emergency(flatten=True))
            self.emergency_dialog = dialog
        active = sum(1 for o in self.controller.orders.records() if o.is_active)
        self.emergency_dialog.set_halted(newly, active,
                                         self.controller.positions.rowCount())
        self.emergency_dialog.show()
        self.emergency_dialog.raise_()
        self.update_actions()

    def emergency(self, *, flatten: bool) -> asyncio.Task[object] | None:
        if self.controller.emergency_running:
            self.statusBar().showMessage("The emergency stop is already running.", 5000)
            return None
        return self.run(self.controller.emergency_stop(flatten=flatten), "emergency stop")

    def chaos(self, name: str, *args: object) -> str:
        try:
            return self.controller.chaos_action(name, *args)
        except UserFacingError as exc:
            # the sim refuses (nothing to cancel, no position...): say so, never crash
            log.info("chaos %s: %s", name, exc)
            self._task_failed(f"chaos {name}", str(exc))
            return ""

    def export_current(self) -> None:
        self.current_table().ask_export()

    def open_credentials(self, profile: str = "") -> CredentialsDialog | None:
        if self.credentials_port is None:
            self.statusBar().showMessage("No credential store in this session.", 5000)
            return None
        names = self.profiles_port.names() if self.profiles_port is not None else []
        dialog = CredentialsDialog(self.credentials_port, names, profile=profile, parent=self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_a: setattr(self, "credentials_dialog", None))
        self.credentials_dialog = dialog
        dialog.spawn(dialog.check())
        dialog.open()
        return dialog

    def open_profile(self) -> ProfileDialog | None:
        if self.profiles_port is None:
            self.statusBar().showMessage("Profiles are not available in this session.", 5000)
            return None
        dialog = ProfileDialog(self.profiles_port, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._profile_saved)
        self.profile_dialog = dialog
        dialog.open()
        return dialog

    def _profile_saved(self, name: str) -> None:
        self.statusBar().showMessage(
            f"Profile {name!r} saved. Store its API key now; open it with "
            f"`recon-console --profile {name}`.", 30_000)
        QTimer.singleShot(0, lambda: self.open_credentials(name))

    def about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Information, "About Recon Console",
                          "Recon Console keeps a trading bot's ledger in line with the "
                          f"exchange.\n\n{self.versions}", QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # -- lifecycle ---------------------------------------------------------------------------

    def save_layout(self) -> None:
        self.settings.save_window(self)
        for table in self.tables.values():
            table.save_state()
        self.inbox.action_table.save_state()
        self.alerts_panel.table.save_state()
        self.audit_panel.table.save_state()
        self.settings.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.save_layout()
        self.feed_timer.stop()
        self.notifier.close()
        super().closeEvent(event)
        self.closed.emit()
