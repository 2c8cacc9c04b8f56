"""Alerts against real SQLite and PostgreSQL ledgers and the in-process sim: the 0002
migration upgrades a 0001 ledger in place; rules fire, de-duplicate, clear, are
acknowledged (and audited) and survive a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from console.bootstrap import SimSession, build_sim_session
from console.domain.alerts import Alert, AlertRule
from console.domain.reconciliation import (
    RunRecord,
    RunStatus,
    RunTrigger,
    Severity,
    TradingMode,
)
from console.engine.alerts import AlertChange, AlertConfig, AlertEngine, AlertNotice, attach_alerts
from console.engine.reconcile_service import RunOutcome
from console.errors import LedgerError, TransientVenueError
from console.reconcile import ReconcileConfig
from console.store import Ledger, db

V, A = "sim", "main"


# -- the migration --------------------------------------------------------------------------

def test_0002_upgrades_a_0001_ledger_in_place(ledger_url, build):
    engine = db.create_ledger_engine(db.resolve_url(ledger_url))
    try:
        with db.transaction(engine, write=True) as conn:
            command.upgrade(db.alembic_config(conn), "0001")
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == "0001"
            assert "alerts" not in inspect(conn).get_table_names()
    finally:
        engine.dispose()
    with pytest.raises(LedgerError, match="not migrated"):
        Ledger.open(ledger_url, migrate=False)
    # A 0001 ledger with data in it: written through the tables 0001 created.
    with Ledger(db.create_ledger_engine(db.resolve_url(ledger_url))) as old:
        old.upsert_orders([build.order("c1")])
        old.save_runner_state(build.runner_state())
    with Ledger.open(ledger_url) as ledger:
        with ledger.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == db.head_revision()
        assert ledger.orders("bybit", "main") == [build.order("c1")]
        assert ledger.runner_states("bybit", "main") == [build.runner_state()]
        ledger.upsert_alerts([alert("balance_mismatch", "USDT", 1_000)])
        assert [a.key for a in ledger.alerts(V, A)] == ["balance_mismatch:USDT"]


# -- the store --------------------------------------------------------------------------------

def alert(rule: str, subject: str, at: int, *, severity: Severity = Severity.WARNING,
          message: str = "m", cleared_at: int | None = None, venue: str = V) -> Alert:
    return Alert(venue, A, rule, subject, severity, message, at, at, cleared_at=cleared_at)


def test_observations_refresh_one_active_row_per_key(ledger):
    ledger.upsert_alerts([alert("balance_mismatch", "USDT", 1_000),
                          alert("balance_mismatch", "BTC", 1_000),
                          alert("balance_mismatch", "USDT", 1_000, venue="other")])
    ledger.upsert_alerts([alert("balance_mismatch", "USDT", 2_000, severity=Severity.CRITICAL,
                                message="worse")])
    ledger.upsert_alerts([alert("balance_mismatch", "USDT", 1_500)])  # late: last_seen stays
    usdt = next(a for a in ledger.alerts(V, A) if a.subject == "USDT")
    assert (usdt.first_seen, usdt.last_seen, usdt.count) == (1_000, 2_000, 3)
    assert usdt.severity is Severity.WARNING and usdt.message == "m"  # the latest observation
    assert [a.subject for a in ledger.alerts(V, A)] == ["USDT", "BTC"]
    assert len(ledger.alerts("other", A)) == 1


def test_clearing_ends_the_episode_and_a_return_is_a_new_one(ledger):
    ledger.upsert_alerts([alert("trading_paused", "sim/main", 1_000)])
    [first] = ledger.alerts(V, A)
    ledger.upsert_alerts([alert("trading_paused", "sim/main", 1_000, cleared_at=3_000)])
    assert ledger.alerts(V, A) == []
    ledger.upsert_alerts([alert("trading_paused", "sim/main", 1_000, cleared_at=4_000)])  # no-op
    ledger.upsert_alerts([alert("trading_paused", "sim/main", 5_000)])
    [again] = ledger.alerts(V, A)
    assert again.alert_id != first.alert_id and again.count == 1
    history = ledger.alerts(V, A, active_only=False)
    assert [(a.alert_id, a.cleared_at) for a in history] == [
        (again.alert_id, None), (first.alert_id, 3_000)]


def test_acknowledge_by_id_or_key(ledger):
    ledger.upsert_alerts([alert("missing_protection", "u1/w1", 1_000,
                                severity=Severity.CRITICAL)])
    [active] = ledger.alerts(V, A)
    acked = ledger.acknowledge_alert("missing_protection:u1/w1", "alice", 2_000, venue=V,
                                     account=A)
    assert (acked.acknowledged_by, acked.acknowledged_at, acked.is_active) == ("alice", 2_000, True)
    again = ledger.acknowledge_alert(active.alert_id, "bob", 3_000)
    assert again.acknowledged_by == "bob"
    ledger.upsert_alerts([alert("missing_protection", "u1/w1", 4_000)])
    assert ledger.alerts(V, A)[0].acknowledged_by == "bob"  # a re-sighting keeps it
    with pytest.raises(LedgerError, match="no active alert"):
        ledger.acknowledge_alert("missing_protection:u9/w9", "alice", 1, venue=V, account=A)
    with pytest.raises(LedgerError, match="needs the venue"):
        ledger.acknowledge_alert("missing_protection:u1/w1", "alice", 1)
    with pytest.raises(LedgerError, match="no alert #999"):
        ledger.acknowledge_alert(999, "alice", 1)
    with pytest.raises(LedgerError, match="of other/main"):
        ledger.acknowledge_alert(active.alert_id, "alice", 1, venue="other", account=A)


# -- the engine against the sim --------------------------------------------------------------

@pytest.fixture
def opened() -> Iterator[list[SimSession]]:
    sessions: list[SimSession] = []
    yield sessions
    for s in sessions:
        s.close()


def sim(ledger_url: str, scenario: str, opened: list[SimSession]) -> SimSession:
    s = build_sim_session(ledger_url, scenario, config=ReconcileConfig(), interval_s=3600)
    opened.append(s)
    return s


def test_pause_and_balance_mismatch_fire_then_clear_after_a_clean_run(ledger_url, opened):
    s = sim(ledger_url, "restart-with-position", opened)
    alerts = attach_alerts(s.engine)
    heard: list[AlertNotice] = []
    alerts.on_alert(heard.append)

    async def scenario() -> tuple[list[Alert], list[Alert]]:
        await s.service.run_once(RunTrigger.STARTUP)
        first = await alerts.active()
        await s.service.run_once(RunTrigger.MANUAL)
        await alerts.stop()
        return first, await alerts.active()

    first, after = asyncio.run(scenario())
    assert {(a.key, a.severity) for a in first} == {
        ("trading_paused:sim/main", Severity.CRITICAL),
        ("balance_mismatch:USDT", Severity.WARNING)}
    assert after == []
    assert sorted(n.alert.rule for n in heard if n.change is AlertChange.RAISED) == [
        "balance_mismatch", "trading_paused"]
    assert {n.alert.rule for n in heard if n.change is AlertChange.CLEARED} == {
        "trading_paused", "balance_mismatch"}
    history = s.ledger.alerts(V, A, active_only=False)
    assert all(a.cleared_at is not None for a in history) and len(history) == 2


def test_missing_protection_dedupes_is_acknowledged_audited_and_survives_a_restart(
        ledger_url, opened):
    s = sim(ledger_url, "bracket-missing-protection", opened)
    alerts = attach_alerts(s.engine)
    critical: list[Alert] = []
    alerts.on_alert(lambda n: critical.append(n.alert)
                    if n.change is AlertChange.RAISED
                    and n.alert.severity is Severity.CRITICAL else None)

    async def scenario() -> Alert:
        await s.service.run_once(RunTrigger.STARTUP)
        await s.service.run_once(RunTrigger.MANUAL)
        acked = await alerts.acknowledge("missing_protection:demo/w1", "alice")
        await alerts.stop()
        return acked

    acked = asyncio.run(scenario())
    # Raised once each (the lost stop-loss also makes the book a hard desync: paused).
    assert sorted(a.key for a in critical) == ["missing_protection:demo/w1",
                                               "trading_paused:sim/main"]
    active = s.ledger.alerts(V, A)
    [stored] = [a for a in active if a.rule == "missing_protection"]
    assert stored.alert_id == acked.alert_id and stored.count == 2
    assert "without stop-loss" in stored.message
    assert (stored.acknowledged_by, stored.is_active) == ("alice", True)
    [entry] = [e for e in s.ledger.audit_log() if e.action == "acknowledge_alert"]
    assert (entry.actor, entry.subject) == ("operator:alice", "missing_protection:demo/w1")

    # A restart: a new ledger connection and engine see the same alert, acknowledged.
    s.ledger.close()
    with Ledger.open(ledger_url) as ledger:
        again = AlertEngine(ledger, V, A)
        kept = asyncio.run(again.active())
    assert kept == active and stored in kept


def test_more_than_three_failed_runs_raise_a_critical_alert(ledger_url, opened):
    s = sim(ledger_url, "clean", opened)
    alerts = attach_alerts(s.engine)

    async def scenario() -> tuple[list[Alert], list[Alert], list[Alert]]:
        await s.service.run_once(RunTrigger.STARTUP)
        seen = []
        for _ in range(4):
            for method in ("fetch_open_orders", "fetch_positions", "fetch_balances",
                           "fetch_fills"):
                s.venue.fail_next(method, TransientVenueError("connection reset"))
            outcome = await s.service.run_once(RunTrigger.PERIODIC)
            assert outcome.run.status is RunStatus.FAILED
            seen.append(await alerts.active())
        await s.service.run_once(RunTrigger.PERIODIC)
        await alerts.stop()
        return seen[2], seen[3], await alerts.active()

    three, four, after = asyncio.run(scenario())
    assert three == []
    [failing] = four
    assert (failing.rule, failing.severity) == ("reconcile_failing", Severity.CRITICAL)
    assert "4 reconciliations" in failing.message and "connection reset" in failing.message
    assert after == []


def test_the_timer_raises_staleness_and_a_successful_run_clears_it(ledger):
    clock = [time.time_ns() // 1_000_000]
    alerts = AlertEngine(ledger, V, A, clock_ms=lambda: clock[0],
                         config=AlertConfig(timer_s=0.02))

    async def scenario() -> tuple[list[Alert], list[Alert]]:
        alerts.start()
        clock[0] += 10 * 60_000 + 1
        start = time.monotonic()
        while not ledger.alerts(V, A):
            assert time.monotonic() - start < 5, "the timer never evaluated"
            await asyncio.sleep(0.02)
        stale = ledger.alerts(V, A)
        run = RunRecord("r1", V, A, RunTrigger.PERIODIC, clock[0] - 10, clock[0],
                        RunStatus.OK, mode=TradingMode.TRADING)
        await alerts.on_run(RunOutcome(run, 10.0))
        await alerts.stop()
        return stale, ledger.alerts(V, A)

    stale, after = asyncio.run(scenario())
    assert [(a.rule, a.severity) for a in stale] == [("reconcile_stale", Severity.CRITICAL)]
    assert "never" in stale[0].message
    assert after == []
    assert AlertRule.RECONCILE_STALE.value == stale[0].rule


def test_alerts_keep_working_in_memory_when_the_ledger_is_unreachable(ledger):
    alerts = AlertEngine(ledger, V, A, failures=lambda: 5)
    heard: list[AlertNotice] = []
    alerts.on_alert(heard.append)
    ledger.close()
    notices = asyncio.run(alerts.evaluate())
    assert [n.alert.rule for n in notices] == ["reconcile_failing"]
    assert heard == notices
