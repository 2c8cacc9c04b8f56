"""The exchange as Bybit shows it: one place that reads the sim for the JSON shapes.

`BybitViews` gathers what `shapes` needs beyond a record (why an order ended, whether a
conditional order triggered, cumulative fees, leverage, margins, marks) so the REST
handlers and the WebSocket push the same objects. Per-account aggregates are cached by
the account's event sequence number, which moves with every change of the account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from console.domain.enums import Category, OrderStatus, OrderType, Side
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.accounting import contract_math
from console.sim.bybit import shapes
from console.sim.core import SimExchange
from console.sim.errors import SimRejectedError
from console.sim.protocol.wire import JsonObj
from console.sim.state import OrderTerms

_USD_COINS: Final = frozenset({"USDT", "USDC", "USD"})
_LIVE: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})
_RESTING: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})
_DERIVATIVES: Final = frozenset({Category.LINEAR, Category.INVERSE})


@dataclass(slots=True)
class _Held:
    """One position as the replay of its fills sees it (see `_Ledger`)."""

    size: Decimal = ZERO
    entry: Decimal = ZERO
    open_fees: Decimal = ZERO
    cum_realised: Decimal = ZERO
    cur_realised: Decimal = ZERO
    created_at: int = 0
    open_time: int = 0
    seq: int = -1


@dataclass(slots=True)
class _Ledger:
    """Bybit's per-fill and per-position arithmetic for one account, replayed from its
    fills in order: the size each fill closed and its PnL before fees (`execPnl`), the
    PnL each order closed after the fees of the closed quantity (its own, and the share
    of the opening fees: Bybit's `closedPnl`), realised PnL after fees per position (all
    time and for the position now held), the fees per order, and the account's sequence
    number per fill. The sim core books the same trades (`console.sim.accounting`);
    this adds what Bybit reports on top. Fills only ever append, so the replay resumes
    where it stopped."""

    done: int = 0
    fills: dict[str, tuple[Decimal, Decimal, int]] = field(default_factory=dict)
    positions: dict[tuple[Category, str], _Held] = field(default_factory=dict)
    order_fees: dict[str, Decimal] = field(default_factory=dict)
    closed_pnl: dict[str, Decimal] = field(default_factory=dict)

    def add(self, fill: Fill) -> None:
        self.done += 1
        seq = self.done
        oid = fill.venue_order_id
        self.order_fees[oid] = self.order_fees.get(oid, ZERO) + fill.fee
        if fill.category not in _DERIVATIVES:
            self.fills[fill.exec_id] = (ZERO, ZERO, seq)
            return
        held = self.positions.setdefault((fill.category, fill.symbol), _Held())
        if held.created_at == 0:
            held.created_at = fill.exec_time
        held.seq = seq
        if fill.qty == 0:  # funding and the like: money, no quantity
            held.cum_realised -= fill.fee
            held.cur_realised -= fill.fee
            self.fills[fill.exec_id] = (ZERO, ZERO, seq)
            return
        signed = fill.qty * fill.side.sign
        math = contract_math(fill.category)
        before = held.size
        change = math.trade(held.size, held.entry, signed, fill.price)
        closing = before != 0 and (before > 0) != (signed > 0)
        closed = min(abs(signed), abs(before)) if closing else ZERO
        if before == 0:
            held.cur_realised = ZERO
            held.open_time = fill.exec_time
        fee_share = fill.fee * closed / fill.qty if closed else ZERO
        open_share = held.open_fees * closed / abs(before) if closed else ZERO
        held.open_fees += fill.fee - fee_share - open_share
        if closed:
            pnl = change.realised_pnl - fee_share - open_share
            self.closed_pnl[oid] = self.closed_pnl.get(oid, ZERO) + pnl
        held.cum_realised += change.realised_pnl - fill.fee
        held.cur_realised += change.realised_pnl - fill.fee
        if change.size == 0 or (closing and (change.size > 0) != (before > 0)):
            held.open_fees = ZERO if change.size == 0 else fill.fee - fee_share
            if change.size != 0:
                held.open_time = fill.exec_time
        held.size, held.entry = change.size, change.entry_price
        self.fills[fill.exec_id] = (closed, change.realised_pnl, seq)


class BybitViews:
    """Bybit JSON for the records of one exchange. Runs on the server's loop."""

    def __init__(self, exchange: SimExchange) -> None:
        self.exchange = exchange
        self._triggered: dict[str, set[str]] = {}
        self._ledgers: dict[str, tuple[int, _Ledger]] = {}
        self._quote_qty: dict[str, Decimal] = {}
        self._last_price: dict[str, Decimal | None] = {}
        self._finished: dict[tuple[str, str], OrderTerms] = {}
        """Orders seen terminal, by (account, venue id): they never change again, and a
        page of executions would otherwise build each one anew (a third of its cost)."""

    # -- bookkeeping fed by the event hub and the order handlers ---------------------------

    def note_order(self, order: Order) -> None:
        """Remember conditional orders seen live after a trigger (New, filled...) and the
        last price when an order was first seen (`lastPriceOnCreated`)."""
        if order.trigger_price is not None and order.status in _LIVE:
            self._triggered.setdefault(order.account, set()).add(order.venue_order_id)
        if order.venue_order_id not in self._last_price:
            self._last_price[order.venue_order_id] = self._mark(order.category, order.symbol)

    def note_quote_market(self, order: Order, quote_qty: Decimal) -> None:
        """A spot market buy placed by quote value: Bybit shows that value as its qty."""
        self._quote_qty[order.venue_order_id] = quote_qty

    def _mark(self, category: Category, symbol: str) -> Decimal | None:
        try:
            return self.exchange.mark_price(category, symbol)
        except SimRejectedError:
            return None

    def _was_triggered(self, order: Order) -> bool:
        return order.venue_order_id in self._triggered.get(order.account, ())

    def ledger(self, account: str) -> _Ledger:
        seq = self.exchange.last_seq(account)
        cached = self._ledgers.get(account)
        if cached is not None and cached[0] == seq:
            return cached[1]
        ledger = cached[1] if cached is not None else _Ledger()
        fills = self.exchange.fills(account)
        for fill in fills[ledger.done:]:
            ledger.add(fill)
        self._ledgers[account] = (seq, ledger)
        return ledger

    # -- records -------------------------------------------------------------------------

    def order(self, order: Order, *, stream: bool = False, history: bool = False) -> JsonObj:
        reason = ""
        if order.status.is_terminal:
            reason = self.exchange.order_reason(order.account, order.venue_order_id)
        ledger = self.ledger(order.account)
        oid = order.venue_order_id
        instr = self.exchange.instrument(order.category, order.symbol)
        if order.category is Category.SPOT:
            fee_coin = instr.base if order.side is Side.BUY else instr.quote
        else:
            fee_coin = instr.settle_coin
        if oid not in self._last_price:
            self._last_price[oid] = self._mark(order.category, order.symbol)
        figures = shapes.OrderFigures(
            reason=reason, triggered=self._was_triggered(order),
            cum_fee=ledger.order_fees.get(oid, ZERO), fee_coin=fee_coin,
            closed_pnl=ledger.closed_pnl.get(oid, ZERO), quote_qty=self._quote_qty.get(oid),
            last_price=self._last_price[oid])
        return shapes.order_json(order, figures, stream=stream, history=history)

    def orders(self, orders: Iterable[Order], *, history: bool = False) -> list[JsonObj]:
        return [self.order(o, history=history) for o in orders]

    def _order_of(self, fill: Fill) -> OrderTerms | None:
        if not fill.venue_order_id:
            return None
        key = (fill.account, fill.venue_order_id)
        terms = self._finished.get(key)
        if terms is None:
            terms = self.exchange.order_terms(fill.account, fill.venue_order_id)
            if terms is not None and terms.status.is_terminal:
                self._finished[key] = terms
        return terms

    def execution(self, fill: Fill, *, stream: bool = False) -> JsonObj:
        ex = self.exchange
        order = self._order_of(fill)
        rate = ex.maker_fee if fill.is_maker else ex.taker_fee
        closed, pnl, seq = self.ledger(fill.account).fills.get(fill.exec_id,
                                                              (ZERO, ZERO, 0))
        figures = shapes.FillFigures(order=order, fee_rate=rate,
                                     mark=ex.mark_price(fill.category, fill.symbol),
                                     closed_size=closed, exec_pnl=pnl, seq=seq)
        return shapes.execution_json(fill, figures, stream=stream)

    def position(self, position: Position, *, stream: bool = False) -> JsonObj:
        ex = self.exchange
        leverage = ex.leverage(position.account, position.category, position.symbol)
        margin = contract_math(position.category).margin(
            abs(position.size), position.entry_price, leverage)
        held = self.ledger(position.account).positions.get(
            (position.category, position.symbol), _Held())
        figures = shapes.PositionFigures(
            leverage=leverage, initial_margin=margin, cum_realised=held.cum_realised,
            cur_realised=held.cur_realised, created_at=held.created_at,
            open_time=held.open_time, seq=held.seq)
        return shapes.position_json(position, figures, stream=stream)

    def _usd_price(self, coin: str) -> Decimal:
        if coin in _USD_COINS:
            return Decimal(1)
        for instr in self.exchange.instruments(Category.SPOT):
            if instr.base == coin and instr.quote in _USD_COINS:
                mark = self.exchange.mark_price(Category.SPOT, instr.symbol)
                return mark if mark is not None else ZERO
        return ZERO

    def _spot_locks(self, account: str) -> dict[str, Decimal]:
        """What resting spot orders hold, per coin (the sim's rule: a buy holds
        remaining x price of the quote coin, a sell the remaining base coin)."""
        locks: dict[str, Decimal] = {}
        for order in self.exchange.open_orders(account, Category.SPOT):
            if order.type is not OrderType.LIMIT or order.price is None \
                    or order.status not in _RESTING:
                continue
            instr = self.exchange.instrument(Category.SPOT, order.symbol)
            remaining = order.qty - order.filled_qty
            if order.side is Side.BUY:
                locks[instr.quote] = locks.get(instr.quote, ZERO) + remaining * order.price
            else:
                locks[instr.base] = locks.get(instr.base, ZERO) + remaining
        return locks

    def wallet(self, account: str, coins: Iterable[str] | None = None) -> JsonObj:
        """The UNIFIED wallet: the named coins, or every coin with a non-zero balance."""
        ex = self.exchange
        wanted = None if coins is None else set(coins)
        upl: dict[str, Decimal] = {}
        pos_im: dict[str, Decimal] = {}
        realised: dict[str, Decimal] = {}
        ledger = self.ledger(account)
        for (category, symbol), held in ledger.positions.items():
            coin = ex.instrument(category, symbol).settle_coin
            realised[coin] = realised.get(coin, ZERO) + held.cum_realised
        for pos in ex.positions(account, include_flat=True):
            if pos.category not in _DERIVATIVES or pos.size == 0:
                continue
            coin = ex.instrument(pos.category, pos.symbol).settle_coin
            upl[coin] = upl.get(coin, ZERO) + (pos.unrealised_pnl or ZERO)
            pos_im[coin] = pos_im.get(coin, ZERO) + contract_math(pos.category).margin(
                abs(pos.size), pos.entry_price,
                ex.leverage(account, pos.category, pos.symbol))
        spot_locks = self._spot_locks(account)
        balances: list[Balance] = []
        for balance in ex.balances(account):
            if wanted is not None:
                if balance.asset in wanted:
                    balances.append(balance)
            elif balance.total != 0 or balance.locked != 0:
                balances.append(balance)
        coin_list: list[JsonObj] = []
        total_equity = total_wallet = total_upl = total_im = ZERO
        for balance in balances:
            coin = balance.asset
            price = self._usd_price(coin)
            coin_upl = upl.get(coin, ZERO)
            coin_pos_im = pos_im.get(coin, ZERO)
            spot_locked = spot_locks.get(coin, ZERO)
            order_im = max(ZERO, balance.locked - coin_pos_im - spot_locked)
            coin_list.append(shapes.coin_json(
                balance, spot_locked=spot_locked, unrealised_pnl=coin_upl, order_im=order_im,
                position_im=coin_pos_im, realised_pnl=realised.get(coin, ZERO),
                usd_price=price))
            total_equity += (balance.total + coin_upl) * price
            total_wallet += balance.total * price
            total_upl += coin_upl * price
            total_im += balance.locked * price
        return shapes.wallet_json(coin_list, total_equity=total_equity,
                                  total_wallet=total_wallet, total_upl=total_upl,
                                  total_im=total_im)
