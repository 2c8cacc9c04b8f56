"""The shared rate-budget keeper: what the venue's answers said per endpoint, and the
bounded wait ahead of a call whose budget is spent (timed with a fake sleep)."""

from __future__ import annotations

import asyncio

from console.venues._common.budget import BudgetKeeper

NOW = 1_700_000_000_000
HEADERS = ("X-Limit", "X-Remaining", "X-Reset")


class Telemetry:
    def __init__(self) -> None:
        self.counts: list[tuple[str, tuple[tuple[str, str], ...]]] = []

    def observe_latency(self, stage: str, ms: float, labels: object = ()) -> None:
        return None

    def count(self, name: str, labels: tuple[tuple[str, str], ...] = (),
              amount: int = 1) -> None:
        self.counts.append((name, labels))


def keeper(sleeps: list[float], *, offset_ms: int = 0, max_wait_ms: int = 1000,
           telemetry: Telemetry | None = None) -> BudgetKeeper:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return BudgetKeeper("venue", "acct", max_wait_ms=max_wait_ms, local_ms=lambda: NOW,
                        venue_ms=lambda: NOW + offset_ms, sleep=sleep,
                        telemetry=telemetry or Telemetry())


def note(budgets: BudgetKeeper, endpoint: str, limit: str, remaining: str, reset: str) -> None:
    budgets.note_headers(endpoint, {"x-limit": limit, "X-REMAINING": remaining,
                                    "X-Reset": reset},
                         limit=HEADERS[0], remaining=HEADERS[1], reset=HEADERS[2])


def test_a_spent_budget_waits_for_its_reset_once() -> None:
    sleeps: list[float] = []
    telemetry = Telemetry()
    budgets = keeper(sleeps, telemetry=telemetry)
    note(budgets, "/orders", "10", "0", str(NOW + 400))
    seen = budgets.get("/orders")
    assert seen is not None and (seen.limit, seen.remaining, seen.reset_at) == (10, 0, NOW + 400)
    assert seen.seen_at == NOW

    async def two_callers() -> list[float]:
        return list(await asyncio.gather(budgets.respect("/orders"),
                                         budgets.respect("/orders")))

    waited = asyncio.run(two_callers())
    assert sorted(waited) == [0.0, 400.0] and sleeps == [0.4]  # the second did not wait too
    assert telemetry.counts == [("rest_throttled", (("endpoint", "/orders"),))]


def test_the_wait_is_bounded_and_in_venue_time() -> None:
    sleeps: list[float] = []
    far = keeper(sleeps, max_wait_ms=250)
    note(far, "/a", "10", "0", str(NOW + 60_000))
    assert asyncio.run(far.respect("/a")) == 250.0
    ahead = keeper(sleeps, offset_ms=300)  # the venue's clock is 300 ms ahead of ours
    note(ahead, "/a", "10", "0", str(NOW + 400))
    assert asyncio.run(ahead.respect("/a")) == 100.0
    assert sleeps == [0.25, 0.1]


def test_no_wait_while_budget_remains_or_nothing_was_said() -> None:
    sleeps: list[float] = []
    budgets = keeper(sleeps)
    note(budgets, "/a", "10", "3", str(NOW + 400))
    note(budgets, "/past", "10", "0", str(NOW - 5))
    budgets.note_headers("/silent", {}, limit="X-Limit", remaining="X-Remaining",
                         reset="X-Reset")
    budgets.note("/none", limit=None, remaining=None, reset_at=None)

    async def main() -> list[float]:
        return [await budgets.respect(e) for e in ("/a", "/past", "/silent", "/none", "/x")]

    assert asyncio.run(main()) == [0.0] * 5 and sleeps == []
    assert budgets.get("/silent") is None and budgets.get("/none") is None


def test_unreadable_figures_count_as_not_said_and_the_view_is_sorted() -> None:
    budgets = keeper([])
    note(budgets, "/z", "ten", "0", "soon")
    budgets.note("/a", limit=5, remaining=4, reset_at=None)
    snapshot = budgets.snapshot()
    assert [b.endpoint for b in snapshot.endpoints] == ["/a", "/z"]
    z = snapshot.get("/z")
    assert z is not None and (z.limit, z.remaining, z.reset_at) == (None, 0, None)
    assert asyncio.run(budgets.respect("/z")) == 0.0  # spent, but no reset to wait for


class Clock:
    """Venue time that the fake sleep advances."""

    def __init__(self) -> None:
        self.now = NOW
        self.sleeps: list[int] = []

    def __call__(self) -> int:
        return self.now

    async def sleep(self, seconds: float) -> None:
        ms = round(seconds * 1000)
        self.sleeps.append(ms)
        self.now += ms


def windowed(clock: Clock, telemetry: Telemetry | None = None) -> BudgetKeeper:
    return BudgetKeeper("venue", "acct", max_wait_ms=5000, local_ms=clock, venue_ms=clock,
                        sleep=clock.sleep, telemetry=telemetry or Telemetry(),
                        window_ms=1000)


async def ask(budgets: BudgetKeeper, clock: Clock, endpoint: str, limit: int,
              used_by_others: int = 0, latency_ms: int = 10) -> float:
    """One request: the wait ahead, the call (`latency_ms`), the answer's figures as a
    venue counting in a rolling window would tell them (reset = now on a grant)."""
    waited = await budgets.respect(endpoint)
    with budgets.in_flight(endpoint):
        clock.now += latency_ms
    mine = getattr(budgets, "_mine", {}).setdefault(endpoint, [])
    mine.append(clock.now)
    in_window = [t for t in mine if t > clock.now - 1000]
    assert len(in_window) + used_by_others <= limit, "the venue would have refused it"
    note(budgets, endpoint, str(limit), str(limit - used_by_others - len(in_window)),
         str(clock.now))
    return waited


def test_a_rolling_window_is_paced_from_the_remaining_figure_without_a_refusal() -> None:
    clock = Clock()
    telemetry = Telemetry()
    budgets = windowed(clock, telemetry)
    budgets._mine = {}  # type: ignore[attr-defined]

    async def main() -> list[float]:
        return [await ask(budgets, clock, "/list", 3) for _ in range(7)]

    waited = asyncio.run(main())
    # three in the first window; the fourth waits until the first leaves it (its answer
    # time + 1 s), and so on: never sent on a spent budget, never waiting needlessly
    assert waited[:3] == [0.0, 0.0, 0.0] and waited[3] > 0 and waited[6] > 0
    assert 2 * 1000 <= clock.now - NOW <= 2 * 1000 + 3 * 10  # the floor, one latency a wave
    assert telemetry.counts[0] == ("rest_paced", (("endpoint", "/list"),))
    assert budgets.get("/other") is None and asyncio.run(budgets.respect("/other")) == 0.0


def test_units_used_by_another_client_and_requests_in_flight_are_counted() -> None:
    clock = Clock()
    budgets = windowed(clock)
    note(budgets, "/list", "5", "1", str(NOW))  # 4 in use, none of them ours
    first = asyncio.run(budgets.respect("/list"))
    assert first == 0.0  # one left

    async def two_concurrent() -> float:
        with budgets.in_flight("/list"):  # the last unit is taken while this one waits
            return await budgets.respect("/list")

    assert asyncio.run(two_concurrent()) == 1000.0  # until the others' window has passed
    assert clock.sleeps == [1000]


def test_without_a_window_nothing_is_paced() -> None:
    sleeps: list[float] = []
    budgets = keeper(sleeps)
    note(budgets, "/a", "1", "0", str(NOW))  # spent, reset "now": nothing to wait for
    with budgets.in_flight("/a"):
        pass
    assert asyncio.run(budgets.respect("/a")) == 0.0 and sleeps == []
