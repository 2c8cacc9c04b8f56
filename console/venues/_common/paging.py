"""Listing loops: every page of a cursor listing, and time windows no longer than a venue
allows.

Why: a reconciliation compares the whole book, so a read that stops at the first page
("the last 50") would report every later order as missing. Reads therefore follow every
page until the venue says there is no next one; a cursor that does not advance, or a
listing that never ends, is a malformed answer (never an endless loop). Venues that
cap a query's time span (Bybit's 7-day execution windows, Binance's 7-day
`userTrades` and 24-hour spot `myTrades`) are queried in consecutive inclusive windows.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterator
from typing import Final, TypeVar

MAX_PAGES: Final = 10_000
"""A listing with more pages than this is treated as malformed (a cursor loop)."""

P = TypeVar("P")
C = TypeVar("C", bound=Hashable)

PageFetch = Callable[[C | None], Awaitable[tuple[P, C | None]]]
"""fetch(cursor) -> (the page, the next cursor or None on the last page); the first call
gets None."""


async def cursor_pages(fetch: PageFetch[C, P], *, fail: Callable[[str], Exception],
                       max_pages: int = MAX_PAGES, cursor_name: str = "cursor") -> list[P]:
    """Every page of a cursor listing, in order. `fail(detail)` builds the error raised
    when the cursor does not advance or the pages never end (the venue's malformed-data
    error, naming `cursor_name`)."""
    pages: list[P] = []
    cursor: C | None = None
    for _ in range(max_pages):
        page, following = await fetch(cursor)
        pages.append(page)
        if following is None:
            return pages
        if following == cursor:
            raise fail(f"{cursor_name} {cursor!r} did not advance")
        cursor = following
    raise fail(f"more than {max_pages} pages")


def time_windows(since: int, until: int, span_ms: int) -> Iterator[tuple[int, int]]:
    """Consecutive inclusive windows (start, end) covering since..until, each spanning at
    most `span_ms` milliseconds (end - start < span_ms); none when until < since."""
    if span_ms < 1:
        raise ValueError(f"window span {span_ms} ms must be at least 1 ms")
    start = since
    while start <= until:
        end = min(until, start + span_ms - 1)
        yield start, end
        start = end + 1
