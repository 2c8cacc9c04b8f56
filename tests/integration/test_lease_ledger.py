"""Leases in the ledger (console.store.leases): one atomic acquisition, the epoch, the
database's clock, and the fence on every write path, against PostgreSQL; on SQLite the
lease is recorded but never contended, and nothing is fenced. Migration 0005 adds the
table to a 0004 ledger in place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext

from console.domain import LedgerChanges, OrderStatus, RunnerState
from console.domain.alerts import Alert, AlertRule
from console.domain.lease import Lease
from console.domain.reconciliation import (
    Action,
    ActionKind,
    ActionState,
    AuditEntry,
    Decision,
    PlannedAction,
    RunRecord,
    RunStatus,
    RunTrigger,
    Severity,
)
from console.errors import LeaseLostError, LedgerError
from console.store import Ledger, db

V, A = "bybit", "main"
PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
TTL_MS = 1_000


def a_run(run_id: str, at: int = 10_000, account: str = A) -> RunRecord:
    return RunRecord(run_id=run_id, venue=V, account=account, trigger=RunTrigger.PERIODIC,
                     started_at=at, finished_at=at + 5, status=RunStatus.OK)


def wait_until_expired(lease: Lease) -> None:
    time.sleep(lease.remaining_ms / 1000 + 0.05)


# --- PostgreSQL: one holder, an epoch, the database's clock ---------------------------------

@pytest.mark.parametrize("backend", PG)
def test_one_engine_holds_the_lease_until_it_expires_then_another_takes_it(open_ledger):
    one, two = open_ledger(), open_ledger()
    first = one.acquire_lease(V, A, "engine-1", TTL_MS)
    assert first.held_by("engine-1") and first.epoch == 1 and first.enforced
    assert first.remaining_ms == TTL_MS  # by the database's clock: no skew to allow for
    refused = two.acquire_lease(V, A, "engine-2", TTL_MS)
    assert not refused.held_by("engine-2")
    assert (refused.holder, refused.epoch) == ("engine-1", 1)
    assert "held by engine-1 (epoch 1), expires in" in refused.describe()
    renewed = one.acquire_lease(V, A, "engine-1", TTL_MS)
    assert renewed.epoch == 1 and renewed.expires_at > first.expires_at
    assert renewed.acquired_at == first.acquired_at  # a renewal is no new holder
    wait_until_expired(renewed)
    taken = two.acquire_lease(V, A, "engine-2", TTL_MS)
    assert taken.held_by("engine-2") and taken.epoch == 2
    seen = one.lease(V, A)
    assert seen is not None and seen.db_now >= taken.db_now
    assert seen == Lease(V, A, "engine-2", 2, taken.expires_at, taken.renewed_at,
                         taken.acquired_at, seen.db_now)
    # each account has its own lease
    assert one.acquire_lease(V, "other", "engine-1", TTL_MS).epoch == 1
    assert [(x.account, x.holder) for x in two.leases()] == [("main", "engine-2"),
                                                             ("other", "engine-1")]


@pytest.mark.parametrize("backend", PG)
def test_a_released_lease_can_be_taken_at_once_and_the_epoch_moves_on(open_ledger):
    one, two = open_ledger(), open_ledger()
    one.acquire_lease(V, A, "engine-1", 60_000)
    one.release_lease(V, A, "engine-1")
    assert one.lease(V, A).expired  # type: ignore[union-attr]
    taken = two.acquire_lease(V, A, "engine-2", 60_000)
    assert taken.held_by("engine-2") and taken.epoch == 2
    one.release_lease(V, A, "engine-1")  # not its lease any more: nothing changes
    assert two.lease(V, A).held_by("engine-2")  # type: ignore[union-attr]
    # a holder that takes its own released lease back keeps its epoch (nobody came between)
    two.release_lease(V, A, "engine-2")
    assert two.acquire_lease(V, A, "engine-2", 60_000).epoch == 2


@pytest.mark.parametrize("backend", PG)
def test_engines_racing_for_a_free_lease_get_exactly_one_winner(open_ledger):
    ledgers = [open_ledger() for _ in range(8)]
    barrier = threading.Barrier(len(ledgers))

    def race(i: int) -> Lease:
        barrier.wait()
        for _ in range(20):
            try:
                return ledgers[i].acquire_lease(V, A, f"engine-{i}", 60_000)
            except LedgerError as exc:
                # "not now": the row was locked past the acquisition's lock timeout (a
                # loaded machine); the keeper asks again at its next tick, and so do we
                assert "lock timeout" in str(exc)
        raise AssertionError(f"engine-{i} never got an answer")

    with ThreadPoolExecutor(len(ledgers)) as pool:
        answers = list(pool.map(race, range(len(ledgers))))
    winners = [a.holder for a in answers if a.held_by(a.holder)
               and a.holder == f"engine-{answers.index(a)}"]
    assert len(winners) == 1
    assert {a.holder for a in answers} == {winners[0]} and {a.epoch for a in answers} == {1}


# --- PostgreSQL: the fence on every write path ---------------------------------------------

def _writes(ledger: Ledger, build, tag: str) -> dict[str, Callable[[], None]]:  # type: ignore[no-untyped-def]
    """Every ledger write that names the account, each writing something new."""
    order = build.order(f"o-{tag}")
    alert = Alert(venue=V, account=A, rule=AlertRule.RECONCILE_STALE, subject=f"s-{tag}",
                  severity=Severity.WARNING, message="m", first_seen=1, last_seen=1)
    return {
        "upsert_orders": lambda: ledger.upsert_orders([order]),
        "apply_changes": lambda: ledger.apply_changes(V, A, LedgerChanges(
            fills=(build.fill(f"f-{tag}"),))),
        "commit_run": lambda: ledger.commit_run(a_run(f"r-{tag}"), LedgerChanges()),
        "append_audit": lambda: ledger.append_audit(AuditEntry(
            at=1, actor="engine:w1", action=f"a-{tag}", subject="s", venue=V, account=A)),
        "save_runner_state": lambda: ledger.save_runner_state(RunnerState(
            user_id="u1", worker_id=f"w-{tag}", venue=V, account=A)),
        "upsert_alerts": lambda: ledger.upsert_alerts([alert]),
        "set_action_state": lambda: ledger.set_action_state(
            f"r-pending-{tag}", 0, ActionState.REJECTED, by=f"op-{tag}", at=2),
    }


def _seed_pending_action(ledger: Ledger, build, tag: str) -> None:  # type: ignore[no-untyped-def]
    """A run with one action awaiting approval, for `set_action_state` (started after the
    runs `_writes` commits, and partial: those never supersede it)."""
    action = PlannedAction(Action(ActionKind.CANCEL_ORDER, f"o-x-{tag}",
                                  order=build.order(f"o-x-{tag}")),
                           decision=Decision.NEEDS_APPROVAL)
    ledger.commit_run(RunRecord(run_id=f"r-pending-{tag}", venue=V, account=A,
                                trigger=RunTrigger.PERIODIC, started_at=20_000,
                                finished_at=20_001, status=RunStatus.PARTIAL,
                                actions=(action,)), LedgerChanges())


def _written(ledger: Ledger, tag: str) -> set[str]:
    """Which of `_writes(tag)` left a trace."""
    found = set()
    if ledger.get_order(V, A, f"o-{tag}") is not None:
        found.add("upsert_orders")
    if any(f.exec_id == f"f-{tag}" for f in ledger.fills(V, A)):
        found.add("apply_changes")
    if ledger.load_run(f"r-{tag}") is not None:
        found.add("commit_run")
    if any(e.action == f"a-{tag}" for e in ledger.audit_log(1000)):
        found.add("append_audit")
    if any(s.worker_id == f"w-{tag}" for s in ledger.runner_states(V, A)):
        found.add("save_runner_state")
    if any(x.subject == f"s-{tag}" for x in ledger.alerts(V, A)):
        found.add("upsert_alerts")
    run = ledger.load_run(f"r-pending-{tag}")
    if run is not None and run.actions[0].applied_by == f"op-{tag}":
        found.add("set_action_state")
    return found


@pytest.mark.parametrize("backend", PG)
def test_every_write_of_an_engine_that_lost_its_lease_is_refused_and_leaves_nothing(
        open_ledger, build):
    old, new, reader = open_ledger(), open_ledger(), open_ledger()
    for tag in ("held", "stale"):
        _seed_pending_action(reader, build, tag)
    lease = old.acquire_lease(V, A, "engine-old", 3 * TTL_MS)
    for write in _writes(old, build, "held").values():  # while it holds it: all pass
        write()
    assert _written(reader, "held") == set(_writes(old, build, "held"))
    wait_until_expired(lease)
    # expired, nobody took it yet: still refused (the fence asks for an unexpired lease)
    with pytest.raises(LeaseLostError, match="expired"):
        _writes(old, build, "late")["append_audit"]()
    assert new.acquire_lease(V, A, "engine-new", 60_000).epoch == 2
    refused = {}
    for name, write in _writes(old, build, "stale").items():
        with pytest.raises(LeaseLostError) as caught:
            write()
        refused[name] = str(caught.value)
    assert _written(reader, "stale") == set()
    assert all("engine-old lost the lease of epoch 1" in text and "engine-new (epoch 2)" in text
               for text in refused.values()), refused
    # the new holder writes; another account of the old engine's ledger is not fenced
    _writes(new, build, "new")["append_audit"]()
    old.commit_run(a_run("r-elsewhere", account="other"), LedgerChanges())
    assert "append_audit" in _written(reader, "new")


@pytest.mark.parametrize("backend", PG)
def test_an_engine_that_never_got_the_lease_writes_nothing_but_operator_commands_pass(
        open_ledger, build):
    holder, observer, reader = open_ledger(), open_ledger(), open_ledger()
    holder.acquire_lease(V, A, "engine-1", 60_000)
    assert not observer.acquire_lease(V, A, "engine-2", 60_000).held_by("engine-2")
    with pytest.raises(LeaseLostError, match="does not hold the lease"):
        observer.apply_changes(V, A, LedgerChanges(orders=(build.order("o-1"),)))
    assert reader.get_order(V, A, "o-1") is None
    # a halt given in the observing process must reach the holder through the ledger
    for actor in ("operator:alice", "emergency:alice"):
        observer.append_audit(AuditEntry(at=1, actor=actor, action="emergency_stop",
                                         subject=f"{V}/{A}", venue=V, account=A))
    assert [e.actor for e in reader.audit_log()] == ["emergency:alice", "operator:alice"]
    # counters are no account's: minting an id is harmless
    assert observer.next_counter("client_order_id") == 1
    # a clean stop's release drops the fence: the process is no engine for it any more
    observer.release_lease(V, A, "engine-2")
    observer.apply_changes(V, A, LedgerChanges(orders=(build.order("o-2"),)))
    assert reader.get_order(V, A, "o-2") is not None


@pytest.mark.parametrize("backend", PG)
def test_one_ledger_object_fences_one_engine_per_account(open_ledger):
    ledger = open_ledger()
    ledger.acquire_lease(V, A, "engine-1", 60_000)
    with pytest.raises(LeaseLostError, match="give each engine its own Ledger"):
        ledger.acquire_lease(V, A, "engine-2", 60_000)


@pytest.mark.parametrize("backend", PG)
def test_a_takeover_waits_for_the_old_holders_write_in_flight(open_ledger, build):
    """The fence share-locks the lease row: a takeover cannot commit between the old
    holder's check and its commit, so the new holder's first read sees that write."""
    from console.store import codec, tables

    old, new = open_ledger(), open_ledger()
    lease = old.acquire_lease(V, A, "engine-old", TTL_MS)
    checked = threading.Event()

    def slow_write() -> None:
        # the ledger's own fenced transaction, busy past the lease's expiry between its
        # check and its commit (busy, not idle: see the frozen-holder test)
        with old._tx("a slow write", write=True, fence=[(V, A)]) as conn:
            checked.set()
            conn.execute(sa.text("SELECT pg_sleep(3)"))
            conn.execute(tables.orders.insert().values(
                codec.order_to_row(build.order("in-flight"))))

    writer = threading.Thread(target=slow_write)
    writer.start()
    assert checked.wait(10)
    wait_until_expired(lease)
    # the takeover waits for the row, and gives up for now after ACQUIRE_LOCK_TIMEOUT_MS
    t0 = time.monotonic()
    with pytest.raises(LedgerError, match="lock"):
        new.acquire_lease(V, A, "engine-new", 60_000)
    assert time.monotonic() - t0 >= 0.9
    taken = None
    while taken is None:
        try:
            taken = new.acquire_lease(V, A, "engine-new", 60_000)
        except LedgerError:
            assert time.monotonic() - t0 < 10
    # the old holder's write is there the moment the takeover returns: it went in first
    assert new.get_order(V, A, "in-flight") is not None
    assert taken.held_by("engine-new") and taken.epoch == 2
    writer.join(10)


@pytest.mark.parametrize("backend", PG)
def test_a_frozen_holder_cannot_keep_the_lease_row_locked(open_ledger):
    """A holder stopped in the middle of a fenced write (SIGSTOP) would keep its row lock
    and so block every takeover: the server ends that transaction once it has idled for
    half the TTL (2 s at least)."""
    old, new = open_ledger(), open_ledger()
    lease = old.acquire_lease(V, A, "engine-old", TTL_MS)
    frozen = threading.Event()
    outcome: list[BaseException | None] = []

    def freeze() -> None:
        try:
            with old._tx("a frozen write", write=True, fence=[(V, A)]) as conn:
                frozen.set()
                time.sleep(6)  # idle in transaction, like a stopped process
                conn.execute(sa.text("SELECT 1"))
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
            outcome.append(exc)

    thread = threading.Thread(target=freeze)
    thread.start()
    assert frozen.wait(10)
    wait_until_expired(lease)
    taken = None
    t0 = time.monotonic()
    deadline = t0 + 5
    while taken is None and time.monotonic() < deadline:
        try:
            answer = new.acquire_lease(V, A, "engine-new", 60_000)
        except Exception:  # noqa: BLE001 - "not now" while the lock is held
            continue
        taken = answer if answer.held_by("engine-new") else None
    assert taken is not None and taken.epoch == 2
    assert time.monotonic() - t0 < 3  # not the 6 s the frozen transaction would last
    thread.join(10)
    assert outcome and outcome[0] is not None  # the frozen transaction did not commit


@pytest.mark.parametrize("backend", PG)
def test_the_holder_renews_without_waiting_for_its_own_writes_in_flight(open_ledger, build):
    """A renewal changes no key column: a long fenced write of the holder (a big
    reconciliation) does not hold it up, so the holder never lapses because of it."""
    holder, other = open_ledger(), open_ledger()
    lease = holder.acquire_lease(V, A, "engine-1", 60_000)
    busy = threading.Event()

    def long_write() -> None:
        with holder._tx("a long write", write=True, fence=[(V, A)]) as conn:
            busy.set()
            conn.execute(sa.text("SELECT pg_sleep(2)"))

    writer = threading.Thread(target=long_write)
    writer.start()
    assert busy.wait(10)
    time.sleep(0.1)  # the write holds its share lock on the lease row now
    t0 = time.monotonic()
    renewed = other.renew_lease(V, A, "engine-1", 1, 60_000)  # from any connection
    assert time.monotonic() - t0 < 0.5
    assert renewed is not None and renewed.held_by("engine-1") and renewed.epoch == 1
    assert renewed.expires_at >= lease.expires_at
    writer.join(10)
    # a stale renewal is no renewal: it answers the row as it stands
    stale = holder.renew_lease(V, A, "engine-1", 7, 60_000)
    assert stale is not None and stale.epoch == 1 and stale.renewed_at == renewed.renewed_at


# --- SQLite: recorded, never contended, nothing fenced -------------------------------------

@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_sqlite_the_lease_goes_to_whoever_asks_and_nothing_is_fenced(open_ledger, build):
    one, two = open_ledger(), open_ledger()
    first = one.acquire_lease(V, A, "engine-1", TTL_MS)
    assert first.held_by("engine-1") and not first.enforced and first.epoch == 1
    second = two.acquire_lease(V, A, "engine-2", TTL_MS)
    assert second.held_by("engine-2") and second.epoch == 2  # a restart never waits
    # the first engine's writes are not fenced: one process, one engine per file
    one.apply_changes(V, A, LedgerChanges(orders=(build.order("o-1"),)))
    assert two.get_order(V, A, "o-1") is not None
    assert two.lease(V, A).holder == "engine-2" and not two.lease(V, A).enforced  # type: ignore[union-attr]


# --- migration 0005 ----------------------------------------------------------------------

def _ledger_at_0004(url: str, build) -> None:  # type: ignore[no-untyped-def]
    engine = db.create_ledger_engine(db.resolve_url(url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.upgrade(db.alembic_config(conn), "0004")
        with db.transaction(engine, write=True) as conn:
            from console.store import codec, tables

            order = build.order("c1", status=OrderStatus.FILLED, filled_qty=Decimal("0.002"))
            conn.execute(tables.orders.insert().values(codec.order_to_row(order)))
            assert MigrationContext.configure(conn).get_current_revision() == "0004"
    finally:
        engine.dispose()


def test_0005_adds_the_lease_table_to_a_0004_ledger_in_place(ledger_url, build):
    _ledger_at_0004(ledger_url, build)
    with Ledger.open(ledger_url) as ledger:
        with ledger.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == db.head_revision()
            assert "leases" in sa.inspect(conn).get_table_names()
        assert ledger.leases() == [] and ledger.lease(V, A) is None
        assert ledger.get_order(V, A, "c1") is not None
        assert ledger.acquire_lease(V, A, "engine-1", TTL_MS).epoch == 1


def test_0005_downgrades_to_0004(ledger_url, build):
    _ledger_at_0004(ledger_url, build)
    Ledger.open(ledger_url).close()
    engine = db.create_ledger_engine(db.resolve_url(ledger_url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.downgrade(db.alembic_config(conn), "0004")
        with engine.connect() as conn:
            assert "leases" not in sa.inspect(conn).get_table_names()
            assert conn.execute(sa.text("SELECT count(*) FROM orders")).scalar() == 1
    finally:
        engine.dispose()
