"""The shared stream supervisor over an on-the-loop connection (as an aiohttp WebSocket
client would give it): connection states, rebuild after a loss with
`ConnectionEvent(reconnected=True)`, full-jitter backoff then DOWN, a refused connection,
a message handler that raises, a bug, and a clean close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pytest

from console.domain.events import ConnectionEvent, ConnectionState
from console.venues._common.supervisor import (
    ConnectionLost,
    ConnectRefused,
    Received,
    ReconnectPolicy,
    RetryConnect,
    StreamSupervisor,
)

SECRET = "secret-abcdefghijkl"


class Telemetry:
    def __init__(self) -> None:
        self.counts: list[tuple[str, Any]] = []

    def observe_latency(self, stage: str, ms: float, labels: Any = ()) -> None:
        return None

    def count(self, name: str, labels: Any = (), amount: int = 1) -> None:
        self.counts.append((name, labels))

    def named(self, name: str) -> int:
        return sum(1 for n, _ in self.counts if n == name)


class Connection:
    """Messages pushed by the test; `lose()` ends `messages()` as a dropped socket does."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.closed = False

    async def messages(self) -> AsyncIterator[Received]:
        while True:
            item = await self.queue.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield Received(item, 1_000)

    def push(self, message: Any) -> None:
        self.queue.put_nowait(message)

    def lose(self, error: Exception | None = None) -> None:
        self.queue.put_nowait(error)

    async def close(self) -> None:
        self.closed = True


class Connector:
    """Scripted: each attempt takes the next step ("ok", "retry", "refuse", "bug")."""

    def __init__(self, *script: str) -> None:
        self.script = list(script)
        self.connections: list[Connection] = []
        self.generations: list[int] = []

    async def __call__(self, generation: int) -> Connection:
        self.generations.append(generation)
        step = self.script.pop(0) if self.script else "ok"
        if step == "retry":
            raise RetryConnect(f"refused by the host ({SECRET})")
        if step == "refuse":
            raise ConnectRefused(f"login refused for key {SECRET}")
        if step == "bug":
            raise RuntimeError("a bug in the connector")
        connection = Connection(generation)
        self.connections.append(connection)
        return connection


def parse(received: Received) -> list[Any]:
    if received.message == "boom":
        raise ValueError("handler bug")
    return [("event", received.message, received.received_at)]


def make(connector: Connector, telemetry: Telemetry | None = None,
         waits: list[float] | None = None, attempts: int = 3,
         clock_ms: Callable[[], int] = lambda: 5, **hooks: Any) -> AsyncGenerator[Any, None]:
    async def sleep(seconds: float) -> None:
        if waits is not None:
            waits.append(seconds)
        await asyncio.sleep(0)

    supervisor = StreamSupervisor(
        connector, parse, venue="acme", account="acct",
        policy=ReconnectPolicy(attempts, 10, 40, refused_base_ms=100, refused_max_ms=150),
        telemetry=telemetry or Telemetry(), clock_ms=clock_ms, sleep=sleep,
        rand=lambda: 0.5, scrub=lambda text: text.replace(SECRET, "***"), **hooks)
    return supervisor.events()


async def take(events: AsyncGenerator[Any, None], n: int) -> list[Any]:
    return [await asyncio.wait_for(events.__anext__(), 5) for _ in range(n)]


def states(items: list[Any]) -> list[tuple[ConnectionState, bool]]:
    return [(e.state, e.reconnected) for e in items if isinstance(e, ConnectionEvent)]


def test_connects_delivers_and_closes_the_live_connection() -> None:
    async def main() -> None:
        connector = Connector()
        events = make(connector)
        first = await take(events, 2)
        assert states(first) == [(ConnectionState.CONNECTING, False),
                                 (ConnectionState.CONNECTED, False)]
        assert first[1].at == 5 and connector.generations == [1]
        connection = connector.connections[0]
        connection.push("a")
        connection.push("b")
        assert await take(events, 2) == [("event", "a", 1_000), ("event", "b", 1_000)]
        await events.aclose()
        assert connection.closed

    asyncio.run(main())


def test_a_lost_connection_is_rebuilt_at_once_and_reported_as_reconnected() -> None:
    async def main() -> None:
        connector, telemetry, waits = Connector(), Telemetry(), list[float]()
        events = make(connector, telemetry, waits)
        await take(events, 2)
        connector.connections[0].lose()
        got = await take(events, 2)
        assert states(got) == [(ConnectionState.RECONNECTING, False),
                               (ConnectionState.CONNECTED, True)]
        assert got[0].detail == "connection lost" and waits == []  # no wait before the first
        assert connector.connections[0].closed and connector.generations == [1, 2]
        assert telemetry.counts == [("ws_reconnects", (("venue", "acme"),))]
        connector.connections[1].lose(ConnectionLost(f"closed with code 1006 {SECRET}"))
        again = await take(events, 2)
        assert states(again) == [(ConnectionState.RECONNECTING, False),
                                 (ConnectionState.CONNECTED, True)]
        assert again[0].detail == "connection lost: closed with code 1006 ***"
        await events.aclose()

    asyncio.run(main())


def test_failed_attempts_back_off_with_full_jitter_then_down_then_recover() -> None:
    async def main() -> None:
        connector, waits = Connector("retry", "retry", "retry", "retry"), list[float]()
        events = make(connector, waits=waits)
        got = await take(events, 5)
        assert [(e.state, e.attempt) for e in got] == [
            (ConnectionState.CONNECTING, 0), (ConnectionState.RECONNECTING, 1),
            (ConnectionState.RECONNECTING, 2), (ConnectionState.DOWN, 3),
            (ConnectionState.CONNECTED, 4)]
        assert got[-1].reconnected
        # rand=0.5: half of 10 ms, half of 20 ms, then the max (40 ms) past the budget
        assert waits == [0.005, 0.01, 0.04, 0.04]
        assert all(SECRET not in e.detail for e in got)
        await events.aclose()

    asyncio.run(main())


def test_a_refusal_is_down_and_logged_once_then_retried_after_a_long_wait(
        caplog: pytest.LogCaptureFixture) -> None:
    refused: list[str] = []
    accepted: list[bool] = []

    async def main() -> list[Any]:
        connector, telemetry, waits = Connector("refuse", "refuse", "refuse"), Telemetry(), \
            list[float]()
        events = make(connector, telemetry, waits,
                      on_refused=lambda exc: refused.append(str(exc)),
                      on_connected=lambda: accepted.append(True))
        got = await take(events, 3)
        assert waits == [0.1, 0.15, 0.15]  # refused_base, doubled, capped: no hammering
        assert telemetry.named("ws_refused") == 3
        assert connector.generations == [1, 2, 3, 4]
        await events.aclose()
        return got

    with caplog.at_level(logging.INFO):
        got = asyncio.run(main())
    # DOWN once for the whole episode, then the connection that worked is a reconnection
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.DOWN, False), (ConnectionState.CONNECTED, True)]
    assert got[1].detail == "login refused for key ***"
    assert len(refused) == 3 and accepted == [True]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "refused" in errors[0].getMessage()
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_a_raising_message_handler_does_not_end_the_stream() -> None:
    async def main() -> None:
        connector, telemetry = Connector(), Telemetry()
        events = make(connector, telemetry)
        await take(events, 2)
        connector.connections[0].push("boom")
        connector.connections[0].push("after")
        assert await take(events, 1) == [("event", "after", 1_000)]
        assert telemetry.named("ws_callback_errors") == 1
        assert not connector.connections[0].closed
        await events.aclose()

    asyncio.run(main())


def test_a_bug_fails_the_connection_only_and_the_stream_is_rebuilt() -> None:
    async def connecting_bug() -> list[Any]:
        connector, telemetry = Connector("bug"), Telemetry()
        events = make(connector, telemetry)
        seen = await take(events, 3)
        assert telemetry.named("ws_stream_errors") == 1
        connector.connections[0].push("after")
        seen.extend(await take(events, 1))
        await events.aclose()
        return seen

    got = asyncio.run(connecting_bug())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)]
    assert "stream failed: RuntimeError: a bug in the connector" in got[1].detail
    assert got[-1] == ("event", "after", 1_000)

    async def reading_bug() -> list[Any]:
        connector = Connector()
        events = make(connector)
        seen = await take(events, 2)
        connector.connections[0].lose(RuntimeError("reader bug"))
        seen.extend(await take(events, 2))
        assert connector.connections[0].closed and len(connector.connections) == 2
        await events.aclose()
        return seen

    got = asyncio.run(reading_bug())
    assert states(got)[-2:] == [(ConnectionState.RECONNECTING, False),
                                (ConnectionState.CONNECTED, True)]
    assert "reader bug" in got[-2].detail


def test_a_supervisor_task_that_ends_is_started_again(
        caplog: pytest.LogCaptureFixture) -> None:
    calls = iter(range(100))

    def clock() -> int:
        # the 2nd and 3rd readings fail: the first inside a connection (handled as a
        # failure), the second inside that handler, which ends the supervisor task
        if next(calls) in (1, 2):
            raise RuntimeError("clock bug")
        return 5

    async def main() -> list[Any]:
        connector, telemetry = Connector(), Telemetry()
        events = make(connector, telemetry, clock_ms=clock)
        seen = await take(events, 2)
        assert telemetry.named("ws_supervisor_restarts") == 1
        assert connector.connections[0].closed and len(connector.connections) == 2
        await events.aclose()
        return seen

    with caplog.at_level(logging.ERROR):
        got = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.CONNECTED, True)]
    assert any("starting it again" in r.getMessage() for r in caplog.records)


def test_closing_while_connecting_leaves_nothing_running() -> None:
    async def main() -> None:
        gate = asyncio.Event()

        async def slow(generation: int) -> Connection:
            gate.set()
            await asyncio.sleep(10)
            raise AssertionError("never reached")

        supervisor = StreamSupervisor(slow, parse, venue="acme",
                                      account="acct")
        events = supervisor.events()
        await take(events, 1)
        await gate.wait()
        await events.aclose()
        assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []

    asyncio.run(main())


def test_reconnect_policy_bounds() -> None:
    policy = ReconnectPolicy(attempts=5, base_ms=100, max_ms=1000)
    for failures in range(1, 5):
        cap = min(1000, 100 * 2 ** (failures - 1)) / 1000
        assert policy.backoff_s(failures, lambda: 0.0) == 0.0
        assert policy.backoff_s(failures, lambda: 0.999) <= cap
    assert policy.backoff_s(5, lambda: 0.0) == 1.0  # past the budget: the max, no jitter
    with pytest.raises(ValueError):
        ReconnectPolicy(attempts=0)
    with pytest.raises(ValueError):
        ReconnectPolicy(base_ms=10, max_ms=5)
