"""Bybit's private WebSocket (order, execution, position, wallet) over pybit, under the
shared reconnecting supervisor (`console.venues._common.supervisor`, which says why it
rebuilds, backs off and reports `ConnectionEvent(reconnected=True)`).

What is Bybit's, and pybit's, here:
* pybit's WebSocket connects inside its constructor and runs callbacks on its own thread
  (see `_common.thread_stream`: built on a worker thread, one callback that never
  raises, liveness polled every `ws_check_interval_s` because pybit dies silently).
* pybit's own reconnecting is off (`restart_on_error=False`, `retries=2`, the least pybit
  accepts: with 1 its connect loop gives up even after a success) and one callback
  (`callback_function`) receives every frame.
* The handshake: pybit logs in itself; we wait for the auth acknowledgement, then
  subscribe to `PRIVATE_TOPICS` and wait for that acknowledgement. A refused login
  (`AuthRefused`: "authentication was refused", naming the profile) or a refused
  subscription is DOWN and one ERROR line per episode, and is tried again only after
  `auth_retry_base_ms` (doubling up to `auth_retry_max_ms`); the connector hears of it
  (`on_refused`) and holds its REST calls back meanwhile. The login's expiry covers a
  local clock running behind Bybit's.
* Frames are parsed on the loop into domain events. Whatever is wrong with a frame
  (not JSON, not an object, a field of the wrong type or size) is a
  `MalformedVenueDataError` naming the field: the frame (or its one bad item) is
  logged, counted (`ws_malformed`) and skipped, never fatal; pybit's own frame
  decoding, which would stop the socket on a frame that is not a JSON object, is
  replaced (`PybitPrivateSocket._on_message`). Events outside the configured category
  and symbols are dropped.
* pybit is pointed at `config.ws_private_url` by a subclass whose `_connect` ignores the
  URL pybit composes (`PRIVATE_WSS` is module-global, so patching it would redirect every
  socket in the process).
* Closing the generator stops the socket and waits for pybit's threads (the
  run_forever thread, the ping thread and the custom-ping timer) to end.
* Disconnection protection (DCP): with `dcp_topic` set (`set_dcp`), every socket also
  subscribes that topic (dcp.future, dcp.spot, dcp.option), in a request of its own
  after the main one, so that a refusal (an account without DCP) leaves the order
  stream up; `dcp_live()` says whether the current socket holds it. Bybit cancels the
  product's orders once every connection subscribed to it has been gone for the window;
  `set_dcp(None)` unsubscribes first, so that a clean close is no loss (that unsubscribing
  spares the orders is the sim's reading: Bybit's pages do not say, UNVERIFIED).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import threading
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Protocol

from pybit.unified_trading import WebSocket
from websocket import WebSocketException

from console.domain.events import (
    FillEvent,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.errors import MalformedVenueDataError
from console.venues._common.errors import profile_label, scrub
from console.venues._common.supervisor import (
    AuthRefused,
    ConnectRefused,
    Received,
    ReconnectPolicy,
    RetryConnect,
    StreamSupervisor,
)
from console.venues._common.thread_stream import (
    CallbackInbox,
    ThreadedConnection,
    wait_for_event,
)
from console.venues.bybit.config import BybitConfig
from console.venues.bybit.errors import VENUE
from console.venues.bybit.parsing import (
    PRIVATE_TOPICS,
    envelope_creation_time,
    parse_stream_message,
)

log = logging.getLogger(__name__)
logging.getLogger("pybit").setLevel(logging.WARNING)

PYBIT_CONNECT_RETRIES: Final = 2
JOIN_TIMEOUT_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class SocketSpec:
    """What a socket factory needs; the key and secret never show in a repr."""

    url: str
    api_key: str = field(repr=False)
    api_secret: str = field(repr=False)
    on_message: Callable[[Any], None] = field(repr=False)
    ping_interval_s: float = 20.0
    ping_timeout_s: float = 10.0
    auth_expire_s: int = 1


class PrivateSocket(Protocol):
    """The part of pybit's WebSocket the supervisor uses (tests substitute a fake)."""

    exited: bool

    def is_connected(self) -> bool: ...

    def send_json(self, message: Mapping[str, Any]) -> None: ...

    def exit(self) -> None: ...

    def join(self, timeout: float) -> None: ...


SocketFactory = Callable[[SocketSpec], PrivateSocket]


class PybitPrivateSocket(WebSocket):  # type: ignore[misc]
    """pybit's private WebSocket, reaching `spec.url` instead of the URL pybit composes."""

    def __init__(self, spec: SocketSpec) -> None:
        self._target_url = spec.url
        super().__init__(
            channel_type="private", testnet=False, api_key=spec.api_key,
            api_secret=spec.api_secret, ping_interval=spec.ping_interval_s,
            ping_timeout=spec.ping_timeout_s, retries=PYBIT_CONNECT_RETRIES,
            restart_on_error=False, private_auth_expire=spec.auth_expire_s,
            callback_function=spec.on_message)

    def _connect(self, url: str) -> None:
        super()._connect(self._target_url)

    def _on_message(self, message: str) -> None:
        """pybit's own `_on_message` runs json.loads and `message.get` on whatever
        arrives: a frame that is not JSON, or JSON that is not an object, raises there,
        and pybit then stops the socket for good. Here such a frame goes to the callback
        as it is, to be refused as malformed (logged, counted) while the stream goes on."""
        try:
            decoded: Any = json.loads(message)
        except (ValueError, RecursionError):
            decoded = message
        if isinstance(decoded, Mapping) and (decoded.get("ret_msg") == "pong"
                                             or decoded.get("op") == "pong"):
            return  # pybit's custom pong, as pybit itself drops it
        self.callback(decoded)

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def exit(self) -> None:
        """Stop the socket so that its reader thread ends now, not at its next select
        timeout: pybit's exit closes the socket from this thread, and when this thread
        happens to read the server's close reply, the reader thread sleeps in select on a
        closed descriptor for up to the ping timeout. So: flag it to stop, send the close
        frame (the reply wakes the reader, which then tears down), abort the TCP stream
        if it does not, and only then let pybit tidy up."""
        self._timers = [t for t in (getattr(self, "custom_ping_timer", None),) if t]
        app = getattr(self, "ws", None)
        reader = getattr(self, "wst", None)
        if app is not None and isinstance(reader, threading.Thread) and reader.is_alive() \
                and reader is not threading.current_thread():
            self.exited = True
            self._stop_custom_ping_timer()
            app.keep_running = False
            conn = app.sock
            if conn is not None:
                with contextlib.suppress(Exception):
                    conn.send_close()
                reader.join(1.0)
                if reader.is_alive():
                    with contextlib.suppress(Exception):
                        conn.abort()
                    reader.join(1.0)
        super().exit()

    def join(self, timeout: float) -> None:
        """Wait for the threads pybit and websocket-client started for this socket."""
        deadline = time.monotonic() + timeout
        app = getattr(self, "ws", None)
        threads = [getattr(self, "wst", None), getattr(app, "ping_thread", None),
                   *getattr(self, "_timers", [])]
        for thread in threads:
            if isinstance(thread, threading.Thread) and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def __repr__(self) -> str:
        return f"<bybit private socket {self._target_url}>"


def pybit_socket(spec: SocketSpec) -> PrivateSocket:
    return PybitPrivateSocket(spec)


_KNOWN_TOPICS: Final = frozenset(PRIVATE_TOPICS)


def _quoted(value: object) -> str:
    """A venue's message text fit for a log line and an event detail: control
    characters and lone surrogates escaped (as repr does), at most 200 characters."""
    return repr(str(value))[1:-1][:200]


def _topic_label(message: object) -> str:
    """The telemetry label of a frame: one of our topics, else "other" (a label taken
    from venue text could be anything, of any length)."""
    topic = message.get("topic") if isinstance(message, Mapping) else None
    return topic if isinstance(topic, str) and topic in _KNOWN_TOPICS else "other"


DCP_REQ_ID: Final = "recon-dcp"


class _Handshake:
    """The auth and subscribe acknowledgements of one socket, set from pybit's thread;
    the DCP (un)subscriptions are told apart by their req_id."""

    def __init__(self) -> None:
        self.auth = threading.Event()
        self.auth_ok = False
        self.subscribed = threading.Event()
        self.subscribe_ok = False
        self.detail = ""
        self.dcp = threading.Event()
        self.dcp_ok = False
        self.dcp_detail = ""

    def note(self, message: Mapping[str, Any]) -> bool:
        """True when `message` was a handshake answer (and has been consumed)."""
        op = message.get("op")
        if op in ("subscribe", "unsubscribe") and message.get("req_id") == DCP_REQ_ID:
            self.dcp_ok = message.get("success") is True
            self.dcp_detail = _quoted(message.get("ret_msg", ""))
            self.dcp.set()
            return True
        if op == "auth":
            self.auth_ok = message.get("success") is True
            self.detail = _quoted(message.get("ret_msg", ""))
            self.auth.set()
            return True
        if op == "subscribe":
            self.subscribe_ok = message.get("success") is True
            self.detail = _quoted(message.get("ret_msg", ""))
            self.subscribed.set()
            return True
        return op in ("unsubscribe", "pong", "ping")


@dataclass(slots=True)
class _Current:
    """The socket in use and which DCP topic it holds ("" none)."""

    socket: PrivateSocket
    handshake: _Handshake
    dcp: str = ""

    def alive(self) -> bool:
        return self.socket.is_connected() and not self.socket.exited


class BybitPrivateStream:
    """One supervised private connection; `events()` is the VenuePort stream."""

    def __init__(self, config: BybitConfig, api_key: str, api_secret: str, *,
                 profile: str = "", telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] | None = None,
                 clock_offset_ms: Callable[[], int] = lambda: 0,
                 socket_factory: SocketFactory | None = None,
                 sleep: Callable[[float], Any] = asyncio.sleep,
                 rand: Callable[[], float] = random.random,
                 on_refused: Callable[[ConnectRefused], None] | None = None,
                 on_connected: Callable[[], None] | None = None) -> None:
        self.config = config
        self.profile = profile
        self._api_key = api_key
        self._api_secret = api_secret
        self._telemetry = telemetry
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._clock_offset_ms = clock_offset_ms
        self._factory = socket_factory or pybit_socket
        self._sleep = sleep
        self._rand = rand
        self._stopping = threading.Event()
        self._on_refused = on_refused
        self._on_connected = on_connected
        self.dcp_topic: str | None = None
        """The DCP topic every socket subscribes (None: none); see `set_dcp`."""
        self._current: _Current | None = None
        self._dcp_lock = threading.Lock()
        self.policy = ReconnectPolicy(config.ws_reconnect_attempts,
                                      config.ws_reconnect_base_ms, config.ws_reconnect_max_ms,
                                      refused_base_ms=config.auth_retry_base_ms,
                                      refused_max_ms=config.auth_retry_max_ms)

    def __repr__(self) -> str:
        return f"BybitPrivateStream(account={self.config.account!r}, profile={self.profile!r})"

    # -- the generator ---------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[VenueEvent, None]:
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=2,
                                      thread_name_prefix=f"bybit-ws-{self.config.account}")
        self._stopping.clear()
        supervisor = StreamSupervisor(
            partial(self._open, loop, executor), self._parse, venue=VENUE,
            account=self.config.account, policy=self.policy, telemetry=self._telemetry,
            clock_ms=self._clock_ms, sleep=self._sleep, rand=self._rand, scrub=self._scrub,
            on_refused=self._on_refused, on_connected=self._on_connected)
        events = supervisor.events()
        try:
            async for event in events:
                yield event
        finally:
            self._stopping.set()  # a socket being built gives up at once
            await events.aclose()
            await asyncio.to_thread(executor.shutdown, True)

    # -- disconnection protection ----------------------------------------------------------

    def dcp_live(self) -> bool:
        """The current socket is up and holds the wanted DCP topic."""
        current = self._current
        return bool(self.dcp_topic) and current is not None and current.alive() \
            and current.dcp == self.dcp_topic

    async def set_dcp(self, topic: str | None) -> bool:
        """Want `topic` (None: no DCP) on every socket from now on, and bring the current
        socket in line (waiting for Bybit's answer, at most the handshake timeout).
        Returns `dcp_live()`; a refusal or a missing answer is logged, never raised."""
        self.dcp_topic = topic
        await asyncio.to_thread(self._sync_dcp)
        return self.dcp_live()

    def _sync_dcp(self) -> None:
        """Runs on a worker thread: (un)subscribe the current socket as `dcp_topic` says."""
        with self._dcp_lock:
            current = self._current
            if current is None or not current.alive():
                return
            wanted = self.dcp_topic or ""
            if current.dcp and current.dcp != wanted \
                    and self._dcp_request(current, "unsubscribe", current.dcp):
                current.dcp = ""
            if wanted and not current.dcp and self._dcp_request(current, "subscribe", wanted):
                current.dcp = wanted

    def _dcp_request(self, current: _Current, op: str, topic: str) -> bool:
        handshake = current.handshake
        handshake.dcp.clear()
        try:
            current.socket.send_json({"op": op, "req_id": DCP_REQ_ID, "args": [topic]})
        except (WebSocketException, OSError, AttributeError) as exc:  # closed meanwhile
            log.warning("bybit %s: could not %s %s: %s", self.config.account, op, topic,
                        self._scrub(str(exc)))
            return False
        timeout = self.config.ws_handshake_timeout_s
        if not wait_for_event(handshake.dcp, timeout, self._stopping):
            log.warning("bybit %s: no answer to the %s of %s within %g s",
                        self.config.account, op, topic, timeout)
            return False
        if not handshake.dcp_ok:
            log.warning("bybit %s: Bybit refused the %s of %s (%s): disconnection "
                        "protection needs DCP enabled on the account", self.config.account,
                        op, topic, self._scrub(handshake.dcp_detail))
            return False
        return True

    def _parse(self, frame: Received) -> list[VenueEvent]:
        """One frame as events. Every problem with it is a `MalformedVenueDataError`
        (the parsers raise nothing else): the frame, or the one bad item of it, is
        logged without its content (a venue's text may be anything) and counted
        (ws_malformed), and the stream goes on."""
        message = frame.message
        if isinstance(message, Mapping) and "topic" not in message:
            log.debug("bybit %s: ignoring control frame (op %.40r)", self.config.account,
                      message.get("op"))
            return []
        if isinstance(message, Mapping) and isinstance(message.get("topic"), str) \
                and message["topic"].startswith("dcp"):
            return []  # DCP status, if Bybit pushes any: nothing for the ledger
        topic = _topic_label(message)
        try:
            created = envelope_creation_time(message)
            events, problems = parse_stream_message(message, account=self.config.account,
                                                    received_at=frame.received_at)
        except MalformedVenueDataError as exc:
            created, events, problems = 0, [], [str(exc)]
        if created:
            latency = frame.received_at + self._clock_offset_ms() - created
            self._telemetry.observe_latency("ws", float(max(0, latency)), (("topic", topic),))
        for problem in problems:
            log.warning("bybit %s: dropped a private-stream item: %s", self.config.account,
                        self._scrub(problem))
            self._telemetry.count("ws_malformed", (("topic", topic),))
        return [e for e in events if self._in_scope(e)]

    def _in_scope(self, event: VenueEvent) -> bool:
        """Orders, fills and positions of the configured category (and symbols); balances
        are account-wide."""
        if isinstance(event, OrderEvent):
            category, symbol = event.order.category, event.order.symbol
        elif isinstance(event, FillEvent):
            category, symbol = event.fill.category, event.fill.symbol
        elif isinstance(event, PositionEvent):
            category, symbol = event.position.category, event.position.symbol
        else:
            return True
        symbols = self.config.symbols
        return category is self.config.category and (not symbols or symbol in symbols)

    # -- one connection --------------------------------------------------------------------

    async def _open(self, loop: asyncio.AbstractEventLoop, executor: ThreadPoolExecutor,
                    generation: int) -> ThreadedConnection:
        """Build a socket on a worker thread; if the supervisor is cancelled meanwhile,
        wait for the build to end (it closes what it built once `_stopping` is set)."""
        inbox = CallbackInbox(loop, label=f"bybit {self.config.account} socket {generation}",
                              venue=VENUE, clock_ms=self._clock_ms,
                              telemetry=self._telemetry)
        future: Future[PrivateSocket] = executor.submit(self._build, inbox, generation)
        try:
            socket = await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self._stopping.set()
            built = asyncio.wrap_future(future)
            # read its outcome even if this wait is cancelled too (no "never retrieved")
            built.add_done_callback(lambda f: f.cancelled() or f.exception())
            with contextlib.suppress(Exception):
                socket = await asyncio.shield(built)
                await asyncio.shield(loop.run_in_executor(executor, self._close, socket))
            raise
        return ThreadedConnection(
            inbox, alive=lambda: socket.is_connected() and not socket.exited,
            close=partial(self._close, socket), executor=executor,
            check_interval_s=self.config.ws_check_interval_s, sleep=self._sleep)

    def _build(self, inbox: CallbackInbox, generation: int) -> PrivateSocket:
        """Runs on a worker thread: connect, log in, subscribe. Raises RetryConnect or
        ConnectRefused."""
        config = self.config
        handshake = _Handshake()

        def consume(message: Any) -> bool:
            return isinstance(message, Mapping) and "topic" not in message \
                and handshake.note(message)

        on_message = inbox.callback(consume)
        offset_s = max(0, self._clock_offset_ms()) / 1000
        spec = SocketSpec(config.ws_private_url, self._api_key, self._api_secret, on_message,
                          ping_interval_s=config.ws_heartbeat_s,
                          ping_timeout_s=config.ws_ping_timeout_s,
                          auth_expire_s=1 + math.ceil(offset_s))
        try:
            socket = self._factory(spec)
        except Exception as exc:
            raise RetryConnect(f"could not connect to {config.ws_private_url}: "
                               f"{self._scrub(str(exc))}") from exc
        try:
            timeout = config.ws_handshake_timeout_s
            if not wait_for_event(handshake.auth, timeout, self._stopping):
                raise RetryConnect(f"no answer to the login within {timeout:g} s")
            if not handshake.auth_ok:
                raise AuthRefused(f"{VENUE}: authentication was refused at the private "
                                  f"stream login ({self._scrub(handshake.detail)}): "
                                  f"check the API key/secret of "
                                  f"{profile_label(self.profile)} and the system clock")
            socket.send_json({"op": "subscribe", "req_id": f"recon-{generation}",
                              "args": list(PRIVATE_TOPICS)})
            if not wait_for_event(handshake.subscribed, timeout, self._stopping):
                raise RetryConnect(f"no answer to the subscription within {timeout:g} s")
            if not handshake.subscribe_ok:
                raise ConnectRefused(f"{VENUE}: subscription to {', '.join(PRIVATE_TOPICS)} "
                                     f"refused: {self._scrub(handshake.detail)}")
            if not socket.is_connected():
                raise RetryConnect("the connection closed during the handshake")
            if self._stopping.is_set():
                raise RetryConnect("the stream is closing")
            self._current = _Current(socket, handshake)
            self._sync_dcp()
        except (RetryConnect, ConnectRefused):
            self._close(socket)
            raise
        except Exception as exc:
            self._close(socket)
            raise RetryConnect(f"handshake failed: {self._scrub(str(exc))}") from exc
        return socket

    def _close(self, socket: PrivateSocket) -> None:
        """Stop a socket and wait for its threads (runs on a worker thread)."""
        if self._current is not None and self._current.socket is socket:
            self._current = None
        try:
            socket.exit()
        except Exception:
            log.exception("bybit: closing a private socket failed")
        socket.join(JOIN_TIMEOUT_S)

    def _scrub(self, text: str) -> str:
        return scrub(text, (self._api_secret, self._api_key))
