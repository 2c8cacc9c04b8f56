"""What the orders and positions tables can do to one row or a selection: cancel an
order, amend an order, close a position (a reduce-only market order). No widget lives
here: the window's menus, toolbar buttons and keys call these, and tests call them as an
operator would.

The rules are the console's confirmation rules: a read-only profile refuses before
anything is asked; every venue-changing request is confirmed once, through the
`Confirmer`, with exactly what will be sent listed, one line per request; declining
sends nothing. Each request is then made through the engine's order manager (the ledger
gets the intent and the venue's answer, as for any order), each outcome is announced and
written to the audit log with the operator's name, and the tables are refreshed.

A venue order the ledger does not hold (`VenueOnlyOrder`, "not in ledger") can be
cancelled: the order manager records the venue's answer, so the ledger learns of it as
cancelled. It cannot be amended: the ledger must own an order before the console changes
it (the inbox adopts it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Protocol, TypeVar

from console.domain import Order, OrderRole, OrderStatus, OrderType, Position, TimeInForce
from console.domain.reconciliation import AuditEntry, evidence
from console.engine.order_manager import ReplaceResult
from console.engine.ports import LedgerPort
from console.engine.session import EngineSession
from console.errors import UserFacingError
from console.ui.dialogs.confirm import Confirmer
from console.ui.format import fmt_decimal, plural
from console.ui.models.inbox import InboxItem
from console.ui.models.orders import VenueOnlyOrder, order_line, plain
from console.ui.models.positions import position_line
from console.ui.ports import Identity

T = TypeVar("T")
AmendAsker = Callable[[Order], Awaitable[tuple[Decimal | None, Decimal | None] | None]]
"""Asks for a new price and/or quantity (None: the operator cancelled)."""

VIA = "orders table"
CLOSE_STRATEGY = "console"
"""The strategy id of a position-closing order sent from the positions table."""


class RowActionHost(Protocol):
    """What the row actions need of the console controller (one account)."""

    @property
    def session(self) -> EngineSession: ...

    def refuse_remote(self, what: str) -> None: ...

    book: LedgerPort
    identity: Identity
    confirmer: Confirmer
    venue: str
    account: str
    operator: Callable[[], str]
    clock_ms: Callable[[], int]

    @property
    def read_only(self) -> bool: ...

    def say(self, text: str) -> None: ...

    async def refresh(self, *what: str) -> None: ...


def _where(host: RowActionHost) -> str:
    return f"{host.identity.badge.value} {host.venue}/{host.account}"


def _refuse_read_only(host: RowActionHost, what: str) -> None:
    host.refuse_remote(what.capitalize())  # a remote account: no venue connection here
    if host.read_only:
        raise UserFacingError(f"This profile is read-only: {what} is disabled.")


async def _audit(host: RowActionHost, action: str, subject: str,
                 details: tuple[tuple[str, str], ...]) -> None:
    entry = AuditEntry(at=host.clock_ms(), actor=f"operator:{host.operator()}", action=action,
                       subject=subject, venue=host.venue, account=host.account,
                       details=details)
    await asyncio.to_thread(host.session.ledger.append_audit, entry)


async def _confirm_then_each(host: RowActionHost, items: Sequence[T], *, verb: str,
                             noun: str, sent: str, lines: list[str],
                             one: Callable[[RowActionHost, T], Awaitable[str]],
                             refresh: tuple[str, ...]) -> list[tuple[T, str]]:
    """One confirmation listing every request (one order per item), then each request in
    turn and its outcome; declining sends nothing. Cancel and close share it so that both
    ask, announce and refresh alike."""
    n = len(items)
    if not await host.confirmer.confirm(
            f"{verb} {plural(n, noun)}",
            f"Exactly {'this order' if n == 1 else f'these {n} orders'} will be {sent} "
            f"{_where(host)}:", lines,
            accept=f"{verb} the {noun}" if n == 1 else f"{verb} the {noun}s"):
        host.say(f"{verb} not confirmed: nothing sent.")
        return []
    out: list[tuple[T, str]] = []
    for item in items:
        out.append((item, await one(host, item)))
    await host.refresh(*refresh)
    return out


# -- cancel ------------------------------------------------------------------------------------

def cancel_line(order: Order) -> str:
    note = " — not in the ledger: it is recorded when cancelled" if isinstance(
        order, VenueOnlyOrder) else ""
    return f"Send: cancel {order_line(order)}{note}"


async def cancel_orders(host: RowActionHost, orders: Sequence[Order]) -> list[tuple[Order, str]]:
    """Cancel the active ones of `orders` after one confirmation listing each; the outcome
    per order ("cancelled", or why not)."""
    active = [o for o in orders if o.is_active]
    if not active:
        host.say("Select an open order to cancel.")
        return []
    _refuse_read_only(host, "cancelling")
    return await _confirm_then_each(host, active, verb="Cancel", noun="order",
                                    sent="cancelled on", lines=[cancel_line(o) for o in active],
                                    one=_cancel_one, refresh=("orders", "audit"))


async def _cancel_one(host: RowActionHost, order: Order) -> str:
    current = plain(order)
    if not isinstance(order, VenueOnlyOrder):
        stored = await asyncio.to_thread(host.book.get_order, host.venue, host.account,
                                         order.ident)
        current = stored or current
        if not current.is_active:
            text = f"not sent: the order is {current.status.value} already"
            host.say(f"Cancel {order_line(current)}: {text}")
            return text
    try:
        seen, error = await host.session.orders.cancel(current)
    except UserFacingError as exc:
        seen, error = None, str(exc)
    text = error or "cancelled"
    await _audit(host, f"cancel_order:{'failed' if error else 'applied'}", current.ident,
                 evidence(via=VIA, status=seen.status.value if seen else None,
                          error=error or None))
    host.say(f"Cancel {order_line(current)}: {text}")
    return text


# -- amend -------------------------------------------------------------------------------------

def amend_line(order: Order, price: Decimal | None, qty: Decimal | None) -> str:
    changes = [f"price {fmt_decimal(order.price)} → {fmt_decimal(price)}"] if price is not None \
        else []
    if qty is not None:
        changes.append(f"qty {fmt_decimal(order.qty)} → {fmt_decimal(qty)}")
    return f"Send: amend {order_line(order)}: {', '.join(changes)}"


def describe_replace(result: ReplaceResult) -> str:
    live = result.live
    if live is not None:
        how = "amended in place" if result.path.value == "amended" else (
            f"cancelled and re-created as {live.client_order_id} ({result.reason})")
        return (f"{result.old.symbol}: {how}; now {fmt_decimal(live.qty)} @ "
                f"{fmt_decimal(live.price)} ({live.status.value})")
    return f"{result.old.symbol}: not changed: {result.error or result.reason}"


async def amend_order(host: RowActionHost, order: Order,
                      ask: AmendAsker) -> ReplaceResult | None:
    """Ask for a new price and/or quantity, confirm exactly that, then amend first (the
    order manager cancels and re-creates when the venue or the policy says so)."""
    _refuse_read_only(host, "amending")
    if isinstance(order, VenueOnlyOrder):
        raise UserFacingError(f"{order_line(order)} is not in the ledger: adopt it from the "
                              "inbox first (or cancel it).")
    stored = await asyncio.to_thread(host.book.get_order, host.venue, host.account,
                                     order.ident)
    current = stored or plain(order)
    if not current.is_active:
        raise UserFacingError(f"{order_line(current)} is no longer active.")
    answer = await ask(current)
    if answer is None:
        host.say("Amend cancelled.")
        return None
    price, qty = answer
    if price is None and qty is None:
        host.say("Amend: nothing changed.")
        return None
    if not await host.confirmer.confirm(
            "Amend an order", f"This request will be sent to {_where(host)}:",
            [amend_line(current, price, qty),
             "  → amended in place where the venue allows it; otherwise the order is "
             "cancelled and re-created with a new client id"], accept="Amend the order"):
        host.say("Amend not confirmed: nothing sent.")
        return None
    result = await host.session.orders.replace(current, price=price, qty=qty)
    text = describe_replace(result)
    await _audit(host, f"amend_order:{'applied' if result.live is not None else 'failed'}",
                 current.ident, evidence(via=VIA, path=result.path.value,
                                         price=price, qty=qty,
                                         error=(result.error or result.reason or None)
                                         if result.live is None else None))
    host.say(f"Amend: {text}")
    await host.refresh("orders", "audit")
    return result


# -- close -------------------------------------------------------------------------------------

def close_line(position: Position) -> str:
    side = position.side.opposite.value if position.side is not None else "?"
    return (f"Send: {side} {fmt_decimal(abs(position.size))} {position.symbol} at market, "
            f"reduce-only, IOC — closes {position_line(position).split(':')[0]}")


def closing_order(position: Position, client_id: str, now: int) -> Order:
    """A reduce-only IOC market order for the whole position (as the emergency stop's)."""
    if position.side is None:
        raise UserFacingError(f"{position.symbol}: the position is flat")
    return Order(
        venue=position.venue, account=position.account, category=position.category,
        symbol=position.symbol, side=position.side.opposite, type=OrderType.MARKET,
        qty=abs(position.size), status=OrderStatus.PENDING_NEW, client_order_id=client_id,
        reduce_only=True, time_in_force=TimeInForce.IOC, role=OrderRole.OTHER,
        strategy_id=CLOSE_STRATEGY, created_at=now, updated_at=now)


async def close_positions(host: RowActionHost,
                          positions: Sequence[Position]) -> list[tuple[Position, str]]:
    """Close each open one of `positions` with a reduce-only market order, after one
    confirmation listing each order; the outcome per position."""
    open_ = [p for p in positions if not p.is_flat]
    if not open_:
        host.say("Select an open position to close.")
        return []
    _refuse_read_only(host, "closing a position")
    if host.session.risk.halted:
        raise UserFacingError(
            "Trading is halted: every new order is refused, a closing one too. Use "
            "Emergency: cancel all and flatten, or resume trading first.")
    return await _confirm_then_each(host, open_, verb="Close", noun="position",
                                    sent="sent to", lines=[close_line(p) for p in open_],
                                    one=_close_one, refresh=("book", "audit"))


async def _close_one(host: RowActionHost, position: Position) -> str:
    orders = host.session.orders
    client_id = ""
    try:
        client_id = await asyncio.to_thread(orders.ids.next, OrderRole.OTHER)
        placed = await orders.place(closing_order(position, client_id, host.clock_ms()))
        error = "" if placed.status is not OrderStatus.REJECTED \
            else "the venue did not accept the order"
        status = placed.status.value
    except UserFacingError as exc:
        error, status = str(exc), ""
    text = error or f"sent ({status})"
    await _audit(host, f"close_position:{'failed' if error else 'applied'}", position.key,
                 evidence(via="positions table", order=client_id or None,
                          status=status or None, error=error or None))
    host.say(f"Close {position.symbol}: {text}")
    return text


# -- a rejection that holds --------------------------------------------------------------------

async def lift_rejections(host: RowActionHost, items: Sequence[InboxItem]) -> int:
    """"Un-reject": lift each selected rejection (audited; nothing is sent). The next
    reconciliation proposes the action again, awaiting approval, if it is still needed."""
    todo = [i for i in items if i.rejected]
    if not todo:
        host.say("Select a rejected action to un-reject.")
        return 0
    done = 0
    for item in todo:
        summary = item.planned.action.summary or item.planned.action.kind.value
        try:
            await host.session.executor.lift_rejection(item.run_id, item.index,
                                                       host.operator())
        except UserFacingError as exc:
            host.say(f"Could not un-reject {summary}: {exc}")
            continue
        done += 1
        host.say(f"Un-rejected {summary}: the next reconciliation proposes it again if the "
                 "venue still calls for it.")
    await host.refresh("inbox", "audit")
    return done
