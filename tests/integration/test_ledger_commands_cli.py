"""`recon-console inbox approve|reject ID --via-ledger`: the CLI submits the decision into
the ledger, the engine holding the account's lease (here a started session in this
process on one SQLite file) carries it out, and the CLI prints the outcome it recorded;
with no engine holding the lease the command is withdrawn after --timeout."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from console.bootstrap import build_sim_session
from console.domain.commands import CommandState
from console.store import Ledger


async def recon(*args: str, db: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "console", *args, "--db", db,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return int(process.returncode or 0), out.decode(), err.decode()


def test_an_approval_via_the_ledger_is_carried_out_by_the_running_engine(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    sim = build_sim_session(url, "crashed-session", reference_prices=True, worker_id="a")

    async def scenario() -> None:
        await sim.engine.start()
        (run_id, index, planned), (keep_run, keep_index, _) = sim.ledger.pending_actions(
            "sim", "main")
        target = planned.action.order
        assert target is not None
        code, out, err = await recon("inbox", "approve", f"{run_id}:{index}", "--via-ledger",
                                     "--operator", "carol", "--json", db=url)
        assert code == 0, err
        answer = json.loads(out)
        assert answer["state"] == "done" and answer["result"] == "applied"
        assert answer["operator"] == "carol" and answer["kind"] == "approve"
        assert sim.engine.lease is not None
        assert answer["taken_by"] == sim.engine.lease.engine
        assert target.client_order_id not in {
            o.client_order_id for o in await sim.engine.venue.fetch_open_orders()}
        code, out, err = await recon("inbox", "reject", f"{keep_run}:{keep_index}",
                                     "--via-ledger", "--reason", "mine", "--operator",
                                     "carol", db=url)
        assert code == 0, err
        assert out.startswith(f"Command #{answer['id'] + 1} reject on sim/main from "
                              "operator:carol: done by ")
        await sim.engine.stop()

    try:
        asyncio.run(scenario())
        actors = {(e.actor, e.action) for e in sim.ledger.audit_log(200)}
        assert ("operator:carol", "command:approve") in actors
        assert ("operator:carol", "command:reject") in actors
    finally:
        sim.close()


def test_a_command_nobody_takes_is_withdrawn_after_the_timeout(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url).close()
    code, out, _ = asyncio.run(recon("inbox", "approve", "run-x:0", "--via-ledger",
                                     "--timeout", "0.3", "--operator", "carol", db=url))
    assert code == 2
    assert "refused: withdrawn: no engine holding the lease of sim/main took it" in out
    with Ledger.open(url) as ledger:
        (command,) = ledger.commands()
        assert command.state is CommandState.REFUSED and command.taken_by == ""
