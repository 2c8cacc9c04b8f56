"""`WindowPart`: what a helper the main window holds (its quit guard, its keys, its book
tables) uses to reach the window back.

The reference is weak: the window holds the helper, and a reference cycle through a
window would leave it to the garbage collector, which may run in any thread, while a Qt
object must be destroyed in its own.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.ui.main_window import MainWindow


class WindowPart:
    """Mixed into a window's helper: `_hold_window(window)` in its constructor, then
    `self.window` while the window lives."""

    _window: weakref.ref[MainWindow]

    def _hold_window(self, window: MainWindow) -> None:
        self._window = weakref.ref(window)

    @property
    def window(self) -> MainWindow:
        window = self._window()
        if window is None:
            raise RuntimeError("the window is gone")
        return window
