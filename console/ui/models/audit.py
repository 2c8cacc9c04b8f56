"""The append-only audit log: who did what, when, and why."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt

from console.domain.reconciliation import AuditEntry
from console.ui.format import DASH, fmt_local_tip, fmt_ms
from console.ui.models.base import Column
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState, Tone


@dataclass(frozen=True, slots=True)
class AuditRow:
    key: str
    entry: AuditEntry


def audit_rows(entries: Iterable[AuditEntry]) -> list[AuditRow]:
    """Entries carry no id: key them by content, numbering exact repeats."""
    seen: dict[str, int] = {}
    out = []
    for e in entries:
        base = f"{e.at}|{e.actor}|{e.action}|{e.subject}|{e.run_id}|{e.details}"
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.append(AuditRow(f"{base}#{n}", e))
    return out


def _details(e: AuditEntry) -> str:
    return ", ".join(f"{k}={v}" for k, v in e.details) or DASH


def _tone(row: AuditRow) -> Tone | None:
    action = row.entry.action
    if action.endswith(":failed"):
        return Tone.CRITICAL
    if action.startswith("emergency") or action.endswith(":applied"):
        return Tone.WARNING if row.entry.actor.startswith("emergency") else Tone.OK
    if action.endswith(":rejected"):
        return Tone.MUTED
    return None


COLUMNS: tuple[Column[AuditRow], ...] = (
    Column("Time", lambda r: fmt_ms(r.entry.at), sort=lambda r: r.entry.at,
           tooltip=lambda r: fmt_local_tip(r.entry.at), width=190),
    Column("Actor", lambda r: r.entry.actor, width=130),
    Column("Action", lambda r: r.entry.action, tone=_tone, width=190),
    Column("Subject", lambda r: r.entry.subject, width=200),
    Column("Details", lambda r: _details(r.entry), tooltip=lambda r: _details(r.entry),
           width=360),
    Column("Run", lambda r: r.entry.run_id[:8] or DASH, tooltip=lambda r: r.entry.run_id,
           width=70),
)


class AuditModel(ZonedModel[AuditRow]):
    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 50,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, lambda r: r.key, time_columns={"Time"}, theme=theme,
                         flush_ms=flush_ms, parent=parent)
        self.sort(0, Qt.SortOrder.DescendingOrder)
