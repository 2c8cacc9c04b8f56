"""The venue's rate-limit budget per endpoint, as its answers last reported it, and the
wait ahead of a call whose budget is spent.

Why wait ahead: a request sent on a spent budget is refused (and on some venues counts
against a ban), then waited out by the retry policy anyway; waiting for the reported
reset first costs the same time and no refusal. The wait is bounded (`max_wait_ms`: a
reset far away surfaces as a refusal instead of a silent stall), and whoever waits
clears the "spent" mark, so concurrent callers do not all wait for the same reset.

Priority-lane requests skip the wait (the caller decides: see `lane`): in an emergency
the venue is asked anyway, and a real refusal is still waited out by the retry policy.

The figures themselves (`EndpointBudget`, `RateBudget`) are domain records: the UI shows
them through the engine (`VenuePort.rate_budget`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from console.domain.capabilities import EndpointBudget, RateBudget
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.venues._common.clock import wall_clock_ms
from console.venues._common.errors import header, header_int

log = logging.getLogger(__name__)


class BudgetKeeper:
    """Per-endpoint budgets of one account; `respect(endpoint)` before a call,
    `note(...)`/`note_headers(...)` after its answer."""

    def __init__(self, venue: str, account: str, *, max_wait_ms: int,
                 local_ms: Callable[[], int] = wall_clock_ms,
                 venue_ms: Callable[[], int] | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 telemetry: Telemetry = NULL_TELEMETRY) -> None:
        self.venue = venue
        self.account = account
        self.max_wait_ms = max_wait_ms
        self._local_ms = local_ms
        self._venue_ms = venue_ms or local_ms
        """Reset timestamps are in venue time: local time plus the measured offset."""
        self._sleep = sleep
        self._telemetry = telemetry
        self._budgets: dict[str, EndpointBudget] = {}

    def note(self, endpoint: str, *, limit: int | None, remaining: int | None,
             reset_at: int | None) -> None:
        """Record what an answer said (nothing said: the last figures stay)."""
        if limit is None and remaining is None and reset_at is None:
            return
        self._budgets[endpoint] = EndpointBudget(endpoint, limit, remaining, reset_at,
                                                 self._local_ms())

    def note_headers(self, endpoint: str, headers: Mapping[str, Any] | None, *,
                     limit: str, remaining: str, reset: str) -> None:
        """`note` from response headers named by the venue (non-negative integers; an
        unreadable one, "²", "-5" or 400 digits, is logged and counts as not said, never
        an error: the answer it came with is good)."""
        if all(header(headers, name) is None for name in (limit, remaining, reset)):
            return
        said_limit, said_remaining, said_reset = (header_int(headers, name)
                                                  for name in (limit, remaining, reset))
        self._budgets[endpoint] = EndpointBudget(endpoint, said_limit, said_remaining,
                                                 said_reset, self._local_ms())

    def get(self, endpoint: str) -> EndpointBudget | None:
        return self._budgets.get(endpoint)

    def snapshot(self) -> RateBudget:
        return RateBudget(tuple(self._budgets[k] for k in sorted(self._budgets)))

    async def respect(self, endpoint: str) -> float:
        """When the last answer said the endpoint's budget is spent, wait for its reset
        (at most `max_wait_ms`). Returns the milliseconds waited."""
        budget = self._budgets.get(endpoint)
        if budget is None or budget.remaining is None or budget.remaining > 0 \
                or budget.reset_at is None:
            return 0.0
        wait_ms = min(budget.reset_at - self._venue_ms(), self.max_wait_ms)
        # whoever waits refills the view: concurrent callers do not wait twice
        self._budgets[endpoint] = EndpointBudget(endpoint, budget.limit, None,
                                                 budget.reset_at, budget.seen_at)
        if wait_ms <= 0:
            return 0.0
        log.info("%s %s: rate budget spent on %s; waiting %d ms for its reset", self.venue,
                 self.account, endpoint, wait_ms)
        self._telemetry.count("rest_throttled", (("endpoint", endpoint),))
        await self._sleep(wait_ms / 1000)
        return float(wait_ms)
