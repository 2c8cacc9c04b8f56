"""`SimVenue`: one account of a `SimExchange` behind the engine's async venue port.

It satisfies `console.engine.ports.VenuePort` structurally (no import: adapters do not
reach the engine). Listings are paged like a real venue's (defaults are Bybit's limits:
open orders 50, fills 100, positions 200) and every page counts as one call in `calls`,
so the engine can report the venue calls a reconciliation made. Between pages it yields
to the event loop, so other tasks may change the exchange mid-listing, as on a real venue.

Test hooks: `fail_next(method, error)` raises `error` on that method's next call;
`malformed_next(method)` makes the next call raise `MalformedVenueDataError`, as an
adapter does when a venue's answer cannot be parsed; `corrupt_next(method, **fields)`
goes further: the next answer's first record is encoded, the fields are overwritten
(an unknown status, a negative quantity, a missing field with `field=MISSING`) and the
record is parsed back through the strict codec every adapter uses, so the error is the
one real venue data would raise.

Orders returned by `place_order`, `amend_order` and `cancel_order` are the venue's view
with the request's ledger metadata (strategy, worker, role, origin) carried over; the
fetch methods return the venue's view alone, as a real venue would.

Hedge mode: a domain `Order` names no position side, so `place_order` takes it as an
extra keyword (`position_side`, default ONE_WAY: the one-way position, or in hedge mode
the side the sim infers from the order; see `SimExchange.place_order`). Positions of a
hedge-mode instrument are listed as a LONG and a SHORT `Position`.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncGenerator, Mapping
from contextlib import AbstractContextManager, nullcontext
from types import MappingProxyType
from typing import Final, TypeVar

from console.domain.capabilities import DeadManState, RateBudget, VenueCapabilities
from console.domain.enums import Category, OrderType, PositionSide
from console.domain.events import (
    BalanceEvent,
    ConnectionEvent,
    ConnectionState,
    FillEvent,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.domain.model import Balance, Fill, Order, Position, keep_ownership
from console.domain.records import from_record, to_record
from console.domain.values import DomainValueError, to_decimal
from console.errors import (
    CapabilityUnsupported,
    FatalVenueError,
    MalformedVenueDataError,
    UnknownOutcomeError,
)
from console.sim.core import SimExchange
from console.sim.errors import SimErrorCode
from console.sim.events import SimEvent

DEFAULT_PAGE_LIMITS: Final[Mapping[str, int]] = MappingProxyType({
    "fetch_open_orders": 50,
    "fetch_fills": 100,
    "fetch_positions": 200,
})

MISSING: Final = object()
"""For `corrupt_next`: drop the field from the record."""

_R = TypeVar("_R", Order, Fill, Position, Balance)

METHODS: Final = frozenset({
    "fetch_open_orders", "fetch_order", "fetch_fills", "fetch_positions", "fetch_balances",
    "place_order", "amend_order", "cancel_order", "cancel_all",
})


class SimVenue:
    """The venue port over one sim account. `category` limits the scope (None: all)."""

    def __init__(self, exchange: SimExchange, account: str, *,
                 page_limits: Mapping[str, int] | None = None,
                 category: Category | None = None,
                 fills_window_ms: int | None = None) -> None:
        if not exchange.has_account(account):
            raise ValueError(f"sim account {account!r} does not exist")
        limits = dict(DEFAULT_PAGE_LIMITS)
        for name, value in (page_limits or {}).items():
            if name not in DEFAULT_PAGE_LIMITS or value < 1:
                raise ValueError(f"page limit {name}={value!r}: paged methods are "
                                 f"{sorted(DEFAULT_PAGE_LIMITS)}, limits >= 1")
            limits[name] = value
        if fills_window_ms is not None and fills_window_ms < 1:
            raise ValueError(f"fills_window_ms {fills_window_ms} must be >= 1")
        self.exchange = exchange
        self.venue = exchange.venue
        self.account = account
        self.category = category
        self.page_limits: dict[str, int] = limits
        self.fills_window_ms = fills_window_ms
        self.calls: Counter[str] = Counter()
        self._faults: dict[str, deque[BaseException]] = {}
        self._corruptions: dict[str, deque[dict[str, object]]] = {}
        self._lost: dict[str, int] = {}

    capabilities: Final = VenueCapabilities(amend=True, hedge_mode=True)
    """In process: no lane, no rate limits, no venue-side dead-man's switch."""

    @property
    def categories(self) -> tuple[Category, ...]:
        """The categories in scope: what an emergency stop's bulk cancel covers."""
        if self.category is not None:
            return (self.category,)
        present = {i.category for i in self.exchange.instruments()}
        return tuple(c for c in Category if c in present)

    # -- fault injection -------------------------------------------------------------------

    def fail_next(self, method: str, error: BaseException) -> None:
        """The next call of `method` raises `error` (queued: one per call)."""
        self._check_method(method)
        self._faults.setdefault(method, deque()).append(error)

    def malformed_next(self, method: str) -> None:
        """The next call of `method` fails as if the venue's answer could not be parsed."""
        self._check_method(method)
        self._faults.setdefault(method, deque()).append(MalformedVenueDataError(
            f"{self.venue}: malformed answer to {method} (injected)", venue=self.venue,
            code=SimErrorCode.MALFORMED.value))

    def lose_response_next(self, method: str) -> None:
        """The next call of `method` takes effect on the exchange, then its answer is lost:
        the caller gets `UnknownOutcomeError`, as after a timeout or a reset mid-response."""
        self._check_method(method)
        self._lost[method] = self._lost.get(method, 0) + 1

    def _lose(self, method: str) -> None:
        if self._lost.get(method):
            self._lost[method] -= 1
            raise UnknownOutcomeError(f"{self.venue}: {method}: response lost (injected)",
                                      venue=self.venue, code="timeout")

    def corrupt_next(self, method: str, **fields: object) -> None:
        """The next answer of `method` has these fields overwritten in its first record
        (`MISSING` deletes the field) and goes through strict parsing."""
        self._check_method(method)
        self._corruptions.setdefault(method, deque()).append(dict(fields))

    def _answer(self, method: str, items: list[_R]) -> list[_R]:
        queue = self._corruptions.get(method)
        if not queue or not items:
            return items
        changes = queue.popleft()
        record = to_record(items[0])
        for name, value in changes.items():
            if value is MISSING:
                record.pop(name, None)
            else:
                record[name] = value
        try:
            first = from_record(type(items[0]), record)
        except DomainValueError as exc:
            raise MalformedVenueDataError(f"{self.venue}: {method}: {exc}", venue=self.venue,
                                          code=SimErrorCode.MALFORMED.value) from None
        answer = list(items)
        answer[0] = first
        return answer

    @staticmethod
    def _check_method(method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown venue method {method!r}; known: {sorted(METHODS)}")

    def _call(self, method: str) -> None:
        """Count one request of `method`, and raise an injected fault if one is queued."""
        self.calls[method] += 1
        queue = self._faults.get(method)
        if queue:
            raise queue.popleft()

    async def _next_page(self, method: str) -> None:
        await asyncio.sleep(0)
        self._call(method)

    # -- reads -----------------------------------------------------------------------------

    async def fetch_open_orders(self) -> list[Order]:
        method = "fetch_open_orders"
        self._call(method)
        out: list[Order] = []
        cursor = ""
        while True:
            page = self.exchange.page_open_orders(
                self.account, cursor=cursor, limit=self.page_limits[method],
                category=self.category)
            out.extend(page.items)
            if not page.next_cursor:
                return self._answer(method, out)
            cursor = page.next_cursor
            await self._next_page(method)

    async def fetch_order(self, order: Order) -> Order | None:
        self._call("fetch_order")
        found = None
        if order.venue_order_id:
            found = self.exchange.order_by_venue_id(self.account, order.venue_order_id)
        if found is None and order.client_order_id:
            found = self.exchange.order_by_client_id(self.account, order.client_order_id)
        return found

    async def fetch_fills(self, since: int, until: int) -> list[Fill]:
        method = "fetch_fills"
        if until < since:
            self._call(method)
            raise FatalVenueError(f"{self.venue}: fills window ends ({until}) before it "
                                  f"starts ({since})", venue=self.venue,
                                  code=SimErrorCode.INVALID_REQUEST.value)
        width = self.fills_window_ms or (until - since + 1)
        out: list[Fill] = []
        first = True
        start = since
        while start <= until:
            end = min(until, start + width - 1)
            cursor = ""
            while True:
                if first:
                    self._call(method)
                    first = False
                else:
                    await self._next_page(method)
                page = self.exchange.page_fills(self.account, since=start, until=end,
                                                cursor=cursor, limit=self.page_limits[method])
                out.extend(f for f in page.items
                           if self.category is None or f.category is self.category)
                if not page.next_cursor:
                    break
                cursor = page.next_cursor
            start = end + 1
        return self._answer(method, out)

    async def fetch_positions(self) -> list[Position]:
        method = "fetch_positions"
        self._call(method)
        positions = self.exchange.positions(self.account, category=self.category)
        limit = self.page_limits[method]
        for _ in range(limit, len(positions), limit):
            await self._next_page(method)
        return self._answer(method, positions)

    async def fetch_balances(self) -> list[Balance]:
        self._call("fetch_balances")
        return self._answer("fetch_balances", self.exchange.balances(self.account))

    # -- writes ----------------------------------------------------------------------------

    async def place_order(self, order: Order, *,
                          position_side: PositionSide = PositionSide.ONE_WAY) -> Order:
        """Place `order`; in hedge mode `position_side` (LONG or SHORT) names the position
        it opens or closes."""
        self._call("place_order")
        placed = self.exchange.place_order(
            self.account, category=order.category, symbol=order.symbol, side=order.side,
            order_type=order.type, qty=order.qty,
            price=order.price if order.type is OrderType.LIMIT else None,
            time_in_force=order.time_in_force, client_order_id=order.client_order_id,
            reduce_only=order.reduce_only, trigger_price=order.trigger_price,
            trigger_direction=order.trigger_direction, label=order.label,
            position_side=position_side)
        self._lose("place_order")
        return keep_ownership(placed, order)

    async def amend_order(self, order: Order, *, qty: object = None,
                          price: object = None) -> Order:
        self._call("amend_order")
        try:
            new_qty = to_decimal(qty, "qty", allow_empty=True)
            new_price = to_decimal(price, "price", allow_empty=True)
        except DomainValueError as exc:
            raise FatalVenueError(f"{self.venue}: {exc}", venue=self.venue,
                                  code=SimErrorCode.INVALID_REQUEST.value) from None
        amended = self.exchange.amend_order(self.account, _ref(order), qty=new_qty,
                                            price=new_price)
        return keep_ownership(amended, order)

    async def cancel_order(self, order: Order) -> Order:
        self._call("cancel_order")
        cancelled = self.exchange.cancel_order(self.account, _ref(order))
        self._lose("cancel_order")
        return keep_ownership(cancelled, order)

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        self._call("cancel_all")
        return self.exchange.cancel_all(self.account, category, symbol)

    async def aclose(self) -> None:
        """Nothing to release in process (the port interface asks for it)."""

    # -- capabilities this port does not have (declared in `capabilities`) ---------------

    def priority(self) -> AbstractContextManager[None]:
        return nullcontext()

    @property
    def priority_calls(self) -> Counter[str]:
        return self.calls

    async def warm_priority_lane(self) -> None:
        return None

    async def cancel_all_ids(self, category: Category,
                             symbol: str | None = None) -> list[tuple[str, str]]:
        raise CapabilityUnsupported("the in-process sim venue answers bulk cancels with "
                                    "orders, not ids", venue=self.venue)

    def rate_budget(self) -> RateBudget | None:
        return None

    async def replace_order(self, order: Order, replacement: Order) -> tuple[Order, Order]:
        """Not declared (`atomic_replace` off): the engine's replace cancels, confirms the
        cancel, then creates, as the in-process demo has always shown it."""
        raise CapabilityUnsupported("the in-process sim venue has no atomic replace",
                                    venue=self.venue)

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        raise CapabilityUnsupported("the in-process sim venue has no dead-man's switch",
                                    venue=self.venue)

    def dead_man_state(self) -> DeadManState | None:
        return None

    # -- private stream --------------------------------------------------------------------

    async def stream(self) -> AsyncGenerator[VenueEvent, None]:
        """The account's private events as domain events (dropped ones never arrive);
        closing the generator unsubscribes. In process, the connection never drops."""
        queue: asyncio.Queue[SimEvent] = asyncio.Queue()
        unsubscribe = self.exchange.subscribe(self.account, queue.put_nowait)
        try:
            yield ConnectionEvent(ConnectionState.CONNECTED)
            while True:
                yield to_venue_event(await queue.get())
        finally:
            unsubscribe()


def to_venue_event(event: SimEvent) -> VenueEvent:
    payload = event.payload
    if isinstance(payload, Order):
        return OrderEvent(payload, event.at)
    if isinstance(payload, Fill):
        return FillEvent(payload, event.at)
    if isinstance(payload, Position):
        return PositionEvent(payload, event.at)
    return BalanceEvent(payload, event.at)


def _ref(order: Order) -> str:
    return order.venue_order_id or order.client_order_id


