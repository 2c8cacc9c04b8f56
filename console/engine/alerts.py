"""Alert rules, evaluated after every reconciliation and on a timer, kept in the ledger.

Rules (the alert conditions our users asked for, and the two a bracket book adds):

=====================  ========  ==========================================================
rule                   severity  fires when
=====================  ========  ==========================================================
reconcile_failing      critical  more than `max_consecutive_failures` (3) runs in a row failed
reconcile_stale        critical  no OK run for `stale_after_ms` (10 min); a partial run
                                 verified only part of the book and does not count
balance_mismatch       warning   the last run found a balance mismatch (one alert per asset)
missing_protection     critical  the last run found a saved bracket's position without its
                                 stop-loss or take-profit (one alert per user/worker)
trading_paused         critical  the last run left new risk paused (hard desync)
=====================  ========  ==========================================================

An alert is cleared only by evidence that its condition is gone: a run that failed says
nothing about balances or brackets, and a run that could not verify balances (or one
bracket) leaves those alerts as they are. Re-firing refreshes the active alert of its key
(`last_seen`, `count` = evaluations that found it); nothing is duplicated. The rule
evaluation is pure (`assess`); `AlertEngine` does the I/O around it and keeps working
from memory when the ledger is unreachable, since that is exactly when alerts matter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum

from console.domain.alerts import Alert, AlertRule, alert_key
from console.domain.reconciliation import (
    AuditEntry,
    DiscrepancyKind,
    RunRecord,
    RunStatus,
    Severity,
    TradingMode,
)
from console.engine.ports import LedgerPort
from console.engine.reconcile_service import RunOutcome, wall_clock_ms
from console.engine.session import EngineSession
from console.reconcile.diff import SKIP_BALANCES, SKIP_ORDERS, SKIP_POSITIONS

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
ALL_RULES = frozenset(AlertRule)
TIMER_RULES = frozenset({AlertRule.RECONCILE_STALE, AlertRule.RECONCILE_FAILING})
"""Rules whose truth can change without a new run (time passing, a run loop that crashes
before it produces an outcome)."""


@dataclass(frozen=True, slots=True)
class AlertConfig:
    max_consecutive_failures: int = 3
    stale_after_ms: int = 10 * MINUTE_MS
    timer_s: float = 30.0

    def __post_init__(self) -> None:
        if self.max_consecutive_failures < 0 or self.stale_after_ms <= 0 or self.timer_s <= 0:
            raise ValueError("alert config: thresholds must be positive")


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What the rules look at. `watching_since` stands in for the last OK run when there
    has never been one (a fresh ledger gets the same grace as a healthy one)."""

    venue: str
    account: str
    now: int
    consecutive_failures: int = 0
    last_run: RunRecord | None = None
    last_ok_at: int | None = None
    watching_since: int = 0


@dataclass(frozen=True, slots=True)
class Signal:
    rule: AlertRule
    subject: str
    severity: Severity
    message: str


@dataclass(frozen=True, slots=True)
class AlertPlan:
    """`observations` go to `LedgerPort.upsert_alerts` (count 1 each: one more sighting);
    `raised` are the keys seen for the first time; `cleared` the active alerts that end."""

    observations: tuple[Alert, ...]
    raised: tuple[Alert, ...]
    cleared: tuple[Alert, ...]

    @property
    def is_empty(self) -> bool:
        return not (self.observations or self.cleared)


def _minutes(ms: int) -> str:
    return f"{ms / MINUTE_MS:.1f} min"


Settled = dict[AlertRule, set[str] | None]


def signals(facts: AlertFacts, config: AlertConfig,
            rules: Collection[AlertRule] = ALL_RULES) -> tuple[list[Signal], Settled]:
    """What fires now, and what may be cleared: per evaluated rule, None (every subject
    not firing) or the set of subjects whose absence was *not* verified (kept)."""
    scope = f"{facts.venue}/{facts.account}"
    out: list[Signal] = []
    settled: Settled = {}
    if AlertRule.RECONCILE_FAILING in rules:
        settled[AlertRule.RECONCILE_FAILING] = None
        if facts.consecutive_failures > config.max_consecutive_failures:
            errors = facts.last_run.errors if facts.last_run is not None else ()
            detail = f"; last error: {errors[0]}" if errors else ""
            out.append(Signal(AlertRule.RECONCILE_FAILING, scope, Severity.CRITICAL,
                              f"{facts.consecutive_failures} reconciliations of {scope} failed "
                              f"in a row{detail}"))
    if AlertRule.RECONCILE_STALE in rules:
        settled[AlertRule.RECONCILE_STALE] = None
        since = facts.last_ok_at if facts.last_ok_at is not None else facts.watching_since
        age = facts.now - since
        if age > config.stale_after_ms:
            last = ("never" if facts.last_ok_at is None
                    else f"{_minutes(age)} ago")
            out.append(Signal(AlertRule.RECONCILE_STALE, scope, Severity.CRITICAL,
                              f"no successful reconciliation of {scope} for more than "
                              f"{_minutes(config.stale_after_ms)} (last OK run: {last})"))
    run = facts.last_run
    if run is None or run.status is RunStatus.FAILED:
        return out, settled  # a failed run verified nothing: run-based alerts stay as they are
    if AlertRule.TRADING_PAUSED in rules:
        settled[AlertRule.TRADING_PAUSED] = None
        if run.mode is TradingMode.PAUSED:
            out.append(Signal(AlertRule.TRADING_PAUSED, scope, Severity.CRITICAL,
                              f"new risk paused on {scope}: {run.pause_reason or 'hard desync'}"))
    if AlertRule.BALANCE_MISMATCH in rules and SKIP_BALANCES not in run.unverified:
        settled[AlertRule.BALANCE_MISMATCH] = {
            u.split(":", 1)[0].removeprefix("balance ") for u in run.unverified
            if u.startswith("balance ")}
        out.extend(Signal(AlertRule.BALANCE_MISMATCH, d.subject, Severity.WARNING, d.summary)
                   for d in run.discrepancies if d.kind is DiscrepancyKind.BALANCE_MISMATCH)
    if (AlertRule.MISSING_PROTECTION in rules and SKIP_ORDERS not in run.unverified
            and SKIP_POSITIONS not in run.unverified):
        settled[AlertRule.MISSING_PROTECTION] = {
            u.split(" ", 2)[1] for u in run.unverified if u.startswith("bracket ")}
        out.extend(Signal(AlertRule.MISSING_PROTECTION, d.subject, Severity.CRITICAL,
                          d.summary)
                   for d in run.discrepancies
                   if d.kind is DiscrepancyKind.BRACKET_MISSING_PROTECTION)
    return out, settled


def assess(facts: AlertFacts, active: Sequence[Alert], config: AlertConfig,
           rules: Collection[AlertRule] = ALL_RULES) -> AlertPlan:
    """Pure: the alert writes that bring `active` (this account's active alerts) in line
    with the facts."""
    fired, settled = signals(facts, config, rules)
    mine = {a.key: a for a in active
            if a.venue == facts.venue and a.account == facts.account and a.is_active}
    now = facts.now
    observations: dict[str, Alert] = {}
    raised: list[Alert] = []
    for signal in fired:
        key = alert_key(signal.rule.value, signal.subject)
        if key in observations:
            continue
        before = mine.get(key)
        observation = Alert(
            venue=facts.venue, account=facts.account, rule=signal.rule.value,
            subject=signal.subject, severity=signal.severity, message=signal.message,
            first_seen=now if before is None else min(before.first_seen, now),
            last_seen=now if before is None else max(before.last_seen, now), count=1)
        observations[key] = observation
        if before is None:
            raised.append(observation)
    cleared: list[Alert] = []
    for key, alert in mine.items():
        if key in observations:
            continue
        try:
            rule = AlertRule(alert.rule)
        except ValueError:
            continue  # someone else's rule: not ours to clear
        if rule not in settled:
            continue
        kept = settled[rule]
        if kept is not None and alert.subject in kept:
            continue
        cleared.append(alert.evolve(cleared_at=max(now, alert.last_seen)))
    return AlertPlan(tuple(observations.values()), tuple(raised), tuple(cleared))


class AlertChange(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"
    ACKNOWLEDGED = "acknowledged"


@dataclass(frozen=True, slots=True)
class AlertNotice:
    change: AlertChange
    alert: Alert


AlertListener = Callable[[AlertNotice], Awaitable[None] | None]


class AlertEngine:
    """The alerts of one (venue, account): evaluated after each run and every `timer_s`.

    Listeners (the UI: a desktop notification for critical alerts) hear of raised, cleared
    and acknowledged alerts, not of each re-sighting. A listener that raises is logged and
    skipped.
    """

    def __init__(self, ledger: LedgerPort, venue: str, account: str, *,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 config: AlertConfig | None = None,
                 failures: Callable[[], int] = lambda: 0) -> None:
        self.ledger = ledger
        self.venue = venue
        self.account = account
        self.clock_ms = clock_ms
        self.config = config or AlertConfig()
        self._failures = failures
        self._watching_since = clock_ms()
        self._last_run: RunRecord | None = None
        self._last_ok_at: int | None = None
        self._history_loaded = False
        self._seen_failures = -1
        self._known: dict[str, Alert] = {}  # last known active alerts (ledger down: memory)
        self._listeners: list[AlertListener] = []
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    # -- subscriptions and lifecycle -------------------------------------------------------

    def on_alert(self, listener: AlertListener) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        """Start the timer (needs a running loop). The first run outcome starts it too."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._timer(),
                                                                name="alert-timer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _timer(self) -> None:
        while True:
            await asyncio.sleep(self.config.timer_s)
            try:
                await self.tick()
            except Exception:
                # The timer is the watchdog of last resort: it must outlive any one failure.
                log.exception("alerts %s/%s: timer evaluation failed", self.venue, self.account)

    # -- evaluation ------------------------------------------------------------------------

    async def on_run(self, outcome: RunOutcome) -> None:
        """Reconcile-service listener: every run is evidence. Never raises (a listener
        that raised would fail the run)."""
        run = outcome.run
        if (run.venue, run.account) != (self.venue, self.account):
            return
        self._last_run = run
        if run.status is RunStatus.OK:
            self._last_ok_at = max(self._last_ok_at or 0, run.finished_at)
        try:
            await self.evaluate(ALL_RULES)
        except Exception:
            log.exception("alerts %s/%s: evaluation after run %s failed", self.venue,
                          self.account, run.run_id)
        with contextlib.suppress(RuntimeError):
            self.start()

    async def tick(self) -> list[AlertNotice]:
        """The timer's evaluation: staleness, and failures counted without an outcome."""
        rules = {AlertRule.RECONCILE_STALE}
        if self._failures() != self._seen_failures:
            rules.add(AlertRule.RECONCILE_FAILING)
        return await self.evaluate(rules)

    async def evaluate(self, rules: Collection[AlertRule] = ALL_RULES) -> list[AlertNotice]:
        """Assess `rules` now, write the outcome, tell the listeners; returns the notices."""
        async with self._lock:
            await self._load_history()
            failures = self._failures()
            self._seen_failures = failures
            facts = AlertFacts(self.venue, self.account, self.clock_ms(),
                               consecutive_failures=failures, last_run=self._last_run,
                               last_ok_at=self._last_ok_at,
                               watching_since=self._watching_since)
            active = await self._active_or_known()
            plan = assess(facts, active, self.config, rules)
            if plan.is_empty:
                return []
            try:
                await asyncio.to_thread(self.ledger.upsert_alerts,
                                        (*plan.observations, *plan.cleared))
            except Exception:
                log.exception("alerts %s/%s: could not record alerts; keeping them in memory",
                              self.venue, self.account)
                stored = {a.key: a for a in active}
                for alert in plan.observations:
                    before = stored.get(alert.key)
                    stored[alert.key] = alert if before is None else before.evolve(
                        last_seen=alert.last_seen, count=before.count + 1,
                        severity=alert.severity, message=alert.message)
                for alert in plan.cleared:
                    stored.pop(alert.key, None)
                self._known = stored
            else:
                self._known = {a.key: a for a in await self._active_or_known()}
            notices = [AlertNotice(AlertChange.RAISED, self._known.get(a.key, a))
                       for a in plan.raised]
            notices += [AlertNotice(AlertChange.CLEARED, a) for a in plan.cleared]
        for notice in notices:
            # a raised alert that is not INFO needs attention; a cleared one is routine
            log.log(logging.WARNING if notice.change is AlertChange.RAISED
                    and notice.alert.severity is not Severity.INFO
                    else logging.INFO, "alert %s %s: %s", notice.change.value,
                    notice.alert.key, notice.alert.message)
        await self._notify(notices)
        return notices

    async def _load_history(self) -> None:
        """After a restart: the last run and the last OK run from the ledger."""
        if self._history_loaded:
            return
        try:
            runs = await asyncio.to_thread(self.ledger.list_runs, self.venue, self.account, 50)
        except Exception:
            log.exception("alerts %s/%s: could not read past runs", self.venue, self.account)
            return
        self._history_loaded = True
        if runs and self._last_run is None:
            self._last_run = runs[0]
        for run in runs:
            if run.status is RunStatus.OK:
                self._last_ok_at = max(self._last_ok_at or 0, run.finished_at)
                break

    async def _active_or_known(self) -> list[Alert]:
        try:
            return await asyncio.to_thread(self.ledger.alerts, self.venue, self.account, True)
        except Exception:
            log.exception("alerts %s/%s: could not read alerts; using the last known",
                          self.venue, self.account)
            return list(self._known.values())

    async def _notify(self, notices: Sequence[AlertNotice]) -> None:
        for notice in notices:
            for listener in self._listeners:
                try:
                    result = listener(notice)
                    if asyncio.iscoroutine(result):
                        await result
                except Exception:
                    log.exception("alert listener failed on %s", notice.alert.key)

    # -- the operator ----------------------------------------------------------------------

    async def active(self) -> list[Alert]:
        """Active alerts, critical first."""
        return await asyncio.to_thread(self.ledger.alerts, self.venue, self.account, True)

    async def history(self, limit: int = 200) -> list[Alert]:
        return await asyncio.to_thread(self.ledger.alerts, self.venue, self.account, False,
                                       limit)

    async def acknowledge(self, ref: int | str, operator: str) -> Alert:
        """Record that `operator` has seen an alert (by id, or key ``rule:subject``), and
        audit it. The alert stays active until its condition is gone."""
        at = self.clock_ms()
        alert = await asyncio.to_thread(self.ledger.acknowledge_alert, ref, operator, at,
                                        venue=self.venue, account=self.account)
        entry = AuditEntry(
            at=at, actor=f"operator:{operator}", action="acknowledge_alert",
            subject=alert.key, venue=alert.venue, account=alert.account,
            details=(("alert_id", str(alert.alert_id)), ("severity", alert.severity.value),
                     ("message", alert.message)))
        await asyncio.to_thread(self.ledger.append_audit, entry)
        if alert.is_active:
            self._known[alert.key] = alert
        await self._notify([AlertNotice(AlertChange.ACKNOWLEDGED, alert)])
        return alert


def attach_alerts(session: EngineSession, config: AlertConfig | None = None) -> AlertEngine:
    """An `AlertEngine` for the session's account, evaluated after every reconciliation.

    The timer starts with the first run (or `start()`); call `stop()` on shutdown.
    """
    reconciler = session.reconciler
    engine = AlertEngine(session.ledger, session.venue.venue, session.venue.account,
                         clock_ms=reconciler.clock_ms, config=config,
                         failures=lambda: reconciler.consecutive_failures)
    reconciler.on_run(engine.on_run)
    if session.commands is not None:
        session.commands.alerts = engine  # acknowledgements by ledger command go through it
    return engine
