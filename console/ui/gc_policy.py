"""Garbage collection on the GUI thread only.

Why: CPython's cyclic collector runs in whichever thread happens to allocate when a
generation's threshold is crossed. In the console that is often a worker thread (a
ledger read under `asyncio.to_thread`), and a collection there may free Qt objects that
Python owns (a pyqtgraph menu, a timer, a pixmap caught in a reference cycle). Qt objects
must die on the thread that owns them: "QObject: Timers cannot be stopped from another
thread", then a crash at the next event. So while the window runs, automatic collection
is off and the GUI thread collects on a timer, by the same generation thresholds CPython
uses (`gc.get_threshold()`), checked a few times a second. Reference counting still frees
everything that is not in a cycle at once; only cycles wait for the next tick.

`console.ui.models.base` freezes long-lived objects (`gc.freeze`), so the collections
made here walk only the young objects and stay short.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

TICK_MS = 100
"""How often the GUI thread looks at the allocation counts."""
IDLE_TICKS = 10
"""Every this many ticks the young generation is collected if anything is in it."""


class GuiThreadCollector(QObject):
    """Turns automatic collection off while started and collects on the GUI thread."""

    def __init__(self, parent: QObject | None = None, *, tick_ms: int = TICK_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(tick_ms)
        self._timer.timeout.connect(self.collect_due)
        self._was_enabled = False
        self.collections = [0, 0, 0]
        self._ticks = 0

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def start(self) -> None:
        if self.active:
            return
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Automatic collection back as it was; one collection here, on this thread."""
        if not self.active:
            return
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def collect_due(self) -> int | None:
        """Collect the oldest generation whose threshold is crossed (what CPython would
        have done at an allocation), or nothing; the generation collected.

        The young generation's count is allocations minus deallocations, so a burst that
        crossed the threshold in a worker may be back under it by the next tick, with
        cycles left behind: the young generation is also collected every `IDLE_TICKS`
        ticks while anything is counted in it (cheap: frozen objects are not walked)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = None
        for gen in (2, 1, 0):
            if thresholds[gen] and counts[gen] >= thresholds[gen]:
                generation = gen
                break
        self._ticks += 1
        if generation is None and counts[0] > 0 and self._ticks >= IDLE_TICKS:
            generation = 0
        if generation is None:
            return None
        self._ticks = 0
        gc.collect(generation)
        self.collections[generation] += 1
        return generation
