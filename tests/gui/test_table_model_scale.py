"""The table model's behaviour at scale (console/ui/models/base.py): a bulk load goes in by
chunks while later updates win over it, a sorted table keeps its order through inserts,
moves and removals (and selections follow their rows), the proxy's filter asks Python
nothing while no filter is set, and the garbage-collector policy. Speed itself is
measured by bench/ui_load.py, not here."""

from __future__ import annotations

import gc
import random
import weakref
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
from PySide6.QtCore import QCoreApplication, QModelIndex, QPersistentModelIndex, Qt

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.ui.models import base
from console.ui.models.base import FilterProxy, RecordTableModel, freeze_long_lived
from console.ui.models.orders import COLUMNS, OrdersModel, is_finished

KEY_ORDER = "rc-t-o-"


def _order(n: int, *, price: str | None = "100", updated: int = 0,
           status: OrderStatus = OrderStatus.NEW, symbol: str = "BTCUSDT") -> Order:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return Order(venue="sim", account="main", category=Category.LINEAR, symbol=symbol,
                 side=Side.BUY, type=kind, qty=Decimal("0.5"),
                 price=Decimal(price) if price is not None else None, status=status,
                 client_order_id=f"{KEY_ORDER}{n:05d}", created_at=1_000 + n,
                 updated_at=1_000 + n + updated)


def _column(title: str) -> int:
    return [c.title for c in COLUMNS].index(title)


def _expected_keys(model: RecordTableModel[Order], records: dict[str, Order]) -> list[str]:
    """What a full, fresh sort of `records` by the model's sort column gives."""
    column = model.columns[model.sort_column]
    assert column.sort is not None

    def key(item: tuple[str, Order]) -> tuple[bool, object, str]:
        k, record = item
        value = column.sort(record) if column.sort is not None else None
        return (True, 0, k) if value is None else (False, value, k)

    descending = model.sort_order is Qt.SortOrder.DescendingOrder
    return [k for k, _ in sorted(records.items(), key=key, reverse=descending)]


def _turn() -> None:
    QCoreApplication.processEvents()


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    base.release_long_lived()


def test_a_bulk_load_goes_in_by_chunks_the_first_at_once(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.chunk_rows = 100
    model.load_slice_ms = 0  # one chunk per turn
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.replace_all(_order(i) for i in range(1_000))
    assert model.rowCount() == 0 and model.loading
    _turn()  # an empty table takes its first chunk at the next turn of the loop
    assert model.rowCount() == 100
    for _ in range(20):
        if not model.loading:
            break
        _turn()
    assert not model.loading and model.rowCount() == 1_000
    assert len(inserted) == 10 and inserted[0] == (0, 99)
    assert model.row_keys() == [f"{KEY_ORDER}{i:05d}" for i in range(1_000)]


def test_a_turn_of_the_loop_applies_chunks_for_up_to_its_time_slice(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.chunk_rows = 100
    model.load_slice_ms = 60_000  # far more than 1000 rows take
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    model.replace_all(_order(i) for i in range(1_000))
    _turn()
    assert model.rowCount() == 1_000 and not model.loading
    assert len(inserted) == 10  # still chunk by chunk, all in one turn


def test_flush_applies_a_whole_bulk_load_at_once(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.chunk_rows = 10
    model.replace_all(_order(i) for i in range(95))
    model.flush()
    assert model.rowCount() == 95 and not model.pending


def test_news_staged_during_a_bulk_load_wins_over_it(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all([_order(i) for i in range(10)] + [_order(500)])
    model.flush()
    model.chunk_rows = 100
    model.load_slice_ms = 0
    model.flush_ms = 0
    model.replace_all(_order(i) for i in range(300))  # 500 is not in it: it goes at the end
    _turn()
    assert model.loading and model.rowCount() == 100 + 1  # 0..99 and 500
    newer = _order(250, price="123")
    model.upsert([newer, _order(900)])  # a row the load changes later, one it does not hold
    model.remove([f"{KEY_ORDER}00280"])  # a row the load brings later
    assert model.latest(f"{KEY_ORDER}00250") == newer
    assert model.latest(f"{KEY_ORDER}00280") is None
    assert model.latest(f"{KEY_ORDER}00299") == _order(299)  # still to come
    assert model.latest(f"{KEY_ORDER}00500") is None  # the load does not hold it
    latest = model.latest_records()
    assert latest[f"{KEY_ORDER}00250"] == newer and f"{KEY_ORDER}00280" not in latest
    assert f"{KEY_ORDER}00500" not in latest and f"{KEY_ORDER}00900" in latest
    for _ in range(20):
        if not model.pending:
            break
        _turn()
    assert not model.pending
    keys = set(model.row_keys())
    assert model.get(f"{KEY_ORDER}00250") == newer
    assert f"{KEY_ORDER}00280" not in keys and f"{KEY_ORDER}00500" not in keys
    assert f"{KEY_ORDER}00900" in keys and len(keys) == 300  # 300 - 280 + 900
    assert latest == {k: model.get(k) for k in keys}


@pytest.mark.parametrize("order", [Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
@pytest.mark.parametrize("batch", [3, 200])  # few moves (binary search), many (merge)
def test_a_sorted_table_keeps_its_order_through_every_change(
        qapp: object, order: Qt.SortOrder, batch: int) -> None:
    rng = random.Random(batch)
    model = OrdersModel(flush_ms=10_000)
    model.chunk_rows = 150
    model.load_slice_ms = 0
    live = {o.ident: o for o in (_order(i, price=str(rng.randint(1, 50))) for i in range(600))}
    model.sort(_column("Price"), order)
    model.replace_all(live.values())
    while model.loading:
        _turn()
        shown = {k: o for k in model.row_keys() if (o := model.get(k)) is not None}
        assert model.row_keys() == _expected_keys(model, shown)  # each chunk lands in order
    assert model.row_keys() == _expected_keys(model, live)
    next_id = 1_000
    for step in range(30):
        changes: list[Order] = []
        for key in rng.sample(sorted(live), batch):
            price = None if rng.random() < 0.1 else str(rng.randint(1, 50))
            changes.append(replace(live[key], price=Decimal(price) if price else None,
                                   type=OrderType.LIMIT if price else OrderType.MARKET,
                                   updated_at=live[key].updated_at + 1))
        added = [_order(next_id + i, price=str(rng.randint(1, 50))) for i in range(batch // 2)]
        next_id += batch
        gone = rng.sample(sorted(live), batch // 3)
        model.upsert([*changes, *added])
        model.remove(gone)
        live.update((o.ident, o) for o in (*changes, *added))
        for key in gone:
            live.pop(key)
        model.flush()
        assert model.row_keys() == _expected_keys(model, live), f"step {step}"
        assert all(model.record(model.row_of(k) or 0) == live[k] for k in live)
        assert model.rowCount() == len(live)
    model.sort(_column("Created"), Qt.SortOrder.DescendingOrder)
    assert model.row_keys() == _expected_keys(model, live)


def test_no_sort_keeps_rows_where_they_are_and_adds_new_ones_last(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all([_order(3, price="1"), _order(1, price="3"), _order(2, price="2")])
    model.flush()
    model.sort(_column("Price"), Qt.SortOrder.AscendingOrder)
    model.sort(-1)
    model.upsert([_order(0, price="0"), _order(1, price="9")])
    model.remove([f"{KEY_ORDER}00002"])
    model.flush()
    assert model.row_keys() == [f"{KEY_ORDER}00003", f"{KEY_ORDER}00001", f"{KEY_ORDER}00000"]
    assert model.row_of(f"{KEY_ORDER}00000") == 2


@pytest.mark.parametrize("movers", [1, 100])
def test_the_selection_follows_a_row_that_moves(qapp: object, movers: int) -> None:
    model = OrdersModel(flush_ms=10_000)
    proxy = FilterProxy()
    proxy.setSourceModel(model)
    model.sort(_column("Updated"), Qt.SortOrder.DescendingOrder)
    model.replace_all(_order(i) for i in range(300))
    model.flush()
    chosen = f"{KEY_ORDER}00007"
    held = QPersistentModelIndex(proxy.mapFromSource(model.index(model.row_of(chosen) or 0, 1)))
    layouts = model.layout_changes
    model.upsert([_order(7, updated=20_000),
                  *(_order(i, updated=10_000) for i in range(100, 100 + movers - 1))])
    model.flush()
    assert model.layout_changes == layouts + 1  # one layout change per flush
    assert model.row_of(chosen) == 0  # newest update first
    assert held.isValid() and held.row() == proxy.mapFromSource(model.index(0, 1)).row()
    assert model.data(proxy.mapToSource(proxy.index(held.row(), 0)),
                      base.KEY_ROLE) == chosen


def test_many_scattered_removals_keep_the_others_and_their_selection(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    model.replace_all(_order(i) for i in range(400))
    model.flush()
    held = QPersistentModelIndex(model.index(model.row_of(f"{KEY_ORDER}00398") or 0, 0))
    removed: list[str] = []
    model.rowsAboutToBeRemoved.connect(
        lambda _p, first, last: removed.extend(model.row_keys()[first:last + 1]))
    gone = [f"{KEY_ORDER}{i:05d}" for i in range(0, 400, 3)]
    model.remove(gone)
    model.flush()
    assert sorted(removed) == sorted(gone)
    kept = [f"{KEY_ORDER}{i:05d}" for i in range(400) if i % 3]
    assert model.row_keys() == kept
    assert held.row() == len(kept) - 1


class _CountingOrders(OrdersModel):
    def __init__(self) -> None:
        super().__init__(flush_ms=10_000)
        self.asked: dict[int, int] = {}

    def data(self, index: QModelIndex | QPersistentModelIndex,
             role: int = Qt.ItemDataRole.DisplayRole) -> object:
        self.asked[role] = self.asked.get(role, 0) + 1
        return super().data(index, role)


def test_the_filter_asks_python_nothing_per_row_while_no_filter_is_set(qapp: object) -> None:
    model = _CountingOrders()
    proxy = FilterProxy()
    proxy.setSourceModel(model)
    role = proxy.filterRole()
    model.sort(_column("Price"), Qt.SortOrder.AscendingOrder)
    model.replace_all(_order(i, price=str(i % 7 + 1)) for i in range(2_000))
    model.flush()
    model.upsert([_order(i, price="50") for i in range(0, 2_000, 10)])  # a layout change
    model.flush()
    assert proxy.rowCount() == 2_000
    assert model.asked.get(role, 0) == 0
    proxy.set_text("btc 00042")
    assert proxy.rowCount() == 1 and model.asked.get(role, 0) == 2_000  # each row once
    proxy.set_text("")
    asked = model.asked.get(role, 0)
    model.upsert([_order(i, price="60") for i in range(0, 2_000, 10)])
    model.flush()
    assert proxy.rowCount() == 2_000 and model.asked.get(role, 0) == asked


def test_hidden_rows_and_filter_words_combine(qapp: object) -> None:
    model = OrdersModel(flush_ms=10_000)
    proxy = FilterProxy()
    proxy.setSourceModel(model)
    model.replace_all([_order(1), _order(2, symbol="ETHUSDT"),
                       _order(3, symbol="ETHUSDT", status=OrderStatus.CANCELLED),
                       _order(4, status=OrderStatus.FILLED)])
    model.flush()
    proxy.set_hidden(is_finished)
    assert proxy.rowCount() == 2
    proxy.set_text("eth")
    assert proxy.rowCount() == 1 and proxy.index(0, 1).data() == "ETHUSDT"
    proxy.set_hidden(None)
    assert proxy.rowCount() == 2
    proxy.set_hidden(lambda r: isinstance(r, Order) and r.symbol == "ETHUSDT")
    assert proxy.rowCount() == 0
    proxy.set_text("(")  # a word is matched as it is, never as a pattern
    assert proxy.rowCount() == 0
    proxy.set_text("")
    assert proxy.rowCount() == 2
    model.upsert([_order(5, symbol="ETHUSDT"), _order(6)])  # later rows are filtered too
    model.flush()
    assert proxy.rowCount() == 3


def test_the_collector_is_left_alone_for_small_tables_and_frozen_for_big_ones(
        unfrozen: None) -> None:
    before = gc.get_freeze_count()
    assert not freeze_long_lived(base.FREEZE_MIN_ROWS - 1)
    assert gc.get_freeze_count() == before
    kept = [[i] for i in range(1_000)]  # some objects alive now
    assert freeze_long_lived(base.FREEZE_MIN_ROWS)
    frozen = gc.get_freeze_count()
    assert frozen >= len(kept)
    base.release_long_lived()
    assert gc.get_freeze_count() == 0


def test_a_slow_full_collection_freezes_what_it_found_alive(
        unfrozen: None, monkeypatch: pytest.MonkeyPatch) -> None:
    assert freeze_long_lived(base.FREEZE_MIN_ROWS)
    frozen = gc.get_freeze_count()
    later = [[i] for i in range(1_000)]  # alive after the freeze
    cycle: list[object] = []
    cycle.append(cycle)  # garbage in a cycle: the full collection takes it, not the freeze
    del cycle
    monkeypatch.setattr(base, "FULL_COLLECTION_BUDGET_MS", -1.0)  # every one is "slow"
    gc.collect()
    assert gc.get_freeze_count() >= frozen + len(later)
    assert gc.collect() == 0


def test_a_big_table_filters_after_a_pause_in_typing(
        qapp: object, monkeypatch: pytest.MonkeyPatch) -> None:
    from console.ui.widgets import table

    monkeypatch.setattr(table, "FILTER_AT_ONCE_ROWS", 10)
    model = OrdersModel(flush_ms=10_000)
    model.replace_all([*(_order(i) for i in range(20)), _order(99, symbol="ETHUSDT")])
    model.flush()
    panel: table.TablePanel[Order] = table.TablePanel("orders", model)
    panel.filter.setText("e")
    panel.filter.setText("et")
    panel.filter.setText("eth")
    assert panel.proxy.rowCount() == 21  # nothing read yet: the operator is typing
    panel.apply_filter()  # what the pause does
    assert panel.proxy.rowCount() == 1 and panel.count.text() == "1 of 21 rows"
    small = OrdersModel(flush_ms=10_000)
    small.replace_all([_order(1), _order(2, symbol="ETHUSDT")])
    small.flush()
    at_once: table.TablePanel[Order] = table.TablePanel("orders", small)
    at_once.filter.setText("eth")
    assert at_once.proxy.rowCount() == 1


class _Node:
    me: object = None


def test_start_up_freezes_what_the_program_built_and_no_garbage(unfrozen: None) -> None:
    kept = [[i] for i in range(1_000)]
    node = _Node()
    node.me = node  # garbage in a cycle once dropped
    gone = weakref.ref(node)
    del node
    base.freeze_startup()
    assert gc.get_freeze_count() >= len(kept)
    assert gone() is None  # collected first, not frozen for good
