"""Explicit conversions between domain records and plain mappings.

One mapping per record serves two uses: a table row (money stays `Decimal`, the `Money`
column type turns it into text) and a JSON payload (`jsonable` turns Decimals into
strings). Enums are stored by value. Decoders accept a Decimal or its string, so the same
function reads a row and a JSON document. Nothing goes through float.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from enum import Enum
from functools import lru_cache
from operator import itemgetter
from typing import Any, NoReturn, TypeVar

from sqlalchemy import Row as SqlRow

from console.domain import (
    Balance,
    BracketState,
    Category,
    ExecType,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Position,
    PositionSide,
    RunnerState,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.alerts import Alert
from console.domain.model import ORDER_FIELDS, held_if_equal
from console.domain.reconciliation import (
    Action,
    ActionKind,
    ActionState,
    AuditEntry,
    Decision,
    Discrepancy,
    DiscrepancyKind,
    PlannedAction,
    Severity,
)
from console.errors import LedgerError

Row = dict[str, Any]
_E = TypeVar("_E", bound=Enum)


def _dec(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return stored_money(value)
    raise TypeError(f"stored money {value!r} is neither a Decimal nor its text")


@lru_cache(maxsize=16_384)
def stored_money(text: str) -> Decimal:
    """The Decimal of a money column's stored text, one object per distinct text (a
    Decimal is immutable): a read of 100k orders shares their few quantities and prices
    instead of holding a 104-byte copy of each (bench/ui_load.py: together with `_shared`,
    1 KB an order becomes 0.46 KB). Anything but text is refused (`TypeError`: never a
    float), text that is not a number too (`ValueError`); neither is cached."""
    if type(text) is not str:
        raise TypeError(f"stored money {text!r} is not text")
    try:
        return Decimal(text)
    except ArithmeticError:  # decimal.InvalidOperation, under the default context
        raise ValueError(f"a money value that is not a number: {text!r}") from None


def _text(value: object) -> NoReturn:
    """A stored id that is not text: refused (the other text columns are interned,
    which refuses them)."""
    raise TypeError(f"stored id {value!r} is not text")


def _opt_dec(value: object) -> Decimal | None:
    return None if value is None else _dec(value)


def jsonable(row: Mapping[Any, Any]) -> Row:
    """A mapping fit for a JSON column: Decimals become their exact text."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}


def pairs_to_json(pairs: tuple[tuple[str, str], ...]) -> list[list[str]]:
    """Ordered (key, text) pairs as JSON lists; a dict would not keep order on every backend."""
    return [[k, v] for k, v in pairs]


def pairs_from_json(value: object) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        raise TypeError(f"stored pairs {value!r} are not a list")
    return tuple((str(k), str(v)) for k, v in value)


# --- Order -------------------------------------------------------------------------------

def order_to_row(o: Order) -> Row:
    return {
        "venue": o.venue, "account": o.account, "ident": o.ident,
        "category": o.category.value, "symbol": o.symbol, "side": o.side.value,
        "type": o.type.value, "qty": o.qty, "status": o.status.value,
        "client_order_id": o.client_order_id, "venue_order_id": o.venue_order_id,
        "price": o.price, "trigger_price": o.trigger_price,
        "trigger_direction": o.trigger_direction.value if o.trigger_direction else None,
        "reduce_only": o.reduce_only, "time_in_force": o.time_in_force.value,
        "filled_qty": o.filled_qty, "avg_price": o.avg_price,
        "strategy_id": o.strategy_id, "worker_id": o.worker_id, "role": o.role.value,
        "origin": o.origin.value, "label": o.label,
        "created_at": o.created_at, "updated_at": o.updated_at,
    }


def _shared(value: Any) -> Any:
    """One string object per distinct value of a repeated column (venue, symbol,
    strategy...): a read of 100k orders otherwise holds a ~54-byte copy of each per row
    (bench/ui_load.py). Anything but a plain str passes as it is."""
    return sys.intern(value) if type(value) is str else value


def _members(enum: type[_E]) -> dict[str, _E]:
    return {member.value: member for member in enum}


_CATEGORY = _members(Category)
_SIDE = _members(Side)
_ORDER_TYPE = _members(OrderType)
_ORDER_STATUS = _members(OrderStatus)
_TIME_IN_FORCE = _members(TimeInForce)
_ROLE = _members(OrderRole)
_ORIGIN = _members(Origin)
_DIRECTION: dict[str | None, TriggerDirection | None] = {None: None}
_DIRECTION.update(_members(TriggerDirection))
_order_values = itemgetter(*ORDER_FIELDS)
"""A row's (or a payload's) values in `Order`'s field order, in one call."""

ORDER_ROW_COLUMNS: tuple[str, ...] = (*ORDER_FIELDS[2:], "ident")
"""The orders table's columns a read of one account's orders selects, in this order
(`orders_from_rows`): the order's fields but its venue and account, which the read
names, then the ledger's ident, which names a row that cannot be read."""


def order_from_row(r: Mapping[Any, Any]) -> Order:
    """An order from a row of the orders table (a mapping), or from an action's payload
    (money as text there); see `_order_from_values`."""
    try:
        values = _order_values(r)
    except KeyError as exc:
        raise LedgerError(f"the ledger's order {_row_ident(r)} cannot be read: no field "
                          f"{exc}") from None
    return _order_from_values(values[0], values[1], (*values[2:], None), r)


def orders_from_rows(venue: str, account: str, rows: Iterable[Sequence[Any]],
                     held: Mapping[str, Order] | None = None) -> list[Order]:
    """The orders of one account from the database driver's own rows of the columns
    `ORDER_ROW_COLUMNS` (text, integers, money as its stored text), decoded as
    `order_from_row` does: no SQLAlchemy row or type processing per row, and the venue
    and account not read back (a 100k-order read, bench/ui_load.py). An order equal to
    the one `held` holds under its ident is that one: the copy just read goes at once."""
    venue, account = sys.intern(venue), sys.intern(account)
    if not held:
        return [_order_from_values(venue, account, row, row) for row in rows]
    return [held_if_equal(_order_from_values(venue, account, row, row), held)
            for row in rows]


def _order_from_values(venue: Any, account: Any, values: Sequence[Any],
                       source: object) -> Order:
    """An order from a stored row: its venue and account, then the values of
    `ORDER_ROW_COLUMNS` (the ident last, only to name a bad row; None from a mapping).
    The rows are the ledger's own writes of validated orders, so this reads them at bulk
    speed: a dict lookup per enum, one Decimal per distinct money text (`stored_money`),
    one string object per repeated value (`_shared`; not the ids, each its own: interning
    100k of them only grew the interpreter's table by ~7 MB) and `Order.from_values`,
    whose checks are the constructor's (bench/ui_load.py: ~11 us a row before, ~3 after).
    A row that is not an order, or a malformed one (a database edited by hand), raises
    `LedgerError` naming the row."""
    intern, money = sys.intern, stored_money
    try:
        (category, symbol, side, kind, qty, status, client_order_id, venue_order_id, price,
         trigger_price, direction, reduce_only, time_in_force, filled_qty, avg_price,
         strategy_id, worker_id, role, origin, label, created_at, updated_at, _) = values
        return Order.from_values((
            intern(venue), intern(account), _CATEGORY[category], intern(symbol), _SIDE[side],
            _ORDER_TYPE[kind], qty if type(qty) is Decimal else money(qty),
            _ORDER_STATUS[status],
            client_order_id if type(client_order_id) is str else _text(client_order_id),
            venue_order_id if type(venue_order_id) is str else _text(venue_order_id),
            price if price is None or type(price) is Decimal else money(price),
            trigger_price if trigger_price is None or type(trigger_price) is Decimal
            else money(trigger_price),
            _DIRECTION[direction], bool(reduce_only), _TIME_IN_FORCE[time_in_force],
            filled_qty if type(filled_qty) is Decimal else money(filled_qty),
            avg_price if avg_price is None or type(avg_price) is Decimal else money(avg_price),
            intern(strategy_id), intern(worker_id), _ROLE[role], _ORIGIN[origin],
            intern(label),
            created_at if type(created_at) is int else int(created_at),
            updated_at if type(updated_at) is int else int(updated_at),
        ))
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise LedgerError(f"the ledger's order {_row_ident(source)} cannot be read: "
                          f"{_fault(exc)} (was the database changed by hand?)") from None


def _row_ident(source: object) -> str:
    """The order a bad row names, for the message (its ident, or its ids)."""
    r = source._mapping if isinstance(source, SqlRow) else source
    ident = None
    if isinstance(r, tuple) and r:  # a driver's row of `ORDER_ROW_COLUMNS`: ident last
        ident = r[-1]
    elif isinstance(r, Mapping):
        ident = r.get("ident") or r.get("client_order_id") or r.get("venue_order_id")
    return repr(ident) if ident else "(without an id)"


def _fault(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return f"no field or known value {exc}"
    return str(exc) or type(exc).__name__


# --- Fill --------------------------------------------------------------------------------

def fill_to_row(f: Fill) -> Row:
    return {
        "venue": f.venue, "account": f.account, "exec_id": f.exec_id, "symbol": f.symbol,
        "side": f.side.value, "price": f.price, "qty": f.qty, "exec_time": f.exec_time,
        "category": f.category.value, "venue_order_id": f.venue_order_id,
        "client_order_id": f.client_order_id, "fee": f.fee, "fee_asset": f.fee_asset,
        "is_maker": f.is_maker, "exec_type": f.exec_type.value,
    }


def fill_from_row(r: Mapping[Any, Any]) -> Fill:
    return Fill(
        venue=r["venue"], account=r["account"], exec_id=r["exec_id"], symbol=r["symbol"],
        side=Side(r["side"]), price=_dec(r["price"]), qty=_dec(r["qty"]),
        exec_time=int(r["exec_time"]), category=Category(r["category"]),
        venue_order_id=r["venue_order_id"], client_order_id=r["client_order_id"],
        fee=_dec(r["fee"]), fee_asset=r["fee_asset"], is_maker=bool(r["is_maker"]),
        exec_type=ExecType(r["exec_type"]),
    )


# --- Position ----------------------------------------------------------------------------

def position_to_row(p: Position) -> Row:
    return {
        "venue": p.venue, "account": p.account, "key": p.key, "category": p.category.value,
        "symbol": p.symbol, "size": p.size, "entry_price": p.entry_price,
        "position_side": p.position_side.value, "mark_price": p.mark_price,
        "unrealised_pnl": p.unrealised_pnl, "updated_at": p.updated_at,
    }


def position_from_row(r: Mapping[Any, Any]) -> Position:
    return Position(
        venue=r["venue"], account=r["account"], category=Category(r["category"]),
        symbol=r["symbol"], size=_dec(r["size"]), entry_price=_dec(r["entry_price"]),
        position_side=PositionSide(r["position_side"]), mark_price=_opt_dec(r["mark_price"]),
        unrealised_pnl=_opt_dec(r["unrealised_pnl"]), updated_at=int(r["updated_at"]),
    )


# --- Balance -----------------------------------------------------------------------------

def balance_to_row(b: Balance) -> Row:
    return {
        "venue": b.venue, "account": b.account, "asset": b.asset, "total": b.total,
        "free": b.free, "locked": b.locked, "updated_at": b.updated_at,
    }


def balance_from_row(r: Mapping[Any, Any]) -> Balance:
    return Balance(
        venue=r["venue"], account=r["account"], asset=r["asset"], total=_dec(r["total"]),
        free=_dec(r["free"]), locked=_dec(r["locked"]), updated_at=int(r["updated_at"]),
    )


# --- BracketState and RunnerState --------------------------------------------------------

def bracket_to_json(b: BracketState) -> Row:
    return jsonable({
        "strategy_id": b.strategy_id, "category": b.category.value, "symbol": b.symbol,
        "side": b.side.value, "size": b.size, "entry_client_id": b.entry_client_id,
        "entry_price": b.entry_price, "entry_order_id": b.entry_order_id,
        "sl_client_id": b.sl_client_id, "sl_order_id": b.sl_order_id,
        "tp_client_id": b.tp_client_id, "tp_order_id": b.tp_order_id,
        "stop_price": b.stop_price, "take_profit_price": b.take_profit_price,
        "filled_size": b.filled_size, "oco_ref": b.oco_ref, "opened_at": b.opened_at,
    })


def bracket_from_json(r: Mapping[Any, Any]) -> BracketState:
    return BracketState(
        strategy_id=r["strategy_id"], category=Category(r["category"]), symbol=r["symbol"],
        side=Side(r["side"]), size=_dec(r["size"]), entry_client_id=r["entry_client_id"],
        entry_price=_opt_dec(r["entry_price"]), entry_order_id=r["entry_order_id"],
        sl_client_id=r["sl_client_id"], sl_order_id=r["sl_order_id"],
        tp_client_id=r["tp_client_id"], tp_order_id=r["tp_order_id"],
        stop_price=_opt_dec(r["stop_price"]), take_profit_price=_opt_dec(r["take_profit_price"]),
        filled_size=_dec(r["filled_size"]), oco_ref=r["oco_ref"],
        opened_at=int(r["opened_at"]),
    )


def runner_state_to_row(s: RunnerState) -> Row:
    return {
        "user_id": s.user_id, "worker_id": s.worker_id, "venue": s.venue,
        "account": s.account,
        "bracket": bracket_to_json(s.bracket) if s.bracket is not None else None,
        "total_trades": s.total_trades, "winning_trades": s.winning_trades,
        "losing_trades": s.losing_trades, "total_pnl": s.total_pnl,
        "last_execution_time": s.last_execution_time, "updated_at": s.updated_at,
        "extra": pairs_to_json(s.extra),
    }


def runner_state_from_row(r: Mapping[Any, Any]) -> RunnerState:
    bracket = r["bracket"]
    return RunnerState(
        user_id=r["user_id"], worker_id=r["worker_id"], venue=r["venue"],
        account=r["account"],
        bracket=bracket_from_json(bracket) if bracket is not None else None,
        total_trades=int(r["total_trades"]), winning_trades=int(r["winning_trades"]),
        losing_trades=int(r["losing_trades"]), total_pnl=_dec(r["total_pnl"]),
        last_execution_time=int(r["last_execution_time"]), updated_at=int(r["updated_at"]),
        extra=pairs_from_json(r["extra"]),
    )


# --- Run parts ---------------------------------------------------------------------------

def discrepancy_to_row(run_id: str, idx: int, d: Discrepancy) -> Row:
    return {
        "run_id": run_id, "idx": idx, "kind": d.kind.value, "subject": d.subject,
        "symbol": d.symbol, "summary": d.summary,
        "ledger_evidence": pairs_to_json(d.ledger), "venue_evidence": pairs_to_json(d.venue),
        "ledger_seen_at": d.ledger_seen_at, "venue_seen_at": d.venue_seen_at,
    }


def discrepancy_from_row(r: Mapping[Any, Any]) -> Discrepancy:
    return Discrepancy(
        kind=DiscrepancyKind(r["kind"]), subject=r["subject"], summary=r["summary"],
        symbol=r["symbol"], ledger=pairs_from_json(r["ledger_evidence"]),
        venue=pairs_from_json(r["venue_evidence"]),
        ledger_seen_at=_opt_int(r["ledger_seen_at"]), venue_seen_at=_opt_int(r["venue_seen_at"]),
    )


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _payload(a: Action) -> Row:
    """Only the records an action carries; absent ones are left out."""
    out: Row = {}
    if a.order is not None:
        out["order"] = jsonable(order_to_row(a.order))
    if a.fill is not None:
        out["fill"] = jsonable(fill_to_row(a.fill))
    if a.position is not None:
        out["position"] = jsonable(position_to_row(a.position))
    if a.balance is not None:
        out["balance"] = jsonable(balance_to_row(a.balance))
    if a.bracket is not None:
        out["bracket"] = bracket_to_json(a.bracket)
    return out


def _maybe(payload: Mapping[str, Any], key: str, decode: Any) -> Any:
    value = payload.get(key)
    return None if value is None else decode(value)


def action_to_row(run_id: str, idx: int, p: PlannedAction) -> Row:
    a = p.action
    return {
        "run_id": run_id, "idx": idx, "kind": a.kind.value, "subject": a.subject,
        "reason": a.reason.value if a.reason is not None else None, "summary": a.summary,
        "decision": p.decision.value, "state": p.state.value, "applied_by": p.applied_by,
        "applied_at": p.applied_at, "error": p.error, "severity": a.severity.value,
        "user_id": a.user_id, "worker_id": a.worker_id, "payload": _payload(a),
    }


def action_from_row(r: Mapping[Any, Any]) -> PlannedAction:
    payload = r["payload"]
    if not isinstance(payload, dict):
        raise TypeError(f"stored action payload {payload!r} is not an object")
    reason = r["reason"]
    action = Action(
        kind=ActionKind(r["kind"]), subject=r["subject"],
        reason=DiscrepancyKind(reason) if reason is not None else None,
        summary=r["summary"],
        order=_maybe(payload, "order", order_from_row),
        fill=_maybe(payload, "fill", fill_from_row),
        position=_maybe(payload, "position", position_from_row),
        balance=_maybe(payload, "balance", balance_from_row),
        bracket=_maybe(payload, "bracket", bracket_from_json),
        user_id=r["user_id"], worker_id=r["worker_id"], severity=Severity(r["severity"]),
    )
    return PlannedAction(
        action=action, decision=Decision(r["decision"]), state=ActionState(r["state"]),
        applied_by=r["applied_by"], applied_at=_opt_int(r["applied_at"]), error=r["error"],
    )


def audit_to_row(e: AuditEntry) -> Row:
    return {
        "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject,
        "venue": e.venue, "account": e.account, "run_id": e.run_id,
        "details": pairs_to_json(e.details),
    }


def audit_from_row(r: Mapping[Any, Any]) -> AuditEntry:
    return AuditEntry(
        at=int(r["at"]), actor=r["actor"], action=r["action"], subject=r["subject"],
        venue=r["venue"], account=r["account"], run_id=r["run_id"],
        details=pairs_from_json(r["details"]),
    )


# --- Alert -------------------------------------------------------------------------------

def alert_to_row(a: Alert) -> Row:
    """The row of an alert; the id is left to the database for a new one."""
    row: Row = {
        "venue": a.venue, "account": a.account, "rule": a.rule, "subject": a.subject,
        "severity": a.severity.value, "message": a.message, "first_seen": a.first_seen,
        "last_seen": a.last_seen, "seen_count": a.count, "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at, "cleared_at": a.cleared_at,
    }
    if a.alert_id is not None:
        row["id"] = a.alert_id
    return row


def alert_from_row(r: Mapping[Any, Any]) -> Alert:
    return Alert(
        venue=r["venue"], account=r["account"], rule=r["rule"], subject=r["subject"],
        severity=Severity(r["severity"]), message=r["message"],
        first_seen=int(r["first_seen"]), last_seen=int(r["last_seen"]),
        count=int(r["seen_count"]), acknowledged_by=r["acknowledged_by"],
        acknowledged_at=_opt_int(r["acknowledged_at"]), cleared_at=_opt_int(r["cleared_at"]),
        alert_id=int(r["id"]),
    )
