"""`recon-console run --headless` as a service: the systemd unit, GET /healthz, the exit
codes a supervisor acts on, sd_notify over a socket the test binds, journald-style stderr
without secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.bootstrap import build_profile_session
from console.engine.health import HealthMonitor, HealthPolicy
from console.engine.metrics_http import start_metrics_server
from console.service.journal import JournalFormatter, wants_journal_format

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "resources" / "recon-console.service"

# A keyring backend for the child process that hands out the canary credentials for the
# profile "desk" only (imported from tests/canary.py: the file itself holds no secret).
KEYRING_BACKEND = '''
import json
from keyring.backend import KeyringBackend
from canary import CANARY_KEY, CANARY_SECRET

class CanaryKeyring(KeyringBackend):
    priority = 10

    def get_password(self, service, username):
        if username != "desk":
            return None
        return json.dumps({"v": 1, "api_key": CANARY_KEY, "api_secret": CANARY_SECRET})

    def set_password(self, service, username, password):
        raise RuntimeError("read only")

    def delete_password(self, service, username):
        raise RuntimeError("read only")
'''


def _unit_entries() -> dict[str, list[tuple[str, str]]]:
    """systemd's INI dialect: repeated keys (Environment=) are kept, in order."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        assert current is not None and "=" in line, f"not a key=value line in a section: {raw}"
        key, value = line.split("=", 1)
        current.append((key.strip(), value.strip()))
    return sections


def test_the_unit_file_has_what_a_supervisor_needs() -> None:
    sections = _unit_entries()
    assert set(sections) == {"Unit", "Service", "Install"}
    service = dict(sections["Service"])
    envs = [v for k, v in sections["Service"] if k == "Environment"]
    assert service["Type"] == "notify" and "WatchdogSec" in service
    assert "run --headless --profile" in service["ExecStart"]
    assert service["Restart"] == "on-failure"
    assert set(service["RestartPreventExitStatus"].split()) == {"64", "77", "78"}
    assert service["NoNewPrivileges"] == "yes" and service["PrivateTmp"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert "recon-console" in service["ReadWritePaths"]
    assert any(e.startswith("RECON_CONSOLE_CONFIG=") for e in envs)
    # Hardening that would cut the session D-Bus (and so the keyring) is absent.
    assert not {"PrivateNetwork", "ProtectHome", "RestrictAddressFamilies"} & set(service)
    assert dict(sections["Install"])["WantedBy"] == "default.target"
    readme = (ROOT / "resources" / "README.md").read_text(encoding="utf-8")
    assert "systemctl --user" in readme and "keyring" in readme


def _sim_profiles(tmp_path: Path, port: int | None = None, interval_s: int = 60) -> Path:
    config = tmp_path / "profiles.toml"
    extra = "" if port is None else f"metrics_port = {port}\n"
    config.write_text(f'[profiles.desk]\nvenue = "sim"\ndb_url = "sqlite:///{tmp_path}/l.db"\n'
                      f"reconcile_interval_s = {interval_s}\n{extra}", encoding="utf-8")
    return config


async def _get(port: int) -> tuple[int, dict[str, object]]:
    async with (aiohttp.ClientSession() as http,
                http.get(f"http://127.0.0.1:{port}/healthz") as resp):
        return resp.status, json.loads(await resp.text())


def test_healthz_is_200_then_503_once_halted(tmp_path: Path) -> None:
    config = _sim_profiles(tmp_path)

    async def scenario() -> list[tuple[int, dict[str, object]]]:
        session = build_profile_session("desk", config_path=str(config))
        health = HealthMonitor(session.engine)
        stop, port = await start_metrics_server(session.engine.metrics, 0,
                                                health=health.report)
        try:
            await session.engine.start()
            for _ in range(100):  # the stream's CONNECTED arrives on the loop
                if health.report().stream == "connected":
                    break
                await asyncio.sleep(0.05)
            before = await _get(port)
            await session.engine.emergency_stop(flatten=False, operator="test",
                                                reason="service test")
            after = await _get(port)
        finally:
            await stop()
            await session.aclose()
        return [before, after]

    (ok_status, ok), (halted_status, halted) = asyncio.run(scenario())
    assert ok_status == 200
    assert ok["status"] == "ok" and ok["stream"] == "connected" and ok["healthy"] is True
    assert ok["last_run_status"] == "ok" and ok["lease_holder"] is None
    assert isinstance(ok["last_ok_reconcile_age_s"], float)
    assert halted_status == 503
    assert halted["status"] == "halted" and halted["trading"] == "halted"
    assert "service test" in str(halted["reasons"])


def test_healthz_is_503_without_an_ok_reconciliation_within_the_intervals(
        tmp_path: Path) -> None:
    config = _sim_profiles(tmp_path, interval_s=10)
    now = [1_000_000]
    session = build_profile_session("desk", config_path=str(config))
    try:
        health = HealthMonitor(session.engine, HealthPolicy(stream_down_s=1e9, ok_intervals=3),
                               clock_ms=lambda: now[0])
        assert health.report().healthy  # just attached: within the grace
        now[0] += 29_000
        assert health.report().healthy
        now[0] += 2_000
        report = health.report()
        assert not report.healthy and report.status.value == "unhealthy"
        assert "no OK reconciliation" in report.reasons[0]
    finally:
        asyncio.run(session.aclose())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in {"NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC", "WATCHDOG_PID"}}
    env.update(extra)
    env["HOME"] = str(tmp_path / "home")
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    return env


def _recon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, timeout=120, check=False, env=env)


def test_daemon_notifies_ready_stops_cleanly_on_sigterm_and_logs_for_journald(
        tmp_path: Path) -> None:
    port = _free_port()
    config = _sim_profiles(tmp_path, port=port)
    address = f"@recon-console-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind("\0" + address[1:])
        notify.settimeout(60)
        env = _env(tmp_path, NOTIFY_SOCKET=address, WATCHDOG_USEC="400000",
                   JOURNAL_STREAM="8:1234", RECON_CONSOLE_CONFIG=str(config))
        proc = subprocess.Popen([sys.executable, "-m", "console", "run", "--headless",
                                 "--profile", "desk"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            messages = [notify.recv(4096).decode()]
            ready = messages[0]
            assert "READY=1" in ready.splitlines() and "STATUS=reconciled (ok)" in ready
            status, body = asyncio.run(_get(port))
            assert status == 200 and body["status"] in {"ok", "degraded"}
            messages.append(notify.recv(4096).decode())  # the watchdog, every 0.2 s
            assert "WATCHDOG=1" in messages
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
            while "STOPPING=1" not in messages[-1]:
                messages.append(notify.recv(4096).decode())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert "startup" in out and "ok" in out
    lines = err.splitlines()
    assert lines and all(line[:3] in {"<3>", "<4>", "<6>", "<7>"} for line in lines), err
    # routine, so at info priority (6): a warning (4) is for what needs attention
    assert f"<6>console: metrics on http://127.0.0.1:{port}/metrics, health on /healthz" \
        in lines


def test_exit_codes_for_usage_missing_profile_and_missing_credentials(tmp_path: Path) -> None:
    config = _sim_profiles(tmp_path)
    env = _env(tmp_path, RECON_CONSOLE_CONFIG=str(config))
    assert _recon(env, "run", "--profile", "desk").returncode == 64  # no --headless
    assert _recon(env, "run", "--headless").returncode == 64  # no --profile
    missing = _recon(env, "run", "--headless", "--profile", "nope")
    assert missing.returncode == 78 and "no profile 'nope'" in missing.stderr

    (tmp_path / "canary_keyring.py").write_text(KEYRING_BACKEND, encoding="utf-8")
    venue = tmp_path / "venue.toml"
    venue.write_text('[profiles.other]\nvenue = "bybit"\nnetwork = "testnet"\n'
                     f'db_url = "sqlite:///{tmp_path}/v.db"\n', encoding="utf-8")
    env = _env(tmp_path, RECON_CONSOLE_CONFIG=str(venue),
               PYTHON_KEYRING_BACKEND="canary_keyring.CanaryKeyring",
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT / "tests")]))
    creds = _recon(env, "run", "--headless", "--profile", "other")
    assert creds.returncode == 77, creds.stderr
    assert "No API credentials for profile 'other'" in creds.stderr


def test_venue_unreachable_at_start_is_tempfail_and_stderr_holds_no_secret(
        tmp_path: Path) -> None:
    dead = _free_port()  # nothing listens there
    (tmp_path / "canary_keyring.py").write_text(KEYRING_BACKEND, encoding="utf-8")
    venue = tmp_path / "venue.toml"
    venue.write_text('[profiles.desk]\nvenue = "bybit"\nnetwork = "custom"\n'
                     f'rest_url = "http://127.0.0.1:{dead}"\nws_url = "ws://127.0.0.1:{dead}"\n'
                     f'db_url = "sqlite:///{tmp_path}/v.db"\n', encoding="utf-8")
    env = _env(tmp_path, RECON_CONSOLE_CONFIG=str(venue),
               PYTHON_KEYRING_BACKEND="canary_keyring.CanaryKeyring",
               PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT / "tests")]))
    result = _recon(env, "-vv", "run", "--headless", "--profile", "desk")
    assert result.returncode == 75, result.stderr
    assert "<3>console: startup reconciliation failed" in result.stderr
    assert "<7>" in result.stderr  # -vv: debug lines reached stderr, with their priority
    for text in (result.stdout, result.stderr):
        assert CANARY_KEY not in text and CANARY_SECRET not in text


def test_journal_format_is_chosen_for_journald_or_a_pipe_and_prefixes_every_line() -> None:
    class Stream:
        def __init__(self, tty: bool) -> None:
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    tty, pipe = Stream(True), Stream(False)
    assert not wants_journal_format(tty, {})  # type: ignore[arg-type]
    assert wants_journal_format(tty, {"JOURNAL_STREAM": "8:1"})  # type: ignore[arg-type]
    assert wants_journal_format(pipe, {})  # type: ignore[arg-type]
    formatter = JournalFormatter("%(name)s: %(message)s")
    record = logging.makeLogRecord(
        {"name": "console", "levelno": 40, "levelname": "ERROR", "msg": "one\ntwo"})
    # A traceback's lines keep the record's priority instead of journald's default.
    assert formatter.format(record) == "<3>console: one\n<3>two"


@pytest.mark.parametrize(("level", "prefix"), [(10, "<7>"), (20, "<6>"), (30, "<4>"),
                                               (40, "<3>"), (50, "<2>")])
def test_each_level_gets_its_syslog_priority(level: int, prefix: str) -> None:
    record = logging.makeLogRecord({"name": "x", "levelno": level, "msg": "m"})
    assert JournalFormatter("%(message)s").format(record) == f"{prefix}m"
