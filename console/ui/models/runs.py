"""Reconciliation run history (newest first): the inbox browses a run by selecting it."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from console.domain.reconciliation import (
    ActionState,
    Decision,
    RunRecord,
    RunStatus,
    TradingMode,
)
from console.ui.format import fmt_local_tip, fmt_time
from console.ui.models.base import Column
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState, Tone


def awaiting(run: RunRecord) -> int:
    return sum(1 for p in run.actions
               if p.decision is Decision.NEEDS_APPROVAL and p.state is ActionState.PENDING)


def _status_tone(run: RunRecord) -> Tone | None:
    return {RunStatus.OK: Tone.OK, RunStatus.PARTIAL: Tone.WARNING,
            RunStatus.FAILED: Tone.CRITICAL}[run.status]


COLUMNS: tuple[Column[RunRecord], ...] = (
    Column("Started", lambda r: fmt_time(r.started_at), sort=lambda r: r.started_at,
           tooltip=lambda r: f"{r.run_id}\n{fmt_local_tip(r.started_at)}", width=120),
    Column("Trigger", lambda r: r.trigger.value, width=70),
    Column("Status", lambda r: r.status.value, tone=_status_tone, width=60),
    Column("ms", lambda r: str(r.finished_at - r.started_at),
           sort=lambda r: r.finished_at - r.started_at, numeric=True, width=50),
    Column("Found", lambda r: str(len(r.discrepancies)), sort=lambda r: len(r.discrepancies),
           numeric=True, tone=lambda r: Tone.WARNING if r.discrepancies else None, width=50),
    Column("Waiting", lambda r: str(awaiting(r)), sort=awaiting, numeric=True,
           tone=lambda r: Tone.WARNING if awaiting(r) else None, width=55),
    Column("Mode", lambda r: r.mode.value,
           tone=lambda r: Tone.CRITICAL if r.mode is TradingMode.PAUSED else None,
           tooltip=lambda r: r.pause_reason, width=60),
)


class RunsModel(ZonedModel[RunRecord]):
    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 50,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda r: r.run_id, time_columns={"Started"}, theme=theme,
                         flush_ms=flush_ms, parent=parent)
        self.sort(0, Qt.SortOrder.DescendingOrder)

