"""The ledger side of leases: take, renew and release one, and fence the writes.

Why a lease row rather than an advisory lock: a session-level advisory lock dies with its
connection, and a connection pool, a pre-ping or a network blip would drop it silently;
a row with an epoch survives all of them and can be checked inside every write.

- Acquire is ONE atomic ``INSERT ... ON CONFLICT DO UPDATE ... WHERE expired OR holder =
  me RETURNING``: two engines racing for a free lease serialise on the row, and exactly
  one of them gets it. The epoch moves +1 only when the holder changes, so a holder that
  renews late but was never replaced keeps its epoch.
- Renew is a plain ``UPDATE ... SET expires_at, renewed_at WHERE holder = me AND epoch =
  mine RETURNING``: it changes no key column, so it never waits for the holder's own
  fenced writes in flight (see below), however long they take.
- Times come from the DATABASE's clock on PostgreSQL (`statement_timestamp()`): engines
  on machines whose clocks disagree still agree on when a lease expires.
- Fencing (`check_fence`): a write for a fenced (venue, account) first reads the lease row
  ``FOR KEY SHARE`` in its own transaction and goes on only while that row still names
  this engine, its epoch, and an expiry in the future. The epoch is a key column (a unique
  index): a takeover, which changes it, waits for the old holder's fenced writes in
  flight to commit, and the new holder's startup reconciliation then reads them; a
  renewal, which does not change it, never waits for them. A write that finds a stale
  epoch raises `LeaseLostError` and its transaction rolls back. The same statement sets
  ``idle_in_transaction_session_timeout`` for the transaction: a holder frozen in the
  middle of a write (SIGSTOP, a VM pause) cannot keep that row lock, and so block every
  takeover, for longer than that (half the TTL, at least `MIN_IDLE_TIMEOUT_MS`: a busy
  machine may leave a live transaction idle for a moment).
- SQLite is one process: a lease there is taken whoever holds it (`Lease.enforced` is
  False) and nothing is fenced, so a restart after a crash never waits for the old lease
  to expire and single-engine users see no change.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Connection, case, cast, func, or_, select, update
from sqlalchemy import literal as sa_literal
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from console.domain.lease import Lease
from console.errors import LeaseLostError
from console.store import tables as t

ACQUIRE_LOCK_TIMEOUT_MS = 1000
"""How long an acquisition waits for the row (in-flight fenced writes of the holder)
before it answers "not now"; the keeper asks again at its next tick."""
MIN_IDLE_TIMEOUT_MS = 2000


@dataclass(frozen=True, slots=True)
class Fence:
    """What this process may write for one (venue, account): as `holder`, with `epoch`
    (None: it holds nothing, every engine write is refused without asking the database).
    `idle_timeout_ms` bounds how long a fenced transaction may sit idle on the server."""

    holder: str
    epoch: int | None
    idle_timeout_ms: int


class Fences:
    """The fences one `Ledger` enforces, by (venue, account). Thread-safe: the ledger is
    called from worker threads while the lease keeper updates it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_account: dict[tuple[str, str], Fence] = {}

    def __bool__(self) -> bool:
        return bool(self._by_account)

    def get(self, venue: str, account: str) -> Fence | None:
        with self._lock:
            return self._by_account.get((venue, account))

    def hold(self, lease: Lease, holder: str, ttl_ms: int) -> None:
        """After an acquisition attempt: fence with `lease`'s epoch when `holder` got it,
        or refuse everything for the account when another engine holds it. A lease the
        ledger does not enforce (SQLite) fences nothing."""
        if not lease.enforced:
            return
        epoch = lease.epoch if lease.held_by(holder) else None
        fence = Fence(holder, epoch, max(MIN_IDLE_TIMEOUT_MS, ttl_ms // 2))
        with self._lock:
            current = self._by_account.get((lease.venue, lease.account))
            if current is not None and current.holder != holder:
                raise LeaseLostError(
                    f"{lease.venue}/{lease.account}: this ledger already fences writes for "
                    f"engine {current.holder}; give each engine its own Ledger")
            self._by_account[(lease.venue, lease.account)] = fence

    def drop(self, venue: str, account: str, holder: str) -> None:
        """The engine is done with the account (a clean stop): its writes are no longer
        fenced (the process is no engine for it any more)."""
        with self._lock:
            current = self._by_account.get((venue, account))
            if current is not None and current.holder == holder:
                del self._by_account[(venue, account)]


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def _now(conn: Connection) -> ColumnElement[Any]:
    """The ledger's clock in ms: the server's on PostgreSQL, this machine's on SQLite."""
    if conn.dialect.name == "postgresql":
        return cast(func.extract("epoch", func.statement_timestamp()) * 1000, BigInteger)
    return sa_literal(_wall_ms(), BigInteger)


def _lease(row: Any, venue: str, account: str, db_now: int, *, enforced: bool) -> Lease:
    return Lease(venue=venue, account=account, holder=str(row.holder), epoch=int(row.epoch),
                 expires_at=int(row.expires_at), renewed_at=int(row.renewed_at),
                 acquired_at=int(row.acquired_at), db_now=int(db_now), enforced=enforced)


def acquire(conn: Connection, venue: str, account: str, holder: str, ttl_ms: int, *,
            returning: bool) -> Lease:
    """Take or renew the lease for `holder` in one statement; the row as it now stands
    (held by `holder`, or by the engine that keeps it). See the module docstring."""
    lease = t.leases
    shared = _begin(conn, ttl_ms)
    now: ColumnElement[Any] = _now(conn)
    stmt: Any = pg_insert(lease) if shared else sqlite_insert(lease)
    stmt = stmt.values(venue=venue, account=account, holder=holder, epoch=1,
                       expires_at=now + ttl_ms, renewed_at=now, acquired_at=now)
    same = lease.c.holder == stmt.excluded.holder
    stmt = stmt.on_conflict_do_update(
        index_elements=["venue", "account"],
        set_={"holder": stmt.excluded.holder,
              "epoch": case((same, lease.c.epoch), else_=lease.c.epoch + 1),
              "expires_at": stmt.excluded.expires_at,
              "renewed_at": stmt.excluded.renewed_at,
              "acquired_at": case((same, lease.c.acquired_at),
                                  else_=stmt.excluded.acquired_at)},
        # SQLite (one process): whoever asks gets it. PostgreSQL: only when it expired or
        # is ours already.
        where=or_(same, lease.c.expires_at <= stmt.excluded.renewed_at) if shared else None)
    found = _write(conn, stmt, venue, account, shared, returning=returning)
    if found is None:  # pragma: no cover - the upsert above wrote it
        raise LeaseLostError(f"{venue}/{account}: the lease row vanished while it was taken")
    return found


def renew(conn: Connection, venue: str, account: str, holder: str, *, epoch: int,
          ttl_ms: int, returning: bool) -> Lease | None:
    """Extend `holder`'s lease of `epoch` by `ttl_ms` from now; the row as it now stands
    (another holder's, or a newer epoch, when it was lost meanwhile; None without a row).
    Extends an expired lease too when nobody took it since: nothing happened in between."""
    lease = t.leases
    shared = _begin(conn, ttl_ms)
    now = _now(conn)
    stmt = (update(lease)
            .where(lease.c.venue == venue, lease.c.account == account,
                   lease.c.holder == holder, lease.c.epoch == epoch)
            .values(expires_at=now + ttl_ms, renewed_at=now))
    return _write(conn, stmt, venue, account, shared, returning=returning)


def _begin(conn: Connection, ttl_ms: int) -> bool:
    """What taking and renewing check first: a TTL above zero, and on PostgreSQL a bound on
    the wait for another engine's row lock. True on PostgreSQL (a shared, enforced lease)."""
    if ttl_ms <= 0:
        raise ValueError(f"lease TTL must be > 0 ms, not {ttl_ms}")
    shared = conn.dialect.name == "postgresql"
    if shared:
        conn.execute(select(func.set_config("lock_timeout", str(ACQUIRE_LOCK_TIMEOUT_MS),
                                            True)))
    return shared


def _write(conn: Connection, stmt: Any, venue: str, account: str, shared: bool, *,
           returning: bool) -> Lease | None:
    """Run a lease upsert or update; the row as it now stands (None without a row). With
    RETURNING, the written row itself; without (or when the update matched nothing), read
    back in the same transaction."""
    lease = t.leases
    columns = (lease.c.holder, lease.c.epoch, lease.c.expires_at, lease.c.renewed_at,
               lease.c.acquired_at)
    if returning:
        row = conn.execute(stmt.returning(*columns)).first()
        if row is not None:
            return _lease(row, venue, account, int(row.renewed_at), enforced=shared)
    else:  # pragma: no cover - SQLite < 3.35: the IMMEDIATE transaction keeps it atomic
        conn.execute(stmt)
    found = read(conn, venue, account)
    return None if found is None else _with_enforced(found, shared)


def _with_enforced(found: Lease, enforced: bool) -> Lease:
    return Lease(found.venue, found.account, found.holder, found.epoch, found.expires_at,
                 found.renewed_at, found.acquired_at, found.db_now, enforced=enforced)


def release(conn: Connection, venue: str, account: str, holder: str) -> None:
    """End `holder`'s lease now (a clean stop): the epoch stays, so that the next engine
    to take it moves it on; a lease another engine holds is left alone."""
    lease = t.leases
    now = _now(conn)
    conn.execute(update(lease)
                 .where(lease.c.venue == venue, lease.c.account == account,
                        lease.c.holder == holder, lease.c.expires_at > now)
                 .values(expires_at=now))


def read(conn: Connection, venue: str, account: str) -> Lease | None:
    """The lease row of one account, or None before any engine took it."""
    found = read_all(conn, venue, account)
    return found[0] if found else None


def read_all(conn: Connection, venue: str | None = None,
             account: str | None = None) -> list[Lease]:
    """Every lease row (of `venue`/`account` when given), by venue and account."""
    lease = t.leases
    query = select(lease, _now(conn).label("db_now"))
    if venue is not None:
        query = query.where(lease.c.venue == venue)
    if account is not None:
        query = query.where(lease.c.account == account)
    enforced = conn.dialect.name == "postgresql"
    return [_lease(row, row.venue, row.account, int(row.db_now), enforced=enforced)
            for row in conn.execute(query.order_by(lease.c.venue, lease.c.account))]


def check_fence(conn: Connection, venue: str, account: str, fence: Fence,
                doing: str) -> None:
    """Refuse (`LeaseLostError`, the transaction rolls back) unless the lease row still
    names `fence`'s holder and epoch and has not expired; the row stays key-share-locked
    until the transaction ends, so that no takeover commits in between. PostgreSQL only:
    the caller fences nothing on SQLite."""
    who = f"{venue}/{account}: could not {doing}"
    if fence.epoch is None:
        raise LeaseLostError(f"{who}: this engine ({fence.holder}) does not hold the lease "
                             "of the account; it observes, and writes nothing")
    lease = t.leases
    query = (select(func.set_config("idle_in_transaction_session_timeout",
                                    str(fence.idle_timeout_ms), True).label("timeout"),
                    lease.c.holder, lease.c.epoch, lease.c.expires_at,
                    lease.c.renewed_at, lease.c.acquired_at, _now(conn).label("db_now"))
             .where(lease.c.venue == venue, lease.c.account == account)
             .with_for_update(read=True, key_share=True))
    row = conn.execute(query).first()
    if row is None:
        raise LeaseLostError(f"{who}: the ledger holds no lease for the account (engine "
                             f"{fence.holder} fences its writes with epoch {fence.epoch})")
    found = _lease(row, venue, account, int(row.db_now), enforced=True)
    if found.holder != fence.holder or found.epoch != fence.epoch:
        raise LeaseLostError(f"{who}: engine {fence.holder} lost the lease of epoch "
                             f"{fence.epoch}; it is now {found.describe()}")
    if found.expired:
        raise LeaseLostError(f"{who}: the lease of engine {fence.holder} (epoch "
                             f"{fence.epoch}) expired {found.db_now - found.expires_at} ms ago "
                             "without a renewal")


# -- what a console attached to a shared ledger reads (docs/architecture.md, "The console as
# a fleet view") -----------------------------------------------------------------------------

def fleet_accounts(conn: Connection) -> list[tuple[str, str]]:
    """Every (venue, account) an engine has worked on in this ledger: a lease row (an
    engine holds or held it) or a recorded run (an engine reconciled it), sorted."""
    lease, runs = t.leases, t.runs
    found = {(str(row.venue), str(row.account)) for row in conn.execute(
        select(lease.c.venue, lease.c.account).union(
            select(runs.c.venue, runs.c.account).distinct()))}
    return sorted(found)


def last_ok_run_at(conn: Connection, venue: str, account: str) -> int | None:
    """When the newest successful reconciliation of (venue, account) finished (None: no
    run of it was OK yet): its health as a console that runs no engine for it sees it."""
    runs = t.runs
    value = conn.execute(select(func.max(runs.c.finished_at)).where(
        runs.c.venue == venue, runs.c.account == account, runs.c.status == "ok")).scalar()
    return None if value is None else int(value)
