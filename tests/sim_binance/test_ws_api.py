"""The spot WebSocket API at /ws-api/v3: signature and logon subscriptions, the answers'
envelope, errors with Binance's codes, events under their subscription, and
eventStreamTerminated, over a real loopback connection."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from binance_ws_helpers import (
    KEY,
    SECRET,
    Clock,
    Served,
    check_event,
    drain,
    next_json,
    run,
    serving,
    signed,
)

from console.domain.enums import Category
from console.sim.binance.ws_api import sign, signature_payload

Ws = aiohttp.ClientWebSocketResponse


async def ask(ws: Ws, method: str, params: dict[str, Any] | None = None,
              req_id: Any = "r") -> dict[str, Any]:
    message: dict[str, Any] = {"id": req_id, "method": method}
    if params is not None:
        message["params"] = params
    await ws.send_json(message)
    answer: dict[str, Any] = await next_json(ws)
    assert answer["id"] == req_id
    return answer


async def subscribe(sim: Served, ws: Ws) -> int:
    answer = await ask(ws, "userDataStream.subscribe.signature",
                       signed({"apiKey": KEY, "timestamp": sim.clock()}))
    assert answer["status"] == 200, answer
    return int(answer["result"]["subscriptionId"])


def test_the_docs_hmac_example() -> None:
    """web-socket-api.md "SIGNED request example (HMAC)": payload and signature."""
    params: dict[str, object] = {
        "symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.01000000", "price": "52000.00", "recvWindow": 100,
        "timestamp": 1645423376532,
        "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"}
    assert signature_payload(params) == (
        "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price="
        "52000.00&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce="
        "GTC&timestamp=1645423376532&type=LIMIT")
    assert sign("NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
                params) == "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"


def test_ping_and_time_with_rate_limits() -> None:
    clock = Clock()

    async def body() -> None:
        async with serving(clock=clock) as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url) as ws:
            pong = await ask(ws, "ping", req_id=7)
            assert (pong["status"], pong["result"]) == (200, {})
            (limit,) = pong["rateLimits"]
            assert limit == {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                             "intervalNum": 1, "limit": 6000, "count": 1}
            time = await ask(ws, "v3/time", req_id=None)
            assert time["result"] == {"serverTime": clock.now}
            assert time["rateLimits"][0]["count"] == 2
        async with serving() as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url + "?returnRateLimits=false") as ws:
            assert "rateLimits" not in await ask(ws, "ping")
    run(body)


def test_signature_subscription_delivers_wrapped_spot_events_only() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url) as ws:
            assert await subscribe(sim, ws) == 0
            sim.market_buy()  # USD-M: not for this session
            sim.market_buy(Category.SPOT, qty="0.001", client_id="s-1")
            got = await drain(ws)
            assert {m["subscriptionId"] for m in got} == {0}
            assert all(set(m) == {"subscriptionId", "event"} for m in got)
            events = [m["event"] for m in got]
            assert [e["e"] for e in events] == ["executionReport", "executionReport",
                                                "outboundAccountPosition"]
            for event in events:
                check_event(event)
            assert [(e["c"], e["x"]) for e in events[:2]] == [("s-1", "NEW"),
                                                              ("s-1", "TRADE")]
    run(body)


def test_deposit_is_balance_update_then_account_position() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url) as ws:
            await subscribe(sim, ws)
            sim.exchange.deposit("acct", "BTC", Decimal("0.5"))
            events = [m["event"] for m in await drain(ws)]
            assert [e["e"] for e in events] == ["balanceUpdate", "outboundAccountPosition"]
            assert (events[0]["a"], events[0]["d"]) == ("BTC", "0.5")
    run(body)


@pytest.mark.parametrize(("case", "status", "code"), [
    ("bad-signature", 400, -1022),
    ("unknown-key", 401, -2015),
    ("stale", 400, -1021),
    ("ahead", 400, -1021),
    ("no-api-key", 400, -1102),
    ("no-timestamp", 400, -1102),
    ("huge-window", 400, -1130),
])
def test_signature_subscription_errors(case: str, status: int, code: int) -> None:
    clock = Clock()

    async def body() -> None:
        async with serving(clock=clock) as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url) as ws:
            params: dict[str, Any] = {"apiKey": KEY, "timestamp": clock.now}
            secret = SECRET
            if case == "bad-signature":
                secret = "not-the-secret"
            elif case == "unknown-key":
                params["apiKey"] = "someone-else"
            elif case == "stale":
                params["timestamp"] = clock.now - 6000
            elif case == "ahead":
                params["timestamp"] = clock.now + 1500
            elif case == "no-api-key":
                del params["apiKey"]
            elif case == "no-timestamp":
                del params["timestamp"]
            elif case == "huge-window":
                params["recvWindow"] = 60001
            answer = await ask(ws, "userDataStream.subscribe.signature",
                               signed(params, secret))
            assert (answer["status"], answer["error"]["code"]) == (status, code), answer
            assert isinstance(answer["error"]["msg"], str) and "result" not in answer
            assert "rateLimits" in answer
            listed = await ask(ws, "session.subscriptions")  # nothing was subscribed
            assert (listed["result"], listed["rateLimits"][0]["count"]) == ([], 4)
    run(body)


def test_accepted_signature_variants() -> None:
    """recvWindow with decimals (signed as sent), microsecond timestamps, and an
    upper-case signature (HMAC signatures are not case-sensitive)."""
    clock = Clock()

    async def body() -> None:
        async with serving(clock=clock) as sim, aiohttp.ClientSession() as http:
            for params, upper in (
                    ({"apiKey": KEY, "timestamp": clock.now, "recvWindow": 6000.5}, False),
                    ({"apiKey": KEY, "timestamp": clock.now * 1000}, False),
                    ({"apiKey": KEY, "timestamp": clock.now}, True)):
                async with http.ws_connect(sim.api_url) as ws:
                    request = signed(params)
                    if upper:
                        request["signature"] = request["signature"].upper()
                    answer = await ask(ws, "userDataStream.subscribe.signature", request)
                    assert answer["status"] == 200, (params, answer)
    run(body)


def test_malformed_requests() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url) as ws:
            await ws.send_str("{not json")
            answer = await next_json(ws)
            assert (answer["id"], answer["status"], answer["error"]["code"]) == (
                None, 400, -1135)
            unknown = await ask(ws, "order.fly")
            assert (unknown["status"], unknown["error"]["code"]) == (400, -1020)
            await ws.send_json({"id": 1})
            assert (await next_json(ws))["error"]["code"] == -1102
    run(body)


def test_unsubscribe_terminates_then_a_new_subscription_gets_the_next_id() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url) as ws:
            assert await subscribe(sim, ws) == 0
            again = await ask(ws, "userDataStream.subscribe.signature",
                              signed({"apiKey": KEY, "timestamp": sim.clock()}))
            assert (again["status"], again["error"]["code"]) == (400, -2035)
            wrong = await ask(ws, "userDataStream.unsubscribe", {"subscriptionId": 5})
            assert (wrong["status"], wrong["error"]["code"]) == (400, -2036)
            await ws.send_json({"id": "u", "method": "userDataStream.unsubscribe",
                                "params": {"subscriptionId": 0}})
            terminated = await next_json(ws)
            assert terminated["subscriptionId"] == 0
            check_event(terminated["event"])
            assert terminated["event"]["e"] == "eventStreamTerminated"
            answer = await next_json(ws)
            assert (answer["id"], answer["status"], answer["result"]) == ("u", 200, {})
            sim.market_buy(Category.SPOT, qty="0.001")
            assert await drain(ws) == []
            assert await subscribe(sim, ws) == 1
            status = await ask(ws, "session.status")
            assert status["result"]["userDataStream"] is True
    run(body)


def test_logon_style_subscription_and_logout() -> None:
    clock = Clock()

    async def body() -> None:
        async with serving(clock=clock) as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.api_url) as ws:
            refused = await ask(ws, "userDataStream.subscribe")
            assert refused["status"] == 401
            logon = await ask(ws, "session.logon", signed({"apiKey": KEY,
                                                           "timestamp": clock.now}))
            assert logon["status"] == 200
            assert logon["result"] == {
                "apiKey": KEY, "authorizedSince": clock.now, "connectedSince": clock.now,
                "returnRateLimits": True, "serverTime": clock.now, "userDataStream": False}
            sub = await ask(ws, "userDataStream.subscribe")
            assert sub["result"] == {"subscriptionId": 0}
            listed = await ask(ws, "session.subscriptions")
            assert listed["result"] == [{"subscriptionId": 0}]
            await ws.send_json({"id": "out", "method": "session.logout"})
            terminated = await next_json(ws)
            assert terminated["event"]["e"] == "eventStreamTerminated"
            out = await next_json(ws)
            assert out["result"]["apiKey"] is None and out["result"]["userDataStream"] is False
    run(body)


def test_push_faults_apply_to_subscription_events() -> None:
    async def body() -> None:
        async with serving(faults="ws_drop=1@executionReport") as sim, \
                aiohttp.ClientSession() as http, http.ws_connect(sim.api_url) as ws:
            await subscribe(sim, ws)
            sim.market_buy(Category.SPOT, qty="0.001")
            events = [m["event"] for m in await drain(ws)]
            assert [(e["e"], e.get("x")) for e in events] == [
                ("executionReport", "TRADE"), ("outboundAccountPosition", None)]
    run(body)
