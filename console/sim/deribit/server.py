"""`DeribitFrontEnd`: the simulated exchange behind Deribit's API v2.

One port serves both transports: HTTP at ``/api/v2/public/<method>`` and
``/api/v2/private/<method>`` (GET with query parameters, or POST / GET with a JSON-RPC
body) and the WebSocket at ``/ws/api/v2``. It runs inside the caller's asyncio loop
(the shared `HttpFrontEnd` lifecycle) and drives the synchronous sim core from that
loop only. HTTP requests go through the shared pipeline::

    latency → HTTP fault → clock → error rendering → auth (Bearer token,
    deri-hmac-sha256 or Basic: 13009/13004/13021) → decoding (-32700, 11050)
    → credits (10028) → injected code → after-place fault → the method
    → {"jsonrpc", "id", "result" | "error", "usIn", "usOut", "usDiff", "testnet"}

WebSocket requests take the same steps in `console.sim.deribit.ws`. A ticker started with
the server sends heartbeats and fires inactivity; every connection's end fires its
cancel-on-disconnect.

Pointing clients at it: ccxt ``deribit`` with ``urls['api']['rest'] = rest_url`` (the
origin; ccxt appends /api/v2); typed-deribit with ``base_url = rest_url + "/api/v2"``;
WebSocket clients at ``ws_private_url``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

from aiohttp import web

from console.domain.model import Order
from console.sim.core import SimExchange
from console.sim.deribit.auth import DEFAULT_TOKEN_TTL_MS, DeribitAuth, TokenStore
from console.sim.deribit.codes import METHOD_NOT_FOUND, DeribitError
from console.sim.deribit.connection import (
    DEFAULT_INACTIVITY_MS,
    ConnectionMethods,
    DeadMan,
)
from console.sim.deribit.envelope import DeribitEnvelope, dumps, error_body
from console.sim.deribit.faults import DeribitFaultHook, as_faults
from console.sim.deribit.limits import BUCKET, CreditHook, as_pool
from console.sim.deribit.market import Market
from console.sim.deribit.orders import Trading
from console.sim.deribit.pushes import DeribitPushes
from console.sim.deribit.queries import Queries
from console.sim.deribit.rpc import API_PREFIX, Context, Method, table
from console.sim.deribit.subscriptions import Push
from console.sim.deribit.views import Views
from console.sim.deribit.ws import SESSION_KEY, WS_PATH, DeribitSession, Runtime
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import HttpFrontEnd
from console.sim.protocol.hub import EventHub
from console.sim.protocol.keys import KeyStore, Permission, as_key_store
from console.sim.protocol.limits import RateLimiter
from console.sim.protocol.pipeline import Endpoint, Hooks, Pipeline, Request

log = logging.getLogger(__name__)

TICK_S: Final = 0.02
TRADE: Final = Permission.TRADE


class DeribitFrontEnd(HttpFrontEnd):
    """Deribit over one `SimExchange`. `credentials`: a `KeyStore` or ``{client_id:
    (client_secret, account)}``; `faults`: a controller or a spec; `rate_limits`: a
    `CreditPool` or its figures (`console.sim.deribit.limits`); `token_ttl_ms`: access
    token lifetime; `heartbeat_unit_ms`: how long one heartbeat-interval second lasts;
    `inactivity_ms`: the silence after which cancel-on-disconnect fires."""

    venue = "deribit"
    title = "Deribit"

    def __init__(self, exchange: SimExchange, *,
                 credentials: KeyStore | Mapping[str, tuple[str, str]],
                 faults: str | Faults | None = None,
                 rate_limits: RateLimiter | Mapping[str, int] | None = None,
                 clock_ms: Callable[[], int] | None = None, seed: int = 7,
                 token_ttl_ms: int = DEFAULT_TOKEN_TTL_MS,
                 heartbeat_unit_ms: int = 1000,
                 inactivity_ms: int = DEFAULT_INACTIVITY_MS) -> None:
        pool = as_pool(rate_limits)
        super().__init__(exchange, keys=as_key_store(credentials),
                         faults=as_faults(faults, seed=seed), limiter=pool, clock_ms=clock_ms)
        self.pool = pool
        self.views = Views(exchange, self.clock())
        self.tokens = TokenStore(self.keys, self.clock, ttl_ms=token_ttl_ms)
        self.dead_man = DeadMan()
        self.connection = ConnectionMethods(self.tokens, self.views, self.dead_man,
                                            self.clock)
        self.trading = Trading(exchange, self.views, self._created)
        self.queries = Queries(exchange, self.views)
        self.market = Market(exchange, self.views)
        self.methods = self._methods()
        self.hub: EventHub[Push] = EventHub(exchange, self.keys, self.faults, self.clock,
                                            DeribitPushes(self.views), venue=self.venue)
        self.runtime = Runtime(
            exchange=exchange, views=self.views, methods=self.methods, tokens=self.tokens,
            pool=pool, faults=self.faults, clock=self.clock, dead_man=self.dead_man,
            parse_channel=self.connection.parse, heartbeat_unit_ms=heartbeat_unit_ms,
            inactivity_ms=inactivity_ms)
        self._ticker: asyncio.Task[None] | None = None

    def _created(self, ctx: Context, order: Order) -> None:
        if ctx.session is not None:
            ctx.session.note_created(order)

    # -- the method table --------------------------------------------------------------

    def _methods(self) -> Mapping[str, Method]:
        t, q, m, c = self.trading, self.queries, self.market, self.connection

        def trade(name: str, handler: Callable[[Context], Any], *,
                  places: bool = False) -> Method:
            return Method(f"private/{name}", handler, places=places, permission=TRADE)

        def read(name: str, handler: Callable[[Context], Any]) -> Method:
            return Method(f"private/{name}", handler)

        def public(name: str, handler: Callable[[Context], Any], *,
                   ws_only: bool = False) -> Method:
            return Method(f"public/{name}", handler, ws_only=ws_only)

        return table(
            public("auth", c.auth), public("test", c.test), public("hello", m.hello),
            public("get_time", m.get_time), public("get_instruments", m.get_instruments),
            public("get_instrument", m.get_instrument),
            public("get_currencies", m.get_currencies),
            public("set_heartbeat", c.set_heartbeat, ws_only=True),
            public("disable_heartbeat", c.disable_heartbeat, ws_only=True),
            public("subscribe", c.subscribe_public, ws_only=True),
            public("unsubscribe", c.unsubscribe, ws_only=True),
            public("unsubscribe_all", c.unsubscribe_all, ws_only=True),
            Method("private/subscribe", c.subscribe_private, ws_only=True),
            Method("private/unsubscribe", c.unsubscribe, ws_only=True),
            Method("private/unsubscribe_all", c.unsubscribe_all, ws_only=True),
            Method("private/logout", c.logout, ws_only=True),
            trade("enable_cancel_on_disconnect", c.enable_cancel_on_disconnect),
            trade("disable_cancel_on_disconnect", c.disable_cancel_on_disconnect),
            read("get_cancel_on_disconnect", c.get_cancel_on_disconnect),
            trade("buy", t.buy, places=True), trade("sell", t.sell, places=True),
            trade("edit", t.edit), trade("cancel", t.cancel),
            trade("cancel_all", t.cancel_all),
            trade("cancel_all_by_instrument", t.cancel_all_by_instrument),
            trade("cancel_all_by_currency", t.cancel_all_by_currency),
            trade("cancel_by_label", t.cancel_by_label),
            read("get_order_state", q.get_order_state),
            read("get_order_state_by_label", q.get_order_state_by_label),
            read("get_open_orders", q.get_open_orders),
            read("get_open_orders_by_currency", q.get_open_orders_by_currency),
            read("get_open_orders_by_instrument", q.get_open_orders_by_instrument),
            read("get_open_orders_by_label", q.get_open_orders_by_label),
            read("get_order_history_by_currency", q.get_order_history_by_currency),
            read("get_order_history_by_instrument", q.get_order_history_by_instrument),
            read("get_user_trades_by_currency", q.get_user_trades_by_currency),
            read("get_user_trades_by_currency_and_time",
                 q.get_user_trades_by_currency_and_time),
            read("get_user_trades_by_instrument", q.get_user_trades_by_instrument),
            read("get_user_trades_by_instrument_and_time",
                 q.get_user_trades_by_instrument_and_time),
            read("get_user_trades_by_order", q.get_user_trades_by_order),
            read("get_positions", q.get_positions), read("get_position", q.get_position),
            read("get_account_summary", q.get_account_summary),
            read("get_account_summaries", q.get_account_summaries),
        )

    def endpoints(self) -> list[Endpoint[Any]]:
        """The HTTP endpoints: GET and POST for every method not bound to a WebSocket."""
        cost = self.pool.cost
        found: list[Endpoint[Any]] = []
        for method in self.methods.values():
            if method.ws_only:
                continue
            handler = _http_handler(method)
            for verb in ("GET", "POST"):
                found.append(Endpoint(verb, method.path, handler, private=method.private,
                                      places=method.places, permission=method.permission,
                                      cost=lambda _p: cost, bucket=BUCKET))
        return found

    # -- lifecycle ---------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        envelope = DeribitEnvelope(lambda: self.clock() * 1000, _method_of)
        hooks: Hooks[Any] = Hooks(auth=DeribitAuth(self.keys, self.tokens),
                                  limits=CreditHook(), faults=DeribitFaultHook(),
                                  envelope=envelope)
        pipeline: Pipeline[Any] = Pipeline.standard(
            venue=self.venue, hooks=hooks, faults=self.faults, limiter=self.pool,
            clock=self.clock)
        pipeline.mount(app, self.endpoints())
        app.router.add_route("*", API_PREFIX + "{tail:.*}", self._unknown)
        app.router.add_get(WS_PATH, self._websocket())

    def _websocket(self) -> Callable[[web.Request], Any]:
        runtime = self.runtime

        def factory(hub: EventHub[Push], ws: web.WebSocketResponse, request: web.Request,
                    conn_id: str) -> DeribitSession:
            session = DeribitSession(hub, ws, request, conn_id, runtime)
            request[SESSION_KEY] = session
            return session

        inner = self.hub.websocket(factory)

        async def handle(request: web.Request) -> web.WebSocketResponse:
            try:
                return await inner(request)
            finally:
                session = request.get(SESSION_KEY)
                if isinstance(session, DeribitSession):
                    self._closed(session)
        return handle

    def _closed(self, session: DeribitSession) -> None:
        try:
            session.on_closed()
        except Exception:  # the connection is gone either way; the sim state is intact
            log.exception("deribit: cancel-on-disconnect of %s failed", session.conn_id)

    async def _unknown(self, request: web.Request) -> web.Response:
        now_us = self.clock() * 1000
        body = error_body(None, DeribitError(METHOD_NOT_FOUND), now_us, now_us)
        return web.Response(text=dumps(body), status=400, content_type="application/json")

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        await super().start(host, port)
        self._ticker = asyncio.get_running_loop().create_task(self._tick_loop())

    async def stop(self) -> None:
        ticker, self._ticker = self._ticker, None
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        await super().stop()

    def tick(self) -> None:
        now = self.clock()
        for session in self.hub.connections:
            if isinstance(session, DeribitSession):
                session.tick(now)

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self.tick()
            except Exception:  # a bug here must not stop heartbeats for good
                log.exception("deribit front-end: ticker turn failed")

    def urls(self) -> dict[str, str]:
        return {"rest_url": self.http_url(), "ws_private_url": self.ws_url(WS_PATH)}


def _method_of(path: str) -> str:
    return path.removeprefix(API_PREFIX)


def _http_handler(method: Method) -> Callable[[Request], Any]:
    def handle(request: Request) -> Any:
        return method.handler(Context(request.account if method.private else "",
                                      request.params, request.now_ms))
    return handle
