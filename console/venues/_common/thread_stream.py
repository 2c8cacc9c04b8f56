"""Stream clients that run on threads of their own (pybit's WebSocket, websocket-client):
their messages reach the loop, their deaths are noticed, their threads are joined.

Why:
* Such a client calls back on its own thread, and an exception escaping the callback
  stops it for good without telling anyone. `CallbackInbox.callback()` is the only
  function the client ever calls: it never raises (everything is caught, logged and
  counted) and only stamps the message and hands it to the loop with
  `call_soon_threadsafe`. Parsing happens on the loop (see `supervisor`).
* Such a client also dies silently (no callback on a lost connection), so
  `ThreadedConnection` polls its liveness every `check_interval_s` and ends `messages()`
  when it is gone; the supervisor then rebuilds.
* Building (the client connects inside its constructor) and closing (which joins the
  client's threads) block, so both run on a worker thread; `wait_for_event` lets a
  handshake wait give up at once when the stream is closing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Executor
from typing import Any, Final

from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.venues._common.clock import wall_clock_ms
from console.venues._common.supervisor import Received, RetryConnect

log = logging.getLogger(__name__)

_LOST: Final = object()
STOP_POLL_S: Final = 0.1


class CallbackInbox:
    """The loop-side queue of one client connection, fed from the client's thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, label: str, venue: str,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 telemetry: Telemetry = NULL_TELEMETRY) -> None:
        self.label = label
        self._loop = loop
        self._venue = venue
        self._clock_ms = clock_ms
        self._telemetry = telemetry
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def callback(self, consume: Callable[[Any], bool] | None = None) -> Callable[[Any], None]:
        """The function the client calls on its thread. `consume(message)` (also on that
        thread) may take a message for itself (a handshake answer) by returning True."""
        loop, queue, clock_ms = self._loop, self._queue, self._clock_ms

        def on_message(message: Any) -> None:
            try:
                received = clock_ms()
                if consume is not None and consume(message):
                    return
                loop.call_soon_threadsafe(queue.put_nowait, Received(message, received))
            except Exception:
                # the client would stop for good: log, count, carry on
                log.exception("%s: stream callback failed", self.label)
                with contextlib.suppress(Exception):
                    self._telemetry.count("ws_callback_errors", (("venue", self._venue),))

        return on_message

    def lost(self) -> None:
        """Mark the end of the connection (loop thread only)."""
        self._queue.put_nowait(_LOST)

    async def get(self) -> Received | None:
        """The next message; None once the connection is marked lost."""
        item = await self._queue.get()
        if item is _LOST:
            self._queue.put_nowait(_LOST)  # stays lost for any later reader
            return None
        assert isinstance(item, Received)
        return item


class ThreadedConnection:
    """A `supervisor.StreamConnection` over a thread-run client: messages from its
    `CallbackInbox`, liveness polled with `alive()`, `close()` run on `executor`."""

    def __init__(self, inbox: CallbackInbox, *, alive: Callable[[], bool],
                 close: Callable[[], None], executor: Executor, check_interval_s: float,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep) -> None:
        self._inbox = inbox
        self._alive = alive
        self._close = close
        self._executor = executor
        self._interval = check_interval_s
        self._sleep = sleep

    async def messages(self) -> AsyncIterator[Received]:
        watcher = asyncio.create_task(self._watch(), name=f"{self._inbox.label}-watch")
        watcher.add_done_callback(self._watch_ended)
        try:
            while True:
                received = await self._inbox.get()
                if received is None:
                    failure = watcher.exception() if watcher.done() \
                        and not watcher.cancelled() else None
                    if failure is not None:
                        raise failure  # a bug in the liveness check: the supervisor's
                    return
                yield received
        finally:
            watcher.cancel()

    async def _watch(self) -> None:
        while self._alive():
            await self._sleep(self._interval)

    def _watch_ended(self, watcher: asyncio.Task[None]) -> None:
        if not watcher.cancelled():
            self._inbox.lost()  # dead (or the check itself failed): end `messages()`

    async def close(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)


def wait_for_event(event: threading.Event, timeout_s: float,
                   stopping: threading.Event) -> bool:
    """Wait (on a worker thread) for a handshake step; False on timeout. Raises
    `RetryConnect` as soon as `stopping` is set: a stop must not wait out a handshake
    timeout (10 s by default)."""
    deadline = time.monotonic() + timeout_s
    while not event.wait(min(STOP_POLL_S, max(0.0, deadline - time.monotonic()))):
        if stopping.is_set():
            raise RetryConnect("the stream is closing")
        if time.monotonic() >= deadline:
            return False
    return True
