"""Which orders a reconciliation looks at."""

from __future__ import annotations

from collections.abc import Iterable

from console.domain.model import Order


def working_set(orders: Iterable[Order], now: int, retention_ms: int) -> list[Order]:
    """Every active order, plus terminal ones updated within `retention_ms` of `now`.

    Active orders are always in: they may still be on the book and must be verified.
    Recent terminal ones stay so that a venue still showing one of them open is caught
    (the ledger thought it finished; the venue wins).
    """
    since = now - retention_ms
    return [o for o in orders if o.status.is_active or o.updated_at >= since]
