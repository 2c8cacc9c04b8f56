"""Plan-only reconciliation (`console.engine.preview`): the same fetch, diff and plan as a
run, and nothing written, sent, told or remembered."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from plan_support import ledger_fingerprint

from console.bootstrap import SimSession, build_sim_session
from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.reconciliation import ActionKind, RunTrigger, TradingMode
from console.engine.preview import PlanDecision, ReconcilePreview, preview_reconcile
from console.engine.reconcile_service import RunOutcome
from console.reconcile import ReconcileConfig
from console.reconcile.config import DAY_MS
from console.sim.scenarios import SCENARIOS
from console.store import Ledger


def _plan_of(items: Any) -> list[tuple[str, str, str]]:
    return [(p.action.kind.value, p.action.subject, p.decision.value) for p in items]


def _preview(sim: SimSession) -> ReconcilePreview:
    return asyncio.run(preview_reconcile(sim.engine.reconciler))


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_preview_writes_nothing_and_plans_what_the_run_then_does(
        ledger_url: str, scenario: str) -> None:
    sim = build_sim_session(ledger_url, scenario)
    try:
        engine = sim.engine
        risk_before = copy.deepcopy(engine.risk)
        told: list[RunOutcome] = []
        engine.reconciler.on_run(told.append)
        before = ledger_fingerprint(sim.ledger)

        preview = _preview(sim)

        assert ledger_fingerprint(sim.ledger) == before  # no run, action, audit or change
        assert engine.risk == risk_before
        assert engine.orders.in_flight_since(0) == frozenset()
        assert told == [] and engine.reconciler.last_outcome is None
        assert engine.reconciler.consecutive_failures == 0

        run = asyncio.run(engine.reconciler.run_once(RunTrigger.MANUAL)).run
    finally:
        sim.close()
    assert [(d.kind, d.subject) for d in preview.discrepancies] == \
        [(d.kind, d.subject) for d in run.discrepancies]
    assert [(a.kind.value, a.subject, a.policy.value) for a in preview.actions] == \
        _plan_of(run.actions)
    assert (preview.status, preview.mode_after, preview.unverified) == \
        (run.status, run.mode, run.unverified)
    assert set(preview.to_dict()["discrepancies"]["by_kind"]) == set(
        sim.seed.expect)


def test_a_preview_that_would_pause_leaves_trading_as_it_is(ledger_url: str) -> None:
    sim = build_sim_session(ledger_url, "manual-cancel")
    try:
        preview = _preview(sim)
        assert preview.mode_before is TradingMode.TRADING
        assert preview.mode_after is TradingMode.PAUSED and "hard desync" in preview.pause_reason
        assert preview.actions[0].kind is ActionKind.PAUSE_TRADING
        assert preview.actions[0].decision is PlanDecision.AUTO
        assert sim.engine.risk.mode is TradingMode.TRADING
        assert not [e for e in sim.ledger.audit_log() if e.action == "pause_trading"]
    finally:
        sim.close()


def test_venue_actions_show_blocked_while_halted_and_on_a_read_only_profile(
        ledger_url: str, tmp_path: Any) -> None:
    auto = ReconcileConfig(venue_actions_auto=True)
    sim = build_sim_session(ledger_url, "bracket-missing-protection", config=auto)
    try:
        sim.engine.risk.halt("drill", by="operator:test", at=1)
        preview = _preview(sim)
        [place] = [a for a in preview.actions if a.kind is ActionKind.PLACE_PROTECTION]
        assert place.decision is PlanDecision.BLOCKED and place.policy.value == "auto"
        assert "halted" in place.why_blocked
        assert preview.halted and sim.engine.risk.halted  # the halt stays, of course
        assert all(a.decision is not PlanDecision.BLOCKED for a in preview.actions
                   if not a.changes_venue)
    finally:
        sim.close()

    read_only = build_sim_session(f"sqlite:///{tmp_path / 'ro.db'}", "crashed-session",
                                  read_only=True)
    try:
        preview = _preview(read_only)
        cancels = [a for a in preview.actions if a.kind is ActionKind.CANCEL_ORDER]
        assert len(cancels) == 2 and preview.read_only
        assert all(a.decision is PlanDecision.BLOCKED and "read-only" in a.why_blocked
                   for a in cancels)
        assert len(preview.blocked) == 2
    finally:
        read_only.close()


def test_a_preview_never_interleaves_with_a_run(ledger_url: str) -> None:
    sim = build_sim_session(ledger_url, "clean")
    venue = sim.venue
    inner: Callable[[], Awaitable[list[Order]]] = venue.fetch_open_orders
    active, most = 0, 0

    async def slow_open_orders() -> list[Order]:
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            await asyncio.sleep(0.05)
            return await inner()
        finally:
            active -= 1

    venue.fetch_open_orders = slow_open_orders  # type: ignore[method-assign]
    service = sim.engine.reconciler

    async def both() -> tuple[Any, ...]:
        return await asyncio.gather(service.run_once(), preview_reconcile(service),
                                    service.run_once(), preview_reconcile(service))

    try:
        results = asyncio.run(both())
    finally:
        sim.close()
    assert most == 1
    assert len(results) == 4


def test_a_preview_leaves_the_reach_back_memory_to_the_runs(ledger_url: str) -> None:
    """An order that filled beyond its ledger fills makes a run reach back for older
    fills, once per change of its evidence: a preview reaches back as the run would, and
    does not spend the run's one look."""
    sim = build_sim_session(ledger_url, "clean")
    service = sim.engine.reconciler
    try:
        asyncio.run(service.run_once())  # the coverage mark: now
        now = service.clock_ms()
        sim.ledger.upsert_orders([Order(
            venue="sim", account="main", category=Category.LINEAR, symbol="SOLUSDT",
            side=Side.BUY, type=OrderType.LIMIT, qty=Decimal(2), price=Decimal(140),
            status=OrderStatus.FILLED, filled_qty=Decimal(2), avg_price=Decimal(140),
            venue_order_id="gone-from-history", created_at=now - 2 * DAY_MS,
            updated_at=now - 60_000)])

        def fill_fetches_of_preview() -> int:
            return dict(_preview(sim).venue_calls).get("fetch_fills", 0)

        def fill_fetches_of_run() -> int:
            run = asyncio.run(service.run_once()).run
            return dict(run.venue_calls).get("fetch_fills", 0)

        assert fill_fetches_of_preview() == 2  # the window, and the reach back
        assert fill_fetches_of_preview() == 2  # still: the preview remembered nothing
        assert fill_fetches_of_run() == 2      # the run reaches back, as previewed
        assert fill_fetches_of_run() == 1      # ... once: the evidence has not changed
        assert fill_fetches_of_preview() == 1  # and the preview now plans as the run would
    finally:
        sim.close()


class UnreadableRuns:
    def __init__(self, inner: Ledger) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def list_runs(self, venue: str, account: str, limit: int = 50) -> list[Any]:
        raise OSError("database is locked")


def test_an_unreadable_ledger_fails_the_preview_and_counts_no_failure(
        ledger_url: str) -> None:
    sim = build_sim_session(ledger_url, "clean")
    service = sim.engine.reconciler
    service.ledger = UnreadableRuns(sim.ledger)  # type: ignore[assignment]
    try:
        preview = _preview(sim)
    finally:
        sim.close()
    assert preview.status.value == "failed"
    assert preview.errors == ("ledger: OSError: database is locked",)
    assert preview.actions == () and preview.holdings == ()
    assert service.consecutive_failures == 0


def test_a_rejection_that_holds_shows_blocked_and_the_run_agrees(ledger_url: str) -> None:
    sim = build_sim_session(ledger_url, "crashed-session")
    service = sim.engine.reconciler
    try:
        first = asyncio.run(service.run_once()).run
        index = next(i for i, p in enumerate(first.actions)
                     if p.action.kind is ActionKind.CANCEL_ORDER)
        subject = first.actions[index].action.subject
        asyncio.run(sim.engine.executor.reject(first.run_id, index, "alice", "mine, keep it"))
        before = ledger_fingerprint(sim.ledger)
        preview = _preview(sim)
        assert ledger_fingerprint(sim.ledger) == before
        after = asyncio.run(service.run_once()).run
    finally:
        sim.close()
    [held] = [a for a in preview.actions
              if a.kind is ActionKind.CANCEL_ORDER and a.subject == subject]
    assert held.decision is PlanDecision.BLOCKED and held.policy.value == "needs_approval"
    assert held.why_blocked.startswith("rejected by operator:alice: mine, keep it")
    [other] = [a for a in preview.actions
               if a.kind is ActionKind.CANCEL_ORDER and a.subject != subject]
    assert other.decision is PlanDecision.NEEDS_APPROVAL
    [recorded] = [p for p in after.actions
                  if p.action.kind is ActionKind.CANCEL_ORDER and p.action.subject == subject]
    assert recorded.state.value == "rejected" and recorded.applied_by == "hold:operator:alice"
