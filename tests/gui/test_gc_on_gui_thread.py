"""While the window runs, reference cycles are collected on the GUI thread, never in a
worker thread that happens to allocate (a Qt object freed there crashes the app)."""

from __future__ import annotations

import asyncio
import gc
import threading
from typing import ClassVar

from console.ui.gc_policy import GuiThreadCollector
from tests.gui.conftest import drive


class _Cycle:
    """Garbage that only the cyclic collector frees; it notes where it died."""

    died_on: ClassVar[list[str]] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.died_on.append(threading.current_thread().name)


def _churn_in_a_worker() -> None:
    # a ledger read's worth of allocations: enough to cross gen-0 thresholds many times
    for _ in range(20):
        _Cycle()
        _ = [[i] for i in range(5_000)]  # tracked containers: they count


def test_cycles_made_and_dropped_in_a_worker_die_on_the_gui_thread(loop) -> None:  # type: ignore[no-untyped-def]
    collector = GuiThreadCollector(tick_ms=20)
    gc.collect()
    _Cycle.died_on.clear()
    collector.start()
    try:
        assert not gc.isenabled()

        async def scenario() -> None:
            await asyncio.to_thread(_churn_in_a_worker)
            for _ in range(100):
                if len(_Cycle.died_on) >= 20:
                    return
                await asyncio.sleep(0.02)

        drive(loop, scenario())
    finally:
        collector.stop()
    assert gc.isenabled()
    assert len(_Cycle.died_on) == 20
    assert set(_Cycle.died_on) == {threading.main_thread().name}
    assert sum(collector.collections) > 0


def test_stop_gives_automatic_collection_back_as_it_was(loop) -> None:  # type: ignore[no-untyped-def]
    gc.disable()
    try:
        collector = GuiThreadCollector()
        collector.start()
        collector.stop()
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
    collector = GuiThreadCollector()
    collector.start()
    assert not gc.isenabled() and collector.active
    collector.stop()
    assert gc.isenabled() and not collector.active
