"""Cursor pagination (newest first, nextPageCursor "" at the end) and time windows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from bybit_helpers import now_ms
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from console.domain import Category, OrderType, Side
from console.sim.server import SimServerHandle

DAY = 86_400_000


def place_many(server: SimServerHandle, count: int, order_type: OrderType) -> list[str]:
    def run() -> list[str]:
        ex = server.exchange
        return [ex.place_order(
            server.account, category=Category.LINEAR, symbol="BTCUSDT", side=Side.BUY,
            order_type=order_type, qty=Decimal("0.001"),
            price=Decimal(50000 + i) if order_type is OrderType.LIMIT else None,
            client_order_id=f"p-{i}").venue_order_id for i in range(count)]
    return server.call(run)


def pages(fetch: Any, **query: Any) -> list[dict[str, Any]]:
    out, cursor = [], ""
    while True:
        result = fetch(**query, cursor=cursor)["result"]
        out.append(result)
        cursor = result["nextPageCursor"]
        if not cursor:
            return out


def test_open_orders_page_50_50_20_newest_first(server: SimServerHandle, http: HTTP) -> None:
    ids = place_many(server, 120, OrderType.LIMIT)
    got = pages(http.get_open_orders, category="linear", settleCoin="USDT", limit=50)
    assert [len(p["list"]) for p in got] == [50, 50, 20]
    assert got[-1]["nextPageCursor"] == ""
    listed = [o["orderId"] for p in got for o in p["list"]]
    assert listed == list(reversed(ids))


def test_default_limit_is_20_and_limit_above_50_is_refused(server: SimServerHandle,
                                                           http: HTTP) -> None:
    place_many(server, 25, OrderType.LIMIT)
    first = http.get_open_orders(category="linear", symbol="BTCUSDT")["result"]
    assert len(first["list"]) == 20 and first["nextPageCursor"]
    with pytest.raises(InvalidRequestError) as err:
        http.get_open_orders(category="linear", symbol="BTCUSDT", limit=51)
    assert err.value.status_code == 10001


def test_no_order_is_skipped_when_the_book_changes_between_pages(
        server: SimServerHandle, http: HTTP) -> None:
    ids = place_many(server, 60, OrderType.LIMIT)
    first = http.get_open_orders(category="linear", settleCoin="USDT", limit=25)["result"]
    # the order the cursor names, and one further down, leave the book between pages
    server.call(server.exchange.cancel_order, server.account, first["list"][-1]["orderId"])
    server.call(server.exchange.cancel_order, server.account, ids[0])
    cursor, seen = first["nextPageCursor"], [o["orderId"] for o in first["list"]]
    while cursor:
        page = http.get_open_orders(category="linear", settleCoin="USDT", limit=25,
                                    cursor=cursor)["result"]
        seen += [o["orderId"] for o in page["list"]]
        cursor = page["nextPageCursor"]
    assert set(seen) >= set(ids) - {ids[0]}  # every order open throughout was listed


def test_cursor_continues_exactly_when_its_order_is_still_listed(
        server: SimServerHandle, http: HTTP) -> None:
    ids = place_many(server, 60, OrderType.LIMIT)
    first = http.get_open_orders(category="linear", settleCoin="USDT", limit=25)["result"]
    server.call(server.exchange.cancel_order, server.account, ids[0])
    second = http.get_open_orders(category="linear", settleCoin="USDT", limit=50,
                                  cursor=first["nextPageCursor"])["result"]
    listed = [o["orderId"] for o in first["list"] + second["list"]]
    assert listed == list(reversed(ids[1:]))
    assert second["nextPageCursor"] == ""


def test_bad_cursor_is_10001(http: HTTP) -> None:
    with pytest.raises(InvalidRequestError) as err:
        http.get_open_orders(category="linear", settleCoin="USDT", cursor="!!!")
    assert err.value.status_code == 10001


def test_executions_page_by_100_newest_first(server: SimServerHandle, http: HTTP) -> None:
    place_many(server, 250, OrderType.MARKET)
    got = pages(http.get_executions, category="linear", limit=100)
    assert [len(p["list"]) for p in got] == [100, 100, 50]
    fills = [f for p in got for f in p["list"]]
    assert len({f["execId"] for f in fills}) == 250
    times = [int(f["execTime"]) for f in fills]
    assert times == sorted(times, reverse=True)
    first = fills[0]
    assert first["execType"] == "Trade" and first["side"] == "Buy"
    assert first["feeCurrency"] == "USDT" and first["isMaker"] is False
    assert Decimal(first["execValue"]) == Decimal(first["execPrice"]) * Decimal(
        first["execQty"])


def test_execution_window_over_7_days_is_10001(http: HTTP) -> None:
    now = now_ms()
    with pytest.raises(InvalidRequestError) as err:
        http.get_executions(category="linear", startTime=now - 8 * DAY, endTime=now)
    assert err.value.status_code == 10001
    ok = http.get_executions(category="linear", startTime=now - 7 * DAY, endTime=now)
    assert ok["retCode"] == 0


def test_execution_start_only_covers_seven_days_from_it(server: SimServerHandle,
                                                        http: HTTP) -> None:
    place_many(server, 3, OrderType.MARKET)
    now = now_ms()
    old = http.get_executions(category="linear", startTime=now - 8 * DAY)["result"]["list"]
    assert old == []
    recent = http.get_executions(category="linear", startTime=now - DAY)["result"]["list"]
    assert len(recent) == 3
    by_end = http.get_executions(category="linear", endTime=now + 1000)["result"]["list"]
    assert len(by_end) == 3


def test_executions_by_order_link_id(server: SimServerHandle, http: HTTP) -> None:
    place_many(server, 3, OrderType.MARKET)
    found = http.get_executions(category="linear", orderLinkId="p-1")["result"]["list"]
    assert [f["orderLinkId"] for f in found] == ["p-1"]


def test_order_history_pages_and_reads_7_day_windows(server: SimServerHandle,
                                                     http: HTTP) -> None:
    place_many(server, 30, OrderType.MARKET)
    got = pages(http.get_order_history, category="linear", limit=20)
    assert [len(p["list"]) for p in got] == [20, 10]
    assert {o["orderStatus"] for p in got for o in p["list"]} == {"Filled"}
    # docs/v5/order/order-list: startTime (or endTime) alone spans 7 days from (to) it;
    # both may span at most 7 days
    alone = http.get_order_history(category="linear", startTime=now_ms() - DAY, limit=50)
    assert len(alone["result"]["list"]) == 30
    assert len(http.get_order_history(category="linear", endTime=now_ms() + DAY,
                                      limit=50)["result"]["list"]) == 30
    with pytest.raises(InvalidRequestError) as err:
        http.get_order_history(category="linear", startTime=now_ms() - 8 * DAY,
                               endTime=now_ms())
    assert err.value.status_code == 10001
    filled = http.get_order_history(category="linear", orderStatus="Cancelled")
    assert filled["result"]["list"] == []


def test_positions_page_and_flat_symbol_query(server: SimServerHandle, http: HTTP) -> None:
    def open_positions() -> None:
        ex = server.exchange
        for symbol, qty in (("BTCUSDT", "0.01"), ("ETHUSDT", "0.1"), ("SOLUSDT", "1")):
            ex.place_order(server.account, category=Category.LINEAR, symbol=symbol,
                           side=Side.SELL, order_type=OrderType.MARKET, qty=Decimal(qty))
    server.call(open_positions)
    got = pages(http.get_positions, category="linear", settleCoin="USDT", limit=2)
    assert [len(p["list"]) for p in got] == [2, 1]
    positions = [x for p in got for x in p["list"]]
    assert [x["symbol"] for x in positions] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert {x["side"] for x in positions} == {"Sell"}
    assert positions[0]["size"] == "0.01" and Decimal(positions[0]["avgPrice"]) > 0
    flat = http.get_positions(category="linear", symbol="XRPUSDT")["result"]["list"]
    assert [(x["symbol"], x["side"], x["size"]) for x in flat] == [("XRPUSDT", "", "0")]
