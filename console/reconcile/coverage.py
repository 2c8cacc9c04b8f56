"""Which stretch of the venue's fill history a run must read, and what a run verified.

The ledger keeps a *coverage mark* per (venue, account): the time up to which its fill
history is verified complete against the venue (`console.domain.snapshot.FillCoverage`).
A run asks from the mark minus a margin to now, and only a run whose fill fetch succeeded
moves the mark, over the window it read. A fill recorded from the private stream never
moves it: a fill that arrived says nothing about one that was dropped before it.

An order whose filled quantity exceeds the fills the ledger holds for it lacks fills that
may be older than any window: the run reaches back to that order's creation.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.domain.model import Order
from console.domain.reconciliation import ActionKind, Decision, Plan
from console.domain.snapshot import FillCoverage, LedgerSnapshot, VenueSnapshot
from console.domain.values import ZERO
from console.reconcile.config import ReconcileConfig


def fills_since(ledger: LedgerSnapshot, now: int, config: ReconcileConfig) -> int:
    """Start of the fill back-fill: the coverage mark minus `fill_margin_ms` (late prints,
    clock skew), or `fill_default_lookback_ms` ago when the ledger has no mark yet (a new
    or upgraded ledger). Never the newest fill the ledger holds: the stream may have
    recorded that one after dropping others. The caller paginates the whole window."""
    mark = ledger.fill_coverage
    if mark is None:
        return max(0, now - config.fill_default_lookback_ms)
    return max(0, min(mark, now) - config.fill_margin_ms)


def underfilled(ledger: LedgerSnapshot) -> list[Order]:
    """Working-set orders whose filled quantity exceeds the ledger fills behind them
    (`LedgerSnapshot.fill_totals`): some of their fills are missing, maybe from before
    any window a run asks for."""
    totals = ledger.fill_totals
    return [o for o in ledger.orders
            if o.filled_qty and o.filled_qty > totals.get(o.ident, ZERO)]


def reach_back(orders: Sequence[Order], since: int, now: int,
               config: ReconcileConfig) -> int | None:
    """Where the fill fetch must start to reach the fills `orders` lack: the earliest
    creation among them minus the margin, no further back than `fill_order_lookback_ms`
    (an order of unknown age is asked that far). None when the window from `since`
    already covers them."""
    if not orders:
        return None
    floor = max(0, now - config.fill_order_lookback_ms)
    born = min(o.created_at if o.created_at > 0 else floor for o in orders)
    start = max(floor, born - config.fill_margin_ms)
    return start if start < since else None


def verified_fills(ledger: LedgerSnapshot, venue: VenueSnapshot,
                   the_plan: Plan) -> FillCoverage | None:
    """The window of fill history this run verified, to move the coverage mark over.

    None when the fills were not fetched. The window is what the diff compared (the fetch
    window, from no earlier than the ledger fills it held) and it ends before the earliest
    missing fill left for an operator's approval: a mark past an unrecorded fill would
    never ask for it again.
    """
    if venue.fills is None or venue.fills_window is None:
        return None
    low, high = venue.fills_window
    start = max(low, ledger.fills_from)
    held = [p.action.fill.exec_time for p in the_plan.actions
            if p.action.kind is ActionKind.ADD_FILL and p.decision is not Decision.AUTO
            and p.action.fill is not None]
    end = min(high, min(held) - 1) if held else high
    return FillCoverage(start, end)
