"""Worker-thread transport for blocking venue clients (pybit's HTTP, python-binance, any
`requests`-based SDK).

Why:
* A blocking call must never run on the event loop: the UI and the private stream share
  it. Every call runs on a small dedicated thread pool instead.
* Such clients usually keep one `requests` session per instance, which is not
  thread-safe. Each worker thread gets its own session (`threading.local`), built by the
  connector's factory on first use; sessions are never shared between threads.
* Priority lane (emergency stop): a second, separate pool with its own sessions serves
  requests made inside `lane.priority_lane()`, so they never queue behind ordinary
  requests that hold the normal workers (a burst of amends waiting out a 300 ms venue,
  say). `warm()` opens those sessions and their connections ahead of need, one call per
  priority worker.

An async client (aiohttp, ccxt's async_support) needs none of this: it awaits its calls
on the loop and, if it wants a lane, keeps two sessions in a `lane.Lanes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, TypeVar

from console.venues._common.lane import in_priority_lane

log = logging.getLogger(__name__)

S = TypeVar("S")
T = TypeVar("T")

WARM_BARRIER_S = 2.0


class WorkerThreads(Generic[S]):
    """Two thread pools (normal and priority), one client session per worker thread.

    `call(fn, *args)` runs `fn(session, *args)` on a worker of the lane the context asks
    for and returns (or raises) what it did. `close_session` is called for every session
    built, on shutdown."""

    def __init__(self, label: str, session_factory: Callable[[], S], *, workers: int,
                 priority_workers: int,
                 close_session: Callable[[S], None] | None = None) -> None:
        if workers < 1 or priority_workers < 1:
            raise ValueError(f"{label}: worker counts must be at least 1")
        self.label = label
        self.priority_workers = priority_workers
        self._factory = session_factory
        self._close_session = close_session
        self._executor = ThreadPoolExecutor(max_workers=workers,
                                            thread_name_prefix=f"{label}-rest")
        self._priority_executor = ThreadPoolExecutor(max_workers=priority_workers,
                                                     thread_name_prefix=f"{label}-priority")
        self._local = threading.local()
        self._sessions: list[S] = []
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"WorkerThreads({self.label!r})"

    def session(self) -> S:
        """The calling worker thread's own session (built on first use)."""
        session: S | None = getattr(self._local, "session", None)
        if session is None:
            session = self._factory()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _run(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        return fn(self.session(), *args)

    async def call(self, fn: Callable[..., T], *args: Any, urgent: bool | None = None) -> T:
        """Run `fn(session, *args)` on a worker thread: the priority pool when `urgent`
        (default: when the context is in the priority lane)."""
        if urgent is None:
            urgent = in_priority_lane()
        executor = self._priority_executor if urgent else self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, self._run, fn, args)

    async def warm(self, touch: Callable[[S], object]) -> None:
        """Build every priority worker's session now and let `touch(session)` open its
        connection (one cheap request); failures are the caller's to log, from `touch`."""
        loop = asyncio.get_running_loop()
        barrier = threading.Barrier(self.priority_workers, timeout=WARM_BARRIER_S)

        def one() -> None:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait()  # one call per worker thread, not all on the first one
            touch(self.session())

        await asyncio.gather(*(loop.run_in_executor(self._priority_executor, one)
                               for _ in range(self.priority_workers)))

    async def aclose(self) -> None:
        """Stop both pools (waiting for running calls) and close every session."""
        if self._closed:
            return
        self._closed = True
        await asyncio.get_running_loop().run_in_executor(None, self.shutdown)

    def shutdown(self) -> None:
        """Blocking form of `aclose` (for a caller with no running loop)."""
        self._closed = True
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._priority_executor.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            sessions, self._sessions = self._sessions, []
        if self._close_session is None:
            return
        for session in sessions:
            try:
                self._close_session(session)
            except Exception:
                log.exception("%s: closing a client session failed", self.label)
