"""Engines, connection settings, migrations and error translation for the ledger.

SQLite is the single-user default: WAL so that readers never wait for the writer, a busy
timeout so that writers queue instead of failing at once, and our own BEGIN so that write
transactions take the write lock up front (``BEGIN IMMEDIATE``) rather than failing on a
lock upgrade half-way through. PostgreSQL is reached through psycopg 3.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from console.errors import LedgerError

if TYPE_CHECKING:
    from alembic.config import Config

APP_NAME = "recon-console"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")
"""A migration script's name: its revision id (four digits), "_", what it does."""
VERSION_TABLE = "alembic_version"
DEFAULT_BUSY_TIMEOUT_MS = 5000
# Any constant works: it only has to be the same for every process migrating this database.
_PG_MIGRATION_LOCK = 0x7265636F6E  # "recon"
SQLITE_BEGIN = "recon_sqlite_begin"


def default_ledger_path() -> Path:
    """The platform's per-user data dir: where a first run keeps its ledger."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "ledger.db"


DEMO_LEDGER_FILE = "demo-ledger.db"


def demo_ledger_url() -> str:
    """The window's embedded-sim ledger (console.bootstrap_gui), beside the default one in
    the user data dir, kept from start to start (`recon-console audit --demo` reads it)."""
    path = default_ledger_path().with_name(DEMO_LEDGER_FILE)
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def mask_url(url: str | URL) -> str:
    """The URL as it may be shown: the password, if any, replaced by ***."""
    try:
        parsed = url if isinstance(url, URL) else make_url(url)
    except ArgumentError:
        return "<unparseable ledger URL, not shown>"
    return parsed.render_as_string(hide_password=True)


def resolve_url(url: str | None) -> URL:
    """Parse the ledger URL; None means SQLite in the platform data dir (created here)."""
    if url is None:
        path = default_ledger_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return URL.create("sqlite", database=str(path))
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise LedgerError(
            "the ledger URL cannot be parsed (not shown: it may hold a password); "
            "expected e.g. sqlite:///path/ledger.db or postgresql+psycopg://user@host/db"
        ) from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise LedgerError(f"ledger {mask_url(parsed)}: only SQLite and PostgreSQL are supported")
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        # psycopg 3 is what we ship; psycopg2 or asyncpg would bring a different behaviour.
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_ledger_engine(url: URL, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS,
                         echo: bool = False) -> Engine:
    """An engine with the connection settings the ledger relies on."""
    try:
        if url.get_backend_name() == "sqlite":
            engine = create_engine(url, echo=echo,
                                   connect_args={"timeout": busy_timeout_ms / 1000})
            _configure_sqlite(engine, busy_timeout_ms)
        else:
            # Fail in seconds, not minutes, when the server is down or firewalled.
            connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": 10}
            engine = create_engine(url, echo=echo, pool_pre_ping=True,
                                   connect_args=connect_args)
    except (ArgumentError, NoSuchModuleError) as exc:
        raise LedgerError(f"ledger {mask_url(url)}: {exc}") from None
    return engine


def _ensure_wal(cursor: sqlite3.Cursor, busy_timeout_ms: int) -> None:
    """WAL is a property of the file, set once. Switching needs a moment alone with the
    database, which two processes opening a new ledger together may not get at the first
    try (SQLite does not always route this through the busy handler): retry briefly."""
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # Take BEGIN away from pysqlite: we emit it ourselves in `_on_begin`.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            _ensure_wal(cursor, busy_timeout_ms)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def transaction(engine: Engine, *, write: bool,
                read_committed: bool = False) -> Iterator[Connection]:
    """One transaction. Writes take SQLite's write lock first; PostgreSQL reads see one
    snapshot across all their statements (REPEATABLE READ). `read_committed`: a
    PostgreSQL write whose statements must each see what was committed before it ran
    (after waiting for a lock), whatever the server's default isolation."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{SQLITE_BEGIN: "IMMEDIATE" if write else "DEFERRED"})
        elif not write:
            conn.execution_options(isolation_level="REPEATABLE READ")
        elif read_committed:
            conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin():
            yield conn


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configured in code: the scripts ship inside the package, no alembic.ini."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """The head of the migration scripts as alembic reads them (imports alembic)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise LedgerError("the ledger migrations are missing from the installed package")
    return str(head)


@cache
def shipped_head() -> str | None:
    """The newest revision id among the migration scripts' file names, without alembic.

    Why: alembic costs a quarter of a second to import and more to read its scripts,
    and nearly every start finds the ledger already at head. The scripts are named
    "<revision>_<what>.py" with four-digit revisions in order, so the newest name is the
    head; a ledger at that revision needs no alembic at all. Anything else (an older or
    unknown revision, or scripts named otherwise) goes through alembic, which decides:
    this is only a fast path (a test holds it equal to `head_revision`)."""
    versions = MIGRATIONS / "versions"
    found = [m.group(1) for p in versions.iterdir() if (m := _REVISION_FILE.match(p.name))]
    return max(found) if found else None


def current_revision(conn: Connection) -> str | None:
    """The ledger's schema revision as alembic records it (its version table), read
    with plain SQL: None on a database alembic never touched."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    rows: list[str] = list(conn.execute(
        text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())
    if len(rows) > 1:  # branches: never ours, let alembic's own reading explain it
        from alembic.runtime.migration import MigrationContext

        return MigrationContext.configure(conn).get_current_revision()
    return str(rows[0]) if rows else None


def _at_head(current: str | None) -> bool:
    """Whether `current` is the head: by the scripts' names first (no alembic), then by
    alembic when those do not say so."""
    if current is not None and current == shipped_head():
        return True
    return current == head_revision()


def run_migrations(engine: Engine) -> None:
    """Upgrade to head in one transaction. Concurrent openers serialise on SQLite's write
    lock or a PostgreSQL advisory lock, so the second one finds the work done. Alembic
    is loaded only when there is something to check or migrate (`shipped_head`). READ
    COMMITTED whatever the server's default: the second opener's read after the lock
    must see the first one's committed upgrade."""
    with transaction(engine, write=True, read_committed=True) as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        current = current_revision(conn)
        if _at_head(current):
            return
        _check_known(current, engine.url)
        from alembic import command

        command.upgrade(alembic_config(conn), "head")


def check_migrated(engine: Engine) -> None:
    """Refuse a database whose schema is not at our head revision."""
    with transaction(engine, write=False) as conn:
        current = current_revision(conn)
    if _at_head(current):
        return
    _check_known(current, engine.url)
    raise LedgerError(
        f"ledger {mask_url(engine.url)}: schema is not migrated (at revision "
        f"{current or 'none'}, this version needs {head_revision()}); open it with "
        "migrations enabled")


def _check_known(current: str | None, url: URL) -> None:
    if current is None:
        return
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(current)
    except CommandError:
        raise LedgerError(
            f"ledger {mask_url(url)}: schema revision {current} is unknown to this version "
            "of recon-console (written by a newer release?); upgrade the application"
        ) from None


def translate(exc: DBAPIError, url: URL, doing: str) -> LedgerError:
    """A LedgerError the operator can act on. Never carries the SQL, parameters or password."""
    reason = _first_line(str(exc.orig)) if exc.orig is not None else type(exc).__name__
    if url.password:
        reason = reason.replace(str(url.password), "***")
    low = reason.lower()
    where = f"ledger {mask_url(url)}"
    if "database is locked" in low or "database table is locked" in low:
        return LedgerError(
            f"{where}: could not {doing}: the database is locked by another process or "
            "connection (waited for the busy timeout). Nothing was written; try again.")
    if "no such table" in low or ("relation" in low and "does not exist" in low):
        return LedgerError(
            f"{where}: could not {doing}: the schema is not migrated ({reason})")
    if isinstance(exc.orig, Exception) and _is_connection_problem(exc, low):
        return LedgerError(f"{where}: could not {doing}: the database is unreachable ({reason})")
    return LedgerError(f"{where}: could not {doing}: {reason}")


def _is_connection_problem(exc: DBAPIError, low: str) -> bool:
    return bool(exc.connection_invalidated) or any(
        marker in low for marker in ("connection refused", "could not connect", "connection failed",
                                     "unable to open database", "timeout expired",
                                     "server closed the connection"))


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line[:500]
