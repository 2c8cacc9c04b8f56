"""Whether a ledger snapshot read while the venue was being fetched can stand for one
read after the fetch.

Why the question: the reconciler reads the venue first and the ledger after, so that an
order placed while the venue is read is in the ledger (its intent is written before it
is sent) and never reported unknown, and a record written meanwhile is seen as newer
than the venue snapshot and deferred. Reading the ledger only after the fetch costs its
whole read time on top of the fetch's, which at a cold start of a large book is mostly
spent waiting out the venue's rate limits. So the service reads the ledger *while* it
fetches, and keeps that read only when nothing it could have missed can have happened:

* no write of this session's own reached the ledger meanwhile: no order was sent or in
  flight since the read began, and the private stream applied nothing (the session wires
  both counters; unwired, the early read is never kept);
* every record the venue showed is one the early read holds: each open order (by venue
  id, else client id), each fill (by exec id) and each position (by key). Anyone's order
  placed during the fetch, this process's or another's, shows on the venue and is
  therefore either in the early read already or makes it read again.

Otherwise the ledger is read again after the fetch, exactly as before: the early read
only ever saves time, it never changes what a run compares.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.domain import Fill, LedgerSnapshot, Order, Position


def holds_venue_records(ledger: LedgerSnapshot, open_orders: Sequence[Order] | None,
                        positions: Sequence[Position] | None,
                        fills: Sequence[Fill] | None) -> bool:
    """True when `ledger` holds every record of the venue's lists (None: a list that
    failed, nothing to check)."""
    if open_orders is not None:
        venue_ids = {o.venue_order_id for o in ledger.orders if o.venue_order_id}
        client_ids = {o.client_order_id for o in ledger.orders if o.client_order_id}
        for order in open_orders:
            if order.venue_order_id in venue_ids:
                continue
            if order.client_order_id and order.client_order_id in client_ids:
                continue
            return False
    if positions is not None:
        keys = {p.key for p in ledger.positions}
        if any(p.key not in keys for p in positions if not p.is_flat):
            return False
    if fills is not None:
        exec_ids = {f.exec_id for f in ledger.fills}
        if any(f.exec_id not in exec_ids for f in fills):
            return False
    return True
