"""Shows a plan-only reconciliation ("Preview reconcile") or a restart rehearsal ("Restart
rehearsal"): what the engine would find and do, with nothing applied.

It takes the frozen reports (`console.engine.preview.ReconcilePreview`,
`console.engine.rehearsal.RestartRehearsal`) and reads nothing itself; whoever holds the
session computes them (`preview_reconcile(session.reconciler)`,
`rehearse_restart(session)`) and opens the dialog with `show_report(report, parent)`.
Non-modal, opened with show() (never exec(): see the package docstring). Every text is set
as plain text: summaries carry venue data.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QGroupBox,
    QLabel,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from console.engine.preview import PlanDecision, PreviewAction, ReconcilePreview
from console.engine.rehearsal import RestartRehearsal
from console.ui.format import fmt_ms
from console.ui.widgets.text_table import set_rows, text_table

DECISION_TEXT = {PlanDecision.AUTO: "auto", PlanDecision.NEEDS_APPROVAL: "needs approval",
                 PlanDecision.BLOCKED: "BLOCKED"}


def count(n: int, thing: str, things: str = "") -> str:
    """"1 order", "2 orders", "1 discrepancy" (never "1 discrepancies")."""
    return f"{n} {thing if n == 1 else (things or thing + 's')}"


def _label(text: str, parent: QWidget, name: str = "") -> QLabel:
    label = QLabel(text, parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label


def _table(columns: list[str], rows: list[list[str]], parent: QWidget, *,
           name: str) -> QTableWidget:
    table = text_table(columns, parent)
    table.setObjectName(name)
    set_rows(table, rows)
    table.resizeColumnsToContents()
    return table


def preview_headline(p: ReconcilePreview) -> str:
    """One sentence: what the run would be recorded as, find, and do."""
    n = len(p.discrepancies)
    found = "no discrepancies" if n == 0 else count(n, "discrepancy", "discrepancies")
    mode = p.mode_after.value.upper()
    if p.mode_before is not p.mode_after:
        mode = f"{p.mode_before.value.upper()} -> {mode}"
    halted = "; trading HALTED by an emergency stop" if p.halted else ""
    read_only = "; read-only profile" if p.read_only else ""
    return (f"Nothing was applied or recorded. A run now would find {found} and plan "
            f"{count(len(p.actions), 'action')}: {len(p.auto)} auto, "
            f"{len(p.needs_approval)} needing approval, {len(p.blocked)} blocked. It would "
            f"be recorded {p.status.value}; trading {mode}{halted}{read_only}.")


def _action_rows(actions: tuple[PreviewAction, ...]) -> list[list[str]]:
    return [[str(a.index), a.kind.value, DECISION_TEXT[a.decision], a.summary or a.subject,
             a.why_blocked] for a in actions]


class PreviewDialog(QDialog):
    """`PreviewDialog(report, parent)`: a preview or a rehearsal, read-only."""

    def __init__(self, report: ReconcilePreview | RestartRehearsal,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setModal(False)
        self.report = report
        layout = QVBoxLayout(self)
        if isinstance(report, RestartRehearsal):
            self.setWindowTitle(f"Restart rehearsal: {report.venue}/{report.account}")
            self._rehearsal(report, layout)
            plan = report.plan
            plan_title = "The startup reconciliation a cold start would run"
        else:
            self.setWindowTitle(f"Preview reconcile: {report.venue}/{report.account}")
            plan = report
            plan_title = "What the next reconciliation would find and do"
        self.headline = _label(preview_headline(plan), self, "previewHeadline")
        layout.addWidget(self.headline)
        layout.addWidget(self._plan(plan, plan_title), 1)
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        layout.addWidget(close)
        self.resize(900, 640)

    def _rehearsal(self, r: RestartRehearsal, layout: QVBoxLayout) -> None:
        workers = ", ".join(r.workers) or "none"
        halt = (f"HALTED ({r.halt_reason}): a cold start stays halted until an operator "
                "resumes" if r.halted else "No emergency halt to restore")
        self.rehearsal_summary = _label(
            f"Workers restarting: {workers} ({r.workers_from}). {halt}. "
            f"It would cancel {count(len(r.cancels), 'order')}, restore "
            f"{count(len(r.restores), 'bracket')}, adopt {count(len(r.adoptions), 'order')}, "
            f"place {count(len(r.protections), 'protection order')} and clear "
            f"{count(len(r.clears), 'bracket')}.", self, "rehearsalSummary")
        layout.addWidget(self.rehearsal_summary)
        box = QGroupBox("Brackets after the restart", self)
        rows = [[b.worker, b.symbol or "-", b.outcome.value, "; ".join(b.notes)]
                for b in r.brackets]
        self.brackets = _table(["Worker", "Symbol", "Outcome", "Why"], rows, box,
                               name="rehearsalBrackets")
        inner = QVBoxLayout(box)
        if not rows:
            inner.addWidget(_label("No worker restarts with a saved bracket.", box))
        inner.addWidget(self.brackets)
        if r.in_flight_now:
            inner.addWidget(_label("Orders in flight in this process now (a process dying "
                                   "now leaves them for the startup run to settle): "
                                   + ", ".join(r.in_flight_now), box))
        layout.addWidget(box)

    def _plan(self, p: ReconcilePreview, title: str) -> QGroupBox:
        box = QGroupBox(title, self)
        inner = QVBoxLayout(box)
        held = "; ".join(f"{h.name}: venue {'not read' if h.venue is None else h.venue}, "
                         f"ledger {h.ledger}" for h in p.holdings)
        stages: dict[str, float] = {}
        for name, ms in p.timings:
            stages[name] = stages.get(name, 0.0) + ms
        timing = ", ".join(f"{k} {v:.1f} ms" for k, v in stages.items())
        self.facts = _label(
            f"Read at {fmt_ms(p.started_at)}. Held: {held or 'nothing read'}. "
            f"{p.venue_calls_total} venue calls in {p.duration_ms:.0f} ms ({timing}).",
            box, "previewFacts")
        inner.addWidget(self.facts)
        self.discrepancy_table = _table(
            ["Kind", "Symbol", "Summary"],
            [[d.kind.value, d.symbol, d.summary] for d in p.discrepancies], box,
            name="previewDiscrepancies")
        self.action_table = _table(["#", "Action", "Decision", "Summary", "Why blocked"],
                              _action_rows(p.actions), box, name="previewActions")
        inner.addWidget(_label(f"Discrepancies ({len(p.discrepancies)})", box))
        inner.addWidget(self.discrepancy_table)
        inner.addWidget(_label(f"Planned actions ({len(p.actions)})", box))
        inner.addWidget(self.action_table)
        problems = [*(f"Not verified: {u}" for u in p.unverified),
                    *(f"Error: {e}" for e in p.errors)]
        if problems:
            inner.addWidget(_label("\n".join(problems), box, "previewProblems"))
        return box


def show_report(report: ReconcilePreview | RestartRehearsal,
                parent: QWidget | None = None) -> PreviewDialog:
    """Open the dialog for `report`, non-modal; returns it (kept alive by `parent`)."""
    dialog = PreviewDialog(report, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
