"""The private event hub: fan-out of sim events to sessions, and the push faults
(drop, duplicate, reorder, disconnect) applied per session to pushes only."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import WSCloseCode

from console.sim.core import SimExchange
from console.sim.events import SimEvent
from console.sim.protocol.faults import Faults
from console.sim.protocol.hub import REORDER_HOLD_S, EventHub, Session
from console.sim.protocol.keys import ApiKey, KeyStore

KEY_A = ApiKey("ka", "s", "a")
KEY_B = ApiKey("kb", "s", "b")


class FakeTransport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class FakeRequest:
    def __init__(self) -> None:
        self.transport = FakeTransport()


class FakeWs:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed = False
        self.close_code: int | None = None

    async def send_str(self, text: str) -> None:
        self.sent.append(text)

    async def close(self, *, code: int, message: bytes) -> None:
        self.closed = True
        self.close_code = code


class TextSession(Session[str]):
    """Pushes are "topic:n" strings; a client frame is echoed back as an answer."""

    def __init__(self, hub: EventHub[str]) -> None:
        self.fake_ws, self.fake_request = FakeWs(), FakeRequest()
        super().__init__(hub, self.fake_ws, self.fake_request,  # type: ignore[arg-type]
                         f"sim-{hub.next_serial()}")
        self.offered: list[list[str]] = []

    def on_text(self, raw: str) -> None:
        self.reply({"echo": raw})

    def offer(self, pushes: Sequence[str]) -> None:
        self.offered.append(list(pushes))
        for push in pushes:
            self.push(push, push.split(":")[0])


class Source:
    def __init__(self) -> None:
        self.observed: list[SimEvent] = []
        self.converted: list[tuple[str, int]] = []
        self.fail = False

    def observe(self, event: SimEvent) -> None:
        self.observed.append(event)

    def convert(self, account: str, events: Sequence[SimEvent]) -> list[str]:
        if self.fail:
            raise RuntimeError("conversion bug")
        self.converted.append((account, len(events)))
        return [f"wallet:{e.seq}" for e in events]


def make_hub(faults: str = "") -> tuple[EventHub[str], SimExchange, Source]:
    exchange = SimExchange(seed=1)
    for account in ("a", "b", "c"):
        exchange.create_account(account, {"USDT": Decimal(1000)})
    source = Source()
    hub = EventHub(exchange, KeyStore([KEY_A, KEY_B]), Faults(faults, seed=3), lambda: 0,
                   source, venue="test")
    return hub, exchange, source


def run(body: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(body())


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


def test_events_reach_the_sessions_of_their_account_converted_once() -> None:
    hub, exchange, source = make_hub()

    async def body() -> None:
        hub.start(asyncio.get_running_loop())
        a1, a2, b1 = TextSession(hub), TextSession(hub), TextSession(hub)
        for session, key in ((a1, KEY_A), (a2, KEY_A), (b1, KEY_B)):
            hub.add(session)
            session.authenticated(key)
        exchange.deposit("a", "USDT", Decimal(5))
        exchange.deposit("c", "USDT", Decimal(5))  # no key for c: not even observed
        await settle()
        assert a1.offered == a2.offered and len(a1.offered) == 1 and a1.offered[0]
        assert b1.offered == []
        assert [account for account, _ in source.converted] == ["a"]
        assert {e.account for e in source.observed} == {"a"}
        hub.stop()
        exchange.deposit("a", "USDT", Decimal(5))
        await settle()
        assert len(a1.offered) == 1  # unsubscribed from the feeds
    run(body)


def test_events_are_observed_even_when_nobody_listens() -> None:
    hub, exchange, source = make_hub()

    async def body() -> None:
        hub.start(asyncio.get_running_loop())
        exchange.deposit("b", "USDT", Decimal(1))
        await settle()
        assert [e.account for e in source.observed] == ["b"] * len(source.observed)
        assert source.observed and source.converted == []
    run(body)


def test_a_conversion_bug_is_logged_and_later_batches_still_flow(
        caplog: pytest.LogCaptureFixture) -> None:
    hub, exchange, source = make_hub()

    async def body() -> None:
        hub.start(asyncio.get_running_loop())
        session = TextSession(hub)
        hub.add(session)
        session.authenticated(KEY_A)
        source.fail = True
        exchange.deposit("a", "USDT", Decimal(1))
        await settle()
        source.fail = False
        exchange.deposit("a", "USDT", Decimal(1))
        await settle()
        assert len(session.offered) == 1
    with caplog.at_level(logging.ERROR, logger="console.sim.protocol.hub"):
        run(body)
    assert any("test ws: could not convert" in r.getMessage() for r in caplog.records)


async def pump(session: TextSession, pushes: list[str], *, wait: float = 0.05) -> list[str]:
    """Queue `pushes` (as one offer) and return what reached the wire."""
    writer = asyncio.create_task(session.write_loop())
    session.offer(pushes)
    await asyncio.sleep(wait)
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)
    return session.fake_ws.sent


@pytest.mark.parametrize(("faults", "expected"), [
    ("", ["order:1", "order:2", "wallet:3"]),
    ("ws_drop=1@order", ["order:2", "wallet:3"]),
    ("ws_dup=1@wallet", ["order:1", "order:2", "wallet:3", "wallet:3"]),
    ("ws_reorder=1@order", ["order:2", "order:1", "wallet:3"]),
    ("ws_drop=1.0", []),
])
def test_push_faults_per_topic(faults: str, expected: list[str]) -> None:
    hub, _, _ = make_hub(faults)

    async def body() -> None:
        assert await pump(TextSession(hub), ["order:1", "order:2", "wallet:3"]) == expected
    run(body)


def test_a_reordered_push_with_nothing_after_it_is_sent_after_the_hold() -> None:
    hub, _, _ = make_hub("ws_reorder=1")

    async def body() -> None:
        session = TextSession(hub)
        assert await pump(session, ["order:1"], wait=REORDER_HOLD_S / 2) == []
        assert await pump(session, [], wait=REORDER_HOLD_S * 1.5) == ["order:1"]
    run(body)


def test_answers_to_the_client_are_never_faulted() -> None:
    hub, _, _ = make_hub("ws_drop=1.0;ws_dup=1.0")

    async def body() -> None:
        session = TextSession(hub)
        writer = asyncio.create_task(session.write_loop())
        session.on_text("ping")
        session.offer(["order:1"])
        session.on_text("again")
        await asyncio.sleep(0.05)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        assert [json.loads(t) for t in session.fake_ws.sent] == [{"echo": "ping"},
                                                                {"echo": "again"}]
    run(body)


@pytest.mark.parametrize("mode", ["abort", "close"])
def test_disconnect_after_auth(mode: str) -> None:
    hub, _, _ = make_hub(f"ws_disconnect_after=30ms;ws_disconnect_mode={mode}")

    async def body() -> None:
        session, bystander = TextSession(hub), TextSession(hub)
        session.authenticated(KEY_A)  # the bystander never authenticates: never cut
        await asyncio.sleep(0.1)
        cut = session.fake_request.transport.aborted if mode == "abort" \
            else session.fake_ws.close_code == WSCloseCode.GOING_AWAY
        assert cut
        assert not bystander.fake_request.transport.aborted and not bystander.fake_ws.closed
    run(body)


def test_removing_a_session_cancels_its_disconnect_timer() -> None:
    hub, _, _ = make_hub("ws_disconnect_after=30ms")

    async def body() -> None:
        session = TextSession(hub)
        hub.add(session)
        session.authenticated(KEY_A)
        hub.remove(session)
        await asyncio.sleep(0.1)
        assert not session.fake_request.transport.aborted
        assert hub.connections == frozenset()
    run(body)


def test_disconnect_on_demand_by_account_and_close_all() -> None:
    hub, _, _ = make_hub()

    async def body() -> None:
        sessions: dict[str, Any] = {}
        for name, key in (("a1", KEY_A), ("a2", KEY_A), ("b1", KEY_B), ("anon", None)):
            session = TextSession(hub)
            hub.add(session)
            if key is not None:
                session.authenticated(key)
            sessions[name] = session
        assert await hub.disconnect("a") == 2
        assert [n for n, s in sessions.items() if s.fake_request.transport.aborted] \
            == ["a1", "a2"]
        assert await hub.disconnect(mode="close") == 4
        assert all(s.fake_ws.closed for s in sessions.values())
        await hub.close_all()
        assert len(hub.connections) == 4  # closing is not removing: the handler removes
    run(body)


def test_serials_number_sessions_and_anything_else_a_venue_numbers() -> None:
    hub, _, _ = make_hub()
    assert [hub.next_serial() for _ in range(3)] == [1, 2, 3]
