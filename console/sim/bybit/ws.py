"""The private WebSocket at /v5/private: auth, subscribe, ping, and pushes of the sim's
private events as Bybit `order`, `execution`, `position` and `wallet` messages.

Protocol (as Bybit and pybit speak it):

* ``{"op": "auth", "args": [key, expires, sign]}`` → ``{"success": true, "ret_msg": "",
  "op": "auth", "conn_id": ...}`` (or success false with a reason).
* ``{"op": "subscribe", "args": ["order", ...], "req_id": ...}`` → success true/false
  echoing ``req_id``; topics: order, execution, position, wallet and their categorised
  forms (order.linear, order.inverse, execution.spot, position.inverse, ...), and the
  disconnection-protection topics dcp.future, dcp.spot, dcp.option
  (`console.sim.bybit.dcp`: no pushes, the subscription itself arms the product's
  countdown). Subscribing needs auth; an unknown topic fails the whole request (pybit
  then stops for good, as it does against Bybit).
* ``{"op": "ping"}`` → ``{"req_id": "", "op": "pong", "args": [ms], "conn_id": ...}``,
  the private-channel pong (pybit recognises it by ``op == "pong"``). Protocol-level
  pings are answered by aiohttp (autoping).
* Pushes: ``{"id", "topic", "creationTime", "data": [...]}``. Consecutive events of one
  topic from one sim operation travel in one message (Bybit batches executions the same
  way); a wallet message carries the whole UNIFIED wallet.

The fan-out, the outbound queue and the push faults (drop, duplicate, reorder,
disconnect) are the shared event hub's (`console.sim.protocol.hub`); this module is the
conversion (`BybitStream`) and the session protocol (`PrivateConnection`).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

from console.domain.model import Fill, Order, Position
from console.sim.bybit.auth import WsAuthError, verify_ws
from console.sim.bybit.dcp import TOPIC_PRODUCT, DcpWatch
from console.sim.bybit.views import BybitViews
from console.sim.events import EventKind, SimEvent
from console.sim.protocol.hub import EventHub, Session
from console.sim.protocol.wire import JsonObj

BASE_TOPICS: Final = ("order", "execution", "position", "wallet")
_CATEGORISED: Final = {"order": ("linear", "inverse", "spot", "option"),
                       "execution": ("linear", "inverse", "spot", "option"),
                       "position": ("linear", "inverse", "option")}
"""docs/v5/websocket/private/order, execution, position: the all-in-one topic and one
per category (option topics carry nothing here: the sim lists no options)."""
TOPICS: Final = frozenset({
    *BASE_TOPICS, *(f"{topic}.{category}" for topic, categories in _CATEGORISED.items()
                    for category in categories), *TOPIC_PRODUCT})
ACK_DELAY_MS: Final = 20
_KIND_TOPIC: Final = {EventKind.ORDER: "order", EventKind.EXECUTION: "execution",
                      EventKind.POSITION: "position", EventKind.BALANCE: "wallet"}


@dataclass(frozen=True, slots=True)
class Push:
    """One converted event: base topic, category ("" for wallet) and record."""

    topic: str
    category: str
    at: int
    data: JsonObj


class BybitStream:
    """Sim events → Bybit records (the hub's push source), and Bybit's message ids."""

    def __init__(self, views: BybitViews, *, seed: int = 7,
                 ack_delay_ms: int = ACK_DELAY_MS) -> None:
        self.views = views
        self.ack_delay_ms = ack_delay_ms
        self._rng = random.Random(f"bybit-ws:{seed}")

    def observe(self, event: SimEvent) -> None:
        if isinstance(event.payload, Order):
            self.views.note_order(event.payload)

    def convert(self, account: str, events: Sequence[SimEvent]) -> list[Push]:
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

    def message_id(self, serial: int) -> str:
        return f"{serial}{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"


class PrivateConnection(Session[Push]):
    """One client connection speaking Bybit's private-stream protocol."""

    def __init__(self, hub: EventHub[Push], ws: web.WebSocketResponse, request: web.Request,
                 conn_id: str, stream: BybitStream, *, dcp: DcpWatch | None = None) -> None:
        super().__init__(hub, ws, request, conn_id)
        self.stream = stream
        self.dcp = dcp
        self.topics: set[str] = set()

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
        self.authenticated(key)
        self._answer("auth", req_id, True)

    def _subscribe(self, op: str, args: object, req_id: object) -> None:
        """(Un)subscribe after `ack_delay_ms`: pybit records a subscription and its
        callback only after sending the request, so an answer (or a push) arriving
        within microseconds, as on loopback, would crash its thread (KeyError on the
        req_id). Real Bybit is never that fast; the delay restores that margin."""
        delay = self.stream.ack_delay_ms / 1000
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
        account = self.account
        # a connection that ended while this answer waited guards nothing
        if self.dcp is not None and account is not None and self in self.hub.connections:
            for topic in args:
                if topic in TOPIC_PRODUCT:
                    if op == "subscribe":
                        self.dcp.subscribed(self, account, topic)
                    else:
                        self.dcp.unsubscribed(self, account, topic)
        self._answer(op, req_id, True)

    # -- outbound --------------------------------------------------------------------

    def offer(self, pushes: Sequence[Push]) -> None:
        """Queue the messages this connection's subscriptions want from one batch."""
        for topic, records, at in _group(pushes, self.topics):
            message = {"id": self.stream.message_id(self.hub.next_serial()), "topic": topic,
                       "creationTime": at, "data": records}
            self.push(json.dumps(message), topic)


def _group(pushes: Sequence[Push], topics: set[str]) -> list[tuple[str, list[JsonObj], int]]:
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
