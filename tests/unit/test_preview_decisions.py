"""What a plan-only reconciliation shows for each action: auto, needs approval, or blocked
(and why), from the policy's decision, the profile and the risk state."""

from __future__ import annotations

from decimal import Decimal

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Position, Side
from console.domain.reconciliation import (
    Action,
    ActionKind,
    Decision,
    PlannedAction,
    TradingMode,
)
from console.engine.preview import PlanDecision, classify, why_blocked
from console.engine.risk import RiskState

STOP = Order(venue="sim", account="main", category=Category.LINEAR, symbol="BTCUSDT",
             side=Side.SELL, type=OrderType.MARKET, qty=Decimal("0.01"),
             status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-s-1-1",
             trigger_price=Decimal(58000), reduce_only=True)
RESTING = Order(venue="sim", account="main", category=Category.LINEAR, symbol="ETHUSDT",
                side=Side.BUY, type=OrderType.LIMIT, qty=Decimal(1), price=Decimal(2900),
                status=OrderStatus.NEW, client_order_id="rc-w1-o-1-2")
LONG = Position(venue="sim", account="main", category=Category.LINEAR, symbol="SOLUSDT",
                size=Decimal(10), entry_price=Decimal(150))

PLACE = Action(ActionKind.PLACE_PROTECTION, subject=STOP.ident, order=STOP)
CANCEL = Action(ActionKind.CANCEL_ORDER, subject=RESTING.ident, order=RESTING)
FLATTEN = Action(ActionKind.FLATTEN_POSITION, subject="SOLUSDT", position=LONG)
LEDGER = Action(ActionKind.MARK_CANCELLED, subject=RESTING.ident, order=RESTING)


def halted() -> RiskState:
    risk = RiskState()
    risk.halt("drill", by="operator:ops", at=1)
    return risk


@pytest.mark.parametrize("policy", [Decision.AUTO, Decision.NEEDS_APPROVAL])
def test_the_policy_decides_when_nothing_blocks(policy: Decision) -> None:
    for action in (PLACE, CANCEL, FLATTEN, LEDGER):
        decision = classify(PlannedAction(action, policy), read_only=False, risk=RiskState())
        assert decision.value == policy.value


def test_a_read_only_profile_blocks_every_venue_action_and_no_ledger_action() -> None:
    for action in (PLACE, CANCEL, FLATTEN):
        assert "read-only" in why_blocked(action, read_only=True, risk=RiskState())
        assert classify(PlannedAction(action, Decision.NEEDS_APPROVAL), read_only=True,
                        risk=RiskState()) is PlanDecision.BLOCKED
    assert why_blocked(LEDGER, read_only=True, risk=RiskState()) == ""


def test_a_halt_blocks_new_orders_but_not_cancels() -> None:
    for action in (PLACE, FLATTEN):
        assert "halted" in why_blocked(action, read_only=False, risk=halted())
    assert why_blocked(CANCEL, read_only=False, risk=halted()) == ""


def test_a_pause_lets_reduce_only_orders_through() -> None:
    paused = RiskState()
    paused.set(TradingMode.PAUSED, "hard desync")
    assert why_blocked(PLACE, read_only=False, risk=paused) == ""
    assert why_blocked(FLATTEN, read_only=False, risk=paused) == ""


def test_a_quarantined_instrument_still_takes_reduce_only_orders() -> None:
    risk = RiskState()
    risk.quarantine_order("linear:BTCUSDT", "rc-x", "create timed out")
    assert why_blocked(PLACE, read_only=False, risk=risk) == ""
    assert PlanDecision.NEEDS_APPROVAL.label == "needs approval"
