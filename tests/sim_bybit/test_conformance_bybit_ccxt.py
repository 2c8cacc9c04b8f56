"""Conformance of the Bybit front-end, driven by an independent client: ccxt's `bybit`
(REST) and ccxt.pro's `bybit` (private WebSocket) with their default options, only their
URLs pointed at the sim, and every record held against Bybit's own field tables
(`bybit_docs`). Not pybit, not our connector.

A new user's session: load markets (every category, coin info, API key info, account
info), fetch balances, positions, open and closed orders and trades, place, amend,
batch-place and cancel on linear, inverse and spot, and watch orders, executions,
positions and the wallet. Then the raw answers and pushes behind those calls are checked
field by field: zero deviations, and every field of every table carried at least once.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from decimal import Decimal
from typing import Any

import aiohttp
import ccxt
import ccxt.pro as ccxtpro
import pytest
from bybit_docs import TABLES, DocChecker
from bybit_helpers import StartServer

from console.domain.enums import Category
from console.sim.server import SimServerHandle

LINEAR, INVERSE, SPOT = "BTC/USDT:USDT", "BTC/USD:BTC", "BTC/USDT"
REST_TABLES = ("order_realtime", "order_history", "execution_list", "position_list",
               "wallet_balance", "coin_info", "api_key_info", "account_info",
               "instruments_linear", "instruments_spot", "order_create",
               "order_batch_create")
WS_TABLES = ("ws_order", "ws_execution", "ws_position", "ws_wallet")


def ccxt_client(server: SimServerHandle) -> ccxt.bybit:
    client = ccxt.bybit({"apiKey": server.api_key, "secret": server.api_secret})
    for name in client.urls["api"]:
        client.urls["api"][name] = server.rest_url
    return client


def ccxt_pro_client(server: SimServerHandle) -> Any:
    client = ccxtpro.bybit({"apiKey": server.api_key, "secret": server.api_secret})
    for name in ("spot", "futures", "v2", "public", "private"):
        client.urls["api"][name] = server.rest_url
    ws = server.front_end.urls()["ws_private_url"]
    client.urls["api"]["ws"]["private"]["spot"]["unified"] = ws
    client.urls["api"]["ws"]["private"]["contract"] = ws
    return client


@pytest.fixture
def server(start_server: StartServer) -> SimServerHandle:
    return start_server(seed=7)


def trade_everywhere(client: ccxt.bybit) -> None:
    """What a user does: open and close on linear, buy spot by quote value (ccxt's
    default), use the BTC on inverse, rest a limit order on each category."""
    client.create_order(LINEAR, "market", "buy", 0.02)
    client.create_order(LINEAR, "market", "sell", 0.01, params={"reduceOnly": True})
    client.create_order(LINEAR, "limit", "buy", 0.01, 50000)
    client.create_order(SPOT, "market", "buy", 0.03, 60000)  # cost 1800 USDT
    client.create_order(SPOT, "limit", "buy", 0.001, 50000)
    client.create_order(INVERSE, "market", "buy", 200)
    client.create_order(INVERSE, "market", "sell", 100, params={"reduceOnly": True})
    client.create_order(INVERSE, "limit", "buy", 100, 50000)


def test_ccxt_starts_and_trades_on_linear_inverse_and_spot(server: SimServerHandle) -> None:
    client = ccxt_client(server)
    markets = client.load_markets()
    assert {LINEAR, INVERSE, SPOT} <= set(markets)
    assert client.fetch_balance()["USDT"]["total"] == 100000
    assert client.fetch_positions([LINEAR]) != []
    placed = client.create_order(LINEAR, "limit", "buy", 0.01, 50000)
    client.edit_order(placed["id"], LINEAR, "limit", "buy", 0.02, 50001)
    assert [o["amount"] for o in client.fetch_open_orders(LINEAR)] == [0.02]
    batch = client.create_orders([{"symbol": LINEAR, "type": "limit", "side": "buy",
                                   "amount": 0.001, "price": 50000 + i} for i in range(8)])
    assert len([o for o in batch if o["id"]]) == 8
    client.cancel_order(placed["id"], LINEAR)
    assert len(client.fetch_open_orders(LINEAR)) == 8
    client.create_order(LINEAR, "market", "buy", 0.01)
    assert client.fetch_closed_orders(LINEAR)[-1]["status"] == "closed"
    assert [t["amount"] for t in client.fetch_my_trades(LINEAR)] == [0.01]
    # spot: a market buy is sized in quote coin by default (ccxt sends amount x price)
    spot = client.create_order(SPOT, "market", "buy", 0.03, 60000)
    spot_order = client.fetch_order(spot["id"], SPOT, params={"acknowledged": True})
    assert Decimal(spot_order["info"]["qty"]) == Decimal(1800)
    assert spot_order["info"]["marketUnit"] == "quoteCoin"
    assert 0 < spot_order["filled"] <= 0.03
    spot_batch = client.create_orders([{"symbol": SPOT, "type": "limit", "side": "buy",
                                        "amount": 0.001, "price": 50000 + i}
                                       for i in range(2)])
    assert all(o["id"] for o in spot_batch)
    # inverse: margined in BTC, which the spot buy brought
    client.create_order(INVERSE, "market", "buy", 100)
    position = client.fetch_positions([INVERSE])[0]
    assert position["contracts"] == 100 and position["side"] == "long"
    assert client.fetch_my_trades(INVERSE)[0]["fee"]["currency"] == "BTC"
    assert "BTC" in client.fetch_balance()["total"]


def test_every_rest_record_matches_the_docs_tables(server: SimServerHandle) -> None:
    client = ccxt_client(server)
    client.load_markets()
    trade_everywhere(client)
    checker = DocChecker()
    for category, symbol in (("linear", "BTCUSDT"), ("spot", "BTCUSDT"),
                             ("inverse", "BTCUSD")):
        query = {"category": category, "symbol": symbol}
        checker.check("order_realtime", client.privateGetV5OrderRealtime(query)["result"],
                      category=category)
        checker.check("order_history", client.privateGetV5OrderHistory(query)["result"],
                      category=category)
        checker.check("execution_list", client.privateGetV5ExecutionList(query)["result"],
                      category=category)
        if category != "spot":
            checker.check("position_list", client.privateGetV5PositionList(query)["result"],
                          category=category)
        table = "instruments_spot" if category == "spot" else "instruments_linear"
        checker.check(table, client.publicGetV5MarketInstrumentsInfo(
            {"category": category})["result"], category=category)
    options = client.publicGetV5MarketInstrumentsInfo({"category": "option",
                                                       "baseCoin": "BTC"})["result"]
    assert checker.check("instruments_option", options) == [] and options["list"] == []
    created = client.privatePostV5OrderCreate({"category": "linear", "symbol": "BTCUSDT",
                                               "side": "Buy", "orderType": "Limit",
                                               "qty": "0.001", "price": "50000"})
    checker.check("order_create", created["result"], category="linear")
    batch = client.privatePostV5OrderCreateBatch({"category": "spot", "request": [
        {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
         "price": "50000"}]})
    checker.check("order_batch_create", {"result": batch["result"],
                                         "retExtInfo": batch["retExtInfo"]}, category="spot")
    checker.check("wallet_balance", client.privateGetV5AccountWalletBalance(
        {"accountType": "UNIFIED"})["result"])
    checker.check("coin_info", client.privateGetV5AssetCoinQueryInfo()["result"])
    checker.check("api_key_info", client.privateGetV5UserQueryApi()["result"])
    checker.check("account_info", client.privateGetV5AccountInfo()["result"])
    assert checker.deviations == []
    assert checker.unchecked(REST_TABLES) == {}
    assert checker.checks > 1000


def _closing_fill(client: ccxt.bybit, category: str, symbol: str) -> dict[str, Any]:
    rows = client.privateGetV5ExecutionList({"category": category,
                                             "symbol": symbol})["result"]["list"]
    return next(r for r in rows if r["closedSize"] not in ("", "0"))


def test_reduce_only_fill_reports_closed_size_and_pnl_after_fees(
        server: SimServerHandle) -> None:
    """A closing fill carries closedSize; positions and the wallet book realised PnL
    after fees (Bybit: cumRealisedPnl is net of trading fees)."""
    client = ccxt_client(server)
    client.load_markets()
    client.create_order(LINEAR, "market", "buy", 0.02)
    client.create_order(LINEAR, "market", "sell", 0.02, params={"reduceOnly": True})
    closing = _closing_fill(client, "linear", "BTCUSDT")
    assert closing["closedSize"] == "0.02"
    fills = client.privateGetV5ExecutionList({"category": "linear",
                                              "symbol": "BTCUSDT"})["result"]["list"]
    fees = sum(Decimal(f["execFee"]) for f in fills)
    gross = sum(Decimal(f["execQty"]) * Decimal(f["execPrice"])
                * (1 if f["side"] == "Sell" else -1) for f in fills)
    position = client.privateGetV5PositionList({"category": "linear", "symbol": "BTCUSDT"})
    assert Decimal(position["result"]["list"][0]["cumRealisedPnl"]) == gross - fees
    history = client.privateGetV5OrderHistory({"category": "linear"})["result"]["list"]
    assert {o["cumFeeDetail"].get("USDT") for o in history} == {f["execFee"] for f in fills}
    wallet = client.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})
    usdt = next(c for c in wallet["result"]["list"][0]["coin"] if c["coin"] == "USDT")
    assert Decimal(usdt["cumRealisedPnl"]) == gross - fees
    assert Decimal(usdt["walletBalance"]) == Decimal(100000) + gross - fees


@pytest.mark.parametrize(("action", "code"), [
    ("duplicate", 170141), ("cancel_unknown", 170213), ("insufficient", 170131),
    ("price_precision", 170134), ("qty_precision", 170137), ("qty_below_min", 170136),
])
def test_spot_refusals_use_spot_codes(server: SimServerHandle, action: str,
                                      code: int) -> None:
    """docs/v5/error, Spot: 170141, 170213, 170131, 170134, 170137, 170136."""
    client = ccxt_client(server)
    client.load_markets()
    base = {"category": "spot", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
            "qty": "0.001", "price": "50000"}
    if action == "duplicate":
        client.privatePostV5OrderCreate({**base, "orderLinkId": "dup-1"})
        request = {**base, "orderLinkId": "dup-1"}
    elif action == "insufficient":
        request = {**base, "qty": "100"}
    elif action == "price_precision":
        request = {**base, "price": "50000.001"}
    elif action == "qty_precision":
        request = {**base, "qty": "0.0010001"}
    elif action == "qty_below_min":
        request = {**base, "qty": "0.000001"}
    else:
        request = {}
    with pytest.raises(ccxt.BaseError) as err:
        if request:
            client.privatePostV5OrderCreate(request)
        else:
            client.privatePostV5OrderCancel({"category": "spot", "symbol": "BTCUSDT",
                                             "orderId": "no-such-order"})
    assert json.loads(str(err.value).split(" ", 1)[1])["retCode"] == code


async def _raw_private_stream(server: SimServerHandle, topics: list[str],
                              seconds: float, act: Any) -> list[dict[str, Any]]:
    """Every push on `topics` while `act()` runs, read by a plain WebSocket client that
    signs its login as Bybit's docs say (HMAC of "GET/realtime" + expires)."""
    url = server.front_end.urls()["ws_private_url"]
    expires = int(time.time() * 1000) + 10_000
    sign = hmac.new(server.api_secret.encode(), f"GET/realtime{expires}".encode(),
                    hashlib.sha256).hexdigest()
    pushes: list[dict[str, Any]] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_json({"op": "auth", "args": [server.api_key, expires, sign]})
        await ws.send_json({"op": "subscribe", "args": topics})
        acks = 0
        while acks < 2:
            message = json.loads((await ws.receive(timeout=5)).data)
            acks += "op" in message
        await asyncio.get_running_loop().run_in_executor(None, act)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                message = await ws.receive(timeout=deadline - time.monotonic())
            except TimeoutError:
                break
            data = json.loads(message.data)
            if "topic" in data:
                pushes.append(data)
    return pushes


def test_every_websocket_push_matches_the_docs_tables(server: SimServerHandle) -> None:
    client = ccxt_client(server)
    client.load_markets()
    pushes = asyncio.run(_raw_private_stream(
        server, ["order", "execution", "position", "wallet"], 1.5,
        lambda: trade_everywhere(client)))
    checker = DocChecker()
    table = {"order": "ws_order", "execution": "ws_execution", "position": "ws_position",
             "wallet": "ws_wallet"}
    for push in pushes:
        checker.check(table[push["topic"]], push)
    categories = {r["category"] for p in pushes if p["topic"] != "wallet" for r in p["data"]}
    assert categories == {"linear", "inverse", "spot"}
    assert checker.deviations == []
    assert checker.unchecked(WS_TABLES) == {}
    closing = [r for p in pushes if p["topic"] == "execution" for r in p["data"]
               if r["closedSize"] not in ("", "0")]
    assert closing and all(Decimal(r["execPnl"]) != 0 for r in closing)
    closed_orders = [r for p in pushes if p["topic"] == "order" for r in p["data"]
                     if r["reduceOnly"] and r["orderStatus"] == "Filled"]
    assert closed_orders and all(Decimal(r["closedPnl"]) != 0 for r in closed_orders)


def test_ccxt_pro_watches_orders_executions_positions_and_wallet(
        server: SimServerHandle) -> None:
    async def session() -> dict[str, Any]:
        client = ccxt_pro_client(server)
        try:
            await client.load_markets()
            watches = {"orders": client.watch_orders(), "trades": client.watch_my_trades(),
                       "balance": client.watch_balance()}
            tasks = {k: asyncio.ensure_future(v) for k, v in watches.items()}
            await asyncio.sleep(0.5)
            await client.create_order(LINEAR, "market", "buy", 0.01)
            got = {k: await asyncio.wait_for(t, 5) for k, t in tasks.items()}
            await client.create_order(SPOT, "market", "buy", 0.03, 60000)
            # the first answer is the snapshot (REST, inverse included); then the pushes
            await asyncio.wait_for(client.watch_positions([INVERSE]), 5)
            positions = asyncio.ensure_future(client.watch_positions([INVERSE]))
            await asyncio.sleep(0.3)
            await client.create_order(INVERSE, "market", "buy", 100)
            got["positions"] = await asyncio.wait_for(positions, 5)
            return got
        finally:
            await client.close()

    got = asyncio.run(session())
    assert got["orders"][0]["symbol"] == LINEAR
    assert got["trades"][0]["amount"] == 0.01
    assert got["balance"]["USDT"]["total"] < 100000
    assert any(p["symbol"] == INVERSE and p["contracts"] == 100 for p in got["positions"])


def test_the_tables_cover_every_documented_record() -> None:
    """The tally: the tables the suite checks are the pages' whole tables."""
    assert set(REST_TABLES) | set(WS_TABLES) | {"instruments_option"} <= set(TABLES)
    assert sum(len(TABLES[t][1]) for t in (*REST_TABLES, *WS_TABLES)) > 450
    assert Category.INVERSE.value == "inverse"
