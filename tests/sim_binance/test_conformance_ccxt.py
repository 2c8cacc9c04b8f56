"""Conformance of the simulated Binance front-end, through ccxt 4.5.90.

ccxt is the connector's own client, so it is the second independent witness: its raw
endpoint methods (`ccxt.async_support.binance` for spot, `binanceusdm` for USD-M) must
work with only `urls['api']` pointed at the sim, and every answer must carry the fields
of Binance's docs (`binance_docs`). ccxt sends GET and DELETE parameters in the query
string and POST and PUT parameters in a form body (python-binance's tests cover the
other placements). Its unified layer (load_markets from exchangeInfo, fetch_balance,
create_order, fetch_open_orders, cancel_order) is tried too: the connector does not use
it, but a sim that real clients can drive is the point.

One front-end serves the whole module (on its own thread); each test runs its client on
a fresh loop with `asyncio.run`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.async_support as ccxt
import pytest
from binance_docs import check, check_list
from canary import quiet_stranger_loggers
from test_conformance_support import KEY, SECRET, SimOnThread, explain

SYMBOL = "BTCUSDT"
T = TypeVar("T")
_ids = itertools.count(1)


def cid(prefix: str) -> str:
    return f"{prefix}-{int(time.time())}-{next(_ids)}"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimOnThread]:
    handle = SimOnThread(seed=6)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(autouse=True)
def quiet_ccxt() -> Iterator[None]:
    """ccxt logs every request at DEBUG with its headers, the API key among them: those
    records must not be made (the session's secrets canary fails on them)."""
    with quiet_stranger_loggers(("ccxt",)):
        yield


def spot_client(url: str) -> Any:
    """ccxt's spot exchange at the sim: the three REST bases binance.md names. For the
    unified layer: spot markets only, and neither margin pairs nor currencies (ccxt
    asks /sapi for those, which the sim does not serve)."""
    exchange = ccxt.binance({"apiKey": KEY, "secret": SECRET, "options": {
        "fetchMarkets": {"types": ["spot"]}, "fetchMargins": False,
        "fetchCurrencies": False}})
    api = exchange.urls["api"]
    api["public"] = api["private"] = f"{url}/api/v3"
    api["v1"] = f"{url}/api/v1"
    return exchange


def usdm_client(url: str) -> Any:
    # fetchCurrencies off: ccxt's load_markets would ask /sapi/v1/capital/config/getall
    exchange = ccxt.binanceusdm({"apiKey": KEY, "secret": SECRET,
                                 "options": {"fetchCurrencies": False}})
    api = exchange.urls["api"]
    for version in ("", "V2", "V3"):
        n = version[1:] or "1"
        api[f"fapiPublic{version}"] = f"{url}/fapi/v{n}"
        api[f"fapiPrivate{version}"] = f"{url}/fapi/v{n}"
    api["fapiData"] = f"{url}/futures/data"
    return exchange


def with_client(make: Callable[[str], Any], url: str,
                body: Callable[[Any], Awaitable[T]]) -> T:
    async def main() -> T:
        exchange = make(url)
        try:
            return await body(exchange)
        finally:
            await exchange.close()
    return asyncio.run(main())


def no_deviation(found: list[Any]) -> None:
    assert not found, explain(found)


# -- raw methods: spot -----------------------------------------------------------------

def test_raw_spot_public(sim: SimOnThread) -> None:
    async def body(ex: Any) -> list[Any]:
        return [*check("spot GET /api/v3/time", await ex.publicGetTime()),
                *check("spot GET /api/v3/exchangeInfo", await ex.publicGetExchangeInfo())]
    no_deviation(with_client(spot_client, sim.url, body))


def test_raw_spot_orders_account_trades(sim: SimOnThread) -> None:
    async def body(ex: Any) -> list[Any]:
        found = check("spot GET /api/v3/account", await ex.privateGetAccount())
        client_id = cid("ccxt-spot")
        placed = await ex.privatePostOrder({
            "symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.001", "price": "50000", "newClientOrderId": client_id})
        found += check("spot POST /api/v3/order FULL", placed)
        order_id = placed["orderId"]
        found += check("spot GET /api/v3/order",
                       await ex.privateGetOrder({"symbol": SYMBOL, "orderId": order_id}))
        open_orders = await ex.privateGetOpenOrders({"symbol": SYMBOL})
        assert any(o.get("orderId") == order_id for o in open_orders)
        found += check_list("spot GET /api/v3/openOrders[]", open_orders)
        replaced = await ex.privatePostOrderCancelReplace({
            "symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrigClientOrderId": client_id,
            "quantity": "0.002", "price": "50100", "newClientOrderId": cid("ccxt-spot-cr")})
        found += check("spot POST /api/v3/order/cancelReplace", replaced)
        new_id = replaced["newOrderResponse"]["orderId"]
        cancelled = await ex.privateDeleteOrder({"symbol": SYMBOL, "orderId": new_id})
        found += check("spot DELETE /api/v3/order", cancelled)
        filled = await ex.privatePostOrder({
            "symbol": SYMBOL, "side": "SELL", "type": "MARKET", "quantity": "0.001",
            "newClientOrderId": cid("ccxt-spot-mkt")})
        found += check("spot POST /api/v3/order FULL", filled)
        trades = await ex.privateGetMyTrades({"symbol": SYMBOL})
        assert trades
        found += check_list("spot GET /api/v3/myTrades[]", trades)
        return found
    no_deviation(with_client(spot_client, sim.url, body))


# -- raw methods: USD-M ----------------------------------------------------------------

def test_raw_usdm_public_and_modes(sim: SimOnThread) -> None:
    async def body(ex: Any) -> list[Any]:
        return [*check("usdm GET /fapi/v1/exchangeInfo", await ex.fapiPublicGetExchangeInfo()),
                *check("usdm GET /fapi/v1/positionSide/dual",
                       await ex.fapiPrivateGetPositionSideDual()),
                *check("usdm GET /fapi/v1/multiAssetsMargin",
                       await ex.fapiPrivateGetMultiAssetsMargin())]
    no_deviation(with_client(usdm_client, sim.url, body))


def test_raw_usdm_order_lifecycle(sim: SimOnThread) -> None:
    async def body(ex: Any) -> list[Any]:
        client_id = cid("ccxt-fut")
        placed = await ex.fapiPrivatePostOrder({
            "symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.01", "price": "50000", "newClientOrderId": client_id})
        found = check("usdm POST /fapi/v1/order", placed)
        order_id = placed["orderId"]
        found += check("usdm GET /fapi/v1/order", await ex.fapiPrivateGetOrder(
            {"symbol": SYMBOL, "origClientOrderId": client_id}))
        open_orders = await ex.fapiPrivateGetOpenOrders({"symbol": SYMBOL})
        assert any(o.get("orderId") == order_id for o in open_orders)
        found += check_list("usdm GET /fapi/v1/openOrders[]", open_orders)
        modified = await ex.fapiPrivatePutOrder({
            "symbol": SYMBOL, "orderId": order_id, "side": "BUY", "quantity": "0.02",
            "price": "50100"})
        found += check("usdm PUT /fapi/v1/order", modified)
        assert Decimal(str(modified.get("origQty"))) == Decimal("0.02")
        found += check("usdm DELETE /fapi/v1/order", await ex.fapiPrivateDeleteOrder(
            {"symbol": SYMBOL, "orderId": order_id}))
        return found
    no_deviation(with_client(usdm_client, sim.url, body))


def test_raw_usdm_fill_positions_account(sim: SimOnThread) -> None:
    async def body(ex: Any) -> list[Any]:
        found = check("usdm POST /fapi/v1/order", await ex.fapiPrivatePostOrder({
            "symbol": SYMBOL, "side": "SELL", "type": "MARKET", "quantity": "0.01",
            "newClientOrderId": cid("ccxt-fut-mkt")}))
        positions = await ex.fapiPrivateV3GetPositionRisk({"symbol": SYMBOL})
        assert positions
        found += check_list("usdm GET /fapi/v3/positionRisk[]", positions)
        found += check("usdm GET /fapi/v3/account", await ex.fapiPrivateV3GetAccount())
        balances = await ex.fapiPrivateV3GetBalance()
        assert balances
        found += check_list("usdm GET /fapi/v3/balance[]", balances)
        trades = await ex.fapiPrivateGetUserTrades({"symbol": SYMBOL})
        assert trades
        found += check_list("usdm GET /fapi/v1/userTrades[]", trades)
        return found
    no_deviation(with_client(usdm_client, sim.url, body))


def test_raw_usdm_algo_and_countdown(sim: SimOnThread) -> None:
    async def body(ex: Any) -> list[Any]:
        algo_id = cid("ccxt-algo")
        placed = await ex.fapiPrivatePostAlgoOrder({
            "algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "BUY",
            "type": "TAKE_PROFIT_MARKET", "quantity": "0.01", "triggerPrice": "40000",
            "clientAlgoId": algo_id})
        found = check("usdm POST /fapi/v1/algoOrder", placed)
        found += check("usdm GET /fapi/v1/algoOrder",
                       await ex.fapiPrivateGetAlgoOrder({"clientAlgoId": algo_id}))
        open_algos = await ex.fapiPrivateGetOpenAlgoOrders({"symbol": SYMBOL})
        assert any(o.get("clientAlgoId") == algo_id for o in open_algos)
        found += check_list("usdm GET /fapi/v1/openAlgoOrders[]", open_algos)
        found += check("usdm DELETE /fapi/v1/algoOrder",
                       await ex.fapiPrivateDeleteAlgoOrder({"clientAlgoId": algo_id}))
        found += check("usdm POST /fapi/v1/countdownCancelAll",
                       await ex.fapiPrivatePostCountdownCancelAll(
                           {"symbol": SYMBOL, "countdownTime": 120000}))
        found += check("usdm POST /fapi/v1/countdownCancelAll",
                       await ex.fapiPrivatePostCountdownCancelAll(
                           {"symbol": SYMBOL, "countdownTime": 0}))
        return found
    no_deviation(with_client(usdm_client, sim.url, body))


def test_raw_usdm_listen_key(sim: SimOnThread) -> None:
    async def body(ex: Any) -> list[Any]:
        created = await ex.fapiPrivatePostListenKey()
        found = check("usdm POST /fapi/v1/listenKey", created)
        key = created["listenKey"]
        found += check("usdm PUT /fapi/v1/listenKey",
                       await ex.fapiPrivatePutListenKey({"listenKey": key}))
        assert await ex.fapiPrivateDeleteListenKey({"listenKey": key}) == {}
        return found
    no_deviation(with_client(usdm_client, sim.url, body))


# -- the unified layer -----------------------------------------------------------------

def test_unified_usdm(sim: SimOnThread) -> None:
    async def body(ex: Any) -> None:
        markets = await ex.load_markets()
        assert "BTC/USDT:USDT" in markets
        balance = await ex.fetch_balance()
        assert Decimal(str(balance["USDT"]["total"])) > 0
        order = await ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 50000,
                                      {"newClientOrderId": cid("ccxt-uni-fut")})
        assert order["status"] == "open"
        open_orders = await ex.fetch_open_orders("BTC/USDT:USDT")
        assert order["id"] in {o["id"] for o in open_orders}
        cancelled = await ex.cancel_order(order["id"], "BTC/USDT:USDT")
        assert cancelled["status"] == "canceled"
    with_client(usdm_client, sim.url, body)


def test_unified_spot(sim: SimOnThread) -> None:
    async def body(ex: Any) -> None:
        markets = await ex.load_markets()
        assert "BTC/USDT" in markets
        balance = await ex.fetch_balance()
        assert Decimal(str(balance["USDT"]["free"])) > 0
        order = await ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50000,
                                      {"newClientOrderId": cid("ccxt-uni-spot")})
        assert order["status"] == "open"
        open_orders = await ex.fetch_open_orders("BTC/USDT")
        assert order["id"] in {o["id"] for o in open_orders}
        cancelled = await ex.cancel_order(order["id"], "BTC/USDT")
        assert cancelled["status"] == "canceled"
    with_client(spot_client, sim.url, body)
