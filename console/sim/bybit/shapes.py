"""Sim and domain records → Bybit v5 JSON objects (field names as in Bybit's docs).

Pure functions: every value they cannot read off the record (leverage, fees, the mark,
whether a conditional order ever triggered) is passed in by the caller, so the shapes
stay testable and the exchange is queried in one place (`console.sim.bybit.views`).

Numbers are strings, formatted with `format(d, "f")`: plain text, no exponent, the
Decimal's own scale (Bybit pads to the instrument's precision; no client may rely on
the number of trailing zeros). Timestamps inside records are strings of epoch ms;
`triggerDirection`, `positionIdx` and the like are integers, as Bybit sends them.

Each record carries exactly the fields of its page, no more (the key tuples below are
transcribed from the pages' "Response Parameters" tables, docs/v5/...). REST and
WebSocket differ where Bybit's do: REST positions carry `avgPrice`, WebSocket positions
`entryPrice`; REST orders show an absent trigger price as "0" and the stream as "" (the
examples in Bybit's docs do exactly that); stream records carry `category`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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
from console.sim.accounting import inverse_value, quantize_price
from console.sim.protocol.wire import JsonObj
from console.sim.state import OrderTerms

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


ORDER_REST_KEYS: Final = (
    "orderId", "orderLinkId", "parentOrderLinkId", "blockTradeId", "symbol", "price", "qty",
    "side", "isLeverage", "positionIdx", "orderStatus", "createType", "cancelType",
    "rejectReason", "avgPrice", "leavesQty", "leavesValue", "cumExecQty", "cumExecValue",
    "cumExecFee", "timeInForce", "orderType", "stopOrderType", "orderIv", "marketUnit",
    "triggerPrice", "takeProfit", "stopLoss", "tpslMode", "ocoTriggerBy", "tpLimitPrice",
    "slLimitPrice", "tpTriggerBy", "slTriggerBy", "triggerDirection", "triggerBy",
    "lastPriceOnCreated", "basePrice", "reduceOnly", "closeOnTrigger", "placeType",
    "smpType", "smpGroup", "smpOrderId", "createdTime", "updatedTime", "cumFeeDetail")
"""docs/v5/order/open-order, "Response Parameters" (GET /v5/order/realtime)."""
ORDER_HISTORY_KEYS: Final = (
    *ORDER_REST_KEYS, "slippageToleranceType", "slippageTolerance", "extraFees",
    "rpiTakerAccess", "rpiMatchedQty")
"""docs/v5/order/order-list: the realtime fields and five more."""
ORDER_STREAM_KEYS: Final = (
    "category", "orderId", "orderLinkId", "parentOrderLinkId", "isLeverage", "blockTradeId",
    "symbol", "price", "brokerOrderPrice", "qty", "side", "positionIdx", "orderStatus",
    "createType", "cancelType", "rejectReason", "avgPrice", "leavesQty", "leavesValue",
    "cumExecQty", "cumExecValue", "cumExecFee", "closedPnl", "feeCurrency", "timeInForce",
    "orderType", "stopOrderType", "ocoTriggerBy", "orderIv", "marketUnit",
    "slippageToleranceType", "slippageTolerance", "triggerPrice", "takeProfit", "stopLoss",
    "tpslMode", "tpLimitPrice", "slLimitPrice", "tpTriggerBy", "slTriggerBy",
    "triggerDirection", "triggerBy", "lastPriceOnCreated", "reduceOnly", "closeOnTrigger",
    "placeType", "smpType", "smpGroup", "smpOrderId", "createdTime", "updatedTime",
    "cumFeeDetail", "rpiTakerAccess", "rpiMatchedQty")
"""docs/v5/websocket/private/order."""
EXECUTION_REST_KEYS: Final = (
    "symbol", "orderId", "orderLinkId", "side", "orderPrice", "orderQty", "leavesQty",
    "createType", "orderType", "stopOrderType", "execFee", "execFeeV2", "execId",
    "execPrice", "execQty", "execType", "execValue", "execTime", "feeCurrency", "isMaker",
    "feeRate", "tradeIv", "markIv", "markPrice", "indexPrice", "underlyingPrice",
    "blockTradeId", "closedSize", "seq", "extraFees")
"""docs/v5/order/execution (GET /v5/execution/list)."""
EXECUTION_STREAM_KEYS: Final = (
    "category", "symbol", "isLeverage", "orderId", "orderLinkId", "side", "orderPrice",
    "orderQty", "leavesQty", "createType", "orderType", "stopOrderType", "execFee", "execId",
    "execPrice", "execQty", "execPnl", "execType", "execValue", "execTime", "isMaker",
    "feeRate", "tradeIv", "markIv", "markPrice", "indexPrice", "underlyingPrice",
    "blockTradeId", "closedSize", "extraFees", "seq", "feeCurrency")
"""docs/v5/websocket/private/execution."""
POSITION_REST_KEYS: Final = (
    "positionIdx", "riskId", "riskLimitValue", "symbol", "side", "size", "avgPrice",
    "positionValue", "autoAddMargin", "positionStatus", "leverage", "breakEvenPrice",
    "markPrice", "liqPrice", "positionIM", "positionIMByMp", "positionMM", "positionMMByMp",
    "takeProfit", "stopLoss", "trailingStop", "sessionAvgPrice", "delta", "gamma", "vega",
    "theta", "unrealisedPnl", "curRealisedPnl", "cumRealisedPnl", "adlRankIndicator",
    "createdTime", "updatedTime", "openTime", "seq", "isReduceOnly", "mmrSysUpdatedTime",
    "leverageSysUpdatedTime", "tpslMode", "bustPrice", "positionBalance", "tradeMode")
"""docs/v5/position (GET /v5/position/list)."""
POSITION_STREAM_KEYS: Final = (
    "category", "symbol", "side", "size", "positionIdx", "positionValue", "riskId",
    "riskLimitValue", "entryPrice", "markPrice", "leverage", "breakEvenPrice",
    "autoAddMargin", "positionIM", "positionMM", "liqPrice", "takeProfit", "stopLoss",
    "trailingStop", "unrealisedPnl", "curRealisedPnl", "sessionAvgPrice", "delta", "gamma",
    "vega", "theta", "cumRealisedPnl", "positionStatus", "adlRankIndicator", "isReduceOnly",
    "createdTime", "updatedTime", "openTime", "seq", "mmrSysUpdatedTime",
    "leverageSysUpdatedTime", "positionIMByMp", "positionMMByMp", "tpslMode", "bustPrice",
    "positionBalance", "tradeMode")
"""docs/v5/websocket/private/position."""


def _pick(full: JsonObj, keys: tuple[str, ...]) -> JsonObj:
    return {key: full[key] for key in keys if key in full}


@dataclass(frozen=True, slots=True)
class OrderFigures:
    """What an order record needs beyond the order: why it ended, whether a conditional
    order triggered, its fees, the PnL it closed, the unit its qty was given in and the
    last price when it was placed."""

    reason: str = ""
    triggered: bool = False
    cum_fee: Decimal = ZERO
    fee_coin: str = ""
    closed_pnl: Decimal = ZERO
    quote_qty: Decimal | None = None
    last_price: Decimal | None = None


def order_json(order: Order, figures: OrderFigures = OrderFigures(), *,
               stream: bool = False, history: bool = False) -> JsonObj:
    """One order as in /v5/order/realtime, /v5/order/history (`history`) or the `order`
    topic (`stream`), with exactly the fields of that page.

    Spot market buys placed by quote value (`figures.quote_qty`) show that value as
    `qty`, with `marketUnit` quoteCoin, as Bybit shows them. `cumExecFee` and
    `cumFeeDetail` ({coin: fee}) both carry the fees; `closedPnl` is the PnL the order
    closed, after the fees of the closed quantity (as /v5/position/closed-pnl books it).
    """
    cancel_type, reject_reason = _REASONS.get(figures.reason, ("UNKNOWN", "EC_Others"))
    none = "" if stream else "0"
    filled = order.filled_qty
    leaves = order.qty - filled if order.status.is_active else ZERO
    price = order.price
    conditional = order.trigger_price is not None
    spot = order.category is Category.SPOT
    unit = ""
    qty = order.qty
    if spot and order.type is OrderType.MARKET:
        unit = "baseCoin"
        if figures.quote_qty is not None:
            unit, qty = "quoteCoin", figures.quote_qty
    avg = order.avg_price
    cum_value = ZERO if avg is None else _exec_value(order.category, filled, avg)
    out: JsonObj = {
        "category": CATEGORY[order.category],
        "orderId": order.venue_order_id,
        "orderLinkId": order.client_order_id,
        "parentOrderLinkId": "",
        "blockTradeId": "",
        "symbol": order.symbol,
        "price": dec(price, "0"),
        "brokerOrderPrice": "",
        "qty": dec(qty),
        "side": SIDE[order.side],
        "isLeverage": "0" if spot else "",
        "positionIdx": 0,
        "orderStatus": order_status(order, reason=figures.reason,
                                    triggered=figures.triggered),
        "createType": "CreateByStopOrder" if conditional else "CreateByUser",
        "cancelType": cancel_type,
        "rejectReason": reject_reason,
        "avgPrice": dec(avg),
        "leavesQty": dec(leaves),
        "leavesValue": dec(_exec_value(order.category, leaves, price))
        if price is not None else "0",
        "cumExecQty": dec(filled),
        "cumExecValue": dec(cum_value),
        "cumExecFee": dec(figures.cum_fee),
        "closedPnl": dec(figures.closed_pnl),
        "feeCurrency": figures.fee_coin if spot else "",
        "timeInForce": "IOC" if order.type is OrderType.MARKET
        else TIME_IN_FORCE[order.time_in_force],
        "orderType": ORDER_TYPE[order.type],
        "stopOrderType": "Stop" if conditional else "",
        "ocoTriggerBy": "OcoTriggerByUnknown" if spot else "",
        "orderIv": "",
        "marketUnit": unit,
        "slippageToleranceType": "UNKNOWN",
        "slippageTolerance": "0",
        "triggerPrice": dec(order.trigger_price, none),
        "takeProfit": none,
        "stopLoss": none,
        "tpslMode": "",
        "tpLimitPrice": none,
        "slLimitPrice": none,
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0 if order.trigger_direction is None
        else TRIGGER_DIRECTION[order.trigger_direction],
        "triggerBy": "LastPrice" if conditional else "",
        "lastPriceOnCreated": "" if spot else dec(figures.last_price),
        "basePrice": dec(figures.last_price) if spot else "",
        "reduceOnly": order.reduce_only,
        "closeOnTrigger": False,
        "placeType": "",
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "createdTime": ms(order.created_at),
        "updatedTime": ms(order.updated_at),
        "extraFees": "",
        "cumFeeDetail": {figures.fee_coin: dec(figures.cum_fee)}
        if figures.fee_coin and figures.cum_fee != 0 else {},
        "rpiTakerAccess": False,
        "rpiMatchedQty": "0",
    }
    if spot or (stream and order.category is Category.OPTION):
        del out["createType"]  # "Spot does not have this key" (stream: nor Option)
    if stream:
        return _pick(out, ORDER_STREAM_KEYS)
    return _pick(out, ORDER_HISTORY_KEYS if history else ORDER_REST_KEYS)


def _exec_value(category: Category, qty: Decimal, price: Decimal) -> Decimal:
    """An execution's value: qty x price, or for inverse contracts the coin value
    qty / price (8 places, as Bybit reports coin amounts)."""
    if category is Category.INVERSE:
        return inverse_value(qty, price) if qty != 0 else ZERO
    return qty * price


@dataclass(frozen=True, slots=True)
class FillFigures:
    """What an execution record needs beyond the fill: the order's state, the fee rate,
    the mark, the position size it closed, its PnL and the account sequence number."""

    order: OrderTerms | None
    fee_rate: Decimal
    mark: Decimal | None
    closed_size: Decimal | None = None
    exec_pnl: Decimal | None = None
    seq: int = 0


def execution_json(fill: Fill, figures: FillFigures, *, stream: bool = False) -> JsonObj:
    """One execution as in /v5/execution/list and the `execution` topic.

    `leavesQty` is the order's remaining quantity now, not at the time of the fill, and
    `markPrice` is the mark now: the sim keeps neither per execution. `closedSize` is
    the position size the fill closed ("0" when it only opened; "" on spot, which has no
    positions) and `execPnl` its PnL before fees (Bybit's "cashFlow").
    """
    order = figures.order
    spot = fill.category is Category.SPOT
    leaves = ZERO
    if order is not None and order.status.is_active:
        leaves = order.qty - order.filled_qty
    out: JsonObj = {
        "category": CATEGORY[fill.category],
        "symbol": fill.symbol,
        "isLeverage": "0",
        "orderId": fill.venue_order_id,
        "orderLinkId": fill.client_order_id,
        "side": SIDE[fill.side],
        "orderPrice": dec(order.price if order is not None else None, "0"),
        "orderQty": dec(order.qty if order is not None else None, "0"),
        "leavesQty": dec(leaves),
        "createType": "CreateByStopOrder"
        if order is not None and order.trigger_price is not None else "CreateByUser",
        "orderType": ORDER_TYPE[order.type] if order is not None else "UNKNOWN",
        "stopOrderType": "Stop" if order is not None and order.trigger_price is not None
        else "",
        "execFee": dec(fill.fee),
        "execFeeV2": "",
        "execId": fill.exec_id,
        "execPrice": dec(fill.price),
        "execQty": dec(fill.qty),
        "execPnl": dec(figures.exec_pnl, "0"),
        "execType": EXEC_TYPE[fill.exec_type],
        "execValue": dec(_exec_value(fill.category, fill.qty, fill.price)),
        "execTime": ms(fill.exec_time),
        "feeCurrency": fill.fee_asset,
        "isMaker": fill.is_maker,
        "feeRate": dec(figures.fee_rate),
        "tradeIv": "",
        "markIv": "",
        "markPrice": dec(figures.mark),
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "" if spot else dec(figures.closed_size, "0"),
        "seq": figures.seq,
        "extraFees": [] if stream else "",
    }
    if spot or (stream and fill.category is Category.OPTION):
        del out["createType"]
    return _pick(out, EXECUTION_STREAM_KEYS if stream else EXECUTION_REST_KEYS)


def position_side(position: Position) -> str:
    side = position.side
    return "" if side is None else SIDE[side]


@dataclass(frozen=True, slots=True)
class PositionFigures:
    """What a position record needs beyond the position: leverage, margin, realised PnL
    (all time, and of the position now held; both after fees, as Bybit books them), the
    times it was first created and last opened, and its sequence number."""

    leverage: int
    initial_margin: Decimal
    cum_realised: Decimal = ZERO
    cur_realised: Decimal = ZERO
    created_at: int = 0
    open_time: int = 0
    seq: int = -1


def position_json(position: Position, figures: PositionFigures, *,
                  stream: bool = False) -> JsonObj:
    """One position as in /v5/position/list (`avgPrice`) or the `position` topic
    (`entryPrice`, `category`). `size` is unsigned; `side` says the direction ("" flat).
    `breakEvenPrice` is Bybit's formula: (entry x qty - realised PnL) / qty for the
    position now held (the fees paid so far are in its realised PnL)."""
    size = abs(position.size)
    entry = position.entry_price
    inverse = position.category is Category.INVERSE
    value = _exec_value(position.category, size, entry) if size != 0 and entry != 0 else ZERO
    breakeven = ZERO
    if size != 0 and entry != 0 and not inverse:
        sign = 1 if position.size > 0 else -1
        breakeven = quantize_price(entry - sign * figures.cur_realised / size)
    elif size != 0 and entry != 0:
        sign = 1 if position.size > 0 else -1
        coin = inverse_value(size, entry) + sign * figures.cur_realised
        breakeven = quantize_price(size / coin) if coin > 0 else ZERO
    margin = dec(figures.initial_margin)
    out: JsonObj = {
        "category": CATEGORY[position.category],
        "positionIdx": POSITION_IDX[position.position_side],
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": position.symbol,
        "side": position_side(position),
        "size": dec(size),
        "avgPrice": dec(entry),
        "entryPrice": dec(entry),
        "positionValue": dec(value),
        "autoAddMargin": 0,
        "positionStatus": "Normal",
        "leverage": str(figures.leverage),
        "breakEvenPrice": dec(breakeven),
        "markPrice": dec(position.mark_price),
        "liqPrice": "",
        "positionIM": margin,
        "positionIMByMp": margin,
        "positionMM": "0",
        "positionMMByMp": "0",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "sessionAvgPrice": "",
        "delta": "",
        "gamma": "",
        "vega": "",
        "theta": "",
        "unrealisedPnl": dec(position.unrealised_pnl),
        "curRealisedPnl": dec(figures.cur_realised),
        "cumRealisedPnl": dec(figures.cum_realised),
        "adlRankIndicator": 0,
        "createdTime": ms(figures.created_at or position.updated_at),
        "updatedTime": ms(position.updated_at),
        "openTime": figures.open_time if size != 0 else 0,
        "seq": figures.seq,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "tpslMode": "Full",
        "bustPrice": "",
        "positionBalance": margin,
        "tradeMode": 0,
    }
    return _pick(out, POSITION_STREAM_KEYS if stream else POSITION_REST_KEYS)


def coin_json(balance: Balance, *, spot_locked: Decimal, unrealised_pnl: Decimal,
              order_im: Decimal, position_im: Decimal, realised_pnl: Decimal,
              usd_price: Decimal) -> JsonObj:
    """One coin of a UNIFIED wallet, split as Bybit splits it: `locked` is what spot
    orders hold, `totalOrderIM` / `totalPositionIM` the margin of derivative orders and
    positions (together: the sim's `locked`); `walletBalance` is the sim's total.
    `cumRealisedPnl` is after fees. Deprecated fields carry what the page says they
    carry ("" for `availableToBorrow`, the transferable amount for
    `availableToWithdraw`, `free` as the spot wallet had it)."""
    equity = balance.total + unrealised_pnl
    return {
        "coin": balance.asset,
        "equity": dec(equity),
        "usdValue": dec(equity * usd_price),
        "walletBalance": dec(balance.total),
        "locked": dec(spot_locked),
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "accruedInterest": "0",
        "totalOrderIM": dec(order_im),
        "totalPositionIM": dec(position_im),
        "totalPositionMM": "0",
        "unrealisedPnl": dec(unrealised_pnl),
        "cumRealisedPnl": dec(realised_pnl),
        "bonus": "0",
        "marginCollateral": True,
        "collateralSwitch": True,
        "colRes": "0",
        "spotBorrow": "0",
        "free": dec(balance.free),
        "availableToWithdraw": dec(balance.free),
        "availableToBorrow": "",
    }


def wallet_json(coins: list[JsonObj], *, total_equity: Decimal, total_wallet: Decimal,
                total_upl: Decimal, total_im: Decimal) -> JsonObj:
    """A UNIFIED account with its coins; totals in USD (stablecoins count 1:1)."""
    margin_balance = total_wallet + total_upl
    im_rate = dec((total_im / margin_balance).quantize(_RATE)) if margin_balance > 0 else "0"
    return {
        "accountType": "UNIFIED",
        "accountIMRate": im_rate,
        "accountMMRate": "0",
        "totalEquity": dec(total_equity),
        "totalWalletBalance": dec(total_wallet),
        "totalMarginBalance": dec(margin_balance),
        "totalAvailableBalance": dec(margin_balance - total_im),
        "totalPerpUPL": dec(total_upl),
        "totalInitialMargin": dec(total_im),
        "totalMaintenanceMargin": "0",
        "accountIMRateByMp": im_rate,
        "accountMMRateByMp": "0",
        "totalInitialMarginByMp": dec(total_im),
        "totalMaintenanceMarginByMp": "0",
        "accountLTV": "0",
        "coin": coins,
    }
