"""The "All accounts" scope: every open account's rows in one set of tables.

Each account keeps its own tables (its controller's models, keyed as they always were);
the all-accounts tables follow them. A `Mirror` listens to one account's model and stages
what each flush of it changed (rows inserted, changed, about to be removed; a reset
re-reads it all) into the merged model, keyed by account and key: two accounts may share
a client order id, a position key or an asset. The merged model holds the account's own
record objects, not copies: the account is in the row key only (the Account column reads
it there), and a record handed out of the merged model (`record`, `get`, the record
role: a selection, a row action) is tagged with its account when asked
(`console.ui.account_records`, `RecordTableModel.present`). Tagging every row copied
100k orders per account and every update again (bench/ui_load.py --accounts 3). The runs
and inbox tables, keyed by unique ids and small, keep tagged copies.

Following costs work for every update, so the mirrors run only while the all-accounts
tables are shown (`activate`), and the merged models are emptied when they are not.
The inbox is the exception: its panel builds its rows itself (`run_items`), from each
account's reads, tagged here.

While the accounts' first loads read the rest of their books (each account's first page
shown), the all-accounts orders table holds what the mirrors stage and applies it when
the last load ends (`RecordTableModel.hold`), at most `HOLD_MAX_MS` later. The accounts'
rows interleave in time, so each account's page applied on its own re-sorts the whole
table and repaints it, while the reading thread waits for the interpreter lock: for
3 x 30k orders the rows were all shown ~0.1 s sooner this way (bench/ui_load.py
--accounts 3). Each account's newest orders still show at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer, Signal

from console.domain.reconciliation import RunRecord
from console.engine.alerts import AlertEngine
from console.ui.account_records import account_of, tag
from console.ui.controller import BookLoad, ConsoleController
from console.ui.models.alerts import AlertsModel
from console.ui.models.audit import AuditModel
from console.ui.models.balances import BalancesModel
from console.ui.models.base import Column, RecordTableModel
from console.ui.models.fills import FillsModel
from console.ui.models.inbox import HELD, InboxItem, InboxModel
from console.ui.models.orders import OrdersModel
from console.ui.models.positions import PositionsModel
from console.ui.models.runs import RunsModel
from console.ui.theme import ThemeState

R = TypeVar("R")
M = TypeVar("M", bound=RecordTableModel[Any])
Index = QModelIndex | QPersistentModelIndex

ACCOUNT_TITLE = "Account"
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
KEY_SEPARATOR = "\x1f"
"""Between the account and the record's own key (a character no key or label holds)."""
SYNC_CHUNK = 1000
"""Rows copied per turn of the event loop when the all-accounts tables are shown."""
HOLD_MAX_MS = 2_000
"""The longest the all-accounts orders table waits for the accounts' first loads."""


def label_of_key(key: str) -> str:
    """The account label at the start of an all-accounts row key."""
    return key.partition(KEY_SEPARATOR)[0]


def account_column(*, by_key: bool = False) -> Column[Any]:
    return Column(ACCOUNT_TITLE, lambda r: account_of(r) or "", width=120,
                  key_text=label_of_key if by_key else None)


def _tagged_by_key(key: str, record: Any) -> Any:
    return tag(record, label_of_key(key))


def merged(model: M, *, unique_keys: bool = False) -> M:
    """`model` (a fresh, empty table of its kind) turned into an all-accounts table: an
    Account column (last, so the kind's own column numbers stay valid; the window shows
    it first) and keys that start with the account. `unique_keys`: the kind's own keys
    are unique across accounts already (a run id is a uuid4, an inbox item is a run id
    and an index) and are kept, so that the inbox panel's lookups by key still work."""
    own_key: Callable[[Any], str] = model.key
    model.columns = (*model.columns, account_column(by_key=not unique_keys))
    if not unique_keys:
        model.key = lambda r: f"{account_of(r) or ''}{KEY_SEPARATOR}{own_key(r)}"
        model.present = _tagged_by_key
    return model


class Mirror(Generic[R]):
    """Keeps the rows of one account's `source` in the merged `target`: the same record
    objects under the key account + own key when the target presents them tagged
    (`merged`), tagged copies otherwise (runs, inbox)."""

    def __init__(self, label: str, source: RecordTableModel[R],
                 target: RecordTableModel[R]) -> None:
        self.label = label
        self.source = source
        self.target = target
        self.prefix: str | None = label + KEY_SEPARATOR if target.present is not None \
            else None
        """Set: by reference (the row key is prefix + the source's key)."""
        self._keys: dict[str, str] = {}
        """source key -> target key of every row staged into the target."""
        self._tagged: dict[str, tuple[R, R]] = {}
        """source key -> (source record, its tagged copy): a reset re-tags only changes."""
        self._attached = False

    def attach(self, *, sync: bool = True) -> None:
        """Follow the source from now on; `sync`: stage what it holds now, at once (else
        the caller runs `sync_steps`)."""
        if self._attached:
            return
        self._attached = True
        s = self.source
        s.rowsInserted.connect(self._inserted)
        s.dataChanged.connect(self._changed)
        s.rowsAboutToBeRemoved.connect(self._removing)
        s.modelReset.connect(self.sync)
        if sync:
            self.sync()

    def detach(self) -> None:
        """Stop following and take this account's rows out of the target."""
        if not self._attached:
            return
        self._attached = False
        s = self.source
        s.rowsInserted.disconnect(self._inserted)
        s.dataChanged.disconnect(self._changed)
        s.rowsAboutToBeRemoved.disconnect(self._removing)
        s.modelReset.disconnect(self.sync)
        if self.prefix is not None:
            prefix = self.prefix
            self.target.remove([k for k in self.target.latest_records()
                                if k.startswith(prefix)])
        else:
            self.target.remove(list(self._keys.values()))
        self._keys.clear()
        self._tagged.clear()

    def _tag(self, record: R) -> R:
        own = self.source.key(record)
        known = self._tagged.get(own)
        if known is not None and known[0] is record:
            return known[1]
        tagged = tag(record, self.label)
        self._tagged[own] = (record, tagged)
        self._keys[own] = self.target.key(tagged)
        return tagged

    def _stage(self, rows: range) -> None:
        source = self.source
        count = source.rowCount()
        if self.prefix is not None and source.present is None:
            prefix = self.prefix
            first, stop = max(rows.start, 0), min(rows.stop, count)
            keys, records = source.stored_rows(first, stop)
            keys = [prefix + k for k in keys]
            target = self.target
            target.upsert_keyed(
                list(zip(keys, records, strict=True)),
                source.rekeyed_sort_keys(first, stop, keys) if target.sorted_as(source)
                else None)
            return
        if self.prefix is not None:
            prefix = self.prefix
            self.target.upsert_keyed([(prefix + source.key_at(r), source.record(r))
                                      for r in rows if 0 <= r < count])
            return
        self.target.upsert([self._tag(source.record(r)) for r in rows if 0 <= r < count])

    def sync(self) -> None:
        """Stage the source's whole content (after a reset, and when attaching)."""
        for _ in self.sync_steps(chunk=1 << 62):
            pass

    def sync_steps(self, chunk: int) -> Iterator[int]:
        """`sync` in steps of `chunk` rows (yields the rows staged), so that showing tens
        of thousands of rows never holds the GUI for long. Each step takes the source's
        current record of each key, so a change that came in between is not undone."""
        keys = self.source.row_keys()
        fresh = set(keys)
        prefix = self.prefix
        if prefix is not None:
            n = len(prefix)
            self.target.remove([k for k in self.target.latest_records()
                                if k.startswith(prefix) and k[n:] not in fresh])
            for start in range(0, len(keys), chunk):
                pairs = [(prefix + k, r) for k in keys[start:start + chunk]
                         if (r := self.source.get(k)) is not None]
                self.target.upsert_keyed(pairs)
                yield len(pairs)
            return
        gone = [k for k in self._keys if k not in fresh]
        self.target.remove([self._keys.pop(k) for k in gone])
        for k in gone:
            self._tagged.pop(k, None)
        for start in range(0, len(keys), chunk):
            records = [r for k in keys[start:start + chunk]
                       if (r := self.source.get(k)) is not None]
            self.target.upsert([self._tag(r) for r in records])
            yield len(records)

    def _inserted(self, _parent: Index, first: int, last: int) -> None:
        self._stage(range(first, last + 1))

    def _changed(self, top_left: Index, bottom_right: Index, roles: Sequence[int] = ()) -> None:
        if roles and _DISPLAY not in roles:
            return  # colours only (a theme change): the merged table repaints on its own
        self._stage(range(top_left.row(), bottom_right.row() + 1))

    def _removing(self, _parent: Index, first: int, last: int) -> None:
        stop = min(last, self.source.rowCount() - 1) + 1
        if self.prefix is not None:
            prefix = self.prefix
            self.target.remove([prefix + self.source.key_at(r) for r in range(first, stop)])
            return
        keys = []
        for row in range(first, stop):
            own = self.source.key(self.source.record(row))
            self._tagged.pop(own, None)
            target_key = self._keys.pop(own, None)
            if target_key is not None:
                keys.append(target_key)
        self.target.remove(keys)


class AllAccountsView(QObject):
    """The all-accounts scope (`console.ui.scope.ScopeView`) over the open accounts."""

    inbox_changed = Signal()

    def __init__(self, theme: ThemeState, *, flush_ms: int = 150,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme
        self.orders = merged(OrdersModel(theme, flush_ms=flush_ms, parent=self))
        self.positions = merged(PositionsModel(theme, flush_ms=flush_ms, parent=self))
        self.fills = merged(FillsModel(theme, flush_ms=flush_ms, parent=self))
        self.balances = merged(BalancesModel(theme, flush_ms=flush_ms, parent=self))
        self.inbox = merged(InboxModel(theme, parent=self), unique_keys=True)
        self.runs = merged(RunsModel(theme, parent=self), unique_keys=True)
        self.alerts_model = merged(AlertsModel(theme, parent=self))
        self.audit = merged(AuditModel(theme, parent=self))
        self.accounts: list[ConsoleController] = []
        self.active = False
        self._mirrors: list[Mirror[Any]] = []
        self._syncing: Iterator[int] | None = None
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(0)
        self._sync_timer.timeout.connect(self._sync_step)
        self._hold_limit = QTimer(self)
        self._hold_limit.setSingleShot(True)
        self._hold_limit.setInterval(HOLD_MAX_MS)
        self._hold_limit.timeout.connect(self._hold_spent)
        self._hold_over = False
        """The hold lasted `HOLD_MAX_MS`: no new hold until every load has ended."""

    # -- accounts ----------------------------------------------------------------------------

    def set_accounts(self, accounts: Sequence[ConsoleController]) -> None:
        """The open accounts changed (opened, closed)."""
        for old in self.accounts:
            if old not in accounts:
                old.inbox_changed.disconnect(self.inbox_changed)
                old.book_loading.disconnect(self._loads_changed)
        for new in accounts:
            if new not in self.accounts:
                new.inbox_changed.connect(self.inbox_changed)
                new.book_loading.connect(self._loads_changed)
        self.accounts = list(accounts)
        if self.active:
            self._detach()
            self._attach()
            self._sync_step()
        self._loads_changed()
        self.inbox_changed.emit()

    def _loads_changed(self) -> None:
        """Hold the orders table while some account reads the rest of its book and none
        waits for its first page (which goes in at once); release it when none reads."""
        loads = [c.book_load for c in self.accounts]
        reading = self.active and BookLoad.REST in loads
        if reading and BookLoad.FIRST_PAGE not in loads:
            if not self.orders.held and not self._hold_over:
                self.orders.flush()  # the first pages staged so far go in now
                self.orders.hold()
                self._hold_limit.start()
            return
        if not reading:
            self._hold_over = False
        self._hold_limit.stop()
        self.orders.release()

    def _hold_spent(self) -> None:
        """The loads lasted `HOLD_MAX_MS`: show what was staged, and hold no more until
        every load has ended (`_hold_over`)."""
        self._hold_over = True
        self.orders.release()

    def activate(self) -> None:
        """The all-accounts tables are shown: follow every account. What they hold now is
        copied in steps of `SYNC_CHUNK` rows, one per turn of the event loop (the first at
        once: a few hundred rows are shown complete straight away)."""
        if not self.active:
            self.active = True
            self._attach()
            self._sync_step()
            self._loads_changed()

    def deactivate(self) -> None:
        """Not shown any more: stop following, empty the tables."""
        if self.active:
            self.active = False
            self._loads_changed()
            self._detach()
            self.flush()

    def _attach(self) -> None:
        for c in self.accounts:
            pairs: tuple[tuple[RecordTableModel[Any], RecordTableModel[Any]], ...] = (
                (c.orders, self.orders), (c.positions, self.positions), (c.fills, self.fills),
                (c.balances, self.balances), (c.runs, self.runs),
                (c.alerts_model, self.alerts_model), (c.audit, self.audit))
            for source, target in pairs:
                mirror: Mirror[Any] = Mirror(c.label, source, target)
                mirror.attach(sync=False)
                self._mirrors.append(mirror)
        self._syncing = self._sync_all(list(self._mirrors))

    def _sync_all(self, mirrors: list[Mirror[Any]]) -> Iterator[int]:
        for mirror in mirrors:
            for staged in mirror.sync_steps(SYNC_CHUNK):
                mirror.target.flush()
                yield staged

    def _sync_step(self) -> None:
        """About `SYNC_CHUNK` rows of the copy `activate` started (the rest on the next
        turns of the event loop)."""
        if self._syncing is None:
            return
        staged = 0
        while staged < SYNC_CHUNK:
            step = next(self._syncing, None)
            if step is None:
                self._syncing = None
                self._sync_timer.stop()
                self.flush()
                return
            staged += step
        if not self._sync_timer.isActive():
            self._sync_timer.start()

    def _detach(self) -> None:
        self._syncing = None
        self._sync_timer.stop()
        for mirror in self._mirrors:
            mirror.detach()
        self._mirrors.clear()

    @property
    def syncing(self) -> bool:
        """Still copying what the accounts' tables held when shown."""
        return self._syncing is not None

    def flush(self) -> None:
        """Finish copying (tests, screenshots) and apply everything staged."""
        if self._syncing is not None:
            for _ in self._syncing:
                pass
            self._syncing = None
            self._sync_timer.stop()
        for model in self.models():
            model.flush()

    def models(self) -> tuple[RecordTableModel[Any], ...]:
        return (self.orders, self.positions, self.fills, self.balances, self.inbox, self.runs,
                self.alerts_model, self.audit)

    def controller_for(self, record: object) -> ConsoleController | None:
        """The open account a tagged row belongs to (None when it has closed since)."""
        label = account_of(record)
        return next((c for c in self.accounts if c.label == label), None)

    # -- what the panels read (console.ui.scope.ScopeView) -----------------------------------

    @property
    def alerts(self) -> AlertEngine | None:
        return next((c.alerts for c in self.accounts if c.alerts is not None), None)

    @property
    def can_acknowledge(self) -> bool:
        return any(c.can_acknowledge for c in self.accounts)

    @property
    def read_only(self) -> bool:
        """True only when every account is read-only (each action still checks its own)."""
        return bool(self.accounts) and all(c.read_only for c in self.accounts)

    @property
    def pending(self) -> list[InboxItem]:
        return [tag(i, c.label) for c in self.accounts for i in c.pending]

    @property
    def run_history(self) -> list[RunRecord]:
        runs = [tag(r, c.label) for c in self.accounts for r in c.run_history]
        return sorted(runs, key=lambda r: r.started_at)

    def run_items(self, run_id: str | None) -> list[InboxItem]:
        if run_id is None:
            return self.pending
        if run_id == HELD:  # every account's standing rejections
            return [tag(i, c.label) for c in self.accounts for i in c.run_items(HELD)]
        for c in self.accounts:
            if any(r.run_id == run_id for r in c.run_history):
                return [tag(i, c.label) for i in c.run_items(run_id)]
        return []

    def set_show_cleared(self, show: bool) -> None:
        for c in self.accounts:
            c.set_show_cleared(show)

    def refresh_soon(self, *what: str, delay_ms: int = 300) -> None:
        for c in self.accounts:
            c.refresh_soon(*what, delay_ms=delay_ms)
