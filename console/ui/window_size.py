"""The main window's first size: the designed 1680×1050, never more than the screen has.

A window opened larger than its screen hides what is at its edges (the EMERGENCY STOP at
the right of the toolbar, the status bar at the bottom), and the README promises the stop
is always visible. So the size is clamped to the screen's available geometry (without
the task bar), less a margin for the window manager's frame, which Qt does not know
before the window is shown.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QRect, QSize
from PySide6.QtGui import QGuiApplication, QScreen

DESIGNED: Final = QSize(1680, 1050)
FRAME_MARGIN: Final = 0.95
"""The share of the available width and height a clamped window takes."""
NO_SCREEN_PLATFORMS: Final = frozenset({"offscreen", "minimal"})
"""Platforms without a physical screen (the self-test, screenshots): the designed size,
as there is nothing to fit and screenshots are taken at it."""


def fit(wanted: QSize, available: QRect | None) -> QSize:
    """`wanted`, shrunk to fit `available` (less the frame margin) when it is larger."""
    if available is None or available.isEmpty():
        return QSize(wanted)
    return QSize(min(wanted.width(), int(available.width() * FRAME_MARGIN)),
                 min(wanted.height(), int(available.height() * FRAME_MARGIN)))


def initial_size(screen: QScreen | None, wanted: QSize = DESIGNED, *,
                 platform: str | None = None) -> QSize:
    """The window's first size on `screen` (its available geometry; the designed size on a
    platform without a physical screen)."""
    name = QGuiApplication.platformName() if platform is None else platform
    if name in NO_SCREEN_PLATFORMS or screen is None:
        return QSize(wanted)
    return fit(wanted, screen.availableGeometry())
