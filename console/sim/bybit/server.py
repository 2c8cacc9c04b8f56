"""`BybitFrontEnd`: the simulated exchange behind Bybit's v5 REST API and private stream.

It runs inside the caller's asyncio loop (aiohttp AppRunner + TCPSite on 127.0.0.1) and
drives the synchronous sim core from that loop only. A REST request goes through the
same stages as on Bybit, each of which a fault can interrupt:

    latency → HTTP-level fault (403/429/5xx) → authentication (10003/10002/10004)
    → rate limit (10006, headers on every private answer) → injected retCode
    → the handler and the sim → after-place fault (cut or hang) → v5 envelope

Every answer is the v5 envelope ``{"retCode", "retMsg", "result", "retExtInfo", "time"}``
with HTTP 200, errors included; a handler exception never reaches the client as a
stack trace (it becomes 10016 and is logged without headers or bodies, so no key or
signature lands in a log).

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

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from aiohttp import web

from console.domain.enums import Category
from console.domain.values import DomainValueError
from console.sim.bybit import codes
from console.sim.bybit.auth import KeyRing, verify_rest
from console.sim.bybit.base import Request, Result, Scope, served, sim_error
from console.sim.bybit.codes import BybitError, params_error
from console.sim.bybit.faults import AfterPlace, Faults
from console.sim.bybit.limits import RateLimiter
from console.sim.bybit.orders import OrderEntry, batch_units
from console.sim.bybit.paging import ListingCache
from console.sim.bybit.params import parse_body, parse_query
from console.sim.bybit.queries import Queries
from console.sim.bybit.shapes import JsonObj
from console.sim.bybit.views import BybitViews
from console.sim.bybit.ws import EventHub
from console.sim.core import SimExchange, wall_clock_ms
from console.sim.errors import SimOrderNotFoundError, SimRejectedError

log = logging.getLogger(__name__)

PRIVATE_WS_PATH: Final = "/v5/private"
SHUTDOWN_TIMEOUT_S: Final = 0.5
_HTTP_TEXT: Final = {403: "access too frequent", 429: "Too Many Requests",
                     500: "Internal Server Error", 502: "Bad Gateway",
                     503: "Service Unavailable", 504: "Gateway Timeout"}

Handler = Callable[[Request], Result]


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    private: bool = True
    batch: bool = False
    places: bool = False


class BybitFrontEnd:
    """Bybit v5 over one `SimExchange`. `credentials`: api_key -> (api_secret, account)."""

    def __init__(self, exchange: SimExchange, *,
                 credentials: Mapping[str, tuple[str, str]],
                 faults: Faults | None = None,
                 categories: Collection[Category] | None = None,
                 rate_limits: RateLimiter | Mapping[str, int] | None = None,
                 clock_ms: Callable[[], int] | None = None,
                 seed: int = 7) -> None:
        keys = KeyRing(credentials)
        for account in keys.accounts:
            if not exchange.has_account(account):
                raise ValueError(f"credentials name sim account {account!r}, which does "
                                 "not exist")
        self.exchange = exchange
        self.keys = keys
        self.faults = faults if faults is not None else Faults(seed=seed)
        self.limiter = rate_limits if isinstance(rate_limits, RateLimiter) \
            else RateLimiter(rate_limits)
        self.clock: Callable[[], int] = clock_ms or wall_clock_ms
        self.views = BybitViews(exchange)
        self.scope = Scope(exchange, self.views, served(categories, exchange), ListingCache())
        self.hub = EventHub(exchange, self.views, keys, self.faults, self.clock, seed=seed)
        self._runner: web.AppRunner | None = None
        self._host = ""
        self._port = 0
        queries, orders = Queries(self.scope), OrderEntry(self.scope)
        self.endpoints: tuple[Endpoint, ...] = (
            Endpoint("GET", "/v5/market/time", queries.server_time, private=False),
            Endpoint("GET", "/v5/market/instruments-info", queries.instruments_info,
                     private=False),
            Endpoint("GET", "/v5/position/list", queries.positions),
            Endpoint("GET", "/v5/order/realtime", queries.open_orders),
            Endpoint("GET", "/v5/order/history", queries.order_history),
            Endpoint("GET", "/v5/execution/list", queries.executions),
            Endpoint("GET", "/v5/account/wallet-balance", queries.wallet_balance),
            Endpoint("POST", "/v5/order/create", orders.create, places=True),
            Endpoint("POST", "/v5/order/amend", orders.amend),
            Endpoint("POST", "/v5/order/cancel", orders.cancel),
            Endpoint("POST", "/v5/order/cancel-all", orders.cancel_all),
            Endpoint("POST", "/v5/order/create-batch", orders.create_batch, batch=True,
                     places=True),
            Endpoint("POST", "/v5/order/amend-batch", orders.amend_batch, batch=True),
            Endpoint("POST", "/v5/order/cancel-batch", orders.cancel_batch, batch=True),
        )

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError("the Bybit front-end is already running")
        app = web.Application()
        for endpoint in self.endpoints:
            app.router.add_route(endpoint.method, endpoint.path, self._route(endpoint))
        app.router.add_get(PRIVATE_WS_PATH, self.hub.handle)
        # a short shutdown: a held (hang fault) answer must not keep `stop()` waiting
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        addresses = runner.addresses
        self._port = int(addresses[0][1]) if addresses else port
        self.hub.start(asyncio.get_running_loop())

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.hub.stop()
        await self.hub.close_all()
        await runner.cleanup()

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        return self._port

    @property
    def rest_url(self) -> str:
        return f"http://{self._host}:{self._port}"

    @property
    def ws_private_url(self) -> str:
        return f"ws://{self._host}:{self._port}{PRIVATE_WS_PATH}"

    async def disconnect_private(self, account: str | None = None,
                                 mode: str = "abort") -> int:
        """Cut the private connections (of `account`, or all) now; returns how many."""
        return await self.hub.disconnect(account, mode)

    # -- the request pipeline ----------------------------------------------------------

    def _route(self, endpoint: Endpoint) -> Callable[[web.Request],
                                                     Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._handle(request, endpoint)
        return handle

    async def _handle(self, request: web.Request, endpoint: Endpoint) -> web.StreamResponse:
        path, faults = endpoint.path, self.faults
        delay = faults.latency_ms(path)
        if delay:
            await asyncio.sleep(delay / 1000)
        status = faults.http_status(path)
        if status is not None:
            return web.Response(status=status, text=_HTTP_TEXT.get(status, "error"))
        now = self.clock()
        if not endpoint.private:
            params = parse_query(request.raw_path.partition("?")[2])
            return self._respond(endpoint, Request("", params, now), {})
        raw_query = ""
        if endpoint.method == "GET":
            raw_query = request.raw_path.partition("?")[2]
            payload = raw_query.encode("utf-8", "surrogateescape")
        else:
            payload = await request.read()
        try:
            key = verify_rest(request.headers, payload, keys=self.keys, now_ms=now)
        except BybitError as exc:
            return _envelope_error(exc, now, {})
        try:
            params = parse_query(raw_query) if endpoint.method == "GET" \
                else parse_body(payload)
        except BybitError as exc:
            quota = self.limiter.take(key.account, path, now)
            return _envelope_error(exc, now, quota.headers())
        units = batch_units(params) if endpoint.batch else 1
        quota = self.limiter.take(key.account, path, now, units)
        headers = quota.headers()
        if quota.exceeded:
            return _envelope_error(BybitError(codes.TOO_MANY_VISITS), now, headers)
        injected = faults.ret_code(path)
        if injected is not None:
            return _envelope_error(BybitError(injected), now, headers)
        response = self._respond(endpoint, Request(key.account, params, now, quota.granted),
                                 headers)
        if endpoint.places:
            after = faults.after_place(path)
            if after is AfterPlace.CUT:
                _cut(request)
                raise asyncio.CancelledError  # aiohttp drops the finished connection
            if after is AfterPlace.HANG:
                await asyncio.sleep(faults.hang_ms / 1000)
        return response

    def _respond(self, endpoint: Endpoint, req: Request,
                 headers: dict[str, str]) -> web.Response:
        try:
            result = endpoint.handler(req)
        except BybitError as exc:
            return _envelope_error(exc, req.now_ms, headers)
        except (SimRejectedError, SimOrderNotFoundError) as exc:
            return _envelope_error(sim_error(exc), req.now_ms, headers)
        except DomainValueError as exc:
            return _envelope_error(params_error(str(exc)), req.now_ms, headers)
        except Exception:  # the boundary: the client gets an envelope, never a trace
            log.exception("bybit front-end: %s %s failed", endpoint.method, endpoint.path)
            return _envelope_error(BybitError(codes.SERVER_ERROR), req.now_ms, headers)
        return _envelope(codes.OK, "OK", result.result, result.ext, now=req.now_ms,
                         headers=headers)


def _cut(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


def _envelope(code: int, message: str, result: JsonObj, ext: JsonObj, *, now: int,
              headers: dict[str, str]) -> web.Response:
    body = {"retCode": code, "retMsg": message, "result": result, "retExtInfo": ext,
            "time": now}
    return web.Response(text=json.dumps(body, default=_json_default),
                        content_type="application/json",
                        headers={**headers, "Timenow": str(now)})


def _json_default(value: object) -> str:
    """Decimals echoed from a request stay exact text; anything else is a bug."""
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _envelope_error(exc: BybitError, now: int, headers: dict[str, str]) -> web.Response:
    return _envelope(exc.code, exc.message, {}, {}, now=now, headers=headers)
