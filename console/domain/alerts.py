"""Alerts: conditions an operator must see, de-duplicated by (venue, account, rule, subject).

An alert is one *episode* of a condition. A rule raises it the first time it finds the
condition, refreshes it (`last_seen`, `count`) each time it finds it again, and clears it
(`cleared_at`) when it finds it gone. A condition that comes back after clearing is a new
episode with its own row, so the history shows when the book was out of line and for how
long. Acknowledging records who has seen an alert; it neither silences nor clears it: only
the condition going away does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Self

from console.domain.reconciliation import Severity
from console.domain.values import DomainValueError

_RULE = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}


class AlertRule(StrEnum):
    """The rules the alert engine evaluates (the conditions our users asked for, and ours).

    `Alert.rule` is plain text so that other parts of the engine (an emergency stop, a
    strategy) can raise alerts under their own keys; these are the built-in ones.
    """

    RECONCILE_FAILING = "reconcile_failing"
    RECONCILE_STALE = "reconcile_stale"
    BALANCE_MISMATCH = "balance_mismatch"
    MISSING_PROTECTION = "missing_protection"
    TRADING_PAUSED = "trading_paused"


def alert_key(rule: str, subject: str) -> str:
    """The de-duplication key within one (venue, account): ``rule:subject``."""
    return f"{rule}:{subject}"


def parse_alert_key(key: str) -> tuple[str, str]:
    """(rule, subject) of a key; the rule never holds a colon, the subject may."""
    rule, sep, subject = key.partition(":")
    if not sep or not _RULE.match(rule) or not subject:
        raise DomainValueError(f"alert key {key!r}: expected 'rule:subject'")
    return rule, subject


def severity_rank(severity: Severity) -> int:
    """Sort key: critical first."""
    return _SEVERITY_RANK[severity]


@dataclass(frozen=True, slots=True)
class Alert:
    """One episode of a condition. `alert_id` is the ledger's id (None before it is stored)."""

    venue: str
    account: str
    rule: str
    subject: str
    severity: Severity
    message: str
    first_seen: int
    last_seen: int
    count: int = 1
    acknowledged_by: str = ""
    acknowledged_at: int | None = None
    cleared_at: int | None = None
    alert_id: int | None = None

    def __post_init__(self) -> None:
        if not self.venue or not self.account:
            raise DomainValueError("alert: venue and account are required")
        if not isinstance(self.rule, str) or not _RULE.match(self.rule):
            raise DomainValueError(f"alert.rule {self.rule!r}: lower-case letters, digits, _")
        if not self.subject:
            raise DomainValueError("alert.subject: missing")
        if not isinstance(self.severity, Severity):
            raise DomainValueError(f"alert.severity {self.severity!r} is not a Severity")
        for name in ("first_seen", "last_seen"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DomainValueError(f"alert.{name}: {value!r} is not epoch milliseconds")
        for name in ("acknowledged_at", "cleared_at"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                      or value < 0):
                raise DomainValueError(f"alert.{name}: {value!r} is not epoch milliseconds")
        if self.last_seen < self.first_seen:
            raise DomainValueError(
                f"alert {self.key}: last_seen {self.last_seen} before first_seen "
                f"{self.first_seen}")
        if not isinstance(self.count, int) or isinstance(self.count, bool) or self.count < 1:
            raise DomainValueError(f"alert.count: {self.count!r} must be a whole number >= 1")

    @property
    def key(self) -> str:
        return alert_key(self.rule, self.subject)

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None

    @property
    def is_acknowledged(self) -> bool:
        return self.acknowledged_at is not None

    def evolve(self, **changes: object) -> Self:
        return replace(self, **changes)  # type: ignore[arg-type]
