"""Coverage and budgets of one account: how much of its history the ledger has checked
against the venue, how fresh each check is, and how much request budget is left.

Three questions an operator asks before trusting a quiet screen:

- Which stretch of the venue's fill history has been read into the ledger? Every
  recorded run keeps the fill window it fetched (`RunRecord.fills_window`, the runs
  table); the ledger itself keeps only the latest coverage mark per account (up to when
  the history is verified complete, `LedgerPort.fill_coverage`). So the covered stretch
  (from, to) and its gaps are derived from the run records, union of their windows, and
  the mark is shown beside it: a fetched window may still hold a missing fill awaiting
  the operator, which the mark stops short of.
- When was each list (open orders, positions, balances, fills) last verified? The last
  recorded run whose fetch of that list succeeded: a run names each list it could not
  read in its errors ("positions: ..."), and its fill window is None when the fills
  failed.
- How much rate-limit budget is left per endpoint? What the venue's last answers said
  (`VenuePort.rate_budget`, declared by the `rate_budget` capability): a venue that
  reports none says so rather than showing "unlimited".

Only run headers are read (`LedgerPort.run_headers`: no discrepancies, no actions), at
most `limit` of them; when there are more, the report says the history it shows starts
no later than the oldest run examined.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from console.domain.capabilities import EndpointBudget
from console.domain.reconciliation import RunRecord
from console.engine.ports import LedgerPort, VenuePort
from console.engine.reconcile_service import FILLS, LISTS, wall_clock_ms

HEADER_LIMIT = 5000
"""Run headers examined by default (at one run a minute, three and a half days)."""

SOURCE = ("Derived from the fill window each recorded run fetched: the ledger keeps the "
          "latest verified mark, not every window.")


@dataclass(frozen=True, slots=True)
class FillHistory:
    """The venue's fill history the ledger has read: from `covered_from` to `covered_to`
    less the `gaps` (inclusive epoch-ms bounds), in `windows` fetches. `verified_to` is
    the coverage mark: every fill up to it is in the ledger. `complete` is False when
    older runs exist than those examined (the history may start earlier)."""

    covered_from: int | None
    covered_to: int | None
    gaps: tuple[tuple[int, int], ...]
    verified_to: int | None
    windows: int
    complete: bool
    source: str = SOURCE


@dataclass(frozen=True, slots=True)
class ListCheck:
    """When one list was last read from the venue and compared (None: not in the runs
    examined), and the error of a later run that could not read it."""

    name: str
    verified_at: int | None
    run_id: str = ""
    last_error: str = ""
    failed_since: int | None = None
    """When the oldest of the failing runs after the last success started."""


@dataclass(frozen=True, slots=True)
class CoverageReport:
    venue: str
    account: str
    at: int
    fills: FillHistory
    lists: tuple[ListCheck, ...]
    budgets: tuple[EndpointBudget, ...]
    budget_reported: bool
    """The venue declares rate-limit figures (`capabilities.rate_budget`)."""
    runs_examined: int

    def list_check(self, name: str) -> ListCheck | None:
        return next((c for c in self.lists if c.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        f = self.fills
        return {
            "venue": self.venue, "account": self.account, "at": self.at,
            "fills": {"from": f.covered_from, "to": f.covered_to,
                      "gaps": [{"from": a, "to": b} for a, b in f.gaps],
                      "verified_to": f.verified_to, "windows": f.windows,
                      "complete": f.complete, "source": f.source},
            "lists": {c.name: {"verified_at": c.verified_at, "run_id": c.run_id,
                               "last_error": c.last_error, "failed_since": c.failed_since}
                      for c in self.lists},
            "budget_reported": self.budget_reported,
            "budgets": [{"endpoint": b.endpoint, "limit": b.limit, "remaining": b.remaining,
                         "reset_at": b.reset_at, "seen_at": b.seen_at}
                        for b in self.budgets],
            "runs_examined": self.runs_examined,
        }


def fill_history(runs: Sequence[RunRecord], mark: int | None, *,
                 complete: bool) -> FillHistory:
    """The union of the runs' fill windows (any order), its gaps, and the mark. Windows
    that touch (one ends at t, the next starts at t + 1) or overlap are one stretch."""
    windows = sorted(r.fills_window for r in runs if r.fills_window is not None)
    if not windows:
        return FillHistory(None, None, (), mark, 0, complete)
    gaps: list[tuple[int, int]] = []
    start, end = windows[0]
    first = start
    for low, high in windows[1:]:
        if low > end + 1:
            gaps.append((end + 1, low - 1))
            start = low
        end = max(end, high)
    return FillHistory(first, end, tuple(gaps), mark, len(windows), complete)


def _read(run: RunRecord, name: str) -> bool:
    if name == FILLS:
        return run.fills_window is not None
    return not any(e.startswith(f"{name}: ") for e in run.errors)


def _error(run: RunRecord, name: str) -> str:
    prefix = f"{name}: "
    return next((e[len(prefix):] for e in run.errors if e.startswith(prefix)),
                "not read" if name == FILLS else "")


def last_verified(runs: Sequence[RunRecord]) -> tuple[ListCheck, ...]:
    """Per list, the newest run that read it, and what the runs after it said."""
    newest_first = sorted(runs, key=lambda r: (r.started_at, r.run_id), reverse=True)
    checks = []
    for name in LISTS:
        error, failed_since = "", None
        found: RunRecord | None = None
        for run in newest_first:
            if _read(run, name):
                found = run
                break
            error = error or _error(run, name)
            failed_since = run.started_at
        checks.append(ListCheck(name, found.finished_at if found else None,
                                found.run_id if found else "", error, failed_since))
    return tuple(checks)


def coverage_of(venue: str, account: str, runs: Sequence[RunRecord], mark: int | None, *,
                budgets: Sequence[EndpointBudget] | None, at: int,
                complete: bool) -> CoverageReport:
    """The report from what was read (pure): `budgets` None when the venue reports none."""
    return CoverageReport(
        venue=venue, account=account, at=at,
        fills=fill_history(runs, mark, complete=complete), lists=last_verified(runs),
        budgets=tuple(budgets or ()), budget_reported=budgets is not None,
        runs_examined=len(runs))


def rate_budgets(venue: VenuePort) -> tuple[EndpointBudget, ...] | None:
    """The venue's last reported budgets per endpoint; None when it declares none."""
    if not venue.capabilities.rate_budget:
        return None
    budget = venue.rate_budget()
    return () if budget is None else budget.endpoints


async def account_coverage(venue: VenuePort, ledger: LedgerPort, *,
                           clock_ms: Callable[[], int] = wall_clock_ms,
                           limit: int = HEADER_LIMIT) -> CoverageReport:
    """Coverage and budgets of `venue`'s account, read off the loop from `ledger`."""
    name, account = venue.venue, venue.account
    runs = await asyncio.to_thread(ledger.run_headers, name, account, limit + 1)
    mark = await asyncio.to_thread(ledger.fill_coverage, name, account)
    return coverage_of(name, account, runs[:limit], mark, budgets=rate_budgets(venue),
                       at=clock_ms(), complete=len(runs) <= limit)
