"""Restart rehearsal (`console.engine.rehearsal`): what a cold start would do, computed
without applying it, and then checked against the cold start itself."""

from __future__ import annotations

import asyncio
import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from plan_support import ledger_fingerprint

from console.bootstrap import build_sim_session
from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.reconciliation import ActionKind, RunTrigger
from console.engine.brackets import ResumeOutcome, attach_brackets
from console.engine.preview import PlanDecision, preview_reconcile
from console.engine.rehearsal import (
    RehearsalError,
    RestartRehearsal,
    parse_worker,
    rehearse_restart,
)
from console.reconcile import ReconcileConfig
from console.sim.scenarios import SCENARIOS, USER, WORKER

POLICIES = {"manual": ReconcileConfig(), "auto": ReconcileConfig(venue_actions_auto=True)}
EXPECTED = {  # what the runner makes of each scenario's saved bracket under each policy
    ("bracket-ok", "manual"): ResumeOutcome.RESTORED,
    ("bracket-ok", "auto"): ResumeOutcome.RESTORED,
    ("bracket-entry-open", "manual"): ResumeOutcome.HELD,
    ("bracket-entry-open", "auto"): ResumeOutcome.CLEARED,
    ("bracket-missing-protection", "manual"): ResumeOutcome.PROTECTION_PENDING,
    ("bracket-missing-protection", "auto"): ResumeOutcome.PROTECTION_RESTORED,
    ("bracket-closed-offline", "manual"): ResumeOutcome.CLEARED,
    ("bracket-closed-offline", "auto"): ResumeOutcome.CLEARED,
}


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_the_rehearsal_foretells_the_cold_start(ledger_url: str, scenario: str,
                                                policy: str) -> None:
    sim = build_sim_session(ledger_url, scenario, config=POLICIES[policy])
    engine = sim.engine
    runner = attach_brackets(engine, USER, WORKER)
    before = ledger_fingerprint(sim.ledger)
    risk = copy.deepcopy(engine.risk)

    async def rehearse_then_start() -> tuple[RestartRehearsal, Any, Any]:
        rehearsal = await rehearse_restart(engine)
        assert ledger_fingerprint(sim.ledger) == before and engine.risk == risk
        outcome = await engine.start()
        report = await runner.resume(outcome)
        await runner.stop()
        await engine.stop()
        return rehearsal, outcome.run, report

    try:
        rehearsal, startup, resumed = asyncio.run(rehearse_then_start())
    finally:
        sim.close()
    assert rehearsal.workers == (f"{USER}/{WORKER}",)
    assert rehearsal.workers_from == "this session's runners"
    assert startup.trigger is RunTrigger.STARTUP
    assert [(a.kind, a.subject, a.policy) for a in rehearsal.plan.actions] == \
        [(p.action.kind, p.action.subject, p.decision) for p in startup.actions]
    assert [(d.kind, d.subject) for d in rehearsal.plan.discrepancies] == \
        [(d.kind, d.subject) for d in startup.discrepancies]
    assert rehearsal.plan.mode_after is startup.mode
    [forecast] = rehearsal.brackets
    assert forecast.outcome is resumed.outcome
    assert forecast.outcome is EXPECTED.get((scenario, policy), ResumeOutcome.IDLE)
    assert not rehearsal.halted and rehearsal.plan.blocked == ()


def test_what_a_cold_start_would_cancel_restore_adopt_and_place(ledger_url: str,
                                                                tmp_path: Path) -> None:
    def rehearse(url: str, scenario: str, **kw: Any) -> RestartRehearsal:
        sim = build_sim_session(url, scenario, **kw)
        try:
            return asyncio.run(rehearse_restart(sim.engine))
        finally:
            sim.close()

    void = rehearse(ledger_url, "bracket-entry-open")
    [cancel] = void.cancels
    assert cancel.decision is PlanDecision.NEEDS_APPROVAL and "entry not filled" in cancel.summary
    assert [c.kind for c in void.clears] == [ActionKind.CLEAR_BRACKET]
    assert void.workers_from == "every worker with a saved runner state"

    ours = rehearse(f"sqlite:///{tmp_path / 'crashed.db'}", "crashed-session")
    assert len(ours.cancels) == 2 and ours.brackets == ()  # unknown rc- orders, no worker

    orphans = rehearse(f"sqlite:///{tmp_path / 'orphans.db'}", "orphan-order")
    assert len(orphans.adoptions) == 2
    assert all(a.decision is PlanDecision.AUTO for a in orphans.adoptions)

    missing = rehearse(f"sqlite:///{tmp_path / 'missing.db'}", "bracket-missing-protection",
                       config=ReconcileConfig(venue_actions_auto=True))
    [place] = missing.protections
    assert place.decision is PlanDecision.AUTO and place.worker == f"{USER}/{WORKER}"
    assert missing.brackets[0].outcome is ResumeOutcome.PROTECTION_RESTORED

    data = missing.to_dict()
    assert data["place_protection"][0]["decision"] == "auto"
    assert data["brackets"] == [{"worker": "demo/w1", "symbol": "BTCUSDT",
                                 "outcome": "protection_restored",
                                 "notes": data["brackets"][0]["notes"]}]


def test_a_halt_recorded_by_another_process_is_what_a_cold_start_restores(
        ledger_url: str) -> None:
    running = build_sim_session(ledger_url, "bracket-missing-protection",
                                config=ReconcileConfig(venue_actions_auto=True))
    other = build_sim_session(ledger_url, "bracket-missing-protection",
                              exchange=running.exchange)
    try:
        asyncio.run(other.engine.emergency_stop(flatten=False, operator="ops",
                                                reason="drill"))
        before = ledger_fingerprint(running.ledger)
        rehearsal = asyncio.run(rehearse_restart(running.engine))
        assert ledger_fingerprint(running.ledger) == before
    finally:
        other.close()
        running.close()
    assert rehearsal.halted and rehearsal.halt_reason == "drill"
    assert not running.engine.risk.halted  # this process has not followed it yet
    assert rehearsal.plan.halted
    # the legs the emergency stop cancelled: placing them again is refused while halted
    assert [a.action.order.role.value for a in rehearsal.protections
            if a.action is not None and a.action.order is not None] == ["sl", "tp"]
    assert all(a.decision is PlanDecision.BLOCKED and "halted" in a.why_blocked
               for a in rehearsal.protections)


def test_orders_in_flight_now_are_what_a_process_dying_now_would_leave(
        ledger_url: str) -> None:
    sim = build_sim_session(ledger_url, "clean", pending_grace_ms=60_000)
    engine = sim.engine
    venue = sim.venue
    release = asyncio.Event()
    inner = venue.place_order

    async def held_place(order: Order, **kw: Any) -> Order:
        await release.wait()
        return await inner(order, **kw)

    venue.place_order = held_place  # type: ignore[method-assign]

    async def go() -> tuple[RestartRehearsal, Any, Order]:
        await engine.reconciler.run_once(RunTrigger.STARTUP)
        order = Order(venue="sim", account="main", category=Category.LINEAR,
                      symbol="SOLUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=Decimal(1),
                      price=Decimal(100), status=OrderStatus.PENDING_NEW,
                      client_order_id=await engine.next_client_id())
        sending = asyncio.create_task(engine.orders.place(order))
        while not engine.orders.in_flight_since(0):
            await asyncio.sleep(0.005)
        rehearsal = await rehearse_restart(engine)
        warm = await preview_reconcile(engine.reconciler)
        release.set()
        return rehearsal, warm, await sending

    try:
        rehearsal, warm, placed = asyncio.run(go())
    finally:
        sim.close()
    assert rehearsal.in_flight_now == (placed.client_order_id,)
    assert placed.status is OrderStatus.NEW
    # this process's preview knows the order has a sender; a new process would not, and
    # finds a PENDING_NEW it never sent (still within its grace: nothing to correct yet)
    assert not any(placed.client_order_id in a.subject for a in warm.actions)


def test_workers_are_named_user_slash_worker() -> None:
    assert parse_worker("demo/w1") == ("demo", "w1")
    for bad in ("demo", "/w1", "demo/", "a/b/c"):
        with pytest.raises(RehearsalError):
            parse_worker(bad)
