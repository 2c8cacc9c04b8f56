"""From discrepancies to a plan: policy decisions, de-duplication, pause and resume."""

from __future__ import annotations

from dataclasses import dataclass

from console.domain.reconciliation import (
    Action,
    ActionKind,
    Decision,
    Discrepancy,
    Plan,
    PlannedAction,
    Severity,
    TradingMode,
)
from console.domain.snapshot import LedgerChanges, LedgerSnapshot, VenueSnapshot
from console.domain.text import plural
from console.reconcile.apply import apply_actions
from console.reconcile.config import ReconcileConfig
from console.reconcile.diff import DiffResult, diff
from console.reconcile.orders import venue_key
from console.reconcile.policy import decide, hard_desync

TRADING_SUBJECT = "trading"


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """One pure reconciliation: what differs, what was not verified, the plan, and the
    ledger changes of its automatic ledger actions (what the engine commits with the run)."""

    discrepancies: tuple[Discrepancy, ...]
    unverified: tuple[str, ...]
    plan: Plan
    changes: LedgerChanges
    tracked_orders: int
    deferred: tuple[str, ...] = ()


def plan(diff_result: DiffResult, ledger: LedgerSnapshot, venue: VenueSnapshot,  # noqa: PLR0917
         now: int, config: ReconcileConfig, current_mode: TradingMode) -> Plan:
    """Decide each proposed action by policy and set the trading mode.

    A bracket step marked `follows_venue` takes the decision of the venue actions beside
    it (clearing a bracket waits for the cancel of its entry). An order cancelled by two
    findings is cancelled once. `ledger`, `venue` and `now` identify the run: a diff of
    other snapshots is refused.
    """
    if ((diff_result.venue, diff_result.account, diff_result.taken_at)
            != (venue.venue, venue.account, venue.taken_at)
            or (ledger.venue, ledger.account) != (venue.venue, venue.account)):
        raise ValueError("plan: the diff was computed from other snapshots")
    planned: list[PlannedAction] = []
    cancels: set[str] = set()
    placements: set[str] = set()
    for finding in diff_result.findings:
        held = any(decide(s.action.kind, config) is Decision.NEEDS_APPROVAL
                   for s in finding.steps if s.action.kind.changes_venue)
        for step in finding.steps:
            action = step.action
            if action.kind is ActionKind.CANCEL_ORDER:
                key = venue_key(action.order) if action.order is not None else action.subject
                if key in cancels:
                    continue
                cancels.add(key)
            elif action.kind is ActionKind.PLACE_PROTECTION:
                if action.subject in placements:
                    continue
                placements.add(action.subject)
            decision = (Decision.NEEDS_APPROVAL if step.follows_venue and held
                        else decide(action.kind, config))
            planned.append(PlannedAction(action, decision))

    discrepancies = diff_result.discrepancies
    unverified = diff_result.unverified
    reason = hard_desync(discrepancies, diff_result.tracked_orders, config)
    if reason:
        pause = Action(ActionKind.PAUSE_TRADING, subject=TRADING_SUBJECT,
                       summary=f"pause new risk (reduce-only still allowed): {reason}",
                       severity=Severity.CRITICAL)
        return Plan((PlannedAction(pause, Decision.AUTO), *planned), TradingMode.PAUSED,
                    pause_reason=reason, unverified=unverified)
    if current_mode is TradingMode.PAUSED:
        if not discrepancies and not unverified:
            resume = Action(ActionKind.RESUME_TRADING, subject=TRADING_SUBJECT,
                            summary="clean reconciliation: lift the desync pause")
            return Plan((*planned, PlannedAction(resume, Decision.AUTO)), TradingMode.TRADING,
                        unverified=unverified)
        return Plan(tuple(planned), TradingMode.PAUSED,
                    pause_reason=(f"still paused: the last reconciliation was not clean "
                                  f"({plural(len(discrepancies), 'discrepancy')}, "
                                  f"{plural(len(unverified), 'check')} not verified)"),
                    unverified=unverified)
    return Plan(tuple(planned), current_mode, unverified=unverified)


def reconcile(ledger: LedgerSnapshot, venue: VenueSnapshot, now: int, config: ReconcileConfig,
              current_mode: TradingMode) -> Reconciliation:
    """diff, plan, and the ledger changes of the plan's automatic actions."""
    result = diff(ledger, venue, now, config)
    the_plan = plan(result, ledger, venue, now, config, current_mode)
    changes = apply_actions(ledger, the_plan.auto, now)
    return Reconciliation(discrepancies=result.discrepancies, unverified=result.unverified,
                          plan=the_plan, changes=changes, tracked_orders=result.tracked_orders,
                          deferred=result.deferred)
