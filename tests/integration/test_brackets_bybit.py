"""Bracket runners through Bybit's protocol: the engine, the real pybit clients (REST and
the private WebSocket) and the sim's Bybit front-end on loopback, with real ledgers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.bootstrap import ProfileSession, build_profile_session
from console.credentials import ApiCredentials
from console.domain import Order, OrderRole, OrderStatus, Side
from console.domain.ids import parse_client_id
from console.engine.brackets import BracketRunner, ResumeOutcome, attach_brackets
from console.sim.server import SimServerHandle, run_sim_server_in_thread

D = Decimal
PROFILE = "brk"


@pytest.fixture
def server() -> Iterator[SimServerHandle]:
    handle = run_sim_server_in_thread(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
    yield handle
    handle.stop()


def connect(handle: SimServerHandle, tmp_path: Path, db_url: str, *,
            auto: bool) -> ProfileSession:
    path = tmp_path / "profiles.toml"
    path.write_text(
        f'[profiles.{PROFILE}]\nvenue = "bybit"\nnetwork = "custom"\n'
        f'rest_url = "{handle.rest_url}"\nws_url = "{handle.ws_private_url}"\n'
        'account = "main"\ncategory = "linear"\nsettle_coin = "USDT"\n'
        f'reconcile_interval_s = 3600\n[profiles.{PROFILE}.policy]\n'
        f'venue_actions = "{"auto" if auto else "approve"}"\n', encoding="utf-8")
    return build_profile_session(PROFILE, config_path=str(path), db_url=db_url,
                                 secrets=ApiCredentials(handle.api_key, handle.api_secret))


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)


def legs(handle: SimServerHandle, worker: str) -> dict[OrderRole, Order]:
    out = {}
    for o in handle.call(handle.exchange.open_orders, "main", symbol="BTCUSDT"):
        parsed = parse_client_id(o.client_order_id) if o.client_order_id else None
        if parsed is not None and parsed.worker == worker:
            out[parsed.role] = o
    return out


async def started(session: ProfileSession, worker: str) -> tuple[BracketRunner, object]:
    runner = attach_brackets(session.engine, "u1", worker, heartbeat_s=0.5)
    await session.engine.start()
    await wait_for(lambda: session.engine.stream.state.value == "connected")
    return runner, await runner.resume()


def test_cold_start_re_places_a_lost_stop_through_pybit(server, tmp_path, ledger_url):
    first = connect(server, tmp_path, ledger_url, auto=True)

    async def before() -> None:
        try:
            runner, report = await started(first, "b1")
            assert report.outcome is ResumeOutcome.IDLE
            await runner.open("trend", "BTCUSDT", Side.BUY, D("0.01"), None, D("59500"),
                              D("60500"))
            await runner.stop()
        finally:
            await first.aclose()

    asyncio.run(before())
    placed = legs(server, "b1")
    assert set(placed) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    server.call(server.exchange.hand_cancel, "main", placed[OrderRole.STOP_LOSS].venue_order_id)

    second = connect(server, tmp_path, ledger_url, auto=True)

    async def after() -> tuple[object, object]:
        try:
            runner, report = await started(second, "b1")
            await runner.settle()
            await runner.stop()
            [state] = [r for r in second.ledger.runner_states("bybit", "main")
                       if r.worker_id == "b1"]
            return report, state
        finally:
            await second.aclose()

    report, state = asyncio.run(after())
    assert report.outcome is ResumeOutcome.PROTECTION_RESTORED
    now = legs(server, "b1")
    assert set(now) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    stop = now[OrderRole.STOP_LOSS]
    assert stop.venue_order_id != placed[OrderRole.STOP_LOSS].venue_order_id
    assert (stop.qty, stop.trigger_price, stop.reduce_only) == (D("0.01"), D("59500"), True)
    assert now[OrderRole.TAKE_PROFIT].venue_order_id == \
        placed[OrderRole.TAKE_PROFIT].venue_order_id
    assert state.bracket is not None and state.bracket.sl_order_id == stop.venue_order_id


def test_partial_fills_resize_protection_through_pybit(server, tmp_path, ledger_url):
    session = connect(server, tmp_path, ledger_url, auto=False)

    def sized(qty: str) -> bool:
        now = legs(server, "b2")
        return {r for r in now if r.is_protection} == {OrderRole.STOP_LOSS,
                                                       OrderRole.TAKE_PROFIT} and \
            {o.qty for r, o in now.items() if r.is_protection} == {D(qty)}

    async def scenario() -> tuple[dict, dict, Decimal]:
        try:
            runner, _report = await started(session, "b2")
            bracket = await runner.open("trend", "BTCUSDT", Side.BUY, D("0.2"), D("59900"),
                                        D("59500"), D("60500"))
            assert set(legs(server, "b2")) == {OrderRole.ENTRY}
            server.call(server.exchange.hand_fill, "main", bracket.entry_order_id, D("0.05"))
            await wait_for(lambda: sized("0.05"))  # the fill came over pybit's WebSocket
            first = {r: o.venue_order_id for r, o in legs(server, "b2").items()}
            server.call(server.exchange.hand_fill, "main", bracket.entry_order_id, D("0.07"))
            await wait_for(lambda: sized("0.12"))
            second = {r: o.venue_order_id for r, o in legs(server, "b2").items()}
            await runner.settle()
            await runner.stop()
            [state] = [r for r in session.ledger.runner_states("bybit", "main")
                       if r.worker_id == "b2"]
            assert state.bracket is not None
            return first, second, state.bracket.filled_size
        finally:
            await session.aclose()

    first, second, filled = asyncio.run(scenario())
    assert first == second  # amended through /v5/order/amend, not replaced
    assert filled == D("0.12")  # the saved bracket follows the fills
    entry = legs(server, "b2")[OrderRole.ENTRY]
    assert entry.status is OrderStatus.PARTIALLY_FILLED and entry.filled_qty == D("0.12")
