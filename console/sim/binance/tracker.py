"""What the sim's events say only in passing, remembered for the Binance conversion.

A sim record is a snapshot: an order's state, one execution, a position, a balance. The
Binance events built from them need more: whether an order is seen for the first time
(Binance announces every order with a NEW update, the sim publishes only its final
state), when a conditional order triggered (its ALGO_UPDATE TRIGGERED and the regular
order it becomes), each order's cumulative quote amount (``Z``; the average price of an
intermediate execution), each execution's realised PnL (``rp``: replayed on the position
it changes), whether it ever rested on the book (``W``) and each balance's previous
total (``bc``, ``d``).

`Tracker.observe` sees every event of a keyed account, whether anyone listens or not.
Positions and totals start from the exchange's state when the tracker is built and are
re-read from every position and balance event, so a missed event (a dropped feed) costs
at most the figures of the next execution. Per-order and per-execution memory is capped.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Generic, TypeVar

from console.domain.enums import (
    Category,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
)
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.accounting import apply_trade
from console.sim.binance.ids import Ids
from console.sim.core import SimExchange
from console.sim.events import SimEvent
from console.sim.state import PositionMode

K = TypeVar("K")
V = TypeVar("V")

TRACK_LIMIT: Final = 200_000
_LIVE: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})
_RESTING: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
_BOOK_TIFS: Final = frozenset({TimeInForce.GTC, TimeInForce.POST_ONLY})


class Capped(Generic[K, V]):
    """A dict that forgets its oldest entries beyond `limit`: the tracker's memory of
    orders and executions must not grow with the life of the server."""

    def __init__(self, limit: int = TRACK_LIMIT) -> None:
        self.limit = limit
        self._data: dict[K, V] = {}

    def get(self, key: K) -> V | None:
        return self._data.get(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __setitem__(self, key: K, value: V) -> None:
        self._data[key] = value
        if len(self._data) > self.limit:
            del self._data[next(iter(self._data))]

    def setdefault(self, key: K, value: V) -> None:
        if key not in self._data:
            self[key] = value


_PLACED_SIDE: Final = {"BOTH": PositionSide.ONE_WAY, "LONG": PositionSide.LONG,
                       "SHORT": PositionSide.SHORT}


def position_side(exchange: SimExchange, ids: Ids, account: str,
                  order: Order) -> PositionSide:
    """The position an order's fills change. The domain order does not carry it: the side
    the REST API placed it for (`Ids.position_side`), else, in hedge mode, the sim's own
    inference (a buy opens LONG, a reduce-only buy closes SHORT, and the mirror for
    sells)."""
    if order.category is not Category.LINEAR:
        return PositionSide.ONE_WAY
    placed = ids.position_side(order.venue_order_id)
    if placed in _PLACED_SIDE:
        return _PLACED_SIDE[placed]
    if exchange.position_mode(account, order.category, order.symbol) \
            is not PositionMode.HEDGE:
        return PositionSide.ONE_WAY
    if order.side is Side.BUY:
        return PositionSide.SHORT if order.reduce_only else PositionSide.LONG
    return PositionSide.LONG if order.reduce_only else PositionSide.SHORT


@dataclass(frozen=True, slots=True)
class ExecFacts:
    """An execution's order figures after it, and its realised PnL."""

    filled: Decimal
    quote: Decimal
    realised: Decimal


OrderKey = tuple[str, str]
PosKey = tuple[str, str, PositionSide]


class Tracker:
    """What the events say only in passing, remembered for the conversion."""

    def __init__(self, exchange: SimExchange, ids: Ids, *, limit: int = TRACK_LIMIT) -> None:
        self.exchange = exchange
        self.ids = ids
        self._first: Capped[OrderKey, int] = Capped(limit)
        self._conditional: Capped[OrderKey, bool] = Capped(limit)
        self._triggered: Capped[OrderKey, tuple[int, int]] = Capped(limit)
        self._rested: Capped[OrderKey, bool] = Capped(limit)
        self._orders: Capped[OrderKey, tuple[Decimal, Decimal]] = Capped(limit)
        self._execs: Capped[str, ExecFacts] = Capped(limit)
        self._deltas: Capped[tuple[str, int], Decimal] = Capped(limit)
        self._positions: dict[PosKey, tuple[Decimal, Decimal]] = {}
        self._totals: dict[tuple[str, str], Decimal] = {}
        for account in exchange.accounts():
            for pos in exchange.positions(account, include_flat=True,
                                          category=Category.LINEAR):
                self._positions[(account, pos.symbol, pos.position_side)] = (
                    pos.size, pos.entry_price)
            for bal in exchange.balances(account):
                self._totals[(account, bal.asset)] = bal.total

    # -- feeding ---------------------------------------------------------------------

    def observe(self, event: SimEvent) -> None:
        payload = event.payload
        if isinstance(payload, Order):
            self._order(event, payload)
        elif isinstance(payload, Fill):
            self._fill(event, payload)
        elif isinstance(payload, Position):
            if payload.category is Category.LINEAR:
                self._positions[(event.account, payload.symbol, payload.position_side)] = (
                    payload.size, payload.entry_price)
        else:
            self._balance(event, payload)

    def _order(self, event: SimEvent, order: Order) -> None:
        key = (event.account, order.venue_order_id)
        self._first.setdefault(key, event.seq)
        if order.trigger_price is not None:
            if order.status is OrderStatus.UNTRIGGERED:
                self._conditional[key] = True
            elif order.status in _LIVE and key not in self._triggered:
                self._triggered[key] = (event.seq, event.at)
        if order.type is OrderType.LIMIT and order.status in _RESTING \
                and order.time_in_force in _BOOK_TIFS:
            self._rested[key] = True
        known = self._orders.get(key)
        if known is None or known[0] != order.filled_qty:  # missed executions: resync
            self._orders[key] = (order.filled_qty,
                                 (order.avg_price or ZERO) * order.filled_qty)

    def _fill(self, event: SimEvent, fill: Fill) -> None:
        key = (event.account, fill.venue_order_id)
        self._first.setdefault(key, event.seq)
        if key in self._conditional and key not in self._triggered:
            self._triggered[key] = (event.seq, event.at)
        qty, quote = self._orders.get(key) or (ZERO, ZERO)
        qty, quote = qty + fill.qty, quote + fill.price * fill.qty
        self._orders[key] = (qty, quote)
        realised = ZERO
        if fill.category is Category.LINEAR:
            realised = self._realise(event.account, fill)
        self._execs[fill.exec_id] = ExecFacts(qty, quote, realised)

    def _realise(self, account: str, fill: Fill) -> Decimal:
        order = self.exchange.order_by_venue_id(account, fill.venue_order_id)
        side = PositionSide.ONE_WAY if order is None else \
            position_side(self.exchange, self.ids, account, order)
        key = (account, fill.symbol, side)
        size, entry = self._positions.get(key) or (ZERO, ZERO)
        change = apply_trade(size, entry, fill.qty * fill.side.sign, fill.price)
        self._positions[key] = (change.size, change.entry_price)
        return change.realised_pnl

    def _balance(self, event: SimEvent, balance: Balance) -> None:
        key = (event.account, balance.asset)
        self._deltas[(event.account, event.seq)] = balance.total - self._totals.get(key, ZERO)
        self._totals[key] = balance.total

    # -- reading ---------------------------------------------------------------------

    def first_seq(self, account: str, order_id: str) -> int | None:
        return self._first.get((account, order_id))

    def triggered(self, account: str, order_id: str) -> tuple[int, int] | None:
        """(seq, time) of the event that showed a conditional order live, or None."""
        return self._triggered.get((account, order_id))

    def rested(self, account: str, order_id: str) -> bool:
        """Whether the order was ever seen resting on the book (spot ``W``)."""
        return (account, order_id) in self._rested

    def execution(self, exec_id: str) -> ExecFacts | None:
        return self._execs.get(exec_id)

    def quote(self, account: str, order: Order) -> Decimal:
        """The order's cumulative quote amount: exact when every execution was seen."""
        known = self._orders.get((account, order.venue_order_id))
        if known is not None and known[0] == order.filled_qty:
            return known[1]
        return (order.avg_price or ZERO) * order.filled_qty

    def delta(self, account: str, seq: int) -> Decimal:
        return self._deltas.get((account, seq)) or ZERO
