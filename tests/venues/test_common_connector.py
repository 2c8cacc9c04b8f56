"""`ConnectorBase`: the defaults of the venue port's optional members follow the declared
capabilities (a no-op lane, no rate budget, CapabilityUnsupported), and a connector that
declares a lane gets the real context and lane counting."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import ClassVar

import pytest

from console.domain import Order, OrderStatus, OrderType, Side
from console.domain.capabilities import MAX_ERROR_CHARS, DeadManState, VenueCapabilities
from console.domain.enums import Category
from console.domain.values import DomainValueError
from console.errors import CapabilityUnsupported
from console.venues._common.connector import ConnectorBase
from console.venues._common.lane import in_priority_lane


class Plain(ConnectorBase):
    venue = "plain"


class WithLane(ConnectorBase):
    venue = "laned"
    capabilities: ClassVar[VenueCapabilities] = VenueCapabilities(priority_lane=True)


def test_without_declared_capabilities_the_members_answer_as_documented() -> None:
    plain = Plain()
    with plain.priority():
        assert not in_priority_lane() and not plain.urgent()  # a no-op lane
    plain.count_call("fetch", urgent=plain.urgent())
    assert plain.priority_calls is plain.calls and plain.calls["fetch"] == 1
    assert plain.rate_budget() is None
    asyncio.run(plain.warm_priority_lane())
    with pytest.raises(CapabilityUnsupported, match="plain"):
        asyncio.run(plain.cancel_all_ids(Category.LINEAR))
    with pytest.raises(CapabilityUnsupported, match="dead-man"):
        asyncio.run(plain.set_dead_man_switch(10_000))
    assert plain.dead_man_state() is None  # nothing to show, not an error
    assert not plain.capabilities.atomic_replace
    order = Order(venue="plain", account="a", category=Category.LINEAR, symbol="BTCUSDT",
                  side=Side.BUY, type=OrderType.LIMIT, qty=Decimal(1), price=Decimal(1),
                  status=OrderStatus.NEW, client_order_id="rc-w1-e-x-1")
    with pytest.raises(CapabilityUnsupported, match="atomic replace"):
        asyncio.run(plain.replace_order(order, order.evolve(client_order_id="rc-w1-e-x-2")))


def test_a_dead_man_state_holds_only_what_can_be_shown() -> None:
    """The window shows it: an armed switch says for how long and since when, counts are
    counts, and the error is one short line (a class and a code, not a message)."""
    armed = DeadManState(armed=True, timeout_ms=120_000, refreshed_at=1_000, symbols=2)
    assert armed.runs_out_at() == 121_000
    assert DeadManState(armed=False).runs_out_at() is None
    failed = DeadManState(armed=True, timeout_ms=1, refreshed_at=0, symbols=None,
                          last_error="UnknownOutcomeError http_503")
    assert failed.runs_out_at() == 1
    bad: list[dict[str, object]] = [
        {"armed": True}, {"armed": True, "timeout_ms": 1000},
        {"armed": False, "timeout_ms": 0}, {"armed": False, "timeout_ms": True},
        {"armed": False, "refreshed_at": -1}, {"armed": False, "symbols": -1},
        {"armed": False, "symbols": 1.5}, {"armed": 1},
        {"armed": False, "last_error": "two\nlines"},
        {"armed": False, "last_error": "x" * (MAX_ERROR_CHARS + 1)},
    ]
    for fields in bad:
        with pytest.raises(DomainValueError, match="dead-man state"):
            DeadManState(**fields)  # type: ignore[arg-type]


def test_a_declared_lane_enters_the_context_and_counts_its_requests() -> None:
    laned = WithLane()
    assert not laned.urgent()
    laned.count_call("cancel_all", urgent=laned.urgent())
    with laned.priority():
        assert in_priority_lane() and laned.urgent()
        laned.count_call("cancel_all", urgent=laned.urgent())
    assert not in_priority_lane()
    assert laned.calls["cancel_all"] == 2 and laned.priority_calls["cancel_all"] == 1
    assert laned.priority_calls is not laned.calls
