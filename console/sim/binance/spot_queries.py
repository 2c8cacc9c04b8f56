"""Spot queries: one order, open orders, all orders, trades, the account, order counts.

Listing rules are Binance's: ``allOrders`` and ``myTrades`` span at most 24 hours
(-1127), ``limit`` defaults to 500 and stops at 1000, ``orderId``/``fromId`` list from that
id up; otherwise ``allOrders`` answers the most recent items, and ``myTrades`` the oldest
from startTime when one is given, else the most recent (`scope.timed_page`); every answer
is chronological. ``myTrades`` accepts only the documented combinations (-1128
otherwise). Unknown parameters are -1104.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from console.domain.enums import Category
from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError
from console.sim.binance.envelope import Reply
from console.sim.binance.limits import API_ORDERS_1D, API_ORDERS_10S, DAY_MS, TEN_S_MS
from console.sim.binance.scope import Scope, timed_page, visible, window
from console.sim.protocol.pipeline import Request

SPOT: Final = Category.SPOT
HOURS_24: Final = 24 * 3_600_000
DEFAULT_LIMIT: Final = 500
MAX_LIMIT: Final = 1000
_BPS: Final = Decimal(10_000)


class SpotQueries:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def order(self, req: Request) -> Reply:
        p.only(req.params, ("symbol", "orderId", "origClientOrderId"))
        scope = self.scope
        symbol = scope.symbol(SPOT, req.params)
        order = scope.find(req.account, SPOT, symbol, req.params, now_ms=req.now_ms)
        if order is None:
            raise BinanceError(codes.NO_SUCH_ORDER)
        return Reply(scope.views.spot_order(order))

    def open_orders(self, req: Request) -> Reply:
        p.only(req.params, ("symbol",))
        scope = self.scope
        symbol = scope.symbol(SPOT, req.params, required=False)
        return Reply([scope.views.spot_order(o) for o in
                      scope.exchange.open_orders(req.account, SPOT, symbol or None)])

    def all_orders(self, req: Request) -> Reply:
        prm = req.params
        p.only(prm, ("symbol", "orderId", "startTime", "endTime", "limit"))
        scope = self.scope
        symbol = scope.symbol(SPOT, prm)
        start, end = window(prm, req.now_ms, span_ms=HOURS_24, default_recent=False)
        from_id = p.integer(prm, "orderId")
        limit = p.limit(prm, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        rows = sorted(((scope.ids.order_id(o.venue_order_id), o)
                       for o in scope.exchange.order_history(req.account, SPOT, symbol)
                       if visible(o, req.now_ms) and start <= o.created_at <= end),
                      key=lambda row: row[0])
        if from_id is not None:
            chosen = [o for oid, o in rows if oid >= from_id][:limit]
        else:
            chosen = [o for _oid, o in rows][-limit:]
        return Reply([scope.views.spot_order(o) for o in chosen])

    def my_trades(self, req: Request) -> Reply:
        prm = req.params
        p.only(prm, ("symbol", "orderId", "startTime", "endTime", "fromId", "limit"))
        scope = self.scope
        symbol = scope.symbol(SPOT, prm)
        order_id = p.integer(prm, "orderId")
        from_id = p.integer(prm, "fromId")
        timed = p.integer(prm, "startTime") is not None or p.integer(prm, "endTime") is not None
        if timed and (order_id is not None or from_id is not None):
            raise BinanceError(codes.BAD_COMBO)
        start, end = window(prm, req.now_ms, span_ms=HOURS_24, default_recent=False)
        limit = p.limit(prm, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        ids = scope.ids
        fills = scope.exchange.fills(req.account, category=SPOT, symbol=symbol)
        if order_id is not None:
            sim_id = ids.sim_order(order_id)
            fills = [f for f in fills if f.venue_order_id == sim_id]
        rows = sorted(((ids.trade_id(f.exec_id), f) for f in fills
                       if start <= f.exec_time <= end), key=lambda row: row[0])
        if from_id is not None:
            chosen = [f for tid, f in rows if tid >= from_id][:limit]
        else:
            chosen = timed_page([f for _tid, f in rows], prm, limit)
        return Reply([scope.views.spot_trade(f) for f in chosen])

    def account(self, req: Request) -> Reply:
        p.only(req.params, ("omitZeroBalances",))
        ex = self.scope.exchange
        maker, taker = ex.maker_fee, ex.taker_fee
        balances = ex.balances(req.account)
        return Reply({
            "makerCommission": int(maker * _BPS), "takerCommission": int(taker * _BPS),
            "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": format(maker, "f"), "taker": format(taker, "f"),
                                "buyer": "0", "seller": "0"},
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": max((b.updated_at for b in balances), default=0),
            "accountType": "SPOT",
            "balances": self.scope.views.spot_balances(
                req.account, omit_zero=p.boolean(req.params, "omitZeroBalances")),
            "permissions": ["SPOT"], "uid": _uid(req.account),
        })

    def order_count(self, req: Request) -> Reply:
        """GET /api/v3/rateLimit/order: the order counts of this account."""
        p.only(req.params, ())
        orders = self.scope.limiters.orders
        out = []
        for bucket, ms, interval, num in ((API_ORDERS_10S, TEN_S_MS, "SECOND", 10),
                                          (API_ORDERS_1D, DAY_MS, "DAY", 1)):
            limiter = orders[ms]
            out.append({"rateLimitType": "ORDERS", "interval": interval, "intervalNum": num,
                        "limit": limiter.limit(bucket),
                        "count": limiter.used(req.account, bucket, req.now_ms)})
        return Reply(out)


def _uid(account: str) -> int:
    """A stable numeric user id for the account."""
    return 100_000_000 + sum((i + 1) * ord(c) for i, c in enumerate(account)) % 900_000_000
