"""`BybitFrontEnd`: the simulated exchange behind Bybit's v5 REST API and private stream.

It runs inside the caller's asyncio loop (the shared `HttpFrontEnd` lifecycle) and drives
the synchronous sim core from that loop only. A REST request goes through the shared
pipeline (`console.sim.protocol.pipeline`), each stage of which a fault can interrupt:

    latency → HTTP-level fault (403/429/5xx) → authentication (10003/10002/10004/10005)
    → rate limit (10006, headers on every private answer) → injected retCode
    → the handler and the sim → after-place fault (cut or hang) → v5 envelope

What is Bybit's here: the endpoint table, and the four hooks (`BybitAuth`,
`BybitLimitHook`, `BybitFaultHook`, `BybitEnvelope`). Every answer is the v5 envelope
``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` with HTTP 200, errors included.

Pointing pybit at it::

    session = HTTP(api_key=key, api_secret=secret)
    session.endpoint = front_end.rest_url            # after construction

    class LoopbackWebSocket(WebSocket):              # pybit.unified_trading.WebSocket
        def __init__(self, url, **kwargs):
            self._loopback_url = url
            super().__init__(**kwargs)
        def _connect(self, url):                     # also used by pybit's reconnects
            super()._connect(self._loopback_url)

    ws = LoopbackWebSocket(front_end.ws_private_url, testnet=False,
                           channel_type="private", api_key=key, api_secret=secret)
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Final

from aiohttp import web

from console.domain.enums import Category
from console.sim.bybit.account import AccountQueries
from console.sim.bybit.auth import BybitAuth
from console.sim.bybit.base import Result, Scope, served
from console.sim.bybit.dcp import SESSION_KEY, DcpWatch
from console.sim.bybit.envelope import BybitEnvelope
from console.sim.bybit.faults import BybitFaultHook, as_faults
from console.sim.bybit.limits import DEFAULT_LIMITS, BybitLimitHook, bucket_by_line
from console.sim.bybit.orders import OrderEntry, batch_units
from console.sim.bybit.queries import Queries
from console.sim.bybit.views import BybitViews
from console.sim.bybit.ws import BybitStream, PrivateConnection, Push
from console.sim.core import SimExchange
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import LOOPBACK, HttpFrontEnd
from console.sim.protocol.hub import EventHub
from console.sim.protocol.keys import KeyStore, Permission, as_key_store
from console.sim.protocol.limits import RateLimiter, as_limiter
from console.sim.protocol.paging import ListingCache
from console.sim.protocol.pipeline import Endpoint, Hooks, Pipeline

PRIVATE_WS_PATH: Final = "/v5/private"
TRADE: Final = Permission.TRADE


class BybitFrontEnd(HttpFrontEnd):
    """Bybit v5 over one `SimExchange`. `credentials`: a `KeyStore`, or
    ``{api_key: (api_secret, account)}`` (keys with every permission); `faults`: a
    controller or a spec; `categories`: what is served (default: every category the
    exchange has instruments of)."""

    venue = "bybit"
    title = "Bybit"

    def __init__(self, exchange: SimExchange, *,
                 credentials: KeyStore | Mapping[str, tuple[str, str]],
                 faults: str | Faults | None = None,
                 categories: Collection[Category] | None = None,
                 rate_limits: RateLimiter | Mapping[str, int] | None = None,
                 clock_ms: Callable[[], int] | None = None,
                 seed: int = 7) -> None:
        super().__init__(exchange, keys=as_key_store(credentials),
                         faults=as_faults(faults, seed=seed),
                         limiter=as_limiter(rate_limits, defaults=DEFAULT_LIMITS),
                         clock_ms=clock_ms)
        self.views = BybitViews(exchange)
        self.scope = Scope(exchange, self.views, served(categories, exchange), ListingCache())
        self.stream = BybitStream(self.views, seed=seed)
        self.dcp = DcpWatch(exchange, self.clock)
        """Disconnection protection (`console.sim.bybit.dcp`)."""
        self.hub: EventHub[Push] = EventHub(exchange, self.keys, self.faults, self.clock,
                                            self.stream, venue=self.venue)
        hooks: Hooks[Result] = Hooks(auth=BybitAuth(self.keys), limits=BybitLimitHook(),
                                     faults=BybitFaultHook(), envelope=BybitEnvelope())
        self.pipeline = Pipeline.standard(venue=self.venue, hooks=hooks, faults=self.faults,
                                          limiter=self.limiter, clock=self.clock)
        queries, orders = Queries(self.scope), OrderEntry(self.scope)
        account = AccountQueries(self.scope, self.keys)
        self.endpoints: tuple[Endpoint[Result], ...] = (
            Endpoint("GET", "/v5/market/time", queries.server_time, private=False),
            Endpoint("GET", "/v5/market/instruments-info", queries.instruments_info,
                     private=False),
            Endpoint("GET", "/v5/position/list", queries.positions),
            Endpoint("GET", "/v5/order/realtime", queries.open_orders),
            Endpoint("GET", "/v5/order/history", queries.order_history),
            Endpoint("GET", "/v5/execution/list", queries.executions),
            Endpoint("GET", "/v5/account/wallet-balance", queries.wallet_balance),
            Endpoint("GET", "/v5/account/info", account.account_info),
            Endpoint("GET", "/v5/user/query-api", account.api_key_info),
            Endpoint("GET", "/v5/asset/coin/query-info", account.coin_info),
            Endpoint("POST", "/v5/order/create", orders.create, places=True,
                     permission=TRADE),
            Endpoint("POST", "/v5/order/amend", orders.amend, permission=TRADE),
            Endpoint("POST", "/v5/order/cancel", orders.cancel, permission=TRADE),
            Endpoint("POST", "/v5/order/cancel-all", orders.cancel_all, permission=TRADE),
            Endpoint("POST", "/v5/order/create-batch", orders.create_batch, places=True,
                     permission=TRADE, cost=batch_units,
                     bucket_of=bucket_by_line("/v5/order/create-batch")),
            Endpoint("POST", "/v5/order/amend-batch", orders.amend_batch, permission=TRADE,
                     cost=batch_units, bucket_of=bucket_by_line("/v5/order/amend-batch")),
            Endpoint("POST", "/v5/order/cancel-batch", orders.cancel_batch,
                     permission=TRADE, cost=batch_units,
                     bucket_of=bucket_by_line("/v5/order/cancel-batch")),
            Endpoint("POST", "/v5/order/disconnected-cancel-all", self.dcp.set_window,
                     permission=TRADE),
            Endpoint("GET", "/v5/account/query-dcp-info", self.dcp.info),
        )

    def mount(self, app: web.Application) -> None:
        self.pipeline.mount(app, self.endpoints)
        app.router.add_get(PRIVATE_WS_PATH,
                           self.dcp.watching(self.hub.websocket(self._connection)))

    def _connection(self, hub: EventHub[Push], ws: web.WebSocketResponse,
                    request: web.Request, conn_id: str) -> PrivateConnection:
        session = PrivateConnection(hub, ws, request, conn_id, self.stream, dcp=self.dcp)
        request[SESSION_KEY] = session  # `dcp.watching` hears of its end
        return session

    async def start(self, host: str = LOOPBACK, port: int = 0) -> None:
        """Bybit's per-fill figures (closedSize, execPnl, seq, fees per order) of the
        accounts already there are worked out now, as a venue has them at hand: not by
        the first request, which would hold every other request meanwhile."""
        for account in self.views.exchange.accounts():
            self.views.ledger(account)
        self.dcp.start()
        await super().start(host, port)

    async def stop(self) -> None:
        """Countdowns stop first: the server closing its connections is no loss."""
        self.dcp.stop()
        await super().stop()

    def urls(self) -> dict[str, str]:
        return {"rest_url": self.http_url(), "ws_private_url": self.ws_url(PRIVATE_WS_PATH)}
