"""Migration 0003 upgrades a 0002 ledger in place: Bybit's integer `position_idx` becomes
the venue-neutral `position_side`, and position keys are rewritten to match. The 0002
ledger is made the way the code of that revision wrote it (its table, its key format)."""

from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext

from console.domain import Category, PositionSide
from console.store import Ledger, db


def _ledger_at_0002_with_positions(url: str) -> None:
    engine = db.create_ledger_engine(db.resolve_url(url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.upgrade(db.alembic_config(conn), "0002")
        with db.transaction(engine, write=True) as conn:
            for symbol, idx, size in (("BTCUSDT", 0, "1.5"), ("ETHUSDT", 1, "2"),
                                      ("ETHUSDT", 2, "-3")):
                conn.execute(sa.text(
                    "INSERT INTO positions (venue, account, key, category, symbol, size, "
                    "entry_price, position_idx, mark_price, unrealised_pnl, updated_at) "
                    "VALUES ('bybit', 'main', :key, 'linear', :symbol, :size, '100', :idx, "
                    "NULL, NULL, 5)"), {"key": f"linear:{symbol}:{idx}", "symbol": symbol,
                                        "size": size, "idx": idx})
            assert MigrationContext.configure(conn).get_current_revision() == "0002"
    finally:
        engine.dispose()


def test_0003_turns_position_indexes_into_sides(ledger_url):
    _ledger_at_0002_with_positions(ledger_url)
    with Ledger.open(ledger_url) as ledger:
        with ledger.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == db.head_revision()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("positions")}
        assert "position_side" in columns and "position_idx" not in columns
        got = {(p.key, p.position_side, p.size) for p in ledger.positions("bybit", "main")}
        assert got == {
            ("linear:BTCUSDT:one_way", PositionSide.ONE_WAY, Decimal("1.5")),
            ("linear:ETHUSDT:long", PositionSide.LONG, Decimal("2")),
            ("linear:ETHUSDT:short", PositionSide.SHORT, Decimal("-3")),
        }
        assert all(p.category is Category.LINEAR for p in ledger.positions("bybit", "main"))


def test_0003_downgrades_back_to_indexes(ledger_url):
    _ledger_at_0002_with_positions(ledger_url)
    Ledger.open(ledger_url).close()
    engine = db.create_ledger_engine(db.resolve_url(ledger_url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.downgrade(db.alembic_config(conn), "0002")
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT key, position_idx FROM positions ORDER BY key")).fetchall()
        assert [tuple(r) for r in rows] == [("linear:BTCUSDT:0", 0), ("linear:ETHUSDT:1", 1),
                                            ("linear:ETHUSDT:2", 2)]
    finally:
        engine.dispose()
