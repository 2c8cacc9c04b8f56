"""Binance's rate-limit headers and refusals, and faults rendered the Binance way."""

from __future__ import annotations

import json

import pytest
import requests
from binance_rest_helpers import RestSim, error_of

from console.sim.binance.limits import Limiters

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.001", "price": "50000"}


def test_weight_header_everywhere_and_order_counts() -> None:
    sim = RestSim()
    try:
        public = sim.public("/fapi/v1/exchangeInfo")
        assert public.headers["X-MBX-USED-WEIGHT-1M"] == "1"
        spot_info = sim.public("/api/v3/exchangeInfo")
        assert spot_info.headers["X-MBX-USED-WEIGHT-1M"] == "20"
        listing = sim.signed("GET", "/fapi/v1/openOrders")  # no symbol: weight 40
        assert listing.headers["X-MBX-USED-WEIGHT-1M"] == "40"
        one = sim.signed("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
        assert one.headers["X-MBX-USED-WEIGHT-1M"] == "41"
        placed = sim.signed("POST", "/fapi/v1/order", ORDER)  # weight 0, one order
        assert placed.headers["X-MBX-USED-WEIGHT-1M"] == "41"
        assert placed.headers["X-MBX-ORDER-COUNT-10S"] == "1"
        assert placed.headers["X-MBX-ORDER-COUNT-1M"] == "1"
        batch = sim.signed("POST", "/fapi/v1/batchOrders",
                           {"batchOrders": json.dumps([ORDER, ORDER])})
        assert batch.headers["X-MBX-ORDER-COUNT-10S"] == "6"  # 5 on 10 s, 1 on 1 min
        assert batch.headers["X-MBX-ORDER-COUNT-1M"] == "2"
        spot = sim.signed("POST", "/api/v3/order", {**ORDER, "quantity": "0.0002"})
        assert spot.headers["X-MBX-ORDER-COUNT-10S"] == "1"
        assert spot.headers["X-MBX-ORDER-COUNT-1D"] == "1"
        refused = sim.signed("GET", "/fapi/v2/balance", key="nosuchkey123")
        assert error_of(refused) == (401, -2015)
    finally:
        sim.stop()


def test_weight_budget_refusal() -> None:
    sim = RestSim(rate_limits={"fapi:weight:1m": 12})
    try:
        assert sim.signed("GET", "/fapi/v2/balance").status_code == 200  # 5
        assert sim.signed("GET", "/fapi/v2/balance").status_code == 200  # 10
        refused = sim.signed("GET", "/fapi/v2/balance")
        assert error_of(refused) == (429, -1003)
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["X-MBX-USED-WEIGHT-1M"] == "12"
        spot = sim.signed("GET", "/api/v3/account")  # spot weighs on its own budget
        assert spot.status_code == 200
    finally:
        sim.stop()


def test_order_count_refusal() -> None:
    sim = RestSim(rate_limits={"fapi:orders:10s": 2})
    try:
        for n in range(2):
            assert sim.signed("POST", "/fapi/v1/order", {
                **ORDER, "newClientOrderId": f"c{n}"}).status_code == 200
        refused = sim.signed("POST", "/fapi/v1/order", ORDER)
        assert error_of(refused) == (429, -1015)
        assert refused.json()["msg"] == ("Too many new orders; current limit is 2 orders "
                                         "per 10 SECOND.")
        assert "Retry-After" in refused.headers
        opened = sim.signed("GET", "/fapi/v1/openOrders").json()
        assert len(opened) == 2  # the refused order never reached the sim
    finally:
        sim.stop()


def test_unknown_bucket_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Binance rate-limit buckets"):
        Limiters({"fapi:weight:1h": 5})


def test_injected_codes_and_http_faults() -> None:
    sim = RestSim(faults="retcode=-1007@/fapi/v1/order;http503=1@/fapi/v2/balance;"
                         "retcode=-2015@/api/v3/account")
    try:
        timeout = sim.signed("POST", "/fapi/v1/order", ORDER)
        assert error_of(timeout) == (503, -1007)
        assert timeout.json()["msg"].startswith("Timeout waiting for response")
        assert sim.signed("GET", "/fapi/v1/openOrders").json() == []  # the sim never saw it
        gateway = sim.signed("GET", "/fapi/v2/balance")
        assert gateway.status_code == 503 and "code" not in gateway.text
        assert sim.signed("GET", "/fapi/v2/balance").status_code == 200
        assert error_of(sim.signed("GET", "/api/v3/account")) == (401, -2015)
    finally:
        sim.stop()


def test_timeout_after_place_applies_the_order() -> None:
    sim = RestSim(faults="timeout_after_place=1")
    try:
        with pytest.raises(requests.ConnectionError):
            sim.signed("POST", "/fapi/v1/order", {**ORDER, "newClientOrderId": "cut-1"})
        found = sim.signed("GET", "/fapi/v1/order", {"symbol": "BTCUSDT",
                                                     "origClientOrderId": "cut-1"})
        assert found.json()["status"] == "NEW"
    finally:
        sim.stop()


def test_a_handler_bug_is_binance_unknown_error(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = RestSim()
    try:
        def broken(account: str) -> object:
            raise RuntimeError("bug")
        monkeypatch.setattr(sim.front_end.views, "balances", broken)
        answer = sim.signed("GET", "/fapi/v2/balance")
        assert answer.status_code == 500
        assert answer.json() == {"code": -1000, "msg": "An unknown error occurred while "
                                                       "processing the request."}
    finally:
        sim.stop()
