"""Who may carry out an action, and when trading must pause.

Ledger-only actions follow the venue automatically by default: the venue is the truth for
what happened, and writing it down hurts nobody. Anything that changes the venue waits for
an operator unless the profile says otherwise. Alerts and mode changes always apply.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from console.domain.reconciliation import ActionKind, Decision, Discrepancy, DiscrepancyKind
from console.reconcile.config import ReconcileConfig

#: Kinds where the ledger and the venue disagree about one order. Stale and orphaned
#: orders are findings of policy, not disagreements, and do not count toward a desync.
ORDER_LEVEL = frozenset({
    DiscrepancyKind.ORDER_MISSING_ON_VENUE, DiscrepancyKind.ORDER_UNKNOWN_LOCALLY,
    DiscrepancyKind.UNKNOWN_OURS, DiscrepancyKind.STATUS_MISMATCH,
    DiscrepancyKind.FILL_QTY_MISMATCH,
})


def decide(kind: ActionKind, config: ReconcileConfig) -> Decision:
    if kind.changes_venue:
        return Decision.AUTO if config.venue_actions_auto else Decision.NEEDS_APPROVAL
    if kind.changes_ledger:
        return Decision.AUTO if config.ledger_actions_auto else Decision.NEEDS_APPROVAL
    return Decision.AUTO


def hard_desync(discrepancies: Sequence[Discrepancy], tracked_orders: int,
                config: ReconcileConfig) -> str:
    """Why new risk must pause, with the figures; "" when it need not.

    Pauses when the distinct orders with order-level discrepancies exceed
    `hard_desync_ratio` of the tracked orders (any at all when none are tracked), or on
    any position discrepancy: a wrong position is wrong risk.
    """
    bad_orders = {d.subject for d in discrepancies if d.kind in ORDER_LEVEL}
    positions = [d for d in discrepancies if d.kind.is_position]
    reasons: list[str] = []
    limit = config.hard_desync_ratio * tracked_orders
    if bad_orders and (tracked_orders == 0 or len(bad_orders) > limit):
        if tracked_orders:
            share = (Decimal(len(bad_orders) * 100) / tracked_orders).quantize(Decimal("0.1"))
            reasons.append(
                f"hard desync: {len(bad_orders)} of {tracked_orders} tracked orders disagree "
                f"with the venue ({share}% > {(config.hard_desync_ratio * 100).normalize():f}%)")
        else:
            reasons.append(f"hard desync: {len(bad_orders)} orders disagree with the venue "
                           "and none are tracked")
    if positions:
        shown = "; ".join(d.summary for d in positions[:3])
        more = f" (+{len(positions) - 3} more)" if len(positions) > 3 else ""
        reasons.append(f"{len(positions)} position discrepanc"
                       f"{'y' if len(positions) == 1 else 'ies'}: {shown}{more}")
    return "; ".join(reasons)
