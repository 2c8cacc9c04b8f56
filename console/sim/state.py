"""The sim's mutable records: orders as the matcher works on them, positions, accounts.

These never leave the package: queries and events hand out frozen domain objects built
by `snapshot()`. Locked amounts are kept incrementally: each order and position remembers
what it locks, so a change moves only the difference (`SimAccount.set_order_lock`).

Position modes. An account holds, per derivative instrument, either one netted position
(`PositionMode.ONE_WAY`, the default: size signed, buys add, sells reduce) or two side by
side (`PositionMode.HEDGE`: a LONG position with size >= 0 and a SHORT one with size <= 0).
Positions are keyed by (category, symbol, position side), the side being
`PositionSide.ONE_WAY` in one-way mode. In hedge mode every order belongs to one of the
two positions (`SimOrder.position_side`): a buy on LONG or a sell on SHORT opens or adds,
the opposite side closes (`SimOrder.closing`), and a closing order behaves like a
reduce-only one whether or not it was sent as one, since the LONG position can never go
short (nor the SHORT one long).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from console.domain.enums import (
    Category,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.accounting import contract_math, quantize_price
from console.sim.events import EventFeed
from console.sim.instruments import InstrumentKey

RESTING = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})

PositionKey = tuple[Category, str, PositionSide]


class PositionMode(StrEnum):
    """How an account holds positions on a derivative: one netted position, or a long
    and a short one side by side (Bybit's hedge mode, Binance's dual side position)."""

    ONE_WAY = "one_way"
    HEDGE = "hedge"


def closing_side(position_side: PositionSide) -> Side | None:
    """The order side that reduces a hedge-mode position (None for one-way: either may)."""
    if position_side is PositionSide.LONG:
        return Side.SELL
    if position_side is PositionSide.SHORT:
        return Side.BUY
    return None


class OrderRef(NamedTuple):
    """What a listing sorts and filters an order by, without building the `Order`: a page
    of a 10k-order listing then snapshots its own 50 orders, not the 10k."""

    venue_order_id: str
    created_at: int
    symbol: str
    conditional: bool


class OrderTerms(NamedTuple):
    """What an execution record shows of its order: its type, quantities, prices and
    status. Cheaper than an `Order` (a page of 100 executions reads 100 orders)."""

    type: OrderType
    qty: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    filled_qty: Decimal
    status: OrderStatus


@dataclass(slots=True, eq=False)
class SimOrder:
    seq: int
    venue_order_id: str
    client_order_id: str
    category: Category
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    price: Decimal | None
    trigger_price: Decimal | None
    trigger_direction: TriggerDirection | None
    reduce_only: bool
    time_in_force: TimeInForce
    label: str
    status: OrderStatus
    created_at: int
    updated_at: int
    priority: int
    filled_qty: Decimal = ZERO
    filled_value: Decimal = ZERO
    lock_asset: str = ""
    lock_amount: Decimal = ZERO
    reason: str = ""
    position_side: PositionSide = PositionSide.ONE_WAY
    avg_fill: Decimal = ZERO  # inverse orders: harmonic mean of the fill prices

    @property
    def key(self) -> InstrumentKey:
        return (self.category, self.symbol)

    @property
    def position_key(self) -> PositionKey:
        """The position this order's fills change."""
        return (self.category, self.symbol, self.position_side)

    @property
    def closing(self) -> bool:
        """Can only reduce a position: reduce-only, or a hedge-mode order on the side
        that closes its position (a sell on LONG, a buy on SHORT)."""
        return self.reduce_only or closing_side(self.position_side) is self.side

    @property
    def remaining(self) -> Decimal:
        return self.qty - self.filled_qty

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def is_resting(self) -> bool:
        """In the book as a maker: an active, triggered limit order."""
        return self.type is OrderType.LIMIT and self.status in RESTING

    @property
    def avg_price(self) -> Decimal | None:
        if self.filled_qty == 0:
            return None
        if self.category is Category.INVERSE:
            return self.avg_fill
        return quantize_price(self.filled_value / self.filled_qty)

    def terms(self) -> OrderTerms:
        return OrderTerms(self.type, self.qty, self.price, self.trigger_price,
                          self.filled_qty, self.status)

    def ref(self) -> OrderRef:
        return OrderRef(self.venue_order_id, self.created_at, self.symbol,
                        self.trigger_price is not None)

    def snapshot(self, venue: str, account: str) -> Order:
        return Order(
            venue=venue, account=account, category=self.category, symbol=self.symbol,
            side=self.side, type=self.type, qty=self.qty, status=self.status,
            client_order_id=self.client_order_id, venue_order_id=self.venue_order_id,
            price=self.price, trigger_price=self.trigger_price,
            trigger_direction=self.trigger_direction, reduce_only=self.reduce_only,
            time_in_force=self.time_in_force, filled_qty=self.filled_qty,
            avg_price=self.avg_price, label=self.label, created_at=self.created_at,
            updated_at=self.updated_at,
        )


@dataclass(slots=True, eq=False)
class SimPosition:
    """A linear or inverse position. `size` is signed (a LONG hedge position's is >= 0, a
    SHORT one's <= 0); money (PnL, fees, margin) is in the settle coin."""

    category: Category
    symbol: str
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    realised_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    margin_asset: str = ""
    margin: Decimal = ZERO
    updated_at: int = 0
    position_side: PositionSide = PositionSide.ONE_WAY

    @property
    def key(self) -> PositionKey:
        return (self.category, self.symbol, self.position_side)

    def unrealised_pnl(self, mark: Decimal | None) -> Decimal | None:
        if mark is None:
            return None
        return contract_math(self.category).pnl(self.size, self.entry_price, mark)

    def snapshot(self, venue: str, account: str, mark: Decimal | None) -> Position:
        return Position(
            venue=venue, account=account, category=self.category, symbol=self.symbol,
            size=self.size, entry_price=self.entry_price, position_side=self.position_side,
            mark_price=mark,
            unrealised_pnl=self.unrealised_pnl(mark), updated_at=self.updated_at,
        )

    def figures(self) -> PositionFigures:
        return PositionFigures(
            category=self.category, symbol=self.symbol, position_side=self.position_side,
            size=self.size, entry_price=self.entry_price, realised_pnl=self.realised_pnl,
            fees_paid=self.fees_paid, margin_asset=self.margin_asset, margin=self.margin)


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """What the sim books on one position beyond its snapshot: gross realised PnL, fees
    paid and the margin it locks now, all in `margin_asset` (the settle coin; "" while
    the position locks nothing)."""

    category: Category
    symbol: str
    position_side: PositionSide
    size: Decimal
    entry_price: Decimal
    realised_pnl: Decimal
    fees_paid: Decimal
    margin_asset: str
    margin: Decimal


@dataclass(slots=True, eq=False)
class SimAccount:
    name: str
    feed: EventFeed
    totals: dict[str, Decimal] = field(default_factory=dict)
    locked: dict[str, Decimal] = field(default_factory=dict)
    orders: dict[str, SimOrder] = field(default_factory=dict)
    open_orders: dict[str, SimOrder] = field(default_factory=dict)
    active_client_ids: dict[str, str] = field(default_factory=dict)
    latest_client_ids: dict[str, str] = field(default_factory=dict)
    fill_keys: list[tuple[int, int]] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    positions: dict[PositionKey, SimPosition] = field(default_factory=dict)
    leverage: dict[InstrumentKey, int] = field(default_factory=dict)
    balance_times: dict[str, int] = field(default_factory=dict)
    dirty_assets: dict[str, None] = field(default_factory=dict)
    dirty_positions: dict[PositionKey, None] = field(default_factory=dict)
    position_mode: PositionMode = PositionMode.ONE_WAY
    position_modes: dict[InstrumentKey, PositionMode] = field(default_factory=dict)

    def mode_of(self, key: InstrumentKey) -> PositionMode:
        """The instrument's own position mode, else the account's."""
        return self.position_modes.get(key, self.position_mode)

    # -- wallet ----------------------------------------------------------------------

    def free(self, asset: str) -> Decimal:
        return self.totals.get(asset, ZERO) - self.locked.get(asset, ZERO)

    def add_total(self, asset: str, delta: Decimal) -> None:
        if delta == 0:
            return
        self.totals[asset] = self.totals.get(asset, ZERO) + delta
        self.dirty_assets[asset] = None

    def _move_lock(self, old_asset: str, old: Decimal, new_asset: str, new: Decimal) -> None:
        if old_asset == new_asset and old == new:
            return
        if old_asset and old:
            left = self.locked.get(old_asset, ZERO) - old
            self.locked[old_asset] = left if left else ZERO
            self.dirty_assets[old_asset] = None
        if new_asset and new:
            self.locked[new_asset] = self.locked.get(new_asset, ZERO) + new
            self.totals.setdefault(new_asset, ZERO)
            self.dirty_assets[new_asset] = None

    def set_order_lock(self, order: SimOrder, asset: str, amount: Decimal) -> None:
        self._move_lock(order.lock_asset, order.lock_amount, asset, amount)
        order.lock_asset, order.lock_amount = (asset, amount) if amount else ("", ZERO)

    def set_position_margin(self, position: SimPosition, asset: str, amount: Decimal) -> None:
        self._move_lock(position.margin_asset, position.margin, asset, amount)
        position.margin_asset, position.margin = (asset, amount) if amount else ("", ZERO)

    def balance(self, venue: str, asset: str) -> Balance:
        total = self.totals.get(asset, ZERO)
        locked = self.locked.get(asset, ZERO)
        return Balance(venue=venue, account=self.name, asset=asset, total=total,
                       free=total - locked, locked=locked,
                       updated_at=self.balance_times.get(asset, 0))

    # -- orders ----------------------------------------------------------------------

    def find_order(self, ref: str) -> SimOrder | None:
        """By venue order id, else by client order id (the active one, else the latest)."""
        order = self.orders.get(ref)
        if order is not None:
            return order
        vid = self.active_client_ids.get(ref) or self.latest_client_ids.get(ref)
        return self.orders.get(vid) if vid else None

    def add_order(self, order: SimOrder) -> None:
        self.orders[order.venue_order_id] = order
        if order.client_order_id:
            self.latest_client_ids[order.client_order_id] = order.venue_order_id
            if order.is_active:
                self.active_client_ids[order.client_order_id] = order.venue_order_id

    def close_order(self, order: SimOrder) -> None:
        """Forget `order` as open (it reached a terminal status)."""
        self.open_orders.pop(order.venue_order_id, None)
        cid = order.client_order_id
        if cid and self.active_client_ids.get(cid) == order.venue_order_id:
            del self.active_client_ids[cid]

    # -- fills -----------------------------------------------------------------------

    def add_fill(self, fill: Fill, seq: int) -> None:
        key = (fill.exec_time, seq)
        if not self.fill_keys or key > self.fill_keys[-1]:
            self.fill_keys.append(key)
            self.fills.append(fill)
            return
        index = bisect.bisect_right(self.fill_keys, key)
        self.fill_keys.insert(index, key)
        self.fills.insert(index, fill)

    def position(self, key: PositionKey) -> SimPosition:
        """The position at `key`, created flat on first use."""
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = SimPosition(key[0], key[1], position_side=key[2])
        return pos

    def instrument_positions(self, key: InstrumentKey) -> list[SimPosition]:
        """Every position (any side, flat ones too) held on the instrument."""
        found = (self.positions.get((key[0], key[1], side)) for side in PositionSide)
        return [pos for pos in found if pos is not None]

    def reducible(self, key: InstrumentKey, side: Side,
                  position_side: PositionSide = PositionSide.ONE_WAY) -> Decimal:
        """How much an order on `side` can reduce the position (`position_side`'s, in
        hedge mode) without increasing it."""
        pos = self.positions.get((key[0], key[1], position_side))
        if pos is None or pos.size == 0 or (pos.size > 0) == (side is Side.BUY):
            return ZERO
        return abs(pos.size)

    def reducible_by(self, order: SimOrder) -> Decimal:
        """How much `order` can reduce the position its fills change."""
        return self.reducible(order.key, order.side, order.position_side)
