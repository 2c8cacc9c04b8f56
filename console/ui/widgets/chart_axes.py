"""Chart axes that read truthfully at any zoom: local clock time along x, and y labels
that never overlap and never go below zero for counts.

pyqtgraph's `DateAxisItem` drops the clock at its finest zoom levels ("10.660 … 10.690":
seconds and milliseconds of an unnamed minute), and its default linear axis puts major and
minor labels 10 px apart on a short plot. `ClockAxis` always shows the local wall clock
(HH:MM:SS, or HH:MM for ticks a minute or more apart) at round local times, and
`SpacedAxis` keeps only the labels that fit (at least `MIN_LABEL_PX` apart), integers
only when it counts things. Floats are fine here: these are screen coordinates.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np
import pyqtgraph as pg

CLOCK_STEPS_S: Final = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
                        10800, 21600, 43200, 86400)
"""Tick spacings a clock reader expects, in seconds."""
CLOCK_LABEL_PX: Final = 90
"""Horizontal room for one clock label ("23:59:59" and a gap)."""
MIN_LABEL_PX: Final = 22
"""Vertical room for one y label (a line of text and a gap)."""


def local_offset_s(at: float) -> float:
    """The local time zone's offset from UTC at epoch second `at`, in seconds."""
    try:
        offset = datetime.fromtimestamp(at, tz=UTC).astimezone().utcoffset()
    except (OverflowError, OSError, ValueError):
        return 0.0
    return offset.total_seconds() if offset is not None else 0.0


def zone_label(at: float | None = None) -> str:
    """"UTC+01:00": the local zone the clock axis shows, for its label."""
    seconds = local_offset_s(time.time() if at is None else at)
    sign = "+" if seconds >= 0 else "-"
    minutes = int(abs(seconds)) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def clock_step(span_s: float, size_px: float) -> float:
    """The smallest round clock spacing that leaves `CLOCK_LABEL_PX` per label."""
    room = max(2, int(size_px // CLOCK_LABEL_PX))
    for step in CLOCK_STEPS_S:
        if span_s / step <= room:
            return float(step)
    days = math.ceil(span_s / room / 86400)
    return float(days * 86400)


class ClockAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph has no types
    """Epoch seconds shown as the local wall clock, ticks at round local times."""

    def __init__(self, orientation: str = "bottom", **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal: float, maxVal: float,
                   size: float) -> list[tuple[float, list[float]]]:
        lo, hi = sorted((minVal, maxVal))
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            return []
        step = clock_step(hi - lo, size)
        offset = local_offset_s(lo)
        first = math.ceil((lo + offset) / step) * step - offset
        count = int((hi - first) // step) + 1
        return [(step, [first + i * step for i in range(max(0, count))])]

    def tickStrings(self, values: Sequence[float], scale: float,
                    spacing: float) -> list[str]:
        del scale
        fmt = "%H:%M:%S" if spacing < 60 else "%H:%M"
        out = []
        for value in values:
            try:
                out.append(datetime.fromtimestamp(value, tz=UTC).astimezone().strftime(fmt))
            except (OverflowError, OSError, ValueError):
                out.append("")
        return out


class SpacedAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph has no types
    """A y axis with major labels only, at least `MIN_LABEL_PX` apart; with `integer`,
    whole numbers from 0 up (counts)."""

    def __init__(self, orientation: str = "left", *, integer: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.integer = integer
        self.enableAutoSIPrefix(False)

    def tickValues(self, minVal: float, maxVal: float,
                   size: float) -> list[tuple[float, list[float]]]:
        room = max(1, int(size // MIN_LABEL_PX))  # a tiny plot shows one label
        if self.integer:
            return self._integer_ticks(minVal, maxVal, room)
        if self.logMode:
            return self._log_ticks(minVal, maxVal, room)
        levels = super().tickValues(minVal, maxVal, size)
        if not levels:
            return []
        spacing, values = levels[0]
        kept = list(values)
        stride = math.ceil(len(kept) / room) if kept else 1
        return [(spacing * stride, kept[::stride])]

    @staticmethod
    def _log_ticks(lo: float, hi: float, room: int) -> list[tuple[float, list[float]]]:
        """Decades (1, 10, 100 ms), or 1-2-5 steps, or every digit: the richest set that
        fits (values are log10 of the data, as pyqtgraph's log mode has them)."""
        lo, hi = sorted((lo, hi))
        if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
            return []
        decades = range(math.floor(lo), math.ceil(hi) + 1)
        chosen: list[float] = []
        for mantissas in ((1,), (1, 2, 5), tuple(range(1, 10))):
            values = [d + math.log10(m) for d in decades for m in mantissas]
            inside = [v for v in values if lo <= v <= hi]
            if len(inside) > room:
                break
            chosen = inside
            if len(inside) >= 3:
                break
        if not chosen:  # even the decades are too many: every n-th decade
            inside = [float(d) for d in decades if lo <= d <= hi]
            chosen = inside[::math.ceil(len(inside) / room)] if inside else []
        return [(1.0, chosen)]

    @staticmethod
    def _integer_ticks(lo: float, hi: float, room: int) -> list[tuple[float, list[float]]]:
        lo, hi = sorted((lo, hi))
        if not (math.isfinite(lo) and math.isfinite(hi)):
            return []
        lo, hi = max(0.0, lo), max(0.0, hi)
        span = max(1.0, hi - lo)
        step = 1.0
        for base in (1, 2, 5):
            step = float(base)
            if span / step <= room:
                break
        else:
            magnitude = 10 ** math.floor(math.log10(span / room))
            step = next(float(m * magnitude) for m in (1, 2, 5, 10)
                        if span / (m * magnitude) <= room)
        first = math.ceil(lo / step) * step
        values = np.arange(first, hi + step * 1e-6, step)
        return [(step, [float(v) for v in values])]

    def tickStrings(self, values: Sequence[float], scale: float,
                    spacing: float) -> list[str]:
        if self.integer:
            return [str(round(v)) for v in values]
        if self.logMode:  # plain numbers ("50", "0.5"), not "5·10¹"
            return [f"{10 ** v:.3g}" for v in values]
        result: list[str] = super().tickStrings(values, scale, spacing)
        return result
