"""Binance payloads from Binance's own documentation, for the connector's unit tests
(imported by name: tests/venues is on sys.path).

Spot: github.com/binance/binance-spot-api-docs (rest-api.md, user-data-stream.md: the
examples of "Query order", "Cancel order", "New order" RESULT, "Account trade list",
"Account information", "Cancel All Open Orders on a Symbol", "Cancel an Existing Order and
Send a New Order", executionReport, outboundAccountPosition, balanceUpdate). USD-M: the
examples of developers.binance.com/docs/derivatives/usds-margined-futures as Binance's
official Python SDK carries them (binance-connector-python, derivatives_trading_usds_
futures unit tests: Query Order, Modify Order, Cancel Order, Query/New Algo Order, Current
All Algo Open Orders, Account Trade List, Position Information V3, Account Information
V3, countdownCancelAll, Cancel Algo Order) and the user-data event pages
(ORDER_TRADE_UPDATE, ACCOUNT_UPDATE, ALGO_UPDATE, TRADE_LITE). Every function returns a
fresh copy; `changes` override fields.
"""

from __future__ import annotations

import copy
from typing import Any


def _with(raw: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(raw)
    out.update(changes)
    return out


# -- USD-M REST ---------------------------------------------------------------------------

def futures_order(**changes: Any) -> dict[str, Any]:
    """GET /fapi/v1/order, made a plain LIMIT order (the page's example is a trailing
    stop: `futures_trailing_order`)."""
    return _with({
        "avgPrice": "0.00000", "clientOrderId": "abc", "cumQuote": "0", "executedQty": "0",
        "orderId": 1573346959, "origQty": "0.40", "origType": "LIMIT", "price": "9000",
        "reduceOnly": False, "side": "BUY", "positionSide": "BOTH", "status": "NEW",
        "stopPrice": "0", "closePosition": False, "symbol": "BTCUSDT",
        "time": 1579276756075, "timeInForce": "GTC", "type": "LIMIT",
        "updateTime": 1579276756075, "workingType": "CONTRACT_PRICE", "priceProtect": False,
        "priceMatch": "NONE", "selfTradePreventionMode": "NONE", "goodTillDate": 0,
    }, changes)


def futures_trailing_order(**changes: Any) -> dict[str, Any]:
    """GET /fapi/v1/order, the page's example verbatim."""
    return _with({
        "avgPrice": "0.00000", "clientOrderId": "abc", "cumQuote": "0", "executedQty": "0",
        "orderId": 1573346959, "origQty": "0.40", "origType": "TRAILING_STOP_MARKET",
        "price": "0", "reduceOnly": False, "side": "BUY", "positionSide": "SHORT",
        "status": "NEW", "stopPrice": "9300", "closePosition": False, "symbol": "BTCUSDT",
        "time": 1579276756075, "timeInForce": "GTC", "type": "TRAILING_STOP_MARKET",
        "activatePrice": "9020", "priceRate": "0.3", "updateTime": 1579276756075,
        "workingType": "CONTRACT_PRICE", "priceProtect": False, "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE", "goodTillDate": 0,
    }, changes)


def futures_modify(**changes: Any) -> dict[str, Any]:
    """PUT /fapi/v1/order, the page's example."""
    return _with({
        "orderId": 20072994037, "symbol": "BTCUSDT", "pair": "BTCUSDT", "status": "NEW",
        "clientOrderId": "LJ9R4QZDihCaS8UAOOLpgW", "modifyId": 1, "price": "30005",
        "origQty": "1", "executedQty": "0", "cumQty": "0", "timeInForce": "GTC",
        "type": "LIMIT", "reduceOnly": False, "closePosition": False, "side": "BUY",
        "positionSide": "LONG", "stopPrice": "0", "workingType": "CONTRACT_PRICE",
        "priceProtect": False, "origType": "LIMIT", "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE", "goodTillDate": 0, "updateTime": 1629182711600,
    }, changes)


def algo_order(**changes: Any) -> dict[str, Any]:
    """GET /fapi/v1/algoOrder, the page's example (a cancelled TAKE_PROFIT)."""
    return _with({
        "algoId": 2146760, "clientAlgoId": "6B2I9XVcJpCjqPAJ4YoFX7",
        "algoType": "CONDITIONAL", "orderType": "TAKE_PROFIT", "symbol": "BNBUSDT",
        "side": "SELL", "positionSide": "BOTH", "timeInForce": "GTC", "quantity": "0.01",
        "algoStatus": "CANCELED", "actualOrderId": "", "actualPrice": "0.00000",
        "actualType": "LIMIT", "actualQty": "0.01", "triggerPrice": "750.000",
        "price": "750.000", "icebergQuantity": "None", "tpOrderType": "",
        "selfTradePreventionMode": "EXPIRE_MAKER", "workingType": "CONTRACT_PRICE",
        "priceMatch": "NONE", "closePosition": False, "priceProtect": False,
        "reduceOnly": False, "createTime": 1750485492076, "updateTime": 1750514545091,
        "triggerTime": 0, "goodTillDate": 0,
    }, changes)


def open_algo_order(**changes: Any) -> dict[str, Any]:
    """One GET /fapi/v1/openAlgoOrders item, the page's example."""
    return _with({
        "algoId": 2148627, "clientAlgoId": "MRumok0dkhrP4kCm12AHaB",
        "algoType": "CONDITIONAL", "orderType": "TAKE_PROFIT", "symbol": "BNBUSDT",
        "side": "SELL", "positionSide": "BOTH", "timeInForce": "GTC", "quantity": "0.01",
        "algoStatus": "NEW", "actualOrderId": "", "actualPrice": "0.00000",
        "triggerPrice": "750.000", "price": "750.000", "icebergQuantity": "None",
        "tpTriggerPrice": "0.000", "tpPrice": "0.000", "slTriggerPrice": "0.000",
        "slPrice": "0.000", "tpOrderType": "", "selfTradePreventionMode": "EXPIRE_MAKER",
        "workingType": "CONTRACT_PRICE", "priceMatch": "NONE", "closePosition": False,
        "priceProtect": False, "reduceOnly": False, "createTime": 1750514941540,
        "updateTime": 1750514941540, "triggerTime": 0, "goodTillDate": 0,
    }, changes)


def user_trade(**changes: Any) -> dict[str, Any]:
    """One GET /fapi/v1/userTrades item, the page's example."""
    return _with({
        "buyer": False, "commission": "0.07819010", "commissionAsset": "USDT", "id": 698759,
        "maker": False, "orderId": 25851813, "price": "7819.01", "qty": "0.002",
        "quoteQty": "15.63802", "realizedPnl": "-0.91539999", "side": "SELL",
        "positionSide": "SHORT", "symbol": "BTCUSDT", "time": 1569514978020,
    }, changes)


def position_risk(**changes: Any) -> dict[str, Any]:
    """One GET /fapi/v3/positionRisk item, the page's example."""
    return _with({
        "symbol": "ADAUSDT", "positionSide": "BOTH", "positionAmt": "30",
        "entryPrice": "0.385", "breakEvenPrice": "0.385077", "markPrice": "0.41047590",
        "unRealizedProfit": "0.76427700", "liquidationPrice": "0", "isolatedMargin": "0",
        "notional": "12.31427700", "marginAsset": "USDT", "isolatedWallet": "0",
        "initialMargin": "0.61571385", "maintMargin": "0.08004280",
        "positionInitialMargin": "0.61571385", "openOrderInitialMargin": "0", "adl": 2,
        "bidNotional": "0", "askNotional": "0", "updateTime": 1720736417660,
    }, changes)


def futures_account(**changes: Any) -> dict[str, Any]:
    """GET /fapi/v3/account, the page's example (one asset, one position)."""
    return _with({
        "totalInitialMargin": "0.00000000", "totalMaintMargin": "0.00000000",
        "totalWalletBalance": "126.72469206", "totalUnrealizedProfit": "0.00000000",
        "totalMarginBalance": "126.72469206", "totalPositionInitialMargin": "0.00000000",
        "totalOpenOrderInitialMargin": "0.00000000",
        "totalCrossWalletBalance": "126.72469206", "totalCrossUnPnl": "0.00000000",
        "availableBalance": "126.72469206", "maxWithdrawAmount": "126.72469206",
        "assets": [{
            "asset": "USDT", "walletBalance": "23.72469206", "unrealizedProfit": "0.00000000",
            "marginBalance": "23.72469206", "maintMargin": "0.00000000",
            "initialMargin": "0.00000000", "positionInitialMargin": "0.00000000",
            "openOrderInitialMargin": "0.00000000", "crossWalletBalance": "23.72469206",
            "crossUnPnl": "0.00000000", "availableBalance": "23.72469206",
            "maxWithdrawAmount": "23.72469206", "updateTime": 1625474304765}],
        "positions": [{
            "symbol": "BTCUSDT", "positionSide": "BOTH", "positionAmt": "1.000",
            "unrealizedProfit": "0.00000000", "isolatedMargin": "0.00000000", "notional": "0",
            "isolatedWallet": "0", "initialMargin": "0", "maintMargin": "0", "updateTime": 0}],
    }, changes)


# -- spot REST ----------------------------------------------------------------------------

def spot_order(**changes: Any) -> dict[str, Any]:
    """GET /api/v3/order, rest-api.md's example."""
    return _with({
        "symbol": "LTCBTC", "orderId": 1, "orderListId": -1, "clientOrderId": "myOrder1",
        "price": "0.1", "origQty": "1.0", "executedQty": "0.0", "cummulativeQuoteQty": "0.0",
        "status": "NEW", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
        "stopPrice": "0.0", "icebergQty": "0.0", "time": 1499827319559,
        "updateTime": 1499827319559, "isWorking": True, "workingTime": 1499827319559,
        "origQuoteOrderQty": "0.000000", "selfTradePreventionMode": "NONE",
    }, changes)


def spot_cancel(**changes: Any) -> dict[str, Any]:
    """DELETE /api/v3/order, rest-api.md's example."""
    return _with({
        "symbol": "LTCBTC", "origClientOrderId": "myOrder1", "orderId": 4, "orderListId": -1,
        "clientOrderId": "cancelMyOrder1", "transactTime": 1684804350068,
        "price": "2.00000000", "origQty": "1.00000000", "executedQty": "0.00000000",
        "origQuoteOrderQty": "0.000000", "cummulativeQuoteQty": "0.00000000",
        "status": "CANCELED", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
        "selfTradePreventionMode": "NONE",
    }, changes)


def spot_result(**changes: Any) -> dict[str, Any]:
    """POST /api/v3/order, the RESULT answer of rest-api.md."""
    return _with({
        "symbol": "BTCUSDT", "orderId": 28, "orderListId": -1,
        "clientOrderId": "6gCrw2kRUAF9CvJDGP16IP", "transactTime": 1507725176595,
        "price": "0.00000000", "origQty": "10.00000000", "executedQty": "10.00000000",
        "origQuoteOrderQty": "0.000000", "cummulativeQuoteQty": "10.00000000",
        "status": "FILLED", "timeInForce": "GTC", "type": "MARKET", "side": "SELL",
        "workingTime": 1507725176595, "selfTradePreventionMode": "NONE",
    }, changes)


def my_trade(**changes: Any) -> dict[str, Any]:
    """One GET /api/v3/myTrades item, rest-api.md's example."""
    return _with({
        "symbol": "BNBBTC", "id": 28457, "orderId": 100234, "orderListId": -1,
        "price": "4.00000100", "qty": "12.00000000", "quoteQty": "48.000012",
        "commission": "10.10000000", "commissionAsset": "BNB", "time": 1499865549590,
        "isBuyer": True, "isMaker": False, "isBestMatch": True,
    }, changes)


def spot_account(**changes: Any) -> dict[str, Any]:
    """GET /api/v3/account, rest-api.md's example (with one locked amount and one empty
    asset added)."""
    return _with({
        "makerCommission": 15, "takerCommission": 15, "buyerCommission": 0,
        "sellerCommission": 0,
        "commissionRates": {"maker": "0.00150000", "taker": "0.00150000",
                            "buyer": "0.00000000", "seller": "0.00000000"},
        "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False, "updateTime": 123456789,
        "accountType": "SPOT",
        "balances": [{"asset": "BTC", "free": "4723846.89208129", "locked": "0.00000000"},
                     {"asset": "LTC", "free": "4763368.68006011", "locked": "1.50000000"},
                     {"asset": "BNB", "free": "0.00000000", "locked": "0.00000000"}],
        "permissions": ["SPOT"], "uid": 354937868,
    }, changes)


def cancel_replace_partial() -> dict[str, Any]:
    """cancelReplace: cancelled, the new order refused (HTTP 409), rest-api.md."""
    return {
        "code": -2021, "msg": "Order cancel-replace partially failed.",
        "data": {
            "cancelResult": "SUCCESS", "newOrderResult": "FAILURE",
            "cancelResponse": spot_cancel(origClientOrderId="86M8erehfExV8z2RC8Zo8k",
                                          orderId=3, type="LIMIT_MAKER", side="SELL"),
            "newOrderResponse": {"code": -2010,
                                 "msg": "Order would immediately match and take."},
        },
    }


# -- user-data events -----------------------------------------------------------------------

def order_trade_update(**order_changes: Any) -> dict[str, Any]:
    """ORDER_TRADE_UPDATE, the USD-M event page's example (a trailing stop, NEW)."""
    return {
        "e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650,
        "o": _with({
            "s": "BTCUSDT", "c": "TEST", "S": "SELL", "o": "TRAILING_STOP_MARKET",
            "f": "GTC", "q": "0.001", "p": "0", "ap": "0", "sp": "7103.04", "x": "NEW",
            "X": "NEW", "i": 8886774, "l": "0", "z": "0", "L": "0", "N": "USDT", "n": "0",
            "T": 1568879465650, "t": 0, "b": "0", "a": "9.91", "m": False, "R": False,
            "wt": "CONTRACT_PRICE", "ot": "TRAILING_STOP_MARKET", "ps": "LONG", "cp": False,
            "AP": "7476.89", "cr": "5.0", "pP": False, "si": 0, "ss": 0, "rp": "0",
            "V": "EXPIRE_TAKER", "pm": "OPPONENT", "gtd": 0, "er": "0",
        }, order_changes),
    }


def account_update() -> dict[str, Any]:
    """ACCOUNT_UPDATE, the USD-M event page's example (one-way and hedge positions)."""
    return {
        "e": "ACCOUNT_UPDATE", "E": 1564745798939, "T": 1564745798938,
        "a": {
            "m": "ORDER",
            "B": [{"a": "USDT", "wb": "122624.12345678", "cw": "100.12345678",
                   "bc": "50.12345678"},
                  {"a": "BUSD", "wb": "1.00000000", "cw": "0.00000000", "bc": "-49.12345678"}],
            "P": [{"s": "BTCUSDT", "pa": "0", "ep": "0.00000", "bep": "0", "cr": "200",
                   "up": "0", "mt": "isolated", "iw": "0.00000000", "ps": "BOTH"},
                  {"s": "BTCUSDT", "pa": "20", "ep": "6563.66500", "bep": "0", "cr": "0",
                   "up": "2850.21200", "mt": "isolated", "iw": "13200.70726908",
                   "ps": "LONG"},
                  {"s": "BTCUSDT", "pa": "-10", "ep": "6563.86000", "bep": "6563.6",
                   "cr": "-45.04000000", "up": "-1423.15600", "mt": "isolated",
                   "iw": "6570.42511771", "ps": "SHORT"}],
        },
    }


def algo_update(**order_changes: Any) -> dict[str, Any]:
    """ALGO_UPDATE, the USD-M event page's example (a cancelled TAKE_PROFIT)."""
    return {
        "e": "ALGO_UPDATE", "T": 1750515742297, "E": 1750515742303,
        "o": _with({
            "caid": "Q5xaq5EGKgXXa0fD7fs0Ip", "aid": 2148719, "at": "CONDITIONAL",
            "o": "TAKE_PROFIT", "s": "BNBUSDT", "S": "SELL", "ps": "BOTH", "f": "GTC",
            "q": "0.01", "X": "CANCELED", "ai": "", "ap": "0.00000", "aq": "0.00000",
            "act": "0", "tp": "750", "p": "750", "V": "EXPIRE_MAKER", "wt": "CONTRACT_PRICE",
            "pm": "NONE", "cp": False, "pP": False, "R": False, "tt": 0, "gtd": 0,
            "rm": "Reduce Only reject",
        }, order_changes),
    }


def trade_lite() -> dict[str, Any]:
    """TRADE_LITE, the USD-M event page's example."""
    return {"e": "TRADE_LITE", "E": 1721895408092, "T": 1721895408214, "s": "BTCUSDT",
            "q": "0.001", "p": "0", "m": False, "c": "z8hcUoOsqEdKMeKPSABslD", "S": "BUY",
            "L": "64089.20", "l": "0.040", "t": 109100866, "i": 8886774}


def execution_report(**changes: Any) -> dict[str, Any]:
    """executionReport (the inner `event`), user-data-stream.md's example."""
    return _with({
        "e": "executionReport", "E": 1499405658658, "s": "ETHBTC",
        "c": "mUvoqJxFIILMdfAW5iGSOW", "S": "BUY", "o": "LIMIT", "f": "GTC",
        "q": "1.00000000", "p": "0.10264410", "P": "0.00000000", "F": "0.00000000",
        "g": -1, "C": "", "x": "NEW", "X": "NEW", "r": "NONE", "i": 4293153,
        "l": "0.00000000", "z": "0.00000000", "L": "0.00000000", "n": "0", "N": None,
        "T": 1499405658657, "t": -1, "v": 3, "I": 8641984, "w": True, "m": False,
        "M": False, "O": 1499405658657, "Z": "0.00000000", "Y": "0.00000000",
        "Q": "0.00000000", "W": 1499405658657, "V": "NONE",
    }, changes)


def outbound_account_position() -> dict[str, Any]:
    """outboundAccountPosition (the inner `event`), user-data-stream.md's example."""
    return {"e": "outboundAccountPosition", "E": 1564034571105, "u": 1564034571073,
            "B": [{"a": "ETH", "f": "10000.000000", "l": "0.000000"}]}


def balance_update() -> dict[str, Any]:
    return {"e": "balanceUpdate", "E": 1573200697110, "a": "BTC", "d": "100.00000000",
            "T": 1573200697068}
