"""One rule keeps the ledger's ownership on a venue's view of an order: every adapter and
the reconciler use `keep_ownership`, so they cannot disagree (the sim venue once dropped
the label and overwrote the role)."""

from __future__ import annotations

from console.domain import OrderRole, OrderStatus, Origin
from console.domain.model import keep_ownership
from tests.unit.recon_factories import order


def test_the_venue_gives_facts_the_ledger_gives_ownership() -> None:
    ledger = order("c1", vid="v1", strategy_id="s1", worker_id="w1", role=OrderRole.STOP_LOSS,
                   origin=Origin.ADOPTED_EXTERNAL, label="rc_s1_w1_sl")
    venue = order("c1", vid="v1", status=OrderStatus.PARTIALLY_FILLED, filled="0.5",
                  avg="100", role=OrderRole.ENTRY, label="")
    kept = keep_ownership(venue, ledger)
    assert (kept.status, kept.filled_qty) == (venue.status, venue.filled_qty)
    assert (kept.strategy_id, kept.worker_id, kept.role, kept.origin, kept.label) == (
        "s1", "w1", OrderRole.STOP_LOSS, Origin.ADOPTED_EXTERNAL, "rc_s1_w1_sl")


def test_the_venue_fills_in_only_what_the_ledger_does_not_know() -> None:
    ledger = order("c1", role=OrderRole.OTHER)
    venue = order("c1", strategy_id="s9", worker_id="w9", role=OrderRole.TAKE_PROFIT,
                  label="venue-label")
    kept = keep_ownership(venue, ledger)
    assert (kept.strategy_id, kept.worker_id, kept.role, kept.label) == (
        "s9", "w9", OrderRole.TAKE_PROFIT, "venue-label")
