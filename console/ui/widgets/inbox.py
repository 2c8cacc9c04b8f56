"""The discrepancy inbox: what awaits the operator, each run's history, and the evidence.

Left, the runs (newest first) under an "Awaiting approval" entry; middle, the actions of
what is selected there (auto-applied ones shown as done); right, the evidence of the
current action: the ledger's and the venue's values side by side, and when each was
seen. Approve and Reject act on every selected action that awaits approval.
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.ui.controller import ConsoleController
from console.ui.format import DASH, fmt_ms, fmt_utc
from console.ui.models.inbox import InboxItem
from console.ui.settings import UiSettings
from console.ui.theme import Tone
from console.ui.widgets.table import TablePanel, configure_view


def evidence_rows(item: InboxItem) -> list[tuple[str, str, str]]:
    """(field, ledger, venue) rows, fields in first-seen order."""
    d = item.discrepancy
    if d is None:
        return []
    ledger, venue = dict(d.ledger), dict(d.venue)
    names = list(dict.fromkeys([*ledger, *venue]))
    rows = [(n, ledger.get(n, DASH), venue.get(n, DASH)) for n in names]
    rows.append(("seen at", fmt_ms(d.ledger_seen_at) if d.ledger_seen_at else DASH,
                 fmt_ms(d.venue_seen_at) if d.venue_seen_at else DASH))
    return rows


class EvidencePane(QWidget):
    """The current action, its discrepancy, and the evidence side by side."""

    def __init__(self, tone_hex: Callable[[Tone], str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._tone_hex = tone_hex
        self.title = QLabel("Select an action to see its evidence.", self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Field", "Ledger", "Venue"])
        configure_view(self.table)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setColumnWidth(0, 95)
        self.table.setColumnWidth(1, 170)
        self.details = QLabel(self)
        self.details.setTextFormat(Qt.TextFormat.PlainText)  # venue/exception text
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.details)
        self.item: InboxItem | None = None

    def show_item(self, item: InboxItem | None) -> None:
        self.item = item
        if item is None:
            self.title.setText("Select an action to see its evidence.")
            self.table.setRowCount(0)
            self.details.setText("")
            return
        d = item.discrepancy
        p = item.planned
        kind = d.kind.value if d is not None else "no discrepancy recorded"
        summary = d.summary if d is not None else p.action.summary
        self.title.setText(f"<b>{kind}</b>: {_esc(summary)}")
        rows = evidence_rows(item)
        self.table.setRowCount(len(rows))
        for r, (name, ledger, venue) in enumerate(rows):
            differs = ledger != venue and name != "seen at"
            for c, text in enumerate((name, ledger, venue)):
                cell = QTableWidgetItem(text)
                cell.setToolTip(text)
                if differs and c > 0:
                    cell.setForeground(_color(self._tone_hex(Tone.WARNING)))
                self.table.setItem(r, c, cell)
        by = f" by {p.applied_by}" if p.applied_by else ""
        at = f" at {fmt_utc(p.applied_at)}" if p.applied_at else ""
        error = f"<br><span style='color:{self._tone_hex(Tone.CRITICAL)}'>" \
                f"{_esc(p.error)}</span>" if p.error else ""
        scope = "changes the venue" if item.changes_venue else "ledger / mode only"
        self.details.setText(
            f"Action <b>{p.action.kind.value}</b> ({scope}): "
            f"{_esc(p.action.summary)}<br>Decision: {p.decision.value}; state: "
            f"<b>{_esc(item.state_text)}</b>{by}{at}<br>Run {item.run_id[:12]} "
            f"({item.trigger.value}) at {fmt_ms(item.run_started_at)}{error}")


def _esc(text: str) -> str:
    return escape(text)


def _color(hex_: str) -> QBrush:
    return QBrush(QColor(hex_))


class InboxPanel(QWidget):
    approve_requested = Signal(list)
    reject_requested = Signal(list)

    def __init__(self, controller: ConsoleController, *, settings: UiSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.run_id: str | None = None
        theme = controller.orders.theme
        tone_hex: Callable[[Tone], str] = (theme.hex if theme is not None
                                           else (lambda _t: "#c62828"))
        self.pending_button = QPushButton("Awaiting approval", self)
        self.pending_button.setCheckable(True)
        self.pending_button.setChecked(True)
        self.pending_button.clicked.connect(self.show_pending)
        self.runs_view = QTableView(self)
        configure_view(self.runs_view)
        self.runs_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_view.setModel(controller.runs)
        for i, column in enumerate(controller.runs.columns):
            self.runs_view.setColumnWidth(i, column.width)
        self.runs_view.clicked.connect(self._run_clicked)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.pending_button)
        left_layout.addWidget(QLabel("Run history", left))
        left_layout.addWidget(self.runs_view, 1)

        self.action_table = TablePanel("inbox", controller.inbox, settings=settings,
                                  placeholder="Filter actions…", parent=self)
        self.approve_button = QPushButton("Approve", self)
        self.approve_button.setToolTip("Approve the selected actions (venue actions are sent)")
        self.reject_button = QPushButton("Reject", self)
        self.reject_button.setToolTip("Reject the selected actions (nothing is sent)")
        self.approve_button.clicked.connect(lambda: self.approve_requested.emit(self.selected()))
        self.reject_button.clicked.connect(lambda: self.reject_requested.emit(self.selected()))
        self.action_table.toolbar.insertWidget(0, self.reject_button)
        self.action_table.toolbar.insertWidget(0, self.approve_button)
        self.heading = QLabel(self)
        middle = QWidget(self)
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        middle_layout.addWidget(self.heading)
        middle_layout.addWidget(self.action_table, 1)

        self.evidence = EvidencePane(tone_hex, self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(middle)
        splitter.addWidget(self.evidence)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 6)
        splitter.setStretchFactor(2, 3)
        splitter.setSizes([330, 760, 420])
        self.splitter = splitter
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        selection = self.action_table.view.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        selection.currentChanged.connect(self._selection_changed)
        controller.inbox_changed.connect(self.reload)
        controller.inbox.modelReset.connect(self._selection_changed)
        self.reload()

    # -- content -----------------------------------------------------------------------------

    def show_pending(self) -> None:
        self.run_id = None
        self.runs_view.clearSelection()
        self.reload()

    def show_run(self, run_id: str) -> None:
        self.run_id = run_id
        row = self.controller.runs.row_of(run_id)
        if row is not None:
            self.runs_view.selectRow(row)
        self.reload()

    def _run_clicked(self, index: object) -> None:
        row = self.runs_view.currentIndex().row()
        if 0 <= row < self.controller.runs.rowCount():
            self.show_run(self.controller.runs.record(row).run_id)

    def reload(self) -> None:
        items = self.controller.run_items(self.run_id)
        self.controller.inbox.replace_all(items)
        self.controller.inbox.flush()
        waiting = len(self.controller.pending)
        self.pending_button.setChecked(self.run_id is None)
        self.pending_button.setText(f"Awaiting approval ({waiting})")
        if self.run_id is None:
            self.heading.setText(f"<b>{waiting}</b> action{'s' if waiting != 1 else ''} "
                                 "awaiting approval (all runs)")
        else:
            run = next((r for r in self.controller.run_history if r.run_id == self.run_id),
                       None)
            when = fmt_ms(run.started_at) if run else DASH
            self.heading.setText(f"Run {self.run_id[:12]} at {when}: {len(items)} actions "
                                 f"({sum(1 for i in items if i.awaiting)} awaiting)")
        self._selection_changed()

    def selected(self) -> list[InboxItem]:
        return self.action_table.selected()

    def select_items(self, keys: list[str]) -> None:
        view = self.action_table.view
        view.clearSelection()
        for key in keys:
            row = self.controller.inbox.row_of(key)
            if row is None:
                continue
            index = self.action_table.proxy.mapFromSource(self.controller.inbox.index(row, 0))
            view.selectionModel().select(
                index, view.selectionModel().SelectionFlag.Select
                | view.selectionModel().SelectionFlag.Rows)
            view.setCurrentIndex(index)

    def _selection_changed(self, *_args: object) -> None:
        selected = self.selected()
        current = self.action_table.current()
        self.evidence.show_item(current if current is not None else (
            selected[0] if selected else None))
        awaiting = [i for i in selected if i.awaiting]
        venue = any(i.changes_venue for i in awaiting)
        self.approve_button.setEnabled(bool(awaiting) and not (
            venue and self.controller.read_only))
        self.reject_button.setEnabled(bool(awaiting))
        self.approve_button.setText(f"Approve ({len(awaiting)})" if len(awaiting) > 1
                                    else "Approve")
