"""The lease of one (venue, account): which engine may trade it, and since which epoch.

Several engines may share one PostgreSQL ledger; for each (venue, account) exactly one of
them (the holder) applies reconciliations and sends orders, and the others observe until
the holder stops renewing (docs/architecture.md, "Leases and fencing"). The value lives in
the domain because the store writes it, the engine acts on it and a console shows it.

Times are milliseconds in the DATABASE's clock on PostgreSQL (so engines on machines whose
clocks disagree still agree on when a lease expires); `db_now` is that clock when the row
was read, so that `remaining_ms` needs no clock of the reader's.
"""

from __future__ import annotations

from dataclasses import dataclass

OPERATOR_ACTORS = ("operator:", "emergency:")
"""Audit actors whose entries are the operator's commands (a halt, a resume, an approval):
they travel through the ledger to whichever engine holds the lease, so the ledger never
fences them (see `is_operator_actor`)."""


def is_operator_actor(actor: str) -> bool:
    """The audit actor is an operator's command, written from any process, never fenced."""
    return actor.startswith(OPERATOR_ACTORS)


@dataclass(frozen=True, slots=True)
class Lease:
    """One lease row as the ledger last answered for it."""

    venue: str
    account: str
    holder: str
    """The holding engine's id (worker, host, pid and a random part: `engine_id`)."""
    epoch: int
    """+1 on every change of holder, never otherwise: a write fenced with an older epoch
    comes from an engine that has since lost the lease."""
    expires_at: int
    renewed_at: int
    acquired_at: int
    """When the current holder took it (unchanged by its renewals)."""
    db_now: int
    """The ledger's clock when this answer was read."""
    enforced: bool = True
    """False on a ledger that one process alone uses (SQLite): the lease is recorded but
    nothing is fenced, so a restart never waits for an old lease to expire."""

    @property
    def expired(self) -> bool:
        return self.expires_at <= self.db_now

    @property
    def remaining_ms(self) -> int:
        """How long the holder keeps it without renewing (0 once expired), by the
        ledger's clock."""
        return max(0, self.expires_at - self.db_now)

    def held_by(self, holder: str) -> bool:
        """`holder` holds it now: its id is on the row and the row has not expired."""
        return self.holder == holder and not self.expired

    def describe(self) -> str:
        """"held by X (epoch N), expires in 3.2 s" or "... expired 1.0 s ago"."""
        left = (self.expires_at - self.db_now) / 1000
        when = f"expires in {left:.1f} s" if left > 0 else f"expired {-left:.1f} s ago"
        return f"held by {self.holder} (epoch {self.epoch}), {when}"
