"""The exchange as Bybit shows it: one place that reads the sim for the JSON shapes.

`BybitViews` gathers what `shapes` needs beyond a record (why an order ended, whether a
conditional order triggered, cumulative fees, leverage, margins, marks) so the REST
handlers and the WebSocket push the same objects. Per-account aggregates are cached by
the account's event sequence number, which moves with every change of the account.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from console.domain.enums import Category, OrderStatus, OrderType, Side
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.accounting import initial_margin
from console.sim.bybit import shapes
from console.sim.core import SimExchange
from console.sim.protocol.wire import JsonObj

_USD_COINS: Final = frozenset({"USDT", "USDC", "USD"})
_LIVE: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})
_RESTING: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


class BybitViews:
    """Bybit JSON for the records of one exchange. Runs on the server's loop."""

    def __init__(self, exchange: SimExchange) -> None:
        self.exchange = exchange
        self._triggered: dict[str, set[str]] = {}
        self._fees: dict[str, tuple[int, dict[str, Decimal]]] = {}

    # -- bookkeeping fed by the event hub ------------------------------------------------

    def note_order(self, order: Order) -> None:
        """Remember conditional orders seen live after a trigger (New, filled...)."""
        if order.trigger_price is not None and order.status in _LIVE:
            self._triggered.setdefault(order.account, set()).add(order.venue_order_id)

    def _was_triggered(self, order: Order) -> bool:
        return order.venue_order_id in self._triggered.get(order.account, ())

    def _fee_index(self, account: str) -> dict[str, Decimal]:
        seq = self.exchange.last_seq(account)
        cached = self._fees.get(account)
        if cached is not None and cached[0] == seq:
            return cached[1]
        fees: dict[str, Decimal] = {}
        for fill in self.exchange.fills(account):
            fees[fill.venue_order_id] = fees.get(fill.venue_order_id, ZERO) + fill.fee
        self._fees[account] = (seq, fees)
        return fees

    # -- records -------------------------------------------------------------------------

    def order(self, order: Order, *, stream: bool = False) -> JsonObj:
        reason = ""
        if order.status.is_terminal:
            reason = self.exchange.order_reason(order.account, order.venue_order_id)
        return shapes.order_json(
            order, reason=reason, triggered=self._was_triggered(order),
            cum_fee=self._fee_index(order.account).get(order.venue_order_id, ZERO),
            stream=stream)

    def orders(self, orders: Iterable[Order]) -> list[JsonObj]:
        return [self.order(o) for o in orders]

    def execution(self, fill: Fill, *, stream: bool = False) -> JsonObj:
        ex = self.exchange
        order = ex.order_by_venue_id(fill.account, fill.venue_order_id) \
            if fill.venue_order_id else None
        rate = ex.maker_fee if fill.is_maker else ex.taker_fee
        return shapes.execution_json(fill, order=order, fee_rate=rate,
                                     mark=ex.mark_price(fill.category, fill.symbol),
                                     stream=stream)

    def position(self, position: Position, *, stream: bool = False) -> JsonObj:
        ex = self.exchange
        leverage = ex.leverage(position.account, position.category, position.symbol)
        margin = initial_margin(abs(position.size), position.entry_price, leverage)
        realised = ex.realised_pnl(position.account, position.category, position.symbol)
        return shapes.position_json(position, leverage=leverage, initial_margin=margin,
                                    realised_pnl=realised, stream=stream)

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
        for pos in ex.positions(account, include_flat=True):
            if pos.category is not Category.LINEAR:
                continue
            coin = ex.instrument(pos.category, pos.symbol).settle_coin
            realised[coin] = realised.get(coin, ZERO) + ex.realised_pnl(
                account, pos.category, pos.symbol)
            if pos.size == 0:
                continue
            upl[coin] = upl.get(coin, ZERO) + (pos.unrealised_pnl or ZERO)
            pos_im[coin] = pos_im.get(coin, ZERO) + initial_margin(
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
