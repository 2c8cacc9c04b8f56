"""The venue-port contract harness: the same tests against every `VenuePort` (imported
by name: tests/contract is on sys.path).

The suite runs once per (venue, market) of the registry (`console.venues.registry.VENUES`,
each spec's `markets`), plus the in-process sim, from one parametrisation
(`suite_targets`). Each run is a `Target` of `HARNESSES`, named by its test id: how to
start the venue's sim front-end in that market and connect its connector, and its test
instruments (`Harness.symbols`: the suite names instruments by role, never by a venue's
spelling). A registered venue without any harness fails the suite (`MissingHarness`),
and a market a spec declares that has neither a harness nor a reason in
`UNCOVERED_MARKETS` fails test_suite_covers_the_registry.py: adding a connector, or a
market to one, without adding it here cannot pass CI.

Targets (test ids):
* ``sim``: `SimVenue` over a `SimExchange`, in process (linear).
* ``bybit``: `BybitVenue` (real pybit, linear) over the simulated Bybit front-end.
* ``binance-usdm``: `BinanceVenue` (real ccxt, USD-M futures) over the simulated
  Binance front-end; ``binance-spot``: the same on spot (REST under /api/v3, user data
  over the WebSocket API).
* ``deribit-inverse``: `DeribitVenue` (JSON-RPC over aiohttp, a BTC profile) over the
  simulated Deribit front-end: coin-settled perpetuals, amounts in USD contracts;
  ``deribit-linear``: the same with a USDC profile (USDC-settled linear perpetuals).

Each backend exposes the exchange behind it, so a test arranges the venue's state
directly (marks, hand fills) and checks what the port reports. The exchange runs on a
hand-moved clock (fills land at chosen times); the Bybit front-end authenticates on the
wall clock, as Bybit does. Where a market's own rules differ, the tests follow declared
facts, never a venue's name: the connector's `capabilities`, the instrument
(`Instrument.is_derivative`: spot holds balances, not positions; `settle_coin`: the
asset an order's margin is held in) and what a harness declares of its connector
(`Harness.conditional_orders`, `Harness.dead_man_on_stream`,
`Harness.dead_man_timeout_ms`) and of its instruments (`Harness.btc_qty`,
`Harness.eth_qty`: a quantity on each instrument's step).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final

from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category
from console.engine.ports import VenuePort
from console.sim import DEFAULT_INSTRUMENTS, SimExchange, SimVenue, linear, spot
from console.sim.binance import BinanceFrontEnd
from console.sim.bybit import BybitFrontEnd
from console.sim.deribit import DeribitFrontEnd
from console.sim.instruments import Instrument, inverse
from console.venues.binance import BinanceConfig, BinanceVenue
from console.venues.bybit import BybitConfig, BybitVenue
from console.venues.deribit import DeribitConfig, DeribitVenue
from console.venues.registry import VENUES, ConnectorSpec

ACCOUNT = "acct"
KEY = CANARY_KEY
SECRET = CANARY_SECRET
TST = linear("TSTUSDT", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
             reference_price="100")
TST_SPOT = spot("TSTUSDT", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
                reference_price="100")
SPOT_OPENING: Final[Mapping[str, Decimal]] = MappingProxyType({
    "USDT": Decimal(1_000_000), "TST": Decimal(1_000), "ETH": Decimal(10)})
"""A spot account holds what it sells: the quote, the test coin and some ETH."""
SIM: Final = "sim"


class Clock:
    def __init__(self) -> None:
        self.now = int(time.time() * 1000) - 86_400_000

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


SYMBOLS: Final[Mapping[str, str]] = MappingProxyType({
    "test": "TSTUSDT", "btc": "BTCUSDT", "eth": "ETHUSDT"})
"""Instruments by role: "test" (tick 0.1, step 1, price ~100), and two more. The spot
pairs of the sim are spelt the same, so every target uses these."""


class MissingHarness(LookupError):
    """A registered venue that the contract suite cannot run against."""


@dataclass
class Harness:
    backend: str
    exchange: SimExchange
    venue: VenuePort
    clock: Clock
    symbols: Mapping[str, str] = field(default_factory=lambda: SYMBOLS)
    category: Category = Category.LINEAR
    listing_requests: int = 1
    """Requests one open-orders listing takes: one per symbol the connector was given
    (Binance lists per symbol when given symbols), 1 for an account-wide listing."""
    conditional_orders: bool = True
    """The connector places orders with a trigger price in this market; False: it refuses
    them with a typed error before sending anything (Binance spot: its STOP_LOSS/
    TAKE_PROFIT types are out of the connector's scope, console/venues/binance/client.py)."""
    btc_qty: Decimal = Decimal("0.01")
    """A small order quantity on the "btc" instrument's step (an inverse perpetual counts
    USD contracts: BTC-PERPETUAL trades multiples of 10 USD)."""
    eth_qty: Decimal = Decimal("0.5")
    """A small order quantity on the "eth" instrument's step."""
    dead_man_on_stream: bool = False
    """The dead-man's switch belongs to the private stream's connection (Deribit's
    cancel-on-disconnect with scope connection): it is armed while the stream runs."""
    dead_man_timeout_ms: int | None = None
    """What an armed switch reports as its timeout when the venue's switch has none of
    its own (Deribit's fires on the connection's end and reports the stream's heartbeat
    interval); None: the timeout it was armed with."""

    def sym(self, role: str) -> str:
        return self.symbols[role]

    @property
    def holds_positions(self) -> bool:
        """Whether the test instrument's market trades as positions (a derivative); spot
        holdings are balances, and the port lists no positions for them."""
        return self.exchange.instrument(self.category, self.sym("test")).is_derivative

    @property
    def margin_asset(self) -> str:
        """The asset an order on the test instrument holds: the settlement coin of a
        derivative (USDT, USDC, or the coin of an inverse contract), a spot pair's quote
        for a buy."""
        return self.exchange.instrument(self.category, self.sym("test")).settle_coin


Body = Callable[[Harness], Awaitable[None]]


def _exchange(clock: Clock, venue_name: str, *, market: Category = Category.LINEAR
              ) -> SimExchange:
    test = TST_SPOT if market is Category.SPOT else TST
    exchange = SimExchange(seed=5, clock_ms=clock, venue=venue_name,
                           instruments=(*DEFAULT_INSTRUMENTS, test))
    opening = SPOT_OPENING if market is Category.SPOT else {"USDT": Decimal(1_000_000)}
    exchange.create_account(ACCOUNT, dict(opening))
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
async def _binance(market: Category, backend: str, *, symbols: tuple[str, ...] = (),
                   conditional_orders: bool = True) -> AsyncIterator[Harness]:
    """`BinanceVenue` (real ccxt) in `market` over the simulated Binance front-end."""
    clock = Clock()
    exchange = _exchange(clock, "binance", market=market)
    front_end = BinanceFrontEnd(exchange, credentials={KEY: (SECRET, ACCOUNT)},
                                market=market)
    await front_end.start()
    config = BinanceConfig(account=ACCOUNT, market=market, rest_url=front_end.rest_url,
                           ws_private_url=front_end.ws_private_url,
                           symbols=symbols, retry_base_ms=20, timeout_s=3.0)
    venue = BinanceVenue(config, KEY, SECRET, profile="contract")
    try:
        yield Harness(backend, exchange, venue, clock, category=market,
                      listing_requests=len(symbols) or 1,
                      conditional_orders=conditional_orders)
    finally:
        await venue.aclose()
        await front_end.stop()


def binance_usdm_backend() -> AbstractAsyncContextManager[Harness]:
    """USD-M without symbols: account-wide listings (fills by the symbols positionRisk
    and this connector know)."""
    return _binance(Category.LINEAR, "binance-usdm")


def binance_spot_backend() -> AbstractAsyncContextManager[Harness]:
    """Spot: TSTUSDT, BTCUSDT and ETHUSDT are spot pairs (the same roles and spellings as
    on USD-M); myTrades is per symbol, so the connector is given its symbols."""
    return _binance(Category.SPOT, "binance-spot", symbols=tuple(SYMBOLS.values()),
                    conditional_orders=False)


DERIBIT_INVERSE: Final[tuple[Instrument, ...]] = (
    inverse("TST-PERPETUAL", "BTC", tick="0.1", step="1", min_qty="1", level_qty="10",
            reference_price="100"),
    inverse("BTC-PERPETUAL", "BTC", tick="0.5", step="10", min_qty="10", level_qty="100000",
            reference_price="60000"),
    inverse("TST2-PERPETUAL", "BTC", tick="0.05", step="1", min_qty="1", level_qty="50000",
            reference_price="3000"),
)
"""A BTC profile sees BTC-settled instruments only (one currency per profile), and
Deribit lists one BTC-settled perpetual, BTC-PERPETUAL (10 USD contracts, tick 0.5): the
"test" role is TST-PERPETUAL (1 USD contracts at ~100, tick 0.1) and the "eth" role
TST2-PERPETUAL (1 USD contracts at ~3000, ETH-PERPETUAL's shape), both settled in BTC
and named the Deribit way (amounts in USD, margin and PnL in BTC)."""
DERIBIT_INVERSE_SYMBOLS: Final[Mapping[str, str]] = MappingProxyType({
    "test": "TST-PERPETUAL", "btc": "BTC-PERPETUAL", "eth": "TST2-PERPETUAL"})
DERIBIT_LINEAR: Final[tuple[Instrument, ...]] = (
    linear("TST_USDC-PERPETUAL", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
           reference_price="100", quote="USDC"),
    linear("BTC_USDC-PERPETUAL", "BTC", tick="0.1", step="0.001", min_qty="0.001",
           level_qty="0.5", reference_price="60000", quote="USDC"),
    linear("ETH_USDC-PERPETUAL", "ETH", tick="0.01", step="0.01", min_qty="0.01",
           level_qty="5", reference_price="3000", quote="USDC"),
)
"""USDC-settled linear perpetuals (amounts in the base coin), named as Deribit names them."""
DERIBIT_LINEAR_SYMBOLS: Final[Mapping[str, str]] = MappingProxyType({
    "test": "TST_USDC-PERPETUAL", "btc": "BTC_USDC-PERPETUAL", "eth": "ETH_USDC-PERPETUAL"})


@asynccontextmanager
async def _deribit(currency: str, market: Category, backend: str,
                   instruments: tuple[Instrument, ...], symbols: Mapping[str, str], *,
                   btc_qty: Decimal, eth_qty: Decimal) -> AsyncIterator[Harness]:
    """`DeribitVenue` for one settlement currency over the simulated Deribit front-end;
    the account holds that currency only (a profile reads that currency's summary)."""
    clock = Clock()
    exchange = SimExchange(seed=5, clock_ms=clock, venue="deribit", instruments=instruments)
    opening = {"BTC": Decimal(10)} if currency == "BTC" else {currency: Decimal(1_000_000)}
    exchange.create_account(ACCOUNT, opening)
    exchange.set_reference_prices()
    front_end = DeribitFrontEnd(exchange, credentials={KEY: (SECRET, ACCOUNT)})
    await front_end.start()
    config = DeribitConfig(account=ACCOUNT, currency=currency, rest_url=front_end.rest_url,
                           ws_private_url=front_end.ws_private_url, retry_base_ms=20,
                           timeout_s=3.0)
    venue = DeribitVenue(config, KEY, SECRET, profile="contract")
    try:
        yield Harness(backend, exchange, venue, clock, symbols=symbols, category=market,
                      btc_qty=btc_qty, eth_qty=eth_qty, dead_man_on_stream=True,
                      dead_man_timeout_ms=config.heartbeat_s * 1000)
    finally:
        await venue.aclose()
        await front_end.stop()


def deribit_inverse_backend() -> AbstractAsyncContextManager[Harness]:
    return _deribit("BTC", Category.INVERSE, "deribit-inverse", DERIBIT_INVERSE,
                    DERIBIT_INVERSE_SYMBOLS, btc_qty=Decimal(10), eth_qty=Decimal(1))


def deribit_linear_backend() -> AbstractAsyncContextManager[Harness]:
    return _deribit("USDC", Category.LINEAR, "deribit-linear", DERIBIT_LINEAR,
                    DERIBIT_LINEAR_SYMBOLS, btc_qty=Decimal("0.01"), eth_qty=Decimal("0.5"))


HarnessFactory = Callable[[], AbstractAsyncContextManager[Harness]]


@dataclass(frozen=True, slots=True)
class Target:
    """One run of the suite: `venue` (a registry name, or "sim") in `market`."""

    venue: str
    market: Category
    factory: HarnessFactory


HARNESSES: Final[Mapping[str, Target]] = MappingProxyType({
    "sim": Target(SIM, Category.LINEAR, sim_backend),
    "bybit": Target("bybit", Category.LINEAR, bybit_backend),
    "binance-usdm": Target("binance", Category.LINEAR, binance_usdm_backend),
    "binance-spot": Target("binance", Category.SPOT, binance_spot_backend),
    "deribit-inverse": Target("deribit", Category.INVERSE, deribit_inverse_backend),
    "deribit-linear": Target("deribit", Category.LINEAR, deribit_linear_backend),
})
"""Every run of the suite by its test id (readable: the venue, and its market when the
venue has several targets)."""

UNCOVERED_MARKETS: Final[Mapping[tuple[str, Category], str]] = MappingProxyType({
    ("bybit", Category.SPOT): "the contract harness trades Bybit linear; Bybit spot is "
                              "covered end to end by tests/integration/test_bybit_adapter.py",
    ("bybit", Category.INVERSE): "the contract harness trades Bybit linear; inverse "
                                 "parsing and positions are in tests/venues (bybit)",
    ("bybit", Category.OPTION): "the sim simulates no options (console/sim/instruments.py)",
})
"""Markets a spec declares that the suite does not run, each with the reason: a gap said
out loud, checked to be exactly the declared markets without a target."""


def market_gaps(venues: Mapping[str, ConnectorSpec[Any]]) -> list[str]:
    """What is wrong with the suite's coverage of `venues` (empty: nothing): a declared
    market with neither a target nor a reason in `UNCOVERED_MARKETS`, a target or a
    reason for a market the spec does not declare."""
    declared = {(name, market) for name, spec in venues.items() for market in spec.markets}
    covered = {(t.venue, t.market) for t in HARNESSES.values() if t.venue != SIM}
    gaps = [f"{venue} {market}: declared by its spec, but no target in HARNESSES and no "
            "reason in UNCOVERED_MARKETS" for venue, market in
            sorted(declared - covered - set(UNCOVERED_MARKETS))]
    gaps += [f"{venue} {market}: has a target, but its spec does not declare it"
             for venue, market in sorted(covered - declared)]
    gaps += [f"{venue} {market}: listed in UNCOVERED_MARKETS, but "
             + ("it has a target" if (venue, market) in covered else
                "its spec does not declare it")
             for venue, market in sorted(set(UNCOVERED_MARKETS) - (declared - covered))]
    return gaps


def suite_targets() -> tuple[str, ...]:
    """What the suite runs against: the in-process sim, then every registered venue's
    targets (a venue without any: its bare name, which fails as `MissingHarness`)."""
    ids: list[str] = [SIM]
    for venue in sorted(VENUES):
        own = [name for name, target in HARNESSES.items() if target.venue == venue]
        ids += own or [venue]
    return tuple(ids)


def harness_for(target: str) -> HarnessFactory:
    try:
        return HARNESSES[target].factory
    except KeyError:
        raise MissingHarness(
            f"venue {target!r} is registered (console/venues/registry.py) but has no "
            "contract harness: add one per market to HARNESSES in "
            "tests/contract/venue_harness.py (see console/venues/_template/README.md)"
        ) from None


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
