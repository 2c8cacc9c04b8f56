"""The all-accounts orders table while the accounts' first loads read their books: each
account's first page shows at once; the rest waits until the last load ends and goes in
at once (one re-sort and repaint of the interleaved rows instead of one per page), and
never longer than `HOLD_MAX_MS`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.ui import all_accounts
from console.ui import controller as controller_module
from console.ui.account_records import account_of
from console.ui.controller import BookLoad

from . import accounts_harness
from .accounts_harness import Accounts, MakeAccounts

make_accounts = accounts_harness.make_accounts
BOOK = 10
FIRST = 3


async def _until(done: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def _books(a: Accounts, monkeypatch: pytest.MonkeyPatch,
           gate: threading.Event) -> dict[str, int]:
    """Each account's ledger gets `BOOK` more active orders, read `FIRST` first; gamma's
    later pages wait for `gate` (in the bulk-read thread). Returns each account's active
    orders."""
    monkeypatch.setattr(controller_module, "ORDERS_PAGE", FIRST)
    books: dict[str, int] = {}
    for label in a.workspace.labels():
        c = a.controller(label)
        ledger = c.session.ledger
        ledger.upsert_orders([
            Order(c.venue, c.account, Category.LINEAR, "BTCUSDT", Side.BUY, OrderType.LIMIT,
                  D(1), OrderStatus.NEW, client_order_id=f"{label}-{n:02d}", price=D(100),
                  created_at=1_000 + n, updated_at=1_000 + n)
            for n in range(BOOK)])
        books[label] = len(ledger.orders(c.venue, c.account, True))
        read_page = ledger.orders_page

        def spy(venue: str, account: str, active_only: bool = False, *,
                read: Any = read_page, slow: bool = label == "gamma", **kw: Any) -> Any:
            if slow and kw.get("before") is not None:
                gate.wait(20)
            return read(venue, account, active_only, **kw)

        monkeypatch.setattr(ledger, "orders_page", spy)
    return books


def _shown(a: Accounts) -> dict[str, int]:
    counts: dict[str, int] = {}
    for order in a.workspace.all_view.orders.records():
        label = account_of(order) or ""
        counts[label] = counts.get(label, 0) + 1
    return counts


def test_the_rest_of_the_books_goes_in_once_the_last_load_ends(
        make_accounts: MakeAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    a = make_accounts(start=False)
    gate = threading.Event()
    books = _books(a, monkeypatch, gate)
    ws, view = a.workspace, a.workspace.all_view
    assert view.active
    ws.prefetch()
    try:
        a.run(_until(lambda: a.controller("beta").book_load is BookLoad.IDLE
                     and a.controller("gamma").book_load is BookLoad.REST
                     and a.controller("gamma").orders.rowCount() == FIRST))
        a.run(asyncio.sleep(0.3))  # many flush intervals (20 ms here)
        assert [a.controller(x).orders.rowCount() for x in ws.labels()] == [
            books["alpha"], books["beta"], FIRST]
        assert view.orders.held
        assert _shown(a) == {"alpha": FIRST, "beta": FIRST, "gamma": FIRST}
    finally:
        gate.set()
    a.run(_until(lambda: a.controller("gamma").book_load is BookLoad.IDLE))
    a.run(_until(lambda: view.orders.rowCount() == sum(books.values())))
    assert not view.orders.held
    assert _shown(a) == books
    created = [o.created_at for o in view.orders.records()]
    assert created == sorted(created, reverse=True)  # newest first, interleaved


def test_a_load_that_lingers_holds_the_table_no_longer_than_the_limit(
        make_accounts: MakeAccounts, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(all_accounts, "HOLD_MAX_MS", 100)
    a = make_accounts(start=False)
    gate = threading.Event()
    books = _books(a, monkeypatch, gate)
    view = a.workspace.all_view
    a.workspace.prefetch()
    try:
        a.run(_until(lambda: a.controller("beta").book_load is BookLoad.IDLE
                     and a.controller("gamma").book_load is BookLoad.REST))
        a.run(_until(lambda: _shown(a).get("beta") == books["beta"], timeout=5))
        assert not view.orders.held and a.controller("gamma").book_load is BookLoad.REST
        assert _shown(a) == {"alpha": books["alpha"], "beta": books["beta"], "gamma": FIRST}
        view.set_accounts(view.accounts)  # any news of the loads: no new hold meanwhile
        assert not view.orders.held
    finally:
        gate.set()
    a.run(_until(lambda: view.orders.rowCount() == sum(books.values())))
