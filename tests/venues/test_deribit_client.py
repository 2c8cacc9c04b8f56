"""DeribitVenue over aiohttp against the simulated Deribit front-end on loopback (each
test starts a `DeribitFrontEnd` over a fresh `SimExchange` in its own loop). Faults come
from the front-end's fault grammar (`console.sim.protocol.faults`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Side, TriggerDirection
from console.domain.events import (
    BalanceEvent,
    ConnectionEvent,
    ConnectionState,
    FillEvent,
    OrderEvent,
    VenueEvent,
)
from console.errors import (
    ConfigError,
    FatalVenueError,
    TransientVenueError,
    UnknownOutcomeError,
)
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.deribit import DeribitFrontEnd
from console.sim.instruments import INVERSE_INSTRUMENTS
from console.venues.deribit import DeribitConfig, DeribitVenue, VenueAuthError
from console.venues.deribit.stream import CreditKeeper, StreamDownError

T = TypeVar("T")
CLIENT_ID, SECRET = "deribit-client-0001", "deribit-secret-0123456789"
ACCOUNT = "acct"
INV = Category.INVERSE

pytestmark = pytest.mark.timeout(60)


@dataclass
class Harness:
    exchange: SimExchange
    front_end: DeribitFrontEnd
    venue: DeribitVenue


@asynccontextmanager
async def harness(*, faults: str = "", secret: str = SECRET,
                  rate_limits: dict[str, int] | None = None,
                  **config: Any) -> AsyncIterator[Harness]:
    exchange = SimExchange(seed=11, venue="deribit",
                           instruments=(*DEFAULT_INSTRUMENTS, *INVERSE_INSTRUMENTS))
    exchange.create_account(ACCOUNT, {"BTC": D(10)})
    exchange.set_reference_prices()
    front_end = DeribitFrontEnd(exchange, credentials={CLIENT_ID: (SECRET, ACCOUNT)},
                                faults=faults, rate_limits=rate_limits)
    await front_end.start()
    settings: dict[str, Any] = {
        "account": ACCOUNT, "rest_url": front_end.rest_url,
        "ws_private_url": front_end.ws_private_url, "retry_base_ms": 20,
        "retry_max_ms": 2000, "timeout_s": 3.0, **config}
    venue = DeribitVenue(DeribitConfig(**settings), CLIENT_ID, secret, profile="desk")
    try:
        yield Harness(exchange, front_end, venue)
    finally:
        await venue.aclose()
        await front_end.stop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def intent(client_id: str, **changes: Any) -> Order:
    base = Order(venue="deribit", account=ACCOUNT, category=INV, symbol="BTC-PERPETUAL",
                 side=Side.BUY, type=OrderType.LIMIT, qty=D(100), price=D(50000),
                 status=OrderStatus.PENDING_NEW, client_order_id=client_id,
                 strategy_id="demo", worker_id="w1")
    return base.evolve(**changes)


def test_an_order_round_trips_by_id_and_by_label() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            placed = await venue.place_order(intent("rc-w1-e-rt-1", label="rc_s1_w1_entry"))
            assert (placed.status, placed.strategy_id, placed.label) == (
                OrderStatus.NEW, "demo", "rc_s1_w1_entry")
            assert placed.venue_order_id
            [listed] = await venue.fetch_open_orders()
            assert (listed.client_order_id, listed.label) == ("rc-w1-e-rt-1", "rc_s1_w1_entry")
            by_label = await venue.fetch_order(intent("rc-w1-e-rt-1", label="rc_s1_w1_entry"))
            assert by_label is not None and by_label.venue_order_id == placed.venue_order_id
            amended = await venue.amend_order(placed, price=D(50500))
            assert (amended.price, amended.client_order_id, amended.label) == (
                D(50500), "rc-w1-e-rt-1", "rc_s1_w1_entry")
            cancelled = await venue.cancel_order(amended)
            assert cancelled.status is OrderStatus.CANCELLED
            assert await venue.fetch_order(intent("rc-w1-e-never-9")) is None
            with pytest.raises(FatalVenueError, match="too late"):
                await venue.cancel_order(cancelled)
    run(main())


def test_fills_positions_and_balances_in_the_coin() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            bought = await venue.place_order(intent("rc-w1-e-mk-1", type=OrderType.MARKET,
                                                    price=None))
            assert bought.status is OrderStatus.FILLED and bought.filled_qty == D(100)
            [fill] = await venue.fetch_fills(0, 10**13)  # historical: past 24 h
            assert (fill.client_order_id, fill.qty, fill.fee_asset, fill.category) == (
                "rc-w1-e-mk-1", D(100), "BTC", INV)
            assert fill.venue_order_id == bought.venue_order_id
            [position] = await venue.fetch_positions()
            assert (position.symbol, position.size) == ("BTC-PERPETUAL", D(100))  # USD
            [balance] = await venue.fetch_balances()
            assert balance.asset == "BTC" and balance.total < D(10)  # the fee
            assert balance.locked > 0 and balance.free + balance.locked == balance.total
    run(main())


def test_trigger_orders_are_listed_and_bulk_cancelled() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            stop = await venue.place_order(intent(
                "rc-w1-s-st-1", side=Side.SELL, type=OrderType.MARKET, price=None,
                trigger_price=D(40000), trigger_direction=TriggerDirection.FALL,
                reduce_only=True, label="rc_s1_w1_sl"))
            assert (stop.status, stop.trigger_direction) == (OrderStatus.UNTRIGGERED,
                                                             TriggerDirection.FALL)
            await venue.place_order(intent("rc-w1-e-lm-2"))
            assert len(await venue.fetch_open_orders()) == 2
            with venue.priority():
                cancelled = await venue.cancel_all(INV)
            assert {o.client_order_id for o in cancelled} == {"rc-w1-s-st-1", "rc-w1-e-lm-2"}
            assert all(o.status is OrderStatus.CANCELLED for o in cancelled)
            assert await venue.fetch_open_orders() == []
            assert venue.priority_calls["cancel_all"] == 3
    run(main())


def test_a_label_past_64_characters_is_refused_before_sending() -> None:
    async def main() -> None:
        async with harness() as h:
            with pytest.raises(FatalVenueError) as refused:
                await h.venue.place_order(intent("rc-w1-e-ln-1", label="x" * 60))
            assert refused.value.code == "label_too_long"
            assert sum(h.venue.calls.values()) == 0
    run(main())


def test_an_unknown_create_is_resolved_by_its_label() -> None:
    async def main() -> None:
        async with harness(faults="timeout_after_place=1") as h:
            found = await h.venue.place_order(intent("rc-w1-e-to-1"))
            assert found.status is OrderStatus.NEW and found.strategy_id == "demo"
        async with harness(faults="retcode=11094x1@/api/v2/private/buy") as h:
            with pytest.raises(UnknownOutcomeError):
                await h.venue.place_order(intent("rc-w1-e-to-2"))
            assert h.venue.calls["place_order"] == 2  # the create, then the label query
    run(main())


def test_refused_credentials_open_the_auth_gate() -> None:
    async def main() -> None:
        async with harness(secret="deribit-secret-wrong-000") as h:
            with pytest.raises(VenueAuthError):
                await h.venue.fetch_positions()
            sent = sum(h.venue.calls.values())
            with pytest.raises(VenueAuthError, match="not signing again"):
                await h.venue.fetch_positions()
            assert sum(h.venue.calls.values()) == sent
    run(main())


def test_bursts_wait_for_credits_instead_of_meeting_10028() -> None:
    figures = {"pool": 2000, "refill_per_s": 4000, "cost": 500}

    async def main() -> None:
        async with harness(rate_limits=figures, credit_pool=2000, credit_refill_per_s=4000,
                           credit_cost=500) as h:
            await asyncio.gather(*(h.venue.fetch_positions() for _ in range(12)))
            budget = h.venue.rate_budget().get("credits")
            assert budget is not None and budget.limit == 2000
    run(main())


async def _until(events: AsyncIterator[VenueEvent], wanted: Any,
                 seen: list[VenueEvent]) -> VenueEvent:
    async for event in events:
        seen.append(event)
        if wanted(event):
            return event
    raise AssertionError("the stream ended")


def test_the_stream_delivers_and_a_10028_reconnects_it() -> None:
    async def main() -> None:
        async with harness(faults="retcode=10028x1@/api/v2/private/get_positions",
                           dead_man=True) as h:
            venue = h.venue
            events = venue.stream()
            seen: list[VenueEvent] = []
            await asyncio.wait_for(_until(events, lambda e: isinstance(e, ConnectionEvent)
                                          and e.state is ConnectionState.CONNECTED, seen), 10)
            state = venue.dead_man_state()
            assert state is not None and state.armed
            await venue.place_order(intent("rc-w1-e-st-1", type=OrderType.MARKET, price=None))
            await asyncio.wait_for(_until(events, lambda e: isinstance(e, FillEvent), seen),
                                   10)
            assert any(isinstance(e, OrderEvent) and e.order.client_order_id
                       == "rc-w1-e-st-1" for e in seen)
            await asyncio.wait_for(_until(events, lambda e: isinstance(e, BalanceEvent),
                                          seen), 10)
            assert await venue.fetch_positions()  # 10028 once, then the retry
            await asyncio.wait_for(_until(events, lambda e: isinstance(e, ConnectionEvent)
                                          and e.reconnected, seen), 10)
            disarmed = await venue.set_dead_man_switch(None)
            assert not disarmed.armed
            await events.aclose()
    run(main())


# -- the dead-man's switch covers our orders: they are created over the stream's socket ----

async def _connected(venue: DeribitVenue) -> AsyncIterator[VenueEvent]:
    events = venue.stream()
    await asyncio.wait_for(_until(events, lambda e: isinstance(e, ConnectionEvent)
                                  and e.state is ConnectionState.CONNECTED, []), 10)
    return events


def test_with_the_switch_on_orders_ride_the_socket_and_its_loss_cancels_them() -> None:
    async def main() -> None:
        async with harness(dead_man=True) as h:
            venue = h.venue
            events = await _connected(venue)
            placed = await venue.place_order(intent("rc-w1-e-cod-1"))
            amended = await venue.amend_order(placed, price=D(49500))
            assert (placed.status, amended.price) == (OrderStatus.NEW, D(49500))
            assert (venue.calls["place_order"], venue.calls["amend_order"]) == (1, 1)
            assert await h.front_end.disconnect_private() == 1
            for _ in range(200):
                order = h.exchange.order_by_venue_id(ACCOUNT, placed.venue_order_id)
                if order is not None and order.status is OrderStatus.CANCELLED:
                    break
                await asyncio.sleep(0.02)
            assert h.front_end.views.cancel_reasons.get(placed.venue_order_id) \
                == "cancel_on_disconnect"
            await events.aclose()
    run(main())


def test_with_the_switch_off_orders_go_over_http_and_outlive_the_socket() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            events = await _connected(venue)
            placed = await venue.place_order(intent("rc-w1-e-http-1"))
            await h.front_end.disconnect_private()
            await asyncio.sleep(0.2)
            order = h.exchange.order_by_venue_id(ACCOUNT, placed.venue_order_id)
            assert order is not None and order.status is OrderStatus.NEW
            await events.aclose()
    run(main())


def test_with_the_switch_on_and_no_socket_a_resting_order_is_refused_unsent() -> None:
    async def main() -> None:
        async with harness(dead_man=True, timeout_s=0.3) as h:
            venue = h.venue
            with pytest.raises(StreamDownError) as refused:
                await venue.place_order(intent("rc-w1-e-down-1"))
            assert refused.value.code == "stream_down"
            assert isinstance(refused.value, TransientVenueError)  # retryable
            assert venue.calls["place_order"] == 0
            assert h.exchange.open_orders(ACCOUNT) == []
            # an order that cannot rest has nothing to protect: it goes over HTTP at once
            bought = await venue.place_order(intent("rc-w1-e-down-2", type=OrderType.MARKET,
                                                    price=None))
            assert bought.status is OrderStatus.FILLED
    run(main())


def test_placing_waits_for_a_reconnect_in_progress_within_the_timeout() -> None:
    async def main() -> None:
        async with harness(dead_man=True, timeout_s=3.0) as h:
            venue = h.venue
            events = await _connected(venue)
            seen: list[VenueEvent] = []
            pump = asyncio.ensure_future(_until(events, lambda e: False, seen))
            await h.front_end.disconnect_private()
            for _ in range(200):  # the loss is seen; the reconnect is under way
                if any(isinstance(e, ConnectionEvent)
                       and e.state is not ConnectionState.CONNECTED for e in seen):
                    break
                await asyncio.sleep(0.005)
            placed = await venue.place_order(intent("rc-w1-e-wait-1"))
            assert placed.status is OrderStatus.NEW
            await h.front_end.disconnect_private()  # that connection's orders go with it
            for _ in range(200):
                if h.front_end.views.cancel_reasons.get(placed.venue_order_id):
                    break
                await asyncio.sleep(0.02)
            assert h.front_end.views.cancel_reasons.get(placed.venue_order_id) \
                == "cancel_on_disconnect"
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
            await events.aclose()
    run(main())


def test_a_create_whose_answer_is_lost_on_the_socket_is_resolved_by_its_label() -> None:
    async def main() -> None:
        async with harness(dead_man=True,
                           faults="timeout_after_place=1@/api/v2/private/buy") as h:
            venue = h.venue
            events = await _connected(venue)
            found = await venue.place_order(intent("rc-w1-e-lost-1"))
            # the cut connection's cancel-on-disconnect took the order it had created
            assert found.venue_order_id and found.status is OrderStatus.CANCELLED
            assert venue.calls["place_order"] == 2  # the create, then the label query
            await events.aclose()
    run(main())


# -- one credit estimate for HTTP and the socket, with a reserve for the priority lane -------

def test_the_streams_requests_are_charged_to_the_shared_credit_estimate() -> None:
    async def main() -> None:
        async with harness(dead_man=True, credit_refill_per_s=1) as h:
            venue = h.venue
            events = await _connected(venue)
            budget = venue.rate_budget().get("credits")
            # public/auth, set_heartbeat, enable_cancel_on_disconnect, subscribe
            assert budget is not None and budget.remaining is not None
            assert budget.remaining <= 50_000 - 4 * 500
            await events.aclose()
    run(main())


def _keeper(clock: list[int], **figures: int) -> tuple[CreditKeeper, list[float]]:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += int(seconds * 1000)

    config = DeribitConfig(account=ACCOUNT, **figures)
    return CreditKeeper(config, clock_ms=lambda: clock[0], sleep=sleep), slept


def test_ordinary_requests_leave_the_reserve_to_the_priority_lane() -> None:
    async def main() -> None:
        clock = [1_000_000]
        keeper, slept = _keeper(clock, credit_pool=5000, credit_refill_per_s=1000,
                                credit_cost=500)
        assert keeper.reserve == 500  # a tenth of the pool
        for _ in range(9):  # 4500 of 5000: the reserve is untouched
            assert await keeper.spend() == 0
        assert await keeper.spend() == 500  # would dip into the reserve: waits 0.5 s
        assert slept == [0.5]
        assert await keeper.spend(urgent=True) == 0  # the lane may spend the reserve
        keeper.charge()  # a heartbeat answer: charged, never delayed
        assert slept == [0.5] and keeper.level() == -500
        assert await keeper.spend() == 1500  # behind the lane's and the heartbeat's credits
    run(main())


def test_a_10028_drains_the_estimate_so_the_next_request_waits_for_the_refill() -> None:
    async def main() -> None:
        clock = [1_000_000]
        keeper, slept = _keeper(clock, credit_pool=50_000, credit_refill_per_s=10_000,
                                credit_cost=500, credit_reserve=0)
        keeper.drain()
        assert await keeper.spend() == 50  # 500 credits at 10 per ms
        assert slept == [0.05]
        clock[0] += 7  # a slow refill is kept in thousandths: nothing is lost to rounding
        assert keeper.level() == 70
    run(main())


def test_the_reserve_is_configurable_and_checked() -> None:
    assert DeribitConfig(account=ACCOUNT, credit_reserve=0).reserved_credits == 0
    assert DeribitConfig(account=ACCOUNT).reserved_credits == 5000
    with pytest.raises(ConfigError):
        DeribitConfig(account=ACCOUNT, credit_pool=1000, credit_cost=500, credit_reserve=600)
