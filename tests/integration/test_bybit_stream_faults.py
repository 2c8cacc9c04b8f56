"""The private stream under hostile pushes and refused credentials, end to end: the real
BybitVenue (pybit's WebSocket and HTTP) against the simulated Bybit front-end on
loopback, with crafted frames put on the wire by the front-end's event hub.

* A push the parser cannot read (a positionIdx of "--1", an object where a string
  belongs, a size of "1e999999999", a frame that is not JSON) is refused by name,
  logged without secrets, counted, and skipped: the stream goes on, no reconnect needed.
* When the client itself dies (whatever the reason), the stream is rebuilt and reported
  as `ConnectionEvent(reconnected=True)`, so the engine reconciles.
* A wrong secret refused at the stream's login is logged once at ERROR, reported as DOWN
  ("authentication was refused"), retried only after a long wait, and the connector's
  REST calls fail fast meanwhile instead of signing with the same secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest
from test_bybit_adapter import (
    ACCOUNT,
    KEY,
    SECRET,
    connected,
    harness,
    intent,
    next_event,
    run,
)

import console.sim.bybit.ws as sim_ws
from console.domain.events import ConnectionEvent, ConnectionState, OrderEvent, VenueEvent
from console.venues._common.errors import VenueAuthError
from console.venues._common.malformed import UNEXPECTED
from console.venues.bybit import stream as bybit_stream

pytestmark = pytest.mark.timeout(60)


def crafted() -> list[tuple[str, str]]:
    """(frame text, the field its warning must name)."""
    now = str(int(time.time() * 1000))
    position = {"category": "linear", "symbol": "TSTUSDT", "side": "Buy", "size": "1",
                "entryPrice": "100", "markPrice": "100", "unrealisedPnl": "0",
                "positionIdx": 0, "updatedTime": now}
    order = {"category": "linear", "orderId": "o-1", "orderLinkId": "", "symbol": "TSTUSDT",
             "side": "Buy", "orderType": "Limit", "price": "95", "qty": "2",
             "orderStatus": "New", "timeInForce": "GTC", "reduceOnly": False,
             "cumExecQty": "0", "avgPrice": "", "triggerPrice": "",
             "createdTime": now, "updatedTime": now}
    execution = {"category": "linear", "execId": "e-1", "execType": "Trade",
                 "symbol": "TSTUSDT", "side": "Buy", "execPrice": "100", "execQty": "1",
                 "execFee": "0.01", "feeCurrency": "USDT", "isMaker": False,
                 "orderId": "o-1", "orderLinkId": "", "execTime": now}

    def push(topic: str, data: Any, **envelope: Any) -> str:
        return json.dumps({"id": "x", "topic": topic, "creationTime": 1, "data": data,
                          **envelope})

    return [
        (push("position", [dict(position, positionIdx="--1")]), "positionIdx"),
        (push("position", [dict(position, size="1e999999999")]), "size"),
        (push("position", [dict(position, symbol={"a": 1})]), "symbol"),
        (push("order", [dict(order, symbol="TST\ud800")]), "symbol"),
        (push("order", [dict(order, qty="١٢")]), "qty"),
        (push("execution", [dict(execution, execTime=str(2 ** 63))]), "execTime"),
        (push("wallet", [{"coin": None}]), "wallet[0].coin"),
        (push("order", None), "stream message.data"),
        (push("order", [order], creationTime="²"), "creationTime"),
        ("this is not json", "expected an object"),
        ("[1, 2, 3]", "expected an object"),
        ('{"topic": "order", "data": [' + "1" * 5000 + "]}", "expected an object"),
        ("[" * 100_000 + "]" * 100_000, "expected an object"),
    ]


async def drain_until_order(events: AsyncIterator[VenueEvent],
                            seen: list[VenueEvent]) -> OrderEvent:
    while True:
        event = await asyncio.wait_for(events.__anext__(), 10)
        seen.append(event)
        if isinstance(event, OrderEvent):
            return event


def test_crafted_pushes_are_skipped_and_the_stream_goes_on(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        async with harness() as h:
            events = h.venue.stream()
            try:
                await connected(events)
                frames = crafted()
                for text, _ in frames:
                    assert h.front_end.hub.send_raw(text, ACCOUNT) == 1
                placed = await h.venue.place_order(intent("rc-w1-e-after-1"))
                seen: list[VenueEvent] = []
                event = await drain_until_order(events, seen)
                assert event.order.venue_order_id == placed.venue_order_id
                # nothing above cost the connection
                assert not [e for e in seen if isinstance(e, ConnectionEvent)]
                malformed = sum(1 for name, _ in h.telemetry.counts if name == "ws_malformed")
                assert malformed == len(frames)
                assert not [n for n, _ in h.telemetry.counts
                            if n in ("ws_callback_errors", "ws_reconnects", "ws_stream_errors")]
            finally:
                await events.aclose()
            warnings = [r.getMessage() for r in caplog.records
                        if r.name == bybit_stream.__name__ and r.levelno == logging.WARNING]
            assert len(warnings) == len(frames)
            for (_, field), text in zip(frames, warnings, strict=True):
                assert field in text and UNEXPECTED not in text, text
                assert len(text) < 500
            assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
                r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

    with caplog.at_level(logging.WARNING):
        run(main())


def test_a_client_that_dies_on_a_push_is_rebuilt_and_reported_reconnected(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever kills the client thread (here: its message handler raising, which pybit
    answers by stopping the socket for good), the supervisor rebuilds the stream and
    says so, and what happened meanwhile is delivered on the new connection."""
    original = bybit_stream.PybitPrivateSocket._on_message
    armed = {"kill": False}

    def dying(self: Any, message: str) -> None:
        if armed["kill"] and "KILL" in message:
            armed["kill"] = False
            raise RuntimeError("the client's thread failed")
        original(self, message)

    monkeypatch.setattr(bybit_stream.PybitPrivateSocket, "_on_message", dying)

    async def main() -> None:
        async with harness() as h:
            events = h.venue.stream()
            try:
                first = await connected(events)
                assert not first.reconnected
                armed["kill"] = True
                h.front_end.hub.send_raw('{"KILL": 1}', ACCOUNT)
                back = await connected(events)
                assert back.reconnected
                placed = await h.venue.place_order(intent("rc-w1-e-after-2"))
                event = await next_event(events, OrderEvent)
                assert event.order.venue_order_id == placed.venue_order_id
            finally:
                await events.aclose()

    run(main())


def test_a_wrong_secret_refused_at_login_is_logged_once_down_and_rest_fails_fast(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    logins: list[float] = []
    original = sim_ws.verify_ws

    def counting(*args: Any, **kwargs: Any) -> Any:
        logins.append(time.monotonic())
        return original(*args, **kwargs)

    monkeypatch.setattr(sim_ws, "verify_ws", counting)
    wrong = "wrong-secret-00000000000000"

    async def main() -> None:
        async with harness(secret=wrong, ws_reconnect_base_ms=10, ws_reconnect_max_ms=50,
                           auth_retry_base_ms=60_000) as h:
            events = h.venue.stream()
            try:
                down = await next_event(events, ConnectionEvent)
                while down.state is not ConnectionState.DOWN:
                    down = await next_event(events, ConnectionEvent)
                assert "authentication was refused" in down.detail
                assert "profile 'demo'" in down.detail
                # no hammering: a second of quiet, not a login every 10-50 ms
                with pytest.raises(TimeoutError):
                    await next_event(events, ConnectionEvent, timeout=1.0)
                assert len(logins) == 1
                # REST fails fast with the typed error, without signing again
                calls_before = sum(h.venue.calls.values())
                started = time.monotonic()
                with pytest.raises(VenueAuthError, match="authentication was refused"):
                    await h.venue.fetch_open_orders()
                assert time.monotonic() - started < 0.5
                assert sum(h.venue.calls.values()) == calls_before
            finally:
                await events.aclose()

    with caplog.at_level(logging.INFO):
        run(main())
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    refusals = [text for text in errors if "refused" in text]
    # once by the stream, once by the credentials gate: one episode, never per attempt
    assert 1 <= len(refusals) <= 2, errors
    for record in caplog.records:
        assert wrong not in record.getMessage() and SECRET not in record.getMessage()
        assert KEY not in record.getMessage()


def test_a_wrong_secret_on_rest_fails_fast_after_the_first_refusal() -> None:
    async def main() -> None:
        async with harness(secret="wrong-secret-00000000000000") as h:
            with pytest.raises(VenueAuthError, match="profile 'demo'"):
                await h.venue.fetch_positions()
            sent = sum(h.venue.calls.values())
            for _ in range(3):
                with pytest.raises(VenueAuthError, match="authentication was refused"):
                    await h.venue.fetch_balances()
            assert sum(h.venue.calls.values()) == sent
            assert h.venue.auth_gate.episode is not None
            assert h.venue.auth_gate.episode.refusals == 1

    run(main())


def test_the_right_secret_is_never_held_back() -> None:
    async def main() -> None:
        async with harness() as h:
            for _ in range(3):
                assert await h.venue.fetch_balances()
            assert h.venue.auth_gate.episode is None
            order = await h.venue.place_order(intent("rc-w1-e-ok-1", qty=D(1)))
            assert order.venue_order_id

    run(main())
