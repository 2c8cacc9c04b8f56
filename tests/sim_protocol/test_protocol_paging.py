"""Cursor mechanics over newest-first listings, and the snapshot cache."""

from __future__ import annotations

import pytest

from console.sim.protocol.paging import (
    CursorError,
    Listing,
    ListingCache,
    decode_cursor,
    encode_cursor,
    paginate,
)


def listing(items: list[tuple[str, int]]) -> Listing[tuple[str, int]]:
    return Listing.build(items, lambda i: i[0], lambda i: i[1])


def test_cursors_round_trip_and_stay_url_safe() -> None:
    cursor = encode_cursor("id/with+odd=chars", 1700000000000)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert decode_cursor(cursor) == ("id/with+odd=chars", 1700000000000)


@pytest.mark.parametrize("cursor", ["%%%", "zzzz", encode_cursor("x", 0)[:-1] + "!"])
def test_a_foreign_cursor_is_a_cursor_error_quoting_it(cursor: str) -> None:
    with pytest.raises(CursorError) as err:
        decode_cursor(cursor)
    assert err.value.cursor == cursor and repr(cursor) in str(err.value)


def test_pages_follow_each_other_to_an_empty_cursor() -> None:
    items = listing([("e", 50), ("d", 40), ("c", 30), ("b", 20), ("a", 10)])
    seen: list[str] = []
    cursor = ""
    while True:
        page = paginate(items, cursor, 2)
        seen.extend(i[0] for i in page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == ["e", "d", "c", "b", "a"]


def test_a_vanished_item_resumes_at_the_first_not_newer() -> None:
    before = listing([("d", 40), ("c", 30), ("b", 20), ("a", 10)])
    cursor = paginate(before, "", 2).next_cursor  # after "c"
    after = listing([("d", 40), ("b", 20), ("a", 10)])  # "c" left (filled)
    assert [i[0] for i in paginate(after, cursor, 5).items] == ["b", "a"]


def test_the_cache_rebuilds_only_when_the_account_moved() -> None:
    cache = ListingCache(size=2)
    builds: list[int] = []

    def build() -> Listing[tuple[str, int]]:
        builds.append(1)
        return listing([("a", 1)])

    first = cache.get("q", 5, build)
    assert cache.get("q", 5, build) is first and len(builds) == 1
    cache.get("q", 6, build)
    assert len(builds) == 2
    cache.get("r", 1, build)
    cache.get("s", 1, build)  # evicts "q" (least recently used)
    cache.get("q", 6, build)
    assert len(builds) == 5


def test_equal_keys_resume_right_after_the_cursor_item() -> None:
    items = listing([("f", 50), ("e", 40), ("d", 40), ("c", 40), ("b", 40), ("a", 10)])
    cursor = paginate(items, "", 3).next_cursor  # after "d", inside the run of 40s
    assert [i[0] for i in paginate(items, cursor, 10).items] == ["c", "b", "a"]


def test_a_vanished_item_among_equal_keys_resumes_at_the_first_of_its_key() -> None:
    before = listing([("d", 40), ("c", 30), ("b", 30), ("a", 10)])
    cursor = paginate(before, "", 3).next_cursor  # after "b"
    after = listing([("d", 40), ("c", 30), ("a", 10)])  # "b" left
    assert [i[0] for i in paginate(after, cursor, 5).items] == ["c", "a"]


def test_an_item_listed_under_another_key_is_still_found_by_its_id() -> None:
    items = listing([("c", 30), ("b", 20), ("a", 10)])
    cursor = encode_cursor("c", 5)  # the id is listed; the key says otherwise
    assert [i[0] for i in paginate(items, cursor, 5).items] == ["b", "a"]


def test_a_cursor_older_than_every_item_ends_the_listing() -> None:
    items = listing([("b", 20), ("a", 10)])
    page = paginate(items, encode_cursor("gone", 5), 5)
    assert page.items == () and page.next_cursor == ""
