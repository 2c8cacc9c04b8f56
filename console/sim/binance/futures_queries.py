"""USD-M queries: orders, trades, positions, account, balances and the account's modes.

Listing rules are Binance's: ``allOrders`` and ``userTrades`` cover at most 7 days
(-1127 beyond; none given: the last 7 days), ``fromId`` does not combine with times
(-1128), ``limit`` defaults to 500 and stops at 1000, ``orderId``/``fromId`` list from
that id up; a timed ``userTrades`` answers the oldest trades from startTime, else the
most recent (`scope.timed_page`); orders Binance has forgotten (canceled without fills
after 3 days, any after 90) are not found. Conditional orders are listed as regular
orders only once triggered.

Position mode: ``dualSidePosition`` is true when the account trades its USD-M symbols in
hedge mode; switching is refused while an order is open (-4067) or a position is held
(-4068), and -4059 when nothing would change. Multi-assets mode is a flag the sim keeps
per account (it changes no margin arithmetic: noted, not simulated).
"""

from __future__ import annotations

from typing import Final

from console.domain.enums import Category
from console.domain.model import Order
from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError
from console.sim.binance.envelope import Reply
from console.sim.binance.scope import DAY_MS, Scope, timed_page, visible, window
from console.sim.errors import SimRejectedError
from console.sim.protocol.pipeline import Request
from console.sim.state import PositionMode

LINEAR: Final = Category.LINEAR
SEVEN_DAYS_MS: Final = 7 * DAY_MS
DEFAULT_LIMIT: Final = 500
MAX_LIMIT: Final = 1000
SUCCESS: Final = {"code": 200, "msg": "success"}


class FuturesQueries:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.multi_assets: dict[str, bool] = {}

    def _regular(self, order: Order) -> bool:
        return order.trigger_price is None or self.scope.views.triggered(order)

    # -- orders ----------------------------------------------------------------------------

    def order(self, req: Request) -> Reply:
        scope = self.scope
        symbol = scope.symbol(LINEAR, req.params)
        order = scope.find(req.account, LINEAR, symbol, req.params, now_ms=req.now_ms)
        if order is None:
            raise BinanceError(codes.NO_SUCH_ORDER)
        return Reply(scope.views.futures_order(order, "view"))

    def open_order(self, req: Request) -> Reply:
        scope = self.scope
        symbol = scope.symbol(LINEAR, req.params)
        order = scope.find(req.account, LINEAR, symbol, req.params)
        if order is None or not order.is_active:
            raise BinanceError(codes.NO_SUCH_ORDER)
        return Reply(scope.views.futures_order(order, "view"))

    def open_orders(self, req: Request) -> Reply:
        scope = self.scope
        symbol = scope.symbol(LINEAR, req.params, required=False)
        orders = scope.exchange.open_orders(req.account, LINEAR, symbol or None)
        return Reply([scope.views.futures_order(o, "view") for o in orders
                      if self._regular(o)])

    def all_orders(self, req: Request) -> Reply:
        scope, prm = self.scope, req.params
        symbol = scope.symbol(LINEAR, prm)
        start, end = window(prm, req.now_ms, span_ms=SEVEN_DAYS_MS, default_recent=True)
        from_id = p.integer(prm, "orderId")
        limit = p.limit(prm, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        ids = scope.ids
        rows = [(ids.order_id(o.venue_order_id), o)
                for o in scope.exchange.order_history(req.account, LINEAR, symbol)
                if self._regular(o) and visible(o, req.now_ms)]
        rows.sort(key=lambda row: row[0])
        if from_id is not None and p.integer(prm, "startTime") is None \
                and p.integer(prm, "endTime") is None:
            chosen = [o for oid, o in rows if oid >= from_id][:limit]
        else:
            inside = [o for oid, o in rows if start <= o.created_at <= end
                      and (from_id is None or oid >= from_id)]
            chosen = inside[-limit:]
        return Reply([scope.views.futures_order(o, "view") for o in chosen])

    def user_trades(self, req: Request) -> Reply:
        scope, prm = self.scope, req.params
        symbol = scope.symbol(LINEAR, prm)
        from_id = p.integer(prm, "fromId")
        timed = p.integer(prm, "startTime") is not None or p.integer(prm, "endTime") is not None
        if from_id is not None and timed:
            raise BinanceError(codes.BAD_COMBO)
        order_id = p.integer(prm, "orderId")
        limit = p.limit(prm, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        start, end = window(prm, req.now_ms, span_ms=SEVEN_DAYS_MS,
                            default_recent=from_id is None)
        ids = scope.ids
        fills = scope.exchange.fills(req.account, category=LINEAR, symbol=symbol)
        if order_id is not None:
            sim_id = ids.sim_order(order_id)
            fills = [f for f in fills if f.venue_order_id == sim_id]
        rows = [(ids.trade_id(f.exec_id), f) for f in fills]
        if from_id is not None:
            chosen = [f for tid, f in sorted(rows, key=lambda r: r[0]) if tid >= from_id]
            chosen = chosen[:limit]
        else:
            chosen = timed_page([f for _tid, f in rows if start <= f.exec_time <= end],
                                prm, limit)
        return Reply([scope.views.futures_trade(f) for f in chosen])

    # -- positions, account, balances ------------------------------------------------------

    def position_risk_v3(self, req: Request) -> Reply:
        symbol = self.scope.symbol(LINEAR, req.params, required=False)
        return Reply(self.scope.views.positions_v3(req.account, symbol))

    def position_risk_v2(self, req: Request) -> Reply:
        symbol = self.scope.symbol(LINEAR, req.params, required=False)
        return Reply(self.scope.views.positions_v2(req.account, symbol))

    def account(self, req: Request) -> Reply:
        return Reply(self.scope.views.account_v3(req.account))

    def account_v2(self, req: Request) -> Reply:
        """V2 (python-binance's default): V3's figures with V2's account flags; V2's
        longer asset and position records are not reproduced (UNVERIFIED beyond that)."""
        body = {"feeTier": 0, "feeBurn": False, "canTrade": True, "canDeposit": True,
                "canWithdraw": True, "updateTime": 0,
                "multiAssetsMargin": self.multi_assets.get(req.account, False),
                "tradeGroupId": -1}
        body.update(self.scope.views.account_v3(req.account))
        return Reply(body)

    def balance(self, req: Request) -> Reply:
        return Reply(self.scope.views.balances(req.account))

    # -- modes -----------------------------------------------------------------------------

    def _hedge(self, account: str) -> bool:
        ex = self.scope.exchange
        return any(ex.position_mode(account, LINEAR, i.symbol) is PositionMode.HEDGE
                   for i in ex.instruments(LINEAR))

    def dual(self, req: Request) -> Reply:
        return Reply({"dualSidePosition": self._hedge(req.account)})

    def set_dual(self, req: Request) -> Reply:
        wanted = p.text(req.params, "dualSidePosition", required=True)
        if wanted not in ("true", "false"):
            raise codes.invalid("dualSidePosition")
        hedge = wanted == "true"
        ex = self.scope.exchange
        if hedge == self._hedge(req.account):
            raise BinanceError(codes.NO_NEED_POSITION_SIDE)
        if ex.open_orders(req.account, LINEAR):
            raise BinanceError(codes.POSITION_SIDE_OPEN_ORDERS)
        if ex.positions(req.account, category=LINEAR):
            raise BinanceError(codes.POSITION_SIDE_OPEN_POSITION)
        try:
            ex.set_position_mode(req.account,
                                 PositionMode.HEDGE if hedge else PositionMode.ONE_WAY)
        except SimRejectedError:
            raise BinanceError(codes.POSITION_SIDE_OPEN_ORDERS) from None
        return Reply(dict(SUCCESS))

    def multi_assets_margin(self, req: Request) -> Reply:
        return Reply({"multiAssetsMargin": self.multi_assets.get(req.account, False)})

    def set_multi_assets_margin(self, req: Request) -> Reply:
        wanted = p.text(req.params, "multiAssetsMargin", required=True)
        if wanted not in ("true", "false"):
            raise codes.invalid("multiAssetsMargin")
        self.multi_assets[req.account] = wanted == "true"
        return Reply(dict(SUCCESS))
