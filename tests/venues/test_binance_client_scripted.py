"""BinanceVenue's own logic over scripted answers (no network): trade paging under
Binance's documented order (the oldest trades from startTime) and under the opposite,
unreadable and error answers by their outcome, and the credentials gate."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from binance_payloads import futures_order

from console.domain import Category, Order
from console.errors import (
    MalformedVenueDataError,
    OrderNotFoundError,
    TransientVenueError,
    UnknownOutcomeError,
)
from console.venues.binance import BinanceConfig, BinanceVenue, VenueAuthError
from console.venues.binance.client import F_CREATE, F_OPEN, _Answered
from console.venues.binance.parsing import parse_futures_order

KEY, SECRET = "key-0123456789", "secret-0123456789abcdef"
NOW = 1_700_000_000_000
T0 = NOW - 3_600_000


def venue(**changes: Any) -> tuple[BinanceVenue, list[float]]:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    config = BinanceConfig(**{"account": "acct", "rest_url": "http://127.0.0.1:9",
                              "ws_private_url": "ws://127.0.0.1:9/private/ws",
                              "symbols": ("BTCUSDT",), "retry_base_ms": 10,
                              "retry_max_ms": 100, **changes})
    v = BinanceVenue(config, KEY, SECRET, profile="desk", clock_ms=lambda: NOW, sleep=sleep)
    v._clock_checked = True  # no /time call in scripted tests
    return v, sleeps


def run(v: BinanceVenue, coro: Any) -> Any:
    async def main() -> Any:
        try:
            return await coro
        finally:
            await v.aclose()
    return asyncio.run(main())


def trade(trade_id: int, at: int) -> dict[str, Any]:
    return {"buyer": True, "commission": "0.01", "commissionAsset": "USDT", "id": trade_id,
            "maker": False, "orderId": 7, "price": "100", "qty": "1", "quoteQty": "100",
            "realizedPnl": "0", "side": "BUY", "positionSide": "BOTH", "symbol": "BTCUSDT",
            "time": at}


def known_orders(v: BinanceVenue, looked_up: list[Mapping[str, str]]) -> None:
    """GET order answers: order 7 is "rc-w1-e-lq2x8k0a-1f"; any other is unknown."""

    async def regular(method: str, ref: Mapping[str, str]) -> Order:
        looked_up.append(ref)
        if ref.get("orderId") != "7":
            raise OrderNotFoundError("binance: Order does not exist.", venue="binance",
                                     code="-2013")
        order = parse_futures_order(futures_order(orderId=7, symbol=ref["symbol"],
                                                  clientOrderId="rc-w1-e-lq2x8k0a-1f"),
                                    account="acct")
        v._remember(order)
        return order

    v._regular = regular  # type: ignore[method-assign]


def script(trades: list[dict[str, Any]], *, newest_first: bool,
           asked: list[dict[str, Any]]) -> Callable[..., Any]:
    """userTrades over `trades` (sorted by id): a timed window answers with the oldest
    (Binance's documented order) or the newest `limit` trades in it; fromId ascends."""

    async def page(endpoint: Any, symbol: str, **query: Any) -> list[dict[str, Any]]:
        asked.append(query)
        limit = 2
        if "fromId" in query:
            return [t for t in trades if t["id"] >= query["fromId"]][:limit]
        inside = [t for t in trades if query["startTime"] <= t["time"] <= query["endTime"]]
        return inside[-limit:] if newest_first else inside[:limit]

    return page


@pytest.mark.parametrize("newest_first", [False, True])
def test_trade_paging_reads_every_trade_whichever_end_a_window_answers_with(
        newest_first: bool) -> None:
    trades = [trade(1, T0), trade(2, T0 + 5), trade(3, T0 + 5), trade(4, T0 + 5),
              trade(5, T0 + 9), trade(6, T0 + 12), trade(7, T0 + 12)]
    v, _ = venue(page_limit=2)
    asked: list[dict[str, Any]] = []
    looked_up: list[Mapping[str, str]] = []
    v._trade_page = script(trades, newest_first=newest_first, asked=asked)  # type: ignore[method-assign]
    known_orders(v, looked_up)
    fills = run(v, v.fetch_fills(T0 - 10, NOW))
    assert [f.exec_id for f in fills] == [f"BTCUSDT:{i}:B" for i in range(1, 8)]
    assert any("fromId" in q for q in asked)
    # the order's client id, asked for once for all its fills
    assert {f.client_order_id for f in fills} == {"rc-w1-e-lq2x8k0a-1f"}
    assert looked_up == [{"symbol": "BTCUSDT", "orderId": "7"}]


def test_a_first_millisecond_holding_a_page_is_read_whole_in_binance_order() -> None:
    trades = [trade(1, T0), trade(2, T0), trade(3, T0), trade(4, T0 + 1)]
    v, _ = venue(page_limit=2)
    asked: list[dict[str, Any]] = []
    v._trade_page = script(trades, newest_first=False, asked=asked)  # type: ignore[method-assign]
    known_orders(v, [])
    fills = run(v, v.fetch_fills(T0, NOW))
    assert [f.exec_id for f in fills] == [f"BTCUSDT:{i}:B" for i in range(1, 5)]


def test_trades_outside_the_window_are_left_out() -> None:
    trades = [trade(1, T0), trade(2, T0 + 1), trade(3, T0 + 2), trade(4, T0 + 50)]
    trades[2]["orderId"] = 8  # an order Binance no longer keeps: no client id
    v, _ = venue(page_limit=2)
    v._trade_page = script(trades, newest_first=False, asked=[])  # type: ignore[method-assign]
    known_orders(v, [])
    fills = run(v, v.fetch_fills(T0 + 1, T0 + 10))
    assert [(f.exec_id, f.client_order_id) for f in fills] == [
        ("BTCUSDT:2:B", "rc-w1-e-lq2x8k0a-1f"), ("BTCUSDT:3:B", "")]


Answer = tuple[int, Mapping[str, str], str]


def scripted(v: BinanceVenue, answers: list[Answer]) -> list[str]:
    sent: list[str] = []

    async def send(endpoint: Any, params: Mapping[str, Any]) -> _Answered:
        sent.append(endpoint.path)
        status, headers, body = answers.pop(0)
        return _Answered(status, headers, body)

    v._send = send  # type: ignore[method-assign]
    return sent


def test_an_unreadable_answer_is_malformed_for_reads_and_unknown_for_writes() -> None:
    v, _ = venue()
    scripted(v, [(200, {}, "<html>ok</html>"), (200, {}, '{"orderId": NaN}')])

    async def main() -> None:
        with pytest.raises(MalformedVenueDataError):
            await v._request("fetch_open_orders", F_OPEN)
        with pytest.raises(UnknownOutcomeError):
            await v._request("place_order", F_CREATE, {"symbol": "BTCUSDT"})

    run(v, main())


def test_a_gateway_page_is_transient_and_retried_with_backoff() -> None:
    v, sleeps = venue(retry_tries=2)
    sent = scripted(v, [(502, {}, "<html>Bad Gateway</html>"), (200, {}, "[]")])
    assert run(v, v._request("fetch_open_orders", F_OPEN)) == []
    assert sent == ["/fapi/v1/openOrders", "/fapi/v1/openOrders"]
    assert len(sleeps) == 1


def test_a_gateway_page_on_a_write_is_never_retried() -> None:
    v, _ = venue()
    sent = scripted(v, [(503, {}, "")])
    with pytest.raises(UnknownOutcomeError):
        run(v, v._request("place_order", F_CREATE, {"symbol": "BTCUSDT"}))
    assert sent == ["/fapi/v1/order"]


def test_an_overloaded_venue_is_transient_for_reads() -> None:
    v, _ = venue(retry_tries=1)
    scripted(v, [(503, {}, '{"code": -1008, "msg": "Server is currently overloaded"}')])
    with pytest.raises(TransientVenueError, match="-1008"):
        run(v, v._request("fetch_open_orders", F_OPEN))


def test_minus_2015_refuses_the_key_only_before_anything_was_accepted() -> None:
    refused = (401, {}, '{"code": -2015, "msg": "Invalid API-key, IP, or permissions."}')
    v, _ = venue()
    scripted(v, [refused])
    with pytest.raises(VenueAuthError):
        run(v, v._request("fetch_open_orders", F_OPEN))
    assert v.auth_gate.episode is not None  # a key never accepted: the gate closes

    v, _ = venue()
    scripted(v, [(200, {}, "[]"), refused, (200, {}, "[]")])

    async def main() -> None:
        await v._request("fetch_open_orders", F_OPEN)
        with pytest.raises(VenueAuthError):
            await v._request("fetch_open_orders", F_OPEN)  # a permission, once accepted
        assert v.auth_gate.episode is None
        assert await v._request("fetch_open_orders", F_OPEN) == []

    run(v, main())


def test_headers_become_rate_budgets() -> None:
    v, _ = venue()
    scripted(v, [(200, {"X-MBX-USED-WEIGHT-1M": "2300", "X-MBX-ORDER-COUNT-10S": "7",
                        "X-MBX-ORDER-COUNT-1M": "nonsense"}, "[]")])
    run(v, v._request("fetch_open_orders", F_OPEN))
    budget = v.rate_budget()
    weight, orders = budget.get("weight-1m"), budget.get("orders-10s")
    assert weight is not None and (weight.limit, weight.remaining) == (2400, 100)
    assert weight.reset_at == (NOW // 60_000 + 1) * 60_000
    assert orders is not None and (orders.limit, orders.remaining) == (300, 293)
    assert budget.get("orders-1m") is None  # an unreadable header says nothing


def test_capabilities_follow_the_market() -> None:
    futures, _ = venue()
    spot, _ = venue(market=Category.SPOT, ws_private_url="ws://127.0.0.1:9/ws-api/v3")
    assert futures.capabilities.dead_man_switch and futures.capabilities.amend
    assert not futures.capabilities.bulk_cancel_ids
    assert spot.capabilities.bulk_cancel_ids and not spot.capabilities.amend
    assert futures.categories == (Category.LINEAR,) and spot.categories == (Category.SPOT,)
    run(futures, asyncio.sleep(0))
    run(spot, asyncio.sleep(0))
