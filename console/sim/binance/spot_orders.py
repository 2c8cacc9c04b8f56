"""Spot order entry: new order, cancel, cancel-replace and cancel-all on a symbol.

Binance's rules: LIMIT needs timeInForce, quantity and price; LIMIT_MAKER quantity and
price (a maker order that would take is -2010 "Order would immediately match and
take."); MARKET quantity or quoteOrderQty. quoteOrderQty is converted to a quantity at
the best opposite price, floored to the LOT_SIZE step (the sim matches by quantity).
Filters fail with -1013 "Filter failure: ..."; conditional types are refused with the
-2010 text Binance gives for a symbol that does not allow them (the symbols list LIMIT,
LIMIT_MAKER and MARKET only). ``newOrderRespType`` defaults to FULL for MARKET and LIMIT,
ACK otherwise. Unknown parameters are -1104.

cancelReplace follows the table of the docs: 200 when both parts succeed, 400 with -2022
when the cancel fails under STOP_ON_FAILURE or both fail, 409 with -2021 when exactly one
part fails, each with the ``data`` object naming both results.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Final

from console.domain.enums import Category, OrderType, Side, TimeInForce
from console.domain.model import Order
from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError, filter_failure, for_sim, mandatory, rejected
from console.sim.binance.envelope import Reply
from console.sim.binance.scope import MIN_NOTIONAL, Scope, spot_price, spot_qty
from console.sim.binance.shapes import SIDE_OF, SPOT_TIF, spot_ack
from console.sim.book import best_price, crosses
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.pipeline import Request
from console.sim.protocol.wire import JsonObj, Params

SPOT: Final = Category.SPOT
CLIENT_ID: Final = re.compile(r"^[a-zA-Z0-9-_]{1,36}$")
NOT_SUPPORTED: Final = {
    "STOP_LOSS": "Stop loss orders are not supported for this symbol.",
    "STOP_LOSS_LIMIT": "Stop loss limit orders are not supported for this symbol.",
    "TAKE_PROFIT": "Take profit orders are not supported for this symbol.",
    "TAKE_PROFIT_LIMIT": "Take profit limit orders are not supported for this symbol.",
}
NEW_PARAMS: Final = frozenset({
    "symbol", "side", "type", "timeInForce", "quantity", "quoteOrderQty", "price",
    "newClientOrderId", "strategyId", "strategyType", "stopPrice", "trailingDelta",
    "icebergQty", "newOrderRespType", "selfTradePreventionMode", "pegPriceType",
    "pegOffsetValue", "pegOffsetType"})
CANCEL_PARAMS: Final = frozenset({"symbol", "orderId", "origClientOrderId",
                                  "newClientOrderId", "cancelRestrictions"})
REPLACE_PARAMS: Final = NEW_PARAMS | {
    "cancelReplaceMode", "cancelNewClientOrderId", "cancelOrigClientOrderId",
    "cancelOrderId", "cancelRestrictions", "orderRateLimitExceededMode"}


def _sim(fn: Callable[[], Order], *, cancel: bool = False) -> Order:
    try:
        return fn()
    except (SimRejectedError, SimOrderNotFoundError) as exc:
        raise for_sim(exc.sim_code, SPOT, cancel=cancel) from None


class SpotOrders:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    # -- new -------------------------------------------------------------------------------

    def new(self, req: Request) -> Reply:
        p.only(req.params, NEW_PARAMS)
        return Reply(self._new(req.account, req.params, req.now_ms))

    def _new(self, account: str, prm: Params, now_ms: int) -> JsonObj:
        scope = self.scope
        symbol = scope.symbol(SPOT, prm)
        instr = scope.instrument(SPOT, symbol)
        side = SIDE_OF.get(p.text(prm, "side", required=True))
        if side is None:
            raise BinanceError(codes.INVALID_SIDE)
        kind = p.text(prm, "type", required=True)
        if kind in NOT_SUPPORTED:
            raise rejected(NOT_SUPPORTED[kind])
        if kind not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise BinanceError(codes.INVALID_ORDER_TYPE)
        resp_type = p.choice(prm, "newOrderRespType", ("ACK", "RESULT", "FULL"),
                             default="ACK" if kind == "LIMIT_MAKER" else "FULL")
        mark = scope.exchange.mark_price(SPOT, symbol)
        price: Decimal | None = None
        quote: Decimal | None = None
        tif = TimeInForce.POST_ONLY if kind == "LIMIT_MAKER" else TimeInForce.IOC
        if kind == "MARKET":
            qty = p.decimal(prm, "quantity")
            quote = p.decimal(prm, "quoteOrderQty")
            if (qty is None) == (quote is None):
                if qty is None:
                    raise BinanceError(codes.MANDATORY_PARAM, "Param 'quantity' or "
                                       "'quoteOrderQty' must be sent, but both were "
                                       "empty/null!")
                raise BinanceError(codes.PARAM_NOT_REQUIRED,
                                   "Parameter 'quoteOrderQty' sent when not required.")
            if quote is not None:
                qty = self._quote_qty(symbol, side, quote)
            if p.text(prm, "price"):
                raise BinanceError(codes.PARAM_NOT_REQUIRED,
                                   "Parameter 'price' sent when not required.")
        else:
            qty = p.decimal(prm, "quantity", required=True)
            price = p.decimal(prm, "price", required=True)
            assert price is not None
            if kind == "LIMIT":
                found = SPOT_TIF.get(p.text(prm, "timeInForce", required=True))
                if found is None:
                    raise BinanceError(codes.INVALID_TIF)
                tif = found
            elif p.text(prm, "timeInForce"):
                raise BinanceError(codes.PARAM_NOT_REQUIRED,
                                   "Parameter 'timeInForce' sent when not required.")
        assert qty is not None
        spot_qty(instr, qty)
        if price is not None:
            spot_price(instr, price)
            if qty * price < MIN_NOTIONAL:
                raise filter_failure("NOTIONAL")
        client_id = p.client_id(prm, "newClientOrderId", CLIENT_ID) or scope.new_client_id()
        if any(o.client_order_id == client_id for o in scope.exchange.open_orders(account)):
            raise rejected(codes.DUPLICATE_ORDER)
        if kind == "LIMIT_MAKER" and price is not None and crosses(instr, mark, side, price):
            raise rejected(codes.WOULD_TAKE)
        order = _sim(lambda: scope.exchange.place_order(
            account, category=SPOT, symbol=symbol, side=side,
            order_type=OrderType.MARKET if kind == "MARKET" else OrderType.LIMIT, qty=qty,
            price=price, time_in_force=tif, client_order_id=client_id))
        scope.ids.order_id(order.venue_order_id)
        if quote is not None:
            scope.views.orig_quote[order.venue_order_id] = quote
        result = scope.views.spot_result(order, now_ms)
        if resp_type == "ACK":
            return spot_ack(result)
        if resp_type == "FULL":
            result["fills"] = scope.views.spot_fills(order)
        return result

    def _quote_qty(self, symbol: str, side: Side, quote: Decimal) -> Decimal:
        scope = self.scope
        instr = scope.instrument(SPOT, symbol)
        if quote <= 0:
            raise mandatory("quoteOrderQty")
        best = best_price(instr, scope.exchange.mark_price(SPOT, symbol), side)
        if best is None:
            raise rejected(codes.NO_LIQUIDITY)
        qty = (quote / best / instr.qty_step).to_integral_value(ROUND_FLOOR) * instr.qty_step
        if qty < instr.min_qty:
            raise rejected("Order book liquidity is less than LOT_SIZE filter minimum "
                           "quantity.")
        return qty

    # -- cancel ----------------------------------------------------------------------------

    def cancel(self, req: Request) -> Reply:
        p.only(req.params, CANCEL_PARAMS)
        return Reply(self._cancel(req.account, req.params, req.now_ms))

    def _cancel(self, account: str, prm: Params, now_ms: int, *,
                id_name: str = "orderId", client_name: str = "origClientOrderId",
                new_name: str = "newClientOrderId") -> JsonObj:
        scope = self.scope
        symbol = scope.symbol(SPOT, prm)
        restriction = p.text(prm, "cancelRestrictions")
        if restriction and restriction not in ("ONLY_NEW", "ONLY_PARTIALLY_FILLED"):
            raise BinanceError(-1145, "Invalid cancelRestrictions")
        order = scope.find(account, SPOT, symbol, prm, id_name=id_name,
                           client_name=client_name, now_ms=now_ms)
        if order is None or not order.is_active:
            raise BinanceError(codes.CANCEL_REJECTED)
        if restriction and (order.filled_qty > 0) != (restriction == "ONLY_PARTIALLY_FILLED"):
            raise BinanceError(codes.CANCEL_REJECTED,
                               "Order was not canceled due to cancel restrictions.")
        cancel_id = p.client_id(prm, new_name, CLIENT_ID) or scope.new_client_id()
        done = _sim(lambda: scope.exchange.cancel_order(account, order.venue_order_id),
                    cancel=True)
        return scope.views.spot_cancel(done, cancel_id, now_ms)

    def cancel_all(self, req: Request) -> Reply:
        p.only(req.params, ("symbol",))
        scope = self.scope
        symbol = scope.symbol(SPOT, req.params)
        targets = scope.exchange.open_orders(req.account, SPOT, symbol)
        if not targets:
            raise BinanceError(codes.CANCEL_REJECTED)
        out: list[JsonObj] = []
        for order in targets:
            try:
                done = scope.exchange.cancel_order(req.account, order.venue_order_id)
            except (SimRejectedError, SimOrderNotFoundError):
                continue  # finished meanwhile
            out.append(scope.views.spot_cancel(done, scope.new_client_id(), req.now_ms))
        return Reply(out)

    # -- cancel-replace --------------------------------------------------------------------

    def cancel_replace(self, req: Request) -> Reply:
        prm = req.params
        p.only(prm, REPLACE_PARAMS)
        mode = p.choice(prm, "cancelReplaceMode", ("STOP_ON_FAILURE", "ALLOW_FAILURE"),
                        required=True)
        self.scope.symbol(SPOT, prm)
        cancel_prm: dict[str, Any] = {"symbol": prm["symbol"]}
        for ours, theirs in (("cancelOrderId", "orderId"),
                             ("cancelOrigClientOrderId", "origClientOrderId"),
                             ("cancelNewClientOrderId", "newClientOrderId"),
                             ("cancelRestrictions", "cancelRestrictions")):
            if p.text(prm, ours):
                cancel_prm[theirs] = prm[ours]
        if "orderId" not in cancel_prm and "origClientOrderId" not in cancel_prm:
            raise BinanceError(codes.MANDATORY_PARAM, "Param 'cancelOrderId' or "
                                                      "'cancelOrigClientOrderId' must be "
                                                      "sent, but both were empty/null!")
        new_prm = {k: v for k, v in prm.items() if k in NEW_PARAMS}
        cancel_result: JsonObj | None = None
        cancel_error: BinanceError | None = None
        try:
            cancel_result = self._cancel(req.account, cancel_prm, req.now_ms)
        except BinanceError as exc:
            cancel_error = exc
        new_result: JsonObj | None = None
        new_error: BinanceError | None = None
        if cancel_error is None or mode == "ALLOW_FAILURE":
            try:
                new_result = self._new(req.account, new_prm, req.now_ms)
            except BinanceError as exc:
                new_error = exc
        data: JsonObj = {
            "cancelResult": "FAILURE" if cancel_error else "SUCCESS",
            "newOrderResult": "SUCCESS" if new_result is not None else (
                "FAILURE" if new_error is not None else "NOT_ATTEMPTED"),
            "cancelResponse": cancel_error.body() if cancel_error else cancel_result,
            "newOrderResponse": new_error.body() if new_error else new_result,
        }
        if cancel_error is None and new_error is None:
            return Reply(data)
        if cancel_error is not None and new_result is None:
            raise BinanceError(codes.CANCEL_REPLACE_FAILED, "Order cancel-replace failed.",
                               data=data)
        raise BinanceError(codes.CANCEL_REPLACE_PARTIAL,
                           "Order cancel-replace partially failed.", status=409, data=data)
