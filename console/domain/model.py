"""Records of the book: orders, fills, positions, balances and per-worker runner state.

All frozen. Money is `Decimal`, time is integer epoch milliseconds, ids are strings.
Construction validates, so a malformed record cannot exist once built: adapters parse
venue data into these and any nonsense stops at the boundary.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from typing import Any, Self

from console.domain.enums import (
    Category,
    ExecType,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.values import ZERO, DomainValueError


def _check_decimal(name: str, value: object, *, allow_none: bool = False, signed: bool = False,
                   positive: bool = False) -> None:
    if value is None:
        if allow_none:
            return
        raise DomainValueError(f"{name}: missing")
    if not isinstance(value, Decimal):
        raise DomainValueError(f"{name}: {value!r} is not a Decimal")
    if not value.is_finite():
        raise DomainValueError(f"{name}: {value!r} is not finite")
    if not signed and value < 0:
        raise DomainValueError(f"{name}: {value} is negative")
    if positive and value <= 0:
        raise DomainValueError(f"{name}: {value} must be greater than zero")


def _check_ms(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DomainValueError(f"{name}: {value!r} is not an epoch-millisecond timestamp")


def position_key(category: Category, symbol: str, position_side: PositionSide) -> str:
    return f"{category.value}:{symbol}:{position_side.value}"


@dataclass(frozen=True, slots=True)
class Order:
    venue: str
    account: str
    category: Category
    symbol: str
    side: Side
    type: OrderType
    qty: Decimal
    status: OrderStatus
    client_order_id: str = ""
    venue_order_id: str = ""
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    trigger_direction: TriggerDirection | None = None
    reduce_only: bool = False
    time_in_force: TimeInForce = TimeInForce.GTC
    filled_qty: Decimal = ZERO
    avg_price: Decimal | None = None
    strategy_id: str = ""
    worker_id: str = ""
    role: OrderRole = OrderRole.OTHER
    origin: Origin = Origin.OURS
    label: str = ""
    created_at: int = 0
    updated_at: int = 0

    def __post_init__(self) -> None:
        # Every order the console holds is built here (100k at once from the ledger or a
        # venue's list, bench/ui_load.py): one expression accepts the well-formed ones,
        # and only a record it refuses goes through the checks that name the fault.
        # It accepts nothing the checks below would refuse.
        qty, filled, price = self.qty, self.filled_qty, self.price
        trigger, avg = self.trigger_price, self.avg_price
        created, updated = self.created_at, self.updated_at
        if ((self.client_order_id or self.venue_order_id) and self.symbol
                and type(qty) is Decimal and qty.is_finite() and qty > ZERO
                and type(filled) is Decimal and filled.is_finite() and ZERO <= filled <= qty
                and (price is None or (type(price) is Decimal and price.is_finite()
                                       and price >= ZERO))
                and (trigger is None or (type(trigger) is Decimal and trigger.is_finite()
                                         and trigger >= ZERO))
                and (avg is None or (type(avg) is Decimal and avg.is_finite() and avg >= ZERO))
                and type(created) is int and created >= 0
                and type(updated) is int and updated >= 0
                and type(self.category) is Category and type(self.side) is Side
                and type(self.type) is OrderType and type(self.status) is OrderStatus
                and type(self.time_in_force) is TimeInForce and type(self.role) is OrderRole
                and type(self.origin) is Origin
                and (price is not None or self.type is not OrderType.LIMIT)):
            return
        self._check()

    def _check(self) -> None:
        """Each rule on its own, for the message that names what is wrong."""
        if not self.client_order_id and not self.venue_order_id:
            raise DomainValueError("order: neither client_order_id nor venue_order_id is set")
        if not self.symbol:
            raise DomainValueError("order.symbol: missing")
        _check_decimal("order.qty", self.qty, positive=True)
        _check_decimal("order.filled_qty", self.filled_qty)
        _check_decimal("order.price", self.price, allow_none=True)
        _check_decimal("order.trigger_price", self.trigger_price, allow_none=True)
        _check_decimal("order.avg_price", self.avg_price, allow_none=True)
        if self.filled_qty > self.qty:
            raise DomainValueError(
                f"order {self.ident}: filled_qty {self.filled_qty} exceeds qty {self.qty}")
        if self.type is OrderType.LIMIT and self.price is None:
            raise DomainValueError(f"order {self.ident}: a limit order needs a price")
        _check_ms("order.created_at", self.created_at)
        _check_ms("order.updated_at", self.updated_at)
        for name in ("category", "side", "type", "status", "time_in_force", "role", "origin"):
            value = getattr(self, name)
            if not hasattr(value, "value"):
                raise DomainValueError(f"order.{name}: {value!r} is not an enum member")

    @property
    def ident(self) -> str:
        """Stable ledger identity: our client id, or the venue id for orders that have none."""
        return self.client_order_id or f"venue:{self.venue_order_id}"

    @property
    def is_active(self) -> bool:
        return self.status.is_active

    @property
    def is_conditional(self) -> bool:
        return self.trigger_price is not None

    @property
    def remaining_qty(self) -> Decimal:
        return self.qty - self.filled_qty

    def evolve(self, **changes: object) -> Self:
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def from_values(cls, values: Sequence[object]) -> Self:
        """An order from its field values in declaration order (`ORDER_FIELDS`), checked
        as the constructor checks them (`__post_init__`): for a bulk read of stored rows
        (`console.store.codec`), without the generated `__init__`'s cost per field (a
        global lookup and an `object.__setattr__` by name each: ~3 us an order by
        keywords, ~2 this way with the checks; bench/ui_load.py reads 100k at once). A
        value of the wrong type or a malformed order raises `DomainValueError`, as the
        constructor does."""
        if len(values) != len(ORDER_FIELDS):
            raise DomainValueError(f"order: {len(values)} values for "
                                   f"{len(ORDER_FIELDS)} fields")
        order = object.__new__(cls)
        _fill_order(order, *values)
        order.__post_init__()
        return order


def _slot_filler(cls: type, names: Sequence[str]) -> Callable[..., None]:
    """A function `fill(obj, *values)` that sets each slot of `names` on `obj` through its
    slot descriptor, bound once (a frozen dataclass refuses `setattr`; its generated
    `__init__` goes through `object.__setattr__` by name for each field). Generated from
    the class's own field names, as dataclasses generate `__init__`."""
    scope: dict[str, Any] = {f"set_{name}": getattr(cls, name).__set__ for name in names}
    lines = [f"def fill(obj, {', '.join(names)}):"]
    lines += [f"    set_{name}(obj, {name})" for name in names]
    exec("\n".join(lines), scope)  # the names are the dataclass's own fields
    fill: Callable[..., None] = scope["fill"]
    return fill


ORDER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Order))
"""`Order`'s fields in declaration order: the order of `Order.from_values`."""
_fill_order = _slot_filler(Order, ORDER_FIELDS)


def held_if_equal(order: Order, held: Mapping[str, Order]) -> Order:
    """`held`'s record of `order` (by ident) when the two are equal, else `order`: a
    reader that holds the order already (a window's table) keeps one copy of it, and
    finds it unchanged by identity."""
    known = held.get(order.ident)
    return known if known is not None and known == order else order


def keep_ownership(venue_view: Order, ledger: Order) -> Order:
    """The venue's view of an order, carrying the ledger's ownership of it.

    The venue is the truth for what an order is (ids, status, fills, terms); the ledger is
    the truth for whose it is: strategy, worker, role in a bracket, origin and label. Every
    adapter answer and every reconcile update goes through this one rule. A venue view
    may fill in what the ledger does not know (a role read from our client-id format, a
    venue label) but never overwrites what it does.
    """
    return venue_view.evolve(
        strategy_id=ledger.strategy_id or venue_view.strategy_id,
        worker_id=ledger.worker_id or venue_view.worker_id,
        role=ledger.role if ledger.role is not OrderRole.OTHER else venue_view.role,
        origin=ledger.origin,
        label=ledger.label or venue_view.label,
    )


def fill_totals(orders: Iterable[Order], fills: Iterable[Fill],
                base: Mapping[str, Decimal] | None = None) -> dict[str, Decimal]:
    """Per order ident, the quantity of `fills` that belongs to it (added to `base`). A fill
    belongs to the order with its venue id, else to the order without a venue id that has
    its client id: the one rule the ledger and the reconciler both count by."""
    by_vid: dict[str, str] = {}
    by_cid: dict[str, str] = {}
    for o in orders:
        if o.venue_order_id:
            by_vid[o.venue_order_id] = o.ident
        elif o.client_order_id:
            by_cid[o.client_order_id] = o.ident
    totals = dict(base or {})
    if not by_vid and not by_cid:
        return totals
    for fill in fills:
        ident = by_vid.get(fill.venue_order_id) if fill.venue_order_id else None
        if ident is None and fill.client_order_id:
            ident = by_cid.get(fill.client_order_id)
        if ident is not None:
            totals[ident] = totals.get(ident, ZERO) + fill.qty
    return totals


@dataclass(frozen=True, slots=True)
class Fill:
    venue: str
    account: str
    exec_id: str
    symbol: str
    side: Side
    price: Decimal
    qty: Decimal
    exec_time: int
    category: Category = Category.LINEAR
    venue_order_id: str = ""
    client_order_id: str = ""
    fee: Decimal = ZERO
    fee_asset: str = ""
    is_maker: bool = False
    exec_type: ExecType = ExecType.TRADE

    def __post_init__(self) -> None:
        if not self.exec_id:
            raise DomainValueError("fill.exec_id: missing")
        if not self.symbol:
            raise DomainValueError("fill.symbol: missing")
        _check_decimal("fill.price", self.price)
        _check_decimal("fill.qty", self.qty, positive=self.exec_type is ExecType.TRADE)
        _check_decimal("fill.fee", self.fee, signed=True)  # rebates are negative fees
        _check_ms("fill.exec_time", self.exec_time)

    @property
    def order_ident(self) -> str:
        return self.client_order_id or f"venue:{self.venue_order_id}"


@dataclass(frozen=True, slots=True)
class Position:
    """One position. `size` is signed: positive long, negative short, zero flat."""

    venue: str
    account: str
    category: Category
    symbol: str
    size: Decimal
    entry_price: Decimal
    position_side: PositionSide = PositionSide.ONE_WAY
    mark_price: Decimal | None = None
    unrealised_pnl: Decimal | None = None
    updated_at: int = 0

    def __post_init__(self) -> None:
        if not self.symbol:
            raise DomainValueError("position.symbol: missing")
        _check_decimal("position.size", self.size, signed=True)
        _check_decimal("position.entry_price", self.entry_price)
        _check_decimal("position.mark_price", self.mark_price, allow_none=True)
        _check_decimal("position.unrealised_pnl", self.unrealised_pnl, allow_none=True,
                       signed=True)
        _check_ms("position.updated_at", self.updated_at)
        if not isinstance(self.position_side, PositionSide):
            raise DomainValueError(f"position.position_side: {self.position_side!r} "
                                   "is not a PositionSide")
        if (self.position_side is PositionSide.LONG and self.size < 0) or (
                self.position_side is PositionSide.SHORT and self.size > 0):
            raise DomainValueError(f"position.size: {self.size} has the wrong sign for a "
                                   f"{self.position_side.value} position")

    @property
    def key(self) -> str:
        return position_key(self.category, self.symbol, self.position_side)

    @property
    def side(self) -> Side | None:
        if self.size > 0:
            return Side.BUY
        if self.size < 0:
            return Side.SELL
        return None

    @property
    def is_flat(self) -> bool:
        return self.size == 0


@dataclass(frozen=True, slots=True)
class Balance:
    venue: str
    account: str
    asset: str
    total: Decimal
    free: Decimal
    locked: Decimal = ZERO
    updated_at: int = 0

    def __post_init__(self) -> None:
        if not self.asset:
            raise DomainValueError("balance.asset: missing")
        _check_decimal("balance.total", self.total, signed=True)
        _check_decimal("balance.free", self.free, signed=True)
        _check_decimal("balance.locked", self.locked)
        _check_ms("balance.updated_at", self.updated_at)


@dataclass(frozen=True, slots=True)
class BracketState:
    """A saved bracket position: what the worker believes it holds and which orders guard it."""

    strategy_id: str
    category: Category
    symbol: str
    side: Side
    size: Decimal
    entry_client_id: str
    entry_price: Decimal | None = None
    entry_order_id: str = ""
    sl_client_id: str = ""
    sl_order_id: str = ""
    tp_client_id: str = ""
    tp_order_id: str = ""
    stop_price: Decimal | None = None
    take_profit_price: Decimal | None = None
    filled_size: Decimal = ZERO
    oco_ref: str = ""
    opened_at: int = 0

    def __post_init__(self) -> None:
        _check_decimal("bracket.size", self.size, positive=True)
        _check_decimal("bracket.filled_size", self.filled_size)
        _check_decimal("bracket.entry_price", self.entry_price, allow_none=True)
        _check_decimal("bracket.stop_price", self.stop_price, allow_none=True)
        _check_decimal("bracket.take_profit_price", self.take_profit_price, allow_none=True)
        if not self.entry_client_id:
            raise DomainValueError("bracket.entry_client_id: missing")


@dataclass(frozen=True, slots=True)
class RunnerState:
    """Per (user, worker) persisted state; workers never see each other's."""

    user_id: str
    worker_id: str
    venue: str
    account: str
    bracket: BracketState | None = None
    total_trades: int = 0
    winning_trades: int = 0
    losing_trades: int = 0
    total_pnl: Decimal = ZERO
    last_execution_time: int = 0
    updated_at: int = 0
    extra: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.user_id or not self.worker_id:
            raise DomainValueError("runner_state: user_id and worker_id are required")
        _check_decimal("runner_state.total_pnl", self.total_pnl, signed=True)
