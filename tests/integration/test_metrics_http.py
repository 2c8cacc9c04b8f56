"""The Prometheus exporter over real HTTP on loopback, parsed with prometheus_client."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from console.engine.metrics import Metrics
from console.engine.metrics_http import start_metrics_server
from console.errors import ConfigError


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_get_metrics_on_an_ephemeral_port() -> None:
    metrics = Metrics()
    metrics.observe_latency("rest", 12.0)
    metrics.observe_latency("ws", 3.0)
    metrics.count("rest_errors", (("class", "rate_limited"),), amount=3)
    metrics.count("ws_reconnects")
    metrics.record_run(1_700_000_000_000, 800.0, "partial", {"status_mismatch": 4})
    metrics.reconcile_failed()

    async def scenario() -> tuple[int, str, str, str, int]:
        stop, port = await start_metrics_server(metrics, 0)
        try:
            assert port > 0
            async with aiohttp.ClientSession() as http:
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    status, ctype = resp.status, resp.headers["Content-Type"]
                    first = await resp.text()
                metrics.count("ws_reconnects")  # values are read at scrape time
                async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
                    second = await resp.text()
                async with http.get(f"http://127.0.0.1:{port}/other") as resp:
                    missing = resp.status
        finally:
            await stop()
        return status, ctype, first, second, missing

    status, ctype, first, second, missing = asyncio.run(scenario())
    assert status == 200 and ctype.startswith("text/plain") and missing == 404
    samples = _samples(first)
    assert samples[("recon_latency_seconds_count", (("stage", "rest"),))] == 1
    assert samples[("recon_latency_seconds_sum", (("stage", "rest"),))] == pytest.approx(0.012)
    assert samples[("recon_latency_seconds_bucket", (("le", "0.025"), ("stage", "rest")))] == 1
    assert samples[("recon_latency_seconds_bucket", (("le", "0.01"), ("stage", "rest")))] == 0
    assert samples[("recon_rest_errors_total", (("class", "rate_limited"),))] == 3
    assert samples[("recon_rest_errors_total", (("class", "unknown_outcome"),))] == 0
    assert samples[("recon_ws_reconnects_total", ())] == 1
    assert samples[("recon_reconcile_consecutive_failures", ())] == 1
    assert samples[("recon_reconcile_last_run_timestamp_seconds", ())] == 1_700_000_000
    assert samples[("recon_reconcile_last_run_duration_seconds", ())] == 0.8
    assert samples[("recon_reconcile_last_run_discrepancies",
                    (("kind", "status_mismatch"),))] == 4
    assert samples[("recon_reconcile_runs_total", (("status", "partial"),))] == 1
    assert samples[("recon_reconcile_failures_total", ())] == 1
    assert _samples(second)[("recon_ws_reconnects_total", ())] == 2


def test_stop_releases_the_port() -> None:
    async def scenario() -> int:
        stop, port = await start_metrics_server(Metrics(), 0)
        await stop()
        return port

    port = asyncio.run(scenario())
    with socket.create_server(("127.0.0.1", port)):  # free again
        pass


def test_busy_port_and_non_loopback_host_are_config_errors() -> None:
    async def busy(port: int) -> None:
        await start_metrics_server(Metrics(), port)

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*metrics_port"):
            asyncio.run(busy(port))

    async def public() -> None:
        await start_metrics_server(Metrics(), 0, host="0.0.0.0")

    with pytest.raises(ConfigError, match="loopback only"):
        asyncio.run(public())
