"""The window on a screen smaller than its designed 1680×1050: its first size fits the
screen's available geometry, and a narrow window keeps the EMERGENCY STOP in view (the
README: "The red EMERGENCY STOP is always visible"), never in a toolbar's overflow menu."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QRect, QSize
from PySide6.QtWidgets import QApplication

from console.ui.window_size import DESIGNED, fit, initial_size


class SmallScreen:
    """A screen of 1600×1000 available pixels (a task bar would take some more)."""

    def availableGeometry(self) -> QRect:
        return QRect(0, 0, 1600, 1000)


def test_the_first_size_fits_a_smaller_screen() -> None:
    size = initial_size(SmallScreen(), platform="xcb")  # type: ignore[arg-type]
    assert size.width() <= 1600 and size.height() <= 1000
    assert size.width() >= 1500 and size.height() >= 900  # clamped, not shrunk for nothing
    assert fit(DESIGNED, QRect(0, 0, 2560, 1440)) == DESIGNED
    assert initial_size(SmallScreen(), platform="offscreen") == DESIGNED  # nothing to fit


@pytest.mark.parametrize("width", [1280, 1100])
def test_a_narrow_window_keeps_the_emergency_stop_in_view(make_console: Any,
                                                          qapp: QApplication,
                                                          width: int) -> None:
    window = make_console().window
    window.resize(QSize(width, 900))
    qapp.processEvents()
    button = window.emergency_button
    assert button.isVisible(), "the EMERGENCY STOP went into an overflow menu"
    where = QRect(button.mapTo(window, button.rect().topLeft()), button.size())
    assert window.rect().contains(where), (where, window.size())


def test_the_window_reaches_1024_wide_with_the_emergency_stop_in_view(
        make_console: Any, qapp: QApplication) -> None:
    """A 1024×768 screen (700 px left under a task bar): the inbox's run history and the
    status bar, the widest parts of the window, give way instead of holding it wider."""
    window = make_console("crashed-session").window
    runs = window.inbox.runs_view
    window.resize(QSize(1024, 700))
    qapp.processEvents()
    assert window.width() == 1024, window.minimumSizeHint()
    button = window.emergency_button
    assert button.isVisible(), "the EMERGENCY STOP went into an overflow menu"
    where = QRect(button.mapTo(window, button.rect().topLeft()), button.size())
    assert QRect(0, 0, 1024, 700).contains(where), (where, window.size())
    risk = window.status.risk  # the trading state stays whole; other labels give way
    assert "PAUSED" in risk.text() and risk.width() >= risk.sizeHint().width()
    inbox = window.inbox
    assert inbox.isVisible() and inbox.width() <= 1024
    assert runs.width() > 0 and runs.horizontalScrollBar().maximum() > 0  # scrolls

    window.resize(QSize(1680, 1050))  # room again: every column of the history shows
    qapp.processEvents()
    assert runs.horizontalScrollBar().maximum() == 0
