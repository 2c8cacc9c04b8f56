"""Latency (rest, ws, reconcile over time) and reconcile history (duration and
discrepancies per run) charts, with pyqtgraph.

Smoothness rules (docs/architecture.md, "Qt and the event loop"): samples go into
preallocated numpy ring buffers, pens are 1 px wide, curves clip to the view with peak
downsampling, and redraws happen on a 5 Hz timer, only when something changed. Floats
are fine here: these are coordinates (seconds and milliseconds), never money.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.domain.reconciliation import RunRecord, RunStatus
from console.engine.metrics import LatencySummary, MetricsSnapshot
from console.ui.theme import ThemeState, Tone

STAGES = ("rest", "ws", "reconcile")
REDRAW_MS = 200
MIN_MS = 0.01
"""Floor for the log axis (a 0 ms sample would be -inf)."""

pg.setConfigOptions(antialias=False, useOpenGL=False)


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


def _mount(chart: LatencyChart | HistoryChart, widget: QWidget, theme: ThemeState) -> None:
    """Put the plot widget in the chart, redraw on a timer (5-10 Hz, never per update,
    docs/architecture.md) and follow theme changes."""
    layout = QVBoxLayout(chart)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(widget)
    chart.timer = QTimer(chart)
    chart.timer.setInterval(REDRAW_MS)
    chart.timer.timeout.connect(chart.redraw)
    chart.timer.start()
    theme.changed.connect(chart.restyle)
    chart.restyle()


class LatencyChart(QWidget):
    """Recent latency per stage, fed from `Metrics.snapshot()`."""

    timer: QTimer

    def __init__(self, theme: ThemeState, *, capacity: int = 2048,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.widget = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem()})
        self.plot: pg.PlotItem = self.widget.getPlotItem()
        self.plot.setLogMode(x=False, y=True)
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.buffers = {s: RingBuffer(capacity) for s in STAGES}
        self.seen = dict.fromkeys(STAGES, 0)
        self.curves: dict[str, pg.PlotDataItem] = {}
        for stage, color in zip(STAGES, theme.theme.series, strict=True):
            self.curves[stage] = self.plot.plot([], [], name=stage,
                                                pen=pg.mkPen(color, width=1))
        self.dirty = False
        self.redraws = 0
        _mount(self, self.widget, theme)

    def restyle(self) -> None:
        t = self.theme.theme
        self.widget.setBackground(t.chart_background)
        _style_plot(self.plot, self.theme)
        names = ("REST", "WebSocket", "reconcile")
        series = " · ".join(f"<span style='color:{c}'>{n}</span>"
                            for n, c in zip(names, t.series, strict=True))
        self.plot.setTitle(f"<span style='color:{t.chart_foreground}'>Latency (ms, log "
                           f"scale):</span> {series}")
        for stage, color in zip(STAGES, t.series, strict=True):
            self.curves[stage].setPen(pg.mkPen(color, width=1))

    def feed(self, snapshot: MetricsSnapshot) -> None:
        """Append the samples not seen yet (by each stage's running total)."""
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
            self.buffers[stage].extend([ts / 1000 for ts, _ in samples],
                                       [max(ms, MIN_MS) for _, ms in samples])
            self.dirty = True

    def redraw(self) -> None:
        if not self.dirty:
            return
        self.dirty = False
        self.redraws += 1
        for stage, buffer in self.buffers.items():
            x, y = buffer.view()
            self.curves[stage].setData(x, y)

    def points(self) -> Mapping[str, int]:
        return {s: b.count for s, b in self.buffers.items()}


class HistoryChart(QWidget):
    """Per run: duration (top) and discrepancies found (bottom), coloured by status."""

    timer: QTimer

    def __init__(self, theme: ThemeState, *, keep: int = 300,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.keep = keep
        self.widget = pg.GraphicsLayoutWidget()
        self.duration: pg.PlotItem = self.widget.addPlot(
            row=0, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.found: pg.PlotItem = self.widget.addPlot(
            row=1, col=0, axisItems={"bottom": pg.DateAxisItem()})
        self.found.setXLink(self.duration)
        self.duration_curve = self.duration.plot([], [])
        self.bars = pg.BarGraphItem(x=[], height=[], width=1.0)
        self.found.addItem(self.bars)
        self.runs: dict[str, tuple[float, float, int, RunStatus]] = {}
        self.dirty = False
        _mount(self, self.widget, theme)

    def restyle(self) -> None:
        t = self.theme.theme
        self.widget.setBackground(t.chart_background)
        for plot, title in ((self.duration, "Reconcile duration per run (ms)"),
                            (self.found, "Discrepancies per run")):
            _style_plot(plot, self.theme)
            plot.setTitle(title, color=t.chart_foreground)
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
        brushes = [pg.mkBrush(self.theme.hex(tones[r[3]])) for r in rows]
        line = self.theme.theme.series[2]
        self.duration_curve.setData(x, duration, pen=pg.mkPen(line, width=1), symbol="o",
                                    symbolSize=6, symbolBrush=brushes, symbolPen=None)
        width = 1.0
        if len(x) > 1:
            width = max(1.0, float(np.median(np.diff(x))) * 0.6)
        self.bars.setOpts(x=x, height=found, width=width,
                          brush=pg.mkBrush(self.theme.hex(Tone.WARNING)), pen=None)
