"""Conformance of the simulated Binance front-end, through python-binance 1.0.37.

python-binance is an independent client: its `Client` (and `AsyncClient`), with its
default options and only its URL attributes changed, must work against the sim as
against Binance, and every answer must carry the fields Binance's docs document with
their JSON types (`binance_docs`). python-binance sends GET parameters in the query
string and POST, PUT and DELETE parameters in a form body, sorted by name, signed over
the same text; `force_params` and a hand-made request cover the query-string and
split placements.

One front-end serves the whole module; each test places its own orders.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from binance.async_client import AsyncClient
from binance.client import Client
from binance.exceptions import BinanceAPIException
from binance_docs import check, check_list
from test_conformance_support import KEY, SECRET, SimOnThread, explain, python_binance

SYMBOL = "BTCUSDT"
_ids = itertools.count(1)


def cid(prefix: str) -> str:
    return f"{prefix}-{int(time.time())}-{next(_ids)}"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimOnThread]:
    handle = SimOnThread(seed=5)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def client(sim: SimOnThread) -> Client:
    return python_binance(sim.url)


def no_deviation(found: list[Any]) -> None:
    assert not found, explain(found)


# -- spot ------------------------------------------------------------------------------

def test_spot_server_time(client: Client) -> None:
    no_deviation(check("spot GET /api/v3/time", client.get_server_time()))


def test_spot_exchange_info(client: Client) -> None:
    info = client.get_exchange_info()
    no_deviation(check("spot GET /api/v3/exchangeInfo", info))
    assert SYMBOL in {s.get("symbol") for s in info.get("symbols", [])}


def test_spot_account(client: Client) -> None:
    account = client.get_account()
    no_deviation(check("spot GET /api/v3/account", account))
    assert any(b.get("asset") == "USDT" for b in account.get("balances", []))


def test_spot_limit_order_lifecycle(client: Client) -> None:
    """New (FULL, the LIMIT default), query, open orders, cancel."""
    client_id = cid("spot-limit")
    placed = client.create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                 quantity="0.001", price="50000", newClientOrderId=client_id)
    found = check("spot POST /api/v3/order FULL", placed)
    assert placed.get("clientOrderId") == client_id
    order_id = placed["orderId"]
    found += check("spot GET /api/v3/order", client.get_order(symbol=SYMBOL, orderId=order_id))
    found += check("spot GET /api/v3/order",
                   client.get_order(symbol=SYMBOL, origClientOrderId=client_id))
    open_orders = client.get_open_orders(symbol=SYMBOL)
    assert any(o.get("orderId") == order_id for o in open_orders)
    found += check_list("spot GET /api/v3/openOrders[]", open_orders)
    cancelled = client.cancel_order(symbol=SYMBOL, orderId=order_id)
    found += check("spot DELETE /api/v3/order", cancelled)
    assert cancelled.get("status") == "CANCELED"
    no_deviation(found)


@pytest.mark.parametrize("resp_type", ["ACK", "RESULT"])
def test_spot_order_response_types(client: Client, resp_type: str) -> None:
    placed = client.create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                 quantity="0.001", price="50000",
                                 newClientOrderId=cid(f"spot-{resp_type.lower()}"),
                                 newOrderRespType=resp_type)
    found = check(f"spot POST /api/v3/order {resp_type}", placed)
    client.cancel_order(symbol=SYMBOL, orderId=placed["orderId"])
    no_deviation(found)


def test_spot_market_fill_and_my_trades(client: Client) -> None:
    placed = client.create_order(symbol=SYMBOL, side="BUY", type="MARKET", quantity="0.001",
                                 newClientOrderId=cid("spot-market"))
    found = check("spot POST /api/v3/order FULL", placed)
    assert placed.get("status") == "FILLED"
    assert placed.get("fills"), "a filled MARKET order's FULL answer lists its fills"
    trades = client.get_my_trades(symbol=SYMBOL)
    assert trades, "myTrades lists the fill just made"
    found += check_list("spot GET /api/v3/myTrades[]", trades)
    no_deviation(found)


def test_spot_cancel_replace(client: Client) -> None:
    placed = client.create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                                 quantity="0.001", price="50000",
                                 newClientOrderId=cid("spot-cr-old"))
    answer = client.cancel_replace_order(
        symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
        cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId=placed["orderId"],
        quantity="0.002", price="50100", newClientOrderId=cid("spot-cr-new"))
    found = check("spot POST /api/v3/order/cancelReplace", answer)
    assert answer.get("cancelResult") == "SUCCESS"
    assert answer.get("newOrderResult") == "SUCCESS"
    new_id = answer.get("newOrderResponse", {}).get("orderId")
    if isinstance(new_id, int):
        client.cancel_order(symbol=SYMBOL, orderId=new_id)
    no_deviation(found)


# -- USD-M futures ---------------------------------------------------------------------

def test_futures_exchange_info(client: Client) -> None:
    info = client.futures_exchange_info()
    no_deviation(check("usdm GET /fapi/v1/exchangeInfo", info))
    assert SYMBOL in {s.get("symbol") for s in info.get("symbols", [])}


def test_futures_order_lifecycle(client: Client) -> None:
    """New, query (by id and by client id), open orders, modify, cancel."""
    client_id = cid("fut-limit")
    placed = client.futures_create_order(symbol=SYMBOL, side="BUY", type="LIMIT",
                                         timeInForce="GTC", quantity="0.01", price="50000",
                                         newClientOrderId=client_id)
    found = check("usdm POST /fapi/v1/order", placed)
    assert placed.get("clientOrderId") == client_id
    order_id = placed["orderId"]
    found += check("usdm GET /fapi/v1/order",
                   client.futures_get_order(symbol=SYMBOL, orderId=order_id))
    found += check("usdm GET /fapi/v1/order",
                   client.futures_get_order(symbol=SYMBOL, origClientOrderId=client_id))
    open_orders = client.futures_get_open_orders(symbol=SYMBOL)
    assert any(o.get("orderId") == order_id for o in open_orders)
    found += check_list("usdm GET /fapi/v1/openOrders[]", open_orders)
    modified = client.futures_modify_order(symbol=SYMBOL, orderId=order_id, side="BUY",
                                           quantity="0.02", price="50100")
    found += check("usdm PUT /fapi/v1/order", modified)
    assert Decimal(str(modified.get("price"))) == Decimal("50100")
    cancelled = client.futures_cancel_order(symbol=SYMBOL, orderId=order_id)
    found += check("usdm DELETE /fapi/v1/order", cancelled)
    assert cancelled.get("status") == "CANCELED"
    no_deviation(found)


def test_futures_fill_position_and_trades(client: Client) -> None:
    placed = client.futures_create_order(symbol=SYMBOL, side="BUY", type="MARKET",
                                         quantity="0.01", newClientOrderId=cid("fut-mkt"))
    found = check("usdm POST /fapi/v1/order", placed)
    positions = client.futures_position_information(symbol=SYMBOL)  # GET /fapi/v3/positionRisk
    assert positions, "positionRisk v3 lists the symbol with a position"
    found += check_list("usdm GET /fapi/v3/positionRisk[]", positions)
    trades = client.futures_account_trades(symbol=SYMBOL)
    assert trades, "userTrades lists the fill just made"
    found += check_list("usdm GET /fapi/v1/userTrades[]", trades)
    no_deviation(found)


def test_futures_account_v3(client: Client) -> None:
    # python-binance's futures_account() asks /fapi/v2/account; `version=3` is its own
    # documented override, for the V3 page the connector uses
    account = client.futures_account(version=3)
    no_deviation(check("usdm GET /fapi/v3/account", account))
    assert account.get("assets"), "a funded account lists its USDT asset"


def test_futures_account_default_version(client: Client) -> None:
    """python-binance's default asks Account Information V2 (/fapi/v2/account): a client
    with its defaults must get an answer (V2's table is not transcribed: existence
    and the shared totals only)."""
    account = client.futures_account()
    assert isinstance(account, dict) and "totalWalletBalance" in account


def test_futures_balance_v3(client: Client) -> None:
    balances = client.futures_account_balance()  # GET /fapi/v3/balance
    assert balances
    no_deviation(check_list("usdm GET /fapi/v3/balance[]", balances))


def test_futures_modes(client: Client) -> None:
    found = check("usdm GET /fapi/v1/positionSide/dual", client.futures_get_position_mode())
    found += check("usdm GET /fapi/v1/multiAssetsMargin", client.futures_get_multi_assets_mode())
    no_deviation(found)


def test_futures_countdown_cancel_all(client: Client) -> None:
    found = check("usdm POST /fapi/v1/countdownCancelAll",
                  client.futures_countdown_cancel_all(symbol=SYMBOL, countdownTime=120000))
    found += check("usdm POST /fapi/v1/countdownCancelAll",
                   client.futures_countdown_cancel_all(symbol=SYMBOL, countdownTime=0))
    no_deviation(found)


def test_futures_algo_order_lifecycle(client: Client) -> None:
    algo_id = cid("fut-algo")
    placed = client.futures_create_algo_order(
        algoType="CONDITIONAL", symbol=SYMBOL, side="SELL", type="STOP_MARKET",
        quantity="0.01", triggerPrice="40000", clientAlgoId=algo_id)
    found = check("usdm POST /fapi/v1/algoOrder", placed)
    assert placed.get("clientAlgoId") == algo_id
    found += check("usdm GET /fapi/v1/algoOrder",
                   client.futures_get_algo_order(algoId=placed["algoId"]))
    open_algos = client.futures_get_open_algo_orders(symbol=SYMBOL)
    assert any(o.get("algoId") == placed["algoId"] for o in open_algos)
    found += check_list("usdm GET /fapi/v1/openAlgoOrders[]", open_algos)
    found += check("usdm DELETE /fapi/v1/algoOrder",
                   client.futures_cancel_algo_order(algoId=placed["algoId"]))
    no_deviation(found)


def test_futures_listen_key_lifecycle(client: Client) -> None:
    key = client.futures_stream_get_listen_key()  # python-binance returns the key alone
    assert client.response is not None
    found = check("usdm POST /fapi/v1/listenKey", client.response.json())
    assert isinstance(key, str) and key
    assert client.futures_stream_get_listen_key() == key, "POST returns the live key"
    found += check("usdm PUT /fapi/v1/listenKey", client.futures_stream_keepalive(key))
    assert client.futures_stream_close(key) == {}
    no_deviation(found)


def test_async_client(sim: SimOnThread) -> None:
    """python-binance's AsyncClient, built with its constructor: `AsyncClient.create`
    pings api.binance.com (and reads its clock) before any URL can be set."""
    async def main() -> list[Any]:
        client = AsyncClient(KEY, SECRET)
        client.API_URL = f"{sim.url}/api"
        client.FUTURES_URL = f"{sim.url}/fapi"
        try:
            found = check("spot GET /api/v3/account", await client.get_account())
            placed = await client.futures_create_order(
                symbol=SYMBOL, side="SELL", type="LIMIT", timeInForce="GTC",
                quantity="0.01", price="70000", newClientOrderId=cid("async-fut"))
            found += check("usdm POST /fapi/v1/order", placed)
            found += check("usdm GET /fapi/v1/order", await client.futures_get_order(
                symbol=SYMBOL, orderId=placed["orderId"]))
            found += check("usdm DELETE /fapi/v1/order", await client.futures_cancel_order(
                symbol=SYMBOL, orderId=placed["orderId"]))
            found += check_list("usdm GET /fapi/v3/balance[]",
                                await client.futures_account_balance())
            return found
        finally:
            await client.close_connection()

    no_deviation(asyncio.run(main()))


def test_rate_limit_headers(client: Client) -> None:
    """Binance's usage headers, as python-binance exposes them (`client.response`):
    X-MBX-USED-WEIGHT-1M on every answer; on order placement the order counts,
    X-MBX-ORDER-COUNT-10S and -1M on USD-M, -10S and -1D on spot (binance.md)."""
    client.get_account()
    assert client.response is not None
    assert "X-MBX-USED-WEIGHT-1M" in client.response.headers
    placed = client.futures_create_order(symbol=SYMBOL, side="BUY", type="LIMIT",
                                         timeInForce="GTC", quantity="0.01", price="50000",
                                         newClientOrderId=cid("fut-headers"))
    futures_headers = dict(client.response.headers)
    client.futures_cancel_order(symbol=SYMBOL, orderId=placed["orderId"])
    spot = client.create_order(symbol=SYMBOL, side="BUY", type="LIMIT", timeInForce="GTC",
                               quantity="0.001", price="50000",
                               newClientOrderId=cid("spot-headers"))
    spot_headers = dict(client.response.headers)
    client.cancel_order(symbol=SYMBOL, orderId=spot["orderId"])
    missing = [*(f"usdm {h}" for h in ("X-MBX-USED-WEIGHT-1M", "X-MBX-ORDER-COUNT-10S",
                                       "X-MBX-ORDER-COUNT-1M")
                 if h.lower() not in {k.lower() for k in futures_headers}),
               *(f"spot {h}" for h in ("X-MBX-USED-WEIGHT-1M", "X-MBX-ORDER-COUNT-10S",
                                       "X-MBX-ORDER-COUNT-1D")
                 if h.lower() not in {k.lower() for k in spot_headers})]
    assert not missing, f"headers missing on order placement: {missing}"


# -- refusals --------------------------------------------------------------------------

def refusal(call: Any) -> BinanceAPIException:
    with pytest.raises(BinanceAPIException) as caught:
        call()
    return caught.value


def test_wrong_secret_is_invalid_signature(sim: SimOnThread) -> None:
    bad = python_binance(sim.url, secret="X" * 36)
    for error in (refusal(bad.get_account), refusal(bad.futures_account_balance)):
        assert (error.status_code, error.code) == (400, -1022), error.message


def test_wrong_key_is_refused(sim: SimOnThread) -> None:
    bad = python_binance(sim.url, key="NOTAKEY" + "0" * 11)
    for error in (refusal(bad.get_account), refusal(bad.futures_account_balance)):
        assert (error.status_code, error.code) == (401, -2015), error.message


def test_stale_timestamp_is_refused(sim: SimOnThread) -> None:
    stale = python_binance(sim.url)
    stale.timestamp_offset = -120_000  # two minutes behind: outside the 5000 ms recvWindow
    for error in (refusal(stale.get_account), refusal(stale.futures_account_balance)):
        assert (error.status_code, error.code) == (400, -1021), error.message


# -- where the signed parameters travel ------------------------------------------------

def test_signed_post_params_in_the_query_string(client: Client) -> None:
    """python-binance's `force_params` path (its default for some endpoints) sends a
    POST's parameters in the query string, signed there: Binance accepts them in the
    query, the body, or both (totalParams = query string + body)."""
    spot = client._request_api("post", "order", True, version="v3", force_params=True,
                               data={"symbol": SYMBOL, "side": "BUY", "type": "LIMIT",
                                     "timeInForce": "GTC", "quantity": "0.001",
                                     "price": "50000", "newOrderRespType": "RESULT",
                                     "newClientOrderId": cid("spot-query")})
    found = check("spot POST /api/v3/order RESULT", spot)
    client.cancel_order(symbol=SYMBOL, orderId=spot["orderId"])
    futures = client._request_futures_api("post", "order", True, force_params=True,
                                          data={"symbol": SYMBOL, "side": "BUY",
                                                "type": "LIMIT", "timeInForce": "GTC",
                                                "quantity": "0.01", "price": "50000",
                                                "newClientOrderId": cid("fut-query")})
    found += check("usdm POST /fapi/v1/order", futures)
    client.futures_cancel_order(symbol=SYMBOL, orderId=futures["orderId"])
    no_deviation(found)


def test_signed_params_split_between_query_and_body(sim: SimOnThread) -> None:
    """The docs' mixed case: some parameters in the query string, the rest in the body,
    the signature over the query string followed directly by the body."""
    query = f"symbol={SYMBOL}&side=BUY&type=LIMIT&timeInForce=GTC"
    body = (f"quantity=0.01&price=50000&newClientOrderId={cid('fut-mixed')}"
            f"&recvWindow=5000&timestamp={int(time.time() * 1000)}")
    signature = hmac.new(SECRET.encode(), (query + body).encode(), hashlib.sha256).hexdigest()
    answer = requests.post(f"{sim.url}/fapi/v1/order?{query}", data=f"{body}&signature={signature}",
                           headers={"X-MBX-APIKEY": KEY,
                                    "Content-Type": "application/x-www-form-urlencoded"},
                           timeout=5)
    assert answer.status_code == 200, answer.text
    found = check("usdm POST /fapi/v1/order", answer.json())
    python_binance(sim.url).futures_cancel_order(symbol=SYMBOL, orderId=answer.json()["orderId"])
    no_deviation(found)
