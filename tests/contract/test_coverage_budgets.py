"""The coverage panel's budgets (`console.engine.coverage.rate_budgets`) for every
registered venue client: after requests, a connector declaring `rate_budget` reports the
endpoints it was told about, with figures; one declaring none says so (None), never an
empty "unlimited"."""

from __future__ import annotations

from decimal import Decimal as D

from venue_harness import ACCOUNT, Contract, Harness

from console.domain import Order, OrderStatus, OrderType, Side
from console.engine.coverage import rate_budgets


def test_budgets_are_what_the_venue_reported(contract: Contract) -> None:
    async def body(h: Harness) -> None:
        venue = h.venue
        await venue.fetch_open_orders()
        await venue.place_order(Order(
            venue=venue.venue, account=ACCOUNT, category=h.category, symbol=h.sym("test"),
            side=Side.BUY, type=OrderType.LIMIT, qty=D(2), price=D(95),
            status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-e-cov-1"))
        budgets = rate_budgets(venue)
        if not venue.capabilities.rate_budget:
            assert budgets is None
            return
        assert budgets, "requests were made: the venue said something"
        assert all(b.limit is not None or b.remaining is not None for b in budgets)
        assert all(b.remaining is None or b.limit is None or 0 <= b.remaining <= b.limit
                   for b in budgets)

    contract.run(body)
