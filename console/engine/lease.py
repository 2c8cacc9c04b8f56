"""Leases, the engine's side: hold the lease of one (venue, account) or observe.

Several engines may share one PostgreSQL ledger (a bot per server, a second machine
standing by). For each (venue, account) exactly one of them holds the lease: it applies
reconciliations, writes the private stream into the ledger and sends orders. The others
observe: no reconciliation, no stream, no order; their status says who holds the lease
and when it expires, and they ask for it again at that moment (at the latest every
TTL/3). The holder renews every TTL/3. When it stops renewing (SIGKILL, a network
partition, a paused process), an observer takes the lease once it has expired by the
database's clock, and then starts as any engine starts: stream first, then the startup
reconciliation (cold start: it adopts what the venue holds), then trading.

Two fences keep a holder that lost its lease from acting (docs/architecture.md, "Leases
and fencing"):

- the ledger refuses its writes (`console.store.leases`): every write for the account
  checks the lease row, share-locked, in its own transaction. Since the order manager
  writes an order's intent before sending it, a fenced holder cannot send either;
- before that, the holder refuses by itself: `check_send` fails once its LOCAL deadline
  has passed (the monotonic time of its last successful renewal's request, plus the TTL,
  minus a safety margin). A process paused past its lease stops on resuming, before
  another engine can start: the deadline is behind it, whatever its wall clock says.

On SQLite (one process) the lease is granted to whoever asks and never expires here
(`Lease.enforced` is False): the same code runs, nothing waits, nothing is fenced.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from console.domain.lease import Lease
from console.domain.reconciliation import AuditEntry
from console.errors import LeaseLostError, LedgerError

log = logging.getLogger(__name__)

DEFAULT_LEASE_TTL_S = 10.0
"""How long a lease lasts without renewal: an observer takes over this long (at most)
after the holder's last renewal."""
TAKEOVER_SLACK_S = 0.02
"""An observer asks again this long after the expiry it saw (by the ledger's clock)."""
LEASE_ACQUIRED_ACTION = "lease_acquired"
"""The audit action an engine records when it takes a lease (PostgreSQL only)."""

_T = TypeVar("_T")
_ACTIVATING: ContextVar[bool] = ContextVar("lease_activating", default=False)
"""True in the session's own start-up under a fresh lease (and the tasks it starts): its
startup reconciliation may send (auto venue actions) before the session is active."""


class LeasePort(Protocol):
    """What the engine needs of the ledger for leases (`console.store.Ledger` has it)."""

    def acquire_lease(self, venue: str, account: str, holder: str, ttl_ms: int) -> Lease:
        """Take or renew the lease for `holder` (one atomic statement), fence this
        ledger's writes for the account accordingly, return the row as it now stands."""
        ...

    def renew_lease(self, venue: str, account: str, holder: str, epoch: int,
                    ttl_ms: int) -> Lease | None:
        """Extend `holder`'s lease of `epoch`; the row as it now stands."""
        ...

    def release_lease(self, venue: str, account: str, holder: str) -> None:
        ...

    def lease(self, venue: str, account: str) -> Lease | None:
        ...

    def append_audit(self, entry: AuditEntry) -> None:
        ...


def engine_id(worker: str) -> str:
    """This engine's id on a lease: the worker id, the host, the pid and a random part,
    so that two processes (or two sessions of one) never pass for each other."""
    host = socket.gethostname()[:100] or "localhost"
    return f"{worker}@{host}:{os.getpid()}:{secrets.token_hex(4)}"


class LeaseState(StrEnum):
    IDLE = "idle"
    """Not started (or stopped): the engine neither holds nor asks."""
    HOLDING = "holding"
    OBSERVING = "observing"


@dataclass(frozen=True, slots=True)
class LeaseStatus:
    """The lease as this engine sees it now, for the status bar and /healthz."""

    state: LeaseState
    engine: str
    holder: str | None
    """The holder this engine last heard of (itself when holding; None before asking)."""
    epoch: int | None
    expires_in_s: float | None
    """By the ledger's clock at the last answer, less the time since (may be negative)."""
    enforced: bool

    def describe(self) -> str:
        """"holding (epoch 3, expires in 8.1 s)", "observing (lease held by X, expires in
        3.2 s)", or "idle"."""
        if self.state is LeaseState.IDLE:
            return "idle"
        if not self.enforced:
            return "holding (one process: the lease is not contended)"
        when = ("" if self.expires_in_s is None else
                f", expires in {self.expires_in_s:.1f} s" if self.expires_in_s > 0 else
                f", expired {-self.expires_in_s:.1f} s ago")
        if self.state is LeaseState.HOLDING:
            return f"holding (epoch {self.epoch}{when})"
        if self.holder is None:
            return "observing (the lease could not be read yet)"
        if self.holder == self.engine:
            return f"observing (its own lease lapsed{when}: asking for it again)"
        return f"observing (lease held by {self.holder}{when})"


class LeaseKeeper:
    """The lease of one (venue, account) for one engine: acquire, renew, observe, release.

    `start(activate, deactivate)` waits until this engine holds the lease, then runs
    `activate` (the session's stream, startup reconciliation and loops) and keeps the
    lease in the background: renewed every TTL/3; when it is lost, `deactivate` stops the
    session's active parts, the engine observes again, and `activate` runs again once it
    takes the lease back. `check_send` is the order manager's local fence.
    """

    def __init__(self, leases: LeasePort, venue: str, account: str, *, engine: str,
                 ttl_s: float = DEFAULT_LEASE_TTL_S, margin_s: float | None = None,
                 actor: str = "", monotonic: Callable[[], float] = time.monotonic,
                 wall_clock_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000,
                 ) -> None:
        if not ttl_s > 0:
            raise ValueError(f"lease TTL must be > 0 s, not {ttl_s!r}")
        self.leases = leases
        self.venue = venue
        self.account = account
        self.engine = engine
        self.ttl_s = float(ttl_s)
        self.margin_s = self.ttl_s / 5 if margin_s is None else float(margin_s)
        """The local deadline comes this long before the lease's expiry: room for a
        request that is already on its way when the deadline passes."""
        if not 0 <= self.margin_s < self.ttl_s / 3 * 2:
            raise ValueError("lease margin must be >= 0 and well under the TTL")
        self.renew_every_s = self.ttl_s / 3
        self.actor = actor or f"engine:{engine}"
        self._monotonic = monotonic
        self._wall_ms = wall_clock_ms
        self._epoch: int | None = None
        self._deadline = -math.inf
        self._last: Lease | None = None
        self._last_at = 0.0  # monotonic time of the request that answered `_last`
        self._state = LeaseState.IDLE
        self._active = False  # the session started under the current lease
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._transition = asyncio.Lock()
        self._held = asyncio.Event()  # (all three made afresh by `start`, in its loop)
        self._pool: ThreadPoolExecutor | None = None
        """The keeper's own thread for the ledger: a renewal never queues behind the
        session's ledger calls in the loop's shared executor."""
        self.takeovers = 0
        """How many times this engine took the lease (the first time included)."""
        self.on_acquired: list[Callable[[Lease], None]] = []
        """Called (on the loop) each time this engine takes the lease, before the session
        starts trading under it: a bot's log, a benchmark's clock."""

    # -- the local fence -------------------------------------------------------------------

    @property
    def holding(self) -> bool:
        """This engine holds the lease now, by its own monotonic clock."""
        return self._epoch is not None and self._monotonic() < self._deadline

    @property
    def epoch(self) -> int | None:
        return self._epoch if self.holding else None

    def check_send(self, what: str = "send an order") -> None:
        """Raise `LeaseLostError` unless this engine holds the lease with time to spare.

        A keeper that was never started (or was stopped) takes no part in leasing and
        refuses nothing: a session used without `start` (a CLI command, a test) acts as
        it did before leases existed, and its ledger writes are not fenced either.

        Holding is not enough: the session must have started under this lease (stream
        subscribed, startup reconciliation done), as after any start; only that start-up
        itself may send before (its reconciliation's automatic venue actions)."""
        if self._state is LeaseState.IDLE:
            return
        if self.holding and (self._active or _ACTIVATING.get()):
            return
        if self.holding:
            raise LeaseLostError(f"{self.venue}/{self.account}: refused to {what}: the "
                                 "session is still starting under its new lease (stream, "
                                 "startup reconciliation); try again once it has started")
        status = self.status()
        raise LeaseLostError(f"{self.venue}/{self.account}: refused to {what}: this engine "
                             f"does not hold the lease ({status.describe()})")

    def status(self) -> LeaseStatus:
        last = self._last
        enforced = last.enforced if last is not None else True
        if self._state is LeaseState.IDLE:
            return LeaseStatus(LeaseState.IDLE, self.engine, None, None, None, enforced)
        expires_in = None
        if last is not None and last.enforced:
            expires_in = (last.expires_at - last.db_now) / 1000 - (
                self._monotonic() - self._last_at)
        state = LeaseState.HOLDING if self.holding else LeaseState.OBSERVING
        holder = self.engine if state is LeaseState.HOLDING else (
            last.holder if last is not None else None)
        return LeaseStatus(state, self.engine, holder,
                           self._epoch if state is LeaseState.HOLDING else (
                               last.epoch if last is not None else None),
                           expires_in, enforced)

    # -- one attempt -----------------------------------------------------------------------

    async def _call(self, fn: Callable[..., _T], *args: object) -> _T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"lease-{self.venue}")
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, functools.partial(fn, *args))

    async def try_acquire(self) -> bool:
        """Ask for the lease once (renew it when this engine has an epoch, else take it);
        True when this engine holds it. A ledger that cannot answer changes nothing: the
        local deadline still runs."""
        asked = self._monotonic()
        ttl_ms = int(self.ttl_s * 1000)
        try:
            renewed = None if self._epoch is None else await self._call(
                self.leases.renew_lease, self.venue, self.account, self.engine,
                self._epoch, ttl_ms)
            lease = renewed if renewed is not None else await self._call(
                self.leases.acquire_lease, self.venue, self.account, self.engine, ttl_ms)
        except LedgerError as exc:
            log.warning("%s/%s: the lease could not be asked for: %s", self.venue,
                        self.account, exc)
            return self.holding
        previous, self._last, self._last_at = self._last, lease, asked
        if not lease.held_by(self.engine):
            self._epoch, self._deadline = None, -math.inf
            self._held.clear()
            return False
        if not lease.enforced:
            self._deadline = math.inf
        else:
            self._deadline = asked + lease.remaining_ms / 1000 - self.margin_s
        if lease.epoch != self._epoch:
            self._epoch = lease.epoch
            self.takeovers += 1
            for listener in self.on_acquired:
                listener(lease)
            await self._record_takeover(lease, previous)
        self._held.set()
        return self.holding

    async def _record_takeover(self, lease: Lease, previous: Lease | None) -> None:
        before = previous.holder if previous is not None and previous.holder != self.engine \
            else ""
        log.info("%s/%s: lease taken by %s (epoch %d)%s", self.venue, self.account,
                    self.engine, lease.epoch, f", from {before}" if before else "")
        if not lease.enforced:
            return
        entry = AuditEntry(
            at=self._wall_ms(), actor=self.actor, action=LEASE_ACQUIRED_ACTION,
            subject=f"{self.venue}/{self.account}", venue=self.venue, account=self.account,
            details=(("engine", self.engine), ("epoch", str(lease.epoch)),
                     *((("previous_holder", before),) if before else ())))
        try:
            await asyncio.to_thread(self.leases.append_audit, entry)
        except LedgerError as exc:  # the lease stands; the trail is the lesser loss
            log.warning("%s/%s: the lease change could not be audited: %s", self.venue,
                        self.account, exc)

    # -- the lifecycle ---------------------------------------------------------------------

    async def start(self, activate: Callable[[], Awaitable[_T]],
                    deactivate: Callable[[], Awaitable[None]]) -> _T:
        """Observe until this engine holds the lease, then `activate` and keep the lease
        (see the class). Raises `LeaseLostError` when `stop` comes first."""
        self._stopping, self._held = asyncio.Event(), asyncio.Event()
        self._transition = asyncio.Lock()
        self._state = LeaseState.OBSERVING
        await self._wait_until_held()
        self._task = asyncio.create_task(self._keep(activate, deactivate),
                                         name=f"lease-{self.venue}-{self.account}")
        try:
            async with self._transition:
                self._state = LeaseState.HOLDING
                return await self._activate(activate)
        except BaseException:
            # the session did not start (its stream refused, a failure): nobody trades
            # under this lease, so another engine may have it at once
            await self.stop()
            await self.release()
            raise

    async def _activate(self, activate: Callable[[], Awaitable[_T]]) -> _T:
        token = _ACTIVATING.set(True)
        try:
            result = await activate()
        finally:
            _ACTIVATING.reset(token)
        self._active = True
        return result

    async def wait_held(self, timeout_s: float | None = None) -> bool:
        """Wait until this engine holds the lease (True), or `timeout_s` passes (False)."""
        try:
            await asyncio.wait_for(self._held.wait(), timeout_s)
        except TimeoutError:
            return False
        return self.holding

    async def _wait_until_held(self) -> None:
        while not self._stopping.is_set():
            if await self.try_acquire():
                return
            await self._pause(self._next_attempt_s())
        raise LeaseLostError(f"{self.venue}/{self.account}: the session stopped while it "
                             f"observed ({self.status().describe()}); it never traded")

    def _next_attempt_s(self) -> float:
        """At the expiry the observer saw (the holder may have renewed meanwhile: then it
        sees the new expiry), and at the latest TTL/3 from now."""
        last = self._last
        if last is None or not last.enforced:
            return self.renew_every_s
        left = last.remaining_ms / 1000 - (self._monotonic() - self._last_at)
        return max(0.0, min(self.renew_every_s, left + TAKEOVER_SLACK_S))

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def _keep(self, activate: Callable[[], Awaitable[object]],
                    deactivate: Callable[[], Awaitable[None]]) -> None:
        if self._last is not None and not self._last.enforced:
            # one process (SQLite): nothing to renew, nothing to lose; renewing would only
            # hand the row back and forth between two sessions on one file
            await self._stopping.wait()
            return
        while not self._stopping.is_set():
            await self._renew_until_lost()
            if self._stopping.is_set():
                return
            log.warning("%s/%s: engine %s lost the lease (%s); it stops trading and "
                        "observes", self.venue, self.account, self.engine,
                        self.status().describe())
            async with self._transition:
                self._state = LeaseState.OBSERVING
                self._active = False
                await deactivate()
            try:
                await self._wait_until_held()
            except LeaseLostError:
                return  # stopped while observing
            async with self._transition:
                self._state = LeaseState.HOLDING
                try:
                    await self._activate(activate)
                except Exception:
                    # the next renewal decides again; a failed start must not end the keeper
                    log.exception("%s/%s: the session could not start after taking the "
                                  "lease", self.venue, self.account)

    async def _renew_until_lost(self) -> None:
        """Renew every TTL/3 (sooner after a failed attempt) until the lease is lost:
        another engine holds it, it came back with a new epoch (someone else held it in
        between: whatever this engine knew is stale), or the local deadline passed with
        no answer from the ledger. A renewal that comes late but finds the lease still
        this engine's, same epoch (the loop was busy, the database slow), loses nothing:
        no other engine can have acted meanwhile; only sends were refused (`check_send`)
        while the deadline was behind."""
        while not self._stopping.is_set():
            epoch = self._epoch
            left = self._deadline - self._monotonic()
            await self._pause(min(self.renew_every_s, max(0.0, left / 2)))
            if self._stopping.is_set():
                return
            try:
                held = await asyncio.wait_for(self.try_acquire(),
                                              max(self.renew_every_s, left))
            except TimeoutError:
                held = self.holding
            lapsed = not held and (self._epoch is None
                                   or self._monotonic() >= self._deadline)
            if lapsed or self._epoch != epoch:
                self._held.clear()
                return

    async def stop(self) -> None:
        """Stop keeping the lease (no more renewals or takeovers); `release` gives it up."""
        self._stopping.set()
        self._active = False
        task, self._task = self._task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def release(self) -> None:
        """Give the lease up now (after a clean stop's last write): another engine may take
        it at once instead of waiting for the TTL."""
        self._stopping.set()
        self._epoch, self._deadline = None, -math.inf
        self._held.clear()
        self._state = LeaseState.IDLE
        try:
            await self._call(self.leases.release_lease, self.venue, self.account,
                             self.engine)
        except LedgerError as exc:
            log.warning("%s/%s: the lease could not be released (it expires by itself in "
                        "%g s): %s", self.venue, self.account, self.ttl_s, exc)
        finally:
            pool, self._pool = self._pool, None
            if pool is not None:
                pool.shutdown(wait=False)
