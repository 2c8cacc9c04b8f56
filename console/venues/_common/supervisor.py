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
* After `attempts` failures it reports DOWN and keeps trying at the maximum backoff.
* A `ConnectRefused` attempt (a refused login or subscription) reports DOWN naming the
  cause and logs it at ERROR, once per refusal episode; it is retried after a long,
  doubling wait (`refused_backoff_s`: no hammering a venue that said no, but a clock put
  right or a key re-enabled is noticed). The connector hears of each refusal
  (`on_refused`) and of each accepted connection (`on_connected`), so that its REST
  calls can fail fast meanwhile (`auth_gate`).
* A raw message that cannot be parsed is logged and counted, never fatal: one bad push
  must not hide the next fill.
* Whatever else fails (a bug in the connector, the client or here) fails the current
  connection only: it is logged with its traceback, counted (ws_stream_errors) and
  rebuilt like a lost one, ending in `CONNECTED(reconnected=True)`. Should the supervisor
  task itself end, `events()` starts it again. The stream never goes silent.
* Closing the generator stops the supervisor and closes the live connection.

The contract for a connection: `messages()` yields `Received` items until the connection
is lost, then ends (or raises `ConnectionLost`); any other exception is a failure as
above. `close()` must release everything (sockets, threads) and may be called after a
loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

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
    """The venue said no (a refused login, refused topics): retrying at once cannot
    help. Reported as DOWN once per episode and retried after a long backoff
    (`ReconnectPolicy.refused_backoff_s`)."""


class AuthRefused(ConnectRefused):
    """The venue refused our credentials at login (a wrong key or secret, an expired
    key, a login signed by a clock far off): the connector's REST calls are refused too
    (see `auth_gate`)."""


class ConnectionLost(Exception):
    """Raised by `messages()` for a loss it can explain (the text says how)."""


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    attempts: int = 10
    """Failed attempts in a row before DOWN is reported (the supervisor keeps trying)."""
    base_ms: int = 500
    max_ms: int = 30000
    refused_base_ms: int = 60_000
    """After a refusal (`ConnectRefused`): the first wait, doubled per refusal in a row."""
    refused_max_ms: int = 900_000

    def __post_init__(self) -> None:
        if self.attempts < 1 or self.base_ms < 0 or self.max_ms < self.base_ms \
                or self.refused_base_ms < 0 or self.refused_max_ms < self.refused_base_ms:
            raise ValueError(f"reconnect policy {self}: attempts >= 1, "
                             "0 <= base_ms <= max_ms and 0 <= refused_base_ms <= "
                             "refused_max_ms")

    def backoff_s(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Full jitter: U(0, min(max, base * 2**(n-1))); past the attempt budget, the max."""
        if failures >= self.attempts:
            return self.max_ms / 1000
        cap = min(self.max_ms, self.base_ms << max(0, failures - 1))
        return rand() * cap / 1000

    def refused_backoff_s(self, refusals: int) -> float:
        """The wait after the n-th refusal in a row: min(refused_max, refused_base *
        2**(n-1)). No hammering a venue that said no; still trying, since some refusals
        pass (a clock put right, a key re-enabled)."""
        doubled: int = self.refused_base_ms << min(max(0, refusals - 1), 40)
        return min(self.refused_max_ms, doubled) / 1000


@dataclass(slots=True)
class _Progress:
    """What the supervisor knows across connections (and across a restart of its task)."""

    generation: int = 0
    connected_before: bool = False
    failures: int = 0
    """Failed attempts (and failures of the stream itself) since the last connection."""
    refusals: int = 0
    """Refused attempts in a row: the current refusal episode (0: none)."""


class StreamSupervisor:
    """One supervised private connection; `events()` is the VenuePort stream."""

    def __init__(self, connect: Connect, parse: Parse, *, venue: str, account: str,
                 policy: ReconnectPolicy | None = None,
                 telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random,
                 scrub: Callable[[str], str] = lambda text: text,
                 on_refused: Callable[[ConnectRefused], None] | None = None,
                 on_connected: Callable[[], None] | None = None) -> None:
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
        self._on_refused = on_refused
        self._on_connected = on_connected
        self._progress = _Progress()

    def __repr__(self) -> str:
        return f"StreamSupervisor(venue={self.venue!r}, account={self.account!r})"

    async def events(self) -> AsyncGenerator[VenueEvent, None]:
        """Connection states and parsed events until closed. The supervisor task is
        watched too: should it ever end on its own, it is started again (a stream that
        stops without a word is the one failure this class exists to prevent)."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        restarts = 0

        def ended(task: asyncio.Task[None]) -> None:
            if not task.cancelled():
                queue.put_nowait(task)  # `events()` notices and starts it again

        def start() -> asyncio.Task[None]:
            task = asyncio.create_task(
                self._supervise(queue, restarted=restarts > 0),
                name=f"{self.venue}-stream-supervisor-{self.account}")
            task.add_done_callback(ended)
            return task

        supervisor = start()
        try:
            while True:
                item = await queue.get()
                if isinstance(item, ConnectionEvent):
                    yield item
                elif isinstance(item, Received):
                    for event in self._parsed(item):
                        yield event
                elif item is supervisor:
                    restarts += 1
                    self._task_ended(supervisor)
                    await self._pause(self.policy.backoff_s(restarts, self._rand))
                    supervisor = start()
        finally:
            if not supervisor.done():
                supervisor.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await supervisor
            elif not supervisor.cancelled() and supervisor.exception() is not None:
                log.error("%s %s: the private-stream supervisor had ended (%s)", self.venue,
                          self.account, self._scrub(str(supervisor.exception())))

    def _task_ended(self, task: asyncio.Task[None]) -> None:
        error = task.exception()
        log.error("%s %s: the private-stream supervisor ended (%s); starting it again",
                  self.venue, self.account,
                  self._scrub(f"{type(error).__name__}: {error}") if error else "no error")
        self._telemetry.count("ws_supervisor_restarts", (("venue", self.venue),))

    def _parsed(self, received: Received) -> list[VenueEvent]:
        try:
            return list(self._parse(received))
        except Exception:
            log.exception("%s %s: a private-stream message could not be handled; dropped",
                          self.venue, self.account)
            self._telemetry.count("ws_callback_errors", (("venue", self.venue),))
            return []

    async def _pause(self, seconds: float) -> None:
        """Wait between attempts. Should the injected sleep itself fail, wait on the
        loop's own clock instead: a broken wait must not turn into a busy loop."""
        try:
            await self._sleep(seconds)
        except Exception:
            log.exception("%s %s: waiting before the next attempt failed", self.venue,
                          self.account)
            await asyncio.sleep(max(seconds, self.policy.max_ms / 1000))

    def _emit(self, queue: asyncio.Queue[object], state: ConnectionState, *,
              detail: str = "", reconnected: bool = False, attempt: int = 0) -> None:
        queue.put_nowait(ConnectionEvent(state, reconnected=reconnected, detail=detail,
                                         at=self._clock_ms(), attempt=attempt))

    async def _supervise(self, queue: asyncio.Queue[object], *,
                         restarted: bool = False) -> None:
        """Connect, pump, rebuild: forever, whatever fails. A failure that is no
        `RetryConnect`, `ConnectRefused` or `ConnectionLost` (a bug in the connector, in
        the client, here) is logged with its traceback, counted (ws_stream_errors) and
        handled as a lost connection: rebuilt after a backoff, then reported as
        `CONNECTED(reconnected=True)`, so the engine reconciles what it may have missed."""
        progress = self._progress
        if not restarted:
            self._emit(queue, ConnectionState.CONNECTING)
        while True:
            try:
                await self._cycle(queue, progress)
            except Exception as exc:
                progress.failures += 1
                detail = f"stream failed: {self._scrub(f'{type(exc).__name__}: {exc}')}"
                log.exception("%s %s: the private stream failed; rebuilding it", self.venue,
                              self.account)
                self._telemetry.count("ws_stream_errors", (("venue", self.venue),))
                self._emit(queue, ConnectionState.RECONNECTING, detail=detail,
                           attempt=progress.failures)
                await self._pause(self.policy.backoff_s(progress.failures, self._rand))

    async def _cycle(self, queue: asyncio.Queue[object], progress: _Progress) -> None:
        """One attempt: connect, then (if connected) pump until the connection is lost."""
        progress.generation += 1
        try:
            connection = await self._connect(progress.generation)
        except ConnectRefused as exc:
            await self._refused(queue, progress, exc)
            return
        except RetryConnect as exc:
            progress.failures += 1
            failures, attempts = progress.failures, self.policy.attempts
            why = self._scrub(str(exc))
            log.warning("%s %s: private stream attempt %d failed: %s", self.venue,
                        self.account, failures, why)
            if failures == attempts:
                self._emit(queue, ConnectionState.DOWN, attempt=failures,
                           detail=f"{failures} attempts failed, still trying: {why}")
            elif failures < attempts:
                self._emit(queue, ConnectionState.RECONNECTING, attempt=failures, detail=why)
            await self._pause(self.policy.backoff_s(failures, self._rand))
            return
        try:
            await self._connected(queue, progress, connection)
        finally:
            try:
                await asyncio.shield(connection.close())
            except Exception:
                log.exception("%s %s: closing a private-stream connection failed",
                              self.venue, self.account)

    async def _connected(self, queue: asyncio.Queue[object], progress: _Progress,
                         connection: StreamConnection) -> None:
        # after a loss, or after failed attempts: something may have been missed
        self._emit(queue, ConnectionState.CONNECTED,
                   reconnected=progress.connected_before or progress.failures > 0
                   or progress.refusals > 0,
                   attempt=progress.failures + progress.refusals)
        if progress.refusals:
            log.warning("%s %s: private stream accepted again after %d refusal(s)",
                        self.venue, self.account, progress.refusals)
        progress.connected_before, progress.failures, progress.refusals = True, 0, 0
        self._hook(self._on_connected)
        detail = await self._pump(connection, queue)
        log.warning("%s %s: private stream lost (%s); reconnecting", self.venue,
                    self.account, detail)
        self._telemetry.count("ws_reconnects", (("venue", self.venue),))
        self._emit(queue, ConnectionState.RECONNECTING, detail=detail)

    async def _refused(self, queue: asyncio.Queue[object], progress: _Progress,
                       exc: ConnectRefused) -> None:
        """DOWN and an ERROR line once per refusal episode (not once per attempt), then
        the long wait; the connector hears of each refusal (`on_refused`)."""
        progress.refusals += 1
        why = self._scrub(str(exc))
        wait_s = self.policy.refused_backoff_s(progress.refusals)
        self._telemetry.count("ws_refused", (("venue", self.venue),))
        if progress.refusals == 1:
            log.error("%s %s: private stream refused: %s (trying again in %.0f s)",
                      self.venue, self.account, why, wait_s)
            self._emit(queue, ConnectionState.DOWN, detail=why,
                       attempt=progress.failures + 1)
        else:
            log.info("%s %s: private stream refused again (%d in a row); next try in "
                     "%.0f s", self.venue, self.account, progress.refusals, wait_s)
        self._hook(self._on_refused, exc)
        await self._pause(wait_s)

    def _hook(self, hook: Callable[..., None] | None, *args: Any) -> None:
        """The connector's notification; its failure is logged, never the stream's."""
        if hook is None:
            return
        try:
            hook(*args)
        except Exception:
            log.exception("%s %s: a private-stream notification failed", self.venue,
                          self.account)

    async def _pump(self, connection: StreamConnection, queue: asyncio.Queue[object]) -> str:
        """Forward the connection's messages until it is lost; says how it was lost."""
        try:
            async for received in connection.messages():
                queue.put_nowait(received)
        except ConnectionLost as exc:
            return f"connection lost: {self._scrub(str(exc))}"
        return "connection lost"
