"""The CLI says what is true, through a sim profile (the embedded exchange in its `clean`
scenario: three resting orders and an ETH long; no keyring needed): the emergency stop's
headline names the position it left open, a reconciliation while halted says HALTED,
and the listings take --profile and name the venue and account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "profiles.toml"
    out = dict(os.environ, RECON_CONSOLE_CONFIG=str(config))
    added = recon("profiles", "add", "paper", "--venue", "sim", "--network", "testnet",
                  "--db", f"sqlite:///{tmp_path / 'ledger.db'}", env=out)
    assert added.returncode == 0, added.stderr
    return out


def recon(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


def test_stop_headline_names_the_open_position(env: dict[str, str]) -> None:
    out = recon("stop", "--profile", "paper", "--operator", "bob", env=env)
    assert out.returncode == 0, out.stderr
    assert "Nothing is left open" not in out.stdout
    lines = out.stdout.splitlines()
    assert lines[1] == "  Still open: 1 position (ETHUSDT long 0.2).", out.stdout
    # the headline names the position; it is not listed a second time
    assert "still open position: ETHUSDT long 0.2" not in out.stdout
    again = json.loads(recon("stop", "--profile", "paper", "--json", env=env).stdout)
    assert again["headline"] == "Still open: 1 position (ETHUSDT long 0.2)"
    assert again["nothing_open"] is False and again["open_positions"][0]["size"] == "0.2"


def test_a_reconciliation_while_halted_says_halted(env: dict[str, str]) -> None:
    assert recon("stop", "--profile", "paper", "--operator", "bob", "--reason",
                 "fat finger", env=env).returncode == 0
    text = recon("reconcile", "--once", "--profile", "paper", env=env)
    assert text.stdout.splitlines()[-1] == (
        "  Trading: HALTED (fat finger (emergency:bob); until an operator resumes)"), text.stdout
    report = json.loads(recon("reconcile", "--once", "--profile", "paper", "--json",
                              env=env).stdout)
    assert report["trading"]["mode"] == "halted"
    assert "fat finger" in report["trading"]["reason"]

    assert recon("resume", "--profile", "paper", "--operator", "bob", env=env).returncode == 0
    after = json.loads(recon("reconcile", "--once", "--profile", "paper", "--json",
                             env=env).stdout)
    assert after["trading"]["mode"] in {"trading", "paused"}
    line = recon("reconcile", "--once", "--profile", "paper", env=env).stdout.splitlines()[-1]
    assert "HALTED" not in line and line.startswith("  Trading: ")


def test_listings_take_the_profile_and_name_venue_and_account(env: dict[str, str]) -> None:
    assert recon("reconcile", "--once", "--profile", "paper", env=env).returncode == 0
    recon("stop", "--profile", "paper", "--operator", "bob", env=env)

    runs = recon("runs", "--profile", "paper", env=env)
    assert runs.returncode == 0, runs.stderr
    assert runs.stdout.startswith("Reconciliation runs of sim/main (profile paper)")
    assert all("  sim/main  " in line for line in runs.stdout.splitlines()[1:])
    listed = json.loads(recon("runs", "--profile", "paper", "--json", env=env).stdout)
    assert listed and {(r["venue"], r["account"], r["profile"]) for r in listed} == {
        ("sim", "main", "paper")}

    inbox = recon("inbox", "--profile", "paper", env=env)
    assert inbox.returncode == 0 and "sim/main (profile paper)" in inbox.stdout

    audit = recon("audit", "--profile", "paper", env=env)
    assert audit.stdout.startswith("Audit log of sim/main (profile paper)")
    assert "emergency:bob" in audit.stdout
    entries = json.loads(recon("audit", "--profile", "paper", "--json", env=env).stdout)
    assert entries and {(e["venue"], e["account"]) for e in entries} == {("sim", "main")}
    assert any(e["actor"] == "emergency:bob" for e in entries)
