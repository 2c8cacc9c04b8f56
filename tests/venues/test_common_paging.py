"""The shared listing loops: every page of a cursor listing (and never an endless one),
and inclusive time windows no longer than a venue allows."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from console.errors import MalformedVenueDataError
from console.venues._common.paging import cursor_pages, time_windows


def fail(detail: str) -> MalformedVenueDataError:
    return MalformedVenueDataError(detail)


def test_every_page_is_followed_in_order() -> None:
    items = list(range(23))
    asked: list[int | None] = []

    async def fetch(cursor: int | None) -> tuple[list[int], int | None]:
        asked.append(cursor)
        start = cursor or 0
        following = start + 10 if start + 10 < len(items) else None
        return items[start:start + 10], following

    pages = asyncio.run(cursor_pages(fetch, fail=fail))
    assert asked == [None, 10, 20]
    assert [x for page in pages for x in page] == items


def test_a_cursor_that_does_not_advance_is_refused() -> None:
    async def stuck(cursor: str | None) -> tuple[str, str | None]:
        return "page", "same"

    with pytest.raises(MalformedVenueDataError, match="nextPageCursor 'same' did not advance"):
        asyncio.run(cursor_pages(stuck, fail=fail, cursor_name="nextPageCursor"))


def test_a_listing_that_never_ends_is_refused() -> None:
    counter = itertools.count(1)

    async def endless(cursor: int | None) -> tuple[int, int | None]:
        return 0, next(counter)

    with pytest.raises(MalformedVenueDataError, match="more than 5 pages"):
        asyncio.run(cursor_pages(endless, fail=fail, max_pages=5))


def test_time_windows_are_inclusive_consecutive_and_capped() -> None:
    windows = list(time_windows(100, 1000, 300))
    assert windows == [(100, 399), (400, 699), (700, 999), (1000, 1000)]
    assert all(end - start < 300 for start, end in windows)
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(windows))
    assert list(time_windows(5, 5, 7)) == [(5, 5)]
    assert list(time_windows(6, 5, 7)) == []
    with pytest.raises(ValueError):
        list(time_windows(0, 10, 0))
