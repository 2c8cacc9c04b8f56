"""Migration 0007 turns the orders' updated_at index into an (updated_at, ident) one, on
SQLite and PostgreSQL: a 0006 ledger with orders upgrades in place and keeps them, the
paged read then walks that index without a sort (SQLite's plan says so), and the
migration downgrades back to the old index."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext

from console.store import Ledger, codec, db, tables

V, A = "bybit", "main"


def _order_indexes(conn: sa.Connection) -> dict[str, list[str | None]]:
    return {ix["name"]: ix["column_names"] for ix in sa.inspect(conn).get_indexes("orders")
            if ix["name"] is not None}


def _ledger_at_0006_with_orders(url: str, build) -> None:  # type: ignore[no-untyped-def]
    engine = db.create_ledger_engine(db.resolve_url(url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.upgrade(db.alembic_config(conn), "0006")
            conn.execute(sa.insert(tables.orders), [  # as the 0006 code wrote them
                codec.order_to_row(build.order(ident, updated_at=at))
                for ident, at in (("a", 2_000), ("b", 2_000), ("c", 1_000))])
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0006"
            assert _order_indexes(conn)["ix_orders_updated_at"] == [
                "venue", "account", "updated_at"]
    finally:
        engine.dispose()


def test_0007_upgrades_a_0006_ledger_and_pages_on_the_new_index(ledger_url, build) -> None:
    _ledger_at_0006_with_orders(ledger_url, build)
    with Ledger.open(ledger_url) as ledger:
        with ledger.engine.connect() as conn:
            indexes = _order_indexes(conn)
            assert "ix_orders_updated_at" not in indexes
            assert indexes["ix_orders_updated_at_ident"] == [
                "venue", "account", "updated_at", "ident"]
        first = ledger.orders_page(V, A, True, limit=2)
        assert [o.ident for o in first] == ["b", "a"]
        rest = ledger.orders_page(V, A, True, before=(2_000, "a"), limit=2)
        assert rest == [build.order("c", updated_at=1_000)]
        if ledger.engine.dialect.name == "sqlite":
            assert_pages_without_a_sort(ledger)


def assert_pages_without_a_sort(ledger: Ledger) -> None:
    """SQLite's plan of a page after another: a range of the new index, no sort."""
    o = tables.orders
    query = (sa.select(o.c.ident).where(
        o.c.venue == V, o.c.account == A, o.c.status.in_(["NEW"]),
        sa.tuple_(o.c.updated_at, o.c.ident) < sa.tuple_(2_000, "a"))
        .order_by(o.c.updated_at.desc(), o.c.ident.desc()).limit(2))
    compiled = query.compile(dialect=ledger.engine.dialect,
                             compile_kwargs={"literal_binds": True})
    with ledger.engine.connect() as conn:
        plan = " | ".join(str(r[-1]) for r in conn.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {compiled}").all())
    assert "ix_orders_updated_at_ident" in plan and "(updated_at,ident)<" in plan.replace(
        " ", ""), plan
    assert "TEMP B-TREE" not in plan, plan


def test_0007_downgrades_to_the_updated_at_index(ledger_url, build) -> None:
    _ledger_at_0006_with_orders(ledger_url, build)
    Ledger.open(ledger_url).close()
    engine = db.create_ledger_engine(db.resolve_url(ledger_url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.downgrade(db.alembic_config(conn), "0006")
        with engine.connect() as conn:
            indexes = _order_indexes(conn)
            assert indexes["ix_orders_updated_at"] == ["venue", "account", "updated_at"]
            assert "ix_orders_updated_at_ident" not in indexes
            assert conn.execute(sa.select(sa.func.count()).select_from(tables.orders)
                                ).scalar_one() == 3
    finally:
        engine.dispose()
