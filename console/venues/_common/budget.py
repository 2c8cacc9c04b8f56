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

When the venue times the count (Bybit: a granted answer's reset figure is "the current
timestamp", taken when it counted the request), a unit of ours leaves earlier than its
answer time says: one window after that stamp, in local time. The stamp is in the
venue's clock; what turns it into local time is a lower bound of the venue's lead over
the local clock, from recent answers (`LEAD_MAX_AGE_MS`): any venue time stamped while
a request was with the venue (the count, the answer's own time) lies between its
sending and its answer, so the lead is at least stamp - answer time and at most
stamp - sending time; the latest stamp of the quickest answer bounds it best. The unit
is then taken to leave no sooner than it really does: the saving is the answer's way
back, never a refusal. Why it matters: a long paged listing waits a window after each
of its requests, so a late answer (a busy client, a slow parse) would otherwise push
every later window back by as much. Bounds that disagree with the others (a clock that
jumped, a stamp that is no "now") are not trusted: the estimate starts again, and
until then a unit leaves a window after its answer. The pacing runs on the local
clock (`local_ms`): no clock correction moves it.

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


LEAD_MAX_AGE_MS = 10_000
"""How long an answer's bounds on the venue's lead over the local clock are used: the
pacing matters in bursts, where answers are many, and a cold start's first answers
(the clock check: the tightest bound) should last its longest listing; much older
bounds would let the clocks' drift eat the millisecond of margin (ordinary drift is
tens of microseconds a second; a clock NTP slews at its fastest would cost a refusal,
which the retry policy waits out)."""


class _Window:
    """One endpoint's own requests and the others' units (rolling-window pacing)."""

    __slots__ = ("answered", "in_flight", "others", "others_until")

    def __init__(self) -> None:
        self.in_flight = 0
        self.answered: deque[list[int]] = deque()
        """[sent, answered, leaves] local times of our requests answered within the last
        window; `leaves` when the venue no longer counts it (answered plus a window at
        the latest; sooner when the venue timed its count: `BudgetKeeper._counted`)."""
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
        self._lows: deque[tuple[int, int]] = deque()
        self._highs: deque[tuple[int, int]] = deque()
        """(local time, bound) of the venue clock's lead over the local one, from recent
        answers: only those that may yet be the tightest (lows falling, highs rising from
        the oldest on), so the tightest is the first."""

    def note(self, endpoint: str, *, limit: int | None, remaining: int | None,
             reset_at: int | None) -> None:
        """Record what an answer said (nothing said: the last figures stay)."""
        if limit is None and remaining is None and reset_at is None:
            return
        self._budgets[endpoint] = EndpointBudget(endpoint, limit, remaining, reset_at,
                                                 self._local_ms())
        self._told(endpoint, limit, remaining)

    def note_headers(self, endpoint: str, headers: Mapping[str, Any] | None, *,
                     limit: str, remaining: str, reset: str,
                     answer_time: int | None = None) -> None:
        """`note` from response headers named by the venue (non-negative integers; an
        unreadable one, "²", "-5" or 400 digits, is logged and counts as not said, never
        an error: the answer it came with is good). `answer_time`: the venue's time in
        the answer itself, which bounds its clock (module docstring)."""
        if answer_time is not None:
            self._bound_lead(endpoint, answer_time)
        if all(header(headers, name) is None for name in (limit, remaining, reset)):
            return
        said_limit, said_remaining, said_reset = (header_int(headers, name)
                                                  for name in (limit, remaining, reset))
        self._budgets[endpoint] = EndpointBudget(endpoint, said_limit, said_remaining,
                                                 said_reset, self._local_ms())
        self._counted(endpoint, said_remaining, said_reset)
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
        sent = self._local_ms()
        try:
            yield
        finally:
            window.in_flight -= 1
            answered = self._local_ms()
            window.answered.append([sent, answered, answered + self.window_ms])

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

    def _last_answered(self, endpoint: str) -> list[int] | None:
        """The request of `endpoint` just answered: the last in its window (its answer
        is noted right after `in_flight`, with no await between)."""
        window = self._windows.get(endpoint)
        if self.window_ms is None or window is None or not window.answered:
            return None
        return window.answered[-1]

    def _lead_bounds(self, now: int) -> tuple[int, int] | None:
        """The tightest (low, high) of the recent bounds; None when there are none."""
        for bounds in (self._lows, self._highs):
            while bounds and bounds[0][0] + LEAD_MAX_AGE_MS <= now:
                bounds.popleft()
        if not self._lows or not self._highs:
            return None
        return self._lows[0][1], self._highs[0][1]

    def _bound_lead(self, endpoint: str, stamp: int) -> bool:
        """Bound the venue's lead by a venue time stamped while the request just
        answered was with the venue; False (and the estimate started again from this
        one) when it disagrees with the recent bounds."""
        entry = self._last_answered(endpoint)
        if entry is None:
            return True
        # the stamp and the local marks are whole milliseconds: a millisecond each way
        low, high = stamp - entry[1] - 1, stamp - entry[0] + 1
        known = self._lead_bounds(entry[1])
        agrees = known is None or (low <= known[1] and high >= known[0])
        if not agrees:
            log.info("%s %s: the venue's times disagree with its earlier ones (a clock "
                     "moved?); estimating its clock again", self.venue, self.account)
            self._lows.clear()
            self._highs.clear()
        # a newer bound at least as tight makes the older ones useless
        while self._lows and self._lows[-1][1] <= low:
            self._lows.pop()
        self._lows.append((entry[1], low))
        while self._highs and self._highs[-1][1] >= high:
            self._highs.pop()
        self._highs.append((entry[1], high))
        return agrees

    def _counted(self, endpoint: str, remaining: int | None, stamp: int | None) -> None:
        """The venue's count time of the request just answered (a grant's reset figure
        when the venue says it is "now"): that request leaves the window a window after
        it, in local time through the lower bound of the venue's lead."""
        entry = self._last_answered(endpoint)
        if entry is None or stamp is None:
            return
        if remaining is not None and remaining > 0:
            # a grant with budget left: the stamp is "now" (the venue's word)
            if not self._bound_lead(endpoint, stamp):
                return
        else:  # maybe a reset time, not "now": used only if it could be "now"
            known = self._lead_bounds(entry[1])
            if known is None or not (stamp - entry[1] - 1 <= known[1]
                                     and stamp - entry[0] + 1 >= known[0]):
                return
        known = self._lead_bounds(entry[1])
        assert known is not None and self.window_ms is not None
        entry[2] = min(entry[2], stamp - known[0] + self.window_ms)

    def _told(self, endpoint: str, limit: int | None, remaining: int | None) -> None:
        """The others' units in a figure just told: its units in use beyond every request
        of ours the venue could have counted in it (answered less than a window before
        the noted request was sent; that one is the last answered)."""
        if self.window_ms is None or limit is None or remaining is None:
            return
        window = self._windows.setdefault(endpoint, _Window())
        now = self._local_ms()
        self._forget(window, now)
        sent = window.answered[-1][0] if window.answered else now
        ours = sum(1 for entry in window.answered if entry[1] > sent - self.window_ms)
        window.others = max(0, limit - remaining - ours - window.in_flight)
        window.others_until = now + self.window_ms

    def _forget(self, window: _Window, now: int) -> None:
        """Drop our requests answered a window ago: no figure told from now on can count
        them (`_told` counts the others' units beyond those it may have counted)."""
        assert self.window_ms is not None
        while window.answered and window.answered[0][1] + self.window_ms <= now:
            window.answered.popleft()

    def _pace_ms(self, endpoint: str, window: _Window) -> int:
        """Milliseconds until a request may start on `endpoint` (0: now)."""
        assert self.window_ms is not None
        budget = self._budgets.get(endpoint)
        if budget is None or budget.limit is None:
            return 0  # no limit said yet: nothing to pace by
        now = self._local_ms()
        self._forget(window, now)
        others = window.others if now < window.others_until else 0
        # ours still in the venue's window (`leaves` is not in order: a unit the venue
        # timed may leave before one answered earlier)
        leaving = [entry[2] for entry in window.answered if entry[2] > now]
        if others + window.in_flight + len(leaving) < budget.limit:
            return 0
        frees = [min(leaving)] if leaving else []
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
