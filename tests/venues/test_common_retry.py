"""The REST retry policy, timed with a fake sleep: what is retried, how long it waits,
and that the try budget is shared by transient errors and rate limits."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from console.errors import (
    FatalVenueError,
    OrderNotFoundError,
    RateLimitedError,
    TransientVenueError,
    UnknownOutcomeError,
    VenueError,
)
from console.venues._common.retry import RetryPolicy


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def failing(errors: list[BaseException], result: str = "ok") -> Callable[[], Awaitable[str]]:
    queue = list(errors)
    calls: list[int] = []

    async def fn() -> str:
        calls.append(1)
        if queue:
            raise queue.pop(0)
        return result

    fn.calls = calls  # type: ignore[attr-defined]
    return fn


def run(policy: RetryPolicy, fn: Callable[[], Awaitable[str]], sleep: FakeSleep,
        rand: float = 0.5) -> str:
    return asyncio.run(policy.call(fn, sleep=sleep, rand=lambda: rand))


def test_backoff_bounds() -> None:
    policy = RetryPolicy(tries=10, base_ms=1000, max_ms=30000)
    for retry in range(1, 10):
        low = policy.backoff_ms(retry, 0.0)
        high = policy.backoff_ms(retry, 0.999999)
        expected = 1000 * 2 ** (retry - 1)
        assert low == min(expected, 30000)
        assert min(expected, 30000) <= high <= min(expected + 1000, 30000)
    assert policy.backoff_ms(20, 0.9) == 30000


def test_transient_errors_are_retried_with_exponential_backoff_and_jitter() -> None:
    sleep = FakeSleep()
    fn = failing([TransientVenueError("a"), TransientVenueError("b")])
    assert run(RetryPolicy(3, 1000, 30000), fn, sleep, rand=0.25) == "ok"
    assert sleep.waits == [1.25, 2.25]  # base*2^(n-1) + 0.25*base
    assert len(fn.calls) == 3  # type: ignore[attr-defined]


def test_the_try_budget_is_bounded_and_the_last_error_is_raised() -> None:
    sleep = FakeSleep()
    fn = failing([TransientVenueError(str(i)) for i in range(5)])
    with pytest.raises(TransientVenueError, match=r"^2$"):
        run(RetryPolicy(3, 100, 1000), fn, sleep)
    assert len(fn.calls) == 3 and len(sleep.waits) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("error", [FatalVenueError("bad"), UnknownOutcomeError("timeout"),
                                   OrderNotFoundError("gone"), VenueError("other")])
def test_fatal_and_unknown_outcomes_are_never_retried(error: VenueError) -> None:
    sleep = FakeSleep()
    fn = failing([error])
    with pytest.raises(type(error)):
        run(RetryPolicy(5, 100, 1000), fn, sleep)
    assert len(fn.calls) == 1 and sleep.waits == []  # type: ignore[attr-defined]


def test_rate_limits_wait_for_the_reset_hint_bounded_by_max() -> None:
    sleep = FakeSleep()
    fn = failing([RateLimitedError("slow", retry_after_ms=750),
                  RateLimitedError("slow", retry_after_ms=2_000)])
    assert run(RetryPolicy(3, 1000, 30000), fn, sleep) == "ok"
    assert sleep.waits == [0.75, 2.0]


def test_a_reset_hint_beyond_the_wait_budget_surfaces_at_once() -> None:
    sleep = FakeSleep()
    fn = failing([RateLimitedError("slow", retry_after_ms=750),
                  RateLimitedError("slower", retry_after_ms=120_000)])
    with pytest.raises(RateLimitedError, match="slower"):
        run(RetryPolicy(3, 1000, 30000), fn, sleep)
    assert sleep.waits == [0.75]  # no 29 s sleep before giving up anyway


def test_a_burst_of_rate_limits_does_not_spend_the_failure_budget() -> None:
    sleep = FakeSleep()
    fn = failing([RateLimitedError("busy", retry_after_ms=5) for _ in range(8)])
    assert run(RetryPolicy(3, 1000, 30000), fn, sleep) == "ok"
    assert len(sleep.waits) == 8


def test_rate_limits_are_bounded_by_their_own_count() -> None:
    sleep = FakeSleep()
    fn = failing([RateLimitedError(str(i), retry_after_ms=1) for i in range(20)])
    with pytest.raises(RateLimitedError, match=r"^4$"):
        run(RetryPolicy(3, 1000, 30000, rate_limit_tries=4), fn, sleep)
    assert len(fn.calls) == 5  # type: ignore[attr-defined]


def test_a_rate_limit_without_a_hint_backs_off_apart_from_failures() -> None:
    sleep = FakeSleep()
    fn = failing([RateLimitedError("a"), TransientVenueError("b"),
                  RateLimitedError("c", retry_after_ms=10)])
    assert run(RetryPolicy(3, 1000, 30000), fn, sleep, rand=0.0) == "ok"
    assert sleep.waits == [1.0, 1.0, 0.01]


def test_on_retry_sees_each_wait() -> None:
    seen: list[tuple[str, int, float]] = []
    fn = failing([TransientVenueError("x")])
    asyncio.run(RetryPolicy(2, 10, 100).call(
        fn, sleep=FakeSleep(), rand=lambda: 0.0,
        on_retry=lambda e, n, ms: seen.append((str(e), n, ms))))
    assert seen == [("x", 1, 10.0)]


def test_policy_validation() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(0, 1, 2)
    with pytest.raises(ValueError):
        RetryPolicy(1, 10, 5)
