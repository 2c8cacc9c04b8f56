"""Spot REST against the sim: new order (ACK/RESULT/FULL), quoteOrderQty, cancel,
cancelReplace (200/400/409), listings, the account and the retired listenKey calls."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from binance_rest_helpers import RestSim, error_of

_ids = count(1)


def cid() -> str:
    return f"s{next(_ids)}"


@pytest.fixture
def sim() -> Iterator[RestSim]:
    handle = RestSim()
    yield handle
    handle.stop()


def limit(sim: RestSim, **extra: Any) -> Any:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.001", "price": "50000", "newClientOrderId": cid(), **extra}
    answer = sim.signed("POST", "/api/v3/order", params, where="body")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_new_order_response_types(sim: RestSim) -> None:
    full = limit(sim)
    assert full["status"] == "NEW" and full["fills"] == [] and full["orderListId"] == -1
    assert full["workingTime"] == full["transactTime"]
    ack = limit(sim, newOrderRespType="ACK")
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = limit(sim, newOrderRespType="RESULT")
    assert "fills" not in result and result["type"] == "LIMIT"
    maker = limit(sim, type="LIMIT_MAKER", timeInForce="")
    assert set(maker) == set(ack)  # LIMIT_MAKER defaults to ACK


def test_market_orders_and_quote_qty(sim: RestSim) -> None:
    bought = limit(sim, type="MARKET", timeInForce="", price="", quantity="0.01")
    assert bought["status"] == "FILLED" and bought["fills"]
    assert sum(Decimal(f["qty"]) for f in bought["fills"]) == Decimal("0.01")
    by_quote = limit(sim, type="MARKET", timeInForce="", price="", quantity="",
                     quoteOrderQty="1000")
    assert by_quote["origQuoteOrderQty"] == "1000"
    assert Decimal(by_quote["cummulativeQuoteQty"]) <= Decimal(1000)
    assert Decimal(by_quote["executedQty"]) > 0
    both = sim.signed("POST", "/api/v3/order", {"symbol": "BTCUSDT", "side": "BUY",
                                                "type": "MARKET"})
    assert error_of(both) == (400, -1102)


def test_new_order_refusals(sim: RestSim) -> None:
    base = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"}
    maker = sim.signed("POST", "/api/v3/order", {**base, "type": "LIMIT_MAKER",
                                                 "price": "61000"})
    assert error_of(maker) == (400, -2010)
    assert maker.json()["msg"] == "Order would immediately match and take."
    stop = sim.signed("POST", "/api/v3/order", {**base, "type": "STOP_LOSS",
                                                "stopPrice": "50000"})
    assert stop.json() == {"code": -2010,
                           "msg": "Stop loss orders are not supported for this symbol."}
    unknown = sim.signed("POST", "/api/v3/order", {**base, "type": "MARKET", "foo": "1"})
    assert error_of(unknown) == (400, -1104)
    lot = sim.signed("POST", "/api/v3/order", {**base, "type": "MARKET",
                                               "quantity": "0.00001"})
    assert lot.json() == {"code": -1013, "msg": "Filter failure: LOT_SIZE"}
    notional = sim.signed("POST", "/api/v3/order", {**base, "type": "LIMIT",
                                                    "timeInForce": "GTC", "price": "100"})
    assert notional.json() == {"code": -1013, "msg": "Filter failure: NOTIONAL"}
    placed = limit(sim)
    dup = sim.signed("POST", "/api/v3/order", {**base, "type": "LIMIT", "timeInForce": "GTC",
                                               "price": "50000",
                                               "newClientOrderId": placed["clientOrderId"]})
    assert dup.json() == {"code": -2010, "msg": "Duplicate order sent."}
    poor = sim.signed("POST", "/api/v3/order", {**base, "type": "MARKET",
                                                "quantity": "100"})
    assert poor.json()["code"] == -2010


def test_cancel_and_queries(sim: RestSim) -> None:
    placed = limit(sim)
    query = sim.signed("GET", "/api/v3/order", {"symbol": "BTCUSDT",
                                                "orderId": placed["orderId"]}).json()
    assert query["isWorking"] is True and query["status"] == "NEW"
    assert [o["orderId"] for o in sim.signed("GET", "/api/v3/openOrders").json()] == [
        placed["orderId"]]
    cancelled = sim.signed("DELETE", "/api/v3/order", {
        "symbol": "BTCUSDT", "origClientOrderId": placed["clientOrderId"]}).json()
    assert cancelled["status"] == "CANCELED"
    assert cancelled["origClientOrderId"] == placed["clientOrderId"]
    assert cancelled["clientOrderId"] != placed["clientOrderId"]
    again = sim.signed("DELETE", "/api/v3/order", {"symbol": "BTCUSDT",
                                                   "orderId": placed["orderId"]})
    assert again.json() == {"code": -2011, "msg": "Unknown order sent."}
    limit(sim)
    limit(sim)
    all_cancelled = sim.signed("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"}).json()
    assert [c["status"] for c in all_cancelled] == ["CANCELED", "CANCELED"]
    every = sim.signed("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"}).json()
    assert len(every) == 3
    wide = sim.signed("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT", "startTime": 0,
                                                   "endTime": 90_000_000})
    assert error_of(wide) == (400, -1127)


def test_cancel_replace(sim: RestSim) -> None:
    placed = limit(sim)
    new = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
           "quantity": "0.002", "price": "50500"}
    ok = sim.signed("POST", "/api/v3/order/cancelReplace", {
        **new, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": placed["orderId"]})
    body = ok.json()
    assert ok.status_code == 200 and body["cancelResult"] == "SUCCESS"
    assert body["newOrderResult"] == "SUCCESS"
    assert body["newOrderResponse"]["price"] == "50500"
    failed = sim.signed("POST", "/api/v3/order/cancelReplace", {
        **new, "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": placed["orderId"]})
    assert failed.status_code == 400 and failed.json() == {
        "code": -2022, "msg": "Order cancel-replace failed.",
        "data": {"cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
                 "cancelResponse": {"code": -2011, "msg": "Unknown order sent."},
                 "newOrderResponse": None}}
    partial = sim.signed("POST", "/api/v3/order/cancelReplace", {
        **new, "cancelReplaceMode": "ALLOW_FAILURE", "cancelOrderId": placed["orderId"]})
    assert partial.status_code == 409
    assert partial.json()["code"] == -2021
    assert partial.json()["data"]["newOrderResult"] == "SUCCESS"
    current = body["newOrderResponse"]["orderId"]
    taker = sim.signed("POST", "/api/v3/order/cancelReplace", {
        **new, "type": "LIMIT_MAKER", "timeInForce": "", "price": "61000",
        "cancelReplaceMode": "STOP_ON_FAILURE", "cancelOrderId": current})
    assert taker.status_code == 409
    assert taker.json()["data"]["newOrderResponse"] == {
        "code": -2010, "msg": "Order would immediately match and take."}


def test_trades_account_and_counts(sim: RestSim) -> None:
    bought = limit(sim, type="MARKET", timeInForce="", price="", quantity="0.01")
    trades = sim.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}).json()
    assert trades and all(t["orderId"] == bought["orderId"] and t["isBuyer"] for t in trades)
    by_order = sim.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT",
                                                      "orderId": bought["orderId"]}).json()
    assert by_order == trades
    bad = sim.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT", "fromId": 1,
                                                 "startTime": 0})
    assert error_of(bad) == (400, -1128)
    limit(sim)
    account = sim.signed("GET", "/api/v3/account").json()
    balances = {b["asset"]: b for b in account["balances"]}
    assert balances["BTC"]["free"] != "0" and isinstance(balances["USDT"]["locked"], str)
    assert Decimal(balances["USDT"]["locked"]) >= Decimal("50")
    counts = sim.signed("GET", "/api/v3/rateLimit/order").json()
    assert [(c["interval"], c["count"]) for c in counts] == [("SECOND", 2), ("DAY", 2)]


def test_spot_listen_key_endpoints_are_retired(sim: RestSim) -> None:
    answer = sim.keyed("POST", "/api/v3/userDataStream")
    assert error_of(answer) == (410, -1020)
