"""Realistic Bybit v5 payloads for the adapter's tests (imported by name: tests/venues is
on sys.path). Shapes follow the examples of Bybit's v5 docs: order/realtime,
execution/list, position/list and account/wallet-balance; numbers are strings."""

from __future__ import annotations

from typing import Any


def order_json(**changes: Any) -> dict[str, Any]:
    """An order as /v5/order/realtime returns it (Bybit docs example, linear)."""
    raw: dict[str, Any] = {
        "orderId": "fd4300ae-7847-404e-b947-b46980a4d140",
        "orderLinkId": "rc-w1-e-lq2x8k0a-1f",
        "blockTradeId": "",
        "symbol": "ETHUSDT",
        "price": "1600.00",
        "qty": "0.10",
        "side": "Buy",
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": "New",
        "cancelType": "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": "0",
        "leavesQty": "0.10",
        "leavesValue": "160",
        "cumExecQty": "0.00",
        "cumExecValue": "0",
        "cumExecFee": "0",
        "timeInForce": "GTC",
        "orderType": "Limit",
        "stopOrderType": "UNKNOWN",
        "orderIv": "",
        "triggerPrice": "0.00",
        "takeProfit": "2500.00",
        "stopLoss": "1500.00",
        "tpTriggerBy": "LastPrice",
        "slTriggerBy": "LastPrice",
        "triggerDirection": 0,
        "triggerBy": "UNKNOWN",
        "lastPriceOnCreated": "",
        "reduceOnly": False,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "Full",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": "1684738540559",
        "updatedTime": "1684738540561",
    }
    raw.update(changes)
    return raw


def execution_json(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "symbol": "ETHUSDT",
        "orderType": "Limit",
        "underlyingPrice": "",
        "orderLinkId": "rc-w1-e-lq2x8k0a-1f",
        "side": "Buy",
        "indexPrice": "",
        "orderId": "fd4300ae-7847-404e-b947-b46980a4d140",
        "stopOrderType": "UNKNOWN",
        "leavesQty": "0",
        "execTime": "1684738540559",
        "feeCurrency": "USDT",
        "isMaker": False,
        "execFee": "0.071409",
        "feeRate": "0.0006",
        "execId": "e0cbe81d-0f18-5866-9415-cf319b5dab3b",
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": "1183.54",
        "execPrice": "1190.15",
        "markIv": "",
        "orderQty": "0.10",
        "orderPrice": "1236.9",
        "execValue": "119.015",
        "execType": "Trade",
        "execQty": "0.10",
        "closedSize": "",
        "seq": 4688002127,
    }
    raw.update(changes)
    return raw


def position_json(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "150",
        "symbol": "BTCUSD",
        "side": "Sell",
        "size": "300",
        "avgPrice": "27464.50441675",
        "positionValue": "0.01092319",
        "tradeMode": 0,
        "positionStatus": "Normal",
        "autoAddMargin": 1,
        "adlRankIndicator": 2,
        "leverage": "10",
        "positionBalance": "0.00139186",
        "markPrice": "28224.50",
        "liqPrice": "",
        "bustPrice": "999999.00",
        "positionMM": "0.0000015",
        "positionIM": "0.00010923",
        "tpslMode": "Full",
        "takeProfit": "0.00",
        "stopLoss": "0.00",
        "trailingStop": "0.00",
        "unrealisedPnl": "-0.00029413",
        "curRealisedPnl": "0.00013123",
        "cumRealisedPnl": "-0.00096902",
        "seq": 5723621632,
        "isReduceOnly": False,
        "createdTime": "1676538056258",
        "updatedTime": "1697673600012",
    }
    raw.update(changes)
    return raw


def coin_json(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "availableToBorrow": "",
        "bonus": "0",
        "accruedInterest": "0",
        "availableToWithdraw": "",
        "totalOrderIM": "10",
        "equity": "707.19",
        "totalPositionMM": "2",
        "usdValue": "707.33",
        "unrealisedPnl": "-1.71",
        "collateralSwitch": True,
        "spotHedgingQty": "0",
        "borrowAmount": "0",
        "totalPositionIM": "20",
        "walletBalance": "708.9",
        "cumRealisedPnl": "-1.5",
        "locked": "5",
        "marginCollateral": True,
        "coin": "USDT",
    }
    raw.update(changes)
    return raw
