"""Restart rehearsal: what a cold start of this account's engine would do now.

A cold start (the process died, a new one starts on the same ledger) does three things
before anything may trade (`EngineSession.__init__` and `start`): it rebuilds the halt of
an unresumed emergency stop from the audit log (`EmergencyStop.restore`), runs the
startup reconciliation with its own workers treated as restarting (a void bracket entry
is cancelled, a bracket whose position closed while away is cleared, missing protection
is re-placed, unknown orders with our prefix are cancelled: docs/architecture.md,
"Orders"), and then each bracket runner takes up its saved bracket on that plan
(`BracketRunner.resume`).

`rehearse_restart` computes the same with nothing applied: a fresh risk state restored
from the ledger as a new process would (the running session's is not touched), a
startup plan made by the service's own step (`ReconcileService.assess`) as a process
that has nothing in flight and has asked about nothing yet, and, per restarting worker,
the resume outcome that plan leads to. Nothing is written, sent or told to a listener.

Which workers restart: by default those attached to this session (its bracket runners);
a session with none (the CLI) takes every worker with a saved runner state on the account
as its own. On a ledger shared with another process, name the workers: another process's
live worker must never be rehearsed as gone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from console.domain import RunnerState
from console.domain.reconciliation import ActionKind, DiscrepancyKind, RunTrigger
from console.engine.brackets import ResumeOutcome
from console.engine.emergency import EmergencyStop
from console.engine.preview import (
    PlanDecision,
    PreviewAction,
    ReconcilePreview,
    assess_into_report,
)
from console.engine.reconcile_service import RunOutcome
from console.engine.risk import RiskState
from console.engine.session import EngineSession
from console.engine.strategy import StrategyRegistry
from console.errors import UserFacingError

Worker = tuple[str, str]


class RehearsalError(UserFacingError):
    """A rehearsal asked for something it cannot rehearse (a malformed worker name)."""


@dataclass(frozen=True, slots=True)
class BracketForecast:
    """What one restarting worker's bracket runner would make of the startup plan."""

    user_id: str
    worker_id: str
    symbol: str
    """The saved bracket's symbol ("" when the worker has none saved)."""
    outcome: ResumeOutcome
    notes: tuple[str, ...] = ()

    @property
    def worker(self) -> str:
        return f"{self.user_id}/{self.worker_id}"


@dataclass(frozen=True, slots=True)
class RestartRehearsal:
    """What a cold start would do now, computed and not applied."""

    venue: str
    account: str
    workers: tuple[str, ...]
    """The restarting workers ("user/worker"), as the startup plan treats them."""
    workers_from: str
    """How they were chosen (named, this session's runners, the saved runner states)."""
    halted: bool
    halt_reason: str
    plan: ReconcilePreview
    """The startup reconciliation's findings and plan (trigger STARTUP)."""
    brackets: tuple[BracketForecast, ...]
    in_flight_now: tuple[str, ...]
    """Orders this process is sending right now: a process that died now would leave them
    PENDING_NEW with no sender, for the startup run to settle by the venue's word."""

    def _of(self, *kinds: ActionKind) -> tuple[PreviewAction, ...]:
        return tuple(a for a in self.plan.actions if a.kind in kinds)

    @property
    def cancels(self) -> tuple[PreviewAction, ...]:
        """Orders it would cancel (void entries, orphaned legs, unknown orders of ours)."""
        return self._of(ActionKind.CANCEL_ORDER)

    @property
    def restores(self) -> tuple[PreviewAction, ...]:
        """Saved brackets whose ids or size it would bring up to date."""
        return self._of(ActionKind.RESTORE_BRACKET, ActionKind.UPDATE_BRACKET)

    @property
    def adoptions(self) -> tuple[PreviewAction, ...]:
        """Venue orders the ledger would take in (ADOPT_ORDER)."""
        return self._of(ActionKind.ADOPT_ORDER)

    @property
    def protections(self) -> tuple[PreviewAction, ...]:
        """Missing stop-losses and take-profits it would place again."""
        return self._of(ActionKind.PLACE_PROTECTION)

    @property
    def clears(self) -> tuple[PreviewAction, ...]:
        """Saved brackets it would clear (void, or closed while away)."""
        return self._of(ActionKind.CLEAR_BRACKET)

    @property
    def flattens(self) -> tuple[PreviewAction, ...]:
        return self._of(ActionKind.FLATTEN_POSITION)

    def to_dict(self) -> dict[str, Any]:
        def items(actions: tuple[PreviewAction, ...]) -> list[dict[str, Any]]:
            return [{"index": a.index, "subject": a.subject, "summary": a.summary,
                     "decision": a.decision.value, "why_blocked": a.why_blocked,
                     "worker": a.worker} for a in actions]

        return {
            "rehearsal": True, "venue": self.venue, "account": self.account,
            "workers": list(self.workers), "workers_from": self.workers_from,
            "halted": self.halted, "halt_reason": self.halt_reason,
            "cancel": items(self.cancels), "restore": items(self.restores),
            "adopt": items(self.adoptions), "place_protection": items(self.protections),
            "clear_bracket": items(self.clears), "flatten": items(self.flattens),
            "brackets": [{"worker": b.worker, "symbol": b.symbol, "outcome": b.outcome.value,
                          "notes": list(b.notes)} for b in self.brackets],
            "in_flight_now": list(self.in_flight_now),
            "plan": self.plan.to_dict(),
        }


def parse_worker(text: str) -> Worker:
    """"user/worker" (as the inbox and the audit log show them)."""
    user, sep, worker = text.partition("/")
    if not sep or not user or not worker or "/" in worker:
        raise RehearsalError(f"worker {text!r}: expected USER/WORKER, e.g. demo/w1")
    return user, worker


async def _restored_risk(session: EngineSession) -> RiskState:
    """The risk state a new process starts with: a halt rebuilt from the audit log and an
    operator's lift of the last run's pause, by the emergency stop's own `restore`, on a
    state of this rehearsal's (the session's own is not touched)."""
    risk = RiskState()

    async def never() -> RunOutcome:
        raise AssertionError("a rehearsal never reconciles through its emergency stop")

    restorer = EmergencyStop(session.venue, session.ledger, session.orders, risk,
                             reconcile=never, strategies=StrategyRegistry(),
                             clock_ms=session.clock_ms)
    await asyncio.to_thread(restorer.restore)
    return risk


def _forecast(state: RunnerState, plan: ReconcilePreview) -> BracketForecast:
    """`BracketRunner.resume`'s outcome on this plan (`_settle`, read from the plan).

    A bracket the run clears by itself is gone (cleared); one whose clearing waits for
    the operator is held; missing protection the run places itself is adopted
    (protection restored), otherwise it waits (protection pending); anything else is
    monitored again (restored)."""
    user, worker = state.user_id, state.worker_id
    mine = [a for a in plan.actions if a.action is not None
            and a.action.worker_id == worker and a.action.user_id in ("", user)]
    notes = tuple(a.summary for a in mine if a.summary)
    bracket = state.bracket
    if bracket is None:
        return BracketForecast(user, worker, "", ResumeOutcome.IDLE, notes)
    clears = [a for a in mine if a.kind is ActionKind.CLEAR_BRACKET]
    if clears:
        outcome = (ResumeOutcome.CLEARED if all(a.decision is PlanDecision.AUTO for a in clears)
                   else ResumeOutcome.HELD)
        return BracketForecast(user, worker, bracket.symbol, outcome, notes)
    places = [a for a in mine if a.kind is ActionKind.PLACE_PROTECTION]
    missing = places or any(a.kind is ActionKind.ALERT and a.action is not None
                            and a.action.reason is DiscrepancyKind.BRACKET_MISSING_PROTECTION
                            for a in mine)
    if places and all(a.decision is PlanDecision.AUTO for a in places):
        outcome = ResumeOutcome.PROTECTION_RESTORED
    elif missing:
        outcome = ResumeOutcome.PROTECTION_PENDING
    else:
        outcome = ResumeOutcome.RESTORED
    subject = f"{user}/{worker}"
    unverified = tuple(u for u in plan.unverified if subject in u)
    return BracketForecast(user, worker, bracket.symbol, outcome, (*notes, *unverified))


async def rehearse_restart(session: EngineSession, *,
                           workers: Collection[Worker] | None = None,
                           progress: Callable[[str], None] | None = None) -> RestartRehearsal:
    """What a cold start of `session`'s account would do now (see the module doc)."""
    venue, account = session.venue.venue, session.venue.account
    states = await asyncio.to_thread(session.ledger.runner_states, venue, account)
    if workers is not None:
        chosen, source = frozenset(workers), "named"
    elif session.reconciler.local_workers:
        chosen, source = frozenset(session.reconciler.local_workers), "this session's runners"
    else:
        chosen = frozenset((s.user_id, s.worker_id) for s in states)
        source = "every worker with a saved runner state"
    risk = await _restored_risk(session)
    in_flight = session.orders.in_flight_since(session.orders.flight_mark())
    _, plan = await assess_into_report(session.reconciler, RunTrigger.STARTUP, risk=risk,
                                       fresh=True, cold_start_workers=chosen,
                                       progress=progress)
    saved = {(s.user_id, s.worker_id): s for s in states}
    forecasts = tuple(
        _forecast(saved.get(w) or RunnerState(w[0], w[1], venue, account), plan)
        for w in sorted(chosen))
    return RestartRehearsal(
        venue=venue, account=account, workers=tuple(f"{u}/{w}" for u, w in sorted(chosen)),
        workers_from=source, halted=risk.halted, halt_reason=risk.halt_reason, plan=plan,
        brackets=forecasts, in_flight_now=tuple(sorted(in_flight)))
