"""The first load of an account's orders table: every page of the ledger's active
orders, read back to back in the window's bulk-read thread (`console.ui.read_lane`) and
handed to the event loop as each is read.

Why not one lane call per page: the thread would wait for the GUI to take each page and
ask for the next (a round trip per page, ~0.1 s of a 100k-order load, bench/ui_load.py).
Why two lane jobs, the first page and then the rest: with several accounts, every
account's first page goes before any account's rest, so each table shows its newest
orders at once. A load may start before the window is shown (`start`, from
`Workspace.prefetch`): the read then overlaps the window's first paint.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, Callable
from concurrent.futures import Future

from console.domain import Order
from console.ui.read_lane import submit

PageReader = Callable[[tuple[int, str] | None, int], list[Order]]
"""(the keyset bound of the last page read or None, the page's size) -> the page."""


PAGE_GROWTH = 16
"""Each page is this many times the last one. The first page is small, to show the
newest orders at once; after it, few large pages: each page that goes in is a flush of
the account's table, a re-sort of the all-accounts table (the accounts' rows interleave)
and a repaint, which the reading thread waits for (the interpreter lock). 3 x 30k orders
(bench/ui_load.py --accounts 3): pages of 2k, 32k showed the last row ~0.09 s sooner than
2k, 8k, 20k; 100k orders in one account, as soon. A re-read of the table
(`ConsoleController._read_pages`) takes the same sizes, one lane call each."""


def grown(limit: int, largest: int) -> int:
    """The next page's size: `PAGE_GROWTH` times the last one, up to `largest`."""
    return min(limit * PAGE_GROWTH, largest)


class FirstLoad:
    """Reads every page with `read_page` (in the lane), growing the pages from `first`
    by `grown` up to `largest`; `pages()` yields them on the loop, in order."""

    def __init__(self, read_page: PageReader, *, first: int, largest: int) -> None:
        self._read_page = read_page
        self._first = first
        self._largest = largest
        self._queue: asyncio.Queue[list[Order] | BaseException | None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop = threading.Event()
        self.finished: Future[None] = Future()
        """Done once the lane has stopped reading for this load: whoever closes the
        ledger next waits for it (a thread still reading a closed ledger may crash)."""

    def start(self) -> None:
        """Queue the first page's read in the lane (from the loop's thread, loop running)."""
        if self._queue is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        try:
            submit(self._read_first)
        except RuntimeError:  # the lane is shut down: the program is ending
            self._finish()

    def cancel(self) -> None:
        """No more pages are read (a page being read is still handed over)."""
        self._stop.set()

    async def stopped(self) -> None:
        """`cancel`, then wait until the lane no longer reads for this load."""
        self.cancel()
        if self._queue is not None:
            await asyncio.wrap_future(self.finished)

    async def pages(self) -> AsyncGenerator[list[Order], None]:
        """The pages as they are read; a read's failure raises here. Leaving early (a
        failure of the consumer, a cancellation) stops the reading: close the iterator
        (`contextlib.aclosing`) rather than leaving it to the garbage collector."""
        self.start()
        queue = self._queue
        assert queue is not None
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            self._stop.set()

    def _hand(self, item: list[Order] | BaseException) -> None:
        loop, queue = self._loop, self._queue
        assert loop is not None and queue is not None
        # a closed loop refuses (asyncio: RuntimeError) or drops it (qasync): nobody waits
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def _finish(self) -> None:
        """The end of the pages for the loop, and of the reading for `stopped`."""
        loop, queue = self._loop, self._queue
        if loop is not None and queue is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(queue.put_nowait, None)
        if not self.finished.done():
            self.finished.set_result(None)

    def _read_first(self) -> None:
        if self._stop.is_set():  # cancelled while queued
            self._finish()
            return
        try:
            page = self._read_page(None, self._first)
        except Exception as exc:  # noqa: BLE001 - handed to the loop, raised by `pages`
            self._hand(exc)
            self._finish()
            return
        self._hand(page)
        if len(page) < self._first or self._stop.is_set():
            self._finish()
            return
        bound = (page[-1].updated_at, page[-1].ident)
        try:
            submit(self._read_rest, bound)  # after every first page already queued
        except RuntimeError:  # the lane is shut down: the program is ending
            self._finish()

    def _read_rest(self, before: tuple[int, str]) -> None:
        limit = grown(self._first, self._largest)
        try:
            while not self._stop.is_set():
                page = self._read_page(before, limit)
                self._hand(page)
                if len(page) < limit:
                    break
                before = (page[-1].updated_at, page[-1].ident)
                limit = grown(limit, self._largest)
        except Exception as exc:  # noqa: BLE001 - handed to the loop, raised by `pages`
            self._hand(exc)
        finally:
            self._finish()
