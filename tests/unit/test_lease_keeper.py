"""The engine's side of a lease (console.engine.lease.LeaseKeeper) against an in-memory
ledger that grants leases as the store does: the local deadline, observing, losing the
lease and taking it back, and what the keeper refuses meanwhile."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from dataclasses import replace

import pytest

from console.domain.lease import Lease
from console.domain.reconciliation import AuditEntry
from console.engine.lease import (
    LEASE_ACQUIRED_ACTION,
    LeaseKeeper,
    LeaseState,
    LeaseStatus,
    engine_id,
)
from console.errors import LeaseLostError, LedgerError

V, A = "bybit", "main"


class Leases:
    """The store's rules (console.store.leases) in memory, on a clock of its own (ms)."""

    def __init__(self, clock_ms: Callable[[], int] | None = None, *,
                 enforced: bool = True) -> None:
        self.clock_ms = clock_ms or (lambda: time.monotonic_ns() // 1_000_000)
        self.enforced = enforced
        self.row: Lease | None = None
        self.audit: list[AuditEntry] = []
        self.released: list[str] = []
        self.down = False
        self.renewals = 0
        self.on_call: Callable[[], None] = lambda: None

    def acquire_lease(self, venue: str, account: str, holder: str, ttl_ms: int) -> Lease:
        self.on_call()
        if self.down:
            raise LedgerError("the database is unreachable")
        now = self.clock_ms()
        row = self.row
        if row is None:
            row = Lease(venue, account, holder, 1, now + ttl_ms, now, now, now, self.enforced)
        elif row.holder == holder or row.expires_at <= now or not self.enforced:
            same = row.holder == holder
            row = Lease(venue, account, holder, row.epoch if same else row.epoch + 1,
                        now + ttl_ms, now, row.acquired_at if same else now, now,
                        self.enforced)
        else:
            return replace(row, db_now=now)
        self.row = row
        return row

    def renew_lease(self, venue: str, account: str, holder: str, epoch: int,
                    ttl_ms: int) -> Lease | None:
        self.renewals += 1
        self.on_call()
        if self.down:
            raise LedgerError("the database is unreachable")
        now = self.clock_ms()
        row = self.row
        if row is None:
            return None
        if (row.holder, row.epoch) != (holder, epoch):
            return replace(row, db_now=now)
        self.row = replace(row, expires_at=now + ttl_ms, renewed_at=now, db_now=now)
        return self.row

    def release_lease(self, venue: str, account: str, holder: str) -> None:
        self.released.append(holder)
        if self.row is not None and self.row.holder == holder:
            now = self.clock_ms()
            self.row = replace(self.row, expires_at=now, db_now=now)

    def lease(self, venue: str, account: str) -> Lease | None:
        return self.row

    def append_audit(self, entry: AuditEntry) -> None:
        self.audit.append(entry)

    def give_to(self, holder: str, ttl_ms: int) -> None:
        """Another engine holds it now (it took it over, or it was given)."""
        now = self.clock_ms()
        epoch = self.row.epoch + 1 if self.row is not None else 1
        self.row = Lease(V, A, holder, epoch, now + ttl_ms, now, now, now, self.enforced)


def keeper(leases: Leases, name: str = "me", ttl_s: float = 0.6, **kw: object) -> LeaseKeeper:
    return LeaseKeeper(leases, V, A, engine=name, ttl_s=ttl_s, **kw)  # type: ignore[arg-type]


class Session:
    """What the keeper starts and stops: counts, and whether it could send meanwhile."""

    def __init__(self, keeper: LeaseKeeper) -> None:
        self.keeper = keeper
        self.started = 0
        self.stopped = 0
        self.sent_while_starting: list[bool] = []

    async def activate(self) -> str:
        self.started += 1
        try:
            self.keeper.check_send()  # the start-up itself (its reconciliation) may send
            self.sent_while_starting.append(True)
        except LeaseLostError:
            self.sent_while_starting.append(False)
        return f"run {self.started}"

    async def deactivate(self) -> None:
        self.stopped += 1


async def until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.005)


# -- the local fence ---------------------------------------------------------------------------

def test_the_local_deadline_counts_from_before_the_request_and_keeps_a_margin() -> None:
    now = [100.0]
    leases = Leases(clock_ms=lambda: int(now[0] * 1000))

    def slow_database() -> None:
        now[0] += 0.5  # the answer takes half a second to come back

    leases.on_call = slow_database
    k = keeper(leases, ttl_s=10, margin_s=2, monotonic=lambda: now[0])
    assert asyncio.run(k.try_acquire())
    # asked at 100.0: the lease lasts 10 s from (at the latest) then, less the 2 s margin
    now[0] = 107.99
    assert k.holding and k.epoch == 1
    now[0] = 108.0
    assert not k.holding and k.epoch is None


def test_a_keeper_that_was_never_started_refuses_nothing() -> None:
    k = keeper(Leases())
    k.check_send()  # a session used without start (a CLI command, a test) as before
    assert k.status().state is LeaseState.IDLE and k.status().describe() == "idle"


def test_an_observer_refuses_to_send_and_says_who_holds_the_lease() -> None:
    leases = Leases()
    leases.give_to("other@host:1:ab", ttl_ms=60_000)
    k = keeper(leases)

    async def scenario() -> None:
        session = Session(k)
        start = asyncio.create_task(k.start(session.activate, session.deactivate))
        await until(lambda: k.status().holder is not None)
        with pytest.raises(LeaseLostError, match="does not hold the lease") as refused:
            k.check_send()
        assert "observing (lease held by other@host:1:ab, expires in" in str(refused.value)
        status = k.status()
        assert status.state is LeaseState.OBSERVING and status.epoch == 1
        assert 59 < (status.expires_in_s or 0) <= 60
        assert session.started == 0
        await k.stop()
        with pytest.raises(LeaseLostError, match="stopped while it observed"):
            await start

    asyncio.run(scenario())


def test_only_the_start_up_may_send_before_the_session_has_started() -> None:
    k = keeper(Leases())

    async def scenario() -> None:
        session = Session(k)
        gate = asyncio.Event()
        refused: list[str] = []

        async def slow_activate() -> str:
            await gate.wait()
            return await session.activate()

        start = asyncio.create_task(k.start(slow_activate, session.deactivate))
        await until(lambda: k.holding)
        try:
            k.check_send()  # a bot's task, while the session starts under the lease
        except LeaseLostError as exc:
            refused.append(str(exc))
        gate.set()
        assert await start == "run 1"
        k.check_send()  # started: trading
        assert session.sent_while_starting == [True]
        assert len(refused) == 1 and "still starting under its new lease" in refused[0]
        await k.stop()
        await k.release()

    asyncio.run(scenario())


# -- losing the lease and taking it back ---------------------------------------------------------

def test_an_observer_takes_over_at_the_expiry_it_saw() -> None:
    leases = Leases()
    holder, observer = keeper(leases, "holder"), keeper(leases, "observer")

    async def scenario() -> float:
        one, two = Session(holder), Session(observer)
        await holder.start(one.activate, one.deactivate)
        watching = asyncio.create_task(observer.start(two.activate, two.deactivate))
        await asyncio.sleep(0.5)
        assert two.started == 0 and one.stopped == 0
        await holder.stop()  # dies: no more renewals, no release
        last_renewal = (leases.row.renewed_at if leases.row else 0) / 1000
        await watching
        took = time.monotonic_ns() / 1e9 - last_renewal
        assert leases.row is not None and leases.row.holder == "observer"
        assert leases.row.epoch == 2 and observer.epoch == 2
        await observer.stop()
        return took

    took = asyncio.run(scenario())
    # not TTL/3 after the expiry (its polling period), but right at it
    assert 0.55 <= took <= 0.6 + 0.15, took


def test_losing_the_lease_stops_the_session_and_taking_it_back_starts_it_again() -> None:
    leases = Leases()
    k = keeper(leases, "me")
    acquired: list[int] = []
    k.on_acquired.append(lambda lease: acquired.append(lease.epoch))

    async def scenario() -> Session:
        session = Session(k)
        assert await k.start(session.activate, session.deactivate) == "run 1"
        leases.give_to("other", ttl_ms=400)  # taken over behind its back
        await until(lambda: session.stopped == 1)
        with pytest.raises(LeaseLostError):
            k.check_send()
        assert k.status().holder == "other"
        await until(lambda: session.started == 2)  # the other's lease expired: back
        k.check_send()
        await k.stop()
        await k.release()
        return session

    session = asyncio.run(scenario())
    assert acquired == [1, 3]
    assert leases.renewals >= 1  # a holder renews (it does not ask to acquire again)
    assert session.sent_while_starting == [True, True]
    audited = [(e.action, dict(e.details)) for e in leases.audit]
    assert [a for a, _ in audited] == [LEASE_ACQUIRED_ACTION] * 2
    assert audited[0][1] == {"engine": "me", "epoch": "1"}
    assert audited[1][1] == {"engine": "me", "epoch": "3", "previous_holder": "other"}
    assert leases.released == ["me"] and k.status().state is LeaseState.IDLE


def test_a_renewal_that_comes_back_with_a_new_epoch_restarts_the_session() -> None:
    leases = Leases()
    k = keeper(leases, "me")

    async def scenario() -> Session:
        session = Session(k)
        await k.start(session.activate, session.deactivate)
        # someone held it in between and let it expire: whatever "me" knew is stale
        leases.give_to("other", ttl_ms=0)
        await until(lambda: session.started == 2)
        assert session.stopped == 1 and k.epoch == 3
        await k.stop()
        return session

    asyncio.run(scenario())


def test_a_ledger_that_cannot_answer_stops_the_sending_at_the_local_deadline() -> None:
    leases = Leases()
    k = keeper(leases, "me", ttl_s=0.6, margin_s=0.1)

    async def scenario() -> None:
        session = Session(k)
        await k.start(session.activate, session.deactivate)
        leases.down = True
        t0 = time.monotonic()
        while True:
            try:
                k.check_send()
            except LeaseLostError:
                break
            await asyncio.sleep(0.005)
        # before the lease expires in the ledger (0.6 s after the last renewal)
        assert time.monotonic() - t0 <= 0.5 + 0.05
        await until(lambda: session.stopped == 1)
        leases.down = False  # nobody took it meanwhile: the same epoch, the session again
        await until(lambda: session.started == 2)
        assert k.epoch == 1
        await k.stop()

    asyncio.run(scenario())


def test_a_busy_loop_refuses_sends_meanwhile_but_a_late_renewal_loses_nothing() -> None:
    leases = Leases()
    k = keeper(leases, "me", ttl_s=0.6)

    async def scenario() -> Session:
        session = Session(k)
        await k.start(session.activate, session.deactivate)
        time.sleep(0.7)  # the event loop is stuck past the local deadline (0.48 s)
        with pytest.raises(LeaseLostError, match="its own lease lapsed"):
            k.check_send()
        await until(lambda: k.holding)  # renewed late: still its lease, same epoch
        k.check_send()
        assert k.epoch == 1
        await k.stop()
        return session

    session = asyncio.run(scenario())
    assert (session.started, session.stopped) == (1, 0)


def test_a_failed_start_gives_the_lease_up() -> None:
    leases = Leases()
    k = keeper(leases, "me")

    async def failing() -> str:
        raise RuntimeError("the stream did not subscribe")

    async def nothing() -> None:
        return None

    with pytest.raises(RuntimeError):
        asyncio.run(k.start(failing, nothing))
    assert leases.released == ["me"] and leases.row is not None and leases.row.expired
    assert k.status().state is LeaseState.IDLE


# -- one process: never contended ----------------------------------------------------------------

def test_a_lease_the_ledger_does_not_enforce_never_expires_and_is_not_audited() -> None:
    now = [0.0]
    leases = Leases(enforced=False)
    k = keeper(leases, "me", ttl_s=1, monotonic=lambda: now[0])
    leases.give_to("another process", ttl_ms=60_000)

    async def scenario() -> str:
        session = Session(k)
        await k.start(session.activate, session.deactivate)  # whoever asks gets it
        now[0] = 1e9
        assert k.holding
        k.check_send()
        described = k.status().describe()
        await k.stop()
        return described

    assert asyncio.run(scenario()) == "holding (one process: the lease is not contended)"
    assert leases.audit == []


# -- words ---------------------------------------------------------------------------------------

def test_the_status_says_what_the_engine_does() -> None:
    holding = LeaseStatus(LeaseState.HOLDING, "me", "me", 3, 8.14, True)
    assert holding.describe() == "holding (epoch 3, expires in 8.1 s)"
    watching = LeaseStatus(LeaseState.OBSERVING, "me", "bot1@a:1:ff", 2, -1.04, True)
    assert watching.describe() == "observing (lease held by bot1@a:1:ff, expired 1.0 s ago)"
    assert LeaseStatus(LeaseState.OBSERVING, "me", None, None, None, True).describe() == \
        "observing (the lease could not be read yet)"
    assert LeaseStatus(LeaseState.OBSERVING, "me", "me", 4, 0.5, True).describe() == \
        "observing (its own lease lapsed, expires in 0.5 s: asking for it again)"


def test_an_engine_id_names_the_worker_the_host_and_the_process_and_never_repeats() -> None:
    one, two = engine_id("bot1"), engine_id("bot1")
    assert one != two
    assert one.startswith("bot1@") and f":{os.getpid()}:" in one and len(one) <= 200


def test_a_ttl_and_a_margin_that_make_no_sense_are_refused() -> None:
    with pytest.raises(ValueError, match="TTL"):
        keeper(Leases(), ttl_s=0)
    with pytest.raises(ValueError, match="margin"):
        keeper(Leases(), ttl_s=3, margin_s=2.5)
