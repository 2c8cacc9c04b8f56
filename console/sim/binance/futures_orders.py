"""USD-M order entry: new, modify and cancel orders, their batches, and cancel-all.

Requests are checked the way Binance checks them before anything reaches the sim
(mandatory parameters per type, the LOT_SIZE/PRICE_FILTER codes, MIN_NOTIONAL -4164,
position side against the account's mode -4061, duplicate client ids -4116, a GTX order
that would take -5022: Binance does not record it, so neither does the sim), then the
sim decides; its refusals become Binance codes (`codes.for_sim`). Conditional types on
``/fapi/v1/order`` are -4120: they live in the Algo Service (`console.sim.binance.algo`).

Hedge mode: ``positionSide`` LONG or SHORT is required (BOTH in one-way mode) and
``reduceOnly`` may not be sent (-1106); the side is remembered for the answers and the
stream (`Ids.set_position_side`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final

from console.domain.enums import Category, OrderType, PositionSide, Side, TimeInForce
from console.domain.model import Order
from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError, for_sim, mandatory
from console.sim.binance.envelope import Reply
from console.sim.binance.scope import MIN_NOTIONAL, Scope, futures_price, futures_qty
from console.sim.binance.shapes import FUTURES_TIF, SIDE_OF
from console.sim.book import crosses
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.pipeline import Request
from console.sim.protocol.wire import JsonObj, Params
from console.sim.state import PositionMode

LINEAR: Final = Category.LINEAR
CLIENT_ID: Final = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
CONDITIONAL_TYPES: Final = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT",
                                      "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"})
POSITION_SIDES: Final = {"BOTH": PositionSide.ONE_WAY, "LONG": PositionSide.LONG,
                         "SHORT": PositionSide.SHORT}
BATCH_MAX: Final = 5
CANCEL_BATCH_MAX: Final = 10
ALL_CANCELLED: Final = {"code": 200, "msg": "The operation of cancel all open order is done."}


def side_of(params: Params) -> Side:
    raw = p.text(params, "side", required=True)
    side = SIDE_OF.get(raw)
    if side is None:
        raise BinanceError(codes.INVALID_SIDE)
    return side


def position_side(scope: Scope, account: str, symbol: str, params: Params) -> str:
    """The request's positionSide checked against the account's mode (-4061)."""
    raw = p.choice(params, "positionSide", POSITION_SIDES, default="BOTH")
    hedge = scope.exchange.position_mode(account, LINEAR, symbol) is PositionMode.HEDGE
    if hedge != (raw != "BOTH"):
        raise BinanceError(codes.POSITION_SIDE_MISMATCH)
    if hedge and "reduceOnly" in params:
        raise BinanceError(codes.PARAM_NOT_REQUIRED,
                           "Parameter 'reduceOnly' sent when not required.")
    return raw


def sim_call(fn: Callable[[], Order], *, cancel: bool = False) -> Order:
    try:
        return fn()
    except (SimRejectedError, SimOrderNotFoundError) as exc:
        raise for_sim(exc.sim_code, LINEAR, cancel=cancel) from None


def check_notional(scope: Scope, symbol: str, qty: Decimal, price: Decimal | None) -> None:
    reference = price if price is not None else scope.exchange.mark_price(LINEAR, symbol)
    if reference is not None and qty * reference < MIN_NOTIONAL:
        raise BinanceError(codes.MIN_NOTIONAL)


def _item(raw: object) -> dict[str, str]:
    """One batch item as text parameters (Binance sends every value as a string)."""
    if not isinstance(raw, dict):
        raise mandatory("batchOrders")
    out: dict[str, str] = {}
    for key, value in raw.items():
        if isinstance(value, bool):
            out[str(key)] = "true" if value else "false"
        elif isinstance(value, Decimal):
            out[str(key)] = format(value, "f")
        elif isinstance(value, int | str):
            out[str(key)] = str(value)
        else:
            raise mandatory("batchOrders")
    return out


class FuturesOrders:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    # -- new -------------------------------------------------------------------------------

    def new(self, req: Request) -> Reply:
        return Reply(self.scope.views.futures_order(self._new(req.account, req.params),
                                                    "new"))

    def _new(self, account: str, prm: Params) -> Order:
        scope = self.scope
        symbol = scope.symbol(LINEAR, prm)
        instr = scope.instrument(LINEAR, symbol)
        side = side_of(prm)
        kind = p.text(prm, "type", required=True)
        if kind in CONDITIONAL_TYPES:
            raise BinanceError(codes.USE_ALGO_ENDPOINT)
        if kind not in ("LIMIT", "MARKET"):
            raise BinanceError(codes.INVALID_ORDER_TYPE)
        ps = position_side(scope, account, symbol, prm)
        qty = p.decimal(prm, "quantity", required=True)
        assert qty is not None
        futures_qty(instr, qty)
        price: Decimal | None = None
        tif = TimeInForce.IOC
        if kind == "LIMIT":
            tif_name = p.text(prm, "timeInForce", required=True)
            found = FUTURES_TIF.get(tif_name)
            if found is None:
                raise BinanceError(codes.INVALID_TIF)
            tif = found
            price = p.decimal(prm, "price", required=True)
            assert price is not None
            futures_price(instr, price)
        elif p.text(prm, "price"):
            raise BinanceError(codes.PARAM_NOT_REQUIRED,
                               "Parameter 'price' sent when not required.")
        p.choice(prm, "newOrderRespType", ("ACK", "RESULT"))
        client_id = p.client_id(prm, "newClientOrderId", CLIENT_ID) or scope.new_client_id()
        if any(o.client_order_id == client_id for o in scope.exchange.open_orders(account)):
            raise BinanceError(codes.DUPLICATE_CLIENT_ORDER_ID)
        reduce_only = p.boolean(prm, "reduceOnly")
        closing = reduce_only or (ps == "LONG" and side is Side.SELL) or (
            ps == "SHORT" and side is Side.BUY)
        if not closing:
            check_notional(scope, symbol, qty, price)
        if tif is TimeInForce.POST_ONLY and price is not None and crosses(
                instr, scope.exchange.mark_price(LINEAR, symbol), side, price):
            raise BinanceError(codes.GTX_REJECTED)
        order = sim_call(lambda: scope.exchange.place_order(
            account, category=LINEAR, symbol=symbol, side=side,
            order_type=OrderType.LIMIT if kind == "LIMIT" else OrderType.MARKET, qty=qty,
            price=price, time_in_force=tif, client_order_id=client_id,
            reduce_only=reduce_only, position_side=POSITION_SIDES[ps]))
        scope.ids.set_position_side(order.venue_order_id, ps)
        scope.ids.order_id(order.venue_order_id)
        return order

    # -- modify ----------------------------------------------------------------------------

    def modify(self, req: Request) -> Reply:
        return Reply(self.scope.views.futures_order(
            self._modify(req.account, req.params, req.now_ms), "modify"))

    def _modify(self, account: str, prm: Params, now_ms: int) -> Order:
        scope = self.scope
        symbol = scope.symbol(LINEAR, prm)
        instr = scope.instrument(LINEAR, symbol)
        side = side_of(prm)
        qty = p.decimal(prm, "quantity", required=True)
        price = p.decimal(prm, "price", required=True)
        assert qty is not None and price is not None
        order = scope.find(account, LINEAR, symbol, prm, now_ms=now_ms)
        if order is None or not order.is_active or order.type is not OrderType.LIMIT:
            raise BinanceError(codes.NO_SUCH_ORDER)
        if order.side is not side:
            raise codes.invalid("side")
        futures_qty(instr, qty)
        futures_price(instr, price)
        if qty == order.qty and price == order.price:
            raise BinanceError(-5027, "No need to modify the order.")
        ex = scope.exchange
        mark = ex.mark_price(LINEAR, symbol)
        if qty <= order.filled_qty or (order.time_in_force is TimeInForce.POST_ONLY
                                       and crosses(instr, mark, side, price)):
            # Binance cancels the order instead of amending it in these two cases
            return sim_call(lambda: ex.cancel_order(account, order.venue_order_id))
        return sim_call(lambda: ex.amend_order(account, order.venue_order_id, qty=qty,
                                               price=price))

    # -- cancel ----------------------------------------------------------------------------

    def cancel(self, req: Request) -> Reply:
        return Reply(self.scope.views.futures_order(
            self._cancel(req.account, req.params, req.now_ms), "cancel"))

    def _cancel(self, account: str, prm: Params, now_ms: int) -> Order:
        scope = self.scope
        symbol = scope.symbol(LINEAR, prm)
        order = scope.find(account, LINEAR, symbol, prm, now_ms=now_ms)
        if order is None or not order.is_active:
            raise BinanceError(codes.CANCEL_REJECTED)
        return sim_call(lambda: scope.exchange.cancel_order(account, order.venue_order_id),
                        cancel=True)

    def cancel_all(self, req: Request) -> Reply:
        """Every regular open order of the symbol (algo orders have their own call)."""
        scope = self.scope
        symbol = scope.symbol(LINEAR, req.params)
        targets = [o.venue_order_id for o in scope.exchange.open_orders(req.account, LINEAR,
                                                                           symbol)
                   if o.trigger_price is None or scope.views.triggered(o)]
        for sim_id in targets:
            try:
                scope.exchange.cancel_order(req.account, sim_id)
            except (SimRejectedError, SimOrderNotFoundError):
                continue  # finished meanwhile: nothing left to cancel
        return Reply(dict(ALL_CANCELLED))

    # -- batches ---------------------------------------------------------------------------

    def _batch(self, req: Request, one: Callable[[dict[str, str]], Order],
               kind: str) -> Reply:
        items = p.json_list(req.params, "batchOrders")
        assert items is not None
        if not items or len(items) > BATCH_MAX:
            raise codes.invalid("batchOrders")
        results: list[JsonObj] = []
        for raw in items:
            try:
                order = one(_item(raw))
            except BinanceError as exc:
                results.append({"code": exc.code, "msg": exc.message})
                continue
            results.append(self.scope.views.futures_order(order, kind))
        return Reply(results)

    def new_batch(self, req: Request) -> Reply:
        return self._batch(req, lambda item: self._new(req.account, item), "new")

    def modify_batch(self, req: Request) -> Reply:
        return self._batch(req, lambda item: self._modify(req.account, item, req.now_ms),
                           "modify")

    def cancel_batch(self, req: Request) -> Reply:
        scope, prm = self.scope, req.params
        symbol = scope.symbol(LINEAR, prm)
        id_key = p.lookup(prm, "orderIdList")
        client_key = p.lookup(prm, "origClientOrderIdList")
        if not id_key and not client_key:
            raise BinanceError(codes.MANDATORY_PARAM, "Param 'orderIdList' or "
                                                      "'origClientOrderIdList' must be sent, "
                                                      "but both were empty/null!")
        name, field = (id_key, "orderId") if id_key else (client_key, "origClientOrderId")
        listed = p.json_list(prm, name)
        assert listed is not None
        if not listed or len(listed) > CANCEL_BATCH_MAX:
            raise codes.invalid(name)
        results: list[JsonObj] = []
        for value in listed:
            if isinstance(value, bool) or not isinstance(value, int | str):
                results.append({"code": codes.INVALID_PARAMETER,
                                "msg": codes.MESSAGES[codes.INVALID_PARAMETER]})
                continue
            item: dict[str, Any] = {"symbol": symbol, field: str(value)}
            try:
                order = self._cancel(req.account, item, req.now_ms)
            except BinanceError as exc:
                results.append({"code": exc.code, "msg": exc.message})
                continue
            results.append(scope.views.futures_order(order, "cancel"))
        return Reply(results)
