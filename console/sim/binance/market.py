"""The public endpoints of both markets: ping, server time and exchange information.

``exchangeInfo`` lists the sim's instruments of the market with the filters the sim
enforces (PRICE_FILTER, LOT_SIZE, MARKET_LOT_SIZE and MIN_NOTIONAL on USD-M, NOTIONAL on
spot) and the rate limits in force. Fields the sim has no value for carry Binance's
typical ones (a perpetual's ``deliveryDate`` 4133404800000, ``contractType`` PERPETUAL,
margin percents, ``triggerProtect``...): documented shape, not simulated behaviour.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Final

from console.domain.enums import Category
from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError
from console.sim.binance.envelope import Reply
from console.sim.binance.limits import (
    API_ORDERS_1D,
    API_ORDERS_10S,
    API_WEIGHT,
    DAY_MS,
    FAPI_ORDERS_1M,
    FAPI_ORDERS_10S,
    FAPI_WEIGHT,
    MINUTE_MS,
    TEN_S_MS,
)
from console.sim.binance.scope import MIN_NOTIONAL, Scope
from console.sim.binance.shapes import num
from console.sim.instruments import Instrument
from console.sim.protocol.pipeline import Request
from console.sim.protocol.wire import JsonObj

PERPETUAL_DELIVERY: Final = 4133404800000
ONBOARD: Final = 1569398400000
MAX_PRICE: Final = Decimal(1_000_000)
FUTURES_ORDER_TYPES: Final = ("LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                              "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
SPOT_ORDER_TYPES: Final = ("LIMIT", "LIMIT_MAKER", "MARKET")


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _lot(kind: str, instr: Instrument) -> JsonObj:
    return {"filterType": kind, "minQty": num(instr.min_qty), "maxQty": num(instr.max_qty),
            "stepSize": num(instr.qty_step)}


def _price_filter(instr: Instrument) -> JsonObj:
    return {"filterType": "PRICE_FILTER", "minPrice": num(instr.tick_size),
            "maxPrice": num(MAX_PRICE), "tickSize": num(instr.tick_size)}


def _rate_limit(kind: str, ms: int, limit: int) -> JsonObj:
    interval, count = {TEN_S_MS: ("SECOND", 10), MINUTE_MS: ("MINUTE", 1),
                       DAY_MS: ("DAY", 1)}[ms]
    return {"rateLimitType": kind, "interval": interval, "intervalNum": count, "limit": limit}


class Market:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def ping(self, req: Request) -> Reply:
        del req
        return Reply({})

    def time(self, req: Request) -> Reply:
        return Reply({"serverTime": req.now_ms})

    # -- USD-M -----------------------------------------------------------------------------

    def futures_info(self, req: Request) -> Reply:
        limiters = self.scope.limiters
        instruments = self.scope.exchange.instruments(Category.LINEAR)
        coins = sorted({i.settle_coin for i in instruments})
        return Reply({
            "timezone": "UTC", "serverTime": req.now_ms, "exchangeFilters": [],
            "rateLimits": [
                _rate_limit("REQUEST_WEIGHT", MINUTE_MS, limiters.weight.limit(FAPI_WEIGHT)),
                _rate_limit("ORDERS", MINUTE_MS,
                            limiters.orders[MINUTE_MS].limit(FAPI_ORDERS_1M)),
                _rate_limit("ORDERS", TEN_S_MS,
                            limiters.orders[TEN_S_MS].limit(FAPI_ORDERS_10S))],
            "assets": [{"asset": c, "marginAvailable": True, "autoAssetExchange": "-10000"}
                       for c in coins],
            "symbols": [self._futures_symbol(i) for i in instruments],
        })

    @staticmethod
    def _futures_symbol(instr: Instrument) -> JsonObj:
        return {
            "symbol": instr.symbol, "pair": instr.symbol, "contractType": "PERPETUAL",
            "deliveryDate": PERPETUAL_DELIVERY, "onboardDate": ONBOARD, "status": "TRADING",
            "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
            "baseAsset": instr.base, "quoteAsset": instr.quote,
            "marginAsset": instr.settle_coin, "pricePrecision": _places(instr.tick_size),
            "quantityPrecision": _places(instr.qty_step), "baseAssetPrecision": 8,
            "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
            "settlePlan": 0, "triggerProtect": "0.0500", "liquidationFee": "0.012500",
            "marketTakeBound": "0.05",
            "filters": [_price_filter(instr), _lot("LOT_SIZE", instr),
                        _lot("MARKET_LOT_SIZE", instr),
                        {"filterType": "MIN_NOTIONAL", "notional": num(MIN_NOTIONAL)}],
            "orderTypes": list(FUTURES_ORDER_TYPES),
            "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        }

    # -- spot ------------------------------------------------------------------------------

    def spot_info(self, req: Request) -> Reply:
        prm = req.params
        p.only(prm, ("symbol", "symbols", "permissions", "showPermissionSets",
                     "symbolStatus"))
        wanted: list[str] | None = None
        if p.text(prm, "symbol"):
            wanted = [p.text(prm, "symbol")]
        elif p.text(prm, "symbols"):
            try:
                listed = json.loads(p.text(prm, "symbols"))
            except ValueError:
                raise codes.invalid("symbols") from None
            if not isinstance(listed, list) or not all(isinstance(s, str) for s in listed):
                raise codes.invalid("symbols")
            wanted = listed
        instruments = self.scope.exchange.instruments(Category.SPOT)
        by_symbol = {i.symbol: i for i in instruments}
        if wanted is not None:
            missing = [s for s in wanted if s not in by_symbol]
            if missing:
                raise BinanceError(codes.BAD_SYMBOL)
            instruments = [by_symbol[s] for s in wanted]
        limiters = self.scope.limiters
        return Reply({
            "timezone": "UTC", "serverTime": req.now_ms,
            "rateLimits": [
                _rate_limit("REQUEST_WEIGHT", MINUTE_MS, limiters.weight.limit(API_WEIGHT)),
                _rate_limit("ORDERS", TEN_S_MS,
                            limiters.orders[TEN_S_MS].limit(API_ORDERS_10S)),
                _rate_limit("ORDERS", DAY_MS, limiters.orders[DAY_MS].limit(API_ORDERS_1D))],
            "exchangeFilters": [],
            "symbols": [self._spot_symbol(i) for i in instruments],
        })

    @staticmethod
    def _spot_symbol(instr: Instrument) -> JsonObj:
        return {
            "symbol": instr.symbol, "status": "TRADING", "baseAsset": instr.base,
            "baseAssetPrecision": 8, "quoteAsset": instr.quote, "quotePrecision": 8,
            "quoteAssetPrecision": 8, "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8, "orderTypes": list(SPOT_ORDER_TYPES),
            "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False,
            "opoAllowed": False, "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False, "cancelReplaceAllowed": True, "amendAllowed": False,
            "pegInstructionsAllowed": False, "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [_price_filter(instr), _lot("LOT_SIZE", instr),
                        _lot("MARKET_LOT_SIZE", instr),
                        {"filterType": "NOTIONAL", "minNotional": num(MIN_NOTIONAL),
                         "applyMinToMarket": False, "maxNotional": "9000000",
                         "applyMaxToMarket": False, "avgPriceMins": 5}],
            "permissions": [], "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE",
            "allowedSelfTradePreventionModes": ["NONE"],
        }
