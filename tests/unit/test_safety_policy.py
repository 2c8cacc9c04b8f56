"""Pure parts of trading safety: the amend-first decision, the risk state (pause, halt,
operator lift), the strategy registry and the emergency report."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Position, Side
from console.domain.reconciliation import TradingMode
from console.engine.emergency import EmergencyReport, Flattened
from console.engine.order_manager import AmendPolicy, ReplacePath, ReplaceResult, amend_decision
from console.engine.risk import RiskState
from console.engine.strategy import StrategyRegistry

POLICY = AmendPolicy(min_time_in_book_ms=500, price_threshold_bps=Decimal(50),
                     size_threshold=Decimal("0.5"))


def resting(**changes: object) -> Order:
    base = Order(venue="bybit", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("1.0"),
                 status=OrderStatus.NEW, client_order_id="rc-w1-e-1-1", venue_order_id="v1",
                 price=Decimal("10000"), created_at=1_000, updated_at=1_000)
    return base.evolve(**changes) if changes else base


@pytest.mark.parametrize(("price", "qty", "now", "why"), [
    ("10050", None, 1_500, ""),                      # exactly 50 bps, exactly 500 ms
    ("10050.01", None, 1_500, "bps"),                # just past the price threshold
    ("9950", None, 2_000, ""),                       # down 50 bps
    (None, "1.5", 2_000, ""),                        # +50 % of the quantity
    (None, "1.51", 2_000, "size changes"),
    (None, "0.5", 2_000, ""),                        # -50 %
    ("10010", "1.1", 1_499, "less than 500 ms"),     # too young
])
def test_amend_decision(price: str | None, qty: str | None, now: int, why: str) -> None:
    result = amend_decision(resting(), price=None if price is None else Decimal(price),
                            qty=None if qty is None else Decimal(qty), now=now, policy=POLICY)
    assert (result == "") if not why else (why in result), result


@pytest.mark.parametrize("order", [
    resting(status=OrderStatus.PENDING_NEW, venue_order_id=""),
    resting(status=OrderStatus.PENDING_CANCEL),
])
def test_orders_without_a_confirmed_place_in_the_book_are_not_amended(order: Order) -> None:
    assert "without a confirmed place" in amend_decision(
        order, price=Decimal("10001"), qty=None, now=10_000, policy=POLICY)


def test_amend_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="min_time_in_book_ms"):
        AmendPolicy(min_time_in_book_ms=-1)
    with pytest.raises(ValueError, match="price_threshold_bps"):
        AmendPolicy(price_threshold_bps=Decimal(-1))
    with pytest.raises(ValueError, match="timeouts"):
        AmendPolicy(cancel_confirm_timeout_s=0)


def test_replace_result_says_which_order_carries_the_intent() -> None:
    old, new = resting(), resting(client_order_id="rc-w1-e-1-2", venue_order_id="v2")
    assert ReplaceResult(ReplacePath.REPLACED, old=old, new=new).live is new
    assert ReplaceResult(ReplacePath.NOT_REPLACED_FILLED, old=old).live is None


# -- risk state -------------------------------------------------------------------------

def test_the_halt_refuses_everything_but_the_emergency_and_outlives_the_reconciler() -> None:
    risk = RiskState()
    assert risk.refusal(reduce_only=False) == ""
    assert risk.halt("big red button", by="emergency:alice", at=5)
    assert not risk.halt("again", by="emergency:bob", at=6)  # kept as it was
    assert "halted" in risk.refusal(reduce_only=True)
    assert "emergency:alice" in risk.refusal(reduce_only=False)
    assert risk.refusal(reduce_only=True, emergency=True) == ""
    risk.set(TradingMode.TRADING)  # a clean reconciliation does not undo a halt
    assert risk.halted
    assert risk.clear_halt() and not risk.halted and not risk.clear_halt()


def test_a_pause_refuses_risk_only() -> None:
    risk = RiskState()
    risk.set(TradingMode.PAUSED, "hard desync: 3 of 10")
    assert "hard desync: 3 of 10" in risk.refusal(reduce_only=False)
    assert risk.refusal(reduce_only=True) == ""


def test_an_operator_lift_ignores_exactly_one_restore_of_the_lifted_pause() -> None:
    risk = RiskState()
    risk.set(TradingMode.PAUSED, "1 position discrepancy")
    assert risk.operator_resume() == "1 position discrepancy" and not risk.paused
    risk.set(TradingMode.PAUSED, "1 position discrepancy")  # the next run's restore
    assert not risk.paused
    risk.set(TradingMode.PAUSED, "1 position discrepancy")  # that run's own decision
    assert risk.paused
    assert RiskState().operator_resume() == ""


def test_a_lift_does_not_swallow_a_different_pause() -> None:
    risk = RiskState()
    risk.set(TradingMode.PAUSED, "a")
    risk.operator_resume()
    risk.set(TradingMode.PAUSED, "b")
    assert risk.paused and risk.reason == "b"
    restarted = RiskState()
    restarted.arm_lifted("a")
    restarted.set(TradingMode.PAUSED, "a")
    assert not restarted.paused


# -- strategies ---------------------------------------------------------------------------

class Fake:
    def __init__(self, name: str, behaviour: str = "ok") -> None:
        self._name = name
        self.behaviour = behaviour
        self.stopped = 0

    @property
    def name(self) -> str:
        return self._name

    async def stop(self) -> None:
        self.stopped += 1
        if self.behaviour == "hang":
            await asyncio.sleep(10)
        if self.behaviour == "raise":
            raise RuntimeError("boom")


def test_the_registry_stops_every_strategy_and_reports_the_broken_ones() -> None:
    registry = StrategyRegistry()
    good, hung, broken = Fake("brackets"), Fake("grid", "hang"), Fake("mm", "raise")
    for strategy in (good, hung, broken):
        registry.register(strategy)
    registry.register(good)  # the same object again: fine
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Fake("brackets"))
    stops = asyncio.run(registry.stop_all(timeout_s=0.05))
    assert [(s.name, bool(s.error)) for s in stops] == [
        ("brackets", False), ("grid", True), ("mm", True)]
    assert "did not stop within" in stops[1].error and "boom" in stops[2].error
    assert good.stopped == hung.stopped == broken.stopped == 1


# -- the report ---------------------------------------------------------------------------

def test_the_report_is_clean_only_when_nothing_is_left_and_serialises_to_json() -> None:
    position = Position(venue="bybit", account="main", category=Category.LINEAR,
                        symbol="BTCUSDT", size=Decimal("-0.5"), entry_price=Decimal("60000"))
    report = EmergencyReport(
        operator="alice", started_at=1, finished_at=2, flatten=True, already_halted=False,
        cancelled=(resting(status=OrderStatus.CANCELLED),),
        flattened=(Flattened(position, resting(type=OrderType.MARKET, price=None,
                                               status=OrderStatus.FILLED)),),
        open_orders=(), open_positions=(),
        timings_ms=(("cancel_acknowledged", 12.34),), venue_requests=(("cancel_all", 1),))
    assert report.clean and report.cancel_acknowledged_ms == 12.34
    assert report.cancel_requests == report.requests_total == 1
    data = json.loads(json.dumps(report.to_dict()))
    assert data["flattened"][0]["position"]["size"] == "-0.5"
    assert data["cancelled"] == 1
    assert not EmergencyReport(operator="a", started_at=1, finished_at=2, flatten=True,
                               already_halted=False, open_orders=(),
                               open_positions=(position,)).clean
    assert not EmergencyReport(operator="a", started_at=1, finished_at=2, flatten=False,
                               already_halted=False, open_orders=None).clean
