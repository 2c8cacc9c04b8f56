"""An operator's command to the engine that holds an account's lease, as the ledger keeps it.

Why commands go through the ledger: on a shared PostgreSQL ledger the console (or the CLI)
and the engine that trades an account are different processes, often on different
machines; the ledger is the one thing they share. The operator's process writes the
command (any process may: a plain insert, never fenced), the lease holder takes it (a
fenced write: only the holder), carries it out through the engine's own paths and records
the outcome (docs/architecture.md, "Operator commands through the ledger"). The value
lives in the domain because the store writes it, the engine runs it and the CLI and the
console show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class CommandKind(StrEnum):
    APPROVE = "approve"
    """Approve inbox action (arguments: run_id, index)."""
    REJECT = "reject"
    """Reject inbox action (arguments: run_id, index, reason)."""
    LIFT_REJECTION = "lift_rejection"
    """Lift a standing rejection (arguments: run_id, index)."""
    HALT = "halt"
    """Halt new risk (nothing cancelled) until an operator resumes (arguments: reason)."""
    RESUME = "resume"
    """Lift a halt or a desync pause."""
    EMERGENCY_STOP = "emergency_stop"
    """Halt, cancel everything, optionally flatten (arguments: flatten "yes"/"no", reason)."""
    RECONCILE_NOW = "reconcile_now"
    """Run one reconciliation now."""
    ACKNOWLEDGE = "acknowledge"
    """Acknowledge an alert of the account (arguments: ref, its ledger id or its key
    "rule:subject"): through the holder's alert engine, which may hold it in memory too."""


class CommandState(StrEnum):
    PENDING = "pending"
    """Submitted; no engine took it yet (nobody holds the lease, or the holder's next poll
    has not come)."""
    RUNNING = "running"
    """Taken by the lease holder (`taken_by`, `taken_epoch`), being carried out."""
    DONE = "done"
    REFUSED = "refused"
    """The engine would not do it (the action is not pending, the profile is read-only,
    the submitter withdrew it before any engine took it); nothing changed."""
    FAILED = "failed"
    """It was tried and went wrong (the venue refused, the holder lost its lease while
    carrying it out): check the ledger and the venue before submitting it again."""

    @property
    def finished(self) -> bool:
        return self not in (CommandState.PENDING, CommandState.RUNNING)


@dataclass(frozen=True, slots=True)
class OperatorCommand:
    """One row of the ledger's `commands` table."""

    command_id: int
    venue: str
    account: str
    kind: CommandKind
    arguments: tuple[tuple[str, str], ...]
    """Name/value pairs, sorted by name (stored as a JSON object of strings)."""
    operator: str
    """Who gave it (the audit actor of what it does is "operator:<operator>")."""
    issued_at: int
    state: CommandState = CommandState.PENDING
    taken_by: str = ""
    """The engine id of the lease holder that took it ("" while pending)."""
    taken_epoch: int | None = None
    """The epoch of the lease under which it was taken."""
    result: str = ""
    done_at: int | None = None

    def argument(self, name: str, default: str = "") -> str:
        return dict(self.arguments).get(name, default)

    @property
    def ref(self) -> str:
        return f"#{self.command_id} {self.kind.value} {self.venue}/{self.account}"
