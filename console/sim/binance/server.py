"""`BinanceFrontEnd`: the simulated exchange behind Binance's spot and USD-M APIs.

One front-end serves both markets on one port, with Binance's paths: spot REST under
``/api/v3``, USD-M under ``/fapi/v1|v2|v3``, the USD-M user-data WebSocket at
``/private/ws?listenKey=...`` and the spot WebSocket API at ``/ws-api/v3`` (both mounted by
`console.sim.binance.ws`). It runs inside the caller's asyncio loop (the shared
`HttpFrontEnd` lifecycle) and drives the synchronous sim core from that loop only. Each
market has its own request pipeline (`console.sim.protocol.pipeline`)::

    latency → HTTP fault → clock → error rendering → auth (-2014/-2015/-1021/-1022)
    → decoding → request weight (-1003, X-MBX-USED-WEIGHT-1M on every answer)
    → order counts (-1015, X-MBX-ORDER-COUNT-*) → injected code → after-place fault
    → the handler and the sim → a bare JSON answer, or {"code", "msg"}

A ticker started with the server fires the USD-M countdowns (``countdownCancelAll``)
and expires listenKeys. Every order event of a keyed account is noted in `Ids` as it
happens, so Binance's integer ids follow creation order and algo triggers are known.

Pointing clients at it: ccxt ``binanceusdm``/``binance`` with ``urls['api']`` entries
``fapiPublic``/``fapiPrivate`` = ``<rest_url>/fapi/v1`` (``V2``/``V3`` likewise) and
``public``/``private`` = ``<rest_url>/api/v3``; python-binance with ``client.API_URL =
<rest_url>/api`` and ``client.FUTURES_URL = <rest_url>/fapi``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Final

from aiohttp import web

from console.domain.enums import Category
from console.domain.model import Order
from console.sim.binance.algo import AlgoOrders
from console.sim.binance.auth import BinanceAuth
from console.sim.binance.countdown import Countdowns
from console.sim.binance.envelope import BinanceEnvelope, Reply
from console.sim.binance.faults import BinanceFaultHook, as_faults
from console.sim.binance.futures_orders import FuturesOrders
from console.sim.binance.futures_queries import FuturesQueries
from console.sim.binance.ids import Ids
from console.sim.binance.limits import (
    Limiters,
    OrderCost,
    OrderLimit,
    Weight,
    WeightLimit,
    symbol_weight,
)
from console.sim.binance.listen_keys import ListenKeys
from console.sim.binance.market import Market
from console.sim.binance.scope import Scope
from console.sim.binance.spot_orders import SpotOrders
from console.sim.binance.spot_queries import SpotQueries
from console.sim.binance.user_stream import UserStream
from console.sim.binance.views import BinanceViews
from console.sim.binance.ws import PRIVATE_WS_PATH, WS_API_PATH, BinanceStream, mount_streams
from console.sim.core import SimExchange
from console.sim.events import SimEvent
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import HttpFrontEnd
from console.sim.protocol.hub import EventHub
from console.sim.protocol.keys import KeyStore, Permission, as_key_store
from console.sim.protocol.limits import RateLimiter
from console.sim.protocol.pipeline import (
    AfterPlaceFault,
    Authenticate,
    Decode,
    Dispatch,
    Endpoint,
    HttpFault,
    InjectCode,
    Latency,
    Middleware,
    Pipeline,
    RenderErrors,
    Request,
    Stamp,
)
from console.sim.protocol.wire import Params

log = logging.getLogger(__name__)

TICK_S: Final = 0.01
SWEEP_EVERY: Final = 100
"""Ticks between listenKey sweeps (about a second)."""
TRADE: Final = Permission.TRADE
READ: Final = Permission.READ

Handler = Callable[[Request], Reply]


def _my_trades_weight(params: Params) -> int:
    return 5 if params.get("orderId") else 20


class BinanceFrontEnd(HttpFrontEnd):
    """Binance spot and USD-M over one `SimExchange`. `credentials`: a `KeyStore` or
    ``{api_key: (api_secret, account)}``; `faults`: a controller or a spec; `categories`:
    the markets served (default: SPOT and LINEAR, those the exchange lists); `market`:
    which private stream `ws_private_url` names (LINEAR: ``/private/ws``, SPOT:
    ``/ws-api/v3``); `rate_limits`: budget overrides by bucket (`console.sim.binance.limits`)."""

    venue = "binance"
    title = "Binance"

    def __init__(self, exchange: SimExchange, *,
                 credentials: KeyStore | Mapping[str, tuple[str, str]],
                 faults: str | Faults | None = None,
                 categories: Collection[Category] | None = None,
                 rate_limits: RateLimiter | Mapping[str, int] | None = None,
                 clock_ms: Callable[[], int] | None = None,
                 seed: int = 7,
                 market: Category = Category.LINEAR,
                 listen_key_ttl_ms: int = 3_600_000) -> None:
        if market not in (Category.LINEAR, Category.SPOT):
            raise ValueError(f"Binance market {market!r}: spot or linear (USD-M)")
        limiters = Limiters(rate_limits)
        super().__init__(exchange, keys=as_key_store(credentials),
                         faults=as_faults(faults, seed=seed), limiter=limiters.weight,
                         clock_ms=clock_ms)
        listed = {i.category for i in exchange.instruments()}
        wanted = {Category.SPOT, Category.LINEAR} if categories is None else set(categories)
        self.categories = frozenset(wanted & listed & {Category.SPOT, Category.LINEAR})
        self.market = market
        self.limiters = limiters
        self.ids = Ids()
        self.views = BinanceViews(exchange, self.ids)
        self.scope = Scope(exchange, self.views, self.ids, limiters,
                           random.Random(f"binance-rest:{seed}"))
        self.listen_keys = ListenKeys(self.clock, listen_key_ttl_ms, seed=seed)
        self.stream = BinanceStream(exchange, self.ids, self.clock, seed=seed)
        self.hub: EventHub[object] = EventHub(exchange, self.keys, self.faults, self.clock,
                                              self.stream, venue=self.venue)
        self.countdowns = Countdowns(self.scope)
        self.user_stream = UserStream(self.listen_keys)
        self._ticker: asyncio.Task[None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._futures = self._futures_table()
        self._spot = self._spot_table()

    # -- endpoint tables -------------------------------------------------------------------

    def _futures_table(self) -> list[tuple[Endpoint[Reply], Weight, OrderCost | None]]:
        market, orders = Market(self.scope), FuturesOrders(self.scope)
        queries, algo = FuturesQueries(self.scope), AlgoOrders(self.scope)
        self.futures_queries = queries
        stream, countdowns = self.user_stream, self.countdowns
        one = OrderCost(1, 1)
        batch = OrderCost(5, 1)
        listing = symbol_weight(1, 40)

        def e(method: str, path: str, handler: Handler, weight: Weight, *,
              public: bool = False, trade: bool = False, places: bool = False,
              cost: OrderCost | None = None) -> tuple[Endpoint[Reply], Weight,
                                                      OrderCost | None]:
            return (Endpoint(method, path, handler, private=not public, places=places,
                             permission=TRADE if trade else READ), weight, cost)

        return [
            e("GET", "/fapi/v1/ping", market.ping, 1, public=True),
            e("GET", "/fapi/v1/time", market.time, 1, public=True),
            e("GET", "/fapi/v1/exchangeInfo", market.futures_info, 1, public=True),
            e("POST", "/fapi/v1/order", orders.new, 0, trade=True, places=True, cost=one),
            e("PUT", "/fapi/v1/order", orders.modify, 0, trade=True, cost=one),
            e("DELETE", "/fapi/v1/order", orders.cancel, 1, trade=True),
            e("GET", "/fapi/v1/order", queries.order, 1),
            e("POST", "/fapi/v1/batchOrders", orders.new_batch, 5, trade=True, places=True,
              cost=batch),
            e("PUT", "/fapi/v1/batchOrders", orders.modify_batch, 5, trade=True, cost=batch),
            e("DELETE", "/fapi/v1/batchOrders", orders.cancel_batch, 1, trade=True),
            e("DELETE", "/fapi/v1/allOpenOrders", orders.cancel_all, 1, trade=True),
            e("GET", "/fapi/v1/openOrder", queries.open_order, 1),
            e("GET", "/fapi/v1/openOrders", queries.open_orders, listing),
            e("GET", "/fapi/v1/allOrders", queries.all_orders, 5),
            e("GET", "/fapi/v1/userTrades", queries.user_trades, 5),
            e("GET", "/fapi/v2/positionRisk", queries.position_risk_v2, 5),
            e("GET", "/fapi/v3/positionRisk", queries.position_risk_v3, 5),
            e("GET", "/fapi/v3/account", queries.account, 5),
            e("GET", "/fapi/v2/account", queries.account_v2, 5),
            e("GET", "/fapi/v2/balance", queries.balance, 5),
            e("GET", "/fapi/v3/balance", queries.balance, 5),
            e("GET", "/fapi/v1/positionSide/dual", queries.dual, 30),
            e("POST", "/fapi/v1/positionSide/dual", queries.set_dual, 1, trade=True),
            e("GET", "/fapi/v1/multiAssetsMargin", queries.multi_assets_margin, 30),
            e("POST", "/fapi/v1/multiAssetsMargin", queries.set_multi_assets_margin, 1,
              trade=True),
            e("POST", "/fapi/v1/countdownCancelAll", countdowns.arm, 10, trade=True),
            e("POST", "/fapi/v1/algoOrder", algo.new, 0, trade=True, places=True, cost=one),
            e("GET", "/fapi/v1/algoOrder", algo.query, 1),
            e("DELETE", "/fapi/v1/algoOrder", algo.cancel, 1, trade=True),
            e("GET", "/fapi/v1/openAlgoOrders", algo.open_orders, listing),
            e("GET", "/fapi/v1/allAlgoOrders", algo.all_orders, 5),
            e("DELETE", "/fapi/v1/algoOpenOrders", algo.cancel_all, 1, trade=True),
            e("POST", "/fapi/v1/listenKey", stream.start, 1),
            e("PUT", "/fapi/v1/listenKey", stream.keepalive, 1),
            e("DELETE", "/fapi/v1/listenKey", stream.close, 1),
        ]

    def _spot_table(self) -> list[tuple[Endpoint[Reply], Weight, OrderCost | None]]:
        market, orders = Market(self.scope), SpotOrders(self.scope)
        queries, stream = SpotQueries(self.scope), self.user_stream
        one = OrderCost(1, 1)

        def e(method: str, path: str, handler: Handler, weight: Weight, *,
              public: bool = False, trade: bool = False, places: bool = False,
              cost: OrderCost | None = None) -> tuple[Endpoint[Reply], Weight,
                                                      OrderCost | None]:
            return (Endpoint(method, path, handler, private=not public, places=places,
                             permission=TRADE if trade else READ), weight, cost)

        return [
            e("GET", "/api/v3/ping", market.ping, 1, public=True),
            e("GET", "/api/v3/time", market.time, 1, public=True),
            e("GET", "/api/v3/exchangeInfo", market.spot_info, 20, public=True),
            e("POST", "/api/v3/order", orders.new, 1, trade=True, places=True, cost=one),
            e("DELETE", "/api/v3/order", orders.cancel, 1, trade=True),
            e("GET", "/api/v3/order", queries.order, 4),
            e("POST", "/api/v3/order/cancelReplace", orders.cancel_replace, 1, trade=True,
              places=True, cost=one),
            e("GET", "/api/v3/openOrders", queries.open_orders, symbol_weight(6, 80)),
            e("DELETE", "/api/v3/openOrders", orders.cancel_all, 1, trade=True),
            e("GET", "/api/v3/allOrders", queries.all_orders, 20),
            e("GET", "/api/v3/myTrades", queries.my_trades, _my_trades_weight),
            e("GET", "/api/v3/account", queries.account, 20),
            e("GET", "/api/v3/rateLimit/order", queries.order_count, 40),
            e("POST", "/api/v3/userDataStream", stream.retired, 2),
            e("PUT", "/api/v3/userDataStream", stream.retired, 2),
            e("DELETE", "/api/v3/userDataStream", stream.retired, 2),
        ]

    def _pipeline(self, market: Category,
                  table: Sequence[tuple[Endpoint[Reply], Weight, OrderCost | None]]
                  ) -> Pipeline[Reply]:
        key_only = [(ep.method, ep.path) for ep, _w, _c in table
                    if ep.path.endswith(("/listenKey", "/userDataStream"))]
        envelope = BinanceEnvelope(market)
        fault_hook = BinanceFaultHook()
        weights = {(ep.method, ep.path): weight for ep, weight, _c in table}
        costs = {(ep.method, ep.path): cost for ep, _w, cost in table if cost is not None}
        auth = BinanceAuth(self.keys, key_only=key_only)
        stages: list[Middleware] = [
            Latency(self.faults), HttpFault(self.faults, fault_hook), Stamp(self.clock),
            RenderErrors(envelope), Authenticate(auth), Decode(envelope),
            WeightLimit(self.limiters, market, weights),
            OrderLimit(self.limiters, market, costs),
            InjectCode(self.faults, fault_hook), AfterPlaceFault(self.faults)]
        return Pipeline(stages, Dispatch(envelope, self.venue))

    @property
    def endpoints(self) -> tuple[Endpoint[Reply], ...]:
        """Every REST endpoint served."""
        out: list[Endpoint[Reply]] = []
        if Category.LINEAR in self.categories:
            out += [ep for ep, _w, _c in self._futures]
        if Category.SPOT in self.categories:
            out += [ep for ep, _w, _c in self._spot]
        return tuple(out)

    # -- lifecycle -------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        if Category.LINEAR in self.categories:
            self._pipeline(Category.LINEAR, self._futures).mount(
                app, [ep for ep, _w, _c in self._futures])
        if Category.SPOT in self.categories:
            self._pipeline(Category.SPOT, self._spot).mount(
                app, [ep for ep, _w, _c in self._spot])
        mount_streams(app, self.hub, stream=self.stream, listen_keys=self.listen_keys,
                      keys=self.keys)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await super().start(host, port)
        for account in sorted(self.keys.accounts):
            self._unsubscribe.append(self.exchange.subscribe(account, self._observe))
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    async def stop(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        await super().stop()

    def _observe(self, event: SimEvent) -> None:
        if isinstance(event.payload, Order):
            self.ids.note(event.payload)

    def tick(self) -> None:
        """One turn of the ticker: fire due countdowns (and, every `SWEEP_EVERY` turns,
        expire listenKeys); public so tests can drive it."""
        self.countdowns.tick(self.clock())

    async def _tick_loop(self) -> None:
        turn = 0
        while True:
            await asyncio.sleep(TICK_S)
            turn += 1
            try:
                self.tick()
                if turn % SWEEP_EVERY == 0:
                    self.listen_keys.sweep()
            except Exception:  # a bug here must not stop the countdowns for good
                log.exception("binance front-end: ticker turn failed")

    def urls(self) -> dict[str, str]:
        private = PRIVATE_WS_PATH if self.market is Category.LINEAR else WS_API_PATH
        return {"rest_url": self.http_url(), "ws_private_url": self.ws_url(private),
                "ws_api_url": self.ws_url(WS_API_PATH),
                "usdm_ws_url": self.ws_url(PRIVATE_WS_PATH)}
