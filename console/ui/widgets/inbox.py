"""The discrepancy inbox: what awaits the operator, each run's history, and the evidence.

Left, the runs (newest first) under an "Awaiting approval" entry; middle, the actions of
what is selected there (auto-applied ones shown as done); right, the evidence of the
current action: the ledger's and the venue's values side by side, and when each was
seen. Approve and Reject act on every selected action that awaits approval (approving a
venue-changing one is confirmed first, listing what is sent). Enter on an action (or a
double click) opens its evidence in a window of its own.

A rejection holds (`console.engine.actions`): while the venue shows what it showed when
the operator said no, each run records the proposal rejected again instead of asking.
"Held rejections" lists those; Un-reject lifts one (nothing is sent: the next run
proposes the action again, awaiting approval, if the venue still calls for it).
"""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QResizeEvent
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

from console.ui.dialogs.inbox_detail import InboxDetailDialog
from console.ui.format import DASH, fmt_ms, fmt_utc, plural, zone_label
from console.ui.models.inbox import HELD, InboxItem
from console.ui.scope import ScopeView
from console.ui.settings import UiSettings
from console.ui.theme import Tone
from console.ui.widgets.headers import fit_headers
from console.ui.widgets.table import TablePanel, configure_view


def evidence_rows(item: InboxItem) -> list[tuple[str, str, str]]:
    """(field, ledger, venue) rows, fields in first-seen order."""
    d = item.discrepancy
    if d is None:
        return []
    ledger, venue = dict(d.ledger), dict(d.venue)
    names = list(dict.fromkeys([*ledger, *venue]))
    rows = [(n, ledger.get(n, DASH), venue.get(n, DASH)) for n in names]
    rows.append(("seen at", _zoned(d.ledger_seen_at), _zoned(d.venue_seen_at)))
    return rows


def _zoned(ms: int | None) -> str:
    return f"{fmt_ms(ms)} {zone_label(ms)}" if ms else DASH


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
    lift_requested = Signal(list)
    """Un-reject: the selected rejected `InboxItem`s."""

    def __init__(self, controller: ScopeView, *, settings: UiSettings | None = None,
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
        self.held_button = QPushButton("Held rejections", self)
        self.held_button.setCheckable(True)
        self.held_button.setToolTip("Actions an operator rejected that stay rejected while "
                                    "the venue shows what it showed then")
        self.held_button.clicked.connect(self.show_held)
        self.runs_view = QTableView(self)
        configure_view(self.runs_view)
        self.runs_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs_view.setModel(controller.runs)
        for i, column in enumerate(controller.runs.columns):
            self.runs_view.setColumnWidth(i, column.width)
        self.runs_view.clicked.connect(self._run_clicked)
        runs_width = fit_headers(self.runs_view) + (
            self.runs_view.verticalScrollBar().sizeHint().width()
            + 2 * self.runs_view.frameWidth() + 4)
        # Every column of the run history, uncut, whenever the panel has room for it
        # (`_fit_runs`); a narrow window squeezes it and its table scrolls, rather than the
        # history's width holding the whole window wider than a 1024 px screen.
        self._runs_width = runs_width
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.pending_button)
        left_layout.addWidget(self.held_button)
        left_layout.addWidget(QLabel("Run history", left))
        left_layout.addWidget(self.runs_view, 1)

        self.action_table = TablePanel("inbox", controller.inbox, settings=settings,
                                  placeholder="Filter actions…", parent=self)
        self.approve_button = QPushButton("Approve", self)
        self.approve_button.setToolTip("Approve the selected actions (venue actions are sent)")
        self.reject_button = QPushButton("Reject", self)
        self.reject_button.setToolTip("Reject the selected actions (nothing is sent)")
        self.lift_button = QPushButton("Un-reject", self)
        self.lift_button.setToolTip("Lift the selected rejections: nothing is sent; the next "
                                    "reconciliation proposes them again if still needed")
        self.approve_button.clicked.connect(lambda: self.approve_requested.emit(self.selected()))
        self.reject_button.clicked.connect(lambda: self.reject_requested.emit(self.selected()))
        self.lift_button.clicked.connect(lambda: self.lift_requested.emit(self.selected()))
        self.action_table.toolbar.insertWidget(0, self.lift_button)
        self.action_table.toolbar.insertWidget(0, self.reject_button)
        self.action_table.toolbar.insertWidget(0, self.approve_button)
        fit_headers(self.action_table.view)
        self.action_table.view.activated.connect(self.open_detail)  # Enter, double click
        self.detail_dialogs: list[InboxDetailDialog] = []
        self._tone_hex = tone_hex
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
        splitter.setSizes([max(330, runs_width), 760, 420])
        self.splitter = splitter
        self._middle = middle
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        selection = self.action_table.view.selectionModel()
        selection.selectionChanged.connect(self._selection_changed)
        selection.currentChanged.connect(self._selection_changed)
        controller.inbox_changed.connect(self.reload)
        controller.inbox.modelReset.connect(self._selection_changed)
        self.reload()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_runs()

    def _fit_runs(self) -> None:
        """Widen the run history to show every column when the panel has room beside the
        actions' and the evidence's minimum widths; the room is taken from those two in
        their current proportion. Never narrows anything."""
        sizes = self.splitter.sizes()
        if len(sizes) != 3 or sizes[0] >= self._runs_width:
            return
        total = sum(sizes)
        others = (self._middle.minimumSizeHint().width()
                  + self.evidence.minimumSizeHint().width())
        left = min(self._runs_width, total - others)
        if left <= sizes[0]:
            return
        rest = total - left
        middle = rest * sizes[1] // max(1, sizes[1] + sizes[2])
        self.splitter.setSizes([left, middle, rest - middle])

    # -- content -----------------------------------------------------------------------------

    def show_pending(self) -> None:
        self.run_id = None
        self.runs_view.clearSelection()
        self.reload()

    def show_held(self) -> None:
        self.run_id = HELD
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
        held = len(items) if self.run_id == HELD else len(self.controller.run_items(HELD))
        self.pending_button.setChecked(self.run_id is None)
        self.pending_button.setText(f"Awaiting approval ({waiting})")
        self.held_button.setChecked(self.run_id == HELD)
        self.held_button.setText(f"Held rejections ({held})")
        if self.run_id is None:
            self.heading.setText(f"<b>{waiting}</b> action{'s' if waiting != 1 else ''} "
                                 "awaiting approval (all runs)")
        elif self.run_id == HELD:
            self.heading.setText(f"<b>{held}</b> rejection{'s' if held != 1 else ''} "
                                 "holding (the venue has not changed since)")
        else:
            run = next((r for r in self.controller.run_history if r.run_id == self.run_id),
                       None)
            when = (f"{fmt_ms(run.started_at)} {zone_label(run.started_at)}" if run
                    else DASH)
            self.heading.setText(f"Run {self.run_id[:12]} at {when}: "
                                 f"{plural(len(items), 'action')} "
                                 f"({sum(1 for i in items if i.awaiting)} awaiting)")
        self._selection_changed()

    def selected(self) -> list[InboxItem]:
        return self.action_table.selected()

    def open_detail(self, *_args: object) -> InboxDetailDialog | None:
        """The current action's evidence in a window of its own (Enter on a row)."""
        item = self.action_table.current()
        if item is None:
            return None
        dialog = InboxDetailDialog(item, self._tone_hex, self)
        dialog.finished.connect(lambda _code, d=dialog: self._detail_closed(d))
        self.detail_dialogs.append(dialog)
        dialog.show()
        dialog.raise_()
        return dialog

    def _detail_closed(self, dialog: InboxDetailDialog) -> None:
        if dialog in self.detail_dialogs:
            self.detail_dialogs.remove(dialog)
        dialog.deleteLater()

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
        self.lift_button.setEnabled(any(i.rejected for i in selected))
        self.approve_button.setText(f"Approve ({len(awaiting)})" if len(awaiting) > 1
                                    else "Approve")
