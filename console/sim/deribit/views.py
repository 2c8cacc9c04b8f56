"""The front-end's own memory beside the sim core, and the Deribit views built with it.

The sim core keeps orders, fills, positions and balances; Deribit also reports what an
order was placed as (`shapes.OrderMeta`), why it was cancelled when the sim did it on
Deribit's behalf (``cancel_on_disconnect``), and each trade's ``trade_seq`` (its number
among the account's trades on the instrument, from 1, in execution order). `Views`
holds that memory and turns domain objects into Deribit records.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from console.domain.enums import Category
from console.domain.model import Fill, Order, Position
from console.domain.values import ZERO
from console.sim.core import SimExchange
from console.sim.deribit import shapes
from console.sim.deribit.codes import invalid_param
from console.sim.deribit.shapes import CurrencyMoney, Names, OrderMeta, PositionMoney
from console.sim.instruments import Instrument


class Views:
    def __init__(self, exchange: SimExchange, created_ms: int) -> None:
        self.exchange = exchange
        self.names = Names(exchange)
        self.created_ms = created_ms
        self.meta: dict[str, OrderMeta] = {}
        self.cancel_reasons: dict[str, str] = {}
        self._seqs: dict[tuple[str, str], dict[str, tuple[int, int]]] = {}

    # -- instruments and currencies -----------------------------------------------------

    def instrument(self, name: object, param: str = "instrument_name") -> tuple[str, Instrument]:
        if not isinstance(name, str) or not name:
            raise invalid_param(param)
        found = self.names.instrument(name)
        if found is None:
            raise invalid_param(param, "instrument not found")
        return name, found

    def currency(self, value: object, *, allow_any: bool = True) -> str | None:
        """A currency parameter: a served currency, or None for "any"."""
        if not isinstance(value, str) or not value:
            raise invalid_param("currency")
        upper = value.upper()
        if upper == "ANY" and allow_any:
            return None
        if upper not in self.names.currencies():
            raise invalid_param("currency", "invalid currency")
        return upper

    def served(self, currency: str | None) -> list[tuple[str, Instrument]]:
        return [(name, i) for name, i in self.names.instruments()
                if currency is None or self.names.currency_of(i) == currency]

    def name_of(self, category: Category, symbol: str) -> str | None:
        return self.names.name(category, symbol)

    # -- orders -------------------------------------------------------------------------

    def order(self, order: Order) -> dict[str, Any]:
        name = self.name_of(order.category, order.symbol) or order.symbol
        instrument = self.exchange.instrument(order.category, order.symbol)
        return shapes.order_record(order, name, instrument, self.meta.get(order.venue_order_id),
                                   self.cancel_reasons.get(order.venue_order_id))

    def orders(self, orders: Iterable[Order]) -> list[dict[str, Any]]:
        return [self.order(o) for o in orders]

    def account_orders(self, account: str, currency: str | None, *,
                       history: bool = False) -> list[Order]:
        """Open (or, with `history`, all) orders on the served instruments of `currency`."""
        found: list[Order] = []
        for _name, instrument in self.served(currency):
            source = self.exchange.order_history if history else self.exchange.open_orders
            found += source(account, instrument.category, instrument.symbol)
        return found

    # -- trades -------------------------------------------------------------------------

    def trade_seq(self, account: str, fill: Fill) -> int:
        """The fill's number among the account's fills on its instrument (from 1)."""
        return self._tape(account, fill)[0]

    def tick_direction(self, account: str, fill: Fill) -> int:
        """Deribit's tick direction of the trade (0 plus tick, 1 zero-plus, 2 minus, 3
        zero-minus) against the previous trade on the instrument. The sim's tape is the
        account's own trades on it: there is no one else's (a sim simplification)."""
        return self._tape(account, fill)[1]

    def _tape(self, account: str, fill: Fill) -> tuple[int, int]:
        key = (account, f"{fill.category.value}:{fill.symbol}")
        tape = self._seqs.setdefault(key, {})
        if fill.exec_id not in tape:
            previous: Decimal | None = None
            rising = True
            for index, each in enumerate(self.exchange.fills(
                    account, category=fill.category, symbol=fill.symbol), start=1):
                if previous is not None and each.price != previous:
                    rising = each.price > previous
                    tick = 0 if rising else 2
                else:
                    tick = 1 if rising else 3
                previous = each.price
                tape.setdefault(each.exec_id, (index, tick))
        return tape.get(fill.exec_id, (0, 1))

    def trade(self, account: str, fill: Fill) -> dict[str, Any]:
        name = self.name_of(fill.category, fill.symbol) or fill.symbol
        instrument = self.exchange.instrument(fill.category, fill.symbol)
        order = self.exchange.order_by_venue_id(account, fill.venue_order_id) \
            if fill.venue_order_id else None
        return shapes.trade_record(fill, name, instrument, self.trade_seq(account, fill),
                                   tick_direction=self.tick_direction(account, fill),
                                   order=order, meta=self.meta.get(fill.venue_order_id),
                                   mark=self.exchange.mark_price(*instrument.key))

    # -- positions and money ------------------------------------------------------------

    def position(self, account: str, position: Position) -> dict[str, Any]:
        name = self.name_of(position.category, position.symbol) or position.symbol
        instrument = self.exchange.instrument(position.category, position.symbol)
        figures = self.exchange.position_figures(account, position.category,
                                                 position.symbol, position.position_side)
        money = PositionMoney(
            realised=ZERO if figures is None else figures.realised_pnl,
            initial_margin=ZERO if figures is None else figures.margin,
            leverage=self.exchange.leverage(account, position.category, position.symbol))
        return shapes.position_record(position, name, instrument, money)

    def positions(self, account: str, currency: str | None) -> list[dict[str, Any]]:
        served = {i.key for _n, i in self.served(currency)}
        return [self.position(account, p)
                for p in self.exchange.positions(account, include_flat=False)
                if (p.category, p.symbol) in served]

    def flat_position(self, account: str, name: str, instrument: Instrument) -> dict[str, Any]:
        """get_position of an instrument never traded: Deribit answers a zero position."""
        mark = self.exchange.mark_price(*instrument.key)
        empty = Position(venue=self.exchange.venue, account=account,
                         category=instrument.category, symbol=instrument.symbol,
                         size=ZERO, entry_price=ZERO, mark_price=mark,
                         unrealised_pnl=ZERO if mark is not None else None)
        return shapes.position_record(empty, name, instrument,
                                      PositionMoney(ZERO, ZERO, self.exchange.leverage(
                                          account, *instrument.key)))

    def summary(self, account: str, currency: str) -> dict[str, Any]:
        upl = rpl = margin = delta = ZERO
        for record in self.positions(account, currency):
            upl += Decimal(record["floating_profit_loss"])
            rpl += Decimal(record["realized_profit_loss"])
            margin += Decimal(record["initial_margin"])
            delta += Decimal(record["size_currency"])
        for _name, instrument in self.served(currency):
            for position in self.exchange.positions(account, include_flat=True):
                if position.size == 0 and (position.category, position.symbol) \
                        == instrument.key:
                    rpl += self.exchange.realised_pnl(account, *instrument.key)
        return shapes.summary_record(currency, self.exchange.balance(account, currency),
                                     CurrencyMoney(upl, rpl, margin, delta))
