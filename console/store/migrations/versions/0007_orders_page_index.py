"""The orders' (updated_at, ident) index: a window reads an account's orders newest first
by (updated_at, ident), page after page (`Ledger.orders_page`); with the index on
updated_at alone SQLite sorted every page by ident in a temporary tree and walked the
index from the newest order each time (bench/ui_load.py: 100k orders).

Upgrades a 0006 ledger in place: `ix_orders_updated_at` (venue, account, updated_at)
becomes `ix_orders_updated_at_ident` (venue, account, updated_at, ident), which serves
every read the old one served. No row changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_orders_updated_at_ident", "orders",
                    ["venue", "account", "updated_at", "ident"])
    op.drop_index("ix_orders_updated_at", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_updated_at", "orders", ["venue", "account", "updated_at"])
    op.drop_index("ix_orders_updated_at_ident", table_name="orders")
