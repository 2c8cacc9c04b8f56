"""The book version (console.store.book_version): every committed write to what a ledger
snapshot reads moves it, for its own (venue, account) only, and a snapshot says which
version it reflects."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from console.domain import LedgerChanges
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.domain.snapshot import FillCoverage
from console.store import Ledger

V, A = "bybit", "main"
DAY_MS = 24 * 3600 * 1000


def writes(build: type) -> dict[str, Callable[[Ledger], object]]:
    """One write of each kind a snapshot reads, on (V, A)."""
    run = RunRecord("r1", V, A, RunTrigger.MANUAL, 1_000, 1_500, RunStatus.OK)
    return {
        "upsert_orders": lambda led: led.upsert_orders([build.order("c1")]),
        "apply_changes fills": lambda led: led.apply_changes(V, A, LedgerChanges(
            fills=(build.fill("e1"),))),
        "apply_changes positions": lambda led: led.apply_changes(V, A, LedgerChanges(
            positions=(build.position("ETHUSDT"),))),
        "apply_changes balances": lambda led: led.apply_changes(V, A, LedgerChanges(
            balances=(build.balance("BTC"),))),
        "save_runner_state": lambda led: led.save_runner_state(build.runner_state("w9")),
        "commit_run": lambda led: led.commit_run(run, LedgerChanges(),
                                             FillCoverage(0, 1_500)),
        "reset_book": lambda led: led.reset_book(V, A, by="test", at=2_000),
    }


@pytest.mark.parametrize("kind", ["upsert_orders", "apply_changes fills",
                                  "apply_changes positions", "apply_changes balances",
                                  "save_runner_state", "commit_run", "reset_book"])
def test_every_write_a_snapshot_reads_moves_the_version(ledger: Ledger, build: type,
                                                        kind: str) -> None:
    before = ledger.book_version(V, A)
    writes(build)[kind](ledger)
    assert ledger.book_version(V, A) > before


def test_another_accounts_writes_leave_the_version_alone(ledger: Ledger, build: type) -> None:
    ledger.upsert_orders([build.order("c1")])
    before = ledger.book_version(V, A)
    ledger.upsert_orders([build.order("c2", account="other")])
    ledger.apply_changes(V, "other", LedgerChanges(fills=(build.fill("e2", account="other"),)))
    assert ledger.book_version(V, A) == before
    assert ledger.book_version(V, "other") == 2


def test_a_snapshot_tells_the_version_it_reflects(ledger: Ledger, build: type) -> None:
    assert ledger.book_version(V, A) == 0  # never written
    ledger.upsert_orders([build.order("c1")])
    snapshot, version = ledger.versioned_snapshot(V, A, now=2_000, retention_ms=DAY_MS,
                                                  fills_from=0)
    assert version == ledger.book_version(V, A) == 1
    assert [o.client_order_id for o in snapshot.orders] == ["c1"]
    ledger.upsert_orders([build.order("c2")])
    assert ledger.book_version(V, A) == version + 1
