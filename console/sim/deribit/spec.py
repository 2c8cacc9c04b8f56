"""The Deribit front-end as the sim's registry lists it (`console.sim.frontends`).

Real Deribit URLs, for reference (the connector's built-ins): mainnet
https://www.deribit.com + wss://www.deribit.com/ws/api/v2, testnet
https://test.deribit.com + wss://test.deribit.com/ws/api/v2. The sim serves HTTP and the
WebSocket on one origin with the same paths.

An exchange without Deribit's instruments (the default exchange of ``recon-console sim``
lists USDT perpetuals and spot only) gets BTC-PERPETUAL and ETH-PERPETUAL and the USDC
linear perpetuals BTC_USDC-PERPETUAL and ETH_USDC-PERPETUAL added by `build`, with their
reference marks, and each account without those balances is credited `OPENING_COINS` so
that it can trade them: otherwise ``recon-console sim --venue deribit`` would serve an
exchange with nothing to trade, or refuse the USDC currency a Deribit profile offers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Final

from console.domain.enums import Category
from console.sim.core import SimExchange
from console.sim.deribit.server import DeribitFrontEnd
from console.sim.deribit.shapes import wire_name
from console.sim.instruments import INVERSE_INSTRUMENTS, Instrument, linear
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import FrontEnd
from console.sim.protocol.keys import KeyStore
from console.sim.protocol.limits import RateLimiter
from console.sim.protocol.spec import FrontEndSpec

CATEGORIES: Final = frozenset({Category.INVERSE, Category.LINEAR})
OPENING_COINS: Final[Mapping[str, Decimal]] = {"BTC": Decimal(10), "ETH": Decimal(100),
                                                "USDC": Decimal(1_000_000)}
USDC_LINEAR: Final[tuple[Instrument, ...]] = (
    linear("BTC_USDC-PERPETUAL", "BTC", tick="0.1", step="0.001", min_qty="0.001",
           level_qty="0.5", reference_price="60000", quote="USDC"),
    linear("ETH_USDC-PERPETUAL", "ETH", tick="0.01", step="0.01", min_qty="0.01",
           level_qty="5", reference_price="3000", quote="USDC"),
)
"""Deribit's USDC-settled linear perpetuals (amounts in the base coin), for the currency
"USDC" of a Deribit profile."""


def ensure_instruments(exchange: SimExchange) -> bool:
    """Add Deribit's inverse and USDC perpetuals to an exchange that serves none of
    Deribit's instruments; True if added."""
    if any(wire_name(i) is not None for i in exchange.instruments()):
        return False
    for instrument in (*INVERSE_INSTRUMENTS, *USDC_LINEAR):
        if wire_name(instrument) is None:
            continue
        exchange.add_instrument(instrument)
        if instrument.reference_price is not None:
            exchange.set_price(instrument.category, instrument.symbol,
                               instrument.reference_price)
    for account in exchange.accounts():
        for coin, amount in OPENING_COINS.items():
            if exchange.balance(account, coin).total == 0:
                exchange.deposit(account, coin, amount)
    return True


def build(exchange: SimExchange, *,
          keys: KeyStore | Mapping[str, tuple[str, str]] | None = None,
          faults: str | Faults | None = None,
          rate_limits: RateLimiter | Mapping[str, int] | None = None,
          clock_ms: Callable[[], int] | None = None,
          seed: int = 7, market: Category | None = None) -> FrontEnd:
    """A Deribit front-end over `exchange` (a fresh key per account when `keys` is None);
    Deribit serves every market from one origin, so `market` is always None."""
    del market
    ensure_instruments(exchange)
    credentials = keys if keys is not None else KeyStore.generate(exchange.accounts())
    return DeribitFrontEnd(exchange, credentials=credentials, faults=faults,
                           rate_limits=rate_limits, clock_ms=clock_ms, seed=seed)


SPEC = FrontEndSpec(
    name=DeribitFrontEnd.venue,
    title="Deribit API v2: JSON-RPC over HTTP and WebSocket, inverse and USDC perpetuals",
    categories=CATEGORIES,
    build=build,
)
