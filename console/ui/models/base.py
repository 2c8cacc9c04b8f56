"""One thin QAbstractTableModel per table, over records keyed by a string.

Why this shape (docs/architecture.md, "Qt and the event loop"; measured): a
QAbstractTableModel shows 10k rows in ~30 ms; a proxy that sorts a ticking column costs
~0.3 s per 1000 updates. So:
- updates are *staged* (`upsert`, `remove`, `replace_all`) and applied by one flush on a
  timer (default 150 ms): one `dataChanged` per run of consecutive dirty rows, one
  insert and one remove notification per run, whatever the update rate;
- sorting happens here (`sort`, `layoutChanged`, persistent indexes moved), and only
  again when a flush changes a value of the sort column or adds rows;
- the proxy (`FilterProxy`) only filters, on a lower-cased text of each row cached here.
Records are immutable domain values; display text is computed per visible cell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, TypeVar, cast

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)

from console.ui.theme import ThemeState, Tone

R = TypeVar("R")
SortValue = Decimal | int | float | str | bool | None
Index = QModelIndex | QPersistentModelIndex

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
KEY_ROLE = Qt.ItemDataRole.UserRole + 3
_DISPLAY = Qt.ItemDataRole.DisplayRole
_CHANGED_ROLES = [int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ForegroundRole),
                  int(Qt.ItemDataRole.ToolTipRole)]


@dataclass(frozen=True, slots=True)
class Column(Generic[R]):
    """One column: its title, the text of a cell, and optionally how it sorts (default: the
    text), its meaning colour, its alignment and its starting width."""

    title: str
    text: Callable[[R], str]
    sort: Callable[[R], SortValue] | None = None
    tone: Callable[[R], Tone | None] | None = None
    tooltip: Callable[[R], str] | None = None
    numeric: bool = False
    width: int = 110


def runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive runs of row numbers, as inclusive (first, last) pairs."""
    out: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


def _sort_key(value: SortValue) -> tuple[bool, SortValue]:
    return (value is None, value if value is not None else 0)


class RecordTableModel(QAbstractTableModel, Generic[R]):
    """Rows of records keyed by `key(record)`; see the module docstring."""

    def __init__(self, columns: Sequence[Column[R]], key: Callable[[R], str], *,
                 theme: ThemeState | None = None, flush_ms: int = 150,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self.key = key
        self.theme = theme
        self._rows: list[R] = []
        self._keys: list[str] = []
        self._pos: dict[str, int] = {}
        self._search: dict[str, str] = {}
        self._staged: dict[str, R | None] = {}
        self._staged_all: list[R] | None = None
        self._staged_all_index: dict[str, R] | None = None
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self.flushes = 0
        self.data_changed_signals = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(flush_ms)
        self._timer.timeout.connect(self.flush)
        if theme is not None:
            theme.changed.connect(self.repaint_all)

    # -- Qt model API ------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = _DISPLAY) -> object:
        if orientation is Qt.Orientation.Horizontal and 0 <= section < len(self.columns):
            if role == _DISPLAY:
                return self.columns[section].title
            if role == Qt.ItemDataRole.TextAlignmentRole and self.columns[section].numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = _DISPLAY) -> object:
        row, col = index.row(), index.column()
        if not index.isValid() or not (0 <= row < len(self._rows)):
            return None
        record = self._rows[row]
        column = self.columns[col]
        if role == _DISPLAY:
            return column.text(record)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column.tone is None or self.theme is None:
                return None
            tone = column.tone(record)
            return None if tone is None else self.theme.color(tone)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if column.numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip(record) if column.tooltip is not None else None
        if role == RECORD_ROLE:
            return record
        if role == KEY_ROLE:
            return self._keys[row]
        if role == SEARCH_ROLE:
            return self.search_text(row)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort here, not in a proxy: one layoutChanged, selections follow their rows."""
        self._sort_column = column if 0 <= column < len(self.columns) else -1
        self._sort_order = order
        self._resort()

    # -- records -----------------------------------------------------------------------------

    def record(self, row: int) -> R:
        return self._rows[row]

    def records(self) -> list[R]:
        return list(self._rows)

    def row_keys(self) -> list[str]:
        return list(self._keys)

    def row_of(self, key: str) -> int | None:
        return self._pos.get(key)

    def get(self, key: str) -> R | None:
        row = self._pos.get(key)
        return None if row is None else self._rows[row]

    def latest(self, key: str) -> R | None:
        """The record as it will be after the next flush (staged changes included)."""
        if key in self._staged:
            return self._staged[key]
        if self._staged_all is not None:
            if self._staged_all_index is None:
                self._staged_all_index = {self.key(r): r for r in self._staged_all}
            return self._staged_all_index.get(key)
        return self.get(key)

    def search_text(self, row: int) -> str:
        key = self._keys[row]
        text = self._search.get(key)
        if text is None:
            record = self._rows[row]
            text = "\t".join(c.text(record) for c in self.columns).lower()
            self._search[key] = text
        return text

    def cell_text(self, row: int, column: int) -> str:
        return self.columns[column].text(self._rows[row])

    @property
    def pending(self) -> bool:
        return self._staged_all is not None or bool(self._staged)

    # -- staging and flushing ----------------------------------------------------------------

    def replace_all(self, records: Iterable[R]) -> None:
        """Stage the whole content (rows not in `records` go)."""
        self._staged_all = list(records)
        self._staged_all_index = None
        self._staged.clear()
        self._schedule()

    def upsert(self, records: Iterable[R]) -> None:
        for record in records:
            self._staged[self.key(record)] = record
        self._schedule()

    def remove(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._staged[key] = None
        self._schedule()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Apply everything staged now (the timer calls this; tests may too)."""
        self._timer.stop()
        staged_all, self._staged_all = self._staged_all, None
        self._staged_all_index = None
        staged, self._staged = self._staged, {}
        if staged_all is None and not staged:
            return
        self.flushes += 1
        wanted: dict[str, R | None] = {}
        if staged_all is not None:
            fresh = {self.key(r): r for r in staged_all}
            wanted.update(dict.fromkeys((k for k in self._keys if k not in fresh), None))
            wanted.update(fresh)
        wanted.update(staged)
        self._apply(wanted)

    def _apply(self, wanted: dict[str, R | None]) -> None:
        removed = [self._pos[k] for k, r in wanted.items() if r is None and k in self._pos]
        added: list[R] = []
        dirty: list[str] = []
        resort = False
        sort_col = self.columns[self._sort_column] if self._sort_column >= 0 else None
        for key, record in wanted.items():
            if record is None:
                continue
            row = self._pos.get(key)
            if row is None:
                added.append(record)
                continue
            old = self._rows[row]
            if old == record:
                continue
            if sort_col is not None and not resort and (
                    self._value(sort_col, old) != self._value(sort_col, record)):
                resort = True
            self._rows[row] = record
            self._search.pop(key, None)
            dirty.append(key)
        for first, last in reversed(runs(removed)):
            self.beginRemoveRows(QModelIndex(), first, last)
            for key in self._keys[first:last + 1]:
                self._search.pop(key, None)
            del self._rows[first:last + 1]
            del self._keys[first:last + 1]
            self.endRemoveRows()
        if removed:
            self._pos = {k: i for i, k in enumerate(self._keys)}
        if added:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
            for record in added:
                key = self.key(record)
                self._pos[key] = len(self._rows)
                self._rows.append(record)
                self._keys.append(key)
            self.endInsertRows()
            resort = resort or sort_col is not None
        dirty_rows = [self._pos[k] for k in dirty if k in self._pos]
        last_col = len(self.columns) - 1
        for first, last in runs(dirty_rows):
            self.data_changed_signals += 1
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_col),
                                  _CHANGED_ROLES)
        if resort:
            self._resort()

    @staticmethod
    def _value(column: Column[R], record: R) -> SortValue:
        return column.sort(record) if column.sort is not None else column.text(record)

    def _resort(self) -> None:
        if self._sort_column < 0 or len(self._rows) < 2:
            return
        column = self.columns[self._sort_column]
        descending = self._sort_order is Qt.SortOrder.DescendingOrder
        values = [_sort_key(self._value(column, r)) for r in self._rows]
        order = sorted(range(len(self._rows)),
                       key=cast(Callable[[int], tuple[bool, Decimal]], values.__getitem__),
                       reverse=descending)
        if order == list(range(len(order))):
            return
        self.layoutAboutToBeChanged.emit()
        new_row = [0] * len(order)
        for new, old in enumerate(order):
            new_row[old] = new
        self._rows = [self._rows[i] for i in order]
        self._keys = [self._keys[i] for i in order]
        self._pos = {k: i for i, k in enumerate(self._keys)}
        before = self.persistentIndexList()
        after = [self.index(new_row[p.row()], p.column()) for p in before]
        self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()

    def repaint_all(self) -> None:
        """Colours changed (theme): repaint every cell once."""
        if self._rows:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(len(self._rows) - 1, len(self.columns) - 1),
                                  [int(Qt.ItemDataRole.ForegroundRole)])

    # -- export ------------------------------------------------------------------------------

    def export(self, rows: Iterable[int] | None = None) -> list[list[str]]:
        """Header and rows as text (CSV export of what the operator sees)."""
        header = [c.title for c in self.columns]
        chosen = range(len(self._rows)) if rows is None else rows
        return [header, *([c.text(self._rows[r]) for c in self.columns] for r in chosen)]


class FilterProxy(QSortFilterProxyModel):
    """Free-text filter over every column (case-insensitive); never sorts."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self._hide: Callable[[object], bool] | None = None
        self.setDynamicSortFilter(True)

    def set_hidden(self, hide: Callable[[object], bool] | None) -> None:
        """Hide the rows whose record `hide` accepts (None shows every row)."""
        self.beginFilterChange()
        self._hide = hide
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    @property
    def needle(self) -> str:
        return self._needle

    def set_text(self, text: str) -> None:
        needle = text.strip().lower()
        if needle == self._needle:
            return
        self.beginFilterChange()
        self._needle = needle
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model = self.sourceModel()
        if self._hide is not None and isinstance(model, RecordTableModel) and self._hide(
                model.record(source_row)):
            return False
        if not self._needle:
            return True
        if isinstance(model, RecordTableModel):
            text = model.search_text(source_row)
        else:
            text = str(model.index(source_row, 0, source_parent).data(SEARCH_ROLE) or "")
        return all(part in text for part in self._needle.split())

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting belongs to the source model (see the module docstring)."""
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)
