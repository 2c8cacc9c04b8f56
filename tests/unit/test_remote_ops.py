"""A remote account's operations (console.ui.remote): every operator decision is one
ledger command with the right arguments, and the window reports only what the lease
holder recorded: nothing is claimed done when no engine holds the lease (nothing is sent),
when the holder did not take it in time (withdrawn), or when it is still running. Also how
the bars word a remote account's health, how the ledger's halt and pause are read back,
and the composition root's refusal of a SQLite ledger and masking of a URL's password."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from console.bootstrap_gui import FleetLedgers, redact
from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.domain.lease import Lease
from console.domain.reconciliation import AuditEntry, RunRecord, RunStatus, RunTrigger, TradingMode
from console.engine.emergency import HALT_ACTION, RESUME_HALT_ACTION, RESUME_PAUSE_ACTION
from console.errors import UserFacingError
from console.ui.fleet import health_text
from console.ui.remote import FleetHealth, LedgerRisk, RemoteOps, ledger_risk
from console.ui.theme import Tone

NOW = 1_800_000_000_000


def lease(*, holder: str = "a@host:1:ab", expired: bool = False, age_ms: int = 400) -> Lease:
    renewed = NOW - age_ms
    expires = NOW - 1 if expired else renewed + 2_000
    return Lease("bybit", "alpha", holder, 3, expires, renewed, renewed - 10_000, NOW)


class FakeLedger:
    """The parts of the shared ledger `RemoteOps` uses; `holder` plays the lease holder:
    it answers a command the first time the console reads it back (None: never takes it)."""

    def __init__(self, held: Lease | None,
                 holder: Callable[[OperatorCommand], OperatorCommand] | None) -> None:
        self.held = held
        self.holder = holder
        self.rows: dict[int, OperatorCommand] = {}
        self.withdrawn: list[tuple[int, str]] = []

    def lease(self, venue: str, account: str) -> Lease | None:
        return self.held

    def submit_command(self, venue: str, account: str, kind: CommandKind, *,
                       arguments: Mapping[str, str], operator: str, issued_at: int) -> int:
        command_id = len(self.rows) + 1
        self.rows[command_id] = OperatorCommand(
            command_id, venue, account, kind, tuple(sorted(arguments.items())), operator,
            issued_at)
        return command_id

    def command(self, command_id: int) -> OperatorCommand | None:
        found = self.rows[command_id]
        if self.holder is not None and found.state is CommandState.PENDING:
            self.rows[command_id] = found = self.holder(found)
        return found

    def withdraw_command(self, command_id: int, at: int, why: str) -> bool:
        found = self.rows[command_id]
        if found.state is not CommandState.PENDING:
            return False
        self.withdrawn.append((command_id, why))
        self.rows[command_id] = dataclasses.replace(found, state=CommandState.REFUSED,
                                                    result=why, done_at=at)
        return True


def finish(state: CommandState, result: str) -> Callable[[OperatorCommand], OperatorCommand]:
    return lambda c: dataclasses.replace(c, state=state, result=result,
                                         taken_by="a@host:1:ab", taken_epoch=3, done_at=NOW)


def ops(ledger: FakeLedger, timeout_s: float = 0.3) -> RemoteOps:
    return RemoteOps(ledger, "bybit", "alpha", timeout_s=timeout_s,  # type: ignore[arg-type]
                     poll_s=0.01, clock_ms=lambda: NOW)


def test_an_approval_is_one_command_with_its_arguments_and_the_holder_s_outcome() -> None:
    ledger = FakeLedger(lease(), finish(CommandState.DONE, "applied"))
    outcome = asyncio.run(ops(ledger).run(CommandKind.APPROVE, "dana",
                                          {"run_id": "r1", "index": "2"}))
    (sent,) = ledger.rows.values()
    assert (sent.venue, sent.account, sent.kind, sent.operator) == (
        "bybit", "alpha", CommandKind.APPROVE, "dana")
    assert dict(sent.arguments) == {"run_id": "r1", "index": "2"} and sent.issued_at == NOW
    assert outcome.done and outcome.result == "applied"
    assert outcome.taken_by == "a@host:1:ab" and outcome.epoch == 3
    assert "done by a@host:1:ab: applied" in outcome.text


def test_a_refusal_by_the_holder_is_not_done() -> None:
    ledger = FakeLedger(lease(), finish(CommandState.REFUSED, "action 2 is not pending"))
    outcome = asyncio.run(ops(ledger).run(CommandKind.APPROVE, "dana",
                                          {"run_id": "r1", "index": "2"}))
    assert not outcome.done and outcome.state is CommandState.REFUSED
    assert "refused" in outcome.text and "not pending" in outcome.text


@pytest.mark.parametrize("held", [None, lease(expired=True)], ids=["no-lease", "expired"])
def test_no_engine_holding_the_lease_sends_nothing_and_says_so(held: Lease | None) -> None:
    ledger = FakeLedger(held, finish(CommandState.DONE, "halted"))
    outcome = asyncio.run(ops(ledger).run(CommandKind.HALT, "dana", {"reason": "x"}))
    assert ledger.rows == {}  # never written: it would fire when an engine starts later
    assert outcome.state is None and not outcome.done
    assert "NOT SENT" in outcome.text and "no engine" in outcome.text
    assert "nothing was sent" in outcome.text


def test_a_command_nobody_takes_in_time_is_withdrawn_and_says_so() -> None:
    ledger = FakeLedger(lease(), None)
    outcome = asyncio.run(ops(ledger, timeout_s=0.1).run(CommandKind.EMERGENCY_STOP, "dana",
                                                         {"flatten": "no"}))
    assert [cid for cid, _why in ledger.withdrawn] == [1]
    assert not outcome.done and outcome.state is CommandState.REFUSED
    assert "did not take it within 0.1 s" in outcome.text and "nothing was done" in outcome.text


def test_a_command_still_running_at_the_timeout_is_not_claimed_done() -> None:
    ledger = FakeLedger(lease(), lambda c: dataclasses.replace(
        c, state=CommandState.RUNNING, taken_by="a@host:1:ab", taken_epoch=3))
    outcome = asyncio.run(ops(ledger, timeout_s=0.1).run(CommandKind.EMERGENCY_STOP, "dana"))
    assert ledger.withdrawn == [] and not outcome.done
    assert outcome.state is CommandState.RUNNING
    assert "no outcome yet" in outcome.text and "audit log" in outcome.text


def entry(action: str, at: int, reason: str = "") -> AuditEntry:
    return AuditEntry(at=at, actor="operator:dana", action=action, subject="bybit/alpha",
                      venue="bybit", account="alpha",
                      details=(("reason", reason),) if reason else ())


def run(mode: TradingMode, finished_at: int) -> RunRecord:
    return RunRecord(run_id="r", venue="bybit", account="alpha", trigger=RunTrigger.PERIODIC,
                     started_at=finished_at - 10, finished_at=finished_at,
                     status=RunStatus.OK, mode=mode, pause_reason="hard desync: 2 orders")


def test_the_ledger_s_halt_and_pause_are_read_as_an_engine_restarting_would() -> None:
    halted = ledger_risk([entry(HALT_ACTION, 5, "news")], None)
    assert halted.halted and halted.halt_reason == "news" and halted.halted_by == "operator:dana"
    resumed = ledger_risk([entry(RESUME_HALT_ACTION, 6), entry(HALT_ACTION, 5, "news")], None)
    assert not resumed.halted
    paused = ledger_risk([], run(TradingMode.PAUSED, 100))
    assert paused.paused and paused.reason.startswith("hard desync")
    lifted = ledger_risk([entry(RESUME_PAUSE_ACTION, 150)], run(TradingMode.PAUSED, 100))
    assert not lifted.paused
    earlier_lift = ledger_risk([entry(RESUME_PAUSE_ACTION, 50)], run(TradingMode.PAUSED, 100))
    assert earlier_lift.paused


def test_the_bars_name_the_holder_and_mark_a_stale_heartbeat() -> None:
    live = health_text(FleetHealth("bybit", "alpha", lease(age_ms=400), NOW, LedgerRisk()))
    assert live.engine == "remote: a@host:1:ab" and live.engine_tone is Tone.OK
    assert live.heartbeat == "heartbeat 0.4 s ago"
    stale = FleetHealth("bybit", "alpha", lease(expired=True, age_ms=12_000), NOW,
                        LedgerRisk(halted=True))
    shown = health_text(stale)
    assert stale.stale and stale.holder is None and stale.mode == "HALTED"
    assert shown.engine == "remote: NO ENGINE" and shown.engine_tone is Tone.CRITICAL
    assert shown.heartbeat == "heartbeat 12.0 s ago, STALE"
    assert "No engine carries out commands" in shown.tooltip
    assert health_text(None).engine == "remote: reading…"


def test_a_sqlite_ledger_is_refused_it_is_one_process(tmp_path: Path) -> None:
    with pytest.raises(UserFacingError, match="a SQLite ledger is one process: open its "
                                              "profile instead"):
        FleetLedgers().attach(f"sqlite:///{tmp_path / 'ledger.db'}")
    assert not (tmp_path / "ledger.db").exists()  # refused before anything was opened


def test_a_url_s_password_never_shows() -> None:
    url = "postgresql://bob:s3cr3t-pw@127.0.0.1:1/ledger"
    with pytest.raises(UserFacingError) as caught:
        FleetLedgers().attach(url)  # nothing listens on port 1
    assert "s3cr3t-pw" not in str(caught.value) and "bob:***@" in str(caught.value)
    with pytest.raises(UserFacingError) as other:
        FleetLedgers().attach("mysql://bob:s3cr3t-pw@host/db")
    assert "s3cr3t-pw" not in str(other.value) and "not a PostgreSQL URL" in str(other.value)
    assert redact(f"failed for {url} (password s3cr3t-pw)", url) == (
        "failed for postgresql://bob:***@127.0.0.1:1/ledger (password ***)")
