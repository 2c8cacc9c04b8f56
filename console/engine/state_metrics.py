"""Gauges of the engine's state, read when Prometheus scrapes: the health verdict, the
trading mode (trading, paused by a desync, halted by an emergency stop), the private
stream, the age of the last OK reconciliation, and the rate-limit budget the venue last
reported for each endpoint.

Why a collector beside `console.engine.metrics.MetricsCollector` rather than more fields in
`Metrics`: these are not events that the adapters count but answers the engine already
gives (`HealthMonitor.report`, the venue's `rate_budget`). Reading them at scrape time keeps
one source of truth, the same one /healthz and the window show. States are one-hot gauges
(`recon_trading_state{state="halted"} 1`, the others 0), so a query or an alert names the
state it means instead of decoding a number. The Grafana dashboard
(resources/grafana/recon-console.json) is built over these and `console.engine.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from console.domain.capabilities import RateBudget
from console.domain.events import ConnectionState
from console.engine.health import HealthReport, HealthStatus
from console.engine.metrics import NAMESPACE

log = logging.getLogger(__name__)

HealthFn = Callable[[], HealthReport]
BudgetFn = Callable[[], RateBudget | None]
TRADING_STATES = ("trading", "paused", "halted")
"""`HealthReport.trading`'s values."""


def _name(name: str) -> str:
    return f"{NAMESPACE}_{name}"


class StateCollector:
    """A prometheus_client collector over a health report and a rate budget, either optional.

    A source that raises costs its own families only: the rest of /metrics is still served
    (the failure is logged), since a scrape that fails whole hides the metrics that would
    explain why."""

    def __init__(self, *, health: HealthFn | None = None, budget: BudgetFn | None = None) -> None:
        self.health = health
        self.budget = budget

    def collect(self) -> Iterator[Metric]:
        if self.health is not None:
            try:
                report = self.health()
            except Exception:
                log.exception("metrics: the health report failed; its gauges are left out")
            else:
                yield from health_families(report)
        if self.budget is not None:
            try:
                budget = self.budget()
            except Exception:
                log.exception("metrics: the rate budget failed; its gauges are left out")
            else:
                yield from budget_families(budget)


def _one_hot(name: str, doc: str, label: str, values: Iterable[str],
             current: str) -> GaugeMetricFamily:
    family = GaugeMetricFamily(_name(name), doc, labels=[label])
    for value in values:
        family.add_metric([value], 1.0 if value == current else 0.0)
    return family


def health_families(report: HealthReport) -> list[Metric]:
    """The verdict of /healthz as gauges."""
    families: list[Metric] = [
        _one_hot("health_status", "The engine's health verdict, as GET /healthz answers it: "
                 "1 for the current status, 0 for the others.", "status",
                 (s.value for s in HealthStatus), report.status.value),
        _one_hot("trading_state", "Trading mode: halted by an emergency stop, paused by a "
                 "hard desync, or trading; 1 for the current one.", "state",
                 TRADING_STATES, report.trading),
        GaugeMetricFamily(_name("stream_connected"), "1 while the private stream is "
                          "connected, 0 while it connects, reconnects or is down.",
                          value=1.0 if report.stream == ConnectionState.CONNECTED.value
                          else 0.0),
    ]
    if report.stream_down_s is not None:
        families.append(GaugeMetricFamily(
            _name("stream_down_seconds"), "How long the private stream has not been "
            "connected (absent while it is).", value=report.stream_down_s))
    if report.last_ok_reconcile_age_s is not None:
        families.append(GaugeMetricFamily(
            _name("reconcile_last_ok_age_seconds"), "Seconds since the last reconciliation "
            "that ended OK (absent before the first one).",
            value=report.last_ok_reconcile_age_s))
    return families


def budget_families(budget: RateBudget | None) -> list[Metric]:
    """The venue's last reported limit figures per endpoint; a figure the venue did not
    give is left out rather than shown as 0 (0 remaining means "stop sending")."""
    remaining = GaugeMetricFamily(
        _name("rate_limit_remaining"), "Requests (or credits) left in the current window, "
        "as the venue last reported them, per endpoint.", labels=["endpoint"])
    limit = GaugeMetricFamily(
        _name("rate_limit_limit"), "The window's size in requests (or credits), as the "
        "venue last reported it, per endpoint.", labels=["endpoint"])
    reset = GaugeMetricFamily(
        _name("rate_limit_reset_timestamp_seconds"), "When the venue refills the window "
        "(venue clock, Unix time), per endpoint.", labels=["endpoint"])
    for endpoint in budget.endpoints if budget is not None else ():
        if endpoint.remaining is not None:
            remaining.add_metric([endpoint.endpoint], float(endpoint.remaining))
        if endpoint.limit is not None:
            limit.add_metric([endpoint.endpoint], float(endpoint.limit))
        if endpoint.reset_at is not None:
            reset.add_metric([endpoint.endpoint], endpoint.reset_at / 1000)
    return [remaining, limit, reset]
