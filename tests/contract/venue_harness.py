"""The venue-port contract harness: the same tests against every `VenuePort` (imported
by name: tests/contract is on sys.path).

The suite runs once per venue of the registry (`console.venues.registry.VENUES`), plus
the in-process sim, from one parametrisation (`suite_venues`). Each venue contributes a
harness here: how to start its sim front-end and connect its connector, and its test
instruments (`Harness.symbols`: the suite names instruments by role, never by a venue's
spelling). A registered venue without a harness fails the suite (`MissingHarness`), so
adding a connector without adding it here cannot pass CI.

Harnesses:
* ``sim``: `SimVenue` over a `SimExchange`, in process.
* ``bybit``: `BybitVenue` (real pybit) over the simulated Bybit front-end on loopback.
* ``binance``: `BinanceVenue` (real ccxt, USD-M futures) over the simulated Binance
  front-end on loopback.

Each backend exposes the exchange behind it, so a test arranges the venue's state
directly (marks, hand fills) and checks what the port reports. The exchange runs on a
hand-moved clock (fills land at chosen times); the Bybit front-end authenticates on the
wall clock, as Bybit does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category
from console.engine.ports import VenuePort
from console.sim import DEFAULT_INSTRUMENTS, SimExchange, SimVenue, linear
from console.sim.binance import BinanceFrontEnd
from console.sim.bybit import BybitFrontEnd
from console.venues.binance import BinanceConfig, BinanceVenue
from console.venues.bybit import BybitConfig, BybitVenue
from console.venues.registry import VENUES

ACCOUNT = "acct"
KEY = CANARY_KEY
SECRET = CANARY_SECRET
TST = linear("TSTUSDT", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
             reference_price="100")
SIM: Final = "sim"


class Clock:
    def __init__(self) -> None:
        self.now = int(time.time() * 1000) - 86_400_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


LINEAR_SYMBOLS: Final[Mapping[str, str]] = MappingProxyType({
    "test": "TSTUSDT", "btc": "BTCUSDT", "eth": "ETHUSDT"})
"""Instruments by role: "test" (tick 0.1, step 1, price ~100), and two more."""


class MissingHarness(LookupError):
    """A registered venue that the contract suite cannot run against."""


@dataclass
class Harness:
    backend: str
    exchange: SimExchange
    venue: VenuePort
    clock: Clock
    symbols: Mapping[str, str] = field(default_factory=lambda: LINEAR_SYMBOLS)
    category: Category = Category.LINEAR

    def sym(self, role: str) -> str:
        return self.symbols[role]


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


@asynccontextmanager
async def binance_backend() -> AsyncIterator[Harness]:
    """`BinanceVenue` (real ccxt) on USD-M futures over the simulated Binance front-end."""
    clock = Clock()
    exchange = _exchange(clock, "binance")
    front_end = BinanceFrontEnd(exchange, credentials={KEY: (SECRET, ACCOUNT)})
    await front_end.start()
    config = BinanceConfig(account=ACCOUNT, market=Category.LINEAR,
                           rest_url=front_end.rest_url, ws_private_url=front_end.ws_private_url,
                           retry_base_ms=20, timeout_s=3.0)
    venue = BinanceVenue(config, KEY, SECRET, profile="contract")
    try:
        yield Harness("binance", exchange, venue, clock)
    finally:
        await venue.aclose()
        await front_end.stop()


HarnessFactory = Callable[[], AbstractAsyncContextManager[Harness]]

HARNESSES: Final[Mapping[str, HarnessFactory]] = MappingProxyType({
    "sim": sim_backend, "bybit": bybit_backend, "binance": binance_backend})


def suite_venues() -> tuple[str, ...]:
    """What the suite runs against: the in-process sim, then every registered venue."""
    return (SIM, *sorted(VENUES))


def harness_for(venue: str) -> HarnessFactory:
    try:
        return HARNESSES[venue]
    except KeyError:
        raise MissingHarness(
            f"venue {venue!r} is registered (console/venues/registry.py) but has no "
            "contract harness: add one to HARNESSES in tests/contract/venue_harness.py "
            "(see console/venues/_template/README.md)") from None


class Contract:
    """Runs one test body against one backend, in a fresh event loop."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.factory = harness_for(backend)

    def run(self, body: Body) -> None:
        async def main() -> None:
            async with self.factory() as harness:
                await asyncio.wait_for(body(harness), 30)

        asyncio.run(main())
