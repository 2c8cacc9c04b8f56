"""Authentication exactly as Bybit: HMAC over the raw query/body, recv_window, codes; and
malformed or out-of-bounds timestamps, windows and login expiries answered as Bybit
answers them (10002, "Params Error"), never with an HTTP 500 or a dropped socket."""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from typing import Any

import pytest
import requests
import websocket
from bybit_helpers import make_http, now_ms, raw_get, raw_post, sign
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


# -- malformed and out-of-bounds auth inputs: answered as Bybit does, never HTTP 500 ----

WINDOW_TEXT = "invalid request, please check your server timestamp or recv_window param"


def signed_headers(server: SimServerHandle, query: str, *, timestamp: str,
                   recv_window: str = "5000") -> dict[str, bytes]:
    """Headers signed over whatever text is sent (as bytes: requests sends str headers
    as latin-1, so "²" goes out as the single byte 0xB2, "١" as UTF-8 bytes here)."""
    text = timestamp + server.api_key + recv_window + query
    return {"X-BAPI-API-KEY": server.api_key.encode(),
            "X-BAPI-TIMESTAMP": timestamp.encode("utf-8"),
            "X-BAPI-RECV-WINDOW": recv_window.encode("utf-8"),
            "X-BAPI-SIGN": sign(server.api_secret, text).encode()}


def no_server_errors(caplog: pytest.LogCaptureFixture) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]


@pytest.mark.parametrize("timestamp", ["²", "١٧٠٠٠٠٠٠٠٠٠٠٠", "1e12", "-5", "1_700", "",
                                       "9" * 30, "17000000000000.5", "0x10"])
def test_a_malformed_timestamp_header_is_10002_not_a_server_error(
        server: SimServerHandle, timestamp: str, caplog: pytest.LogCaptureFixture) -> None:
    query = "category=linear&settleCoin=USDT"
    with caplog.at_level(logging.ERROR):
        response = requests.get(f"{server.rest_url}/v5/position/list?{query}",
                                headers=signed_headers(server, query, timestamp=timestamp),
                                timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert body["retCode"] == 10002 and body["retMsg"].startswith(WINDOW_TEXT)
    assert "Traceback" not in response.text
    no_server_errors(caplog)


@pytest.mark.parametrize("recv_window", ["60001", "1000000000000", "0", "-5000", "5e3",
                                         "٥٠٠٠", "²", "9" * 40])
def test_a_recv_window_out_of_bounds_or_malformed_is_10002(
        server: SimServerHandle, recv_window: str, caplog: pytest.LogCaptureFixture) -> None:
    query = "category=linear&settleCoin=USDT"
    headers = signed_headers(server, query, timestamp=str(now_ms() - 100),
                             recv_window=recv_window)
    with caplog.at_level(logging.ERROR):
        response = requests.get(f"{server.rest_url}/v5/position/list?{query}",
                                headers=headers, timeout=5)
    assert response.status_code == 200
    assert response.json()["retCode"] == 10002
    assert response.json()["retMsg"].startswith(WINDOW_TEXT)
    no_server_errors(caplog)


def test_a_huge_recv_window_does_not_admit_a_day_old_request(server: SimServerHandle) -> None:
    response = raw_get(server.rest_url, "/v5/position/list", "category=linear&settleCoin=USDT",
                       server.api_key, server.api_secret, timestamp=now_ms() - 86_400_000,
                       recv_window=10 ** 12)
    assert response.json()["retCode"] == 10002
    ceiling = raw_get(server.rest_url, "/v5/position/list", "category=linear&settleCoin=USDT",
                      server.api_key, server.api_secret, timestamp=now_ms() - 50_000,
                      recv_window=60_000)
    assert ceiling.json()["retCode"] == 0  # the ceiling itself is accepted


def ws_auth(server: SimServerHandle, expires: object, *, signed: str | None = None,
            key: str | None = None) -> dict[str, Any]:
    ws = websocket.create_connection(server.ws_private_url, timeout=5)
    try:
        text = signed if signed is not None else str(expires)
        signature = sign(server.api_secret, f"GET/realtime{text}")
        ws.send(json.dumps({"op": "auth", "args": [key or server.api_key, expires, signature]}))
        answer: dict[str, Any] = json.loads(ws.recv())
        # the connection survives a refusal: a good login on it still works
        good = now_ms() + 1000
        ws.send(json.dumps({"op": "auth", "args": [server.api_key, good,
                                                   sign(server.api_secret,
                                                        f"GET/realtime{good}")]}))
        again = json.loads(ws.recv())
        assert again["success"] is (answer["success"] is False), again
        return answer
    finally:
        ws.close()


def test_a_ws_login_signed_a_century_ahead_is_refused(server: SimServerHandle) -> None:
    century = now_ms() + 100 * 365 * 86_400_000
    answer = ws_auth(server, century)
    assert answer["success"] is False and answer["ret_msg"].startswith("Params Error")
    assert ws_auth(server, now_ms() + 250_000)["success"] is True  # minutes are fine


@pytest.mark.parametrize("expires", ["²", "١٧٠٠٠٠٠٠٠٠٠٠٠", "-1", 10 ** 30, 1.7e12, None,
                                     "1e13", [1], {"a": 1}])
def test_a_malformed_ws_expiry_is_params_error_not_a_dropped_connection(
        server: SimServerHandle, expires: object, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        answer = ws_auth(server, expires, signed=str(expires))
    assert answer == {"success": False, "ret_msg": "Params Error", "op": "auth",
                      "conn_id": answer["conn_id"]}
    no_server_errors(caplog)
