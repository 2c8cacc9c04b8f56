"""The Bybit front-end as the sim's registry lists it (`console.sim.frontends`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from console.domain.enums import Category
from console.sim.bybit.server import BybitFrontEnd
from console.sim.core import SimExchange
from console.sim.instruments import INVERSE_INSTRUMENTS
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import FrontEnd
from console.sim.protocol.keys import KeyStore
from console.sim.protocol.limits import RateLimiter
from console.sim.protocol.spec import FrontEndSpec

# what the Bybit shapes, codes and topics are faithful for (options: no instrument is
# listed, so every option listing is empty, as for an account that trades none)
CATEGORIES: Final = frozenset({Category.LINEAR, Category.INVERSE, Category.SPOT})
BYBIT_INVERSE: Final = tuple(i for i in INVERSE_INSTRUMENTS if i.symbol in ("BTCUSD", "ETHUSD"))
"""Bybit's own inverse perpetuals (the others of `INVERSE_INSTRUMENTS` are Deribit's)."""


def _list_inverse(exchange: SimExchange) -> None:
    """An exchange without inverse instruments gets Bybit's two inverse perpetuals, priced
    at their reference price when the exchange already quotes its other instruments (a
    client's start-up reads every category; Bybit lists inverse contracts)."""
    if exchange.instruments(Category.INVERSE):
        return
    priced = any(exchange.mark_price(i.category, i.symbol) is not None
                 for i in exchange.instruments())
    for instrument in BYBIT_INVERSE:
        exchange.add_instrument(instrument)
        if priced and instrument.reference_price is not None:
            exchange.set_price(instrument.category, instrument.symbol,
                               instrument.reference_price)


def build(exchange: SimExchange, *,
          keys: KeyStore | Mapping[str, tuple[str, str]] | None = None,
          faults: str | Faults | None = None,
          rate_limits: RateLimiter | Mapping[str, int] | None = None,
          clock_ms: Callable[[], int] | None = None,
          seed: int = 7, market: Category | None = None) -> FrontEnd:
    """A Bybit front-end over `exchange`, serving those of `CATEGORIES` the exchange has
    instruments of (a fresh key per account when `keys` is None). One host serves every
    category (the unified account), so `market` selects nothing."""
    del market
    _list_inverse(exchange)
    credentials = keys if keys is not None else KeyStore.generate(exchange.accounts())
    listed = {instrument.category for instrument in exchange.instruments()}
    return BybitFrontEnd(exchange, credentials=credentials, faults=faults,
                         categories=CATEGORIES & listed, rate_limits=rate_limits,
                         clock_ms=clock_ms, seed=seed)


SPEC = FrontEndSpec(
    name=BybitFrontEnd.venue,
    title="Bybit v5: REST (HMAC, v5 envelope, cursors, batches) and the private stream",
    categories=CATEGORIES,
    build=build,
)
