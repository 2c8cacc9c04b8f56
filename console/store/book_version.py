"""The book version of a (venue, account): a number that moves with every committed write
to what a ledger snapshot reads (orders, fills, positions, balances, runner states and
the fill coverage mark).

Why: a reconciliation reads the ledger while the venue is fetched instead of after it
(`console.engine.reconcile_service`). Reading after was what kept an order placed during
the fetch from looking like a stranger: its intent is written before it is sent, so a
later read holds it. A read taken during the fetch may miss it; the version read in the
same transaction as the snapshot, compared with the version once the fetch is done, says
whether anything was written meanwhile (then the snapshot is read again) or the snapshot
is exactly what a read after the fetch would have returned.

The version lives in the `counters` table (one row per scope, named by `counter_name`),
bumped inside the writing transaction itself, so that a reader never sees the write
without the bump or the bump without the write. Every `Ledger` method that writes those
tables for an account must call `bump`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Select, select

from console.store import tables as t

PREFIX = "book-version"


def counter_name(venue: str, account: str) -> str:
    """The counter row of one (venue, account); the venue's length keeps any two scopes
    apart whatever characters their names hold."""
    return f"{PREFIX}:{len(venue)}:{venue}:{account}"


def bump(conn: Connection, insert: Callable[[Any], Any],
         scopes: Iterable[tuple[str, str]]) -> None:
    """Advance the version of each scope, in a fixed order (two writers bumping the same
    scopes take their row locks in the same order: no deadlock on PostgreSQL)."""
    c = t.counters
    for venue, account in sorted(set(scopes)):
        stmt = insert(c).values(name=counter_name(venue, account), value=1)
        conn.execute(stmt.on_conflict_do_update(index_elements=["name"],
                                                set_={"value": c.c.value + 1}))


def query(venue: str, account: str) -> Select[Any]:
    """The statement that reads the scope's version (no row: never written, version 0)."""
    c = t.counters
    return select(c.c.value).where(c.c.name == counter_name(venue, account))


def read(conn: Connection, venue: str, account: str) -> int:
    """The scope's version as this transaction sees it (0: never written)."""
    value = conn.execute(query(venue, account)).scalar()
    return 0 if value is None else int(value)
