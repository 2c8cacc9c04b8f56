"""console/engine/state_metrics.py: the health verdict, trading mode and rate budget as
Prometheus gauges, read at scrape time."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from console.domain.capabilities import EndpointBudget, RateBudget
from console.engine.health import HealthReport, HealthStatus
from console.engine.metrics import Metrics, build_registry
from console.engine.state_metrics import StateCollector

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _report(**changes: object) -> HealthReport:
    fields: dict[str, object] = dict(
        status=HealthStatus.OK, healthy=True, reasons=(), stream="connected",
        stream_down_s=None, last_ok_reconcile_age_s=12.5, last_run_status="ok",
        trading="trading")
    fields.update(changes)
    return HealthReport(**fields)  # type: ignore[arg-type]


def _samples(collector: StateCollector) -> Samples:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_states_are_one_hot_and_follow_the_report() -> None:
    report = [_report()]
    collector = StateCollector(health=lambda: report[0])
    first = _samples(collector)
    assert first[("recon_trading_state", (("state", "trading"),))] == 1
    assert first[("recon_trading_state", (("state", "halted"),))] == 0
    assert first[("recon_health_status", (("status", "ok"),))] == 1
    assert sum(v for (name, _), v in first.items() if name == "recon_health_status") == 1
    assert first[("recon_stream_connected", ())] == 1
    assert first[("recon_reconcile_last_ok_age_seconds", ())] == 12.5
    assert ("recon_stream_down_seconds", ()) not in first  # connected: no downtime

    report[0] = _report(status=HealthStatus.HALTED, healthy=False, trading="halted",
                        stream="reconnecting", stream_down_s=3.0,
                        last_ok_reconcile_age_s=None)
    halted = _samples(collector)  # read at scrape time, nothing cached
    assert halted[("recon_trading_state", (("state", "halted"),))] == 1
    assert halted[("recon_trading_state", (("state", "trading"),))] == 0
    assert halted[("recon_health_status", (("status", "halted"),))] == 1
    assert halted[("recon_health_status", (("status", "ok"),))] == 0
    assert halted[("recon_stream_connected", ())] == 0
    assert halted[("recon_stream_down_seconds", ())] == 3.0
    assert ("recon_reconcile_last_ok_age_seconds", ()) not in halted


def test_the_budget_leaves_out_figures_the_venue_did_not_give() -> None:
    budget = RateBudget((
        EndpointBudget("/v5/order/create", limit=10, remaining=0, reset_at=1_700_000_000_500,
                       seen_at=1),
        EndpointBudget("/v5/position/list", limit=None, remaining=None, reset_at=None,
                       seen_at=1)))
    samples = _samples(StateCollector(budget=lambda: budget))
    assert samples == {
        ("recon_rate_limit_remaining", (("endpoint", "/v5/order/create"),)): 0.0,
        ("recon_rate_limit_limit", (("endpoint", "/v5/order/create"),)): 10.0,
        ("recon_rate_limit_reset_timestamp_seconds",
         (("endpoint", "/v5/order/create"),)): 1_700_000_000.5,
    }
    assert _samples(StateCollector(budget=lambda: None)) == {}


def test_a_failing_source_costs_only_its_own_gauges(caplog: pytest.LogCaptureFixture) -> None:
    def broken() -> HealthReport:
        raise RuntimeError("boom")

    registry = build_registry(Metrics())
    registry.register(StateCollector(
        health=broken, budget=lambda: RateBudget((EndpointBudget("e", 5, 4, None, 1),))))
    with caplog.at_level(logging.ERROR, logger="console.engine.state_metrics"):
        text = generate_latest(registry).decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert "recon_trading_state" not in names and "recon_health_status" not in names
    assert {"recon_rate_limit_remaining", "recon_latency_seconds", "recon_reconcile_runs"} <= names
    assert "the health report failed" in caplog.text
