"""The window without the mouse: tabs and filters by key, the inbox by key (Enter opens an
action's evidence, approve and reject without the destructive opt-in because approving
confirms), and a shortcut sheet read from the actions themselves."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from console.domain import OrderStatus
from console.ui.dialogs.shortcuts import OPT_IN, action_name

from .conftest import Harness, MakeConsole

CTRL = Qt.KeyboardModifier.ControlModifier
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


def _focused(h: Harness) -> object:
    h.pump(0.05)
    return QApplication.focusWidget()


def test_tables_and_their_filters_by_key(make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    w.activateWindow()
    h.pump(0.05)
    for index, key in enumerate((Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4)):
        QTest.keyClick(w, key, CTRL)
        assert w.tabs.currentIndex() == index
        assert _focused(h) is w.current_table().view
    QTest.keyClick(w, Qt.Key.Key_1, CTRL)
    QTest.keyClick(w, Qt.Key.Key_F, CTRL)
    assert _focused(h) is w.orders_table.filter
    QTest.keyClicks(w.orders_table.filter, "sol")
    assert len(w.orders_table.visible_rows()) == 1
    QTest.keyClick(w.orders_table.filter, Qt.Key.Key_Return)  # back to the table
    assert _focused(h) is w.orders_table.view
    assert w.orders_table.current() is not None
    assert w.orders_table.current().symbol == "SOLUSDT"


def test_the_inbox_by_key_approve_confirms_without_the_opt_in(
        make_console: MakeConsole) -> None:
    h = make_console("crashed-session", answers=[True])
    w = h.window
    assert not w.settings.destructive_shortcuts
    w.activateWindow()
    h.pump(0.05)
    QTest.keyClick(w, Qt.Key.Key_I, CTRL)
    assert _focused(h) is w.inbox.action_table.view
    item = w.inbox.action_table.current()
    assert item is not None and item.awaiting
    # Enter opens the current action's evidence in a window of its own
    QTest.keyClick(w.inbox.action_table.view, Qt.Key.Key_Return)
    h.pump(0.05)
    dialog = w.inbox.detail_dialogs[-1]
    assert dialog.isVisible() and dialog.evidence.item is not None
    assert dialog.evidence.item.key == item.key
    assert dialog.evidence.table.rowCount() > 0
    dialog.reject()
    w.activateWindow()
    h.pump(0.05)
    # approve by key: a venue action, so it asks first, listing what is sent
    w.inbox.select_items([item.key])
    w.inbox.action_table.view.setFocus()
    QTest.keyClick(w, Qt.Key.Key_A, CTRL_SHIFT)
    h.idle()
    assert len(h.confirmer.asked) == 1
    assert h.confirmer.asked[0][2][0].startswith("Send: cancel ")
    order = item.planned.action.order
    assert order is not None
    seen = h.exchange.order_by_client_id("main", order.client_order_id)
    assert seen is not None and seen.status is OrderStatus.CANCELLED
    # reject by key: nothing is sent, nothing is asked
    other = next(i for i in h.controller.pending)
    w.inbox.show_pending()
    w.inbox.select_items([other.key])
    QTest.keyClick(w, Qt.Key.Key_J, CTRL_SHIFT)
    h.idle()
    assert other.key not in {i.key for i in h.controller.pending}
    assert len(h.confirmer.asked) == 1


def test_the_shortcut_sheet_lists_every_key_from_the_actions(
        make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    w.activateWindow()
    h.pump(0.05)
    QTest.keyClick(w, Qt.Key.Key_F1)
    h.pump(0.05)
    sheet = w.keyboard.sheet
    assert sheet is not None and sheet.isVisible()
    rows = {(name, keys): note for name, keys, note in sheet.rows}
    native = QKeySequence.SequenceFormat.NativeText
    # every action of the window with a key is on the sheet
    for action in w.findChildren(QAction):
        for key in action.shortcuts():
            if not key.isEmpty():
                assert any(name == action_name(action) and key.toString(native) in keys
                           for name, keys in rows), action.text()
    assert ("Cancel order…", "Del") in rows or ("Cancel order…", "Delete") in rows
    cancel_note = next(n for (name, _k), n in rows.items() if name == "Cancel order…")
    assert "orders table" in cancel_note
    flatten = next(n for (name, _k), n in rows.items()
                   if name == "Emergency: cancel all and flatten…")
    assert OPT_IN in flatten
    approve = next(n for (name, _k), n in rows.items() if name == "Approve selected")
    assert OPT_IN not in approve
    assert ("Keyboard shortcuts", "F1") in rows
    assert w.keyboard.act_sheet in w.help_menu.actions()
    # after the opt-in the sheet says the keys work
    w.act_destructive.setChecked(True)
    sheet = w.keyboard.show_sheet()
    flatten = next(n for name, _k, n in sheet.rows
                   if name == "Emergency: cancel all and flatten…")
    assert OPT_IN not in flatten
