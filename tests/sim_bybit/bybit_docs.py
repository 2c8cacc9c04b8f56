"""Bybit v5's own field tables, enums and codes, transcribed from its documentation, and a
checker that holds a served record against them.

Source: the Bybit API documentation (https://bybit-exchange.github.io/docs/<page>), read
from its public source repository github.com/bybit-exchange/docs at commit 072c197d
(2026-07-24): each table below is the "Response Parameters" table of the page named
next to it, one row per documented field, with the documented type. Nested rows
(">", ">>") become dotted paths; "x[]" is every element of the array x.

The checker (`DocChecker.check`) reports, for one record:

* a documented field missing (unless the page says the key is absent for the record's
  category: `ABSENT`),
* a value of the wrong JSON type (string, integer/long/number, boolean, array, object),
* a number sent as a JSON number, or as text with an exponent or other than a plain
  decimal, where the docs send a decimal string,
* a value outside a documented enum (`ENUMS`: the enum page, plus the values the
  pages' own response examples show, such as "UNKNOWN"),
* a field the page does not document.

Every field of every table counts as checked once a record carrying it has been held
against the table (`DocChecker.unchecked`); `checks` counts the field checks made.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

DOCS: Final = "https://bybit-exchange.github.io/docs/"
DOCS_COMMIT: Final = "072c197d0c11b4d9a88d1dd0c7b9d7ca8ea3a996"
DOCS_DATE: Final = "2026-07-24"

TABLES: Final[Mapping[str, tuple[str, tuple[tuple[str, str], ...]]]] = {
    'order_realtime': ('v5/order/open-order', (
        ('category', 'string'),
        ('nextPageCursor', 'string'),
        ('list', 'array'),
        ('list[].orderId', 'string'),
        ('list[].orderLinkId', 'string'),
        ('list[].parentOrderLinkId', 'string'),
        ('list[].blockTradeId', 'string'),
        ('list[].symbol', 'string'),
        ('list[].price', 'string'),
        ('list[].qty', 'string'),
        ('list[].side', 'string'),
        ('list[].isLeverage', 'string'),
        ('list[].positionIdx', 'integer'),
        ('list[].orderStatus', 'string'),
        ('list[].createType', 'string'),
        ('list[].cancelType', 'string'),
        ('list[].rejectReason', 'string'),
        ('list[].avgPrice', 'string'),
        ('list[].leavesQty', 'string'),
        ('list[].leavesValue', 'string'),
        ('list[].cumExecQty', 'string'),
        ('list[].cumExecValue', 'string'),
        ('list[].cumExecFee', 'string'),
        ('list[].timeInForce', 'string'),
        ('list[].orderType', 'string'),
        ('list[].stopOrderType', 'string'),
        ('list[].orderIv', 'string'),
        ('list[].marketUnit', 'string'),
        ('list[].triggerPrice', 'string'),
        ('list[].takeProfit', 'string'),
        ('list[].stopLoss', 'string'),
        ('list[].tpslMode', 'string'),
        ('list[].ocoTriggerBy', 'string'),
        ('list[].tpLimitPrice', 'string'),
        ('list[].slLimitPrice', 'string'),
        ('list[].tpTriggerBy', 'string'),
        ('list[].slTriggerBy', 'string'),
        ('list[].triggerDirection', 'integer'),
        ('list[].triggerBy', 'string'),
        ('list[].lastPriceOnCreated', 'string'),
        ('list[].basePrice', 'string'),
        ('list[].reduceOnly', 'boolean'),
        ('list[].closeOnTrigger', 'boolean'),
        ('list[].placeType', 'string'),
        ('list[].smpType', 'string'),
        ('list[].smpGroup', 'integer'),
        ('list[].smpOrderId', 'string'),
        ('list[].createdTime', 'string'),
        ('list[].updatedTime', 'string'),
        ('list[].cumFeeDetail', 'json'),
    )),
    'order_history': ('v5/order/order-list', (
        ('category', 'string'),
        ('list', 'array'),
        ('list[].orderId', 'string'),
        ('list[].orderLinkId', 'string'),
        ('list[].parentOrderLinkId', 'string'),
        ('list[].blockTradeId', 'string'),
        ('list[].symbol', 'string'),
        ('list[].price', 'string'),
        ('list[].qty', 'string'),
        ('list[].side', 'string'),
        ('list[].isLeverage', 'string'),
        ('list[].positionIdx', 'integer'),
        ('list[].orderStatus', 'string'),
        ('list[].createType', 'string'),
        ('list[].cancelType', 'string'),
        ('list[].rejectReason', 'string'),
        ('list[].avgPrice', 'string'),
        ('list[].leavesQty', 'string'),
        ('list[].leavesValue', 'string'),
        ('list[].cumExecQty', 'string'),
        ('list[].cumExecValue', 'string'),
        ('list[].cumExecFee', 'string'),
        ('list[].timeInForce', 'string'),
        ('list[].orderType', 'string'),
        ('list[].stopOrderType', 'string'),
        ('list[].orderIv', 'string'),
        ('list[].marketUnit', 'string'),
        ('list[].slippageToleranceType', 'string'),
        ('list[].slippageTolerance', 'string'),
        ('list[].triggerPrice', 'string'),
        ('list[].takeProfit', 'string'),
        ('list[].stopLoss', 'string'),
        ('list[].tpslMode', 'string'),
        ('list[].ocoTriggerBy', 'string'),
        ('list[].tpLimitPrice', 'string'),
        ('list[].slLimitPrice', 'string'),
        ('list[].tpTriggerBy', 'string'),
        ('list[].slTriggerBy', 'string'),
        ('list[].triggerDirection', 'integer'),
        ('list[].triggerBy', 'string'),
        ('list[].lastPriceOnCreated', 'string'),
        ('list[].basePrice', 'string'),
        ('list[].reduceOnly', 'boolean'),
        ('list[].closeOnTrigger', 'boolean'),
        ('list[].placeType', 'string'),
        ('list[].smpType', 'string'),
        ('list[].smpGroup', 'integer'),
        ('list[].smpOrderId', 'string'),
        ('list[].createdTime', 'string'),
        ('list[].updatedTime', 'string'),
        ('list[].extraFees', 'string'),
        ('list[].cumFeeDetail', 'json'),
        ('list[].rpiTakerAccess', 'boolean'),
        ('list[].rpiMatchedQty', 'string'),
        ('nextPageCursor', 'string'),
    )),
    'execution_list': ('v5/order/execution', (
        ('category', 'string'),
        ('list', 'array'),
        ('list[].symbol', 'string'),
        ('list[].orderId', 'string'),
        ('list[].orderLinkId', 'string'),
        ('list[].side', 'string'),
        ('list[].orderPrice', 'string'),
        ('list[].orderQty', 'string'),
        ('list[].leavesQty', 'string'),
        ('list[].createType', 'string'),
        ('list[].orderType', 'string'),
        ('list[].stopOrderType', 'string'),
        ('list[].execFee', 'string'),
        ('list[].execFeeV2', 'string'),
        ('list[].execId', 'string'),
        ('list[].execPrice', 'string'),
        ('list[].execQty', 'string'),
        ('list[].execType', 'string'),
        ('list[].execValue', 'string'),
        ('list[].execTime', 'string'),
        ('list[].feeCurrency', 'string'),
        ('list[].isMaker', 'boolean'),
        ('list[].feeRate', 'string'),
        ('list[].tradeIv', 'string'),
        ('list[].markIv', 'string'),
        ('list[].markPrice', 'string'),
        ('list[].indexPrice', 'string'),
        ('list[].underlyingPrice', 'string'),
        ('list[].blockTradeId', 'string'),
        ('list[].closedSize', 'string'),
        ('list[].seq', 'long'),
        ('list[].extraFees', 'string'),
        ('nextPageCursor', 'string'),
    )),
    'position_list': ('v5/position', (
        ('category', 'string'),
        ('nextPageCursor', 'string'),
        ('list', 'array'),
        ('list[].positionIdx', 'integer'),
        ('list[].riskId', 'integer'),
        ('list[].riskLimitValue', 'string'),
        ('list[].symbol', 'string'),
        ('list[].side', 'string'),
        ('list[].size', 'string'),
        ('list[].avgPrice', 'string'),
        ('list[].positionValue', 'string'),
        ('list[].autoAddMargin', 'integer'),
        ('list[].positionStatus', 'String'),
        ('list[].leverage', 'string'),
        ('list[].breakEvenPrice', 'string'),
        ('list[].markPrice', 'string'),
        ('list[].liqPrice', 'string'),
        ('list[].positionIM', 'string'),
        ('list[].positionIMByMp', 'string'),
        ('list[].positionMM', 'string'),
        ('list[].positionMMByMp', 'string'),
        ('list[].takeProfit', 'string'),
        ('list[].stopLoss', 'string'),
        ('list[].trailingStop', 'string'),
        ('list[].sessionAvgPrice', 'string'),
        ('list[].delta', 'string'),
        ('list[].gamma', 'string'),
        ('list[].vega', 'string'),
        ('list[].theta', 'string'),
        ('list[].unrealisedPnl', 'string'),
        ('list[].curRealisedPnl', 'string'),
        ('list[].cumRealisedPnl', 'string'),
        ('list[].adlRankIndicator', 'integer'),
        ('list[].createdTime', 'string'),
        ('list[].updatedTime', 'string'),
        ('list[].openTime', 'integer'),
        ('list[].seq', 'long'),
        ('list[].isReduceOnly', 'boolean'),
        ('list[].mmrSysUpdatedTime', 'string'),
        ('list[].leverageSysUpdatedTime', 'string'),
        ('list[].tpslMode', 'string'),
        ('list[].bustPrice', 'string'),
        ('list[].positionBalance', 'string'),
        ('list[].tradeMode', 'integer'),
    )),
    'wallet_balance': ('v5/account/wallet-balance', (
        ('list', 'array'),
        ('list[].accountType', 'string'),
        ('list[].accountIMRate', 'string'),
        ('list[].accountMMRate', 'string'),
        ('list[].totalEquity', 'string'),
        ('list[].totalWalletBalance', 'string'),
        ('list[].totalMarginBalance', 'string'),
        ('list[].totalAvailableBalance', 'string'),
        ('list[].totalPerpUPL', 'string'),
        ('list[].totalInitialMargin', 'string'),
        ('list[].totalMaintenanceMargin', 'string'),
        ('list[].accountIMRateByMp', 'string'),
        ('list[].accountMMRateByMp', 'string'),
        ('list[].totalInitialMarginByMp', 'string'),
        ('list[].totalMaintenanceMarginByMp', 'string'),
        ('list[].accountLTV', 'string'),
        ('list[].coin', 'array'),
        ('list[].coin[].coin', 'string'),
        ('list[].coin[].equity', 'string'),
        ('list[].coin[].usdValue', 'string'),
        ('list[].coin[].walletBalance', 'string'),
        ('list[].coin[].locked', 'string'),
        ('list[].coin[].spotHedgingQty', 'string'),
        ('list[].coin[].borrowAmount', 'string'),
        ('list[].coin[].accruedInterest', 'string'),
        ('list[].coin[].totalOrderIM', 'string'),
        ('list[].coin[].totalPositionIM', 'string'),
        ('list[].coin[].totalPositionMM', 'string'),
        ('list[].coin[].unrealisedPnl', 'string'),
        ('list[].coin[].cumRealisedPnl', 'string'),
        ('list[].coin[].bonus', 'string'),
        ('list[].coin[].marginCollateral', 'boolean'),
        ('list[].coin[].collateralSwitch', 'boolean'),
        ('list[].coin[].colRes', 'string'),
        ('list[].coin[].spotBorrow', 'string'),
        ('list[].coin[].free', 'string'),
        ('list[].coin[].availableToWithdraw', 'string'),
        ('list[].coin[].availableToBorrow', 'string'),
    )),
    'coin_info': ('v5/asset/coin-info', (
        ('rows', 'array'),
        ('rows[].name', 'string'),
        ('rows[].coin', 'string'),
        ('rows[].chains', 'array'),
        ('rows[].chains[].chain', 'string'),
        ('rows[].chains[].chainType', 'string'),
        ('rows[].chains[].confirmation', 'string'),
        ('rows[].chains[].withdrawFee', 'string'),
        ('rows[].chains[].depositMin', 'string'),
        ('rows[].chains[].withdrawMin', 'string'),
        ('rows[].chains[].minAccuracy', 'string'),
        ('rows[].chains[].chainDeposit', 'string'),
        ('rows[].chains[].chainWithdraw', 'string'),
        ('rows[].chains[].withdrawPercentageFee', 'string'),
        ('rows[].chains[].contractAddress', 'string'),
        ('rows[].chains[].safeConfirmNumber', 'string'),
        ('rows[].chains[].withdrawMax', 'string'),
        ('rows[].remainAmount', 'string'),
    )),
    'api_key_info': ('v5/user/apikey-info', (
        ('id', 'string'),
        ('note', 'string'),
        ('apiKey', 'string'),
        ('readOnly', 'integer'),
        ('secret', 'string'),
        ('permissions', 'Object'),
        ('permissions.ContractTrade', 'array'),
        ('permissions.Spot', 'array'),
        ('permissions.Wallet', 'array'),
        ('permissions.Options', 'array'),
        ('permissions.Derivatives', 'array'),
        ('permissions.Exchange', 'array'),
        ('permissions.Earn', 'array'),
        ('permissions.FiatP2P', 'array'),
        ('permissions.FiatBitPay', 'array'),
        ('permissions.FiatConvertBroker', 'array'),
        ('permissions.BitCard', 'array'),
        ('permissions.ByXPost', 'array'),
        ('permissions.Affiliate', 'array'),
        ('permissions.BlockTrade', 'array'),
        ('permissions.NFT', 'array'),
        ('permissions.CopyTrading', 'array'),
        ('ips', 'array'),
        ('type', 'integer'),
        ('deadlineDay', 'integer'),
        ('expiredAt', 'datetime'),
        ('createdAt', 'datetime'),
        ('uta', 'integer'),
        ('userID', 'integer'),
        ('inviterID', 'integer'),
        ('vipLevel', 'string'),
        ('mktMakerLevel', 'string'),
        ('affiliateID', 'integer'),
        ('rsaPublicKey', 'string'),
        ('isMaster', 'boolean'),
        ('parentUid', 'string'),
        ('kycLevel', 'string'),
        ('kycRegion', 'string'),
        ('unified', 'integer'),
    )),
    'account_info': ('v5/account/account-info', (
        ('unifiedMarginStatus', 'integer'),
        ('marginMode', 'string'),
        ('isMasterTrader', 'boolean'),
        ('spotHedgingStatus', 'string'),
        ('updatedTime', 'string'),
        ('dcpStatus', 'string'),
        ('timeWindow', 'integer'),
        ('smpGroup', 'integer'),
    )),
    'ws_order': ('v5/websocket/private/order', (
        ('id', 'string'),
        ('topic', 'string'),
        ('creationTime', 'number'),
        ('data', 'array'),
        ('data[].category', 'string'),
        ('data[].orderId', 'string'),
        ('data[].orderLinkId', 'string'),
        ('data[].parentOrderLinkId', 'string'),
        ('data[].isLeverage', 'string'),
        ('data[].blockTradeId', 'string'),
        ('data[].symbol', 'string'),
        ('data[].price', 'string'),
        ('data[].brokerOrderPrice', 'string'),
        ('data[].qty', 'string'),
        ('data[].side', 'string'),
        ('data[].positionIdx', 'integer'),
        ('data[].orderStatus', 'string'),
        ('data[].createType', 'string'),
        ('data[].cancelType', 'string'),
        ('data[].rejectReason', 'string'),
        ('data[].avgPrice', 'string'),
        ('data[].leavesQty', 'string'),
        ('data[].leavesValue', 'string'),
        ('data[].cumExecQty', 'string'),
        ('data[].cumExecValue', 'string'),
        ('data[].cumExecFee', 'string'),
        ('data[].closedPnl', 'string'),
        ('data[].feeCurrency', 'string'),
        ('data[].timeInForce', 'string'),
        ('data[].orderType', 'string'),
        ('data[].stopOrderType', 'string'),
        ('data[].ocoTriggerBy', 'string'),
        ('data[].orderIv', 'string'),
        ('data[].marketUnit', 'string'),
        ('data[].slippageToleranceType', 'string'),
        ('data[].slippageTolerance', 'string'),
        ('data[].triggerPrice', 'string'),
        ('data[].takeProfit', 'string'),
        ('data[].stopLoss', 'string'),
        ('data[].tpslMode', 'string'),
        ('data[].tpLimitPrice', 'string'),
        ('data[].slLimitPrice', 'string'),
        ('data[].tpTriggerBy', 'string'),
        ('data[].slTriggerBy', 'string'),
        ('data[].triggerDirection', 'integer'),
        ('data[].triggerBy', 'string'),
        ('data[].lastPriceOnCreated', 'string'),
        ('data[].reduceOnly', 'boolean'),
        ('data[].closeOnTrigger', 'boolean'),
        ('data[].placeType', 'string'),
        ('data[].smpType', 'string'),
        ('data[].smpGroup', 'integer'),
        ('data[].smpOrderId', 'string'),
        ('data[].createdTime', 'string'),
        ('data[].updatedTime', 'string'),
        ('data[].cumFeeDetail', 'json'),
        ('data[].rpiTakerAccess', 'boolean'),
        ('data[].rpiMatchedQty', 'string'),
    )),
    'ws_execution': ('v5/websocket/private/execution', (
        ('id', 'string'),
        ('topic', 'string'),
        ('creationTime', 'number'),
        ('data', 'array'),
        ('data[].category', 'string'),
        ('data[].symbol', 'string'),
        ('data[].isLeverage', 'string'),
        ('data[].orderId', 'string'),
        ('data[].orderLinkId', 'string'),
        ('data[].side', 'string'),
        ('data[].orderPrice', 'string'),
        ('data[].orderQty', 'string'),
        ('data[].leavesQty', 'string'),
        ('data[].createType', 'string'),
        ('data[].orderType', 'string'),
        ('data[].stopOrderType', 'string'),
        ('data[].execFee', 'string'),
        ('data[].execId', 'string'),
        ('data[].execPrice', 'string'),
        ('data[].execQty', 'string'),
        ('data[].execPnl', 'string'),
        ('data[].execType', 'string'),
        ('data[].execValue', 'string'),
        ('data[].execTime', 'string'),
        ('data[].isMaker', 'boolean'),
        ('data[].feeRate', 'string'),
        ('data[].tradeIv', 'string'),
        ('data[].markIv', 'string'),
        ('data[].markPrice', 'string'),
        ('data[].indexPrice', 'string'),
        ('data[].underlyingPrice', 'string'),
        ('data[].blockTradeId', 'string'),
        ('data[].closedSize', 'string'),
        ('data[].extraFees', 'List'),
        ('data[].seq', 'long'),
        ('data[].feeCurrency', 'string'),
    )),
    'ws_position': ('v5/websocket/private/position', (
        ('id', 'string'),
        ('topic', 'string'),
        ('creationTime', 'number'),
        ('data', 'array'),
        ('data[].category', 'string'),
        ('data[].symbol', 'string'),
        ('data[].side', 'string'),
        ('data[].size', 'string'),
        ('data[].positionIdx', 'integer'),
        ('data[].positionValue', 'string'),
        ('data[].riskId', 'integer'),
        ('data[].riskLimitValue', 'string'),
        ('data[].entryPrice', 'string'),
        ('data[].markPrice', 'string'),
        ('data[].leverage', 'string'),
        ('data[].breakEvenPrice', 'string'),
        ('data[].autoAddMargin', 'integer'),
        ('data[].positionIM', 'string'),
        ('data[].positionMM', 'string'),
        ('data[].liqPrice', 'string'),
        ('data[].takeProfit', 'string'),
        ('data[].stopLoss', 'string'),
        ('data[].trailingStop', 'string'),
        ('data[].unrealisedPnl', 'string'),
        ('data[].curRealisedPnl', 'string'),
        ('data[].sessionAvgPrice', 'string'),
        ('data[].delta', 'string'),
        ('data[].gamma', 'string'),
        ('data[].vega', 'string'),
        ('data[].theta', 'string'),
        ('data[].cumRealisedPnl', 'string'),
        ('data[].positionStatus', 'string'),
        ('data[].adlRankIndicator', 'integer'),
        ('data[].isReduceOnly', 'boolean'),
        ('data[].createdTime', 'string'),
        ('data[].updatedTime', 'string'),
        ('data[].openTime', 'integer'),
        ('data[].seq', 'long'),
        ('data[].mmrSysUpdatedTime', 'string'),
        ('data[].leverageSysUpdatedTime', 'string'),
        ('data[].positionIMByMp', 'string'),
        ('data[].positionMMByMp', 'string'),
        ('data[].tpslMode', 'string'),
        ('data[].bustPrice', 'string'),
        ('data[].positionBalance', 'string'),
        ('data[].tradeMode', 'integer'),
    )),
    'ws_wallet': ('v5/websocket/private/wallet', (
        ('id', 'string'),
        ('topic', 'string'),
        ('creationTime', 'number'),
        ('data', 'array'),
        ('data[].accountType', 'string'),
        ('data[].accountIMRate', 'string'),
        ('data[].accountMMRate', 'string'),
        ('data[].totalEquity', 'string'),
        ('data[].totalWalletBalance', 'string'),
        ('data[].totalMarginBalance', 'string'),
        ('data[].totalAvailableBalance', 'string'),
        ('data[].totalPerpUPL', 'string'),
        ('data[].totalInitialMargin', 'string'),
        ('data[].totalMaintenanceMargin', 'string'),
        ('data[].accountIMRateByMp', 'string'),
        ('data[].accountMMRateByMp', 'string'),
        ('data[].totalInitialMarginByMp', 'string'),
        ('data[].totalMaintenanceMarginByMp', 'string'),
        ('data[].accountLTV', 'string'),
        ('data[].coin', 'array'),
        ('data[].coin[].coin', 'string'),
        ('data[].coin[].equity', 'string'),
        ('data[].coin[].usdValue', 'string'),
        ('data[].coin[].walletBalance', 'string'),
        ('data[].coin[].locked', 'string'),
        ('data[].coin[].spotHedgingQty', 'string'),
        ('data[].coin[].borrowAmount', 'string'),
        ('data[].coin[].accruedInterest', 'string'),
        ('data[].coin[].totalOrderIM', 'string'),
        ('data[].coin[].totalPositionIM', 'string'),
        ('data[].coin[].totalPositionMM', 'string'),
        ('data[].coin[].unrealisedPnl', 'string'),
        ('data[].coin[].cumRealisedPnl', 'string'),
        ('data[].coin[].bonus', 'string'),
        ('data[].coin[].collateralSwitch', 'boolean'),
        ('data[].coin[].marginCollateral', 'boolean'),
        ('data[].coin[].colRes', 'string'),
        ('data[].coin[].spotBorrow', 'string'),
        ('data[].coin[].free', 'string'),
        ('data[].coin[].availableToBorrow', 'string'),
        ('data[].coin[].availableToWithdraw', 'string'),
    )),
    'order_create': ('v5/order/create-order', (
        ('orderId', 'string'),
        ('orderLinkId', 'string'),
    )),
    'order_batch_create': ('v5/order/batch-place', (
        ('result', 'Object'),
        ('result.list', 'array'),
        ('result.list[].category', 'string'),
        ('result.list[].symbol', 'string'),
        ('result.list[].orderId', 'string'),
        ('result.list[].orderLinkId', 'string'),
        ('result.list[].createAt', 'string'),
        ('retExtInfo', 'Object'),
        ('retExtInfo.list', 'array'),
        ('retExtInfo.list[].code', 'number'),
        ('retExtInfo.list[].msg', 'string'),
    )),
    'instruments_linear': ('v5/market/instrument', (
        ('category', 'string'),
        ('nextPageCursor', 'string'),
        ('list', 'array'),
        ('list[].symbol', 'string'),
        ('list[].symbolId', 'integer'),
        ('list[].contractType', 'string'),
        ('list[].status', 'string'),
        ('list[].baseCoin', 'string'),
        ('list[].quoteCoin', 'string'),
        ('list[].launchTime', 'string'),
        ('list[].deliveryTime', 'string'),
        ('list[].deliveryFeeRate', 'string'),
        ('list[].priceScale', 'string'),
        ('list[].leverageFilter', 'Object'),
        ('list[].leverageFilter.minLeverage', 'string'),
        ('list[].leverageFilter.maxLeverage', 'string'),
        ('list[].leverageFilter.leverageStep', 'string'),
        ('list[].priceFilter', 'Object'),
        ('list[].priceFilter.minPrice', 'string'),
        ('list[].priceFilter.maxPrice', 'string'),
        ('list[].priceFilter.tickSize', 'string'),
        ('list[].lotSizeFilter', 'Object'),
        ('list[].lotSizeFilter.minNotionalValue', 'string'),
        ('list[].lotSizeFilter.maxOrderQty', 'string'),
        ('list[].lotSizeFilter.maxMktOrderQty', 'string'),
        ('list[].lotSizeFilter.minOrderQty', 'string'),
        ('list[].lotSizeFilter.qtyStep', 'string'),
        ('list[].lotSizeFilter.postOnlyMaxOrderQty', 'string'),
        ('list[].unifiedMarginTrade', 'boolean'),
        ('list[].fundingInterval', 'integer'),
        ('list[].settleCoin', 'string'),
        ('list[].copyTrading', 'string'),
        ('list[].upperFundingRate', 'string'),
        ('list[].lowerFundingRate', 'string'),
        ('list[].displayName', 'string'),
        ('list[].forbidUplWithdrawal', 'boolean'),
        ('list[].riskParameters', 'object'),
        ('list[].riskParameters.priceLimitRatioX', 'string'),
        ('list[].riskParameters.priceLimitRatioY', 'string'),
        ('list[].isPreListing', 'boolean'),
        ('list[].preListingInfo', 'object'),
        ('list[].preListingInfo.curAuctionPhase', 'string'),
        ('list[].preListingInfo.phases', 'array<object>'),
        ('list[].preListingInfo.phases[].phase', 'string'),
        ('list[].preListingInfo.phases[].startTime', 'string'),
        ('list[].preListingInfo.phases[].endTime', 'string'),
        ('list[].preListingInfo.auctionFeeInfo', 'object'),
        ('list[].preListingInfo.auctionFeeInfo.auctionFeeRate', 'string'),
        ('list[].preListingInfo.auctionFeeInfo.takerFeeRate', 'string'),
        ('list[].preListingInfo.auctionFeeInfo.makerFeeRate', 'string'),
        ('list[].preListingInfo.skipCallAuction', 'boolean'),
    )),
    'instruments_option': ('v5/market/instrument', (
        ('category', 'string'),
        ('nextPageCursor', 'string'),
        ('list', 'array'),
        ('list[].symbol', 'string'),
        ('list[].symbolId', 'integer'),
        ('list[].optionsType', 'string'),
        ('list[].status', 'string'),
        ('list[].baseCoin', 'string'),
        ('list[].quoteCoin', 'string'),
        ('list[].settleCoin', 'string'),
        ('list[].launchTime', 'string'),
        ('list[].deliveryTime', 'string'),
        ('list[].deliveryFeeRate', 'string'),
        ('list[].priceFilter', 'Object'),
        ('list[].priceFilter.minPrice', 'string'),
        ('list[].priceFilter.maxPrice', 'string'),
        ('list[].priceFilter.tickSize', 'string'),
        ('list[].lotSizeFilter', 'Object'),
        ('list[].lotSizeFilter.maxOrderQty', 'string'),
        ('list[].lotSizeFilter.minOrderQty', 'string'),
        ('list[].lotSizeFilter.qtyStep', 'string'),
        ('list[].displayName', 'string'),
    )),
    'instruments_spot': ('v5/market/instrument', (
        ('category', 'string'),
        ('list', 'array'),
        ('list[].symbolId', 'integer'),
        ('list[].symbol', 'string'),
        ('list[].baseCoin', 'string'),
        ('list[].quoteCoin', 'string'),
        ('list[].innovation', 'string'),
        ('list[].symbolType', 'string'),
        ('list[].xstockMultiplier', 'string'),
        ('list[].status', 'string'),
        ('list[].marginTrading', 'string'),
        ('list[].stTag', 'string'),
        ('list[].lotSizeFilter', 'Object'),
        ('list[].lotSizeFilter.basePrecision', 'string'),
        ('list[].lotSizeFilter.quotePrecision', 'string'),
        ('list[].lotSizeFilter.minOrderQty', 'string'),
        ('list[].lotSizeFilter.maxOrderQty', 'string'),
        ('list[].lotSizeFilter.minOrderAmt', 'string'),
        ('list[].lotSizeFilter.maxOrderAmt', 'string'),
        ('list[].lotSizeFilter.maxLimitOrderQty', 'string'),
        ('list[].lotSizeFilter.maxMarketOrderQty', 'string'),
        ('list[].lotSizeFilter.postOnlyMaxLimitOrderSize', 'string'),
        ('list[].priceFilter', 'Object'),
        ('list[].priceFilter.tickSize', 'string'),
        ('list[].riskParameters', 'Object'),
        ('list[].riskParameters.priceLimitRatioX', 'string'),
        ('list[].riskParameters.priceLimitRatioY', 'string'),
    )),
}

ABSENT: Final[Mapping[str, Mapping[str, frozenset[str]]]] = {
    # "createType ... Spot does not have this key" (REST); "Spot, Option do not have
    # this key" (WebSocket)
    "order_realtime": {"list[].createType": frozenset({"spot"})},
    "order_history": {"list[].createType": frozenset({"spot"})},
    "execution_list": {"list[].createType": frozenset({"spot"})},
    "ws_order": {"data[].createType": frozenset({"spot", "option"})},
    "ws_execution": {"data[].createType": frozenset({"spot", "option"})},
}
"""Documented keys the page says a category's records do not carry."""

NULLABLE: Final = frozenset({"list[].preListingInfo"})
"""instruments-info: "If isPreListing=false, preListingInfo=null". The sim lists no
pre-market contract, so the fields inside are never carried (the tally skips them)."""

_E: Final = {
    # docs/v5/enum, plus what the response examples of the record pages show
    "category": {"spot", "linear", "inverse", "option"},
    "orderStatus": {"New", "PartiallyFilled", "Untriggered", "Rejected",
                    "PartiallyFilledCanceled", "Filled", "Cancelled", "Triggered",
                    "Deactivated"},
    "timeInForce": {"GTC", "IOC", "FOK", "PostOnly", "RPI"},
    "createType": {"CreateByUser", "CreateByStopOrder", "CreateByClosing",
                   "CreateByTakeProfit", "CreateByStopLoss", "CreateByTrailingStop",
                   "CreateByLiq", "CreateByAdl_PassThrough", "CreateBySettle"},
    "execType": {"Trade", "AdlTrade", "Funding", "BustTrade", "Delivery", "Settle",
                 "BlockTrade", "MovePosition", "FutureSpread", "UNKNOWN",
                 "CorporateAction"},
    "orderType": {"Market", "Limit", "UNKNOWN"},
    "stopOrderType": {"TakeProfit", "StopLoss", "TrailingStop", "Stop",
                      "PartialTakeProfit", "PartialStopLoss", "tpslOrder", "OcoOrder",
                      "MmRateClose", "BidirectionalTpslOrder", "UNKNOWN", ""},
    "positionIdx": {0, 1, 2},
    "positionStatus": {"Normal", "Liq", "Adl"},
    "cancelType": {"CancelByUser", "CancelByReduceOnly", "CancelByPrepareLiq",
                   "CancelAllBeforeLiq", "CancelByPrepareAdl", "CancelAllBeforeAdl",
                   "CancelByAdmin", "CancelBySettle", "CancelByTpSlTsClear", "CancelBySmp",
                   "CancelByDCP", "CancelByRebalance", "CancelByOCOTpCanceledBySlTriggered",
                   "CancelByOCOSlCanceledByTpTriggered", "UNKNOWN"},
    "triggerBy": {"LastPrice", "IndexPrice", "MarkPrice", "UNKNOWN", ""},
    "smpType": {"None", "CancelMaker", "CancelTaker", "CancelBoth"},
    "accountType": {"UNIFIED"},
    "contractType": {"InversePerpetual", "LinearPerpetual", "LinearFutures",
                     "InverseFutures"},
    "status": {"PreLaunch", "Trading", "Delivering", "Closed"},
    "unifiedMarginStatus": {1, 3, 4, 5, 6},
    "adlRankIndicator": {0, 1, 2, 3, 4, 5},
    "side": {"Buy", "Sell"},
    "positionSide": {"Buy", "Sell", ""},
    "marketUnit": {"baseCoin", "quoteCoin", ""},
    "rejectReason": {"EC_NoError", "EC_Others", "EC_UnknownMessageType",
                     "EC_MissingClOrdID", "EC_MissingOrigClOrdID",
                     "EC_ClOrdIDOrigClOrdIDAreTheSame", "EC_DuplicatedClOrdID",
                     "EC_OrigClOrdIDDoesNotExist", "EC_TooLateToCancel",
                     "EC_UnknownOrderType", "EC_UnknownSide", "EC_UnknownTimeInForce",
                     "EC_WronglyRouted", "EC_MarketOrderPriceIsNotZero",
                     "EC_LimitOrderInvalidPrice", "EC_NoEnoughQtyToFill",
                     "EC_NoImmediateQtyToFill", "EC_PerCancelRequest",
                     "EC_MarketOrderCannotBePostOnly", "EC_PostOnlyWillTakeLiquidity",
                     "EC_CancelReplaceOrder", "EC_InvalidSymbolStatus",
                     "EC_CancelForNoFullFill", "EC_BySelfMatch", "EC_InCallAuctionStatus",
                     "EC_QtyCannotBeZero", "EC_MarketOrderNoSupportTIF",
                     "EC_ReachMaxTradeNum", "EC_InvalidPriceScale", "EC_BitIndexInvalid",
                     "EC_StopBySelfMatch", "EC_InvalidSmpType", "EC_CancelByMMP",
                     "EC_InvalidUserType", "EC_InvalidMirrorOid", "EC_InvalidMirrorUid",
                     "EC_EcInvalidQty", "EC_InvalidAmount", "EC_LoadOrderCancel",
                     "EC_MarketQuoteNoSuppSell", "EC_LoadOrderCanMatch",
                     "EC_SecurityStatusFail", "EC_ReachRiskPriceLimit",
                     "EC_OrderNotExist", "EC_CancelByOrderValueZero",
                     "EC_CancelByMatchValueZero", "EC_ReachMarketPriceLimit"},
}
ENUM_FIELDS: Final[Mapping[str, str]] = {
    "category": "category", "orderStatus": "orderStatus", "timeInForce": "timeInForce",
    "createType": "createType", "execType": "execType", "orderType": "orderType",
    "stopOrderType": "stopOrderType", "positionIdx": "positionIdx",
    "positionStatus": "positionStatus", "cancelType": "cancelType",
    "rejectReason": "rejectReason", "triggerBy": "triggerBy", "tpTriggerBy": "triggerBy",
    "slTriggerBy": "triggerBy", "smpType": "smpType", "accountType": "accountType",
    "contractType": "contractType", "status": "status",
    "unifiedMarginStatus": "unifiedMarginStatus", "adlRankIndicator": "adlRankIndicator",
    "marketUnit": "marketUnit",
}
"""Field name -> enum; `side` is an order side except on positions (may be "")."""
ENUMS: Final[Mapping[str, frozenset[Any]]] = {k: frozenset(v) for k, v in _E.items()}

# fields whose documented "string" is a decimal number: a number here must be plain text
# ("0.1", "-2", never 1e-05, never a JSON number); "" is allowed where nothing applies
_NUMERIC_NAME: Final = re.compile(
    r"(?i)(price|qty|value|fee|pnl|size|im|mm|balance|equity|amount|rate|leverage|"
    r"margin|interest|bonus|borrow|ratio|limit|min|max|step|precision|scale|ltv|"
    r"upl|iv|delta|gamma|vega|theta|locked|withdraw|confirm|accuracy|hedging|"
    r"multiplier|stop|profit)")
_NON_NUMERIC: Final = frozenset({
    "orderLinkId", "orderId", "symbol", "execId", "blockTradeId", "smpOrderId",
    "feeCurrency", "tpslMode", "placeType", "stopOrderType", "triggerBy", "tpTriggerBy",
    "slTriggerBy", "marketUnit", "slippageToleranceType", "positionStatus", "coin",
    "settleCoin", "baseCoin", "quoteCoin", "marginTrading", "copyTrading", "contractType",
    "chain", "chainType", "contractAddress", "withdrawFee", "ocoTriggerBy",
    "parentOrderLinkId", "isLeverage", "displayName", "stTag", "innovation",
    "symbolType", "phase", "curAuctionPhase", "extraFees", "kycLevel", "kycRegion",
    "vipLevel", "mktMakerLevel", "rsaPublicKey", "note", "apiKey", "secret", "id",
    "accountType", "marginMode", "spotHedgingStatus", "dcpStatus", "name",
    "cancelType", "rejectReason", "orderStatus", "colRes", "riskLimitValue",
    "timeInForce", "orderType", "execType", "createType", "smpType", "side"})
_DECIMAL: Final = re.compile(r"^-?\d+(\.\d+)?$")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def type_problem(doc_type: str, value: object) -> str | None:
    """Why `value` is not of the documented type, or None."""
    t = doc_type.lower()
    if t in ("string", "datetime"):
        return None if isinstance(value, str) else f"{type(value).__name__}, not a string"
    if t in ("integer", "long", "number"):
        return None if _is_int(value) else f"{type(value).__name__}, not an integer"
    if t == "boolean":
        return None if isinstance(value, bool) else f"{type(value).__name__}, not a boolean"
    if t.startswith("array") or t == "list":
        return None if isinstance(value, list) else f"{type(value).__name__}, not an array"
    if t in ("object", "json"):
        return None if isinstance(value, dict) else f"{type(value).__name__}, not an object"
    return f"undocumented type {doc_type!r}"


@dataclass
class DocChecker:
    """Holds records against the tables; collects deviations, the field checks made and
    the table fields seen."""

    deviations: list[str] = field(default_factory=list)
    checks: int = 0
    seen: dict[str, set[str]] = field(default_factory=dict)

    def check(self, table: str, record: Mapping[str, Any], *,
              category: str | None = None, where: str = "") -> list[str]:
        """Hold one answer (`result`, or a WebSocket message) against `table`; returns
        (and keeps) the deviations found."""
        url, rows = TABLES[table]
        fields = dict(rows)
        found: list[str] = []
        label = f"{table}{'/' + category if category else ''}{' ' + where if where else ''}"

        def walk(obj: Mapping[str, Any], prefix: str, cat: str | None) -> None:
            cat = obj.get("category", cat) if isinstance(obj.get("category"), str) else cat
            documented = {p[len(prefix):] for p in fields
                          if p.startswith(prefix) and "." not in p[len(prefix):]}
            for key in obj:
                if key not in documented:
                    found.append(f"{label}: {prefix}{key} is not documented on {DOCS}{url}")
            for name in sorted(documented):
                path = prefix + name
                doc_type = fields[path]
                if name not in obj:
                    if cat is not None and cat in ABSENT.get(table, {}).get(path, ()):
                        continue
                    found.append(f"{label}: {path} ({doc_type}) is missing")
                    continue
                value = obj[name]
                self.checks += 1
                self.seen.setdefault(table, set()).add(path)
                if value is None and path in NULLABLE:
                    continue
                problem = type_problem(doc_type, value)
                if problem is not None:
                    found.append(f"{label}: {path}={value!r}: {problem} ({doc_type})")
                    continue
                self._value(label, path, name, value, table, found)
                if doc_type == "json" and isinstance(value, dict):
                    # a free-form map (cumFeeDetail: {coin: fee}): its values are amounts
                    for key, amount in value.items():
                        if not isinstance(amount, str) or not _DECIMAL.match(amount):
                            found.append(f"{label}: {path}.{key}={amount!r} is not a "
                                         "plain decimal string")
                elif isinstance(value, dict):
                    walk(value, path + ".", cat)
                elif isinstance(value, list):
                    for item in value:
                        if isinstance(item, dict):
                            walk(item, path + "[].", cat)
                        elif f"{path}[]." in "".join(fields):
                            found.append(f"{label}: {path}[] holds {item!r}, not an object")

        walk(record, "", category)
        self.deviations.extend(found)
        return found

    @staticmethod
    def _value(label: str, path: str, name: str, value: object, table: str,
               found: list[str]) -> None:
        enum_name = ENUM_FIELDS.get(name)
        if name == "side":
            enum_name = "positionSide" if table in ("position_list", "ws_position") else "side"
        if enum_name is not None and value not in ENUMS[enum_name]:
            found.append(f"{label}: {path}={value!r} is not in the documented enum "
                         f"{enum_name}")
        if isinstance(value, str) and value and name not in _NON_NUMERIC \
                and _NUMERIC_NAME.search(name) and not _DECIMAL.match(value):
            found.append(f"{label}: {path}={value!r} is not a plain decimal string")

    def unchecked(self, tables: Iterable[str]) -> dict[str, list[str]]:
        """Per table, the documented fields no record has carried yet."""
        out: dict[str, list[str]] = {}
        for table in tables:
            missing = [p for p, _ in TABLES[table][1] if p not in self.seen.get(table, set())
                       and not any(p.startswith(n + ".") for n in NULLABLE)]
            if missing:
                out[table] = missing
        return out
