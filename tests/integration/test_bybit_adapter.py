"""BybitVenue with the real pybit against the simulated Bybit front-end over loopback.

Each test starts a `BybitFrontEnd` (aiohttp on 127.0.0.1, in the test's own loop) over a
fresh `SimExchange`; pybit's blocking calls run on the adapter's worker threads, so the
loop keeps serving while they wait. Faults come from the front-end's fault grammar.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console import errors
from console.domain import Category, Order, OrderStatus, OrderType, Side, TriggerDirection
from console.domain.events import (
    ConnectionEvent,
    ConnectionState,
    FillEvent,
    OrderEvent,
    VenueEvent,
)
from console.errors import (
    FatalVenueError,
    OrderNotFoundError,
    RateLimitedError,
    UnknownOutcomeError,
)
from console.sim import DEFAULT_INSTRUMENTS, SimExchange, linear
from console.sim.bybit import BybitFrontEnd, Faults
from console.venues.bybit import BybitConfig, BybitVenue, DuplicateClientOrderIdError

T = TypeVar("T")
L = Category.LINEAR
KEY = CANARY_KEY
SECRET = CANARY_SECRET
ACCOUNT = "acct"
TST = linear("TSTUSDT", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
             reference_price="100")

pytestmark = pytest.mark.timeout(60)


class Telemetry:
    def __init__(self) -> None:
        self.counts: list[tuple[str, tuple[tuple[str, str], ...]]] = []
        self.latencies: list[tuple[str, float, tuple[tuple[str, str], ...]]] = []

    def observe_latency(self, stage: str, ms: float,
                        labels: tuple[tuple[str, str], ...] = ()) -> None:
        self.latencies.append((stage, ms, labels))

    def count(self, name: str, labels: tuple[tuple[str, str], ...] = (),
              amount: int = 1) -> None:
        self.counts.append((name, labels))

    def errors(self, cls: str) -> int:
        return sum(1 for n, labels in self.counts if n == "rest_errors"
                   and ("class", cls) in labels)


@dataclass
class Harness:
    exchange: SimExchange
    front_end: BybitFrontEnd
    venue: BybitVenue
    telemetry: Telemetry


@asynccontextmanager
async def harness(*, faults: str = "", secret: str = SECRET,
                  rate_limits: dict[str, int] | None = None,
                  server_clock: Callable[[], int] | None = None,
                  **config: Any) -> AsyncIterator[Harness]:
    exchange = SimExchange(seed=11, instruments=(*DEFAULT_INSTRUMENTS, TST))
    exchange.create_account(ACCOUNT, {"USDT": D(1_000_000)})
    exchange.set_reference_prices()
    front_end = BybitFrontEnd(exchange, credentials={KEY: (SECRET, ACCOUNT)},
                              faults=Faults(faults), rate_limits=rate_limits,
                              clock_ms=server_clock)
    await front_end.start()
    settings: dict[str, Any] = {
        "account": ACCOUNT, "rest_url": front_end.rest_url,
        "ws_private_url": front_end.ws_private_url, "retry_base_ms": 20,
        "retry_max_ms": 2000, "timeout_s": 3.0, "ws_check_interval_s": 0.1,
        "ws_reconnect_base_ms": 100, "ws_handshake_timeout_s": 3.0, **config}
    telemetry = Telemetry()
    venue = BybitVenue(BybitConfig(**settings), KEY, secret, profile="demo",
                       telemetry=telemetry)  # type: ignore[arg-type]
    try:
        yield Harness(exchange, front_end, venue, telemetry)
    finally:
        await venue.aclose()
        await front_end.stop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def intent(client_id: str, **changes: Any) -> Order:
    base = Order(venue="bybit", account=ACCOUNT, category=L, symbol="TSTUSDT", side=Side.BUY,
                 type=OrderType.LIMIT, qty=D(2), price=D(95), status=OrderStatus.PENDING_NEW,
                 client_order_id=client_id, strategy_id="demo", worker_id="w1")
    return base.evolve(**changes)


async def next_event(events: AsyncIterator[VenueEvent], kind: type,
                     timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        event = await asyncio.wait_for(events.__anext__(), deadline - time.monotonic())
        if isinstance(event, kind):
            return event


async def connected(events: AsyncIterator[VenueEvent]) -> ConnectionEvent:
    while True:
        event = await next_event(events, ConnectionEvent)
        if event.state is ConnectionState.CONNECTED:
            return event  # type: ignore[no-any-return]


# -- every port method ------------------------------------------------------------------


def test_every_port_method_round_trips() -> None:
    async def main() -> None:
        async with harness() as h:
            ex, venue = h.exchange, h.venue
            placed = await venue.place_order(intent("rc-w1-e-a-1"))
            assert placed.status is OrderStatus.NEW and placed.venue_order_id
            assert placed.strategy_id == "demo" and placed.client_order_id == "rc-w1-e-a-1"
            stop = await venue.place_order(intent(
                "rc-w1-s-a-2", side=Side.SELL, type=OrderType.MARKET, price=None,
                trigger_price=D(90), trigger_direction=TriggerDirection.FALL))
            assert stop.status is OrderStatus.UNTRIGGERED and stop.trigger_price == D(90)

            open_orders = await venue.fetch_open_orders()
            assert {o.client_order_id for o in open_orders} == {"rc-w1-e-a-1", "rc-w1-s-a-2"}
            assert await venue.fetch_order(placed) == next(
                o for o in open_orders if o.venue_order_id == placed.venue_order_id)

            amended = await venue.amend_order(placed, price=D("96.5"), qty="3")
            assert (amended.price, amended.qty) == (D("96.5"), D(3))
            assert ex.order_by_venue_id(ACCOUNT, placed.venue_order_id).price == D("96.5")

            ex.hand_fill(ACCOUNT, placed.venue_order_id, D(1))
            now = int(time.time() * 1000)
            fills = await venue.fetch_fills(now - 60_000, now + 1000)
            assert [(f.qty, f.price, f.venue_order_id) for f in fills] == [
                (D(1), D("96.5"), placed.venue_order_id)]
            positions = await venue.fetch_positions()
            assert [(p.symbol, p.size) for p in positions] == [("TSTUSDT", D(1))]
            balances = {b.asset: b for b in await venue.fetch_balances()}
            sim = ex.balance(ACCOUNT, "USDT")
            assert balances["USDT"].total == sim.total and balances["USDT"].free == sim.free

            cancelled = await venue.cancel_order(amended)
            assert cancelled.status is OrderStatus.CANCELLED
            assert cancelled.filled_qty == D(1)
            rest = await venue.cancel_all(L)
            assert [(o.client_order_id, o.status) for o in rest] == [
                ("rc-w1-s-a-2", OrderStatus.CANCELLED)]
            assert await venue.fetch_open_orders() == []
            assert set(venue.calls) >= {"fetch_open_orders", "fetch_order", "fetch_fills",
                                        "fetch_positions", "fetch_balances", "place_order",
                                        "amend_order", "cancel_order", "cancel_all"}
            rest_latency = [labels for stage, _, labels in h.telemetry.latencies
                            if stage == "rest"]
            assert (("endpoint", "/v5/order/create"),) in rest_latency
            budget = venue.rate_budget().get("/v5/order/create")
            assert budget is not None and budget.limit == 10

    run(main())


def test_fetch_order_is_none_for_an_order_bybit_never_had() -> None:
    async def main() -> None:
        async with harness() as h:
            assert await h.venue.fetch_order(intent("rc-w1-e-nobody-1")) is None
            assert await h.venue.fetch_order(intent("x", venue_order_id="no-such-id")) is None
            with pytest.raises(OrderNotFoundError, match="110001"):
                await h.venue.cancel_order(intent("rc-w1-e-nobody-1"))

    run(main())


def test_a_reused_client_id_is_a_duplicate_error() -> None:
    async def main() -> None:
        async with harness() as h:
            await h.venue.place_order(intent("rc-w1-e-dup-1"))
            with pytest.raises(DuplicateClientOrderIdError, match="110072") as caught:
                await h.venue.place_order(intent("rc-w1-e-dup-1"))
            assert isinstance(caught.value, errors.DuplicateClientOrderIdError)
            assert h.venue.calls["place_order"] == 3  # create + read-back, then the refusal

    run(main())


# -- pagination -------------------------------------------------------------------------


def test_listings_cost_one_call_per_page() -> None:
    async def main() -> None:
        async with harness(position_page_limit=3) as h:
            ex, venue = h.exchange, h.venue
            for i in range(120):
                ex.place_order(ACCOUNT, category=L, symbol="TSTUSDT", side=Side.BUY,
                               order_type=OrderType.LIMIT, qty=D(1),
                               price=D(50) + D(i) / 10)
            for i in range(230):
                ex.place_order(ACCOUNT, category=L, symbol="TSTUSDT",
                               side=Side.BUY if i % 2 == 0 else Side.SELL,
                               order_type=OrderType.MARKET, qty=D(1))
            symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "BNBUSDT",
                       "ADAUSDT"]
            for symbol in symbols:
                qty = ex.instrument(L, symbol).min_qty
                ex.place_order(ACCOUNT, category=L, symbol=symbol, side=Side.SELL,
                               order_type=OrderType.MARKET, qty=qty)
            before = venue.calls.copy()
            orders = await venue.fetch_open_orders()
            now = int(time.time() * 1000)
            fills = await venue.fetch_fills(now - 3_600_000, now + 1000)
            positions = await venue.fetch_positions()
            made = venue.calls - before
            assert len(orders) == 120 and made["fetch_open_orders"] == math.ceil(120 / 50)
            assert len(fills) == 237 and made["fetch_fills"] == math.ceil(237 / 100)
            assert len({f.exec_id for f in fills}) == 237
            assert len(positions) == 7 and made["fetch_positions"] == math.ceil(7 / 3)
            assert all(p.size < 0 for p in positions)  # shorts come back signed

    run(main())


# -- errors -----------------------------------------------------------------------------


def test_a_wrong_secret_is_fatal_and_names_the_profile() -> None:
    async def main() -> None:
        async with harness(secret="not-the-secret-000000000000") as h:
            with pytest.raises(FatalVenueError) as caught:
                await h.venue.fetch_open_orders()
            assert caught.value.code == "10004"
            assert "check the API key/secret of profile 'demo'" in str(caught.value)
            assert "not-the-secret" not in str(caught.value)
            assert h.venue.calls["fetch_open_orders"] == 1  # never retried
            assert h.telemetry.errors("auth") == 1

    run(main())


def test_a_burst_of_rate_limit_answers_is_ridden_out() -> None:
    async def main() -> None:
        async with harness(faults="retcode=10006x2@/v5/order/realtime") as h:
            assert await h.venue.fetch_open_orders() == []
            assert h.venue.calls["fetch_open_orders"] == 3
            assert h.telemetry.errors("rate_limited") == 2

    run(main())


def test_a_spent_budget_waits_for_the_reset_header() -> None:
    async def main() -> None:
        async with harness(rate_limits={"/v5/order/realtime": 2}) as h:
            started = time.monotonic()
            for _ in range(4):
                assert await h.venue.fetch_open_orders() == []
            elapsed = time.monotonic() - started
            assert elapsed >= 0.8  # the third call waited for the one-second window
            # ... ahead of a refusal: paced from X-Bapi-Limit-Status, never refused
            assert h.telemetry.errors("rate_limited") == 0
            assert ("rest_paced", (("endpoint", "/v5/order/realtime"),)) in h.telemetry.counts
            assert h.venue.calls["fetch_open_orders"] == 4
            budget = h.venue.rate_budget().get("/v5/order/realtime")
            assert budget is not None and budget.limit == 2

    run(main())


def test_rate_limits_that_outlast_their_budget_surface() -> None:
    async def main() -> None:
        async with harness(faults="retcode=10006x30@/v5/position/list", retry_tries=3) as h:
            with pytest.raises(RateLimitedError):
                await h.venue.fetch_positions()
            assert h.venue.calls["fetch_positions"] == 11  # 1 + 10 waited-out refusals

    run(main())


def test_http_5xx_on_a_read_is_retried() -> None:
    async def main() -> None:
        async with harness(faults="http502=1@/v5/position/list;http503=1@/v5/position/list") \
                as h:
            assert await h.venue.fetch_positions() == []
            assert h.venue.calls["fetch_positions"] == 3
            assert h.telemetry.errors("transient") == 2

    run(main())


def test_a_create_cut_after_placement_is_an_unknown_outcome_not_retried() -> None:
    async def main() -> None:
        async with harness(faults="timeout_after_place=1") as h:
            with pytest.raises(UnknownOutcomeError):
                await h.venue.place_order(intent("rc-w1-e-lost-1"))
            assert h.venue.calls["place_order"] == 1
            # it did land: resolving by client id finds it, and only one exists
            found = await h.venue.fetch_order(intent("rc-w1-e-lost-1"))
            assert found is not None and found.status is OrderStatus.NEW
            assert len(h.exchange.open_orders(ACCOUNT)) == 1

    run(main())


def test_a_create_that_times_out_is_an_unknown_outcome() -> None:
    async def main() -> None:
        async with harness(faults="hang_after_place=1;hang=1500ms", timeout_s=0.5) as h:
            with pytest.raises(UnknownOutcomeError, match=r"timeout|timed out"):
                await h.venue.place_order(intent("rc-w1-e-slow-1"))
            assert h.venue.calls["place_order"] == 1
            assert h.exchange.order_by_client_id(ACCOUNT, "rc-w1-e-slow-1") is not None

    run(main())


def test_a_venue_clock_ahead_of_ours_is_compensated() -> None:
    async def main() -> None:
        async with harness(server_clock=lambda: int(time.time() * 1000) + 3000) as h:
            assert await h.venue.fetch_open_orders() == []  # no 10002: signing corrected
            assert h.venue.clock_skew_ms is not None
            assert 2500 <= h.venue.clock_skew_ms <= 3500
            events = h.venue.stream()
            try:
                await connected(events)  # the login's expiry covers the skew too
            finally:
                await events.aclose()

    run(main())


# -- the private stream -----------------------------------------------------------------


def test_the_stream_delivers_orders_and_executions() -> None:
    async def main() -> None:
        async with harness() as h:
            events = h.venue.stream()
            try:
                first = await connected(events)
                assert not first.reconnected
                placed = await h.venue.place_order(intent("rc-w1-e-ws-1"))
                order_event = await next_event(events, OrderEvent)
                assert order_event.order.venue_order_id == placed.venue_order_id
                h.exchange.hand_fill(ACCOUNT, placed.venue_order_id)
                fill_event = await next_event(events, FillEvent)
                assert fill_event.fill.venue_order_id == placed.venue_order_id
                assert fill_event.fill.qty == D(2)
                assert any(stage == "ws" for stage, _, _ in h.telemetry.latencies)
            finally:
                await events.aclose()

    run(main())


def test_a_dropped_connection_is_rebuilt_and_reported() -> None:
    async def main() -> None:
        async with harness() as h:
            events = h.venue.stream()
            try:
                await connected(events)
                started = time.monotonic()
                assert await h.front_end.disconnect_private() == 1
                back = await connected(events)
                took = time.monotonic() - started
                assert back.reconnected and took < 2.0
                assert ("ws_reconnects", (("venue", "bybit"),)) in h.telemetry.counts
                # and it is subscribed again
                placed = await h.venue.place_order(intent("rc-w1-e-ws-2"))
                event = await next_event(events, OrderEvent)
                assert event.order.venue_order_id == placed.venue_order_id
            finally:
                await events.aclose()

    run(main())


def test_a_close_frame_from_the_server_is_also_rebuilt() -> None:
    async def main() -> None:
        async with harness() as h:
            events = h.venue.stream()
            try:
                await connected(events)
                await h.front_end.disconnect_private(mode="close")
                assert (await connected(events)).reconnected
            finally:
                await events.aclose()

    run(main())


def test_closing_the_stream_leaves_no_threads() -> None:
    before = set(threading.enumerate())

    async def main() -> None:
        async with harness() as h:
            events = h.venue.stream()
            await connected(events)
            await h.front_end.disconnect_private()
            await connected(events)
            await events.aclose()

    run(main())
    deadline = time.monotonic() + 3
    left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [t for t in left if t.is_alive()]
    assert left == [], [t.name for t in left]


def test_a_refused_stream_login_is_down_and_names_the_profile() -> None:
    async def main() -> None:
        async with harness(secret="wrong-secret-00000000000000") as h:
            events = h.venue.stream()
            try:
                down = await next_event(events, ConnectionEvent)
                while down.state is not ConnectionState.DOWN:
                    down = await next_event(events, ConnectionEvent)
                assert "profile 'demo'" in down.detail
            finally:
                await events.aclose()

    run(main())


def test_against_the_sim_server_running_on_its_own_thread() -> None:
    """As in the demo: the sim serves from its own loop (`recon-console sim`), the adapter
    runs on the caller's."""
    from console.sim.server import run_sim_server_in_thread

    with run_sim_server_in_thread(api_key=KEY, api_secret=SECRET, seed=3) as server:
        async def main() -> None:
            config = BybitConfig(account=server.account, rest_url=server.rest_url,
                                 ws_private_url=server.ws_private_url,
                                 ws_check_interval_s=0.1)
            venue = BybitVenue(config, server.api_key, server.api_secret, profile="demo")
            events = venue.stream()
            try:
                await connected(events)
                placed = await venue.place_order(intent("rc-w1-e-thr-1", symbol="BTCUSDT",
                                                        qty=D("0.01"), price=D(50000))
                                                 .evolve(account=server.account))
                assert (await next_event(events, OrderEvent)).order.venue_order_id == \
                    placed.venue_order_id
                server.call(server.exchange.hand_fill, server.account, placed.venue_order_id)
                fill = await next_event(events, FillEvent)
                assert fill.fill.qty == D("0.01")
                server.run(server.front_end.disconnect_private)
                assert (await connected(events)).reconnected
                assert [o.status for o in await venue.fetch_open_orders()] == []
            finally:
                await events.aclose()
                await venue.aclose()

        run(main())


def test_a_spot_account_lists_cancels_and_has_no_positions() -> None:
    async def main() -> None:
        async with harness(category=Category.SPOT, settle_coin="") as h:
            venue = h.venue
            spot = {"category": Category.SPOT, "symbol": "BTCUSDT", "qty": D("0.001")}
            resting = await venue.place_order(intent("rc-w1-e-sp-1", price=D(50000), **spot))
            stop = await venue.place_order(intent(
                "rc-w1-s-sp-2", side=Side.SELL, type=OrderType.MARKET, price=None,
                trigger_price=D(55000), trigger_direction=TriggerDirection.FALL, **spot))
            bought = await venue.place_order(intent("rc-w1-e-sp-3", type=OrderType.MARKET,
                                                    price=None, **spot))
            assert bought.status is OrderStatus.FILLED and bought.filled_qty == D("0.001")
            assert {o.venue_order_id for o in await venue.fetch_open_orders()} == {
                resting.venue_order_id, stop.venue_order_id}
            assert await venue.fetch_positions() == [] and venue.calls["fetch_positions"] == 0
            cancelled = await venue.cancel_all(Category.SPOT)
            assert {(o.venue_order_id, o.status) for o in cancelled} == {
                (resting.venue_order_id, OrderStatus.CANCELLED),
                (stop.venue_order_id, OrderStatus.CANCELLED)}
            assert await venue.fetch_open_orders() == []
            assets = {b.asset for b in await venue.fetch_balances()}
            assert {"USDT", "BTC"} <= assets

    run(main())
