"""USD-M REST against the sim: orders, batches, algo orders, positions, account, modes,
countdown cancel and listenKeys, with Binance's fields, codes and statuses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from binance_rest_helpers import ACCOUNT, RestSim, error_of

from console.domain.enums import Category
from console.sim.state import PositionMode

_ids = count(1)


def cid(prefix: str = "t") -> str:
    return f"{prefix}-{next(_ids)}-{time.time_ns() % 1_000_000}"


@pytest.fixture
def sim() -> Iterator[RestSim]:
    handle = RestSim()
    yield handle
    handle.stop()


def place(sim: RestSim, **extra: Any) -> Any:
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.001", "price": "50000", "newClientOrderId": cid(), **extra}
    answer = sim.signed("POST", "/fapi/v1/order", params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_order_lifecycle(sim: RestSim) -> None:
    placed = place(sim)
    assert placed["status"] == "NEW" and isinstance(placed["orderId"], int)
    assert placed["price"] == "50000" and placed["origQty"] == "0.001"
    assert placed["positionSide"] == "BOTH" and placed["cumQty"] == "0"
    by_id = sim.signed("GET", "/fapi/v1/order", {"symbol": "BTCUSDT",
                                                 "orderId": placed["orderId"]}).json()
    by_cid = sim.signed("GET", "/fapi/v1/order", {
        "symbol": "BTCUSDT", "origClientOrderId": placed["clientOrderId"]}).json()
    assert by_id == by_cid and by_id["time"] == by_id["updateTime"]
    open_one = sim.signed("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}).json()
    assert [o["orderId"] for o in open_one] == [placed["orderId"]]
    modified = sim.signed("PUT", "/fapi/v1/order", {
        "symbol": "BTCUSDT", "orderId": placed["orderId"], "side": "BUY",
        "quantity": "0.002", "price": "50100"}, where="body").json()
    assert modified["price"] == "50100" and modified["origQty"] == "0.002"
    cancelled = sim.signed("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT",
                                                        "orderId": placed["orderId"]}).json()
    assert cancelled["status"] == "CANCELED"
    again = sim.signed("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT",
                                                    "orderId": placed["orderId"]})
    assert error_of(again) == (400, -2011)
    assert again.json()["msg"] == "Unknown order sent."
    unknown = sim.signed("GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": 99999})
    assert error_of(unknown) == (400, -2013)
    gone = sim.signed("GET", "/fapi/v1/openOrder", {"symbol": "BTCUSDT",
                                                    "orderId": placed["orderId"]})
    assert error_of(gone) == (400, -2013)


def test_new_order_refusals(sim: RestSim) -> None:
    base = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.001"}
    stop = sim.signed("POST", "/fapi/v1/order", {**base, "type": "STOP_MARKET",
                                                 "stopPrice": "70000"})
    assert error_of(stop) == (400, -4120)
    placed = place(sim)
    dup = sim.signed("POST", "/fapi/v1/order", {
        **base, "type": "LIMIT", "timeInForce": "GTC", "price": "50000",
        "newClientOrderId": placed["clientOrderId"]})
    assert error_of(dup) == (400, -4116)
    tiny = sim.signed("POST", "/fapi/v1/order", {"symbol": "XRPUSDT", "side": "BUY",
                                                 "type": "MARKET", "quantity": "1"})
    assert error_of(tiny) == (400, -4164)
    gtx = sim.signed("POST", "/fapi/v1/order", {**base, "type": "LIMIT", "timeInForce": "GTX",
                                                "price": "61000"})
    assert error_of(gtx) == (400, -5022)
    assert not any(o.time_in_force.value == "PostOnly"
                   for o in sim.call(sim.exchange.order_history, ACCOUNT))
    step = sim.signed("POST", "/fapi/v1/order", {**base, "type": "MARKET",
                                                 "quantity": "0.0015"})
    assert error_of(step) == (400, -1111)
    missing = sim.signed("POST", "/fapi/v1/order", {**base, "type": "LIMIT", "price": "1"})
    assert error_of(missing) == (400, -1102)
    symbol = sim.signed("POST", "/fapi/v1/order", {**base, "symbol": "NOPE",
                                                   "type": "MARKET"})
    assert error_of(symbol) == (400, -1121)
    hedge_only = sim.signed("POST", "/fapi/v1/order", {**base, "type": "MARKET",
                                                       "positionSide": "LONG"})
    assert error_of(hedge_only) == (400, -4061)


def test_market_fill_trades_positions_account(sim: RestSim) -> None:
    filled = place(sim, type="MARKET", timeInForce="", price="", quantity="0.01")
    assert filled["status"] == "FILLED" and filled["executedQty"] == "0.01"
    trades = sim.signed("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}).json()
    assert trades and all(t["orderId"] == filled["orderId"] for t in trades)
    assert sum(Decimal(t["qty"]) for t in trades) == Decimal("0.01")
    assert all(t["buyer"] and t["commissionAsset"] == "USDT" for t in trades)
    positions = sim.signed("GET", "/fapi/v3/positionRisk").json()
    assert [(p["symbol"], p["positionSide"], p["positionAmt"]) for p in positions] == [
        ("BTCUSDT", "BOTH", "0.01")]
    v2 = sim.signed("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"}).json()
    assert v2[0]["positionAmt"] == "0.01" and v2[0]["leverage"] == "10"
    account = sim.signed("GET", "/fapi/v3/account").json()
    assert [p["symbol"] for p in account["positions"]] == ["BTCUSDT"]
    assert Decimal(account["totalPositionInitialMargin"]) > 0
    balances = {b["asset"]: b for b in sim.signed("GET", "/fapi/v3/balance").json()}
    assert Decimal(balances["USDT"]["balance"]) < Decimal(1_000_000)  # fees paid
    first = trades[0]["id"]
    from_id = sim.signed("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT",
                                                        "fromId": first}).json()
    assert from_id[0]["id"] == first
    mixed = sim.signed("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "fromId": first,
                                                      "startTime": sim.clock() - 1000})
    assert error_of(mixed) == (400, -1128)
    wide = sim.signed("GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT", "startTime": 0,
                                                    "endTime": 8 * 86_400_000})
    assert error_of(wide) == (400, -1127)
    every = sim.signed("GET", "/fapi/v1/allOrders", {"symbol": "BTCUSDT"}).json()
    assert [o["orderId"] for o in every] == [filled["orderId"]]


def test_batches(sim: RestSim) -> None:
    orders = [{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
               "quantity": "0.001", "price": "50000", "newClientOrderId": cid("b")},
              {"symbol": "BTCUSDT", "side": "BUY", "type": "STOP_MARKET", "quantity": "0.001",
               "stopPrice": "70000"},
              {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
               "quantity": "0.001", "price": "70000", "newClientOrderId": cid("b")}]
    answer = sim.signed("POST", "/fapi/v1/batchOrders",
                        {"batchOrders": json.dumps(orders)}, where="body").json()
    assert [a.get("status") or a["code"] for a in answer] == ["NEW", -4120, "NEW"]
    too_many = sim.signed("POST", "/fapi/v1/batchOrders",
                          {"batchOrders": json.dumps(orders * 2)}, where="body")
    assert error_of(too_many)[0] == 400
    ids = [answer[0]["orderId"], 424242]
    cancelled = sim.signed("DELETE", "/fapi/v1/batchOrders", {
        "symbol": "BTCUSDT", "orderIdList": json.dumps(ids)}).json()
    assert cancelled[0]["status"] == "CANCELED" and cancelled[1]["code"] == -2011
    done = sim.signed("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"}).json()
    assert done == {"code": 200, "msg": "The operation of cancel all open order is done."}
    assert sim.signed("GET", "/fapi/v1/openOrders").json() == []


def test_algo_order_triggers_into_a_regular_order(sim: RestSim) -> None:
    now_due = sim.signed("POST", "/fapi/v1/algoOrder", {
        "algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL",
        "type": "STOP_MARKET", "quantity": "0.001", "triggerPrice": "61000"})
    assert error_of(now_due) == (400, -2021)
    client_algo_id = cid("algo")
    placed = sim.signed("POST", "/fapi/v1/algoOrder", {
        "algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "BUY",
        "type": "STOP_MARKET", "quantity": "0.001", "triggerPrice": "61000",
        "clientAlgoId": client_algo_id}).json()
    assert placed["algoStatus"] == "NEW" and placed["orderType"] == "STOP_MARKET"
    assert sim.signed("GET", "/fapi/v1/openOrders").json() == []
    waiting = sim.signed("GET", "/fapi/v1/openAlgoOrders").json()
    assert [w["algoId"] for w in waiting] == [placed["algoId"]]
    sim.set_price(Category.LINEAR, "BTCUSDT", "61500")
    algo = sim.signed("GET", "/fapi/v1/algoOrder", {"algoId": placed["algoId"]}).json()
    assert algo["algoStatus"] == "FINISHED" and algo["actualOrderId"]
    regular = sim.signed("GET", "/fapi/v1/order", {
        "symbol": "BTCUSDT", "orderId": int(algo["actualOrderId"])}).json()
    assert regular["clientOrderId"] == client_algo_id and regular["status"] == "FILLED"
    history = sim.signed("GET", "/fapi/v1/allAlgoOrders", {"symbol": "BTCUSDT"}).json()
    assert [h["algoId"] for h in history] == [placed["algoId"]]
    late = sim.signed("DELETE", "/fapi/v1/algoOrder", {"algoId": placed["algoId"]})
    assert error_of(late) == (400, -2011)


def test_algo_cancel_and_cancel_all(sim: RestSim) -> None:
    params = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL",
              "type": "STOP", "quantity": "0.001", "triggerPrice": "55000", "price": "54900"}
    first = sim.signed("POST", "/fapi/v1/algoOrder", params).json()
    second = sim.signed("POST", "/fapi/v1/algoOrder", params).json()
    assert first["orderType"] == "STOP" and first["timeInForce"] == "GTC"
    cancelled = sim.signed("DELETE", "/fapi/v1/algoOrder", {"algoId": first["algoId"]}).json()
    assert cancelled == {"algoId": first["algoId"], "clientAlgoId": first["clientAlgoId"],
                         "code": "200", "msg": "success"}
    state = sim.signed("GET", "/fapi/v1/algoOrder", {"algoId": first["algoId"]}).json()
    assert state["algoStatus"] == "CANCELED" and state["actualOrderId"] == ""
    done = sim.signed("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": "BTCUSDT"}).json()
    assert done["code"] == 200
    state = sim.signed("GET", "/fapi/v1/algoOrder", {
        "clientAlgoId": second["clientAlgoId"]}).json()
    assert state["algoStatus"] == "CANCELED"


def test_position_modes(sim: RestSim) -> None:
    assert sim.signed("GET", "/fapi/v1/positionSide/dual").json() == {
        "dualSidePosition": False}
    same = sim.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "false"})
    assert error_of(same) == (400, -4059)
    placed = place(sim)
    busy = sim.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
    assert error_of(busy) == (400, -4067)
    sim.signed("DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["orderId"]})
    switched = sim.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
    assert switched.json() == {"code": 200, "msg": "success"}
    assert sim.call(sim.exchange.position_mode, ACCOUNT, Category.LINEAR,
                    "BTCUSDT") is PositionMode.HEDGE
    both = sim.signed("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY",
                                                 "type": "MARKET", "quantity": "0.01"})
    assert error_of(both) == (400, -4061)
    long = place(sim, type="MARKET", timeInForce="", price="", quantity="0.01",
                 positionSide="LONG")
    assert long["positionSide"] == "LONG"
    sides = {p["positionSide"]: p["positionAmt"]
             for p in sim.signed("GET", "/fapi/v3/positionRisk").json()}
    assert sides == {"LONG": "0.01", "SHORT": "0"}
    assert sim.signed("GET", "/fapi/v1/multiAssetsMargin").json() == {
        "multiAssetsMargin": False}


def test_countdown_cancels_when_it_runs_out(sim: RestSim) -> None:
    placed = place(sim)
    other = place(sim, symbol="ETHUSDT", price="2900", quantity="0.01")
    armed = sim.signed("POST", "/fapi/v1/countdownCancelAll", {
        "symbol": "BTCUSDT", "countdownTime": 120_000}).json()
    assert armed == {"symbol": "BTCUSDT", "countdownTime": "120000"}
    sim.clock.offset += 60_000
    sim.call(sim.front_end.tick)
    assert len(sim.signed("GET", "/fapi/v1/openOrders").json()) == 2
    sim.clock.offset += 61_000  # past the deadline: the real ticker fires it
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status = sim.signed("GET", "/fapi/v1/order", {
            "symbol": "BTCUSDT", "orderId": placed["orderId"]}).json()["status"]
        if status == "CANCELED":
            break
        time.sleep(0.02)
    assert status == "CANCELED"
    assert [o["orderId"] for o in sim.signed("GET", "/fapi/v1/openOrders").json()] == [
        other["orderId"]]
    sim.signed("POST", "/fapi/v1/countdownCancelAll", {"symbol": "ETHUSDT",
                                                       "countdownTime": 1000})
    sim.signed("POST", "/fapi/v1/countdownCancelAll", {"symbol": "ETHUSDT",
                                                       "countdownTime": 0})
    sim.clock.offset += 5000
    sim.call(sim.front_end.tick)
    assert len(sim.signed("GET", "/fapi/v1/openOrders").json()) == 1


def test_listen_key_lifecycle(sim: RestSim) -> None:
    first = sim.keyed("POST", "/fapi/v1/listenKey").json()["listenKey"]
    assert sim.keyed("POST", "/fapi/v1/listenKey").json()["listenKey"] == first
    assert sim.keyed("PUT", "/fapi/v1/listenKey").json() == {"listenKey": first}
    expired: list[tuple[str, str]] = []
    sim.call(sim.front_end.listen_keys.on_expired, lambda k, a: expired.append((k, a)))
    sim.call(sim.front_end.listen_keys.expire_now, first)
    assert expired == [(first, ACCOUNT)]
    dead = sim.keyed("PUT", "/fapi/v1/listenKey")
    assert error_of(dead) == (400, -1125)
    fresh = sim.keyed("POST", "/fapi/v1/listenKey").json()["listenKey"]
    assert fresh != first
    assert sim.keyed("DELETE", "/fapi/v1/listenKey").json() == {}
    assert error_of(sim.keyed("PUT", "/fapi/v1/listenKey")) == (400, -1125)
    sim.keyed("POST", "/fapi/v1/listenKey")
    sim.clock.offset += 3_600_001  # a key not kept alive dies after 60 minutes
    sim.call(sim.front_end.listen_keys.sweep)
    assert error_of(sim.keyed("PUT", "/fapi/v1/listenKey")) == (400, -1125)
