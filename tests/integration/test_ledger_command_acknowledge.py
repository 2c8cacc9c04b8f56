"""Acknowledging an alert through the ledger (a console attached to a fleet ledger, or
`alerts ack --via-ledger`): the lease holder carries it out through its own alert engine
(which hears of it, as its listeners do), audited under operator:<name>; an alert that
is not the account's is not acknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain.alerts import Alert
from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.engine.alerts import AlertChange, AlertNotice
from console.store import Ledger


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture
def holder(ledger_url: str) -> Iterator[SimSession]:
    session = build_sim_session(ledger_url, "crashed-session", alerts=True, worker_id="a",
                                lease_ttl_s=2.0)
    yield session
    session.close()


async def outcome(ledger: Ledger, command_id: int, timeout_s: float = 15.0) -> OperatorCommand:
    deadline = time.monotonic() + timeout_s
    while True:
        found = await asyncio.to_thread(ledger.command, command_id)
        assert found is not None
        if found.state.finished:
            return found
        assert time.monotonic() < deadline, f"command {command_id} still {found.state}"
        await asyncio.sleep(0.02)


async def active_alerts(ledger: Ledger, timeout_s: float = 15.0) -> list[Alert]:
    deadline = time.monotonic() + timeout_s
    while not (found := await asyncio.to_thread(ledger.alerts, "sim", "main", True)):
        assert time.monotonic() < deadline, "the startup run raised no alert"
        await asyncio.sleep(0.05)
    return found


def test_the_holder_acknowledges_through_its_alert_engine_and_audits_it(
        holder: SimSession, open_ledger: Callable[..., Ledger]) -> None:
    console = open_ledger()  # the operator's process: its own ledger object
    engine = holder.alerts
    assert engine is not None
    heard: list[AlertNotice] = []
    engine.on_alert(heard.append)

    def submit(ref: str) -> int:
        return console.submit_command("sim", "main", CommandKind.ACKNOWLEDGE,
                                      arguments={"ref": ref}, operator="carol",
                                      issued_at=now_ms())

    async def scenario() -> tuple[OperatorCommand, OperatorCommand, OperatorCommand]:
        await holder.engine.start()
        try:
            first, second = (await active_alerts(console))[:2]
            by_id = await outcome(console, submit(str(first.alert_id)))
            by_key = await outcome(console, submit(second.key))
            unknown = await outcome(console, submit("999999"))
        finally:
            await engine.stop()
            await holder.engine.stop()
        return by_id, by_key, unknown

    by_id, by_key, unknown = asyncio.run(scenario())
    assert by_id.state is CommandState.DONE and by_id.result.startswith("acknowledged alert ")
    assert by_key.state is CommandState.DONE
    assert unknown.state is not CommandState.DONE and "no alert #999999" in unknown.result

    stored = {a.key: a for a in console.alerts("sim", "main", True)}
    acknowledged = [a for a in stored.values() if a.acknowledged_by == "carol"]
    assert len(acknowledged) == 2
    # the holder's own engine did it: its listeners heard of both
    assert {n.alert.key for n in heard if n.change is AlertChange.ACKNOWLEDGED} == {
        a.key for a in acknowledged}
    entries = console.audit_log(200)
    acks = [e for e in entries if e.action == "acknowledge_alert"]
    assert {e.subject for e in acks} == {a.key for a in acknowledged}
    assert all(e.actor == "operator:carol" for e in acks)
    commands = [e for e in entries if e.action == "command:acknowledge"]
    assert len(commands) == 3 and all(e.actor == "operator:carol" for e in commands)


async def recon(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return int(process.returncode or 0), out.decode(), err.decode()


def test_alerts_ack_via_the_ledger_from_the_cli(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    env = dict(os.environ, RECON_CONSOLE_CONFIG=str(tmp_path / "profiles.toml"))
    code, _, err = asyncio.run(recon("profiles", "add", "paper", "--venue", "sim",
                                     "--db", url, env=env))
    assert code == 0, err
    sim = build_sim_session(url, "crashed-session", alerts=True, worker_id="a")
    engine = sim.alerts
    assert engine is not None

    async def scenario() -> tuple[int, str, str, int, str]:
        await sim.engine.start()
        try:
            target = (await active_alerts(sim.ledger))[0]
            code, out, err = await recon(
                "alerts", "ack", str(target.alert_id), "--profile", "paper", "--via-ledger",
                "--operator", "carol", "--json", env=env)
            listed, _, listed_err = await recon("alerts", "list", "--profile", "paper",
                                                "--via-ledger", env=env)
        finally:
            await engine.stop()
            await sim.engine.stop()
        return code, out, err, listed, listed_err

    try:
        code, out, err, listed, listed_err = asyncio.run(scenario())
        assert code == 0, err
        answer = json.loads(out)
        assert answer["kind"] == "acknowledge" and answer["state"] == "done", answer
        assert answer["operator"] == "carol"
        assert [a.acknowledged_by for a in sim.ledger.alerts("sim", "main", True)
                if a.alert_id == int(answer["arguments"]["ref"])] == ["carol"]
        assert listed == 1 and "--via-ledger goes with `alerts ack ID`" in listed_err
    finally:
        sim.close()
