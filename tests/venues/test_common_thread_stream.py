"""Stream clients that run on their own threads: the callback never raises into the
client, handshake answers can be consumed, a silent death ends `messages()`, a close runs
on a worker thread, and a handshake wait gives up at once when the stream is closing."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from console.venues._common.supervisor import RetryConnect
from console.venues._common.thread_stream import (
    CallbackInbox,
    ThreadedConnection,
    wait_for_event,
)


class Telemetry:
    def __init__(self) -> None:
        self.counts: list[str] = []

    def observe_latency(self, stage: str, ms: float, labels: Any = ()) -> None:
        return None

    def count(self, name: str, labels: Any = (), amount: int = 1) -> None:
        self.counts.append(name)


def test_messages_from_another_thread_arrive_stamped_until_the_client_dies() -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        inbox = CallbackInbox(loop, label="acme socket 1", venue="acme", clock_ms=lambda: 42)
        handshake: list[Any] = []

        def consume(message: Any) -> bool:
            if message == {"op": "auth"}:
                handshake.append(message)
                return True
            return False

        on_message = inbox.callback(consume)
        alive = threading.Event()
        alive.set()
        closed: list[str] = []
        executor = ThreadPoolExecutor(1, thread_name_prefix="acme-ws")
        connection = ThreadedConnection(
            inbox, alive=alive.is_set, close=lambda: closed.append(
                threading.current_thread().name),
            executor=executor, check_interval_s=0.005)
        sender = threading.Thread(target=lambda: [on_message(m) for m in
                                                  ({"op": "auth"}, "a", "b")])
        sender.start()
        sender.join()
        received = []
        async for item in connection.messages():
            received.append((item.message, item.received_at))
            if len(received) == 2:
                alive.clear()  # dies silently: no callback, no close frame
        assert received == [("a", 42), ("b", 42)] and handshake == [{"op": "auth"}]
        await connection.close()
        assert closed and closed[0].startswith("acme-ws")
        executor.shutdown()

    asyncio.run(main())


def test_the_callback_never_raises_into_the_client() -> None:
    telemetry = Telemetry()

    async def keep() -> Any:
        inbox = CallbackInbox(asyncio.get_running_loop(), label="acme socket 1",
                              venue="acme", telemetry=telemetry)

        def consume(message: Any) -> bool:
            raise KeyError("handshake bug")

        inbox.callback(consume)("x")  # a failing consumer: logged and counted
        return inbox.callback()

    leftover = asyncio.run(keep())
    leftover({"topic": "order"})  # the loop is closed: call_soon_threadsafe raises inside
    assert telemetry.counts == ["ws_callback_errors", "ws_callback_errors"]


def test_a_failing_liveness_check_reaches_the_supervisor() -> None:
    async def main() -> None:
        inbox = CallbackInbox(asyncio.get_running_loop(), label="acme", venue="acme")

        def alive() -> bool:
            raise RuntimeError("liveness bug")

        executor = ThreadPoolExecutor(1)
        connection = ThreadedConnection(inbox, alive=alive, close=lambda: None,
                                        executor=executor, check_interval_s=0.01)
        with pytest.raises(RuntimeError, match="liveness bug"):
            async for _ in connection.messages():
                pass
        executor.shutdown()

    asyncio.run(main())


def test_handshake_waits_end_at_once_when_the_stream_closes() -> None:
    step, stopping = threading.Event(), threading.Event()
    assert not wait_for_event(step, 0.05, stopping)  # plain timeout
    step.set()
    assert wait_for_event(step, 5, stopping)
    stopping.set()
    with pytest.raises(RetryConnect, match="closing"):
        wait_for_event(threading.Event(), 30, stopping)
