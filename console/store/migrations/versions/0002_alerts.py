"""Alerts: one row per episode of a condition, at most one active row per key.

Upgrades a 0001 ledger in place: a new table, nothing else changes.

Revision ID: 0002
Revises: 0001
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ACTIVE = "cleared_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(40), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("rule", sa.String(50), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("first_seen", sa.BigInteger(), nullable=False),
        sa.Column("last_seen", sa.BigInteger(), nullable=False),
        sa.Column("seen_count", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(200), nullable=False),
        sa.Column("acknowledged_at", sa.BigInteger(), nullable=True),
        sa.Column("cleared_at", sa.BigInteger(), nullable=True),
    )
    op.create_index("ux_alerts_active", "alerts", ["venue", "account", "rule", "subject"],
                    unique=True, sqlite_where=sa.text(_ACTIVE),
                    postgresql_where=sa.text(_ACTIVE))
    op.create_index("ix_alerts_last_seen", "alerts", ["venue", "account", "last_seen"])


def downgrade() -> None:
    op.drop_table("alerts")
