"""Independent clients against the sim's REST half: ccxt's raw methods (POST parameters in
a form body, GET/DELETE in the query string, batchOrders as raw JSON, ``orderidlist``)
and python-binance (POST parameters in the query string). Both must verify."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import ccxt.async_support as ccxt
import pytest
from binance.client import Client
from binance_rest_helpers import KEY, SECRET, RestSim
from canary import quiet_stranger_loggers

T = TypeVar("T")


@pytest.fixture(scope="module")
def sim() -> Iterator[RestSim]:
    handle = RestSim()
    yield handle
    handle.stop()


@pytest.fixture(autouse=True)
def quiet_ccxt() -> Iterator[None]:
    """ccxt logs every request at DEBUG with its headers, the API key included: keep
    those records from being made (the session's secrets canary would flag them)."""
    with quiet_stranger_loggers(("ccxt",)):
        yield


def usdm(url: str) -> Any:
    exchange = ccxt.binanceusdm({"apiKey": KEY, "secret": SECRET})
    api = exchange.urls["api"]
    for name, version in (("fapiPublic", "v1"), ("fapiPublicV2", "v2"),
                          ("fapiPublicV3", "v3"), ("fapiPrivate", "v1"),
                          ("fapiPrivateV2", "v2"), ("fapiPrivateV3", "v3")):
        api[name] = f"{url}/fapi/{version}"
    return exchange


def spot(url: str) -> Any:
    exchange = ccxt.binance({"apiKey": KEY, "secret": SECRET})
    api = exchange.urls["api"]
    for name in ("public", "private"):
        api[name] = f"{url}/api/v3"
    return exchange


def run(make: Callable[[str], Any], url: str, body: Callable[[Any], Awaitable[T]]) -> T:
    async def main() -> T:
        exchange = make(url)
        try:
            return await body(exchange)
        finally:
            await exchange.close()
    return asyncio.run(main())


def test_ccxt_usdm_raw_methods(sim: RestSim) -> None:
    async def body(ex: Any) -> dict[str, Any]:
        placed = await ex.fapiPrivatePostOrder({
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.001", "price": "50000", "newClientOrderId": "ccxt-1"})
        listed = await ex.fapiPrivateGetOpenOrders({"symbol": "BTCUSDT"})
        batch = await ex.fapiPrivatePostBatchOrders({"batchOrders": [
            {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
             "quantity": "0.001", "price": "49000", "newClientOrderId": "ccxt-2"}]})
        cancelled = await ex.fapiPrivateDeleteBatchOrders({
            "symbol": "BTCUSDT", "orderidlist": [str(batch[0]["orderId"])]})
        positions = await ex.fapiPrivateV3GetPositionRisk()
        account = await ex.fapiPrivateV3GetAccount()
        key = await ex.fapiPrivatePostListenKey()
        return {"placed": placed, "listed": listed, "cancelled": cancelled,
                "positions": positions, "account": account, "key": key}

    out = run(usdm, sim.url, body)
    assert out["placed"]["clientOrderId"] == "ccxt-1"
    assert [o["clientOrderId"] for o in out["listed"]] == ["ccxt-1"]
    assert out["cancelled"][0]["status"] == "CANCELED"
    assert out["positions"] == [] or all("positionAmt" in p for p in out["positions"])
    assert "totalWalletBalance" in out["account"]
    assert len(out["key"]["listenKey"]) == 64


def test_ccxt_spot_raw_methods(sim: RestSim) -> None:
    async def body(ex: Any) -> dict[str, Any]:
        placed = await ex.privatePostOrder({
            "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.001", "price": "50000", "newClientOrderId": "ccxtspot1"})
        query = await ex.privateGetOrder({"symbol": "BTCUSDT",
                                          "origClientOrderId": "ccxtspot1"})
        cancelled = await ex.privateDeleteOrder({"symbol": "BTCUSDT",
                                                 "orderId": placed["orderId"]})
        account = await ex.privateGetAccount()
        return {"placed": placed, "query": query, "cancelled": cancelled, "account": account}

    out = run(spot, sim.url, body)
    assert out["placed"]["status"] == "NEW" and out["query"]["clientOrderId"] == "ccxtspot1"
    assert out["cancelled"]["status"] == "CANCELED"
    assert any(b["asset"] == "USDT" for b in out["account"]["balances"])


def test_python_binance_puts_post_parameters_in_the_query(sim: RestSim) -> None:
    client = Client(KEY, SECRET, ping=False)
    client.API_URL = f"{sim.url}/api"
    client.FUTURES_URL = f"{sim.url}/fapi"
    placed = client.futures_create_order(symbol="BTCUSDT", side="SELL", type="LIMIT",
                                         timeInForce="GTC", quantity="0.001",
                                         price="70000", newClientOrderId="pyb-1")
    assert placed["clientOrderId"] == "pyb-1" and placed["status"] == "NEW"
    got = client.futures_get_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert got["orderId"] == placed["orderId"]
    cancelled = client.futures_cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])
    assert cancelled["status"] == "CANCELED"
    spot_order = client.create_order(symbol="BTCUSDT", side="BUY", type="LIMIT",
                                     timeInForce="GTC", quantity="0.001", price="50000",
                                     newClientOrderId="pybspot1")
    assert spot_order["status"] == "NEW"
    assert client.get_open_orders(symbol="BTCUSDT")[0]["clientOrderId"] == "pybspot1"
