"""Conformance of the simulated Binance user-data streams with Binance's event docs.

USD-M: a listenKey from `POST /fapi/v1/listenKey`, then `<ws>/private/ws?listenKey=...`;
orders placed through python-binance must push ORDER_TRADE_UPDATE, TRADE_LITE,
ACCOUNT_UPDATE and ALGO_UPDATE with the documented fields, and an expired key must push
listenKeyExpired. Spot: the WebSocket API at `<ws>/ws-api/v3`, subscribed with
`userDataStream.subscribe.signature`, must push executionReport and
outboundAccountPosition inside the documented {"subscriptionId", "event"} wrapper.

The streams are read with a plain aiohttp WebSocket client (no Binance library here
speaks these URLs without patching). One front-end serves the module.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
from binance.client import Client
from binance_docs import check
from test_conformance_support import KEY, SECRET, SimOnThread, explain, python_binance

SYMBOL = "BTCUSDT"
_ids = itertools.count(1)
Message = dict[str, Any]


def cid(prefix: str) -> str:
    return f"{prefix}-{int(time.time())}-{next(_ids)}"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimOnThread]:
    handle = SimOnThread(seed=8)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def client(sim: SimOnThread) -> Client:
    return python_binance(sim.url)


def ws_origin(url: str) -> str:
    return "ws" + url.removeprefix("http")


async def until(ws: aiohttp.ClientWebSocketResponse, wanted: Callable[[Message], bool],
                seen: list[Message], timeout: float = 5.0) -> Message:
    """The next message `wanted` accepts (every message read is kept in `seen`)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no such message; seen {json.dumps(seen)[:1500]}")
        try:
            raw = await ws.receive(timeout=left)
        except TimeoutError:
            raise AssertionError(f"no such message in {timeout} s; seen "
                                 f"{json.dumps(seen)[:1500]}") from None
        if raw.type is not aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"stream ended ({raw.type}); seen {json.dumps(seen)[:1500]}")
        message: Message = json.loads(raw.data)
        seen.append(message)
        if wanted(message):
            return message


async def collect(ws: aiohttp.ClientWebSocketResponse,
                  wanted: dict[str, Callable[[Message], bool]], seen: list[Message],
                  timeout: float = 5.0) -> dict[str, Message]:
    """The first message each predicate accepts, whatever order they arrive in (Binance
    does not document the order of the events one fill pushes)."""
    found: dict[str, Message] = {}
    deadline = time.monotonic() + timeout

    def any_new(message: Message) -> bool:
        for name, accepts in wanted.items():
            if name not in found and accepts(message):
                found[name] = message
        return len(found) == len(wanted)

    await until(ws, any_new, seen, max(deadline - time.monotonic(), 0.01))
    return found


def event(kind: str, **match: Any) -> Callable[[Message], bool]:
    def wanted(message: Message) -> bool:
        body = unwrap(message)
        if body.get("e") != kind:
            return False
        inner = body.get("o", {})
        return all(inner.get(k) == v for k, v in match.items())
    return wanted


def unwrap(message: Message) -> Message:
    """A combined-stream frame {"stream", "data"} carries the event in "data"."""
    data = message.get("data")
    return data if "stream" in message and isinstance(data, dict) else message


@pytest.fixture(scope="module")
def usdm_events(sim: SimOnThread, client: Client) -> dict[str, Message]:
    """One pass through the USD-M stream: a resting LIMIT order (NEW), a MARKET fill
    (ORDER_TRADE_UPDATE TRADE, TRADE_LITE, ACCOUNT_UPDATE, in any order), a conditional
    order (ALGO_UPDATE), then the key expired by the sim (listenKeyExpired). The events,
    unwrapped, by what they are."""
    key = client.futures_stream_get_listen_key()

    async def main() -> dict[str, Message]:
        seen: list[Message] = []
        got: dict[str, Message] = {"key": {"listenKey": key}}
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"{ws_origin(sim.url)}/private/ws?listenKey={key}") as ws:
            limit_id = cid("ws-fut-limit")
            await asyncio.to_thread(
                client.futures_create_order, symbol=SYMBOL, side="BUY", type="LIMIT",
                timeInForce="GTC", quantity="0.01", price="50000", newClientOrderId=limit_id)
            got["new"] = await until(ws, event("ORDER_TRADE_UPDATE", c=limit_id, x="NEW"),
                                     seen)
            market_id = cid("ws-fut-mkt")
            await asyncio.to_thread(
                client.futures_create_order, symbol=SYMBOL, side="BUY", type="MARKET",
                quantity="0.01", newClientOrderId=market_id)
            got.update(await collect(ws, {
                "trade": event("ORDER_TRADE_UPDATE", c=market_id, x="TRADE"),
                "lite": lambda m: unwrap(m).get("e") == "TRADE_LITE",
                "account": lambda m: unwrap(m).get("e") == "ACCOUNT_UPDATE"}, seen))
            algo_id = cid("ws-fut-algo")
            await asyncio.to_thread(
                client.futures_create_algo_order, algoType="CONDITIONAL", symbol=SYMBOL,
                side="SELL", type="STOP_MARKET", quantity="0.01", triggerPrice="40000",
                clientAlgoId=algo_id)
            got["algo"] = await until(ws, event("ALGO_UPDATE", caid=algo_id), seen)
            await asyncio.to_thread(sim.call, sim.front_end.listen_keys.expire_now, key)
            got["expired"] = await until(
                ws, lambda m: unwrap(m).get("e") == "listenKeyExpired", seen)
        return {name: unwrap(message) for name, message in got.items()}

    return asyncio.run(main())


def test_usdm_user_data_event_fields(usdm_events: dict[str, Message]) -> None:
    found = [*check("usdm ORDER_TRADE_UPDATE", usdm_events["new"]),
             *check("usdm ORDER_TRADE_UPDATE", usdm_events["trade"]),
             *check("usdm TRADE_LITE", usdm_events["lite"]),
             *check("usdm ACCOUNT_UPDATE", usdm_events["account"]),
             *check("usdm ALGO_UPDATE", usdm_events["algo"]),
             *check("usdm listenKeyExpired", usdm_events["expired"])]
    assert not found, explain(found)
    assert usdm_events["account"]["a"]["P"], "a fill moves a position"
    assert usdm_events["expired"]["listenKey"] == usdm_events["key"]["listenKey"]


def test_usdm_trailing_fields_only_on_trailing_orders(usdm_events: dict[str, Message]) -> None:
    """ORDER_TRADE_UPDATE: "AP" (activation price) and "cr" (callback rate) are "only
    pushed with TRAILING_STOP_MARKET order" (the event page)."""
    pushed = {(name, field) for name in ("new", "trade") for field in ("AP", "cr")
              if field in usdm_events[name]["o"]
              and usdm_events[name]["o"].get("o") != "TRAILING_STOP_MARKET"}
    assert not pushed, (f"pushed on {sorted({usdm_events[n]['o']['o'] for n, _ in pushed})} "
                        f"orders: {sorted(pushed)}")


def signature(params: dict[str, Any]) -> str:
    """The WS-API signature: HMAC-SHA256 over the parameters sorted by name."""
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    return hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()


def report(client_id: str, execution: str) -> Callable[[Message], bool]:
    def wanted(m: Message) -> bool:
        e = m.get("event", {})
        return bool(e.get("e") == "executionReport" and e.get("c") == client_id
                    and e.get("x") == execution)
    return wanted


@pytest.fixture(scope="module")
def spot_events(sim: SimOnThread, client: Client) -> dict[str, Message]:
    """One pass through the spot WS-API user-data stream: a resting LIMIT order (NEW)
    and a MARKET fill (executionReport NEW and TRADE, outboundAccountPosition), each
    frame as received ({"subscriptionId", "event"})."""
    async def main() -> dict[str, Message]:
        seen: list[Message] = []
        got: dict[str, Message] = {}
        async with aiohttp.ClientSession() as session, session.ws_connect(
                f"{ws_origin(sim.url)}/ws-api/v3") as ws:
            params: dict[str, Any] = {"apiKey": KEY, "timestamp": int(time.time() * 1000)}
            params["signature"] = signature(params)
            await ws.send_json({"id": "sub-1", "method": "userDataStream.subscribe.signature",
                                "params": params})
            got["subscribed"] = await until(ws, lambda m: m.get("id") == "sub-1", seen)
            limit_id = cid("ws-spot-limit")
            await asyncio.to_thread(
                client.create_order, symbol=SYMBOL, side="BUY", type="LIMIT",
                timeInForce="GTC", quantity="0.001", price="50000", newClientOrderId=limit_id)
            got["new"] = await until(ws, report(limit_id, "NEW"), seen)
            market_id = cid("ws-spot-mkt")
            await asyncio.to_thread(client.create_order, symbol=SYMBOL, side="BUY",
                                    type="MARKET", quantity="0.001",
                                    newClientOrderId=market_id)
            got.update(await collect(ws, {
                "market new": report(market_id, "NEW"),
                "trade": report(market_id, "TRADE"),
                "position":
                    lambda m: m.get("event", {}).get("e") == "outboundAccountPosition"},
                seen))
        return got

    return asyncio.run(main())


def test_spot_user_data_event_fields(spot_events: dict[str, Message]) -> None:
    assert spot_events["subscribed"].get("status") == 200, spot_events["subscribed"]
    found: list[Any] = []
    for name, table in (("new", "spot executionReport"), ("trade", "spot executionReport"),
                        ("position", "spot outboundAccountPosition")):
        found += check("spot WS-API event wrapper", spot_events[name])
        found += check(table, spot_events[name]["event"])
    assert not found, explain(found)


def test_spot_working_time_only_for_orders_on_the_book(
        spot_events: dict[str, Message]) -> None:
    """executionReport "W" (working time) is "only visible if the order has been placed
    on the book": a MARKET order never rests there."""
    for name in ("market new", "trade"):
        report_ = spot_events[name]["event"]
        assert "W" not in report_, f"MARKET order {name}: W={report_.get('W')} (w={report_['w']})"
