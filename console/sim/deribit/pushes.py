"""The sim's private events as Deribit pushes (the event hub's `PushSource`).

An order event becomes an order record, an execution a trade record, a position event
a position record, a balance event the account summary of that currency (what
``user.portfolio`` carries). Events of instruments the front-end does not serve (USDT
perpetuals, spot) and balances of currencies it does not serve are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.domain.model import Balance, Fill, Order, Position
from console.sim.deribit.subscriptions import Push
from console.sim.deribit.views import Views
from console.sim.events import SimEvent


class DeribitPushes:
    def __init__(self, views: Views) -> None:
        self.views = views

    def observe(self, event: SimEvent) -> None:
        """Nothing to note: trade numbers are derived from the sim's fill list."""

    def convert(self, account: str, events: Sequence[SimEvent]) -> Sequence[Push]:
        views = self.views
        pushes: list[Push] = []
        for event in events:
            payload = event.payload
            if isinstance(payload, Balance):
                if payload.asset in views.names.currencies():
                    pushes.append(Push("portfolio", "", payload.asset,
                                       views.summary(account, payload.asset)))
                continue
            name = views.name_of(payload.category, payload.symbol)
            if name is None:
                continue
            currency = views.exchange.instrument(payload.category, payload.symbol).settle_coin
            if isinstance(payload, Order):
                pushes.append(Push("order", name, currency, views.order(payload)))
            elif isinstance(payload, Fill):
                pushes.append(Push("trade", name, currency, views.trade(account, payload)))
            elif isinstance(payload, Position):
                pushes.append(Push("position", name, currency,
                                   views.position(account, payload)))
        return pushes
