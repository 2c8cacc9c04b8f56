"""The USD-M Algo Service: conditional orders (``algoType=CONDITIONAL``).

An algo order is the sim's conditional order: STOP_MARKET / TAKE_PROFIT_MARKET become
market orders with a trigger price, STOP / TAKE_PROFIT limit orders with one; the type
and the side give the trigger direction (STOP buys fire on a rise and sells on a fall,
TAKE_PROFIT the other way), and a trigger already reached is -2021 "Order would
immediately trigger.". Its ``clientAlgoId`` is the sim order's client id, so the regular
order it becomes when it triggers carries clientOrderId = clientAlgoId (the sim's
choice, UNVERIFIED on Binance) and its own ``orderId`` (`Ids.actual_order_id`).

Statuses: NEW while it waits, CANCELED if cancelled before triggering, TRIGGERED while
the regular order works, FINISHED once that order ended, REJECTED when the trigger met
insufficient margin. TRAILING_STOP_MARKET and ``closePosition`` are not simulated (-1116 /
-1130). A lookup that finds nothing is -2013 (UNVERIFIED for the Algo Service).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from console.domain.enums import Category, OrderType, TimeInForce
from console.domain.model import Order
from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError
from console.sim.binance.envelope import Reply
from console.sim.binance.futures_orders import (
    ALL_CANCELLED,
    CLIENT_ID,
    POSITION_SIDES,
    position_side,
    side_of,
    sim_call,
)
from console.sim.binance.futures_queries import DEFAULT_LIMIT, MAX_LIMIT, SEVEN_DAYS_MS
from console.sim.binance.scope import Scope, futures_price, futures_qty, visible, window
from console.sim.binance.shapes import FUTURES_TIF, algo_direction
from console.sim.book import trigger_due
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.pipeline import Request

LINEAR: Final = Category.LINEAR
ALGO_TYPES: Final = frozenset({"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"})


class AlgoOrders:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    def _conditional(self, account: str, order: Order | None) -> Order | None:
        if order is None or order.category is not LINEAR or order.trigger_price is None:
            return None
        return order

    def _find(self, req: Request) -> Order | None:
        prm = req.params
        algo_id = p.integer(prm, "algoId")
        client_id = p.text(prm, "clientAlgoId")
        if algo_id is None and not client_id:
            raise BinanceError(codes.MANDATORY_PARAM, "Param 'algoId' or 'clientAlgoId' must "
                                                      "be sent, but both were empty/null!")
        ex = self.scope.exchange
        if algo_id is not None:
            sim_id = self.scope.ids.sim_algo(algo_id)
            order = ex.order_by_venue_id(req.account, sim_id) if sim_id else None
        else:
            order = ex.order_by_client_id(req.account, client_id)
        return self._conditional(req.account, order)

    def new(self, req: Request) -> Reply:
        scope, prm, account = self.scope, req.params, req.account
        if p.text(prm, "algoType", required=True) != "CONDITIONAL":
            raise codes.invalid("algoType")
        symbol = scope.symbol(LINEAR, prm)
        instr = scope.instrument(LINEAR, symbol)
        side = side_of(prm)
        kind = p.text(prm, "type", required=True)
        if kind not in ALGO_TYPES:
            raise BinanceError(codes.INVALID_ORDER_TYPE)
        if p.boolean(prm, "closePosition"):
            raise codes.invalid("closePosition")
        ps = position_side(scope, account, symbol, prm)
        qty = p.decimal(prm, "quantity", required=True)
        trigger = p.decimal(prm, "triggerPrice", required=True)
        assert qty is not None and trigger is not None
        futures_qty(instr, qty)
        futures_price(instr, trigger)
        limit_order = kind in ("STOP", "TAKE_PROFIT")
        price: Decimal | None = None
        tif = TimeInForce.IOC
        if limit_order:
            price = p.decimal(prm, "price", required=True)
            assert price is not None
            futures_price(instr, price)
            found = FUTURES_TIF.get(p.text(prm, "timeInForce") or "GTC")
            if found is None:
                raise BinanceError(codes.INVALID_TIF)
            tif = found
        client_id = p.client_id(prm, "clientAlgoId", CLIENT_ID) or scope.new_client_id()
        if any(o.client_order_id == client_id for o in scope.exchange.open_orders(account)):
            raise BinanceError(codes.DUPLICATE_CLIENT_ORDER_ID)
        direction = algo_direction(kind, side)
        mark = scope.exchange.mark_price(LINEAR, symbol)
        if mark is not None and trigger_due(direction, trigger, mark):
            raise BinanceError(codes.WOULD_TRIGGER)
        order = sim_call(lambda: scope.exchange.place_order(
            account, category=LINEAR, symbol=symbol, side=side,
            order_type=OrderType.LIMIT if limit_order else OrderType.MARKET, qty=qty,
            price=price, time_in_force=tif, client_order_id=client_id,
            reduce_only=p.boolean(prm, "reduceOnly"), trigger_price=trigger,
            trigger_direction=direction, position_side=POSITION_SIDES[ps]))
        scope.ids.set_position_side(order.venue_order_id, ps)
        scope.ids.algo_id(order.venue_order_id)
        return Reply(scope.views.algo_order(order, "new"))

    def query(self, req: Request) -> Reply:
        order = self._find(req)
        if order is None or not visible(order, req.now_ms):
            raise BinanceError(codes.NO_SUCH_ORDER)
        return Reply(self.scope.views.algo_order(order, "view"))

    def cancel(self, req: Request) -> Reply:
        scope = self.scope
        order = self._find(req)
        if order is None or not order.is_active or scope.views.triggered(order):
            raise BinanceError(codes.CANCEL_REJECTED)
        cancelled = sim_call(lambda: scope.exchange.cancel_order(req.account,
                                                                 order.venue_order_id),
                             cancel=True)
        return Reply({"algoId": scope.ids.algo_id(cancelled.venue_order_id),
                      "clientAlgoId": cancelled.client_order_id, "code": "200",
                      "msg": "success"})

    def _waiting(self, account: str, symbol: str) -> list[Order]:
        views = self.scope.views
        return [o for o in self.scope.exchange.open_orders(account, LINEAR, symbol or None)
                if o.trigger_price is not None and not views.triggered(o)]

    def open_orders(self, req: Request) -> Reply:
        symbol = self.scope.symbol(LINEAR, req.params, required=False)
        return Reply([self.scope.views.algo_order(o, "open")
                      for o in self._waiting(req.account, symbol)])

    def all_orders(self, req: Request) -> Reply:
        scope, prm = self.scope, req.params
        symbol = scope.symbol(LINEAR, prm)
        start, end = window(prm, req.now_ms, span_ms=SEVEN_DAYS_MS, default_recent=True)
        from_id = p.integer(prm, "algoId")
        limit = p.limit(prm, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        rows = sorted(((scope.ids.algo_id(o.venue_order_id), o)
                       for o in scope.exchange.order_history(req.account, LINEAR, symbol)
                       if o.trigger_price is not None and visible(o, req.now_ms)),
                      key=lambda row: row[0])
        if from_id is not None:
            chosen = [o for aid, o in rows if aid >= from_id][:limit]
        else:
            chosen = [o for _aid, o in rows if start <= o.created_at <= end][-limit:]
        return Reply([scope.views.algo_order(o, "view") for o in chosen])

    def cancel_all(self, req: Request) -> Reply:
        symbol = self.scope.symbol(LINEAR, req.params)
        for order in self._waiting(req.account, symbol):
            try:
                self.scope.exchange.cancel_order(req.account, order.venue_order_id)
            except (SimRejectedError, SimOrderNotFoundError):
                continue  # triggered or ended meanwhile
        return Reply(dict(ALL_CANCELLED))
