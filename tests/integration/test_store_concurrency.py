"""The ledger shared between threads, instances and a competing writer."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from console.domain import LedgerChanges, OrderStatus
from console.domain.ids import ClientOrderIdGenerator
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.errors import LedgerError
from console.store import Ledger

V, A = "bybit", "main"


def test_next_counter_never_repeats_across_instances_and_threads(open_ledger):
    ledgers = [open_ledger(), open_ledger()]
    threads, per_thread = 8, 100
    barrier = threading.Barrier(threads)

    def take(n: int) -> list[int]:
        ledger = ledgers[n % 2]
        barrier.wait()
        return [ledger.next_counter("client_order_id") for _ in range(per_thread)]

    with ThreadPoolExecutor(threads) as pool:
        taken = [v for chunk in pool.map(take, range(threads)) for v in chunk]
    assert sorted(taken) == list(range(1, threads * per_thread + 1))
    assert ledgers[0].next_counter("other") == 1  # counters are independent by name
    assert ledgers[1].next_counter("client_order_id") == threads * per_thread + 1


def test_client_ids_from_two_ledgers_on_one_database_are_unique(open_ledger):
    """Two processes' generators, same worker, same frozen clock: the counter decides."""
    gens = [ClientOrderIdGenerator("rc", "w1", lambda lg=lg: lg.next_counter("cid"),
                                   lambda: 1_700_000_000_000)
            for lg in (open_ledger(), open_ledger())]
    ids = [gen.next() for _ in range(50) for gen in gens]
    assert len(set(ids)) == len(ids)


def test_concurrent_first_opens_migrate_once(open_ledger):
    with ThreadPoolExecutor(4) as pool:
        ledgers = list(pool.map(lambda _i: open_ledger(), range(4)))
    for ledger in ledgers:
        assert ledger.count_orders(V, A) == 0


def test_a_locked_sqlite_database_gives_ledger_error_and_loses_nothing(tmp_path: Path, build):
    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}", busy_timeout_ms=100) as ledger:
        ledger.upsert_orders([build.order("c1")])
        ledger.save_runner_state(build.runner_state())

        blocker = sqlite3.connect(path, isolation_level=None, timeout=0.1)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            blocker.execute("INSERT INTO counters (name, value) VALUES ('blocker', 1)")

            with pytest.raises(LedgerError, match="locked") as info:
                ledger.upsert_orders([build.order("c2"),
                                      build.order("c1", status=OrderStatus.FILLED)])
            assert "try again" in str(info.value)
            run = RunRecord(run_id="r1", venue=V, account=A, trigger=RunTrigger.MANUAL,
                            started_at=1, finished_at=2, status=RunStatus.OK)
            with pytest.raises(LedgerError, match="locked"):
                ledger.commit_run(run, LedgerChanges(fills=(build.fill("e1"),)))
            with pytest.raises(LedgerError, match="locked"):
                ledger.next_counter("client_order_id")
            # WAL: readers are not blocked by the writer.
            assert ledger.orders(V, A) == [build.order("c1")]
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

        assert ledger.orders(V, A) == [build.order("c1")]
        assert ledger.runner_states(V, A) == [build.runner_state()]
        assert ledger.load_run("r1") is None and ledger.fills(V, A) == []
        # Once the lock is gone the same writes go through.
        ledger.upsert_orders([build.order("c2")])
        assert ledger.next_counter("client_order_id") == 1
        assert ledger.count_orders(V, A) == 2


def test_a_locked_database_at_open_gives_ledger_error(tmp_path: Path):
    path = tmp_path / "ledger.db"
    blocker = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    try:
        blocker.execute("PRAGMA journal_mode = WAL")
        blocker.execute("BEGIN EXCLUSIVE")
        blocker.execute("CREATE TABLE squatter (x INTEGER)")
        with pytest.raises(LedgerError, match="locked"):
            Ledger.open(f"sqlite:///{path}", busy_timeout_ms=100)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    with Ledger.open(f"sqlite:///{path}", busy_timeout_ms=100) as ledger:
        assert ledger.count_orders(V, A) == 0
