"""The opt-in Prometheus exporter: GET /metrics on a loopback port, inside the caller's loop,
and beside it GET /healthz for a supervisor (see `console.engine.health`) when given one.

Why loopback only: the metrics name accounts, venues and error rates, which is nobody
else's business; whoever wants them remotely puts a scraper or a tunnel on this host.
Why aiohttp in the caller's loop rather than prometheus_client's thread server: the
console already runs one event loop (on the GUI thread) and stops everything with it.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from console.engine.health import HealthReport
from console.engine.metrics import Metrics, build_registry
from console.engine.state_metrics import BudgetFn, StateCollector
from console.errors import ConfigError

log = logging.getLogger(__name__)

StopFn = Callable[[], Awaitable[None]]
HealthFn = Callable[[], HealthReport]


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def start_metrics_server(metrics: Metrics, port: int,
                               host: str = "127.0.0.1", *,
                               health: HealthFn | None = None,
                               budget: BudgetFn | None = None) -> tuple[StopFn, int]:
    """Serve `metrics` at http://host:port/metrics; returns (stop, bound port). With
    `health`, GET /healthz answers its report as JSON: 200 when healthy, else 503.
    `health` and `budget` (the venue's `rate_budget`) are also served as gauges on /metrics
    (`console.engine.state_metrics`).

    Port 0 picks a free port. Raises `ConfigError` for a non-loopback host or a port that
    cannot be bound.
    """
    if not _is_loopback(host):
        raise ConfigError(f"the metrics exporter listens on loopback only, not on {host!r}: "
                          "use 127.0.0.1 and scrape or tunnel from this host")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65_535:
        raise ConfigError(f"metrics port {port!r} is not between 0 and 65535")
    registry = build_registry(metrics)
    if health is not None or budget is not None:
        registry.register(StateCollector(health=health, budget=budget))

    async def handle_metrics(request: web.Request) -> web.Response:
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        return web.Response(body=encoder(registry), headers={"Content-Type": content_type})

    app = web.Application()
    app.router.add_get("/metrics", handle_metrics)
    if health is not None:
        report_now = health

        async def handle_health(request: web.Request) -> web.Response:
            del request
            report = report_now()
            return web.Response(text=json.dumps(report.to_json()),
                                status=200 if report.healthy else 503,
                                content_type="application/json",
                                headers={"Cache-Control": "no-store"})

        app.router.add_get("/healthz", handle_health)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}; "
                          "choose another metrics_port (or 0 for any free port)") from exc
    bound = int(runner.addresses[0][1])
    log.info("metrics exporter on http://%s:%d/metrics", host, bound)
    return runner.cleanup, bound
