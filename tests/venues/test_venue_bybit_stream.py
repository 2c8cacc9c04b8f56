"""The private-stream supervisor against scripted fake sockets (no network): connection
states, rebuild after a silent death, backoff and DOWN, a refused login, malformed
pushes, scope filtering, telemetry, and a clean close."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import pytest
from bybit_payloads import coin_json, order_json, position_json

from console.domain import Category
from console.domain.events import (
    BalanceEvent,
    ConnectionEvent,
    ConnectionState,
    OrderEvent,
    VenueEvent,
)
from console.venues.bybit.config import BybitConfig
from console.venues.bybit.stream import BybitPrivateStream, PybitPrivateSocket, SocketSpec

KEY, SECRET = "key-123456", "secret-abcdefghijkl"


class Telemetry:
    def __init__(self) -> None:
        self.counts: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self.latencies: list[tuple[str, float]] = []

    def observe_latency(self, stage: str, ms: float, labels: Any = ()) -> None:
        self.latencies.append((stage, ms))

    def count(self, name: str, labels: Any = (), amount: int = 1) -> None:
        self.counts.append((name, labels))

    def named(self, name: str) -> int:
        return sum(1 for n, _ in self.counts if n == name)


class FakeSocket:
    def __init__(self, spec: SocketSpec, *, auth_ok: bool = True,
                 subscribe_ok: bool = True) -> None:
        self.spec = spec
        self.exited = False
        self.connected = True
        self.sent: list[Mapping[str, Any]] = []
        self.subscribe_ok = subscribe_ok
        self.joined = False
        spec.on_message({"op": "auth", "success": auth_ok,
                         "ret_msg": "" if auth_ok else "error:USER_AUTH_FAILED"})

    def is_connected(self) -> bool:
        return self.connected

    def send_json(self, message: Mapping[str, Any]) -> None:
        self.sent.append(message)
        if message.get("op") == "subscribe":
            self.spec.on_message({"op": "subscribe", "success": self.subscribe_ok,
                                  "ret_msg": "" if self.subscribe_ok else "error:handler"})

    def exit(self) -> None:
        self.exited = True
        self.connected = False

    def join(self, timeout: float) -> None:
        self.joined = True

    def push(self, message: Any) -> None:
        self.spec.on_message(message)

    def die(self) -> None:
        """What pybit does on a lost connection: no callback, just a dead socket."""
        self.connected = False
        self.exited = True


class Factory:
    """Scripted: each build takes the next behaviour ("ok", "refuse", "bad-auth",
    "bad-topic"); when the script runs out, "ok"."""

    def __init__(self, *script: str) -> None:
        self.script = list(script)
        self.sockets: list[FakeSocket] = []
        self.specs: list[SocketSpec] = []

    def __call__(self, spec: SocketSpec) -> FakeSocket:
        self.specs.append(spec)
        step = self.script.pop(0) if self.script else "ok"
        if step == "refuse":
            raise ConnectionRefusedError(f"[Errno 111] refused ({SECRET})")
        socket = FakeSocket(spec, auth_ok=step != "bad-auth",
                            subscribe_ok=step != "bad-topic")
        self.sockets.append(socket)
        return socket


def config(**changes: Any) -> BybitConfig:
    base: dict[str, Any] = dict(account="acct", rest_url="http://127.0.0.1:1",
                                ws_private_url="ws://127.0.0.1:1/v5/private",
                                ws_check_interval_s=0.013, ws_handshake_timeout_s=1.0,
                                ws_reconnect_attempts=3, ws_reconnect_base_ms=10,
                                ws_reconnect_max_ms=40)
    base.update(changes)
    return BybitConfig(**base)


def make(factory: Factory, telemetry: Telemetry | None = None, waits: list[float] | None = None,
         on_refused: Any = None, on_connected: Any = None,
         **changes: Any) -> AsyncGenerator[VenueEvent, None]:
    async def sleep(seconds: float) -> None:
        if waits is not None and seconds != 0.013:
            waits.append(seconds)
        await asyncio.sleep(0.001)

    stream = BybitPrivateStream(config(**changes), KEY, SECRET, profile="main",
                                telemetry=telemetry or Telemetry(),  # type: ignore[arg-type]
                                clock_ms=lambda: 1_000_500, socket_factory=factory,
                                sleep=sleep, rand=lambda: 0.5, on_refused=on_refused,
                                on_connected=on_connected)
    return stream.events()


async def take(events: AsyncGenerator[VenueEvent, None], n: int) -> list[VenueEvent]:
    return [await asyncio.wait_for(events.__anext__(), 5) for _ in range(n)]


def states(events: list[VenueEvent]) -> list[tuple[ConnectionState, bool]]:
    return [(e.state, e.reconnected) for e in events if isinstance(e, ConnectionEvent)]


async def until_built(factory: Factory, count: int) -> FakeSocket:
    for _ in range(500):
        if len(factory.sockets) >= count:
            return factory.sockets[count - 1]
        await asyncio.sleep(0.002)
    raise AssertionError(f"socket {count} was never built")


def test_connects_subscribes_and_delivers_events() -> None:
    async def main() -> None:
        factory, telemetry = Factory(), Telemetry()
        events = make(factory, telemetry)
        first = await take(events, 2)
        assert states(first) == [(ConnectionState.CONNECTING, False),
                                 (ConnectionState.CONNECTED, False)]
        socket = factory.sockets[0]
        assert socket.sent == [{"op": "subscribe", "req_id": "recon-1",
                                "args": ["order", "execution", "position", "wallet"]}]
        assert factory.specs[0].url == "ws://127.0.0.1:1/v5/private"
        assert SECRET not in repr(factory.specs[0])
        socket.push({"topic": "order", "creationTime": 1_000_000,
                     "data": [order_json(category="linear")]})
        socket.push({"topic": "wallet", "creationTime": 1_000_000,
                     "data": [{"accountType": "UNIFIED", "coin": [coin_json()]}]})
        got = await take(events, 2)
        assert isinstance(got[0], OrderEvent) and got[0].order.account == "acct"
        assert got[0].received_at == 1_000_500
        assert isinstance(got[1], BalanceEvent)
        assert ("ws", 500.0) in telemetry.latencies
        await events.aclose()
        assert socket.exited and socket.joined

    asyncio.run(main())


def test_malformed_and_foreign_pushes_are_dropped_not_fatal() -> None:
    async def main() -> None:
        factory, telemetry = Factory(), Telemetry()
        events = make(factory, telemetry)
        await take(events, 2)
        socket = factory.sockets[0]
        socket.push({"topic": "order", "data": [order_json(category="linear",
                                                           orderStatus="Bogus")]})
        socket.push({"topic": "order", "data": "not a list"})
        socket.push({"topic": "order", "data": [order_json(category="spot")]})  # out of scope
        socket.push(["not", "a", "dict"])
        socket.push({"op": "pong"})
        socket.push({"topic": "order", "data": [order_json(category="linear")]})
        got = await take(events, 1)
        assert isinstance(got[0], OrderEvent) and got[0].order.category is Category.LINEAR
        assert telemetry.named("ws_malformed") == 3  # the list frame is malformed too
        assert not socket.exited  # nothing above killed the socket
        await events.aclose()

    asyncio.run(main())


CRAFTED = [
    # (push, the field its warning names)
    ({"topic": "position", "data": [position_json(category="linear", positionIdx="--1")]},
     "position BTCUSD.positionIdx"),
    ({"topic": "position", "data": [position_json(category="linear", size="1e999999999")]},
     "position BTCUSD.size"),
    ({"topic": "order", "data": [order_json(category="linear", symbol={"a": 1})]},
     ".symbol"),
    ({"topic": "order", "data": [order_json(category="linear", side={"a": 1})]}, ".side"),
    ({"topic": "order", "data": [order_json(category="linear", qty="١٢")]}, ".qty"),
    ({"topic": "order", "data": [order_json(category="linear", symbol="ETH\ud800")]},
     ".symbol"),
    ({"topic": "order", "data": [order_json(category="linear",
                                            updatedTime=str(2 ** 63))]}, ".updatedTime"),
    ({"topic": "order", "creationTime": "²", "data": [order_json(category="linear")]},
     "creationTime"),
    ({"topic": "wallet", "data": [{"coin": None}]}, "wallet[0].coin"),
    ({"topic": "execution", "data": [None]}, "execution: expected an object"),
    ({"topic": "order", "data": None}, "stream message.data"),
    ("not json at all", "stream message: expected an object"),
]


def test_crafted_pushes_are_typed_logged_counted_and_skipped(
        caplog: pytest.LogCaptureFixture) -> None:
    """One bad field in a push never ends the stream: each is refused by name, logged
    without the secret, counted, and the next good push is delivered."""
    async def main() -> Telemetry:
        factory, telemetry = Factory(), Telemetry()
        events = make(factory, telemetry)
        await take(events, 2)
        socket = factory.sockets[0]
        for push, _ in CRAFTED:
            socket.push(push)
        socket.push({"topic": "order", "data": [order_json(category="linear")]})
        got = await take(events, 1)
        assert isinstance(got[0], OrderEvent)
        assert not socket.exited and len(factory.sockets) == 1
        await events.aclose()
        return telemetry

    with caplog.at_level(logging.WARNING):
        telemetry = asyncio.run(main())
    assert telemetry.named("ws_malformed") == len(CRAFTED)
    assert telemetry.named("ws_callback_errors") == 0
    warnings = [r.getMessage() for r in caplog.records
                if r.name == "console.venues.bybit.stream"]
    assert len(warnings) == len(CRAFTED)
    for (_, field), text in zip(CRAFTED, warnings, strict=True):
        assert field in text and "MalformedVenueDataError" not in text
        assert "could not be read" not in text  # a field check named it, not the backstop
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_a_silent_death_is_rebuilt_and_reported_as_reconnected() -> None:
    async def main() -> None:
        factory, telemetry = Factory(), Telemetry()
        events = make(factory, telemetry)
        await take(events, 2)
        factory.sockets[0].die()
        got = await take(events, 2)
        assert states(got) == [(ConnectionState.RECONNECTING, False),
                               (ConnectionState.CONNECTED, True)]
        assert telemetry.named("ws_reconnects") == 1
        assert factory.sockets[0].joined and len(factory.sockets) == 2
        assert factory.sockets[1].sent[0]["args"] == ["order", "execution", "position",
                                                      "wallet"]
        await events.aclose()

    asyncio.run(main())


def test_failed_attempts_back_off_then_down_then_recover() -> None:
    async def main() -> None:
        factory = Factory("refuse", "refuse", "refuse", "refuse")
        waits: list[float] = []
        events = make(factory, waits=waits)
        got = await take(events, 5)
        assert [(e.state, e.attempt) for e in got if isinstance(e, ConnectionEvent)] == [
            (ConnectionState.CONNECTING, 0), (ConnectionState.RECONNECTING, 1),
            (ConnectionState.RECONNECTING, 2), (ConnectionState.DOWN, 3),
            (ConnectionState.CONNECTED, 4)]
        last = got[-1]
        assert isinstance(last, ConnectionEvent) and last.reconnected
        # full jitter with rand=0.5: 0.5*10ms, 0.5*20ms, then the max (40ms) past the budget
        assert waits == [0.005, 0.01, 0.04, 0.04]
        for event in got:
            assert isinstance(event, ConnectionEvent) and SECRET not in event.detail
        await events.aclose()

    asyncio.run(main())


def test_a_refused_login_is_down_once_logged_once_and_retried_after_a_long_wait(
        caplog: pytest.LogCaptureFixture) -> None:
    refused: list[Exception] = []
    connected: list[bool] = []

    async def main() -> list[VenueEvent]:
        factory, waits = Factory("bad-auth", "bad-auth"), list[float]()
        events = make(factory, waits=waits, auth_retry_base_ms=60_000,
                      auth_retry_max_ms=600_000, on_refused=refused.append,
                      on_connected=lambda: connected.append(True))
        got = await take(events, 3)
        # no hammering: a minute, then two, before the next login; never the 10 ms
        # reconnect backoff
        assert waits == [60.0, 120.0]
        assert all(socket.exited for socket in factory.sockets[:2])
        assert len(factory.sockets) == 3
        await events.aclose()
        return got

    with caplog.at_level(logging.INFO):
        got = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.DOWN, False), (ConnectionState.CONNECTED, True)]
    down = got[1]
    assert isinstance(down, ConnectionEvent)
    assert "authentication was refused" in down.detail
    assert "check the API key/secret of profile 'main'" in down.detail
    assert [type(e).__name__ for e in refused] == ["AuthRefused", "AuthRefused"]
    assert connected == [True]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "authentication was refused" in errors[0].getMessage()
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_a_refused_subscription_is_down_and_retried() -> None:
    async def main() -> list[VenueEvent]:
        events = make(Factory("bad-topic"))
        got = await take(events, 3)
        await events.aclose()
        return got

    got = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.DOWN, False), (ConnectionState.CONNECTED, True)]
    assert isinstance(got[1], ConnectionEvent) and "refused" in got[1].detail


def test_the_callback_never_raises_into_pybit() -> None:
    async def main() -> None:
        factory = Factory()
        events = make(factory)
        await take(events, 2)
        on_message = factory.specs[0].on_message
        await events.aclose()
        # the loop is still running but the queue is gone: pybit's thread must not see it
        on_message({"topic": "order", "data": []})

    asyncio.run(main())
    # and once the loop is closed (call_soon_threadsafe raises RuntimeError inside)
    factory = Factory()

    async def keep() -> Any:
        events = make(factory)
        await take(events, 2)
        await events.aclose()
        return factory.specs[0].on_message

    leftover = asyncio.run(keep())
    leftover({"topic": "order", "data": []})


def test_closing_leaves_no_supervisor_threads() -> None:
    before = set(threading.enumerate())

    async def main() -> None:
        factory = Factory()
        events = make(factory)
        await take(events, 2)
        factory.sockets[0].die()
        await take(events, 2)
        await events.aclose()

    asyncio.run(main())
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert left == []


@pytest.mark.parametrize("offset", [0, 2500])
def test_the_login_expiry_covers_a_clock_behind_the_venue(offset: int) -> None:
    factory = Factory()

    async def main() -> None:
        stream = BybitPrivateStream(config(), KEY, SECRET, socket_factory=factory,
                                    clock_offset_ms=lambda: offset)
        events = stream.events()
        await take(events, 2)
        await events.aclose()

    asyncio.run(main())
    assert factory.specs[0].auth_expire_s == (1 if offset == 0 else 4)


def test_a_failing_supervisor_rebuilds_the_stream() -> None:
    async def broken_sleep(seconds: float) -> None:
        raise RuntimeError("a bug in the supervisor")

    async def main() -> list[VenueEvent]:
        stream = BybitPrivateStream(config(), KEY, SECRET, socket_factory=Factory("refuse"),
                                    sleep=broken_sleep)
        events = stream.events()
        got = await take(events, 3)
        await events.aclose()
        return got

    got = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)]


def test_pybits_frame_decoding_hands_every_frame_on_and_never_raises() -> None:
    """pybit's own decoding raises on a frame that is not a JSON object, and pybit then
    stops the socket for good; ours hands such a frame on as text, to be refused as
    malformed, and drops only pybit's custom pong."""
    got: list[Any] = []
    socket = PybitPrivateSocket.__new__(PybitPrivateSocket)  # no connection needed
    socket.callback = got.append
    for frame in ('{"topic": "order", "data": []}', "not json", "[1, 2]", "null",
                  "[" * 50_000 + "]" * 50_000, '{"n": ' + "1" * 5000 + "}",
                  '{"op": "pong", "args": ["1"]}', '{"ret_msg": "pong"}', '"\\ud800"'):
        socket._on_message(frame)
    assert got[0] == {"topic": "order", "data": []}
    assert got[1:4] == ["not json", [1, 2], None]
    assert got[4].startswith("[[[") and got[5].startswith('{"n": 111')
    assert got[6] == "\ud800" and len(got) == 7
