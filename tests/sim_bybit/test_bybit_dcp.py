"""Disconnection protection (DCP) on the simulated Bybit: the two REST endpoints through
the real pybit client, and the `dcp.*` subscriptions on bare WebSocket connections whose
loss cancels the account's orders of the product once the window runs out."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
import websocket
from bybit_helpers import now_ms, sign, wait_until
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from console.domain import Category, OrderStatus
from console.sim.bybit.dcp import DcpWatch
from console.sim.bybit.server import BybitFrontEnd
from console.sim.server import SimServerHandle

SCALE = 0.1
"""Countdowns run at a tenth of the window: a 3 s window ends after 0.3 s."""


def dcp_of(server: SimServerHandle) -> DcpWatch:
    return cast(BybitFrontEnd, server.front_end).dcp


def code_of(call: Any, **kwargs: Any) -> int:
    with pytest.raises(InvalidRequestError) as err:
        call(**kwargs)
    return int(err.value.status_code)


def infos(http: HTTP) -> dict[str, str]:
    listed = http.query_dcp_info()["result"]["dcpInfos"]
    assert all(item["dcpStatus"] == "ON" for item in listed), listed
    return {item["product"]: item["timeWindow"] for item in listed}


class Conn:
    """A bare private connection: auth, (un)subscribe, read, close or reset."""

    def __init__(self, server: SimServerHandle) -> None:
        self.ws = websocket.create_connection(server.ws_private_url, timeout=5)
        expires = now_ms() + 1000
        self.ask({"op": "auth", "args": [server.api_key, expires,
                                         sign(server.api_secret, f"GET/realtime{expires}")]})

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self.ws.send(json.dumps(message))
        while True:
            answer: dict[str, Any] = json.loads(self.ws.recv())
            if "topic" not in answer:
                assert answer.get("success") is True, answer
                return answer

    def subscribe(self, *topics: str) -> None:
        self.ask({"op": "subscribe", "args": list(topics), "req_id": "s"})

    def unsubscribe(self, *topics: str) -> None:
        self.ask({"op": "unsubscribe", "args": list(topics), "req_id": "u"})

    def pushes(self, topic: str, wait: float) -> list[dict[str, Any]]:
        """The records of every `topic` push within `wait` seconds."""
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while (left := deadline - time.monotonic()) > 0:
            self.ws.settimeout(left)
            try:
                message = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                break
            if message.get("topic") == topic:
                out.extend(message["data"])
        return out

    def close(self) -> None:
        self.ws.close()

    def reset(self) -> None:
        """Die without a close frame, as a killed process does."""
        self.ws.sock.close()


@pytest.fixture
def conns(server: SimServerHandle) -> Iterator[list[Conn]]:
    made: list[Conn] = []
    yield made
    for conn in made:
        if conn.ws.connected:
            conn.close()


@pytest.fixture
def connect(server: SimServerHandle, conns: list[Conn]) -> Any:
    def make() -> Conn:
        conn = Conn(server)
        conns.append(conn)
        return conn
    return make


def rest(http: HTTP, category: str = "linear", symbol: str = "BTCUSDT",
         qty: str = "0.01", price: str = "50000") -> str:
    """A resting bid (below the reference price)."""
    return str(http.place_order(category=category, symbol=symbol, side="Buy",
                                orderType="Limit", qty=qty, price=price)["result"]["orderId"])


def open_ids(server: SimServerHandle, category: Category) -> set[str]:
    return {o.venue_order_id for o in server.call(server.exchange.open_orders, "main",
                                                  category)}


def status_of(server: SimServerHandle, order_id: str) -> OrderStatus:
    found = server.call(server.exchange.order_by_venue_id, "main", order_id)
    assert found is not None
    return found.status


# -- REST ---------------------------------------------------------------------------------

def test_the_window_is_set_per_product_and_read_back(http: HTTP) -> None:
    assert infos(http) == {"SPOT": "10", "DERIVATIVES": "10", "OPTIONS": "10"}
    assert http.set_dcp(timeWindow=40)["retCode"] == 0   # product defaults to OPTIONS
    http.set_dcp(product="DERIVATIVES", timeWindow=3)
    http.set_dcp(product="SPOT", timeWindow="300")
    assert infos(http) == {"SPOT": "300", "DERIVATIVES": "3", "OPTIONS": "40"}


@pytest.mark.parametrize("params", [{"timeWindow": 2}, {"timeWindow": 301},
                                    {"product": "DERIVATIVES"},
                                    {"product": "FUTURES", "timeWindow": 10},
                                    {"timeWindow": "ten"}])
def test_bad_settings_are_refused_with_10001(http: HTTP, params: dict[str, Any]) -> None:
    assert code_of(http.set_dcp, **params) == 10001
    assert infos(http)["DERIVATIVES"] == "10"


def test_an_account_without_dcp_lists_nothing_and_cannot_set_it(
        server: SimServerHandle, http: HTTP) -> None:
    dcp_of(server).enabled = frozenset()
    assert http.query_dcp_info()["result"]["dcpInfos"] == []
    assert code_of(http.set_dcp, product="DERIVATIVES", timeWindow=10) == 10001


# -- the stream ---------------------------------------------------------------------------

def test_only_the_documented_dcp_topics_are_accepted(connect: Any) -> None:
    conn = connect()
    for topic in ("dcp.future", "dcp.spot", "dcp.option"):
        conn.subscribe(topic)
    conn.ws.send(json.dumps({"op": "subscribe", "args": ["dcp"], "req_id": "bare"}))
    refused = json.loads(conn.ws.recv())
    assert refused["success"] is False and "dcp" in refused["ret_msg"]


def test_losing_the_last_dcp_connection_cancels_the_products_orders_after_the_window(
        server: SimServerHandle, http: HTTP, connect: Any) -> None:
    dcp = dcp_of(server)
    dcp.time_scale = SCALE
    http.set_dcp(product="DERIVATIVES", timeWindow=5)        # 0.5 s here
    guard, watcher = connect(), connect()
    guard.subscribe("dcp.future", "order")
    watcher.subscribe("order")                                 # not a guard: sees pushes
    linear = {rest(http), rest(http, symbol="ETHUSDT", qty="0.1", price="2500")}
    spot = rest(http, category="spot", qty="0.001")
    watcher.pushes("order", 0.2)                               # the New pushes
    assert dcp.guarded("main", "DERIVATIVES") == 1

    started = time.monotonic()
    guard.reset()
    wait_until(lambda: dcp.counting("main", "DERIVATIVES"), 2)
    assert open_ids(server, Category.LINEAR) == linear         # not before the window
    cancelled = watcher.pushes("order", 2.0)
    elapsed = time.monotonic() - started

    assert open_ids(server, Category.LINEAR) == set()
    assert all(status_of(server, i) is OrderStatus.CANCELLED for i in linear)
    assert {r["orderId"] for r in cancelled if r["orderStatus"] == "Cancelled"} == linear
    assert open_ids(server, Category.SPOT) == {spot}           # another product
    [trigger] = dcp.triggers
    assert (trigger.account, trigger.product, set(trigger.cancelled)) == \
        ("main", "DERIVATIVES", linear)
    assert elapsed >= 0.45


def test_a_connection_back_within_the_window_stops_the_countdown(
        server: SimServerHandle, http: HTTP, connect: Any) -> None:
    dcp = dcp_of(server)
    dcp.time_scale = SCALE
    http.set_dcp(product="DERIVATIVES", timeWindow=5)
    first = connect()
    first.subscribe("dcp.future")
    placed = rest(http)
    first.reset()
    wait_until(lambda: dcp.counting("main", "DERIVATIVES"), 2)
    connect().subscribe("dcp.future")
    assert not dcp.counting("main", "DERIVATIVES")
    time.sleep(0.8)
    assert open_ids(server, Category.LINEAR) == {placed} and dcp.triggers == []


def test_the_countdown_waits_for_every_dcp_connection_to_be_gone(
        server: SimServerHandle, http: HTTP, connect: Any) -> None:
    dcp = dcp_of(server)
    dcp.time_scale = SCALE
    http.set_dcp(product="DERIVATIVES", timeWindow=3)
    a, b, c = connect(), connect(), connect()
    a.subscribe("dcp.future")
    b.subscribe("order")
    c.subscribe("dcp.future")
    placed = rest(http)
    a.close()
    b.close()
    time.sleep(0.6)
    assert not dcp.counting("main", "DERIVATIVES")
    assert open_ids(server, Category.LINEAR) == {placed}
    c.close()                                                  # a clean close is a loss too
    wait_until(lambda: status_of(server, placed) is OrderStatus.CANCELLED, 3)


def test_a_server_side_cut_counts_as_a_loss(
        server: SimServerHandle, http: HTTP, connect: Any) -> None:
    dcp_of(server).time_scale = SCALE
    http.set_dcp(product="SPOT", timeWindow=3)
    connect().subscribe("dcp.spot")
    placed = rest(http, category="spot", qty="0.001")
    assert server.run(server.front_end.disconnect_private) == 1
    wait_until(lambda: status_of(server, placed) is OrderStatus.CANCELLED, 3)


def test_unsubscribing_withdraws_the_guard_without_a_countdown(
        server: SimServerHandle, http: HTTP, connect: Any) -> None:
    dcp = dcp_of(server)
    dcp.time_scale = SCALE
    http.set_dcp(product="DERIVATIVES", timeWindow=3)
    conn = connect()
    conn.subscribe("dcp.future")
    placed = rest(http)
    conn.unsubscribe("dcp.future")
    assert dcp.guarded("main", "DERIVATIVES") == 0
    conn.close()
    time.sleep(0.6)
    assert not dcp.counting("main", "DERIVATIVES")
    assert open_ids(server, Category.LINEAR) == {placed} and dcp.triggers == []


def test_the_window_is_real_seconds_without_a_scale(
        server: SimServerHandle, http: HTTP, connect: Any) -> None:
    http.set_dcp(product="DERIVATIVES", timeWindow=3)
    conn = connect()
    conn.subscribe("dcp.future")
    placed = rest(http)
    conn.reset()
    time.sleep(2.0)
    assert status_of(server, placed) is OrderStatus.NEW
    wait_until(lambda: status_of(server, placed) is OrderStatus.CANCELLED, 3)


def test_stopping_the_server_starts_no_countdown(
        start_server: Any) -> None:
    handle = start_server(seed=7)
    dcp = dcp_of(handle)
    conn = Conn(handle)
    conn.subscribe("dcp.future")
    handle.stop()
    assert not dcp.counting("main", "DERIVATIVES") and dcp.triggers == []
