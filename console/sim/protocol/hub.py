"""The private event hub: the sim's events fanned out to every private WebSocket session.

One `EventHub` subscribes to the feed of every account that has an API key, collects the
events of one sim operation (they arrive synchronously, on the loop's thread) and, on the
next loop turn, has the venue's `PushSource` convert them once; each session then takes
the pushes its subscriptions want (`Session.offer`). A venue writes the conversion and
its session protocol (auth, subscribe, ping: `Session.on_text`); the hub does the rest:
the connection registry, the per-connection ordered outbound queue, disconnects, and the
push faults of the grammar (drop, duplicate, reorder, disconnect after auth), which apply
to pushes only, never to answers to the client's own requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, Protocol, TypeVar

from aiohttp import WSCloseCode, WSMsgType, web

from console.sim.core import SimExchange
from console.sim.events import SimEvent
from console.sim.protocol.faults import Faults, WsAction
from console.sim.protocol.keys import ApiKey, KeyStore
from console.sim.protocol.wire import JsonObj

log = logging.getLogger(__name__)

P = TypeVar("P")
P_co = TypeVar("P_co", covariant=True)

REORDER_HOLD_S: Final = 0.2
CLOSE_TIMEOUT_S: Final = 1.0


@dataclass(frozen=True, slots=True)
class Outgoing:
    text: str
    topic: str = ""  # "" for answers to the client (never faulted)


class PushSource(Protocol[P_co]):
    """The venue's view of the event stream."""

    def observe(self, event: SimEvent) -> None:
        """Every event of a keyed account, whether anyone listens or not."""
        ...

    def convert(self, account: str, events: Sequence[SimEvent]) -> Sequence[P_co]:
        """The pushes for one operation's events, in order."""
        ...


class Session(ABC, Generic[P]):
    """One client connection: its key (once authenticated), an ordered outbound queue,
    and the push faults. A venue subclass speaks the protocol (`on_text`) and formats
    pushes (`offer`)."""

    def __init__(self, hub: EventHub[P], ws: web.WebSocketResponse, request: web.Request,
                 conn_id: str) -> None:
        self.hub = hub
        self.ws = ws
        self.request = request
        self.conn_id = conn_id
        self.key: ApiKey | None = None
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue()
        self._held: Outgoing | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Future[None]] = set()

    # -- the venue's part ------------------------------------------------------------

    @abstractmethod
    def on_text(self, raw: str) -> None:
        """One text frame from the client."""

    @abstractmethod
    def offer(self, pushes: Sequence[P]) -> None:
        """Queue (with `push`) what this session's subscriptions want from a batch."""

    # -- shared ----------------------------------------------------------------------

    @property
    def account(self) -> str | None:
        return None if self.key is None else self.key.account

    def authenticated(self, key: ApiKey) -> None:
        """The session now belongs to `key`'s account: it receives its pushes, and the
        disconnect-after-auth fault (if any) is armed."""
        self.key = key
        self.hub.attach(self)
        after = self.hub.faults.ws_disconnect_after_ms
        if after is not None:
            self._timer = asyncio.get_running_loop().call_later(after / 1000,
                                                                self._disconnect_later)

    def _disconnect_later(self) -> None:
        self._timer = None
        task = asyncio.ensure_future(self.disconnect(self.hub.faults.ws_disconnect_mode))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reply(self, body: JsonObj) -> None:
        """An answer to the client's own request: never faulted."""
        self.queue.put_nowait(Outgoing(json.dumps(body)))

    def push(self, text: str, topic: str) -> None:
        """A push of `topic`: subject to the ws_* faults for that topic."""
        self.queue.put_nowait(Outgoing(text, topic))

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
        self.cancel_timers()
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


SessionFactory = Callable[["EventHub[P]", web.WebSocketResponse, web.Request, str],
                          Session[P]]


class EventHub(Generic[P]):
    """Sim feeds → the venue's pushes for every session of every keyed account."""

    def __init__(self, exchange: SimExchange, keys: KeyStore, faults: Faults,
                 clock: Callable[[], int], source: PushSource[P], *,
                 venue: str = "sim") -> None:
        self.exchange = exchange
        self.keys = keys
        self.faults = faults
        self.clock = clock
        self.source = source
        self.venue = venue
        self._serials = itertools.count(1)
        self._connections: set[Session[P]] = set()
        self._by_account: dict[str, set[Session[P]]] = {}
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

    def next_serial(self) -> int:
        """1, 2, 3...: one counter for connection ids and whatever a venue numbers."""
        return next(self._serials)

    @property
    def connections(self) -> frozenset[Session[P]]:
        return frozenset(self._connections)

    def add(self, session: Session[P]) -> None:
        self._connections.add(session)

    def attach(self, session: Session[P]) -> None:
        account = session.account
        assert account is not None
        self._by_account.setdefault(account, set()).add(session)

    def remove(self, session: Session[P]) -> None:
        session.cancel_timers()
        self._connections.discard(session)
        account = session.account
        if account is not None:
            self._by_account.get(account, set()).discard(session)

    # -- events ----------------------------------------------------------------------

    def _on_event(self, event: SimEvent) -> None:
        """Called by the sim after each operation, on the loop's thread."""
        self.source.observe(event)
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
            sessions = self._by_account.get(account)
            if not sessions:
                continue
            try:
                pushes = self.source.convert(account, events)
            except Exception:  # a bug here must not kill the loop; the gap is repairable
                log.exception("%s ws: could not convert %d events of %s", self.venue,
                              len(events), account)
                continue
            for session in list(sessions):
                session.offer(pushes)

    async def close_all(self) -> None:
        for session in list(self._connections):
            session.cancel_timers()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await session.ws.close(code=WSCloseCode.GOING_AWAY,
                                       message=b"server shutdown")

    def send_raw(self, text: str, account: str | None = None) -> int:
        """Queue `text` exactly as given (no conversion, no push fault) on every
        authenticated session (of `account`, or of every account); returns how many.
        For tests that must put a crafted push on the wire, malformed or hostile, as a
        real venue might send one: the venue's own conversion never writes one. Call it
        on the server's loop."""
        targets = [session for name, sessions in self._by_account.items()
                   if account is None or name == account for session in sessions]
        for session in targets:
            session.queue.put_nowait(Outgoing(text))
        return len(targets)

    async def disconnect(self, account: str | None = None, mode: str = "abort") -> int:
        """Cut the sessions (of `account`, or all) now; returns how many."""
        targets = [s for s in self._connections
                   if account is None or s.account == account]
        for session in targets:
            await session.disconnect(mode)
        return len(targets)

    # -- the aiohttp handler ---------------------------------------------------------

    def websocket(self, factory: SessionFactory[P], *, heartbeat: float | None = None
                  ) -> Callable[[web.Request], Awaitable[web.WebSocketResponse]]:
        """An aiohttp handler that serves one session made by `factory` per connection;
        `heartbeat`: send a ping frame that often (seconds), as venues that ping do."""
        async def handle(request: web.Request) -> web.WebSocketResponse:
            ws = web.WebSocketResponse(autoping=True, timeout=CLOSE_TIMEOUT_S,
                                       heartbeat=heartbeat)
            await ws.prepare(request)
            session = factory(self, ws, request, f"sim-{self.next_serial()}")
            self.add(session)
            writer = asyncio.create_task(session.write_loop())
            try:
                async for msg in ws:
                    if msg.type is WSMsgType.TEXT:
                        session.on_text(msg.data)
                    elif msg.type is WSMsgType.ERROR:
                        break
            finally:
                self.remove(session)
                writer.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writer
            return ws
        return handle
