"""Third-party Binance clients on the simulated WebSockets, pointed at them by URL only:
ccxt.pro (``binanceusdm`` over the listenKey stream, ``binance`` spot over the WebSocket
API's signature subscription) and python-binance's socket manager (both streams). They
must parse what the sim pushes into the orders, trades, positions and balances it
describes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from binance.async_client import AsyncClient
from binance.ws.streams import BinanceSocketManager
from binance.ws.websocket_api import WebsocketAPI
from binance_ws_helpers import KEY, SECRET, FrontEndOnThread, check_event

from console.domain.enums import Category, Side

LINEAR, SPOT = Category.LINEAR, Category.SPOT


@pytest.fixture(autouse=True)
def quiet_clients() -> Iterator[None]:
    """ccxt logs every request at DEBUG with its headers, the API key among them: those
    records must not be made (the session's secrets canary fails on them)."""
    loggers = [logging.getLogger(name) for name in ("ccxt", "binance")]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    yield
    for logger, level in zip(loggers, before, strict=True):
        logger.setLevel(level)


@pytest.fixture(scope="module")
def sim() -> Iterator[FrontEndOnThread]:
    handle = FrontEndOnThread()
    try:
        yield handle
    finally:
        handle.stop()


def usdm(sim: FrontEndOnThread) -> Any:
    """ccxt.pro binanceusdm at the sim: REST bases and ``urls['api']['ws']['linear']``
    (ending in /ws: ccxt derives ``/private/ws?listenKey=`` from it). No currency or
    position snapshots: those ask endpoints the sim does not serve."""
    exchange = ccxtpro.binanceusdm({
        "apiKey": KEY, "secret": SECRET,
        "options": {"fetchCurrencies": False,
                    "watchPositions": {"fetchPositionsSnapshot": False}}})
    api = exchange.urls["api"]
    for version in ("", "V2", "V3"):
        n = version[1:] or "1"
        api[f"fapiPublic{version}"] = api[f"fapiPrivate{version}"] = f"{sim.url}/fapi/v{n}"
    api["ws"]["linear"] = f"{sim.ws_origin}/ws"
    return exchange


def spot(sim: FrontEndOnThread) -> Any:
    exchange = ccxtpro.binance({
        "apiKey": KEY, "secret": SECRET,
        "options": {"fetchMarkets": {"types": ["spot"]}, "fetchMargins": False,
                    "fetchCurrencies": False}})
    api = exchange.urls["api"]
    api["public"] = api["private"] = f"{sim.url}/api/v3"
    api["v1"] = f"{sim.url}/api/v1"
    api["ws"]["ws-api"]["spot"] = f"{sim.ws_origin}/ws-api/v3"
    return exchange


async def until(watch: Callable[[], Awaitable[list[dict[str, Any]]]],
                wanted: Callable[[dict[str, Any]], bool], timeout: float = 5.0
                ) -> dict[str, Any]:
    """Watch again until an item `wanted` accepts arrives."""
    async def loop() -> dict[str, Any]:
        while True:
            for item in await watch():
                if wanted(item):
                    return item
    return await asyncio.wait_for(loop(), timeout)


def test_ccxt_pro_usdm_orders_trades_positions(sim: FrontEndOnThread) -> None:
    async def main() -> None:
        ex = usdm(sim)
        try:
            await ex.load_markets()
            symbol = "BTC/USDT:USDT"
            # ccxt returns only what is new since the last call: watch before placing
            orders = asyncio.ensure_future(until(
                lambda: ex.watch_orders(symbol),
                lambda o: o["clientOrderId"] == "ccxt-usdm-1" and o["status"] == "closed"))
            trades = asyncio.ensure_future(until(lambda: ex.watch_my_trades(symbol),
                                                 lambda t: t["amount"] == 0.02))
            positions = asyncio.ensure_future(until(
                lambda: ex.watch_positions([symbol]),
                lambda p: p["symbol"] == symbol and p["contracts"] >= 0.02))
            await asyncio.sleep(0.5)  # the listenKey and the connection
            await asyncio.to_thread(sim.place, LINEAR, Side.BUY, "0.02", "ccxt-usdm-1")
            order, trade, position = await asyncio.gather(orders, trades, positions)
            assert (order["filled"], order["side"], order["type"]) == (0.02, "buy", "market")
            assert order["average"] and order["fee"]["currency"] == "USDT"
            assert trade["order"] == order["id"] and trade["fee"]["cost"] > 0
            assert position["side"] == "long"
        finally:
            await ex.close()
    asyncio.run(main())


def test_ccxt_pro_spot_orders_and_balance(sim: FrontEndOnThread) -> None:
    async def main() -> None:
        ex = spot(sim)
        try:
            await ex.load_markets()
            orders = asyncio.ensure_future(until(
                lambda: ex.watch_orders("BTC/USDT"),
                lambda o: o["clientOrderId"] == "ccxt-spot-1" and o["status"] == "closed"))
            await asyncio.sleep(0.5)  # the signature subscription
            await asyncio.to_thread(sim.place, SPOT, Side.BUY, "0.001", "ccxt-spot-1")
            order = await orders
            assert (order["filled"], order["amount"], order["side"]) == (0.001, 0.001, "buy")
            balance = asyncio.ensure_future(asyncio.wait_for(ex.watch_balance(), 5))
            await asyncio.sleep(0.2)
            await asyncio.to_thread(sim.place, SPOT, Side.SELL, "0.001", "ccxt-spot-2")
            seen = await balance
            assert seen["BTC"]["free"] is not None and seen["USDT"]["free"] > 0
        finally:
            await ex.close()
    asyncio.run(main())


def test_python_binance_socket_manager_on_both_streams(sim: FrontEndOnThread) -> None:
    async def main() -> None:
        client = AsyncClient(KEY, SECRET)
        client.API_URL = f"{sim.url}/api"
        client.FUTURES_URL = f"{sim.url}/fapi"
        client.ws_api = WebsocketAPI(url=f"{sim.ws_origin}/ws-api/v3")
        manager = BinanceSocketManager(client)
        manager.FSTREAM_URL = f"{sim.ws_origin}/"  # + "private/ws?listenKey=..."
        # speed only: a socket's read loop notices its exit between reads, which wait up
        # to TIMEOUT (10 s) on a quiet connection
        client.ws_api.TIMEOUT = 0.2
        futures_socket = manager.futures_user_socket()
        futures_socket.TIMEOUT = 0.2
        try:
            async with futures_socket as stream:
                await asyncio.sleep(0.3)
                await asyncio.to_thread(sim.place, LINEAR, Side.SELL, "0.01", "pb-usdm-1")
                got = [await asyncio.wait_for(stream.recv(), 5) for _ in range(4)]
            assert [m["e"] for m in got] == ["ORDER_TRADE_UPDATE", "TRADE_LITE",
                                             "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
            for message in got:
                check_event(message)
            async with manager.user_socket() as stream:
                await asyncio.sleep(0.3)
                await asyncio.to_thread(sim.place, SPOT, Side.BUY, "0.001", "pb-spot-1")
                got = [await asyncio.wait_for(stream.recv(), 5) for _ in range(3)]
            assert [(m["e"], m.get("x")) for m in got] == [
                ("executionReport", "NEW"), ("executionReport", "TRADE"),
                ("outboundAccountPosition", None)]
            for message in got:
                check_event(message)
        finally:
            await client.close_connection()
    asyncio.run(main())
