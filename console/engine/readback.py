"""Reading back what our own venue-changing requests did, and writing it as the stream would.

A cancel releases the margin its order locked; a flattening market order fills, closes a
position and pays a fee. With the private stream running, the stream writes all of this
into the ledger. A CLI `inbox approve` or `stop --flatten` runs with no stream, and
without a read-back the next reconciliation found our own action as a discrepancy (a
balance mismatch, a missing fill, a position "missing on the venue"), and paused on it:
the account stayed paused for one run more, for nothing. So after such requests the venue
is asked for the balances (and the fills of the orders sent and the positions they moved)
and the answer is written into the ledger.

Writing the same as the stream is harmless: fills are inserted by exec id (a second write
of one is ignored), positions and balances are replaced by key with the venue's own
values. A read or a write that fails is logged and nothing else happens: the next
reconciliation then reports what it finds, as it would have without the read-back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Final

from console.domain import Balance, Fill, LedgerChanges, Order, Position, PositionSide
from console.domain.model import position_key
from console.engine.ports import LedgerPort, VenuePort
from console.errors import UserFacingError, VenueError

log = logging.getLogger(__name__)

FILLS_SLACK_MS: Final = 60_000
"""The orders' fills are read from this long before the orders were minted (the venue's
clock may be behind ours)."""


@dataclass(frozen=True, slots=True)
class ReadBack:
    """What to read back after our own venue-changing requests: the balances always, the
    fills of `orders`, and the positions of `position_keys` (written as the venue has
    them, removed when flat or gone)."""

    orders: tuple[Order, ...] = ()
    """Orders whose fills to record (sent, or found filled by a cancel)."""
    position_keys: frozenset[str] = frozenset()

    def merge(self, other: ReadBack) -> ReadBack:
        """One read-back for several actions (a run's automatic actions)."""
        return ReadBack((*self.orders, *other.orders), self.position_keys | other.position_keys)


def symbol_positions(order: Order) -> frozenset[str]:
    """The position keys an order's fill can move: every book of its instrument (one-way,
    long and short), as the venue has it after the request."""
    return frozenset(position_key(order.category, order.symbol, side) for side in PositionSide)


def changes_from(readback: ReadBack, fills: Iterable[Fill], positions: Iterable[Position],
                 balances: Iterable[Balance]) -> LedgerChanges:
    """The ledger changes the venue's answers amount to (pure): the fills of the orders
    read back, the positions of its keys (gone when flat or absent), every balance."""
    ids = {i for o in readback.orders for i in (o.venue_order_id, o.client_order_id) if i}
    keys = readback.position_keys
    now = {p.key: p for p in positions if p.key in keys}
    return LedgerChanges(
        fills=tuple(f for f in fills if f.venue_order_id in ids or f.client_order_id in ids),
        positions=tuple(p for p in now.values() if not p.is_flat),
        removed_positions=tuple(sorted(k for k in keys if k not in now or now[k].is_flat)),
        balances=tuple(balances))


async def record_outcome(venue: VenuePort, ledger: LedgerPort, readback: ReadBack, *,
                         clock_ms: Callable[[], int], what: str) -> bool:
    """Read back from `venue` what `readback` names and write it into `ledger` (see the
    module docstring). `what` names the requests in the log ("emergency stop: the
    flatten"). True when recorded; False when the venue could not be read or the ledger
    not written (logged: the next reconciliation records it)."""
    try:
        fills, positions, balances = await asyncio.gather(
            _fills(venue, readback.orders, clock_ms), _positions(venue, readback.position_keys),
            venue.fetch_balances())
    except (VenueError, OSError, TimeoutError) as exc:
        log.warning("%s: the outcome could not be read back (%s); the reconciliation "
                    "records it", what, _describe(exc))
        return False
    changes = changes_from(readback, fills, positions, balances)
    try:
        await asyncio.to_thread(ledger.apply_changes, venue.venue, venue.account, changes)
    except UserFacingError as exc:
        log.warning("%s: the outcome could not be written (%s); the reconciliation "
                    "records it", what, _describe(exc))
        return False
    return True


async def _fills(venue: VenuePort, orders: Collection[Order],
                 clock_ms: Callable[[], int]) -> list[Fill]:
    if not orders:
        return []
    since = min(o.created_at for o in orders) - FILLS_SLACK_MS
    return await venue.fetch_fills(max(0, since), clock_ms())


async def _positions(venue: VenuePort, keys: Collection[str]) -> list[Position]:
    return await venue.fetch_positions() if keys else []


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, UserFacingError) else f"{type(exc).__name__}: {text}"
