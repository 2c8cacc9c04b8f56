"""The charts read truthfully: local clock time along x at any zoom (never "10.660 …
10.690"), units on every axis, y labels that do not overlap, discrepancy counts that
never go below zero, no made-up 0.01 ms floor for a latency nobody measured, and a
broken line where no data came."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime

import numpy as np
import pyqtgraph as pg
import pytest
from pytestqt.qtbot import QtBot

from console.domain.reconciliation import (
    Discrepancy,
    DiscrepancyKind,
    RunRecord,
    RunStatus,
    RunTrigger,
)
from console.engine.metrics import Metrics
from console.ui.theme import ThemeState
from console.ui.widgets.charts import MIN_SPAN_S, HistoryChart, LatencyChart

CLOCK = re.compile(r"^\d\d:\d\d(:\d\d)?$")
NOW_MS = 1_796_000_000_000
MIN_LABEL_GAP_PX = 14.0
"""A line of axis text is about 14 px high: labels closer than that overlap."""


def history(qtbot: QtBot, runs: list[RunRecord]) -> HistoryChart:
    chart = HistoryChart(ThemeState("dark"))
    qtbot.addWidget(chart)
    chart.resize(520, 260)
    chart.show()
    chart.add_runs(runs)
    chart.redraw()
    qtbot.wait(10)
    return chart


def run(i: int, *, at_ms: int, found: int = 0, ms: int = 30) -> RunRecord:
    d = Discrepancy(DiscrepancyKind.STALE_ORDER, f"o{i}", "stale")
    return RunRecord(f"r{i}", "sim", "main", RunTrigger.PERIODIC, at_ms, at_ms + ms,
                     RunStatus.OK, discrepancies=(d,) * found)


class FakeClock:
    def __init__(self) -> None:
        self.ms = NOW_MS

    def __call__(self) -> int:
        return self.ms


@pytest.fixture
def latency(qtbot: QtBot) -> Iterator[tuple[LatencyChart, Metrics, FakeClock]]:
    clock = FakeClock()
    metrics = Metrics(window_s=None, clock_ms=clock)
    chart = LatencyChart(ThemeState("dark"))
    qtbot.addWidget(chart)
    chart.resize(520, 240)
    chart.show()
    yield chart, metrics, clock


def labels(axis: pg.AxisItem, size: float) -> list[tuple[float, str]]:
    """(value, text) of every labelled tick the axis draws over its view range."""
    lo, hi = axis.linkedView().viewRange()[0 if axis.orientation in ("bottom", "top") else 1]
    out = []
    for spacing, values in axis.tickValues(lo, hi, size):
        texts = axis.tickStrings(values, axis.scale, spacing or 1.0)
        out += [(v, t) for v, t in zip(values, texts, strict=True) if t]
    return sorted(out)


def test_time_axes_show_the_local_clock_even_for_runs_milliseconds_apart(
        qtbot: QtBot) -> None:
    chart = history(qtbot, [run(i, at_ms=NOW_MS + 15 * i) for i in range(3)])
    for plot in (chart.duration, chart.found):  # linked: the lower one shows the clock
        lo, hi = plot.viewRange()[0]
        assert hi - lo >= MIN_SPAN_S - 1e-6
        ticks = labels(plot.getAxis("bottom"), 480)
        assert len(ticks) >= 2
        for value, text in ticks:
            assert CLOCK.match(text), text
            assert text == datetime.fromtimestamp(value).strftime("%H:%M:%S")[:len(text)]
    assert "local time" in chart.found.getAxis("bottom").labelText


def test_every_axis_names_its_unit(qtbot: QtBot,
                                   latency: tuple[LatencyChart, Metrics, FakeClock]) -> None:
    chart = history(qtbot, [run(1, at_ms=NOW_MS)])
    lat, _, _ = latency
    assert (lat.plot.getAxis("left").labelText, lat.plot.getAxis("left").labelUnits) == (
        "latency", "ms")
    assert chart.duration.getAxis("left").labelUnits == "ms"
    assert chart.found.getAxis("left").labelText == "count"
    assert re.search(r"UTC[+-]\d\d:\d\d", lat.plot.getAxis("bottom").labelText)


def test_discrepancy_counts_start_at_zero_with_whole_ticks(qtbot: QtBot) -> None:
    chart = history(qtbot, [run(i, at_ms=NOW_MS + 60_000 * i) for i in range(5)])
    low, high = chart.found.viewRange()[1]
    assert low == 0 and high >= 1
    ticks = labels(chart.found.getAxis("left"), 60)
    assert ticks and all(v >= 0 and float(v).is_integer() and t.isdigit() for v, t in ticks)

    busy = history(qtbot, [run(i, at_ms=NOW_MS + 60_000 * i, found=i * 7) for i in range(5)])
    low, high = busy.found.viewRange()[1]
    assert low == 0 and high >= 28
    assert all(float(v).is_integer() for v, _ in labels(busy.found.getAxis("left"), 60))


@pytest.mark.parametrize("height", [40, 60, 120])
def test_y_labels_never_overlap(qtbot: QtBot, height: int,
                                latency: tuple[LatencyChart, Metrics, FakeClock]) -> None:
    chart = history(qtbot, [run(i, at_ms=NOW_MS + 60_000 * i, ms=20 + i) for i in range(5)])
    lat, metrics, clock = latency
    for i in range(50):
        clock.ms += 1000
        metrics.observe_latency("rest", 2 + i % 9)
    lat.feed(metrics.snapshot())
    lat.redraw()
    qtbot.wait(10)
    for axis in (chart.duration.getAxis("left"), chart.found.getAxis("left"),
                 lat.plot.getAxis("left")):
        lo, hi = axis.linkedView().viewRange()[1]
        ticks = labels(axis, height)
        assert ticks
        pixels = [(v - lo) / (hi - lo) * height for v, _ in ticks]
        gaps = np.diff(pixels)
        assert not len(gaps) or gaps.min() >= MIN_LABEL_GAP_PX, (axis, ticks)


def test_a_latency_nobody_measured_is_no_point(
        latency: tuple[LatencyChart, Metrics, FakeClock]) -> None:
    chart, metrics, clock = latency
    for _ in range(5):
        clock.ms += 1000
        metrics.observe_latency("ws", 0)  # below the clock's resolution: not measured
        metrics.observe_latency("rest", 4.5)
    chart.feed(metrics.snapshot())
    chart.redraw()
    assert chart.points()["ws"] == 0 and chart.points()["rest"] == 5
    ws = chart.curves["ws"].yData
    assert ws is None or not np.isfinite(ws).any()
    rest = chart.curves["rest"].yData
    assert rest is not None and float(np.nanmin(rest)) == pytest.approx(4.5)
    assert "WebSocket (no data)" in chart.plot.titleLabel.text


def test_the_line_breaks_where_no_sample_came(
        latency: tuple[LatencyChart, Metrics, FakeClock]) -> None:
    chart, metrics, clock = latency
    for i in range(20):
        clock.ms += 1000 if i != 10 else 300_000  # five silent minutes
        metrics.observe_latency("rest", 5)
    chart.feed(metrics.snapshot())
    chart.redraw()
    y = chart.curves["rest"].yData
    assert y is not None and int(np.isnan(y).sum()) == 1
    assert chart.points()["rest"] == 20


def test_the_run_line_breaks_where_runs_stopped(qtbot: QtBot) -> None:
    at = [NOW_MS + 60_000 * i for i in range(5)] + [
        NOW_MS + 3_600_000 + 60_000 * i for i in range(5)]
    chart = history(qtbot, [run(i, at_ms=t) for i, t in enumerate(at)])
    y = chart.duration_curve.yData
    assert y is not None and int(np.isnan(y).sum()) == 1
