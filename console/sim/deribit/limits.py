"""Deribit's credit-based rate limit: a pool of credits per account that refills.

Every request costs credits; the pool refills at a steady rate up to its size. A request
that finds too few credits is refused with 10028 too_many_requests, and on a WebSocket
Deribit then terminates the session (`ws` closes it after the answer). Deribit tells no
quota in headers. The figures (500 credits a request, a pool of 50 000, refilled 10 000
a second) are the ones NautilusTrader quotes, UNVERIFIED against Deribit's tiers; they
are overridden by name through the front-end's ``rate_limits``:
``{"pool": 2000, "refill_per_s": 100, "cost": 500}``.

Accounts are counted by account (keyed requests) and public HTTP requests by peer
address. `CreditPool` is a `RateLimiter` (the front-end's `limiter`), so the shared
pipeline's rate-limit stage charges it: ``units`` are credits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from console.sim.deribit.codes import TOO_MANY_REQUESTS, DeribitError
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.limits import Quota, RateLimiter

BUCKET: Final = "credits"
DEFAULTS: Final[Mapping[str, int]] = MappingProxyType({"pool": 50_000,
                                                       "refill_per_s": 10_000,
                                                       "cost": 500})


@dataclass(slots=True)
class _Level:
    credits: int
    at_ms: int


class CreditPool(RateLimiter):
    """A refilling pool per caller. `take` grants all the units asked for or none."""

    def __init__(self, rate_limits: Mapping[str, int] | None = None) -> None:
        overrides = dict(rate_limits or {})
        unknown = set(overrides) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown Deribit rate-limit settings: {sorted(unknown)}")
        figures = {**DEFAULTS, **overrides}
        if min(figures.values()) < 1:
            raise ValueError("Deribit rate-limit figures must be >= 1")
        super().__init__(defaults={BUCKET: figures["pool"]})
        self.pool = figures["pool"]
        self.refill_per_s = figures["refill_per_s"]
        self.cost = figures["cost"]
        self._levels: dict[str, _Level] = {}

    def _level(self, uid: str, now_ms: int) -> _Level:
        level = self._levels.get(uid)
        if level is None:
            level = self._levels[uid] = _Level(self.pool, now_ms)
        elapsed = max(0, now_ms - level.at_ms)
        refill = elapsed * self.refill_per_s // 1000
        if refill:
            level.credits = min(self.pool, level.credits + refill)
            level.at_ms = now_ms
        elif level.credits >= self.pool:
            level.at_ms = now_ms
        return level

    def reset(self) -> None:
        self._levels.clear()

    def used(self, uid: str, bucket: str, now_ms: int) -> int:
        return self.pool - self._level(uid, now_ms).credits

    def take(self, uid: str, bucket: str, now_ms: int, units: int = 1) -> Quota:
        level = self._level(uid, now_ms)
        granted = units if level.credits >= units else 0
        level.credits -= granted
        short = max(0, units - level.credits) if not granted else 0
        wait_ms = -(-short * 1000 // self.refill_per_s)
        return self.counted(bucket, Quota(limit=self.pool, remaining=level.credits,
                                          reset_ms=now_ms + wait_ms, granted=granted))


def as_pool(rate_limits: RateLimiter | Mapping[str, int] | None) -> CreditPool:
    if isinstance(rate_limits, CreditPool):
        return rate_limits
    if isinstance(rate_limits, RateLimiter):
        raise ValueError("the Deribit front-end counts credits: give a CreditPool or "
                         "its figures")
    return CreditPool(rate_limits)


def refusal() -> DeribitError:
    return DeribitError(TOO_MANY_REQUESTS)


class CreditHook:
    """The pipeline's rate-limit hook: no quota headers, 10028 when the pool is dry."""

    def headers(self, quota: Quota) -> Mapping[str, str]:
        return {}

    def refusal(self, quota: Quota) -> ProtocolError:
        return refusal()
