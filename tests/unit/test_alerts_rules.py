"""Alert rules, pure: what fires, what clears, what is left alone."""

from __future__ import annotations

import pytest

from console.domain.alerts import Alert, AlertRule, alert_key, parse_alert_key
from console.domain.reconciliation import (
    Discrepancy,
    DiscrepancyKind,
    RunRecord,
    RunStatus,
    RunTrigger,
    Severity,
    TradingMode,
)
from console.domain.values import DomainValueError
from console.engine.alerts import ALL_RULES, AlertConfig, AlertFacts, assess
from console.reconcile.diff import SKIP_BALANCES, SKIP_POSITIONS

V, A = "bybit", "main"
NOW = 1_700_000_000_000
MIN = 60_000
CFG = AlertConfig()


def run(status: RunStatus = RunStatus.OK, *discrepancies: Discrepancy,
        mode: TradingMode = TradingMode.TRADING, unverified: tuple[str, ...] = (),
        pause_reason: str = "", errors: tuple[str, ...] = ()) -> RunRecord:
    return RunRecord("r", V, A, RunTrigger.PERIODIC, NOW - 1_000, NOW - 500, status, mode=mode,
                     pause_reason=pause_reason, discrepancies=discrepancies,
                     unverified=unverified, errors=errors)


def balance(asset: str = "USDT") -> Discrepancy:
    return Discrepancy(DiscrepancyKind.BALANCE_MISMATCH, asset, f"{asset}: off")


def protection(subject: str = "u1/w1") -> Discrepancy:
    return Discrepancy(DiscrepancyKind.BRACKET_MISSING_PROTECTION, subject,
                       f"BTCUSDT long 0.01 ({subject}): position open without stop-loss")


def facts(last_run: RunRecord | None = None, *, failures: int = 0,
          last_ok_at: int | None = NOW - MIN, now: int = NOW,
          since: int = NOW - MIN) -> AlertFacts:
    return AlertFacts(V, A, now, consecutive_failures=failures, last_run=last_run,
                      last_ok_at=last_ok_at, watching_since=since)


def active(rule: AlertRule, subject: str, *, first: int = NOW - 5 * MIN, count: int = 3,
           acked: bool = False, alert_id: int = 1) -> Alert:
    return Alert(V, A, rule.value, subject, Severity.CRITICAL, "before", first, first + MIN,
                 count=count, acknowledged_by="bob" if acked else "",
                 acknowledged_at=first + 1 if acked else None, alert_id=alert_id)


def keys(alerts) -> set[str]:
    return {a.key for a in alerts}


def test_a_clean_ok_run_fires_nothing():
    plan = assess(facts(run()), [], CFG)
    assert plan.is_empty and not plan.raised


def test_more_than_three_consecutive_failures_is_critical():
    assert assess(facts(run(), failures=3), [], CFG).is_empty
    plan = assess(facts(run(RunStatus.FAILED, errors=("open orders: timeout",)), failures=4),
                  [], CFG)
    [alert] = plan.raised
    assert (alert.rule, alert.severity) == (AlertRule.RECONCILE_FAILING, Severity.CRITICAL)
    assert "4 reconciliations" in alert.message and "timeout" in alert.message


def test_no_ok_run_for_ten_minutes_is_critical_and_a_fresh_ledger_gets_the_same_grace():
    assert assess(facts(run(), last_ok_at=NOW - 10 * MIN), [], CFG).is_empty
    [stale] = assess(facts(run(), last_ok_at=NOW - 10 * MIN - 1), [], CFG).raised
    assert stale.rule == AlertRule.RECONCILE_STALE and stale.severity is Severity.CRITICAL
    assert assess(facts(None, last_ok_at=None, since=NOW - 5 * MIN), [], CFG).is_empty
    [never] = assess(facts(None, last_ok_at=None, since=NOW - 11 * MIN), [], CFG).raised
    assert "never" in never.message


def test_balance_mismatch_is_a_warning_per_asset():
    plan = assess(facts(run(RunStatus.OK, balance("USDT"), balance("BTC"))), [], CFG)
    assert keys(plan.raised) == {"balance_mismatch:USDT", "balance_mismatch:BTC"}
    assert {a.severity for a in plan.raised} == {Severity.WARNING}


def test_missing_protection_and_hard_desync_pause_are_critical():
    plan = assess(facts(run(RunStatus.OK, protection(), mode=TradingMode.PAUSED,
                            pause_reason="hard desync: 3 of 10")), [], CFG)
    assert keys(plan.raised) == {"missing_protection:u1/w1", f"trading_paused:{V}/{A}"}
    assert {a.severity for a in plan.raised} == {Severity.CRITICAL}
    [paused] = [a for a in plan.raised if a.rule == AlertRule.TRADING_PAUSED]
    assert "hard desync: 3 of 10" in paused.message


def test_re_firing_refreshes_the_active_alert_instead_of_raising_again():
    before = active(AlertRule.BALANCE_MISMATCH, "USDT", acked=True)
    plan = assess(facts(run(RunStatus.OK, balance("USDT"))), [before], CFG)
    assert plan.raised == ()
    [seen] = plan.observations
    assert (seen.first_seen, seen.last_seen, seen.count) == (before.first_seen, NOW, 1)
    assert plan.cleared == ()


def test_a_condition_that_is_gone_clears_its_alert():
    alerts = [active(AlertRule.BALANCE_MISMATCH, "USDT", alert_id=1),
              active(AlertRule.MISSING_PROTECTION, "u1/w1", alert_id=2),
              active(AlertRule.TRADING_PAUSED, f"{V}/{A}", alert_id=3),
              active(AlertRule.RECONCILE_FAILING, f"{V}/{A}", alert_id=4),
              active(AlertRule.RECONCILE_STALE, f"{V}/{A}", alert_id=5)]
    plan = assess(facts(run()), alerts, CFG)
    assert {a.alert_id for a in plan.cleared} == {1, 2, 3, 4, 5}
    assert {a.cleared_at for a in plan.cleared} == {NOW}


def test_a_failed_run_verifies_nothing_so_clears_nothing_it_did_not_check():
    alerts = [active(AlertRule.BALANCE_MISMATCH, "USDT", alert_id=1),
              active(AlertRule.MISSING_PROTECTION, "u1/w1", alert_id=2),
              active(AlertRule.TRADING_PAUSED, f"{V}/{A}", alert_id=3)]
    plan = assess(facts(run(RunStatus.FAILED), failures=1), alerts, CFG)
    assert plan.cleared == () and plan.raised == ()


def test_unverified_checks_keep_their_alerts():
    alerts = [active(AlertRule.BALANCE_MISMATCH, "USDT", alert_id=1),
              active(AlertRule.BALANCE_MISMATCH, "BTC", alert_id=2),
              active(AlertRule.MISSING_PROTECTION, "u1/w1", alert_id=3),
              active(AlertRule.MISSING_PROTECTION, "u1/w2", alert_id=4)]
    skipped = run(RunStatus.PARTIAL, unverified=(SKIP_BALANCES, SKIP_POSITIONS))
    assert assess(facts(skipped), alerts, CFG).cleared == ()
    partly = run(RunStatus.PARTIAL, unverified=(
        "balance BTC: ledger changed after the venue snapshot; compared next run",
        "bracket u1/w2 BTCUSDT: stop-loss rc-w2-s-1-2 in flight; bracket checks skipped"))
    assert {a.alert_id for a in assess(facts(partly), alerts, CFG).cleared} == {1, 3}


def test_timer_rules_leave_run_based_alerts_alone():
    alerts = [active(AlertRule.BALANCE_MISMATCH, "USDT", alert_id=1)]
    plan = assess(facts(run()), alerts, CFG, rules={AlertRule.RECONCILE_STALE})
    assert plan.is_empty


def test_foreign_rules_are_never_cleared_by_ours():
    other = Alert(V, A, "emergency_stop", f"{V}/{A}", Severity.CRITICAL, "halted", NOW, NOW)
    assert assess(facts(run()), [other], CFG, ALL_RULES).cleared == ()


def test_alert_values_validate_and_keys_round_trip():
    assert parse_alert_key(alert_key("missing_protection", "u1/w1:x")) == (
        "missing_protection", "u1/w1:x")
    for bad in ("nocolon", ":subject", "Bad:subject", "rule:"):
        with pytest.raises(DomainValueError):
            parse_alert_key(bad)
    with pytest.raises(DomainValueError, match="last_seen"):
        Alert(V, A, "x", "s", Severity.INFO, "m", first_seen=2, last_seen=1)
    with pytest.raises(DomainValueError, match="count"):
        Alert(V, A, "x", "s", Severity.INFO, "m", 1, 1, count=0)
