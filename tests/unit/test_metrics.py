"""Metrics: windowed percentiles, histograms, counters and reconcile facts (no I/O)."""

from __future__ import annotations

import math
import threading

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from console.domain.telemetry import Telemetry
from console.engine.metrics import (
    REST_ERROR_CLASSES,
    Metrics,
    build_registry,
    percentile,
)


class Clock:
    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def test_is_a_telemetry() -> None:
    telemetry: Telemetry = Metrics()
    telemetry.observe_latency("rest", 1.0)
    telemetry.count("rest_errors", (("class", "fatal"),))


def test_percentile_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 50) == percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_latency_window_percentiles() -> None:
    clock = Clock()
    m = Metrics(window=1000, window_s=None, clock_ms=clock)
    for v in range(100, 0, -1):  # order of arrival does not matter
        m.observe_latency("rest", float(v))
    s = m.snapshot().latency["rest"]
    assert (s.count, s.p50, s.p95, s.p99, s.max, s.last, s.total_count) == (
        100, 50.0, 95.0, 99.0, 100.0, 1.0, 100)
    empty = m.snapshot().latency["ws"]
    assert empty.count == 0 and empty.p50 is None and empty.total_count == 0


def test_window_is_bounded_by_size_and_age() -> None:
    clock = Clock()
    m = Metrics(window=10, window_s=60, clock_ms=clock)
    for v in range(20):
        m.observe_latency("ws", float(v))
    snap = m.snapshot()
    assert [ms for _, ms in snap.recent["ws"]] == [float(v) for v in range(10, 20)]
    assert snap.latency["ws"].total_count == 20  # the histogram keeps everything
    clock.now += 30_000
    m.observe_latency("ws", 1000.0)
    clock.now += 31_000  # the first 10 samples are now 61 s old
    snap = m.snapshot()
    assert snap.recent["ws"] == ((clock.now - 31_000, 1000.0),)
    assert snap.latency["ws"].p50 == 1000.0


def test_bad_latencies_and_counts_are_dropped_not_raised() -> None:
    m = Metrics()
    m.observe_latency("rest", math.nan)
    m.observe_latency("rest", math.inf)
    m.observe_latency("rest", "x")  # type: ignore[arg-type]
    m.observe_latency("rest", -5.0)  # clock skew: clamped to 0
    m.count("ws_reconnects", amount=-1)
    snap = m.snapshot()
    assert snap.latency["rest"].count == 1 and snap.latency["rest"].max == 0.0
    assert snap.ws_reconnects == 0


def test_counters_rest_errors_and_reconnects() -> None:
    m = Metrics()
    m.count("rest_errors", (("class", "transient"),))
    m.count("rest_errors", (("class", "transient"), ("venue", "bybit")), amount=2)
    m.count("rest_errors", (("class", "rate_limited"),))
    m.count("ws_reconnects")
    m.count("ws_reconnects", (("venue", "bybit"),), amount=3)
    m.count("orders_placed", (("b", "2"), ("a", "1")))
    m.count("orders_placed", (("a", "1"), ("b", "2")))  # label order does not matter
    snap = m.snapshot()
    assert dict(snap.rest_errors) == {"transient": 3, "rate_limited": 1, "fatal": 0,
                                      "unknown_outcome": 0}
    assert snap.ws_reconnects == 4
    assert snap.counters[("orders_placed", (("a", "1"), ("b", "2")))] == 2


def test_record_run_and_failure_streak() -> None:
    m = Metrics()
    m.record_run(1_000, 250.0, "ok", {"missing_fill": 2, "status_mismatch": 1, "x": 0})
    m.record_run(2_000, 150.0, "partial", {"missing_fill": 1})
    snap = m.snapshot()
    assert (snap.last_run_at_ms, snap.last_run_duration_ms, snap.last_run_status) == (
        2_000, 150.0, "partial")
    assert dict(snap.last_discrepancies) == {"missing_fill": 1}
    assert snap.last_discrepancy_count == 1
    assert dict(snap.total_discrepancies) == {"missing_fill": 3, "status_mismatch": 1}
    assert dict(snap.runs_by_status) == {"ok": 1, "partial": 1}
    assert snap.latency["reconcile"].count == 2 and snap.latency["reconcile"].max == 250.0
    m.record_run(3_000, 10.0, "failed", {})
    m.reconcile_failed()
    assert m.snapshot().consecutive_reconcile_failures == 2
    m.record_run(4_000, 10.0, "ok", {})
    snap = m.snapshot()
    assert snap.consecutive_reconcile_failures == 0
    assert snap.counters[("reconcile_failures", ())] == 1


def test_snapshot_is_frozen_and_detached() -> None:
    m = Metrics()
    m.record_run(1, 1.0, "ok", {"a": 1})
    snap = m.snapshot()
    m.record_run(2, 1.0, "ok", {"b": 1})
    assert dict(snap.last_discrepancies) == {"a": 1}
    with pytest.raises(TypeError):
        snap.last_discrepancies["c"] = 1  # type: ignore[index]
    with pytest.raises(AttributeError):
        snap.ws_reconnects = 3  # type: ignore[misc]


def test_histograms_are_cumulative() -> None:
    m = Metrics(buckets_ms=(10, 100, 1000))
    for v in (5.0, 10.0, 50.0, 500.0, 5000.0):
        m.observe_latency("rest", v)
    buckets, count, total = m.histograms()["rest"]
    assert buckets == ((10.0, 2), (100.0, 3), (1000.0, 4))
    assert count == 5 and total == 5565.0
    with pytest.raises(ValueError):
        Metrics(buckets_ms=(10, 5))


def test_thread_safety() -> None:
    m = Metrics(window=100_000, window_s=None)

    def work() -> None:
        for _ in range(2_000):
            m.observe_latency("rest", 1.0)
            m.count("rest_errors", (("class", "fatal"),))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    snap = m.snapshot()
    assert snap.latency["rest"].total_count == 8_000
    assert snap.rest_errors["fatal"] == 8_000


def test_prometheus_exposition() -> None:
    m = Metrics(buckets_ms=(10, 100))
    m.observe_latency("rest", 5.0)
    m.observe_latency("rest", 50.0)
    m.count("rest_errors", (("class", "fatal"),), amount=2)
    m.count("weird-name!", (("1bad", "v"),))
    m.count("reconcile_runs")  # would collide with a built-in family: left out
    m.record_run(1_700_000_000_000, 1500.0, "ok", {"missing_fill": 2})
    text = generate_latest(build_registry(m)).decode()
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(text) for s in f.samples}
    assert samples[("recon_latency_seconds_bucket", (("le", "0.01"), ("stage", "rest")))] == 1
    assert samples[("recon_latency_seconds_bucket", (("le", "0.1"), ("stage", "rest")))] == 2
    assert samples[("recon_latency_seconds_bucket", (("le", "+Inf"), ("stage", "rest")))] == 2
    assert samples[("recon_latency_seconds_count", (("stage", "rest"),))] == 2
    assert samples[("recon_latency_seconds_sum", (("stage", "rest"),))] == pytest.approx(0.055)
    assert samples[("recon_latency_seconds_count", (("stage", "reconcile"),))] == 1
    assert samples[("recon_latency_seconds_count", (("stage", "ws"),))] == 0
    for cls in REST_ERROR_CLASSES:
        assert samples[("recon_rest_errors_total", (("class", cls),))] == (
            2 if cls == "fatal" else 0)
    assert samples[("recon_ws_reconnects_total", ())] == 0
    assert samples[("recon_weird_name_total", (("_1bad", "v"),))] == 1
    assert samples[("recon_reconcile_runs_total", (("status", "ok"),))] == 1
    assert samples[("recon_reconcile_last_run_timestamp_seconds", ())] == 1_700_000_000.0
    assert samples[("recon_reconcile_last_run_duration_seconds", ())] == 1.5
    assert samples[("recon_reconcile_last_run_discrepancies", (("kind", "missing_fill"),))] == 2
    assert samples[("recon_reconcile_discrepancies_total", (("kind", "missing_fill"),))] == 2
    assert samples[("recon_reconcile_consecutive_failures", ())] == 0
    assert samples[("recon_latency_window_seconds", (("quantile", "0.5"), ("stage", "rest")))] == (
        0.005)
