"""Bybit's dead-man's switch (disconnection protection, DCP) in the connector: the profile
setting, the config, and `set_dead_man_switch` / `dead_man_state()` against the simulated
Bybit front-end on loopback (real pybit), whose DCP really cancels the orders of the
product when every connection subscribed to its topic has been gone for the window.

Countdowns run at a tenth of the window on the sim (`dcp.time_scale`), so a 3 s window
ends 0.3 s after the loss.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any, TypeVar

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.events import ConnectionEvent, ConnectionState, VenueEvent
from console.errors import ConfigError, FatalVenueError, VenueError
from console.profiles import ProfileValueError
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.bybit import BybitFrontEnd
from console.ui.widgets.status_bar import dead_man_text
from console.venues.bybit import BybitConfig, BybitVenue
from console.venues.bybit.spec import SPEC, BybitSettings, parse
from console.venues.bybit.stream import PrivateSocket, SocketSpec, pybit_socket

T = TypeVar("T")
ACCOUNT = "acct"
SCALE = 0.1

pytestmark = pytest.mark.timeout(60)


# -- the profile setting and the config ---------------------------------------------------

def test_the_profile_setting_is_off_by_default_and_validated() -> None:
    assert parse({}).dead_man_s == 0
    assert parse({"dead_man_s": "10"}).dead_man_s == 10
    assert parse({"dead_man_s": 300}).dead_man_s == 300
    assert parse({"dead_man_s": "0"}).to_table() == {"category": "linear",
                                                     "settle_coin": "USDT"}
    assert parse({"dead_man_s": "3"}).to_table()["dead_man_s"] == "3"
    for bad in ("2", "301", "ten", "-5", True):
        with pytest.raises(ProfileValueError) as err:
            parse({"dead_man_s": bad})
        assert "dead_man_s" in str(err.value)
    [offered] = [f for f in SPEC.fields if f.key == "dead_man_s"]
    assert offered.default == "0" and offered.option == "--dead-man-s"


def test_the_config_takes_whole_seconds_in_bybits_range() -> None:
    base = {"account": "a"}
    assert BybitConfig(**base, dead_man_ms=3000).dead_man_ms == 3000
    assert BybitConfig(**base).dead_man_ms is None
    for bad in (2000, 301_000, 3500, 0, True):
        with pytest.raises(ConfigError):
            BybitConfig(**base, dead_man_ms=bad)


def test_the_switch_is_a_capability_on_every_category() -> None:
    assert BybitVenue.capabilities.dead_man_switch
    assert BybitSettings(category=Category.SPOT, dead_man_s=10).dead_man_s == 10


# -- against the sim ----------------------------------------------------------------------

@dataclass
class Harness:
    exchange: SimExchange
    front_end: BybitFrontEnd
    venue: BybitVenue
    gate: Gate
    events: list[VenueEvent] = field(default_factory=list)


class Gate:
    """A socket factory that can stop the connector from reconnecting (the network is
    gone), without touching the socket it has."""

    def __init__(self) -> None:
        self.blocked = False

    def __call__(self, spec: SocketSpec) -> PrivateSocket:
        if self.blocked:
            raise ConnectionRefusedError("network down (test)")
        return pybit_socket(spec)


@asynccontextmanager
async def harness(category: Category = Category.LINEAR, **config: Any
                  ) -> AsyncIterator[Harness]:
    exchange = SimExchange(seed=3, instruments=DEFAULT_INSTRUMENTS)
    exchange.create_account(ACCOUNT, {"USDT": D(1_000_000)})
    exchange.set_reference_prices()
    front_end = BybitFrontEnd(exchange, credentials={CANARY_KEY: (CANARY_SECRET, ACCOUNT)})
    front_end.dcp.time_scale = SCALE
    await front_end.start()
    settings: dict[str, Any] = {
        "account": ACCOUNT, "category": category, "rest_url": front_end.rest_url,
        "ws_private_url": front_end.ws_private_url, "retry_tries": 2, "retry_base_ms": 20,
        "retry_max_ms": 200, "timeout_s": 3.0, "ws_check_interval_s": 0.05,
        "ws_reconnect_base_ms": 50, "ws_reconnect_max_ms": 100,
        "ws_handshake_timeout_s": 3.0, **config}
    gate = Gate()
    venue = BybitVenue(BybitConfig(**settings), CANARY_KEY, CANARY_SECRET, profile="demo",
                       socket_factory=gate)
    try:
        yield Harness(exchange, front_end, venue, gate)
    finally:
        await venue.aclose()
        await front_end.stop()


@asynccontextmanager
async def streaming(h: Harness) -> AsyncIterator[None]:
    stream = h.venue.stream()

    async def pump() -> None:
        async for event in stream:
            h.events.append(event)

    task = asyncio.create_task(pump())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
        await stream.aclose()


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def bid(client_id: str, category: Category = Category.LINEAR) -> Order:
    spot = category is Category.SPOT
    return Order(venue="bybit", account=ACCOUNT, category=category, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=D("0.001" if spot else "0.01"),
                 price=D(50000), status=OrderStatus.PENDING_NEW, client_order_id=client_id)


def connected(h: Harness) -> bool:
    return any(isinstance(e, ConnectionEvent) and e.state is ConnectionState.CONNECTED
               for e in h.events)


def armed(h: Harness) -> bool:
    state = h.venue.dead_man_state()
    return state is not None and state.armed and not state.last_error


def test_the_stream_arms_it_when_the_profile_asks_and_keeps_it_current() -> None:
    async def scenario() -> None:
        async with harness(dead_man_ms=3000) as h, streaming(h):
            await until(lambda: armed(h))
            assert h.front_end.dcp.window_s(ACCOUNT, "DERIVATIVES") == 3
            assert h.front_end.dcp.guarded(ACCOUNT, "DERIVATIVES") == 1
            first = h.venue.dead_man_state()
            assert first is not None and first.timeout_ms == 3000 and first.symbols is None
            await asyncio.sleep(1.0)
            later = h.venue.dead_man_state()
            assert later is not None and later.refreshed_at is not None
            assert first.refreshed_at is not None and later.refreshed_at > first.refreshed_at
            now = later.refreshed_at
            shown = dead_man_text(later, now)
            assert shown is not None and shown[1].startswith("armed 3 s")
    run(scenario())


def test_a_clean_close_disarms_it_and_the_orders_stay() -> None:
    async def scenario() -> None:
        async with harness(dead_man_ms=3000) as h:
            async with streaming(h):
                await until(lambda: armed(h))
                placed = await h.venue.place_order(bid("keep-1"))
            assert h.front_end.dcp.guarded(ACCOUNT, "DERIVATIVES") == 0
            state = h.venue.dead_man_state()
            assert state is not None and not state.armed and not state.last_error
            await asyncio.sleep(0.6)                      # twice the scaled window
            assert not h.front_end.dcp.counting(ACCOUNT, "DERIVATIVES")
            assert [o.venue_order_id for o in await h.venue.fetch_open_orders()] == \
                [placed.venue_order_id]
    run(scenario())


def test_a_drop_the_connector_repairs_within_the_window_cancels_nothing() -> None:
    async def scenario() -> None:
        async with harness(dead_man_ms=10_000) as h, streaming(h):   # 1 s on the sim
            await until(lambda: armed(h))
            placed = await h.venue.place_order(bid("stay-1"))
            assert await h.front_end.disconnect_private() == 1
            await until(lambda: h.front_end.dcp.guarded(ACCOUNT, "DERIVATIVES") == 1)
            await asyncio.sleep(1.3)
            assert h.front_end.dcp.triggers == []
            assert [o.venue_order_id for o in await h.venue.fetch_open_orders()] == \
                [placed.venue_order_id]
    run(scenario())


def test_a_loss_past_the_window_cancels_the_orders_and_the_state_says_so() -> None:
    async def scenario() -> None:
        async with harness(dead_man_ms=3000) as h, streaming(h):
            await until(lambda: armed(h))
            placed = [await h.venue.place_order(bid(f"gone-{i}")) for i in range(2)]
            h.gate.blocked = True                           # the network is gone
            await h.front_end.disconnect_private()
            await until(lambda: bool(h.front_end.dcp.triggers), 3)
            await until(lambda: (s := h.venue.dead_man_state()) is not None
                        and s.last_error == "stream down")
            state = h.venue.dead_man_state()
            assert state is not None and state.armed
            runs_out = state.runs_out_at()
            assert runs_out is not None
            shown = dead_man_text(state, runs_out)
            assert shown is not None and shown[1].startswith("ran out")
            h.gate.blocked = False                          # back: reconciled by REST
            await until(lambda: armed(h))
            assert await h.venue.fetch_open_orders() == []
            for order in placed:
                seen = await h.venue.fetch_order(order)
                assert seen is not None and seen.status is OrderStatus.CANCELLED
    run(scenario())


def test_arming_and_disarming_while_the_stream_runs() -> None:
    async def scenario() -> None:
        async with harness(category=Category.SPOT) as h, streaming(h):
            await until(lambda: connected(h))
            assert h.venue.dead_man_state() is None         # the profile left it off
            state = await h.venue.set_dead_man_switch(4000)
            assert state.armed and state.timeout_ms == 4000
            assert h.front_end.dcp.window_s(ACCOUNT, "SPOT") == 4
            assert h.front_end.dcp.guarded(ACCOUNT, "SPOT") == 1
            assert h.front_end.dcp.guarded(ACCOUNT, "DERIVATIVES") == 0
            state = await h.venue.set_dead_man_switch(None)
            assert not state.armed
            assert h.front_end.dcp.guarded(ACCOUNT, "SPOT") == 0
            await asyncio.sleep(1.2)                         # the keeper does not re-arm
            assert h.front_end.dcp.guarded(ACCOUNT, "SPOT") == 0
            current = h.venue.dead_man_state()
            assert current is not None and not current.armed
    run(scenario())


def test_arming_without_a_stream_sets_the_window_and_says_it_is_not_held() -> None:
    async def scenario() -> None:
        async with harness() as h:
            state = await h.venue.set_dead_man_switch(5000)
            assert h.front_end.dcp.window_s(ACCOUNT, "DERIVATIVES") == 5
            assert state.armed and state.timeout_ms == 5000
            assert state.last_error == "stream not subscribed"
            assert state.refreshed_at is not None
            shown = dead_man_text(state, state.refreshed_at)
            assert shown is not None and "stream not subscribed" in shown[1]
            with pytest.raises(FatalVenueError):
                await h.venue.set_dead_man_switch(2500)
            async with streaming(h):                          # armed before: held now
                await until(lambda: armed(h))
                assert h.front_end.dcp.guarded(ACCOUNT, "DERIVATIVES") == 1
    run(scenario())


def test_an_account_without_dcp_keeps_its_stream_and_the_state_says_why() -> None:
    async def scenario() -> None:
        async with harness(dead_man_ms=3000) as h:
            h.front_end.dcp.enabled = frozenset()
            with pytest.raises(VenueError):
                await h.venue.set_dead_man_switch(3000)
            state = h.venue.dead_man_state()
            assert state is not None and not state.armed and "10001" in state.last_error
            async with streaming(h):
                await until(lambda: connected(h))
                placed = await h.venue.place_order(bid("still-streams"))
                await until(lambda: any(getattr(getattr(e, "order", None),
                                                "venue_order_id", "")
                                        == placed.venue_order_id for e in h.events))
                assert h.front_end.dcp.guarded(ACCOUNT, "DERIVATIVES") == 0
    run(scenario())
