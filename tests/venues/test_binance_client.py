"""BinanceVenue over real ccxt against the simulated Binance front-end on loopback.

Each test starts a `BinanceFrontEnd` (aiohttp on 127.0.0.1, in the test's own loop) over a
fresh `SimExchange`; ccxt's async calls share the loop. Faults come from the front-end's
fault grammar (`console.sim.protocol.faults`). Sleeps the connector asks for (rate-limit
waits, retry backoff) are recorded, never slept, so the tests prove the waits without
spending them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, Order, OrderStatus, OrderType, Side, TriggerDirection
from console.domain.enums import PositionSide, TimeInForce
from console.domain.events import ConnectionEvent, ConnectionState, OrderEvent, VenueEvent
from console.errors import (
    CapabilityUnsupported,
    FatalVenueError,
    OrderNotFoundError,
    UnknownOutcomeError,
)
from console.sim import DEFAULT_INSTRUMENTS, SimExchange, linear
from console.sim.binance import BinanceFrontEnd
from console.sim.instruments import spot
from console.sim.state import PositionMode
from console.venues.binance import (
    BinanceConfig,
    BinanceVenue,
    DuplicateClientOrderIdError,
    HedgeModeError,
    VenueAuthError,
)

T = TypeVar("T")
L, S = Category.LINEAR, Category.SPOT
KEY, SECRET = CANARY_KEY, CANARY_SECRET
ACCOUNT = "acct"
TST = linear("TSTUSDT", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
             reference_price="100")
STS = spot("STSUSDT", "STS", tick="0.1", step="1", min_qty="1", level_qty="10",
           reference_price="100")

pytestmark = pytest.mark.timeout(60)


@dataclass
class Harness:
    exchange: SimExchange
    front_end: BinanceFrontEnd
    venue: BinanceVenue
    sleeps: list[float] = field(default_factory=list)


@asynccontextmanager
async def harness(market: Category = L, *, faults: str = "", secret: str = SECRET,
                  server_clock: Callable[[], int] | None = None,
                  **config: Any) -> AsyncIterator[Harness]:
    exchange = SimExchange(seed=11, venue="binance",
                           instruments=(*DEFAULT_INSTRUMENTS, TST, STS))
    exchange.create_account(ACCOUNT, {"USDT": D(1_000_000), "STS": D(1000)})
    exchange.set_reference_prices()
    front_end = BinanceFrontEnd(exchange, credentials={KEY: (SECRET, ACCOUNT)},
                                faults=faults, market=market, clock_ms=server_clock)
    await front_end.start()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(0)

    settings: dict[str, Any] = {
        "account": ACCOUNT, "market": market, "rest_url": front_end.rest_url,
        "ws_private_url": front_end.ws_private_url, "retry_base_ms": 20,
        "retry_max_ms": 2000, "timeout_s": 3.0,
        "symbols": ("STSUSDT",) if market is S else (), **config}
    venue = BinanceVenue(BinanceConfig(**settings), KEY, secret, profile="demo", sleep=sleep)
    try:
        yield Harness(exchange, front_end, venue, sleeps)
    finally:
        await venue.aclose()
        await front_end.stop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def intent(client_id: str, market: Category = L, **changes: Any) -> Order:
    base = Order(venue="binance", account=ACCOUNT, category=market,
                 symbol="TSTUSDT" if market is L else "STSUSDT", side=Side.BUY,
                 type=OrderType.LIMIT, qty=D(2), price=D(95), status=OrderStatus.PENDING_NEW,
                 client_order_id=client_id, strategy_id="demo", worker_id="w1")
    return base.evolve(**changes)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- round trips ----------------------------------------------------------------------------


def test_a_futures_order_round_trips_and_keeps_its_ownership() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            placed = await venue.place_order(intent("rc-w1-e-rt-1"))
            assert (placed.status, placed.strategy_id, placed.worker_id) == (
                OrderStatus.NEW, "demo", "w1")
            assert placed.venue_order_id and not placed.venue_order_id.startswith("algo:")
            [listed] = await venue.fetch_open_orders()
            assert listed.venue_order_id == placed.venue_order_id
            by_client = await venue.fetch_order(placed.evolve(venue_order_id=""))
            assert by_client is not None and by_client.venue_order_id == placed.venue_order_id
            amended = await venue.amend_order(placed, qty=D(3), price=D("96.5"))
            assert (amended.venue_order_id, amended.qty, amended.price) == (
                placed.venue_order_id, D(3), D("96.5"))
            cancelled = await venue.cancel_order(amended)
            assert cancelled.status is OrderStatus.CANCELLED
            assert await venue.fetch_open_orders() == []
            ghost = await venue.fetch_order(intent("rc-w1-e-ghost-1"))
            assert ghost is None  # neither the order book nor the algo service knows it
            assert venue.calls["fetch_order"] >= 3

    run(main())


def test_a_spot_order_round_trips_and_its_amend_is_a_cancel_replace() -> None:
    async def main() -> None:
        async with harness(S) as h:
            venue = h.venue
            caps = venue.capabilities
            assert (caps.amend, caps.bulk_cancel_ids, caps.dead_man_switch) == (
                False, True, False)
            placed = await venue.place_order(intent("rc-w1-e-sp-1", S))
            assert placed.status is OrderStatus.NEW and placed.category is S
            amended = await venue.amend_order(placed, price=D("96.5"))
            # a new order under the same client id; the old one is cancelled
            assert amended.client_order_id == placed.client_order_id
            assert amended.venue_order_id != placed.venue_order_id
            assert (amended.price, amended.status) == (D("96.5"), OrderStatus.NEW)
            old = await venue.fetch_order(placed)
            assert old is not None and old.status is OrderStatus.CANCELLED
            maker = await venue.place_order(intent("rc-w1-e-sp-2", S,
                                                   time_in_force=TimeInForce.POST_ONLY))
            assert maker.time_in_force is TimeInForce.POST_ONLY
            acks = await venue.cancel_all_ids(S)
            assert set(acks) == {(amended.venue_order_id, amended.client_order_id),
                                 (maker.venue_order_id, maker.client_order_id)}
            with pytest.raises(CapabilityUnsupported):
                await venue.set_dead_man_switch(60_000)
            assert await venue.fetch_positions() == []

    run(main())


def test_a_spot_replace_that_cancels_but_cannot_place_leaves_nothing_live() -> None:
    """HTTP 409 (-2021): cancelled, the new post-only order would cross: the error says
    the order is gone, and nothing is live for it."""
    async def main() -> None:
        async with harness(S) as h:
            venue = h.venue
            maker = await venue.place_order(intent("rc-w1-e-sp-3", S,
                                                   time_in_force=TimeInForce.POST_ONLY))
            with pytest.raises(FatalVenueError, match="nothing is live"):
                await venue.amend_order(maker, price=D(150))  # above the ask: would take
            assert await venue.fetch_open_orders() == []

    run(main())


def test_a_spot_replace_of_an_unknown_order_is_not_found() -> None:
    async def main() -> None:
        async with harness(S) as h:
            with pytest.raises(OrderNotFoundError):
                await h.venue.amend_order(intent("rc-w1-e-ghost-2", S), price=D(90))
            assert h.exchange.open_orders(ACCOUNT) == []

    run(main())


# -- conditional orders -----------------------------------------------------------------------


def test_a_conditional_order_lives_in_the_algo_service_until_it_triggers() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            stop = await venue.place_order(intent(
                "rc-w1-s-cond-1", side=Side.SELL, type=OrderType.MARKET, price=None,
                trigger_price=D(90), trigger_direction=TriggerDirection.FALL))
            assert stop.status is OrderStatus.UNTRIGGERED
            assert stop.venue_order_id.startswith("algo:")
            [listed] = await venue.fetch_open_orders()
            assert (listed.venue_order_id, listed.trigger_price) == (stop.venue_order_id,
                                                                     D(90))
            h.exchange.set_price(L, "TSTUSDT", D(89))
            seen = await venue.fetch_order(stop)
            # triggered: the regular order it became is the answer
            assert seen is not None and not seen.venue_order_id.startswith("algo:")
            assert seen.status is OrderStatus.FILLED and seen.filled_qty == D(2)
            assert await venue.fetch_open_orders() == []

    run(main())


def test_cancelling_an_algo_order_and_one_that_triggered() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            stop = await venue.place_order(intent(
                "rc-w1-s-cond-2", side=Side.SELL, type=OrderType.MARKET, price=None,
                trigger_price=D(80), trigger_direction=TriggerDirection.FALL))
            cancelled = await venue.cancel_order(stop)
            assert cancelled.status is OrderStatus.CANCELLED
            assert cancelled.client_order_id == "rc-w1-s-cond-2"
            # a buy stop-limit that triggers into a resting limit order
            stop_limit = await venue.place_order(intent(
                "rc-w1-s-cond-3", trigger_price=D(101), price=D(95),
                trigger_direction=TriggerDirection.RISE))
            assert stop_limit.status is OrderStatus.UNTRIGGERED
            h.exchange.set_price(L, "TSTUSDT", D(102))
            resting = await venue.fetch_order(stop_limit)
            assert resting is not None and resting.status is OrderStatus.NEW
            assert not resting.venue_order_id.startswith("algo:")
            done = await venue.cancel_order(stop_limit)  # still known by its algo id
            assert done.status is OrderStatus.CANCELLED
            assert h.exchange.open_orders(ACCOUNT) == []

    run(main())


# -- fills --------------------------------------------------------------------------------


def test_fills_are_read_over_every_page_even_when_one_millisecond_holds_a_page() -> None:
    async def main() -> None:
        async with harness(page_limit=2) as h:
            venue = h.venue
            since = now_ms() - 1000
            await venue.place_order(intent("rc-w1-e-fill-0", side=Side.SELL,
                                           type=OrderType.MARKET, price=None, qty=D(1)))
            await asyncio.sleep(0.005)
            # one market order sweeping three book levels: three fills, one timestamp
            sweep = await venue.place_order(intent("rc-w1-e-fill-1", type=OrderType.MARKET,
                                                   price=None, qty=D(25)))
            assert sweep.status is OrderStatus.FILLED
            for i in range(3):
                await asyncio.sleep(0.002)
                await venue.place_order(intent(f"rc-w1-e-fill-{i + 2}", side=Side.SELL,
                                               type=OrderType.MARKET, price=None, qty=D(1)))
            fills = await venue.fetch_fills(since, now_ms() + 1000)
            assert len(fills) == len({f.exec_id for f in fills}) == 7
            assert {f.exec_id for f in fills} == {
                f"TSTUSDT:{i}:{'B' if 2 <= i <= 4 else 'S'}" for i in range(1, 8)}
            assert sum(f.qty for f in fills if f.side is Side.BUY) == D(25)
            assert [f.exec_time for f in fills] == sorted(f.exec_time for f in fills)
            assert venue.calls["fetch_fills"] >= 5  # every page was asked for

    run(main())


def test_fills_are_read_in_windows_no_longer_than_binance_allows() -> None:
    async def main() -> None:
        async with harness(symbols=("TSTUSDT",)) as h:
            venue = h.venue
            await venue.place_order(intent("rc-w1-e-w-1", type=OrderType.MARKET, price=None))
            until = now_ms() + 1000
            fills = await venue.fetch_fills(until - 20 * 86_400_000, until)
            assert len(fills) == 1
            assert venue.calls["fetch_fills"] == 3  # 20 days: three 7-day windows
        async with harness(S) as h:
            venue = h.venue
            await venue.place_order(intent("rc-w1-e-w-2", S, type=OrderType.MARKET,
                                           price=None))
            until = now_ms() + 1000
            assert len(await venue.fetch_fills(until - 3 * 86_400_000 + 1, until)) == 1
            assert venue.calls["fetch_fills"] == 3  # three 24-hour windows

    run(main())


# -- positions and balances ---------------------------------------------------------------


def test_positions_and_balances_match_the_venue() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            await venue.place_order(intent("rc-w1-e-pos-1", type=OrderType.MARKET, price=None,
                                           side=Side.SELL, qty=D(3)))
            await venue.place_order(intent("rc-w1-e-pos-2"))  # resting: holds margin
            [position] = await venue.fetch_positions()
            assert (position.symbol, position.size, position.position_side) == (
                "TSTUSDT", D(-3), PositionSide.ONE_WAY)
            balances = {b.asset: b for b in await venue.fetch_balances()}
            usdt, sim = balances["USDT"], h.exchange.balance(ACCOUNT, "USDT")
            assert usdt.locked == sim.locked > 0
            assert usdt.total == sim.total

    run(main())


def test_hedge_mode_is_read_per_side_and_refused_for_orders() -> None:
    async def main() -> None:
        async with harness() as h:
            venue, ex = h.venue, h.exchange
            ex.set_position_mode(ACCOUNT, PositionMode.HEDGE)
            for side, position_side in ((Side.BUY, PositionSide.LONG),
                                        (Side.SELL, PositionSide.SHORT)):
                ex.place_order(ACCOUNT, category=L, symbol="TSTUSDT", side=side,
                               order_type=OrderType.MARKET, qty=D(1),
                               position_side=position_side)
            sides = {p.position_side: p.size for p in await venue.fetch_positions()}
            assert sides == {PositionSide.LONG: D(1), PositionSide.SHORT: D(-1)}
            with pytest.raises(HedgeModeError, match="Position Mode to One-way"):
                await venue.place_order(intent("rc-w1-e-hedge-1"))
            assert venue.hedge_mode is True and venue.multi_assets is False
            assert venue.calls["place_order"] == 0  # refused before anything was sent

    run(main())


# -- errors and outcomes ------------------------------------------------------------------


def test_errors_are_typed() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            with pytest.raises(OrderNotFoundError):
                await venue.cancel_order(intent("rc-w1-e-ghost-3"))
            with pytest.raises(OrderNotFoundError):
                await venue.amend_order(intent("rc-w1-e-ghost-4"), price=D(90))
            with pytest.raises(FatalVenueError):
                await venue.place_order(intent("rc-w1-e-bad-1", qty=D("1.5")))
            await venue.place_order(intent("rc-w1-e-twice-1"))
            with pytest.raises(DuplicateClientOrderIdError):
                await venue.place_order(intent("rc-w1-e-twice-1"))
            filled = await venue.place_order(intent("rc-w1-e-done-1", type=OrderType.MARKET,
                                                    price=None))
            with pytest.raises(FatalVenueError, match="already FILLED") as caught:
                await venue.cancel_order(filled)  # -2011: read back, reported filled
            assert not isinstance(caught.value, OrderNotFoundError)

    run(main())


def test_an_unknown_create_is_resolved_by_its_client_id_never_resent() -> None:
    async def main() -> None:
        async with harness(faults="timeout_after_place=1@/fapi/v1/order") as h:
            placed = await h.venue.place_order(intent("rc-w1-e-unk-1"))
            assert placed.status is OrderStatus.NEW and placed.venue_order_id
            assert len(h.exchange.open_orders(ACCOUNT)) == 1
            assert h.venue.calls["place_order"] >= 2  # the create and the query

    run(main())


def test_an_unknown_create_the_venue_does_not_know_stays_unknown() -> None:
    async def main() -> None:
        async with harness(faults="http503=1@/fapi/v1/order") as h:
            with pytest.raises(UnknownOutcomeError):
                await h.venue.place_order(intent("rc-w1-e-unk-2"))
            assert h.exchange.open_orders(ACCOUNT) == []  # and nothing was sent again

    run(main())


def test_a_429_waits_retry_after_and_spends_the_budget_for_everyone() -> None:
    async def main() -> None:
        async with harness(faults="http429=1@/fapi/v1/openOrders") as h:
            assert await h.venue.fetch_open_orders() == []
            assert 1.0 in h.sleeps  # Retry-After: 1 (s)
            budget = h.venue.rate_budget().get("weight-1m")
            assert budget is not None and budget.limit == 2400

    run(main())


def test_a_spent_weight_budget_is_waited_out_before_the_next_call() -> None:
    async def main() -> None:
        async with harness(weight_limit_1m=3) as h:
            venue = h.venue
            for _ in range(3):
                await venue.fetch_open_orders()
            budget = venue.rate_budget().get("weight-1m")
            assert budget is not None and budget.remaining == 0
            await venue.fetch_open_orders()
            assert h.sleeps and 0 < h.sleeps[-1] <= 2.0  # until the minute turns, bounded

    run(main())


def test_refused_credentials_fail_fast_afterwards() -> None:
    async def main() -> None:
        async with harness(secret="WRONGSECRETd41d8cd98f00b204e9800998") as h:
            with pytest.raises(VenueAuthError):
                await h.venue.fetch_balances()
            asked = sum(h.venue.calls.values())
            with pytest.raises(VenueAuthError, match="not signing again"):
                await h.venue.fetch_positions()
            assert sum(h.venue.calls.values()) == asked  # nothing was sent

    run(main())


def test_a_skewed_clock_is_measured_and_compensated() -> None:
    async def main() -> None:
        async with harness(server_clock=lambda: now_ms() + 5000) as h:
            assert await h.venue.fetch_balances()
            assert h.venue.clock_skew_ms is not None and 4000 < h.venue.clock_skew_ms < 6000

    run(main())


# -- bulk cancel, dead-man's switch, priority lane ------------------------------------------


def test_cancel_all_covers_regular_and_algo_orders_of_every_symbol() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            orders = [await venue.place_order(intent(f"rc-w1-e-ca-{i}")) for i in range(2)]
            orders.append(await venue.place_order(intent(
                "rc-w1-s-ca-3", side=Side.SELL, type=OrderType.MARKET, price=None,
                trigger_price=D(80), trigger_direction=TriggerDirection.FALL)))
            orders.append(await venue.place_order(intent(
                "rc-w1-e-ca-4", symbol="BTCUSDT", qty=D("0.01"), price=D(50000))))
            with venue.priority():
                cancelled = await venue.cancel_all(L)
            assert {o.client_order_id for o in cancelled} == {o.client_order_id
                                                              for o in orders}
            assert all(o.status is OrderStatus.CANCELLED for o in cancelled)
            assert h.exchange.open_orders(ACCOUNT) == []
            assert venue.priority_calls["cancel_all"] == venue.calls["cancel_all"] > 0
            with pytest.raises(CapabilityUnsupported):
                await venue.cancel_all_ids(L)

    run(main())


def test_the_dead_man_switch_arms_and_disarms_every_traded_symbol() -> None:
    async def main() -> None:
        async with harness() as h:
            venue = h.venue
            await venue.place_order(intent("rc-w1-e-dms-1"))
            armed = await venue.set_dead_man_switch(60_000)
            assert armed.armed and armed.timeout_ms == 60_000
            assert h.front_end.countdowns.armed(ACCOUNT, "TSTUSDT") is not None
            assert not (await venue.set_dead_man_switch(None)).armed
            assert h.front_end.countdowns.armed(ACCOUNT, "TSTUSDT") is None

    run(main())


def test_what_ccxt_sends_is_ours() -> None:
    """Our client id (never ccxt's broker id), our recvWindow, the derived URL."""
    async def main() -> None:
        async with harness(recv_window_ms=7000) as h:
            sent: list[tuple[str, str, str]] = []
            exchange = h.venue._lanes.normal
            original = exchange.fetch

            async def fetch(url: str, method: str = "GET", headers: Any = None,
                            body: Any = None) -> Any:
                sent.append((method, url, body or ""))
                return await original(url, method, headers, body)

            exchange.fetch = fetch
            await h.venue.place_order(intent("rc-w1-e-own-1"))
            [(_, url, body)] = [s for s in sent if s[0] == "POST"]
            assert url == f"{h.front_end.rest_url}/fapi/v1/order"
            assert "newClientOrderId=rc-w1-e-own-1" in body and "x-" not in body
            assert "recvWindow=7000" in body and "signature=" in body
            assert SECRET not in repr(h.venue) and KEY not in repr(h.venue)
            assert SECRET not in repr(exchange)

    run(main())


# -- the private stream -------------------------------------------------------------------


async def _first_order_event(venue: BinanceVenue, order: Order) -> Order:
    events: AsyncIterator[VenueEvent] = venue.stream()
    try:
        while True:
            event = await asyncio.wait_for(events.__anext__(), 10)
            if isinstance(event, ConnectionEvent) and event.state is ConnectionState.CONNECTED:
                break
        placed = await venue.place_order(order)
        while True:
            event = await asyncio.wait_for(events.__anext__(), 10)
            if isinstance(event, OrderEvent) \
                    and event.order.venue_order_id == placed.venue_order_id:
                return event.order
    finally:
        await events.aclose()  # type: ignore[attr-defined]


@pytest.mark.parametrize("market", [L, S])
def test_the_stream_reports_our_orders(market: Category) -> None:
    async def main() -> None:
        async with harness(market) as h:
            seen = await _first_order_event(h.venue, intent(f"rc-w1-e-str-{market.value}",
                                                            market))
            assert (seen.status, seen.venue, seen.account) == (OrderStatus.NEW, "binance",
                                                              ACCOUNT)

    run(main())


def test_a_configured_dead_man_switch_is_kept_armed_while_the_stream_runs() -> None:
    async def main() -> None:
        async with harness(dead_man_ms=10_000, symbols=("TSTUSDT",)) as h:
            countdowns = h.front_end.countdowns
            events: AsyncIterator[VenueEvent] = h.venue.stream()

            async def drain() -> None:
                async for _ in events:
                    pass

            reader = asyncio.create_task(drain())
            try:
                deadline = time.monotonic() + 10
                while countdowns.armed(ACCOUNT, "TSTUSDT") is None:
                    assert time.monotonic() < deadline, "never armed"
                    await asyncio.sleep(0.05)
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                await events.aclose()  # type: ignore[attr-defined]
            assert countdowns.armed(ACCOUNT, "TSTUSDT") is None  # disarmed on close
            assert h.venue.calls["set_dead_man_switch"] >= 2

    run(main())
