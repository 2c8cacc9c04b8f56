"""The Binance front-end as the sim's registry lists it (`console.sim.frontends`).

Real Binance URLs, for reference (the connector's built-ins): mainnet spot
https://api.binance.com + wss://ws-api.binance.com:443/ws-api/v3, USD-M
https://fapi.binance.com + wss://fstream.binance.com/private/ws; testnet spot
https://testnet.binance.vision + wss://ws-api.testnet.binance.vision/ws-api/v3, USD-M
https://testnet.binancefuture.com + wss://fstream.binancefuture.com/private/ws (the
testnet stream URL is UNVERIFIED). The sim serves both markets on one origin with the
same paths.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from console.domain.enums import Category
from console.sim.binance.server import BinanceFrontEnd
from console.sim.core import SimExchange
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import FrontEnd
from console.sim.protocol.keys import KeyStore
from console.sim.protocol.limits import RateLimiter
from console.sim.protocol.spec import FrontEndSpec

CATEGORIES: Final = frozenset({Category.SPOT, Category.LINEAR})


def build(exchange: SimExchange, *,
          keys: KeyStore | Mapping[str, tuple[str, str]] | None = None,
          faults: str | Faults | None = None,
          rate_limits: RateLimiter | Mapping[str, int] | None = None,
          clock_ms: Callable[[], int] | None = None,
          seed: int = 7, market: Category | None = None) -> FrontEnd:
    """A Binance front-end over `exchange`, serving those of `CATEGORIES` the exchange has
    instruments of (a fresh key per account when `keys` is None); `market` picks which
    private stream `ws_private_url` names (None: USD-M, the first of `SPEC.markets`)."""
    credentials = keys if keys is not None else KeyStore.generate(exchange.accounts())
    listed = {instrument.category for instrument in exchange.instruments()}
    return BinanceFrontEnd(exchange, credentials=credentials, faults=faults,
                           categories=CATEGORIES & listed, rate_limits=rate_limits,
                           clock_ms=clock_ms, seed=seed,
                           market=market or Category.LINEAR)


SPEC = FrontEndSpec(
    name=BinanceFrontEnd.venue,
    title="Binance spot and USD-M: REST (HMAC, weights, algo orders) and user-data streams",
    categories=CATEGORIES,
    build=build,
    markets={"usdm": Category.LINEAR, "spot": Category.SPOT},
)
