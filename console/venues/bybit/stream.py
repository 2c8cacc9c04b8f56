"""The private WebSocket (order, execution, position, wallet) with a supervisor on the loop.

pybit's WebSocket connects inside its constructor, runs callbacks on its own thread and,
on an auth failure or any exception escaping a callback, stops for good without telling
anyone. So:
* pybit's own reconnecting is off (`restart_on_error=False`, `retries=2`, the least pybit
  accepts: with 1 its connect loop gives up even after a success) and one callback
  (`callback_function`) receives every frame; it never raises (everything is caught and
  logged) and only hands the frame to the loop with `call_soon_threadsafe`. Frames are
  parsed on the loop into domain events; a malformed one is logged and counted, never
  fatal.
* A supervisor task on the loop polls `is_connected()`/`exited` every
  `ws_check_interval_s`; when the socket dies it builds a new one (first at once, then
  with exponential backoff and full jitter), waits for the auth and subscribe
  acknowledgements and reports `ConnectionEvent(CONNECTED, reconnected=True)`, so the
  engine reconciles at once. After `ws_reconnect_attempts` failures it reports DOWN and
  keeps trying at the maximum backoff; a refused login reports DOWN naming the profile and
  ends the stream (retrying with wrong keys cannot help).
* pybit is pointed at `config.ws_private_url` by a subclass whose `_connect` ignores the
  URL pybit composes (`PRIVATE_WSS` is module-global, so patching it would redirect every
  socket in the process).
* Closing the generator stops the socket and waits for pybit's threads (the
  run_forever thread, the ping thread and the custom-ping timer) to end.
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
from typing import Any, Final, Protocol

from pybit.unified_trading import WebSocket

from console.domain.events import (
    ConnectionEvent,
    ConnectionState,
    FillEvent,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.errors import MalformedVenueDataError
from console.venues.bybit.config import BybitConfig
from console.venues.bybit.errors import VENUE, scrub
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


class _Handshake:
    """The auth and subscribe acknowledgements of one socket, set from pybit's thread."""

    def __init__(self) -> None:
        self.auth = threading.Event()
        self.auth_ok = False
        self.subscribed = threading.Event()
        self.subscribe_ok = False
        self.detail = ""

    def note(self, message: Mapping[str, Any]) -> bool:
        """True when `message` was a handshake answer (and has been consumed)."""
        op = message.get("op")
        if op == "auth":
            self.auth_ok = message.get("success") is True
            self.detail = str(message.get("ret_msg", ""))
            self.auth.set()
            return True
        if op == "subscribe":
            self.subscribe_ok = message.get("success") is True
            self.detail = str(message.get("ret_msg", ""))
            self.subscribed.set()
            return True
        return op in ("unsubscribe", "pong", "ping")


class _Retry(Exception):
    """This attempt failed; another may work."""


class _Fatal(Exception):
    """No attempt can work (refused login, refused topics): report DOWN and stop."""


@dataclass(frozen=True, slots=True)
class _Frame:
    message: Any
    received_at: int


_END: Final = object()


class BybitPrivateStream:
    """One supervised private connection; `events()` is the VenuePort stream."""

    def __init__(self, config: BybitConfig, api_key: str, api_secret: str, *,
                 profile: str = "", telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] | None = None,
                 clock_offset_ms: Callable[[], int] = lambda: 0,
                 socket_factory: SocketFactory | None = None,
                 sleep: Callable[[float], Any] = asyncio.sleep,
                 rand: Callable[[], float] = random.random) -> None:
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
        self._generation = 0

    def __repr__(self) -> str:
        return f"BybitPrivateStream(account={self.config.account!r}, profile={self.profile!r})"

    # -- the generator ---------------------------------------------------------------------

    async def events(self) -> AsyncGenerator[VenueEvent, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        executor = ThreadPoolExecutor(max_workers=2,
                                      thread_name_prefix=f"bybit-ws-{self.config.account}")
        self._stopping.clear()
        supervisor = asyncio.create_task(self._supervise(loop, queue, executor),
                                         name=f"bybit-ws-supervisor-{self.config.account}")
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, ConnectionEvent):
                    yield item
                elif isinstance(item, _Frame):
                    for event in self._parse(item):
                        yield event
        finally:
            self._stopping.set()
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
            await asyncio.to_thread(executor.shutdown, True)

    def _parse(self, frame: _Frame) -> list[VenueEvent]:
        message = frame.message
        if not isinstance(message, Mapping) or "topic" not in message:
            log.debug("bybit %s: ignoring control frame %r", self.config.account, message)
            return []
        created = envelope_creation_time(message)
        if created:
            latency = frame.received_at + self._clock_offset_ms() - created
            self._telemetry.observe_latency("ws", float(max(0, latency)),
                                            (("topic", str(message.get("topic"))),))
        try:
            events, problems = parse_stream_message(message, account=self.config.account,
                                                    received_at=frame.received_at)
        except MalformedVenueDataError as exc:
            events, problems = [], [str(exc)]
        for problem in problems:
            log.warning("bybit %s: dropped a private-stream item: %s", self.config.account,
                        problem)
            self._telemetry.count("ws_malformed", (("topic", str(message.get("topic"))),))
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

    # -- the supervisor --------------------------------------------------------------------

    async def _supervise(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object],
                         executor: ThreadPoolExecutor) -> None:
        config = self.config
        attempts = config.ws_reconnect_attempts
        failures = 0
        connected_before = False
        socket: PrivateSocket | None = None

        def emit(state: ConnectionState, *, detail: str = "", reconnected: bool = False,
                 attempt: int = 0) -> None:
            queue.put_nowait(ConnectionEvent(state, reconnected=reconnected, detail=detail,
                                             at=self._clock_ms(), attempt=attempt))

        emit(ConnectionState.CONNECTING)
        try:
            while True:
                try:
                    socket = await self._open(loop, queue, executor)
                except _Fatal as exc:
                    emit(ConnectionState.DOWN, detail=str(exc), attempt=failures + 1)
                    queue.put_nowait(_END)
                    return
                except _Retry as exc:
                    failures += 1
                    log.warning("bybit %s: private stream attempt %d failed: %s",
                                config.account, failures, exc)
                    if failures == attempts:
                        emit(ConnectionState.DOWN, attempt=failures,
                             detail=f"{failures} attempts failed, still trying: {exc}")
                    elif failures < attempts:
                        emit(ConnectionState.RECONNECTING, attempt=failures, detail=str(exc))
                    await self._sleep(self.backoff_s(failures))
                    continue
                # after a loss, or after failed attempts: something may have been missed
                emit(ConnectionState.CONNECTED, reconnected=connected_before or failures > 0,
                     attempt=failures)
                connected_before, failures = True, 0
                await self._watch(socket)
                log.warning("bybit %s: private stream lost; reconnecting", config.account)
                self._telemetry.count("ws_reconnects", (("venue", VENUE),))
                emit(ConnectionState.RECONNECTING, detail="connection lost")
                dead, socket = socket, None
                await loop.run_in_executor(executor, self._close, dead)
        except Exception as exc:
            # a bug here must not leave the consumer waiting on a silent stream
            log.exception("bybit %s: the private-stream supervisor failed", config.account)
            emit(ConnectionState.DOWN, detail=f"supervisor failed: {self._scrub(str(exc))}")
            queue.put_nowait(_END)
        finally:
            if socket is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(loop.run_in_executor(executor, self._close, socket))

    def backoff_s(self, failures: int) -> float:
        """Full jitter: U(0, min(max, base * 2**(n-1))); past the attempt budget, the max."""
        config = self.config
        if failures >= config.ws_reconnect_attempts:
            return config.ws_reconnect_max_ms / 1000
        cap = min(config.ws_reconnect_max_ms, config.ws_reconnect_base_ms << max(0, failures - 1))
        return self._rand() * cap / 1000

    async def _watch(self, socket: PrivateSocket) -> None:
        while socket.is_connected() and not socket.exited:
            await self._sleep(self.config.ws_check_interval_s)

    async def _open(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object],
                    executor: ThreadPoolExecutor) -> PrivateSocket:
        """Build a socket on a worker thread; if the supervisor is cancelled meanwhile,
        wait for the build to end (it closes what it built once `_stopping` is set)."""
        self._generation += 1
        future: Future[PrivateSocket] = executor.submit(self._build, loop, queue,
                                                        self._generation)
        try:
            return await asyncio.wrap_future(future)
        except asyncio.CancelledError:
            self._stopping.set()
            built = asyncio.wrap_future(future)
            # read its outcome even if this wait is cancelled too (no "never retrieved")
            built.add_done_callback(lambda f: f.cancelled() or f.exception())
            with contextlib.suppress(Exception):
                socket = await asyncio.shield(built)
                await asyncio.shield(loop.run_in_executor(executor, self._close, socket))
            raise

    def _wait(self, event: threading.Event, timeout: float) -> bool:
        """Wait for a handshake step, but give up at once when the stream is closing: a
        stop must not wait out a handshake timeout (10 s by default)."""
        deadline = time.monotonic() + timeout
        while not event.wait(min(0.1, max(0.0, deadline - time.monotonic()))):
            if self._stopping.is_set():
                raise _Retry("the stream is closing")
            if time.monotonic() >= deadline:
                return False
        return True

    def _build(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object],
               generation: int) -> PrivateSocket:
        """Runs on a worker thread: connect, log in, subscribe. Raises _Retry or _Fatal."""
        config = self.config
        handshake = _Handshake()
        on_message = self._callback(loop, queue, handshake, generation)
        offset_s = max(0, self._clock_offset_ms()) / 1000
        spec = SocketSpec(config.ws_private_url, self._api_key, self._api_secret, on_message,
                          ping_interval_s=config.ws_heartbeat_s,
                          ping_timeout_s=config.ws_ping_timeout_s,
                          auth_expire_s=1 + math.ceil(offset_s))
        try:
            socket = self._factory(spec)
        except Exception as exc:
            raise _Retry(f"could not connect to {config.ws_private_url}: "
                         f"{self._scrub(str(exc))}") from exc
        try:
            timeout = config.ws_handshake_timeout_s
            if not self._wait(handshake.auth, timeout):
                raise _Retry(f"no answer to the login within {timeout:g} s")
            if not handshake.auth_ok:
                raise _Fatal(f"{VENUE}: private stream login refused "
                             f"({self._scrub(handshake.detail)}): check the API key/secret "
                             f"of {self._profile_label} and the system clock")
            socket.send_json({"op": "subscribe", "req_id": f"recon-{generation}",
                              "args": list(PRIVATE_TOPICS)})
            if not self._wait(handshake.subscribed, timeout):
                raise _Retry(f"no answer to the subscription within {timeout:g} s")
            if not handshake.subscribe_ok:
                raise _Fatal(f"{VENUE}: subscription to {', '.join(PRIVATE_TOPICS)} refused: "
                             f"{self._scrub(handshake.detail)}")
            if not socket.is_connected():
                raise _Retry("the connection closed during the handshake")
            if self._stopping.is_set():
                raise _Retry("the stream is closing")
        except (_Retry, _Fatal):
            self._close(socket)
            raise
        except Exception as exc:
            self._close(socket)
            raise _Retry(f"handshake failed: {self._scrub(str(exc))}") from exc
        return socket

    def _callback(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object],
                  handshake: _Handshake, generation: int) -> Callable[[Any], None]:
        """The function pybit calls on its thread: it must never raise (pybit would stop
        for good), so everything is caught and logged."""

        def on_message(message: Any) -> None:
            try:
                received = self._clock_ms()
                if isinstance(message, Mapping) and "topic" not in message \
                        and handshake.note(message):
                    return
                loop.call_soon_threadsafe(queue.put_nowait, _Frame(message, received))
            except Exception:
                log.exception("bybit %s: private-stream callback failed (socket %d)",
                              self.config.account, generation)
                with contextlib.suppress(Exception):
                    self._telemetry.count("ws_callback_errors", (("venue", VENUE),))

        return on_message

    @staticmethod
    def _close(socket: PrivateSocket) -> None:
        """Stop a socket and wait for its threads (runs on a worker thread)."""
        try:
            socket.exit()
        except Exception:
            log.exception("bybit: closing a private socket failed")
        socket.join(JOIN_TIMEOUT_S)

    @property
    def _profile_label(self) -> str:
        return f"profile {self.profile!r}" if self.profile else "this profile"

    def _scrub(self, text: str) -> str:
        return scrub(text, (self._api_secret, self._api_key))
