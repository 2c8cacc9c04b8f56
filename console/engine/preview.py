"""Plan-only reconciliation: what a run would find and do now, with nothing applied.

An operator who is about to let the engine loose on an account (after an outage, before
switching venue actions to automatic, after editing the policy) wants to see the plan
first. `preview_reconcile` runs the very step a run runs (`ReconcileService.assess`: the
same fetches, the same pure core, the same policy) and stops before the run would record
anything: no run, no action and no audit entry is written, nothing is sent to the venue,
and the session's risk state, reach-back memory and pending orders are left as they are.
It takes the service's run lock, so it never interleaves with a real run.

Each planned action is shown with the decision the run would carry out:

- auto: the run applies it at once (a ledger correction, or a venue action under an
  automatic venue policy);
- needs approval: it would wait in the inbox;
- blocked: it would not get through now, whatever the policy says (the profile is
  read-only, or trading is halted, paused or quarantined for the order it would send, or
  an operator's rejection of it still holds); `why_blocked` says which.

The venue calls a preview makes count against the venue's rate limits like any other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from console.domain import LedgerSnapshot, VenueSnapshot
from console.domain.reconciliation import (
    Action,
    ActionKind,
    ActionState,
    Decision,
    Discrepancy,
    PlannedAction,
    RunStatus,
    RunTrigger,
    TradingMode,
)
from console.engine.actions import HOLD_PREFIX
from console.engine.order_manager import instrument_key
from console.engine.reconcile_service import (
    BALANCES,
    FILLS,
    OPEN_ORDERS,
    POSITIONS,
    Assessment,
    ReconcileService,
)
from console.engine.risk import RiskState


class PlanDecision(StrEnum):
    AUTO = "auto"
    NEEDS_APPROVAL = "needs_approval"
    BLOCKED = "blocked"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class PreviewAction:
    """One planned action and what the run would do with it."""

    index: int
    kind: ActionKind
    subject: str
    summary: str
    decision: PlanDecision
    policy: Decision
    """The policy's own decision (a blocked action keeps it: what approval would ask)."""
    changes_venue: bool
    why_blocked: str = ""
    worker: str = ""
    """"user/worker" for bracket actions ("" otherwise)."""
    action: Action | None = None
    """The full payload (orders, fills, positions), for a caller that needs it."""


@dataclass(frozen=True, slots=True)
class Holding:
    """How many records of one list the venue listed and the ledger held (open orders: the
    ledger's active ones; fills: both within the fetched window). `venue` is None when the
    venue's list could not be read (the run would not verify it)."""

    name: str
    venue: int | None
    ledger: int


@dataclass(frozen=True, slots=True)
class ReconcilePreview:
    """A reconciliation's findings and plan, computed and not applied."""

    venue: str
    account: str
    trigger: RunTrigger
    started_at: int
    finished_at: int
    status: RunStatus
    """What the run would be recorded as (ok, partial: something not verified, failed)."""
    mode_before: TradingMode
    mode_after: TradingMode
    pause_reason: str
    halted: bool
    read_only: bool
    discrepancies: tuple[Discrepancy, ...]
    actions: tuple[PreviewAction, ...]
    holdings: tuple[Holding, ...]
    venue_calls: tuple[tuple[str, int], ...]
    fills_window: tuple[int, int] | None
    errors: tuple[str, ...]
    unverified: tuple[str, ...]
    timings: tuple[tuple[str, float], ...]
    """(stage, milliseconds), in the order the run goes through them."""
    duration_ms: float
    ledger: LedgerSnapshot | None = None
    venue_snapshot: VenueSnapshot | None = None

    def with_decision(self, decision: PlanDecision) -> tuple[PreviewAction, ...]:
        return tuple(a for a in self.actions if a.decision is decision)

    @property
    def auto(self) -> tuple[PreviewAction, ...]:
        return self.with_decision(PlanDecision.AUTO)

    @property
    def needs_approval(self) -> tuple[PreviewAction, ...]:
        return self.with_decision(PlanDecision.NEEDS_APPROVAL)

    @property
    def blocked(self) -> tuple[PreviewAction, ...]:
        return self.with_decision(PlanDecision.BLOCKED)

    @property
    def venue_calls_total(self) -> int:
        return sum(n for _, n in self.venue_calls)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (plain types; Decimals as text inside the evidence)."""
        by_kind = Counter(d.kind.value for d in self.discrepancies)
        return {
            "plan_only": True,
            "venue": self.venue, "account": self.account, "trigger": self.trigger.value,
            "status": self.status.value, "mode_before": self.mode_before.value,
            "mode_after": self.mode_after.value, "pause_reason": self.pause_reason,
            "halted": self.halted, "read_only": self.read_only,
            "started_at": self.started_at, "finished_at": self.finished_at,
            "duration_ms": round(self.duration_ms, 3),
            "timings_ms": {name: round(ms, 3) for name, ms in _merged(self.timings)},
            "venue_calls": dict(self.venue_calls),
            "venue_calls_total": self.venue_calls_total,
            "fills_window": (None if self.fills_window is None
                             else {"from": self.fills_window[0], "to": self.fills_window[1]}),
            "held": {h.name: {"venue": h.venue, "ledger": h.ledger} for h in self.holdings},
            "discrepancies": {
                "total": len(self.discrepancies),
                "by_kind": dict(sorted(by_kind.items())),
                "items": [{"kind": d.kind.value, "subject": d.subject, "symbol": d.symbol,
                           "summary": d.summary, "ledger": dict(d.ledger),
                           "venue": dict(d.venue)} for d in self.discrepancies],
            },
            "actions": {
                "planned": len(self.actions),
                "auto": len(self.auto),
                "needs_approval": len(self.needs_approval),
                "blocked": len(self.blocked),
                "items": [{"index": a.index, "kind": a.kind.value, "subject": a.subject,
                           "summary": a.summary, "decision": a.decision.value,
                           "policy": a.policy.value, "changes_venue": a.changes_venue,
                           "why_blocked": a.why_blocked, "worker": a.worker}
                          for a in self.actions],
            },
            "errors": list(self.errors),
            "unverified": list(self.unverified),
        }


def _merged(timings: tuple[tuple[str, float], ...]) -> list[tuple[str, float]]:
    """Stages that occur twice (the ledger is read before and after the venue) summed."""
    out: dict[str, float] = {}
    for name, ms in timings:
        out[name] = out.get(name, 0.0) + ms
    return list(out.items())


# -- what would stop an action ---------------------------------------------------------------


def _sends(action: Action) -> tuple[bool, str] | None:
    """(reduce-only, instrument) of the order an action would send; None for a cancel
    (cancels always go). The instrument is keyed as the order manager keys it."""
    if action.kind is ActionKind.PLACE_PROTECTION and action.order is not None:
        return action.order.reduce_only, instrument_key(action.order)
    position = action.position
    if action.kind is ActionKind.FLATTEN_POSITION and position is not None:
        return True, f"{position.category.value}:{position.symbol}"  # reduce-only market
    return None


def why_blocked(action: Action, *, read_only: bool, risk: RiskState) -> str:
    """Why a venue-changing action would not get through now ("" when it would): the
    executor refuses every one on a read-only profile, and the order manager refuses an
    order the risk state refuses (halt, pause, quarantine), as it would in a run."""
    if not action.kind.changes_venue:
        return ""
    if read_only:
        return "the profile is read-only: venue-changing actions are disabled"
    sent = _sends(action)
    if sent is None:
        return ""
    reduce_only, instrument = sent
    return risk.refusal(reduce_only=reduce_only, instrument=instrument)


def held_rejection(planned: PlannedAction) -> str:
    """Why a proposal is held back ("" when it is not): an operator rejected it and the
    venue still shows what it showed then (`ActionExecutor.hold_rejected`), so the run
    records it rejected again instead of asking."""
    if planned.state is not ActionState.REJECTED or \
            not planned.applied_by.startswith(HOLD_PREFIX):
        return ""
    reason = f": {planned.error}" if planned.error else ""
    return (f"rejected by {planned.applied_by.removeprefix(HOLD_PREFIX)}{reason}; the "
            "rejection holds while the venue shows the same")


def blocked_because(planned: PlannedAction, *, read_only: bool, risk: RiskState) -> str:
    """Why the run would not carry this action out ("" when it would, or would ask)."""
    return held_rejection(planned) or why_blocked(planned.action, read_only=read_only,
                                                  risk=risk)


def classify(planned: PlannedAction, *, read_only: bool, risk: RiskState) -> PlanDecision:
    if blocked_because(planned, read_only=read_only, risk=risk):
        return PlanDecision.BLOCKED
    return (PlanDecision.AUTO if planned.decision is Decision.AUTO
            else PlanDecision.NEEDS_APPROVAL)


# -- building the report ---------------------------------------------------------------------


def _holdings(assessed: Assessment) -> tuple[Holding, ...]:
    ledger, venue = assessed.ledger, assessed.venue
    if ledger is None or venue is None:
        return ()

    def count(items: tuple[Any, ...] | None) -> int | None:
        return None if items is None else len(items)

    active = sum(1 for o in ledger.orders if o.is_active)
    return (
        Holding(OPEN_ORDERS, count(venue.open_orders), active),
        Holding(POSITIONS, count(venue.positions), len(ledger.positions)),
        Holding(BALANCES, count(venue.balances), len(ledger.balances)),
        Holding(FILLS, count(venue.fills), len(ledger.fills)),
    )


def build_preview(assessed: Assessment, *, mode_before: TradingMode, risk: RiskState,
                  read_only: bool) -> ReconcilePreview:
    """The report of one assessment. `risk` is the risk state the run would apply its venue
    actions under (the plan's mode already set on it); `mode_before` the mode the run
    started from."""
    run = assessed.run
    actions = tuple(
        PreviewAction(
            index=i, kind=p.action.kind, subject=p.action.subject, summary=p.action.summary,
            decision=classify(p, read_only=read_only, risk=risk), policy=p.decision,
            changes_venue=p.action.kind.changes_venue,
            why_blocked=blocked_because(p, read_only=read_only, risk=risk),
            worker=(f"{p.action.user_id}/{p.action.worker_id}" if p.action.worker_id else ""),
            action=p.action)
        for i, p in enumerate(run.actions))
    return ReconcilePreview(
        venue=run.venue, account=run.account, trigger=run.trigger,
        started_at=run.started_at, finished_at=run.finished_at, status=run.status,
        mode_before=mode_before, mode_after=run.mode, pause_reason=run.pause_reason,
        halted=risk.halted, read_only=read_only, discrepancies=run.discrepancies,
        actions=actions, holdings=_holdings(assessed), venue_calls=run.venue_calls,
        fills_window=run.fills_window, errors=run.errors, unverified=run.unverified,
        timings=assessed.timings, duration_ms=assessed.duration_ms,
        ledger=assessed.ledger, venue_snapshot=assessed.venue)


async def assess_into_report(service: ReconcileService, trigger: RunTrigger, *,
                             risk: RiskState | None = None, fresh: bool = False,
                             cold_start_workers: frozenset[tuple[str, str]] | None = None,
                             progress: Callable[[str], None] | None = None,
                             ) -> tuple[Assessment, ReconcilePreview]:
    """Assess (with `risk`, a state of the caller's own, or a copy of the service's) and
    build the report. Shared by the preview and the restart rehearsal."""
    assessed = await service.assess(trigger, risk=risk, fresh=fresh,
                                    cold_start_workers=cold_start_workers, progress=progress)
    planned_with = assessed.risk  # never the service's own: a copy, or the caller's
    mode_before = planned_with.mode  # the last run's mode, as the run restored it
    # the run sets the plan's mode before it sends its venue actions
    planned_with.set(assessed.run.mode, assessed.run.pause_reason)
    return assessed, build_preview(assessed, mode_before=mode_before, risk=planned_with,
                                   read_only=service.executor.read_only)


async def preview_reconcile(service: ReconcileService, *,
                            progress: Callable[[str], None] | None = None,
                            ) -> ReconcilePreview:
    """What the next reconciliation of `service` would find and do, applied nowhere.

    Planned as an on-demand run of this process: its orders in flight, a copy of its risk
    state, its memory of what it already asked. On a read-only profile (the executor's
    flag) every venue action is shown blocked."""
    _, report = await assess_into_report(service, RunTrigger.MANUAL, progress=progress)
    return report
