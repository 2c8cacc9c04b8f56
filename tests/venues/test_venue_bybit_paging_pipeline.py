"""BybitVenue reads a listing's page while the next page is with the venue: a cursor is
all the next request needs, and on a large book the reading would otherwise sit between
every two requests (and a request that starts late pushes back every page one rolling
window after it). A malformed item still fails the listing, typed and named, with at
most the page after it asked."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from bybit_payloads import execution_json, order_json, position_json
from test_venue_bybit_client import NOW, FakeBybit, pages, run, venue

from console.domain import Category
from console.errors import MalformedVenueDataError
from console.venues.bybit import client

WAIT_S = 5.0


def executions(count: int, **first: Any) -> list[dict[str, Any]]:
    items = [execution_json(execId=f"e{i}", execTime=str(NOW - i)) for i in range(count)]
    items[0].update(first)
    return items


def test_a_page_is_read_while_the_next_page_is_with_the_venue(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeBybit()
    listing = pages(executions(250), 100)
    second_asked = threading.Event()

    def handler(params: dict[str, Any]) -> Any:
        if params.get("cursor"):
            second_asked.set()
        return listing(params)

    fake.handlers["get_executions"] = handler
    read_while_asked: list[bool] = []
    parse_fill = client.parse_fill

    def watched(raw: Any, **kwargs: Any) -> Any:
        if raw["execId"] == "e0":  # the first page's first item
            read_while_asked.append(second_asked.wait(WAIT_S))
        return parse_fill(raw, **kwargs)

    monkeypatch.setattr(client, "parse_fill", watched)
    v = venue(fake)
    fills = run(v, v.fetch_fills(NOW - 1000, NOW))
    assert read_while_asked == [True]
    assert [f.exec_id for f in fills] == [f"e{i}" for i in reversed(range(250))]
    assert v.calls["fetch_fills"] == 3


@pytest.mark.parametrize(("method", "pybit", "items", "field"), [
    ("fetch_fills", "get_executions", executions(250, execTime="١٧٠٠"), "execTime"),
    ("fetch_open_orders", "get_open_orders",
     [order_json(orderId="bad", qty="-1")] + [order_json(orderId=f"o{i}") for i in range(120)],
     "qty"),
    ("fetch_positions", "get_positions",
     [position_json(symbol="BTC\ud800USD")]
     + [position_json(symbol=f"S{i}USD") for i in range(450)], "symbol"),
])
def test_a_malformed_item_fails_its_listing_with_at_most_the_next_page_asked(
        method: str, pybit: str, items: list[dict[str, Any]], field: str) -> None:
    fake = FakeBybit()
    limit = {"get_executions": 100, "get_open_orders": 50, "get_positions": 200}[pybit]
    fake.handlers[pybit] = pages(items, limit)
    v = venue(fake, category=Category.INVERSE if pybit == "get_positions" else
              Category.LINEAR)
    with pytest.raises(MalformedVenueDataError, match=field):
        run(v, getattr(v, method)() if method != "fetch_fills"
            else v.fetch_fills(NOW - 1000, NOW))
    assert len(fake.named(pybit)) <= 2  # the third page is never asked
