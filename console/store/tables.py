"""Table definitions: the runtime picture of the schema that migrations build.

Migrations never import this module (a revision must stay frozen when the tables move on);
a test checks that the migrated schema and these tables agree.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Dialect,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)

from console.store.codec import stored_money


class Money(TypeDecorator[Decimal]):
    """Exact decimal stored as text: `str(Decimal)` in, `Decimal` out, on every dialect.

    SQLite has no decimal type (its NUMERIC affinity goes through float), and a text
    column keeps the exact digits and exponent the venue sent on PostgreSQL as well.
    """

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"money column: {value!r} is not a Decimal")
        return str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return stored_money(value)  # one Decimal per distinct text


# SQLite only auto-assigns INTEGER PRIMARY KEY, not BIGINT.
AutoId = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData()

_S = String(200)

orders = Table(
    "orders", metadata,
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("ident", _S, nullable=False),
    Column("category", String(20), nullable=False),
    Column("symbol", String(100), nullable=False),
    Column("side", String(10), nullable=False),
    Column("type", String(20), nullable=False),
    Column("qty", Money, nullable=False),
    Column("status", String(30), nullable=False),
    Column("client_order_id", _S, nullable=False),
    Column("venue_order_id", _S, nullable=False),
    Column("price", Money, nullable=True),
    Column("trigger_price", Money, nullable=True),
    Column("trigger_direction", String(10), nullable=True),
    Column("reduce_only", Boolean, nullable=False),
    Column("time_in_force", String(20), nullable=False),
    Column("filled_qty", Money, nullable=False),
    Column("avg_price", Money, nullable=True),
    Column("strategy_id", _S, nullable=False),
    Column("worker_id", _S, nullable=False),
    Column("role", String(20), nullable=False),
    Column("origin", String(30), nullable=False),
    Column("label", _S, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "account", "ident", name="pk_orders"),
    Index("ix_orders_venue_order_id", "venue", "account", "venue_order_id"),
    Index("ix_orders_status", "venue", "account", "status"),
    # newest first by (updated_at, ident): the keyset pages of `Ledger.orders_page`, in
    # index order without a sort (migration 0007)
    Index("ix_orders_updated_at_ident", "venue", "account", "updated_at", "ident"),
)

fills = Table(
    "fills", metadata,
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("exec_id", _S, nullable=False),
    Column("symbol", String(100), nullable=False),
    Column("side", String(10), nullable=False),
    Column("price", Money, nullable=False),
    Column("qty", Money, nullable=False),
    Column("exec_time", BigInteger, nullable=False),
    Column("category", String(20), nullable=False),
    Column("venue_order_id", _S, nullable=False),
    Column("client_order_id", _S, nullable=False),
    Column("fee", Money, nullable=False),
    Column("fee_asset", String(40), nullable=False),
    Column("is_maker", Boolean, nullable=False),
    Column("exec_type", String(20), nullable=False),
    PrimaryKeyConstraint("venue", "account", "exec_id", name="pk_fills"),
    Index("ix_fills_exec_time", "venue", "account", "exec_time"),
    # the fills of one order, for the per-order totals of the reconciler's working set
    Index("ix_fills_order", "venue", "account", "venue_order_id"),
    Index("ix_fills_client_order", "venue", "account", "client_order_id"),
)

# The coverage mark (console.domain.snapshot.FillCoverage): up to when the fill history of
# one (venue, account, scope) was verified complete against the venue, and by which run.
# `scope` is "" for a fetch over every category the venue port reads.
fill_coverage = Table(
    "fill_coverage", metadata,
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("scope", _S, nullable=False),
    Column("covered_to", BigInteger, nullable=False),
    Column("covered_from", BigInteger, nullable=False),
    Column("run_id", String(100), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "account", "scope", name="pk_fill_coverage"),
)

positions = Table(
    "positions", metadata,
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("key", _S, nullable=False),
    Column("category", String(20), nullable=False),
    Column("symbol", String(100), nullable=False),
    Column("size", Money, nullable=False),
    Column("entry_price", Money, nullable=False),
    Column("position_side", String(10), nullable=False),
    Column("mark_price", Money, nullable=True),
    Column("unrealised_pnl", Money, nullable=True),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "account", "key", name="pk_positions"),
)

balances = Table(
    "balances", metadata,
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("asset", String(40), nullable=False),
    Column("total", Money, nullable=False),
    Column("free", Money, nullable=False),
    Column("locked", Money, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "account", "asset", name="pk_balances"),
)

runs = Table(
    "runs", metadata,
    Column("run_id", String(100), nullable=False),
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("trigger", String(20), nullable=False),
    Column("started_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),
    Column("mode", String(20), nullable=False),
    Column("pause_reason", Text, nullable=False),
    Column("venue_calls", JSON, nullable=False),
    Column("errors", JSON, nullable=False),
    Column("unverified", JSON, nullable=False),
    Column("fills_from", BigInteger, nullable=True),
    Column("fills_to", BigInteger, nullable=True),
    PrimaryKeyConstraint("run_id", name="pk_runs"),
    Index("ix_runs_started_at", "venue", "account", "started_at"),
)

run_discrepancies = Table(
    "run_discrepancies", metadata,
    Column("run_id", String(100), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("subject", _S, nullable=False),
    Column("symbol", String(100), nullable=False),
    Column("summary", Text, nullable=False),
    Column("ledger_evidence", JSON, nullable=False),
    Column("venue_evidence", JSON, nullable=False),
    Column("ledger_seen_at", BigInteger, nullable=True),
    Column("venue_seen_at", BigInteger, nullable=True),
    PrimaryKeyConstraint("run_id", "idx", name="pk_run_discrepancies"),
    ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_run_discrepancies_run",
                         ondelete="CASCADE"),
)

run_actions = Table(
    "run_actions", metadata,
    Column("run_id", String(100), nullable=False),
    Column("idx", Integer, nullable=False),
    Column("kind", String(50), nullable=False),
    Column("subject", _S, nullable=False),
    Column("reason", String(50), nullable=True),
    Column("summary", Text, nullable=False),
    Column("decision", String(20), nullable=False),
    Column("state", String(20), nullable=False),
    Column("applied_by", _S, nullable=False),
    Column("applied_at", BigInteger, nullable=True),
    Column("error", Text, nullable=False),
    Column("severity", String(20), nullable=False),
    Column("user_id", _S, nullable=False),
    Column("worker_id", _S, nullable=False),
    Column("payload", JSON, nullable=False),
    PrimaryKeyConstraint("run_id", "idx", name="pk_run_actions"),
    ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_run_actions_run",
                         ondelete="CASCADE"),
    Index("ix_run_actions_state", "state", "decision", "kind", "subject"),
)

audit_log = Table(
    "audit_log", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", _S, nullable=False),
    Column("action", _S, nullable=False),
    Column("subject", _S, nullable=False),
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("run_id", String(100), nullable=False),
    Column("details", JSON, nullable=False),
    Index("ix_audit_log_at", "at"),
)

runner_states = Table(
    "runner_states", metadata,
    Column("user_id", _S, nullable=False),
    Column("worker_id", _S, nullable=False),
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("bracket", JSON, nullable=True),
    Column("total_trades", Integer, nullable=False),
    Column("winning_trades", Integer, nullable=False),
    Column("losing_trades", Integer, nullable=False),
    Column("total_pnl", Money, nullable=False),
    Column("last_execution_time", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("extra", JSON, nullable=False),
    PrimaryKeyConstraint("user_id", "worker_id", name="pk_runner_states"),
    Index("ix_runner_states_venue", "venue", "account"),
)

# The lease of one (venue, account) on a shared ledger (console.domain.lease; console.store
# .leases writes it): the holding engine, its epoch (+1 on every change of holder) and
# times in ms, by the database's clock on PostgreSQL. The unique index makes the epoch a
# "key" column for PostgreSQL's row locks: a fenced write's FOR KEY SHARE then blocks a
# takeover (which changes the epoch) but not the holder's renewal (which does not).
leases = Table(
    "leases", metadata,
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("holder", _S, nullable=False),
    Column("epoch", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("renewed_at", BigInteger, nullable=False),
    Column("acquired_at", BigInteger, nullable=False),
    PrimaryKeyConstraint("venue", "account", name="pk_leases"),
    Index("ux_leases_epoch", "venue", "account", "epoch", unique=True),
)

# An operator's command for the engine that holds the lease of (venue, account)
# (console.domain.commands; console.store.commands writes it): submitted by any process,
# taken and finished by the holder only (fenced writes). `arguments` is a JSON object of
# strings, as text. The index is the holder's poll: the open commands of one account.
commands = Table(
    "commands", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("arguments", Text, nullable=False),
    Column("operator", _S, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("state", String(20), nullable=False),
    Column("taken_by", _S, nullable=False),
    Column("taken_epoch", BigInteger, nullable=True),
    Column("result", Text, nullable=False),
    Column("done_at", BigInteger, nullable=True),
    Index("ix_commands_open", "venue", "account", "state", "id"),
)

counters = Table(
    "counters", metadata,
    Column("name", String(200), nullable=False),
    Column("value", BigInteger, nullable=False),
    PrimaryKeyConstraint("name", name="pk_counters"),
)

# One row per episode of a condition (see console.domain.alerts). At most one *active*
# row (cleared_at IS NULL) per key: the partial unique index is the upsert's conflict target.
ACTIVE_ALERT = "cleared_at IS NULL"

alerts = Table(
    "alerts", metadata,
    Column("id", AutoId, primary_key=True, autoincrement=True),
    Column("venue", String(40), nullable=False),
    Column("account", String(100), nullable=False),
    Column("rule", String(50), nullable=False),
    Column("subject", _S, nullable=False),
    Column("severity", String(20), nullable=False),
    Column("message", Text, nullable=False),
    Column("first_seen", BigInteger, nullable=False),
    Column("last_seen", BigInteger, nullable=False),
    Column("seen_count", Integer, nullable=False),
    Column("acknowledged_by", _S, nullable=False),
    Column("acknowledged_at", BigInteger, nullable=True),
    Column("cleared_at", BigInteger, nullable=True),
    Index("ux_alerts_active", "venue", "account", "rule", "subject", unique=True,
          sqlite_where=text(ACTIVE_ALERT), postgresql_where=text(ACTIVE_ALERT)),
    Index("ix_alerts_last_seen", "venue", "account", "last_seen"),
)
