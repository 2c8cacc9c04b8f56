"""Conformance of the simulated Deribit front-end through ccxt 4.5.90's ``deribit`` class
with its default options and only ``urls['api']['rest']`` pointed at the sim: its unified
layer (load_markets from public/get_instruments and get_currencies, fetch_balance,
create_order, fetch_open_orders, cancel_order, fetch_my_trades, fetch_positions), which
signs every private request with deri-hmac-sha256 over a GET query."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
from deribit_helpers import KEY, SECRET, Sim

SYMBOL = "BTC/USD:BTC"


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    handle = Sim(seed=9)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture()
def client(sim: Sim) -> Any:
    exchange = ccxt.deribit({"apiKey": KEY, "secret": SECRET, "timeout": 10_000})
    exchange.urls["api"] = {"rest": sim.url}
    return exchange


def test_load_markets_sees_the_inverse_perpetuals(client: Any) -> None:
    markets = client.load_markets()
    btc = markets[SYMBOL]
    assert btc["id"] == "BTC-PERPETUAL" and btc["inverse"] is True and btc["swap"] is True
    assert btc["contractSize"] == 10 and btc["precision"]["price"] == 0.5
    assert "ETH/USD:ETH" in markets


def test_fetch_balance(client: Any) -> None:
    balance = client.fetch_balance({"code": "BTC"})
    assert balance["BTC"]["total"] == 10
    every = client.fetch_balance()
    assert every["ETH"]["total"] == 100


def test_order_lifecycle_and_trades(client: Any) -> None:
    placed = client.create_order(SYMBOL, "limit", "buy", 20, 50000)
    assert placed["status"] == "open" and placed["amount"] == 20
    assert placed["price"] == 50000 and placed["id"]
    open_orders = client.fetch_open_orders(SYMBOL)
    assert [o["id"] for o in open_orders] == [placed["id"]]
    assert [o["id"] for o in client.fetch_open_orders()] == [placed["id"]]
    cancelled = client.cancel_order(placed["id"])
    assert cancelled["status"] == "canceled"
    assert client.fetch_open_orders(SYMBOL) == []
    filled = client.create_order(SYMBOL, "market", "buy", 30)
    assert filled["status"] == "closed" and filled["filled"] == 30
    trades = client.fetch_my_trades(SYMBOL)
    assert trades and trades[0]["order"] == filled["id"]
    assert trades[0]["fee"]["currency"] == "BTC" and trades[0]["takerOrMaker"] == "taker"
    assert client.fetch_my_trades()  # by currency (ccxt's default code BTC)
    positions = client.fetch_positions([SYMBOL])
    assert positions and positions[0]["contracts"] == 30 and positions[0]["side"] == "long"
