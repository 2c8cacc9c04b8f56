"""Emergency stop through Bybit's protocol: the engine session, the real pybit adapter and
the simulated exchange's Bybit front-end on loopback, with a real SQLite ledger.

The book: 500 resting orders over 20 symbols (and positions where flattening is tested),
seeded in the ledger as after a clean start. The truth about what is left is read from
the simulated exchange itself, not from the report under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, LedgerChanges, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.capabilities import EndpointBudget
from console.domain.events import ConnectionState
from console.domain.ids import ClientOrderIdGenerator
from console.engine.emergency import HALT_ACTION, RESUME_HALT_ACTION, EmergencyReport
from console.engine.order_manager import TradingHaltedError
from console.engine.session import EngineSession
from console.errors import VenueError
from console.reconcile import ReconcileConfig
from console.sim.core import SimExchange, wall_clock_ms
from console.sim.instruments import numbered_linear_instruments
from console.sim.server import SimServerHandle, run_sim_server_in_thread
from console.store import Ledger
from console.venues.bybit import BybitConfig, BybitVenue

pytestmark = pytest.mark.timeout(60)
SYMBOLS = 20
PER_SYMBOL = 25


def build_exchange(*, positions: int = 0) -> SimExchange:
    """500 resting bids over 20 symbols; a long position on the first `positions`."""
    ex = SimExchange(seed=11, venue="bybit")
    instruments = numbered_linear_instruments(SYMBOLS)
    for instrument in instruments:
        ex.add_instrument(instrument)
    ex.create_account("main", {"USDT": Decimal(10_000_000)})
    ex.set_reference_prices()
    counter = itertools.count(1)
    ids = ClientOrderIdGenerator("rc", "seed", lambda: next(counter), wall_clock_ms)
    for n, instrument in enumerate(instruments):
        if n < positions:
            ex.place_order("main", category=Category.LINEAR, symbol=instrument.symbol,
                           side=Side.BUY, order_type=OrderType.MARKET, qty=Decimal("1.0"),
                           client_order_id=ids.next())
        for k in range(PER_SYMBOL):
            price = (instrument.reference_price or Decimal(10)) * Decimal("0.8") \
                - Decimal(k) / 100
            ex.place_order("main", category=Category.LINEAR, symbol=instrument.symbol,
                           side=Side.BUY, order_type=OrderType.LIMIT, qty=Decimal("0.1"),
                           price=price, client_order_id=ids.next(OrderRole.ENTRY))
    return ex


@dataclass
class Desk:
    server: SimServerHandle
    venue: BybitVenue
    ledger: Ledger
    engine: EngineSession
    db_url: str

    def open_orders(self) -> list[Order]:
        return self.server.call(self.server.exchange.open_orders, "main")

    def positions(self) -> list[Any]:
        return self.server.call(self.server.exchange.positions, "main")

    def audit(self, actor: str) -> list[str]:
        return [e.action for e in reversed(self.ledger.audit_log(500)) if e.actor == actor]

    def order(self, symbol: str = "SIM001USDT", price: str = "5") -> Order:
        return Order(venue="bybit", account="main", category=Category.LINEAR, symbol=symbol,
                     side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.1"),
                     status=OrderStatus.PENDING_NEW,
                     client_order_id=self.engine.ids.next(OrderRole.ENTRY),
                     price=Decimal(price), strategy_id="s1", worker_id="w1")


def new_engine(venue: BybitVenue, ledger: Ledger) -> EngineSession:
    return EngineSession(venue, ledger, ReconcileConfig(), interval_s=3600)


@pytest.fixture
def make_desk(tmp_path: Path) -> Iterator[Callable[..., Desk]]:
    desks: list[Desk] = []

    def build(*, positions: int = 0) -> Desk:
        ex = build_exchange(positions=positions)
        server = run_sim_server_in_thread(exchange=ex, seed=11, api_key=CANARY_KEY,
                                          api_secret=CANARY_SECRET)
        db_url = f"sqlite:///{tmp_path / f'ledger{len(desks)}.db'}"
        ledger = Ledger.open(db_url)
        ledger.apply_changes("bybit", "main", LedgerChanges(
            orders=tuple(ex.open_orders("main")), fills=tuple(ex.fills("main")),
            positions=tuple(ex.positions("main")), balances=tuple(ex.balances("main"))))
        config = BybitConfig(account="main", rest_url=server.rest_url,
                             ws_private_url=server.ws_private_url, retry_base_ms=50,
                             retry_max_ms=3000, ws_reconnect_base_ms=200)
        venue = BybitVenue(config, server.api_key, server.api_secret)
        desk = Desk(server, venue, ledger, new_engine(venue, ledger), db_url)
        desks.append(desk)
        return desk

    yield build
    for desk in desks:
        async def close(desk: Desk = desk) -> None:
            await desk.engine.stop()
            await desk.venue.aclose()
        asyncio.run(close())
        desk.ledger.close()
        desk.server.stop()


async def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)


def check_everything_cancelled(desk: Desk, report: EmergencyReport) -> None:
    assert desk.open_orders() == []
    assert report.open_orders == ()
    assert len(report.cancelled) == SYMBOLS * PER_SYMBOL and not report.cancelled_unknown
    assert report.cancel_requests == 1  # one bulk cancel for linear / USDT
    assert not desk.ledger.orders("bybit", "main", active_only=True)
    assert report.reconcile_status == "ok", report.errors
    assert report.cancel_acknowledged_ms is not None


def test_emergency_stop_cancels_500_orders_with_one_request_and_halts(
        make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    engine = desk.engine

    async def scenario() -> tuple[EmergencyReport, EmergencyReport]:
        await engine.start()
        await wait_for(lambda: engine.stream.state is ConnectionState.CONNECTED, 5)
        first = await engine.emergency_stop(flatten=False, operator="alice")
        assert engine.halted
        with pytest.raises(TradingHaltedError, match="halted"):
            await engine.orders.place(desk.order())
        second = await engine.emergency_stop(flatten=False, operator="alice")
        return first, second

    first, second = asyncio.run(scenario())
    check_everything_cancelled(desk, first)
    assert first.clean and not first.already_halted
    assert first.venue_requests and desk.venue.priority_calls["cancel_all"] == 2
    # the second call is safe: nothing new to cancel, the same clean report
    assert second.already_halted and second.clean
    assert second.cancelled == () and second.cancel_requests == 1
    actions = desk.audit("emergency:alice")
    assert actions[0] == HALT_ACTION
    assert {"emergency_stop:cancel_all", "emergency_stop:reconcile",
            "emergency_stop:report"} <= set(actions)
    assert first.to_dict()["cancelled"] == 500


def test_emergency_stop_with_the_stream_down_and_other_requests_rate_limited(
        make_desk: Callable[..., Desk]) -> None:
    """The private socket keeps dying, order entry answers 10006, and ordinary requests
    hold every normal worker (1 s each): the stop goes through its own lane, so its bulk
    cancel is acknowledged before any of them could have freed a worker."""
    desk = make_desk()
    engine, venue, server = desk.engine, desk.venue, desk.server
    victim = desk.ledger.orders("bybit", "main", active_only=True)[0]

    async def hammer() -> None:
        while True:
            with contextlib.suppress(VenueError):
                await venue.amend_order(victim, price=victim.price)

    async def scenario() -> EmergencyReport:
        await engine.start()
        await wait_for(lambda: engine.stream.state is ConnectionState.CONNECTED, 5)
        server.faults.add("ws_disconnect_after=20ms")
        server.run(server.front_end.disconnect_private)
        await wait_for(lambda: engine.stream.state is not ConnectionState.CONNECTED, 5)
        server.faults.add("latency=1000ms@/v5/order/amend;retcode=10006*1.0@/v5/order/amend;"
                          "retcode=10006*1.0@/v5/order/create;"
                          "retcode=10006*1.0@/v5/order/cancel")
        load = [asyncio.create_task(hammer()) for _ in range(8)]
        await asyncio.sleep(0.3)  # the normal workers are all busy now, for 0.7 s more
        try:
            return await engine.emergency_stop(flatten=False, operator="bob")
        finally:
            for task in load:
                task.cancel()
            await asyncio.gather(*load, return_exceptions=True)
            server.faults.clear()

    report = asyncio.run(scenario())
    check_everything_cancelled(desk, report)
    assert venue.priority_calls["cancel_all"] == 1
    assert report.cancel_acknowledged_ms < 1000  # never queued behind a 1 s request
    assert venue.calls["amend_order"] >= 8  # 8 ordinary requests held or queued meanwhile


def test_flatten_leaves_no_position(make_desk: Callable[..., Desk]) -> None:
    desk = make_desk(positions=5)
    assert len(desk.positions()) == 5

    async def scenario() -> EmergencyReport:
        await desk.engine.start(stream=False)
        return await desk.engine.emergency_stop(flatten=True, operator="carol")

    report = asyncio.run(scenario())
    assert desk.positions() == [] and report.open_positions == ()
    check_everything_cancelled(desk, report)
    assert len(report.flattened) == 5 and report.clean, report.errors
    for item in report.flattened:
        assert item.order is not None and item.order.status is OrderStatus.FILLED
        assert item.order.reduce_only and item.order.type is OrderType.MARKET
        assert item.order.client_order_id.startswith("rc-console-o-")
    assert "emergency_stop:flatten" in desk.audit("emergency:carol")


def test_an_order_in_flight_at_the_halt_is_cancelled_when_it_lands(
        make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    desk.server.faults.add("latency=400ms@/v5/order/create")

    async def scenario() -> tuple[EmergencyReport, Order]:
        await desk.engine.start(stream=False)
        placing = asyncio.create_task(desk.engine.orders.place(desk.order()))
        await asyncio.sleep(0.1)  # the create is held by the front-end
        report = await desk.engine.emergency_stop(flatten=False, operator="dave")
        return report, await placing

    report, late = asyncio.run(scenario())
    assert desk.open_orders() == []
    assert [o.client_order_id for o in report.late_cancelled] == [late.client_order_id]
    assert report.late_cancelled[0].status is OrderStatus.CANCELLED


def test_the_halt_survives_a_restart_until_an_operator_resumes(
        make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()

    async def scenario() -> None:
        await desk.engine.start(stream=False)
        await desk.engine.emergency_stop(flatten=False, operator="erin")
        await desk.engine.stop()
        again = new_engine(desk.venue, desk.ledger)  # as after a restart
        assert again.halted and again.risk.halted_by == "emergency:erin"
        with pytest.raises(TradingHaltedError):
            await again.orders.place(desk.order())
        outcome = await again.resume("frank")
        assert outcome.halt_cleared and not again.halted
        placed = await again.orders.place(desk.order())
        assert placed.status is OrderStatus.NEW
        assert not new_engine(desk.venue, desk.ledger).halted  # resumed for good

    asyncio.run(scenario())
    assert desk.audit("operator:frank") == [RESUME_HALT_ACTION]


def test_the_priority_lane_skips_the_wait_for_a_spent_budget(
        make_desk: Callable[..., Desk]) -> None:
    """The normal lane waits for the reset of a budget it saw spent; the priority lane
    asks the venue at once (which answers, or refuses with its own reset hint)."""
    desk = make_desk()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async def scenario() -> None:
        venue = BybitVenue(desk.venue.config, desk.server.api_key, desk.server.api_secret,
                           sleep=sleep)
        try:
            spent = EndpointBudget("/v5/order/cancel-all", 10, 0,
                                   wall_clock_ms() + 5_000, wall_clock_ms())
            venue._budgets.note(spent.endpoint, limit=spent.limit, remaining=spent.remaining,
                                reset_at=spent.reset_at)
            with venue.priority():
                await venue.cancel_all_ids(Category.LINEAR, "SIM001USDT")
            assert slept == [] and venue.priority_calls["cancel_all"] == 1
            venue._budgets.note(spent.endpoint, limit=spent.limit, remaining=spent.remaining,
                                reset_at=spent.reset_at)
            await venue.cancel_all_ids(Category.LINEAR, "SIM002USDT")
            assert slept and slept[0] >= 2.5  # the normal lane waited (capped at 3 s)
        finally:
            await venue.aclose()

    asyncio.run(scenario())
    assert {o.symbol for o in desk.open_orders()}.isdisjoint({"SIM001USDT", "SIM002USDT"})


class Rogue:
    """A strategy whose stop() lets an order through from outside this process (another
    bot on the same account): the emergency stop's final sweep must catch it."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk
        self.stopped = 0

    @property
    def name(self) -> str:
        return "rogue"

    async def stop(self) -> None:
        self.stopped += 1
        self.desk.server.call(
            self.desk.server.exchange.place_order, "main", category=Category.LINEAR,
            symbol="SIM003USDT", side=Side.BUY, order_type=OrderType.LIMIT,
            qty=Decimal("0.1"), price=Decimal("5"), client_order_id="other-bot-1")


class Stuck:
    name = "stuck"

    async def stop(self) -> None:
        await asyncio.sleep(30)


def test_strategies_are_stopped_and_a_late_order_is_swept(
        make_desk: Callable[..., Desk]) -> None:
    desk = make_desk()
    rogue = Rogue(desk)
    desk.engine.register_strategy(rogue)
    desk.engine.register_strategy(Stuck())
    desk.engine.emergency.strategy_timeout_s = 0.2

    async def scenario() -> EmergencyReport:
        await desk.engine.start(stream=False)
        return await desk.engine.emergency_stop(flatten=False, operator="gina")

    report = asyncio.run(scenario())
    assert rogue.stopped == 1
    assert [(s.name, bool(s.error)) for s in report.strategies] == [
        ("rogue", False), ("stuck", True)]
    assert desk.open_orders() == [] and report.open_orders == ()
    assert report.cancel_requests == 2  # the bulk cancel, then the sweep
    # adopted by the reconciliation, then cancelled by the sweep
    swept = [o for o in report.cancelled if o.client_order_id == "other-bot-1"]
    assert [o.status for o in swept] == [OrderStatus.CANCELLED]
    assert any("stuck" in e for e in report.errors) and not report.clean
    assert {"emergency_stop:stop_strategies", "emergency_stop:sweep"} <= set(
        desk.audit("emergency:gina"))


def test_emergency_stop_on_the_in_process_venue(tmp_path: Path) -> None:
    """The in-process sim venue has no priority lane and reads its bulk cancel back:
    the same stop, through `OrderManager.cancel_all`."""
    from console.bootstrap import build_sim_session

    session = build_sim_session(f"sqlite:///{tmp_path / 'sim.db'}", "bracket-ok")
    try:
        assert session.exchange.open_orders("main") and session.exchange.positions("main")
        report = asyncio.run(session.engine.emergency_stop(flatten=True, operator="hana"))
        assert session.exchange.open_orders("main") == []
        assert session.exchange.positions("main") == []
        assert report.open_orders == () and report.open_positions == ()
        assert report.cancelled and all(o.status is OrderStatus.CANCELLED
                                        for o in report.cancelled)
        assert report.flattened and session.engine.halted
    finally:
        session.close()


def test_a_halt_from_another_process_is_adopted_at_the_next_reconciliation(
        tmp_path: Path) -> None:
    """A daemon runs; the operator's CLI (another process on the same ledger) stops
    everything. The daemon adopts the halt at its next reconciliation."""
    from console.bootstrap import build_sim_session
    from console.domain.reconciliation import RunTrigger
    from console.sim import SimVenue

    daemon = build_sim_session(f"sqlite:///{tmp_path / 'shared.db'}", "clean")
    try:
        cli = EngineSession(SimVenue(daemon.exchange, "main"), daemon.ledger,
                            daemon.engine.config)
        asyncio.run(cli.emergency_stop(flatten=False, operator="ivan"))
        assert cli.halted and not daemon.engine.halted
        asyncio.run(daemon.service.run_once(RunTrigger.PERIODIC))
        assert daemon.engine.halted and daemon.engine.risk.halted_by == "emergency:ivan"
        asyncio.run(daemon.engine.resume("ivan"))
        asyncio.run(daemon.service.run_once(RunTrigger.PERIODIC))
        assert not daemon.engine.halted  # its own resume holds
    finally:
        daemon.close()
