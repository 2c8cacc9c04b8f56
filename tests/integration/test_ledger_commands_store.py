"""The ledger side of operator commands: any process submits; only the lease holder takes
and finishes one, exactly once; what a lost holder left running is marked failed by the
next; a pending command can be withdrawn. Migration 0006 adds the table in place."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext

from console.domain.commands import CommandKind, CommandState
from console.errors import LeaseLostError
from console.store import Ledger, db

V, A = "sim", "main"
TTL_MS = 1_000
PG = [pytest.param("postgres", marks=pytest.mark.postgres)]


def submit(ledger: Ledger, kind: CommandKind = CommandKind.HALT, account: str = A,
           **arguments: str) -> int:
    return ledger.submit_command(V, account, kind, arguments=arguments, operator="alice",
                                 issued_at=1_000)


def test_a_submitted_command_is_taken_once_and_finished_by_its_taker(
        open_ledger: Callable[..., Ledger]) -> None:
    console, engine = open_ledger(), open_ledger()
    command_id = submit(console, CommandKind.APPROVE, run_id="r1", index="3")
    lease = engine.acquire_lease(V, A, "engine-1", 60_000)
    pending = console.open_commands(V, A)
    assert [c.command_id for c in pending] == [command_id]
    assert pending[0].arguments == (("index", "3"), ("run_id", "r1"))
    assert pending[0].state is CommandState.PENDING and pending[0].taken_by == ""
    taken = engine.take_command(pending[0], "engine-1", lease.epoch)
    assert taken is not None and taken.state is CommandState.RUNNING
    assert (taken.taken_by, taken.taken_epoch) == ("engine-1", lease.epoch)
    assert engine.take_command(pending[0], "engine-1", lease.epoch) is None  # once only
    assert engine.finish_command(taken, "engine-1", lease.epoch, state=CommandState.DONE,
                                 result="applied", done_at=2_000)
    done = console.command(command_id)
    assert done is not None and done.state is CommandState.DONE
    assert (done.result, done.done_at) == ("applied", 2_000)
    assert console.open_commands(V, A) == []
    assert not console.withdraw_command(command_id, 3_000, "too late")


def test_racing_takers_take_a_command_exactly_once(open_ledger: Callable[..., Ledger]) -> None:
    console, engine = open_ledger(), open_ledger()
    lease = engine.acquire_lease(V, A, "engine-1", 60_000)
    ids = [submit(console) for _ in range(20)]
    commands = console.open_commands(V, A, limit=50)
    assert [c.command_id for c in commands] == ids

    def take_all() -> int:
        return sum(engine.take_command(c, "engine-1", lease.epoch) is not None
                   for c in commands)

    with ThreadPoolExecutor(4) as pool:
        taken = sum(pool.map(lambda _: take_all(), range(4)))
    assert taken == 20


def test_what_an_earlier_holder_left_running_is_marked_failed(
        open_ledger: Callable[..., Ledger]) -> None:
    console, engine = open_ledger(), open_ledger()
    first = engine.acquire_lease(V, A, "engine-1", TTL_MS)
    command_id = submit(console)
    found = console.command(command_id)
    assert found is not None
    assert engine.take_command(found, "engine-1", first.epoch) is not None
    engine.release_lease(V, A, "engine-1")
    second = engine.acquire_lease(V, A, "engine-2", TTL_MS)
    assert second.epoch == first.epoch + 1
    assert engine.fail_abandoned_commands(V, A, "engine-2", second.epoch, 5_000) == 1
    failed = console.command(command_id)
    assert failed is not None and failed.state is CommandState.FAILED
    assert "lost its lease" in failed.result and failed.done_at == 5_000
    # its first taker cannot record an outcome over it: the fence refuses it on
    # PostgreSQL; on SQLite (nothing fenced) the command is no longer its running one
    late = open_ledger()
    if late.dialect == "postgresql":
        with pytest.raises(LeaseLostError):
            late.finish_command(found, "engine-1", first.epoch, state=CommandState.DONE,
                                result="x", done_at=6_000)
    else:
        assert not late.finish_command(found, "engine-1", first.epoch,
                                       state=CommandState.DONE, result="x", done_at=6_000)
    assert console.command(command_id) == failed


@pytest.mark.parametrize("backend", PG)
def test_only_the_lease_holder_takes_or_finishes_a_command(
        open_ledger: Callable[..., Ledger]) -> None:
    console, one, two = open_ledger(), open_ledger(), open_ledger()
    lease = one.acquire_lease(V, A, "engine-1", TTL_MS)
    assert not two.acquire_lease(V, A, "engine-2", TTL_MS).held_by("engine-2")
    command_id = submit(console)
    found = console.command(command_id)
    assert found is not None
    # an observer, and a process that never asked for the lease, are refused alike
    with pytest.raises(LeaseLostError):
        two.take_command(found, "engine-2", lease.epoch)
    with pytest.raises(LeaseLostError):
        console.take_command(found, "engine-2", lease.epoch)
    with pytest.raises(LeaseLostError):
        console.take_command(found, "engine-1", lease.epoch + 1)
    still = console.command(command_id)
    assert still is not None and still.state is CommandState.PENDING
    taken = one.take_command(found, "engine-1", lease.epoch)
    assert taken is not None
    time.sleep(lease.remaining_ms / 1000 + 0.05)  # the lease expires unrenewed
    with pytest.raises(LeaseLostError, match="expired"):
        one.finish_command(taken, "engine-1", lease.epoch, state=CommandState.DONE,
                           result="late", done_at=9_000)
    running = console.command(command_id)
    assert running is not None and running.state is CommandState.RUNNING


def test_a_pending_command_can_be_withdrawn(open_ledger: Callable[..., Ledger]) -> None:
    console = open_ledger()
    command_id = submit(console, account="nobody")
    assert console.withdraw_command(command_id, 2_000, "no engine took it in 5 s")
    found = console.command(command_id)
    assert found is not None and found.state is CommandState.REFUSED
    assert found.result == "no engine took it in 5 s"
    assert [c.command_id for c in console.commands(V, "nobody")] == [command_id]


# --- migration 0006 ----------------------------------------------------------------------

def _ledger_at_0005(url: str) -> None:
    engine = db.create_ledger_engine(db.resolve_url(url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.upgrade(db.alembic_config(conn), "0005")
            assert MigrationContext.configure(conn).get_current_revision() == "0005"
    finally:
        engine.dispose()


def test_0006_adds_the_command_table_to_a_0005_ledger_and_downgrades(ledger_url: str) -> None:
    _ledger_at_0005(ledger_url)
    with Ledger.open(ledger_url) as ledger:
        with ledger.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == db.head_revision()
            assert "commands" in sa.inspect(conn).get_table_names()
        assert ledger.commands() == []
        assert submit(ledger) >= 1
    engine = db.create_ledger_engine(db.resolve_url(ledger_url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.downgrade(db.alembic_config(conn), "0005")
        with engine.connect() as conn:
            assert "commands" not in sa.inspect(conn).get_table_names()
            assert "leases" in sa.inspect(conn).get_table_names()
    finally:
        engine.dispose()
