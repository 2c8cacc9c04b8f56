"""The CLI as an operator runs it: a real process, a real SQLite ledger, the sim venue."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest


def recon(*args: str, db: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "console", *args]
    if db is not None:
        cmd += ["--db", db]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def test_help_lists_every_command() -> None:
    out = recon("--help")
    assert out.returncode == 0
    for command in ("reconcile", "run", "runs", "inbox", "audit", "scenarios", "sim",
                    "credentials", "profiles", "stop", "resume", "alerts", "--self-test",
                    "--version"):
        assert command in out.stdout


def test_version_names_the_build_and_the_libraries() -> None:
    out = recon("--version")
    assert out.returncode == 0
    from console import __version__

    assert out.stdout.startswith(f"recon-console {__version__}\n")
    for library in ("commit ", "Qt ", "PySide6 ", "pybit ", "ccxt ", "SQLAlchemy "):
        assert library in out.stdout


def test_restart_with_position_is_found_then_nothing_is_left(db: str) -> None:
    first = recon("reconcile", "--once", "--venue", "sim", "--scenario",
                  "restart-with-position", "--json", db=db)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["discrepancies"]["by_kind"]["position_missing_locally"] == 1
    assert report["actions"]["applied_by_kind"]["upsert_position"] == 1
    assert report["mode"] == "paused"  # a position mismatch is a hard desync
    assert report["venue_calls_total"] >= 4
    assert report["ledger_seeded"] is True
    item = next(i for i in report["discrepancies"]["items"]
                if i["kind"] == "position_missing_locally")
    assert item["venue"]["size"] and list(item["ledger"].values()) == ["absent"]

    second = recon("reconcile", "--once", "--venue", "sim", "--scenario",
                   "restart-with-position", "--json", db=db)
    assert second.returncode == 0, second.stderr
    again = json.loads(second.stdout)
    assert again["ledger_seeded"] is False
    assert again["discrepancies"]["total"] == 0
    assert again["mode"] == "trading"  # a clean run resumes
    assert {i["kind"] for i in again["actions"]["items"]} <= {"resume_trading"}


def test_readable_summary_and_history(db: str) -> None:
    out = recon("reconcile", "--once", "--venue", "sim", "--scenario", "manual-cancel", db=db)
    assert out.returncode == 0, out.stderr
    assert "status_mismatch" in out.stdout or "order_missing_on_venue" in out.stdout
    assert "mark_cancelled" in out.stdout
    runs = recon("runs", "--json", db=db)
    assert runs.returncode == 0
    recorded = json.loads(runs.stdout)
    assert len(recorded) == 1 and recorded[0]["trigger"] == "startup"


def test_crashed_session_leaves_cancels_in_the_inbox(db: str) -> None:
    out = recon("reconcile", "--once", "--venue", "sim", "--scenario", "crashed-session",
                "--json", db=db)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["discrepancies"]["by_kind"]["unknown_ours"] >= 1
    cancels = [a for a in report["actions"]["items"] if a["kind"] == "cancel_order"]
    assert cancels and all(a["state"] == "pending" for a in cancels)
    inbox = json.loads(recon("inbox", "--json", db=db).stdout)
    assert {a["subject"] for a in inbox} == {a["subject"] for a in cancels}


def test_unknown_scenario_is_a_clear_error(db: str) -> None:
    out = recon("reconcile", "--once", "--venue", "sim", "--scenario", "nope", db=db)
    assert out.returncode == 1
    assert "unknown scenario 'nope'" in out.stderr
    assert "restart-with-position" in out.stderr


def test_unreachable_database_is_a_clear_error() -> None:
    out = recon("reconcile", "--once", "--venue", "sim",
                db="postgresql+psycopg://u:hunter2@127.0.0.1:1/none")
    assert out.returncode == 1
    assert "hunter2" not in out.stderr + out.stdout
    assert "Traceback" not in out.stderr


# -- profiles: the venue registry decides what can be added and read -------------------------

def profiles_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RECON_CONSOLE_CONFIG=str(config))
    return subprocess.run([sys.executable, "-m", "console", "profiles", *args],
                          capture_output=True, text=True, timeout=120, check=False, env=env)


NO_CONNECTOR = ("venue 'okx' has no connector in this build; available: binance, bybit, "
                "deribit, sim")


def test_profiles_add_offers_the_registry_venues_and_refuses_others(tmp_path: Path) -> None:
    config = tmp_path / "profiles.toml"
    helped = profiles_cli(config, "--help")
    assert "one of binance, bybit, deribit, sim" in helped.stdout
    assert "--category" in helped.stdout and "--settle-coin" in helped.stdout
    refused = profiles_cli(config, "add", "b", "--venue", "okx")
    assert refused.returncode == 1 and NO_CONNECTOR in refused.stderr
    assert not config.exists()
    foreign = profiles_cli(config, "add", "s", "--venue", "sim", "--category", "spot")
    assert foreign.returncode == 1
    assert "--category is a setting of bybit, not of venue 'sim'" in foreign.stderr
    assert not config.exists()


def test_profiles_add_writes_the_venue_table_and_show_prints_it(tmp_path: Path) -> None:
    config = tmp_path / "profiles.toml"
    added = profiles_cli(config, "add", "desk", "--venue", "bybit", "--category", "spot",
                         "--settle-coin", "USDC", "--symbols", "BTCUSDT")
    assert added.returncode == 0, added.stderr
    assert profiles_cli(config, "add", "demo", "--venue", "sim").returncode == 0
    raw = tomllib.loads(config.read_text(encoding="utf-8"))["profiles"]
    assert raw["desk"]["bybit"] == {"category": "spot", "settle_coin": "USDC"}
    assert "category" not in raw["desk"] and "bybit" not in raw["demo"]
    shown = profiles_cli(config, "show")
    assert "[profiles.desk.bybit]" in shown.stdout and 'category = "spot"' in shown.stdout
    listed = profiles_cli(config, "list")
    desk = next(line for line in listed.stdout.splitlines() if line.startswith("desk"))
    assert "category=spot" in desk and "settle_coin=USDC" in desk


def test_an_old_layout_file_still_loads_and_a_file_naming_an_unknown_venue_is_refused(
        tmp_path: Path) -> None:
    config = tmp_path / "profiles.toml"
    config.write_text('[profiles.old]\nvenue = "bybit"\ncategory = "inverse"\n'
                      'settle_coin = "BTC"\n', encoding="utf-8")
    shown = profiles_cli(config, "show")
    assert shown.returncode == 0, shown.stderr
    assert "[profiles.old.bybit]" in shown.stdout and 'category = "inverse"' in shown.stdout
    assert shown.stderr.count("WARNING") == 1 and "old layout" not in shown.stdout
    assert "[profiles.NAME.<venue>]" in shown.stderr
    config.write_text('[profiles.b]\nvenue = "okx"\n', encoding="utf-8")
    refused = profiles_cli(config, "list")
    assert refused.returncode == 1 and NO_CONNECTOR in refused.stderr
    assert "profile 'b'" in refused.stderr and "key venue" in refused.stderr


def test_sim_serves_the_front_end_registry() -> None:
    out = recon("sim", "--help")
    assert out.returncode == 0 and "bybit" in out.stdout
    bad = recon("sim", "--venue", "kraken")
    assert bad.returncode == 1 and "invalid choice: 'kraken'" in bad.stderr  # usage: 1
