"""The venue-port contract harness: the same tests against every `VenuePort` (imported
by name: tests/contract is on sys.path).

Backends:
* ``sim``: `SimVenue` over a `SimExchange`, in process.
* ``bybit``: `BybitVenue` (real pybit) over the simulated Bybit front-end on loopback.

Each backend exposes the exchange behind it, so a test arranges the venue's state
directly (marks, hand fills) and checks what the port reports. The exchange runs on a
hand-moved clock (fills land at chosen times); the Bybit front-end authenticates on the
wall clock, as Bybit does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal

from console.domain import Category
from console.engine.ports import VenuePort
from console.sim import DEFAULT_INSTRUMENTS, SimExchange, SimVenue, linear
from console.sim.bybit import BybitFrontEnd
from console.venues.bybit import BybitConfig, BybitVenue

ACCOUNT = "acct"
KEY = "contractkey012345"
SECRET = "contractsecret0123456789abcdef"
TST = linear("TSTUSDT", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
             reference_price="100")
BACKENDS = ("sim", "bybit")


class Clock:
    def __init__(self) -> None:
        self.now = int(time.time() * 1000) - 86_400_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


@dataclass
class Harness:
    backend: str
    exchange: SimExchange
    venue: VenuePort
    clock: Clock


Body = Callable[[Harness], Awaitable[None]]


def _exchange(clock: Clock, venue_name: str) -> SimExchange:
    exchange = SimExchange(seed=5, clock_ms=clock, venue=venue_name,
                           instruments=(*DEFAULT_INSTRUMENTS, TST))
    exchange.create_account(ACCOUNT, {"USDT": Decimal(1_000_000)})
    exchange.set_reference_prices()
    return exchange


@asynccontextmanager
async def sim_backend() -> AsyncIterator[Harness]:
    clock = Clock()
    exchange = _exchange(clock, "sim")
    yield Harness("sim", exchange, SimVenue(exchange, ACCOUNT, category=Category.LINEAR),
                  clock)


@asynccontextmanager
async def bybit_backend() -> AsyncIterator[Harness]:
    clock = Clock()
    exchange = _exchange(clock, "bybit")
    front_end = BybitFrontEnd(exchange, credentials={KEY: (SECRET, ACCOUNT)})
    await front_end.start()
    config = BybitConfig(account=ACCOUNT, rest_url=front_end.rest_url,
                         ws_private_url=front_end.ws_private_url, retry_base_ms=20,
                         timeout_s=3.0, ws_check_interval_s=0.1)
    venue = BybitVenue(config, KEY, SECRET, profile="contract")
    try:
        yield Harness("bybit", exchange, venue, clock)
    finally:
        await venue.aclose()
        await front_end.stop()


BACKEND_FACTORIES: dict[str, Callable[[], AbstractAsyncContextManager[Harness]]] = {
    "sim": sim_backend, "bybit": bybit_backend}


class Contract:
    """Runs one test body against one backend, in a fresh event loop."""

    def __init__(self, backend: str) -> None:
        self.backend = backend

    def run(self, body: Body) -> None:
        async def main() -> None:
            async with BACKEND_FACTORIES[self.backend]() as harness:
                await asyncio.wait_for(body(harness), 30)

        asyncio.run(main())
