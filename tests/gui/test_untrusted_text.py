"""Venue text is untrusted: a CSV export never hands a spreadsheet a formula, and an
error dialog never renders a venue's message as HTML with live links."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.ui.dialogs.amend import AmendDialog
from console.ui.models.orders import OrdersModel
from console.ui.widgets.table import TablePanel, csv_cell

from .conftest import drive


def test_csv_cells_starting_like_a_formula_are_neutralised() -> None:
    assert csv_cell('=HYPERLINK("http://evil","x")') == '\'=HYPERLINK("http://evil","x")'
    assert csv_cell("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("-2+3") == "'-2+3"
    assert csv_cell("\tx") == "'\tx"
    # numbers and ordinary text stay as they are
    assert [csv_cell(t) for t in ("-1.5", "+3", "1e-5", "BTCUSDT", "")] == [
        "-1.5", "+3", "1e-5", "BTCUSDT", ""]


def test_an_exported_table_holds_no_formula(qapp: object, loop: qasync.QEventLoop,
                                            tmp_path: Path) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all([Order(venue="sim", account="main", category=Category.LINEAR,
                             symbol="=1+1", side=Side.SELL, type=OrderType.LIMIT,
                             qty=Decimal("0.5"), price=Decimal("-0"), status=OrderStatus.NEW,
                             client_order_id="@evil", created_at=1, updated_at=1)])
    model.flush()
    panel: TablePanel[Order] = TablePanel("orders", model)
    path = tmp_path / "orders.csv"
    assert drive(loop, panel.export_csv(path)) == 1
    cells = [c for row in csv.reader(path.open(encoding="utf-8")) for c in row]
    assert "'=1+1" in cells
    assert not any(c.startswith(("=", "+", "@")) for c in cells)


def test_error_dialogs_show_venue_text_as_plain_text(make_console: Any) -> None:
    h = make_console()
    window = h.window
    window.show_error_dialogs = True
    window._task_failed("cancel", '<a href="http://phish.example">Re-enter your key</a>')
    boxes = [w for w in QApplication.topLevelWidgets()
             if isinstance(w, QMessageBox) and w.isVisible()]
    assert boxes, "no error dialog opened"
    box = boxes[-1]
    assert box.textFormat() is Qt.TextFormat.PlainText
    assert box.text() == '<a href="http://phish.example">Re-enter your key</a>'
    box.close()


def test_the_amend_dialog_shows_venue_text_escaped_and_errors_plain(qapp: object) -> None:
    order = Order(venue="sim", account="main", category=Category.LINEAR,
                  symbol="<a href='x'>BTC</a>", side=Side.BUY, type=OrderType.LIMIT,
                  qty=Decimal("1"), price=Decimal("100"), status=OrderStatus.NEW,
                  client_order_id="c1",
                  created_at=1, updated_at=1)
    dialog = AmendDialog(order)
    assert dialog.error.textFormat() is Qt.TextFormat.PlainText
    shown = " ".join(w.text() for w in dialog.findChildren(QLabel))
    assert "<a href='x'>" not in shown and "&lt;a href=" in shown
    dialog.deleteLater()


def test_a_quarantined_instrument_shows_in_the_status_bar(make_console: Any) -> None:
    h = make_console("clean")
    status = h.window.status
    h.session.engine.risk.quarantine_order("linear:BTCUSDT", "rc-x-e-1", "unknown outcome")
    status.update()
    assert "TRADING" in status.risk_text and "QUARANTINED" in status.risk_text
    assert "linear:BTCUSDT" in status.risk_text
    assert "rc-x-e-1" in status.risk.toolTip()
    h.session.engine.risk.release_order("rc-x-e-1")
    status.update()
    assert "QUARANTINED" not in status.risk_text
