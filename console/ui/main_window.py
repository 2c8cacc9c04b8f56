"""The main window: live tables, the discrepancy inbox, alerts, audit log, charts, the
account summary, and the actions an operator takes, with the red EMERGENCY STOP always
in view; with several accounts open, the accounts bar and STOP ALL ACCOUNTS too.

The window only arranges widgets and turns clicks into controller coroutines (run by
`TaskRunner`: a slot never awaits, never blocks, never runs a modal loop). What is at
stake is always visible: the SIMULATED / TESTNET / MAINNET badge is in the title and,
permanently, in the status bar, and each account's badge is in the accounts bar.

Accounts (`console.ui.workspace`): each open account has its own pages (its tables,
inbox, alerts, audit, charts, report, status bar: `console.ui.panes`), and every table
tab and dock is a stack of such pages, turned to the scope the accounts bar selects:
one account, or "All accounts" (tables over every account, with an Account column). An
action on a row acts on the row's account; an action that needs one account (reconcile
now, preview reconcile, restart rehearsal, cancel orphans, this account's emergency stop,
resume) is disabled while every account is shown, and says so in its tooltip.

Plan-only views: "Preview reconcile" (Shift+F5) and "Restart rehearsal…" compute what a
run, or a cold start, would do now (nothing applied or recorded) in a task, with their
progress in the status bar, and open a non-modal dialog with the plan. The "Coverage and
budgets" dock shows the focus account's coverage (`console.ui.coverage_feed`), which the
status bar also shows on hover.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStatusBar,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from console.domain import Balance, Fill, Order, Position
from console.domain.alerts import Alert
from console.engine.coverage import CoverageReport
from console.engine.preview import ReconcilePreview
from console.engine.rehearsal import RestartRehearsal
from console.errors import UserFacingError
from console.ui.controller import AmendAsker, ConsoleController
from console.ui.coverage_feed import CoverageFeed
from console.ui.dialogs.amend import AmendDialog, ask_amend
from console.ui.dialogs.credentials import CredentialsDialog
from console.ui.dialogs.emergency import EmergencyDialog
from console.ui.dialogs.preview import PreviewDialog, show_report
from console.ui.dialogs.profile import ProfileDialog
from console.ui.fleet_menu import FleetMenu, explain_remote
from console.ui.format import plural
from console.ui.global_stop import GlobalReport
from console.ui.keyboard import Keyboard
from console.ui.models.inbox import InboxItem
from console.ui.notifications import Notice, Notifier
from console.ui.panes import TAB_TITLES, TABLES, AccountPane, ScopePane
from console.ui.ports import CredentialsPort, ProfilesPort
from console.ui.quit_guard import QuitGuard
from console.ui.settings import UiSettings
from console.ui.tasks import TaskRunner
from console.ui.theme import ThemeState
from console.ui.widgets.accounts import AccountsBar
from console.ui.widgets.alerts import AlertsPanel
from console.ui.widgets.audit import AuditPanel
from console.ui.widgets.book_tables import BookTables
from console.ui.widgets.charts import HistoryChart, LatencyChart
from console.ui.widgets.coverage import CoveragePanel
from console.ui.widgets.emergency import EmergencyButton, EmergencyReportPanel
from console.ui.widgets.global_report import GlobalReportPanel, GlobalStopButton
from console.ui.widgets.inbox import InboxPanel
from console.ui.widgets.status_bar import StatusPanel
from console.ui.widgets.summary import SummaryPanel
from console.ui.widgets.table import TablePanel
from console.ui.window_size import initial_size
from console.ui.workspace import Workspace

log = logging.getLogger(__name__)

CHART_FEED_MS = 200
ONE_ACCOUNT = "Select one account in the accounts bar: this acts on a single account"
R = TypeVar("R")


class MainWindow(QMainWindow):
    closed = Signal()

    def __init__(self, workspace: Workspace, *, settings: UiSettings,
                 theme: ThemeState, notifier: Notifier,
                 credentials: CredentialsPort | None = None,
                 profiles: ProfilesPort | None = None,
                 amend_asker: AmendAsker | None = None,
                 versions: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
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
        self.global_dialog: EmergencyDialog | None = None
        self.credentials_dialog: CredentialsDialog | None = None
        self.profile_dialog: ProfileDialog | None = None
        self.preview_dialog: PreviewDialog | None = None
        """The last preview or rehearsal opened (each stays open until closed)."""
        self.panes: dict[str, AccountPane] = {}
        self.all_pane: ScopePane | None = None
        self.setObjectName("mainWindow")
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks
                            | QMainWindow.DockOption.AllowTabbedDocks)
        self.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.quit_guard = QuitGuard(self)  # Ctrl+Q and the close button ask first
        self._build_status_bar()
        self._build_tables()
        self._build_docks()
        self._build_actions()
        self._build_toolbar()
        self._build_menus()
        for controller in workspace.controllers():
            self._account_added(controller)
        workspace.account_added.connect(self._account_added)
        workspace.account_closing.connect(self._account_closing)
        workspace.scope_changed.connect(self._show_scope)
        workspace.accounts_changed.connect(self._show_scope)
        workspace.global_reported.connect(self._global_reported)
        workspace.global_changed.connect(self.update_actions)
        workspace.message.connect(self.say)
        self._connect()
        # per-row actions, default order and widths; navigation keys and the F1 sheet
        self.book_tables = BookTables(self)
        self.fleet_menu = FleetMenu(self)  # File > Attach to a fleet ledger…
        self.keyboard = Keyboard(self)
        self._show_scope()
        self.resize(initial_size(self.screen()))  # never larger than the screen
        self.default_state = self.saveState()
        settings.restore_window(self)
        self.apply_shortcut_policy()
        self.update_actions()

    # -- the scope's pages -------------------------------------------------------------------

    @property
    def controller(self) -> ConsoleController:
        """The account in focus: the one shown, or with every account shown, the one with
        the most money at stake (`Workspace.focus`)."""
        return self.workspace.focus

    def _pane(self) -> ScopePane:
        """The pages shown: the all-accounts pane, or the one account's."""
        ws = self.workspace
        if ws.showing_all:
            if self.all_pane is None:
                self.all_pane = self._add_pane(ScopePane(
                    ws.all_view, settings=self.settings, all_accounts=True, parent=self))
            return self.all_pane
        return self._focus_pane()

    def _focus_pane(self) -> AccountPane:
        return self.panes[self.workspace.focus.label]

    @property
    def status(self) -> StatusPanel:
        return self._focus_pane().status

    @property
    def report_panel(self) -> EmergencyReportPanel:
        return self._focus_pane().report_panel

    @property
    def latency_chart(self) -> LatencyChart:
        return self._focus_pane().latency_chart

    @property
    def history_chart(self) -> HistoryChart:
        return self._focus_pane().history_chart

    @property
    def inbox(self) -> InboxPanel:
        return self._pane().inbox

    @property
    def alerts_panel(self) -> AlertsPanel:
        return self._pane().alerts_panel

    @property
    def audit_panel(self) -> AuditPanel:
        return self._pane().audit_panel

    @property
    def tables(self) -> dict[str, TablePanel[Any]]:
        return self._pane().tables

    @property
    def orders_table(self) -> TablePanel[Order]:
        return self._pane().orders_table

    @property
    def positions_table(self) -> TablePanel[Position]:
        return self._pane().positions_table

    @property
    def fills_table(self) -> TablePanel[Fill]:
        return self._pane().fills_table

    @property
    def balances_table(self) -> TablePanel[Balance]:
        return self._pane().balances_table

    @property
    def show_finished(self) -> QCheckBox:
        return self._pane().show_finished

    def statusBar(self) -> QStatusBar:
        """The focus account's own bar (inside the window's): what is said there shows
        beside that account's badge."""
        if self.panes:
            return self._focus_pane().status_bar
        return super().statusBar()

    # -- construction ------------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        outer = QStatusBar(self)
        outer.setObjectName("windowStatus")
        self.setStatusBar(outer)
        self.status_stack = QStackedWidget(outer)
        outer.addPermanentWidget(self.status_stack, 1)

    def _build_tables(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("bookTabs")
        self.table_stacks: dict[str, QStackedWidget] = {}
        for name in TABLES:
            stack = QStackedWidget(self.tabs)
            stack.setObjectName(f"stack_{name}")
            self.table_stacks[name] = stack
            self.tabs.addTab(stack, TAB_TITLES[name])
        self.setCentralWidget(self.tabs)

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
        self.inbox_stack = QStackedWidget(self)
        self.alerts_stack = QStackedWidget(self)
        self.audit_stack = QStackedWidget(self)
        self.charts_stack = QStackedWidget(self)
        self.report_stack = QStackedWidget(self)
        self.summary_panel = SummaryPanel(self.workspace, self.theme)
        self.global_report_panel = GlobalReportPanel(self.theme)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        self.inbox_dock = self._dock("Discrepancy inbox", "inbox", self.inbox_stack, bottom)
        self.summary_dock = self._dock("Account summary", "summary", self.summary_panel,
                                       bottom)
        self.charts_dock = self._dock("Charts", "charts", self.charts_stack, right)
        self.alerts_dock = self._dock("Alerts", "alerts", self.alerts_stack, right)
        self.audit_dock = self._dock("Audit log", "audit", self.audit_stack, right)
        self.report_dock = self._dock("Emergency report", "emergency", self.report_stack,
                                      right)
        self.global_report_dock = self._dock("Emergency report: every account",
                                             "global_emergency", self.global_report_panel,
                                             right)
        self.coverage_dock = self._dock("Coverage and budgets", "coverage",
                                        self._build_coverage(), bottom)
        self.coverage_feed = CoverageFeed(
            self.workspace, self.coverage_panel, shown=self.coverage_dock.isVisible,
            spawn=self.run, to_status=self._coverage_to_status, parent=self)
        self.tabifyDockWidget(self.inbox_dock, self.summary_dock)
        self.tabifyDockWidget(self.summary_dock, self.coverage_dock)
        self.inbox_dock.raise_()
        self.splitDockWidget(self.charts_dock, self.alerts_dock, Qt.Orientation.Vertical)
        self.tabifyDockWidget(self.alerts_dock, self.audit_dock)
        self.tabifyDockWidget(self.audit_dock, self.report_dock)
        self.tabifyDockWidget(self.report_dock, self.global_report_dock)
        self.alerts_dock.raise_()
        self.resizeDocks([self.charts_dock], [640], Qt.Orientation.Horizontal)
        self.resizeDocks([self.inbox_dock], [420], Qt.Orientation.Vertical)
        self.resizeDocks([self.charts_dock, self.alerts_dock], [480, 170],
                         Qt.Orientation.Vertical)
        # the history chart's two plots need their height (HistoryChart's minimum), the
        # latency chart its own, and the splitter's handle between them
        self.charts_stack.setMinimumSize(360, 300)
        self.docks = (self.inbox_dock, self.summary_dock, self.coverage_dock, self.charts_dock,
                      self.alerts_dock, self.audit_dock, self.report_dock,
                      self.global_report_dock)

    def _build_coverage(self) -> QWidget:
        """The coverage dock's page: whose coverage (sim profiles all read "sim/main"),
        then the panel, scrolled rather than clipped in a short dock."""
        page = QWidget(self)
        self.coverage_account = QLabel(page)
        self.coverage_account.setObjectName("coverageAccount")
        self.coverage_account.setTextFormat(Qt.TextFormat.PlainText)
        self.coverage_panel = CoveragePanel(parent=page)
        scroll = QScrollArea(page)
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.coverage_panel)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.coverage_account)
        layout.addWidget(scroll, 1)
        return page

    def _coverage_to_status(self, label: str, report: CoverageReport) -> None:
        pane = self.panes.get(label)
        if pane is not None:
            pane.status.set_coverage(report)

    def _coverage_shown(self, visible: bool) -> None:
        if visible and self.panes:
            self.coverage_feed.refresh_focus()

    def _add_pane(self, pane: ScopePane) -> ScopePane:
        """Put a pane's pages in the stacks and connect what it asks for."""
        for name, table in pane.tables.items():
            self.table_stacks[name].addWidget(table)
        self.inbox_stack.addWidget(pane.inbox)
        self.alerts_stack.addWidget(pane.alerts_panel)
        self.audit_stack.addWidget(pane.audit_panel)
        pane.inbox.approve_requested.connect(self.approve)
        pane.inbox.reject_requested.connect(self.reject)
        pane.inbox.lift_requested.connect(self.lift)
        pane.alerts_panel.acknowledge_requested.connect(self.acknowledge)
        pane.orders_table.view.selectionModel().selectionChanged.connect(
            self._selection_changed)
        pane.orders_table.view.doubleClicked.connect(self._double_clicked)
        if isinstance(pane, AccountPane):
            pane.charts.setChildrenCollapsible(False)  # neither chart squeezed to nothing
            self.charts_stack.addWidget(pane.charts)
            self.report_stack.addWidget(pane.report_panel)
            self.status_stack.addWidget(pane.status_bar)
        return pane

    def _account_added(self, controller: object) -> None:
        if not isinstance(controller, ConsoleController) or controller.label in self.panes:
            return
        pane = AccountPane(controller, settings=self.settings, theme=self.theme, parent=self)
        self._add_pane(pane)
        self.panes[controller.label] = pane
        pane.said.connect(self._account_said)
        pane.report_shown.connect(self._report_shown)
        pane.state_changed.connect(self.update_actions)
        pane.resume_requested.connect(self._resume_requested)
        self.coverage_feed.watch(controller)
        self._build_demo_menu()

    def _account_closing(self, controller: object) -> None:
        if not isinstance(controller, ConsoleController):
            return
        pane = self.panes.pop(controller.label, None)
        if pane is None:
            return
        for stack in (*self.table_stacks.values(), self.inbox_stack, self.alerts_stack,
                      self.audit_stack, self.charts_stack, self.report_stack,
                      self.status_stack):
            for widget in pane.widgets():
                if stack.indexOf(widget) >= 0:
                    stack.removeWidget(widget)
        pane.dispose()
        self.coverage_feed.forget(controller.label)
        self._build_demo_menu()

    def _show_scope(self) -> None:
        if not self.panes:
            return
        pane = self._pane()
        for name, stack in self.table_stacks.items():
            stack.setCurrentWidget(pane.tables[name])
        self.inbox_stack.setCurrentWidget(pane.inbox)
        self.alerts_stack.setCurrentWidget(pane.alerts_panel)
        self.audit_stack.setCurrentWidget(pane.audit_panel)
        focus = self._focus_pane()
        self.charts_stack.setCurrentWidget(focus.charts)
        self.report_stack.setCurrentWidget(focus.report_panel)
        self.status_stack.setCurrentWidget(focus.status_bar)
        self.coverage_account.setText(
            f"{focus.controller.label} ({focus.controller.identity.badge.value} "
            f"{focus.controller.venue}/{focus.controller.account})"
            + (": the account the status bar speaks for while every account is shown"
               if self.workspace.current is None else ""))
        if self.coverage_dock.isVisible():
            self.coverage_feed.refresh_focus()
        several = len(self.panes) > 1
        self.accounts_toolbar.setVisible(several)
        self.global_button_action.setVisible(several)  # a toolbar shows its widget by action
        self._title()
        self.update_actions()

    def _title(self) -> None:
        ws = self.workspace
        current = ws.current
        if current is not None and len(self.panes) == 1:
            ident = current.identity
            self.setWindowTitle(f"Recon Console — {ident.badge.value} — {ident.venue}/"
                                f"{ident.account} ({ident.profile})"
                                + (" — READ-ONLY" if current.read_only else ""))
            return
        badges = sorted({c.identity.badge.value for c in ws.controllers()})
        shown = (f"{current.identity.badge.value} {current.label}" if current is not None
                 else "all accounts")
        self.setWindowTitle(f"Recon Console — {', '.join(badges)} — {len(self.panes)} "
                            f"accounts — showing {shown}")

    def _action(self, text: str, slot: Callable[[], object], *, shortcut: str = "",
                tip: str = "", destructive: bool = False) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip or text)
        action.setStatusTip(tip or text)
        action.setProperty("tip", tip or text)
        action.triggered.connect(slot)
        action.setProperty("destructive", destructive)
        action.setProperty("wanted_shortcut", shortcut)
        if shortcut and not destructive:
            action.setShortcut(QKeySequence(shortcut))
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        self.act_reconcile = self._action(
            "Reconcile now", self.reconcile_now, shortcut="F5",
            tip="Run a reconciliation now (F5)")
        self.act_preview = self._action(
            "Preview reconcile", self.preview_reconcile, shortcut="Shift+F5",
            tip="Show what a reconciliation would find and do now, applying and recording "
            "nothing (Shift+F5)")
        self.act_rehearse = self._action(
            "Restart rehearsal…", self.rehearse_restart,
            tip="Show what a cold start of this account would do now (orders and brackets "
            "it would cancel, restore or adopt), applying nothing")
        self.act_amend = self._action(
            "Amend…", self.amend_selected, shortcut="Ctrl+E",
            tip="Change the selected order's price or quantity (Ctrl+E)")
        self.act_approve = self._action(  # no opt-in: a venue action confirms first
            "Approve selected", self.approve_selected, shortcut="Ctrl+Shift+A",
            tip="Approve the selected inbox actions (venue actions are confirmed first, "
            "listing what is sent)")
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
        self.act_resume = self._action("Resume trading…", self.resume,
                                       tip="Resume trading on this account (asks once)")
        self.act_global_halt = self._action(
            "Every account: halt", self.global_pressed,
            tip="Halt every open account now (nothing is sent), then offer to cancel all")
        self.act_global_cancel = self._action(
            "Every account: cancel all orders…", lambda: self.global_emergency(flatten=False),
            tip="Halt every account, then cancel every open order on each in parallel "
            "(asks once, listing every account)", destructive=True)
        self.act_global_flatten = self._action(
            "Every account: cancel all and flatten…",
            lambda: self.global_emergency(flatten=True),
            tip="Halt every account, cancel everything and close every position on each "
            "(asks once, listing every account)", destructive=True)
        self.act_export = self._action("Export current table as CSV…", self.export_current,
                                       shortcut="Ctrl+Shift+S")
        self.act_credentials = self._action("API credentials…", self.open_credentials)
        self.act_profile = self._action("Add a venue profile…", self.open_profile)
        self.act_close_account = self._action(
            "Close account…", self.close_account,
            tip="Stop the selected account's engine and close it (what it holds on the venue "
            "stays open; asks first when it holds anything)")
        self.act_quit = self._action(
            "Quit…", self.quit_guard.request, shortcut="Ctrl+Q",
            tip="Quit (asks first, listing what stays open on the venues, when orders, "
            "positions or a halt remain)")
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
        # demo and chaos (the embedded sim only)
        self.act_demo_start = self._action("Start demo quoting", self.start_demo)
        self.act_demo_stop = self._action("Stop demo quoting", self.stop_demo)
        self.act_lost_order = self._action(
            "Place an order the ledger will not know (inbox item)",
            lambda: self.chaos("place_lost_order"),
            tip="Place a resting order on the exchange with one of our ids, as a session "
            "that lost its ledger would have left it: the next reconciliation proposes "
            "cancelling it, for your approval in the inbox")
        missed = ("on the exchange, as a person would; the private stream misses it, so the "
                  "next reconciliation finds it")
        self.chaos_actions = {  # short texts (menus cut long ones), the detail in tooltips
            "hand_cancel": self._action("Cancel an order by hand",
                                        lambda: self.chaos("hand_cancel"),
                                        tip=f"Cancel one of our orders {missed}"),
            "hand_fill": self._action("Fill an order by hand",
                                      lambda: self.chaos("hand_fill"),
                                      tip=f"Fill one of our orders {missed}"),
            "close_position": self._action("Close a position by hand",
                                           lambda: self.chaos("close_position"),
                                           tip=f"Close a position {missed}"),
            "drop_private_events": self._action(
                "Drop 20 private events", lambda: self.chaos("drop_private_events", 20),
                tip="The next 20 private-stream events never reach the console"),
            "cut_stream": self._action("Cut the WebSocket (10 s)",
                                       lambda: self.chaos("cut_stream", 10.0),
                                       tip="Cut the private WebSocket for 10 s; the console "
                                       "reconnects and reconciles"),
        }
        self.act_about = self._action("About", self.about)

    def _build_toolbar(self) -> None:
        bar = QToolBar("Actions", self)
        bar.setObjectName("actionsToolbar")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.toggleViewAction().setEnabled(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.act_reconcile, self.act_preview, self.act_rehearse,
                       self.act_amend, self.act_orphans):
            bar.addAction(action)
        bar.addSeparator()
        bar.addAction(self.act_export)
        spacer = QWidget(bar)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar
        # The stops have a toolbar of their own beside it: a narrow window moves the
        # actions toolbar's items into its overflow menu, never the EMERGENCY STOP.
        stops = QToolBar("Emergency", self)
        stops.setObjectName("emergencyToolbar")
        stops.setMovable(False)
        stops.setFloatable(False)
        stops.toggleViewAction().setEnabled(False)
        self.emergency_button = EmergencyButton(stops)
        self.emergency_button.clicked.connect(self.emergency_pressed)
        self.emergency_tip = self.emergency_button.toolTip()
        stops.addWidget(self.emergency_button)
        self.global_button = GlobalStopButton(stops)
        self.global_button.clicked.connect(self.global_pressed)
        self.global_button_action = stops.addWidget(self.global_button)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, stops)
        self.emergency_toolbar = stops
        self.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        accounts = QToolBar("Accounts", self)
        accounts.setObjectName("accountsToolbar")
        accounts.setMovable(False)
        accounts.setFloatable(False)
        accounts.toggleViewAction().setEnabled(False)
        self.accounts_bar = AccountsBar(self.workspace, self.theme, accounts)
        accounts.addWidget(self.accounts_bar)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, accounts)
        self.accounts_toolbar = accounts

    def _build_menus(self) -> None:
        menu = self.menuBar()
        file = menu.addMenu("&File")
        self.open_menu = QMenu("Open profile…", self)
        self.open_menu.setObjectName("openProfileMenu")
        self.open_menu.setToolTipsVisible(True)
        self.open_menu.aboutToShow.connect(self.fill_open_menu)
        file.addMenu(self.open_menu)
        file.addAction(self.act_close_account)
        file.addSeparator()
        for action in (self.act_profile, self.act_credentials, self.act_export):
            file.addAction(action)
        file.addSeparator()
        file.addAction(self.act_quit)
        view = menu.addMenu("&View")
        view.addAction(self.act_dark)
        view.addAction(self.act_light)
        view.addSeparator()
        for dock in self.docks:
            view.addAction(dock.toggleViewAction())
        view.addAction(self.act_reset_layout)
        actions = menu.addMenu("&Actions")
        for action in (self.act_reconcile, self.act_preview, self.act_rehearse):
            actions.addAction(action)
        actions.addSeparator()
        for action in (self.act_amend, self.act_approve, self.act_reject, self.act_orphans):
            actions.addAction(action)
        actions.addSeparator()
        for action in (self.act_halt, self.act_cancel_all, self.act_flatten, self.act_resume):
            actions.addAction(action)
        actions.addSeparator()
        for action in (self.act_global_halt, self.act_global_cancel, self.act_global_flatten):
            actions.addAction(action)
        settings = menu.addMenu("&Settings")
        settings.addAction(self.act_destructive)
        settings.addAction(self.act_sound)
        self.demo_menu: QMenu | None = None
        self.help_menu = menu.addMenu("&Help")
        self.help_menu.addAction(self.act_about)

    def _build_demo_menu(self) -> None:
        """The Demo menu exists while an account with the sim's demo pieces is open."""
        wanted = self._sim() is not None
        if wanted and self.demo_menu is None:
            demo = QMenu("&Demo", self)
            demo.addAction(self.act_demo_start)
            demo.addAction(self.act_demo_stop)
            demo.addSeparator()
            demo.addAction(self.act_lost_order)
            chaos = demo.addMenu("Chaos on the exchange")
            chaos.setToolTipsVisible(True)
            for action in self.chaos_actions.values():
                chaos.addAction(action)
            self.menuBar().insertMenu(self.help_menu.menuAction(), demo)
            self.demo_menu = demo
        elif not wanted and self.demo_menu is not None:
            self.menuBar().removeAction(self.demo_menu.menuAction())
            self.demo_menu.deleteLater()
            self.demo_menu = None

    def _connect(self) -> None:
        self.tasks.busy_changed.connect(lambda _b: self.update_actions())
        self.notifier.notified.connect(self._notified)
        self.feed_timer = QTimer(self)
        self.feed_timer.setInterval(CHART_FEED_MS)
        self.feed_timer.timeout.connect(self._feed_charts)
        self.feed_timer.start()
        self.coverage_dock.visibilityChanged.connect(self._coverage_shown)

    # -- helpers -----------------------------------------------------------------------------

    def run(self, coro: Coroutine[Any, Any, object], name: str) -> asyncio.Task[object]:
        return self.tasks.spawn(coro, name)

    def say(self, text: str, ms: int = 15_000) -> None:
        self.statusBar().showMessage(text, ms)

    def _account_said(self, label: str, text: str) -> None:
        self.say(f"{label}: {text}" if len(self.panes) > 1 else text)

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
        # the status bar shows a critical alert while it is active (StatusPanel.alert),
        # not as a timed message that outlives the alert's clearing
        self.status.noticed(notice)

    def _feed_charts(self) -> None:
        """Feed the charts the window would show: an account's metrics snapshot costs up
        to 14 ms a tick (bench/ui_load.py, three accounts), and a hidden account's charts
        (another page of the charts' stack, or the dock closed) catch up from the
        snapshot's recent samples on the first tick they are shown."""
        for pane in self.panes.values():
            if pane.latency_chart.isVisibleTo(self):
                pane.feed_charts()

    def _report_shown(self) -> None:
        self.report_dock.show()
        self.report_dock.raise_()
        if self.emergency_dialog is not None:
            self.emergency_dialog.close()

    def _global_reported(self, report: GlobalReport) -> None:
        self.global_report_panel.show_report(report)
        self.global_report_dock.show()
        self.global_report_dock.raise_()
        if self.global_dialog is not None:
            self.global_dialog.close()

    def _selection_changed(self, *_args: object) -> None:
        self.update_actions()

    def _double_clicked(self, *_args: object) -> None:
        self.amend_selected()

    def _one(self, action: QAction, enabled: bool) -> None:
        """An action on the one account shown: disabled, and says why, while every account
        is shown."""
        one = self.workspace.current is not None
        action.setEnabled(one and enabled)
        tip = str(action.property("tip") or action.text())
        action.setToolTip(tip if one else f"{tip}. {ONE_ACCOUNT}.")

    def update_actions(self) -> None:
        if not self.panes:
            return
        ws = self.workspace
        c = ws.current
        ro = c.read_only if c is not None else True
        self._one(self.act_orphans, not ro)
        self._one(self.act_halt, True)
        self._one(self.act_cancel_all, c is not None and not ro and not c.emergency_running)
        self._one(self.act_flatten, c is not None and not ro and not c.emergency_running)
        self._one(self.act_reconcile, c is not None and not c.reconciling
                  and not self.tasks.running("reconcile"))
        risk = c.risk if c is not None else None
        self._one(self.act_resume, risk is not None and (risk.halted or risk.paused))
        self._one(self.act_preview, not self.tasks.running("preview reconcile"))
        self._one(self.act_rehearse, not self.tasks.running("restart rehearsal"))
        explain_remote(c, (self.act_preview, self.act_rehearse))
        self._one(self.act_close_account, len(self.panes) > 1)
        self.emergency_button.setEnabled(c is not None)
        self.emergency_button.setToolTip(
            self.emergency_tip if c is not None else
            "Every account is shown: select one in the accounts bar to stop it alone, or "
            "use STOP ALL ACCOUNTS")
        order = self.orders_table.current()
        try:
            owner = ws.controller_for(order) if order is not None else None
        except UserFacingError:
            owner = None
        explain_remote(owner, (self.act_amend,))
        self.act_amend.setEnabled(owner is not None and not owner.read_only
                                  and owner.capabilities.venue_direct
                                  and order is not None and order.is_active)
        self.act_approve.setEnabled(True)
        any_ro = all(x.read_only for x in ws.controllers())
        running = ws.global_running
        self.act_global_halt.setEnabled(True)
        self.act_global_cancel.setEnabled(not running and not any_ro)
        self.act_global_flatten.setEnabled(not running and not any_ro)
        self.global_button.setEnabled(not running)
        sim = self._sim()
        demo = sim.demo if sim is not None else None
        self.act_demo_start.setEnabled(demo is not None and sim is not None
                                       and not sim.read_only and not demo.running)
        self.act_demo_stop.setEnabled(demo is not None and demo.running)
        for action in (*self.chaos_actions.values(), self.act_lost_order):
            action.setEnabled(sim is not None and sim.chaos is not None)

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
        for dock in self.docks:
            dock.show()
        self.alerts_dock.raise_()
        self.inbox_dock.raise_()

    def current_table(self) -> TablePanel[Any]:
        stack = self.tabs.currentWidget()
        for name, table_stack in self.table_stacks.items():
            if table_stack is stack:
                return self.tables[name]
        return self.orders_table

    def select_scope(self, label: str | None) -> None:
        """Show one account (its label) or every account (None), as the accounts bar does."""
        self.accounts_bar.select(label)

    def _sim(self) -> ConsoleController | None:
        """The account with the sim's demo pieces (the embedded sim), if open."""
        return next((c for c in self.workspace.controllers()
                     if c.chaos is not None or c.demo is not None), None)

    def _owners(self, records: Sequence[R]) -> list[tuple[ConsoleController, list[R]]]:
        """Rows grouped by the account each belongs to (its tag, or the account shown)."""
        groups: dict[str, tuple[ConsoleController, list[R]]] = {}
        for record in records:
            owner = self.workspace.controller_for(record)
            groups.setdefault(owner.label, (owner, []))[1].append(record)
        return list(groups.values())

    # -- operator actions --------------------------------------------------------------------

    def reconcile_now(self) -> asyncio.Task[object] | None:
        current = self.workspace.current
        if current is None:
            self.say(f"Reconcile now: {ONE_ACCOUNT}.", 5000)
            return None
        if current.reconciling:
            self.say("A reconciliation is already running.", 5000)
            return None
        self.act_reconcile.setEnabled(False)
        return self.run(current.reconcile_now(), "reconcile")

    def preview_reconcile(self) -> asyncio.Task[object] | None:
        """Preview reconcile: the plan of a run now, shown, nothing applied."""
        current = self.workspace.current
        if current is None:
            self.say(f"Preview reconcile: {ONE_ACCOUNT}.", 5000)
            return None
        return self.run(self._show_plan(current, rehearsal=False), "preview reconcile")

    def rehearse_restart(self) -> asyncio.Task[object] | None:
        """Restart rehearsal: what a cold start would do now, shown, nothing applied."""
        current = self.workspace.current
        if current is None:
            self.say(f"Restart rehearsal: {ONE_ACCOUNT}.", 5000)
            return None
        return self.run(self._show_plan(current, rehearsal=True), "restart rehearsal")

    async def _show_plan(self, controller: ConsoleController, *,
                         rehearsal: bool) -> PreviewDialog | None:
        self.update_actions()
        report: ReconcilePreview | RestartRehearsal = await (
            controller.rehearse() if rehearsal else controller.preview())
        if controller.label not in self.panes:  # closed meanwhile
            return None
        dialog = show_report(report, self)
        dialog.setWindowTitle(f"{dialog.windowTitle()} ({controller.label})")
        dialog.destroyed.connect(lambda *_a, d=dialog: self._plan_closed(d))
        self.preview_dialog = dialog
        self.coverage_feed.refresh(controller)  # its venue calls spent budget
        return dialog

    def _plan_closed(self, dialog: PreviewDialog) -> None:
        if self.preview_dialog is dialog:
            self.preview_dialog = None

    def approve(self, items: list[InboxItem]) -> asyncio.Task[object]:
        async def each() -> list[tuple[InboxItem, str]]:
            out: list[tuple[InboxItem, str]] = []
            for owner, mine in self._owners(items):
                out += await owner.approve(mine)
            return out
        return self.run(each(), "approve")

    def reject(self, items: list[InboxItem]) -> asyncio.Task[object]:
        async def each() -> int:
            done = 0
            for owner, mine in self._owners(items):
                done += await owner.reject(mine)
            return done
        return self.run(each(), "reject")

    def lift(self, items: list[InboxItem]) -> asyncio.Task[object]:
        """Un-reject: lift the selected rejections (nothing is sent)."""
        async def each() -> int:
            done = 0
            for owner, mine in self._owners(items):
                done += await owner.lift(mine)
            return done
        return self.run(each(), "un-reject")

    def acknowledge(self, alerts: list[Alert]) -> asyncio.Task[object]:
        async def each() -> int:
            done = 0
            for owner, mine in self._owners(alerts):
                done += await owner.acknowledge(mine)
            return done
        return self.run(each(), "acknowledge")

    def approve_selected(self) -> asyncio.Task[object]:
        return self.approve(self.inbox.selected())

    def reject_selected(self) -> asyncio.Task[object]:
        return self.reject(self.inbox.selected())

    def cancel_orphans(self) -> asyncio.Task[object] | None:
        current = self.workspace.current
        if current is None:
            self.say(f"Cancel orphans: {ONE_ACCOUNT}.", 5000)
            return None
        return self.run(current.cancel_orphans(), "cancel orphans")

    def amend_selected(self) -> asyncio.Task[object] | None:
        order = self.orders_table.current()
        if order is None or not order.is_active:
            self.say("Select an open order to amend.", 5000)
            return None
        owner = self.workspace.controller_for(order)
        return self.run(owner.amend(order, self.amend_asker), "amend")

    def resume(self) -> asyncio.Task[object] | None:
        current = self.workspace.current
        if current is None:
            self.say(f"Resume: {ONE_ACCOUNT}.", 5000)
            return None
        return self.run(current.resume(), "resume")

    def _resume_requested(self, controller: object) -> None:
        if isinstance(controller, ConsoleController):
            self.run(controller.resume(), "resume")

    def emergency_pressed(self) -> asyncio.Task[object] | None:
        """The red button: halt at once (no confirmation), then offer the escalations."""
        current = self.workspace.current
        if current is None:
            self.say("Every account is shown: select one to stop it alone, or use STOP ALL "
                     "ACCOUNTS.", 8000)
            return None
        return self.run(self._halt_and_offer(current), "emergency halt")

    async def _halt_and_offer(self, controller: ConsoleController) -> None:
        newly = await controller.halt()
        if self.emergency_dialog is not None and self.emergency_dialog.property(
                "account") != controller.label:
            self.emergency_dialog.close()
            self.emergency_dialog.deleteLater()
            self.emergency_dialog = None
        if self.emergency_dialog is None:
            dialog = EmergencyDialog(self, read_only=controller.read_only)
            dialog.setProperty("account", controller.label)
            dialog.setWindowTitle(f"Emergency stop: {controller.identity.badge.value} "
                                  f"{controller.label}")
            dialog.cancel_all_requested.connect(lambda: self.emergency(flatten=False))
            dialog.flatten_requested.connect(lambda: self.emergency(flatten=True))
            self.emergency_dialog = dialog
        active = sum(1 for o in controller.orders.records() if o.is_active)
        self.emergency_dialog.set_halted(newly, active, controller.positions.rowCount())
        self.emergency_dialog.show()
        self.emergency_dialog.raise_()
        self.update_actions()

    def emergency(self, *, flatten: bool) -> asyncio.Task[object] | None:
        current = self.workspace.current
        if current is None:
            self.say("Every account is shown: select one to stop it alone, or use STOP ALL "
                     "ACCOUNTS.", 8000)
            return None
        if current.emergency_running:
            self.say("The emergency stop is already running.", 5000)
            return None
        return self.run(current.emergency_stop(flatten=flatten), "emergency stop")

    def global_pressed(self) -> asyncio.Task[object]:
        """STOP ALL ACCOUNTS: halt every account at once (nothing sent, no confirmation),
        then offer to cancel all (and flatten) on every account."""
        return self.run(self._halt_all_and_offer(), "emergency halt (every account)")

    async def _halt_all_and_offer(self) -> None:
        newly = await self.workspace.halt_all()
        controllers = self.workspace.controllers()
        read_only = all(c.read_only for c in controllers)
        if self.global_dialog is None:
            dialog = EmergencyDialog(self, read_only=read_only)
            dialog.setWindowTitle("Emergency stop: every account")
            dialog.cancel_all.setText("Cancel all orders on every account…")
            dialog.flatten.setText("Cancel all orders and flatten on every account…")
            dialog.cancel_all_requested.connect(lambda: self.global_emergency(flatten=False))
            dialog.flatten_requested.connect(lambda: self.global_emergency(flatten=True))
            self.global_dialog = dialog
        orders = sum(1 for c in controllers for o in c.orders.records() if o.is_active)
        positions = sum(c.positions.rowCount() for c in controllers)
        ro = [c.label for c in controllers if c.read_only]
        self.global_dialog.status.setText(
            f"Every account is HALTED ({sum(newly.values())} just now): new orders are "
            "refused and strategies are stopped. Nothing has been sent to any venue. "
            f"{plural(orders, 'open order')} and {plural(positions, 'position')} in the "
            f"ledgers of {plural(len(controllers), 'account')}."
            + (f" Read-only (halt only): {', '.join(ro)}." if ro else ""))
        self.global_dialog.show()
        self.global_dialog.raise_()
        self.update_actions()

    def global_emergency(self, *, flatten: bool) -> asyncio.Task[object] | None:
        if self.workspace.global_running:
            self.say("The emergency stop of every account is already running.", 5000)
            return None
        return self.run(self.workspace.global_stop(flatten=flatten),
                        "emergency stop (every account)")

    def fill_open_menu(self) -> None:
        """File > Open profile: the profiles not open yet."""
        self.open_menu.clear()
        names = self.profiles_port.names() if self.profiles_port is not None else []
        openable = self.workspace.openable(names)
        if not openable:
            empty = self.open_menu.addAction(
                "No other profile to open" if self.workspace.sessions is not None
                else "Profiles cannot be opened in this session")
            empty.setEnabled(False)
            return
        for name in openable:
            action = self.open_menu.addAction(name)
            action.setToolTip(f"Open the profile {name!r} in this window (its own engine)")
            action.triggered.connect(lambda _c=False, n=name: self.open_account(n))

    def open_account(self, name: str) -> asyncio.Task[object]:
        return self.run(self.workspace.open_profile(name), f"open {name}")

    def close_account(self, label: str | None = None) -> asyncio.Task[object] | None:
        target = label or (self.workspace.current.label if self.workspace.current else None)
        if target is None:
            self.say(f"Close account: {ONE_ACCOUNT}.", 5000)
            return None
        return self.run(self.workspace.close(target), f"close {target}")

    def start_demo(self) -> asyncio.Task[object] | None:
        sim = self._sim()
        return self.run(sim.start_demo(), "demo") if sim is not None else None

    def stop_demo(self) -> asyncio.Task[object] | None:
        sim = self._sim()
        return self.run(sim.stop_demo(), "demo") if sim is not None else None

    def chaos(self, name: str, *args: object) -> str:
        sim = self._sim()
        try:
            if sim is None:
                raise UserFacingError("The chaos menu exists on the embedded sim only.")
            return sim.chaos_action(name, *args)
        except UserFacingError as exc:
            # the sim refuses (nothing to cancel, no position...): say so, never crash
            log.info("chaos %s: %s", name, exc)
            self._task_failed(f"chaos {name}", str(exc))
            return ""

    def export_current(self) -> None:
        self.current_table().ask_export()

    def open_credentials(self, profile: str = "") -> CredentialsDialog | None:
        if self.credentials_port is None:
            self.say("No credential store in this session.", 5000)
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
            self.say("Profiles are not available in this session.", 5000)
            return None
        dialog = ProfileDialog(self.profiles_port, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.saved.connect(self._profile_saved)
        self.profile_dialog = dialog
        dialog.open()
        return dialog

    def _profile_saved(self, name: str) -> None:
        opening = ("open it here with File > Open profile"
                   if self.workspace.sessions is not None
                   else f"open it with `recon-console --profile {name}`")
        self.say(f"Profile {name!r} saved. Store its API key now; {opening}.", 30_000)
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
        for pane in (*self.panes.values(), *([self.all_pane] if self.all_pane else [])):
            pane.save_state()
        if self.panes:  # the pages shown win where several share a name
            self._pane().save_state()
        self.settings.sync()

    def _stop_timers(self) -> None:
        """Stop every timer the window's tree holds (tables, accounts, status bars). The
        window may be freed later by a garbage collection that happens to run in a worker
        thread; a timer still registered with the GUI thread for an object deleted there
        would fire into freed memory."""
        for timer in self.findChildren(QTimer):
            timer.stop()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.quit_guard.intercept(event):  # the close button: asks first (QuitGuard)
            return
        self.save_layout()
        self.feed_timer.stop()
        self.summary_panel.stop()
        self.coverage_feed.stop()
        self.notifier.close()
        self._stop_timers()
        super().closeEvent(event)
        self.closed.emit()
