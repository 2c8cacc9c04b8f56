"""Batch endpoints keep one rate budget per business line (Bybit's rate-limit page,
"Instructions for batch endpoints": "the configuration of business lines is independent
of each other"; its table: create/amend/cancel-batch 10/s for inverse and linear, 10/s
for option, 20/s for spot): a spent derivatives budget leaves spot batches untouched,
and linear and inverse share theirs."""

from __future__ import annotations

from typing import Any

import pytest
from bybit_helpers import StartServer, make_http
from pybit.exceptions import InvalidRequestError

from console.sim.bybit.limits import DEFAULT_LIMITS, line_bucket


def orders(category: str, count: int) -> list[dict[str, Any]]:
    symbol, qty, base = {"linear": ("BTCUSDT", "0.001", 50000),
                         "spot": ("BTCUSDT", "0.001", 50000),
                         "inverse": ("BTCUSD", "1", 50000)}[category]
    return [{"symbol": symbol, "side": "Buy", "orderType": "Limit", "qty": qty,
             "price": str(base + i)} for i in range(count)]


def test_the_documented_defaults_per_line() -> None:
    for path in ("/v5/order/create-batch", "/v5/order/amend-batch",
                 "/v5/order/cancel-batch"):
        assert DEFAULT_LIMITS[line_bucket(path, "linear")] == 10
        assert line_bucket(path, "inverse") == line_bucket(path, "linear") == path
        assert DEFAULT_LIMITS[line_bucket(path, "spot")] == 20
        assert DEFAULT_LIMITS[line_bucket(path, "option")] == 10


def test_a_spent_derivatives_budget_leaves_spot_batches_their_own(
        start_server: StartServer) -> None:
    server = start_server(rate_limits={"/v5/order/create-batch": 4})
    http = make_http(server.rest_url, server.api_key, server.api_secret,
                     return_response_headers=True)
    linear, _, headers = http.place_batch_order(category="linear",
                                                request=orders("linear", 4))
    assert [c["code"] for c in linear["retExtInfo"]["list"]] == [0, 0, 0, 0]
    assert (headers["X-Bapi-Limit"], headers["X-Bapi-Limit-Status"]) == ("4", "0")

    spot, _, headers = http.place_batch_order(category="spot", request=orders("spot", 4))
    assert [c["code"] for c in spot["retExtInfo"]["list"]] == [0, 0, 0, 0]
    assert (headers["X-Bapi-Limit"], headers["X-Bapi-Limit-Status"]) == ("20", "16")

    # inverse is the derivatives line too: the budget linear spent is its budget
    with pytest.raises(InvalidRequestError) as err:
        http.place_batch_order(category="inverse", request=orders("inverse", 1))
    assert err.value.status_code == 10006
    assert err.value.resp_headers["X-Bapi-Limit"] == "4"
    placed = server.call(server.exchange.open_orders, server.account)
    assert sorted(o.category.value for o in placed) == ["linear"] * 4 + ["spot"] * 4


def test_a_spot_batch_past_its_own_budget_fails_per_item(start_server: StartServer) -> None:
    server = start_server(rate_limits={line_bucket("/v5/order/create-batch", "spot"): 3})
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    spot = http.place_batch_order(category="spot", request=orders("spot", 5))
    assert [c["code"] for c in spot["retExtInfo"]["list"]] == [0, 0, 0, 10006, 10006]
    linear = http.place_batch_order(category="linear", request=orders("linear", 5))
    assert [c["code"] for c in linear["retExtInfo"]["list"]] == [0] * 5
