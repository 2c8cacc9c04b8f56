"""Operator commands through the ledger: the lease holder's side.

The operator's process (the console attached to a shared ledger, the CLI with
`--via-ledger`) writes a command into the ledger; the engine that holds the lease of its
(venue, account) polls for it, takes it (a fenced write: only the holder can), carries it
out through the same paths an in-process operator uses (the action executor, the risk
halt, the emergency stop, the resume, a reconciliation), records the outcome (fenced) and
audits it under "operator:<name>" (docs/architecture.md, "Operator commands through the
ledger").

Why polling: one indexed query per account every `poll_s` is cheap, works the same on
SQLite and PostgreSQL, and bounds the command latency at about `poll_s` plus the work;
LISTEN/NOTIFY would save a quarter of a second at the price of a dedicated connection.

Exactly once: the take is one conditional update under the lease fence, so two engines
never both take a command; a holder that dies while carrying one out leaves it running,
and the next holder marks it failed (never runs it again: an approval or a flatten must
not happen twice) so that the operator checks and gives it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol, runtime_checkable

from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.domain.reconciliation import AuditEntry, RunTrigger, evidence
from console.domain.text import plural
from console.engine.actions import ActionError
from console.engine.emergency import HALT_ACTION, headline
from console.errors import LeaseLostError, LedgerError, UserFacingError

if TYPE_CHECKING:
    from console.engine.alerts import AlertEngine
    from console.engine.session import EngineSession

log = logging.getLogger(__name__)

DEFAULT_POLL_S: Final = 0.25
"""How often the holder asks the ledger for new commands."""
COMMAND_ACTION_PREFIX: Final = "command:"
"""The audit action of a command's outcome: "command:approve", "command:halt", ..."""


@runtime_checkable
class CommandPort(Protocol):
    """What the engine needs of the ledger for commands (`console.store.Ledger` has it)."""

    def open_commands(self, venue: str, account: str, limit: int = 20) -> list[OperatorCommand]:
        ...

    def take_command(self, command: OperatorCommand, holder: str,
                     epoch: int) -> OperatorCommand | None:
        ...

    def finish_command(self, command: OperatorCommand, holder: str, epoch: int, *,
                       state: CommandState, result: str, done_at: int) -> bool:
        ...

    def fail_abandoned_commands(self, venue: str, account: str, holder: str, epoch: int,
                                at: int) -> int:
        ...

    def append_audit(self, entry: AuditEntry) -> None:
        ...


@dataclass(frozen=True, slots=True)
class Outcome:
    state: CommandState
    result: str


def _ref(command: OperatorCommand) -> tuple[str, int]:
    run_id = command.argument("run_id")
    index = command.argument("index")
    if not run_id or not index.isdigit():
        raise ActionError(f"command {command.ref}: needs run_id and index, not "
                          f"{dict(command.arguments)!r}")
    return run_id, int(index)


class CommandRunner:
    """Polls, takes and carries out the commands of one session's (venue, account) while
    its engine holds the lease. `run()` is the session's task (started with the session's
    loops, stopped with them)."""

    def __init__(self, session: EngineSession, ledger: CommandPort, *,
                 poll_s: float = DEFAULT_POLL_S) -> None:
        self.session = session
        self.ledger = ledger
        self.poll_s = poll_s
        self.executed = 0
        """How many commands this runner carried out (any outcome)."""
        self._busy = asyncio.Lock()
        self._cleaned_epoch: int | None = None
        self.alerts: AlertEngine | None = None
        """The session's alert engine (`attach_alerts` sets it): an acknowledgement goes
        through it, so that what it holds in memory and its listeners hear of it too."""

    def _holder(self) -> tuple[str, int] | None:
        """(engine id, epoch) while this engine holds the lease; None otherwise."""
        keeper = self.session.lease
        if keeper is None:
            return None
        epoch = keeper.epoch
        return None if epoch is None else (keeper.engine, epoch)

    async def run(self) -> None:
        """Until cancelled: every `poll_s`, carry out what is pending. A ledger that cannot
        answer for a moment is logged and asked again."""
        while True:
            try:
                await self.poll_once()
            except LedgerError as exc:
                log.warning("%s/%s: operator commands not read: %s",
                            self.session.venue.venue, self.session.venue.account, exc)
            await asyncio.sleep(self.poll_s)

    async def stop(self, task: asyncio.Task[None], timeout_s: float = 10.0) -> None:
        """End `task` (this runner's `run`) after the command in progress, if any, has
        been recorded (bounded by `timeout_s`): a clean stop does not cut an emergency
        stop in half."""
        acquired = False
        with contextlib.suppress(TimeoutError):
            acquired = await asyncio.wait_for(self._busy.acquire(), timeout_s)
        try:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            if acquired:
                self._busy.release()

    async def poll_once(self) -> int:
        """Carry out the open commands of the account once; how many this engine took."""
        holder = self._holder()
        if holder is None:
            return 0
        venue, account = self.session.venue.venue, self.session.venue.account
        if self._cleaned_epoch != holder[1]:
            failed = await asyncio.to_thread(self.ledger.fail_abandoned_commands, venue,
                                             account, holder[0], holder[1],
                                             self.session.clock_ms())
            self._cleaned_epoch = holder[1]
            if failed:
                log.warning("%s/%s: %d operator commands an earlier lease holder took and "
                            "never finished are marked failed", venue, account, failed)
        found = await asyncio.to_thread(self.ledger.open_commands, venue, account)
        taken = 0
        for command in found:
            if command.state is not CommandState.PENDING:
                continue
            holder = self._holder()
            if holder is None:
                break
            async with self._busy:
                mine = await asyncio.to_thread(self.ledger.take_command, command, *holder)
                if mine is None:
                    continue
                taken += 1
                await self._carry_out(mine, *holder)
        return taken

    async def _carry_out(self, command: OperatorCommand, engine: str, epoch: int) -> None:
        t0 = time.perf_counter()
        try:
            outcome = await self.execute(command)
        except LeaseLostError as exc:
            outcome = Outcome(CommandState.FAILED, f"lease lost: {exc}")
        except ActionError as exc:
            outcome = Outcome(CommandState.REFUSED, str(exc))
        except (UserFacingError, OSError) as exc:
            outcome = Outcome(CommandState.FAILED, str(exc))
        except Exception as exc:  # any failure is the command's outcome, logged in full
            log.exception("operator command %s failed", command.ref)
            outcome = Outcome(CommandState.FAILED, f"{type(exc).__name__}: {exc}")
        self.executed += 1
        done_at = self.session.clock_ms()
        try:
            recorded = await asyncio.to_thread(functools.partial(
                self.ledger.finish_command, command, engine, epoch, state=outcome.state,
                result=outcome.result, done_at=done_at))
        except LedgerError as exc:
            recorded = False
            log.warning("%s: the outcome (%s: %s) could not be recorded: %s", command.ref,
                        outcome.state.value, outcome.result, exc)
        log.info("%s by operator:%s: %s (%s) in %.0f ms%s", command.ref, command.operator,
                 outcome.state.value, outcome.result, (time.perf_counter() - t0) * 1000,
                 "" if recorded else "; outcome NOT recorded")
        entry = AuditEntry(
            at=done_at, actor=f"operator:{command.operator}",
            action=COMMAND_ACTION_PREFIX + command.kind.value,
            subject=f"command #{command.command_id}", venue=command.venue,
            account=command.account,
            details=evidence(command_id=command.command_id, state=outcome.state.value,
                             result=outcome.result or None, taken_by=engine, epoch=epoch,
                             issued_at=command.issued_at,
                             **{f"arg_{k}": v for k, v in command.arguments}))
        try:
            await asyncio.to_thread(self.ledger.append_audit, entry)
        except LedgerError as exc:
            log.warning("%s: not audited: %s", command.ref, exc)

    async def execute(self, command: OperatorCommand) -> Outcome:
        """Carry out one command through the session's own paths; its outcome."""
        handler = _HANDLERS[command.kind]
        return await handler(self.session, command)


async def _approve(session: EngineSession, command: OperatorCommand) -> Outcome:
    run_id, index = _ref(command)
    state = await session.executor.approve(run_id, index, command.operator)
    run = await asyncio.to_thread(session.ledger.load_run, run_id)
    error = run.actions[index].error if run is not None and index < len(run.actions) else ""
    ok = state.value == "applied"
    return Outcome(CommandState.DONE if ok else CommandState.FAILED,
                   state.value + (f": {error}" if error and not ok else ""))


async def _reject(session: EngineSession, command: OperatorCommand) -> Outcome:
    run_id, index = _ref(command)
    await session.executor.reject(run_id, index, command.operator, command.argument("reason"))
    return Outcome(CommandState.DONE, "rejected")


async def _lift(session: EngineSession, command: OperatorCommand) -> Outcome:
    run_id, index = _ref(command)
    action = await session.executor.lift_rejection(run_id, index, command.operator)
    return Outcome(CommandState.DONE, f"rejection of {action.kind.value} {action.subject} "
                                      "lifted")


async def _halt(session: EngineSession, command: OperatorCommand) -> Outcome:
    """The risk halt without the cancels: no new risk until an operator resumes. Recorded
    as the emergency stop's halt, so that a restart (and any other process) rebuilds it."""
    actor = f"operator:{command.operator}"
    reason = command.argument("reason") or f"halted by {command.operator}"
    async with session.emergency.lock:
        now = session.clock_ms()
        newly = session.risk.halt(reason, by=actor, at=now)
        if newly:
            await asyncio.to_thread(session.ledger.append_audit, AuditEntry(
                at=now, actor=actor, action=HALT_ACTION,
                subject=f"{session.venue.venue}/{session.venue.account}",
                venue=session.venue.venue, account=session.venue.account,
                details=evidence(reason=reason, command_id=command.command_id)))
    return Outcome(CommandState.DONE, "halted" if newly else "already halted")


async def _resume(session: EngineSession, command: OperatorCommand) -> Outcome:
    outcome = await session.resume(command.operator)
    if not outcome.changed:
        return Outcome(CommandState.DONE, "trading was not halted or paused")
    parts = (["halt cleared"] if outcome.halt_cleared else []) + (
        [f"pause lifted ({outcome.lifted_reason})"] if outcome.pause_lifted else [])
    return Outcome(CommandState.DONE, "resumed: " + ", ".join(parts))


async def _emergency_stop(session: EngineSession, command: OperatorCommand) -> Outcome:
    report = await session.emergency_stop(
        flatten=command.argument("flatten") == "yes", operator=command.operator,
        reason=command.argument("reason"))
    text = headline(report).text
    return Outcome(CommandState.DONE if report.clean else CommandState.FAILED, text)


async def _reconcile_now(session: EngineSession, command: OperatorCommand) -> Outcome:
    del command
    outcome = await session.reconciler.run_once(RunTrigger.MANUAL)
    run = outcome.run
    return Outcome(CommandState.DONE if run.status.value == "ok" else CommandState.FAILED,
                   f"run {run.run_id} {run.status.value}: "
                   f"{plural(len(run.discrepancies), 'discrepancy')}, "
                   f"{plural(len(run.actions), 'action')}")


async def _acknowledge(session: EngineSession, command: OperatorCommand) -> Outcome:
    """Acknowledge one alert of the account by its ledger id or key, through the alert
    engine's own path (the ledger row, the audit entry "acknowledge_alert" under
    operator:<name>, its memory and listeners)."""
    text = command.argument("ref").strip()
    if not text:
        raise ActionError(f"command {command.ref}: needs ref (an alert id or rule:subject)")
    ref: int | str = int(text) if text.isdigit() else text
    alert = await _alert_engine(session).acknowledge(ref, command.operator)
    return Outcome(CommandState.DONE, f"acknowledged alert {alert.alert_id} ({alert.key})")


def _alert_engine(session: EngineSession) -> AlertEngine:
    """The session's own alert engine, or (a session run without one) one over its ledger
    for the acknowledgement alone, as `recon-console alerts ack` uses."""
    runner = session.commands
    if runner is not None and runner.alerts is not None:
        return runner.alerts
    from console.engine.alerts import AlertEngine  # it imports the session: not at the top

    return AlertEngine(session.ledger, session.venue.venue, session.venue.account,
                       clock_ms=session.clock_ms)


_Handler = Callable[["EngineSession", OperatorCommand], Awaitable[Outcome]]
_HANDLERS: Mapping[CommandKind, _Handler] = {
    CommandKind.APPROVE: _approve,
    CommandKind.REJECT: _reject,
    CommandKind.LIFT_REJECTION: _lift,
    CommandKind.HALT: _halt,
    CommandKind.RESUME: _resume,
    CommandKind.EMERGENCY_STOP: _emergency_stop,
    CommandKind.RECONCILE_NOW: _reconcile_now,
    CommandKind.ACKNOWLEDGE: _acknowledge,
}
