"""The fill coverage mark, and indexes to find one order's fills.

Upgrades a 0003 ledger in place: a new table `fill_coverage` (empty: an upgraded ledger
has no mark, so its first reconciliation asks the default look-back) and two indexes on
`fills` (by venue order id and by client order id). No existing row changes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "fill_coverage",
        sa.Column("venue", sa.String(40), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(200), nullable=False),
        sa.Column("covered_to", sa.BigInteger(), nullable=False),
        sa.Column("covered_from", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("venue", "account", "scope", name="pk_fill_coverage"),
    )
    op.create_index("ix_fills_order", "fills", ["venue", "account", "venue_order_id"])
    op.create_index("ix_fills_client_order", "fills", ["venue", "account", "client_order_id"])


def downgrade() -> None:
    op.drop_index("ix_fills_client_order", table_name="fills")
    op.drop_index("ix_fills_order", table_name="fills")
    op.drop_table("fill_coverage")
