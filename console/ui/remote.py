"""A remote account: one that an engine in another process (another machine) trades,
watched and commanded through the shared PostgreSQL ledger (docs/architecture.md, "The
console as a fleet view").

The window holds no venue connection and no engine session for it. What it shows comes
from the ledger (off the GUI thread, on a poll); what the operator decides (approve,
reject, un-reject, halt, resume, emergency stop, reconcile now) becomes a ledger command
(`console.engine.commands`) that the engine holding the account's lease takes, carries
out through its own paths and audits as "operator:<name>". `RemoteOps.run` waits for that
outcome and reports it as the holder recorded it: the window never says a command was
carried out on the strength of having written it.

Why refuse before writing when no engine holds the lease: a command nobody takes would
sit in the ledger and fire whenever an engine starts later, long after the operator
decided; saying "nobody holds the lease, nothing was sent" now is the truthful answer. A
command the holder did not take within the timeout is withdrawn for the same reason.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.domain.lease import Lease
from console.domain.reconciliation import AuditEntry, RunRecord, TradingMode
from console.engine.emergency import (
    HALT_ACTION,
    RESUME_HALT_ACTION,
    RESUME_PAUSE_ACTION,
    halt_in_force,
    halt_reason,
    pause_lifted,
)
from console.engine.ports import LedgerPort
from console.engine.reconcile_service import wall_clock_ms

DEFAULT_TIMEOUT_S: Final = 10.0
"""How long the window waits for the lease holder's outcome of a command."""
COMMAND_POLL_S: Final = 0.05
"""How often it asks the ledger whether the outcome is in."""
RISK_ACTIONS: Final = frozenset({HALT_ACTION, RESUME_HALT_ACTION, RESUME_PAUSE_ACTION})
RISK_SCAN: Final = 50
"""Audit entries of the account (halts and resumes only) read to know whether it is halted."""


class FleetLedgerPort(LedgerPort, Protocol):
    """What a console attached to a shared ledger needs of it besides the reads every
    account makes (`console.store.Ledger` has it). Every method blocks: call it in a
    worker thread."""

    def submit_command(self, venue: str, account: str, kind: CommandKind, *,
                       arguments: Mapping[str, str], operator: str, issued_at: int) -> int:
        ...

    def command(self, command_id: int) -> OperatorCommand | None:
        ...

    def withdraw_command(self, command_id: int, at: int, why: str) -> bool:
        ...

    def lease(self, venue: str, account: str) -> Lease | None:
        ...

    def fleet_accounts(self) -> list[tuple[str, str]]:
        ...

    def last_ok_run_at(self, venue: str, account: str) -> int | None:
        ...

    def audit_log(self, limit: int = 200, *, venue: str | None = None,
                  account: str | None = None,
                  actions: Collection[str] | None = None) -> list[AuditEntry]:
        ...


@dataclass(frozen=True, slots=True)
class LedgerRisk:
    """An account's trading mode as the ledger holds it (the engine's `RiskState` is in
    another process): halted by the newest halt not followed by a resume, paused by the
    newest run's decision unless an operator lifted it since."""

    halted: bool = False
    halt_reason: str = ""
    halted_by: str = ""
    paused: bool = False
    reason: str = ""
    quarantine: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Not in the ledger (the engine's memory): always empty for a remote account."""


def ledger_risk(entries: Sequence[AuditEntry], last_run: RunRecord | None) -> LedgerRisk:
    """`entries`: the account's halt and resume entries, newest first (as
    `EmergencyStop.restore` reads them when an engine starts)."""
    halt = halt_in_force(entries)
    paused, reason = False, ""
    if last_run is not None and last_run.mode is TradingMode.PAUSED \
            and not pause_lifted(entries, last_run):
        paused, reason = True, last_run.pause_reason
    if halt is None:
        return LedgerRisk(False, "", "", paused, reason)
    return LedgerRisk(True, halt_reason(halt), halt.actor, paused, reason)


@dataclass(frozen=True, slots=True)
class FleetHealth:
    """A remote account's health as read from the ledger: who holds the lease, its last
    heartbeat (the holder's last renewal), the last OK reconciliation, the trading mode."""

    venue: str
    account: str
    lease: Lease | None
    last_ok_at: int | None
    risk: LedgerRisk

    @property
    def holder(self) -> str | None:
        """The engine holding the lease now (None: nobody, or its lease ran out)."""
        lease = self.lease
        return None if lease is None or lease.expired else lease.holder

    @property
    def heartbeat_at(self) -> int | None:
        return None if self.lease is None else self.lease.renewed_at

    @property
    def heartbeat_age_ms(self) -> int | None:
        """How long ago the holder last renewed, by the ledger's clock."""
        lease = self.lease
        return None if lease is None else max(0, lease.db_now - lease.renewed_at)

    @property
    def stale(self) -> bool:
        """No engine renewed the lease within its TTL: nobody carries out commands."""
        return self.holder is None

    @property
    def mode(self) -> str:
        return ("HALTED" if self.risk.halted else "PAUSED" if self.risk.paused
                else "TRADING")

    def describe(self) -> str:
        """"held by E (epoch 3), heartbeat 0.4 s ago" or why nobody carries out commands."""
        lease = self.lease
        if lease is None:
            return f"no engine has held the lease of {self.venue}/{self.account} yet"
        age = (self.heartbeat_age_ms or 0) / 1000
        if lease.expired:
            return (f"no engine holds the lease: the last holder {lease.holder} stopped "
                    f"renewing {age:.1f} s ago (expired)")
        return f"held by {lease.holder} (epoch {lease.epoch}), heartbeat {age:.1f} s ago"


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """A command's fate as the lease holder recorded it, or why it was never sent."""

    kind: CommandKind
    venue: str
    account: str
    state: CommandState | None
    """None: not sent (no engine held the lease)."""
    result: str
    command_id: int | None = None
    taken_by: str = ""
    epoch: int | None = None

    @property
    def done(self) -> bool:
        """The holder carried it out and says it succeeded."""
        return self.state is CommandState.DONE

    @property
    def text(self) -> str:
        where = f"{self.venue}/{self.account}"
        ref = f"command #{self.command_id} " if self.command_id is not None else ""
        if self.state is None:
            return f"{self.kind.value} on {where}: NOT SENT: {self.result}"
        by = f" by {self.taken_by}" if self.taken_by else ""
        if self.state is CommandState.RUNNING:
            return (f"{self.kind.value} on {where}: {ref}taken{by} but no outcome yet: "
                    f"{self.result}")
        return f"{self.kind.value} on {where}: {ref}{self.state.value}{by}: {self.result}"


class RemoteOps:
    """Commands to the engine that holds the lease of one (venue, account), and that
    account's health, over the shared ledger."""

    def __init__(self, ledger: FleetLedgerPort, venue: str, account: str, *,
                 timeout_s: float = DEFAULT_TIMEOUT_S, poll_s: float = COMMAND_POLL_S,
                 clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.ledger = ledger
        self.venue = venue
        self.account = account
        self.timeout_s = timeout_s
        self.poll_s = poll_s
        self.clock_ms = clock_ms

    def read_health(self) -> FleetHealth:
        """Blocking (a worker thread): three indexed reads."""
        venue, account = self.venue, self.account
        lease = self.ledger.lease(venue, account)
        last_ok = self.ledger.last_ok_run_at(venue, account)
        entries = self.ledger.audit_log(RISK_SCAN, venue=venue, account=account,
                                        actions=RISK_ACTIONS)
        runs = self.ledger.list_runs(venue, account, 1)
        return FleetHealth(venue, account, lease, last_ok,
                           ledger_risk(entries, runs[0] if runs else None))

    async def run(self, kind: CommandKind, operator: str,
                  arguments: Mapping[str, str] | None = None) -> CommandOutcome:
        """Submit one command and wait (up to `timeout_s`) for the holder's outcome. Not
        sent when no engine holds the lease; withdrawn when nobody took it in time."""
        venue, account, args = self.venue, self.account, dict(arguments or {})
        lease = await asyncio.to_thread(self.ledger.lease, venue, account)
        if lease is None or lease.expired:
            why = ("no engine has ever held its lease" if lease is None else
                   f"no engine holds its lease (the last holder, {lease.holder}, stopped "
                   "renewing it)")
            return CommandOutcome(kind, venue, account, None,
                                  f"{why}: nothing was sent. Start an engine for "
                                  f"{venue}/{account} (recon-console run --headless), then "
                                  "try again.")
        command_id = await asyncio.to_thread(
            lambda: self.ledger.submit_command(venue, account, kind, arguments=args,
                                               operator=operator, issued_at=self.clock_ms()))
        deadline = time.monotonic() + self.timeout_s
        found = await asyncio.to_thread(self.ledger.command, command_id)
        while found is not None and not found.state.finished and time.monotonic() < deadline:
            await asyncio.sleep(self.poll_s)
            found = await asyncio.to_thread(self.ledger.command, command_id)
        if found is not None and found.state is CommandState.PENDING:
            why = (f"withdrawn: the engine holding the lease of {venue}/{account} did not "
                   f"take it within {self.timeout_s:g} s; nothing was done")
            if await asyncio.to_thread(self.ledger.withdraw_command, command_id,
                                       self.clock_ms(), why):
                return CommandOutcome(kind, venue, account, CommandState.REFUSED, why,
                                      command_id)
            found = await asyncio.to_thread(self.ledger.command, command_id)
        if found is None:
            return CommandOutcome(kind, venue, account, CommandState.FAILED,
                                  "the command vanished from the ledger", command_id)
        result = found.result
        if found.state is CommandState.RUNNING:
            result = (f"still being carried out after {self.timeout_s:g} s; its outcome "
                      "will be in the audit log")
        return CommandOutcome(kind, venue, account, found.state, result, command_id,
                              found.taken_by, found.taken_epoch)
