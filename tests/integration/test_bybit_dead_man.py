"""A console that dies leaves no live quotes behind on Bybit: disconnection protection
(DCP) end to end, through the profile, the engine, the real pybit clients and the
simulated Bybit front-end on loopback, with a real SQLite ledger.

The console runs in a process of its own, with `dead_man_s = "3"` in its profile: its
stream arms DCP (the window set over REST, the `dcp.future` topic subscribed), its orders
rest on the book and in its ledger. It is then killed (SIGKILL: no unsubscribe, no
goodbye; the kernel closes its sockets). Past the 3 s window the sim has cancelled the
orders. A new session on the same ledger reconnects and reconciles: the ledger shows them
cancelled, and a second run finds nothing to repair.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.bootstrap import ProfileSession, build_profile_session
from console.credentials import ApiCredentials
from console.domain import Category, OrderStatus
from console.domain.reconciliation import RunStatus, RunTrigger
from console.sim.bybit.server import BybitFrontEnd
from console.sim.server import SimServerHandle, run_sim_server_in_thread

PROFILE = "dcp"
WINDOW_S = 3

pytestmark = pytest.mark.timeout(120)

CONSOLE = """
import asyncio, json, sys
from decimal import Decimal
from console.bootstrap import build_profile_session
from console.credentials import ApiCredentials
from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side

config, db_url, key, secret = sys.argv[1:5]

async def main():
    session = build_profile_session("dcp", config_path=config, db_url=db_url,
                                    secrets=ApiCredentials(key, secret))
    engine = session.engine
    await engine.start()
    while True:
        state = session.venue.dead_man_state()
        if engine.stream.state.value == "connected" and state is not None and state.armed:
            break
        await asyncio.sleep(0.05)
    placed = []
    for price in ("50000", "50100"):
        order = Order(venue="bybit", account="main", category=Category.LINEAR,
                      symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                      qty=Decimal("0.01"), price=Decimal(price),
                      status=OrderStatus.PENDING_NEW,
                      client_order_id=engine.ids.next(OrderRole.ENTRY), strategy_id="s1",
                      worker_id="w1", role=OrderRole.ENTRY)
        placed.append((await engine.orders.place(order)).venue_order_id)
    print(json.dumps({"placed": placed, "window_ms": state.timeout_ms}), flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


def write_profile(path: Path, server: SimServerHandle) -> Path:
    path.write_text(
        f'[profiles.{PROFILE}]\nvenue = "bybit"\nnetwork = "custom"\n'
        f'rest_url = "{server.rest_url}"\nws_url = "{server.ws_private_url}"\n'
        'account = "main"\nreconcile_interval_s = 3600\n\n'
        f'[profiles.{PROFILE}.bybit]\ncategory = "linear"\nsettle_coin = "USDT"\n'
        f'dead_man_s = "{WINDOW_S}"\n', encoding="utf-8")
    return path


@pytest.fixture
def server() -> Iterator[SimServerHandle]:
    handle = run_sim_server_in_thread(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
    yield handle
    handle.stop()


def front_end(server: SimServerHandle) -> BybitFrontEnd:
    return cast(BybitFrontEnd, server.front_end)


def wait(predicate: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s")
        time.sleep(0.05)


def open_session(config: Path, db_url: str, server: SimServerHandle) -> ProfileSession:
    return build_profile_session(PROFILE, config_path=str(config), db_url=db_url,
                                 secrets=ApiCredentials(server.api_key, server.api_secret))


def test_a_killed_console_leaves_no_orders_and_the_ledger_agrees_after_reconnect(
        server: SimServerHandle, tmp_path: Path) -> None:
    config = write_profile(tmp_path / "profiles.toml", server)
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    console = subprocess.Popen(
        [sys.executable, "-c", CONSOLE, str(config), db_url, server.api_key,
         server.api_secret], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert console.stdout is not None
        line = console.stdout.readline()
        assert line, console.stderr.read() if console.stderr else "no output"
        told = json.loads(line)
        placed = set(told["placed"])
        assert told["window_ms"] == WINDOW_S * 1000
        dcp = front_end(server).dcp
        assert server.call(dcp.window_s, "main", "DERIVATIVES") == WINDOW_S
        assert server.call(dcp.guarded, "main", "DERIVATIVES") == 1
        resting = {o.venue_order_id for o in server.call(server.exchange.open_orders,
                                                         "main", Category.LINEAR)}
        assert resting == placed

        console.send_signal(signal.SIGKILL)                  # the console dies
        console.wait(10)
        killed_at = time.monotonic()
        wait(lambda: server.call(dcp.counting, "main", "DERIVATIVES"), 5)
        time.sleep(1.0)
        assert {o.venue_order_id for o in server.call(server.exchange.open_orders, "main",
                                                      Category.LINEAR)} == placed
        wait(lambda: not server.call(server.exchange.open_orders, "main", Category.LINEAR),
             WINDOW_S + 3)
        assert time.monotonic() - killed_at >= WINDOW_S - 0.5
        for order_id in placed:
            order = server.call(server.exchange.order_by_venue_id, "main", order_id)
            assert order is not None and order.status is OrderStatus.CANCELLED
    finally:
        if console.poll() is None:
            console.kill()
            console.wait(10)

    # the ledger still believes in them: the dead console never heard of the cancel
    session = open_session(config, db_url, server)
    before = {o.venue_order_id: o.status for o in session.ledger.orders("bybit", "main")}
    assert {before[i] for i in placed} == {OrderStatus.NEW}

    async def reconnect() -> tuple[Any, Any, dict[str, OrderStatus], bool]:
        try:
            engine = session.engine
            await engine.start()
            deadline = time.monotonic() + 10
            while not ((state := session.venue.dead_man_state()) is not None
                       and state.armed):
                assert time.monotonic() < deadline, "not armed again"
                await asyncio.sleep(0.05)
            first = await engine.reconciler.run_once(RunTrigger.RECONNECT)
            second = await engine.reconciler.run_once(RunTrigger.PERIODIC)
            after = {o.venue_order_id: o.status
                     for o in session.ledger.orders("bybit", "main")}
            guarded = server.call(front_end(server).dcp.guarded, "main", "DERIVATIVES") == 1
            return first.run, second.run, after, guarded
        finally:
            await session.aclose()

    first, second, after, guarded_again = asyncio.run(reconnect())
    assert guarded_again
    assert first.status is RunStatus.OK, (first.errors, first.unverified)
    assert {after[i] for i in placed} == {OrderStatus.CANCELLED}
    assert second.status is RunStatus.OK, (second.errors, second.unverified)
    assert list(second.discrepancies) == [], [d.summary for d in second.discrepancies]
    # the new session closed cleanly: it unsubscribed, so nothing counts down now
    assert not server.call(front_end(server).dcp.counting, "main", "DERIVATIVES")
