"""Which private-stream news contradicts a terminal ledger order (and so asks for a
reconciliation instead of being dropped)."""

from __future__ import annotations

from recon_factories import D, cid, fill, order, venue_view

from console.domain import OrderStatus
from console.domain.events import FillEvent, OrderEvent, VenueEvent
from console.engine.stream_consumer import changes_for, reopened


def index(*orders):  # type: ignore[no-untyped-def]
    known = {}
    for o in orders:
        if o.venue_order_id:
            known[o.venue_order_id] = o
        if o.client_order_id:
            known[o.client_order_id] = o
    return known


def contradicted(events: list[VenueEvent], *orders) -> list[str]:  # type: ignore[no-untyped-def]
    known = index(*orders)
    return [o.ident for o in reopened(events, known, changes_for(events, known))]


def test_the_venue_knowing_an_order_the_ledger_rejected_contradicts_it() -> None:
    rejected = order(cid(1), status=OrderStatus.REJECTED)
    filled = venue_view(rejected, venue_order_id="v1", status=OrderStatus.FILLED,
                        filled_qty=D("1"), avg_price=D("100"))
    assert contradicted([OrderEvent(filled)], rejected) == [rejected.ident]
    assert contradicted([OrderEvent(filled.evolve(status=OrderStatus.NEW,
                                                  filled_qty=D(0), avg_price=None))],
                        rejected) == [rejected.ident]
    assert contradicted([FillEvent(fill("e1", order_cid=rejected.client_order_id, vid="v1"))],
                        rejected) == [rejected.ident]


def test_more_filled_than_a_terminal_record_contradicts_it() -> None:
    cancelled = order(cid(1), vid="v1", status=OrderStatus.CANCELLED, filled="0.5", avg="100")
    assert contradicted([FillEvent(fill("a", vid="v1", qty="0.5")),
                         FillEvent(fill("b", vid="v1", qty="0.25"))],
                        cancelled) == [cancelled.ident]
    assert contradicted([OrderEvent(venue_view(cancelled, filled_qty=D("0.75")))],
                        cancelled) == [cancelled.ident]


def test_news_that_fits_the_record_does_not() -> None:
    cancelled = order(cid(1), vid="v1", status=OrderStatus.CANCELLED, filled="0.5", avg="100")
    live = order(cid(2), vid="v2")
    older = venue_view(cancelled, status=OrderStatus.PARTIALLY_FILLED)  # reordered news
    assert contradicted([FillEvent(fill("a", vid="v1", qty="0.5")), OrderEvent(older),
                         FillEvent(fill("b", vid="v2")), FillEvent(fill("c", vid="v9"))],
                        cancelled, live) == []


def test_a_fill_arriving_with_the_update_that_explains_it_does_not() -> None:
    live = order(cid(1), vid="v1")
    filled = venue_view(live, status=OrderStatus.FILLED, filled_qty=D("1"), avg_price=D("100"),
                        updated_at=live.updated_at + 10)
    assert contradicted([OrderEvent(filled), FillEvent(fill("a", vid="v1"))], live) == []
