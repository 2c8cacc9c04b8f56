"""The all-accounts tables hold each account's own records (no tagged copy per row): the
Account column and the row key carry the account, a record handed out is tagged on
demand, and every change of an account's table reaches the all-accounts one."""

from __future__ import annotations

from decimal import Decimal as D

from PySide6.QtCore import Qt

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.ui.account_records import account_of
from console.ui.all_accounts import ACCOUNT_TITLE, KEY_SEPARATOR, Mirror, merged
from console.ui.models.base import RECORD_ROLE
from console.ui.models.orders import OrdersModel


def _order(cid: str, price: str) -> Order:
    return Order("sim", "main", Category.LINEAR, "BTCUSDT", Side.BUY, OrderType.LIMIT, D(1),
                 OrderStatus.NEW, client_order_id=cid, price=D(price))


def _two_accounts() -> tuple[OrdersModel, OrdersModel, OrdersModel, list[Mirror[Order]]]:
    alpha, beta = OrdersModel(flush_ms=1), OrdersModel(flush_ms=1)
    target = merged(OrdersModel(flush_ms=1))
    mirrors: list[Mirror[Order]] = [Mirror("alpha", alpha, target),
                                    Mirror("beta", beta, target)]
    for mirror in mirrors:
        mirror.attach()
    return alpha, beta, target, mirrors


def test_rows_are_the_accounts_own_records_with_the_account_column(qapp: object) -> None:
    alpha, beta, target, _ = _two_accounts()
    a1, b1 = _order("same", "100"), _order("same", "200")
    alpha.upsert([a1])
    beta.upsert([b1])
    for model in (alpha, beta, target):
        model.flush()
    stored = target.latest_records()
    assert stored[f"alpha{KEY_SEPARATOR}same"] is a1  # the same object, not a copy
    assert stored[f"beta{KEY_SEPARATOR}same"] is b1
    column = [c.title for c in target.columns].index(ACCOUNT_TITLE)
    cells = sorted((target.cell_text(r, column),
                    target.data(target.index(r, column), Qt.ItemDataRole.DisplayRole))
                   for r in range(target.rowCount()))
    assert cells == [("alpha", "alpha"), ("beta", "beta")]
    for row in range(target.rowCount()):
        record = target.record(row)
        # handed out tagged with its account, as a row action needs it
        assert account_of(record) == target.cell_text(row, column)
        assert target.key(record) == target.key_at(row)
        assert target.data(target.index(row, 0), RECORD_ROLE) == record
    assert account_of(target.get(f"beta{KEY_SEPARATOR}same")) == "beta"
    assert "beta" in target.search_text(target.row_of(f"beta{KEY_SEPARATOR}same") or 0)
    target.sort(column, Qt.SortOrder.DescendingOrder)
    assert [target.cell_text(r, column) for r in range(2)] == ["beta", "alpha"]
    assert target.export()[1][column] == "beta"


def test_updates_removals_and_a_closed_account_reach_the_all_view(qapp: object) -> None:
    alpha, beta, target, mirrors = _two_accounts()
    alpha.upsert([_order("a", "100"), _order("b", "101")])
    beta.upsert([_order("a", "200")])
    for model in (alpha, beta, target):
        model.flush()
    changed = _order("a", "150")
    alpha.upsert([changed])
    alpha.remove(["b"])
    alpha.flush()
    target.flush()
    assert target.latest_records() == {f"alpha{KEY_SEPARATOR}a": changed,
                                       f"beta{KEY_SEPARATOR}a": _order("a", "200")}
    beta.replace_all([_order("z", "300")])  # a reload of one account
    beta.flush()
    target.flush()
    assert sorted(target.latest_records()) == [f"alpha{KEY_SEPARATOR}a",
                                               f"beta{KEY_SEPARATOR}z"]
    mirrors[0].detach()
    target.flush()
    assert [account_of(o) for o in target.records()] == ["beta"]
    beta.upsert([_order("y", "1")])
    beta.flush()
    target.flush()
    assert sorted(o.client_order_id for o in target.records()) == ["y", "z"]


def _priced(cid: str, price: int, updated: int) -> Order:
    return Order("sim", "main", Category.LINEAR, "BTCUSDT", Side.BUY, OrderType.LIMIT, D(1),
                 OrderStatus.NEW, client_order_id=cid, price=D(price), created_at=updated,
                 updated_at=updated)


def test_a_table_sorted_as_its_accounts_takes_their_sort_keys(qapp: object) -> None:
    """Sorted as the accounts' tables, the all-accounts table takes each copied row's sort
    key from its account's table (the value, tied by its own key) instead of computing
    it again: the rows land in the order it would compute, and it computes no sort key.
    Sorted otherwise, it computes its own."""
    from typing import Any

    from console.ui.models.base import MANY_MOVES

    alpha, beta = OrdersModel(flush_ms=1), OrdersModel(flush_ms=1)
    target = merged(OrdersModel(flush_ms=1))
    price = [c.title for c in target.columns].index("Price")
    calls = [0]
    computed = (target._sort_keys, target._make_sort_key)

    def counted(method: Any) -> Any:
        def count(*args: Any) -> Any:
            calls[0] += 1
            return method(*args)
        return count

    target._sort_keys = counted(computed[0])  # type: ignore[method-assign]
    target._make_sort_key = counted(computed[1])  # type: ignore[method-assign]
    for model in (alpha, beta, target):
        model.sort(price, Qt.SortOrder.DescendingOrder)
    calls[0] = 0  # sorting the empty table
    mirrors = [Mirror("alpha", alpha, target), Mirror("beta", beta, target)]
    for mirror in mirrors:
        mirror.attach()
    n = 3 * MANY_MOVES
    alpha.upsert([_priced(f"a{i}", (i * 7) % 50, i) for i in range(n)])
    beta.upsert([_priced(f"b{i}", (i * 11) % 50, i) for i in range(n)])
    for model in (alpha, beta, target):
        model.flush()
    alpha.upsert([_priced("a1", 99, 10_000), _priced("a2", 0, 10_001)])  # moved rows
    beta.remove(["b3"])
    for model in (alpha, beta, target):
        model.flush()
    assert calls[0] == 0
    reference = merged(OrdersModel(flush_ms=1))
    reference.upsert_keyed(list(target.latest_records().items()))
    reference.sort(price, Qt.SortOrder.DescendingOrder)
    reference.flush()
    assert [target.key_at(r) for r in range(target.rowCount())] == \
        [reference.key_at(r) for r in range(reference.rowCount())]
    assert target.rowCount() == 2 * n - 1
    assert target.key_at(0) == f"alpha{KEY_SEPARATOR}a1"  # price 99, first
    # sorted by another column than its accounts: its own keys
    target.sort(0, Qt.SortOrder.AscendingOrder)
    alpha.upsert([_priced("a5", 98, 10_002)])
    for model in (alpha, target):
        model.flush()
    assert target.sorted_as(alpha) is False
    assert target.latest_records()[f"alpha{KEY_SEPARATOR}a5"] == _priced("a5", 98, 10_002)
    assert target.key_at(target.rowCount() - 1) == f"alpha{KEY_SEPARATOR}a5"  # newest


def test_a_sort_key_given_with_a_row_goes_with_a_later_change_of_it(qapp: object) -> None:
    """A sort key staged with a row (`upsert_keyed`) is dropped when the row is staged
    again without one, or removed, or the table sorts anew: it would place the newer
    record by the older one's value."""
    target = OrdersModel(flush_ms=1)
    price = [c.title for c in target.columns].index("Price")
    target.sort(price, Qt.SortOrder.AscendingOrder)
    low, high = _priced("x", 1, 1), _priced("y", 50, 2)
    target.upsert([low, high])
    target.flush()
    wrong = (False, D(0), "y")  # as if y's price were 0: first
    target.upsert_keyed([("y", _priced("y", 60, 3))], [wrong])
    target.upsert_keyed([("y", _priced("y", 70, 4))])
    target.flush()
    assert [target.key_at(r) for r in range(2)] == ["x", "y"]
    target.upsert_keyed([("y", _priced("y", 80, 5))], [wrong])
    target.sort(price, Qt.SortOrder.AscendingOrder)
    target.flush()
    assert [target.key_at(r) for r in range(2)] == ["x", "y"]
    target.upsert_keyed([("z", _priced("z", 90, 6))], [(False, D(0), "z")])
    target.remove(["z"])
    target.flush()
    assert target.rowCount() == 2
