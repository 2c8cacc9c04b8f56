"""The operator's path to a real venue, through the CLI: add a profile, store its key in
the OS keyring (Secret Service), reconcile against `recon-console sim --venue bybit`.

Needs a D-Bus session with an unlocked gnome-keyring (CI runs the suite inside
`.ci/with-keyring.sh`); without one the keyring tests skip locally and fail under CI.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from canary import CANARY_KEY, CANARY_SECRET


def secret_service_or_skip() -> None:
    import keyring
    from keyring.backends import SecretService

    backend = keyring.get_keyring()
    usable = isinstance(backend, SecretService.Keyring)
    if not usable:
        try:
            usable = SecretService.Keyring.priority > 0  # type: ignore[operator]
        except Exception:  # noqa: BLE001 - any failure means "not reachable"
            usable = False
    if usable:
        return
    if os.environ.get("CI"):
        pytest.fail("no Secret Service: run the tests under .ci/with-keyring.sh", pytrace=False)
    pytest.skip("skipped locally only: no Secret Service (run under .ci/with-keyring.sh)")


def recon(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], input=stdin,
                          capture_output=True, text=True, timeout=120, env=env, check=False)


@pytest.fixture
def sim() -> Iterator[dict[str, Any]]:
    proc = subprocess.Popen([sys.executable, "-m", "console", "sim", "--venue", "bybit",
                             "--scenario", "restart-with-position",
                             "--api-key", CANARY_KEY, "--api-secret", CANARY_SECRET],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    info = json.loads(proc.stdout.readline())
    yield info
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return dict(os.environ, RECON_CONSOLE_CONFIG=str(tmp_path / "profiles.toml"))


def test_profile_keyring_and_reconcile_through_the_cli(sim: dict[str, Any],
                                                       env: dict[str, str],
                                                       tmp_path: Path) -> None:
    secret_service_or_skip()
    name = f"cli-{os.getpid()}"
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    added = recon("profiles", "add", name, "--venue", "bybit", "--network", "custom",
                  "--rest-url", sim["rest_url"], "--ws-url", sim["ws_private_url"],
                  "--db", db, env=env)
    assert added.returncode == 0, added.stderr
    listed = recon("profiles", "list", env=env)
    assert name in listed.stdout

    # No key yet: a precise message, nothing guessed.
    missing = recon("reconcile", "--once", "--profile", name, env=env)
    assert missing.returncode == 1 and f"credentials set {name}" in missing.stderr

    stored = recon("credentials", "set", name, env=env,
                   stdin=f"{sim['api_key']}\n{sim['api_secret']}\n")
    assert stored.returncode == 0, stored.stderr
    assert sim["api_secret"] not in stored.stdout + stored.stderr
    checked = recon("credentials", "check", name, env=env)
    assert checked.returncode == 0 and sim["api_secret"] not in checked.stdout
    assert not (tmp_path / "profiles.toml").read_text().count(sim["api_secret"])

    try:
        out = recon("reconcile", "--once", "--profile", name, "--json", env=env)
        assert out.returncode == 0, out.stderr
        report = json.loads(out.stdout)
        assert report["discrepancies"]["by_kind"]["position_missing_locally"] == 1
        assert report["venue_calls"]["fetch_open_orders"] >= 1
        assert sim["api_secret"] not in out.stdout + out.stderr

        # The run raised alerts (the hard-desync pause, the balance mismatch): listed, acked.
        listed = json.loads(recon("alerts", "--profile", name, "--json", env=env).stdout)
        keys = {a["key"].split(":")[0] for a in listed}
        assert {"balance_mismatch", "trading_paused"} <= keys, keys
        critical = next(a for a in listed if a["severity"] == "critical")
        acked = recon("alerts", "ack", str(critical["id"]), "--profile", name,
                      "--operator", "bob", env=env)
        assert acked.returncode == 0, acked.stderr
        again = json.loads(recon("alerts", "--profile", name, "--json", env=env).stdout)
        assert next(a for a in again if a["id"] == critical["id"])["acknowledged_by"] == "bob"

        # A wrong secret: 10004, the profile named, the secret nowhere.
        recon("credentials", "set", name, env=env, stdin=f"{sim['api_key']}\nwrong-secret\n")
        bad = recon("reconcile", "--once", "--profile", name, "--json", env=env)
        assert bad.returncode == 2
        errors = " ".join(json.loads(bad.stdout)["errors"])
        assert "10004" in errors and name in errors and "wrong-secret" not in bad.stdout
    finally:
        recon("credentials", "delete", name, env=env)
    assert recon("credentials", "check", name, env=env).returncode == 1


def test_emergency_stop_and_resume_from_the_cli(sim: dict[str, Any], env: dict[str, str],
                                                tmp_path: Path) -> None:
    """`stop` halts and bulk-cancels on the venue; a second stop is safe; `resume` lifts it."""
    secret_service_or_skip()
    name = f"stop-{os.getpid()}"
    assert recon("profiles", "add", name, "--venue", "bybit", "--network", "custom",
                 "--rest-url", sim["rest_url"], "--ws-url", sim["ws_private_url"],
                 "--db", f"sqlite:///{tmp_path / 'ledger.db'}", env=env).returncode == 0
    recon("credentials", "set", name, env=env, stdin=f"{sim['api_key']}\n{sim['api_secret']}\n")
    try:
        first = recon("stop", "--profile", name, "--flatten", "--json", "--operator", "alice",
                      env=env)
        assert first.returncode == 0, first.stderr
        report = json.loads(first.stdout)
        assert report["clean"] and report["open_orders"] == [] and report["open_positions"] == []
        assert [f["position"]["symbol"] for f in report["flattened"]] == ["BTCUSDT"]
        second = recon("stop", "--profile", name, "--json", "--operator", "alice", env=env)
        again = json.loads(second.stdout)
        assert second.returncode == 0 and again["cancelled"] == 0 and again["flattened"] == []
        audit = recon("audit", "--db", f"sqlite:///{tmp_path / 'ledger.db'}", env=env)
        assert "emergency:alice" in audit.stdout
        resumed = recon("resume", "--profile", name, "--operator", "alice", env=env)
        assert resumed.returncode == 0 and "resumed" in resumed.stdout
    finally:
        recon("credentials", "delete", name, env=env)
