"""A table with a free-text filter and CSV export, over a `RecordTableModel`.

View settings follow docs/architecture.md ("Qt and the event loop"): fixed row heights
(never ResizeToContents), sorting by the source model on header clicks (the proxy only
filters), widths from the columns and then from the saved header state. Typing in the
filter of a big table waits for a pause (`FILTER_PAUSE_MS`): each new filter reads every
row's text (~0.1 s at 100k rows), and a word typed letter by letter would read them all
at every letter.
"""

from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path
from typing import Generic, TypeVar

from PySide6.QtCore import QEvent, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.ui.format import plural
from console.ui.models.base import FilterProxy, RecordTableModel
from console.ui.settings import UiSettings

R = TypeVar("R")
ROW_HEIGHT = 22
FILTER_PAUSE_MS = 250
FILTER_AT_ONCE_ROWS = 20_000
"""Up to this many rows a filter applies as it is typed; above, after a pause."""
COUNT_SAMPLE = "0000000 of 0000000 rows"
"""The widest row count the label is sized for at first (`TablePanel._fit_count`)."""
COUNT_MARGIN = 8


def configure_view(view: QTableView) -> None:
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    view.setAlternatingRowColors(True)
    view.setWordWrap(False)
    view.setShowGrid(False)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vertical = view.verticalHeader()
    vertical.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vertical.setDefaultSectionSize(ROW_HEIGHT)
    vertical.setMinimumSectionSize(ROW_HEIGHT)
    vertical.hide()
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    header.setHighlightSections(False)
    header.setSectionsMovable(True)
    header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def csv_cell(text: str) -> str:
    """A cell a spreadsheet shows as text, never runs: venue text starting with = + - @
    (or a tab/CR) is a formula to Excel and LibreOffice ("=HYPERLINK(...)", "@SUM(...)"),
    so it gets a leading apostrophe. Plain numbers ("-1.5") are left as they are."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def write_csv(path: str | Path, rows: list[list[str]]) -> int:
    """Write rows (header first), every cell neutralised (`csv_cell`); returns the number
    of data rows. Runs in a thread."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([csv_cell(cell) for cell in row] for row in rows)
    return max(0, len(rows) - 1)


class TablePanel(QWidget, Generic[R]):
    """Filter box, row count, CSV export, and the view."""

    exported = Signal(str, int)
    """(path, rows) after a CSV export."""

    def __init__(self, name: str, model: RecordTableModel[R], *,
                 settings: UiSettings | None = None, placeholder: str = "Filter…",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.model = model
        self.settings = settings
        self.proxy = FilterProxy(self)
        self.proxy.setSourceModel(model)
        self.view = QTableView(self)
        self.view.setObjectName(f"table_{name}")
        configure_view(self.view)
        self.view.setModel(self.proxy)
        header = self.view.horizontalHeader()
        header.setSortIndicatorShown(True)
        header.setSectionsClickable(True)
        header.sortIndicatorChanged.connect(self._sort)
        for i, column in enumerate(model.columns):
            self.view.setColumnWidth(i, column.width)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(placeholder)
        self.filter.setClearButtonEnabled(True)
        self._filter_pause = QTimer(self)
        self._filter_pause.setSingleShot(True)
        self._filter_pause.setInterval(FILTER_PAUSE_MS)
        self._filter_pause.timeout.connect(self.apply_filter)
        self.filter.textChanged.connect(self._filter_typed)
        self.count = QLabel(self)
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._fit_count(COUNT_SAMPLE)
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.clicked.connect(self.ask_export)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        top.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        self.toolbar = top
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        # the proxy removes its rows when the source is *about* to remove them, so the
        # count listens to the source as well
        for signal in (self.proxy.rowsInserted, self.proxy.rowsRemoved,
                       self.proxy.modelReset, self.proxy.layoutChanged,
                       model.rowsInserted, model.rowsRemoved, model.modelReset):
            signal.connect(self._count)
        self._count()
        if settings is not None:
            settings.restore_header(name, header)
        self._tasks: set[asyncio.Task[int]] = set()

    def _filter_typed(self, text: str) -> None:
        if self.model.rowCount() <= FILTER_AT_ONCE_ROWS:
            self._filter_pause.stop()
            self.proxy.set_text(text)
        else:
            self._filter_pause.start()

    def apply_filter(self) -> None:
        """Filter by the box's text now (a pause in typing does it by itself)."""
        self._filter_pause.stop()
        self.proxy.set_text(self.filter.text())

    def _sort(self, column: int, order: Qt.SortOrder) -> None:
        self.model.sort(column, order)

    def _count(self, *_args: object) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        text = plural(shown, "row") if shown == total else f"{shown} of {plural(total, 'row')}"
        self._fit_count(text)
        if text != self.count.text():
            self.count.setText(text)

    def changeEvent(self, event: QEvent) -> None:
        """A new font or style: the count label's size follows at once."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange) \
                and hasattr(self, "count"):  # not while the panel is being built
            self._fit_count(self.count.text() or COUNT_SAMPLE)

    def _fit_count(self, text: str) -> None:
        """Give the count label a fixed size that fits `text`, grown only when a text is
        wider than any before. A label whose size is not fixed asks its parent for a new
        layout at every text change, and that request climbs every layout up to the main
        window, which lays out and repaints the whole table area again: ~40 ms a time
        at tens of thousands of rows, several times a second while a book loads
        (bench/ui_load.py)."""
        metrics = self.count.fontMetrics()
        width = metrics.horizontalAdvance(text) + COUNT_MARGIN
        height = metrics.height() + COUNT_MARGIN
        label = self.count
        if width > label.minimumWidth() or height > label.minimumHeight():
            label.setFixedSize(max(width, label.minimumWidth()),
                               max(height, label.minimumHeight()))

    def save_state(self) -> None:
        if self.settings is not None:
            self.settings.save_header(self.name, self.view.horizontalHeader())

    # -- selection ---------------------------------------------------------------------------

    def selected_rows(self) -> list[int]:
        """Source rows of the selection, in view order."""
        rows = {self.proxy.mapToSource(i).row()
                for i in self.view.selectionModel().selectedRows()}
        return sorted(rows, key=lambda r: self.proxy.mapFromSource(
            self.model.index(r, 0)).row())

    def selected(self) -> list[R]:
        return [self.model.record(r) for r in self.selected_rows()]

    def current(self) -> R | None:
        index = self.view.currentIndex()
        if not index.isValid():
            selected = self.selected()
            return selected[0] if selected else None
        return self.model.record(self.proxy.mapToSource(index).row())

    def select_key(self, key: str) -> bool:
        row = self.model.row_of(key)
        if row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(row, 0))
        if not index.isValid():
            return False
        self.view.selectRow(index.row())
        self.view.setCurrentIndex(index)
        return True

    def visible_rows(self) -> list[int]:
        """Source rows shown (filter applied), in view order."""
        return [self.proxy.mapToSource(self.proxy.index(r, 0, QModelIndex())).row()
                for r in range(self.proxy.rowCount())]

    # -- export ------------------------------------------------------------------------------

    def ask_export(self) -> None:
        dialog = QFileDialog(self, f"Export {self.name} as CSV", f"{self.name}.csv",
                             "CSV files (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("csv")
        dialog.fileSelected.connect(self._export_to)
        dialog.open()

    def _export_to(self, path: str) -> None:
        task = asyncio.ensure_future(self.export_csv(path))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def export_csv(self, path: str | Path) -> int:
        """What the operator sees (filtered, in view order), written off the GUI thread."""
        if self._filter_pause.isActive():
            self.apply_filter()  # the text in the box is what the operator sees filtered
        rows = self.model.export(self.visible_rows())
        n = await asyncio.to_thread(write_csv, path, rows)
        self.exported.emit(str(path), n)
        return n
