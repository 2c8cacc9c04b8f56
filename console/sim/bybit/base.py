"""What every endpoint handler shares: the result it returns, the exchange it works on,
and the translation of sim refusals into Bybit errors.

Handlers get the shared `Request` (`console.sim.protocol.pipeline`), are synchronous (the
sim is) and run on the server's event loop; they raise `BybitError` for anything Bybit
would refuse and return a `Result` otherwise.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Final, Literal

from console.domain.enums import Category
from console.domain.model import Order
from console.sim.bybit import codes
from console.sim.bybit.codes import BybitError, params_error
from console.sim.bybit.params import text
from console.sim.bybit.views import BybitViews
from console.sim.core import SimExchange
from console.sim.errors import SimErrorCode, SimOrderNotFoundError, SimRejectedError
from console.sim.instruments import Instrument
from console.sim.protocol.paging import ListingCache
from console.sim.protocol.wire import JsonObj, Params

DAY_MS: Final = 86_400_000
SEVEN_DAYS_MS: Final = 7 * DAY_MS

SimRefusal = SimRejectedError | SimOrderNotFoundError


@dataclass(slots=True)
class Result:
    """A handler's answer: the envelope's `result` and `retExtInfo`."""

    result: JsonObj
    ext: JsonObj = field(default_factory=dict)


@dataclass(slots=True)
class Scope:
    """The exchange behind the front-end and what is served of it."""

    exchange: SimExchange
    views: BybitViews
    categories: frozenset[Category]
    cache: ListingCache
    symbols: dict[tuple[Category, str, str], tuple[int, frozenset[str]]] = field(
        default_factory=dict)

    def instrument(self, category: Category, symbol: str) -> Instrument:
        if category not in self.categories:
            raise params_error(f"symbol {symbol!r} invalid")
        try:
            return self.exchange.instrument(category, symbol)
        except SimRejectedError:
            raise params_error(f"symbol {symbol!r} invalid") from None

    def instruments(self, category: Category) -> list[Instrument]:
        if category not in self.categories:
            return []
        return self.exchange.instruments(category)

    def coin_symbols(self, category: Category, which: Literal["base", "settle"],
                     coin: str) -> frozenset[str]:
        """The symbols of `category` whose base (or settle) coin is `coin`. Every page of
        a listing asks (2,000 instruments at ten times the bench's book), so the answer is
        kept while the instrument table stays as it is."""
        version = self.exchange.instruments_version
        key = (category, which, coin)
        cached = self.symbols.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        found = frozenset(i.symbol for i in self.instruments(category)
                          if (i.base if which == "base" else i.settle_coin) == coin)
        self.symbols[key] = (version, found)
        return found

    def find_order(self, account: str, category: Category, params: Params,
                   *, symbol: str = "") -> Order | None:
        """By orderId first, else orderLinkId (the active one, else the latest), as Bybit
        resolves them; None unless it is in `category` (and `symbol`, when given)."""
        order_id = text(params, "orderId")
        link_id = text(params, "orderLinkId")
        if not order_id and not link_id:
            raise params_error("orderId or orderLinkId is required")
        ex = self.exchange
        order = ex.order_by_venue_id(account, order_id) if order_id \
            else ex.order_by_client_id(account, link_id)
        if order is None or order.category is not category \
                or (symbol and order.symbol != symbol):
            return None
        return order


def symbol_filter(scope: Scope, category: Category, params: Params) -> frozenset[str] | None:
    """The symbols a listing covers: `symbol`, else `baseCoin`, else `settleCoin` (Bybit's
    priority); None means every symbol of the category."""
    symbol = text(params, "symbol")
    if symbol:
        scope.instrument(category, symbol)
        return frozenset({symbol})
    base = text(params, "baseCoin")
    if base:
        return scope.coin_symbols(category, "base", base)
    settle = text(params, "settleCoin")
    if settle:
        if category is Category.SPOT:
            raise params_error("settleCoin is not supported for spot")
        return scope.coin_symbols(category, "settle", settle)
    return None


def require_linear_scope(category: Category, params: Params) -> None:
    """Bybit: for linear, one of symbol, baseCoin or settleCoin is required."""
    if category is Category.LINEAR and not any(
            text(params, name) for name in ("symbol", "baseCoin", "settleCoin")):
        raise params_error("symbol, baseCoin or settleCoin is required for linear")


def sim_error(exc: SimRefusal, *, action: str = "",
              category: Category | None = None) -> BybitError:
    """The Bybit error for a sim refusal (table in `console.sim.bybit.codes`); spot
    refusals take spot's own codes."""
    code = exc.sim_code
    spot = category is Category.SPOT
    ret = codes.ret_code_for(code, spot=spot)
    detail = str(exc).split(": ", 1)[-1]
    if spot and ret != codes.ret_code_for(code):
        if ret == codes.SPOT_QTY_DECIMAL_TOO_LONG and "minimum" in detail:
            ret = codes.SPOT_QTY_BELOW_MINIMUM
        return BybitError(ret)
    if code in (SimErrorCode.ORDER_NOT_FOUND, SimErrorCode.NOT_MODIFIABLE):
        verb = action or "cancel"
        return BybitError(ret, f"order not exists or too late to {verb}")
    if ret == codes.PARAMS_ERROR:
        return params_error(detail)
    if ret == codes.SERVER_ERROR:
        return BybitError(ret)
    return BybitError(ret, f"{codes.MESSAGES.get(ret, 'error')}: {detail}")


def served(categories: Collection[Category] | None,
           exchange: SimExchange) -> frozenset[Category]:
    if categories is None:
        return frozenset(i.category for i in exchange.instruments())
    return frozenset(categories)
