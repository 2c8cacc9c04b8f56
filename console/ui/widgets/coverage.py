"""The coverage panel of one account: the fill history the ledger has read from the
venue (from, to, gaps, verified up to), when each list was last verified, and the
rate-limit budget left per endpoint.

It takes a `console.engine.coverage.CoverageReport` (plain frozen data) and reads
nothing itself: whoever owns the session computes the report
(`account_coverage(session.venue, session.ledger)`) and hands it over, after each
reconciliation or on a timer. `coverage_tooltip` is the same in a few lines, for the
status bar's hover text.

Everything shown is text from the report, set as plain text (an endpoint name or a
venue's error is never rendered as rich text).
"""

from __future__ import annotations

import time
from fractions import Fraction

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from console.domain.capabilities import EndpointBudget
from console.engine.coverage import CoverageReport, FillHistory, ListCheck
from console.ui.format import DASH, fmt_age, fmt_ms, plural
from console.ui.widgets.text_table import set_rows, text_table

LIST_TITLES = {"open orders": "Open orders", "positions": "Positions",
               "balances": "Balances", "fills": "Fills"}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def fill_history_text(fills: FillHistory) -> str:
    """"From … to …, no gaps; verified complete to …" (one or two lines)."""
    if fills.covered_from is None or fills.covered_to is None:
        return "No fill history read yet: no run has fetched the venue's fills."
    start = fmt_ms(fills.covered_from)
    if not fills.complete:
        start = f"{start} or earlier"
    gaps = ("no gaps" if not fills.gaps else
            f"{len(fills.gaps)} gap{'s' if len(fills.gaps) != 1 else ''}: " + "; ".join(
                f"{fmt_ms(a)} to {fmt_ms(b)}" for a, b in fills.gaps))
    fetches = f"{fills.windows} fetch{'es' if fills.windows != 1 else ''}"
    verified = ("not yet verified complete" if fills.verified_to is None
                else f"verified complete to {fmt_ms(fills.verified_to)}")
    return (f"From {start} to {fmt_ms(fills.covered_to)} in {fetches}, {gaps}; "
            f"{verified}.")


def list_check_text(check: ListCheck, now_ms: int) -> str:
    if check.verified_at is None:
        return "never verified in the runs examined"
    return f"{fmt_ms(check.verified_at)} ({fmt_age(check.verified_at, now_ms)})"


def budget_text(budget: EndpointBudget) -> str:
    """"37 of 50 left" (what the venue's last answer said)."""
    if budget.remaining is None and budget.limit is None:
        return DASH
    remaining = DASH if budget.remaining is None else str(budget.remaining)
    if budget.limit is None:
        return f"{remaining} left"
    return f"{remaining} of {budget.limit} left"


def coverage_tooltip(report: CoverageReport, now_ms: int | None = None) -> str:
    """A few plain lines for a hover: fills, the oldest list check, the tightest budget."""
    now = _now_ms() if now_ms is None else now_ms
    lines = [f"{report.venue}/{report.account} coverage",
             "Fills: " + fill_history_text(report.fills)]
    for check in report.lists:
        lines.append(f"{LIST_TITLES.get(check.name, check.name)} verified: "
                     f"{list_check_text(check, now)}"
                     + (f" (since failing: {check.last_error})" if check.last_error else ""))
    if not report.budget_reported:
        lines.append("Rate limits: this venue reports no figures")
    elif not report.budgets:
        lines.append("Rate limits: no figures yet")
    else:
        tightest = min(report.budgets, key=_left_share)
        lines.append(f"Tightest rate limit: {tightest.endpoint} {budget_text(tightest)}")
    return "\n".join(lines)


def _left_share(budget: EndpointBudget) -> Fraction:
    """Sort key: the share of the limit left (exact; an endpoint without figures: 1)."""
    if budget.remaining is None or not budget.limit:
        return Fraction(1)
    return Fraction(budget.remaining, budget.limit)


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    """Rows as plain items, and a height that shows them all (these tables are short:
    four lists, a venue's handful of endpoints)."""
    set_rows(table, rows)
    table.resizeColumnsToContents()
    height = table.horizontalHeader().sizeHint().height() + 2 * table.frameWidth()
    height += sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(height + 2)


class CoveragePanel(QWidget):
    """`CoveragePanel(report)`: one account's coverage; `show_report` replaces it."""

    def __init__(self, report: CoverageReport | None = None, parent: QWidget | None = None,
                 *, now_ms: int | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("coveragePanel")
        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setObjectName("coverageTitle")
        fills_box = QGroupBox("Fill history read from the venue", self)
        self.fills = QLabel(fills_box)
        self.fills.setTextFormat(Qt.TextFormat.PlainText)
        self.fills.setWordWrap(True)
        self.source = QLabel(fills_box)
        self.source.setTextFormat(Qt.TextFormat.PlainText)
        self.source.setWordWrap(True)
        self.source.setObjectName("coverageNote")
        box = QVBoxLayout(fills_box)
        box.addWidget(self.fills)
        box.addWidget(self.source)
        lists_box = QGroupBox("Last verified against the venue", self)
        self.lists = text_table(["List", "Last verified", "Since then"], lists_box)
        QVBoxLayout(lists_box).addWidget(self.lists)
        budget_box = QGroupBox("Rate-limit budget left", self)
        self.budget_note = QLabel(budget_box)
        self.budget_note.setTextFormat(Qt.TextFormat.PlainText)
        self.budget_note.setWordWrap(True)
        self.budgets = text_table(["Endpoint", "Left", "Resets at", "Reported"], budget_box)
        budget_layout = QVBoxLayout(budget_box)
        budget_layout.addWidget(self.budget_note)
        budget_layout.addWidget(self.budgets)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(fills_box)
        layout.addWidget(lists_box)
        layout.addWidget(budget_box)
        layout.addStretch(1)
        self.report: CoverageReport | None = None
        if report is not None:
            self.show_report(report, now_ms=now_ms)
        else:
            self.title.setText("Coverage: no report yet (it follows the first reconciliation)")

    def show_report(self, report: CoverageReport, *, now_ms: int | None = None) -> None:
        now = report.at if now_ms is None else now_ms
        self.report = report
        self.title.setText(f"{report.venue}/{report.account}: coverage as of "
                           f"{fmt_ms(report.at)} ({plural(report.runs_examined, 'run')} "
                           "examined)")
        self.fills.setText(fill_history_text(report.fills))
        self.source.setText(report.fills.source)
        _fill(self.lists, [
            [LIST_TITLES.get(c.name, c.name), list_check_text(c, now),
             f"failing since {fmt_ms(c.failed_since)}: {c.last_error}" if c.last_error
             else "verified by every later run" if c.verified_at is not None else DASH]
            for c in report.lists])
        if not report.budget_reported:
            self.budget_note.setText("This venue reports no rate-limit figures.")
        elif not report.budgets:
            self.budget_note.setText("No rate-limit figures yet: none of the venue's answers "
                                     "has carried any.")
        else:
            self.budget_note.setText("As the venue's last answer on each endpoint said.")
        self.budgets.setVisible(bool(report.budgets))
        _fill(self.budgets, [
            [b.endpoint, budget_text(b), fmt_ms(b.reset_at) if b.reset_at else DASH,
             fmt_age(b.seen_at, now)]
            for b in report.budgets])
        self.setToolTip(coverage_tooltip(report, now))
