"""Two things the window does for a large book (bench/ui_load.py): a page of a load
(`chunk_rows` rows or more staged at once) goes into the table at the next turn of the
loop instead of waiting the update timer, while a trickle of updates is still gathered
by it; and a chart that is not on screen (another account's) does not redraw on its
timer, and catches up when it is shown."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.ui.models.orders import OrdersModel
from console.ui.theme import ThemeState
from console.ui.widgets.charts import REDRAW_MS, HistoryChart


def _order(n: int) -> Order:
    return Order(venue="sim", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.5"),
                 price=Decimal("100"), status=OrderStatus.NEW,
                 client_order_id=f"rc-t-o-{n:05d}", created_at=1_000 + n, updated_at=1_000 + n)


def test_a_page_goes_in_at_the_next_turn_and_a_trickle_waits_for_the_timer(
        qapp: object) -> None:
    model = OrdersModel(flush_ms=60_000)
    model.chunk_rows = 50
    model.upsert(_order(i) for i in range(10))  # a trickle: gathered by the timer
    QCoreApplication.processEvents()
    assert model.rowCount() == 0 and model.pending
    model.upsert(_order(i) for i in range(10, 60))  # with it, a page's worth staged
    QCoreApplication.processEvents()
    assert model.rowCount() == 60 and not model.pending
    model.upsert([_order(100)])
    QCoreApplication.processEvents()
    assert model.rowCount() == 60  # a trickle again: waits for the timer


def _run(i: int) -> RunRecord:
    at = 1_700_000_000_000 + i * 60_000
    return RunRecord(run_id=f"r{i}", venue="sim", account="main",
                     trigger=RunTrigger.PERIODIC, started_at=at, finished_at=at + 40,
                     status=RunStatus.OK)


def test_a_hidden_chart_waits_and_redraws_when_shown(qtbot: QtBot) -> None:
    chart = HistoryChart(ThemeState("dark"))
    qtbot.addWidget(chart)
    chart.add_runs([_run(i) for i in range(3)])
    qtbot.wait(3 * REDRAW_MS)
    assert chart.dirty  # not on screen: the timer left it
    assert len(chart.duration_points.data) == 0
    chart.show()
    qtbot.waitExposed(chart)
    assert not chart.dirty and len(chart.duration_points.data) == 3
    chart.add_runs([_run(3)])
    qtbot.waitUntil(lambda: not chart.dirty, timeout=5 * REDRAW_MS)  # shown: on the timer
    assert len(chart.duration_points.data) == 4
