"""The venue's rate-limit budget per endpoint, as its answers last reported it, and the
wait ahead of a call whose budget is spent.

Why wait ahead: a request sent on a spent budget is refused (and on some venues counts
against a ban), then waited out by the retry policy anyway; waiting for the reported
reset first costs the same time and no refusal. The wait is bounded (`max_wait_ms`: a
reset far away surfaces as a refusal instead of a silent stall), and whoever waits
clears the "spent" mark, so concurrent callers do not all wait for the same reset.

Priority-lane requests skip the wait (the caller decides: see `lane`): in an emergency
the venue is asked anyway, and a real refusal is still waited out by the retry policy.

Pacing in a rolling window (`window_ms`, for venues that count requests per endpoint in
a rolling window of known length: Bybit, one second). Such a venue may tell a reset time
only once a request was refused (Bybit: "when the limit resets if you have exceeded your
rate limit; otherwise just the current timestamp"), so a granted answer that leaves
nothing says nothing about when a unit comes back, and the next request would be
refused. The keeper therefore also keeps its own requests on the endpoint: the venue
counted each when it arrived, after it was sent and before its answer came, so it
leaves the venue's window one window after its answer at the latest. A request may
start while the limit, less the units in use, is above zero; in use are the requests in
flight (counted or about to be: either way they take a unit), ours answered within the
last window, and the others' units: what the last answer's figure (limit minus
X-Bapi-Limit-Status) shows beyond every request of ours the venue could have counted in
it (another process on the same account), until that figure's window has passed.
Otherwise the request waits for the next of those to leave the window. Concurrent
callers share this view (the check and the in-flight count change with no await between
them), so a burst of pages on one endpoint is paced at the budget's rate instead of
bouncing off it. Estimating our own units from the answer times errs one latency late:
a wait, never a refusal; the others' units are at least what the figure shows.

The figures themselves (`EndpointBudget`, `RateBudget`) are domain records: the UI shows
them through the engine (`VenuePort.rate_budget`).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from console.domain.capabilities import EndpointBudget, RateBudget
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.venues._common.clock import wall_clock_ms
from console.venues._common.errors import header, header_int

log = logging.getLogger(__name__)


class _Window:
    """One endpoint's own requests and the others' units (rolling-window pacing)."""

    __slots__ = ("answered", "in_flight", "others", "others_until")

    def __init__(self) -> None:
        self.in_flight = 0
        self.answered: deque[tuple[int, int]] = deque()
        """(sent, answered) venue times of our requests answered within the last window."""
        self.others = 0
        """Units the last figure showed beyond ours (another client on the account)..."""
        self.others_until = 0
        """... until this venue time, when everything that figure counted has left."""


class BudgetKeeper:
    """Per-endpoint budgets of one account; `respect(endpoint)` before a call,
    `note(...)`/`note_headers(...)` after its answer; with `window_ms`, the call itself
    inside `in_flight(endpoint)` (see the module docstring: pacing)."""

    def __init__(self, venue: str, account: str, *, max_wait_ms: int,
                 local_ms: Callable[[], int] = wall_clock_ms,
                 venue_ms: Callable[[], int] | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 telemetry: Telemetry = NULL_TELEMETRY,
                 window_ms: int | None = None) -> None:
        if window_ms is not None and window_ms < 1:
            raise ValueError(f"rate limit window must be >= 1 ms, got {window_ms}")
        self.venue = venue
        self.account = account
        self.max_wait_ms = max_wait_ms
        self._local_ms = local_ms
        self._venue_ms = venue_ms or local_ms
        """Reset timestamps are in venue time: local time plus the measured offset."""
        self._sleep = sleep
        self._telemetry = telemetry
        self._budgets: dict[str, EndpointBudget] = {}
        self.window_ms = window_ms
        """The venue's rolling window per endpoint (None: no pacing, only the reset)."""
        self._windows: dict[str, _Window] = {}

    def note(self, endpoint: str, *, limit: int | None, remaining: int | None,
             reset_at: int | None) -> None:
        """Record what an answer said (nothing said: the last figures stay)."""
        if limit is None and remaining is None and reset_at is None:
            return
        self._budgets[endpoint] = EndpointBudget(endpoint, limit, remaining, reset_at,
                                                 self._local_ms())
        self._told(endpoint, limit, remaining)

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
        self._told(endpoint, said_limit, said_remaining)

    def get(self, endpoint: str) -> EndpointBudget | None:
        return self._budgets.get(endpoint)

    def snapshot(self) -> RateBudget:
        return RateBudget(tuple(self._budgets[k] for k in sorted(self._budgets)))

    @contextmanager
    def in_flight(self, endpoint: str) -> Iterator[None]:
        """Around the call itself (after `respect`, with no await between, and with its
        answer noted right after): the request holds a unit of the endpoint's budget."""
        if self.window_ms is None:
            yield
            return
        window = self._windows.setdefault(endpoint, _Window())
        window.in_flight += 1
        sent = self._venue_ms()
        try:
            yield
        finally:
            window.in_flight -= 1
            window.answered.append((sent, self._venue_ms()))

    async def respect(self, endpoint: str) -> float:
        """When the last answer said the endpoint's budget is spent, wait for its reset
        (at most `max_wait_ms`); with `window_ms`, then also until the window has room
        (all waits together at most `max_wait_ms`). Returns the milliseconds waited."""
        waited = await self._respect_reset(endpoint)
        if self.window_ms is None:
            return waited
        window = self._windows.setdefault(endpoint, _Window())
        if waited:
            window.others = 0  # the venue's own reset: what it counted is restored
        return await self._pace(endpoint, window, waited)

    async def _respect_reset(self, endpoint: str) -> float:
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

    # -- rolling-window pacing ---------------------------------------------------------

    def _told(self, endpoint: str, limit: int | None, remaining: int | None) -> None:
        """The others' units in a figure just told: its units in use beyond every request
        of ours the venue could have counted in it (answered less than a window before
        the noted request was sent; that one is the last answered)."""
        if self.window_ms is None or limit is None or remaining is None:
            return
        window = self._windows.setdefault(endpoint, _Window())
        now = self._venue_ms()
        self._forget(window, now)
        sent = window.answered[-1][0] if window.answered else now
        ours = sum(1 for _, answered in window.answered if answered > sent - self.window_ms)
        window.others = max(0, limit - remaining - ours - window.in_flight)
        window.others_until = now + self.window_ms

    def _forget(self, window: _Window, now: int) -> None:
        assert self.window_ms is not None
        while window.answered and window.answered[0][1] + self.window_ms <= now:
            window.answered.popleft()

    def _pace_ms(self, endpoint: str, window: _Window) -> int:
        """Milliseconds until a request may start on `endpoint` (0: now)."""
        assert self.window_ms is not None
        budget = self._budgets.get(endpoint)
        if budget is None or budget.limit is None:
            return 0  # no limit said yet: nothing to pace by
        now = self._venue_ms()
        self._forget(window, now)
        others = window.others if now < window.others_until else 0
        if others + window.in_flight + len(window.answered) < budget.limit:
            return 0
        frees = [window.answered[0][1] + self.window_ms] if window.answered else []
        if others:
            frees.append(window.others_until)
        # all in flight (more callers than the budget): their answers free nothing sooner
        return max(0, min(frees) - now) if frees else 0

    async def _pace(self, endpoint: str, window: _Window, waited_ms: float) -> float:
        """Wait until the window has room; returns all the milliseconds waited."""
        paced = False
        while (wait_ms := self._pace_ms(endpoint, window)) > 0:
            wait_ms = min(wait_ms, int(self.max_wait_ms - waited_ms))
            if wait_ms <= 0:
                break
            if not paced:
                paced = True
                log.debug("%s %s: rate budget of %s in use; pacing %d ms", self.venue,
                          self.account, endpoint, wait_ms)
                self._telemetry.count("rest_paced", (("endpoint", endpoint),))
            await self._sleep(wait_ms / 1000)
            waited_ms += wait_ms
        return waited_ms
