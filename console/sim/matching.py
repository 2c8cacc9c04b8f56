"""Order matching and settlement: how an order meets the synthetic book and what a fill
changes (wallet, position, locks, the order itself).

`Matcher` holds no public API: `SimExchange` validates a request, then calls in here
inside one operation. Every change emits its order and execution events through `emit`;
positions and balances are marked dirty on the account and published by the exchange
at the end of the operation.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from decimal import Decimal

from console.domain.enums import (
    ExecType,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.model import Fill
from console.domain.values import ZERO
from console.sim.accounting import contract_math, fee_for, inverse_average
from console.sim.book import best_price, crosses, takeable, trigger_due, walk
from console.sim.events import EventKind, Payload
from console.sim.instruments import Instrument, InstrumentKey
from console.sim.state import SimAccount, SimOrder

Emit = Callable[[SimAccount, EventKind, Payload, int], None]


class Matcher:
    """The order lifecycle over shared market state (instruments, marks, active orders)."""

    def __init__(self, *, venue: str, rng: random.Random, maker_fee: Decimal,
                 taker_fee: Decimal, default_leverage: int,
                 instruments: dict[InstrumentKey, Instrument],
                 marks: dict[InstrumentKey, Decimal], emit: Emit) -> None:
        self.venue = venue
        self.rng = rng
        self.maker_fee = maker_fee
        self.taker_fee = taker_fee
        self.default_leverage = default_leverage
        self.instruments = instruments
        self.marks = marks
        self.emit = emit
        # active orders (resting and untriggered) per instrument, for matching
        self.active: dict[InstrumentKey, dict[str, tuple[SimAccount, SimOrder]]] = {}
        self.order_seq = 0
        self.fill_seq = 0
        self.priority = 0

    def new_id(self) -> str:
        """A uuid-shaped id from the seeded generator (venue order ids, exec ids)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def next_priority(self) -> int:
        self.priority += 1
        return self.priority

    def emit_order(self, acct: SimAccount, order: SimOrder, now: int) -> None:
        self.emit(acct, EventKind.ORDER, order.snapshot(self.venue, acct.name), now)

    @staticmethod
    def limit_price(order: SimOrder) -> Decimal:
        if order.price is None:
            raise AssertionError(f"limit order {order.venue_order_id} has no price")
        return order.price

    def lev(self, acct: SimAccount, key: InstrumentKey) -> int:
        return acct.leverage.get(key, self.default_leverage)

    # -- locks and funds -------------------------------------------------------------------

    def lock_for(self, acct: SimAccount, instr: Instrument, *, side: Side, reduce_only: bool,
                 remaining: Decimal, price: Decimal) -> tuple[str, Decimal]:
        """What a resting order locks: initial margin in the settle coin on a derivative
        (nothing when it can only close: `reduce_only` is `SimOrder.closing`), the quote
        coin of a spot buy, the base coin of a spot sell."""
        if instr.is_derivative:
            if reduce_only:
                return "", ZERO
            return instr.settle_coin, contract_math(instr.category).margin(
                remaining, price, self.lev(acct, instr.key))
        if side is Side.BUY:
            return instr.quote, remaining * price
        return instr.base, remaining

    def relock(self, acct: SimAccount, order: SimOrder) -> None:
        if not order.is_resting:
            acct.set_order_lock(order, "", ZERO)
            return
        instr = self.instruments[order.key]
        asset, amount = self.lock_for(acct, instr, side=order.side,
                                      reduce_only=order.closing, remaining=order.remaining,
                                      price=self.limit_price(order))
        acct.set_order_lock(order, asset, amount)

    def funds_needed(self, acct: SimAccount, instr: Instrument, *, side: Side,
                     order_type: OrderType, qty: Decimal, price: Decimal | None,
                     mark: Decimal | None) -> tuple[str, Decimal]:
        if order_type is OrderType.LIMIT and price is not None:
            executions = [(price, qty)]
        elif mark is not None:
            executions = walk(instr, mark, side, qty, None, sweep=True)
        else:
            executions = []
        if instr.is_derivative:
            return instr.settle_coin, contract_math(instr.category).margin_of(
                executions, self.lev(acct, instr.key))
        notional = sum((p * q for p, q in executions), ZERO)
        if side is Side.BUY:
            return instr.quote, notional
        return instr.base, qty

    def has_funds(self, acct: SimAccount, instr: Instrument, *, side: Side,
                  order_type: OrderType, qty: Decimal, price: Decimal | None,
                  mark: Decimal | None) -> tuple[bool, str]:
        asset, need = self.funds_needed(acct, instr, side=side, order_type=order_type, qty=qty,
                                        price=price, mark=mark)
        free = acct.free(asset)
        if need > free:
            return False, (f"{instr.label} {side.value} {qty} needs {need} {asset}; "
                           f"{free} {asset} is free")
        return True, ""

    # -- order lifecycle -------------------------------------------------------------------

    def rest(self, acct: SimAccount, order: SimOrder) -> None:
        acct.open_orders.setdefault(order.venue_order_id, order)
        self.active[order.key][order.venue_order_id] = (acct, order)
        self.relock(acct, order)

    def finish(self, acct: SimAccount, order: SimOrder, status: OrderStatus, reason: str,
               now: int) -> None:
        order.status = status
        order.reason = reason
        order.updated_at = now
        acct.close_order(order)
        self.active[order.key].pop(order.venue_order_id, None)
        acct.set_order_lock(order, "", ZERO)

    def new_order(self, acct: SimAccount, instr: Instrument, *, side: Side,
                  order_type: OrderType, qty: Decimal, price: Decimal | None,
                  trigger_price: Decimal | None, trigger_direction: TriggerDirection | None,
                  reduce_only: bool, time_in_force: TimeInForce, client_order_id: str,
                  label: str, now: int,
                  position_side: PositionSide = PositionSide.ONE_WAY) -> SimOrder:
        self.order_seq += 1
        status = OrderStatus.NEW if trigger_price is None else OrderStatus.UNTRIGGERED
        order = SimOrder(
            seq=self.order_seq, venue_order_id=self.new_id(), client_order_id=client_order_id,
            category=instr.category, symbol=instr.symbol, side=side, type=order_type, qty=qty,
            price=price, trigger_price=trigger_price, trigger_direction=trigger_direction,
            reduce_only=reduce_only, time_in_force=time_in_force, label=label, status=status,
            created_at=now, updated_at=now, priority=self.next_priority(),
            position_side=position_side)
        acct.add_order(order)
        return order

    def fill(self, acct: SimAccount, instr: Instrument, order: SimOrder, price: Decimal,
             qty: Decimal, *, is_maker: bool, now: int) -> Fill:
        """Book one execution: wallet, position, order progress, and its event."""
        rate = self.maker_fee if is_maker else self.taker_fee
        notional = price * qty
        if instr.is_derivative:
            settle = instr.settle_coin
            math = contract_math(instr.category)
            fee, fee_asset = math.fee(qty, price, rate), settle
            pos = acct.position(order.position_key)
            change = math.trade(pos.size, pos.entry_price, qty * order.side.sign, price)
            pos.size, pos.entry_price = change.size, change.entry_price
            pos.realised_pnl += change.realised_pnl
            pos.fees_paid += fee
            pos.updated_at = now
            acct.add_total(settle, change.realised_pnl - fee)
            acct.set_position_margin(pos, settle, math.margin(
                abs(pos.size), pos.entry_price, self.lev(acct, instr.key)))
            acct.dirty_positions[pos.key] = None
        elif order.side is Side.BUY:
            fee, fee_asset = fee_for(qty, rate), instr.base
            acct.add_total(instr.quote, -notional)
            acct.add_total(instr.base, qty - fee)
        else:
            fee, fee_asset = fee_for(notional, rate), instr.quote
            acct.add_total(instr.base, -qty)
            acct.add_total(instr.quote, notional - fee)
        if instr.is_inverse:
            order.avg_fill = inverse_average(order.filled_qty, order.avg_fill, qty, price)
        order.filled_qty += qty
        order.filled_value += notional
        order.updated_at = now
        fill = Fill(
            venue=self.venue, account=acct.name, exec_id=self.new_id(), symbol=instr.symbol,
            side=order.side, price=price, qty=qty, exec_time=now, category=instr.category,
            venue_order_id=order.venue_order_id, client_order_id=order.client_order_id,
            fee=fee, fee_asset=fee_asset, is_maker=is_maker, exec_type=ExecType.TRADE)
        self.fill_seq += 1
        acct.add_fill(fill, self.fill_seq)
        if order.remaining == 0:
            self.finish(acct, order, OrderStatus.FILLED, "", now)
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
            self.relock(acct, order)
        self.emit(acct, EventKind.EXECUTION, fill, now)
        return fill

    def activate(self, acct: SimAccount, instr: Instrument, order: SimOrder, now: int, *,
                 sweep: bool = False) -> None:
        """Match a live order as a taker, then rest, cancel or reject what is left."""
        mark = self.marks.get(instr.key)
        target = order.remaining
        if order.closing:
            target = min(target, acct.reducible_by(order))
        executions: list[tuple[Decimal, Decimal]] = []
        outcome: tuple[OrderStatus, str] | None = None
        if order.closing and target == 0:
            outcome = (OrderStatus.CANCELLED, "reduce_only_no_position")
        elif order.type is OrderType.LIMIT:
            limit = self.limit_price(order)
            marketable = crosses(instr, mark, order.side, limit)
            if order.time_in_force is TimeInForce.POST_ONLY and marketable:
                outcome = (OrderStatus.CANCELLED, "post_only_would_take")
            elif order.time_in_force is TimeInForce.FOK and (
                    target < order.remaining
                    or takeable(instr, mark, order.side, limit) < order.remaining):
                outcome = (OrderStatus.CANCELLED, "fok_not_filled")
            elif marketable and mark is not None:
                executions = walk(instr, mark, order.side, target, limit)
        elif mark is None:
            outcome = (OrderStatus.REJECTED, "no_market_price")
        elif order.time_in_force is TimeInForce.FOK and (
                target < order.remaining
                or takeable(instr, mark, order.side, None) < order.remaining):
            outcome = (OrderStatus.CANCELLED, "fok_not_filled")
        else:
            executions = walk(instr, mark, order.side, target, None, sweep=sweep)
        if outcome is not None:
            self.finish(acct, order, outcome[0], outcome[1], now)
            self.emit_order(acct, order, now)
            return
        for price, qty in executions:
            self.fill(acct, instr, order, price, qty, is_maker=False, now=now)
        if order.is_active:
            if order.closing and acct.reducible_by(order) == 0:
                self.finish(acct, order, OrderStatus.CANCELLED, "reduce_only_no_position", now)
            elif order.type is OrderType.MARKET or order.time_in_force in (
                    TimeInForce.IOC, TimeInForce.FOK):
                self.finish(acct, order, OrderStatus.CANCELLED, "unfilled_remainder", now)
            else:
                self.rest(acct, order)
        self.emit_order(acct, order, now)

    def trigger(self, acct: SimAccount, instr: Instrument, order: SimOrder, now: int) -> None:
        order.status = OrderStatus.NEW
        order.updated_at = now
        order.priority = self.next_priority()
        if not order.closing:
            ok, _why = self.has_funds(acct, instr, side=order.side, order_type=order.type,
                                      qty=order.remaining, price=order.price,
                                      mark=self.marks.get(instr.key))
            if not ok:
                self.finish(acct, order, OrderStatus.REJECTED, "insufficient_balance", now)
                self.emit_order(acct, order, now)
                return
        self.activate(acct, instr, order, now)

    def on_price(self, instr: Instrument, now: int) -> None:
        """A new mark: fire due conditionals (oldest first), then fill the resting orders it
        made marketable, best price first, sharing the book's depth down to each limit."""
        key = instr.key
        mark = self.marks[key]
        active = self.active[key]
        if not active:
            return
        due = [(acct, order) for acct, order in active.values()
               if order.status is OrderStatus.UNTRIGGERED and order.trigger_price is not None
               and order.trigger_direction is not None
               and trigger_due(order.trigger_direction, order.trigger_price, mark)]
        due.sort(key=lambda entry: entry[1].priority)
        fired: set[str] = set()
        for acct, order in due:
            fired.add(order.venue_order_id)
            self.trigger(acct, instr, order, now)
        for side in (Side.BUY, Side.SELL):
            best = best_price(instr, mark, side)
            if best is None:
                continue
            makers = [(acct, order) for acct, order in active.values()
                      if order.side is side and order.is_resting
                      and order.venue_order_id not in fired
                      and (self.limit_price(order) >= best if side is Side.BUY
                           else self.limit_price(order) <= best)]
            if side is Side.BUY:
                makers.sort(key=lambda e: (-self.limit_price(e[1]), e[1].priority))
            else:
                makers.sort(key=lambda e: (self.limit_price(e[1]), e[1].priority))
            consumed = ZERO
            for acct, order in makers:
                limit = self.limit_price(order)
                available = takeable(instr, mark, side, limit) - consumed
                if available <= 0:
                    break
                qty = min(order.remaining, available)
                if order.closing:
                    qty = min(qty, acct.reducible_by(order))
                if qty > 0:
                    self.fill(acct, instr, order, limit, qty, is_maker=True, now=now)
                    consumed += qty
                if order.is_active and order.closing and acct.reducible_by(order) == 0:
                    self.finish(acct, order, OrderStatus.CANCELLED, "reduce_only_no_position",
                                now)
                self.emit_order(acct, order, now)
