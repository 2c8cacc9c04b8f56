"""Coverage and budgets of an account over a real ledger and the sim (`account_coverage`):
what the recorded runs read, and what a venue declaring rate-limit figures reports."""

from __future__ import annotations

import asyncio
from collections import Counter

from console.bootstrap import build_sim_session
from console.domain.capabilities import EndpointBudget, RateBudget, VenueCapabilities
from console.engine.coverage import CoverageReport, account_coverage
from console.engine.ports import VenuePort
from console.errors import TransientVenueError
from console.sim import SimVenue


class ReportingBudgets(SimVenue):
    """The sim's port, declaring rate-limit figures as a real connector does."""

    capabilities = VenueCapabilities(amend=True, hedge_mode=True, rate_budget=True)

    def __init__(self, inner: SimVenue) -> None:
        super().__init__(inner.exchange, inner.account)
        self.figures = RateBudget()
        self.asked = Counter[str]()

    def rate_budget(self) -> RateBudget | None:
        self.asked["rate_budget"] += 1
        return self.figures


def test_coverage_follows_the_recorded_runs(ledger_url: str) -> None:
    sim = build_sim_session(ledger_url, "missed-fill")
    service = sim.engine.reconciler

    async def runs_then_coverage() -> tuple[CoverageReport, CoverageReport]:
        await service.run_once()
        sim.venue.fail_next("fetch_positions", TransientVenueError("HTTP 502", venue="sim"))
        await service.run_once()
        sim.venue.fail_next("fetch_fills", TransientVenueError("timed out", venue="sim"))
        await service.run_once()
        before = await account_coverage(sim.engine.venue, sim.ledger)
        await service.run_once()
        return before, await account_coverage(sim.engine.venue, sim.ledger)

    try:
        middle, last = asyncio.run(runs_then_coverage())
        runs = sim.ledger.list_runs("sim", "main", 10)  # newest first
        mark = sim.ledger.fill_coverage("sim", "main")
        headers = sim.ledger.run_headers("sim", "main")
    finally:
        sim.close()
    assert [h.run_id for h in headers] == [r.run_id for r in runs]
    assert all(h.discrepancies == () and h.actions == () for h in headers)
    assert [(h.fills_window, h.errors, h.status) for h in headers] == \
        [(r.fills_window, r.errors, r.status) for r in runs]

    third, second, first = runs[1], runs[2], runs[3]
    checks = {c.name: c for c in middle.lists}
    assert checks["positions"].run_id == third.run_id
    assert checks["fills"].run_id == second.run_id  # the third run could not read them
    assert checks["fills"].last_error == "timed out"
    assert checks["fills"].failed_since == third.started_at
    assert checks["open orders"].verified_at == third.finished_at
    assert middle.runs_examined == 3 and middle.fills.complete
    windows = [r.fills_window for r in (first, second) if r.fills_window is not None]
    assert middle.fills.covered_from == min(w[0] for w in windows)
    assert middle.fills.covered_to == max(w[1] for w in windows)

    assert all(c.run_id == runs[0].run_id and c.last_error == "" for c in last.lists)
    assert last.fills.verified_to == mark
    assert last.fills.covered_to == runs[0].fills_window[1]  # type: ignore[index]
    assert last.fills.gaps == ()
    assert not last.budget_reported and last.budgets == ()  # the sim reports none


def test_only_the_latest_runs_are_read_and_the_report_says_so(ledger_url: str) -> None:
    sim = build_sim_session(ledger_url, "clean")

    async def go() -> CoverageReport:
        for _ in range(3):
            await sim.engine.reconciler.run_once()
        return await account_coverage(sim.engine.venue, sim.ledger, limit=2)

    try:
        report = asyncio.run(go())
    finally:
        sim.close()
    assert report.runs_examined == 2 and not report.fills.complete
    assert report.fills.windows == 2


def test_budgets_come_from_a_venue_that_declares_them(ledger_url: str) -> None:
    wrapped: list[ReportingBudgets] = []

    def wrap(venue: SimVenue) -> VenuePort:
        wrapped.append(ReportingBudgets(venue))
        return wrapped[0]

    sim = build_sim_session(ledger_url, "clean", wrap=wrap)
    try:
        venue = wrapped[0]
        empty = asyncio.run(account_coverage(sim.engine.venue, sim.ledger))
        venue.figures = RateBudget((
            EndpointBudget("/v5/order/realtime", limit=50, remaining=48, reset_at=None,
                           seen_at=10),
            EndpointBudget("/v5/order/create", limit=10, remaining=1, reset_at=2_000,
                           seen_at=11)))
        told = asyncio.run(account_coverage(sim.engine.venue, sim.ledger))
    finally:
        sim.close()
    assert empty.budget_reported and empty.budgets == ()
    assert told.budgets == venue.figures.endpoints and venue.asked["rate_budget"] == 2
    assert told.to_dict()["budgets"][1] == {"endpoint": "/v5/order/create", "limit": 10,
                                            "remaining": 1, "reset_at": 2_000, "seen_at": 11}
