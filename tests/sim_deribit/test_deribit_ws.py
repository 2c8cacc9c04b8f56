"""The WebSocket /ws/api/v2: answers by id with Deribit's stamps, auth on the
connection, subscriptions delivering user.* notifications, heartbeats that close a
silent client, cancel-on-disconnect that really cancels, and 10028 ending the session."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from deribit_helpers import BTC, Sim, WsClient


@pytest.fixture()
def sim() -> Iterator[Sim]:
    handle = Sim(heartbeat_unit_ms=20)
    try:
        yield handle
    finally:
        handle.stop()


def _order_state(sim: Sim, order_id: str) -> dict[str, object]:
    result: dict[str, object] = sim.result("private/get_order_state", {"order_id": order_id})
    return result


def test_answers_echo_ids_and_need_auth(sim: Sim) -> None:
    async def scenario() -> None:
        client = await WsClient(sim).open()
        try:
            refused = await client.call("private/get_positions", {"currency": "BTC"})
            assert refused["error"]["code"] == 13009
            hello = await client.call("public/hello", {"client_name": "t",
                                                       "client_version": "1"})
            assert hello["result"]["version"] and hello["testnet"] is True
            assert hello["usDiff"] == hello["usOut"] - hello["usIn"]
            login = await client.login()
            assert login["result"]["token_type"] == "bearer"
            ok = await client.call("private/get_positions", {"currency": "BTC"})
            assert ok["result"] == [] and ok["jsonrpc"] == "2.0"
            unknown = await client.call("private/nothing")
            assert unknown["error"]["code"] == -32601
        finally:
            await client.close()
    sim.run(scenario())


def test_access_token_parameter_authenticates_a_request(sim: Sim) -> None:
    token = sim.token()

    async def scenario() -> None:
        client = await WsClient(sim).open()
        try:
            ok = await client.call("private/get_positions", {"currency": "BTC",
                                                             "access_token": token})
            assert ok["result"] == []
        finally:
            await client.close()
    sim.run(scenario())


def test_subscriptions_deliver_orders_trades_changes_portfolio(sim: Sim) -> None:
    channels = [f"user.orders.{BTC}.raw", "user.trades.future.BTC.100ms",
                f"user.changes.{BTC}.100ms", "user.portfolio.btc",
                "user.orders.future.ETH.raw", "user.nonsense"]

    async def scenario() -> None:
        client = await WsClient(sim).open()
        try:
            public = await client.call("public/subscribe", {"channels": channels[:1]})
            assert public["result"] == []
            await client.login()
            answer = await client.call("private/subscribe", {"channels": channels})
            assert answer["result"] == channels[:5]
            placed = await client.call("private/buy", {"instrument_name": BTC,
                                                       "amount": 20, "type": "market",
                                                       "label": "ws1"})
            assert placed["result"]["order"]["order_state"] == "filled"
            notes = await client.wait_notes(4)
            by_channel: dict[str, list[object]] = {}
            for note in notes:
                assert note["method"] == "subscription"
                by_channel.setdefault(note["params"]["channel"], []).append(
                    note["params"]["data"])
            assert set(by_channel) == set(channels[:4])
            order = by_channel[channels[0]][-1]
            assert isinstance(order, dict) and order["label"] == "ws1"
            trades = by_channel[channels[1]][0]
            assert isinstance(trades, list) and trades[0]["instrument_name"] == BTC
            change = by_channel[channels[2]][0]
            assert isinstance(change, dict)
            assert change["instrument_name"] == BTC
            assert change["trades"] and change["positions"] and change["orders"]
            portfolio = by_channel[channels[3]][-1]
            assert isinstance(portfolio, dict) and portfolio["currency"] == "BTC"
            gone = await client.call("private/unsubscribe", {"channels": channels[:1]})
            assert gone["result"] == channels[:1]
        finally:
            await client.close()
    sim.run(scenario())


def test_unanswered_heartbeat_closes_and_cancels_on_disconnect(sim: Sim) -> None:
    async def scenario() -> str:
        client = await WsClient(sim).open()
        await client.login()
        assert (await client.call("private/enable_cancel_on_disconnect"))["result"] == "ok"
        state = await client.call("private/get_cancel_on_disconnect")
        assert state["result"] == {"scope": "connection", "enabled": True}
        placed = await client.call("private/buy", {"instrument_name": BTC, "amount": 10,
                                                   "price": 40000})
        order_id: str = placed["result"]["order"]["order_id"]
        refused = await client.call("public/set_heartbeat", {"interval": 5})
        assert refused["error"]["code"] == -32602
        assert (await client.call("public/set_heartbeat", {"interval": 10}))["result"] == "ok"
        await asyncio.wait_for(client.closed.wait(), 5)
        assert any(n.get("method") == "heartbeat"
                   and n["params"]["type"] == "test_request" for n in client.notes)
        await client.close()
        await asyncio.sleep(0.05)
        return order_id
    order_id = sim.run(scenario())
    state = _order_state(sim, order_id)
    assert state["order_state"] == "cancelled"
    assert state["cancel_reason"] == "cancel_on_disconnect"


def test_answered_heartbeats_keep_the_connection(sim: Sim) -> None:
    async def scenario() -> None:
        client = await WsClient(sim).open()
        try:
            await client.call("public/set_heartbeat", {"interval": 10})
            answered = 0
            for _ in range(60):
                await asyncio.sleep(0.02)
                requests_ = [n for n in client.notes if n.get("method") == "heartbeat"]
                while answered < len(requests_):
                    await client.send("public/test")
                    answered += 1
            assert answered >= 2 and not client.closed.is_set()
        finally:
            await client.close()
    sim.run(scenario())


def test_close_cancels_only_with_the_flag_and_not_after_logout(sim: Sim) -> None:
    async def place(enable: bool, logout: bool) -> str:
        client = await WsClient(sim).open()
        await client.login()
        if enable:
            await client.call("private/enable_cancel_on_disconnect",
                              {"scope": "connection"})
        placed = await client.call("private/buy", {"instrument_name": BTC, "amount": 10,
                                                   "price": 40000})
        if logout:
            await client.send("private/logout")
            await asyncio.wait_for(client.closed.wait(), 5)
        await client.close()
        await asyncio.sleep(0.05)
        order_id: str = placed["result"]["order"]["order_id"]
        return order_id

    kept = sim.run(place(enable=False, logout=False))
    cancelled = sim.run(place(enable=True, logout=False))
    logged_out = sim.run(place(enable=True, logout=True))
    assert _order_state(sim, kept)["order_state"] == "open"
    assert _order_state(sim, cancelled)["order_state"] == "cancelled"
    assert _order_state(sim, logged_out)["order_state"] == "open"


def test_inactivity_fires_cancel_on_disconnect(sim: Sim) -> None:
    async def scenario() -> str:
        client = await WsClient(sim).open()
        await client.login()
        await client.call("private/enable_cancel_on_disconnect")
        placed = await client.call("private/sell", {"instrument_name": BTC, "amount": 10,
                                                    "price": 80000})
        sim.clock.offset += 600_001
        await asyncio.wait_for(client.closed.wait(), 5)
        await client.close()
        await asyncio.sleep(0.05)
        order_id: str = placed["result"]["order"]["order_id"]
        return order_id
    order_id = sim.run(scenario())
    sim.clock.offset -= 600_001
    assert _order_state(sim, order_id)["order_state"] == "cancelled"


def test_account_scope_starts_new_connections_with_it_on(sim: Sim) -> None:
    assert sim.result("private/enable_cancel_on_disconnect", {"scope": "account"}) == "ok"
    assert sim.result("private/get_cancel_on_disconnect", {"scope": "account"}) == {
        "scope": "account", "enabled": True}
    assert sim.error("private/enable_cancel_on_disconnect")["code"] == 10030

    async def scenario() -> None:
        client = await WsClient(sim).open()
        try:
            await client.login()
            state = await client.call("private/get_cancel_on_disconnect")
            assert state["result"]["enabled"] is True
        finally:
            await client.close()
    sim.run(scenario())


def test_empty_credit_pool_answers_10028_and_ends_the_session() -> None:
    handle = Sim(rate_limits={"pool": 1500, "refill_per_s": 1, "cost": 500})
    try:
        async def scenario() -> None:
            client = await WsClient(handle).open()
            await client.login()
            for _ in range(3):  # the account's pool: 1500 credits, 500 a request
                assert "result" in await client.call("private/get_positions",
                                                      {"currency": "BTC"})
            refused = await client.call("private/get_positions", {"currency": "BTC"})
            assert refused["error"]["code"] == 10028
            await asyncio.wait_for(client.closed.wait(), 5)
            await client.close()
        handle.run(scenario())
    finally:
        handle.stop()
