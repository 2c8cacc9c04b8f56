"""Per-row actions in the orders and positions tables (cancel, amend, close), each confirmed
once with exactly what is sent; the tables newest first, their times with a zone."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtTest import QTest

from console.domain import Order, OrderStatus
from console.ui.format import zone_label
from console.ui.models.orders import NOT_IN_LEDGER

from .conftest import Harness, MakeConsole


def _select(table: object, keys: list[str]) -> None:
    view = table.view  # type: ignore[attr-defined]
    view.clearSelection()
    flags = view.selectionModel().SelectionFlag
    for key in keys:
        row = table.model.row_of(key)  # type: ignore[attr-defined]
        assert row is not None, key
        index = table.proxy.mapFromSource(table.model.index(row, 0))  # type: ignore[attr-defined]
        view.selectionModel().select(index, flags.Select | flags.Rows)
        view.selectionModel().setCurrentIndex(index, flags.NoUpdate)


def _audit(h: Harness) -> list[tuple[str, str, str]]:
    return [(r.entry.actor, r.entry.action, r.entry.subject)
            for r in h.controller.audit.records()]


def test_cancelling_selected_orders_asks_once_listing_each(make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[False, True])
    w = h.window
    rows = w.book_tables
    targets = [o for o in h.sim_open() if o.symbol in ("BTCUSDT", "SOLUSDT")]
    assert len(targets) == 2
    _select(w.orders_table, [o.client_order_id for o in targets])
    rows.update()
    assert rows.act_cancel.isEnabled()
    rows.act_cancel.trigger()
    h.idle()
    assert len(h.confirmer.asked) == 1
    title, _text, details = h.confirmer.asked[0]
    assert title == "Cancel 2 orders"
    assert sorted(d.split(" ")[2] for d in details) == ["BTCUSDT", "SOLUSDT"]
    assert all(d.startswith("Send: cancel ") for d in details)
    assert all(any(o.client_order_id in d for d in details) for o in targets)
    assert {o.client_order_id for o in h.sim_open()} >= {o.client_order_id for o in targets}

    _select(w.orders_table, [o.client_order_id for o in targets])
    rows.act_cancel.trigger()
    h.idle()
    open_ids = {o.client_order_id for o in h.sim_open()}
    assert not open_ids & {o.client_order_id for o in targets}
    operator = f"operator:{w.settings.operator}"
    for order in targets:
        assert (operator, "cancel_order:applied", order.client_order_id) in _audit(h)
        assert h.controller.orders.get(order.client_order_id).status is OrderStatus.CANCELLED
    assert w.tasks.errors == []


def test_delete_in_the_orders_table_cancels_after_confirmation(
        make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[True])
    w = h.window
    target = next(o for o in h.sim_open() if o.symbol == "SOLUSDT")
    w.activateWindow()
    _select(w.orders_table, [target.client_order_id])
    w.orders_table.view.setFocus()
    h.pump(0.05)
    QTest.keyClick(w.orders_table.view, Qt.Key.Key_Delete)
    h.idle()
    assert len(h.confirmer.asked) == 1 and target.client_order_id in h.confirmer.asked[0][2][0]
    assert target.client_order_id not in {o.client_order_id for o in h.sim_open()}
    # Delete in the filter box edits the text, and nothing is asked
    w.orders_table.filter.setText("sol")
    w.orders_table.filter.setFocus()
    h.pump(0.05)
    QTest.keyClick(w.orders_table.filter, Qt.Key.Key_Home)
    QTest.keyClick(w.orders_table.filter, Qt.Key.Key_Delete)
    h.idle()
    assert w.orders_table.filter.text() == "ol" and len(h.confirmer.asked) == 1


def test_the_context_menu_and_the_toolbar_offer_the_row_actions(
        make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    rows = w.book_tables
    toolbar = w.toolbar.actions()
    assert toolbar.index(w.act_amend) + 1 == toolbar.index(rows.act_cancel)
    assert toolbar.index(rows.act_cancel) + 1 == toolbar.index(rows.act_close)
    target = h.sim_open()[0]
    _select(w.orders_table, [target.client_order_id])
    view = w.orders_table.view
    view.customContextMenuRequested.emit(QPoint(5, 5))
    assert rows.last_menu.actions() == [rows.act_cancel, w.act_amend]
    w.tabs.setCurrentIndex(1)
    eth = next(p for p in h.controller.positions.records() if p.symbol == "ETHUSDT")
    _select(w.positions_table, [eth.key])
    w.positions_table.view.customContextMenuRequested.emit(QPoint(5, 5))
    assert rows.last_menu.actions() == [rows.act_close]
    rows.update()
    assert rows.act_close.isEnabled()
    rows.last_menu.close()


def test_closing_a_position_sends_one_reduce_only_market_order(
        make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[False, True])
    w = h.window
    rows = w.book_tables
    w.tabs.setCurrentIndex(1)
    eth = next(p for p in h.controller.positions.records() if p.symbol == "ETHUSDT")
    _select(w.positions_table, [eth.key])
    rows.act_close.trigger()
    h.idle()
    title, _text, details = h.confirmer.asked[0]
    assert title == "Close 1 position"
    assert len(details) == 1
    assert details[0].startswith("Send: Sell 0.2 ETHUSDT at market, reduce-only, IOC — "
                                 "closes ETHUSDT long 0.2 @ ")
    assert h.exchange.positions("main"), "declined: nothing sent"

    _select(w.positions_table, [eth.key])
    rows.act_close.trigger()
    h.idle()
    assert [p for p in h.exchange.positions("main") if p.symbol == "ETHUSDT"] == []
    closing = [o for o in h.controller.orders.records() if o.strategy_id == "console"]
    assert len(closing) == 1 and closing[0].reduce_only
    assert closing[0].status is OrderStatus.FILLED
    operator = f"operator:{w.settings.operator}"
    assert (operator, "close_position:applied", eth.key) in _audit(h)
    assert w.tasks.errors == []


def test_closing_while_halted_is_refused_before_anything_is_asked(
        make_console: MakeConsole) -> None:
    h = make_console("clean")
    w = h.window
    w.emergency_button.click()
    h.idle()
    w.tabs.setCurrentIndex(1)
    eth = next(p for p in h.controller.positions.records() if p.symbol == "ETHUSDT")
    _select(w.positions_table, [eth.key])
    w.book_tables.act_close.trigger()
    h.idle()
    assert "halted" in w.last_error and h.confirmer.asked == []
    assert h.exchange.positions("main")


def test_amending_confirms_exactly_the_change(make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[False, True])
    w = h.window
    target = next(o for o in h.sim_open() if o.symbol == "BTCUSDT")

    async def ask(order: Order) -> tuple[Decimal | None, Decimal | None]:
        return Decimal("59010"), None

    w.amend_asker = ask
    assert w.orders_table.select_key(target.client_order_id)
    w.act_amend.trigger()
    h.idle()
    _title, _text, details = h.confirmer.asked[0]
    assert details[0].startswith("Send: amend BTCUSDT Buy") and "price 59000 → 59010" in details[0]
    assert [o.price for o in h.sim_open() if o.symbol == "BTCUSDT"] == [Decimal("59000")]
    w.act_amend.trigger()
    h.idle()
    assert [o.price for o in h.sim_open() if o.symbol == "BTCUSDT"] == [Decimal("59010")]
    operator = f"operator:{w.settings.operator}"
    assert any(a == (operator, "amend_order:applied", target.client_order_id)
               for a in _audit(h))


def test_an_order_not_in_the_ledger_can_be_cancelled_from_its_row(
        make_console: MakeConsole) -> None:
    h = make_console("crashed-session", answers=[True])
    w = h.window
    btc = next(o for o in h.controller.orders.records() if o.symbol == "BTCUSDT")
    origin = [c.title for c in h.controller.orders.columns].index("Origin")
    assert h.controller.orders.cell_text(h.controller.orders.row_of(btc.ident),
                                         origin) == NOT_IN_LEDGER
    _select(w.orders_table, [btc.ident])
    w.book_tables.act_cancel.trigger()
    h.idle()
    assert "not in the ledger" in h.confirmer.asked[0][2][0]
    assert btc.client_order_id not in {o.client_order_id for o in h.sim_open()}
    stored = h.session.ledger.get_order("sim", "main", btc.client_order_id)
    assert stored is not None and stored.status is OrderStatus.CANCELLED


def test_read_only_disables_the_row_actions(make_console: MakeConsole) -> None:
    h = make_console("clean", read_only=True)
    w = h.window
    _select(w.orders_table, [h.sim_open()[0].client_order_id])
    w.book_tables.update()
    assert not w.book_tables.act_cancel.isEnabled()
    w.tabs.setCurrentIndex(1)
    _select(w.positions_table, [h.controller.positions.records()[0].key])
    w.book_tables.update()
    assert not w.book_tables.act_close.isEnabled()


def test_tables_are_newest_first_with_their_time_zone(make_console: MakeConsole) -> None:
    h = make_console("clean", demo=True)
    h.pump(0.5)
    h.idle()
    w = h.window
    orders = h.controller.orders
    created = [orders.record(r).created_at for r in w.orders_table.visible_rows()]
    assert len(created) > 3 and created == sorted(created, reverse=True)
    header = w.orders_table.view.horizontalHeader()
    assert header.sortIndicatorSection() == 0
    assert header.sortIndicatorOrder() is Qt.SortOrder.DescendingOrder
    zone = zone_label()
    assert orders.headerData(0, Qt.Orientation.Horizontal) == f"Created ({zone})"
    tip = orders.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert zone in tip and tip.endswith("Z")
    fills = h.controller.fills
    times = [fills.record(r).exec_time for r in w.fills_table.visible_rows()]
    assert times == sorted(times, reverse=True)
    assert fills.headerData(0, Qt.Orientation.Horizontal) == f"Time ({zone})"
    # the key stays what the code and the CSV call the column
    assert orders.columns[0].title == "Created"
    assert QKeySequence(w.book_tables.act_cancel.shortcut()) == QKeySequence("Delete")
