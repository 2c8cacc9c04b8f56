"""The private-stream supervisor against scripted fake sockets (no network): connection
states, rebuild after a silent death, backoff and DOWN, a refused login, malformed
pushes, scope filtering, telemetry, and a clean close."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import pytest
from bybit_payloads import coin_json, order_json

from console.domain import Category
from console.domain.events import (
    BalanceEvent,
    ConnectionEvent,
    ConnectionState,
    OrderEvent,
    VenueEvent,
)
from console.venues.bybit.config import BybitConfig
from console.venues.bybit.stream import BybitPrivateStream, SocketSpec

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
         **changes: Any) -> AsyncGenerator[VenueEvent, None]:
    async def sleep(seconds: float) -> None:
        if waits is not None and seconds != 0.013:
            waits.append(seconds)
        await asyncio.sleep(0.001)

    stream = BybitPrivateStream(config(**changes), KEY, SECRET, profile="main",
                                telemetry=telemetry or Telemetry(),  # type: ignore[arg-type]
                                clock_ms=lambda: 1_000_500, socket_factory=factory,
                                sleep=sleep, rand=lambda: 0.5)
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
        assert telemetry.named("ws_malformed") == 2
        assert not socket.exited  # nothing above killed the socket
        await events.aclose()

    asyncio.run(main())


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


def test_a_refused_login_is_down_for_good_and_names_the_profile() -> None:
    async def main() -> None:
        factory = Factory("bad-auth")
        events = make(factory)
        got = [e async for e in events]
        assert states(got) == [(ConnectionState.CONNECTING, False),
                               (ConnectionState.DOWN, False)]
        down = got[-1]
        assert isinstance(down, ConnectionEvent)
        assert "check the API key/secret of profile 'main'" in down.detail
        assert factory.sockets[0].exited and len(factory.sockets) == 1

    asyncio.run(main())


def test_a_refused_subscription_is_down_for_good() -> None:
    async def main() -> None:
        events = make(Factory("bad-topic"))
        got = [e async for e in events]
        assert isinstance(got[-1], ConnectionEvent)
        assert got[-1].state is ConnectionState.DOWN and "refused" in got[-1].detail

    asyncio.run(main())


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


def test_a_failing_supervisor_ends_the_stream_with_down() -> None:
    async def broken_sleep(seconds: float) -> None:
        raise RuntimeError("a bug in the supervisor")

    async def main() -> list[VenueEvent]:
        stream = BybitPrivateStream(config(), KEY, SECRET, socket_factory=Factory("refuse"),
                                    sleep=broken_sleep)
        return [e async for e in stream.events()]

    got = asyncio.run(main())
    assert states(got)[-1] == (ConnectionState.DOWN, False)
    last = got[-1]
    assert isinstance(last, ConnectionEvent) and "supervisor failed" in last.detail
