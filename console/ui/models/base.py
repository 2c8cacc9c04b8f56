"""One thin QAbstractTableModel per table, over records keyed by a string.

Why this shape (docs/architecture.md, "Qt and the event loop"; measured with
bench/ui_load.py at 100k orders):
- updates are *staged* (`upsert`, `remove`, `replace_all`) and applied by a flush on a
  timer (default 150 ms): one `dataChanged` per run of consecutive dirty rows, one insert
  notification per flush, whatever the update rate;
- a bulk load (`replace_all`) goes in by chunks of `chunk_rows`, `load_slice_ms` of them
  per turn of the event loop, the first at once: rows show while the rest loads, and the
  window never stops answering for the whole load (one flush of 100k rows took ~0.2 s).
  `flush()` still applies everything at once (tests, `settle`);
- sorting happens here, never in the proxy. While a column sorts, each row keeps its sort
  key (the value, then the row's key: a total order, the same whatever the history of
  updates), a changed or added row is moved to its place by binary search, and a flush
  announces its moves with one `layoutChanged` (persistent indexes, i.e. selections,
  follow their rows). Only picking a column sorts every row;
- the proxy (`FilterProxy`) only filters, with Qt's own C++ filter over a role of this
  model: with no filter text and nothing hidden it calls no Python per row. A Python
  `filterAcceptsRow` is called for every row at every layout change (80 ms at 100k rows)
  and a row move is a layout change to the proxy;
- a row's lower-case search text is computed only while a filter needs it, and dropped
  when no filter does any more.
Records are immutable domain values; display text is computed per visible cell.

`freeze_startup` and `freeze_long_lived` are the window's garbage-collector policy (see
there): the app calls the first before the window shows, the controller the second once
its rows are in.
"""

from __future__ import annotations

import gc
import itertools
import linecache
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Generic, TypeVar, cast

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)

from console.ui.theme import ThemeState, Tone

R = TypeVar("R")
SortValue = Decimal | int | float | str | bool | None
Index = QModelIndex | QPersistentModelIndex
SortKey = tuple[bool, Any, str]
"""(no value, the value, the row's key): Nones last when ascending, ties by key."""

RECORD_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2
KEY_ROLE = Qt.ItemDataRole.UserRole + 3
_DISPLAY = Qt.ItemDataRole.DisplayRole
_CHANGED_ROLES = [int(Qt.ItemDataRole.DisplayRole), int(Qt.ItemDataRole.ForegroundRole),
                  int(Qt.ItemDataRole.ToolTipRole)]
_ROLE_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ROLE_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ROLE_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_ROLE_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_NO_DATA = frozenset(int(r) for r in (
    Qt.ItemDataRole.FontRole, Qt.ItemDataRole.CheckStateRole, Qt.ItemDataRole.DecorationRole,
    Qt.ItemDataRole.BackgroundRole, Qt.ItemDataRole.SizeHintRole,
    Qt.ItemDataRole.StatusTipRole, Qt.ItemDataRole.WhatsThisRole))
"""Roles no table here answers (asked for every cell at every repaint). `multiData` does
not ask `data` for them: a table that answers one must also override `multiData`."""
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_filter_roles = itertools.count(int(Qt.ItemDataRole.UserRole) + 100)
"""One data role per `FilterProxy`: what its C++ filter reads of each row."""

CHUNK_ROWS = 2_000
"""Rows of a bulk load applied at a time (a few ms at 100k rows, sorted)."""
LOAD_SLICE_MS = 25.0
"""A turn of the event loop applies chunks of a bulk load for this long, then lets the
window paint and answer: each turn costs a repaint of the table (~10-30 ms of Python
`data()` calls), so slices much shorter make a load of 100k rows take seconds
(bench/ui_load.py)."""
PRESENTED_KEPT = 4_096
"""Records presented (`RecordTableModel.present`) remembered: a few screens of rows."""
MANY_REMOVALS = 16
"""Above this many separate runs of removed rows, one layout change first gathers them at
the end and one removal takes them (each removal costs the proxy a pass over its rows)."""
MANY_MOVES = 64
"""Above this many rows to place in a sorted table, one merge of them with the rest
(copied by slices) is cheaper than a binary search and a list insert each."""
HOLD_MOST_ROWS = 100_000
"""A held table applies what it holds once this many rows are staged (`hold`): ~0.1 s of
the GUI thread for a sorted table (bench/ui_load.py --accounts 3 --orders 30000)."""


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
    key_text: Callable[[str], str] | None = None
    """The cell's text from the row's key instead of the record (and its sort value): the
    all-accounts tables hold each account's own records, the account is in the key."""


def runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive runs of row numbers, as inclusive (first, last) pairs."""
    out: list[tuple[int, int]] = []
    for row in sorted(set(rows)):
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


def _insertion_point(keys: list[Any], key: Any, descending: bool,
                     hi: int | None = None) -> int:
    """Where `key` goes in `keys[:hi]` (ascending, or descending); for a key already
    there, its index (keys are unique)."""
    top = len(keys) if hi is None else hi
    if not descending:
        return bisect_left(keys, key, 0, top)
    lo, hi = 0, top
    while lo < hi:
        mid = (lo + hi) // 2
        if keys[mid] > key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _first(item: tuple[Any, ...]) -> Any:
    return item[0]


@dataclass(eq=False)
class _Bulk(Generic[R]):
    """A `replace_all` being applied chunk by chunk."""

    records: Sequence[R]
    index: Mapping[str, R] | None = None
    """key -> record of the whole bulk, built when `latest` first needs it."""
    done: int = 0
    keep: set[str] = field(default_factory=set)
    """Keys the bulk brought so far, and keys staged after it (they stay too)."""
    overridden: set[str] = field(default_factory=set)
    """Keys upserted or removed after the bulk was staged: later news, the bulk skips them."""
    keyed: list[tuple[Any, str, R]] | None = None
    okeys: dict[str, Any] | None = None
    sorted_by: tuple[int, Qt.SortOrder] | None = None
    """A load into an empty sorted table is sorted first, so that its chunks go in top
    first, each after the last: its records are `keyed` (sort key, key, record) a few
    chunks per turn, then sorted; `okeys`: each row's sort key, by `sorted_by`."""


@dataclass(eq=False)
class _FilterState:
    """What a `FilterProxy` asks of each row (the model answers its role)."""

    parts: tuple[str, ...] = ()
    hide: Callable[[object], bool] | None = None


class RecordTableModel(QAbstractTableModel, Generic[R]):
    """Rows of records keyed by `key(record)`; see the module docstring.

    Rows are three parallel lists: the records, their keys and their order keys, which
    ascend in row order (descend when a column sorts descending): a sequence number while
    no column sorts, the `SortKey` while one does. A row is found by binary search on its
    order key, so that moving, inserting or removing rows never renumbers the others.
    """

    def __init__(self, columns: Sequence[Column[R]], key: Callable[[R], str], *,
                 theme: ThemeState | None = None, flush_ms: int = 150,
                 chunk_rows: int = CHUNK_ROWS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = tuple(columns)
        self.key = key
        self.theme = theme
        self.chunk_rows = max(1, chunk_rows)
        self.load_slice_ms = LOAD_SLICE_MS
        self.flush_ms = flush_ms
        self.present: Callable[[str, R], R] | None = None
        """What a row's record is outside the model (`record`, `get`, the record role),
        from its key and its stored record: the all-accounts tables store each account's
        own records and hand out copies tagged with the account, made on demand."""
        self._shown: dict[str, tuple[R, R]] = {}
        self._rows: list[R] = []
        self._keys: list[str] = []
        self._order: list[Any] = []
        self._record: dict[str, R] = {}
        self._okey: dict[str, Any] = {}
        self._seq = itertools.count()
        self._search: dict[str, str] = {}
        self._filters: dict[int, _FilterState] = {}
        self._staged: dict[str, R | None] = {}
        self._hints: dict[str, SortKey] = {}
        """Sort keys of staged rows given with them (`upsert_keyed`), by row key."""
        self._bulk: _Bulk[R] | None = None
        self._held = False
        self._hold_most = HOLD_MOST_ROWS
        self._sort_column = -1
        self._sort_order = Qt.SortOrder.AscendingOrder
        self._descending = False
        """Order keys descend (a column sorts, descending)."""
        self.flushes = 0
        self.data_changed_signals = 0
        self.layout_changes = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_timer)
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
        # Called for every visible cell and role at every repaint (~4,600 calls for a
        # full table): the roles never answered go first, and nothing is looked up twice.
        if role in _NO_DATA:
            return None
        row = index.row()
        if not 0 <= row < len(self._rows):  # an invalid index has row -1
            return None
        record = self._rows[row]
        column = self.columns[index.column()]
        if role == _ROLE_DISPLAY:
            if column.key_text is not None:
                return column.key_text(self._keys[row])
            return column.text(record)
        if role == _ROLE_FOREGROUND:
            if column.tone is None or self.theme is None:
                return None
            tone = column.tone(record)
            return None if tone is None else self.theme.color(tone)
        if role == _ROLE_ALIGNMENT:
            return _ALIGN_RIGHT if column.numeric else _ALIGN_LEFT
        if role == _ROLE_TOOLTIP:
            return column.tooltip(record) if column.tooltip is not None else None
        if role == RECORD_ROLE:
            return record if self.present is None else self._presented(self._keys[row], record)
        if role == KEY_ROLE:
            return self._keys[row]
        if role == SEARCH_ROLE:
            return self.search_text(row)
        state = self._filters.get(role)
        if state is not None:
            return self._filter_value(row, record, state)
        return None

    def multiData(self, index: Index, roleDataSpan: Any) -> None:
        """Every role a view asks of one cell, in one call. Qt's item delegate asks seven
        roles per cell at each repaint through this, and Qt's own version calls `data`
        once per role: seven calls from C++ into Python per cell, each taking the
        interpreter lock, which a thread reading the ledger holds most of the time while
        a book loads; the repaint waits for the lock at each call. A repaint of the
        orders table (~250 cells) with another thread running Python took ~230 ms that
        way and ~70 ms this way, ~10 ms either way alone. The roles no table answers
        cost nothing here; the others are `data`, called from Python. (`roleDataSpan` is
        a `QModelRoleDataSpan`, which iterates; PySide6's stubs do not say so.)"""
        data = self.data
        for role_data in roleDataSpan:
            role = role_data.role()
            value = None if role in _NO_DATA else data(index, role)
            if value is None:
                role_data.clearData()
            else:
                role_data.setData(value)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort here, not in a proxy: one layoutChanged, selections follow their rows. From
        now on each flush keeps the order (see the module docstring). A column out of
        range (-1) stops sorting: rows stay where they are, new ones go last."""
        self._sort_column = column if 0 <= column < len(self.columns) else -1
        self._sort_order = order
        self._hints.clear()  # given for the order before
        keys = self._keys
        if self._sort_column < 0:
            self._descending = False
            self._order = list(range(len(keys)))
            self._seq = itertools.count(len(keys))
        else:
            self._descending = order is Qt.SortOrder.DescendingOrder
            self._order = self._sort_keys(keys, self._rows)
        self._okey = dict(zip(keys, self._order, strict=True))
        self._sort_all()

    @property
    def sort_column(self) -> int:
        return self._sort_column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._sort_order

    # -- records -----------------------------------------------------------------------------

    def record(self, row: int) -> R:
        if self.present is None:
            return self._rows[row]
        return self._presented(self._keys[row], self._rows[row])

    def _presented(self, key: str, record: R) -> R:
        """`present(key, record)`, remembered for the rows last asked for (a repaint asks
        for each visible row's record once per cell)."""
        present = self.present
        if present is None:
            return record
        known = self._shown.get(key)
        if known is not None and known[0] is record:
            return known[1]
        if len(self._shown) >= PRESENTED_KEPT:
            self._shown.clear()
        out = present(key, record)
        self._shown[key] = (record, out)
        return out

    def records(self) -> list[R]:
        present = self.present
        if present is None:
            return list(self._rows)
        return [present(k, r) for k, r in zip(self._keys, self._rows, strict=True)]

    def key_at(self, row: int) -> str:
        return self._keys[row]

    def held_records(self) -> Mapping[str, R]:
        """The stored records by key, as a live read-only view (what is staged not
        applied): its `get` is safe in a worker thread while the GUI thread flushes, for
        a reader that only looks records up (`LedgerPort.share_orders`)."""
        return MappingProxyType(self._record)

    def stored_rows(self, first: int, stop: int) -> tuple[list[str], list[R]]:
        """The keys and the stored records (`present` not applied) of rows `first` to
        `stop` - 1, as slices: what a mirror copies of each flush, without two method
        calls per row (`console.ui.all_accounts`)."""
        return self._keys[first:stop], self._rows[first:stop]

    def sorted_as(self, other: RecordTableModel[Any]) -> bool:
        """Both tables sort by the same column the same way: the sort keys
        of one's rows are the other's, with the row keys the other holds them under
        (`rekeyed_sort_keys`)."""
        column = self._sort_column
        return column >= 0 and column == other._sort_column \
            and self._sort_order == other._sort_order \
            and self.columns[column] is other.columns[column]

    def rekeyed_sort_keys(self, first: int, stop: int, keys: Sequence[str]) -> list[SortKey]:
        """The sort keys of rows `first` to `stop` - 1 of this sorted table, for a table
        sorted as it is (`sorted_as`) that holds them under `keys` (one per row): the value
        is the same, the tie-break is the other's key. An all-accounts table takes them
        with the rows it copies instead of computing each again."""
        return [(okey[0], okey[1], key)
                for okey, key in zip(self._order[first:stop], keys, strict=True)]

    def row_keys(self) -> list[str]:
        return list(self._keys)

    def row_of(self, key: str) -> int | None:
        okey = self._okey.get(key)
        return None if okey is None else self._locate(okey)

    def get(self, key: str) -> R | None:
        record = self._record.get(key)
        present = self.present
        return record if present is None or record is None else present(key, record)

    def latest(self, key: str) -> R | None:
        """The record as it will be once everything staged is applied."""
        record = self._latest(key)
        present = self.present
        return record if present is None or record is None else present(key, record)

    def key_count(self) -> int | None:
        """How many keys the table will hold once everything staged is applied (None
        while a bulk load, `replace_all`, is going in)."""
        if self._bulk is not None:
            return None
        held = self._record
        count = len(held)
        for key, staged in self._staged.items():
            if staged is None:
                count -= key in held
            elif key not in held:
                count += 1
        return count

    def _latest(self, key: str) -> R | None:
        if key in self._staged:
            return self._staged[key]
        bulk = self._bulk
        if bulk is not None:
            if key in bulk.overridden:
                return self._record.get(key)
            return self._bulk_index(bulk).get(key)
        return self._record.get(key)

    def latest_records(self) -> dict[str, R]:
        """Every record by key, as they will be once everything staged is applied: a new
        dict (built at C speed), safe to read in a worker thread since the records are
        immutable. For work over every row that need not hold the GUI thread (the
        controller's merge of a ledger read with what the table shows). The stored
        records: `present` is not applied."""
        bulk = self._bulk
        if bulk is None:
            out = dict(self._record)
        else:
            out = dict(self._bulk_index(bulk))
            for key in bulk.overridden:
                mine = self._record.get(key)
                if mine is None:
                    out.pop(key, None)
                else:
                    out[key] = mine
        for key, staged in self._staged.items():
            if staged is None:
                out.pop(key, None)
            else:
                out[key] = staged
        return out

    def _bulk_index(self, bulk: _Bulk[R]) -> Mapping[str, R]:
        if bulk.index is None:
            key = self.key
            bulk.index = {key(r): r for r in bulk.records}
        return bulk.index

    def search_text(self, row: int) -> str:
        key = self._keys[row]
        text = self._search.get(key)
        if text is None:
            record = self._rows[row]
            text = "\t".join(c.text(record) if c.key_text is None else c.key_text(key)
                             for c in self.columns).lower()
            self._search[key] = text
        return text

    def cell_text(self, row: int, column: int) -> str:
        col = self.columns[column]
        if col.key_text is not None:
            return col.key_text(self._keys[row])
        return col.text(self._rows[row])

    @property
    def pending(self) -> bool:
        return self._bulk is not None or bool(self._staged)

    @property
    def loading(self) -> bool:
        """A bulk load is still going in, chunk by chunk."""
        return self._bulk is not None

    # -- filtering (for FilterProxy) ---------------------------------------------------------

    def _filter_value(self, row: int, record: R, state: _FilterState) -> str:
        if state.hide is not None and state.hide(record):
            return "-"
        return "+" + self.search_text(row) if state.parts else "+"

    def _set_filter(self, role: int, state: _FilterState | None) -> None:
        if state is None:
            self._filters.pop(role, None)
        else:
            self._filters[role] = state
        if not any(s.parts for s in self._filters.values()):
            self._search.clear()  # no filter text any more: the texts go (~200 bytes a row)

    # -- staging and flushing ----------------------------------------------------------------

    def replace_all(self, records: Iterable[R] | Mapping[str, R]) -> None:
        """Stage the whole content (rows not in `records` go). A mapping must be keyed by
        `key`: it then also answers `latest` while the load goes in. Applied chunk by chunk
        (module docstring), the first chunk at the next turn of the loop when the table is
        empty."""
        if isinstance(records, Mapping):
            index = dict(records)
            self._bulk = _Bulk(list(index.values()), index=index)
        else:
            self._bulk = _Bulk(list(records))
        self._staged = {}
        self._hints = {}
        if self._held:
            return
        if not self._rows:
            self._timer.start(0)
        else:
            self._schedule()

    def upsert(self, records: Iterable[R]) -> None:
        key, staged, hints = self.key, self._staged, self._hints
        for record in records:
            k = key(record)
            staged[k] = record
            if hints:
                hints.pop(k, None)
        self._schedule()

    def upsert_keyed(self, items: Iterable[tuple[str, R]],
                     sort_keys: Sequence[SortKey] | None = None) -> None:
        """`upsert` with the keys given (a record whose key is not `key(record)`: an
        all-accounts table's rows are keyed by account and the record's own key), and
        optionally each row's sort key as this table would compute it under its current
        sort (`rekeyed_sort_keys`, in the order of `items`)."""
        pairs = items if isinstance(items, list) else list(items)
        self._staged.update(pairs)
        if sort_keys is not None:
            self._hints.update(zip([k for k, _ in pairs], sort_keys, strict=True))
        elif self._hints:
            for key, _ in pairs:
                self._hints.pop(key, None)
        self._schedule()

    def remove(self, keys: Iterable[str]) -> None:
        hints = self._hints
        for key in keys:
            self._staged[key] = None
            hints.pop(key, None)
        self._schedule()

    def hold(self, most: int = HOLD_MOST_ROWS) -> None:
        """Stage without applying until `release` (an explicit `flush` still applies
        everything): for a table that would otherwise apply, re-sort and repaint many
        rows several times in a row (`console.ui.all_accounts`, while the accounts'
        tables load). Once `most` rows are staged the hold ends by itself: what is
        applied at once, and so the GUI thread's pause, stays bounded."""
        self._held = True
        self._hold_most = most
        self._timer.stop()

    def release(self) -> None:
        """Apply what was staged while held, at the next turn of the loop."""
        if self._held:
            self._held = False
            if self._staged or self._bulk is not None:
                self._timer.start(0)

    @property
    def held(self) -> bool:
        """Between `hold` and `release`."""
        return self._held

    def _schedule(self) -> None:
        if self._held:
            if len(self._staged) < self._hold_most:
                return
            self._held = False  # enough for one flush (`hold`)
        if len(self._staged) >= self.chunk_rows:
            # a page of a load, not a trickle of updates: nothing to gather by waiting,
            # it goes in at the next turn of the loop (bench/ui_load.py: the last page of
            # 100k orders waited up to a whole `flush_ms` to be shown)
            if self._timer.remainingTime() != 0:
                self._timer.start(0)
            return
        if not self._timer.isActive():
            self._timer.start(self.flush_ms)

    def flush(self) -> None:
        """Apply everything staged now, a bulk load whole (tests, settling); the timer
        applies a bulk load by chunks."""
        self._timer.stop()
        self._flush(None)

    def _on_timer(self) -> None:
        if self._held:
            return
        deadline = time.perf_counter() + self.load_slice_ms / 1000
        self._flush(self.chunk_rows)
        while self._bulk is not None and time.perf_counter() < deadline:
            self._flush(self.chunk_rows)
        if self._bulk is not None:
            self._timer.start(0)  # the next chunks at the next turn of the loop
        elif self._staged and not self._timer.isActive():
            self._timer.start(self.flush_ms)

    def _flush(self, limit: int | None) -> None:
        bulk = self._bulk
        if bulk is None and not self._staged:
            return
        self.flushes += 1
        if bulk is not None:
            wanted = self._take(bulk, limit)
            if wanted:
                self._apply(wanted, bulk.okeys if bulk.sorted_by == (
                    self._sort_column, self._sort_order) else None)
        if self._staged:
            staged, self._staged = self._staged, {}
            hints, self._hints = self._hints, {}
            if self._bulk is not None:
                self._bulk.keep.update(staged)
                self._bulk.overridden.update(staged)
            self._apply(staged, hints)

    def _take(self, bulk: _Bulk[R], limit: int | None) -> dict[str, R | None]:
        """The next chunk of a bulk load; with its last one, the rows it does not hold."""
        presort = bulk.done == 0 and bulk.okeys is None and self._sort_column >= 0 and (
            bulk.keyed is not None or (not self._rows and len(bulk.records) > 1))
        if presort and not self._presort(bulk, None if limit is None else 4 * limit):
            return {}
        records = bulk.records
        end = len(records) if limit is None else min(len(records), bulk.done + limit)
        wanted: dict[str, R | None] = {}
        key, skip, keep = self.key, bulk.overridden, bulk.keep
        for i in range(bulk.done, end):
            record = records[i]
            k = key(record)
            if k not in skip:
                keep.add(k)
                wanted[k] = record
        bulk.done = end
        if end >= len(records):
            self._bulk = None
            staged = self._staged
            for k in self._keys:
                if k not in keep and k not in staged:
                    wanted[k] = None
        return wanted

    def _presort(self, bulk: _Bulk[R], limit: int | None) -> bool:
        """Key up to `limit` more records of `bulk`; True once all are, and sorted."""
        records = bulk.records
        if bulk.keyed is None:
            bulk.keyed = []
            bulk.sorted_by = (self._sort_column, self._sort_order)
        keyed = bulk.keyed
        stop = len(records) if limit is None else min(len(records), len(keyed) + limit)
        chunk = records[len(keyed):stop]
        keys = [self.key(r) for r in chunk]
        keyed.extend(zip(self._sort_keys(keys, chunk), keys, chunk, strict=True))
        if len(keyed) < len(records):
            return False
        keyed.sort(key=_first, reverse=self._descending)  # often one run: the ledger's order
        bulk.records = [r for _, _, r in keyed]
        bulk.okeys = {k: okey for okey, k, _ in keyed}
        bulk.keyed = None
        return True

    def _apply(self, wanted: Mapping[str, R | None],
               hints: Mapping[str, Any] | None = None) -> None:
        """Apply staged changes; `hints`: sort keys computed already, by row key."""
        records, okeys = self._record, self._okey
        sorting = self._sort_column >= 0
        if len(wanted) >= MANY_MOVES and records.keys().isdisjoint(wanted) \
                and not any(r is None for r in wanted.values()):
            # rows of a load, none held yet: no look-up per row, one sort (C) of all
            head = len(self._rows)
            self._append(list(wanted), cast(list[R], list(wanted.values())), hints)
            if sorting and not self._in_order(max(0, head - 1), len(self._rows)):
                self._sort_all()
            return
        gone: list[int] = []
        added: list[tuple[str, R]] = []
        dirty: list[str] = []
        moved: list[tuple[str, R, Any]] = []
        for key, record in wanted.items():
            old = records.get(key)
            if record is None:
                if old is not None:
                    gone.append(self._locate(okeys[key]))
                continue
            if old is None:
                added.append((key, record))
                continue
            if old is record or old == record:
                continue
            dirty.append(key)
            self._search.pop(key, None)
            if sorting:
                new = hints[key] if hints and key in hints else self._make_sort_key(key, record)
                if new != okeys[key]:
                    moved.append((key, record, new))  # placed below, with one layout change
                    continue
            records[key] = record
            self._rows[self._locate(okeys[key])] = record
        if gone:
            self._remove_rows(gone)
        if added:
            self._append([k for k, _ in added], [r for _, r in added], hints)
        if moved or (added and sorting):
            self._place(moved, len(added))
        if dirty:
            last_col = len(self.columns) - 1
            for first, last in runs(self._locate(okeys[k]) for k in dirty if k in okeys):
                self.data_changed_signals += 1
                self.dataChanged.emit(self.index(first, 0), self.index(last, last_col),
                                      _CHANGED_ROLES)

    def _remove_rows(self, gone: list[int]) -> None:
        spans = runs(gone)
        if len(spans) > MANY_REMOVALS:
            chosen = set(gone)
            n = len(self._rows)
            self._relayout([i for i in range(n) if i not in chosen] + sorted(chosen))
            spans = [(n - len(chosen), n - 1)]
        for first, last in reversed(spans):
            self.beginRemoveRows(QModelIndex(), first, last)
            for key in self._keys[first:last + 1]:
                self._search.pop(key, None)
                del self._record[key]
                del self._okey[key]
            del self._rows[first:last + 1]
            del self._keys[first:last + 1]
            del self._order[first:last + 1]
            self.endRemoveRows()

    def _append(self, keys: list[str], rows: list[R],
                hints: Mapping[str, Any] | None = None) -> None:
        """New rows go last (while a column sorts, `_place` moves them next); `hints`:
        their sort keys, when given for every one."""
        start = len(self._rows)
        order: list[Any]
        if self._sort_column >= 0:
            if hints and len(hints) >= len(keys) and all(k in hints for k in keys):
                order = [hints[k] for k in keys]
            else:
                order = self._sort_keys(keys, rows)
        else:
            order = list(itertools.islice(self._seq, len(keys)))
        self.beginInsertRows(QModelIndex(), start, start + len(keys) - 1)
        self._keys += keys
        self._rows += rows
        self._order += order
        self._record.update(zip(keys, rows, strict=True))
        self._okey.update(zip(keys, order, strict=True))
        self.endInsertRows()

    def _locate(self, okey: Any, hi: int | None = None) -> int:
        """The row of an order key (binary search over the rows before `hi`)."""
        return _insertion_point(self._order, okey, self._descending, hi)

    # -- sorting -----------------------------------------------------------------------------

    def _sort_keys(self, keys: Sequence[str], records: Sequence[R]) -> list[SortKey]:
        """The rows' sort keys (`SortKey`) under the column sorting now, in one pass (a
        page of a load: one call of the column's function per row, none of this
        method's); `_make_sort_key` is one row's."""
        column = self.columns[self._sort_column]
        if column.key_text is not None:
            values: list[SortValue] = [column.key_text(k) for k in keys]
        else:
            values = list(map(column.sort or column.text, records))
        return [(False, v, k) if v is not None else (True, 0, k)
                for v, k in zip(values, keys, strict=True)]

    def _make_sort_key(self, key: str, record: R) -> SortKey:
        return self._sort_keys((key,), (record,))[0]

    def _sort_all(self) -> None:
        order = self._order
        if len(order) < 2:
            return
        perm = sorted(range(len(order)), key=order.__getitem__, reverse=self._descending)
        if perm != list(range(len(perm))):
            self._relayout(perm)

    def _place(self, moved: list[tuple[str, R, Any]], tail: int) -> None:
        """Put in their places the rows in `moved` (key, new record, new order key; their
        rows still hold the old ones) and the `tail` rows just appended, every other row
        being in order: one layout change, none when every row is in its place already."""
        n = len(self._rows)
        head = n - tail
        if not moved and self._in_order(max(0, head - 1), n):
            return  # only new rows, and they belong last (a presorted load's chunks)
        at = [self._locate(self._okey[k], head) for k, _, _ in moved]
        for (key, record, _), row in zip(moved, at, strict=True):
            self._rows[row] = record
            self._record[key] = record
        if len(moved) + tail > MANY_MOVES:
            self._merge(moved, at, head)
            return
        trial = self._order.copy()
        for (_, _, okey), row in zip(moved, at, strict=True):
            trial[row] = okey
        in_place = trial.copy()
        pops = [*range(n - 1, head - 1, -1), *sorted(at, reverse=True)]
        taken = [trial.pop(i) for i in pops]
        targets = []
        for okey in taken:
            target = _insertion_point(trial, okey, self._descending)
            trial.insert(target, okey)
            targets.append(target)
        for key, _, okey in moved:
            self._okey[key] = okey
        if trial == in_place:  # every row is in its place already
            self._order = trial
            return
        saved = self._begin_layout()
        rows, keys = self._rows, self._keys
        lifted = [(keys.pop(i), rows.pop(i)) for i in pops]
        for (key, record), target in zip(lifted, targets, strict=True):
            keys.insert(target, key)
            rows.insert(target, record)
        self._order = trial
        self._end_layout(saved, lambda key, _row: self.row_of(key))

    def _in_order(self, start: int, stop: int) -> bool:
        run = self._order[start:stop]
        return run == sorted(run, reverse=self._descending)

    def _merge(self, moved: list[tuple[str, R, Any]], at: list[int], head: int) -> None:
        """`_place` for many rows: the other rows are copied by slices around them (C
        speed), and each goes in at its binary-searched place, in one pass."""
        order, keys, rows = self._order, self._keys, self._rows
        spans: list[tuple[int, int]] = []
        start = 0
        for i in sorted(at):
            if i > start:
                spans.append((start, i))
            start = i + 1
        if start < head:
            spans.append((start, head))

        def rest(values: list[Any]) -> list[Any]:
            return list(itertools.chain.from_iterable(values[a:b] for a, b in spans))

        rest_order, rest_keys, rest_rows = rest(order), rest(keys), rest(rows)
        items = [(okey, key, record) for key, record, okey in moved]
        items += zip(order[head:], keys[head:], rows[head:], strict=True)
        items.sort(key=_first, reverse=self._descending)
        if self._descending:
            flipped, n = rest_order[::-1], len(rest_order)
            places = [n - bisect_left(flipped, item[0]) for item in items]
        else:
            places = [bisect_left(rest_order, item[0]) for item in items]
        new_order: list[Any] = []
        new_keys: list[str] = []
        new_rows: list[R] = []
        start = 0
        for (okey, key, record), place in zip(items, places, strict=True):
            if place > start:
                new_order += rest_order[start:place]
                new_keys += rest_keys[start:place]
                new_rows += rest_rows[start:place]
                start = place
            new_order.append(okey)
            new_keys.append(key)
            new_rows.append(record)
        new_order += rest_order[start:]
        new_keys += rest_keys[start:]
        new_rows += rest_rows[start:]
        for key, _, okey in moved:
            self._okey[key] = okey
        if new_keys == keys:  # every row is in its place already
            self._order, self._rows = new_order, new_rows
            return
        saved = self._begin_layout()
        self._order, self._keys, self._rows = new_order, new_keys, new_rows
        self._end_layout(saved, lambda key, _row: self.row_of(key))

    def _relayout(self, perm: list[int]) -> None:
        """Rows in a new order: row `perm[i]` becomes row i."""
        saved = self._begin_layout()
        self._rows = [self._rows[i] for i in perm]
        self._keys = [self._keys[i] for i in perm]
        self._order = [self._order[i] for i in perm]
        if len(saved[0]) <= 8:
            self._end_layout(saved, lambda _key, row: perm.index(row))
            return
        inverse = [0] * len(perm)
        for new, old in enumerate(perm):
            inverse[old] = new
        self._end_layout(saved, lambda _key, row: inverse[row])

    def _begin_layout(self) -> tuple[list[QModelIndex], list[tuple[str, int] | None]]:
        """Announce a new order; the persistent indexes (selections, the proxy's own) with
        the key and row of each, for `_end_layout` to move them."""
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        n = len(self._keys)
        return before, [(self._keys[p.row()], p.row()) if 0 <= p.row() < n else None
                        for p in before]

    def _end_layout(self, saved: tuple[list[QModelIndex], list[tuple[str, int] | None]],
                    new_row: Callable[[str, int], int | None]) -> None:
        before, where = saved
        after = []
        for p, was in zip(before, where, strict=True):
            row = None if was is None else new_row(*was)
            after.append(QModelIndex() if row is None else self.index(row, p.column()))
        self.changePersistentIndexList(before, after)
        self.layout_changes += 1
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
        width = range(len(self.columns))
        return [header, *([self.cell_text(r, c) for c in width] for r in chosen)]


class FilterProxy(QSortFilterProxyModel):
    """Free-text filter over every column (case-insensitive), and rows hidden by a
    predicate; never sorts. The filtering itself is Qt's (C++): it reads this proxy's own
    role of the source model, "-" for a hidden row and "+" and the row's search text
    otherwise, against a pattern that needs the "+" and every word. With no words and
    nothing hidden the pattern is empty, and Qt accepts every row without asking."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._needle = ""
        self._state = _FilterState()
        self._role = next(_filter_roles)
        self.setDynamicSortFilter(True)
        self.setFilterRole(self._role)
        self.setFilterKeyColumn(0)

    def setSourceModel(self, sourceModel: QAbstractItemModel) -> None:
        """Tell a `RecordTableModel` source which role this proxy's filter reads."""
        old = self.sourceModel()
        if isinstance(old, RecordTableModel):
            old._set_filter(self._role, None)
        if isinstance(sourceModel, RecordTableModel):
            sourceModel._set_filter(self._role, self._state)
        super().setSourceModel(sourceModel)

    def set_hidden(self, hide: Callable[[object], bool] | None) -> None:
        """Hide the rows whose record `hide` accepts (None shows every row)."""
        self._refilter(self._state.parts, hide)

    @property
    def needle(self) -> str:
        return self._needle

    def set_text(self, text: str) -> None:
        needle = text.strip().lower()
        if needle == self._needle:
            return
        self._needle = needle
        self._refilter(tuple(needle.split()), self._state.hide)

    def _refilter(self, parts: tuple[str, ...], hide: Callable[[object], bool] | None) -> None:
        """Filter again, once: a new pattern refilters by itself; the same pattern with
        another predicate is announced as a filter change."""
        pattern = "" if not parts and hide is None else "^\\+" + "".join(
            f"(?=.*{QRegularExpression.escape(p)})" for p in parts)
        same = pattern == self.filterRegularExpression().pattern()
        if same:
            self.beginFilterChange()
        self._state.parts = parts
        self._state.hide = hide
        source = self.sourceModel()
        if isinstance(source, RecordTableModel):
            source._set_filter(self._role, self._state)
        if same:
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.setFilterRegularExpression(QRegularExpression(
                pattern, QRegularExpression.PatternOption.DotMatchesEverythingOption))

    def multiData(self, index: Index, roleDataSpan: Any) -> None:
        """A cell's roles from the source in one call (`RecordTableModel.multiData`): Qt's
        proxy asks its own `data` once per role, each a call into Python."""
        source = self.sourceModel()
        if isinstance(source, RecordTableModel):
            source.multiData(self.mapToSource(index), roleDataSpan)
        else:
            super().multiData(index, roleDataSpan)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorting belongs to the source model (see the module docstring)."""
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)


# -- garbage collection ----------------------------------------------------------------------

def freeze_startup() -> None:
    """The window's garbage-collector policy at start-up, called once before the window
    shows and reads anything (`app.run_console`): collect everything once (the window is
    not shown yet, nobody waits), then freeze what is left, the program's own objects
    (modules, classes, widgets), alive for the whole run. Until `freeze_long_lived`, each
    full collection otherwise walks them again; with a large table loading that is
    several full collections (bench/ui_load.py: with 100k orders, the start-up's
    collections went from ~1.2 s to ~0.5 s and the rows came ~0.7 s sooner). Why freezing
    is sound, and what it costs: `freeze_long_lived`. The source lines PySide6's import
    hook cached go first (`drop_import_sources`)."""
    drop_import_sources()
    gc.collect()
    gc.freeze()
    _watch_full_collections()


def drop_import_sources() -> None:
    """Empty `linecache`, which PySide6 fills with the source of every module imported
    after it: its import hook (shibokensupport's `feature_imported`) reads each one with
    `inspect.getsource` to see whether it names PySide6, and `linecache` keeps the lines.
    For the console that is ~750 files, ~200k strings, ~20 MB of the window's memory
    (bench/ui_load.py, tracemalloc at the start-up's peak) that nothing reads again: a
    traceback re-reads the lines it shows from its file."""
    linecache.clearcache()


FREEZE_MIN_ROWS = 10_000
"""Below this many rows the window leaves the collector alone (see `freeze_long_lived`)."""
FULL_COLLECTION_BUDGET_MS = 10.0
"""A full collection slower than this freezes what it found alive (`freeze_long_lived`)."""
_full_collection_started: list[float] = []


def freeze_long_lived(rows: int) -> bool:
    """The window's garbage-collector policy, called once a load of `rows` table rows is
    in (the controller, after its first read of the ledger). True when it froze.

    Why: CPython's cyclic collector walks every tracked object in a full collection, and
    every record a table holds is one (frozen dataclasses with slots are tracked, though
    they hold no cycle: refcounting alone frees them). With 100k orders a full collection
    walked ~670k objects and froze the window for ~0.4 s (bench/ui_load.py), at moments
    nobody chooses. `gc.freeze()` moves everything alive now (modules, classes, widgets,
    the rows just loaded) to the permanent generation, which no collection walks; after
    that a full collection walks only what became long-lived since.

    A full collection right after the freeze walks nothing frozen (it is quick) and makes
    CPython count the next ones from the few objects left: it starts a full collection
    when the objects promoted since exceed a quarter of those that survived the last one,
    so without it the first one would wait for a quarter of the 670k and walk them all.

    The price: a frozen object that later becomes part of a reference cycle is never
    collected (refcounting still frees every acyclic one, rows included). That is bounded:
    the young generations are collected first (cheap), so young garbage is not frozen; and
    a later refreeze happens only after a full collection slower than
    `FULL_COLLECTION_BUDGET_MS`, when everything left is reachable (a full collection just
    proved it), to keep later collections short as updates replace rows through the day.
    Small tables (below `FREEZE_MIN_ROWS`, and so the tests) leave the collector as it is.
    """
    if rows < FREEZE_MIN_ROWS:
        return False
    drop_import_sources()  # the modules imported since the start-up's
    gc.collect(1)
    gc.freeze()
    gc.collect()  # walks nothing frozen: quick; the next full collections count from here
    _watch_full_collections()
    return True


def _watch_full_collections() -> None:
    if _refreeze_after_slow_full_collection not in gc.callbacks:
        gc.callbacks.append(_refreeze_after_slow_full_collection)


def release_long_lived() -> None:
    """Undo `freeze_startup` and `freeze_long_lived` (the objects go back to the oldest
    generation, the watch of full collections stops)."""
    if _refreeze_after_slow_full_collection in gc.callbacks:
        gc.callbacks.remove(_refreeze_after_slow_full_collection)
    gc.unfreeze()


def _refreeze_after_slow_full_collection(phase: str, info: dict[str, int]) -> None:
    if info.get("generation") != 2:
        return
    if phase == "start":
        _full_collection_started[:] = [time.perf_counter()]
        return
    if _full_collection_started and (
            time.perf_counter() - _full_collection_started[0]) * 1000 \
            > FULL_COLLECTION_BUDGET_MS:
        gc.freeze()
