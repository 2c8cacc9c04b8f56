"""The per-run working state of a diff: indices built once and shared by the checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum

from console.domain.enums import Category, OrderRole, OrderStatus, Side
from console.domain.model import Order, Position
from console.domain.snapshot import LedgerSnapshot, VenueSnapshot
from console.reconcile.config import ReconcileConfig
from console.reconcile.orders import Matching, OrderIndex


class Answer(Enum):
    """What is known about a ledger-active order that is not in the open-orders list."""

    ANSWERED = "answered"  # the by-id lookup returned the venue's view
    IN_FLIGHT = "in_flight"  # PENDING_NEW, younger than the grace period, unknown to the venue
    NEVER_REACHED = "never_reached"  # PENDING_NEW past the grace period, unknown to the venue
    LOST = "lost"  # the ledger had it live, the venue has never seen it
    UNRESOLVED = "unresolved"  # nobody asked, or the question failed


@dataclass(frozen=True, slots=True)
class Claim:
    """A venue order that a saved bracket recognises as one of its legs."""

    user_id: str
    worker_id: str
    strategy_id: str
    role: OrderRole


@dataclass(slots=True)
class Context:
    ledger: LedgerSnapshot
    venue: VenueSnapshot
    now: int
    config: ReconcileConfig
    ledger_index: OrderIndex
    # the open-orders list paired with the ledger (see orders.Matching)
    matching: Matching = field(default_factory=lambda: Matching([], [], [], [], set()))
    # ledger-active orders absent from the open list whose by-id answer is still live
    answered_live: list[tuple[Order, Order]] = field(default_factory=list)
    claims: dict[str, Claim] = field(default_factory=dict)
    covered: set[str] = field(default_factory=set)
    _open_positions: dict[str, list[Position]] | None = None
    _by_position: dict[int, Order] | None = None
    _lookups: int = 0

    @property
    def unknown(self) -> list[Order]:
        return self.matching.unknown

    def live(self) -> Iterator[tuple[Order, Order]]:
        """Venue-live orders the ledger knows, with their twin: the open list first, then
        by-id answers that are still active (e.g. untriggered orders some venues omit)."""
        yield from zip(self.matching.venues, self.matching.twins, strict=True)
        yield from self.answered_live

    def in_open(self, twin: Order) -> Order | None:
        """The open order matched to a ledger order, if any."""
        matching = self.matching
        if (twin.venue_order_id and twin.venue_order_id not in matching.open_vids
                and not matching.by_client_id):
            return None  # neither its venue id nor any client-id match puts it there
        position = self.ledger_index.find(twin)
        if position is None or self.ledger_index.orders[position] is not twin:
            return None
        if self._by_position is None:
            self._lookups += 1
            if self._lookups <= 32:  # a few scans in C beat building a map of them all
                try:
                    return matching.venues[matching.positions.index(position)]
                except ValueError:
                    return None
            self._by_position = dict(zip(matching.positions, matching.venues, strict=True))
        return self._by_position.get(position)

    def answer(self, order: Order) -> tuple[Answer, Order | None]:
        """Resolve a ledger-active order absent from the open list. Never guesses."""
        ident = order.ident
        queried = self.venue.queried_orders.get(ident)
        if queried is not None:
            return Answer.ANSWERED, queried
        if ident in self.venue.not_found:
            if order.status is OrderStatus.PENDING_NEW:
                born = order.created_at or order.updated_at
                if self.now - born < self.config.pending_grace_ms:
                    return Answer.IN_FLIGHT, None
                return Answer.NEVER_REACHED, None
            return Answer.LOST, None
        return Answer.UNRESOLVED, None

    def _open_table(self) -> dict[str, list[Position]]:
        if self._open_positions is None:
            table: dict[str, list[Position]] = {}
            for position in self.venue.positions or ():
                if not position.is_flat:
                    table.setdefault(position.symbol, []).append(position)
            self._open_positions = table
        return self._open_positions

    def open_positions(self, category: Category, symbol: str) -> list[Position]:
        """Non-flat venue positions for one instrument (positions must have been fetched)."""
        return [p for p in self._open_table().get(symbol, ()) if p.category is category]

    def position_on_side(self, category: Category, symbol: str, side: Side) -> Position | None:
        for position in self.open_positions(category, symbol):
            if position.side is side:
                return position
        return None
