"""End to end through Bybit's protocol: the engine, the real pybit clients and the
simulated exchange's Bybit front-end on loopback, with a real SQLite ledger.

The scenario tests start `recon-console sim --venue bybit` as the operator would, in its
own process; the fault tests run the same server in a thread so that the exchange side
can be driven (fills during a disconnect, dropped events, injected errors).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.bootstrap import ProfileSession, build_profile_session, seed_ledger
from console.credentials import ApiCredentials
from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.reconciliation import RunStatus, RunTrigger
from console.sim.core import SimExchange
from console.sim.scenarios import SCENARIOS, build_scenario
from console.sim.server import SimServerHandle, run_sim_server_in_thread
from console.store import Ledger

PROFILE = "e2e"


def write_profile(path: Path, rest_url: str, ws_url: str) -> Path:
    path.write_text(
        f'[profiles.{PROFILE}]\nvenue = "bybit"\nnetwork = "custom"\n'
        f'rest_url = "{rest_url}"\nws_url = "{ws_url}"\naccount = "main"\n'
        'category = "linear"\nsettle_coin = "USDT"\nreconcile_interval_s = 3600\n',
        encoding="utf-8")
    return path


@pytest.fixture
def sim_process() -> Iterator[Callable[..., dict[str, Any]]]:
    """`recon-console sim --venue bybit ...` in its own process; stopped with SIGTERM."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> dict[str, Any]:
        proc = subprocess.Popen([sys.executable, "-m", "console", "sim", "--venue", "bybit",
                                 "--api-key", CANARY_KEY, "--api-secret", CANARY_SECRET,
                                 *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "no output"
        return dict(json.loads(line))

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, "the sim did not stop cleanly on SIGTERM"


def open_session(tmp_path: Path, rest_url: str, ws_url: str, key: str, secret: str,
                 db_url: str | None = None) -> ProfileSession:
    config = write_profile(tmp_path / "profiles.toml", rest_url, ws_url)
    return build_profile_session(PROFILE, config_path=str(config),
                                 db_url=db_url or f"sqlite:///{tmp_path / 'ledger.db'}",
                                 secrets=ApiCredentials(key, secret))


def run_once(session: ProfileSession, trigger: RunTrigger = RunTrigger.STARTUP) -> Any:
    async def once() -> Any:
        try:
            return await session.engine.reconciler.run_once(trigger)
        finally:
            await session.aclose()
    return asyncio.run(once())


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_startup_reconciliation_through_pybit_for_each_scenario(
        scenario: str, sim_process: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    info = sim_process("--scenario", scenario)
    # The bot's ledger as it was when it went away: the same deterministic scenario.
    seed = build_scenario(scenario, SimExchange(seed=7, venue="bybit"), "main",
                          now=int(time.time() * 1000))
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(db_url) as ledger:
        seed_ledger(ledger, seed, "bybit", "main")
    session = open_session(tmp_path, info["rest_url"], info["ws_private_url"],
                           info["api_key"], info["api_secret"], db_url)
    outcome = run_once(session)
    run = outcome.run
    assert run.status is RunStatus.OK, (run.errors, run.unverified)
    assert {d.kind.value for d in run.discrepancies} == set(seed.expect), [
        d.summary for d in run.discrepancies]
    assert dict(run.venue_calls).get("fetch_open_orders", 0) >= 1


def test_a_wrong_secret_is_a_clear_error_naming_the_profile(
        sim_process: Callable[..., dict[str, Any]], tmp_path: Path) -> None:
    info = sim_process()
    session = open_session(tmp_path, info["rest_url"], info["ws_private_url"],
                           info["api_key"], "not-the-secret")
    run = run_once(session).run
    assert run.status is RunStatus.FAILED
    text = " ".join(run.errors)
    assert "10004" in text and PROFILE in text
    assert "not-the-secret" not in text and info["api_secret"] not in text


# -- faults: the server in a thread, the exchange side driven by the test ------------------

@pytest.fixture
def server() -> Iterator[SimServerHandle]:
    handle = run_sim_server_in_thread(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
    yield handle
    handle.stop()


def connect(handle: SimServerHandle, tmp_path: Path) -> ProfileSession:
    return open_session(tmp_path, handle.rest_url, handle.ws_private_url, handle.api_key,
                        handle.api_secret)


def bid(session: ProfileSession, price: str = "50000") -> Order:
    return Order(venue="bybit", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                 status=OrderStatus.PENDING_NEW,
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY),
                 price=Decimal(price), strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)


def ledger_order(session: ProfileSession, client_id: str) -> Order:
    [found] = [o for o in session.ledger.orders("bybit", "main")
               if o.client_order_id == client_id]
    return found


async def wait_for(predicate: Callable[[], bool], timeout: float) -> float:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


def test_fills_missed_while_the_socket_was_down_are_repaired_within_a_second(
        server: SimServerHandle, tmp_path: Path) -> None:
    session = connect(server, tmp_path)
    engine = session.engine

    async def scenario() -> float:
        try:
            await engine.start()
            await wait_for(lambda: engine.stream.state.value == "connected", 5)
            placed = await engine.orders.place(bid(session))
            # Cut the socket and fill the order while it is down: nobody hears of it.
            reconnected: list[float] = []
            engine.stream.on_event(lambda e: reconnected.append(time.perf_counter())
                                   if getattr(e, "reconnected", False) else None)
            server.run(server.front_end.disconnect_private)
            server.call(server.exchange.hand_fill, "main", placed.venue_order_id)
            await wait_for(lambda: bool(reconnected), 10)
            await wait_for(lambda: ledger_order(session, placed.client_order_id).status
                           is OrderStatus.FILLED, 1.0)
            repaired_after = time.perf_counter() - reconnected[0]
            fills = [f for f in session.ledger.fills("bybit", "main")
                     if f.venue_order_id == placed.venue_order_id]
            assert len(fills) == 1
            return repaired_after
        finally:
            await session.aclose()

    assert asyncio.run(scenario()) <= 1.0


def test_a_create_that_times_out_after_placement_ends_with_exactly_one_order(
        server: SimServerHandle, tmp_path: Path) -> None:
    session = connect(server, tmp_path)
    server.faults.add("timeout_after_place=1")

    async def scenario() -> tuple[Order, Order]:
        try:
            await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            placed = await session.engine.orders.place(bid(session, "51000"))
            return placed, ledger_order(session, placed.client_order_id)
        finally:
            await session.aclose()

    placed, recorded = asyncio.run(scenario())
    assert placed.status is OrderStatus.NEW and placed.venue_order_id
    on_venue = [o for o in server.call(server.exchange.open_orders, "main")
                if o.client_order_id == placed.client_order_id]
    assert len(on_venue) == 1
    assert recorded.venue_order_id == on_venue[0].venue_order_id
    assert recorded.status is OrderStatus.NEW


def test_a_burst_of_rate_limits_is_ridden_out(server: SimServerHandle, tmp_path: Path) -> None:
    session = connect(server, tmp_path)
    server.faults.add("retcode=10006x4@/v5/order/realtime")
    run = run_once(session).run
    assert run.status is RunStatus.OK, run.errors
    assert dict(run.venue_calls)["fetch_open_orders"] >= 5  # 4 refused, then served


def test_dropped_private_events_are_caught_by_the_next_reconciliation(
        server: SimServerHandle, tmp_path: Path) -> None:
    session = connect(server, tmp_path)
    engine = session.engine

    async def scenario() -> Any:
        try:
            await engine.start()
            await wait_for(lambda: engine.stream.state.value == "connected", 5)
            placed = await engine.orders.place(bid(session, "52000"))
            server.call(server.exchange.drop_private_events, "main")
            server.call(server.exchange.hand_fill, "main", placed.venue_order_id)
            await asyncio.sleep(0.3)
            assert ledger_order(session, placed.client_order_id).status is OrderStatus.NEW
            outcome = await engine.reconciler.run_once(RunTrigger.PERIODIC)
            assert ledger_order(session, placed.client_order_id).status is OrderStatus.FILLED
            return outcome.run
        finally:
            await session.aclose()

    run = asyncio.run(scenario())
    kinds = {d.kind.value for d in run.discrepancies}
    assert "missing_fill" in kinds
    assert kinds & {"order_missing_on_venue", "status_mismatch"}


def test_no_secret_reaches_the_ledger(server: SimServerHandle, tmp_path: Path) -> None:
    session = connect(server, tmp_path)
    run_once(session)
    blob = (tmp_path / "ledger.db").read_bytes()
    assert server.api_secret.encode() not in blob
    assert os.environ.get("RECON_BENCH_SECRET") is None
