"""Turning ledger actions into set-based writes, and (for tests and dry runs) applying
those writes to a snapshot the way the store does.

Both are pure and idempotent: actions are applied against what the ledger already holds,
and only records that would really change come out, so applying a plan twice is applying
it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

from console.domain.model import (
    Balance,
    Fill,
    Order,
    Position,
    RunnerState,
    fill_totals,
    keep_ownership,
)
from console.domain.reconciliation import Action, ActionKind
from console.domain.snapshot import LedgerChanges, LedgerSnapshot

_ORDER_UPDATES = frozenset({ActionKind.MARK_FILLED, ActionKind.MARK_CANCELLED,
                            ActionKind.UPDATE_ORDER})
_BRACKET_SETS = frozenset({ActionKind.RESTORE_BRACKET, ActionKind.UPDATE_BRACKET})


def keep_ledger_metadata(known: Order, update: Order) -> Order:
    """The update's venue facts; the ledger's intent and ownership. Identity never moves."""
    merged = keep_ownership(update, known).evolve(
        client_order_id=known.client_order_id,
        venue_order_id=update.venue_order_id or known.venue_order_id,
        created_at=known.created_at or update.created_at,
        updated_at=max(known.updated_at, update.updated_at),
    )
    if merged.ident != known.ident:  # an order without a client id is keyed by venue id
        merged = merged.evolve(venue_order_id=known.venue_order_id)
    return merged


def _same_order(a: Order, b: Order) -> bool:
    return a == b.evolve(updated_at=a.updated_at)


def _same_position(a: Position, b: Position) -> bool:
    return a == replace(b, updated_at=a.updated_at)


def _same_balance(a: Balance, b: Balance) -> bool:
    return a == replace(b, updated_at=a.updated_at)


def apply_actions(ledger: LedgerSnapshot, actions: Sequence[Action], now: int) -> LedgerChanges:
    """The ledger writes that carry out `actions` (non-ledger kinds are ignored).

    Orders keep the ledger's strategy, worker, role, origin and label; an order the ledger
    already has is never re-adopted; a fill already there is never added again.
    """
    ledger_actions = [a for a in actions if a.kind.changes_ledger]
    if not ledger_actions:
        return LedgerChanges()
    order_kinds = _ORDER_UPDATES | {ActionKind.ADOPT_ORDER}
    original_orders: dict[str, Order] = {}
    known_vids: set[str] = set()
    if any(a.kind in order_kinds for a in ledger_actions):
        original_orders = {o.ident: o for o in ledger.orders}
        known_vids = {o.venue_order_id for o in ledger.orders if o.venue_order_id}
    orders: dict[str, Order] = {}
    have_fills = {f.exec_id for f in ledger.fills}
    fills: list[Fill] = []
    original_positions = {p.key: p for p in ledger.positions}
    positions = dict(original_positions)
    touched_positions: list[str] = []
    original_balances = {b.asset: b for b in ledger.balances}
    balances: dict[str, Balance] = {}
    original_runners = {(r.user_id, r.worker_id): r for r in ledger.runner_states}
    runners: dict[tuple[str, str], RunnerState] = {}

    for action in ledger_actions:
        kind = action.kind
        if kind in _ORDER_UPDATES and action.order is not None:
            update = action.order
            ident = update.ident
            known = orders.get(ident) or original_orders.get(ident)
            orders[ident] = keep_ledger_metadata(known, update) if known is not None else update
        elif kind is ActionKind.ADOPT_ORDER and action.order is not None:
            update = action.order
            if update.venue_order_id and update.venue_order_id in known_vids:
                continue  # the ledger knows it: its metadata stays
            if update.ident in original_orders or update.ident in orders:
                if not update.venue_order_id:
                    continue  # the same order, as far as anyone can tell
                # Its client id already names another ledger order (a reused label):
                # keyed by venue id instead, it can be stored without overwriting that one.
                update = update.evolve(client_order_id="")
            ident = update.ident
            orders[ident] = update
            if update.venue_order_id:
                known_vids.add(update.venue_order_id)
        elif kind is ActionKind.ADD_FILL and action.fill is not None:
            if action.fill.exec_id not in have_fills:
                have_fills.add(action.fill.exec_id)
                fills.append(action.fill)
        elif kind is ActionKind.UPSERT_POSITION and action.position is not None:
            positions[action.position.key] = action.position
            touched_positions.append(action.position.key)
        elif kind is ActionKind.CLOSE_LOCAL_POSITION:
            key = action.position.key if action.position is not None else action.subject
            positions.pop(key, None)
            touched_positions.append(key)
        elif kind is ActionKind.UPDATE_BALANCE and action.balance is not None:
            balances[action.balance.asset] = action.balance
        elif kind in _BRACKET_SETS or kind is ActionKind.CLEAR_BRACKET:
            who = (action.user_id, action.worker_id)
            runner = runners.get(who) or original_runners.get(who)
            if runner is None:
                continue  # no saved state for that worker: nothing to restore or clear
            bracket = None if kind is ActionKind.CLEAR_BRACKET else action.bracket
            if kind is not ActionKind.CLEAR_BRACKET and bracket is None:
                continue
            runners[who] = replace(runner, bracket=bracket)

    out_orders = tuple(o for ident, o in orders.items()
                       if ident not in original_orders
                       or not _same_order(original_orders[ident], o))
    out_positions: list[Position] = []
    removed: list[str] = []
    for key in dict.fromkeys(touched_positions):
        before = original_positions.get(key)
        after = positions.get(key)
        if after is None:
            if before is not None:
                removed.append(key)
        elif before is None or not _same_position(before, after):
            out_positions.append(after)
    out_balances = tuple(b for asset, b in balances.items()
                         if asset not in original_balances
                         or not _same_balance(original_balances[asset], b))
    out_runners = tuple(replace(r, updated_at=max(now, r.updated_at))
                        for key, r in runners.items()
                        if r.bracket != original_runners[key].bracket)
    return LedgerChanges(orders=out_orders, fills=tuple(fills), positions=tuple(out_positions),
                         removed_positions=tuple(removed), balances=out_balances,
                         runner_states=out_runners)


def apply_changes(ledger: LedgerSnapshot, changes: LedgerChanges) -> LedgerSnapshot:
    """What the store does with `changes`, on a snapshot: orders upsert by ident, fills
    insert if their exec id is absent, positions upsert by key then removals, balances
    upsert by asset, runner states upsert by (user, worker)."""
    if changes.is_empty:
        return ledger
    orders = {o.ident: o for o in ledger.orders}
    for order in changes.orders:
        orders[order.ident] = order
    have = {f.exec_id for f in ledger.fills}
    fills = list(ledger.fills)
    added: list[Fill] = []
    for fill in changes.fills:
        if fill.exec_id not in have:
            have.add(fill.exec_id)
            fills.append(fill)
            added.append(fill)
    positions = {p.key: p for p in ledger.positions}
    for position in changes.positions:
        positions[position.key] = position
    for key in changes.removed_positions:
        positions.pop(key, None)
    balances = {b.asset: b for b in ledger.balances}
    for balance in changes.balances:
        balances[balance.asset] = balance
    runners = {(r.user_id, r.worker_id): r for r in ledger.runner_states}
    for runner in changes.runner_states:
        runners[(runner.user_id, runner.worker_id)] = runner
    last = ledger.last_exec_time
    for fill in changes.fills:
        if last is None or fill.exec_time > last:
            last = fill.exec_time
    return replace(ledger, orders=tuple(orders.values()), fills=tuple(fills),
                   positions=tuple(positions.values()), balances=tuple(balances.values()),
                   runner_states=tuple(runners.values()), last_exec_time=last,
                   fill_totals=_fill_totals(ledger.fill_totals, orders.values(), added))


def _fill_totals(totals: Mapping[str, Decimal], orders: Iterable[Order],
                 added: Sequence[Fill]) -> Mapping[str, Decimal]:
    """The per-order fill totals with `added` counted in (the store's rule)."""
    return fill_totals(orders, added, base=totals) if added else totals
