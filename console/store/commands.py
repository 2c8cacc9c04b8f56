"""The ledger side of operator commands: submit, take, finish, withdraw, read.

Why through the ledger: the operator's process (the console, the CLI) and the engine that
holds an account's lease may be different processes on different machines; the ledger is
what they share (docs/architecture.md, "Operator commands through the ledger").

- **Submit** is a plain insert from any process, never fenced: an operator's command must
  reach the holder whichever process it was given in.
- **Take** is ONE conditional update (``state = 'pending'`` -> ``'running'``, with the
  taker and its lease epoch) in a transaction that first checks the taker holds the lease
  (`check_holder`): two engines can never both take a command, and an engine that is
  not the holder never takes one. On PostgreSQL the check is the lease fence itself
  (`console.store.leases.check_fence`: the lease row read ``FOR KEY SHARE``, so no
  takeover commits in between); SQLite is one process and fences nothing, as for every
  other write.
- **Finish** is fenced the same way and changes only a command this engine took under
  this epoch: a holder that lost its lease cannot record an outcome for it.
- A command taken under an older epoch and never finished (its engine died while carrying
  it out) is marked failed by the next holder (`fail_abandoned`): it is not run twice,
  and the operator sees that it must be checked and given again.
- **Withdraw** moves a command that is still pending to refused (a CLI that gave up
  waiting): a halt nobody took must not fire when an engine starts an hour later.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, select, update

from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.store import leases as lease_store
from console.store import tables as t

OPEN_STATES = (CommandState.PENDING.value, CommandState.RUNNING.value)


def _encode(arguments: Mapping[str, str]) -> str:
    return json.dumps({str(k): str(v) for k, v in arguments.items()}, sort_keys=True)


def _decode(text: str) -> tuple[tuple[str, str], ...]:
    raw = json.loads(text or "{}")
    if not isinstance(raw, dict):
        return ()
    return tuple(sorted((str(k), str(v)) for k, v in raw.items()))


def from_row(row: Any) -> OperatorCommand:
    return OperatorCommand(
        command_id=int(row.id), venue=str(row.venue), account=str(row.account),
        kind=CommandKind(row.kind), arguments=_decode(str(row.arguments)),
        operator=str(row.operator), issued_at=int(row.issued_at),
        state=CommandState(row.state), taken_by=str(row.taken_by),
        taken_epoch=None if row.taken_epoch is None else int(row.taken_epoch),
        result=str(row.result), done_at=None if row.done_at is None else int(row.done_at))


def submit(conn: Connection, venue: str, account: str, kind: CommandKind, *,
           arguments: Mapping[str, str], operator: str, issued_at: int,
           returning: bool) -> int:
    """Insert a pending command; its id."""
    c = t.commands
    stmt = c.insert().values(
        venue=venue, account=account, kind=kind.value, arguments=_encode(arguments),
        operator=operator, issued_at=issued_at, state=CommandState.PENDING.value,
        taken_by="", taken_epoch=None, result="", done_at=None)
    if returning:
        return int(conn.execute(stmt.returning(c.c.id)).scalar_one())
    result = conn.execute(stmt)  # pragma: no cover - SQLite < 3.35
    key = result.inserted_primary_key  # pragma: no cover
    return int(key[0]) if key else 0  # pragma: no cover


def read(conn: Connection, command_id: int) -> OperatorCommand | None:
    row = conn.execute(select(t.commands).where(t.commands.c.id == command_id)).first()
    return None if row is None else from_row(row)


def open_commands(conn: Connection, venue: str, account: str,
                  limit: int = 20) -> list[OperatorCommand]:
    """The pending and running commands of one account, oldest first (the index's order)."""
    c = t.commands
    query = (select(c).where(c.c.venue == venue, c.c.account == account,
                             c.c.state.in_(OPEN_STATES))
             .order_by(c.c.id).limit(limit))
    return [from_row(row) for row in conn.execute(query)]


def recent(conn: Connection, venue: str | None, account: str | None,
           limit: int) -> list[OperatorCommand]:
    """The latest commands (of one venue/account when given), newest first."""
    c = t.commands
    query = select(c)
    if venue is not None:
        query = query.where(c.c.venue == venue)
    if account is not None:
        query = query.where(c.c.account == account)
    return [from_row(row) for row in conn.execute(query.order_by(c.c.id.desc()).limit(limit))]


def check_holder(conn: Connection, venue: str, account: str, *, holder: str, epoch: int,
                 idle_timeout_ms: int, doing: str) -> None:
    """Refuse (`LeaseLostError`) unless `holder` holds the lease of (venue, account) with
    `epoch`: the ledger's fence (`check_fence`, expiry included). PostgreSQL only: SQLite
    is one process and fences nothing (every started session there holds its lease); the
    take's conditional update alone keeps a command from being taken twice."""
    if conn.dialect.name == "postgresql":
        lease_store.check_fence(conn, venue, account,
                                lease_store.Fence(holder, epoch, idle_timeout_ms), doing)


def take(conn: Connection, command_id: int, holder: str, epoch: int) -> bool:
    """Pending -> running for `holder` under `epoch`; False when it is no longer pending
    (another engine took it, or the submitter withdrew it). Call `check_holder` first, in
    the same transaction."""
    c = t.commands
    result = conn.execute(
        update(c).where(c.c.id == command_id, c.c.state == CommandState.PENDING.value)
        .values(state=CommandState.RUNNING.value, taken_by=holder, taken_epoch=epoch))
    return bool(result.rowcount)


def finish(conn: Connection, command_id: int, holder: str, epoch: int, *,
           state: CommandState, result: str, done_at: int) -> bool:
    """Record the outcome of a command `holder` took under `epoch`; False when it did not
    (or already finished it)."""
    if not state.finished:
        raise ValueError(f"a command finishes done, refused or failed, not {state.value}")
    c = t.commands
    changed = conn.execute(
        update(c).where(c.c.id == command_id, c.c.state == CommandState.RUNNING.value,
                        c.c.taken_by == holder, c.c.taken_epoch == epoch)
        .values(state=state.value, result=result, done_at=done_at))
    return bool(changed.rowcount)


def fail_abandoned(conn: Connection, venue: str, account: str, epoch: int,
                   done_at: int) -> int:
    """Mark failed the commands of (venue, account) taken under an epoch before `epoch`
    and never finished: their engine lost the lease while carrying them out. How many."""
    c = t.commands
    changed = conn.execute(
        update(c).where(c.c.venue == venue, c.c.account == account,
                        c.c.state == CommandState.RUNNING.value, c.c.taken_epoch < epoch)
        .values(state=CommandState.FAILED.value, done_at=done_at,
                result="the engine that took it lost its lease before it recorded an "
                       "outcome; check the venue and the ledger, then give it again"))
    return int(changed.rowcount or 0)


def withdraw(conn: Connection, command_id: int, done_at: int, why: str) -> bool:
    """Pending -> refused (nobody took it); False when an engine took it meanwhile."""
    c = t.commands
    changed = conn.execute(
        update(c).where(c.c.id == command_id, c.c.state == CommandState.PENDING.value)
        .values(state=CommandState.REFUSED.value, result=why, done_at=done_at))
    return bool(changed.rowcount)
