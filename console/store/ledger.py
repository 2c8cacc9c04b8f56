"""`Ledger`: the book of record behind `console.engine.ports.LedgerPort`.

Every public method is one transaction and a handful of set-based statements: bulk
upserts (``INSERT ... ON CONFLICT``) over whole batches, ``IN`` lists chunked to the
driver's parameter limit, never one query per record. Database failures leave here as
`console.errors.LedgerError` with the URL's password masked.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from operator import attrgetter
from typing import Any, Self, TypeVar

from sqlalchemy import (
    CompoundSelect,
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    literal,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from console.domain import (
    Balance,
    Fill,
    LedgerChanges,
    LedgerSnapshot,
    Order,
    OrderStatus,
    Position,
    RunnerState,
)
from console.domain.alerts import Alert, parse_alert_key, severity_rank
from console.domain.commands import CommandKind, CommandState, OperatorCommand
from console.domain.lease import Lease, is_operator_actor
from console.domain.model import fill_totals
from console.domain.reconciliation import (
    ActionState,
    AuditEntry,
    Decision,
    PlannedAction,
    RunRecord,
    RunStatus,
    RunTrigger,
    TradingMode,
)
from console.domain.snapshot import WHOLE_ACCOUNT, FillCoverage
from console.domain.values import DomainValueError
from console.errors import LedgerError
from console.store import book_version, codec, db
from console.store import commands as command_store
from console.store import leases as lease_store
from console.store import tables as t

_ACTIVE = tuple(s.value for s in OrderStatus if s.is_active)
_TERMINAL = tuple(s.value for s in OrderStatus if s.is_terminal)
_ORDER_ROW = tuple(t.orders.c[name] for name in codec.ORDER_ROW_COLUMNS)
"""The columns of a read of one account's orders (`Ledger._driver_orders`)."""
# States an operator or the engine may still move an action out of.
_OPEN_STATES = (ActionState.PENDING.value, ActionState.FAILED.value)
_SETTABLE = frozenset({ActionState.APPLIED, ActionState.REJECTED, ActionState.FAILED})
_FILL_ORDER = attrgetter("exec_time", "exec_id")
# Rows per executemany call: bounds memory and driver buffers, not a database limit.
_BATCH_ROWS = 5000
_R = TypeVar("_R")


class Ledger:
    """The ledger over one database. Thread-safe: each call checks out its own connection.

    Build it with `Ledger.open`; the constructor takes an engine that is already migrated.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._closed = False
        name = engine.dialect.name
        if name == "sqlite":
            # SQLITE_MAX_VARIABLE_NUMBER: 999 before 3.32, 32766 since.
            self._max_params = 32766 if sqlite3.sqlite_version_info >= (3, 32, 0) else 999
            self._returning = sqlite3.sqlite_version_info >= (3, 35, 0)
            self._insert: Callable[[Table], Any] = sqlite_insert
        else:
            self._max_params = 30000  # the protocol allows 65535; stay well inside it
            self._returning = True
            self._insert = pg_insert
        # the leases this process's engines hold here: their writes are fenced
        # (console.store.leases; PostgreSQL only, nothing is fenced on SQLite)
        self._fences = lease_store.Fences()
        self._shared_orders: dict[tuple[str, str], Callable[[], Mapping[str, Order]]] = {}

    # --- lifecycle -----------------------------------------------------------------------

    @classmethod
    def open(cls, url: str | None = None, *, migrate: bool = True,
             busy_timeout_ms: int = db.DEFAULT_BUSY_TIMEOUT_MS, echo: bool = False) -> Self:
        """Open (and by default migrate to head) the ledger at `url`.

        None means SQLite at ``user_data_dir("recon-console")/ledger.db``. With
        ``migrate=False`` a schema that is not at head is refused instead of upgraded.
        """
        parsed = db.resolve_url(url)
        engine = db.create_ledger_engine(parsed, busy_timeout_ms=busy_timeout_ms, echo=echo)
        try:
            if migrate:
                db.run_migrations(engine)
            else:
                db.check_migrated(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise db.translate(exc, parsed, "open the ledger") from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    def close(self) -> None:
        """Release every pooled connection. Further calls raise LedgerError."""
        self._closed = True
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The database URL with any password masked: safe to show and log."""
        return db.mask_url(self._engine.url)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, for diagnostics and tests; write through the methods."""
        return self._engine

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    @contextmanager
    def _tx(self, doing: str, *, write: bool, fence: Iterable[tuple[str, str]] = (),
            read_committed: bool = False) -> Iterator[Connection]:
        """One transaction; a write for a (venue, account) in `fence` whose lease an engine
        of this process holds first checks that it still does (`LeaseLostError`);
        `read_committed` as `db.transaction`."""
        if self._closed:
            raise LedgerError(f"ledger {self.url}: could not {doing}: the ledger is closed")
        try:
            with db.transaction(self._engine, write=write,
                                read_committed=read_committed) as conn:
                self._check_fences(conn, fence, doing)
                yield conn
        except DBAPIError as exc:
            raise db.translate(exc, self._engine.url, doing) from None
        except PoolTimeoutError:
            raise LedgerError(
                f"ledger {self.url}: could not {doing}: no free database connection "
                "(every pooled connection is busy)") from None

    def _check_fences(self, conn: Connection, scopes: Iterable[tuple[str, str]],
                      doing: str) -> None:
        if not self._fences:
            return
        for venue, account in sorted(set(scopes)):
            fence = self._fences.get(venue, account)
            if fence is not None:
                lease_store.check_fence(conn, venue, account, fence, doing)

    def _check_run_fence(self, conn: Connection, run_id: str, doing: str) -> None:
        """`_check_fences` for a write that names a run, not its account."""
        if not self._fences:
            return
        r = t.runs
        row = conn.execute(select(r.c.venue, r.c.account).where(r.c.run_id == run_id)).first()
        if row is not None:
            self._check_fences(conn, [(str(row.venue), str(row.account))], doing)

    # --- leases (console.store.leases; docs/architecture.md, "Leases and fencing") --------

    def acquire_lease(self, venue: str, account: str, holder: str, ttl_ms: int) -> Lease:
        """Take or renew the lease of (venue, account) for engine `holder` (one atomic
        statement) and fence this ledger's writes for the account accordingly: with the
        lease's epoch when `holder` got it, refused altogether when another engine holds
        it. Returns the row as it now stands (`Lease.held_by(holder)` says who won)."""
        with self._tx(f"take the lease of {venue}/{account}", write=True) as conn:
            lease = lease_store.acquire(conn, venue, account, holder, ttl_ms,
                                        returning=self._returning)
        self._fences.hold(lease, holder, ttl_ms)
        return lease

    def renew_lease(self, venue: str, account: str, holder: str, epoch: int,
                    ttl_ms: int) -> Lease | None:
        """Extend `holder`'s lease of `epoch` (a plain UPDATE that never waits for this
        engine's own fenced writes in flight) and fence accordingly; the row as it now
        stands (another holder's when the lease was lost; None without a row)."""
        with self._tx(f"renew the lease of {venue}/{account}", write=True) as conn:
            lease = lease_store.renew(conn, venue, account, holder, epoch=epoch,
                                      ttl_ms=ttl_ms, returning=self._returning)
        if lease is not None:
            self._fences.hold(lease, holder, ttl_ms)
        return lease

    def release_lease(self, venue: str, account: str, holder: str) -> None:
        """End `holder`'s lease now (a clean stop; another engine may take it at once) and
        stop fencing this ledger's writes for the account."""
        try:
            with self._tx(f"release the lease of {venue}/{account}", write=True) as conn:
                lease_store.release(conn, venue, account, holder)
        finally:
            self._fences.drop(venue, account, holder)

    def lease(self, venue: str, account: str) -> Lease | None:
        """The lease row of one account (None before any engine took it)."""
        with self._tx(f"read the lease of {venue}/{account}", write=False) as conn:
            return lease_store.read(conn, venue, account)

    def leases(self) -> list[Lease]:
        """Every lease of this ledger, by venue and account: which engine trades what."""
        with self._tx("read the leases", write=False) as conn:
            return lease_store.read_all(conn)

    # --- operator commands (console.store.commands; docs/architecture.md, "Operator
    # commands through the ledger") -----------------------------------------------------

    def submit_command(self, venue: str, account: str, kind: CommandKind, *,
                       arguments: Mapping[str, str], operator: str, issued_at: int) -> int:
        """Queue an operator's command for the engine that holds the lease of (venue,
        account); its id. Any process may submit (never fenced)."""
        with self._tx(f"submit a {kind.value} command", write=True) as conn:
            return command_store.submit(conn, venue, account, kind, arguments=arguments,
                                        operator=operator, issued_at=issued_at,
                                        returning=self._returning)

    def command(self, command_id: int) -> OperatorCommand | None:
        with self._tx(f"read command {command_id}", write=False) as conn:
            return command_store.read(conn, command_id)

    def open_commands(self, venue: str, account: str, limit: int = 20) -> list[OperatorCommand]:
        """Pending and running commands of one account, oldest first (the holder's poll)."""
        with self._tx("read the open commands", write=False) as conn:
            return command_store.open_commands(conn, venue, account, limit)

    def commands(self, venue: str | None = None, account: str | None = None,
                 limit: int = 50) -> list[OperatorCommand]:
        """The latest commands, newest first."""
        with self._tx("read the commands", write=False) as conn:
            return command_store.recent(conn, venue, account, limit)

    def _holder_tx(self, venue: str, account: str, holder: str, epoch: int,
                   doing: str) -> AbstractContextManager[Connection]:
        fence = self._fences.get(venue, account)
        idle = fence.idle_timeout_ms if fence is not None else lease_store.MIN_IDLE_TIMEOUT_MS
        return _checked(self._tx(doing, write=True), lambda conn: command_store.check_holder(
            conn, venue, account, holder=holder, epoch=epoch, idle_timeout_ms=idle,
            doing=doing))

    def take_command(self, command: OperatorCommand, holder: str,
                     epoch: int) -> OperatorCommand | None:
        """Take a pending command as the lease holder `holder` of `epoch` (a fenced write:
        `LeaseLostError` when it is not the holder); the command as taken, or None when
        it is no longer pending."""
        doing = f"take command {command.command_id}"
        with self._holder_tx(command.venue, command.account, holder, epoch, doing) as conn:
            if not command_store.take(conn, command.command_id, holder, epoch):
                return None
            return command_store.read(conn, command.command_id)

    def finish_command(self, command: OperatorCommand, holder: str, epoch: int, *,
                       state: CommandState, result: str, done_at: int) -> bool:
        """Record the outcome of a command this holder took (a fenced write)."""
        doing = f"record the outcome of command {command.command_id}"
        with self._holder_tx(command.venue, command.account, holder, epoch, doing) as conn:
            return command_store.finish(conn, command.command_id, holder, epoch,
                                        state=state, result=result, done_at=done_at)

    def fail_abandoned_commands(self, venue: str, account: str, holder: str, epoch: int,
                                at: int) -> int:
        """As the holder of `epoch`: mark failed what an earlier holder took and never
        finished (a fenced write); how many."""
        doing = "close the commands an earlier holder abandoned"
        with self._holder_tx(venue, account, holder, epoch, doing) as conn:
            return command_store.fail_abandoned(conn, venue, account, epoch, at)

    def withdraw_command(self, command_id: int, at: int, why: str) -> bool:
        """Refuse a command no engine has taken yet (the submitter gave up waiting)."""
        with self._tx(f"withdraw command {command_id}", write=True) as conn:
            return command_store.withdraw(conn, command_id, at, why)

    def fleet_accounts(self) -> list[tuple[str, str]]:
        """Every (venue, account) with a lease row or a recorded run: what a console
        attached to this ledger shows (docs/architecture.md, "The console as a fleet view")."""
        with self._tx("list the ledger's accounts", write=False) as conn:
            return lease_store.fleet_accounts(conn)

    def last_ok_run_at(self, venue: str, account: str) -> int | None:
        """When the newest OK reconciliation of (venue, account) finished."""
        with self._tx(f"read the last OK run of {venue}/{account}", write=False) as conn:
            return lease_store.last_ok_run_at(conn, venue, account)

    # --- bulk helpers --------------------------------------------------------------------

    def _chunks(self, items: Sequence[Any], width: int) -> Iterator[Sequence[Any]]:
        """Slices whose bound parameters (``width`` per item) fit the driver's limit."""
        size = max(1, self._max_params // max(1, width))
        for start in range(0, len(items), size):
            yield items[start:start + size]

    def _upsert(self, conn: Connection, table: Table, rows: Iterable[dict[str, Any]],
                keys: Sequence[str], *, update_existing: bool = True) -> None:
        """Bulk ``INSERT ... ON CONFLICT DO UPDATE`` (or ``DO NOTHING``), in batches.

        One prepared statement runs over each batch of rows (executemany: SQLite steps it
        in C, psycopg pipelines it). Measured on 100k orders, that takes ~2 s where
        multi-row VALUES took ~26 s, nearly all of it in SQLAlchemy's compiler; and it keeps
        every execution far below SQLite's bound-variable limit. Duplicate keys within
        the input are collapsed first: the last wins on update, the first on insert-if-absent.
        """
        unique: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in rows:
            key = tuple(row[k] for k in keys)
            if update_existing or key not in unique:
                unique[key] = row
        batch = list(unique.values())
        if not batch:
            return
        stmt = self._insert(table)
        if update_existing:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys),
                set_={c: stmt.excluded[c] for c in batch[0] if c not in keys})
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        for start in range(0, len(batch), _BATCH_ROWS):
            conn.execute(stmt, batch[start:start + _BATCH_ROWS])

    @staticmethod
    def _insert_rows(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), _BATCH_ROWS):
            conn.execute(table.insert(), rows[start:start + _BATCH_ROWS])

    # --- snapshot and reads --------------------------------------------------------------

    def load_snapshot(self, venue: str, account: str, *, now: int, retention_ms: int,
                      fills_from: int) -> LedgerSnapshot:
        """The reconciler's working set in six statements, all from one read snapshot.

        Besides the fills from `fills_from`, the fills statement reads the older fills of
        the working-set orders (by venue id, or client id for an order without one, both
        indexed): their per-order totals (`LedgerSnapshot.fill_totals`) show an order
        that filled more than the ledger holds fills for, however old those fills are.
        """
        return self.versioned_snapshot(venue, account, now=now, retention_ms=retention_ms,
                                       fills_from=fills_from)[0]

    def share_orders(self, venue: str, account: str,
                     held: Callable[[], Mapping[str, Order]] | None) -> None:
        """Let the snapshot reads of (venue, account) hand out the orders `held()` holds
        (ident -> order: a window's table) in place of equal orders they read, or stop
        (None). The window's table and the engine's reconciliation then hold one copy of
        each order, not two: with 100k orders a snapshot is ~46 MB of orders the table
        holds already (bench/ui_load.py). `held` is called in the reading thread and
        must return a mapping that is safe to read there (its `get` only)."""
        if held is None:
            self._shared_orders.pop((venue, account), None)
        else:
            self._shared_orders[(venue, account)] = held

    def book_version(self, venue: str, account: str) -> int:
        """The (venue, account)'s book version now (`console.store.book_version`)."""
        with self._tx("read the book version", write=False) as conn:
            return book_version.read(conn, venue, account)

    def versioned_snapshot(self, venue: str, account: str, *, now: int, retention_ms: int,
                           fills_from: int) -> tuple[LedgerSnapshot, int]:
        """`load_snapshot` and the book version it reflects, from the same read snapshot:
        the same version from `book_version` later means nothing was written since."""
        o = t.orders
        scope = (o.c.venue == venue, o.c.account == account)
        cutoff = now - retention_ms
        active = (*scope, o.c.status.in_(_ACTIVE))
        recent = (*scope, o.c.status.in_(_TERMINAL), o.c.updated_at >= cutoff)
        working = union_all(select(*_ORDER_ROW).where(*active),
                            select(*_ORDER_ROW).where(*recent)).order_by("created_at", "ident")
        held = self._shared_orders.get((venue, account))
        with self._tx("load the ledger snapshot", write=False) as conn:
            orders = self._driver_orders(conn, venue, account, working,
                                         None if held is None else held())
            fills, older = self._working_fills(conn, venue, account, fills_from,
                                               active=active, recent=recent)
            positions = self._positions(conn, venue, account)
            balances = self._balances(conn, venue, account)
            states = self._runner_states(conn, venue, account)
            last, mark, version = self._fill_marks(conn, venue, account)
        return LedgerSnapshot(
            venue=venue, account=account, orders=tuple(orders), fills=tuple(fills),
            fills_from=fills_from, positions=tuple(positions), balances=tuple(balances),
            runner_states=tuple(states), last_exec_time=last, fill_coverage=mark,
            fill_totals=fill_totals(orders, (*older, *fills))), version

    @staticmethod
    def _working_fills(conn: Connection, venue: str, account: str, fills_from: int, *,
                       active: tuple[Any, ...], recent: tuple[Any, ...],
                       ) -> tuple[list[Fill], list[Fill]]:
        """Ledger fills from `fills_from`, and the older fills of the working-set orders.

        The working-set orders' fills are found through the fills' order indexes from the
        orders' ids (IN a subquery that itself walks the status and update-time indexes),
        with no condition on the fill time for a planner to prefer: the cost follows the
        working set, never the length of the fill history. Their fills from `fills_from`
        come twice: the window's copy is kept. Each row carries the branch it came from.
        """
        f, o = t.fills, t.orders
        vids = union_all(select(o.c.venue_order_id).where(*active, o.c.venue_order_id != ""),
                         select(o.c.venue_order_id).where(*recent, o.c.venue_order_id != ""))
        cids = union_all(
            select(o.c.client_order_id).where(*active, o.c.venue_order_id == "",
                                              o.c.client_order_id != ""),
            select(o.c.client_order_id).where(*recent, o.c.venue_order_id == "",
                                              o.c.client_order_id != ""))
        scope = (f.c.venue == venue, f.c.account == account)
        window, owned = literal(0).label("part"), literal(1).label("part")
        query = union_all(
            select(f, window).where(*scope, f.c.exec_time >= fills_from),
            select(f, owned).where(*scope, f.c.venue_order_id.in_(vids)),
            select(f, owned).where(*scope, f.c.client_order_id.in_(cids)),
        )  # no ORDER BY: it would make the planner walk the fill-time index instead
        in_window: list[Fill] = []
        older: dict[str, Fill] = {}
        for row in _ceding(conn.execute(query).mappings()):
            if row["part"] == 0:
                in_window.append(codec.fill_from_row(row))
            elif row["exec_time"] < fills_from and row["exec_id"] not in older:
                # a fill can reach two orders (one by venue id, one by client id)
                older[row["exec_id"]] = codec.fill_from_row(row)
        in_window.sort(key=_FILL_ORDER)  # the index order already: a linear pass
        return in_window, list(older.values())

    @staticmethod
    def _fill_marks(conn: Connection, venue: str, account: str,
                    ) -> tuple[int | None, int | None, int]:
        """The newest fill's time, the coverage mark and the book version, in one
        statement."""
        f, c = t.fills, t.fill_coverage
        last = select(func.max(f.c.exec_time)).where(f.c.venue == venue, f.c.account == account)
        mark = select(c.c.covered_to).where(c.c.venue == venue, c.c.account == account,
                                            c.c.scope == WHOLE_ACCOUNT)
        version = book_version.query(venue, account)
        row = conn.execute(select(last.scalar_subquery(), mark.scalar_subquery(),
                                  version.scalar_subquery())).one()
        return (None if row[0] is None else int(row[0]), None if row[1] is None else int(row[1]),
                0 if row[2] is None else int(row[2]))

    def last_exec_time(self, venue: str, account: str) -> int | None:
        with self._tx("read the last fill time", write=False) as conn:
            return self._last_exec_time(conn, venue, account)

    def fill_coverage(self, venue: str, account: str, scope: str = WHOLE_ACCOUNT) -> int | None:
        """The coverage mark: up to when this account's fill history was verified complete
        against the venue; None before the first run whose fill fetch succeeded."""
        c = t.fill_coverage
        query = select(c.c.covered_to).where(c.c.venue == venue, c.c.account == account,
                                             c.c.scope == scope)
        with self._tx("read the fill coverage mark", write=False) as conn:
            value = conn.execute(query).scalar()
        return None if value is None else int(value)

    def find_orders(self, venue: str, account: str, venue_order_ids: Collection[str],
                    client_order_ids: Collection[str]) -> list[Order]:
        """The orders with any of these venue ids or client ids, whatever their status: a
        few set-based statements (indexed IN lists), never one per id."""
        o = t.orders
        vids = sorted({v for v in venue_order_ids if v})
        cids = sorted({c for c in client_order_ids if c})
        found: dict[str, Order] = {}
        with self._tx("find orders", write=False) as conn:
            for column, keys in ((o.c.venue_order_id, vids), (o.c.ident, cids)):
                for chunk in self._chunks(keys, 1):
                    query = select(o).where(o.c.venue == venue, o.c.account == account,
                                            column.in_(list(chunk)))
                    for row in conn.execute(query).mappings():
                        order = codec.order_from_row(row)
                        found[order.ident] = order
        return list(found.values())

    def orders(self, venue: str, account: str, active_only: bool = False) -> list[Order]:
        o = t.orders
        query = select(*_ORDER_ROW).where(o.c.venue == venue, o.c.account == account)
        if active_only:
            query = query.where(o.c.status.in_(_ACTIVE))
        with self._tx("read orders", write=False) as conn:
            return self._driver_orders(conn, venue, account,
                                       query.order_by(o.c.created_at, o.c.ident))

    def orders_page(self, venue: str, account: str, active_only: bool = False, *,
                    before: tuple[int, str] | None = None, limit: int = 2000) -> list[Order]:
        """One page of the account's orders, newest first by last update (`updated_at`,
        then `ident`, both descending), at most `limit`; `before`: the (updated_at, ident)
        of the previous page's last order, this page starts after it. Keyset paging on the
        (updated_at, ident) index: each page costs its own rows, not the ones before it,
        so that a window shows the newest orders at once and reads the rest page by page.
        The `before` bound is one row-value comparison, which both databases take as a
        range of that index (the OR of two comparisons it replaces made SQLite walk the
        index from the newest order on every page, and sort each page by ident)."""
        o = t.orders
        query = select(*_ORDER_ROW).where(o.c.venue == venue, o.c.account == account)
        if active_only:
            query = query.where(o.c.status.in_(_ACTIVE))
        if before is not None:
            query = query.where(tuple_(o.c.updated_at, o.c.ident) < tuple_(*before))
        query = query.order_by(o.c.updated_at.desc(), o.c.ident.desc()).limit(max(1, limit))
        with self._tx("read a page of orders", write=False) as conn:
            return self._driver_orders(conn, venue, account, query)

    @staticmethod
    def _driver_orders(conn: Connection, venue: str, account: str,
                       query: Select[Any] | CompoundSelect[Any],
                       held: Mapping[str, Order] | None = None) -> list[Order]:
        """The orders of a query over `_ORDER_ROW`, decoded from the driver's own rows
        (`codec.orders_from_rows`): SQLAlchemy compiles and runs the statement, and the
        rows are read from its DBAPI cursor, without a SQLAlchemy row and the Money
        type's processing per value (bench/ui_load.py: 100k orders, ~5 us a row less).
        They are decoded batch by batch as the cursor yields them, never all held at once
        (a 100k-order snapshot's rows are ~100 MB of strings beside its orders), offering
        the interpreter lock between batches (`_ceding_rows`). An order equal to one of
        `held` is that one (`share_orders`)."""
        result = conn.execute(query)
        try:
            rows = _ceding_rows(result.cursor, cede=conn.dialect.name != "sqlite")
            return codec.orders_from_rows(venue, account, rows, held)
        finally:
            result.close()

    def get_order(self, venue: str, account: str, ident: str) -> Order | None:
        """One order by its ledger identity (`Order.ident`)."""
        o = t.orders
        query = select(o).where(o.c.venue == venue, o.c.account == account, o.c.ident == ident)
        with self._tx("read an order", write=False) as conn:
            row = conn.execute(query).mappings().first()
        return codec.order_from_row(row) if row is not None else None

    def order_by_venue_id(self, venue: str, account: str, venue_order_id: str) -> Order | None:
        """One order by the venue's id, whatever its ledger identity."""
        o = t.orders
        query = select(o).where(o.c.venue == venue, o.c.account == account,
                                o.c.venue_order_id == venue_order_id)
        with self._tx("read an order", write=False) as conn:
            # No ORDER BY: it would make SQLite walk the updated_at index over the whole
            # account. A venue id names one order; pick the newest if a venue reused one.
            rows = conn.execute(query).mappings().all()
        if not rows:
            return None
        return codec.order_from_row(max(rows, key=lambda r: r["updated_at"]))

    def count_orders(self, venue: str, account: str, active_only: bool = False) -> int:
        o = t.orders
        query = select(func.count()).select_from(o).where(o.c.venue == venue,
                                                          o.c.account == account)
        if active_only:
            query = query.where(o.c.status.in_(_ACTIVE))
        with self._tx("count orders", write=False) as conn:
            return int(conn.execute(query).scalar_one())

    def finished_orders(self, venue: str, account: str, since: int,
                        limit: int = 500) -> list[Order]:
        """Orders that ended (filled, cancelled, rejected...) at or after `since` by their
        last update, newest first, at most `limit`: what a window lists for a while after
        they ended, such as the emergency stop's flattening orders, which fill at once and
        are never seen active (one statement on the updated_at index)."""
        o = t.orders
        query = (select(o).where(o.c.venue == venue, o.c.account == account,
                                 o.c.updated_at >= since, o.c.status.in_(_TERMINAL))
                 .order_by(o.c.updated_at.desc()).limit(limit))
        with self._tx("read finished orders", write=False) as conn:
            return [codec.order_from_row(r) for r in conn.execute(query).mappings()]

    def fills(self, venue: str, account: str, since: int | None = None,
              until: int | None = None) -> list[Fill]:
        """Fills with since <= exec_time <= until (either bound may be left open)."""
        with self._tx("read fills", write=False) as conn:
            return self._fills(conn, venue, account, since, until)

    def positions(self, venue: str, account: str) -> list[Position]:
        with self._tx("read positions", write=False) as conn:
            return self._positions(conn, venue, account)

    def balances(self, venue: str, account: str) -> list[Balance]:
        with self._tx("read balances", write=False) as conn:
            return self._balances(conn, venue, account)

    def runner_states(self, venue: str, account: str) -> list[RunnerState]:
        with self._tx("read runner states", write=False) as conn:
            return self._runner_states(conn, venue, account)

    @staticmethod
    def _fills(conn: Connection, venue: str, account: str, since: int | None,
               until: int | None = None) -> list[Fill]:
        f = t.fills
        query = select(f).where(f.c.venue == venue, f.c.account == account)
        if since is not None:
            query = query.where(f.c.exec_time >= since)
        if until is not None:
            query = query.where(f.c.exec_time <= until)
        rows = conn.execute(query.order_by(f.c.exec_time, f.c.exec_id)).mappings()
        return [codec.fill_from_row(r) for r in rows]

    @staticmethod
    def _positions(conn: Connection, venue: str, account: str) -> list[Position]:
        p = t.positions
        query = select(p).where(p.c.venue == venue, p.c.account == account).order_by(p.c.key)
        return [codec.position_from_row(r) for r in conn.execute(query).mappings()]

    @staticmethod
    def _balances(conn: Connection, venue: str, account: str) -> list[Balance]:
        b = t.balances
        query = select(b).where(b.c.venue == venue, b.c.account == account).order_by(b.c.asset)
        return [codec.balance_from_row(r) for r in conn.execute(query).mappings()]

    @staticmethod
    def _runner_states(conn: Connection, venue: str, account: str) -> list[RunnerState]:
        s = t.runner_states
        query = (select(s).where(s.c.venue == venue, s.c.account == account)
                 .order_by(s.c.user_id, s.c.worker_id))
        return [codec.runner_state_from_row(r) for r in conn.execute(query).mappings()]

    @staticmethod
    def _last_exec_time(conn: Connection, venue: str, account: str) -> int | None:
        f = t.fills
        value = conn.execute(select(func.max(f.c.exec_time))
                             .where(f.c.venue == venue, f.c.account == account)).scalar()
        return None if value is None else int(value)

    # --- writes --------------------------------------------------------------------------

    def upsert_orders(self, orders: Sequence[Order]) -> None:
        """Insert or replace orders by (venue, account, ident); any venues, one transaction."""
        if not orders:
            return
        scopes = {(o.venue, o.account) for o in orders}
        with self._tx("save orders", write=True, fence=scopes) as conn:
            self._upsert(conn, t.orders, map(codec.order_to_row, orders),
                         ("venue", "account", "ident"))
            book_version.bump(conn, self._insert, scopes)

    def apply_changes(self, venue: str, account: str, changes: LedgerChanges) -> None:
        _check_scope(venue, account, changes)
        if changes.is_empty:
            return
        with self._tx("apply ledger changes", write=True, fence=[(venue, account)]) as conn:
            self._write_changes(conn, venue, account, changes)

    def reset_book(self, venue: str, account: str, *, by: str, at: int) -> int:
        """Forget what the ledger holds of one (venue, account)'s book: its orders, fills,
        positions, balances, runner states and fill coverage mark go; its active alerts
        are cleared and its pending approvals superseded (by `by`, at `at`). Runs, the
        audit log and the counters stay. For a venue that is rebuilt from nothing (the
        window's embedded sim, console.bootstrap_gui), never for a real one. Returns the
        number of orders forgotten. One transaction."""
        a, r = t.run_actions, t.runs
        runs = select(r.c.run_id).where(r.c.venue == venue, r.c.account == account)
        with self._tx(f"reset the book of {venue}/{account}", write=True,
                      fence=[(venue, account)]) as conn:
            forgotten = int(conn.execute(
                select(func.count()).select_from(t.orders).where(
                    t.orders.c.venue == venue, t.orders.c.account == account)).scalar_one())
            for table in (t.orders, t.fills, t.positions, t.balances, t.runner_states,
                          t.fill_coverage):
                conn.execute(delete(table).where(table.c.venue == venue,
                                                 table.c.account == account))
            book_version.bump(conn, self._insert, [(venue, account)])
            conn.execute(update(t.alerts).where(
                t.alerts.c.venue == venue, t.alerts.c.account == account,
                t.alerts.c.cleared_at.is_(None)).values(cleared_at=at))
            conn.execute(update(a).where(
                a.c.state == ActionState.PENDING.value,
                a.c.decision == Decision.NEEDS_APPROVAL.value, a.c.run_id.in_(runs))
                .values(state=ActionState.SUPERSEDED.value, applied_by=by, applied_at=at))
        return forgotten

    def _write_changes(self, conn: Connection, venue: str, account: str,
                       changes: LedgerChanges, *, runners_seen_at: int | None = None) -> None:
        self._upsert(conn, t.orders, map(codec.order_to_row, changes.orders),
                     ("venue", "account", "ident"))
        self._upsert(conn, t.fills, map(codec.fill_to_row, changes.fills),
                     ("venue", "account", "exec_id"), update_existing=False)
        self._upsert(conn, t.positions, map(codec.position_to_row, changes.positions),
                     ("venue", "account", "key"))
        p = t.positions
        removed = sorted(set(changes.removed_positions))
        for chunk in self._chunks(removed, 1):
            conn.execute(delete(p).where(p.c.venue == venue, p.c.account == account,
                                         p.c.key.in_(chunk)))
        self._upsert(conn, t.balances, map(codec.balance_to_row, changes.balances),
                     ("venue", "account", "asset"))
        if runners_seen_at is None:
            self._upsert(conn, t.runner_states,
                         map(codec.runner_state_to_row, changes.runner_states),
                         ("user_id", "worker_id"))
        elif changes.runner_states:
            # A run decided on the ledger as it was when the run started. A worker that has
            # written its own state since then knows better: its row is left alone, and the
            # next run looks again (console.engine.brackets relies on this).
            s = t.runner_states
            rows = [codec.runner_state_to_row(r) for r in changes.runner_states]
            stmt = self._insert(s)
            stmt = stmt.on_conflict_do_update(
                index_elements=["user_id", "worker_id"],
                set_={c: stmt.excluded[c] for c in rows[0] if c not in ("user_id", "worker_id")},
                where=s.c.updated_at <= runners_seen_at)
            for start in range(0, len(rows), _BATCH_ROWS):
                conn.execute(stmt, rows[start:start + _BATCH_ROWS])
        # every write to what a snapshot reads moves the book version, last (the row lock
        # it takes on PostgreSQL is held for the rest of the transaction only)
        book_version.bump(conn, self._insert, [(venue, account)])

    def commit_run(self, run: RunRecord, changes: LedgerChanges,
                   coverage: FillCoverage | None = None) -> None:
        """Record the run (discrepancies, plan) and apply `changes`: all or nothing.

        A pending approval in this run supersedes pending approvals of the same
        (kind, subject) from earlier runs of the same venue and account. A runner state
        in `changes` replaces the stored one only if that was last written no later than
        `run.started_at` (when the run read the ledger): a live worker's newer write wins.
        `coverage`, the fill window the run verified, moves the coverage mark by
        `FillCoverage.advance` in the same transaction as the fills it added.
        """
        _check_scope(run.venue, run.account, changes)
        with self._tx(f"record run {run.run_id}", write=True,
                      fence=[(run.venue, run.account)]) as conn:
            conn.execute(t.runs.insert().values(_run_to_row(run)))
            self._insert_rows(conn, t.run_discrepancies, [
                codec.discrepancy_to_row(run.run_id, i, d)
                for i, d in enumerate(run.discrepancies)])
            self._insert_rows(conn, t.run_actions, [
                codec.action_to_row(run.run_id, i, a) for i, a in enumerate(run.actions)])
            self._supersede(conn, run)
            self._write_changes(conn, run.venue, run.account, changes,
                                runners_seen_at=run.started_at)
            if coverage is not None:
                self._advance_coverage(conn, run, coverage)

    def _advance_coverage(self, conn: Connection, run: RunRecord,
                          coverage: FillCoverage) -> None:
        """`FillCoverage.advance` as one atomic upsert: no mark yet, or a window that
        starts at or before the mark (no gap nobody read), sets it to the window's end;
        anything else leaves it. Concurrent runs (two processes on one ledger) serialise
        on the row; the later commit decides, and either outcome only ever asks more."""
        c = t.fill_coverage
        stmt = self._insert(c).values(
            venue=run.venue, account=run.account, scope=coverage.scope,
            covered_to=coverage.end, covered_from=coverage.start, run_id=run.run_id,
            updated_at=run.finished_at)
        stmt = stmt.on_conflict_do_update(
            index_elements=["venue", "account", "scope"],
            set_={"covered_to": stmt.excluded.covered_to,
                  "covered_from": stmt.excluded.covered_from,
                  "run_id": stmt.excluded.run_id, "updated_at": stmt.excluded.updated_at},
            where=c.c.covered_to >= coverage.start)
        conn.execute(stmt)

    def _supersede(self, conn: Connection, run: RunRecord) -> None:
        """Older pending approvals give way to the newest run's proposals.

        A fully verified run re-proposes everything that still needs doing, so it supersedes
        every older pending approval (one whose problem has gone away must not linger in the
        inbox). A partial run saw less, so it supersedes only what it proposes again.
        """
        a, r = t.run_actions, t.runs
        earlier = select(r.c.run_id).where(r.c.venue == run.venue, r.c.account == run.account,
                                           r.c.run_id != run.run_id,
                                           r.c.started_at <= run.started_at)
        if run.status is RunStatus.OK:
            conn.execute(
                update(a)
                .where(a.c.state == ActionState.PENDING.value,
                       a.c.decision == Decision.NEEDS_APPROVAL.value,
                       a.c.run_id.in_(earlier))
                .values(state=ActionState.SUPERSEDED.value, applied_by=f"run:{run.run_id}",
                        applied_at=run.finished_at))
            return
        subjects = sorted({(p.action.kind.value, p.action.subject) for p in run.actions
                           if p.state is ActionState.PENDING
                           and p.decision is Decision.NEEDS_APPROVAL})
        for chunk in self._chunks(subjects, 2):
            conn.execute(
                update(a)
                .where(a.c.state == ActionState.PENDING.value,
                       a.c.decision == Decision.NEEDS_APPROVAL.value,
                       a.c.run_id.in_(earlier),
                       tuple_(a.c.kind, a.c.subject).in_(list(chunk)))
                .values(state=ActionState.SUPERSEDED.value, applied_by=f"run:{run.run_id}",
                        applied_at=run.finished_at))

    def set_action_state(self, run_id: str, index: int, state: ActionState, *, by: str,
                         at: int, error: str = "") -> None:
        """Record an outcome (applied, rejected, failed) for one action, and who decided.

        Only a pending or failed action can change: a superseded, rejected or applied one is
        settled, so a late approval of a superseded action is refused, not applied.
        """
        if state not in _SETTABLE:
            raise LedgerError(f"action state {state.value!r} cannot be set by hand")
        a = t.run_actions
        where = (a.c.run_id == run_id, a.c.idx == index)
        with self._tx(f"update action {run_id}#{index}", write=True) as conn:
            self._check_run_fence(conn, run_id, f"update action {run_id}#{index}")
            result = conn.execute(update(a).where(*where, a.c.state.in_(_OPEN_STATES))
                                  .values(state=state.value, applied_by=by, applied_at=at,
                                          error=error))
            if result.rowcount == 1:
                return
            current = conn.execute(select(a.c.state).where(*where)).scalar()
        if current is None:
            raise LedgerError(f"run {run_id} has no action #{index}")
        raise LedgerError(f"action {run_id}#{index} is already {current}; it cannot become "
                          f"{state.value}")

    def pending_actions(self, venue: str, account: str) -> list[tuple[str, int, PlannedAction]]:
        """Actions awaiting the operator: (run_id, index, action), newest run first."""
        a, r = t.run_actions, t.runs
        query = (select(a).join(r, r.c.run_id == a.c.run_id)
                 .where(r.c.venue == venue, r.c.account == account,
                        a.c.state == ActionState.PENDING.value,
                        a.c.decision == Decision.NEEDS_APPROVAL.value)
                 .order_by(r.c.started_at.desc(), r.c.run_id.desc(), a.c.idx))
        with self._tx("read pending actions", write=False) as conn:
            return [(row["run_id"], int(row["idx"]), codec.action_from_row(row))
                    for row in conn.execute(query).mappings()]

    def latest_actions(
        self, venue: str, account: str, keys: Collection[tuple[str, str]],
    ) -> dict[tuple[str, str], tuple[str, int, PlannedAction]]:
        """For each (kind, subject) in `keys`: its newest approval-needing action of this
        venue and account (by run start), as (run_id, index, action), whatever its state.
        What became of a proposal last (rejected, applied, superseded...) is what the
        rejection hold of `console.engine.actions` is derived from."""
        a, r = t.run_actions, t.runs
        out: dict[tuple[str, str], tuple[str, int, PlannedAction]] = {}
        for chunk in self._chunks(sorted(set(keys)), 2):
            rank = func.row_number().over(
                partition_by=(a.c.kind, a.c.subject),
                order_by=(r.c.started_at.desc(), r.c.run_id.desc(), a.c.idx.desc()))
            ranked = (select(a, rank.label("newest"))
                      .select_from(a.join(r, r.c.run_id == a.c.run_id))
                      .where(r.c.venue == venue, r.c.account == account,
                             a.c.decision == Decision.NEEDS_APPROVAL.value,
                             tuple_(a.c.kind, a.c.subject).in_(list(chunk)))
                      .subquery())
            with self._tx("read the latest actions", write=False) as conn:
                for row in conn.execute(select(ranked).where(ranked.c.newest == 1)).mappings():
                    out[(row["kind"], row["subject"])] = (
                        row["run_id"], int(row["idx"]), codec.action_from_row(row))
        return out

    # --- runs ----------------------------------------------------------------------------

    def list_runs(self, venue: str, account: str, limit: int = 50) -> list[RunRecord]:
        """The latest runs, newest first, each complete (three statements in all)."""
        r = t.runs
        query = (select(r).where(r.c.venue == venue, r.c.account == account)
                 .order_by(r.c.started_at.desc(), r.c.run_id.desc()).limit(limit))
        with self._tx("read runs", write=False) as conn:
            return self._load_runs(conn, list(conn.execute(query).mappings()))

    def run_headers(self, venue: str, account: str, limit: int = 5000) -> list[RunRecord]:
        """The latest runs, newest first, without their discrepancies and actions (one
        statement on the runs table): what each read and when, for coverage views that
        must not load every run's findings."""
        r = t.runs
        query = (select(r).where(r.c.venue == venue, r.c.account == account)
                 .order_by(r.c.started_at.desc(), r.c.run_id.desc()).limit(limit))
        with self._tx("read run headers", write=False) as conn:
            return [_run_from_row(row, (), ()) for row in conn.execute(query).mappings()]

    def load_run(self, run_id: str) -> RunRecord | None:
        with self._tx(f"read run {run_id}", write=False) as conn:
            rows = list(conn.execute(select(t.runs).where(t.runs.c.run_id == run_id)).mappings())
            runs = self._load_runs(conn, rows)
        return runs[0] if runs else None

    def _load_runs(self, conn: Connection, rows: Sequence[Mapping[Any, Any]]) -> list[RunRecord]:
        ids = [row["run_id"] for row in rows]
        discrepancies: dict[str, list[Any]] = {i: [] for i in ids}
        actions: dict[str, list[Any]] = {i: [] for i in ids}
        d, a = t.run_discrepancies, t.run_actions
        for chunk in self._chunks(ids, 1):
            for row in conn.execute(select(d).where(d.c.run_id.in_(chunk))
                                    .order_by(d.c.run_id, d.c.idx)).mappings():
                discrepancies[row["run_id"]].append(codec.discrepancy_from_row(row))
            for row in conn.execute(select(a).where(a.c.run_id.in_(chunk))
                                    .order_by(a.c.run_id, a.c.idx)).mappings():
                actions[row["run_id"]].append(codec.action_from_row(row))
        return [_run_from_row(row, tuple(discrepancies[row["run_id"]]),
                              tuple(actions[row["run_id"]])) for row in rows]

    # --- audit, runner state, counters ---------------------------------------------------

    def append_audit(self, entry: AuditEntry) -> None:
        """Append one entry. The log has no update or delete: it is the trail. An
        operator's command (`is_operator_actor`) is never fenced: it must reach the engine
        that holds the lease through the ledger, from whichever process it was given in."""
        with self._tx("append to the audit log", write=True,
                      fence=_audit_fence(entry)) as conn:
            conn.execute(t.audit_log.insert().values(codec.audit_to_row(entry)))

    def append_audit_once(self, entry: AuditEntry) -> AuditEntry:
        """Append `entry` unless its (venue, account) has an entry of its action already;
        the first such entry, the one in force (`entry` itself when it was appended).

        For a mark that must be written once per book (`console.book_marker`): of two
        sessions marking a fresh book at the same moment, exactly one writes and both
        read its mark. Concurrent callers serialise on SQLite's write lock or on a
        PostgreSQL transaction lock keyed by the action and the account (a read of the
        first mark then a write could otherwise both find none)."""
        log = t.audit_log
        # READ COMMITTED: the read after the lock sees a mark committed while it waited
        with self._tx("append to the audit log", write=True, fence=_audit_fence(entry),
                      read_committed=True) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(
                    literal(f"{entry.action}\x1f{entry.venue}\x1f{entry.account}")))))
            first = conn.execute(
                select(log).where(log.c.venue == entry.venue, log.c.account == entry.account,
                                  log.c.action == entry.action)
                .order_by(log.c.id).limit(1)).mappings().first()
            if first is not None:
                return codec.audit_from_row(first)
            conn.execute(log.insert().values(codec.audit_to_row(entry)))
        return entry

    def audit_log(self, limit: int = 200, *, venue: str | None = None,
                  account: str | None = None,
                  actions: Collection[str] | None = None) -> list[AuditEntry]:
        """The latest `limit` entries, newest first (by insertion order, not by `at`);
        only those of `venue`, `account` and with an action in `actions` when given (one
        account's log for the CLI, a marker or a decision however old it is)."""
        log = t.audit_log
        query = select(log)
        if venue is not None:
            query = query.where(log.c.venue == venue)
        if account is not None:
            query = query.where(log.c.account == account)
        if actions is not None:
            query = query.where(log.c.action.in_(sorted(actions)))
        with self._tx("read the audit log", write=False) as conn:
            rows = conn.execute(query.order_by(log.c.id.desc()).limit(limit)).mappings()
            return [codec.audit_from_row(r) for r in rows]

    def save_runner_state(self, state: RunnerState) -> None:
        """Upsert one worker's state; no other (user, worker) row is touched."""
        with self._tx(f"save runner state {state.user_id}/{state.worker_id}", write=True,
                      fence=[(state.venue, state.account)]) as conn:
            self._upsert(conn, t.runner_states, [codec.runner_state_to_row(state)],
                         ("user_id", "worker_id"))
            book_version.bump(conn, self._insert, [(state.venue, state.account)])

    def next_counter(self, name: str) -> int:
        """Increment and return a persisted counter (1 on first use) in one atomic statement,
        so that no two callers, in any process sharing this database, get the same value."""
        c = t.counters
        stmt = self._insert(c).values(name=name, value=1)
        stmt = stmt.on_conflict_do_update(index_elements=["name"],
                                          set_={"value": c.c.value + 1})
        with self._tx(f"advance counter {name!r}", write=True) as conn:
            if self._returning:
                return int(conn.execute(stmt.returning(c.c.value)).scalar_one())
            # SQLite < 3.35 has no RETURNING; the IMMEDIATE transaction holds the write lock
            # from before the upsert until after the read, so the pair is still atomic.
            conn.execute(stmt)  # pragma: no cover - depends on the SQLite build
            return int(conn.execute(  # pragma: no cover
                select(c.c.value).where(c.c.name == name)).scalar_one())


    # --- alerts --------------------------------------------------------------------------

    def upsert_alerts(self, alerts: Sequence[Alert]) -> None:
        """Record alert observations in one transaction.

        An alert without `cleared_at` is one observation of its condition: it becomes a new
        active row, or, when its key already has one, moves that row's `last_seen` forward,
        adds its `count`, and takes its severity and message (`first_seen` and the
        acknowledgement stay). An alert with `cleared_at` clears the active row of its key,
        if there is one. Cleared rows are history and never change again.
        """
        firing: dict[tuple[str, str, str, str], Alert] = {}
        clearing: dict[tuple[str, str, str, str], Alert] = {}
        for alert in alerts:
            key = (alert.venue, alert.account, alert.rule, alert.subject)
            (firing if alert.cleared_at is None else clearing)[key] = alert
        if not firing and not clearing:
            return
        a = t.alerts
        scopes = {(k[0], k[1]) for k in (*firing, *clearing)}
        with self._tx("record alerts", write=True, fence=scopes) as conn:
            if firing:
                rows = []
                for alert in firing.values():
                    row = codec.alert_to_row(alert)
                    row.pop("id", None)
                    rows.append(row)
                stmt = self._insert(a)
                stmt = stmt.on_conflict_do_update(
                    index_elements=["venue", "account", "rule", "subject"],
                    index_where=a.c.cleared_at.is_(None),
                    set_={
                        "last_seen": case((stmt.excluded.last_seen > a.c.last_seen,
                                           stmt.excluded.last_seen), else_=a.c.last_seen),
                        "seen_count": a.c.seen_count + stmt.excluded.seen_count,
                        "severity": stmt.excluded.severity,
                        "message": stmt.excluded.message,
                    })
                for start in range(0, len(rows), _BATCH_ROWS):
                    conn.execute(stmt, rows[start:start + _BATCH_ROWS])
            if clearing:
                clear = (update(a)
                         .where(a.c.venue == bindparam("k_venue"),
                                a.c.account == bindparam("k_account"),
                                a.c.rule == bindparam("k_rule"),
                                a.c.subject == bindparam("k_subject"),
                                a.c.cleared_at.is_(None))
                         .values(cleared_at=bindparam("k_cleared_at")))
                conn.execute(clear, [
                    {"k_venue": x.venue, "k_account": x.account, "k_rule": x.rule,
                     "k_subject": x.subject, "k_cleared_at": x.cleared_at}
                    for x in clearing.values()])

    def alerts(self, venue: str, account: str, active_only: bool = True,
               limit: int = 1000) -> list[Alert]:
        """Alerts of one account: active ones first, critical first, newest first."""
        a = t.alerts
        query = select(a).where(a.c.venue == venue, a.c.account == account)
        if active_only:
            query = query.where(a.c.cleared_at.is_(None))
        query = query.order_by(a.c.last_seen.desc(), a.c.id.desc()).limit(limit)
        with self._tx("read alerts", write=False) as conn:
            found = [codec.alert_from_row(r) for r in conn.execute(query).mappings()]
        return sorted(found, key=lambda x: (not x.is_active, severity_rank(x.severity),
                                            -x.last_seen, -(x.alert_id or 0)))

    def acknowledge_alert(self, ref: int | str, by: str, at: int, *, venue: str = "",
                          account: str = "") -> Alert:
        """Record that `by` has seen an alert: by ledger id (within `venue`/`account` when
        given), or by key (``rule:subject``: the active alert of that key in
        `venue`/`account`). Returns the alert as stored; the latest acknowledgement wins."""
        if not by:
            raise LedgerError("acknowledging an alert needs the operator's name")
        a = t.alerts
        if isinstance(ref, int) and not isinstance(ref, bool):
            where = [a.c.id == ref]
            if venue:
                where.append(a.c.venue == venue)
            if account:
                where.append(a.c.account == account)
            what = f"alert #{ref}" + (f" of {venue}/{account}" if venue or account else "")
        else:
            if not venue or not account:
                raise LedgerError(f"alert {ref!r}: acknowledging by key needs the venue and "
                                  "account")
            try:
                rule, subject = parse_alert_key(str(ref))
            except DomainValueError as exc:
                raise LedgerError(str(exc)) from None
            where = [a.c.venue == venue, a.c.account == account, a.c.rule == rule,
                     a.c.subject == subject, a.c.cleared_at.is_(None)]
            what = f"active alert {ref!r} of {venue}/{account}"
        with self._tx(f"acknowledge {what}", write=True) as conn:
            conn.execute(update(a).where(*where).values(acknowledged_by=by, acknowledged_at=at))
            row = conn.execute(select(a).where(*where)).mappings().first()
        if row is None:
            raise LedgerError(f"there is no {what}")
        return codec.alert_from_row(row)


_CEDE_EVERY = 200
"""Rows read between two offers of the interpreter lock (`_ceding`): about a millisecond."""


def _ceding(rows: Iterable[_R]) -> Iterator[_R]:
    """`rows`, offering the interpreter lock to other threads every `_CEDE_EVERY`.

    Why: a snapshot is read on a worker thread while the event loop pages the venue
    (`console.engine.reconcile_service`), and turning rows into records is Python that
    holds the lock. Left alone, the reader keeps it for the interpreter's whole switch
    interval (5 ms) each time the loop or a request thread asks for it, several times
    per page: a long listing then goes at half speed. Offering it every thousand or so
    microseconds costs the reader next to nothing."""
    for count, row in enumerate(rows, 1):
        if not count % _CEDE_EVERY:
            time.sleep(0)
        yield row


def _ceding_rows(cursor: DBAPICursor, *, cede: bool = True) -> Iterator[Sequence[Any]]:
    """A DBAPI cursor's rows, `_CEDE_EVERY` at a time (`fetchmany`), offering the
    interpreter lock after each batch as `_ceding` does (`cede`). Python's SQLite driver
    lets the lock go for each row it steps to, so its batches need no offer: each
    `time.sleep(0)` costs ~70 us (the kernel's timer slack), ~30 ms of a 90k-order read
    (bench/ui_load.py --accounts 3). PostgreSQL's driver reads from its own buffer
    holding the lock."""
    while batch := cursor.fetchmany(_CEDE_EVERY):
        yield from batch
        if cede:
            time.sleep(0)


def _audit_fence(entry: AuditEntry) -> list[tuple[str, str]]:
    """The account an audit entry's write is fenced by: none for an operator's command,
    which must reach the lease holder through the ledger from whichever process it was
    given in, nor for an entry of no account."""
    if is_operator_actor(entry.actor) or not (entry.venue and entry.account):
        return []
    return [(entry.venue, entry.account)]


def _check_scope(venue: str, account: str, changes: LedgerChanges) -> None:
    """Refuse changes that name another venue or account before anything is written."""
    records: list[Order | Fill | Position | Balance | RunnerState] = [
        *changes.orders, *changes.fills, *changes.positions, *changes.balances,
        *changes.runner_states]
    for record in records:
        if (record.venue, record.account) != (venue, account):
            raise LedgerError(
                f"ledger changes for {venue}/{account} contain a {type(record).__name__} of "
                f"{record.venue}/{record.account}; nothing was written")
    both = {p.key for p in changes.positions} & set(changes.removed_positions)
    if both:
        raise LedgerError(f"ledger changes both upsert and remove positions {sorted(both)}; "
                          "nothing was written")


def _run_to_row(run: RunRecord) -> dict[str, Any]:
    window = run.fills_window
    return {
        "run_id": run.run_id, "venue": run.venue, "account": run.account,
        "trigger": run.trigger.value, "started_at": run.started_at,
        "finished_at": run.finished_at, "status": run.status.value, "mode": run.mode.value,
        "pause_reason": run.pause_reason,
        "venue_calls": [[name, count] for name, count in run.venue_calls],
        "errors": list(run.errors), "unverified": list(run.unverified),
        "fills_from": window[0] if window is not None else None,
        "fills_to": window[1] if window is not None else None,
    }


def _run_from_row(row: Mapping[Any, Any], discrepancies: tuple[Any, ...],
                  actions: tuple[Any, ...]) -> RunRecord:
    start, end = row["fills_from"], row["fills_to"]
    return RunRecord(
        run_id=row["run_id"], venue=row["venue"], account=row["account"],
        trigger=RunTrigger(row["trigger"]), started_at=int(row["started_at"]),
        finished_at=int(row["finished_at"]), status=RunStatus(row["status"]),
        mode=TradingMode(row["mode"]), pause_reason=row["pause_reason"],
        venue_calls=tuple((str(n), int(c)) for n, c in row["venue_calls"]),
        discrepancies=discrepancies, actions=actions,
        errors=tuple(str(e) for e in row["errors"]),
        unverified=tuple(str(u) for u in row["unverified"]),
        fills_window=(int(start), int(end)) if start is not None and end is not None else None,
    )


@contextmanager
def _checked(tx: AbstractContextManager[Connection],
             check: Callable[[Connection], None]) -> Iterator[Connection]:
    """`tx`, with `check` run first inside it (a holder's fenced write of a command)."""
    with tx as conn:
        check(conn)
        yield conn
