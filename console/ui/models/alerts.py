"""Alerts: severity, first and last seen, count, who acknowledged."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt

from console.domain.alerts import Alert, severity_rank
from console.domain.reconciliation import Severity
from console.ui.format import DASH, fmt_local_tip, fmt_time
from console.ui.models.base import Column
from console.ui.models.zoned import ZonedModel
from console.ui.theme import ThemeState, Tone


def alert_ref(alert: Alert) -> str:
    return str(alert.alert_id) if alert.alert_id is not None else alert.key


def _severity_tone(alert: Alert) -> Tone | None:
    if not alert.is_active:
        return Tone.MUTED
    return {Severity.CRITICAL: Tone.CRITICAL, Severity.WARNING: Tone.WARNING,
            Severity.INFO: Tone.INFO}[alert.severity]


def _ack(alert: Alert) -> str:
    if alert.acknowledged_at is None:
        return "no" if alert.is_active else DASH
    return f"{alert.acknowledged_by} {fmt_time(alert.acknowledged_at)}"


COLUMNS: tuple[Column[Alert], ...] = (
    Column("Severity", lambda a: a.severity.value.upper(),
           sort=lambda a: severity_rank(a.severity), tone=_severity_tone, width=75),
    Column("Rule", lambda a: a.rule, width=130),
    Column("Subject", lambda a: a.subject, width=110),
    Column("Message", lambda a: a.message, tooltip=lambda a: a.message, width=360),
    Column("First seen", lambda a: fmt_time(a.first_seen), sort=lambda a: a.first_seen,
           tooltip=lambda a: fmt_local_tip(a.first_seen), width=130),
    Column("Last seen", lambda a: fmt_time(a.last_seen), sort=lambda a: a.last_seen,
           tooltip=lambda a: fmt_local_tip(a.last_seen), width=130),
    Column("Count", lambda a: str(a.count), sort=lambda a: a.count, numeric=True, width=50),
    Column("Acknowledged", _ack, width=130),
    Column("Cleared", lambda a: fmt_time(a.cleared_at) if a.cleared_at else "active",
           tone=lambda a: Tone.WARNING if a.is_active else Tone.MUTED, width=70),
)


class AlertsModel(ZonedModel[Alert]):
    def __init__(self, theme: ThemeState | None = None, *, flush_ms: int = 50,
                 parent: QObject | None = None) -> None:
        super().__init__(COLUMNS, alert_ref, time_columns={"First seen", "Last seen"},
                         theme=theme, flush_ms=flush_ms, parent=parent)
        self.sort(0, Qt.SortOrder.AscendingOrder)
