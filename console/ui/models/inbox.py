"""The discrepancy inbox: every action a run planned, with the discrepancy behind it.

An item pairs a `PlannedAction` with the `Discrepancy` that caused it (same subject and
kind), so the evidence pane can put the ledger's and the venue's values side by side.
Items awaiting approval are the operator's work; auto-applied ones are shown as done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject

from console.domain.reconciliation import (
    ActionKind,
    ActionState,
    Decision,
    Discrepancy,
    PlannedAction,
    RunRecord,
    RunTrigger,
)
from console.engine.actions import HOLD_PREFIX
from console.ui.format import DASH, fmt_decimal, fmt_local_tip, fmt_time
from console.ui.models.base import Column
from console.ui.models.orders import order_line
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState, Tone

HELD = "held"
"""`run_items(HELD)`: the standing rejections (an operator said no, the venue has not
changed since, so the runs keep recording the proposal rejected)."""


@dataclass(frozen=True, slots=True)
class InboxItem:
    run_id: str
    index: int
    run_started_at: int
    trigger: RunTrigger
    planned: PlannedAction
    discrepancy: Discrepancy | None

    @property
    def key(self) -> str:
        return f"{self.run_id}:{self.index}"

    @property
    def awaiting(self) -> bool:
        return (self.planned.decision is Decision.NEEDS_APPROVAL
                and self.planned.state is ActionState.PENDING)

    @property
    def changes_venue(self) -> bool:
        return self.planned.action.kind.changes_venue

    @property
    def rejected(self) -> bool:
        """An operator's rejection (or its hold): what "Un-reject" lifts."""
        return (self.planned.decision is Decision.NEEDS_APPROVAL
                and self.planned.state is ActionState.REJECTED)

    @property
    def held(self) -> bool:
        """Recorded rejected because an earlier rejection holds (the venue unchanged)."""
        return self.rejected and self.planned.applied_by.startswith(HOLD_PREFIX)

    @property
    def state_text(self) -> str:
        p = self.planned
        if self.awaiting:
            return "awaiting approval"
        if p.state is ActionState.APPLIED:
            return "done (auto)" if p.applied_by == "auto" else f"done ({p.applied_by})"
        if p.state is ActionState.PENDING:
            return "pending"
        if p.state is ActionState.SUPERSEDED:
            return "superseded"
        if self.held:
            who = p.applied_by.removeprefix(HOLD_PREFIX)
            return f"rejection holds ({who}; venue unchanged)"
        by = f" ({p.applied_by})" if p.applied_by else ""
        return f"{p.state.value}{by}"


def approval_effects(item: InboxItem) -> list[str]:
    """What approving `item` sends to the venue and what that changes, in the words of a
    confirmation: a "Send:" line, then what it does there."""
    action = item.planned.action
    if action.kind is ActionKind.CANCEL_ORDER and action.order is not None:
        return [f"Send: cancel {order_line(action.order)}",
                "  → the order leaves the venue's book; the ledger records the venue's "
                "answer (a fill that raced the cancel stays a fill)"]
    if action.kind is ActionKind.PLACE_PROTECTION and action.order is not None:
        order = action.order
        return [f"Send: a new {order.type.value}"
                f"{' reduce-only' if order.reduce_only else ''} order {order_line(order)}",
                "  → it rests on the venue and protects the position"]
    if action.kind is ActionKind.FLATTEN_POSITION and action.position is not None:
        position = action.position
        side = position.side.opposite.value if position.side is not None else "?"
        held = "long" if position.size > 0 else "short"
        return [f"Send: a reduce-only IOC market order {side} "
                f"{fmt_decimal(abs(position.size))} {position.symbol}",
                f"  → closes the {held} {fmt_decimal(abs(position.size))} "
                f"{position.symbol} position at the market price"]
    return [f"Send: {action.summary or action.kind.value}"]


def match_discrepancy(run: RunRecord, planned: PlannedAction) -> Discrepancy | None:
    """The discrepancy behind an action: same subject and kind, else same subject."""
    action = planned.action
    fallback = None
    for d in run.discrepancies:
        if d.subject != action.subject:
            continue
        if action.reason is None or d.kind is action.reason:
            return d
        fallback = fallback or d
    return fallback


def items_for_run(run: RunRecord) -> list[InboxItem]:
    return [InboxItem(run.run_id, i, run.started_at, run.trigger, p, match_discrepancy(run, p))
            for i, p in enumerate(run.actions)]


def pending_items(pending: Iterable[tuple[str, int, PlannedAction]],
                  runs: dict[str, RunRecord]) -> list[InboxItem]:
    """Items for `LedgerPort.pending_actions` answers, with the runs they come from."""
    out = []
    for run_id, index, planned in pending:
        run = runs.get(run_id)
        out.append(InboxItem(run_id, index, run.started_at if run else 0,
                             run.trigger if run else RunTrigger.MANUAL, planned,
                             match_discrepancy(run, planned) if run else None))
    return out


def _state_tone(item: InboxItem) -> Tone | None:
    if item.awaiting:
        return Tone.WARNING
    if item.held:
        return Tone.INFO
    state = item.planned.state
    if state is ActionState.APPLIED:
        return Tone.OK
    if state is ActionState.FAILED:
        return Tone.CRITICAL
    return Tone.MUTED


def _kind_tone(item: InboxItem) -> Tone | None:
    return Tone.WARNING if item.changes_venue else None


COLUMNS: tuple[Column[InboxItem], ...] = (
    Column("Run", lambda i: fmt_time(i.run_started_at), sort=lambda i: i.run_started_at,
           tooltip=lambda i: f"run {i.run_id} ({i.trigger.value}) at "
                             f"{fmt_local_tip(i.run_started_at)}", width=120),
    Column("#", lambda i: str(i.index), sort=lambda i: i.index, numeric=True, width=32),
    Column("Action", lambda i: i.planned.action.kind.value, tone=_kind_tone, width=130),
    Column("Symbol", lambda i: (i.discrepancy.symbol if i.discrepancy else "") or DASH,
           width=80),
    Column("Summary", lambda i: i.planned.action.summary, tooltip=lambda i: (
        i.discrepancy.summary if i.discrepancy else i.planned.action.summary), width=380),
    Column("State", lambda i: i.state_text, tone=_state_tone, width=150),
    Column("Reason", lambda i: i.discrepancy.kind.value if i.discrepancy else DASH,
           width=160),
)


class InboxModel(ZonedModel[InboxItem]):
    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 50,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda i: i.key, time_columns={"Run"}, theme=theme,
                         flush_ms=flush_ms, parent=parent)
