"""Sim and domain records → Bybit v5 JSON objects (field names as in Bybit's docs).

Pure functions: every value they cannot read off the record (leverage, fees, the mark,
whether a conditional order ever triggered) is passed in by the caller, so the shapes
stay testable and the exchange is queried in one place (`console.sim.bybit.views`).

Numbers are strings, formatted with `format(d, "f")`: plain text, no exponent, the
Decimal's own scale (Bybit pads to the instrument's precision; no client may rely on
the number of trailing zeros). Timestamps inside records are strings of epoch ms;
`triggerDirection`, `positionIdx` and the like are integers, as Bybit sends them.

REST and WebSocket differ where Bybit's do: REST positions carry `avgPrice`, WebSocket
positions `entryPrice`; REST orders show an absent trigger price as "0" and the stream
as "" (the examples in Bybit's docs do exactly that); stream records carry `category`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final, TypeVar

from console.domain.enums import (
    Category,
    ExecType,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.protocol.wire import JsonObj

K = TypeVar("K")
V = TypeVar("V")


def _inverse(table: Mapping[K, V]) -> Mapping[V, K]:
    inverse = {wire: member for member, wire in table.items()}
    assert len(inverse) == len(table), "a wire value names two members"
    return MappingProxyType(inverse)


# Domain enums <-> Bybit's wire values, both ways: an enum's own value never goes on the
# wire (the domain spells things its own way; ExecType.LIQUIDATION is Bybit's BustTrade).
CATEGORY: Final[Mapping[Category, str]] = MappingProxyType({
    Category.SPOT: "spot", Category.LINEAR: "linear", Category.INVERSE: "inverse",
    Category.OPTION: "option"})
CATEGORY_OF: Final = _inverse(CATEGORY)
SIDE: Final[Mapping[Side, str]] = MappingProxyType({Side.BUY: "Buy", Side.SELL: "Sell"})
SIDE_OF: Final = _inverse(SIDE)
ORDER_TYPE: Final[Mapping[OrderType, str]] = MappingProxyType({
    OrderType.LIMIT: "Limit", OrderType.MARKET: "Market"})
ORDER_TYPE_OF: Final = _inverse(ORDER_TYPE)
TIME_IN_FORCE: Final[Mapping[TimeInForce, str]] = MappingProxyType({
    TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "PostOnly"})
TIME_IN_FORCE_OF: Final = _inverse(TIME_IN_FORCE)
EXEC_TYPE: Final[Mapping[ExecType, str]] = MappingProxyType({
    ExecType.TRADE: "Trade", ExecType.FUNDING: "Funding",
    ExecType.LIQUIDATION: "BustTrade", ExecType.ADL: "AdlTrade",
    ExecType.DELIVERY: "Delivery"})
EXEC_TYPE_OF: Final = _inverse(EXEC_TYPE)
# triggerDirection: 1 rises to the trigger price, 2 falls to it
TRIGGER_DIRECTION: Final[Mapping[TriggerDirection, int]] = MappingProxyType({
    TriggerDirection.RISE: 1, TriggerDirection.FALL: 2})
TRIGGER_DIRECTION_OF: Final = _inverse(TRIGGER_DIRECTION)

_STATUS: Final = {
    OrderStatus.PENDING_NEW: "New",
    OrderStatus.NEW: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.UNTRIGGERED: "Untriggered",
    OrderStatus.FILLED: "Filled",
    OrderStatus.REJECTED: "Rejected",
}
# positionIdx: 0 one-way mode, 1 hedge-mode buy side, 2 hedge-mode sell side
POSITION_IDX: Final[dict[PositionSide, int]] = {
    PositionSide.ONE_WAY: 0, PositionSide.LONG: 1, PositionSide.SHORT: 2}

# sim reason -> (cancelType, rejectReason)
_REASONS: Final = {
    "": ("UNKNOWN", "EC_NoError"),
    "cancelled_by_user": ("CancelByUser", "EC_PerCancelRequest"),
    "cancelled_by_operator": ("CancelByUser", "EC_PerCancelRequest"),
    "post_only_would_take": ("UNKNOWN", "EC_PostOnlyWillTakeLiquidity"),
    "fok_not_filled": ("UNKNOWN", "EC_CancelForNoFullFill"),
    "unfilled_remainder": ("UNKNOWN", "EC_NoImmediateQtyToFill"),
    "reduce_only_no_position": ("CancelByReduceOnly", "EC_NoError"),
    "no_market_price": ("UNKNOWN", "EC_NoEnoughQtyToFill"),
    "insufficient_balance": ("UNKNOWN", "EC_Others"),
}
_USER_CANCELS: Final = frozenset({"cancelled_by_user", "cancelled_by_operator"})
_RATE: Final = Decimal("0.0001")


def dec(value: Decimal | None, empty: str = "") -> str:
    """A Decimal as Bybit writes numbers: plain text without exponent; `empty` for None."""
    return empty if value is None else format(value, "f")


def ms(value: int) -> str:
    return str(value)


def order_status(order: Order, *, reason: str = "", triggered: bool = False) -> str:
    """Bybit's orderStatus for a sim order.

    Cancelled becomes PartiallyFilledCanceled on spot when something filled (Bybit: "only
    spot has this status"), Deactivated for a conditional order cancelled by a user
    before it triggered, Cancelled otherwise (derivatives may show Cancelled with an
    executed quantity).
    """
    status = order.status
    if status in _STATUS:
        return _STATUS[status]
    if status is OrderStatus.CANCELLED:
        if order.category is Category.SPOT and order.filled_qty > 0:
            return "PartiallyFilledCanceled"
        if order.trigger_price is not None and not triggered and order.filled_qty == 0 \
                and reason in _USER_CANCELS:
            return "Deactivated"
        return "Cancelled"
    raise ValueError(f"order {order.ident}: status {status.name} has no Bybit equivalent")


def order_json(order: Order, *, reason: str = "", triggered: bool = False,
               cum_fee: Decimal = ZERO, stream: bool = False) -> JsonObj:
    """One order as in /v5/order/realtime, /v5/order/history and the `order` topic."""
    cancel_type, reject_reason = _REASONS.get(reason, ("UNKNOWN", "EC_Others"))
    none = "" if stream else "0"
    filled = order.filled_qty
    leaves = order.qty - filled if order.status.is_active else ZERO
    price = order.price
    conditional = order.trigger_price is not None
    out: JsonObj = {
        "orderId": order.venue_order_id,
        "orderLinkId": order.client_order_id,
        "blockTradeId": "",
        "symbol": order.symbol,
        "price": dec(price, "0"),
        "qty": dec(order.qty),
        "side": SIDE[order.side],
        "isLeverage": "0" if order.category is Category.SPOT else "",
        "positionIdx": 0,
        "orderStatus": order_status(order, reason=reason, triggered=triggered),
        "cancelType": cancel_type,
        "rejectReason": reject_reason,
        "avgPrice": dec(order.avg_price),
        "leavesQty": dec(leaves),
        "leavesValue": dec(leaves * price) if price is not None else "0",
        "cumExecQty": dec(filled),
        "cumExecValue": dec(filled * order.avg_price) if order.avg_price is not None else "0",
        "cumExecFee": dec(cum_fee),
        "timeInForce": "IOC" if order.type is OrderType.MARKET
        else TIME_IN_FORCE[order.time_in_force],
        "orderType": ORDER_TYPE[order.type],
        "stopOrderType": "Stop" if conditional else "",
        "orderIv": "",
        "triggerPrice": dec(order.trigger_price, none),
        "takeProfit": none,
        "stopLoss": none,
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0 if order.trigger_direction is None
        else TRIGGER_DIRECTION[order.trigger_direction],
        "triggerBy": "LastPrice" if conditional else "",
        "lastPriceOnCreated": "",
        "reduceOnly": order.reduce_only,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "createdTime": ms(order.created_at),
        "updatedTime": ms(order.updated_at),
    }
    if order.category is not Category.SPOT:
        out["createType"] = "CreateByStopOrder" if conditional else "CreateByUser"
    if stream:
        out["category"] = CATEGORY[order.category]
        out["feeCurrency"] = ""
    return out


def execution_json(fill: Fill, *, order: Order | None, fee_rate: Decimal,
                   mark: Decimal | None, stream: bool = False) -> JsonObj:
    """One execution as in /v5/execution/list and the `execution` topic.

    `leavesQty` is the order's remaining quantity now, not at the time of the fill, and
    `markPrice` is the mark now: the sim keeps neither per execution.
    """
    leaves = ZERO
    if order is not None and order.status.is_active:
        leaves = order.qty - order.filled_qty
    out: JsonObj = {
        "category": CATEGORY[fill.category],
        "symbol": fill.symbol,
        "orderId": fill.venue_order_id,
        "orderLinkId": fill.client_order_id,
        "side": SIDE[fill.side],
        "orderPrice": dec(order.price if order is not None else None, "0"),
        "orderQty": dec(order.qty if order is not None else None, "0"),
        "leavesQty": dec(leaves),
        "orderType": ORDER_TYPE[order.type] if order is not None else "UNKNOWN",
        "stopOrderType": "Stop" if order is not None and order.trigger_price is not None
        else "",
        "execFee": dec(fill.fee),
        "execId": fill.exec_id,
        "execPrice": dec(fill.price),
        "execQty": dec(fill.qty),
        "execType": EXEC_TYPE[fill.exec_type],
        "execValue": dec(fill.price * fill.qty),
        "execTime": ms(fill.exec_time),
        "feeCurrency": fill.fee_asset,
        "isMaker": fill.is_maker,
        "feeRate": dec(fee_rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": dec(mark),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "",
        "extraFees": "",
    }
    if fill.category is not Category.SPOT:
        out["createType"] = "CreateByUser"
    if stream:
        out["isLeverage"] = "0"
    return out


def position_side(position: Position) -> str:
    side = position.side
    return "" if side is None else SIDE[side]


def position_json(position: Position, *, leverage: int, initial_margin: Decimal,
                  realised_pnl: Decimal, stream: bool = False) -> JsonObj:
    """One position as in /v5/position/list (`avgPrice`) or the `position` topic
    (`entryPrice`, `category`). `size` is unsigned; `side` says the direction ("" flat)."""
    size = abs(position.size)
    price_key = "entryPrice" if stream else "avgPrice"
    out: JsonObj = {
        "positionIdx": POSITION_IDX[position.position_side],
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": position.symbol,
        "side": position_side(position),
        "size": dec(size),
        price_key: dec(position.entry_price),
        "positionValue": dec(size * position.entry_price),
        "tradeMode": 0,
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": str(leverage),
        "markPrice": dec(position.mark_price),
        "liqPrice": "",
        "bustPrice": "",
        "positionIM": dec(initial_margin),
        "positionMM": "0",
        "positionBalance": dec(initial_margin),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": dec(position.unrealised_pnl),
        "curRealisedPnl": dec(realised_pnl),
        "cumRealisedPnl": dec(realised_pnl),
        "adlRankIndicator": 0,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "createdTime": ms(position.updated_at),
        "updatedTime": ms(position.updated_at),
    }
    if stream:
        out["category"] = CATEGORY[position.category]
    return out


def coin_json(balance: Balance, *, spot_locked: Decimal, unrealised_pnl: Decimal,
              order_im: Decimal, position_im: Decimal, realised_pnl: Decimal,
              usd_price: Decimal) -> JsonObj:
    """One coin of a UNIFIED wallet, split as Bybit splits it: `locked` is what spot
    orders hold, `totalOrderIM` / `totalPositionIM` the margin of derivative orders and
    positions (together: the sim's `locked`); `walletBalance` is the sim's total and
    `availableToWithdraw` its free balance."""
    equity = balance.total + unrealised_pnl
    return {
        "coin": balance.asset,
        "equity": dec(equity),
        "usdValue": dec(equity * usd_price),
        "walletBalance": dec(balance.total),
        "locked": dec(spot_locked),
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "availableToBorrow": "",
        "availableToWithdraw": dec(balance.free),
        "accruedInterest": "0",
        "totalOrderIM": dec(order_im),
        "totalPositionIM": dec(position_im),
        "totalPositionMM": "0",
        "unrealisedPnl": dec(unrealised_pnl),
        "cumRealisedPnl": dec(realised_pnl),
        "bonus": "0",
        "marginCollateral": True,
        "collateralSwitch": True,
    }


def wallet_json(coins: list[JsonObj], *, total_equity: Decimal, total_wallet: Decimal,
                total_upl: Decimal, total_im: Decimal) -> JsonObj:
    """A UNIFIED account with its coins; totals in USD (stablecoins count 1:1)."""
    margin_balance = total_wallet + total_upl
    return {
        "accountType": "UNIFIED",
        "accountIMRate": dec((total_im / margin_balance).quantize(_RATE))
        if margin_balance > 0 else "0",
        "accountMMRate": "0",
        "accountLTV": "0",
        "totalEquity": dec(total_equity),
        "totalWalletBalance": dec(total_wallet),
        "totalMarginBalance": dec(margin_balance),
        "totalAvailableBalance": dec(margin_balance - total_im),
        "totalPerpUPL": dec(total_upl),
        "totalInitialMargin": dec(total_im),
        "totalMaintenanceMargin": "0",
        "coin": coins,
    }
