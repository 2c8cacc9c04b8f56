"""What every endpoint handler shares: the exchange, the views, order lookup, Binance's
quantity and price filters, time windows and generated client ids.

Handlers get the shared `Request` (`console.sim.protocol.pipeline`), are synchronous (the
sim is) and run on the server's loop; they raise `BinanceError` for anything Binance
would refuse and return a `Reply` otherwise.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, TypeVar

from console.domain.enums import Category, OrderStatus
from console.domain.model import Order
from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError, filter_failure
from console.sim.binance.ids import Ids
from console.sim.binance.limits import Limiters
from console.sim.binance.views import BinanceViews
from console.sim.core import SimExchange
from console.sim.errors import SimRejectedError
from console.sim.instruments import Instrument
from console.sim.protocol.wire import Params

DAY_MS: Final = 86_400_000
MIN_NOTIONAL: Final = Decimal(5)
"""Both markets' minimum notional (USD-M MIN_NOTIONAL, spot NOTIONAL), in the quote coin:
Binance's figure for most USDT symbols."""
FORGET_UNFILLED_MS: Final = 3 * DAY_MS
FORGET_ALL_MS: Final = 90 * DAY_MS
_ID_CHARS: Final = string.ascii_letters + string.digits
T = TypeVar("T")


@dataclass(slots=True)
class Scope:
    """The exchange behind the front-end and the shared helpers of every handler."""

    exchange: SimExchange
    views: BinanceViews
    ids: Ids
    limiters: Limiters
    rng: random.Random

    def instrument(self, market: Category, symbol: str) -> Instrument:
        try:
            return self.exchange.instrument(market, symbol)
        except SimRejectedError:
            raise BinanceError(codes.BAD_SYMBOL) from None

    def symbol(self, market: Category, params: Params, *, required: bool = True) -> str:
        symbol = p.text(params, "symbol", required=required)
        if symbol:
            self.instrument(market, symbol)
        return symbol

    def new_client_id(self) -> str:
        """An id for a request that sent none (Binance generates 22 characters)."""
        return "".join(self.rng.choice(_ID_CHARS) for _ in range(22))

    def find(self, account: str, market: Category, symbol: str, params: Params, *,
             id_name: str = "orderId", client_name: str = "origClientOrderId",
             now_ms: int | None = None) -> Order | None:
        """The order named by `id_name` or else `client_name` (one is required), on
        `symbol`; when both are given they must name the same order. Conditional orders
        that never triggered are not regular orders (None). With `now_ms`, orders Binance
        has forgotten are not found either."""
        order_id = p.integer(params, id_name)
        client_id = p.text(params, client_name)
        if order_id is None and not client_id:
            raise BinanceError(codes.MANDATORY_PARAM, f"Param '{id_name}' or '{client_name}' "
                                                      "must be sent, but both were empty/null!")
        ex = self.exchange
        if order_id is not None:
            sim_id = self.ids.sim_order(order_id)
            order = ex.order_by_venue_id(account, sim_id) if sim_id else None
            if order is not None and client_id and order.client_order_id != client_id:
                return None
        else:
            order = ex.order_by_client_id(account, client_id)
        if order is None or order.category is not market or order.symbol != symbol:
            return None
        if order.trigger_price is not None and not self.views.triggered(order):
            return None
        if now_ms is not None and not visible(order, now_ms):
            return None
        return order


def visible(order: Order, now_ms: int) -> bool:
    """Binance forgets a canceled or expired order without fills after 3 days, any
    order after 90 days."""
    age = now_ms - order.created_at
    if age > FORGET_ALL_MS:
        return False
    unfilled_end = order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED) \
        and order.filled_qty == 0
    return not (unfilled_end and age > FORGET_UNFILLED_MS)


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def futures_qty(instr: Instrument, qty: Decimal) -> None:
    """USD-M's quantity checks, with its codes."""
    if qty <= 0:
        raise BinanceError(codes.QTY_LE_ZERO)
    if _places(qty) > _places(instr.qty_step):
        raise BinanceError(codes.BAD_PRECISION)
    if qty % instr.qty_step != 0:
        raise BinanceError(codes.QTY_STEP)
    if qty < instr.min_qty:
        raise BinanceError(codes.QTY_LT_MIN)
    if qty > instr.max_qty:
        raise BinanceError(codes.QTY_GT_MAX)


def futures_price(instr: Instrument, price: Decimal) -> None:
    if price <= 0:
        raise BinanceError(codes.PRICE_LT_ZERO)
    if _places(price) > _places(instr.tick_size):
        raise BinanceError(codes.BAD_PRECISION)
    if price % instr.tick_size != 0:
        raise BinanceError(codes.PRICE_TICK)


def spot_qty(instr: Instrument, qty: Decimal, name: str = "quantity") -> None:
    """Spot's LOT_SIZE filter (and -1111 for more decimals than the step has)."""
    if qty <= 0:
        raise filter_failure("LOT_SIZE")
    if _places(qty) > _places(instr.qty_step):
        raise BinanceError(codes.BAD_PRECISION, f"Parameter '{name}' has too much precision.")
    if qty % instr.qty_step != 0 or qty < instr.min_qty or qty > instr.max_qty:
        raise filter_failure("LOT_SIZE")


def spot_price(instr: Instrument, price: Decimal) -> None:
    if price <= 0 or price % instr.tick_size != 0:
        if price > 0 and _places(price) > _places(instr.tick_size):
            raise BinanceError(codes.BAD_PRECISION, "Parameter 'price' has too much "
                                                    "precision.")
        raise filter_failure("PRICE_FILTER")


def window(params: Params, now_ms: int, *, span_ms: int, default_recent: bool) -> tuple[int,
                                                                                        int]:
    """(start, end) of a listing: at most `span_ms` long (-1127 beyond); only a start:
    `span_ms` from it; only an end: `span_ms` before it; neither: the last `span_ms`
    when `default_recent`, else everything."""
    start = p.integer(params, "startTime")
    end = p.integer(params, "endTime")
    if start is not None and end is not None:
        if start > end:
            raise BinanceError(codes.INVALID_PARAMETER, "Start time is greater than end time.")
        if end - start > span_ms:
            raise BinanceError(codes.MORE_THAN_XX_HOURS, f"More than {span_ms // 3_600_000} "
                                                         "hours between startTime and endTime.")
        return start, end
    if start is not None:
        return start, start + span_ms
    if end is not None:
        return end - span_ms, end
    return (now_ms - span_ms, now_ms) if default_recent else (0, now_ms)


def timed_page(items: Sequence[T], params: Params, limit: int) -> list[T]:
    """One page of a time-window listing (`items` chronological, already cut to the
    window), as Binance's spot "General API Information" says: with startTime (alone or
    with endTime) the oldest `limit` items from startTime; with only endTime, or no time
    at all, the most recent `limit`. A client pages forward from startTime, so a window
    with more than a page answers its first trades, never its last ones. USD-M's
    userTrades page does not say which end a full window answers with (UNVERIFIED): the
    sim applies the spot rule to both markets."""
    if p.integer(params, "startTime") is not None:
        return list(items[:limit])
    return list(items[-limit:])
