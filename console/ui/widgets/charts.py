"""Latency (rest, ws, reconcile over time) and reconcile history (duration and
discrepancies per run) charts, with pyqtgraph.

Smoothness rules (docs/architecture.md, "Qt and the event loop"): samples go into
preallocated numpy ring buffers, pens are 1 px wide, curves clip to the view with peak
downsampling, and redraws happen on a 5 Hz timer, only when something changed. Floats
are fine here: these are coordinates (seconds and milliseconds), never money.

Truthfulness rules: the time axis is the local wall clock (`ClockAxis`), never zoomed in
closer than `MIN_SPAN_S`; every axis names its unit; counts start at 0 with whole-number
ticks; a latency that was not measured (0 ms: below the clock's resolution, nothing on a
log axis) is no point at all rather than a made-up floor, and where no sample came for
a while the line breaks (NaN gaps drawn with connect="finite") instead of bridging the
silence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.domain.reconciliation import RunRecord, RunStatus
from console.engine.metrics import LatencySummary, MetricsSnapshot
from console.ui.theme import ThemeState, Tone
from console.ui.widgets.chart_axes import ClockAxis, SpacedAxis, zone_label

STAGES = ("rest", "ws", "reconcile")
STAGE_NAMES = {"rest": "REST", "ws": "WebSocket", "reconcile": "reconcile"}
REDRAW_MS = 200
MIN_SPAN_S = 60.0
"""The time axis never shows less than a minute (no "seconds of an unnamed minute")."""
GAP_S = 30.0
"""Samples further apart than this (and than `GAP_FACTOR` usual intervals) are not
joined by a line: the chart shows the silence."""
GAP_FACTOR = 3.0
HEADROOM = 1.15
"""The y range goes this far above the highest value."""
TITLE_SIZE = "9pt"
"""Titles stay small: a docked chart is short, and its height is for the data."""

pg.setConfigOptions(antialias=False, useOpenGL=False)


def gap_for(x: NDArray[np.float64]) -> float:
    """How far apart two samples may be and still be joined: `GAP_S`, or `GAP_FACTOR`
    usual intervals for a series that is sparse by nature (a run a minute)."""
    if len(x) < 2:
        return GAP_S
    return max(GAP_S, float(np.median(np.diff(x))) * GAP_FACTOR)


def with_gaps(x: NDArray[np.float64], y: NDArray[np.float64],
              gap: float | None = None) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(x, y) with a NaN point between two samples more than `gap` (default `gap_for`)
    apart, so that a curve drawn with connect="finite" breaks where there was no data."""
    if len(x) < 2:
        return x, y
    gap = gap_for(x) if gap is None else gap
    breaks = np.nonzero(np.diff(x) > gap)[0] + 1
    if not len(breaks):
        return x, y
    return (np.insert(x, breaks, np.nan), np.insert(y, breaks, np.nan))


LATENCY_MIN_HEIGHT = 120
"""Below this the latency chart's log axis shows one tick and no curve worth reading."""
HISTORY_MIN_HEIGHT = 160
"""Two stacked plots (duration, discrepancies) with their titles and one time axis: below
this the plots' data areas shrink to a few pixels each."""


class RingBuffer:
    """Fixed-size (x, y) float buffers; `view()` returns them oldest first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.x: NDArray[np.float64] = np.zeros(size, dtype=np.float64)
        self.y: NDArray[np.float64] = np.zeros(size, dtype=np.float64)
        self.count = 0
        self.head = 0

    def extend(self, xs: Sequence[float], ys: Sequence[float]) -> None:
        n = len(xs)
        if n == 0:
            return
        if n >= self.size:
            xs, ys, n = xs[-self.size:], ys[-self.size:], self.size
        first = min(n, self.size - self.head)
        self.x[self.head:self.head + first] = xs[:first]
        self.y[self.head:self.head + first] = ys[:first]
        rest = n - first
        if rest:
            self.x[:rest] = xs[first:]
            self.y[:rest] = ys[first:]
        self.head = (self.head + n) % self.size
        self.count = min(self.size, self.count + n)

    def view(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if self.count < self.size:
            return self.x[:self.count], self.y[:self.count]
        order = np.r_[self.head:self.size, 0:self.head]
        return self.x[order], self.y[order]


def _style_plot(plot: pg.PlotItem, theme: ThemeState) -> None:
    """Axes only: no grid (a translucent grid doubles the cost of a frame) and no legend
    item (the title names the series in their colours)."""
    fg = theme.theme.chart_foreground
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(fg, width=1))
        axis.setTextPen(pg.mkPen(fg, width=1))
        if axis.labelText or axis.labelUnits:  # a bare axis keeps no room for a label
            axis.setLabel(axis.labelText, axis.labelUnits, color=fg)


def _axes(*, y_label: str, y_units: str = "", clock_label: bool = True,
          integer: bool = False) -> dict[str, pg.AxisItem]:
    """A clock along x (labelled with the local zone when `clock_label`) and a y axis
    whose labels fit, named with its unit."""
    bottom = ClockAxis("bottom")
    if clock_label:
        bottom.setLabel(f"local time ({zone_label()})")
    left = SpacedAxis("left", integer=integer)
    left.setLabel(y_label, units=y_units or None)
    return {"bottom": bottom, "left": left}


def _mount(chart: LatencyChart | HistoryChart, widget: QWidget, theme: ThemeState) -> None:
    """Put the plot widget in the chart, redraw on a timer (5-10 Hz, never per update,
    docs/architecture.md) and follow theme changes."""
    layout = QVBoxLayout(chart)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    chart.timer = QTimer(chart)
    chart.timer.setInterval(REDRAW_MS)
    chart.timer.timeout.connect(lambda: _redraw_shown(chart))
    chart.timer.start()
    theme.changed.connect(chart.restyle)
    chart.restyle()


def _redraw_shown(chart: LatencyChart | HistoryChart) -> None:
    """The timer's redraw, for a chart on screen only: each account has its charts and
    the window shows one account's (bench/ui_load.py, three accounts: the hidden ones'
    redraws were two thirds of the charts' time). A hidden chart keeps its `dirty` mark
    and redraws when shown (`showEvent`)."""
    if chart.isVisible():
        chart.redraw()


class LatencyChart(QWidget):
    """Recent latency per stage, fed from `Metrics.snapshot()`: measured samples only
    (see the module docstring), the line broken where none came for a while (`gap_for`)."""

    timer: QTimer

    def __init__(self, theme: ThemeState, *, capacity: int = 2048,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.widget = pg.PlotWidget(axisItems=_axes(y_label="latency", y_units="ms"))
        self.plot: pg.PlotItem = self.widget.getPlotItem()
        self.plot.setLogMode(x=False, y=True)
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setLimits(minXRange=MIN_SPAN_S)
        self.buffers = {s: RingBuffer(capacity) for s in STAGES}
        self.seen = dict.fromkeys(STAGES, 0)
        self.unmeasured = dict.fromkeys(STAGES, 0)
        """Samples of 0 ms or less per stage: not measured, not drawn."""
        self.curves: dict[str, pg.PlotDataItem] = {}
        for stage, color in zip(STAGES, theme.theme.series, strict=True):
            # reconcile samples are a minute apart: marked, so a lone one still shows
            marks = {"symbol": "o", "symbolSize": 4, "symbolPen": None,
                     "symbolBrush": color} if stage == "reconcile" else {}
            self.curves[stage] = self.plot.plot([], [], name=stage, connect="finite",
                                                pen=pg.mkPen(color, width=1), **marks)
        self.dirty = False
        self.redraws = 0
        self._titled: tuple[str, ...] | None = None
        self.setMinimumHeight(LATENCY_MIN_HEIGHT)
        _mount(self, self.widget, theme)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.redraw()  # what came while hidden (`_redraw_shown`)

    def restyle(self) -> None:
        t = self.theme.theme
        self.widget.setBackground(t.chart_background)
        _style_plot(self.plot, self.theme)
        self._titled = None
        self._retitle()
        for stage, color in zip(STAGES, t.series, strict=True):
            self.curves[stage].setPen(pg.mkPen(color, width=1))
            if stage == "reconcile":
                self.curves[stage].setSymbolBrush(color)

    def _retitle(self) -> None:
        """The series in their colours; one with no measured sample says so."""
        empty = tuple(s for s in STAGES if self.buffers[s].count == 0)
        if empty == self._titled:
            return
        self._titled = empty
        t = self.theme.theme
        series = " · ".join(
            f"<span style='color:{c}'>{STAGE_NAMES[s]}"
            + (" (no data)" if s in empty else "") + "</span>"
            for s, c in zip(STAGES, t.series, strict=True))
        self.plot.setTitle(f"<span style='color:{t.chart_foreground}'>Latency (log):"
                           f"</span> {series}", size=TITLE_SIZE)

    def feed(self, snapshot: MetricsSnapshot) -> None:
        """Append the samples not seen yet (by each stage's running total); a sample of
        0 ms or less was not measured and is left out."""
        for stage in STAGES:
            summary: LatencySummary | None = snapshot.latency.get(stage)
            recent = snapshot.recent.get(stage, ())
            if summary is None or not recent:
                continue
            new = min(summary.total_count - self.seen[stage], len(recent))
            self.seen[stage] = summary.total_count
            if new <= 0:
                continue
            samples = recent[-new:]
            measured = [(ts / 1000, ms) for ts, ms in samples if ms > 0]
            self.unmeasured[stage] += len(samples) - len(measured)
            if not measured:
                continue
            self.buffers[stage].extend([x for x, _ in measured], [y for _, y in measured])
            self.dirty = True

    def redraw(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.redraws += 1
        for stage, buffer in self.buffers.items():
            x, y = with_gaps(*buffer.view())
            self.curves[stage].setData(x, y, connect="finite")
        self._retitle()

    def points(self) -> Mapping[str, int]:
        """Measured samples held per stage."""
        return {s: b.count for s, b in self.buffers.items()}


class HistoryChart(QWidget):
    """Per run: duration (top) and discrepancies found (bottom), coloured by status.
    Durations and counts start at 0; counts have whole-number ticks; the duration line
    breaks where runs stopped for a while (`gap_for`)."""

    timer: QTimer

    def __init__(self, theme: ThemeState, *, keep: int = 300,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.keep = keep
        self.widget = pg.GraphicsLayoutWidget()
        self.duration: pg.PlotItem = self.widget.addPlot(
            row=0, col=0, axisItems=_axes(y_label="", y_units="ms", clock_label=False))
        self.found: pg.PlotItem = self.widget.addPlot(
            row=1, col=0, axisItems=_axes(y_label="count", integer=True))
        self.found.setXLink(self.duration)
        # one clock for both (they are linked): the lower plot's, so a short dock keeps
        # its height for the data
        self.duration.getAxis("bottom").setStyle(showValues=False)
        for plot in (self.duration, self.found):
            plot.setLimits(minXRange=MIN_SPAN_S, yMin=0)
            plot.enableAutoRange(axis="y", enable=False)
            plot.setYRange(0, 1, padding=0)
        self.duration_curve = self.duration.plot([], [], connect="finite")
        self.duration_points = pg.ScatterPlotItem(size=6, pen=None)
        self.duration.addItem(self.duration_points)
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0)
        self.found.addItem(self.bars)
        self.runs: dict[str, tuple[float, float, int, RunStatus]] = {}
        self.dirty = False
        self.setMinimumHeight(HISTORY_MIN_HEIGHT)
        _mount(self, self.widget, theme)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.redraw()  # what came while hidden (`_redraw_shown`)

    def restyle(self) -> None:
        t = self.theme.theme
        self.widget.setBackground(t.chart_background)
        for plot, title in ((self.duration, "Reconcile duration per run (ms)"),
                            (self.found, "Discrepancies per run")):
            _style_plot(plot, self.theme)
            plot.setTitle(title, color=t.chart_foreground, size=TITLE_SIZE)
        self.dirty = True

    def add_runs(self, runs: Sequence[RunRecord]) -> None:
        for run in runs:
            self.runs[run.run_id] = (run.started_at / 1000,
                                     float(run.finished_at - run.started_at),
                                     len(run.discrepancies), run.status)
        if len(self.runs) > self.keep:
            newest = sorted(self.runs.items(), key=lambda kv: kv[1][0])[-self.keep:]
            self.runs = dict(newest)
        self.dirty = True

    def add_outcome(self, run: RunRecord, duration_ms: float) -> None:
        self.runs[run.run_id] = (run.started_at / 1000, duration_ms, len(run.discrepancies),
                                 run.status)
        self.add_runs(())

    def redraw(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        rows = sorted(self.runs.values())
        x = np.array([r[0] for r in rows], dtype=np.float64)
        duration = np.array([r[1] for r in rows], dtype=np.float64)
        found = np.array([r[2] for r in rows], dtype=np.float64)
        tones = {RunStatus.OK: Tone.OK, RunStatus.PARTIAL: Tone.WARNING,
                 RunStatus.FAILED: Tone.CRITICAL}
        line = self.theme.theme.series[2]
        usual = float(np.median(np.diff(x))) if len(x) > 1 else MIN_SPAN_S
        gx, gy = with_gaps(x, duration)
        self.duration_curve.setData(gx, gy, pen=pg.mkPen(line, width=1), connect="finite")
        self.duration_points.setData(
            x=x, y=duration, brush=[pg.mkBrush(self.theme.hex(tones[r[3]])) for r in rows])
        width = max(1.0, usual * 0.6) if len(x) > 1 else 1.0
        self.bars.setOpts(x=x, height=found, width=width,
                          brush=pg.mkBrush(self.theme.hex(Tone.WARNING)), pen=None)
        top = float(duration.max()) if len(duration) else 0.0
        self.duration.setYRange(0, max(top, 1.0) * HEADROOM, padding=0)
        most = float(found.max()) if len(found) else 0.0
        self.found.setYRange(0, max(most, 1.0) * HEADROOM, padding=0)
