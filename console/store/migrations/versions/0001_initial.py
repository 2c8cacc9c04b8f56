"""Initial ledger schema: orders, fills, positions, balances, runs, audit, runner state.

Money columns are TEXT holding `str(Decimal)` (see console.store.tables.Money): exact on
SQLite and PostgreSQL alike. Timestamps are epoch milliseconds (BIGINT).

Revision ID: 0001
Revises:
Create Date: 2024-01-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _money(name: str, nullable: bool = False) -> sa.Column[str]:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _text(name: str, length: int = 200) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False)


def _ms(name: str, nullable: bool = False) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "orders",
        _text("venue", 40), _text("account", 100), _text("ident"),
        _text("category", 20), _text("symbol", 100), _text("side", 10), _text("type", 20),
        _money("qty"), _text("status", 30), _text("client_order_id"), _text("venue_order_id"),
        _money("price", True), _money("trigger_price", True),
        sa.Column("trigger_direction", sa.String(10), nullable=True),
        sa.Column("reduce_only", sa.Boolean(), nullable=False),
        _text("time_in_force", 20), _money("filled_qty"), _money("avg_price", True),
        _text("strategy_id"), _text("worker_id"), _text("role", 20), _text("origin", 30),
        _text("label"), _ms("created_at"), _ms("updated_at"),
        sa.PrimaryKeyConstraint("venue", "account", "ident", name="pk_orders"),
    )
    op.create_index("ix_orders_venue_order_id", "orders", ["venue", "account", "venue_order_id"])
    op.create_index("ix_orders_status", "orders", ["venue", "account", "status"])
    op.create_index("ix_orders_updated_at", "orders", ["venue", "account", "updated_at"])

    op.create_table(
        "fills",
        _text("venue", 40), _text("account", 100), _text("exec_id"), _text("symbol", 100),
        _text("side", 10), _money("price"), _money("qty"), _ms("exec_time"),
        _text("category", 20), _text("venue_order_id"), _text("client_order_id"),
        _money("fee"), _text("fee_asset", 40),
        sa.Column("is_maker", sa.Boolean(), nullable=False),
        _text("exec_type", 20),
        sa.PrimaryKeyConstraint("venue", "account", "exec_id", name="pk_fills"),
    )
    op.create_index("ix_fills_exec_time", "fills", ["venue", "account", "exec_time"])

    op.create_table(
        "positions",
        _text("venue", 40), _text("account", 100), _text("key"), _text("category", 20),
        _text("symbol", 100), _money("size"), _money("entry_price"),
        sa.Column("position_idx", sa.Integer(), nullable=False),
        _money("mark_price", True), _money("unrealised_pnl", True), _ms("updated_at"),
        sa.PrimaryKeyConstraint("venue", "account", "key", name="pk_positions"),
    )

    op.create_table(
        "balances",
        _text("venue", 40), _text("account", 100), _text("asset", 40),
        _money("total"), _money("free"), _money("locked"), _ms("updated_at"),
        sa.PrimaryKeyConstraint("venue", "account", "asset", name="pk_balances"),
    )

    op.create_table(
        "runs",
        _text("run_id", 100), _text("venue", 40), _text("account", 100), _text("trigger", 20),
        _ms("started_at"), _ms("finished_at"), _text("status", 20), _text("mode", 20),
        sa.Column("pause_reason", sa.Text(), nullable=False),
        sa.Column("venue_calls", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("unverified", sa.JSON(), nullable=False),
        _ms("fills_from", True), _ms("fills_to", True),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
    )
    op.create_index("ix_runs_started_at", "runs", ["venue", "account", "started_at"])

    op.create_table(
        "run_discrepancies",
        _text("run_id", 100), sa.Column("idx", sa.Integer(), nullable=False),
        _text("kind", 50), _text("subject"), _text("symbol", 100),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("ledger_evidence", sa.JSON(), nullable=False),
        sa.Column("venue_evidence", sa.JSON(), nullable=False),
        _ms("ledger_seen_at", True), _ms("venue_seen_at", True),
        sa.PrimaryKeyConstraint("run_id", "idx", name="pk_run_discrepancies"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_run_discrepancies_run",
                                ondelete="CASCADE"),
    )

    op.create_table(
        "run_actions",
        _text("run_id", 100), sa.Column("idx", sa.Integer(), nullable=False),
        _text("kind", 50), _text("subject"),
        sa.Column("reason", sa.String(50), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        _text("decision", 20), _text("state", 20), _text("applied_by"), _ms("applied_at", True),
        sa.Column("error", sa.Text(), nullable=False),
        _text("severity", 20), _text("user_id"), _text("worker_id"),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "idx", name="pk_run_actions"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.run_id"], name="fk_run_actions_run",
                                ondelete="CASCADE"),
    )
    op.create_index("ix_run_actions_state", "run_actions",
                    ["state", "decision", "kind", "subject"])

    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        _ms("at"), _text("actor"), _text("action"), _text("subject"),
        _text("venue", 40), _text("account", 100), _text("run_id", 100),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])

    op.create_table(
        "runner_states",
        _text("user_id"), _text("worker_id"), _text("venue", 40), _text("account", 100),
        sa.Column("bracket", sa.JSON(), nullable=True),
        sa.Column("total_trades", sa.Integer(), nullable=False),
        sa.Column("winning_trades", sa.Integer(), nullable=False),
        sa.Column("losing_trades", sa.Integer(), nullable=False),
        _money("total_pnl"), _ms("last_execution_time"), _ms("updated_at"),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "worker_id", name="pk_runner_states"),
    )
    op.create_index("ix_runner_states_venue", "runner_states", ["venue", "account"])

    op.create_table(
        "counters",
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_counters"),
    )


def downgrade() -> None:
    for table in ("counters", "runner_states", "audit_log", "run_actions", "run_discrepancies",
                  "runs", "balances", "positions", "fills", "orders"):
        op.drop_table(table)
