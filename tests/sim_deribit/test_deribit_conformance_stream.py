"""Conformance of the simulated Deribit WebSocket through ccxt.pro 4.5.90's ``deribit``
with its default options and only ``urls['api']`` pointed at the sim (``rest`` the
origin, ``ws`` the socket): watch_orders, watch_my_trades and watch_balance, each driven
by a unified create_order. ccxt keeps each notification's data as the record's
``info``: that raw record is held to the docs tables (`deribit_docs`). The notification
frame itself (``method: subscription``, ``params.channel``/``params.data``) and the
WebSocket answer envelope are checked from a plain socket.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import ccxt.pro as ccxtpro
import pytest
from deribit_docs import check, explain
from deribit_helpers import KEY, SECRET, Sim, WsClient

SYMBOL = "BTC/USD:BTC"


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    handle = Sim(seed=13)
    try:
        yield handle
    finally:
        handle.stop()


def pro(sim: Sim) -> Any:
    exchange = ccxtpro.deribit({"apiKey": KEY, "secret": SECRET})
    exchange.urls["api"] = {"rest": sim.url, "ws": sim.ws_url}
    return exchange


async def _watched(exchange: Any, watch: Any, act: Any) -> Any:
    """Subscribe (`watch`), let the subscription settle, act, and return what arrives."""
    task = asyncio.ensure_future(watch)
    await asyncio.sleep(0.3)
    await act()
    return await asyncio.wait_for(task, 5)


def test_watch_orders_trades_and_balance(sim: Sim) -> None:
    async def main() -> tuple[Any, Any, Any, Any]:
        exchange = pro(sim)
        try:
            await exchange.load_markets()
            placed: dict[str, Any] = {}

            async def place() -> None:
                placed.update(await exchange.create_order(SYMBOL, "limit", "buy", 20,
                                                          50000))

            orders = await _watched(exchange, exchange.watch_orders(SYMBOL), place)

            async def fill() -> None:
                await exchange.create_order(SYMBOL, "market", "buy", 30)

            trades = await _watched(exchange, exchange.watch_my_trades(SYMBOL), fill)

            async def close() -> None:
                await exchange.create_order(SYMBOL, "market", "sell", 30)

            balance = await _watched(exchange, exchange.watch_balance({"code": "BTC"}),
                                     close)
            return placed, orders, trades, balance
        finally:
            await exchange.close()

    placed, orders, trades, balance = asyncio.run(main())
    assert [(o["id"], o["status"]) for o in orders] == [(placed["id"], "open")]
    assert trades and all(t["symbol"] == SYMBOL for t in trades)
    assert sum(t["amount"] for t in trades) == 30
    btc = balance["BTC"]  # ccxt.pro keys deribit's watched balances by currency
    assert btc["BTC"]["total"] > 0 and btc["info"]["currency"] == "BTC"
    found = [d for o in orders for d in check("order", o["info"])]
    found += [d for t in trades for d in check("user trade", t["info"])]
    found += check("user.portfolio", btc["info"])
    assert not found, explain(found)


def test_notification_frames_and_ws_envelopes(sim: Sim) -> None:
    async def main() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
        client = await WsClient(sim).open()
        try:
            login = await client.login()
            refused = await client.call("private/get_positions", {"currency": "NOPE"})
            await client.call("private/subscribe", {"channels": [
                "user.orders.future.BTC.raw", "user.portfolio.btc"]})
            await client.call("private/buy", {"instrument_name": "BTC-PERPETUAL",
                                              "amount": 10, "type": "limit",
                                              "price": 50000})
            notes = await client.wait_notes(2)
            return login, refused, notes
        finally:
            await client.close()

    login, refused, notes = sim.run(main())
    channels = {n["params"]["channel"] for n in notes}
    assert {"user.orders.future.BTC.raw", "user.portfolio.btc"} <= channels
    found = check("envelope", login) + check("public/auth", login["result"])
    found += check("error envelope", refused)
    for note in notes:
        found += check("notification", note)
        data = note["params"]["data"]
        if note["params"]["channel"].startswith("user.orders."):
            found += check("order", data)
        elif note["params"]["channel"].startswith("user.portfolio."):
            found += check("user.portfolio", data)
    assert not found, explain(found)
