"""`recon-console reconcile --plan-only` and `recon-console rehearse`, run as an operator
runs them: a real process, a real SQLite ledger, the sim (a scenario, or a sim profile)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from plan_support import fingerprint_at


def recon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def as_json(out: subprocess.CompletedProcess[str]) -> Any:
    assert out.stderr == "", out.stderr
    return json.loads(out.stdout)


def test_plan_only_shows_the_plan_and_records_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    scenario = ("--scenario", "bracket-missing-protection", "--db", db)
    first = recon("reconcile", "--plan-only", *scenario)
    assert first.returncode == 0, first.stderr
    text = first.stdout
    assert text.startswith("Plan only, nothing applied or recorded: sim/main, scenario "
                           "bracket-missing-protection")
    assert "2 discrepancies:" in text and "[bracket_missing_protection]" in text
    assert "place_protection       needs approval" in text
    assert "Trading: TRADING -> PAUSED (hard desync" in text
    assert "open orders  venue        1   ledger        2" in text

    seeded = fingerprint_at(db)  # the first command seeded the new sim ledger, nothing else
    again = as_json(recon("reconcile", "--plan-only", "--json", *scenario))
    assert fingerprint_at(db) == seeded
    assert as_json(recon("runs", "--json", "--db", db)) == []
    assert again["plan_only"] is True and again["status"] == "ok"
    assert again["actions"]["needs_approval"] == 1 and again["actions"]["blocked"] == 0
    assert again["held"]["open orders"] == {"venue": 1, "ledger": 2}
    assert set(again["timings_ms"]) >= {"loading ledger", "fetching venue snapshot",
                                        "comparing"}

    run = as_json(recon("reconcile", "--once", "--json", *scenario))
    assert run["discrepancies"]["by_kind"] == again["discrepancies"]["by_kind"]
    assert [(a["kind"], a["subject"], a["decision"]) for a in run["actions"]["items"]] == \
        [(a["kind"], a["subject"], a["policy"]) for a in again["actions"]["items"]]


def test_plan_only_on_a_real_venue_needs_a_profile(tmp_path: Path) -> None:
    out = recon("reconcile", "--plan-only", "--venue", "bybit", "--db",
                f"sqlite:///{tmp_path / 'l.db'}")
    assert out.returncode == 1 and "needs a profile" in out.stderr


def test_rehearse_says_what_a_cold_start_would_cancel_and_clear(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    out = recon("rehearse", "--scenario", "bracket-entry-open", "--db", db)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "what a cold start of sim/main, scenario bracket-entry-open" in text
    assert "Workers restarting: demo/w1 (every worker with a saved runner state)" in text
    assert "Would cancel (1):\n    - [needs approval] cancel BTCUSDT Buy 0.01 @ 59000" in text
    assert "Would clear brackets (1):" in text
    assert "Bracket demo/w1 BTCUSDT: held" in text
    assert "Emergency halt: none" in text

    seeded = fingerprint_at(db)
    data = as_json(recon("rehearse", "--json", "--scenario", "bracket-entry-open",
                         "--worker", "demo/w1", "--db", db))
    assert fingerprint_at(db) == seeded
    assert data["workers"] == ["demo/w1"] and data["workers_from"] == "named"
    assert [c["decision"] for c in data["cancel"]] == ["needs_approval"]
    assert data["brackets"][0]["outcome"] == "held"
    assert data["plan"]["trigger"] == "startup"

    bad = recon("rehearse", "--worker", "w1", "--db", db)
    assert bad.returncode == 1 and "expected USER/WORKER" in bad.stderr


def test_both_work_on_a_profile(tmp_path: Path) -> None:
    env = dict(os.environ, RECON_CONSOLE_CONFIG=str(tmp_path / "profiles.toml"))
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    added = recon("profiles", "add", "paper", "--venue", "sim", "--db", db, env=env)
    assert added.returncode == 0, added.stderr
    preview = as_json(recon("reconcile", "--plan-only", "--json", "--profile", "paper",
                            env=env))
    assert preview["source"] == "profile paper (sim testnet)"
    assert preview["discrepancies"]["total"] == 0 and preview["actions"]["planned"] == 0
    rehearsal = recon("rehearse", "--profile", "paper", env=env)
    assert rehearsal.returncode == 0, rehearsal.stderr
    assert "Would cancel, restore, adopt or place nothing." in rehearsal.stdout
    assert as_json(recon("runs", "--json", "--db", db, env=env)) == []
