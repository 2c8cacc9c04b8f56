"""Sim events → Binance pushes: what `BinanceStream` (the event hub's push source) does.

The sim publishes, per operation, its order updates and executions as they happen and
then the positions and balances that changed. Binance reports the same operation as:

* USD-M (instruments of category LINEAR, to listenKey connections): per execution a
  ``TRADE_LITE`` and ONE ``ORDER_TRADE_UPDATE`` with ``x`` = TRADE carrying both the
  execution (``l``, ``L``, ``n``, ``N``, ``t``, ``rp``) and the order's state after it
  (``X``, ``z``, ``ap``); status changes without a trade as their own update (NEW,
  CANCELED, EXPIRED, AMENDMENT); conditional orders as ``ALGO_UPDATE`` (NEW, CANCELED,
  TRIGGERED, FINISHED, REJECTED), the regular order a trigger creates having its own id
  (`Ids.actual_order_id`) and the algo order's client id (the sim's choice: Binance does
  not document the client id of a triggered order; UNVERIFIED); then one
  ``ACCOUNT_UPDATE`` (reason ORDER) with the wallets and positions that changed.
* spot (instruments of category SPOT, to WebSocket API subscriptions): one
  ``executionReport`` per update in the same pattern, then ``outboundAccountPosition``.
* a balance change outside trading (a deposit): ``ACCOUNT_UPDATE`` (DEPOSIT or
  WITHDRAW) to USD-M and ``balanceUpdate`` + ``outboundAccountPosition`` to spot.

An order that fills or dies in the operation that created it is announced first (a NEW
update), as Binance does; the sim publishes only its final state.

What the sim's records do not say (first sightings, triggers, cumulative quote amounts,
realised PnL per execution, previous balances) comes from `console.sim.binance.tracker`.
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Final

from console.domain.enums import (
    Category,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.binance import events as ev
from console.sim.binance.ids import Ids
from console.sim.binance.tracker import Tracker, position_side
from console.sim.core import SimExchange
from console.sim.events import EventKind, SimEvent
from console.sim.protocol.wire import JsonObj

_RESTING: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
_USER_CANCELS: Final = frozenset({"cancelled_by_user", "cancelled_by_operator"})
# sim reason -> futures `er` (UNVERIFIED beyond the docs' list: 2 = IOC remainder,
# 4 = a reduce-only order knocked out)
_FUTURES_EXPIRY: Final = {"unfilled_remainder": "2", "fok_not_filled": "2",
                          "reduce_only_no_position": "4"}
_CLIENT_ID_CHARS: Final = string.ascii_letters + string.digits


class Market(StrEnum):
    USDM = "usdm"
    SPOT = "spot"


MARKET_OF: Final = {Category.LINEAR: Market.USDM, Category.SPOT: Market.SPOT}


@dataclass(frozen=True, slots=True)
class Push:
    """One Binance event for the sessions of `market`; `topic` (the event type) is what
    the push faults match."""

    market: Market
    topic: str
    event: JsonObj


def operations(events: Sequence[SimEvent]) -> Iterator[list[SimEvent]]:
    """Split a batch into the operations it holds: each is order updates and executions
    followed by positions and balances, so an order event after a position or balance
    starts the next one (two requests can land in one batch)."""
    current: list[SimEvent] = []
    tail = False
    for event in events:
        trading = event.kind in (EventKind.ORDER, EventKind.EXECUTION)
        if trading and tail and current:
            yield current
            current, tail = [], False
        tail = tail or not trading
        current.append(event)
    if current:
        yield current


class Converter:
    """The conversion of one account's events; ids of spot executions and the client ids
    Binance gives cancel requests are drawn here (deterministic from the seed)."""

    def __init__(self, exchange: SimExchange, ids: Ids, tracker: Tracker, *,
                 seed: int = 7) -> None:
        self.exchange = exchange
        self.ids = ids
        self.tracker = tracker
        self._rng = random.Random(f"binance-ws:{seed}")
        self._execution_ids = itertools.count(1)
        settles = {i.settle_coin for i in exchange.instruments(Category.LINEAR)}
        self.margin_assets = frozenset(settles)

    def next_execution_id(self) -> int:
        return next(self._execution_ids)

    def cancel_client_id(self) -> str:
        """A client id as Binance makes up for a cancel request that named none."""
        return "".join(self._rng.choice(_CLIENT_ID_CHARS) for _ in range(22))

    def convert(self, account: str, events: Sequence[SimEvent], *,
                event_time: int) -> list[Push]:
        pushes: list[Push] = []
        for events_of_one in operations(events):
            pushes.extend(Operation(self, account, events_of_one, event_time).pushes())
        return pushes


class Operation:
    """The pushes of one sim operation."""

    def __init__(self, conv: Converter, account: str, events: Sequence[SimEvent],
                 event_time: int) -> None:
        self.conv = conv
        self.exchange = conv.exchange
        self.tracker = conv.tracker
        self.account = account
        self.events = events
        self.event_time = event_time
        self.out: list[Push] = []
        self._notional: dict[str, tuple[Decimal, Decimal]] | None = None
        # executions since an order's previous update belong to its next update
        self.update_of: dict[int, int] = {}
        self.execs_of: dict[int, list[int]] = {}
        pending: dict[str, list[int]] = {}
        for i, event in enumerate(events):
            payload = event.payload
            if isinstance(payload, Fill):
                pending.setdefault(payload.venue_order_id, []).append(i)
            elif isinstance(payload, Order):
                group = pending.pop(payload.venue_order_id, [])
                self.execs_of[i] = group
                for j in group:
                    self.update_of[j] = i

    # -- driving ---------------------------------------------------------------------

    def pushes(self) -> list[Push]:
        markets: set[Market] = set()
        trading = False
        for i, event in enumerate(self.events):
            trading = trading or event.kind in (EventKind.ORDER, EventKind.EXECUTION)
            payload = event.payload
            if isinstance(payload, Order):
                if payload.category in MARKET_OF:
                    markets.add(MARKET_OF[payload.category])
                    self._order_event(i, event, payload)
            elif isinstance(payload, Fill) and payload.category in MARKET_OF:
                markets.add(MARKET_OF[payload.category])
                self._execution(i, event, payload)
        if markets or not trading:
            self._account_tail(markets)
        return self.out

    def _order_of(self, i: int, fill: Fill) -> Order | None:
        """The order's state after execution `i`: its next update in this operation, else
        (an update dropped) what the exchange holds now."""
        k = self.update_of.get(i)
        if k is not None:
            payload = self.events[k].payload
            assert isinstance(payload, Order)
            return payload
        return self.exchange.order_by_venue_id(self.account, fill.venue_order_id)

    # -- orders ----------------------------------------------------------------------

    def _is_algo(self, order: Order) -> bool:
        return order.category is Category.LINEAR and order.trigger_price is not None

    def _order_event(self, i: int, event: SimEvent, order: Order) -> None:
        tracker, vid = self.tracker, order.venue_order_id
        if self._is_algo(order):
            trig = tracker.triggered(self.account, vid)
            if trig is None or trig[0] > event.seq:
                self._algo(order, event.at, self._untriggered_status(order))
                return
            if trig[0] == event.seq:
                self._algo(order, event.at, "TRIGGERED", trigger_time=trig[1], live=True)
                if order.status is not OrderStatus.NEW:
                    self._emit(self._new_update(order, event.at))
        elif tracker.first_seq(self.account, vid) == event.seq and \
                order.status not in (OrderStatus.NEW, OrderStatus.UNTRIGGERED,
                                     OrderStatus.REJECTED):
            self._emit(self._new_update(order, event.at))
        absorbed = bool(self.execs_of.get(i)) and order.status in (
            OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED)
        if not absorbed:
            update = self._status_update(order, event)
            if update is not None:
                self._emit(update)
        if self._is_algo(order) and order.status.is_terminal:
            trig = tracker.triggered(self.account, vid)
            self._algo(order, event.at, "FINISHED",
                       trigger_time=trig[1] if trig else 0, live=True)

    def _untriggered_status(self, order: Order) -> str:
        if order.status is OrderStatus.UNTRIGGERED:
            return "NEW"
        if order.status is OrderStatus.REJECTED:
            return "REJECTED"
        reason = self.exchange.order_reason(self.account, order.venue_order_id)
        return "CANCELED" if reason in _USER_CANCELS else "EXPIRED"

    def _ids(self, order: Order) -> tuple[int, str]:
        """(order id, original type) of the order an update reports."""
        if self._is_algo(order):
            return self.conv.ids.actual_order_id(order.venue_order_id), ev.algo_type(order)
        return self.conv.ids.order_id(order.venue_order_id), ""

    def _update(self, order: Order, *, exec_type: str, status: str, filled: Decimal,
                quote: Decimal, at: int, trade: ev.Trade | None = None,
                client_order_id: str | None = None, orig_client_order_id: str = "",
                expiry_reason: str = "", reject_reason: str = "NONE",
                on_book: bool = False) -> ev.OrderUpdate:
        order_id, original = self._ids(order)
        side = ev.POSITION_SIDE[position_side(self.exchange, self.conv.ids, self.account,
                                              order)]
        return ev.OrderUpdate(
            order=order, order_id=order_id, exec_type=exec_type, status=status,
            filled=filled, filled_quote=quote, at=at, trade=trade,
            client_order_id=client_order_id, orig_client_order_id=orig_client_order_id,
            position_side=side, original_type=original, expiry_reason=expiry_reason,
            reject_reason=reject_reason, on_book=on_book)

    def _new_update(self, order: Order, at: int) -> ev.OrderUpdate:
        return self._update(order, exec_type="NEW", status="NEW", filled=ZERO, quote=ZERO,
                            at=at)

    def _status_update(self, order: Order, event: SimEvent) -> ev.OrderUpdate | None:
        """An update without a trade: placed, amended, cancelled, expired, rejected."""
        spot = order.category is Category.SPOT
        status, vid, at = order.status, order.venue_order_id, event.at
        filled, quote = order.filled_qty, self.tracker.quote(self.account, order)
        if status in _RESTING or status is OrderStatus.UNTRIGGERED:
            trig = self.tracker.triggered(self.account, vid)
            fresh = self.tracker.first_seq(self.account, vid) == event.seq or (
                trig is not None and trig[0] == event.seq)
            exec_type = "NEW" if fresh else ("REPLACED" if spot else "AMENDMENT")
            name = "NEW" if status is OrderStatus.UNTRIGGERED else status.value
            return self._update(order, exec_type=exec_type, status=name, filled=filled,
                                quote=quote, at=at, on_book=self._on_book(order, status))
        if status is OrderStatus.CANCELLED:
            reason = self.exchange.order_reason(self.account, vid)
            if reason in _USER_CANCELS:
                if spot:  # Binance: c is the cancel request's id, C the order's
                    return self._update(
                        order, exec_type="CANCELED", status="CANCELED", filled=filled,
                        quote=quote, at=at, client_order_id=self.conv.cancel_client_id(),
                        orig_client_order_id=order.client_order_id)
                return self._update(order, exec_type="CANCELED", status="CANCELED",
                                    filled=filled, quote=quote, at=at)
            expiry = _spot_expiry(order, reason) if spot else \
                _FUTURES_EXPIRY.get(reason, ev.EXPIRY_NONE)
            return self._update(order, exec_type="EXPIRED", status="EXPIRED",
                                filled=filled, quote=quote, at=at, expiry_reason=expiry)
        if status is OrderStatus.REJECTED and spot:
            reason = self.exchange.order_reason(self.account, vid)
            rejected = "INSUFFICIENT_BALANCES" if reason == "insufficient_balance" else "NONE"
            return self._update(order, exec_type="REJECTED", status="REJECTED",
                                filled=filled, quote=quote, at=at, reject_reason=rejected)
        # FILLED or PARTIALLY_FILLED without its executions (they were dropped): the
        # trade they reported is lost, as a missed message is; nothing else to say
        return None

    @staticmethod
    def _on_book(order: Order, status: OrderStatus) -> bool:
        return order.type is OrderType.LIMIT and status in _RESTING and \
            order.time_in_force in (TimeInForce.GTC, TimeInForce.POST_ONLY)

    # -- executions ------------------------------------------------------------------

    def _execution(self, i: int, event: SimEvent, fill: Fill) -> None:
        order = self._order_of(i, fill)
        if order is None:
            return
        tracker = self.tracker
        if self._is_algo(order):
            trig = tracker.triggered(self.account, fill.venue_order_id)
            if trig is not None and trig[0] == event.seq:
                self._algo(order, event.at, "TRIGGERED", trigger_time=trig[1], live=True)
                self._emit(self._new_update(order, event.at))
        elif tracker.first_seq(self.account, fill.venue_order_id) == event.seq:
            self._emit(self._new_update(order, event.at))
        group = self.execs_of.get(self.update_of.get(i, -1), [i])
        later = [self.events[j].payload for j in group if j > i]
        later_qty = sum((f.qty for f in later if isinstance(f, Fill)), ZERO)
        later_quote = sum((f.qty * f.price for f in later if isinstance(f, Fill)), ZERO)
        filled = order.filled_qty - later_qty
        facts = tracker.execution(fill.exec_id)
        if facts is not None and facts.filled == filled:
            quote = facts.quote
        else:
            quote = tracker.quote(self.account, order) - later_quote
        last = not later
        if last and order.status in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
            status = order.status
        else:
            status = OrderStatus.FILLED if filled == order.qty else \
                OrderStatus.PARTIALLY_FILLED
        trade = ev.Trade(trade_id=self.conv.ids.trade_id(fill.exec_id), qty=fill.qty,
                         price=fill.price, fee=fill.fee, fee_asset=fill.fee_asset,
                         is_maker=fill.is_maker,
                         realised_pnl=facts.realised if facts else ZERO)
        self._emit(self._update(order, exec_type="TRADE", status=status.value,
                                filled=filled, quote=quote, at=event.at, trade=trade,
                                on_book=last and self._on_book(order, status)))

    # -- emitting --------------------------------------------------------------------

    def _emit(self, update: ev.OrderUpdate) -> None:
        order, now = update.order, self.event_time
        if order.category is Category.SPOT:
            rested = self.tracker.rested(self.account, order.venue_order_id)
            self.out.append(Push(Market.SPOT, "executionReport", ev.execution_report(
                update, event_time=now, execution_id=self.conv.next_execution_id(),
                working_time=order.created_at if rested else None)))
            return
        if update.trade is not None:
            self.out.append(Push(Market.USDM, "TRADE_LITE",
                                 ev.trade_lite(update, event_time=now)))
        bids, asks = self._notional_of(order.symbol)
        settle = self.exchange.instrument(order.category, order.symbol).settle_coin
        self.out.append(Push(Market.USDM, "ORDER_TRADE_UPDATE", ev.order_trade_update(
            update, event_time=now, commission_asset=settle, bids_notional=bids,
            asks_notional=asks)))

    def _algo(self, order: Order, at: int, status: str, *, trigger_time: int = 0,
              live: bool = False) -> None:
        """An ``ALGO_UPDATE``; `live`: the order has triggered (``ai``, ``ap``, ``aq``)."""
        reason = ""
        if status == "REJECTED":
            reason = self.exchange.order_reason(self.account, order.venue_order_id)
        ids = self.conv.ids
        state = ev.AlgoState(
            algo_id=ids.algo_id(order.venue_order_id), status=status, at=at,
            position_side=ev.POSITION_SIDE[position_side(self.exchange, ids, self.account,
                                                         order)],
            actual_order_id=ids.actual_order_id(order.venue_order_id) if live else None,
            # the figures of the regular order once it is done (a trigger comes first)
            filled=order.filled_qty if status == "FINISHED" else ZERO,
            avg_price=(order.avg_price or ZERO) if status == "FINISHED" else ZERO,
            trigger_time=trigger_time, reason=reason)
        self.out.append(Push(Market.USDM, "ALGO_UPDATE",
                             ev.algo_update(order, state, event_time=self.event_time)))

    def _notional_of(self, symbol: str) -> tuple[Decimal, Decimal]:
        """Bid and ask notional of the account's resting orders on `symbol` (``b``, ``a``),
        once per symbol per batch: only that symbol's orders are read (a cancel-all of 500
        orders over 20 symbols must not read the whole book for each of them)."""
        if self._notional is None:
            self._notional = {}
        found = self._notional.get(symbol)
        if found is None:
            bids = asks = ZERO
            for o in self.exchange.open_orders(self.account, Category.LINEAR, symbol):
                if o.price is None or o.status not in _RESTING:
                    continue
                value = (o.qty - o.filled_qty) * o.price
                if o.side is Side.BUY:
                    bids += value
                else:
                    asks += value
            found = self._notional[symbol] = (bids, asks)
        return found

    # -- positions and balances ------------------------------------------------------

    def _account_tail(self, markets: set[Market]) -> None:
        positions = [(e, e.payload) for e in self.events if isinstance(e.payload, Position)
                     and e.payload.category is Category.LINEAR]
        balances = [(e, e.payload) for e in self.events if isinstance(e.payload, Balance)]
        if not positions and not balances:
            return
        at = self.events[-1].at
        trading = bool(markets)
        if Market.USDM in markets or not trading:
            self._futures_account(positions, balances, at, trading)
        if (Market.SPOT in markets or not trading) and balances:
            self._spot_account(balances, at, trading)

    def _futures_account(self, positions: list[tuple[SimEvent, Position]],
                         balances: list[tuple[SimEvent, Balance]], at: int,
                         trading: bool) -> None:
        lines: list[ev.WalletLine] = []
        total_change = ZERO
        for event, bal in balances:
            delta = self.tracker.delta(self.account, event.seq)
            if delta == 0 or bal.asset not in self.conv.margin_assets:
                continue  # locks moved (an order rests): Binance pushes no ACCOUNT_UPDATE
            total_change += delta
            lines.append(ev.WalletLine(bal.asset, bal.total, ZERO if trading else delta))
        rows = [ev.PositionLine(
            symbol=pos.symbol, amount=pos.size, entry_price=pos.entry_price,
            realised=self.exchange.realised_pnl(self.account, pos.category, pos.symbol,
                                                pos.position_side),
            unrealised=pos.unrealised_pnl or ZERO,
            position_side=ev.POSITION_SIDE[pos.position_side])
            for _, pos in positions] if trading else []
        if not lines and not rows:
            return
        reason = "ORDER" if trading else ("WITHDRAW" if total_change < 0 else "DEPOSIT")
        self.out.append(Push(Market.USDM, "ACCOUNT_UPDATE", ev.account_update(
            reason, lines, rows, at=at, event_time=self.event_time)))

    def _spot_account(self, balances: list[tuple[SimEvent, Balance]], at: int,
                      trading: bool) -> None:
        if not trading:
            for event, bal in balances:
                delta = self.tracker.delta(self.account, event.seq)
                if delta != 0:
                    self.out.append(Push(Market.SPOT, "balanceUpdate", ev.balance_update(
                        bal.asset, delta, at=event.at, event_time=self.event_time)))
        self.out.append(Push(Market.SPOT, "outboundAccountPosition",
                             ev.outbound_account_position(
                                 [ev.SpotBalance(b.asset, b.free, b.locked)
                                  for _, b in balances],
                                 at=at, event_time=self.event_time)))


def _spot_expiry(order: Order, reason: str) -> str:
    """The spot expiry reason (``eR``) of an order the sim ended without a user cancel."""
    if reason == "fok_not_filled":
        return "UNFILLED_FOK_ORDER_EXPIRED"
    if reason == "unfilled_remainder":
        return "INSUFFICIENT_LIQUIDITY" if order.type is OrderType.MARKET else \
            "UNFILLED_IOC_QUANTITY_EXPIRED"
    return "EXCHANGE_CANCELED"  # UNVERIFIED for post-only and the sim's other reasons
