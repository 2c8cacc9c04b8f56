"""A small quoting strategy for the first run on the embedded sim, and the "chaos" port.

Why it exists: a new operator must see the console do its job within a minute, so the
demo needs live orders to reconcile. `DemoQuoter` keeps one bid and one ask per symbol a
few ticks away from the mark, moves them when the mark drifts (amend first, through the
`OrderManager`, so the usual rules hold: intent before request, confirmed cancels, risk
refusals), and stops cleanly: `stop()` ends the loop between two steps, never in the
middle of a request, and is safe to call twice. It registers as a `Strategy`, so an
emergency stop stops it.

`ChaosPort` is what the console's chaos menu calls to make the venue diverge from the
ledger behind the engine's back (a hand cancel whose private events are lost, a dropped
WebSocket...). Only the embedded sim implements it (in `console.bootstrap_gui`); the UI
sees this protocol and nothing of the sim.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side, TimeInForce
from console.engine.order_manager import (
    OrderManager,
    ReplaceRefusedError,
    TradingHaltedError,
    TradingPausedError,
)
from console.engine.ports import LedgerPort
from console.errors import VenueError

log = logging.getLogger(__name__)

DEMO_STRATEGY = "demo"


class MarketView(Protocol):
    """What the quoter needs to know of the market (the sim answers from memory)."""

    def mark(self, category: Category, symbol: str) -> Decimal | None:
        ...

    def tick(self, category: Category, symbol: str) -> Decimal:
        ...

    def position(self, category: Category, symbol: str) -> Decimal:
        """Signed size: positive long, negative short."""
        ...


class ChaosPort(Protocol):
    """Exchange-side mischief for the demo. Each call returns one line saying what it did;
    a call with nothing to act on raises `console.errors.UserFacingError`."""

    def hand_cancel(self, ref: str | None = None) -> str:
        """Cancel an open order on the exchange (by venue or client id; None: pick one),
        with its private events lost."""
        ...

    def hand_fill(self, ref: str | None = None) -> str:
        """Fill an open order on the exchange, with its private events lost."""
        ...

    def close_position(self, symbol: str | None = None) -> str:
        """Close a position on the exchange, with its private events lost."""
        ...

    def place_lost_order(self, symbol: str | None = None) -> str:
        """Place a resting order on the exchange with one of our client ids, as a session
        of ours that lost its ledger would have left it, with its private events lost. The
        next reconciliation finds it ours but unknown to the ledger and proposes cancelling
        it; a venue-changing action, so it waits in the inbox for an operator (unless the
        policy applies venue actions by itself)."""
        ...

    def drop_private_events(self, count: int = 20) -> str:
        """Lose the next `count` private events."""
        ...

    def cut_stream(self, seconds: float = 10.0) -> str:
        """Cut the private WebSocket for `seconds`; it reconnects by itself afterwards."""
        ...


@dataclass(frozen=True, slots=True)
class QuoteSpec:
    """One symbol the demo quotes: `qty` per side, `spread_ticks` from the mark, moved when
    it is `requote_ticks` off target; no new risk beyond `max_position` either way."""

    symbol: str
    qty: Decimal
    max_position: Decimal
    spread_ticks: int = 15
    requote_ticks: int = 4
    category: Category = Category.LINEAR


DEFAULT_SPECS: tuple[QuoteSpec, ...] = (
    QuoteSpec("BTCUSDT", Decimal("0.01"), Decimal("0.05")),
    QuoteSpec("ETHUSDT", Decimal("0.2"), Decimal("1")),
    QuoteSpec("SOLUSDT", Decimal("5"), Decimal("25")),
)


@dataclass
class QuoterStats:
    placed: int = 0
    amended: int = 0
    replaced: int = 0
    cancelled: int = 0
    refused: int = 0
    errors: int = 0
    last_error: str = ""
    cycles: int = 0


class DemoQuoter:
    """Quotes `specs` through `orders` every `interval_s` (see the module docstring)."""

    def __init__(self, orders: OrderManager, ledger: LedgerPort, market: MarketView, *,
                 venue: str, account: str, specs: tuple[QuoteSpec, ...] = DEFAULT_SPECS,
                 interval_s: float = 3.0, name: str = "demo-quoter",
                 stop_timeout_s: float = 5.0) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self._name = name
        self.orders = orders
        self.ledger = ledger
        self.market = market
        self.venue = venue
        self.account = account
        self.specs = specs
        self.interval_s = interval_s
        self.stop_timeout_s = stop_timeout_s
        self.stats = QuoterStats()
        self._quotes: dict[tuple[str, Side], Order] = {}
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        return self._name

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def quotes(self) -> tuple[Order, ...]:
        return tuple(self._quotes.values())

    def start(self) -> None:
        """Start quoting (needs a running loop); a no-op while running."""
        if self.running:
            return
        self._stopping = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Stop between two steps (bounded by `stop_timeout_s`, then cancelled). Quotes stay
        on the book: cancelling them is the emergency stop's job, not a strategy's exit."""
        task, self._task = self._task, None
        self._stopping.set()
        if task is None or task.done():
            return
        try:
            await asyncio.wait_for(asyncio.shield(task), self.stop_timeout_s)
        except TimeoutError:
            log.warning("%s did not stop within %g s: cancelled", self._name,
                        self.stop_timeout_s)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.cycle()
            except Exception as exc:
                # One bad cycle must not end the demo; the next one starts afresh.
                log.exception("%s: cycle failed", self._name)
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)

    async def cycle(self) -> None:
        """One pass over every symbol and side."""
        self.stats.cycles += 1
        for spec in self.specs:
            for side in (Side.BUY, Side.SELL):
                if self._stopping.is_set():
                    return
                try:
                    await self._quote(spec, side)
                except TradingHaltedError:
                    self.stats.refused += 1
                    return  # halted: nothing may be placed until an operator resumes
                except (TradingPausedError, ReplaceRefusedError) as exc:
                    self.stats.refused += 1
                    log.info("%s %s %s: %s", self._name, spec.symbol, side.value, exc)
                except VenueError as exc:
                    self.stats.errors += 1
                    self.stats.last_error = str(exc)
                    log.warning("%s %s %s: %s", self._name, spec.symbol, side.value, exc)

    def _target(self, spec: QuoteSpec, side: Side) -> Decimal | None:
        mark = self.market.mark(spec.category, spec.symbol)
        if mark is None:
            return None
        tick = self.market.tick(spec.category, spec.symbol)
        offset = tick * spec.spread_ticks
        if side is Side.BUY:
            return ((mark - offset) / tick).to_integral_value(ROUND_FLOOR) * tick
        return ((mark + offset) / tick).to_integral_value(ROUND_CEILING) * tick

    def _wanted(self, spec: QuoteSpec, side: Side) -> bool:
        size = self.market.position(spec.category, spec.symbol)
        return size < spec.max_position if side is Side.BUY else size > -spec.max_position

    async def _current(self, key: tuple[str, Side]) -> Order | None:
        """Our quote as the ledger knows it now; forgotten once it is finished."""
        quote = self._quotes.get(key)
        if quote is None:
            return None
        seen = await asyncio.to_thread(self.ledger.get_order, self.venue, self.account,
                                       quote.ident)
        if seen is None or not seen.is_active:
            self._quotes.pop(key, None)
            return None
        self._quotes[key] = seen
        return seen

    async def _quote(self, spec: QuoteSpec, side: Side) -> None:
        key = (spec.symbol, side)
        target = self._target(spec, side)
        current = await self._current(key)
        if current is not None and current.status is OrderStatus.PENDING_NEW:
            return
        if target is None:
            return
        if not self._wanted(spec, side):
            if current is not None:
                _seen, error = await self.orders.cancel(current)
                self._quotes.pop(key, None)
                self.stats.cancelled += 0 if error else 1
            return
        tick = self.market.tick(spec.category, spec.symbol)
        if current is not None:
            if current.price is not None and abs(current.price - target) < (
                    tick * spec.requote_ticks):
                return
            result = await self.orders.replace(current, price=target)
            live = result.live
            if live is None:
                self._quotes.pop(key, None)
                if result.error:
                    log.info("%s %s: %s", self._name, current.ident, result.error)
                return
            self._quotes[key] = live
            if live.ident == current.ident:
                self.stats.amended += 1
            else:
                self.stats.replaced += 1
            return
        client_id = await asyncio.to_thread(self.orders.ids.next, OrderRole.OTHER)
        order = Order(venue=self.venue, account=self.account, category=spec.category,
                      symbol=spec.symbol, side=side, type=OrderType.LIMIT, qty=spec.qty,
                      price=target, status=OrderStatus.PENDING_NEW, client_order_id=client_id,
                      time_in_force=TimeInForce.GTC, strategy_id=DEMO_STRATEGY,
                      worker_id=self._name)
        placed = await self.orders.place(order)
        if placed.is_active:
            self._quotes[key] = placed
            self.stats.placed += 1
