"""The WebSocket ``/ws/api/v2``: one JSON-RPC request per frame, answered on the same
connection with the request's id, plus subscription notifications and heartbeats.

Every request runs through the same steps as an HTTP one, in order: latency fault,
authentication (a private method needs ``public/auth`` on this connection earlier, or an
``access_token`` parameter: 13009 otherwise), permission (13021), the credit pool
(10028, after which the session is terminated: the answer is sent, then the connection
is closed), an injected code (``retcode=10028`` terminates too), the handler, and the
after-place faults of placing methods (cut: the order is applied and the connection
dropped without an answer; hang: the answer is held; late create: dropped now, applied
later). Requests of one connection are handled one at a time, in arrival order.

The session also keeps its subscriptions, its heartbeat, its cancel-on-disconnect flag
and the orders created on it; `on_closed` (called by the front-end when the connection
has ended, however it ended) cancels those orders when the flag is on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from console.domain.model import Order
from console.sim.core import SimExchange
from console.sim.deribit import envelope
from console.sim.deribit.auth import TokenStore
from console.sim.deribit.codes import (
    FORBIDDEN,
    INTERNAL_SERVER_ERROR,
    METHOD_NOT_FOUND,
    TOO_MANY_REQUESTS,
    UNAUTHORIZED,
    DeribitError,
)
from console.sim.deribit.connection import DeadMan
from console.sim.deribit.limits import BUCKET, CreditPool
from console.sim.deribit.rpc import Context, Method
from console.sim.deribit.subscriptions import Channel, Push
from console.sim.deribit.views import Views
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.faults import AfterPlace, Faults
from console.sim.protocol.hub import EventHub, Outgoing, Session
from console.sim.protocol.keys import ApiKey

log = logging.getLogger(__name__)

WS_PATH: Final = "/ws/api/v2"
SESSION_KEY: Final = web.RequestKey("deribit_session", object)
DRAIN_POLL_S: Final = 0.005
HEARTBEAT: Final = {"jsonrpc": "2.0", "method": "heartbeat",
                    "params": {"type": "test_request"}}


@dataclass(frozen=True, slots=True)
class Runtime:
    """What every session of one front-end shares."""

    exchange: SimExchange
    views: Views
    methods: Mapping[str, Method]
    tokens: TokenStore
    pool: CreditPool
    faults: Faults
    clock: Callable[[], int]
    dead_man: DeadMan
    parse_channel: Callable[[str], Channel | None]
    heartbeat_unit_ms: int
    inactivity_ms: int


class DeribitSession(Session[Push]):
    def __init__(self, hub: EventHub[Push], ws: web.WebSocketResponse,
                 request: web.Request, conn_id: str, runtime: Runtime) -> None:
        super().__init__(hub, ws, request, conn_id)
        self.runtime = runtime
        self.channels: dict[str, Channel] = {}
        self.cancel_on_disconnect = False
        self.created: set[str] = set()
        self.heartbeat_ms: int | None = None
        self.next_beat_ms = 0
        self.beat_pending = False
        self.last_seen_ms = runtime.clock()
        self.closing = False
        self.logged_out = False
        self.inbox: asyncio.Queue[str] = asyncio.Queue()
        self.worker = asyncio.ensure_future(self._work())

    # -- the frame loop ------------------------------------------------------------------

    def on_text(self, raw: str) -> None:
        self.last_seen_ms = self.runtime.clock()
        self.inbox.put_nowait(raw)

    async def _work(self) -> None:
        while True:
            raw = await self.inbox.get()
            try:
                await self._handle(raw)
            except Exception:  # one bad frame must not end the connection's loop
                log.exception("deribit ws %s: a frame failed", self.conn_id)

    def _answer(self, rpc_id: object, us_in: int, result: object = None,
                error: ProtocolError | None = None) -> None:
        us_out = self.runtime.clock() * 1000
        body = envelope.error_body(rpc_id, error, us_in, us_out) if error is not None \
            else envelope.result_body(rpc_id, result, us_in, us_out)
        self.queue.put_nowait(_text(envelope.dumps(body)))

    async def _handle(self, raw: str) -> None:
        runtime = self.runtime
        now = runtime.clock()
        us_in = now * 1000
        try:
            rpc_id, name, params = _request(raw)
        except DeribitError as exc:
            self._answer(None, us_in, error=exc)
            return
        method = runtime.methods.get(name)
        if method is None:
            self._answer(rpc_id, us_in, error=DeribitError(METHOD_NOT_FOUND))
            return
        delay = runtime.faults.latency_ms(method.path)
        if delay:
            await asyncio.sleep(delay / 1000)
            now = runtime.clock()
        try:
            ctx = self._context(method, params, now)
        except DeribitError as exc:
            self._answer(rpc_id, us_in, error=exc)
            if exc.code == TOO_MANY_REQUESTS:
                self.terminate()
            return
        await self._dispatch(method, ctx, rpc_id, us_in)

    def _context(self, method: Method, params: dict[str, Any], now: int) -> Context:
        runtime = self.runtime
        key = self.key
        token = params.pop("access_token", None)
        if isinstance(token, str) and token:
            key = runtime.tokens.bearer(token, now)
            if self.key is None:
                self.login(key)
        if method.private:
            if key is None:
                raise DeribitError(UNAUTHORIZED)
            if not key.allows(method.permission):
                raise DeribitError(FORBIDDEN)
        caller = key.account if key is not None else f"conn:{self.conn_id}"
        quota = runtime.pool.take(caller, BUCKET, now, runtime.pool.cost)
        if quota.exceeded:
            raise DeribitError(TOO_MANY_REQUESTS)
        if method.private:
            code = runtime.faults.ret_code(method.path)
            if code is not None:
                raise DeribitError(code)
        account = key.account if key is not None and method.private else ""
        return Context(account, params, now, self)

    async def _dispatch(self, method: Method, ctx: Context, rpc_id: object,
                        us_in: int) -> None:
        faults = self.runtime.faults
        if method.places:
            late_ms = faults.late_create(method.path)
            if late_ms is not None:
                asyncio.get_running_loop().call_later(late_ms / 1000, self._run, method, ctx)
                self._abort()
                return
        result, error = self._run(method, ctx)
        if method.places:
            after = faults.after_place(method.path)
            if after is AfterPlace.CUT:
                self._abort()
                return
            if after is AfterPlace.HANG:
                await asyncio.sleep(faults.hang_ms / 1000)
        self._answer(rpc_id, us_in, result, error)
        if error is not None and error.code == TOO_MANY_REQUESTS:
            self.terminate()

    def _run(self, method: Method, ctx: Context) -> tuple[object, ProtocolError | None]:
        try:
            return method.handler(ctx), None
        except ProtocolError as exc:
            return None, exc
        except Exception as exc:  # the boundary: the client gets an answer, never a trace
            error = envelope.translate(exc)
            if error is None:
                log.exception("deribit ws: %s failed", method.name)
                error = DeribitError(INTERNAL_SERVER_ERROR)
            return None, error

    def _abort(self) -> None:
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    # -- session state -------------------------------------------------------------------

    def login(self, key: ApiKey) -> None:
        if self.key is not None:
            return
        self.authenticated(key)
        if key.account in self.runtime.dead_man.accounts:
            self.cancel_on_disconnect = True

    def logout(self) -> None:
        """private/logout: close after the answer, without cancel-on-disconnect."""
        self.logged_out = True
        self.terminate()

    def terminate(self) -> None:
        """Close the connection once the answers queued so far are written."""
        if self.closing:
            return
        self.closing = True
        task = asyncio.ensure_future(self._close_when_drained())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_when_drained(self) -> None:
        while not self.queue.empty():
            await asyncio.sleep(DRAIN_POLL_S)
        await asyncio.sleep(DRAIN_POLL_S)
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close()

    def subscribe(self, names: Sequence[str], *, private: bool) -> list[str]:
        done = []
        for name in names:
            channel = self.runtime.parse_channel(name)
            if channel is None or not private:
                continue
            self.channels[name] = channel
            done.append(name)
        return done

    def unsubscribe(self, names: Sequence[str] | None) -> list[str]:
        if names is None:
            gone = list(self.channels)
            self.channels.clear()
            return gone
        return [name for name in names if self.channels.pop(name, None) is not None]

    def offer(self, pushes: Sequence[Push]) -> None:
        for name, channel in self.channels.items():
            for data in channel.messages(pushes):
                body = {"jsonrpc": "2.0", "method": "subscription",
                        "params": {"channel": name, "data": data}}
                self.push(envelope.dumps(body), name)

    def note_created(self, order: Order) -> None:
        self.created.add(order.venue_order_id)

    # -- heartbeats, inactivity, the end ----------------------------------------------------

    def start_heartbeat(self, interval_s: int, now_ms: int) -> None:
        self.heartbeat_ms = interval_s * self.runtime.heartbeat_unit_ms
        self.next_beat_ms = now_ms + self.heartbeat_ms
        self.beat_pending = False

    def stop_heartbeat(self) -> None:
        self.heartbeat_ms = None
        self.beat_pending = False

    def heartbeat_answered(self) -> None:
        self.beat_pending = False

    def tick(self, now_ms: int) -> None:
        """One turn of the front-end's ticker: heartbeats due, inactivity."""
        if self.closing:
            return
        if self.heartbeat_ms is not None and now_ms >= self.next_beat_ms:
            if self.beat_pending:
                self.closing = True
                task = asyncio.ensure_future(self.disconnect("close"))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
                return
            self.beat_pending = True
            self.next_beat_ms = now_ms + self.heartbeat_ms
            self.queue.put_nowait(_text(json.dumps(HEARTBEAT)))
        if self.cancel_on_disconnect and \
                now_ms - self.last_seen_ms >= self.runtime.inactivity_ms:
            self.terminate()

    def on_closed(self) -> int:
        """The connection has ended: fire cancel-on-disconnect; how many it cancelled."""
        self.worker.cancel()
        if not self.cancel_on_disconnect or self.logged_out or self.key is None:
            return 0
        account = self.key.account
        exchange = self.runtime.exchange
        cancelled = 0
        for order_id in sorted(self.created):
            order = exchange.order_by_venue_id(account, order_id)
            if order is None or not order.status.is_active:
                continue
            self.runtime.views.cancel_reasons[order_id] = "cancel_on_disconnect"
            exchange.cancel_order(account, order_id)
            cancelled += 1
        return cancelled


def _text(text: str) -> Outgoing:
    """An answer or heartbeat: never subject to the push faults."""
    return Outgoing(text)


def _request(raw: str) -> tuple[object, str, dict[str, Any]]:
    body = envelope.parse_json(raw)
    rpc_id, params = envelope.rpc_params(body, None)
    name = body.get("method")
    if not isinstance(name, str) or not name:
        raise DeribitError(METHOD_NOT_FOUND)
    return rpc_id, name, dict(params)
