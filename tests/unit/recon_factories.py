"""Builders for reconciliation tests: domain objects with sensible defaults."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from console.domain import (
    Balance,
    BracketState,
    Category,
    Fill,
    LedgerSnapshot,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    RunnerState,
    Side,
    VenueSnapshot,
)
from console.domain.ids import to_base36
from console.domain.reconciliation import ActionKind, Decision, Plan, PlannedAction

VENUE = "bybit"
ACCOUNT = "main"
NOW = 1_700_000_000_000
TAKEN = NOW - 1_000
_CODES = {OrderRole.ENTRY: "e", OrderRole.STOP_LOSS: "s", OrderRole.TAKE_PROFIT: "t",
          OrderRole.OTHER: "o"}


def D(value: str | int) -> Decimal:
    return Decimal(str(value))


def cid(n: int, *, worker: str = "w1", role: OrderRole = OrderRole.OTHER,
        prefix: str = "rc") -> str:
    """One of our client ids (the ClientOrderIdGenerator format)."""
    return f"{prefix}-{worker}-{_CODES[role]}-{to_base36(NOW - 3_600_000)}-{to_base36(n)}"


def order(client_order_id: str = "", *, vid: str = "", status: OrderStatus = OrderStatus.NEW,
          qty: str = "1", price: str | None = "100", filled: str = "0",
          avg: str | None = None, side: Side = Side.BUY, symbol: str = "BTCUSDT",
          category: Category = Category.LINEAR, **kw: Any) -> Order:
    fields: dict[str, Any] = {
        "created_at": NOW - 3_600_000, "updated_at": NOW - 3_600_000,
    }
    fields.update(kw)
    return Order(
        venue=VENUE, account=ACCOUNT, category=category, symbol=symbol, side=side,
        type=OrderType.LIMIT if price is not None else OrderType.MARKET, qty=D(qty),
        status=status, client_order_id=client_order_id, venue_order_id=vid,
        price=D(price) if price is not None else None, filled_qty=D(filled),
        avg_price=D(avg) if avg is not None else None, **fields)


def venue_view(known: Order, **changes: Any) -> Order:
    """The venue's copy of a ledger order: no ledger metadata, venue's own fields."""
    base = known.evolve(strategy_id="", worker_id="", role=OrderRole.OTHER, label="",
                        updated_at=TAKEN - 10)
    return base.evolve(**changes) if changes else base


def fill(exec_id: str, *, order_cid: str = "", vid: str = "", qty: str = "1",
         price: str = "100", at: int = NOW - 60_000, side: Side = Side.BUY,
         symbol: str = "BTCUSDT") -> Fill:
    return Fill(venue=VENUE, account=ACCOUNT, exec_id=exec_id, symbol=symbol, side=side,
                price=D(price), qty=D(qty), exec_time=at, venue_order_id=vid,
                client_order_id=order_cid, fee=D("0.01"), fee_asset="USDT")


def position(size: str, *, entry: str = "100", symbol: str = "BTCUSDT",
             side: PositionSide = PositionSide.ONE_WAY,
             category: Category = Category.LINEAR, updated_at: int = NOW - 60_000) -> Position:
    return Position(venue=VENUE, account=ACCOUNT, category=category, symbol=symbol,
                    size=D(size), entry_price=D(entry), position_side=side,
                    updated_at=updated_at)


def balance(asset: str, total: str, free: str | None = None, locked: str = "0",
            updated_at: int = NOW - 60_000) -> Balance:
    return Balance(venue=VENUE, account=ACCOUNT, asset=asset, total=D(total),
                   free=D(free if free is not None else total), locked=D(locked),
                   updated_at=updated_at)


def runner(worker: str = "w1", bracket: BracketState | None = None, *,
           user: str = "u1") -> RunnerState:
    return RunnerState(user_id=user, worker_id=worker, venue=VENUE, account=ACCOUNT,
                       bracket=bracket, updated_at=NOW - 3_600_000)


def ledger(*, orders: tuple[Order, ...] = (), fills: tuple[Fill, ...] = (),
           positions: tuple[Position, ...] = (), balances: tuple[Balance, ...] = (),
           runners: tuple[RunnerState, ...] = (), fills_from: int = 0,
           last_exec_time: int | None = None) -> LedgerSnapshot:
    return LedgerSnapshot(VENUE, ACCOUNT, orders=orders, fills=fills, fills_from=fills_from,
                          positions=positions, balances=balances, runner_states=runners,
                          last_exec_time=last_exec_time)


_ALL = object()


def venue(*, open_orders: tuple[Order, ...] | None = (), queried: dict[str, Order] | None = None,
          not_found: frozenset[str] = frozenset(), fills: tuple[Fill, ...] | None = (),
          window: tuple[int, int] | object | None = _ALL,
          positions: tuple[Position, ...] | None = (),
          balances: tuple[Balance, ...] | None = ()) -> VenueSnapshot:
    fills_window: tuple[int, int] | None
    if window is _ALL:
        fills_window = (0, TAKEN) if fills is not None else None
    else:
        assert window is None or isinstance(window, tuple)
        fills_window = window
    return VenueSnapshot(VENUE, ACCOUNT, taken_at=TAKEN, open_orders=open_orders,
                         queried_orders=dict(queried or {}), not_found=not_found, fills=fills,
                         fills_window=fills_window, positions=positions, balances=balances)


def kinds(plan: Plan) -> list[ActionKind]:
    return [p.action.kind for p in plan.actions]


def only(plan: Plan, kind: ActionKind) -> list[PlannedAction]:
    return [p for p in plan.actions if p.action.kind is kind]


def decisions(plan: Plan) -> dict[ActionKind, set[Decision]]:
    out: dict[ActionKind, set[Decision]] = {}
    for p in plan.actions:
        out.setdefault(p.action.kind, set()).add(p.decision)
    return out
