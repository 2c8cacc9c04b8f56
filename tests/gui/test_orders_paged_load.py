"""The orders table loads the ledger page by page (`LedgerPort.orders_page`), newest
first: into an empty table the first page shows before the next is read, and the whole
read ends as one merge with what the table holds (a newer record from the stream stays)."""

from __future__ import annotations

import time
from decimal import Decimal as D
from typing import Any

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.ui import controller as controller_module

from .conftest import MakeConsole


def _order(venue: str, account: str, n: int, *, price: str = "100",
           updated: int = 0) -> Order:
    return Order(venue, account, Category.LINEAR, "BTCUSDT", Side.BUY, OrderType.LIMIT,
                 D(1), OrderStatus.NEW, client_order_id=f"paged-{n:03d}", price=D(price),
                 created_at=1_000 + n, updated_at=updated or 1_000 + n)


def test_the_first_page_shows_before_the_rest_is_read(make_console: MakeConsole,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_console("clean", start=False)
    c = h.controller
    ledger = h.session.ledger
    ledger.upsert_orders([_order(c.venue, c.account, n) for n in range(10)])
    active = sorted(ledger.orders(c.venue, c.account, True),
                    key=lambda o: (o.updated_at, o.ident), reverse=True)
    expected = {o.ident for o in active}
    monkeypatch.setattr(controller_module, "ORDERS_PAGE", 3)
    monkeypatch.setattr(controller_module, "MAX_ORDERS_PAGE", 4)
    calls: list[tuple[Any, int, int]] = []
    read_page = ledger.orders_page

    def spy(venue: str, account: str, active_only: bool = False, **kw: Any) -> list[Order]:
        if kw.get("before") is not None:
            # a later page (in the bulk-read thread): the loop shows the first meanwhile,
            # without waiting for this read
            deadline = time.monotonic() + 10
            while c.orders.rowCount() < 3 and time.monotonic() < deadline:
                time.sleep(0.005)
        calls.append((kw.get("before"), kw["limit"], c.orders.rowCount()))
        return read_page(venue, account, active_only, **kw)

    monkeypatch.setattr(ledger, "orders_page", spy)
    h.run(c.refresh("orders"))
    c.orders.flush()
    assert len(expected) >= 10
    assert calls[0] == (None, 3, 0)
    assert calls[1][1] == 4 and calls[1][2] == 3  # the first page is rows already
    third = active[2]  # the next page starts after the newest page's last order
    assert calls[1][0] == (third.updated_at, third.ident)
    shown = {k: c.orders.get(k) for k in c.orders.row_keys()}
    assert expected <= set(shown)
    # the rest: orders that ended within the last minutes, listed for a while
    assert all(not o.is_active for k, o in shown.items() if o is not None and k not in expected)


def test_a_refresh_keeps_a_newer_record_the_stream_brought(make_console: MakeConsole) -> None:
    h = make_console("clean", start=False)
    c = h.controller
    ledger = h.session.ledger
    ledger.upsert_orders([_order(c.venue, c.account, n) for n in range(3)])
    h.run(c.refresh("orders"))
    c.orders.flush()
    newer = _order(c.venue, c.account, 1, price="105", updated=9_999)
    c.orders.upsert([newer])
    c.orders.flush()
    h.run(c.refresh("orders"))
    c.orders.flush()
    assert c.orders.get("paged-001") == newer
    assert {"paged-000", "paged-002"} <= set(c.orders.row_keys())
    ledger.upsert_orders([_order(c.venue, c.account, 2).evolve(
        status=OrderStatus.CANCELLED, updated_at=5_000)])
    h.run(c.refresh("orders"))
    c.orders.flush()
    gone = c.orders.get("paged-002")  # ended: re-read, still listed (greyed) for a while
    assert gone is not None and gone.status is OrderStatus.CANCELLED


def test_an_order_updated_while_the_pages_are_read_is_not_lost(
        make_console: MakeConsole, monkeypatch: pytest.MonkeyPatch) -> None:
    h = make_console("clean", start=False)
    c = h.controller
    ledger = h.session.ledger
    old = [_order(c.venue, c.account, n, updated=10 + n) for n in range(8)]  # the oldest
    ledger.upsert_orders(old)
    monkeypatch.setattr(controller_module, "ORDERS_PAGE", 2)
    monkeypatch.setattr(controller_module, "MAX_ORDERS_PAGE", 2)
    read_page = ledger.orders_page
    moved = old[0].evolve(price=D("99"), updated_at=4_000_000_000_000)
    calls = 0

    def spy(venue: str, account: str, active_only: bool = False, **kw: Any) -> list[Order]:
        nonlocal calls
        calls += 1
        if calls == 2:  # the oldest order changes after the first page was read
            ledger.upsert_orders([moved])
        return read_page(venue, account, active_only, **kw)

    monkeypatch.setattr(ledger, "orders_page", spy)
    h.run(c.refresh("orders"))
    c.orders.flush()
    assert c.orders.get(moved.ident) == moved
    assert {o.ident for o in old} <= set(c.orders.row_keys())


def test_a_window_closed_before_its_start_ends_the_first_load_it_began(
        make_console: MakeConsole) -> None:
    h = make_console("clean", start=False)
    c = h.controller
    c.session.ledger.upsert_orders([_order(c.venue, c.account, n) for n in range(5)])

    async def prefetch_then_close() -> None:
        c.prefetch()  # as `run_console` does before the window shows
        first = c._first
        assert first is not None
        await c.aclose()
        assert first.done()

    h.run(prefetch_then_close())


def test_the_prefetched_first_load_is_the_one_start_shows(make_console: MakeConsole) -> None:
    h = make_console("clean", start=False)
    c = h.controller
    c.session.ledger.upsert_orders([_order(c.venue, c.account, n) for n in range(5)])

    async def prefetch_then_refresh() -> None:
        c.prefetch()
        await c.refresh("orders")
        assert c._first is None  # taken by the refresh, not read a second time

    h.run(prefetch_then_refresh())
    c.orders.flush()
    assert {f"paged-{n:03d}" for n in range(5)} <= set(c.orders.row_keys())


def test_the_engine_snapshots_share_the_table_records(make_console: MakeConsole) -> None:
    """The window lends its table's records to the engine's snapshots (one copy of each
    unchanged order in memory), until the account closes."""
    h = make_console("clean")
    c = h.controller
    c.session.ledger.upsert_orders([_order(c.venue, c.account, n) for n in range(5)])
    h.run(c.refresh("orders"))
    h.idle()
    held = c.orders.held_records()
    assert "paged-003" in held

    def snapshot() -> dict[str, Order]:
        snap, _ = c.session.ledger.versioned_snapshot(
            c.venue, c.account, now=10_000, retention_ms=60_000, fills_from=0)
        return {o.ident: o for o in snap.orders}

    assert snapshot()["paged-003"] is held["paged-003"]
    h.run(c.aclose())
    assert snapshot()["paged-003"] is not held["paged-003"]


def test_only_the_window_s_first_load_reports_its_progress(make_console: MakeConsole) -> None:
    """`book_load` follows the window's first load of the orders table (the all-accounts
    table holds the rest of the books by it); a later read of a table found empty (a book
    with no active order, re-read at every refresh) reports nothing, and a load cancelled
    before it ran leaves no state behind."""
    from console.ui.controller import BookLoad

    h = make_console("clean", start=False)
    c = h.controller
    seen: list[BookLoad] = []
    c.book_loading.connect(lambda: seen.append(c.book_load))
    h.run(c.refresh("orders"))
    assert seen == [BookLoad.FIRST_PAGE, BookLoad.IDLE]  # one page: no rest to read
    c.orders.replace_all([])
    c.orders.flush()
    seen.clear()
    h.run(c.refresh("orders"))  # the table is empty again: read as a first load
    assert seen == [] and c.book_load is BookLoad.IDLE

    other = make_console("clean", start=False).controller
    other.prefetch()
    assert other.book_load is BookLoad.FIRST_PAGE
    h.run(other.aclose())  # closed before the load's task ran
    assert other.book_load is BookLoad.IDLE
