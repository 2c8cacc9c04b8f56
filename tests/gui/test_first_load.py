"""The window's first load of an orders table (`console.ui.first_load`) and the bulk-read
lane it runs in (`console.ui.read_lane`): pages in order, each account's first page before
any account's rest, a failed read raised to the loop, a stop that ends the reading."""

from __future__ import annotations

import asyncio
import contextlib
import linecache
import threading
import time
from decimal import Decimal as D

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.errors import LedgerError
from console.ui.first_load import PAGE_GROWTH, FirstLoad
from console.ui.models.base import drop_import_sources
from console.ui.read_lane import in_read_lane


def _order(n: int) -> Order:
    return Order(venue="sim", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=D("1"), price=D("100"),
                 status=OrderStatus.NEW, client_order_id=f"o-{n:03d}", created_at=n,
                 updated_at=n)


class Book:
    """`count` orders, newest first, served by keyset pages as `Ledger.orders_page`."""

    def __init__(self, name: str, count: int, log: list[tuple[str, int]]) -> None:
        self.name = name
        self.orders = [_order(n) for n in range(count, 0, -1)]
        self.log = log
        self.threads: set[str] = set()

    def page(self, before: tuple[int, str] | None, limit: int) -> list[Order]:
        self.threads.add(threading.current_thread().name)
        rows = self.orders if before is None else [
            o for o in self.orders if (o.updated_at, o.ident) < before]
        self.log.append((self.name, limit))
        return rows[:limit]


async def _all(load: FirstLoad) -> list[list[Order]]:
    return [page async for page in load.pages()]


def test_every_page_in_order_with_growing_sizes_in_the_lane_thread() -> None:
    log: list[tuple[str, int]] = []
    book = Book("a", 300, log)
    pages = asyncio.run(_all(FirstLoad(book.page, first=3, largest=100)))
    second = 3 * PAGE_GROWTH
    assert second < 100
    assert [len(p) for p in pages] == [3, second, 100, 100, 300 - 203 - second]
    assert [o for p in pages for o in p] == book.orders
    assert len(book.threads) == 1 and next(iter(book.threads)).startswith("ledger-bulk-read")


def test_each_account_first_page_goes_before_any_account_rest() -> None:
    log: list[tuple[str, int]] = []
    books = [Book(name, 30, log) for name in ("a", "b", "c")]

    async def run() -> list[list[list[Order]]]:
        loads = [FirstLoad(b.page, first=5, largest=10) for b in books]
        for load in loads:  # as `Workspace.prefetch` does: every first read queued at once
            load.start()
        return await asyncio.gather(*(_all(load) for load in loads))

    results = asyncio.run(run())
    assert log[:3] == [("a", 5), ("b", 5), ("c", 5)]
    for book, pages in zip(books, results, strict=True):
        assert [o for p in pages for o in p] == book.orders


def test_a_failed_read_is_raised_to_the_loop_after_the_pages_before_it() -> None:
    log: list[tuple[str, int]] = []
    book = Book("a", 40, log)

    def page(before: tuple[int, str] | None, limit: int) -> list[Order]:
        if before is not None and len(log) >= 2:
            raise LedgerError("the ledger is locked")
        return book.page(before, limit)

    got: list[int] = []

    async def run() -> None:
        async for p in FirstLoad(page, first=4, largest=8).pages():
            got.append(len(p))

    with pytest.raises(LedgerError, match="locked"):
        asyncio.run(run())
    assert got == [4, 8]


def test_a_cancelled_load_reads_no_more_pages() -> None:
    log: list[tuple[str, int]] = []
    book = Book("a", 1000, log)

    async def run() -> int:
        def slow(before: tuple[int, str] | None, limit: int) -> list[Order]:
            time.sleep(0.002)
            return book.page(before, limit)

        load = FirstLoad(slow, first=2, largest=2)
        first = asyncio.get_running_loop().create_future()

        async def consume() -> None:
            async for _ in load.pages():
                if not first.done():
                    first.set_result(None)

        task = asyncio.ensure_future(consume())
        await first
        task.cancel()  # the window closing before its table loaded
        with pytest.raises(asyncio.CancelledError):
            await task
        await in_read_lane(lambda: None)  # the lane ran what was queued before
        read = len(log)
        await asyncio.sleep(0.05)
        assert len(log) == read  # and reads nothing since
        return read

    assert asyncio.run(run()) < 100


def test_freeze_startup_drops_the_sources_pyside_import_hook_cached() -> None:
    linecache.getline(__file__, 1)
    assert __file__ in linecache.cache
    drop_import_sources()
    assert __file__ not in linecache.cache


def test_stopped_returns_only_once_the_lane_no_longer_reads() -> None:
    """What `ConsoleController.aclose` waits for before the ledger is closed."""
    reading = threading.Event()
    inside: list[bool] = []

    def page(before: tuple[int, str] | None, limit: int) -> list[Order]:
        inside.append(True)
        reading.set()
        time.sleep(0.05)  # a long page
        inside.pop()
        return [_order(n) for n in range(limit)]

    async def run() -> None:
        load = FirstLoad(page, first=2, largest=4)
        load.start()
        await asyncio.get_running_loop().run_in_executor(None, reading.wait, 5)
        await load.stopped()
        assert not inside and load.finished.done()

    asyncio.run(run())


def test_a_load_cancelled_while_queued_reads_nothing() -> None:
    gate = threading.Event()
    log: list[tuple[str, int]] = []
    book = Book("a", 10, log)

    async def run() -> None:
        blocker = asyncio.ensure_future(in_read_lane(gate.wait, 5))  # the lane is busy
        load = FirstLoad(book.page, first=2, largest=4)
        load.start()
        load.cancel()  # the window closes before the lane got to it
        gate.set()
        await blocker
        await load.stopped()

    asyncio.run(run())
    assert log == []


def test_a_consumer_that_fails_stops_the_reading() -> None:
    log: list[tuple[str, int]] = []
    book = Book("a", 1000, log)

    def slow(before: tuple[int, str] | None, limit: int) -> list[Order]:
        time.sleep(0.002)
        return book.page(before, limit)

    async def run() -> None:
        load = FirstLoad(slow, first=2, largest=2)
        with pytest.raises(ValueError, match="a page the table refused"):
            async with contextlib.aclosing(load.pages()) as pages:
                async for _ in pages:
                    raise ValueError("a page the table refused")
        await load.stopped()

    asyncio.run(run())
    assert len(log) < 100
