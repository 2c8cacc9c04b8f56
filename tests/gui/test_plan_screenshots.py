"""A screenshot of the window over a real sim account with the plan-only views in place:
the "Coverage and budgets" dock raised and the "Preview reconcile" dialog open over the
window (a separate top-level window, painted onto the window's image where it opened).
Saved to build/screenshots/ (docs/refresh-screenshots.sh: docs/screenshots/)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from .conftest import SCREENSHOTS, MakeConsole
from .shown_texts import assert_no_canary_shown


def test_window_with_coverage_and_preview(make_console: MakeConsole) -> None:
    h = make_console("clean", demo=True, latency_ms=(1.0, 6.0))
    w = h.window
    h.session.market.start(interval_s=0.1, max_ticks=12)
    h.pump(1.5)
    w.chaos("place_lost_order")
    for _ in range(3):
        h.run(h.controller.reconcile_now())
        h.pump(0.2)
    w.coverage_dock.show()
    w.coverage_dock.raise_()
    w.chaos("hand_cancel")
    w.act_preview.trigger()
    h.idle()
    dialog = w.preview_dialog
    assert dialog is not None and dialog.isVisible()
    assert w.coverage_dock.isVisible() and w.coverage_panel.report is not None
    assert w.coverage_panel.report.runs_examined >= 4
    assert dialog.action_table.rowCount() >= 1
    w.latency_chart.redraw()
    w.history_chart.redraw()
    h.pump(0.3)
    assert_no_canary_shown(w)
    assert_no_canary_shown(dialog)
    image: QImage = w.grab().toImage()
    dialog.resize(880, 520)
    h.pump(0.05)
    shot = dialog.grab().toImage()
    painter = QPainter(image)
    title_h = 26  # offscreen windows have no frame: a plain title bar says what it is
    at = QPoint(image.width() - shot.width() - 60, 130)
    bar = QRect(at.x(), at.y() - title_h, shot.width(), title_h)
    painter.fillRect(bar, QColor("#3a3f4b"))
    painter.setPen(QColor("#e6e6e6"))
    painter.drawText(bar.adjusted(10, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter,
                     dialog.windowTitle())
    painter.drawImage(at, shot)
    painter.setPen(QColor("#8a8f9b"))
    painter.drawRect(bar.united(QRect(at, shot.size())).adjusted(0, 0, -1, -1))
    painter.end()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    assert image.save(str(SCREENSHOTS / "window-preview-coverage.png"))
    dialog.close()
