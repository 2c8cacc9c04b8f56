"""Working the window without the mouse.

- Ctrl+1 … Ctrl+4 turn to the orders, positions, executions and balances tables (and
  put the keyboard focus in the table); Ctrl+I goes to the discrepancy inbox's actions.
- Ctrl+F puts the focus in the shown table's filter box; Enter there goes back to the
  table (its first row when none is selected).
- In the inbox, Enter opens the current action's evidence (`InboxPanel.open_detail`);
  approve (Ctrl+Shift+A) and reject (Ctrl+Shift+J) work without the opt-in for
  destructive shortcuts because approving a venue-changing action asks first, listing
  what is sent. Cancel-all and flatten keep the opt-in: they act on everything at once.
- Delete in an orders table cancels the selected orders, after confirmation
  (`console.ui.widgets.book_tables`).
- F1 (Help > Keyboard shortcuts) shows the sheet of every key, read from the actions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QStackedWidget

from console.ui.dialogs.shortcuts import ShortcutSheet
from console.ui.panes import TAB_TITLES, TABLES
from console.ui.widgets.table import TablePanel
from console.ui.window_ref import WindowPart

if TYPE_CHECKING:
    from console.ui.main_window import MainWindow


class Keyboard(QObject, WindowPart):
    """The window's navigation keys and its shortcut sheet."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._hold_window(window)
        self.sheet: ShortcutSheet | None = None
        self.tab_actions: list[QAction] = []
        for index, name in enumerate(TABLES):
            action = self._action(f"Show {TAB_TITLES[name].lower()}", f"Ctrl+{index + 1}",
                                  lambda _checked=False, i=index: self.show_tab(i))
            self.tab_actions.append(action)
        self.act_inbox = self._action("Go to the inbox's actions", "Ctrl+I", self.focus_inbox)
        self.act_filter = self._action("Filter the shown table", "Ctrl+F", self.focus_filter)
        self.act_sheet = self._action("Keyboard shortcuts", "F1", self.show_sheet)
        help_menu = getattr(window, "help_menu", None)
        if help_menu is not None:
            first = help_menu.actions()[0] if help_menu.actions() else None
            if first is None:
                help_menu.addAction(self.act_sheet)
            else:
                help_menu.insertAction(first, self.act_sheet)
        self._filters: list[Any] = []
        for stack in window.table_stacks.values():
            self._follow(stack)

    def _action(self, text: str, keys: str, slot: Any) -> QAction:
        action = QAction(text, self.window)
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.setToolTip(f"{text} ({keys})")
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _follow(self, stack: QStackedWidget) -> None:
        def added(index: int) -> None:
            widget = stack.widget(index)
            if isinstance(widget, TablePanel):
                self._filter_returns(widget)

        for index in range(stack.count()):
            added(index)
        stack.widgetAdded.connect(added)

    def _filter_returns(self, table: TablePanel[Any]) -> None:
        """Enter in a table's filter box goes back to the table."""
        for keys in ("Return", "Enter"):
            shortcut = QShortcut(QKeySequence(keys), table.filter)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(lambda t=table: self.focus_table(t))
            self._filters.append(shortcut)

    # -- navigation ----------------------------------------------------------------------------

    def show_tab(self, index: int) -> None:
        tabs = self.window.tabs
        if 0 <= index < tabs.count():
            tabs.setCurrentIndex(index)
            self.focus_table(self.window.current_table())

    def focus_table(self, table: TablePanel[Any]) -> None:
        view = table.view
        view.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not view.currentIndex().isValid() and table.proxy.rowCount() > 0:
            view.selectRow(0)
            view.setCurrentIndex(table.proxy.index(0, 0))

    def focus_filter(self) -> None:
        box = self.window.current_table().filter
        box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        box.selectAll()

    def focus_inbox(self) -> None:
        window = self.window
        window.inbox_dock.show()
        window.inbox_dock.raise_()
        self.focus_table(window.inbox.action_table)

    def show_sheet(self) -> ShortcutSheet:
        """The sheet of every key (rebuilt each time: enabled states and the opt-in
        change)."""
        if self.sheet is not None:
            self.sheet.close()
            self.sheet.deleteLater()
        self.sheet = ShortcutSheet(self.window.findChildren(QAction), self.window)
        self.sheet.show()
        self.sheet.raise_()
        return self.sheet
