"""The demo's mischief on the embedded sim: a venue port with latency and a stream that can
be cut (`ChaosVenue`), and exchange-side actions whose private events are lost, so that
only a reconciliation can find them (`SimChaos`, the engine's `ChaosPort`).

Both satisfy engine protocols structurally (`VenuePort`, `ChaosPort`): this module, like
every adapter, imports the domain and the errors, never the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractContextManager
from decimal import ROUND_FLOOR, Decimal
from typing import Any, TypeVar

from console.domain import Balance, Category, Fill, Order, OrderRole, OrderType, Position, Side
from console.domain.capabilities import DeadManState, RateBudget, VenueCapabilities
from console.domain.events import ConnectionEvent, ConnectionState, VenueEvent
from console.domain.ids import ClientOrderIdGenerator
from console.domain.telemetry import Telemetry
from console.errors import UserFacingError
from console.sim import SimExchange, SimVenue, wall_clock_ms
from console.sim.instruments import Instrument

_T = TypeVar("_T")

DEFAULT_SEED = 7
LOST_WORKER = "lost"
"""The worker id of `SimChaos.place_lost_order`'s orders: a session no console runs."""
LOST_ORDER_DISCOUNT = Decimal("0.95")
"""A lost order is a buy 5 % under the mark: it rests, nothing fills it by chance."""


class ChaosVenue:
    """A `VenuePort` over a `SimVenue`.

    Each request waits a simulated network delay and is timed into the telemetry as
    "rest" (the in-process sim has no network, and the charts should show what a venue
    would). Private events are timed as "ws" (delivery lag after the exchange emitted
    them). `cut_stream(seconds)` takes the private stream down: DOWN is reported, events
    of the gap are lost, then RECONNECTING and CONNECTED(reconnected=True), which makes
    the engine reconcile at once, as after a real reconnect.

    Every member of the port is written out here, forwarding to the sim: a wrapper that
    inherited or forgot one would silently change what the engine believes the venue can
    do (a test checks the class body against `VenuePort`).
    """

    venue: str
    account: str
    calls: Counter[str]

    def __init__(self, inner: SimVenue, telemetry: Telemetry, *,
                 latency_ms: tuple[float, float] = (0.0, 0.0),
                 seed: int = DEFAULT_SEED) -> None:
        self.inner = inner
        self.venue = inner.venue
        self.account = inner.account
        self.calls = inner.calls
        self.telemetry = telemetry
        self.latency_ms = latency_ms
        self._rng = random.Random(seed)
        self._queues: list[asyncio.Queue[VenueEvent]] = []
        self._cut_until = 0.0
        self.lost_events = 0
        self._reconnect: asyncio.TimerHandle | None = None

    # -- the port's declared capabilities, forwarded one by one ---------------------------

    @property
    def capabilities(self) -> VenueCapabilities:
        return self.inner.capabilities

    @property
    def categories(self) -> tuple[Category, ...]:
        return self.inner.categories

    def priority(self) -> AbstractContextManager[None]:
        return self.inner.priority()

    @property
    def priority_calls(self) -> Counter[str]:
        return self.inner.priority_calls

    async def warm_priority_lane(self) -> None:
        await self.inner.warm_priority_lane()

    async def cancel_all_ids(self, category: Category,
                             symbol: str | None = None) -> list[tuple[str, str]]:
        result: list[tuple[str, str]] = await self._timed(
            lambda: self.inner.cancel_all_ids(category, symbol))
        return result

    def rate_budget(self) -> RateBudget | None:
        return self.inner.rate_budget()

    async def replace_order(self, order: Order, replacement: Order) -> tuple[Order, Order]:
        result: tuple[Order, Order] = await self._timed(
            lambda: self.inner.replace_order(order, replacement))
        return result

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        return await self.inner.set_dead_man_switch(timeout_ms)

    def dead_man_state(self) -> DeadManState | None:
        return self.inner.dead_man_state()

    # -- requests, with simulated latency --------------------------------------------------

    async def _timed(self, call: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        low, high = self.latency_ms
        try:
            if high > 0:
                await asyncio.sleep(self._rng.uniform(low, high) / 1000)
            return await call()
        finally:
            self.telemetry.observe_latency("rest", (time.perf_counter() - t0) * 1000)

    async def fetch_open_orders(self) -> list[Order]:
        result: list[Order] = await self._timed(self.inner.fetch_open_orders)
        return result

    async def fetch_order(self, order: Order) -> Order | None:
        result: Order | None = await self._timed(lambda: self.inner.fetch_order(order))
        return result

    async def fetch_fills(self, since: int, until: int) -> list[Fill]:
        result: list[Fill] = await self._timed(lambda: self.inner.fetch_fills(since, until))
        return result

    async def fetch_positions(self) -> list[Position]:
        result: list[Position] = await self._timed(self.inner.fetch_positions)
        return result

    async def fetch_balances(self) -> list[Balance]:
        result: list[Balance] = await self._timed(self.inner.fetch_balances)
        return result

    async def place_order(self, order: Order) -> Order:
        result: Order = await self._timed(lambda: self.inner.place_order(order))
        return result

    async def amend_order(self, order: Order, *, qty: object = None,
                          price: object = None) -> Order:
        result: Order = await self._timed(
            lambda: self.inner.amend_order(order, qty=qty, price=price))
        return result

    async def cancel_order(self, order: Order) -> Order:
        result: Order = await self._timed(lambda: self.inner.cancel_order(order))
        return result

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        result: list[Order] = await self._timed(lambda: self.inner.cancel_all(category, symbol))
        return result

    async def aclose(self) -> None:
        if self._reconnect is not None:
            self._reconnect.cancel()
        await self.inner.aclose()

    # -- the private stream, which the chaos menu can cut ----------------------------------

    @property
    def stream_cut(self) -> bool:
        return time.monotonic() < self._cut_until

    def cut_stream(self, seconds: float) -> None:
        """Take the private stream down for `seconds` (call on the loop's thread)."""
        loop = asyncio.get_running_loop()
        self._cut_until = time.monotonic() + seconds
        for queue in self._queues:
            queue.put_nowait(ConnectionEvent(ConnectionState.DOWN, detail="cut by the chaos "
                                             "menu", at=wall_clock_ms()))
        if self._reconnect is not None:
            self._reconnect.cancel()
        self._reconnect = loop.call_later(seconds, self._reconnected)

    def _reconnected(self) -> None:
        self._reconnect = None
        self._cut_until = 0.0
        now = wall_clock_ms()
        for queue in self._queues:
            queue.put_nowait(ConnectionEvent(ConnectionState.RECONNECTING, at=now, attempt=1))
            queue.put_nowait(ConnectionEvent(ConnectionState.CONNECTED, reconnected=True,
                                             detail="reconnected after the cut", at=now))

    def stream(self) -> AsyncIterator[VenueEvent]:
        return self._stream()

    async def _stream(self) -> AsyncGenerator[VenueEvent, None]:
        queue: asyncio.Queue[VenueEvent] = asyncio.Queue()
        inner = self.inner.stream()

        async def pump() -> None:
            async for event in inner:
                if self.stream_cut:
                    self.lost_events += 1
                    continue
                queue.put_nowait(event)

        self._queues.append(queue)
        task = asyncio.create_task(pump(), name="chaos-stream-pump")
        try:
            while True:
                event = await queue.get()
                if not isinstance(event, ConnectionEvent) and event.received_at:
                    self.telemetry.observe_latency(
                        "ws", max(0, wall_clock_ms() - event.received_at))
                yield event
        finally:
            self._queues.remove(queue)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await inner.aclose()


class SimChaos:
    """`ChaosPort` over the sim: exchange-side actions whose private events are lost, so
    only a reconciliation can find them."""

    def __init__(self, exchange: SimExchange, account: str, venue: ChaosVenue, *,
                 our_prefix: str = "rc") -> None:
        """`our_prefix` is the client-id prefix the engine takes for its own (the
        reconciler's `our_prefix`, "rc" unless configured)."""
        self.exchange = exchange
        self.account = account
        self.venue = venue
        counter = itertools.count(1)
        self._lost_ids = ClientOrderIdGenerator(our_prefix, LOST_WORKER,
                                                lambda: next(counter), wall_clock_ms)

    def _silently(self, action: Callable[[], _T]) -> _T:
        self.exchange.drop_private_events(self.account)
        try:
            return action()
        finally:
            self.exchange.restore_private_events(self.account)

    def _pick(self, ref: str | None) -> Order:
        if ref:
            found = self.exchange.get_order(self.account, ref)
            if found is None or not found.is_active:
                raise UserFacingError(f"order {ref} is not open on the sim")
            return found
        orders = self.exchange.open_orders(self.account)
        if not orders:
            raise UserFacingError("no open order on the sim")
        ours = [o for o in orders if o.client_order_id]
        return (ours or orders)[0]

    @staticmethod
    def _title(order: Order) -> str:
        price = order.price if order.price is not None else order.trigger_price
        return (f"{order.symbol} {order.side.value} {order.qty} @ {price} "
                f"({order.client_order_id or order.venue_order_id})")

    def hand_cancel(self, ref: str | None = None) -> str:
        order = self._pick(ref)
        self._silently(lambda: self.exchange.hand_cancel(self.account, order.venue_order_id))
        return f"cancelled {self._title(order)} by hand on the exchange (events lost)"

    def hand_fill(self, ref: str | None = None) -> str:
        order = self._pick(ref)
        filled = self._silently(
            lambda: self.exchange.hand_fill(self.account, order.venue_order_id))
        return (f"filled {self._title(order)} by hand on the exchange: "
                f"{filled.filled_qty} @ {filled.avg_price} (events lost)")

    def close_position(self, symbol: str | None = None) -> str:
        positions = [p for p in self.exchange.positions(self.account)
                     if symbol is None or p.symbol == symbol]
        if not positions:
            raise UserFacingError("no open position on the sim" + (
                f" for {symbol}" if symbol else ""))
        p = positions[0]
        self._silently(lambda: self.exchange.close_position(self.account, p.category,
                                                            p.symbol))
        return f"closed the {p.symbol} position ({p.size}) by hand on the exchange (events lost)"

    def place_lost_order(self, symbol: str | None = None) -> str:
        instrument = self._lost_order_instrument(symbol)
        mark = self.exchange.mark_price(instrument.category, instrument.symbol)
        assert mark is not None  # only priced instruments are picked
        tick = instrument.tick_size
        price = (mark * LOST_ORDER_DISCOUNT / tick).to_integral_value(ROUND_FLOOR) * tick
        client_id = self._lost_ids.next(OrderRole.OTHER)
        placed = self._silently(lambda: self.exchange.place_order(
            self.account, category=instrument.category, symbol=instrument.symbol,
            side=Side.BUY, order_type=OrderType.LIMIT, qty=instrument.min_qty, price=price,
            client_order_id=client_id))
        return (f"placed {self._title(placed)} on the exchange as a lost session of ours "
                "would have (events lost): the next reconciliation proposes cancelling it, "
                "for your approval in the inbox")

    def _lost_order_instrument(self, symbol: str | None) -> Instrument:
        """A priced linear instrument (BTCUSDT when listed, else the first)."""
        priced = [i for i in self.exchange.instruments(Category.LINEAR)
                  if (symbol is None or i.symbol == symbol)
                  and self.exchange.mark_price(i.category, i.symbol) is not None]
        if not priced:
            raise UserFacingError("no priced linear instrument on the sim" + (
                f" named {symbol}" if symbol else ""))
        return next((i for i in priced if i.symbol == "BTCUSDT"), priced[0])

    def drop_private_events(self, count: int = 20) -> str:
        self.exchange.drop_private_events(self.account, count)
        return f"the next {count} private events will be lost"

    def cut_stream(self, seconds: float = 10.0) -> str:
        self.venue.cut_stream(seconds)
        return f"private WebSocket cut for {seconds:g} s; it reconnects by itself"
