"""Rolling-window request budgets per caller and bucket, the way venues count them.

Venues count requests (or weights) per account and endpoint over a rolling window and
refuse past the budget; they differ in the window, in what a request costs and in how the
outcome is told (Bybit: its limit headers and a rate-limit code; Binance: weight
headers and HTTP 429). The counting is here; the telling is the venue's rate-limit hook
(`console.sim.protocol.pipeline.RateLimitHook`), the budgets its defaults table.

A request that costs several units (a batch: one per order) is granted what is left of
the budget; `Quota.granted` says how much, so the venue can serve the part that fits.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

DEFAULT_BUDGET: Final = 50
WINDOW_MS: Final = 1000


@dataclass(frozen=True, slots=True)
class Quota:
    """The outcome of one request against its budget."""

    limit: int
    remaining: int
    reset_ms: int
    granted: int

    @property
    def exceeded(self) -> bool:
        return self.granted == 0


class RateLimiter:
    """Rolling-window budgets keyed by (uid, bucket); a bucket is usually an endpoint path.
    `defaults` are the venue's budgets, `limits` override them. Runs on the server's loop."""

    def __init__(self, limits: Mapping[str, int] | None = None, *,
                 defaults: Mapping[str, int] | None = None,
                 window_ms: int = WINDOW_MS, default: int = DEFAULT_BUDGET) -> None:
        if window_ms < 1 or default < 1:
            raise ValueError("rate limit window and default budget must be >= 1")
        self.window_ms = window_ms
        self.default = default
        self._limits: dict[str, int] = {}
        for table in (defaults or {}, limits or {}):
            for bucket, limit in table.items():
                self.set_limit(bucket, limit)
        self._used: dict[tuple[str, str], deque[int]] = {}
        self.granted: Counter[str] = Counter()
        """Requests granted per bucket since the start (or `start_afresh`)."""
        self.refused: Counter[str] = Counter()
        """Requests refused per bucket: what a bench or a test asks the sim, which is the
        side that knows for sure that a client bounced off a limit."""

    def set_limit(self, bucket: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"rate limit for {bucket} must be >= 1, got {limit}")
        self._limits[bucket] = limit

    def limit(self, bucket: str) -> int:
        return self._limits.get(bucket, self.default)

    def reset(self) -> None:
        self._used.clear()

    def start_afresh(self) -> None:
        """Full budgets and no requests counted (a bench's next run)."""
        self.reset()
        self.granted.clear()
        self.refused.clear()

    def counted(self, bucket: str, quota: Quota) -> Quota:
        """Count `quota` as granted or refused for `bucket`; returns it."""
        (self.refused if quota.exceeded else self.granted)[bucket] += 1
        return quota

    def used(self, uid: str, bucket: str, now_ms: int) -> int:
        """Units spent in the window ending at `now_ms`, taking none (venues that tell the
        used weight on answers that cost nothing)."""
        used = self._used.get((uid, bucket))
        if used is None:
            return 0
        horizon = now_ms - self.window_ms
        while used and used[0] <= horizon:
            used.popleft()
        return len(used)

    def take(self, uid: str, bucket: str, now_ms: int, units: int = 1) -> Quota:
        """Consume up to `units` of the budget; `granted` says how many were available."""
        limit = self.limit(bucket)
        used = self._used.setdefault((uid, bucket), deque())
        horizon = now_ms - self.window_ms
        while used and used[0] <= horizon:
            used.popleft()
        granted = max(0, min(units, limit - len(used)))
        used.extend([now_ms] * granted)
        remaining = max(0, limit - len(used))
        reset = now_ms if granted else used[0] + self.window_ms
        return self.counted(bucket, Quota(limit=limit, remaining=remaining, reset_ms=reset,
                                          granted=granted))


def as_limiter(rate_limits: RateLimiter | Mapping[str, int] | None, *,
               defaults: Mapping[str, int]) -> RateLimiter:
    """A limiter as given, or the venue's `defaults` with `rate_limits` overriding them."""
    if isinstance(rate_limits, RateLimiter):
        return rate_limits
    return RateLimiter(rate_limits, defaults=defaults)
