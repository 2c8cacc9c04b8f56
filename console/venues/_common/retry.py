"""Our retry policy for venue REST calls. Client libraries' own retries are switched off
(pybit's, for one, sleep on the calling thread and would resend order creations):
retrying is decided here, on the loop, from the error's class alone.

* Only `TransientVenueError` (nothing happened, try again) and `RateLimitedError` are
  retried. Fatal errors and unknown outcomes never are: an unknown outcome is resolved by
  the order manager by querying the client id, never by sending again.
* Transient: exponential backoff with jitter, `min(base * 2**(n-1) + U(0, base), max)`
  before retry n (tenacity's `wait_exponential_jitter` shape).
* Rate limited: wait until the venue's reset hint (bounded by `max`), else back off as
  above. A rate limit is "not yet", not a failure: it does not spend the `tries` budget,
  but it is bounded on its own: at most `rate_limit_tries` refusals and `max_ms` of waiting
  in total. A burst of rate-limit refusals is ridden out; a venue that keeps refusing
  still surfaces.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from console.errors import RateLimitedError, TransientVenueError

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
OnRetry = Callable[[BaseException, int, float], None]
"""Called before each wait with (error, retry number starting at 1, wait in ms)."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    tries: int = 3
    base_ms: int = 1000
    max_ms: int = 30000
    rate_limit_tries: int = 10

    def __post_init__(self) -> None:
        if self.tries < 1 or self.base_ms < 0 or self.max_ms < self.base_ms \
                or self.rate_limit_tries < 0:
            raise ValueError(f"retry policy {self}: tries >= 1 and 0 <= base_ms <= max_ms")

    @staticmethod
    def retryable(error: BaseException) -> bool:
        return isinstance(error, TransientVenueError | RateLimitedError)

    def backoff_ms(self, retry: int, rand: float) -> float:
        """Exponential backoff before retry number `retry` (1-based); `rand` in [0, 1)."""
        exponential = self.base_ms * (2 ** max(0, retry - 1))
        return float(min(exponential + rand * self.base_ms, self.max_ms))

    def wait_ms(self, error: BaseException, retry: int, rand: float) -> float:
        """How long to wait before retry number `retry` after `error`."""
        if isinstance(error, RateLimitedError) and error.retry_after_ms is not None:
            return float(min(max(0, error.retry_after_ms), self.max_ms))
        return self.backoff_ms(retry, rand)

    async def call(self, fn: Callable[[], Awaitable[T]], *, sleep: Sleep = asyncio.sleep,
                   rand: Callable[[], float] = random.random,
                   on_retry: OnRetry | None = None) -> T:
        """Run `fn` until it succeeds, fails for good or the tries are spent; the last
        error is raised as is."""

        # tenacity computes the wait before it asks whether to stop, so the counting
        # happens in `wait` and `stop` only reads it.
        failures = 0  # transient failures: they spend `tries`
        limited = 0  # rate-limit refusals: at most `rate_limit_tries`
        limited_ms = 0.0  # time spent waiting them out: at most `max_ms`

        def wait(state: RetryCallState) -> float:
            nonlocal failures, limited, limited_ms
            error = state.outcome.exception() if state.outcome is not None else None
            assert error is not None
            if isinstance(error, RateLimitedError):
                limited += 1
                delay = max(0.0, min(self.wait_ms(error, limited, rand()),
                                     self.max_ms - limited_ms))
                limited_ms += delay
            else:
                failures += 1
                delay = self.wait_ms(error, failures, rand())
            if on_retry is not None:
                on_retry(error, state.attempt_number, delay)
            return delay / 1000.0

        def stop(state: RetryCallState) -> bool:
            error = state.outcome.exception() if state.outcome is not None else None
            if isinstance(error, RateLimitedError):
                return limited > self.rate_limit_tries or limited_ms >= self.max_ms
            return failures >= self.tries

        retrying = AsyncRetrying(
            stop=stop,
            retry=retry_if_exception(self.retryable),
            wait=wait,
            sleep=sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await fn()
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover
