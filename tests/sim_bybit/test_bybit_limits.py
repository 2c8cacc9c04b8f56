"""Rate limits: per-UID rolling-window budgets, Bybit's headers, 10006 with HTTP 200."""

from __future__ import annotations

import pytest
from bybit_helpers import StartServer, make_http, now_ms
from pybit.exceptions import InvalidRequestError


def test_every_private_answer_carries_the_limit_headers(start_server: StartServer) -> None:
    server = start_server()
    http = make_http(server.rest_url, server.api_key, server.api_secret,
                     return_response_headers=True)
    _body, _elapsed, headers = http.get_open_orders(category="linear", settleCoin="USDT")
    assert headers["X-Bapi-Limit"] == "50"
    assert headers["X-Bapi-Limit-Status"] == "49"
    assert abs(int(headers["X-Bapi-Limit-Reset-Timestamp"]) - now_ms()) < 2000


def test_exceeding_the_budget_is_10006_with_a_reset_hint(start_server: StartServer) -> None:
    server = start_server(rate_limits={"/v5/order/create": 3})
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    for i in range(3):
        http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                         qty="0.001", price=str(50000 + i))
    before = now_ms()
    with pytest.raises(InvalidRequestError) as err:
        http.place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Limit",
                         qty="0.001", price="49000")
    assert err.value.status_code == 10006
    assert err.value.message == "Too many visits!"
    headers = err.value.resp_headers
    assert headers["X-Bapi-Limit"] == "3" and headers["X-Bapi-Limit-Status"] == "0"
    reset = int(headers["X-Bapi-Limit-Reset-Timestamp"])
    assert before - 50 < reset <= before + 1000
    # other endpoints have their own budget
    assert http.get_open_orders(category="linear", settleCoin="USDT")["retCode"] == 0
    orders = server.call(server.exchange.open_orders, server.account)
    assert len(orders) == 3  # the refused request never reached the sim


def test_batch_consumes_one_unit_per_order_and_overflow_fails_per_item(
        start_server: StartServer) -> None:
    server = start_server(rate_limits={"/v5/order/create-batch": 4})
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    request = [{"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
                "price": str(50000 + i)} for i in range(6)]
    answer = http.place_batch_order(category="linear", request=request)
    assert [c["code"] for c in answer["retExtInfo"]["list"]] == [0, 0, 0, 0, 10006, 10006]
    with pytest.raises(InvalidRequestError) as err:
        http.place_batch_order(category="linear", request=request[:1])
    assert err.value.status_code == 10006
