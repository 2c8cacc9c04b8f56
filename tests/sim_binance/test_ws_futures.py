"""The USD-M user-data stream at /private/ws?listenKey=...: who may connect, what arrives
(raw event objects, no wrapper), listenKey expiry and closing, the 24-hour limit, pings,
and the shared push faults, over a real loopback connection."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from binance_ws_helpers import (
    ACCOUNT,
    KEY,
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
from console.sim.binance.ws import BinanceStream


def test_a_dead_or_missing_listen_key_is_refused_before_the_upgrade() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http:
            for url in (sim.futures_url("nope"), f"{sim.origin}/private/ws"):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await http.ws_connect(url)
                assert refused.value.status == 400
            plain = sim.futures_url("nope").replace("ws://", "http://")
            async with http.get(plain) as answer:
                assert answer.status == 400
                assert await answer.json() == {"code": -1125,
                                               "msg": "This listenKey does not exist."}
    run(body)


def test_pushes_are_raw_usdm_events_and_spot_stays_out() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.futures_url(sim.listen_key())) as ws:
            sim.market_buy(Category.SPOT, qty="0.001")  # not for this stream
            sim.market_buy(client_id="f-1")
            got = await drain(ws)
            assert [m["e"] for m in got] == ["ORDER_TRADE_UPDATE", "TRADE_LITE",
                                             "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
            for message in got:
                check_event(message)  # the event itself: no {"stream", "data"} wrapper
            assert {m["o"]["c"] for m in got if m["e"] == "ORDER_TRADE_UPDATE"} == {"f-1"}
    run(body)


def test_listen_key_expiry_pushes_listen_key_expired_then_closes() -> None:
    clock = Clock()

    async def body() -> None:
        async with serving(clock=clock) as sim, aiohttp.ClientSession() as http:
            key = sim.listen_key()
            ws = await http.ws_connect(sim.futures_url(key))
            clock.now += sim.listen_keys.ttl_ms + 1
            sim.listen_keys.sweep()
            expired = await next_json(ws)
            check_event(expired)
            assert (expired["e"], expired["listenKey"], expired["E"]) == (
                "listenKeyExpired", key, clock.now)
            closing = await ws.receive(timeout=3)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            await ws.close()
            with pytest.raises(aiohttp.WSServerHandshakeError):
                await http.ws_connect(sim.futures_url(key))
    run(body)


def test_a_key_found_dead_at_push_time_ends_the_same_way() -> None:
    """No sweep ran: the next push finds the key dead, and the stream sends
    listenKeyExpired instead of the events."""
    clock = Clock()

    async def body() -> None:
        async with serving(clock=clock) as sim, aiohttp.ClientSession() as http:
            key = sim.listen_key()
            ws = await http.ws_connect(sim.futures_url(key))
            clock.now += sim.listen_keys.ttl_ms + 1
            sim.market_buy()
            got = await drain(ws)
            assert [m["e"] for m in got] == ["listenKeyExpired"]
            assert ws.closed or (await ws.receive(timeout=1)).type in (
                aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    run(body)


def test_expire_now_from_another_thread_still_reaches_the_loop() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http:
            key = sim.listen_key()
            ws = await http.ws_connect(sim.futures_url(key))
            await asyncio.to_thread(sim.listen_keys.expire_now, key)
            expired = await next_json(ws)
            assert expired["e"] == "listenKeyExpired"
    run(body)


def test_closing_the_key_closes_the_stream_without_an_event() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http:
            key = sim.listen_key()
            ws = await http.ws_connect(sim.futures_url(key))
            other = await http.ws_connect(sim.futures_url(key))
            sim.listen_keys.close(key)
            for conn in (ws, other):
                msg = await conn.receive(timeout=3)
                assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    run(body)


def test_connections_end_at_their_maximum_age() -> None:
    def short_lived(stream: BinanceStream) -> None:
        stream.max_connection_age_s = 0.3

    async def body() -> None:
        async with serving(configure=short_lived) as sim, aiohttp.ClientSession() as http:
            ws = await http.ws_connect(sim.futures_url(sim.listen_key()))
            loop = asyncio.get_running_loop()
            started = loop.time()
            msg = await ws.receive(timeout=3)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert loop.time() - started >= 0.25
            api = await http.ws_connect(sim.api_url)
            msg = await api.receive(timeout=3)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    run(body)


def test_the_server_pings() -> None:
    def fast_pings(stream: BinanceStream) -> None:
        stream.futures_ping_s = 0.1

    async def body() -> None:
        async with serving(configure=fast_pings) as sim, aiohttp.ClientSession() as http:
            ws = await http.ws_connect(sim.futures_url(sim.listen_key()), autoping=False)
            msg = await ws.receive(timeout=3)
            assert msg.type is aiohttp.WSMsgType.PING
            await ws.pong(msg.data)
            await ws.close()
    run(body)


def test_client_requests_get_the_stream_protocol_answers() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.futures_url(sim.listen_key())) as ws:
            await ws.send_str('{"method": "LIST_SUBSCRIPTIONS", "id": 3}')
            assert await next_json(ws) == {"result": [], "id": 3}
            await ws.send_str('{"method": "SUBSCRIBE", "params": ["x"], "id": 4}')
            assert await next_json(ws) == {"result": None, "id": 4}
            await ws.send_str("{nope")
            assert (await next_json(ws))["code"] == 3
            await ws.send_str('{"method": "FLY", "id": 5}')
            assert (await next_json(ws))["code"] == 2
    run(body)


@pytest.mark.parametrize(("spec", "expected"), [
    ("ws_drop=1@TRADE_LITE", ["ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]),
    ("ws_dup=1@ACCOUNT_UPDATE", ["ORDER_TRADE_UPDATE", "TRADE_LITE", "ORDER_TRADE_UPDATE",
                                 "ACCOUNT_UPDATE", "ACCOUNT_UPDATE"]),
    ("ws_reorder=1@TRADE_LITE", ["ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE", "TRADE_LITE",
                                 "ACCOUNT_UPDATE"]),
])
def test_push_faults_match_event_types(spec: str, expected: list[str]) -> None:
    async def body() -> None:
        async with serving(faults=spec) as sim, aiohttp.ClientSession() as http, \
                http.ws_connect(sim.futures_url(sim.listen_key())) as ws:
            sim.market_buy()
            assert [m["e"] for m in await drain(ws)] == expected
    run(body)


def test_the_hub_cuts_both_kinds_of_session() -> None:
    async def body() -> None:
        async with serving() as sim, aiohttp.ClientSession() as http:
            futures = await http.ws_connect(sim.futures_url(sim.listen_key()))
            api = await http.ws_connect(sim.api_url)
            await subscribe_signed(sim, api)
            assert await sim.hub.disconnect(ACCOUNT) == 2
            for ws in (futures, api):
                msg = await ws.receive(timeout=3)
                assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                    aiohttp.WSMsgType.ERROR)
    run(body)


def test_disconnect_after_fault_applies_to_listen_key_sessions() -> None:
    async def body() -> None:
        async with serving(faults="ws_disconnect_after=200ms;ws_disconnect_mode=close") \
                as sim, aiohttp.ClientSession() as http:
            ws = await http.ws_connect(sim.futures_url(sim.listen_key()))
            msg = await ws.receive(timeout=3)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    run(body)


async def subscribe_signed(sim: Served, ws: aiohttp.ClientWebSocketResponse) -> int:
    params = signed({"apiKey": KEY, "timestamp": sim.clock()})
    await ws.send_json({"id": 1, "method": "userDataStream.subscribe.signature",
                        "params": params})
    answer = await next_json(ws)
    assert answer["status"] == 200, answer
    return int(answer["result"]["subscriptionId"])
