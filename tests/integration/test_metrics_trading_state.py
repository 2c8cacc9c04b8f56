"""The headless engine's /metrics says when trading is halted: the exporter wired as
`recon-console run --headless` wires it (health report and the venue's rate budget), over a
real engine on the sim, before and after an emergency stop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from console.bootstrap import build_profile_session
from console.engine.health import HealthMonitor
from console.engine.metrics_http import start_metrics_server


def _gauges(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_metrics_show_the_halt_of_an_emergency_stop(tmp_path: Path) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.desk]\nvenue = "sim"\ndb_url = "sqlite:///{tmp_path}/l.db"\n'
                      "reconcile_interval_s = 60\n", encoding="utf-8")

    async def scenario() -> tuple[str, str]:
        session = build_profile_session("desk", config_path=str(config))
        health = HealthMonitor(session.engine)
        stop, port = await start_metrics_server(session.engine.metrics, 0,
                                                health=health.report,
                                                budget=session.engine.venue.rate_budget)
        url = f"http://127.0.0.1:{port}/metrics"
        try:
            await session.engine.start()
            for _ in range(100):  # the stream's CONNECTED arrives on the loop
                if health.report().stream == "connected":
                    break
                await asyncio.sleep(0.05)
            async with aiohttp.ClientSession() as http:
                async with http.get(url) as resp:
                    before = await resp.text()
                await session.engine.emergency_stop(flatten=False, operator="test",
                                                    reason="metrics test")
                async with http.get(url) as resp:
                    after = await resp.text()
        finally:
            await stop()
            await session.aclose()
        return before, after

    before, after = (_gauges(t) for t in asyncio.run(scenario()))
    state = "recon_trading_state"
    assert before[(state, (("state", "trading"),))] == 1
    assert before[(state, (("state", "halted"),))] == 0
    assert before[("recon_health_status", (("status", "ok"),))] == 1
    assert before[("recon_stream_connected", ())] == 1
    assert 0 <= before[("recon_reconcile_last_ok_age_seconds", ())] < 60
    assert after[(state, (("state", "halted"),))] == 1
    assert after[(state, (("state", "trading"),))] == 0
    assert after[("recon_health_status", (("status", "halted"),))] == 1
    # the engine's own metrics are still there beside them
    assert after[("recon_reconcile_runs_total", (("status", "ok"),))] >= 1
