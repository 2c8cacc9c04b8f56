"""Per-UID, per-endpoint rate limits over a rolling window, as Bybit applies them.

Bybit counts requests per UID and endpoint in a rolling one-second window and answers
every private request with X-Bapi-Limit (the budget), X-Bapi-Limit-Status (what is left)
and X-Bapi-Limit-Reset-Timestamp (when the budget is back if it ran out, else "now").
Past the budget the answer is retCode 10006 "Too many visits!" with HTTP 200. Batch
endpoints consume one unit per order in the batch; a batch that only partly fits is
served for the part that fits and the rest fails item by item (Bybit's rule).

Defaults are Bybit's UTA 2.0 Pro figures for linear: 10/s for each order-entry endpoint,
50/s for the queries. Budgets change at runtime with `set_limit`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

DEFAULT_LIMITS: Final[Mapping[str, int]] = MappingProxyType({
    "/v5/order/create": 10,
    "/v5/order/amend": 10,
    "/v5/order/cancel": 10,
    "/v5/order/cancel-all": 10,
    "/v5/order/create-batch": 10,
    "/v5/order/amend-batch": 10,
    "/v5/order/cancel-batch": 10,
    "/v5/order/realtime": 50,
    "/v5/order/history": 50,
    "/v5/execution/list": 50,
    "/v5/position/list": 50,
    "/v5/account/wallet-balance": 50,
})
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

    def headers(self) -> dict[str, str]:
        return {"X-Bapi-Limit": str(self.limit),
                "X-Bapi-Limit-Status": str(self.remaining),
                "X-Bapi-Limit-Reset-Timestamp": str(self.reset_ms)}


class RateLimiter:
    """Rolling-window budgets keyed by (uid, endpoint path). Runs on the server's loop."""

    def __init__(self, limits: Mapping[str, int] | None = None, *,
                 window_ms: int = WINDOW_MS, default: int = DEFAULT_BUDGET) -> None:
        if window_ms < 1 or default < 1:
            raise ValueError("rate limit window and default budget must be >= 1")
        self.window_ms = window_ms
        self.default = default
        self._limits: dict[str, int] = dict(DEFAULT_LIMITS)
        for path, limit in (limits or {}).items():
            self.set_limit(path, limit)
        self._used: dict[tuple[str, str], deque[int]] = {}

    def set_limit(self, path: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"rate limit for {path} must be >= 1, got {limit}")
        self._limits[path] = limit

    def limit(self, path: str) -> int:
        return self._limits.get(path, self.default)

    def reset(self) -> None:
        self._used.clear()

    def take(self, uid: str, path: str, now_ms: int, units: int = 1) -> Quota:
        """Consume up to `units` of the budget; `granted` says how many were available."""
        limit = self.limit(path)
        used = self._used.setdefault((uid, path), deque())
        horizon = now_ms - self.window_ms
        while used and used[0] <= horizon:
            used.popleft()
        granted = max(0, min(units, limit - len(used)))
        used.extend([now_ms] * granted)
        remaining = max(0, limit - len(used))
        reset = now_ms if granted else used[0] + self.window_ms
        return Quota(limit=limit, remaining=remaining, reset_ms=reset, granted=granted)
