"""Rolling-window pacing from the venue's own count times (a granted answer's reset figure
is the time the venue counted the request, Bybit's rule): a unit of ours leaves one
window after it was counted, not after its answer came back, and never early."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from console.domain.telemetry import NULL_TELEMETRY
from console.venues._common.budget import BudgetKeeper

NOW = 1_700_000_000_000
WINDOW_MS = 1000


@dataclass
class Venue:
    """A venue counting requests in a rolling window on its own clock (`lead` ms ahead of
    the local one): a request arrives `out_ms` after it was sent and is counted then
    (the count time is its reset figure); its answer is written `work_ms` later (the
    answer's own time) and arrives `back_ms` after that. `stamps` False: a venue that
    says neither (the answer time is all the pacing has)."""

    limit: int
    lead: int = 0
    out_ms: int = 2
    work_ms: int = 10
    back_ms: int = 10
    stamps: bool = True
    now: int = NOW
    counted: list[int] = field(default_factory=list)
    refused: int = 0
    sleeps: list[int] = field(default_factory=list)

    def local(self) -> int:
        return self.now

    async def sleep(self, seconds: float) -> None:
        ms = round(seconds * 1000)
        self.sleeps.append(ms)
        self.now += ms

    def keeper(self) -> BudgetKeeper:
        # the connector's idea of the venue's clock: its measured lead, 3 ms off
        return BudgetKeeper("venue", "acct", max_wait_ms=5000, local_ms=self.local,
                            venue_ms=lambda: self.now + self.lead + 3, sleep=self.sleep,
                            telemetry=NULL_TELEMETRY, window_ms=WINDOW_MS)

    async def ask(self, budgets: BudgetKeeper, stamp: str | None = None) -> None:
        await budgets.respect("/list")
        with budgets.in_flight("/list"):
            self.now += self.out_ms
            at = self.now + self.lead  # the venue's clock when it counts the request
            in_window = [t for t in self.counted if t > at - WINDOW_MS]
            if len(in_window) >= self.limit:
                self.refused += 1
            else:
                self.counted.append(at)
            remaining = self.limit - min(self.limit, len(in_window) + 1)
            self.now += self.work_ms
            written = self.now + self.lead
            self.now += self.back_ms
        headers = {"X-Limit": str(self.limit), "X-Remaining": str(remaining)}
        if self.stamps:
            headers["X-Reset"] = stamp or str(at)
        budgets.note_headers("/list", headers, limit="X-Limit", remaining="X-Remaining",
                             reset="X-Reset", answer_time=written if self.stamps else None)


def pages(venue: Venue, n: int, budgets: BudgetKeeper | None = None) -> int:
    """`n` requests one after the other (a paged listing); the local ms they took."""
    keeper = budgets or venue.keeper()
    start = venue.now

    async def main() -> None:
        for _ in range(n):
            await venue.ask(keeper)

    asyncio.run(main())
    return venue.now - start


def test_a_unit_leaves_a_window_after_the_venue_counted_it_not_after_its_answer() -> None:
    timed = Venue(limit=5)
    took = pages(timed, 16)  # four waves of five: three windows waited
    untimed = Venue(limit=5, stamps=False)
    took_untimed = pages(untimed, 16)
    assert timed.refused == untimed.refused == 0
    # by answer times every wave loses the whole round trip (22 ms); by the venue's
    # times, the way out and the way back from the answer's own time (2 + 10 ms) and a
    # millisecond of rounding: the venue's work on the answer (10 ms) is saved
    assert took <= took_untimed - 3 * (10 - 2)
    assert took >= 3 * WINDOW_MS


def test_a_venue_clock_ahead_or_behind_changes_nothing() -> None:
    took = pages(Venue(limit=5), 16)
    for lead in (-750, 3, 1_234_567):
        venue = Venue(limit=5, lead=lead)
        assert pages(venue, 16) == took and venue.refused == 0, lead


def test_a_late_answer_costs_its_lateness_once() -> None:
    """One answer comes back 190 ms late (a busy client): the pages after it wait for it,
    but its unit still leaves a window after the venue counted it, and the windows
    after it are paced by the venue's times, as in the steady run."""
    venue = Venue(limit=5)
    budgets = venue.keeper()
    pages(venue, 3, budgets)
    venue.back_ms = 200
    pages(venue, 1, budgets)
    venue.back_ms = 10
    pages(venue, 12, budgets)
    assert venue.refused == 0
    steady = pages(Venue(limit=5), 16)
    # the late answer costs its own lateness once, not once per window after it
    assert venue.now - NOW <= steady + 200 + 5


def test_a_reset_figure_that_is_not_now_is_not_taken_for_the_count_time() -> None:
    """A spent budget's answer may carry a reset time in the future: taken for a count
    time, it would free the unit a second early. It is not trusted; the answer time
    stands (the pacing loses a latency there, and refuses nothing)."""
    venue = Venue(limit=5)
    budgets = venue.keeper()
    pages(venue, 4, budgets)

    async def last_of_the_window() -> None:
        await venue.ask(budgets, stamp=str(venue.now + 2 * WINDOW_MS))  # remaining 0

    asyncio.run(last_of_the_window())
    pages(venue, 12, budgets)
    assert venue.refused == 0


def test_a_clock_that_jumps_starts_the_estimate_again_without_a_refusal() -> None:
    venue = Venue(limit=5, lead=300)
    budgets = venue.keeper()
    pages(venue, 7, budgets)
    venue.lead += 400  # the venue's clock jumped ahead: the old bounds are wrong now
    took = pages(venue, 16, budgets)
    assert venue.refused == 0
    assert took <= 4 * WINDOW_MS
