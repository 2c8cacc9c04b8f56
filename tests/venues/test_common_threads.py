"""The shared worker-thread transport and priority lane: one session per worker thread,
a separate pool for the priority lane chosen by the context, warming, closing; and the
no-op routing an async client gets from `Lanes.single`."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from console.venues._common.lane import Lanes, in_priority_lane, priority_lane
from console.venues._common.threads import WorkerThreads


class Session:
    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.closed = False
        self.touched = 0

    def call(self, value: int) -> tuple[str, int]:
        assert threading.get_ident() == self.owner, "a session crossed threads"
        return threading.current_thread().name, value


class Factory:
    def __init__(self) -> None:
        self.sessions: list[Session] = []
        self.lock = threading.Lock()

    def __call__(self) -> Session:
        session = Session()
        with self.lock:
            self.sessions.append(session)
        return session


def make(factory: Factory, workers: int = 2, priority_workers: int = 2) -> WorkerThreads[Session]:
    def close(session: Session) -> None:
        session.closed = True

    return WorkerThreads("acme-acct", factory, workers=workers,
                         priority_workers=priority_workers, close_session=close)


def test_calls_run_on_workers_with_one_session_per_thread() -> None:
    factory = Factory()

    async def main() -> list[tuple[str, int]]:
        threads = make(factory, workers=3)
        try:
            return list(await asyncio.gather(*(threads.call(Session.call, i)
                                               for i in range(30))))
        finally:
            await threads.aclose()

    answers = asyncio.run(main())
    assert [value for _, value in answers] == list(range(30))
    assert all(name.startswith("acme-acct-rest") for name, _ in answers)
    assert 1 <= len(factory.sessions) <= 3
    assert all(session.closed for session in factory.sessions)


def test_the_priority_lane_has_its_own_pool_and_is_inherited_by_tasks() -> None:
    factory = Factory()

    async def main() -> tuple[list[str], list[str], list[str]]:
        threads = make(factory)
        try:
            assert not in_priority_lane()
            normal = [n for n, _ in [await threads.call(Session.call, 0)]]
            with priority_lane():
                assert in_priority_lane()
                # a task started inside inherits the lane
                urgent = await asyncio.gather(asyncio.create_task(
                    threads.call(Session.call, 1)))
            forced = [n for n, _ in [await threads.call(Session.call, 2, urgent=True)]]
            return normal, [n for n, _ in urgent], forced
        finally:
            await threads.aclose()

    normal, urgent, forced = asyncio.run(main())
    assert normal[0].startswith("acme-acct-rest")
    assert urgent[0].startswith("acme-acct-priority")
    assert forced[0].startswith("acme-acct-priority")
    assert not in_priority_lane()


def test_a_busy_normal_pool_does_not_delay_the_priority_lane() -> None:
    factory = Factory()
    release = threading.Event()

    def hold(session: Session) -> None:
        release.wait(5)

    async def main() -> None:
        threads = make(factory, workers=1, priority_workers=1)
        try:
            blocked = asyncio.ensure_future(threads.call(hold))
            with priority_lane():
                name, _ = await asyncio.wait_for(threads.call(Session.call, 7), 2)
            assert name.startswith("acme-acct-priority") and not blocked.done()
            release.set()
            await blocked
        finally:
            await threads.aclose()

    asyncio.run(main())


def test_warming_builds_a_session_on_every_priority_worker() -> None:
    factory = Factory()
    touched: list[str] = []
    lock = threading.Lock()

    def touch(session: Session) -> None:
        with lock:
            touched.append(threading.current_thread().name)

    async def main() -> None:
        threads = make(factory, priority_workers=3)
        try:
            await threads.warm(touch)
        finally:
            await threads.aclose()

    asyncio.run(main())
    assert len(set(touched)) == 3 and all(n.startswith("acme-acct-priority") for n in touched)
    assert len(factory.sessions) == 3


def test_a_failing_session_close_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def bad_close(session: Any) -> None:
        raise OSError("already gone")

    async def main() -> None:
        threads = WorkerThreads("acme-acct", Factory(), workers=1, priority_workers=1,
                                close_session=bad_close)
        await threads.call(Session.call, 1)
        await threads.aclose()
        await threads.aclose()  # twice is fine

    asyncio.run(main())
    assert "closing a client session failed" in caplog.text
    with pytest.raises(ValueError):
        WorkerThreads("x", Factory(), workers=0, priority_workers=1)


def test_lanes_route_an_async_clients_carriers_by_the_context() -> None:
    lanes = Lanes("normal-session", "priority-session")
    assert lanes.current() == "normal-session" and lanes.separate
    with priority_lane():
        assert lanes.current() == "priority-session"
    single = Lanes.single("only")
    with priority_lane():
        assert single.current() == "only" and not single.separate
