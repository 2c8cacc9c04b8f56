"""Screenshots of the console at work, saved to build/screenshots/
(docs/refresh-screenshots.sh refreshes the committed ones in docs/screenshots/; the README
shows main-window.png): the demo quoting on the sim, a chaos action and an order a lost session
left behind, reconciliations that found them, the inbox with an action's evidence, and
the charts with their data."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtGui import QImage

from console.domain import Category, OrderType, Side

from .conftest import SCREENSHOTS, Harness, MakeConsole
from .shown_texts import assert_no_canary_shown


def _lively(h: Harness) -> None:
    """Orders, fills, discrepancies, runs and latency samples, as after a few minutes."""
    h.session.market.start(interval_s=0.1, max_ticks=12)
    h.pump(1.5)
    h.controller.chaos_action("hand_cancel")
    h.exchange.place_order("main", category=Category.LINEAR, symbol="XRPUSDT",
                           side=Side.BUY, order_type=OrderType.LIMIT, qty=Decimal(2000),
                           price=Decimal("0.48"), client_order_id="rc-w7-o-mwq1lost-9")
    for _ in range(5):
        h.run(h.controller.reconcile_now())
        h.pump(0.25)
    h.idle()
    item = next(i for i in h.controller.pending if i.discrepancy is not None
                and i.discrepancy.symbol == "XRPUSDT")
    h.window.inbox.show_pending()
    h.window.inbox.select_items([item.key])
    h.window.orders_table.view.sortByColumn(0, h.window.orders_table.view.horizontalHeader()
                                           .sortIndicatorOrder())
    h.window.latency_chart.redraw()
    h.window.history_chart.redraw()
    h.pump(0.3)


def _save(h: Harness, name: str) -> QImage:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert_no_canary_shown(h.window)
    image: QImage = h.window.grab().toImage()
    assert not image.isNull() and image.width() >= 1200
    assert image.save(str(SCREENSHOTS / name))
    return image


def test_main_window_screenshots(make_console: MakeConsole) -> None:
    h = make_console("clean", demo=True, latency_ms=(1.0, 6.0))
    _lively(h)
    assert h.window.inbox_dock.isVisible() and h.window.charts_dock.isVisible()
    assert h.window.inbox.evidence.table.rowCount() > 3
    assert sum(h.window.latency_chart.points().values()) > 20
    assert len(h.window.history_chart.runs) >= 5
    image = _save(h, "main-window.png")
    # dark theme: the background is dark, the text light (readable, not boxes)
    assert image.pixelColor(5, image.height() // 2).lightness() < 80

    h.window.set_theme("light")
    h.pump(0.3)
    light = _save(h, "main-window-light.png")
    assert light.pixelColor(5, light.height() // 2).lightness() > 170
    h.window.set_theme("dark")


def test_emergency_report_screenshot(make_console: MakeConsole) -> None:
    h = make_console("clean", demo=True, answers=[True], latency_ms=(1.0, 4.0))
    h.pump(0.5)
    h.window.emergency_button.click()
    h.idle()
    h.window.emergency_dialog.flatten.click()
    h.idle()
    assert h.sim_open() == [] and h.exchange.positions("main") == []
    h.pump(0.2)
    _save(h, "emergency-report.png")
