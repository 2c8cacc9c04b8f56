"""Position pages (GET /v5/position/list by settleCoin): each page shows its positions as
they are when it is asked (a mark that moved between two pages shows on the later one),
and the listing follows the account (a position opened or closed between two pages is
listed or not by the symbol order the cursor walks)."""

from __future__ import annotations

from decimal import Decimal

from pybit.unified_trading import HTTP

from console.domain import Category, OrderType, Side
from console.sim.server import SimServerHandle


def trade(server: SimServerHandle, symbol: str, side: Side, qty: str) -> None:
    def run() -> None:
        server.exchange.place_order(server.account, category=Category.LINEAR, symbol=symbol,
                                    side=side, order_type=OrderType.MARKET, qty=Decimal(qty))
    server.call(run)


def page(http: HTTP, cursor: str = "") -> tuple[list[dict[str, str]], str]:
    result = http.get_positions(category="linear", settleCoin="USDT", limit=2,
                                cursor=cursor)["result"]
    return result["list"], result["nextPageCursor"]


def test_a_mark_that_moves_between_pages_shows_on_the_later_page(
        server: SimServerHandle, http: HTTP) -> None:
    for symbol, qty in (("BTCUSDT", "0.01"), ("ETHUSDT", "0.1"), ("SOLUSDT", "1")):
        trade(server, symbol, Side.BUY, qty)
    first, cursor = page(http)
    assert [x["symbol"] for x in first] == ["BTCUSDT", "ETHUSDT"] and cursor
    before = Decimal(http.get_positions(category="linear", symbol="SOLUSDT")
                     ["result"]["list"][0]["markPrice"])
    moved = before * 2
    server.call(server.exchange.set_price, Category.LINEAR, "SOLUSDT", moved)
    second, cursor = page(http, cursor)
    assert [x["symbol"] for x in second] == ["SOLUSDT"] and cursor == ""
    assert Decimal(second[0]["markPrice"]) == moved
    assert Decimal(second[0]["unrealisedPnl"]) > 0


def test_positions_opened_or_closed_between_pages_follow_the_account(
        server: SimServerHandle, http: HTTP) -> None:
    for symbol, qty in (("BTCUSDT", "0.01"), ("ETHUSDT", "0.1"), ("SOLUSDT", "1")):
        trade(server, symbol, Side.BUY, qty)
    first, cursor = page(http)
    assert [x["symbol"] for x in first] == ["BTCUSDT", "ETHUSDT"]
    trade(server, "SOLUSDT", Side.SELL, "1")  # closed: flat positions are not listed
    trade(server, "XRPUSDT", Side.BUY, "10")  # opened after the cursor's symbol
    trade(server, "ADAUSDT", Side.BUY, "10")  # opened before it: not on a later page
    second, cursor = page(http, cursor)
    assert [x["symbol"] for x in second] == ["XRPUSDT"] and cursor == ""
