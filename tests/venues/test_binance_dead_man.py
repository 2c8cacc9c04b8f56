"""The Binance dead-man's switch (USD-M countdownCancelAll) as `dead_man_state()` reports
it, against the simulated Binance front-end on loopback, whose countdown really cancels
the symbol's open orders when it runs out.

The console dying is simulated two ways: its heartbeat task is cancelled without the
disarm that a clean close sends, or the venue stops taking the refreshes (a fault on
countdownCancelAll). Either way the venue cancels the orders and the state says so.
Countdowns are short (seconds of real time): the front-end's ticker fires them on its
own clock, as Binance does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.capabilities import DeadManState
from console.domain.events import VenueEvent
from console.errors import CapabilityUnsupported, VenueError
from console.sim import DEFAULT_INSTRUMENTS, SimExchange, linear
from console.sim.binance import BinanceFrontEnd
from console.sim.instruments import spot
from console.venues.binance import BinanceConfig, BinanceVenue

T = TypeVar("T")
ACCOUNT = "acct"
SYMBOL = "TSTUSDT"
TST = linear(SYMBOL, "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
             reference_price="100")
STS = spot("STSUSDT", "STS", tick="0.1", step="1", min_qty="1", level_qty="10",
           reference_price="100")
COUNTDOWN = "/fapi/v1/countdownCancelAll"

pytestmark = pytest.mark.timeout(60)


@dataclass
class Harness:
    exchange: SimExchange
    front_end: BinanceFrontEnd
    venue: BinanceVenue


@asynccontextmanager
async def harness(market: Category = Category.LINEAR, **config: Any) -> AsyncIterator[Harness]:
    exchange = SimExchange(seed=5, venue="binance",
                           instruments=(*DEFAULT_INSTRUMENTS, TST, STS))
    exchange.create_account(ACCOUNT, {"USDT": D(1_000_000), "STS": D(1000)})
    exchange.set_reference_prices()
    front_end = BinanceFrontEnd(exchange, credentials={CANARY_KEY: (CANARY_SECRET, ACCOUNT)},
                                market=market)
    await front_end.start()

    async def no_sleep(_seconds: float) -> None:
        await asyncio.sleep(0)

    settings: dict[str, Any] = {
        "account": ACCOUNT, "market": market, "rest_url": front_end.rest_url,
        "ws_private_url": front_end.ws_private_url, "retry_tries": 2, "retry_base_ms": 20,
        "retry_max_ms": 200, "timeout_s": 3.0,
        "symbols": (SYMBOL,) if market is Category.LINEAR else ("STSUSDT",), **config}
    venue = BinanceVenue(BinanceConfig(**settings), CANARY_KEY, CANARY_SECRET,
                         profile="demo", sleep=no_sleep)
    try:
        yield Harness(exchange, front_end, venue)
    finally:
        await venue.aclose()
        await front_end.stop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def intent(client_id: str) -> Order:
    return Order(venue="binance", account=ACCOUNT, category=Category.LINEAR, symbol=SYMBOL,
                 side=Side.BUY, type=OrderType.LIMIT, qty=D(2), price=D(95),
                 status=OrderStatus.PENDING_NEW, client_order_id=client_id,
                 strategy_id="demo", worker_id="w1")


async def wait_until(check: Any, what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.05)


def armed_state(venue: BinanceVenue) -> DeadManState:
    state = venue.dead_man_state()
    assert state is not None
    return state


def test_nothing_is_reported_before_the_switch_is_asked_for_or_on_spot() -> None:
    async def main() -> None:
        async with harness() as h:
            assert h.venue.capabilities.dead_man_switch
            assert h.venue.dead_man_state() is None
        async with harness(Category.SPOT) as h:
            assert not h.venue.capabilities.dead_man_switch
            with pytest.raises(CapabilityUnsupported):
                await h.venue.set_dead_man_switch(60_000)
            assert h.venue.dead_man_state() is None

    run(main())


def test_arming_refreshing_and_disarming_are_reported() -> None:
    async def main() -> None:
        async with harness() as h:
            before = h.venue._venue_now()
            armed = await h.venue.set_dead_man_switch(60_000)
            assert h.venue.dead_man_state() == armed
            assert (armed.armed, armed.timeout_ms, armed.symbols, armed.last_error) == (
                True, 60_000, 1, "")
            assert armed.refreshed_at is not None and armed.refreshed_at >= before
            assert armed.runs_out_at() == armed.refreshed_at + 60_000
            await asyncio.sleep(0.01)
            refreshed = await h.venue.set_dead_man_switch(60_000)
            assert refreshed.refreshed_at is not None
            assert refreshed.refreshed_at > armed.refreshed_at
            disarmed = await h.venue.set_dead_man_switch(None)
            assert armed_state(h.venue) == disarmed
            assert (disarmed.armed, disarmed.timeout_ms, disarmed.last_error) == (
                False, None, "")
            assert disarmed.runs_out_at() is None
            assert h.front_end.countdowns.armed(ACCOUNT, SYMBOL) is None

    run(main())


def test_a_failed_refresh_is_reported_and_the_venue_cancels_when_the_countdown_runs_out(
) -> None:
    """The refreshes stop reaching the venue: the state keeps the last confirmed arm (the
    countdown runs from then), says why the refresh failed without quoting the request,
    and the venue cancels the orders when the countdown runs out."""
    async def main() -> None:
        async with harness() as h:
            placed = await h.venue.place_order(intent("rc-w1-e-dm-1"))
            armed = await h.venue.set_dead_man_switch(1_500)
            h.front_end.faults.add(f"retcode=-1001x1000@{COUNTDOWN}")
            with pytest.raises(VenueError):
                await h.venue.set_dead_man_switch(1_500)
            failed = armed_state(h.venue)
            assert (failed.armed, failed.timeout_ms, failed.refreshed_at, failed.symbols) == (
                True, 1_500, armed.refreshed_at, 1)
            # -1001 comes as an HTTP 503: the class and code, never the venue's message
            assert failed.last_error == "UnknownOutcomeError http_503"
            await wait_until(lambda: not h.exchange.open_orders(ACCOUNT),
                             "the countdown never cancelled the order")
            gone = await h.venue.fetch_order(placed)
            assert gone is not None and gone.status is OrderStatus.CANCELLED
            runs_out = failed.runs_out_at()
            assert runs_out is not None and runs_out <= h.venue._venue_now()
            h.front_end.faults.clear()
            again = await h.venue.set_dead_man_switch(60_000)
            assert again.armed and again.last_error == ""  # a success clears the failure

    run(main())


def test_a_console_that_dies_without_disarming_leaves_the_countdown_to_cancel() -> None:
    """The heartbeat keeps the countdown from running out while it beats; cancelled
    without the disarm a clean close sends (the console died), the venue cancels."""
    async def main() -> None:
        async with harness() as h:
            await h.venue.place_order(intent("rc-w1-e-dm-2"))
            beat = asyncio.create_task(h.venue._heartbeat(3_000))  # refreshes every 1 s
            try:
                await wait_until(lambda: h.venue.dead_man_state() is not None, "never armed")
                first = armed_state(h.venue)
                assert first.refreshed_at is not None
                await asyncio.sleep(3.5)  # past one countdown: the refreshes kept it alive
                assert len(h.exchange.open_orders(ACCOUNT)) == 1
                last = armed_state(h.venue)
                assert last.refreshed_at is not None and last.refreshed_at > first.refreshed_at
            finally:
                beat.cancel()
                with suppress(asyncio.CancelledError):
                    await beat
            assert h.front_end.countdowns.armed(ACCOUNT, SYMBOL) is not None  # not disarmed
            await wait_until(lambda: not h.exchange.open_orders(ACCOUNT),
                             "the countdown never cancelled the order")
            dead = armed_state(h.venue)
            assert dead.armed and dead.last_error == ""
            runs_out = dead.runs_out_at()
            assert runs_out is not None and runs_out <= h.venue._venue_now()

    run(main())


def test_the_stream_arms_from_the_profile_and_reports_the_disarm_when_it_closes() -> None:
    async def main() -> None:
        async with harness(dead_man_ms=10_000) as h:
            events: AsyncIterator[VenueEvent] = h.venue.stream()

            async def drain() -> None:
                async for _ in events:
                    pass

            reader = asyncio.create_task(drain())
            try:
                await wait_until(lambda: h.venue.dead_man_state() is not None, "never armed")
                state = armed_state(h.venue)
                assert (state.armed, state.timeout_ms, state.symbols) == (True, 10_000, 1)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                await events.aclose()  # type: ignore[attr-defined]
            closed = armed_state(h.venue)
            assert not closed.armed and closed.last_error == ""
            assert h.front_end.countdowns.armed(ACCOUNT, SYMBOL) is None

    run(main())
