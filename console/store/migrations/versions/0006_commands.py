"""Operator commands: approvals, rejections, halts, resumes, emergency stops and
reconciliations given in one process and carried out by the engine that holds the
account's lease (docs/architecture.md, "Operator commands through the ledger").

Upgrades a 0005 ledger in place: a new, empty table `commands`. No existing row changes.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commands",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("venue", sa.String(40), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("arguments", sa.Text(), nullable=False),
        sa.Column("operator", sa.String(200), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("taken_by", sa.String(200), nullable=False),
        sa.Column("taken_epoch", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("done_at", sa.BigInteger(), nullable=True),
    )
    # the holder's poll: the open commands of one account, oldest first
    op.create_index("ix_commands_open", "commands", ["venue", "account", "state", "id"])


def downgrade() -> None:
    op.drop_index("ix_commands_open", table_name="commands")
    op.drop_table("commands")
