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


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    """Items newest first, with their ids and sort keys (descending)."""

    items: tuple[T, ...]
    ids: tuple[str, ...]
    keys: tuple[int, ...]
    index: dict[str, int]

    @classmethod
    def build(cls, items: Sequence[T], ident: Callable[[T], str],
              key: Callable[[T], int]) -> Listing[T]:
        ordered = tuple(items)
        ids = tuple(ident(i) for i in ordered)
        return cls(ordered, ids, tuple(key(i) for i in ordered),
                   {ident_: pos for pos, ident_ in enumerate(ids)})


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
        pos = listing.index.get(last_id)
        if pos is not None:
            start = pos + 1
        else:
            start = next((i for i, k in enumerate(listing.keys) if k <= key),
                         len(listing.items))
    end = start + limit
    items = listing.items[start:end]
    more = end < len(listing.items)
    next_cursor = encode_cursor(listing.ids[end - 1], listing.keys[end - 1]) if more else ""
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
