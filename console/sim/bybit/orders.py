"""Order entry: create, amend, cancel, cancel-all and the three batch endpoints.

Requests are validated the way Bybit validates them before anything reaches the sim
(orderLinkId format and uniqueness, required symbol, one-way position index, market
orders ignoring `price` and always IOC), then the sim decides; its refusals become
Bybit codes through `base.sim_error`. An orderLinkId is unique for the account's whole
history here, as Bybit promises for derivatives ("always unique"), which is stricter
than the sim core (unique among active orders): a resend after an unknown outcome is
refused with 110072, never executed twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final

from console.domain.enums import Category, OrderStatus, OrderType, Side, TimeInForce
from console.domain.enums import TriggerDirection as Dir
from console.domain.model import Order
from console.domain.values import ZERO
from console.sim.book import infer_direction
from console.sim.bybit import codes
from console.sim.bybit import params as p
from console.sim.bybit.base import Result, Scope, sim_error
from console.sim.bybit.codes import BybitError, params_error
from console.sim.bybit.shapes import (
    CATEGORY,
    ORDER_TYPE_OF,
    SIDE_OF,
    TIME_IN_FORCE_OF,
    TRIGGER_DIRECTION_OF,
)
from console.sim.errors import SimErrorCode, SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.pipeline import Request
from console.sim.protocol.wire import JsonObj, Params

_BATCH_SIZES: Final = {Category.LINEAR: 20, Category.INVERSE: 20, Category.OPTION: 20,
                       Category.SPOT: 10}
BATCH_MAX: Final = {"create": _BATCH_SIZES, "amend": _BATCH_SIZES, "cancel": _BATCH_SIZES}
"""docs/v5/order/batch-place (and batch-amend, batch-cancel): "A maximum of 20 orders
(option), 20 orders (inverse), 20 orders (linear), 10 orders (spot) ... per request"."""


@dataclass(frozen=True, slots=True)
class _Ask:
    """A validated order request, as the sim core takes it."""

    symbol: str
    side: Side
    order_type: OrderType
    qty: Decimal
    price: Decimal | None
    tif: TimeInForce
    link_id: str
    reduce_only: bool
    trigger: Decimal | None
    direction: Dir | None


def _ids(order: Order) -> JsonObj:
    return {"orderId": order.venue_order_id, "orderLinkId": order.client_order_id}


def _no_tpsl(prm: Params) -> None:
    for name in ("takeProfit", "stopLoss"):
        value = p.decimal(prm, name)
        if value is not None and value != 0:
            raise params_error(f"{name} is not supported by the sim")


class OrderEntry:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    # -- single ----------------------------------------------------------------------

    def create(self, req: Request) -> Result:
        category = p.category(req.params, self.scope.categories)
        return Result(_ids(self._create(req.account, category, req.params)))

    def _create(self, account: str, category: Category, prm: Params) -> Order:
        scope = self.scope
        symbol = p.text(prm, "symbol", required=True)
        instr = scope.instrument(category, symbol)
        side = SIDE_OF.get(p.text(prm, "side", required=True))
        if side is None:
            raise params_error(f"side {prm.get('side')!r} invalid (Buy, Sell)")
        order_type = ORDER_TYPE_OF.get(p.text(prm, "orderType", required=True))
        if order_type is None:
            raise params_error(f"orderType {prm.get('orderType')!r} invalid (Limit, Market)")
        qty = p.decimal(prm, "qty", required=True)
        assert qty is not None
        price = p.decimal(prm, "price") if order_type is OrderType.LIMIT else None
        if order_type is OrderType.LIMIT and price is None:
            raise params_error("price is required for a limit order")
        tif_text = p.text(prm, "timeInForce") or "GTC"
        tif = TIME_IN_FORCE_OF.get(tif_text)
        if tif is None:
            raise params_error(f"timeInForce {tif_text!r} is not supported")
        if order_type is OrderType.MARKET:
            tif = TimeInForce.IOC  # Bybit: "Market order will always use IOC"
        link_id = p.order_link_id(prm)
        if link_id and scope.exchange.order_by_client_id(account, link_id) is not None:
            raise codes.duplicate_link_id(category)
        if p.integer(prm, "positionIdx", default=0) != 0:
            raise params_error("position idx not match position mode (one-way mode only)")
        _no_tpsl(prm)
        trigger = p.decimal(prm, "triggerPrice")
        if trigger == 0:
            trigger = None
        direction_raw = p.integer(prm, "triggerDirection", default=0)
        if direction_raw not in (0, 1, 2):
            raise params_error(f"triggerDirection {direction_raw} invalid (1 rise, 2 fall)")
        direction = TRIGGER_DIRECTION_OF.get(direction_raw) if trigger is not None else None
        reduce_only = p.boolean(prm, "reduceOnly") or p.boolean(prm, "closeOnTrigger")
        if qty == 0 and reduce_only and category is not Category.SPOT:
            # Bybit: qty "0" with reduceOnly (and closeOnTrigger) closes the whole position
            position = scope.exchange.position(account, category, symbol)
            if position is None or position.size == 0:
                raise BybitError(codes.REDUCE_ONLY_RULE)
            qty = abs(position.size)
        if category is Category.SPOT:
            if p.integer(prm, "isLeverage", default=0) != 0:
                raise params_error("spot margin trading (isLeverage=1) is not simulated")
            unit = p.text(prm, "marketUnit")
            if unit not in ("", "baseCoin", "quoteCoin"):
                raise params_error(f"marketUnit {unit!r} invalid (baseCoin, quoteCoin)")
        ask = _Ask(instr.symbol, side, order_type, qty, price, tif, link_id, reduce_only,
                   trigger, direction)
        if category is Category.SPOT and order_type is OrderType.MARKET \
                and side is Side.BUY and p.text(prm, "marketUnit") != "baseCoin":
            # Bybit: a spot market buy's qty is in the quote coin unless
            # marketUnit=baseCoin; the sim matches base quantities
            base = _base_for_quote(scope, instr.symbol, qty)
            order = self._place(account, category, replace(ask, qty=base))
            scope.views.note_quote_market(order, qty)
            return order
        return self._place(account, category, ask)

    def _place(self, account: str, category: Category, ask: _Ask) -> Order:
        scope = self.scope
        instr = scope.instrument(category, ask.symbol)
        symbol, side, trigger, direction = ask.symbol, ask.side, ask.trigger, ask.direction
        try:
            return scope.exchange.place_order(
                account, category=category, symbol=instr.symbol, side=side,
                order_type=ask.order_type, qty=ask.qty, price=ask.price,
                time_in_force=ask.tif, client_order_id=ask.link_id,
                reduce_only=ask.reduce_only, trigger_price=trigger, trigger_direction=direction)
        except (SimRejectedError, SimOrderNotFoundError) as exc:
            if exc.sim_code is SimErrorCode.INVALID_TRIGGER and trigger is not None:
                mark = scope.exchange.mark_price(category, symbol)
                way = direction or infer_direction(side, trigger, mark)
                code = codes.TRIGGER_EXPECT_FALLING if way is Dir.FALL \
                    else codes.TRIGGER_EXPECT_RISING
                word = "Falling" if way is Dir.FALL else "Rising"
                raise BybitError(code, f"expect {word}, but trigger_price[{trigger}] "
                                       f"{'>=' if way is Dir.FALL else '<='} "
                                       f"current[{mark}]") from None
            raise sim_error(exc, action="create", category=category) from None

    def amend(self, req: Request) -> Result:
        category = p.category(req.params, self.scope.categories)
        return Result(_ids(self._amend(req.account, category, req.params)))

    def _amend(self, account: str, category: Category, prm: Params) -> Order:
        symbol = p.text(prm, "symbol", required=True)
        order = self.scope.find_order(account, category, prm, symbol=symbol)
        if order is None or not order.is_active:
            raise codes.order_not_exists(category, "replace")
        qty, price = p.decimal(prm, "qty"), p.decimal(prm, "price")
        trigger = p.decimal(prm, "triggerPrice")
        _no_tpsl(prm)
        if qty is None and price is None and trigger is None:
            raise params_error("nothing to amend: pass qty, price or triggerPrice")
        if qty is not None and qty <= order.filled_qty:
            raise BybitError(codes.AMEND_QTY_NOT_ABOVE_FILLED)
        if trigger is not None and order.status is not OrderStatus.UNTRIGGERED:
            raise params_error("triggerPrice can only be amended before the order triggers")
        try:
            return self.scope.exchange.amend_order(account, order.venue_order_id, qty=qty,
                                                   price=price, trigger_price=trigger)
        except (SimRejectedError, SimOrderNotFoundError) as exc:
            raise sim_error(exc, action="replace", category=category) from None

    def cancel(self, req: Request) -> Result:
        category = p.category(req.params, self.scope.categories)
        return Result(_ids(self._cancel(req.account, category, req.params)))

    def _cancel(self, account: str, category: Category, prm: Params) -> Order:
        symbol = p.text(prm, "symbol", required=True)
        order = self.scope.find_order(account, category, prm, symbol=symbol)
        if order is None or not order.is_active:
            raise codes.order_not_exists(category, "cancel")
        try:
            return self.scope.exchange.cancel_order(account, order.venue_order_id)
        except (SimRejectedError, SimOrderNotFoundError) as exc:
            raise sim_error(exc, action="cancel", category=category) from None

    def cancel_all(self, req: Request) -> Result:
        """Cancel open orders by symbol > baseCoin > settleCoin; linear needs one of them,
        spot cancels every normal order by default (orderFilter=Order)."""
        scope, prm, ex = self.scope, req.params, self.scope.exchange
        category = p.category(prm, scope.categories)
        symbol = p.text(prm, "symbol")
        base, settle = p.text(prm, "baseCoin"), p.text(prm, "settleCoin")
        if category is not Category.SPOT and not (symbol or base or settle):
            raise params_error("symbol, baseCoin or settleCoin is required")
        kind = p.text(prm, "orderFilter") or ("Order" if category is Category.SPOT else "")
        if kind not in ("", "Order", "StopOrder"):
            raise params_error(f"orderFilter {kind!r} is not supported")
        if symbol:
            scope.instrument(category, symbol)
            symbols = {symbol}
        else:
            symbols = {i.symbol for i in scope.instruments(category)
                       if (not base or i.base == base)
                       and (base or not settle or i.settle_coin == settle)}
        targets = [o for o in ex.open_orders(req.account, category)
                   if o.symbol in symbols
                   and (kind == "" or (kind == "StopOrder") == (o.trigger_price is not None))]
        cancelled: list[Order] = []
        try:
            if kind == "":
                for sym in sorted({o.symbol for o in targets}):
                    cancelled.extend(ex.cancel_all(req.account, category, sym))
            else:
                cancelled.extend(ex.cancel_order(req.account, o.venue_order_id)
                                 for o in targets)
        except (SimRejectedError, SimOrderNotFoundError) as exc:
            raise sim_error(exc) from None
        return Result({"list": [_ids(o) for o in cancelled], "success": "1"})

    # -- batches ---------------------------------------------------------------------

    def create_batch(self, req: Request) -> Result:
        return self._batch(req, "create", self._create, created=True)

    def amend_batch(self, req: Request) -> Result:
        return self._batch(req, "amend", self._amend)

    def cancel_batch(self, req: Request) -> Result:
        return self._batch(req, "cancel", self._cancel)

    def _batch(self, req: Request, what: str,
               one: Callable[[str, Category, Params], Order], *,
               created: bool = False) -> Result:
        """retCode 0 with one entry per item in result.list and its code in
        retExtInfo.list; items past the granted rate budget fail with 10006."""
        category = p.category(req.params, self.scope.categories)
        maximum = BATCH_MAX[what].get(category)
        if maximum is None:
            raise params_error(f"batch {what} does not support category {CATEGORY[category]}")
        items = req.params.get("request")
        if not isinstance(items, list) or not items:
            raise params_error("request must be a non-empty list of orders")
        if len(items) > maximum:
            raise params_error(f"a batch takes at most {maximum} orders for "
                               f"{CATEGORY[category]}, got {len(items)}")
        results: list[JsonObj] = []
        errors: list[JsonObj] = []
        for index, item in enumerate(items):
            prm: dict[str, Any] = item if isinstance(item, dict) else {}
            entry: JsonObj = {"category": CATEGORY[category], "symbol": _echo(prm.get("symbol")),
                              "orderId": "", "orderLinkId": ""}
            try:
                if not isinstance(item, dict):
                    raise params_error(f"request[{index}] must be an object")
                if index >= req.granted:
                    raise BybitError(codes.TOO_MANY_VISITS)
                order = one(req.account, category, prm)
                entry.update(_ids(order))
                if created:
                    entry["createAt"] = str(order.created_at)
                errors.append({"code": 0, "msg": "OK"})
            except BybitError as exc:
                entry["orderId"] = "" if created else _echo(prm.get("orderId"))
                entry["orderLinkId"] = _echo(prm.get("orderLinkId"))
                if created:
                    entry["createAt"] = ""
                errors.append({"code": exc.code, "msg": exc.message})
            results.append(entry)
        return Result({"list": results}, {"list": errors})


def _base_for_quote(scope: Scope, symbol: str, quote_qty: Decimal) -> Decimal:
    """The base quantity a market buy of `quote_qty` quote coin takes off the book: the
    asks walked from the best, the last level taken in part, rounded down to the
    instrument's step (Bybit never spends more than the quote amount)."""
    instr = scope.instrument(Category.SPOT, symbol)
    left, base = quote_qty, ZERO
    for level in scope.exchange.book(Category.SPOT, symbol).asks:
        cost = level.price * level.qty
        if cost >= left:
            base += left / level.price
            left = ZERO
            break
        base += level.qty
        left -= cost
    base = (base / instr.qty_step).to_integral_value(rounding=ROUND_DOWN) * instr.qty_step
    if base <= 0 or base < instr.min_qty:
        raise BybitError(codes.SPOT_QTY_BELOW_MINIMUM)
    return base


def _echo(value: object) -> str:
    """A request value echoed into a batch answer: text as given, anything else ""."""
    return value if isinstance(value, str) else ""


def batch_units(params: Params) -> int:
    """Rate-limit units of a batch request: one per order (at least one)."""
    items = params.get("request")
    return max(1, len(items)) if isinstance(items, list) else 1

