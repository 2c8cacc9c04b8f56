"""The private WebSocket at /v5/private: auth, subscribe, ping, and pushes of the sim's
private events as Bybit `order`, `execution`, `position` and `wallet` messages.

Protocol (as Bybit and pybit speak it):

* ``{"op": "auth", "args": [key, expires, sign]}`` → ``{"success": true, "ret_msg": "",
  "op": "auth", "conn_id": ...}`` (or success false with a reason).
* ``{"op": "subscribe", "args": ["order", ...], "req_id": ...}`` → success true/false
  echoing ``req_id``; topics: order, execution, position, wallet and their categorised
  forms (order.linear, execution.spot, ...). Subscribing needs auth; an unknown topic
  fails the whole request (pybit then stops for good, as it does against Bybit).
* ``{"op": "ping"}`` → ``{"req_id": "", "op": "pong", "args": [ms], "conn_id": ...}``,
  the private-channel pong (pybit recognises it by ``op == "pong"``). Protocol-level
  pings are answered by aiohttp (autoping).
* Pushes: ``{"id", "topic", "creationTime", "data": [...]}``. Consecutive events of one
  topic from one sim operation travel in one message (Bybit batches executions the same
  way); a wallet message carries the whole UNIFIED wallet.

One `EventHub` subscribes to the feed of every account that has an API key, converts
events once, and fans them out to the connections authenticated on that account. Faults
(drop, duplicate, reorder, disconnect) are applied per connection on pushes only, never
on answers to the client's own requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import WSCloseCode, WSMsgType, web

from console.domain.model import Fill, Order, Position
from console.sim.bybit.auth import ApiKey, KeyRing, WsAuthError, verify_ws
from console.sim.bybit.faults import Faults, WsAction
from console.sim.bybit.shapes import JsonObj
from console.sim.bybit.views import BybitViews
from console.sim.core import SimExchange
from console.sim.events import EventKind, SimEvent

log = logging.getLogger(__name__)

BASE_TOPICS: Final = ("order", "execution", "position", "wallet")
TOPICS: Final = frozenset({
    *BASE_TOPICS, "order.linear", "order.spot", "execution.linear", "execution.spot",
    "position.linear"})
REORDER_HOLD_S: Final = 0.2
ACK_DELAY_MS: Final = 20
CLOSE_TIMEOUT_S: Final = 1.0
_KIND_TOPIC: Final = {EventKind.ORDER: "order", EventKind.EXECUTION: "execution",
                      EventKind.POSITION: "position", EventKind.BALANCE: "wallet"}


@dataclass(frozen=True, slots=True)
class Push:
    """One converted event: base topic, category ("" for wallet) and record."""

    topic: str
    category: str
    at: int
    data: JsonObj


@dataclass(frozen=True, slots=True)
class Outgoing:
    text: str
    topic: str = ""  # "" for answers to the client (never faulted)


class PrivateConnection:
    """One client connection: its auth, subscriptions and an ordered outbound queue."""

    def __init__(self, hub: EventHub, ws: web.WebSocketResponse, request: web.Request,
                 conn_id: str) -> None:
        self.hub = hub
        self.ws = ws
        self.request = request
        self.conn_id = conn_id
        self.key: ApiKey | None = None
        self.topics: set[str] = set()
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._held: Outgoing | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Future[None]] = set()

    # -- inbound ---------------------------------------------------------------------

    def on_text(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            self.reply({"success": False, "ret_msg": "error:invalid json",
                        "conn_id": self.conn_id})
            return
        if not isinstance(message, dict):
            self.reply({"success": False, "ret_msg": "error:invalid message",
                        "conn_id": self.conn_id})
            return
        op, req_id = message.get("op"), message.get("req_id")
        args = message.get("args")
        if op == "ping":
            reply: JsonObj = {"req_id": req_id if isinstance(req_id, str) else "",
                              "op": "pong", "args": [str(self.hub.clock())],
                              "conn_id": self.conn_id}
            self.reply(reply)
        elif op == "auth":
            self._auth(args, req_id)
        elif op in ("subscribe", "unsubscribe"):
            self._subscribe(op, args, req_id)
        else:
            self._answer(str(op), req_id, False, f"error:invalid op {op!r}")

    def _answer(self, op: str, req_id: object, success: bool, ret_msg: str = "") -> None:
        body: JsonObj = {"success": success, "ret_msg": ret_msg, "op": op,
                         "conn_id": self.conn_id}
        if isinstance(req_id, str | int):
            body["req_id"] = req_id
        self.reply(body)

    def _auth(self, args: object, req_id: object) -> None:
        if self.key is not None:
            self._answer("auth", req_id, False, "error:already authenticated")
            return
        try:
            key = verify_ws(args, keys=self.hub.keys, now_ms=self.hub.clock())
        except WsAuthError as exc:
            self._answer("auth", req_id, False, str(exc))
            return
        self.key = key
        self.hub.attach(self)
        self._answer("auth", req_id, True)
        after = self.hub.faults.ws_disconnect_after_ms
        if after is not None:
            self._timer = asyncio.get_running_loop().call_later(after / 1000,
                                                                self._disconnect_later)

    def _disconnect_later(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self.disconnect(self.hub.faults.ws_disconnect_mode))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _subscribe(self, op: str, args: object, req_id: object) -> None:
        """(Un)subscribe after `ack_delay_ms`: pybit records a subscription and its
        callback only after sending the request, so an answer (or a push) arriving
        within microseconds, as on loopback, would crash its thread (KeyError on the
        req_id). Real Bybit is never that fast; the delay restores that margin."""
        delay = self.hub.ack_delay_ms / 1000
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self._do_subscribe, op, args,
                                                  req_id)
        else:
            self._do_subscribe(op, args, req_id)

    def _do_subscribe(self, op: str, args: object, req_id: object) -> None:
        if self.key is None:
            self._answer(op, req_id, False, "Request not authorized")
            return
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            self._answer(op, req_id, False, "error:args must be a list of topics")
            return
        unknown = [a for a in args if a not in TOPICS]
        if unknown:
            self._answer(op, req_id, False, f"error:handler not found,topic:{unknown[0]}")
            return
        if op == "subscribe":
            self.topics.update(args)
        else:
            self.topics.difference_update(args)
        self._answer(op, req_id, True)

    # -- outbound --------------------------------------------------------------------

    def reply(self, body: JsonObj) -> None:
        self.queue.put_nowait(Outgoing(json.dumps(body)))

    def offer(self, pushes: list[Push]) -> None:
        """Queue the messages this connection's subscriptions want from one batch."""
        for topic, records, at in _group(pushes, self.topics):
            message = {"id": self.hub.message_id(), "topic": topic, "creationTime": at,
                       "data": records}
            self.queue.put_nowait(Outgoing(json.dumps(message), topic))

    async def write_loop(self) -> None:
        while True:
            if self._held is None:
                item = await self.queue.get()
            else:
                try:
                    item = await asyncio.wait_for(self.queue.get(), REORDER_HOLD_S)
                except TimeoutError:
                    held, self._held = self._held, None
                    await self._send(held)
                    continue
            if not item.topic:
                await self._send(item)
                continue
            action = self.hub.faults.ws_action(item.topic)
            if action is WsAction.DROP:
                continue
            if action is WsAction.REORDER and self._held is None:
                self._held = item
                continue
            await self._send(item)
            if action is WsAction.DUP:
                await self._send(item)
            if self._held is not None:
                held, self._held = self._held, None
                await self._send(held)

    async def _send(self, item: Outgoing) -> None:
        if not self.ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_str(item.text)

    async def disconnect(self, mode: str = "abort") -> None:
        """Cut the connection: `abort` drops TCP without a close frame (clients see a
        reset), `close` sends a close frame (a clean end)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if mode == "close":
            await self.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server closed")
            return
        transport = self.request.transport
        if transport is not None:
            transport.abort()

    def cancel_timers(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _group(pushes: list[Push], topics: set[str]) -> list[tuple[str, list[JsonObj], int]]:
    """Consecutive pushes of one topic become one message, under the topic name the
    connection subscribed with (all-in-one first, else the categorised one)."""
    out: list[tuple[str, list[JsonObj], int]] = []
    for push in pushes:
        name = push.topic if push.topic in topics else f"{push.topic}.{push.category}"
        if name not in topics:
            continue
        if out and out[-1][0] == name and push.topic != "wallet":
            out[-1][1].append(push.data)
        else:
            out.append((name, [push.data], push.at))
    return out


class EventHub:
    """Sim feeds → Bybit pushes for every connection of every keyed account."""

    def __init__(self, exchange: SimExchange, views: BybitViews, keys: KeyRing,
                 faults: Faults, clock: Callable[[], int], *, seed: int = 7,
                 ack_delay_ms: int = ACK_DELAY_MS) -> None:
        self.exchange = exchange
        self.ack_delay_ms = ack_delay_ms
        self.views = views
        self.keys = keys
        self.faults = faults
        self.clock = clock
        self._rng = random.Random(f"bybit-ws:{seed}")
        self._ids = itertools.count(1)
        self._connections: set[PrivateConnection] = set()
        self._by_account: dict[str, set[PrivateConnection]] = {}
        self._pending: dict[str, list[SimEvent]] = {}
        self._flush_scheduled = False
        self._unsubscribe: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        for account in sorted(self.keys.accounts):
            self._unsubscribe.append(self.exchange.subscribe(account, self._on_event))

    def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()

    def message_id(self) -> str:
        return f"{next(self._ids)}{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"

    @property
    def connections(self) -> frozenset[PrivateConnection]:
        return frozenset(self._connections)

    def add(self, conn: PrivateConnection) -> None:
        self._connections.add(conn)

    def attach(self, conn: PrivateConnection) -> None:
        assert conn.key is not None
        self._by_account.setdefault(conn.key.account, set()).add(conn)

    def remove(self, conn: PrivateConnection) -> None:
        conn.cancel_timers()
        self._connections.discard(conn)
        if conn.key is not None:
            self._by_account.get(conn.key.account, set()).discard(conn)

    # -- events ----------------------------------------------------------------------

    def _on_event(self, event: SimEvent) -> None:
        """Called by the sim after each operation, on the loop's thread."""
        if isinstance(event.payload, Order):
            self.views.note_order(event.payload)
        if not self._by_account.get(event.account):
            return
        self._pending.setdefault(event.account, []).append(event)
        if not self._flush_scheduled and self._loop is not None:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        pending, self._pending = self._pending, {}
        for account, events in pending.items():
            conns = self._by_account.get(account)
            if not conns:
                continue
            try:
                pushes = self._convert(account, events)
            except Exception:  # a bug here must not kill the loop; the gap is repairable
                log.exception("bybit ws: could not convert %d events of %s", len(events),
                              account)
                continue
            for conn in list(conns):
                conn.offer(pushes)

    def _convert(self, account: str, events: list[SimEvent]) -> list[Push]:
        views = self.views
        pushes: list[Push] = []
        wallet_done = False
        for event in events:
            payload: Any = event.payload
            topic = _KIND_TOPIC[event.kind]
            if isinstance(payload, Order):
                data = views.order(payload, stream=True)
            elif isinstance(payload, Fill):
                data = views.execution(payload, stream=True)
            elif isinstance(payload, Position):
                data = views.position(payload, stream=True)
            else:
                if wallet_done:
                    continue
                wallet_done = True
                data = views.wallet(account)
            category = "" if topic == "wallet" else str(data.get("category", ""))
            pushes.append(Push(topic, category, event.at, data))
        return pushes

    async def close_all(self) -> None:
        for conn in list(self._connections):
            conn.cancel_timers()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    async def disconnect(self, account: str | None = None, mode: str = "abort") -> int:
        targets = [c for c in self._connections
                   if account is None or (c.key is not None and c.key.account == account)]
        for conn in targets:
            await conn.disconnect(mode)
        return len(targets)

    # -- the aiohttp handler ---------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, timeout=CLOSE_TIMEOUT_S)
        await ws.prepare(request)
        conn = PrivateConnection(self, ws, request, f"sim-{next(self._ids)}")
        self.add(conn)
        writer = asyncio.create_task(conn.write_loop())
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    conn.on_text(msg.data)
                elif msg.type is WSMsgType.ERROR:
                    break
        finally:
            self.remove(conn)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws
