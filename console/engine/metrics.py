"""The engine's measurements, for the operator's screen and for Prometheus.

`Metrics` is the `Telemetry` the adapters are given. It keeps two views of latency:
a bounded window of recent samples (timestamps + ms) whose percentiles answer "how is
it now" on the UI, and cumulative histograms that Prometheus needs to compute rates and
quantiles over any range. Everything else is counters and last-run facts.

Telemetry must never break the code it observes: bad inputs (negative counts, NaN
latencies) are dropped, not raised. Calls may come from worker threads (blocking venue
clients), so state is guarded by a lock.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from console.domain.telemetry import Labels, Telemetry

log = logging.getLogger(__name__)

STAGES = ("rest", "ws", "reconcile")
REST_ERROR_CLASSES = ("transient", "rate_limited", "fatal", "unknown_outcome")
REST_ERRORS = "rest_errors"
WS_RECONNECTS = "ws_reconnects"
RECONCILE_FAILURES = "reconcile_failures"
QUANTILES = (50, 95, 99)
DEFAULT_BUCKETS_MS: tuple[float, ...] = (
    1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000)
NAMESPACE = "recon"

_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (never interpolates: a reported
    p99 is a latency that really happened)."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """One stage over the recent window; None fields when the window is empty."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    last: float | None
    total_count: int
    """Every sample since start, not just the window's."""


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """A consistent copy for the UI: taken under the lock, never changes afterwards."""

    taken_at_ms: int
    latency: Mapping[str, LatencySummary]
    recent: Mapping[str, tuple[tuple[int, float], ...]]
    """(epoch ms, latency ms) samples in the window, oldest first, for charts."""
    rest_errors: Mapping[str, int]
    ws_reconnects: int
    consecutive_reconcile_failures: int
    last_run_at_ms: int | None
    last_run_duration_ms: float | None
    last_run_status: str | None
    last_discrepancies: Mapping[str, int]
    total_discrepancies: Mapping[str, int]
    runs_by_status: Mapping[str, int]
    counters: Mapping[tuple[str, Labels], int]

    @property
    def last_discrepancy_count(self) -> int:
        return sum(self.last_discrepancies.values())


class _Histogram:
    __slots__ = ("bucket_counts", "count", "sum_ms")

    def __init__(self, n_buckets: int) -> None:
        self.bucket_counts = [0] * n_buckets  # non-cumulative; +Inf is `count`
        self.count = 0
        self.sum_ms = 0.0


def _norm_labels(labels: Labels) -> Labels:
    return tuple(sorted((str(k), str(v)) for k, v in labels))


class Metrics:
    """Implements `console.domain.telemetry.Telemetry`; see the module docstring.

    `window` bounds the recent samples kept per stage; `window_s`, when set, also drops
    samples older than that from the percentiles. `record_run` feeds the "reconcile"
    latency itself: callers should not also `observe_latency("reconcile", ...)`.
    """

    def __init__(self, *, window: int = 1024, window_s: float | None = 300.0,
                 buckets_ms: Sequence[float] = DEFAULT_BUCKETS_MS,
                 clock_ms: Callable[[], int] = _wall_ms) -> None:
        if window < 1:
            raise ValueError("window must be >= 1")
        if list(buckets_ms) != sorted(set(buckets_ms)) or not buckets_ms:
            raise ValueError("buckets_ms must be strictly increasing and non-empty")
        self.window = window
        self.window_s = window_s
        self.buckets_ms = tuple(float(b) for b in buckets_ms)
        self._clock_ms = clock_ms
        self._lock = threading.Lock()
        self._recent: dict[str, deque[tuple[int, float]]] = {}
        self._hist: dict[str, _Histogram] = {}
        self._counters: dict[tuple[str, Labels], int] = {}
        self._consecutive_failures = 0
        self._last_run_at_ms: int | None = None
        self._last_run_duration_ms: float | None = None
        self._last_run_status: str | None = None
        self._last_discrepancies: dict[str, int] = {}
        self._total_discrepancies: dict[str, int] = {}
        self._runs_by_status: dict[str, int] = {}

    # -- Telemetry -----------------------------------------------------------------------

    def observe_latency(self, stage: str, ms: float, labels: Labels = ()) -> None:
        """Record one timed operation. Labels are not kept for latency: the histograms are
        per stage, which bounds their cardinality."""
        try:
            value = float(ms)
        except (TypeError, ValueError):
            log.debug("metrics: dropped latency %r for %s", ms, stage)
            return
        if not math.isfinite(value):
            log.debug("metrics: dropped latency %r for %s", ms, stage)
            return
        with self._lock:
            self._observe(str(stage), max(0.0, value))

    def count(self, name: str, labels: Labels = (), amount: int = 1) -> None:
        """Increment counter `name`; negative amounts are dropped (counters only rise)."""
        if not isinstance(amount, int) or amount < 0:
            log.debug("metrics: dropped count %r for %s", amount, name)
            return
        key = (str(name), _norm_labels(labels))
        with self._lock:
            self._counters[key] = self._counters.get(key, 0) + amount

    # -- reconciliation ------------------------------------------------------------------

    def record_run(self, started_at_ms: int, duration_ms: float, status: str,
                   discrepancies_by_kind: Mapping[str, int]) -> None:
        """One finished reconciliation. A "failed" run extends the failure streak; any
        other status ends it."""
        found = {str(k): int(v) for k, v in discrepancies_by_kind.items() if int(v) > 0}
        status = str(status)
        with self._lock:
            self._last_run_at_ms = int(started_at_ms)
            self._last_run_duration_ms = float(duration_ms)
            self._last_run_status = status
            self._last_discrepancies = found
            for kind, n in found.items():
                self._total_discrepancies[kind] = self._total_discrepancies.get(kind, 0) + n
            self._runs_by_status[status] = self._runs_by_status.get(status, 0) + 1
            if status == "failed":
                self._consecutive_failures += 1
            else:
                self._consecutive_failures = 0
            if math.isfinite(duration_ms):
                self._observe("reconcile", max(0.0, float(duration_ms)))

    def reconcile_failed(self) -> None:
        """A run that crashed before it could be recorded (a bug, not a venue outage)."""
        with self._lock:
            self._consecutive_failures += 1
            key = (RECONCILE_FAILURES, ())
            self._counters[key] = self._counters.get(key, 0) + 1

    # -- reading -------------------------------------------------------------------------

    def snapshot(self) -> MetricsSnapshot:
        with self._lock:
            now = self._clock_ms()
            recent = {stage: self._window(stage, now) for stage in self._all_stages()}
            latency = {stage: self._summary(stage, samples) for stage, samples in recent.items()}
            rest_errors = dict.fromkeys(REST_ERROR_CLASSES, 0)
            ws_reconnects = 0
            for (name, labels), value in self._counters.items():
                if name == REST_ERRORS:
                    cls = dict(labels).get("class", "unknown")
                    rest_errors[cls] = rest_errors.get(cls, 0) + value
                elif name == WS_RECONNECTS:
                    ws_reconnects += value
            return MetricsSnapshot(
                taken_at_ms=now,
                latency=MappingProxyType(latency),
                recent=MappingProxyType(recent),
                rest_errors=MappingProxyType(rest_errors),
                ws_reconnects=ws_reconnects,
                consecutive_reconcile_failures=self._consecutive_failures,
                last_run_at_ms=self._last_run_at_ms,
                last_run_duration_ms=self._last_run_duration_ms,
                last_run_status=self._last_run_status,
                last_discrepancies=MappingProxyType(dict(self._last_discrepancies)),
                total_discrepancies=MappingProxyType(dict(self._total_discrepancies)),
                runs_by_status=MappingProxyType(dict(self._runs_by_status)),
                counters=MappingProxyType(dict(self._counters)),
            )

    def histograms(self) -> dict[str, tuple[tuple[tuple[float, int], ...], int, float]]:
        """Per stage: ((upper bound ms, cumulative count), ...), count, sum ms."""
        with self._lock:
            out = {}
            for stage in self._all_stages():
                hist = self._hist.get(stage) or _Histogram(len(self.buckets_ms))
                running, cumulative = 0, []
                for bound, n in zip(self.buckets_ms, hist.bucket_counts, strict=True):
                    running += n
                    cumulative.append((bound, running))
                out[stage] = (tuple(cumulative), hist.count, hist.sum_ms)
            return out

    # -- internals (lock held) -----------------------------------------------------------

    def _all_stages(self) -> list[str]:
        return [*STAGES, *sorted(set(self._recent) - set(STAGES))]

    def _observe(self, stage: str, ms: float) -> None:
        samples = self._recent.get(stage)
        if samples is None:
            samples = self._recent[stage] = deque(maxlen=self.window)
            self._hist[stage] = _Histogram(len(self.buckets_ms))
        samples.append((self._clock_ms(), ms))
        hist = self._hist[stage]
        hist.count += 1
        hist.sum_ms += ms
        for i, bound in enumerate(self.buckets_ms):
            if ms <= bound:
                hist.bucket_counts[i] += 1
                break

    def _window(self, stage: str, now: int) -> tuple[tuple[int, float], ...]:
        samples = self._recent.get(stage, ())
        if self.window_s is None:
            return tuple(samples)
        oldest = now - self.window_s * 1000
        return tuple(s for s in samples if s[0] >= oldest)

    def _summary(self, stage: str, samples: tuple[tuple[int, float], ...]) -> LatencySummary:
        hist = self._hist.get(stage)
        total = hist.count if hist is not None else 0
        if not samples:
            return LatencySummary(0, None, None, None, None, None, total)
        ordered = sorted(ms for _, ms in samples)
        p50, p95, p99 = (percentile(ordered, q) for q in QUANTILES)
        return LatencySummary(len(ordered), p50, p95, p99, ordered[-1], samples[-1][1], total)


# -- Prometheus ---------------------------------------------------------------------------


def _metric_name(name: str) -> str:
    clean = _INVALID_NAME_CHARS.sub("_", name).strip("_") or "unnamed"
    return f"{NAMESPACE}_{clean}"


def _label_name(name: str) -> str:
    clean = _INVALID_NAME_CHARS.sub("_", name) or "label"
    return f"_{clean}" if clean[0].isdigit() else clean


_BUILTIN_FAMILIES = frozenset(_metric_name(n) for n in (
    "latency_seconds", "latency_window_seconds", "reconcile_consecutive_failures",
    "reconcile_last_run_timestamp_seconds", "reconcile_last_run_duration_seconds",
    "reconcile_last_run_discrepancies", "reconcile_discrepancies", "reconcile_runs"))


class MetricsCollector:
    """A prometheus_client collector reading a `Metrics` at scrape time (no double book-keeping)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        snap = self.metrics.snapshot()
        yield from self._latency(snap)
        yield from self._counters(snap)
        yield from self._reconcile(snap)

    def _latency(self, snap: MetricsSnapshot) -> Iterable[Metric]:
        hist = HistogramMetricFamily(
            _metric_name("latency_seconds"), "Latency of timed operations by stage "
            "(rest, ws, reconcile), cumulative since start.", labels=["stage"])
        for stage, (buckets, count, sum_ms) in self.metrics.histograms().items():
            pairs = [(_go_float(bound / 1000), float(n)) for bound, n in buckets]
            pairs.append(("+Inf", float(count)))
            hist.add_metric([stage], pairs, sum_value=sum_ms / 1000)
        yield hist
        window = GaugeMetricFamily(
            _metric_name("latency_window_seconds"), "Latency percentiles over the recent "
            "window of samples, by stage.", labels=["stage", "quantile"])
        for stage, summary in snap.latency.items():
            for q, value in zip(QUANTILES, (summary.p50, summary.p95, summary.p99), strict=True):
                if value is not None:
                    window.add_metric([stage, _go_float(q / 100)], value / 1000)
        yield window

    def _counters(self, snap: MetricsSnapshot) -> Iterable[Metric]:
        grouped: dict[str, list[tuple[dict[str, str], int]]] = {}
        seeded: list[tuple[str, Labels]] = [
            *((REST_ERRORS, (("class", c),)) for c in REST_ERROR_CLASSES),
            (WS_RECONNECTS, ()), (RECONCILE_FAILURES, ())]
        values = dict.fromkeys(seeded, 0)
        values.update(snap.counters)
        for (name, labels), value in values.items():
            family = _metric_name(name)
            if family in _BUILTIN_FAMILIES:
                continue
            grouped.setdefault(family, []).append(
                ({_label_name(k): v for k, v in labels}, value))
        for family, rows in sorted(grouped.items()):
            label_names = sorted({k for named, _ in rows for k in named})
            counter = CounterMetricFamily(family, f"Count of {family[len(NAMESPACE) + 1:]} "
                                                  "events since start.", labels=label_names)
            merged: dict[tuple[str, ...], int] = {}
            for named, count in rows:
                row = tuple(named.get(k, "") for k in label_names)
                merged[row] = merged.get(row, 0) + count
            for row, count in sorted(merged.items()):
                counter.add_metric(list(row), float(count))
            yield counter

    def _reconcile(self, snap: MetricsSnapshot) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            _metric_name("reconcile_consecutive_failures"),
            "Reconciliations failed in a row (0 after any run that was not a failure).",
            value=float(snap.consecutive_reconcile_failures))
        if snap.last_run_at_ms is not None:
            yield GaugeMetricFamily(
                _metric_name("reconcile_last_run_timestamp_seconds"),
                "Start of the last reconciliation, Unix time.",
                value=snap.last_run_at_ms / 1000)
        if snap.last_run_duration_ms is not None:
            yield GaugeMetricFamily(
                _metric_name("reconcile_last_run_duration_seconds"),
                "Duration of the last reconciliation.", value=snap.last_run_duration_ms / 1000)
        last = GaugeMetricFamily(
            _metric_name("reconcile_last_run_discrepancies"),
            "Discrepancies found by the last reconciliation, by kind.", labels=["kind"])
        for kind, n in sorted(snap.last_discrepancies.items()):
            last.add_metric([kind], float(n))
        yield last
        total = CounterMetricFamily(
            _metric_name("reconcile_discrepancies"),
            "Discrepancies found since start, by kind (summed over runs).", labels=["kind"])
        for kind, n in sorted(snap.total_discrepancies.items()):
            total.add_metric([kind], float(n))
        yield total
        runs = CounterMetricFamily(_metric_name("reconcile_runs"),
                                   "Reconciliations recorded since start, by status.",
                                   labels=["status"])
        for status, n in sorted(snap.runs_by_status.items()):
            runs.add_metric([status], float(n))
        yield runs


def _go_float(value: float) -> str:
    """Bucket bounds and quantiles as label values ("0.001", "2.5", "60.0")."""
    return repr(float(value))


def build_registry(metrics: Metrics) -> CollectorRegistry:
    """A registry of its own (not the process-global one), holding only our collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MetricsCollector(metrics))
    return registry


def _conforms(metrics: Metrics) -> Telemetry:
    """Static check (mypy): `Metrics` satisfies the `Telemetry` protocol."""
    return metrics
