"""The reconnecting supervisor of a venue's private stream, generic over "a thing that
connects and yields raw messages" (`connect` returning a `StreamConnection`): a client
that calls back on its own thread (pybit's WebSocket, see `thread_stream`) or an aiohttp
WebSocket read on the loop.

Why it exists: venue WebSocket clients die silently (pybit stops for good on an auth
failure or an exception escaping a callback; a dropped TCP connection may go unnoticed
until the next ping), and a consumer waiting on a dead stream misses fills. So:
* A supervisor task owns the connection. When it is lost, the supervisor builds a new one
  (first at once, then with exponential backoff and full jitter, `ReconnectPolicy`) and
  reports `ConnectionEvent(CONNECTED, reconnected=True)`, so the engine reconciles at
  once: whatever happened while the stream was down is read back from the venue.
* After `attempts` failures it reports DOWN and keeps trying at the maximum backoff. A
  `ConnectRefused` attempt (a refused login: retrying with wrong keys cannot help)
  reports DOWN naming the cause and ends the stream.
* A raw message that cannot be parsed is logged and counted, never fatal: one bad push
  must not hide the next fill. A bug in the supervisor itself reports DOWN and ends the
  stream rather than leaving the consumer waiting on a silent one.
* Closing the generator stops the supervisor and closes the live connection.

The contract for a connection: `messages()` yields `Received` items until the connection
is lost, then ends (or raises `ConnectionLost`); any other exception is a bug and ends
the stream with DOWN. `close()` must release everything (sockets, threads) and may be
called after a loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from console.domain.events import ConnectionEvent, ConnectionState, VenueEvent
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.venues._common.clock import wall_clock_ms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Received:
    """One raw message as the client delivered it, stamped (local ms) on arrival."""

    message: Any
    received_at: int


class StreamConnection(Protocol):
    def messages(self) -> AsyncIterator[Received]:
        """Raw messages until the connection is lost."""
        ...

    async def close(self) -> None:
        ...


Connect = Callable[[int], Awaitable[StreamConnection]]
"""connect(generation): open, log in and subscribe one connection (generation 1, 2, ...).
Raises `RetryConnect` when this attempt failed (the connector turns its client's
network errors into it), `ConnectRefused` when no attempt can work; anything else is a
bug and ends the stream with DOWN."""

Parse = Callable[[Received], Iterable[VenueEvent]]


class RetryConnect(Exception):
    """This attempt failed; another may work (the text says why, without secrets)."""


class ConnectRefused(Exception):
    """No attempt can work (refused login, refused topics): report DOWN and stop."""


class ConnectionLost(Exception):
    """Raised by `messages()` for a loss it can explain (the text says how)."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    attempts: int = 10
    """Failed attempts in a row before DOWN is reported (the supervisor keeps trying)."""
    base_ms: int = 500
    max_ms: int = 30000

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_ms < 0 or self.max_ms < self.base_ms:
            raise ValueError(f"reconnect policy {self}: attempts >= 1 and "
                             "0 <= base_ms <= max_ms")

    def backoff_s(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Full jitter: U(0, min(max, base * 2**(n-1))); past the attempt budget, the max."""
        if failures >= self.attempts:
            return self.max_ms / 1000
        cap = min(self.max_ms, self.base_ms << max(0, failures - 1))
        return rand() * cap / 1000


_END: Final = object()


class StreamSupervisor:
    """One supervised private connection; `events()` is the VenuePort stream."""

    def __init__(self, connect: Connect, parse: Parse, *, venue: str, account: str,
                 policy: ReconnectPolicy | None = None,
                 telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random,
                 scrub: Callable[[str], str] = lambda text: text) -> None:
        self.venue = venue
        self.account = account
        self.policy = policy or ReconnectPolicy()
        self._connect = connect
        self._parse = parse
        self._telemetry = telemetry
        self._clock_ms = clock_ms
        self._sleep = sleep
        self._rand = rand
        self._scrub = scrub
        self._generation = 0

    def __repr__(self) -> str:
        return f"StreamSupervisor(venue={self.venue!r}, account={self.account!r})"

    async def events(self) -> AsyncGenerator[VenueEvent, None]:
        """Connection states and parsed events until closed (or a refused connection)."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        supervisor = asyncio.create_task(
            self._supervise(queue), name=f"{self.venue}-stream-supervisor-{self.account}")
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, ConnectionEvent):
                    yield item
                elif isinstance(item, Received):
                    for event in self._parsed(item):
                        yield event
        finally:
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor

    def _parsed(self, received: Received) -> list[VenueEvent]:
        try:
            return list(self._parse(received))
        except Exception:
            log.exception("%s %s: a private-stream message could not be handled; dropped",
                          self.venue, self.account)
            self._telemetry.count("ws_callback_errors", (("venue", self.venue),))
            return []

    async def _supervise(self, queue: asyncio.Queue[object]) -> None:
        attempts = self.policy.attempts
        failures = 0
        connected_before = False
        connection: StreamConnection | None = None

        def emit(state: ConnectionState, *, detail: str = "", reconnected: bool = False,
                 attempt: int = 0) -> None:
            queue.put_nowait(ConnectionEvent(state, reconnected=reconnected, detail=detail,
                                             at=self._clock_ms(), attempt=attempt))

        emit(ConnectionState.CONNECTING)
        try:
            while True:
                self._generation += 1
                try:
                    connection = await self._connect(self._generation)
                except ConnectRefused as exc:
                    emit(ConnectionState.DOWN, detail=self._scrub(str(exc)),
                         attempt=failures + 1)
                    queue.put_nowait(_END)
                    return
                except RetryConnect as exc:
                    failures += 1
                    why = self._scrub(str(exc))
                    log.warning("%s %s: private stream attempt %d failed: %s", self.venue,
                                self.account, failures, why)
                    if failures == attempts:
                        emit(ConnectionState.DOWN, attempt=failures,
                             detail=f"{failures} attempts failed, still trying: {why}")
                    elif failures < attempts:
                        emit(ConnectionState.RECONNECTING, attempt=failures, detail=why)
                    await self._sleep(self.policy.backoff_s(failures, self._rand))
                    continue
                # after a loss, or after failed attempts: something may have been missed
                emit(ConnectionState.CONNECTED, reconnected=connected_before or failures > 0,
                     attempt=failures)
                connected_before, failures = True, 0
                detail = await self._pump(connection, queue)
                log.warning("%s %s: private stream lost (%s); reconnecting", self.venue,
                            self.account, detail)
                self._telemetry.count("ws_reconnects", (("venue", self.venue),))
                emit(ConnectionState.RECONNECTING, detail=detail)
                dead, connection = connection, None
                await dead.close()
        except Exception as exc:
            # a bug here must not leave the consumer waiting on a silent stream
            log.exception("%s %s: the private-stream supervisor failed", self.venue,
                          self.account)
            emit(ConnectionState.DOWN, detail=f"supervisor failed: {self._scrub(str(exc))}")
            queue.put_nowait(_END)
        finally:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await asyncio.shield(connection.close())

    async def _pump(self, connection: StreamConnection, queue: asyncio.Queue[object]) -> str:
        """Forward the connection's messages until it is lost; says how it was lost."""
        try:
            async for received in connection.messages():
                queue.put_nowait(received)
        except ConnectionLost as exc:
            return f"connection lost: {self._scrub(str(exc))}"
        return "connection lost"
