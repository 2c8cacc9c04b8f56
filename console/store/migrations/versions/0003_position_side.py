"""Positions carry a venue-neutral side (one_way / long / short) instead of Bybit's index.

Upgrades a 0002 ledger in place: the integer `position_idx` (Bybit's 0 one-way, 1 hedge
long, 2 hedge short) becomes the string `position_side`, and each position's key, which
ended in the index, is rewritten to end in the side. Nothing else changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIDES = ((0, "one_way"), (1, "long"), (2, "short"))


def _rekey(old: str, new: str) -> None:
    """Rewrite every key `category:symbol:<old>` to `category:symbol:<new>`."""
    conn = op.get_bind()
    rows = conn.execute(sa.text("SELECT venue, account, key FROM positions")).fetchall()
    for venue, account, key in rows:
        head, sep, tail = str(key).rpartition(":")
        if sep and tail == old:
            conn.execute(sa.text("UPDATE positions SET key = :new WHERE venue = :v AND "
                                 "account = :a AND key = :k"),
                         {"new": f"{head}:{new}", "v": venue, "a": account, "k": key})


def upgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("position_side", sa.String(10), nullable=True))
    for idx, side in _SIDES:
        op.execute(sa.text("UPDATE positions SET position_side = :side WHERE position_idx = :idx")
                   .bindparams(side=side, idx=idx))
        _rekey(str(idx), side)
    with op.batch_alter_table("positions") as batch:
        batch.alter_column("position_side", existing_type=sa.String(10), nullable=False)
        batch.drop_column("position_idx")


def downgrade() -> None:
    with op.batch_alter_table("positions") as batch:
        batch.add_column(sa.Column("position_idx", sa.Integer(), nullable=True))
    for idx, side in _SIDES:
        op.execute(sa.text("UPDATE positions SET position_idx = :idx WHERE position_side = :side")
                   .bindparams(side=side, idx=idx))
        _rekey(side, str(idx))
    with op.batch_alter_table("positions") as batch:
        batch.alter_column("position_idx", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("position_side")
