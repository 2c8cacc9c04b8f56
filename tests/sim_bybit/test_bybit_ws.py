"""The private stream: Bybit's protocol on the wire, and the real pybit WebSocket on it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import websocket
from bybit_helpers import (
    Inbox,
    LoopbackWebSocket,
    StartServer,
    make_http,
    now_ms,
    sign,
    wait_until,
)

from console.sim.server import SimServerHandle

MARKET_BUY = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market",
              "qty": "0.01"}
TOPICS = ("order", "execution", "position", "wallet")


class Raw:
    """A bare websocket-client connection, to see exactly what goes over the wire."""

    def __init__(self, server: SimServerHandle) -> None:
        self.server = server
        self.ws = websocket.create_connection(server.ws_private_url, timeout=5)

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def recv(self) -> dict[str, Any]:
        return json.loads(self.ws.recv())  # type: ignore[no-any-return]

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        self.send(message)
        return self.recv()

    def auth(self, secret: str | None = None, expires: int | None = None) -> dict[str, Any]:
        exp = expires if expires is not None else now_ms() + 1000
        signature = sign(secret or self.server.api_secret, f"GET/realtime{exp}")
        return self.ask({"op": "auth", "args": [self.server.api_key, exp, signature]})

    def close(self) -> None:
        self.ws.close()


@pytest.fixture
def raw(server: SimServerHandle) -> Iterator[Raw]:
    conn = Raw(server)
    yield conn
    conn.close()


def pybit_ws(server: SimServerHandle, inbox: Inbox, secret: str | None = None,
             topics: tuple[str, ...] = TOPICS) -> Any:
    ws = LoopbackWebSocket(server.ws_private_url, testnet=False, channel_type="private",
                           api_key=server.api_key, api_secret=secret or server.api_secret)
    for topic in topics:
        getattr(ws, f"{topic}_stream")(inbox)
    return ws


def test_ping_is_answered_with_the_private_pong(raw: Raw) -> None:
    pong = raw.ask({"op": "ping"})
    assert pong["op"] == "pong" and pong["conn_id"]
    assert abs(int(pong["args"][0]) - now_ms()) < 5000
    assert raw.ask({"op": "ping", "req_id": "hb-1"})["req_id"] == "hb-1"


def test_auth_then_subscribe(raw: Raw) -> None:
    refused = raw.ask({"op": "subscribe", "args": ["order"], "req_id": "early"})
    assert (refused["success"], refused["op"], refused["req_id"]) == (False, "subscribe", "early")
    ok = raw.auth()
    assert ok == {"success": True, "ret_msg": "", "op": "auth", "conn_id": ok["conn_id"]}
    acked = raw.ask({"op": "subscribe", "args": ["order", "wallet"], "req_id": "r1"})
    assert (acked["success"], acked["op"], acked["req_id"]) == (True, "subscribe", "r1")
    unknown = raw.ask({"op": "subscribe", "args": ["orderbook.1.BTCUSDT"], "req_id": "r2"})
    assert unknown["success"] is False and "orderbook.1.BTCUSDT" in unknown["ret_msg"]


@pytest.mark.parametrize("case", ["wrong-secret", "expired"])
def test_bad_auth_is_refused(raw: Raw, case: str) -> None:
    answer = raw.auth(secret="wrong") if case == "wrong-secret" \
        else raw.auth(expires=now_ms() - 1000)
    assert answer["success"] is False and answer["op"] == "auth"


def test_pybit_receives_order_execution_position_and_wallet(server: SimServerHandle) -> None:
    inbox = Inbox()
    ws = pybit_ws(server, inbox)
    try:
        wait_until(ws.is_connected)
        time.sleep(0.1)  # the subscribe acks (pybit does not expose them)
        http = make_http(server.rest_url, server.api_key, server.api_secret)
        ids = http.place_order(**MARKET_BUY, orderLinkId="ws-1")["result"]
        got = inbox.by_topic(TOPICS)
    finally:
        ws.exit()
    for message in got.values():
        assert set(message) == {"id", "topic", "creationTime", "data"}
        assert isinstance(message["creationTime"], int)
    order = got["order"]["data"][-1]
    assert (order["orderId"], order["orderLinkId"], order["orderStatus"], order["category"]) \
        == (ids["orderId"], "ws-1", "Filled", "linear")
    execution = got["execution"]["data"][0]
    assert (execution["orderId"], execution["execQty"], execution["execType"]) \
        == (ids["orderId"], "0.01", "Trade")
    position = got["position"]["data"][0]
    assert (position["symbol"], position["side"], position["size"]) == ("BTCUSDT", "Buy", "0.01")
    assert "entryPrice" in position and "avgPrice" not in position
    wallet = got["wallet"]["data"][0]
    usdt = next(c for c in wallet["coin"] if c["coin"] == "USDT")
    assert wallet["accountType"] == "UNIFIED"
    assert Decimal(usdt["walletBalance"]) == Decimal(100000) - Decimal(execution["execFee"])


def test_categorised_topic_filters_and_names_the_topic(raw: Raw,
                                                       server: SimServerHandle) -> None:
    raw.auth()
    raw.ask({"op": "subscribe", "args": ["order.spot", "execution.linear"]})
    make_http(server.rest_url, server.api_key, server.api_secret).place_order(**MARKET_BUY)
    message = raw.recv()
    assert message["topic"] == "execution.linear"
    raw.ws.settimeout(0.3)
    with pytest.raises(websocket.WebSocketTimeoutException):
        raw.recv()  # no order.spot traffic from a linear order


def drive(server: SimServerHandle, raw: Raw) -> list[str]:
    raw.auth()
    raw.ask({"op": "subscribe", "args": list(TOPICS)})
    make_http(server.rest_url, server.api_key, server.api_secret).place_order(**MARKET_BUY)
    raw.ws.settimeout(0.6)
    topics: list[str] = []
    ids: list[str] = []
    try:
        while True:
            try:
                message = raw.recv()
            except websocket.WebSocketTimeoutException:
                return [f"{t}:{i}" for t, i in zip(topics, ids, strict=True)]
            topics.append(message["topic"])
            ids.append(message["id"])
    finally:
        raw.close()


def test_ws_faults_drop_dup_reorder(start_server: StartServer) -> None:
    clean_server = start_server()
    clean = drive(clean_server, Raw(clean_server))
    assert [x.split(":")[0] for x in clean] == ["execution", "order", "position", "wallet"]

    dropped = start_server(faults="ws_drop=1@order")
    assert [x.split(":")[0] for x in drive(dropped, Raw(dropped))] \
        == ["execution", "position", "wallet"]

    dup = start_server(faults="ws_dup=1@execution")
    seen = drive(dup, Raw(dup))
    assert [x.split(":")[0] for x in seen] == ["execution", "execution", "order", "position",
                                               "wallet"]
    assert seen[0] == seen[1]  # the same message (same id) twice

    late = start_server(faults="ws_reorder=1@order")
    assert [x.split(":")[0] for x in drive(late, Raw(late))] \
        == ["execution", "position", "order", "wallet"]


def test_disconnect_after_cuts_each_connection(start_server: StartServer) -> None:
    server = start_server(faults="ws_disconnect_after=200ms")
    raw = Raw(server)
    try:
        raw.auth()
        raw.ws.settimeout(3)
        started = time.monotonic()
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError)):
            while True:
                raw.recv()
        assert 0.15 < time.monotonic() - started < 2.5
    finally:
        raw.close()


@pytest.mark.parametrize("mode", ["abort", "close"])
def test_pybit_reconnects_resubscribes_after_a_server_side_drop(server: SimServerHandle,
                                                                mode: str) -> None:
    """What pybit 5.17 (websocket-client 1.9) does when the server drops the stream:
    an abort (TCP cut) and a close frame (any code) both reach its `_on_error`, which
    reconnects, authenticates again and replays its subscriptions, on a new thread.
    The events in between are not replayed: the consumer must reconcile."""
    inbox = Inbox()
    ws = pybit_ws(server, inbox, topics=("order",))
    try:
        wait_until(ws.is_connected)
        time.sleep(0.1)
        first_thread = ws.wst
        assert server.run(lambda: server.front_end.disconnect_private(mode=mode)) == 1
        wait_until(lambda: ws.wst is not first_thread and ws.is_connected(), timeout=5)
        wait_until(lambda: any(c.topics for c in server.front_end.hub.connections))
        http = make_http(server.rest_url, server.api_key, server.api_secret)
        ids = http.place_order(**MARKET_BUY)["result"]
        message = inbox.until(lambda m: m["data"][0]["orderId"] == ids["orderId"])
        assert message["topic"] == "order"
    finally:
        ws.exit()


def test_pybit_stops_for_good_after_a_refused_auth(server: SimServerHandle) -> None:
    """pybit raises inside its callback thread on success=false; websocket-client hands
    that to `_on_error`, which exits without reconnecting and tells no one."""
    ws = pybit_ws(server, Inbox(), secret="wrong-secret", topics=())
    try:
        wait_until(lambda: ws.exited, timeout=5)
        assert not ws.is_connected()
    finally:
        ws.exit()
