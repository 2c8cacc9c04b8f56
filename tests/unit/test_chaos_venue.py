"""The demo's chaos venue forwards every member of the venue port, written out in its own
class body: a member inherited (or forgotten and caught by nothing) would silently change
what the engine believes the venue can do."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.telemetry import Labels
from console.engine.ports import VenuePort
from console.errors import CapabilityUnsupported
from console.sim import SimExchange, SimVenue
from console.sim.chaos import ChaosVenue


def port_members() -> set[str]:
    """Every member the protocol declares: methods, properties and data attributes."""
    declared = {name for name in vars(VenuePort) if not name.startswith("_")}
    return declared | set(VenuePort.__annotations__)


def test_chaos_venue_defines_every_port_member_itself() -> None:
    members = port_members()
    assert {"venue", "account", "calls", "capabilities", "categories", "priority",
            "priority_calls", "warm_priority_lane", "cancel_all_ids", "rate_budget",
            "set_dead_man_switch", "dead_man_state", "fetch_open_orders", "stream",
            "aclose", "replace_order"} <= members
    assert ChaosVenue.__bases__ == (object,)  # nothing to inherit a member from
    own = set(vars(ChaosVenue)) | set(ChaosVenue.__annotations__)
    assert sorted(members - own) == []


class Timings:
    def __init__(self) -> None:
        self.stages: Counter[str] = Counter()

    def observe_latency(self, stage: str, ms: float, labels: Labels = ()) -> None:
        self.stages[stage] += 1

    def count(self, name: str, labels: Labels = (), amount: int = 1) -> None:
        return None


def test_chaos_venue_forwards_to_the_sim() -> None:
    exchange = SimExchange(seed=7)
    exchange.create_account("main", {"USDT": Decimal(1000)})
    inner = SimVenue(exchange, "main")
    timings = Timings()
    venue = ChaosVenue(inner, timings)
    port: VenuePort = venue  # the type checker holds it to the port as well
    assert (port.venue, port.account) == (inner.venue, inner.account)
    assert port.calls is inner.calls and port.priority_calls is inner.priority_calls
    assert port.capabilities == inner.capabilities
    assert port.categories == inner.categories
    assert port.rate_budget() == inner.rate_budget()
    assert port.dead_man_state() is None and inner.dead_man_state() is None
    with port.priority():
        pass

    async def scenario() -> None:
        await port.warm_priority_lane()
        assert await port.fetch_open_orders() == []
        with pytest.raises(CapabilityUnsupported):
            await port.cancel_all_ids(Category.LINEAR)
        with pytest.raises(CapabilityUnsupported):
            await port.set_dead_man_switch(5000)
        assert not port.capabilities.atomic_replace  # the demo replaces by cancel, create
        order = Order(venue=port.venue, account=port.account, category=Category.LINEAR,
                      symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                      qty=Decimal(1), price=Decimal(1), status=OrderStatus.NEW,
                      client_order_id="rc-w1-e-x-1")
        with pytest.raises(CapabilityUnsupported, match="atomic replace"):
            await port.replace_order(order, order.evolve(client_order_id="rc-w1-e-x-2"))
        await port.aclose()

    asyncio.run(scenario())
    assert timings.stages["rest"] == 3  # requests are timed, failed ones too
    assert inner.calls["fetch_open_orders"] == 1
