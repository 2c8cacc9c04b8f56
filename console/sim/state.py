"""The sim's mutable records: orders as the matcher works on them, positions, accounts.

These never leave the package: queries and events hand out frozen domain objects built
by `snapshot()`. Locked amounts are kept incrementally: each order and position remembers
what it locks, so a change moves only the difference (`SimAccount.set_order_lock`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal

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
from console.sim.accounting import quantize_price
from console.sim.events import EventFeed
from console.sim.instruments import InstrumentKey

RESTING = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


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

    @property
    def key(self) -> InstrumentKey:
        return (self.category, self.symbol)

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
        return quantize_price(self.filled_value / self.filled_qty)

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
    """One-way linear position. `size` is signed."""

    category: Category
    symbol: str
    size: Decimal = ZERO
    entry_price: Decimal = ZERO
    realised_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    margin_asset: str = ""
    margin: Decimal = ZERO
    updated_at: int = 0

    def unrealised_pnl(self, mark: Decimal | None) -> Decimal | None:
        if mark is None:
            return None
        if self.size == 0:
            return ZERO
        return (mark - self.entry_price) * self.size

    def snapshot(self, venue: str, account: str, mark: Decimal | None) -> Position:
        return Position(
            venue=venue, account=account, category=self.category, symbol=self.symbol,
            size=self.size, entry_price=self.entry_price, position_side=PositionSide.ONE_WAY,
            mark_price=mark,
            unrealised_pnl=self.unrealised_pnl(mark), updated_at=self.updated_at,
        )


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
    positions: dict[InstrumentKey, SimPosition] = field(default_factory=dict)
    leverage: dict[InstrumentKey, int] = field(default_factory=dict)
    balance_times: dict[str, int] = field(default_factory=dict)
    dirty_assets: dict[str, None] = field(default_factory=dict)
    dirty_positions: dict[InstrumentKey, None] = field(default_factory=dict)

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

    def position(self, key: InstrumentKey) -> SimPosition:
        pos = self.positions.get(key)
        if pos is None:
            pos = self.positions[key] = SimPosition(key[0], key[1])
        return pos

    def reducible(self, key: InstrumentKey, side: Side) -> Decimal:
        """How much an order on `side` can reduce the position without increasing it."""
        pos = self.positions.get(key)
        if pos is None or pos.size == 0 or (pos.size > 0) == (side is Side.BUY):
            return ZERO
        return abs(pos.size)
