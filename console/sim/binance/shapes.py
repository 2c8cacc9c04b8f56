"""Sim and domain records → Binance JSON objects (field names and types as in Binance's
docs: decimals as strings, ids and times as integers, flags as booleans).

Pure functions: what a record does not carry (the Binance ids, the hedge-mode position
side, the quote amount filled, whether an algo order triggered) is passed in by the
caller (`console.sim.binance.views`). Decimals are written as plain digits without
exponent or padding (Binance pads to the asset's precision; no client may rely on the
number of trailing zeros).

Which fields each answer carries follows the docs' examples per endpoint: the USD-M
place/cancel/modify answers carry ``cumQty`` and no ``time``, queries carry ``time`` and
``avgPrice``; spot answers come as ACK, RESULT or FULL. Fields the sim cannot know take
Binance's neutral value: ``workingType`` CONTRACT_PRICE, ``priceMatch`` and
``selfTradePreventionMode`` NONE, ``goodTillDate`` 0, ``closePosition``/``priceProtect``
false.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from console.domain.enums import OrderStatus, OrderType, Side, TimeInForce, TriggerDirection
from console.domain.model import Fill, Order
from console.domain.values import ZERO
from console.sim.protocol.wire import JsonObj

SIDE: Final[Mapping[Side, str]] = MappingProxyType({Side.BUY: "BUY", Side.SELL: "SELL"})
SIDE_OF: Final[Mapping[str, Side]] = MappingProxyType({"BUY": Side.BUY, "SELL": Side.SELL})
FUTURES_TIF: Final[Mapping[str, TimeInForce]] = MappingProxyType({
    "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
    "GTX": TimeInForce.POST_ONLY})
SPOT_TIF: Final[Mapping[str, TimeInForce]] = MappingProxyType({
    "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK})
_TIF_NAME: Final[Mapping[TimeInForce, str]] = MappingProxyType({
    TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "GTX"})
EXPIRED_REASONS: Final = frozenset({"unfilled_remainder", "fok_not_filled",
                                    "post_only_would_take"})
"""Sim reasons for which Binance says EXPIRED (the engine ended the order), not CANCELED."""
_STATUS: Final[Mapping[OrderStatus, str]] = MappingProxyType({
    OrderStatus.PENDING_NEW: "NEW", OrderStatus.NEW: "NEW", OrderStatus.UNTRIGGERED: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED", OrderStatus.PENDING_CANCEL: "NEW",
    OrderStatus.FILLED: "FILLED", OrderStatus.REJECTED: "REJECTED",
    OrderStatus.UNKNOWN: "NEW", OrderStatus.CANCELLED: "CANCELED"})
STP: Final = "NONE"
WORKING_TYPE: Final = "CONTRACT_PRICE"


def num(value: Decimal | None) -> str:
    """A decimal as Binance writes it: plain digits, "0" for zero or none."""
    if value is None or value == 0:
        return "0"
    return format(value.normalize(), "f")


def status(order: Order, reason: str) -> str:
    if order.status is OrderStatus.CANCELLED and reason in EXPIRED_REASONS:
        return "EXPIRED"
    return _STATUS[order.status]


def algo_type(side: Side, direction: TriggerDirection | None, order_type: OrderType) -> str:
    """STOP for a buy that fires on a rise or a sell on a fall, TAKE_PROFIT otherwise
    (Binance's trigger rules); _MARKET for market orders."""
    rising = direction is TriggerDirection.RISE
    stop = rising if side is Side.BUY else not rising
    base = "STOP" if stop else "TAKE_PROFIT"
    return f"{base}_MARKET" if order_type is OrderType.MARKET else base


def algo_direction(kind: str, side: Side) -> TriggerDirection:
    """The trigger direction of an algo order type (the inverse of `algo_type`)."""
    stop = kind.startswith("STOP")
    rising = stop if side is Side.BUY else not stop
    return TriggerDirection.RISE if rising else TriggerDirection.FALL


def time_in_force(order: Order) -> str:
    return "GTC" if order.type is OrderType.MARKET else _TIF_NAME[order.time_in_force]


# -- USD-M ---------------------------------------------------------------------------------

def futures_order(order: Order, *, order_id: int, position_side: str, reason: str,
                  cum_quote: Decimal, kind: str, orig_type: str = "") -> JsonObj:
    """An order as USD-M shows it; `kind`: "new", "cancel", "modify" or "view" (query,
    open and all orders)."""
    order_type = "LIMIT" if order.type is OrderType.LIMIT else "MARKET"
    out: JsonObj = {
        "orderId": order_id, "symbol": order.symbol, "status": status(order, reason),
        "clientOrderId": order.client_order_id, "price": num(order.price),
        "origQty": num(order.qty), "executedQty": num(order.filled_qty),
        "timeInForce": time_in_force(order), "type": order_type,
        "origType": orig_type or order_type, "reduceOnly": order.reduce_only,
        "closePosition": False, "side": SIDE[order.side], "positionSide": position_side,
        "stopPrice": "0", "workingType": WORKING_TYPE, "priceProtect": False,
        "priceMatch": "NONE", "selfTradePreventionMode": STP, "goodTillDate": 0,
        "updateTime": order.updated_at,
    }
    if kind == "view":
        out.update(avgPrice=num(order.avg_price), cumQuote=num(cum_quote),
                   time=order.created_at)
    else:
        out.update(cumQty=num(order.filled_qty), cumQuote=num(cum_quote),
                   avgPrice=num(order.avg_price))
    return out


def algo_status(order: Order, *, triggered: bool) -> str:
    if not triggered:
        if order.status is OrderStatus.CANCELLED:
            return "CANCELED"
        if order.status is OrderStatus.REJECTED:
            return "REJECTED"
        return "NEW"
    if order.status is OrderStatus.REJECTED:
        return "REJECTED"
    return "FINISHED" if order.status.is_terminal else "TRIGGERED"


def algo_order(order: Order, *, algo_id: int, position_side: str, triggered: bool,
               trigger_time: int, actual_order_id: int | None, kind: str) -> JsonObj:
    """An algo (conditional) order; `kind`: "new", "view" (GET, allAlgoOrders) or
    "open" (openAlgoOrders)."""
    out: JsonObj = {
        "algoId": algo_id, "clientAlgoId": order.client_order_id, "algoType": "CONDITIONAL",
        "orderType": algo_type(order.side, order.trigger_direction, order.type),
        "symbol": order.symbol, "side": SIDE[order.side], "positionSide": position_side,
        "timeInForce": time_in_force(order), "quantity": num(order.qty),
        "algoStatus": algo_status(order, triggered=triggered),
        "triggerPrice": num(order.trigger_price), "price": num(order.price),
        "icebergQuantity": None, "selfTradePreventionMode": STP,
        "workingType": WORKING_TYPE, "priceMatch": "NONE", "closePosition": False,
        "priceProtect": False, "reduceOnly": order.reduce_only,
        "createTime": order.created_at, "updateTime": order.updated_at,
        "triggerTime": trigger_time if triggered else 0, "goodTillDate": 0,
    }
    if kind in ("view", "open"):
        actual = "" if actual_order_id is None or not triggered else str(actual_order_id)
        out.update(actualOrderId=actual,
                   actualPrice=num(order.avg_price) if triggered else "0",
                   tpOrderType="")
    if kind == "view":
        out.update(actualType=("LIMIT" if order.type is OrderType.LIMIT else "MARKET")
                   if triggered else "",
                   actualQty=num(order.filled_qty) if triggered else "0")
    if kind == "open":
        out.update(tpTriggerPrice="0", tpPrice="0", slTriggerPrice="0", slPrice="0")
    return out


def futures_trade(fill: Fill, *, trade_id: int, order_id: int, position_side: str,
                  realized_pnl: Decimal = ZERO) -> JsonObj:
    return {
        "buyer": fill.side is Side.BUY, "commission": num(fill.fee),
        "commissionAsset": fill.fee_asset, "id": trade_id, "maker": fill.is_maker,
        "orderId": order_id, "price": num(fill.price), "qty": num(fill.qty),
        "quoteQty": num(fill.price * fill.qty), "realizedPnl": num(realized_pnl),
        "side": SIDE[fill.side], "positionSide": position_side, "symbol": fill.symbol,
        "time": fill.exec_time,
    }


# -- spot ----------------------------------------------------------------------------------

def spot_type(order: Order) -> str:
    if order.type is OrderType.MARKET:
        return "MARKET"
    return "LIMIT_MAKER" if order.time_in_force is TimeInForce.POST_ONLY else "LIMIT"


def spot_tif(order: Order) -> str:
    if order.type is OrderType.MARKET or order.time_in_force is TimeInForce.POST_ONLY:
        return "GTC"
    return _TIF_NAME[order.time_in_force]


def spot_result(order: Order, *, order_id: int, reason: str, cum_quote: Decimal,
                orig_quote: Decimal, transact_time: int) -> JsonObj:
    """The RESULT answer to a new spot order (ACK is its first five fields)."""
    return {
        "symbol": order.symbol, "orderId": order_id, "orderListId": -1,
        "clientOrderId": order.client_order_id, "transactTime": transact_time,
        "price": num(order.price), "origQty": num(order.qty),
        "executedQty": num(order.filled_qty), "origQuoteOrderQty": num(orig_quote),
        "cummulativeQuoteQty": num(cum_quote), "status": status(order, reason),
        "timeInForce": spot_tif(order), "type": spot_type(order), "side": SIDE[order.side],
        "workingTime": order.created_at, "selfTradePreventionMode": STP,
    }


def spot_ack(result: JsonObj) -> JsonObj:
    return {name: result[name] for name in ("symbol", "orderId", "orderListId",
                                             "clientOrderId", "transactTime")}


def spot_fill(fill: Fill, *, trade_id: int) -> JsonObj:
    return {"price": num(fill.price), "qty": num(fill.qty), "commission": num(fill.fee),
            "commissionAsset": fill.fee_asset, "tradeId": trade_id}


def spot_cancel(order: Order, *, order_id: int, reason: str, cum_quote: Decimal,
                orig_quote: Decimal, cancel_client_id: str, transact_time: int) -> JsonObj:
    return {
        "symbol": order.symbol, "origClientOrderId": order.client_order_id,
        "orderId": order_id, "orderListId": -1, "clientOrderId": cancel_client_id,
        "transactTime": transact_time, "price": num(order.price), "origQty": num(order.qty),
        "executedQty": num(order.filled_qty), "origQuoteOrderQty": num(orig_quote),
        "cummulativeQuoteQty": num(cum_quote), "status": status(order, reason),
        "timeInForce": spot_tif(order), "type": spot_type(order), "side": SIDE[order.side],
        "selfTradePreventionMode": STP,
    }


def spot_order(order: Order, *, order_id: int, reason: str, cum_quote: Decimal,
               orig_quote: Decimal) -> JsonObj:
    """A spot order as the queries show it (query, open and all orders)."""
    return {
        "symbol": order.symbol, "orderId": order_id, "orderListId": -1,
        "clientOrderId": order.client_order_id, "price": num(order.price),
        "origQty": num(order.qty), "executedQty": num(order.filled_qty),
        "cummulativeQuoteQty": num(cum_quote), "status": status(order, reason),
        "timeInForce": spot_tif(order), "type": spot_type(order), "side": SIDE[order.side],
        "time": order.created_at, "updateTime": order.updated_at,
        "isWorking": True, "workingTime": order.created_at,
        "origQuoteOrderQty": num(orig_quote), "selfTradePreventionMode": STP,
    }


def spot_trade(fill: Fill, *, trade_id: int, order_id: int) -> JsonObj:
    return {
        "symbol": fill.symbol, "id": trade_id, "orderId": order_id, "orderListId": -1,
        "price": num(fill.price), "qty": num(fill.qty), "quoteQty": num(fill.price * fill.qty),
        "commission": num(fill.fee), "commissionAsset": fill.fee_asset,
        "time": fill.exec_time, "isBuyer": fill.side is Side.BUY, "isMaker": fill.is_maker,
        "isBestMatch": True,
    }
