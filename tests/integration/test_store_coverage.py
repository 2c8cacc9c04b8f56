"""The fill coverage mark and the per-order fill totals, against SQLite and PostgreSQL.

The mark says up to when the ledger's fill history was verified complete by the venue. It
moves only inside `commit_run`, by the rule `FillCoverage.advance` states; migration 0004
adds it (and the indexes that find one order's fills) to an existing 0003 ledger in place.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event

from console.domain import LedgerChanges, OrderStatus
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.domain.snapshot import FillCoverage
from console.errors import LedgerError
from console.store import Ledger, db, tables

V, A = "bybit", "main"
DAY_MS = 24 * 3600 * 1000


def a_run(run_id: str, at: int = 10_000) -> RunRecord:
    return RunRecord(run_id=run_id, venue=V, account=A, trigger=RunTrigger.PERIODIC,
                     started_at=at, finished_at=at + 5, status=RunStatus.OK)


# --- migration 0004 ----------------------------------------------------------------------

def _ledger_at_0003(url: str, build) -> None:  # type: ignore[no-untyped-def]
    """A 0003 ledger with an order and its fills, written as that revision's code did."""
    engine = db.create_ledger_engine(db.resolve_url(url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.upgrade(db.alembic_config(conn), "0003")
        with db.transaction(engine, write=True) as conn:
            from console.store import codec

            order = build.order("c1", status=OrderStatus.FILLED, filled_qty=Decimal("0.002"),
                                updated_at=5_000)
            conn.execute(tables.orders.insert().values(codec.order_to_row(order)))
            for i in (1, 2):
                fill = build.fill(f"e{i}", exec_time=1_000 * i, venue_order_id="v-c1",
                                  client_order_id="c1", qty=Decimal("0.001"))
                conn.execute(tables.fills.insert().values(codec.fill_to_row(fill)))
            assert MigrationContext.configure(conn).get_current_revision() == "0003"
    finally:
        engine.dispose()


def test_0004_upgrades_a_0003_ledger_in_place(ledger_url, build):
    _ledger_at_0003(ledger_url, build)
    with Ledger.open(ledger_url) as ledger:
        with ledger.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == db.head_revision()
            inspector = sa.inspect(conn)
            assert "fill_coverage" in inspector.get_table_names()
            indexes = {i["name"] for i in inspector.get_indexes("fills")}
        assert {"ix_fills_order", "ix_fills_client_order"} <= indexes
        # an upgraded ledger has no mark: its first run asks the default look-back
        assert ledger.fill_coverage(V, A) is None
        assert [f.exec_id for f in ledger.fills(V, A)] == ["e1", "e2"]
        snap = ledger.load_snapshot(V, A, now=6_000, retention_ms=DAY_MS, fills_from=1_500)
        assert [f.exec_id for f in snap.fills] == ["e2"]
        assert snap.fill_totals == {"c1": Decimal("0.002")}  # the older fill counts too
        assert snap.fill_coverage is None
        ledger.commit_run(a_run("r1"), LedgerChanges(), FillCoverage(1_500, 6_000))
        assert ledger.fill_coverage(V, A) == 6_000


def test_0004_downgrades_to_0003(ledger_url, build):
    _ledger_at_0003(ledger_url, build)
    Ledger.open(ledger_url).close()
    engine = db.create_ledger_engine(db.resolve_url(ledger_url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.downgrade(db.alembic_config(conn), "0003")
        with engine.connect() as conn:
            inspector = sa.inspect(conn)
            assert "fill_coverage" not in inspector.get_table_names()
            assert not {i["name"] for i in inspector.get_indexes("fills")} & {
                "ix_fills_order", "ix_fills_client_order"}
            assert conn.execute(sa.text("SELECT count(*) FROM fills")).scalar() == 2
    finally:
        engine.dispose()


# --- the mark ----------------------------------------------------------------------------

@pytest.mark.parametrize(("windows", "expected"), [
    ([], None),
    ([(0, 100)], 100),                    # no mark yet: the first window read sets it
    ([(0, 100), (50, 200)], 200),         # contiguous: forward
    ([(0, 100), (100, 200)], 200),        # starts exactly at the mark
    ([(0, 100), (101, 200)], 100),        # a gap nobody read: stays
    ([(0, 100), (50, 80)], 80),           # stops short of a fill awaiting approval: back
    ([(0, 100), (101, 200), (90, 300)], 300),
])
def test_the_store_moves_the_mark_by_the_one_rule(ledger, windows, expected):
    mark = None
    for i, (start, end) in enumerate(windows):
        coverage = FillCoverage(start, end)
        ledger.commit_run(a_run(f"r{i}", 1_000 + i), LedgerChanges(), coverage)
        mark = coverage.advance(mark)
        assert ledger.fill_coverage(V, A) == mark
    assert mark == expected
    assert ledger.fill_coverage(V, "other") is None


def test_a_run_without_a_verified_window_leaves_the_mark(ledger):
    ledger.commit_run(a_run("r1"), LedgerChanges(), FillCoverage(0, 100))
    ledger.commit_run(a_run("r2", 20_000), LedgerChanges())  # its fill fetch failed
    assert ledger.fill_coverage(V, A) == 100


def test_a_commit_that_fails_leaves_the_mark_with_everything_else(ledger, build):
    ledger.commit_run(a_run("r1"), LedgerChanges(), FillCoverage(0, 100))
    broken = build.runner_state("w9")
    object.__setattr__(broken, "total_trades", None)
    with pytest.raises(LedgerError, match="r2"):
        ledger.commit_run(a_run("r2", 20_000),
                          LedgerChanges(fills=(build.fill("e1"),), runner_states=(broken,)),
                          FillCoverage(50, 500))
    assert ledger.fill_coverage(V, A) == 100
    assert ledger.fills(V, A) == []


def test_stream_writes_never_move_the_mark(ledger, build):
    ledger.commit_run(a_run("r1"), LedgerChanges(), FillCoverage(0, 100))
    ledger.apply_changes(V, A, LedgerChanges(fills=(build.fill("e1", exec_time=5_000),)))
    assert ledger.fill_coverage(V, A) == 100
    assert ledger.load_snapshot(V, A, now=6_000, retention_ms=DAY_MS,
                                fills_from=0).fill_coverage == 100


# --- per-order fill totals ---------------------------------------------------------------

def test_snapshot_totals_the_fills_of_working_set_orders_in_one_statement(ledger, build):
    now = 10 * DAY_MS
    orders = [
        build.order("live", status=OrderStatus.PARTIALLY_FILLED, updated_at=now - 5),
        build.order("done", status=OrderStatus.FILLED, updated_at=now - 1_000),
        build.order("gone", status=OrderStatus.FILLED, updated_at=now - 2 * DAY_MS),
        # an intent the ledger judged never sent: its fills name it by client id only
        build.order("intent", status=OrderStatus.REJECTED, venue_order_id="",
                    filled_qty=Decimal(0), updated_at=now - 10),
    ]
    ledger.upsert_orders(orders)
    fills = []
    for name, times in (("live", (1, now - 50)), ("done", (2, 3)), ("gone", (4,)),
                        ("intent", (now - 40,))):
        for t in times:
            vid = "" if name == "intent" else f"v-{name}"
            fills.append(build.fill(f"{name}-{t}", exec_time=t, venue_order_id=vid,
                                    client_order_id=name, qty=Decimal("0.001")))
    fills.append(build.fill("other", exec_time=now - 30, venue_order_id="v-x",
                            client_order_id="x"))
    ledger.apply_changes(V, A, LedgerChanges(fills=tuple(fills)))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    event.listen(ledger.engine, "before_cursor_execute", count)
    try:
        snap = ledger.load_snapshot(V, A, now=now, retention_ms=DAY_MS, fills_from=now - 100)
    finally:
        event.remove(ledger.engine, "before_cursor_execute", count)
    assert len(statements) <= 6
    assert {o.ident for o in snap.orders} == {"live", "done", "intent"}
    assert [f.exec_id for f in snap.fills] == ["live-" + str(now - 50), "intent-" + str(now - 40),
                                               "other"]
    assert snap.fill_totals == {"live": Decimal("0.002"), "done": Decimal("0.002"),
                                "intent": Decimal("0.001")}


def test_find_orders_by_venue_or_client_id_whatever_their_status(ledger, build):
    ledger.upsert_orders([
        build.order("a", status=OrderStatus.REJECTED, venue_order_id=""),
        build.order("b", status=OrderStatus.FILLED),
        build.order("", venue_order_id="123", status=OrderStatus.CANCELLED),
        build.order("c"),
    ])
    found = ledger.find_orders(V, A, {"v-b", "123", "nope"}, {"a", "zzz"})
    assert sorted(o.ident for o in found) == ["a", "b", "venue:123"]
    assert ledger.find_orders(V, A, set(), set()) == []
    assert ledger.find_orders(V, "other", {"v-b"}, {"a"}) == []


def test_fills_read_a_closed_window(ledger, build):
    ledger.apply_changes(V, A, LedgerChanges(fills=tuple(
        build.fill(f"e{t}", exec_time=t) for t in (10, 20, 30, 40))))
    assert [f.exec_id for f in ledger.fills(V, A, since=20, until=30)] == ["e20", "e30"]
    assert [f.exec_id for f in ledger.fills(V, A, until=15)] == ["e10"]
    assert ledger.fills(V, A, since=10, until=10) == [build.fill("e10", exec_time=10)]
