"""Binance's documented response and event fields, as data, and the checker that holds a
simulated answer to them (imported by name: tests/sim_binance is on sys.path).

Each `Table` is the field list of one documented JSON object: a REST answer, an element
of a listed answer, a nested object, or a user-data event. It cites the page it was
read from (`url`) and the day it was read (`read`). Types follow Binance's own
examples: decimals are JSON strings, ids and times JSON integers, flags booleans.

Where the examples come from (all read on 2026-12-04):
* Spot REST and spot user-data events: Binance's official docs repository
  github.com/binance/binance-spot-api-docs (commit a5e0bc3, 2026-07-21), files
  rest-api.md and user-data-stream.md, which are the pages served at
  developers.binance.com/docs/binance-spot-api-docs/...
* USD-M futures: the pages at developers.binance.com/docs/derivatives/usds-margined-
  futures/... . Where the stored copy of a page stopped before its response example
  (long parameter tables), the example was read from Binance's official Python SDK
  (github.com/binance/binance-connector-python, commit 29da329, 2026-08-21:
  clients/derivatives_trading_usds_futures, the unit tests' `expected_response` and the
  websocket_streams models), which carries the pages' examples; `via_sdk` says so.
  Where the two differ, the page wins and the comment says what differs.

`required=False` marks a field the docs call conditional (e.g. "only pushed with
TRAILING_STOP_MARKET order", the spot "Conditional fields in Order Responses"): its
type is checked when it is present.

`check` compares one answer with a table: every required field present, every
documented field present has a documented type, no decimal string in exponent notation,
and no undocumented field (the plan forbids inventing fields). Every (table, field)
evaluated is recorded in `TALLY`, so the suite can prove that no table went unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from docs_tables import Deviation, DocsChecker, F, J, Tally


@dataclass(frozen=True)
class Table:
    key: str
    url: str
    fields: tuple[F, ...]
    read: str = "2026-12-04"
    via_sdk: bool = False

    def names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


A: Final = (J.ARR,)
OBJ: Final = (J.OBJ,)


def s(*names: str, required: bool = True) -> tuple[F, ...]:
    return tuple(F(n, (J.STR,), required) for n in names)


def i(*names: str, required: bool = True) -> tuple[F, ...]:
    return tuple(F(n, (J.INT,), required) for n in names)


def b(*names: str, required: bool = True) -> tuple[F, ...]:
    return tuple(F(n, (J.BOOL,), required) for n in names)


SPOT_REST: Final = "https://developers.binance.com/docs/binance-spot-api-docs/rest-api"
SPOT_UDS: Final = "https://developers.binance.com/docs/binance-spot-api-docs/user-data-stream"
FAPI: Final = "https://developers.binance.com/docs/derivatives/usds-margined-futures"

# -- spot ------------------------------------------------------------------------------

# rest-api.md "Conditional fields in Order Responses": appear only when their condition
# holds (iceberg, STP expiry, stop orders, strategies, trailing, SOR, pegs, expiry)
SPOT_ORDER_CONDITIONAL: Final = (
    *s("icebergQty", "preventedQuantity", "stopPrice", "workingFloor", "pegPriceType",
       "pegOffsetType", "peggedPrice", "expiryReason", required=False),
    *i("preventedMatchId", "strategyId", "strategyType", "trailingDelta", "trailingTime",
       "pegOffsetValue", required=False),
    *b("usedSor", required=False),
)

SPOT_ACK: Final = (*s("symbol", "clientOrderId"), *i("orderId", "orderListId", "transactTime"))
SPOT_RESULT: Final = (
    *SPOT_ACK,
    *s("price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty",
       "status", "timeInForce", "type", "side", "selfTradePreventionMode"),
    *i("workingTime"),
    *SPOT_ORDER_CONDITIONAL,
)
# "Query order": stopPrice and icebergQty are in the example, but the conditional-fields
# table says when they appear; they stay conditional here
SPOT_ORDER_VIEW: Final = (
    *s("symbol", "clientOrderId", "price", "origQty", "executedQty", "cummulativeQuoteQty",
       "status", "timeInForce", "type", "side", "origQuoteOrderQty",
       "selfTradePreventionMode"),
    *i("orderId", "orderListId", "time", "updateTime", "workingTime"),
    *b("isWorking"),
    *SPOT_ORDER_CONDITIONAL,
)

_SPOT_TABLES: Final = (
    Table("spot GET /api/v3/time", f"{SPOT_REST}/general-endpoints#check-server-time",
          i("serverTime")),
    Table("spot POST /api/v3/order ACK", f"{SPOT_REST}/trading-endpoints#new-order-trade",
          SPOT_ACK),
    Table("spot POST /api/v3/order RESULT", f"{SPOT_REST}/trading-endpoints#new-order-trade",
          SPOT_RESULT),
    Table("spot POST /api/v3/order FULL", f"{SPOT_REST}/trading-endpoints#new-order-trade",
          (*SPOT_RESULT, F("fills", A, item="spot fill"))),
    Table("spot fill", f"{SPOT_REST}/trading-endpoints#new-order-trade",
          (*s("price", "qty", "commission", "commissionAsset"), *i("tradeId"))),
    Table("spot DELETE /api/v3/order", f"{SPOT_REST}/trading-endpoints#cancel-order-trade",
          (*s("symbol", "origClientOrderId", "clientOrderId", "price", "origQty",
              "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status",
              "timeInForce", "type", "side", "selfTradePreventionMode"),
           *i("orderId", "orderListId", "transactTime"), *SPOT_ORDER_CONDITIONAL)),
    Table("spot GET /api/v3/order", f"{SPOT_REST}/account-endpoints#query-order-user_data",
          SPOT_ORDER_VIEW),
    Table("spot GET /api/v3/openOrders[]",
          f"{SPOT_REST}/account-endpoints#current-open-orders-user_data", SPOT_ORDER_VIEW),
    Table("spot GET /api/v3/account",
          f"{SPOT_REST}/account-endpoints#account-information-user_data",
          (*i("makerCommission", "takerCommission", "buyerCommission", "sellerCommission",
              "updateTime", "uid"),
           F("commissionRates", OBJ, item="spot commissionRates"),
           *b("canTrade", "canWithdraw", "canDeposit", "brokered",
              "requireSelfTradePrevention", "preventSor"),
           *s("accountType"), F("balances", A, item="spot balance"), F("permissions", A))),
    Table("spot commissionRates",
          f"{SPOT_REST}/account-endpoints#account-information-user_data",
          s("maker", "taker", "buyer", "seller")),
    Table("spot balance", f"{SPOT_REST}/account-endpoints#account-information-user_data",
          s("asset", "free", "locked")),
    Table("spot GET /api/v3/myTrades[]",
          f"{SPOT_REST}/account-endpoints#account-trade-list-user_data",
          (*s("symbol", "price", "qty", "quoteQty", "commission", "commissionAsset"),
           *i("id", "orderId", "orderListId", "time"),
           *b("isBuyer", "isMaker", "isBestMatch"))),
    Table("spot POST /api/v3/order/cancelReplace",
          f"{SPOT_REST}/trading-endpoints#cancel-an-existing-order-and-send-a-new-order-trade",
          (*s("cancelResult", "newOrderResult"),
           F("cancelResponse", OBJ, item="spot DELETE /api/v3/order"),
           F("newOrderResponse", OBJ, item="spot POST /api/v3/order FULL"))),
    Table("spot GET /api/v3/exchangeInfo",
          f"{SPOT_REST}/general-endpoints#exchange-information",
          (*s("timezone"), *i("serverTime"), F("rateLimits", A), F("exchangeFilters", A),
           F("symbols", A, item="spot exchangeInfo symbol"),
           F("sors", A, required=False))),  # "Optional field. Present only when SOR..."
    Table("spot exchangeInfo symbol", f"{SPOT_REST}/general-endpoints#exchange-information",
          (*s("symbol", "status", "baseAsset", "quoteAsset",
              "defaultSelfTradePreventionMode"),
           *i("baseAssetPrecision", "quotePrecision", "quoteAssetPrecision",
              "baseCommissionPrecision", "quoteCommissionPrecision"),
           *b("icebergAllowed", "ocoAllowed", "otoAllowed", "opoAllowed",
              "quoteOrderQtyMarketAllowed", "allowTrailingStop", "cancelReplaceAllowed",
              "amendAllowed", "pegInstructionsAllowed", "isSpotTradingAllowed",
              "isMarginTradingAllowed"),
           F("orderTypes", A), F("filters", A), F("permissions", A), F("permissionSets", A),
           F("allowedSelfTradePreventionModes", A))),
    # user-data-stream.md: every event arrives wrapped {"subscriptionId", "event"}
    Table("spot WS-API event wrapper", f"{SPOT_UDS}#user-data-stream-events",
          (*i("subscriptionId"), F("event", OBJ))),
    Table("spot executionReport", f"{SPOT_UDS}#order-update",
          (*s("e", "s", "c", "S", "o", "f", "q", "p", "P", "F", "C", "x", "X", "r", "l", "z",
              "L", "n", "Z", "Y", "Q", "V"),
           F("N", (J.STR, J.NULL)),  # the example's "N": null (no commission yet)
           *i("E", "g", "i", "T", "t", "I", "O"),
           *b("w", "m", "M"),
           # "Conditional Fields in Execution Report"
           *i("v", "W", "d", "D", "j", "J", "u", "U", "a", "gOV", required=False),
           *s("A", "B", "Cs", "pl", "pL", "pY", "b", "k", "gP", "gOT", "gp", "eR",
              required=False),
           *b("uS", required=False))),
    Table("spot outboundAccountPosition", f"{SPOT_UDS}#account-update",
          (*s("e"), *i("E", "u"), F("B", A, item="spot outboundAccountPosition B[]"))),
    Table("spot outboundAccountPosition B[]", f"{SPOT_UDS}#account-update",
          s("a", "f", "l")),
)

# -- USD-M futures ---------------------------------------------------------------------

FUT_ORDER_COMMON: Final = (
    *s("clientOrderId", "executedQty", "origQty", "price", "side", "positionSide", "status",
       "stopPrice", "symbol", "timeInForce", "type", "origType", "workingType",
       "priceMatch", "selfTradePreventionMode"),
    *i("orderId", "updateTime", "goodTillDate"),
    *b("reduceOnly", "closePosition", "priceProtect"),
    # "activation price, only return with TRAILING_STOP_MARKET order"
    *s("activatePrice", "priceRate", required=False),
)
FUT_ORDER_VIEW: Final = (*FUT_ORDER_COMMON, *s("avgPrice", "cumQuote"), *i("time"))

ALGO_COMMON: Final = (
    *i("algoId", "createTime", "updateTime", "triggerTime", "goodTillDate"),
    *s("clientAlgoId", "algoType", "orderType", "symbol", "side", "positionSide",
       "timeInForce", "quantity", "algoStatus", "triggerPrice", "price",
       "selfTradePreventionMode", "workingType", "priceMatch"),
    *b("closePosition", "priceProtect", "reduceOnly"),
    F("icebergQuantity", (J.STR, J.NULL)),  # the example's null (SDK renders "None")
)

_FUT_TABLES: Final = (
    # cumQuote and avgPrice: in older copies of the New/Cancel/Modify pages' examples
    # (as peers transcribed them), absent from the current examples in Binance's SDK
    # (models and tests alike): UNVERIFIED, so checked only when present
    Table("usdm POST /fapi/v1/order", f"{FAPI}/trade/rest-api/New-Order",
          (*FUT_ORDER_COMMON, *s("cumQty"), *s("cumQuote", "avgPrice", required=False)),
          via_sdk=True),
    Table("usdm GET /fapi/v1/order", f"{FAPI}/trade/rest-api/Query-Order", FUT_ORDER_VIEW,
          via_sdk=True),
    Table("usdm GET /fapi/v1/openOrders[]", f"{FAPI}/trade/rest-api/Current-All-Open-Orders",
          FUT_ORDER_VIEW, via_sdk=True),
    Table("usdm DELETE /fapi/v1/order", f"{FAPI}/trade/rest-api/Cancel-Order",
          (*FUT_ORDER_COMMON, *s("cumQty"), *s("cumQuote", "avgPrice", required=False)),
          via_sdk=True),
    Table("usdm PUT /fapi/v1/order", f"{FAPI}/trade/rest-api/Modify-Order",
          # the SDK's example also has pair and modifyId (COIN-M style): left conditional
          (*FUT_ORDER_COMMON, *s("cumQty"),
           *s("pair", "avgPrice", "cumQuote", required=False),
           *i("modifyId", required=False)), via_sdk=True),
    Table("usdm GET /fapi/v1/userTrades[]", f"{FAPI}/trade/rest-api/Account-Trade-List",
          (*b("buyer", "maker"),
           *s("commission", "commissionAsset", "price", "qty", "quoteQty", "realizedPnl",
              "side", "positionSide", "symbol"),
           *i("id", "orderId", "time"))),
    Table("usdm GET /fapi/v3/positionRisk[]", f"{FAPI}/trade/rest-api/Position-Information-V3",
          (*s("symbol", "positionSide", "positionAmt", "entryPrice", "breakEvenPrice",
              "markPrice", "unRealizedProfit", "liquidationPrice", "isolatedMargin",
              "notional", "marginAsset", "isolatedWallet", "initialMargin", "maintMargin",
              "positionInitialMargin", "openOrderInitialMargin", "bidNotional",
              "askNotional"),
           *i("adl", "updateTime"))),
    Table("usdm GET /fapi/v3/account", f"{FAPI}/account/rest-api/Account-Information-V3",
          (*s("totalInitialMargin", "totalMaintMargin", "totalWalletBalance",
              "totalUnrealizedProfit", "totalMarginBalance", "totalPositionInitialMargin",
              "totalOpenOrderInitialMargin", "totalCrossWalletBalance", "totalCrossUnPnl",
              "availableBalance", "maxWithdrawAmount"),
           F("assets", A, item="usdm account asset"),
           F("positions", A, item="usdm account position")), via_sdk=True),
    Table("usdm account asset", f"{FAPI}/account/rest-api/Account-Information-V3",
          (*s("asset", "walletBalance", "unrealizedProfit", "marginBalance", "maintMargin",
              "initialMargin", "positionInitialMargin", "openOrderInitialMargin",
              "crossWalletBalance", "crossUnPnl", "availableBalance", "maxWithdrawAmount"),
           *i("updateTime")), via_sdk=True),
    Table("usdm account position", f"{FAPI}/account/rest-api/Account-Information-V3",
          (*s("symbol", "positionSide", "positionAmt", "unrealizedProfit", "isolatedMargin",
              "notional", "isolatedWallet", "initialMargin", "maintMargin"),
           *i("updateTime")), via_sdk=True),
    Table("usdm GET /fapi/v3/balance[]", f"{FAPI}/account/rest-api/Futures-Account-Balance-V3",
          (*s("accountAlias", "asset", "balance", "crossWalletBalance", "crossUnPnl",
              "availableBalance", "maxWithdrawAmount"),
           *b("marginAvailable"), *i("updateTime")), via_sdk=True),
    Table("usdm POST /fapi/v1/algoOrder", f"{FAPI}/trade/rest-api/New-Algo-Order",
          (*ALGO_COMMON,
           # "" in the example; TRAILING_STOP_MARKET only
           *s("activatePrice", "callbackRate", required=False)), via_sdk=True),
    Table("usdm GET /fapi/v1/algoOrder", f"{FAPI}/trade/rest-api/Query-Algo-Order",
          # actualOrderId is the string "" in the example (and a string in the SDK model)
          (*ALGO_COMMON, *s("actualOrderId", "actualPrice", "actualType", "actualQty",
                            "tpOrderType")), via_sdk=True),
    Table("usdm DELETE /fapi/v1/algoOrder", f"{FAPI}/trade/rest-api/Cancel-Algo-Order",
          # "code": "200" is a string in the example
          (*i("algoId"), *s("clientAlgoId", "code", "msg")), via_sdk=True),
    Table("usdm GET /fapi/v1/openAlgoOrders[]",
          f"{FAPI}/trade/rest-api/Current-All-Algo-Open-Orders",
          (*ALGO_COMMON, *s("actualOrderId", "actualPrice", "tpTriggerPrice", "tpPrice",
                            "slTriggerPrice", "slPrice", "tpOrderType")), via_sdk=True),
    Table("usdm POST /fapi/v1/countdownCancelAll",
          f"{FAPI}/trade/rest-api/Auto-Cancel-All-Open-Orders",
          s("symbol", "countdownTime")),  # "countdownTime": "100000", a string
    Table("usdm POST /fapi/v1/listenKey",
          f"{FAPI}/user-data-streams/Start-User-Data-Stream", s("listenKey")),
    Table("usdm PUT /fapi/v1/listenKey",
          f"{FAPI}/user-data-streams/Keepalive-User-Data-Stream", s("listenKey"),
          via_sdk=True),
    Table("usdm GET /fapi/v1/positionSide/dual",
          f"{FAPI}/account/rest-api/Get-Current-Position-Mode", b("dualSidePosition"),
          via_sdk=True),
    Table("usdm GET /fapi/v1/multiAssetsMargin",
          f"{FAPI}/account/rest-api/Get-Current-Multi-Assets-Mode", b("multiAssetsMargin"),
          via_sdk=True),
    Table("usdm GET /fapi/v1/exchangeInfo", f"{FAPI}/market-data/rest-api/Exchange-Information",
          (F("exchangeFilters", A), F("rateLimits", A), *i("serverTime"),
           F("assets", A, item="usdm exchangeInfo asset"),
           F("symbols", A, item="usdm exchangeInfo symbol"), *s("timezone")), via_sdk=True),
    Table("usdm exchangeInfo asset", f"{FAPI}/market-data/rest-api/Exchange-Information",
          (*s("asset"), *b("marginAvailable"),
           F("autoAssetExchange", (J.STR, J.INT, J.NULL))), via_sdk=True),
    Table("usdm exchangeInfo symbol", f"{FAPI}/market-data/rest-api/Exchange-Information",
          (*s("symbol", "pair", "contractType", "status", "maintMarginPercent",
              "requiredMarginPercent", "baseAsset", "quoteAsset", "marginAsset",
              "underlyingType", "triggerProtect", "liquidationFee", "marketTakeBound"),
           *i("deliveryDate", "onboardDate", "pricePrecision", "quantityPrecision",
              "baseAssetPrecision", "quotePrecision"),
           F("underlyingSubType", A), F("filters", A), F("timeInForce", A),
           # the page's example spells it "OrderType"; the API and the SDK: orderTypes
           F("orderTypes", A, required=False),
           *i("settlePlan", required=False)), via_sdk=True),
    # user-data stream events (the event page; field types from the SDK's models where
    # the stored page stops early)
    Table("usdm ORDER_TRADE_UPDATE", f"{FAPI}/user-data-streams/Event-Order-Update",
          (*s("e"), *i("E", "T"), F("o", OBJ, item="usdm ORDER_TRADE_UPDATE o")),
          via_sdk=True),
    Table("usdm ORDER_TRADE_UPDATE o", f"{FAPI}/user-data-streams/Event-Order-Update",
          (*s("s", "c", "S", "o", "f", "q", "p", "ap", "sp", "x", "X", "l", "z", "L", "b",
              "a", "wt", "ot", "ps", "rp", "V", "pm", "er"),
           *i("i", "T", "t", "si", "ss", "gtd"),
           *b("m", "R", "cp", "pP"),
           # "Commission Asset, will not push if no commission"; trailing-only AP, cr;
           # modifyId only on AMENDMENT
           *s("N", "n", "AP", "cr", "M", required=False)), via_sdk=True),
    Table("usdm TRADE_LITE", f"{FAPI}/user-data-streams/Event-Trade-Lite",
          (*s("e", "s", "q", "p", "c", "S", "L", "l"), *i("E", "T", "t", "i"), *b("m")),
          via_sdk=True),
    Table("usdm ACCOUNT_UPDATE",
          f"{FAPI}/user-data-streams/Event-Balance-and-Position-Update",
          (*s("e"), *i("E", "T"), F("a", OBJ, item="usdm ACCOUNT_UPDATE a")), via_sdk=True),
    Table("usdm ACCOUNT_UPDATE a",
          f"{FAPI}/user-data-streams/Event-Balance-and-Position-Update",
          (*s("m"), F("B", A, item="usdm ACCOUNT_UPDATE a.B[]"),
           F("P", A, item="usdm ACCOUNT_UPDATE a.P[]")), via_sdk=True),
    Table("usdm ACCOUNT_UPDATE a.B[]",
          f"{FAPI}/user-data-streams/Event-Balance-and-Position-Update",
          s("a", "wb", "cw", "bc"), via_sdk=True),
    Table("usdm ACCOUNT_UPDATE a.P[]",
          f"{FAPI}/user-data-streams/Event-Balance-and-Position-Update",
          s("s", "pa", "ep", "bep", "cr", "up", "mt", "iw", "ps"), via_sdk=True),
    Table("usdm ALGO_UPDATE", f"{FAPI}/user-data-streams/Event-Algo-Order-Update",
          (*s("e"), *i("T", "E"), F("o", OBJ, item="usdm ALGO_UPDATE o")), via_sdk=True),
    Table("usdm ALGO_UPDATE o", f"{FAPI}/user-data-streams/Event-Algo-Order-Update",
          (*s("caid", "at", "o", "s", "S", "ps", "f", "q", "X", "tp", "p", "V", "wt",
              "pm"),
           *i("aid", "tt", "gtd"), *b("cp", "pP", "R"),
           # "only display when order is triggered and placed in matching engine"; the
           # failure reason; "only meaningful for trailing order"
           *s("ai", "ap", "aq", "act", "rm", required=False), *b("ia", required=False)),
          via_sdk=True),
    Table("usdm listenKeyExpired",
          f"{FAPI}/user-data-streams/Event-User-Data-Stream-Expired",
          # the SDK model: E an integer; older pages showed it quoted: both accepted
          (*s("e", "listenKey"), F("E", (J.INT, J.STR))), via_sdk=True),
)

TABLES: Final[Mapping[str, Table]] = {t.key: t for t in (*_SPOT_TABLES, *_FUT_TABLES)}


_EXPONENT: Final = re.compile(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+")
"""A number in exponent notation ("1E-8"): the plan allows plain decimals only."""


def _exponent(value: object) -> tuple[str, str] | None:
    if isinstance(value, str) and _EXPONENT.fullmatch(value):
        return "a plain decimal string", f"exponent notation {value!r}"
    return None


CHECKER: Final = DocsChecker("Binance", TABLES, value_problem=_exponent)
TALLY: Final[Tally] = CHECKER.tally
check = CHECKER.check
check_list = CHECKER.check_list
field_count = CHECKER.field_count
__all__ = ["TABLES", "TALLY", "Deviation", "F", "J", "Table", "check", "check_list",
           "field_count"]
