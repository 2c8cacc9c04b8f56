"""Acknowledging a remote account's alerts (console.ui.remote, the controller): one
`acknowledge` command per active, unacknowledged alert, its ref the alert's ledger id
(its key when it has none), counted only when the lease holder says done; nothing is
written when no engine holds the lease."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Mapping

import pytest
from PySide6.QtWidgets import QApplication

from console.domain.alerts import Alert
from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.domain.lease import Lease
from console.domain.reconciliation import Severity
from console.ui.controller import ConsoleController
from console.ui.dialogs.confirm import ScriptedConfirmer
from console.ui.notifications import Notifier
from console.ui.ports import Badge, Identity
from console.ui.remote import RemoteOps
from console.ui.theme import ThemeState

NOW = 1_800_000_000_000
Holder = Callable[[OperatorCommand], OperatorCommand]


def lease(*, expired: bool = False) -> Lease:
    renewed = NOW - 400
    return Lease("bybit", "alpha", "a@host:1:ab", 3, NOW - 1 if expired else renewed + 2_000,
                 renewed, renewed - 10_000, NOW)


class FakeLedger:
    """What `RemoteOps` uses of the shared ledger; `holder` answers each command the first
    time it is read back, as the lease holder would."""

    def __init__(self, held: Lease | None, holder: Holder) -> None:
        self.held = held
        self.holder = holder
        self.rows: dict[int, OperatorCommand] = {}

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
        if found.state is CommandState.PENDING:
            self.rows[command_id] = found = self.holder(found)
        return found

    def withdraw_command(self, command_id: int, at: int, why: str) -> bool:
        return False


def answer(state: CommandState, result: str) -> Holder:
    return lambda c: dataclasses.replace(c, state=state, result=result,
                                         taken_by="a@host:1:ab", taken_epoch=3, done_at=NOW)


def alert(rule: str, *, alert_id: int | None, acknowledged_by: str = "",
          cleared_at: int | None = None) -> Alert:
    return Alert("bybit", "alpha", rule, "bybit/alpha", Severity.CRITICAL, "m", NOW - 10,
                 NOW - 5, acknowledged_by=acknowledged_by,
                 acknowledged_at=NOW - 1 if acknowledged_by else None, cleared_at=cleared_at,
                 alert_id=alert_id)


def controller(ledger: FakeLedger) -> ConsoleController:
    remote = RemoteOps(ledger, "bybit", "alpha", timeout_s=0.3,  # type: ignore[arg-type]
                       poll_s=0.01, clock_ms=lambda: NOW)
    made = ConsoleController(
        None, ledger, Identity("remote", "bybit", "alpha", Badge.MAINNET),  # type: ignore[arg-type]
        confirmer=ScriptedConfirmer(), notifier=Notifier(use_tray=False), theme=ThemeState(),
        operator=lambda: "dana", remote=remote, clock_ms=lambda: NOW)

    async def no_reads(*_what: str) -> None:
        return None  # the fake ledger has no alerts or audit log to read back

    made.refresh = no_reads  # type: ignore[method-assign]
    return made


def test_one_command_per_alert_to_acknowledge_by_id_or_key(qapp: QApplication) -> None:
    ledger = FakeLedger(lease(), answer(CommandState.DONE, "acknowledged alert 7"))
    c = controller(ledger)
    assert c.can_acknowledge  # the panel offers Acknowledge on a remote account
    done = asyncio.run(c.acknowledge([
        alert("stale_run", alert_id=7),
        alert("ws_down", alert_id=None),  # not stored yet: by its key
        alert("old", alert_id=8, acknowledged_by="erin"),  # seen already
        alert("gone", alert_id=9, cleared_at=NOW - 1),  # no longer active
    ]))
    assert done == 2
    sent = list(ledger.rows.values())
    assert [(s.kind, dict(s.arguments), s.operator) for s in sent] == [
        (CommandKind.ACKNOWLEDGE, {"ref": "7"}, "dana"),
        (CommandKind.ACKNOWLEDGE, {"ref": "ws_down:bybit/alpha"}, "dana")]
    assert "done by a@host:1:ab" in c.results[0] and c.results[-1] == "Acknowledged 2 alerts."


def test_a_refusal_is_not_counted_and_no_lease_sends_nothing(qapp: QApplication) -> None:
    refused = FakeLedger(lease(), answer(CommandState.FAILED, "there is no alert #7"))
    c = controller(refused)
    assert asyncio.run(c.acknowledge([alert("stale_run", alert_id=7)])) == 0
    assert "failed" in c.results[0] and "there is no alert #7" in c.results[0]

    nobody = FakeLedger(lease(expired=True), answer(CommandState.DONE, "acknowledged"))
    c = controller(nobody)
    assert asyncio.run(c.acknowledge([alert("stale_run", alert_id=7)])) == 0
    assert nobody.rows == {}  # nothing waits to fire when an engine starts later
    assert "NOT SENT" in c.results[0]


@pytest.mark.parametrize("ref", ["7", "stale_run:bybit/alpha"])
def test_remote_ops_sends_the_acknowledge_kind_with_its_ref(ref: str) -> None:
    ledger = FakeLedger(lease(), answer(CommandState.DONE, "acknowledged"))
    ops = RemoteOps(ledger, "bybit", "alpha", timeout_s=0.3,  # type: ignore[arg-type]
                    poll_s=0.01, clock_ms=lambda: NOW)
    outcome = asyncio.run(ops.run(CommandKind.ACKNOWLEDGE, "dana", {"ref": ref}))
    (sent,) = ledger.rows.values()
    assert sent.kind is CommandKind.ACKNOWLEDGE and dict(sent.arguments) == {"ref": ref}
    assert outcome.done and "acknowledge on bybit/alpha" in outcome.text
