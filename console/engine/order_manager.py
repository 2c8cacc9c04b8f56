"""Places, amends and cancels orders so that the ledger never loses track of one.

Theory of operation:
- A client id is minted (persisted counter) and the intent is written to the ledger as
  PENDING_NEW *before* the request leaves. A crash at any later point leaves a record
  that the reconciler resolves by client id.
- A request whose outcome is unknown (timeout, reset, 5xx on a write) is resolved by
  asking the venue for that client id, never by sending again under a new id. If the
  venue cannot be asked either, the order stays PENDING_NEW and the next reconciliation
  settles it.
- A refused duplicate client id means an earlier attempt got through: ask, and record it.
- A failed cancel is never taken as a cancel: the venue's answer decides (a fill that
  raced the cancel stays a fill).
- The ledger's ownership (strategy, worker, role, origin, label) is kept on every update;
  the venue's facts (ids, status, quantities, prices) replace the ledger's.
- While trading is paused (hard desync), orders that add risk are refused; reduce-only
  orders still pass, so protection and flattening keep working.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

from console.domain import Category, LedgerChanges, Order, OrderStatus
from console.domain.ids import ClientOrderIdGenerator
from console.engine.ports import LedgerPort, VenuePort
from console.engine.risk import RiskState
from console.errors import (
    DuplicateClientOrderIdError,
    FatalVenueError,
    UnknownOutcomeError,
    UserFacingError,
    VenueError,
)

log = logging.getLogger(__name__)


class TradingPausedError(UserFacingError):
    """New risk is refused while the book is out of sync; the text says why."""


class OrderOutcomeUnknownError(UnknownOutcomeError):
    """Neither the request nor the follow-up query told us what happened; the order stays
    PENDING_NEW in the ledger for the reconciler."""


def take_venue_view(known: Order, venue: Order) -> Order:
    """The venue's facts (ids, status, fills, prices) on top of the ledger's intent and
    ownership."""
    return known.evolve(
        venue_order_id=venue.venue_order_id or known.venue_order_id,
        status=venue.status, filled_qty=venue.filled_qty, avg_price=venue.avg_price,
        qty=venue.qty, price=venue.price, trigger_price=venue.trigger_price,
        updated_at=max(venue.updated_at, known.updated_at),
    )


def merge_venue_views(known: Iterable[Order], answers: Iterable[Order]) -> list[Order]:
    """Each venue answer on top of the ledger order it concerns (by venue id, else client
    id), in one pass over hash maps."""
    known = list(known)
    by_vid = {o.venue_order_id: o for o in known if o.venue_order_id}
    by_cid = {o.client_order_id: o for o in by_vid.values() if o.client_order_id}
    for o in known:
        if o.client_order_id:
            by_cid.setdefault(o.client_order_id, o)
    out = []
    for answer in answers:
        mine = by_vid.get(answer.venue_order_id) or by_cid.get(answer.client_order_id)
        out.append(take_venue_view(mine, answer) if mine is not None else answer)
    return out


class OrderManager:
    """Order operations for one (venue, account)."""

    def __init__(self, venue: VenuePort, ledger: LedgerPort, ids: ClientOrderIdGenerator, *,
                 clock_ms: Callable[[], int], risk: RiskState | None = None,
                 resolve_attempts: int = 3, resolve_delay_s: float = 0.2) -> None:
        self.venue = venue
        self.ledger = ledger
        self.ids = ids
        self.clock_ms = clock_ms
        self.risk = risk or RiskState()
        self.resolve_attempts = resolve_attempts
        self.resolve_delay_s = resolve_delay_s

    # -- place ---------------------------------------------------------------------------

    async def place(self, order: Order) -> Order:
        """Send `order` (its client id is minted here when empty); returns the venue's view."""
        if self.risk.paused and not order.reduce_only:
            raise TradingPausedError(f"trading is paused ({self.risk.reason or 'hard desync'}): "
                                     "only reduce-only orders pass")
        if not order.client_order_id:
            client_id = await asyncio.to_thread(self.ids.next, order.role)
            order = order.evolve(client_order_id=client_id)
        now = self.clock_ms()
        intent = order.evolve(status=OrderStatus.PENDING_NEW, venue_order_id="",
                              filled_qty=Decimal(0), avg_price=None,
                              created_at=order.created_at or now, updated_at=now)
        await self._record(intent)
        try:
            answer = await self.venue.place_order(intent)
        except (UnknownOutcomeError, TimeoutError, OSError) as exc:
            log.warning("place %s: outcome unknown (%s); asking the venue",
                        intent.client_order_id, exc)
            return await self._resolve(intent, str(exc))
        except FatalVenueError as exc:
            if isinstance(exc, DuplicateClientOrderIdError):
                return await self._resolve(intent, str(exc))
            await self._record(intent.evolve(status=OrderStatus.REJECTED,
                                              updated_at=self.clock_ms()))
            raise
        placed = take_venue_view(intent, answer)
        await self._record(placed)
        return placed

    async def _resolve(self, intent: Order, cause: str) -> Order:
        """Ask the venue for the client id until it answers; never send again."""
        last_error = cause
        for attempt in range(self.resolve_attempts):
            if attempt:
                await asyncio.sleep(self.resolve_delay_s * attempt)
            try:
                answer = await self.venue.fetch_order(intent)
            except VenueError as exc:
                last_error = str(exc)
                continue
            if answer is None:
                # The venue positively does not know the id: the request never took effect.
                rejected = intent.evolve(status=OrderStatus.REJECTED, updated_at=self.clock_ms())
                await self._record(rejected)
                return rejected
            resolved = take_venue_view(intent, answer)
            await self._record(resolved)
            return resolved
        raise OrderOutcomeUnknownError(
            f"order {intent.client_order_id}: the venue did not confirm or deny it "
            f"({last_error}); it stays pending and the next reconciliation will settle it",
            venue=self.venue.venue)

    # -- amend / cancel --------------------------------------------------------------------

    async def amend(self, order: Order, *, qty: Decimal | None = None,
                    price: Decimal | None = None) -> Order:
        answer = await self.venue.amend_order(order, qty=qty, price=price)
        amended = take_venue_view(order, answer)
        await self._record(amended)
        return amended

    async def cancel(self, order: Order) -> tuple[Order | None, str]:
        """Cancel and return the venue's view of the order plus an error text ("" if the
        order ended cancelled). A failed cancel asks the venue what became of the order."""
        try:
            answer = await self.venue.cancel_order(order)
        except VenueError as exc:
            return await self._after_failed_cancel(order, exc)
        cancelled = take_venue_view(order, answer)
        await self._record(cancelled)
        return cancelled, ""

    async def _after_failed_cancel(self, order: Order, exc: VenueError) -> tuple[Order | None, str]:
        try:
            answer = await self.venue.fetch_order(order)
        except VenueError as query_exc:
            return None, (f"cancel failed ({exc}); the order's state is unknown ({query_exc}); "
                          "the next reconciliation will verify it")
        if answer is None:
            return None, f"cancel failed ({exc}); the venue does not know the order"
        seen = take_venue_view(order, answer)
        await self._record(seen)
        if answer.status is OrderStatus.CANCELLED:
            return seen, ""
        return seen, f"cancel failed ({exc}); the venue reports the order {answer.status.value}"

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        """One bulk cancel; the venue's answers are recorded on top of what the ledger
        knows of each order (unknown ones are recorded as the venue reports them)."""
        answers = await self.venue.cancel_all(category, symbol)
        known = await asyncio.to_thread(self.ledger.orders, self.venue.venue,
                                        self.venue.account, True)
        recorded = merge_venue_views(known, answers)
        if recorded:
            await asyncio.to_thread(self.ledger.apply_changes, self.venue.venue,
                                    self.venue.account, LedgerChanges(orders=tuple(recorded)))
        return recorded

    # -- ledger ----------------------------------------------------------------------------

    async def _record(self, order: Order) -> None:
        await asyncio.to_thread(self.ledger.apply_changes, order.venue, order.account,
                                LedgerChanges(orders=(order,)))

