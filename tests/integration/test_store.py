"""The ledger against real SQLite and PostgreSQL: schema, exact money, working set, writes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import event, inspect, text

from console.domain import LedgerChanges, Order, OrderStatus, PositionSide
from console.domain.reconciliation import AuditEntry
from console.errors import LedgerError
from console.store import Ledger, default_ledger_path, tables
from console.store.db import head_revision

DAY_MS = 24 * 3600 * 1000
TABLES = {"orders", "fills", "positions", "balances", "runs", "run_discrepancies",
          "run_actions", "audit_log", "runner_states", "counters", "alembic_version"}
V, A = "bybit", "main"


def current_revision(ledger: Ledger) -> str | None:
    with ledger.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


# --- schema and migrations ---------------------------------------------------------------

def test_open_migrates_an_empty_database_to_head_and_reopen_is_a_no_op(open_ledger, build):
    first = open_ledger()
    assert current_revision(first) == head_revision()
    assert set(inspect(first.engine).get_table_names()) >= TABLES
    first.upsert_orders([build.order("c1")])
    first.close()

    second = open_ledger()
    assert current_revision(second) == head_revision()
    assert second.orders(V, A) == [build.order("c1")]
    assert open_ledger(migrate=False).count_orders(V, A) == 1


def test_migrated_schema_matches_the_table_definitions(ledger):
    """Migrations and tables.py are written separately; they must describe one schema."""
    with ledger.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), tables.metadata)
    assert diff == []


def test_a_schema_that_is_not_migrated_is_refused_with_a_clear_error(ledger_url, open_ledger):
    with pytest.raises(LedgerError, match="not migrated"):
        Ledger.open(ledger_url, migrate=False)
    open_ledger()  # migrates
    assert open_ledger(migrate=False).count_orders(V, A) == 0


def test_a_schema_from_an_unknown_newer_revision_is_refused(ledger_url, open_ledger):
    with open_ledger().engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    for migrate in (True, False):
        with pytest.raises(LedgerError, match="revision f00d is unknown"):
            Ledger.open(ledger_url, migrate=migrate)


def test_sqlite_connection_settings(tmp_path: Path):
    with Ledger.open(f"sqlite:///{tmp_path / 'l.db'}") as ledger, ledger.engine.connect() as conn:
        pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                  for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")}
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000,
                      "synchronous": 1}  # 1 = NORMAL


def test_default_url_is_sqlite_in_the_platform_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    path = default_ledger_path()
    assert path == tmp_path / "data" / "recon-console" / "ledger.db"
    with Ledger.open(None) as ledger:
        assert ledger.dialect == "sqlite"
        ledger.upsert_orders([])
    assert path.is_file()


# --- exact money -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["0.00000001", "123456789.123456789", "-0.00000001", "1E+3",
                                  "1.10", "0", "99999999999999999999.999999999999999999"])
def test_decimals_round_trip_exactly(ledger, build, text):
    value = Decimal(text)
    ledger.apply_changes(V, A, LedgerChanges(
        orders=(build.order("c1", price=abs(value), avg_price=abs(value)),),
        fills=(build.fill("e1", fee=value),),
        positions=(build.position(size=text),),
        balances=(build.balance(total=text),),
        runner_states=(build.runner_state(),),
    ))
    order, = ledger.orders(V, A)
    fill, = ledger.fills(V, A)
    position, = ledger.positions(V, A)
    balance, = ledger.balances(V, A)
    # as_tuple: the same sign, digits and exponent, not merely an equal value.
    for got in (order.price, order.avg_price):
        assert isinstance(got, Decimal) and got.as_tuple() == abs(value).as_tuple()
    for got in (fill.fee, position.size, balance.total):
        assert isinstance(got, Decimal) and got.as_tuple() == value.as_tuple()
    assert ledger.runner_states(V, A) == [build.runner_state()]


def test_money_columns_refuse_floats():
    with pytest.raises(TypeError, match="not a Decimal"):
        tables.Money().process_bind_param(0.1, None)  # type: ignore[arg-type]


# --- orders and the working set ----------------------------------------------------------

def test_upsert_orders_and_snapshot_working_set_with_24h_retention(ledger, build):
    now = 10 * DAY_MS
    old = now - DAY_MS - 1
    recent = now - DAY_MS + 1
    ledger.upsert_orders([
        build.order("active-old", status=OrderStatus.NEW, updated_at=old),
        build.order("pending-old", status=OrderStatus.PENDING_NEW, updated_at=old),
        build.order("filled-recent", status=OrderStatus.FILLED, updated_at=recent),
        build.order("cancelled-old", status=OrderStatus.CANCELLED, updated_at=old),
        build.order("rejected-edge", status=OrderStatus.REJECTED, updated_at=now - DAY_MS),
        build.order("other-account", account="other", updated_at=old),
    ])
    # An update replaces the row, by ident.
    ledger.upsert_orders([build.order("active-old", status=OrderStatus.PARTIALLY_FILLED,
                                      updated_at=old, filled_qty=Decimal("0.005"))])

    snap = ledger.load_snapshot(V, A, now=now, retention_ms=DAY_MS, fills_from=0)
    assert {o.ident for o in snap.orders} == {"active-old", "pending-old", "filled-recent",
                                               "rejected-edge"}
    updated = next(o for o in snap.orders if o.ident == "active-old")
    assert updated.status is OrderStatus.PARTIALLY_FILLED
    assert updated.filled_qty == Decimal("0.005")
    # Old terminal orders leave the working set but stay in the table.
    assert ledger.count_orders(V, A) == 5
    assert "cancelled-old" in {o.ident for o in ledger.orders(V, A)}
    assert {o.ident for o in ledger.orders(V, A, active_only=True)} == {"active-old",
                                                                         "pending-old"}
    assert ledger.count_orders(V, A, active_only=True) == 2
    assert ledger.get_order(V, A, "filled-recent") == build.order(
        "filled-recent", status=OrderStatus.FILLED, updated_at=recent)
    assert ledger.order_by_venue_id(V, A, "v-pending-old").ident == "pending-old"
    assert ledger.get_order(V, A, "nope") is None


def test_orders_known_only_by_venue_id_use_the_venue_ident(ledger, build):
    external = build.order("", venue_order_id="123456")
    ledger.upsert_orders([external])
    assert ledger.get_order(V, A, "venue:123456") == external


def test_snapshot_reads_everything_in_a_handful_of_statements(ledger, build):
    ledger.upsert_orders([build.order(f"c{i}") for i in range(500)])
    ledger.apply_changes(V, A, LedgerChanges(
        fills=tuple(build.fill(f"e{i}", exec_time=1_000 + i) for i in range(300)),
        positions=(build.position("BTCUSDT"), build.position("ETHUSDT")),
        balances=(build.balance("USDT"), build.balance("BTC")),
        runner_states=(build.runner_state("w1"), build.runner_state("w2"))))
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "PRAGMA")):
            statements.append(statement)

    event.listen(ledger.engine, "before_cursor_execute", count)
    try:
        snap = ledger.load_snapshot(V, A, now=2_000, retention_ms=DAY_MS, fills_from=1_100)
    finally:
        event.remove(ledger.engine, "before_cursor_execute", count)
    assert len(statements) <= 6
    assert len(snap.orders) == 500
    assert [f.exec_id for f in snap.fills] == [f"e{i}" for i in range(100, 300)]
    assert snap.fills_from == 1_100
    assert snap.last_exec_time == 1_299
    assert (len(snap.positions), len(snap.balances), len(snap.runner_states)) == (2, 2, 2)


# --- fills, positions, balances ----------------------------------------------------------

def test_a_fill_is_never_duplicated(ledger, build):
    first = build.fill("e1")
    ledger.apply_changes(V, A, LedgerChanges(fills=(first,)))
    ledger.apply_changes(V, A, LedgerChanges(fills=(build.fill("e1", qty=Decimal("9")),
                                                     build.fill("e2"), build.fill("e2"))))
    assert ledger.fills(V, A) == [first, build.fill("e2")]
    assert ledger.last_exec_time(V, A) == 2_000
    assert ledger.last_exec_time(V, "other") is None
    assert ledger.fills(V, A, since=2_001) == []


def test_positions_upsert_and_removal_by_key(ledger, build):
    btc = build.position("BTCUSDT")
    eth = build.position("ETHUSDT", size="1.5", side=PositionSide.LONG)
    ledger.apply_changes(V, A, LedgerChanges(positions=(btc, eth)))
    ledger.apply_changes(V, "other", LedgerChanges(positions=(build.position(account="other"),)))
    ledger.apply_changes(V, A, LedgerChanges(positions=(build.position("BTCUSDT", size="2"),),
                                             removed_positions=(eth.key, "linear:NOPE:0")))
    assert ledger.positions(V, A) == [build.position("BTCUSDT", size="2")]
    assert len(ledger.positions(V, "other")) == 1


def test_balances_upsert_by_asset(ledger, build):
    ledger.apply_changes(V, A, LedgerChanges(balances=(build.balance("USDT"),
                                                       build.balance("BTC"))))
    ledger.apply_changes(V, A, LedgerChanges(balances=(build.balance("USDT", total="5"),)))
    assert ledger.balances(V, A) == [build.balance("BTC"), build.balance("USDT", total="5")]


def test_changes_naming_another_account_are_refused_and_nothing_is_written(ledger, build):
    with pytest.raises(LedgerError, match="other"):
        ledger.apply_changes(V, A, LedgerChanges(
            orders=(build.order("c1"),), balances=(build.balance(account="other"),)))
    with pytest.raises(LedgerError, match="both upsert and remove"):
        position = build.position()
        ledger.apply_changes(V, A, LedgerChanges(positions=(position,),
                                                 removed_positions=(position.key,)))
    assert ledger.orders(V, A) == [] and ledger.positions(V, A) == []


def test_bulk_upsert_of_100k_orders(ledger, build):
    orders = [build.order(f"c{i:06d}", status=OrderStatus.NEW if i % 10 else OrderStatus.FILLED,
                          price=Decimal(i) + Decimal("0.00000001"), created_at=i, updated_at=i)
              for i in range(100_000)]
    ledger.upsert_orders(orders)
    ledger.upsert_orders(orders[:1000])  # re-upserting is an update, not a duplicate
    assert ledger.count_orders(V, A) == 100_000
    assert ledger.count_orders(V, A, active_only=True) == 90_000
    stored = ledger.orders(V, A)
    assert stored == orders
    snap = ledger.load_snapshot(V, A, now=200_000, retention_ms=100_000 + 10, fills_from=0)
    assert len(snap.orders) == 90_000 + sum(1 for i in range(0, 100_000, 10) if i >= 99_990)


# --- audit log and runner state ----------------------------------------------------------

def test_audit_log_is_append_only_and_ordered(ledger):
    entries = [AuditEntry(at=1_000 - i, actor="operator:ann", action=f"approve-{i}",
                          subject=f"c{i}", venue=V, account=A, run_id="r1",
                          details=(("reason", "stale"), ("n", str(i)))) for i in range(5)]
    for entry in entries:
        ledger.append_audit(entry)
    # Newest first by insertion, even though `at` runs backwards here.
    assert ledger.audit_log() == entries[::-1]
    assert ledger.audit_log(limit=2) == [entries[4], entries[3]]
    audit_api = {name for name in dir(Ledger) if "audit" in name and not name.startswith("_")}
    assert audit_api == {"append_audit", "append_audit_once", "audit_log"}  # no update
    # the once-per-book mark appends only when the book has none of its action yet
    mark = replace(entries[0], action="book_mark", venue="bybit", account="main")
    assert ledger.append_audit_once(mark) == mark
    assert ledger.append_audit_once(replace(mark, at=99, details=(("x", "y"),))) == mark
    assert ledger.audit_log(10, actions=("book_mark",)) == [mark]


def test_runner_state_is_isolated_per_worker(ledger, build):
    w1, w2 = build.runner_state("w1"), build.runner_state("w2", trades=7)
    other_user = build.runner_state("w1", user_id="u2", trades=9)
    for state in (w1, w2, other_user):
        ledger.save_runner_state(state)
    changed = build.runner_state("w1", trades=4)
    ledger.save_runner_state(changed)
    cleared = replace(w2, bracket=None)
    ledger.save_runner_state(cleared)
    states = {(s.user_id, s.worker_id): s for s in ledger.runner_states(V, A)}
    assert states == {("u1", "w1"): changed, ("u1", "w2"): cleared, ("u2", "w1"): other_user}
    assert ledger.runner_states(V, "other") == []


# --- failures ----------------------------------------------------------------------------

def test_unreachable_postgres_gives_ledger_error_without_the_password():
    url = "postgresql+psycopg://recon:s3cr3t-pw@127.0.0.1:1/recon?connect_timeout=2"
    with pytest.raises(LedgerError) as info:
        Ledger.open(url)
    message = str(info.value)
    assert "s3cr3t-pw" not in message
    assert "***" in message and "unreachable" in message


def test_bad_urls_give_ledger_errors():
    with pytest.raises(LedgerError, match="cannot be parsed"):
        Ledger.open("not a url at all :::")
    with pytest.raises(LedgerError, match="only SQLite and PostgreSQL"):
        Ledger.open("mysql://u:pw@localhost/x")


def test_a_closed_ledger_refuses_work(tmp_path: Path):
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}")
    ledger.close()
    with pytest.raises(LedgerError, match="closed"):
        ledger.orders(V, A)


def test_snapshots_hand_out_the_shared_records_of_unchanged_orders(ledger, build):
    """`share_orders`: a window's table lends its records; a snapshot returns them for the
    orders that did not change (one copy in memory), its own for those that did, and
    stops once the sharing is withdrawn."""
    ledger.upsert_orders([build.order("c1"), build.order("c2"), build.order("c3")])
    held = {o.ident: o for o in ledger.orders(V, A)}
    ledger.upsert_orders([build.order("c2", updated_at=2_000, filled_qty=Decimal("0.003"))])
    ledger.share_orders(V, A, lambda: held)

    def snapshot_orders() -> dict[str, Order]:
        snap, _ = ledger.versioned_snapshot(V, A, now=5_000, retention_ms=10_000,
                                            fills_from=0)
        return {o.ident: o for o in snap.orders}

    orders = snapshot_orders()
    assert orders["c1"] is held["c1"] and orders["c3"] is held["c3"]
    assert orders["c2"] is not held["c2"] and orders["c2"].filled_qty == Decimal("0.003")
    assert orders == {o.ident: o for o in ledger.orders(V, A)}  # the same values
    ledger.share_orders(V, A, None)
    assert snapshot_orders()["c1"] is not held["c1"]
