"""resources/grafana/recon-console.json against what /metrics really serves: every metric,
label and label value its PromQL names exists on the exporter (console/engine/metrics.py
and console/engine/state_metrics.py behind start_metrics_server), its data source is the
import-time input ${DS_PROMETHEUS}, and it has the panels the operator asked for."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from console.domain.alerts import AlertRule
from console.domain.capabilities import EndpointBudget, RateBudget
from console.domain.reconciliation import DiscrepancyKind
from console.engine.health import HealthReport, HealthStatus
from console.engine.metrics import Metrics
from console.engine.metrics_http import start_metrics_server

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "resources" / "grafana" / "recon-console.json"
DATASOURCE = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
TARGET_LABELS = {"instance", "job"}
"""Added by Prometheus to every scraped series."""
FED_COUNTERS = {"rest_throttled": "endpoint", "rest_paced": "endpoint", "ws_reconnects": "venue"}
"""Counters that appear on /metrics only once something counted them: fed below, and each
must be counted (with that label) somewhere in console/, or the panel would stay empty."""
FUNCTIONS = {"sum", "max", "min", "avg", "count", "rate", "increase", "irate",
             "histogram_quantile", "vector", "label_values", "clamp_min", "clamp_max", "abs"}
KEYWORDS = {"bool", "or", "and", "unless", "offset"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
SELECTOR = re.compile(r"([A-Za-z_:][\w:]*)\s*\{([^}]*)\}")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
IDENT = re.compile(r"[A-Za-z_:][\w:]*")


def _dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text("utf-8"))
    return data


def _panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _queries(board: dict[str, Any]) -> list[str]:
    exprs = [t["expr"] for p in _panels(board) for t in p.get("targets", [])]
    exprs += [v["query"]["query"] for v in board["templating"]["list"] if v["type"] == "query"]
    return exprs


def _served() -> dict[str, dict[str, set[str]]]:
    """Sample name -> label name -> values, from a real exporter over HTTP, after one of
    each thing the engine records."""
    metrics = Metrics()
    metrics.observe_latency("rest", 12.0)
    metrics.observe_latency("ws", 3.0)
    metrics.record_run(1_700_000_000_000, 900.0, "failed", {})
    metrics.record_run(1_700_000_060_000, 800.0, "ok",
                       {"balance_mismatch": 1, "bracket_missing_protection": 1})
    metrics.reconcile_failed()
    metrics.count("rest_errors", (("class", "malformed"),))
    for name, label in FED_COUNTERS.items():
        metrics.count(name, ((label, "x"),))
    report = HealthReport(status=HealthStatus.DEGRADED, healthy=True, reasons=(),
                          stream="reconnecting", stream_down_s=4.0,
                          last_ok_reconcile_age_s=60.0, last_run_status="failed",
                          trading="trading")
    budget = RateBudget((EndpointBudget("/v5/order/create", limit=10, remaining=7,
                                        reset_at=1_700_000_001_000, seen_at=1),))

    async def scrape() -> str:
        stop, port = await start_metrics_server(metrics, 0, health=lambda: report,
                                                budget=lambda: budget)
        try:
            async with (aiohttp.ClientSession() as http,
                        http.get(f"http://127.0.0.1:{port}/metrics") as resp):
                assert resp.status == 200
                return await resp.text()
        finally:
            await stop()

    served: dict[str, dict[str, set[str]]] = {}
    for family in text_string_to_metric_families(asyncio.run(scrape())):
        for sample in family.samples:
            labels = served.setdefault(sample.name, {})
            for key, value in sample.labels.items():
                labels.setdefault(key, set()).add(value)
    return served


def _check(expr: str, served: dict[str, dict[str, set[str]]]) -> list[str]:
    """What in `expr` the exporter does not serve (empty: all of it is real)."""
    problems: list[str] = []
    named: set[str] = set()
    for metric, body in SELECTOR.findall(expr):
        if metric not in served:
            problems.append(f"{metric}: not served")
            continue
        named.add(metric)
        for label, _op, value in MATCHER.findall(body):
            if label in TARGET_LABELS:
                continue
            values = served[metric].get(label)
            if values is None:
                problems.append(f"{metric}: no label {label!r}")
            elif label == "kind":  # discrepancy kinds appear once found: check the enum
                if value not in {k.value for k in DiscrepancyKind}:
                    problems.append(f"{metric}: no discrepancy kind {value!r}")
            elif value not in values and not value.startswith("$"):
                problems.append(f"{metric}: {label}={value!r} never served ({sorted(values)})")
    bare = SELECTOR.sub(lambda m: m.group(1), expr)
    bare = re.sub(r'"[^"]*"|\[[^\]]*\]|\$\w+', " ", bare)
    for _kind, labels in GROUPING.findall(bare):
        for label in (x.strip() for x in labels.split(",") if x.strip()):
            if label not in TARGET_LABELS and not any(label in served[m] for m in named):
                problems.append(f"grouping by {label!r}: no such label on {sorted(named)}")
    bare = GROUPING.sub(" ", bare)
    for word in IDENT.findall(bare):
        if word in FUNCTIONS or word in KEYWORDS or word in TARGET_LABELS:
            continue
        if word not in served:
            problems.append(f"{word}: not a PromQL function nor a served metric")
    return problems


def test_every_metric_and_label_in_the_queries_is_served() -> None:
    served = _served()
    board = _dashboard()
    queries = _queries(board)
    assert len(queries) > 25
    problems = {q: p for q in queries if (p := _check(q, served))}
    assert problems == {}
    # and the check itself catches a wrong name, label or value
    assert _check('sum(rate(recon_reconcile_run_total{instance=~"$instance"}[5m]))', served)
    assert _check('recon_trading_state{state="stopped"}', served)
    assert _check('sum by (venue) (recon_reconcile_runs_total)', served)
    assert _check('up{job="x"}', served)


def test_the_counters_it_needs_to_see_counted_are_counted_by_the_console() -> None:
    source = "\n".join(p.read_text("utf-8") for p in (ROOT / "console").rglob("*.py"))
    queries = "\n".join(_queries(_dashboard()))
    for name, label in FED_COUNTERS.items():
        assert f"recon_{name}_total" in queries
        assert re.search(rf'\.count\(\s*"{name}",\s*\(\("{label}",', source), name


def test_it_imports_cleanly_with_a_prometheus_input() -> None:
    board = _dashboard()
    assert board["uid"] == "recon-console" and board["id"] is None
    assert [(i["name"], i["type"], i["pluginId"]) for i in board["__inputs"]] == [
        ("DS_PROMETHEUS", "datasource", "prometheus")]
    assert {r["id"] for r in board["__requires"]} >= {"grafana", "prometheus", "timeseries",
                                                       "stat"}
    for variable in board["templating"]["list"]:
        assert variable["datasource"] == DATASOURCE
    ids = []
    cells: set[tuple[int, int]] = set()
    for panel in _panels(board):
        ids.append(panel["id"])
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"] and panel.get("description"), panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(set(refs)) == len(refs)
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE
    assert len(set(ids)) == len(ids)
    assert '"uid": "' not in DASHBOARD.read_text("utf-8").replace(
        '"uid": "${DS_PROMETHEUS}"', "").replace('"uid": "-- Grafana --"', "").replace(
        '"uid": "recon-console"', ""), "a data source uid from someone's Grafana"


def test_it_has_the_panels_an_operator_asked_for() -> None:
    board = _dashboard()
    by_title = {p["title"]: [t["expr"] for t in p.get("targets", [])] for p in _panels(board)}

    def shown(pattern: str) -> list[str]:
        return [title for title, exprs in by_title.items()
                if any(re.search(pattern, e) for e in exprs)]

    assert shown(r"recon_reconcile_runs_total")  # runs
    assert shown(r'recon_latency_seconds_bucket\{[^}]*stage="reconcile"')  # duration
    assert shown(r"by \(kind\).*recon_reconcile_discrepancies_total")  # by kind
    assert shown(r'recon_latency_seconds_bucket\{[^}]*stage="rest"')  # API latency
    assert shown(r'recon_latency_seconds_bucket\{[^}]*stage="ws"')  # WebSocket latency
    assert shown(r"recon_rate_limit_remaining.*recon_rate_limit_limit")  # budget
    assert shown(r'recon_trading_state\{[^}]*state="halted"')  # halted
    assert shown(r"recon_rest_errors_total")
    alerts = next(p for p in _panels(board) if p["title"] == "Alert conditions")
    assert sorted(t["legendFormat"] for t in alerts["targets"]) == sorted(
        r.value for r in AlertRule)
