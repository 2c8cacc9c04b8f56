"""`recon-console run --headless` as a standby: while another engine holds the account's
lease on a shared PostgreSQL ledger, the daemon tells its supervisor it is up (READY=1
with a standby status, so systemd's start timeout does not kill it) and answers SIGTERM
at once, without ever trading."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from console.__main__ import _daemon
from console.bootstrap import SimSession, build_sim_session
from console.engine.session import EngineSession

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
TTL_S = 1.0


@dataclass
class _Profile:
    venue: str = "sim"
    account: str = "main"
    metrics_port: int | None = None


@dataclass
class _DaemonSession:
    """What `_daemon` reads of a profile session, over an in-process sim session."""

    sim: SimSession
    profile: _Profile

    @property
    def engine(self) -> EngineSession:
        return self.sim.engine

    async def aclose(self) -> None:
        await self.sim.engine.stop()


@pytest.fixture
def pair(ledger_url: str) -> Iterator[tuple[SimSession, SimSession]]:
    a = build_sim_session(ledger_url, "clean", reference_prices=True, worker_id="a",
                          lease_ttl_s=TTL_S)
    b = build_sim_session(ledger_url, "clean", reference_prices=True, worker_id="b",
                          lease_ttl_s=TTL_S, exchange=a.exchange)
    yield a, b
    a.close()
    b.close()


@pytest.mark.parametrize("backend", PG)
def test_a_standby_daemon_reports_ready_as_standby_and_stops_on_sigterm(
        pair: tuple[SimSession, SimSession], monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pair
    address = f"@recon-console-standby-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind("\0" + address[1:])
        notify.setblocking(False)
        monkeypatch.setenv("NOTIFY_SOCKET", address)

        async def scenario() -> tuple[int, list[str], float]:
            await a.engine.start()
            holder = a.engine.lease
            assert holder is not None and holder.holding
            daemon = asyncio.create_task(_daemon(_DaemonSession(b, _Profile())))
            loop = asyncio.get_running_loop()
            message = await asyncio.wait_for(loop.sock_recv(notify, 4096), 30)
            lines = message.decode().splitlines()
            os.kill(os.getpid(), signal.SIGTERM)
            signalled = time.monotonic()
            code = await asyncio.wait_for(daemon, 30)
            took = time.monotonic() - signalled
            while True:
                try:
                    lines += notify.recv(4096).decode().splitlines()
                except BlockingIOError:
                    break
            assert holder.holding and holder.epoch == 1  # the standby never took it
            await a.engine.stop()
            return code, lines, took

        code, lines, took = asyncio.run(scenario())
    assert code == 0
    assert "READY=1" in lines
    assert any(line.startswith("STATUS=standby: observing (lease held by") for line in lines)
    assert "STOPPING=1" in lines
    assert took < 5.0, f"a standby took {took:.1f} s to stop"
    assert not b.engine.stream_connected
    assert b.ledger.list_runs("sim", "main", 100) == a.ledger.list_runs("sim", "main", 100)
