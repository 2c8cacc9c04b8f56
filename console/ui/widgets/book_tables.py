"""The window's book tables (orders, positions, executions, balances) beyond what a
`TablePanel` does by itself: per-row actions, their order, their column widths.

Per-row actions: an order row can be cancelled (Delete, the context menu, the toolbar)
or amended (Ctrl+E, a double click, the context menu, the toolbar); a position row can
be closed with a reduce-only market order (the context menu, the toolbar). Each acts on
the selected rows of the table shown, each row on its own account, and goes through
`console.ui.row_actions`: read-only refused, one confirmation listing exactly what is
sent, the outcome announced and audited. Delete cancels only while an orders table has
the keyboard focus (it stays a plain key in a filter box), and needs no opt-in: it
confirms, as approving does; cancel-all and flatten keep theirs.

Order: orders by Created and executions by Time, newest first, unless the operator
sorted otherwise (the saved header layout wins). Widths: no header is cut
(`console.ui.widgets.headers`).

Every account's pages are stacked in the window (`console.ui.panes`): the tables of an
account opened later are set up as their page is added to the stack.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QStackedWidget

from console.domain import Order, Position
from console.errors import UserFacingError
from console.ui import row_actions
from console.ui.controller import ConsoleController
from console.ui.widgets.headers import fit_headers
from console.ui.widgets.table import TablePanel
from console.ui.window_ref import WindowPart

if TYPE_CHECKING:
    from console.ui.main_window import MainWindow

R = TypeVar("R")
NEWEST_FIRST = frozenset({"orders", "executions"})
"""Tables sorted by their first column (Created, Time), newest first, by default."""
CANCEL_KEY = "Delete"


class BookTables(QObject, WindowPart):
    """Sets up every book table the window shows, now and as accounts open."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._hold_window(window)
        self.act_cancel = QAction("Cancel order…", window)
        self.act_cancel.setObjectName("actCancelOrder")
        self.act_cancel.setShortcut(QKeySequence(CANCEL_KEY))
        self.act_cancel.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.act_cancel.setProperty("shortcut_where", "in an orders table")
        tip = ("Cancel the selected open orders on their venue (Delete in the orders table; "
               "asks once, listing each)")
        self.act_cancel.setToolTip(tip)
        self.act_cancel.setStatusTip(tip)
        self.act_cancel.triggered.connect(self.cancel_selected)
        self.act_close = QAction("Close position…", window)
        self.act_close.setObjectName("actClosePosition")
        tip = ("Close the selected positions with reduce-only market orders (asks once, "
               "listing each order)")
        self.act_close.setToolTip(tip)
        self.act_close.setStatusTip(tip)
        self.act_close.triggered.connect(self.close_selected)
        self._place_actions()
        self._tables: list[TablePanel[Any]] = []
        for name, stack in window.table_stacks.items():
            self._follow(name, stack)
        window.tabs.currentChanged.connect(self.update)
        window.workspace.scope_changed.connect(self.update)
        window.workspace.accounts_changed.connect(self.update)
        self.update()

    # -- set-up ------------------------------------------------------------------------------

    def _place_actions(self) -> None:
        """Beside Amend in the toolbar and in the Actions menu."""
        w = self.window
        for container in (w.toolbar, *self._menus_holding(w.act_amend)):
            actions = container.actions()
            if w.act_amend not in actions:
                continue
            after = actions.index(w.act_amend) + 1
            before = actions[after] if after < len(actions) else None
            for action in (self.act_cancel, self.act_close):
                if before is None:
                    container.addAction(action)
                else:
                    container.insertAction(before, action)

    def _menus_holding(self, action: QAction) -> list[QMenu]:
        menus = [a.menu() for a in self.window.menuBar().actions()]
        return [m for m in menus if isinstance(m, QMenu) and action in m.actions()]

    def _follow(self, name: str, stack: QStackedWidget) -> None:
        def added(index: int) -> None:
            widget = stack.widget(index)
            if isinstance(widget, TablePanel):
                self.prepare(name, widget)

        for index in range(stack.count()):
            added(index)
        stack.widgetAdded.connect(added)

    def prepare(self, name: str, table: TablePanel[Any]) -> None:
        """One table: order, widths, and for orders and positions the row actions."""
        if table in self._tables:
            return
        self._tables.append(table)
        table.destroyed.connect(lambda *_a, t=table: self._forget(t))
        fit_headers(table.view)
        if name in NEWEST_FIRST:
            header = table.view.horizontalHeader()
            # the arrow shows (0, descending) unless a saved layout says otherwise: the
            # rows follow what the arrow shows
            table.model.sort(header.sortIndicatorSection(), header.sortIndicatorOrder())
        if name not in ("orders", "positions"):
            return
        view = table.view
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(
            lambda pos, n=name, t=table: self._context_menu(n, t, pos))
        view.selectionModel().selectionChanged.connect(self.update)
        if name == "orders":
            view.addAction(self.act_cancel)  # Delete while this table has the focus

    def _forget(self, table: TablePanel[Any]) -> None:
        if table in self._tables:
            self._tables.remove(table)

    def _context_menu(self, name: str, table: TablePanel[Any], pos: QPoint) -> QMenu:
        self.update()
        menu = QMenu(table.view)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if name == "orders":
            menu.addAction(self.act_cancel)
            menu.addAction(self.window.act_amend)
        else:
            menu.addAction(self.act_close)
        menu.popup(table.view.viewport().mapToGlobal(pos))
        self.last_menu = menu
        return menu

    # -- what is selected ----------------------------------------------------------------------

    def selected_orders(self) -> list[Order]:
        return [o for o in self.window.orders_table.selected() if o.is_active]

    def selected_positions(self) -> list[Position]:
        return [p for p in self.window.positions_table.selected() if not p.is_flat]

    def _by_owner(self, records: Sequence[R]) -> list[tuple[ConsoleController, list[R]]]:
        groups: dict[str, tuple[ConsoleController, list[R]]] = {}
        for record in records:
            owner = self.window.workspace.controller_for(record)
            groups.setdefault(owner.label, (owner, []))[1].append(record)
        return list(groups.values())

    def update(self, *_args: object) -> None:
        def usable(records: Sequence[object]) -> bool:
            try:
                return bool(records) and all(
                    not owner.read_only and owner.capabilities.venue_direct
                    for owner, _r in self._by_owner(records))
            except UserFacingError:
                return False

        self.act_cancel.setEnabled(usable(self.selected_orders()))
        self.act_close.setEnabled(usable(self.selected_positions()))

    # -- actions -------------------------------------------------------------------------------

    def _each_owner(self, records: Sequence[R], what: str,
                    act: Callable[[ConsoleController, list[R]], Any]) -> object:
        async def run() -> None:
            for owner, mine in self._by_owner(records):
                await act(owner, mine)
        return self.window.run(run(), what)

    def cancel_selected(self) -> object:
        """Cancel the selected open orders (each on its account), after confirmation."""
        orders = self.selected_orders()
        if not orders:
            self.window.say("Select an open order to cancel.", 5000)
            return None
        return self._each_owner(orders, "cancel", row_actions.cancel_orders)

    def close_selected(self) -> object:
        """Close the selected positions (each on its account), after confirmation."""
        positions = self.selected_positions()
        if not positions:
            self.window.say("Select an open position to close.", 5000)
            return None
        return self._each_owner(positions, "close position", row_actions.close_positions)
