"""The simulated Binance WebSockets: the USD-M user-data stream and the spot WebSocket API.

USD-M user-data stream, ``/private/ws?listenKey=...`` (as ``wss://fstream.binance.com``
serves it since 2026-04):

* The listenKey must be live (`ListenKeys.account_of`); otherwise the upgrade is refused
  with HTTP 400 and ``{"code": -1125, "msg": "This listenKey does not exist."}``
  (UNVERIFIED: Binance's answer to a dead key at connect time is not documented; -1125
  is its error for that key on the REST side).
* Pushes are raw event objects in text frames, no wrapper: ``ORDER_TRADE_UPDATE``,
  ``TRADE_LITE``, ``ACCOUNT_UPDATE``, ``ALGO_UPDATE`` (`console.sim.binance.events`).
* When the key expires (`ListenKeys.on_expired`, or found dead when a push is due) the
  connection gets ``{"e": "listenKeyExpired", "E", "listenKey"}`` and is then closed;
  a key closed by ``DELETE`` (`ListenKeys.on_closed`) closes its connections at once;
  every connection is closed 24 hours after it opened (`max_connection_age_s`).
* The server sends a ping frame every 3 minutes (`futures_ping_s`); pings from the client
  are answered by aiohttp. Text frames from the client get the market-stream protocol's
  answers (``SUBSCRIBE``/``UNSUBSCRIBE`` are accepted and do nothing: a user-data
  connection has no streams to add; UNVERIFIED for ``/private``).

Spot WebSocket API, ``/ws-api/v3``: `console.sim.binance.ws_api`.

The fan-out, the outbound queues and the push faults (drop, duplicate, reorder,
disconnect; topics are the event types, e.g. ``ws_drop=1@ORDER_TRADE_UPDATE``) are the
shared event hub's; `BinanceStream` is its push source (the conversion lives in
`console.sim.binance.pushes`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any, Final

from aiohttp import web

from console.sim.binance import events as ev
from console.sim.binance.connection import MAX_CONNECTION_AGE_S, BinanceSession
from console.sim.binance.ids import Ids
from console.sim.binance.listen_keys import ListenKeys
from console.sim.binance.pushes import Converter, Market, Push
from console.sim.binance.tracker import Tracker
from console.sim.binance.ws_api import API_PING_S, ApiSession
from console.sim.core import SimExchange
from console.sim.events import SimEvent
from console.sim.protocol.hub import EventHub
from console.sim.protocol.keys import ApiKey, KeyStore

PRIVATE_WS_PATH: Final = "/private/ws"
WS_API_PATH: Final = "/ws-api/v3"
FUTURES_PING_S: Final = 180.0
DEAD_KEY: Final = {"code": -1125, "msg": "This listenKey does not exist."}
_SESSION_KEY: Final = web.RequestKey("binance.listen_key", tuple[str, ApiKey])
_STREAM_METHODS: Final = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY",
                          "GET_PROPERTY")


class BinanceStream:
    """Sim events → Binance pushes (the event hub's push source), and the settings of
    both WebSockets (connection age, ping intervals: shorten them in tests)."""

    def __init__(self, exchange: SimExchange, ids: Ids, clock_ms: Callable[[], int], *,
                 seed: int = 7) -> None:
        self.exchange = exchange
        self.ids = ids
        self.clock_ms = clock_ms
        self.tracker = Tracker(exchange, ids)
        self.converter = Converter(exchange, ids, self.tracker, seed=seed)
        self.max_connection_age_s = MAX_CONNECTION_AGE_S
        self.futures_ping_s: float | None = FUTURES_PING_S
        self.api_ping_s: float | None = API_PING_S

    def observe(self, event: SimEvent) -> None:
        self.tracker.observe(event)

    def convert(self, account: str, events: Sequence[SimEvent]) -> list[Push]:
        return self.converter.convert(account, events, event_time=self.clock_ms())


class FuturesSession(BinanceSession):
    """One listenKey connection: its account's USD-M pushes until the key dies."""

    def __init__(self, hub: EventHub[Push], ws: web.WebSocketResponse, request: web.Request,
                 conn_id: str, *, listen_key: str, api_key: ApiKey, listen_keys: ListenKeys,
                 max_age_s: float) -> None:
        super().__init__(hub, ws, request, conn_id, max_age_s=max_age_s)
        self.listen_key = listen_key
        self.listen_keys = listen_keys
        self.authenticated(api_key)

    def on_text(self, raw: str) -> None:
        """The market-stream request protocol (web-socket-streams.md)."""
        try:
            message = json.loads(raw)
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError):
                where = f" at line {exc.lineno} column {exc.colno}"
            else:
                where = ""
            self.reply({"code": 3, "msg": f"Invalid JSON: expected value{where}"})
            return
        if not isinstance(message, dict) or "method" not in message:
            self.reply({"code": 2, "msg": "Invalid request: missing field `method`"})
            return
        req_id, method = message.get("id"), message.get("method")
        if not isinstance(req_id, int) or isinstance(req_id, bool) or req_id < 0:
            self.reply({"code": 2, "msg": "Invalid request: request ID must be an unsigned "
                                          "integer"})
            return
        if method not in _STREAM_METHODS:
            self.reply({"code": 2, "msg": f"Invalid request: unknown variant {method}, "
                        "expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, "
                        "`SET_PROPERTY`, `GET_PROPERTY`"})
            return
        result: object = [] if method == "LIST_SUBSCRIPTIONS" else None
        self.reply({"result": result, "id": req_id})

    def offer(self, pushes: Sequence[Push]) -> None:
        if self.closing:
            return
        if self.listen_keys.account_of(self.listen_key) is None:
            self.expire()  # its expiry was not reported (yet): no more pushes on it
            return
        for push in pushes:
            if push.market is Market.USDM:
                self.push(json.dumps(push.event), push.topic)

    def expire(self) -> None:
        """``listenKeyExpired``, then the close."""
        if self.closing:
            return
        event = ev.listen_key_expired(self.listen_key, event_time=self.hub.clock())
        self.push(json.dumps(event), "listenKeyExpired")
        self.close_soon("listenKey expired")


class FuturesStreams:
    """The ``/private/ws`` handler: refuses dead keys before the upgrade, and ends the
    connections of a key that expires."""

    def __init__(self, hub: EventHub[Push], stream: BinanceStream, listen_keys: ListenKeys,
                 keys: KeyStore) -> None:
        self.hub = hub
        self.stream = stream
        self.listen_keys = listen_keys
        self.keys = keys
        self._loop: asyncio.AbstractEventLoop | None = None
        self._serve = hub.websocket(self._session, heartbeat=stream.futures_ping_s)

    def _api_key(self, listen_key: str) -> ApiKey | None:
        account = self.listen_keys.account_of(listen_key) if listen_key else None
        if account is None:
            return None
        return next((k for k in self.keys if k.account == account), None)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self._loop = asyncio.get_running_loop()
        listen_key = request.query.get("listenKey", "")
        api_key = self._api_key(listen_key)
        if api_key is None:
            return web.json_response(DEAD_KEY, status=400)
        request[_SESSION_KEY] = (listen_key, api_key)
        return await self._serve(request)

    def _session(self, hub: EventHub[Push], ws: web.WebSocketResponse, request: web.Request,
                 conn_id: str) -> FuturesSession:
        listen_key, api_key = request[_SESSION_KEY]
        return FuturesSession(hub, ws, request, conn_id, listen_key=listen_key,
                              api_key=api_key, listen_keys=self.listen_keys,
                              max_age_s=self.stream.max_connection_age_s)

    def on_expired(self, listen_key: str, account: str) -> None:
        """`ListenKeys` reports `listen_key` expired: ``listenKeyExpired``, then close."""
        self._on_loop(self._end, listen_key, True)

    def on_closed(self, listen_key: str, account: str) -> None:
        """`listen_key` was closed (``DELETE /fapi/v1/listenKey``): Binance "will close
        the stream"; no event first (UNVERIFIED)."""
        self._on_loop(self._end, listen_key, False)

    def _on_loop(self, action: Callable[[str, bool], None], listen_key: str,
                 expired: bool) -> None:
        """Run `action` on the server's loop (`ListenKeys` may call from any thread)."""
        loop = self._loop
        if loop is None:
            return  # no connection was ever served
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            action(listen_key, expired)
        else:
            loop.call_soon_threadsafe(action, listen_key, expired)

    def _end(self, listen_key: str, expired: bool) -> None:
        for session in self.hub.connections:
            if isinstance(session, FuturesSession) and session.listen_key == listen_key:
                if expired:
                    session.expire()
                else:
                    session.close_soon("listenKey closed")


def mount_streams(app: web.Application, hub: EventHub[Any], *, stream: BinanceStream,
                  listen_keys: ListenKeys, keys: KeyStore) -> None:
    """Add ``/private/ws`` (USD-M user data) and ``/ws-api/v3`` (spot WebSocket API)."""
    futures = FuturesStreams(hub, stream, listen_keys, keys)
    listen_keys.on_expired(futures.on_expired)
    listen_keys.on_closed(futures.on_closed)
    app.router.add_get(PRIVATE_WS_PATH, futures.handle)

    def api_session(hub: EventHub[Push], ws: web.WebSocketResponse, request: web.Request,
                    conn_id: str) -> ApiSession:
        return ApiSession(hub, ws, request, conn_id,
                          max_age_s=stream.max_connection_age_s)

    app.router.add_get(WS_API_PATH, hub.websocket(api_session, heartbeat=stream.api_ping_s))


__all__ = ["PRIVATE_WS_PATH", "WS_API_PATH", "BinanceStream", "FuturesSession",
           "mount_streams"]
