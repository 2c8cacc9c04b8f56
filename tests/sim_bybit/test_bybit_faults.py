"""Fault injection as a pybit client meets each kind (the grammar itself: tests/sim_protocol)."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from bybit_helpers import StartServer, make_http
from pybit.exceptions import FailedRequestError, InvalidRequestError

from console.sim.bybit import Faults
from console.sim.protocol.faults import AfterPlace
from console.sim.protocol.faults import Faults as SharedFaults

ORDER = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
         "qty": "0.01", "price": "59000"}


def test_bybit_faults_default_the_place_rules_to_order_create() -> None:
    faults = Faults("timeout_after_place=1;hang_after_place=2")
    assert faults.describe() == ("timeout_after_place=1@/v5/order/create;"
                                 "hang_after_place=2@/v5/order/create")
    assert faults.after_place("/v5/order/create-batch") is None
    assert faults.after_place("/v5/order/create") is AfterPlace.CUT
    assert isinstance(faults, SharedFaults)


def test_latency_delays_the_answer(start_server: StartServer) -> None:
    server = start_server(faults="latency=120ms@/v5/order/realtime")
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    started = time.monotonic()
    http.get_open_orders(category="linear", settleCoin="USDT")
    assert time.monotonic() - started >= 0.12
    assert server.faults.latency_ms("/v5/position/list") == 0  # other paths: no delay


@pytest.mark.parametrize("status", [500, 502, 503, 429, 403])
def test_http_errors_never_reach_the_sim(start_server: StartServer, status: int) -> None:
    server = start_server(faults=f"http{status}=1@/v5/order/create")
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    with pytest.raises(FailedRequestError) as err:
        http.place_order(**ORDER)
    assert err.value.status_code == status
    assert server.call(server.exchange.open_orders, server.account) == []
    assert http.place_order(**ORDER)["retCode"] == 0  # the count is spent


def test_injected_retcode_for_the_next_n_requests(start_server: StartServer) -> None:
    server = start_server(faults="retcode=10006x2@/v5/order/realtime")
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    for _ in range(2):
        with pytest.raises(InvalidRequestError) as err:
            http.get_open_orders(category="linear", settleCoin="USDT")
        assert err.value.status_code == 10006
        assert "X-Bapi-Limit-Reset-Timestamp" in err.value.resp_headers
    assert http.get_open_orders(category="linear", settleCoin="USDT")["retCode"] == 0


def test_faults_change_at_runtime(start_server: StartServer) -> None:
    server = start_server()
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    server.faults.add("retcode=10016@/v5/position/list")
    with pytest.raises(InvalidRequestError) as err:
        http.get_positions(category="linear", settleCoin="USDT")
    assert err.value.status_code == 10016
    server.faults.add("http500=1.0")
    server.faults.clear()
    assert http.get_positions(category="linear", settleCoin="USDT")["retCode"] == 0


def test_timeout_after_place_cuts_after_the_sim_took_the_order(
        start_server: StartServer) -> None:
    server = start_server(faults="timeout_after_place=1")
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    with pytest.raises(requests.exceptions.ConnectionError):
        http.place_order(**ORDER, orderLinkId="unknown-outcome-1")
    # resolve by the client id, never by resending under a new one
    found = http.get_open_orders(category="linear", orderLinkId="unknown-outcome-1")
    assert found["result"]["list"][0]["orderStatus"] == "New"
    with pytest.raises(InvalidRequestError) as err:
        http.place_order(**ORDER, orderLinkId="unknown-outcome-1")
    assert err.value.status_code == 110072


def test_hang_after_place_outlasts_the_client_timeout(start_server: StartServer) -> None:
    server = start_server(faults="hang_after_place=1;hang=3s")
    http = make_http(server.rest_url, server.api_key, server.api_secret, timeout=0.3)
    with pytest.raises(requests.exceptions.ReadTimeout):
        http.place_order(**ORDER, orderLinkId="slow-1")
    orders = server.call(server.exchange.open_orders, server.account)
    assert [(o.client_order_id, o.qty) for o in orders] == [("slow-1", Decimal("0.01"))]
