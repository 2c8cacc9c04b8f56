"""Authentication exactly as Bybit: HMAC over the raw query/body, recv_window, codes."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest
import requests
from bybit_helpers import make_http, now_ms, raw_get, raw_post
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from console.sim.bybit import BybitFrontEnd
from console.sim.core import SimExchange
from console.sim.protocol.keys import ApiKey, KeyStore, Permission
from console.sim.server import SimServerHandle


def test_pybit_signed_requests_are_accepted(http: HTTP) -> None:
    wallet = http.get_wallet_balance(accountType="UNIFIED")
    assert wallet["retCode"] == 0
    coins = wallet["result"]["list"][0]["coin"]
    assert [(c["coin"], c["walletBalance"]) for c in coins] == [("USDT", "100000")]
    placed = http.place_order(category="linear", symbol="BTCUSDT", side="Buy",
                              orderType="Limit", qty="0.01", price="59000")
    assert placed["retCode"] == 0 and placed["result"]["orderId"]


def test_wrong_secret_is_10004(server: SimServerHandle) -> None:
    bad = make_http(server.rest_url, server.api_key, "not-the-secret")
    with pytest.raises(InvalidRequestError) as err:
        bad.get_wallet_balance(accountType="UNIFIED")
    assert err.value.status_code == 10004


def test_unknown_key_is_10003(server: SimServerHandle) -> None:
    bad = make_http(server.rest_url, "nobody", server.api_secret)
    with pytest.raises(InvalidRequestError) as err:
        bad.get_positions(category="linear", settleCoin="USDT")
    assert err.value.status_code == 10003


def test_missing_headers_is_10003(server: SimServerHandle) -> None:
    body = requests.get(f"{server.rest_url}/v5/order/realtime?category=linear&settleCoin=USDT",
                        timeout=5).json()
    assert body["retCode"] == 10003
    assert set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}


@pytest.mark.parametrize("offset_ms", [-6000, 1500])
def test_timestamp_outside_recv_window_is_10002(server: SimServerHandle,
                                                offset_ms: int) -> None:
    response = raw_get(server.rest_url, "/v5/position/list", "category=linear&settleCoin=USDT",
                       server.api_key, server.api_secret, timestamp=now_ms() + offset_ms,
                       recv_window=5000)
    assert response.status_code == 200
    assert response.json()["retCode"] == 10002


def test_a_wider_recv_window_admits_an_old_timestamp(server: SimServerHandle) -> None:
    response = raw_get(server.rest_url, "/v5/position/list", "category=linear&settleCoin=USDT",
                       server.api_key, server.api_secret, timestamp=now_ms() - 6000,
                       recv_window=20000)
    assert response.json()["retCode"] == 0


def test_get_signature_covers_the_raw_query_as_sent(server: SimServerHandle) -> None:
    # signed with sorted keys, sent in another order: Bybit refuses, and so do we
    sent = "settleCoin=USDT&category=linear"
    response = raw_get(server.rest_url, "/v5/position/list", sent, server.api_key,
                       server.api_secret, signed_query="category=linear&settleCoin=USDT")
    assert response.json()["retCode"] == 10004
    ok = raw_get(server.rest_url, "/v5/position/list", sent, server.api_key,
                 server.api_secret)
    assert ok.json()["retCode"] == 0


def test_post_signature_covers_the_raw_body_bytes(server: SimServerHandle) -> None:
    order = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
             "qty": "0.01", "price": "59000"}
    compact = json.dumps(order, separators=(",", ":"))
    spaced = json.dumps(order)
    refused = raw_post(server.rest_url, "/v5/order/create", compact, server.api_key,
                       server.api_secret, signed_body=spaced)
    assert refused.json()["retCode"] == 10004
    accepted = raw_post(server.rest_url, "/v5/order/create", compact, server.api_key,
                        server.api_secret)
    assert accepted.json()["retCode"] == 0


def test_public_server_time_needs_no_auth(server: SimServerHandle) -> None:
    body = requests.get(f"{server.rest_url}/v5/market/time", timeout=5).json()
    assert body["retCode"] == 0
    result = body["result"]
    assert int(result["timeNano"]) // 1_000_000_000 == int(result["timeSecond"])
    assert abs(int(result["timeSecond"]) * 1000 - now_ms()) < 5000


def test_auth_errors_leak_no_secret(server: SimServerHandle) -> None:
    response = raw_get(server.rest_url, "/v5/position/list", "category=linear&settleCoin=USDT",
                       server.api_key, "wrong")
    assert server.api_secret not in response.text


def test_a_read_only_key_reads_but_cannot_trade_10005() -> None:
    exchange = SimExchange(seed=1)
    exchange.create_account("main", {"USDT": Decimal(1000)})
    keys = KeyStore([ApiKey("reader", "reader-secret", "main", frozenset({Permission.READ}))])
    front_end = BybitFrontEnd(exchange, credentials=keys)

    async def main() -> None:
        await front_end.start()
        try:
            http = make_http(front_end.rest_url, "reader", "reader-secret")
            wallet = await asyncio.to_thread(http.get_wallet_balance, accountType="UNIFIED")
            assert wallet["retCode"] == 0
            with pytest.raises(InvalidRequestError) as err:
                await asyncio.to_thread(http.place_order, category="linear",
                                        symbol="BTCUSDT", side="Buy", orderType="Limit",
                                        qty="0.01", price="59000")
            assert err.value.status_code == 10005
            assert "Permission denied" in err.value.message
        finally:
            await front_end.stop()

    asyncio.run(main())
    assert exchange.open_orders("main") == []
