"""What the Binance runs of bench/cold_start.py and bench/emergency_stop.py share.

* `RequestLog` and `recording()`: every REST request the simulated Binance front-end
  serves, seen from the venue's side (method, path, query, HTTP status, arrival and
  answer times on this process's `time.perf_counter`, X-MBX-USED-WEIGHT-1M). The
  connector's own counters name adapter methods (`fetch_fills` covers userTrades and
  the positionRisk it asks first); the venue's view names endpoints, weights and
  refusals (429), which is what a rate-limit floor is computed from.
* `endpoint_weights()`: the request weight of each USD-M endpoint as the sim charges it
  (console/sim/binance/server.py's table, Binance's documented weights), and
  `weight_budget()`: the sim's X-MBX-USED-WEIGHT-1M limit (console/sim/binance/limits.py:
  2400 a minute on USD-M, Binance's figure).
* `seed_ledger()`: the ledger a bot trading on Binance left behind at a clean shutdown,
  read through the connector itself (Binance's integer order and trade ids are the
  front-end's, given on first sight, so the ledger must hold the ones it shows). The
  weight that costs is then given back (`reset_budgets`): each measured run starts
  from a fresh minute's budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiohttp import web

ACCOUNT: Final = "main"
MARKET: Final = "usdm"
WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
REST_PREFIXES: Final = ("/fapi/", "/api/")


@dataclass(frozen=True, slots=True)
class Seen:
    """One REST request as the front-end served it."""

    method: str
    path: str
    query: Mapping[str, str]
    status: int
    arrived: float
    answered: float
    used_weight: int | None

    @property
    def endpoint(self) -> str:
        return f"{self.method} {self.path}"


class RequestLog:
    """Appended on the server's loop; read it through `SimServerHandle.call(log.snapshot)`."""

    def __init__(self) -> None:
        self._seen: list[Seen] = []

    def clear(self) -> None:
        self._seen.clear()

    def snapshot(self) -> list[Seen]:
        return list(self._seen)

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Any]) -> web.StreamResponse:
        if not request.path.startswith(REST_PREFIXES):
            response: web.StreamResponse = await handler(request)
            return response
        arrived = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            self._note(request, exc.status, arrived, exc.headers)
            raise
        self._note(request, response.status, arrived, response.headers)
        return response

    def _note(self, request: web.Request, status: int, arrived: float,
              headers: Mapping[str, str]) -> None:
        used = headers.get(WEIGHT_HEADER)
        self._seen.append(Seen(request.method, request.path, dict(request.query), status,
                               arrived, time.perf_counter(),
                               int(used) if used and used.isdigit() else None))


@contextlib.contextmanager
def recording(log: RequestLog) -> Iterator[None]:
    """While open, every Binance front-end started mounts `log`'s middleware first (the
    front-end builds its aiohttp application inside `start`, so the class's `mount` is
    wrapped for that moment; the benchmark's own process only)."""
    from console.sim.binance.server import BinanceFrontEnd

    original = BinanceFrontEnd.mount

    def mount(self: BinanceFrontEnd, app: web.Application) -> None:
        app.middlewares.append(log.middleware)
        original(self, app)

    BinanceFrontEnd.mount = mount  # type: ignore[method-assign]
    try:
        yield
    finally:
        BinanceFrontEnd.mount = original  # type: ignore[method-assign]


def endpoint_weights(front_end: Any) -> dict[str, Any]:
    """"METHOD /path" -> the sim's weight (an int, or a function of the query) for USD-M."""
    return {f"{ep.method} {ep.path}": weight for ep, weight, _cost in front_end._futures}


def weight_of(weights: Mapping[str, Any], endpoint: str, query: Mapping[str, str]) -> int:
    from console.sim.binance.limits import weight_of as sim_weight_of

    weight = weights.get(endpoint, 1)
    return int(sim_weight_of(weight, query))


def weight_budget(front_end: Any) -> int:
    """The USD-M weight a minute the sim allows (Binance: 2400)."""
    from console.sim.binance.limits import FAPI_WEIGHT

    return int(front_end.limiters.weight.limit(FAPI_WEIGHT))


def reset_budgets(front_end: Any) -> None:
    """A fresh minute: the sim forgets the weight and order counts spent so far."""
    front_end.limiters.reset()


@contextlib.contextmanager
def unmetered(handle: Any) -> Iterator[None]:
    """The weight budget lifted while the benchmark itself reads the venue (seeding the
    ledger is not what is measured), then restored and the minute started afresh."""
    from console.sim.binance.limits import FAPI_WEIGHT

    front_end = handle.front_end
    budget = weight_budget(front_end)
    handle.call(front_end.limiters.weight.set_limit, FAPI_WEIGHT, 10**9)
    try:
        yield
    finally:
        handle.call(front_end.limiters.weight.set_limit, FAPI_WEIGHT, budget)
        handle.call(reset_budgets, front_end)


def by_endpoint(seen: list[Seen], weights: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Requests, weight and refusals (HTTP 429/418) per "METHOD /path"."""
    out: dict[str, dict[str, int]] = {}
    for s in seen:
        row = out.setdefault(s.endpoint, {"requests": 0, "weight": 0, "refused_429": 0})
        row["requests"] += 1
        row["weight"] += weight_of(weights, s.endpoint, s.query)
        if s.status in (418, 429):
            row["refused_429"] += 1
    return dict(sorted(out.items()))


def statuses(seen: list[Seen]) -> dict[str, int]:
    return dict(sorted(Counter(str(s.status) for s in seen).items()))


def write_profile(path: Path, profile: str, rest_url: str, ws_url: str,
                  extra: str = "") -> None:
    """A Binance USD-M profile as the operator writes one (no symbol list: the connector
    reads which symbols to ask from positionRisk)."""
    path.write_text(
        f'[profiles.{profile}]\nvenue = "binance"\nnetwork = "custom"\n'
        f'rest_url = "{rest_url}"\nws_url = "{ws_url}"\naccount = "{ACCOUNT}"\n{extra}'
        f'[profiles.{profile}.binance]\nmarket = "{MARKET}"\n', encoding="utf-8")


def seed_ledger(handle: Any, db_url: str, ws_url: str, *,
                fills_from_ms: int) -> dict[str, int]:
    """The venue's book, read through the connector, written to the ledger as a clean
    shutdown leaves it; the counts written."""
    from console.domain import Category, LedgerChanges
    from console.store import Ledger
    from console.venues.binance import BinanceConfig, BinanceVenue

    async def read() -> tuple[Any, ...]:
        venue = BinanceVenue(BinanceConfig(account=ACCOUNT, market=Category.LINEAR,
                                           rest_url=handle.rest_url, ws_private_url=ws_url),
                             handle.api_key, handle.api_secret)
        try:
            now = int(time.time() * 1000)
            return await asyncio.gather(venue.fetch_open_orders(), venue.fetch_positions(),
                                        venue.fetch_balances(),
                                        venue.fetch_fills(fills_from_ms, now + 60_000))
        finally:
            await venue.aclose()

    orders, positions, balances, fills = asyncio.run(read())
    with Ledger.open(db_url) as ledger:
        ledger.apply_changes("binance", ACCOUNT, LedgerChanges(
            orders=tuple(orders), fills=tuple(fills), positions=tuple(positions),
            balances=tuple(balances)))
    return {"open_orders": len(orders), "fills": len(fills), "positions": len(positions),
            "balances": len(balances)}
