"""Leases: which engine may trade each (venue, account) of a shared ledger, and its epoch.

Upgrades a 0004 ledger in place: a new table `leases` (empty: the first engine to start
takes each lease). No existing row changes. Times are milliseconds; on PostgreSQL they
are the database's clock (docs/architecture.md, "Leases and fencing").

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-20
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("venue", sa.String(40), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("renewed_at", sa.BigInteger(), nullable=False),
        sa.Column("acquired_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("venue", "account", name="pk_leases"),
    )
    # the epoch as a "key" for row locks (console.store.tables.leases says why)
    op.create_index("ux_leases_epoch", "leases", ["venue", "account", "epoch"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_leases_epoch", table_name="leases")
    op.drop_table("leases")
