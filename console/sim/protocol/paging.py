"""Cursor pagination over newest-first listings, and the snapshots behind it.

Venues list orders and executions newest first and hand out an opaque cursor ("" on the
last page). Here a cursor names the last item served and its sort key, as a URL-safe
token (so that clients can put it into a query string unencoded and sign it as is). The
next page starts right after that item; if the item left the listing meanwhile (an open
order that filled), it starts at the first item not newer than it, so nothing that was
listed throughout is ever skipped (at worst an item with the same timestamp is served
twice; clients de-duplicate by id).

Listings are snapshots cached per account state: the sim's per-account event sequence
number changes with every change of the account, so paging through an unchanged account
costs one snapshot, not one per page. A cursor that does not decode raises `CursorError`;
the venue's envelope hook says how that reads on its wire.
"""

from __future__ import annotations

import base64
import binascii
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

T = TypeVar("T")

CACHE_SIZE: Final = 64


class CursorError(ValueError):
    """A cursor this server never handed out; the text quotes it."""

    def __init__(self, cursor: str) -> None:
        super().__init__(f"cursor {cursor!r} is invalid")
        self.cursor = cursor


class Listing(Generic[T]):
    """Items newest first (sort keys descending), with how to read an item's id and key.

    Only the items are taken at build time: ids, keys and the id index cost a pass over
    the whole listing each (50k fills at ten times the bench's book), and a page needs
    none of them whole. A cursor is found by bisecting on the keys (read from the items
    it touches) and scanning the items of its key; the id index is built only for a
    cursor whose item is not there (it left the listing, or never had that key)."""

    __slots__ = ("_ident", "_ids", "_index", "_key", "items")

    def __init__(self, items: tuple[T, ...], ident: Callable[[T], str],
                 key: Callable[[T], int]) -> None:
        self.items = items
        self._ident = ident
        self._key = key
        self._ids: tuple[str, ...] | None = None
        self._index: dict[str, int] | None = None

    @classmethod
    def build(cls, items: Sequence[T], ident: Callable[[T], str],
              key: Callable[[T], int]) -> Listing[T]:
        return cls(tuple(items), ident, key)

    def ident(self, pos: int) -> str:
        return self._ident(self.items[pos])

    def key(self, pos: int) -> int:
        return self._key(self.items[pos])

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id in listing order (built once, on first use)."""
        if self._ids is None:
            self._ids = tuple(self._ident(i) for i in self.items)
        return self._ids

    def first_not_newer(self, key: int) -> int:
        """The position of the first item whose key is <= `key` (len when none is)."""
        sort_key = self._key
        return bisect_left(self.items, -key, key=lambda item: -sort_key(item))

    def after(self, last_id: str, key: int) -> int:
        """Where the page after the item (`last_id`, `key`) starts: right after it if it
        is listed, else at the first item not newer than it."""
        items, ident, sort_key = self.items, self._ident, self._key
        start = self.first_not_newer(key)
        pos = start
        while pos < len(items) and sort_key(items[pos]) == key:
            if ident(items[pos]) == last_id:
                return pos + 1
            pos += 1
        if self._index is None:
            self._index = {ident_: n for n, ident_ in enumerate(self.ids)}
        found = self._index.get(last_id)
        return start if found is None else found + 1


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next_cursor: str


def encode_cursor(last_id: str, key: int) -> str:
    raw = f"{key}|{last_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, int]:
    """(last id, its sort key); `CursorError` for anything `encode_cursor` did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        key_text, _, last_id = raw.partition("|")
        return last_id, int(key_text)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise CursorError(cursor) from None


def paginate(listing: Listing[T], cursor: str, limit: int) -> Page[T]:
    start = 0
    if cursor:
        last_id, key = decode_cursor(cursor)
        start = listing.after(last_id, key)
    end = start + limit
    items = listing.items[start:end]
    more = end < len(listing.items)
    next_cursor = encode_cursor(listing.ident(end - 1), listing.key(end - 1)) if more else ""
    return Page(items, next_cursor)


class ListingCache:
    """Snapshots keyed by (query, account sequence number); small LRU."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()

    def get(self, key: Hashable, seq: int, build: Callable[[], Listing[T]]) -> Listing[T]:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == seq:
            self._entries.move_to_end(key)
            listing = entry[1]
            assert isinstance(listing, Listing)
            return listing
        fresh = build()
        self._entries[key] = (seq, fresh)
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return fresh
