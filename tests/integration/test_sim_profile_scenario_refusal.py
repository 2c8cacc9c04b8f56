"""A `--venue sim` profile on the quick-start ledger: the ledger another scenario built is
refused, as `reconcile --venue sim --scenario` refuses it, instead of being warned of and
rewritten by the profile's `clean` sim."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from console.book_marker import ScenarioMismatchError
from console.bootstrap import build_profile_session, build_sim_session
from console.store import Ledger


def test_a_sim_profile_refuses_a_ledger_another_scenario_built(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'quick-start.db'}"
    build_sim_session(db, "restart-with-position").close()
    with Ledger.open(db) as ledger:
        runs, audit = len(ledger.list_runs("sim", "main")), len(ledger.audit_log(10_000))
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.u]\nvenue = "sim"\nnetwork = "testnet"\ndb_url = "{db}"\n',
                      encoding="utf-8")
    with pytest.raises(ScenarioMismatchError, match="built by scenario 'restart-with-position'"):
        build_profile_session("u", config_path=str(config))
    out = subprocess.run([sys.executable, "-m", "console", "reconcile", "--once", "--profile",
                          "u", "--config", str(config)], capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "built by scenario 'restart-with-position'" in out.stderr
    assert "Traceback" not in out.stderr
    with Ledger.open(db) as ledger:  # nothing applied or recorded
        assert len(ledger.list_runs("sim", "main")) == runs
        assert len(ledger.audit_log(10_000)) == audit
