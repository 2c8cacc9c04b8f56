"""A scenario run on a ledger another scenario built is refused (the two would mix: a
`clean` run once reported 9 discrepancies on such a ledger), with the advice to use a
fresh --db; the same scenario again is fine; a used ledger with no marker is warned of."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from console.domain import Balance, LedgerChanges
from console.scenario_marker import SCENARIO_SEEDED, ledger_scenario
from console.store import Ledger


def recon(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", "reconcile", "--once",
                           "--venue", "sim", *args, "--db", db],
                          capture_output=True, text=True, timeout=120, check=False)


def test_another_scenario_on_a_built_ledger_is_refused(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    first = recon("--scenario", "missed-fill", "--json", db=db)
    assert first.returncode == 0, first.stderr
    with Ledger.open(db) as ledger:
        assert ledger_scenario(ledger, "sim", "main") == "missed-fill"
        marks = ledger.audit_log(10, venue="sim", account="main", actions={SCENARIO_SEEDED})
        assert [dict(m.details) for m in marks] == [{"scenario": "missed-fill", "seed": "7"}]
        runs_before = len(ledger.list_runs("sim", "main"))

    mixed = recon("--scenario", "clean", "--json", db=db)
    assert mixed.returncode == 1
    assert mixed.stdout == ""
    assert "built by scenario 'missed-fill'" in mixed.stderr
    assert "Use a fresh database" in mixed.stderr and "--db" in mixed.stderr
    assert "Traceback" not in mixed.stderr
    with Ledger.open(db) as ledger:  # nothing was reconciled or recorded
        assert len(ledger.list_runs("sim", "main")) == runs_before

    same = recon("--scenario", "missed-fill", "--json", db=db)
    assert same.returncode == 0, same.stderr
    assert json.loads(same.stdout)["ledger_seeded"] is False

    fresh = recon("--scenario", "clean", "--json", db=f"sqlite:///{tmp_path / 'clean.db'}")
    assert fresh.returncode == 0
    assert json.loads(fresh.stdout)["discrepancies"]["total"] == 0


def test_a_used_ledger_without_a_marker_is_reconciled_with_a_warning(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'old.db'}"
    with Ledger.open(db) as ledger:  # written before ledgers were marked
        ledger.apply_changes("sim", "main", LedgerChanges(balances=(Balance(
            venue="sim", account="main", asset="USDT", total=Decimal(5), free=Decimal(5),
            locked=Decimal(0)),)))
    out = recon("--scenario", "clean", "--json", db=db)
    assert out.returncode in (0, 2), out.stderr
    assert "does not say which scenario built it" in out.stderr
    assert "fresh --db" in out.stderr
    with Ledger.open(db) as ledger:
        assert ledger_scenario(ledger, "sim", "main") is None
