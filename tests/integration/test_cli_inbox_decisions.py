"""`recon-console inbox approve|reject|lift ID`: the operator decides from the CLI, by the
id `inbox` prints (run_id:index), through the engine of the account, and every decision
is audited under operator:<who>."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def recon(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args, "--db", db],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    out = recon("reconcile", "--once", "--scenario", "crashed-session", db=url)
    assert out.returncode == 0, out.stderr
    return url


def inbox(db: str, *extra: str) -> list[dict[str, Any]]:
    out = recon("inbox", "--json", *extra, db=db)
    assert out.returncode == 0, out.stderr
    items: list[dict[str, Any]] = json.loads(out.stdout)
    return items


def audit(db: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads(recon("audit", "--json", db=db).stdout)
    return entries


def test_reject_and_approve_by_the_listed_id_are_audited(db: str) -> None:
    pending = inbox(db)
    assert len(pending) == 2
    assert all(p["venue"] == "sim" and p["account"] == "main" for p in pending)
    assert all(p["id"] == f"{p['run_id']}:{p['index']}" for p in pending)
    listed = recon("inbox", db=db).stdout
    assert listed.startswith("Awaiting approval on sim/main")
    assert all(f"{p['id']}  sim/main  cancel_order" in listed for p in pending)
    keep, cancel = pending

    rejected = recon("inbox", "reject", keep["id"], "--reason", "mine, keep it",
                     "--operator", "carol", db=db)
    assert rejected.returncode == 0, rejected.stderr
    assert "-> rejected" in rejected.stdout and "inbox lift" in rejected.stdout
    approved = recon("inbox", "approve", cancel["id"], "--operator", "carol", db=db)
    assert approved.returncode == 0, approved.stderr
    assert "-> applied" in approved.stdout

    assert inbox(db) == []
    decisions = {(e["actor"], e["action"], e["subject"]): e for e in audit(db)}
    reject = decisions[("operator:carol", "cancel_order:rejected", keep["subject"])]
    assert reject["details"]["reason"] == "mine, keep it" and reject["venue"] == "sim"
    assert ("operator:carol", "cancel_order:applied", cancel["subject"]) in decisions
    run = json.loads(recon("runs", "--json", db=db).stdout)[0]
    states = {a["index"]: (a["state"], a["applied_by"]) for a in run["actions"]["items"]}
    assert states[keep["index"]] == ("rejected", "operator:carol")
    assert states[cancel["index"]] == ("applied", "operator:carol")


def test_a_rejection_is_listed_as_held_and_can_be_lifted(db: str) -> None:
    item = inbox(db)[0]
    assert recon("inbox", "reject", item["id"], "--operator", "dan", db=db).returncode == 0
    held = inbox(db, "--held")
    assert [(h["id"], h["rejected_by"]) for h in held] == [(item["id"], "operator:dan")]
    assert "held until the venue changes" in recon("inbox", db=db).stdout

    lifted = recon("inbox", "lift", item["id"], "--operator", "dan", db=db)
    assert lifted.returncode == 0, lifted.stderr
    assert inbox(db, "--held") == []
    assert any(e["action"] == "cancel_order:rejection_lifted" and e["actor"] == "operator:dan"
               for e in audit(db))
    again = recon("inbox", "lift", item["id"], db=db)
    assert again.returncode == 1 and "lifted already" in again.stderr


def test_bad_ids_and_settled_actions_are_clear_errors(db: str) -> None:
    item = inbox(db)[0]
    malformed = recon("inbox", "approve", "nonsense", db=db)
    assert malformed.returncode == 1 and "RUN_ID:INDEX" in malformed.stderr
    unknown = recon("inbox", "reject", f"{item['run_id']}:99", db=db)
    assert unknown.returncode == 1 and "no action 99" in unknown.stderr
    assert recon("inbox", "reject", item["id"], db=db).returncode == 0
    twice = recon("inbox", "approve", item["id"], db=db)
    assert twice.returncode == 1 and "rejected, not pending" in twice.stderr
    assert "Traceback" not in malformed.stderr + unknown.stderr + twice.stderr
