"""The trading methods: buy, sell, edit, cancel and the cancel-all family.

Deribit's order vocabulary onto the sim's: ``type`` limit/market and the trigger types
(stop_limit, stop_market, take_limit, take_market: an untriggered order that fires when
the ``trigger`` price, mark by default in the connector, crosses ``trigger_price``; a stop
buys on a rise and sells on a fall, a take the other way round); ``time_in_force``
good_til_cancelled, fill_or_kill, immediate_or_cancel; ``post_only`` (a price that would
take is moved to rest one tick inside the book, or refused with 11054 when
``reject_post_only`` is true); ``reduce_only``; ``label`` (at most 64 characters, not
unique: it is the sim order's label). Linked orders (``linked_order_type``,
``otoco_config``), ``trailing_stop``, ``market_limit`` and ``valid_until`` are not
simulated and are refused with 11047 unsupported_arg_combination.

buy/sell/edit answer ``{"order": ..., "trades": [...]}`` (the trades the request made);
cancel answers the order; the cancel-all family answers how many it cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, Final

from console.domain.enums import OrderStatus, OrderType, Side, TimeInForce, TriggerDirection
from console.domain.ids import MAX_LABEL
from console.domain.model import Order
from console.sim.book import best_price, crosses
from console.sim.core import SimExchange
from console.sim.deribit import params as p
from console.sim.deribit.codes import (
    ORDER_NOT_FOUND,
    POST_ONLY_REJECT,
    UNSUPPORTED_ARG_COMBINATION,
    DeribitError,
    invalid_param,
)
from console.sim.deribit.rpc import Context
from console.sim.deribit.shapes import (
    ORDER_TYPES,
    TIME_IN_FORCE,
    TRIGGERS,
    OrderMeta,
    contract_size,
    order_type_of,
)
from console.sim.deribit.views import Views
from console.sim.instruments import Instrument

UNSUPPORTED_PARAMS: Final = ("linked_order_type", "otoco_config", "trigger_fill_condition",
                             "valid_until", "trigger_offset")
TYPE_FILTERS: Final = ("all", "limit", "trigger_all", "stop_all", "stop_limit",
                       "stop_market", "take_all", "take_limit", "take_market",
                       "trailing_all", "trailing_stop", "market")


def type_matches(order_type: str, wanted: str) -> bool:
    """Deribit's ``type`` filter of the listing and cancel-all methods."""
    if wanted == "all":
        return True
    if wanted == "trigger_all":
        return order_type.startswith(("stop_", "take_"))
    if wanted in ("stop_all", "take_all"):
        return order_type.startswith(wanted[:-3])
    return order_type == wanted


def _unsupported(what: str) -> DeribitError:
    return DeribitError(UNSUPPORTED_ARG_COMBINATION, data={"reason": f"{what} is not "
                                                                     "simulated"})


def amount_of(ctx: Context, instrument: Instrument, *, required: bool) -> Decimal | None:
    """``amount``, or ``contracts`` times the contract size; both must agree."""
    amount = p.decimal(ctx.params, "amount")
    contracts = p.decimal(ctx.params, "contracts")
    if contracts is not None:
        from_contracts = contracts * contract_size(instrument)
        if amount is not None and amount != from_contracts:
            raise invalid_param("contracts", "amount and contracts do not match")
        amount = from_contracts
    if amount is None and required:
        raise invalid_param("amount")
    return amount


def trigger_direction(side: Side, order_type: str) -> TriggerDirection:
    stop = order_type.startswith("stop_")
    return TriggerDirection.RISE if stop == (side is Side.BUY) else TriggerDirection.FALL


class Trading:
    """The trading handlers over the sim and the front-end's views."""

    def __init__(self, exchange: SimExchange, views: Views,
                 on_created: Callable[[Context, Order], None]) -> None:
        self.exchange = exchange
        self.views = views
        self.on_created = on_created

    def buy(self, ctx: Context) -> dict[str, Any]:
        return self._place(ctx, Side.BUY)

    def sell(self, ctx: Context) -> dict[str, Any]:
        return self._place(ctx, Side.SELL)

    def _place(self, ctx: Context, side: Side) -> dict[str, Any]:
        params = ctx.params
        name, instrument = self.views.instrument(params.get("instrument_name"))
        for unsupported in UNSUPPORTED_PARAMS:
            if p.present(params, unsupported):
                raise _unsupported(unsupported)
        order_type = p.text(params, "type", "limit")
        if order_type in ("trailing_stop", "market_limit"):
            raise _unsupported(f"type {order_type}")
        if order_type not in ORDER_TYPES:
            raise invalid_param("type", "invalid value")
        amount = amount_of(ctx, instrument, required=True)
        assert amount is not None
        label = p.text(params, "label", "")
        if len(label) > MAX_LABEL:
            raise invalid_param("label", f"must be at most {MAX_LABEL} characters")
        tif = TIME_IN_FORCE[p.choice(params, "time_in_force", TIME_IN_FORCE,
                                     "good_til_cancelled")]
        post_only, reject = p.flag(params, "post_only"), p.flag(params, "reject_post_only")
        reduce_only = p.flag(params, "reduce_only")
        limit = order_type in ("limit", "stop_limit", "take_limit")
        price = p.decimal(params, "price") if limit else None
        if limit and price is None:
            raise invalid_param("price")
        trigger: str | None = None
        trigger_price: Decimal | None = None
        direction: TriggerDirection | None = None
        if order_type.startswith(("stop_", "take_")):
            trigger = p.choice(params, "trigger", TRIGGERS)
            trigger_price = p.decimal(params, "trigger_price")
            if trigger_price is None:
                raise invalid_param("trigger_price")
            direction = trigger_direction(side, order_type)
        if post_only:
            if not limit or tif is not TimeInForce.GTC:
                raise DeribitError(UNSUPPORTED_ARG_COMBINATION,
                                   data={"reason": "post_only needs a good_til_cancelled "
                                                   "limit order"})
            if trigger_price is None and price is not None:
                price = self._post_only_price(instrument, side, price, reject)
            tif = TimeInForce.POST_ONLY
        order = self.exchange.place_order(
            ctx.account, category=instrument.category, symbol=instrument.symbol, side=side,
            order_type=OrderType.LIMIT if limit else OrderType.MARKET, qty=amount,
            price=price, time_in_force=tif, reduce_only=reduce_only,
            trigger_price=trigger_price, trigger_direction=direction, label=label)
        self.views.meta[order.venue_order_id] = OrderMeta(
            order_type=order_type, trigger=trigger, post_only=post_only,
            reject_post_only=reject, api=True)
        self.on_created(ctx, order)
        del name
        return self._answer(ctx.account, order)

    def _post_only_price(self, instrument: Instrument, side: Side, price: Decimal,
                         reject: bool) -> Decimal:
        """Deribit moves a post-only price that would take to one tick inside the book
        (or refuses it with 11054 when asked to reject)."""
        mark = self.exchange.mark_price(*instrument.key)
        if not crosses(instrument, mark, side, price):
            return price
        if reject:
            raise DeribitError(POST_ONLY_REJECT)
        best = best_price(instrument, mark, side)
        assert best is not None
        tick = instrument.tick_size
        return best - tick if side is Side.BUY else best + tick

    def _answer(self, account: str, order: Order) -> dict[str, Any]:
        trades = [self.views.trade(account, fill) for fill in self.exchange.fills(
            account, since=order.updated_at, category=order.category, symbol=order.symbol)
            if fill.venue_order_id == order.venue_order_id]
        return {"order": self.views.order(order), "trades": trades}

    def _own(self, ctx: Context, order_id: object) -> Order:
        if not isinstance(order_id, str) or not order_id:
            raise invalid_param("order_id")
        order = self.exchange.order_by_venue_id(ctx.account, order_id)
        if order is None or self.views.name_of(order.category, order.symbol) is None:
            raise DeribitError(ORDER_NOT_FOUND)
        return order

    def edit(self, ctx: Context) -> dict[str, Any]:
        params = ctx.params
        order = self._own(ctx, params.get("order_id"))
        if p.present(params, "label"):
            raise invalid_param("label", "cannot be changed by edit")
        for unsupported in ("valid_until", "trigger_offset"):
            if p.present(params, unsupported):
                raise _unsupported(unsupported)
        instrument = self.exchange.instrument(order.category, order.symbol)
        amount = amount_of(ctx, instrument, required=False)
        price = p.decimal(params, "price")
        trigger_price = p.decimal(params, "trigger_price")
        if order.type is OrderType.MARKET:
            price = None
        if price is not None and order.price == price:
            price = None
        if amount is not None and amount == order.qty:
            amount = None
        if trigger_price is not None and trigger_price == order.trigger_price:
            trigger_price = None
        if amount is None and price is None and trigger_price is None:
            return self._answer(ctx.account, order)  # Deribit accepts a no-op edit
        if price is not None and order.time_in_force is TimeInForce.POST_ONLY \
                and order.status is not OrderStatus.UNTRIGGERED:
            meta = self.views.meta.get(order.venue_order_id)
            reject = p.flag(params, "reject_post_only",
                            meta.reject_post_only if meta is not None else False)
            price = self._post_only_price(instrument, order.side, price, reject)
        edited = self.exchange.amend_order(ctx.account, order.venue_order_id, qty=amount,
                                           price=price, trigger_price=trigger_price)
        meta = self.views.meta.get(order.venue_order_id) or OrderMeta(
            order_type=order_type_of(order, None), api=True)
        self.views.meta[order.venue_order_id] = replace(meta, replaced=True)
        return self._answer(ctx.account, edited)

    def cancel(self, ctx: Context) -> dict[str, Any]:
        order = self._own(ctx, ctx.params.get("order_id"))
        return self.views.order(self.exchange.cancel_order(ctx.account, order.venue_order_id))

    def _cancel_many(self, ctx: Context, orders: list[Order]) -> int:
        wanted = p.choice(ctx.params, "type", TYPE_FILTERS, "all")
        count = 0
        for order in orders:
            if not type_matches(order_type_of(order, self.views.meta.get(
                    order.venue_order_id)), wanted):
                continue
            current = self.exchange.order_by_venue_id(ctx.account, order.venue_order_id)
            if current is not None and current.status.is_active:
                self.exchange.cancel_order(ctx.account, order.venue_order_id)
                count += 1
        return count

    def cancel_all(self, ctx: Context) -> int:
        return self._cancel_many(ctx, self.views.account_orders(ctx.account, None))

    def cancel_all_by_instrument(self, ctx: Context) -> int:
        _name, instrument = self.views.instrument(ctx.params.get("instrument_name"))
        return self._cancel_many(ctx, self.exchange.open_orders(
            ctx.account, instrument.category, instrument.symbol))

    def cancel_all_by_currency(self, ctx: Context) -> int:
        currency = self.views.currency(ctx.params.get("currency"))
        p.choice(ctx.params, "kind", ("future", "any"), "any")
        return self._cancel_many(ctx, self.views.account_orders(ctx.account, currency))

    def cancel_by_label(self, ctx: Context) -> int:
        label = p.text(ctx.params, "label")
        currency = self.views.currency(ctx.params["currency"]) \
            if p.present(ctx.params, "currency") else None
        matches = [o for o in self.views.account_orders(ctx.account, currency)
                   if o.label == label]
        count = 0
        for order in matches:
            self.exchange.cancel_order(ctx.account, order.venue_order_id)
            count += 1
        return count
