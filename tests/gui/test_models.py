"""The table models' contract (docs/architecture.md, *Qt and the event loop*): staged
updates applied once per flush with one dataChanged per run of dirty rows, sorting in the
source model (the proxy only filters), Decimal text exactly as recorded, CSV export of
what is shown."""

from __future__ import annotations

import csv
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import qasync
from PySide6.QtCore import QModelIndex, Qt

from console.domain import Category, Order, OrderStatus, OrderType, Position, Side
from console.ui.format import fmt_decimal
from console.ui.models.base import FilterProxy, runs
from console.ui.models.orders import OrdersModel
from console.ui.models.positions import PositionsModel
from console.ui.theme import ThemeState, Tone
from console.ui.widgets.table import TablePanel

from .conftest import drive


def _order(n: int, *, price: str = "100", status: OrderStatus = OrderStatus.NEW,
           side: Side = Side.BUY, symbol: str = "BTCUSDT") -> Order:
    return Order(venue="sim", account="main", category=Category.LINEAR, symbol=symbol,
                 side=side, type=OrderType.LIMIT, qty=Decimal("0.5"), price=Decimal(price),
                 status=status, client_order_id=f"rc-t-o-{n:05d}", created_at=1_000 + n,
                 updated_at=1_000 + n)


def test_runs_groups_consecutive_rows() -> None:
    assert runs([5, 1, 2, 3, 9, 10, 7]) == [(1, 3), (5, 5), (7, 7), (9, 10)]
    assert runs([]) == []


def test_decimals_are_shown_exactly() -> None:
    assert fmt_decimal(Decimal("0.00001000")) == "0.00001"
    assert fmt_decimal(Decimal("60000.10")) == "60000.1"
    assert fmt_decimal(Decimal("1E+2")) == "100"
    assert fmt_decimal(Decimal("-3.50"), signed=True) == "-3.5"
    assert fmt_decimal(Decimal("2"), signed=True) == "+2"
    assert fmt_decimal(None) == "–"


def test_updates_are_coalesced_into_one_data_changed_per_run(qapp: object) -> None:
    model = OrdersModel(ThemeState("dark"), flush_ms=10_000)
    model.replace_all(_order(i) for i in range(1000))
    model.flush()
    assert model.rowCount() == 1000
    seen: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _r=None: seen.append((a.row(), b.row())))
    # 300 updates to rows 10..19, 500..509 and 990..999, some twice: still one flush
    for _ in range(10):
        for i in (*range(10, 20), *range(500, 510), *range(990, 1000)):
            model.upsert([_order(i, price="101")])
    assert model.pending and seen == []
    model.flush()
    assert seen == [(10, 19), (500, 509), (990, 999)]
    assert model.flushes == 2
    updated = model.get("rc-t-o-00500")
    assert updated is not None and updated.price == Decimal("101")


def test_sorting_happens_in_the_source_model_and_keeps_the_selection(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all([_order(1, price="300"), _order(2, price="100"), _order(3, price="200")])
    model.flush()
    proxy = FilterProxy()
    proxy.setSourceModel(model)
    keep = model.index(0, 0)  # price 300
    from PySide6.QtCore import QPersistentModelIndex

    persistent = QPersistentModelIndex(keep)
    layout_changes: list[int] = []
    model.layoutChanged.connect(lambda *_a: layout_changes.append(1))
    price = [c.title for c in model.columns].index("Price")
    proxy.sort(price, Qt.SortOrder.AscendingOrder)  # the header asks the proxy: source sorts
    assert [model.record(r).price for r in range(3)] == [Decimal(100), Decimal(200),
                                                        Decimal(300)]
    assert layout_changes == [1]
    assert persistent.row() == 2
    assert proxy.sortColumn() == -1  # the proxy itself never sorted
    # an update that changes the sort column re-sorts; one that does not, does not
    model.upsert([_order(2, price="400")])
    model.flush()
    assert [model.record(r).price for r in range(3)] == [Decimal(200), Decimal(300),
                                                        Decimal(400)]
    assert len(layout_changes) == 2
    first = model.get("rc-t-o-00001")
    assert first is not None
    model.upsert([replace(first, filled_qty=Decimal("0.1"))])
    model.flush()
    assert len(layout_changes) == 2


def test_free_text_filter_and_removals(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all([_order(1, symbol="BTCUSDT"), _order(2, symbol="ETHUSDT", side=Side.SELL),
                       _order(3, symbol="ETHUSDT")])
    model.flush()
    proxy = FilterProxy()
    proxy.setSourceModel(model)
    proxy.set_text("eth sell")
    assert proxy.rowCount() == 1
    assert proxy.index(0, 1).data() == "ETHUSDT"
    proxy.set_text("")
    assert proxy.rowCount() == 3
    model.remove(["rc-t-o-00002"])
    model.flush()
    assert model.row_keys() == ["rc-t-o-00001", "rc-t-o-00003"]
    assert model.row_of("rc-t-o-00003") == 1


def test_side_and_pnl_are_coloured(qapp: object) -> None:
    theme = ThemeState("dark")
    orders = OrdersModel(theme, flush_ms=10_000)
    orders.replace_all([_order(1), _order(2, side=Side.SELL),
                        _order(3, status=OrderStatus.CANCELLED)])
    orders.flush()
    side = [c.title for c in orders.columns].index("Side")
    fg = Qt.ItemDataRole.ForegroundRole
    assert orders.index(0, side).data(fg) == theme.color(Tone.BUY)
    assert orders.index(1, side).data(fg) == theme.color(Tone.SELL)
    assert orders.index(2, side).data(fg) == theme.color(Tone.MUTED)  # finished: greyed
    positions = PositionsModel(theme, flush_ms=10_000)
    positions.replace_all([
        Position("sim", "main", Category.LINEAR, "BTCUSDT", Decimal("0.1"), Decimal(60000),
                 unrealised_pnl=Decimal("12.5")),
        Position("sim", "main", Category.LINEAR, "ETHUSDT", Decimal("-2"), Decimal(3000),
                 unrealised_pnl=Decimal("-4"))])
    positions.flush()
    pnl = [c.title for c in positions.columns].index("Unrealised PnL")
    assert positions.index(0, pnl).data() == "+12.5"
    assert positions.index(0, pnl).data(fg) == theme.color(Tone.GAIN)
    assert positions.index(1, pnl).data(fg) == theme.color(Tone.LOSS)
    theme.apply("light")
    assert positions.index(1, pnl).data(fg) == theme.color(Tone.LOSS)
    assert theme.color(Tone.LOSS).name() != ThemeState("dark").color(Tone.LOSS).name()


def test_csv_export_writes_what_is_shown(qapp: object, loop: qasync.QEventLoop,
                                        tmp_path: Path) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all([_order(1, symbol="BTCUSDT", price="60000.10"),
                       _order(2, symbol="ETHUSDT")])
    model.flush()
    panel: TablePanel[Order] = TablePanel("orders", model)
    panel.filter.setText("btc")
    path = tmp_path / "orders.csv"
    written = drive(loop, panel.export_csv(path))
    assert written == 1
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows[0][:3] == ["Created", "Symbol", "Side"]
    assert rows[1][1] == "BTCUSDT" and "60000.1" in rows[1]


def test_big_table_view_settings(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all(_order(i) for i in range(10_000))
    model.flush()
    panel: TablePanel[Order] = TablePanel("orders", model)
    header = panel.view.verticalHeader()
    from PySide6.QtWidgets import QHeaderView

    assert header.sectionResizeMode(0) is QHeaderView.ResizeMode.Fixed
    h = panel.view.horizontalHeader()
    assert all(h.sectionResizeMode(i) is not QHeaderView.ResizeMode.ResizeToContents
               for i in range(model.columnCount()))
    assert not panel.view.isSortingEnabled()  # the source model sorts (header signal)
    assert panel.count.text() == "10000 rows"
    assert model.rowCount(model.index(0, 0)) == 0 and model.rowCount(QModelIndex()) == 10_000


def test_row_count_label_follows_removals(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    panel: TablePanel[Order] = TablePanel("orders", model)
    model.replace_all([_order(1), _order(2)])
    model.flush()
    assert panel.count.text() == "2 rows"
    model.replace_all([])
    model.flush()
    assert panel.count.text() == "0 rows"
    model.replace_all([_order(3), _order(4, symbol="ETHUSDT")])
    model.flush()
    panel.filter.setText("eth")
    assert panel.count.text() == "1 of 2 rows"


def test_a_growing_row_count_does_not_lay_the_window_out_again(qapp: object) -> None:
    """A label's new text asks its parent for a layout, and the request climbs to the
    main window, which lays out and repaints the whole table area: the count label's size
    is fixed, grown only for a text wider than any before."""
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    class Requests(QObject):
        seen = 0

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.LayoutRequest:
                self.seen += 1
            return False

    window = QWidget()
    model = OrdersModel(flush_ms=10_000)
    panel: TablePanel[Order] = TablePanel("orders", model)
    QVBoxLayout(window).addWidget(panel)
    window.show()
    QApplication.processEvents()
    requests = Requests()
    window.installEventFilter(requests)
    for count in (2, 20, 2_000, 20_000):
        model.replace_all(_order(i) for i in range(count))
        model.flush()
        QApplication.processEvents()
        assert panel.count.text() == f"{count} rows"
        assert panel.count.width() >= panel.count.fontMetrics().horizontalAdvance(
            panel.count.text())
    assert requests.seen == 0
    font = panel.font()
    font.setPointSizeF(font.pointSizeF() * 3)
    panel.setFont(font)  # no new count: the label still fits its text
    assert panel.count.height() >= panel.count.fontMetrics().height()
    assert panel.count.width() >= panel.count.fontMetrics().horizontalAdvance(
        panel.count.text())
    wide = "8" * 12
    panel._fit_count(wide)
    assert panel.count.width() >= panel.count.fontMetrics().horizontalAdvance(wide)
    window.close()


def test_key_count_is_the_keys_held_once_what_is_staged_is_applied(qapp: object) -> None:
    model = OrdersModel(ThemeState("dark"), flush_ms=10_000)
    assert model.key_count() == 0
    model.upsert([_order(i) for i in range(5)])
    assert model.key_count() == 5  # staged, not yet rows
    model.flush()
    model.upsert([_order(2, price="101"), _order(7)])  # one changed, one new
    model.remove(["rc-t-o-00000", "rc-t-o-00099"])  # one held, one never was
    assert model.key_count() == 5
    model.flush()
    assert model.key_count() == model.rowCount() == 5
    model.replace_all([_order(1)])
    assert model.key_count() is None  # a bulk load going in: not counted
    model.flush()
    assert model.key_count() == 1


def test_a_page_of_new_rows_goes_in_sorted_with_one_layout_change(qapp: object) -> None:
    """Rows none of which the table holds (a page of a load) are appended and sorted
    once: one insertion and at most one layout change, and none when the page belongs
    after every row already there (the ledger's pages come newest first)."""
    import random

    from console.ui.models.base import MANY_MOVES

    model = OrdersModel(flush_ms=10_000)
    model.sort(0, Qt.SortOrder.DescendingOrder)  # Created, newest first
    model.upsert([_order(i) for i in range(10_000, 10_000 + 2 * MANY_MOVES)])
    model.flush()
    before = model.layout_changes
    page = [_order(i) for i in reversed(range(5_000, 5_000 + 2 * MANY_MOVES))]  # older
    model.upsert(page)
    model.flush()
    assert model.layout_changes == before
    mixed = [_order(i) for i in (*range(20_000, 20_000 + MANY_MOVES), *range(MANY_MOVES))]
    random.Random(5).shuffle(mixed)
    model.upsert(mixed)
    model.flush()
    assert model.layout_changes == before + 1
    created = [model.record(r).created_at for r in range(model.rowCount())]
    assert created == sorted(created, reverse=True) and len(created) == 6 * MANY_MOVES
    unsorted = OrdersModel(flush_ms=10_000)
    unsorted.upsert(mixed)
    unsorted.flush()
    assert [unsorted.record(r) for r in range(len(mixed))] == mixed


def test_a_cell_s_roles_in_one_call_are_what_data_answers(qapp: object) -> None:
    """The item delegate asks a cell's roles in one `multiData` call: the table and the
    filter proxy answer each role as `data` does (colours of finished orders, alignment,
    roles no table answers), through the proxy's row mapping."""
    from PySide6.QtCore import QModelRoleData

    theme = ThemeState()
    model = OrdersModel(theme, flush_ms=10_000)
    model.upsert([_order(1, price="101.5"),
                  _order(2, status=OrderStatus.FILLED, side=Side.SELL, symbol="ETHUSDT")])
    model.flush()
    proxy = FilterProxy()
    proxy.setSourceModel(model)
    proxy.set_text("eth")  # proxy row 0 is source row 1
    roles = [Qt.ItemDataRole.FontRole, Qt.ItemDataRole.TextAlignmentRole,
             Qt.ItemDataRole.ForegroundRole, Qt.ItemDataRole.CheckStateRole,
             Qt.ItemDataRole.DecorationRole, Qt.ItemDataRole.DisplayRole,
             Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.ToolTipRole]

    def answered(source: object, index: QModelIndex) -> list[object]:
        span = [QModelRoleData(int(role)) for role in roles]
        for role_data in span:
            role_data.setData("stale")  # a span handed over again is answered afresh
        source.multiData(index, span)  # type: ignore[attr-defined]
        return [role_data.data() for role_data in span]

    assert proxy.rowCount() == 1
    for column in range(model.columnCount()):
        index = proxy.index(0, column)
        expected = [model.data(proxy.mapToSource(index), role) for role in roles]
        assert answered(proxy, index) == expected
        assert answered(model, model.index(0, column)) == [
            model.data(model.index(0, column), role) for role in roles]
    muted = theme.color(Tone.MUTED)
    assert answered(proxy, proxy.index(0, 1))[2] == muted  # a finished order, greyed
    assert answered(model, model.index(0, 1))[2] != muted


def test_a_held_table_applies_nothing_until_released_or_enough_is_staged(
        qapp: object) -> None:
    """`hold`: staged rows wait (an explicit `flush` still applies them); `release`
    applies them at the next turn; a hold ends by itself once `most` rows wait, so what
    goes in at once stays bounded."""
    import time

    from PySide6.QtWidgets import QApplication

    def turns() -> None:
        for _ in range(3):
            time.sleep(0.005)
            QApplication.processEvents()

    model = OrdersModel(flush_ms=1)
    model.hold(most=5)
    model.upsert([_order(i) for i in range(4)])
    turns()
    assert model.rowCount() == 0 and model.held
    model.release()
    turns()
    assert model.rowCount() == 4 and not model.held
    model.hold(most=5)
    model.upsert([_order(i) for i in range(10, 14)])
    model.flush()  # explicit: applies, the hold stays
    assert model.rowCount() == 8 and model.held
    model.upsert([_order(i) for i in range(20, 25)])  # five waiting: enough
    assert not model.held
    turns()
    assert model.rowCount() == 13
