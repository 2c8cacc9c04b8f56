"""Helpers for the plan-only tests (preview, rehearsal, their CLI): what a ledger holds,
table by table, so "nothing was written" is a comparison, not a belief."""

from __future__ import annotations

from sqlalchemy import func, select

from console.domain.reconciliation import AuditEntry
from console.store import Ledger
from console.store.tables import metadata


def row_counts(ledger: Ledger) -> dict[str, int]:
    """Rows in every table of the ledger."""
    with ledger.engine.connect() as conn:
        return {table.name: int(conn.execute(select(func.count()).select_from(table))
                                .scalar_one())
                for table in metadata.sorted_tables}


def table_contents(ledger: Ledger) -> dict[str, list[str]]:
    """Every row of every table, as text, sorted: an update shows as well as an insert."""
    with ledger.engine.connect() as conn:
        return {table.name: sorted(repr(tuple(row)) for row in conn.execute(select(table)))
                for table in metadata.sorted_tables}


Fingerprint = tuple[dict[str, int], dict[str, list[str]], list[AuditEntry]]


def ledger_fingerprint(ledger: Ledger) -> Fingerprint:
    """Row counts and contents of every table, and the whole audit log."""
    return row_counts(ledger), table_contents(ledger), ledger.audit_log(10_000)


def fingerprint_at(url: str) -> Fingerprint:
    with Ledger.open(url) as ledger:
        return ledger_fingerprint(ledger)
