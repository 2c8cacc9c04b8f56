"""A new user's trial of the CLI, re-run: each command says what is true (a sim profile,
the embedded exchange in its `clean` scenario: three resting orders and an ETH long)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def recon(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, timeout=120, env=env, check=False)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = dict(os.environ, RECON_CONSOLE_CONFIG=str(tmp_path / "profiles.toml"))
    for name in ("paper", "other"):
        added = recon("profiles", "add", name, "--venue", "sim", "--network", "testnet",
                      "--db", str(tmp_path / f"{name}.db"), env=out)  # a plain path
        assert added.returncode == 0, added.stderr
    return out


def test_profiles_show_shows_the_named_profile_only(env: dict[str, str]) -> None:
    shown = recon("profiles", "show", "paper", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "[profiles.paper]" in shown.stdout and "[profiles.other]" not in shown.stdout
    missing = recon("profiles", "show", "nosuch", env=env)
    assert missing.returncode == 1 and "no profile 'nosuch'" in missing.stderr
    assert missing.stdout == ""


def test_stop_then_reconcile_says_the_halt_holds(env: dict[str, str]) -> None:
    stop = recon("stop", "--profile", "paper", "--operator", "root", env=env)
    assert stop.returncode == 0, stop.stderr
    assert stop.stdout.count("ETHUSDT long 0.2") == 1, stop.stdout  # named once
    assert "3 orders with 2 cancel requests" in stop.stdout, stop.stdout
    recon("reconcile", "--once", "--profile", "paper", env=env)  # pauses (sim restarts)
    text = recon("reconcile", "--once", "--profile", "paper", env=env).stdout
    assert "resume trading" not in text
    assert "lift the desync pause; the emergency halt still holds" in text, text
    assert text.splitlines()[-1].startswith("  Trading: HALTED")
    audit = json.loads(recon("audit", "--profile", "paper", "--json", env=env).stdout)
    resumed = next(e for e in audit if e["action"] == "resume_trading")
    assert resumed["details"]["reason"] == "clean reconciliation: desync pause lifted"
    assert resumed["details"]["halt"].startswith("still holds")
    listed = recon("audit", "--profile", "paper", env=env).stdout
    report = next(line for line in listed.splitlines() if "emergency_stop:report" in line)
    assert " ms" in report and "cancel_acknowledged_ms=" in report
    assert not any(len(part) > 12 and part.replace(".", "").isdigit()
                   for part in report.replace(",", " ").replace("=", " ").split()), report
    errors = recon("reconcile", "--once", "--profile", "paper", env=env).stderr
    assert "still halted" in errors and " at 1" not in errors  # the halt's time as ISO


def test_resume_json_prints_json(env: dict[str, str]) -> None:
    recon("stop", "--profile", "paper", env=env)
    out = recon("resume", "--profile", "paper", "--json", env=env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["halt_cleared"] is True


def test_profiles_add_names_its_config_and_refuses_binance_spot_without_symbols(
        tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    env = dict(os.environ, RECON_CONSOLE_CONFIG=str(tmp_path / "unused.toml"))
    added = recon("profiles", "add", "x", "--venue", "bybit", "--config", str(config),
                  env=env)
    assert added.returncode == 0, added.stderr
    assert f"recon-console credentials set x --config {config}" in added.stdout
    spot = recon("profiles", "add", "s", "--venue", "binance", "--market", "spot",
                 "--config", str(config), env=env)
    assert spot.returncode == 1
    assert "give the profile its symbols (--symbols)" in spot.stderr
    assert "[profiles.s]" not in config.read_text()


def test_run_without_headless_points_to_the_window(env: dict[str, str]) -> None:
    out = recon("run", "--profile", "paper", env=env)
    assert out.returncode == 64
    assert "recon-console gui --profile paper" in out.stderr and "--headless" in out.stderr


def test_plan_only_and_missed_fills_read_right(tmp_path: Path) -> None:
    env = dict(os.environ)
    plan = recon("reconcile", "--plan-only", "--scenario", "orphan-order", "--db",
                 str(tmp_path / "plan.db"), env=env)
    assert plan.returncode == 0, plan.stderr
    assert "; adopted" not in plan.stdout
    assert "adopt_order            would apply" in plan.stdout, plan.stdout
    fill = recon("reconcile", "--once", "--scenario", "missed-fill", "--db",
                 str(tmp_path / "fill.db"), env=env)
    line = next(x for x in fill.stdout.splitlines() if "[missing_fill]" in x)
    at = line.split(" at ")[1].split(" ")[0]
    assert at.endswith("Z") and "T" in at, line


def test_approving_a_lifted_rejection_says_how_to_find_it_again(tmp_path: Path) -> None:
    env = dict(os.environ)
    db = str(tmp_path / "inbox.db")
    assert recon("reconcile", "--once", "--scenario", "crashed-session", "--db", db,
                 env=env).returncode == 0
    item = json.loads(recon("inbox", "--json", "--db", db, env=env).stdout)[0]["id"]
    assert recon("inbox", "reject", item, "--db", db, env=env).returncode == 0
    lifted = recon("inbox", "lift", item, "--db", db, env=env)
    assert "under a new id" in lifted.stdout and "recon-console inbox" in lifted.stdout
    again = recon("inbox", "approve", item, "--db", db, env=env)
    assert again.returncode == 1
    assert "under a new id" in again.stderr
    assert "recon-console reconcile --once" in again.stderr
    assert "--scenario crashed-session" in again.stderr
