"""Bybit's rate limits: the budgets and how a quota is told; the rolling-window counting
is shared (`console.sim.protocol.limits`).

Bybit counts requests per UID and endpoint in a rolling one-second window and answers
every private request with X-Bapi-Limit (the budget), X-Bapi-Limit-Status (what is left)
and X-Bapi-Limit-Reset-Timestamp (when the budget is back if it ran out, else "now").
Past the budget the answer is retCode 10006 "Too many visits!" with HTTP 200. Batch
endpoints consume one unit per order in the batch; a batch that only partly fits is
served for the part that fits and the rest fails item by item (Bybit's rule).

Defaults are Bybit's UTA 2.0 Pro figures for linear: 10/s for each order-entry endpoint,
50/s for the queries (and any endpoint not listed). The batch endpoints keep one budget
per business line, independent of each other (Bybit's rate-limit page, "Instructions for
batch endpoints"): derivatives (linear and inverse) count against the path's own bucket,
10/s; spot against "<path>#spot", 20/s; options against "<path>#option", 10/s
(`line_bucket`). Budgets change at runtime with `RateLimiter.set_limit`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Final

from console.sim.bybit.codes import TOO_MANY_VISITS, BybitError
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.limits import Quota
from console.sim.protocol.wire import Params

BATCH_PATHS: Final = ("/v5/order/create-batch", "/v5/order/amend-batch",
                      "/v5/order/cancel-batch")
BUSINESS_LINES: Final[Mapping[str, str]] = MappingProxyType({
    "linear": "", "inverse": "", "spot": "spot", "option": "option"})
"""A request's `category` -> its business line's bucket suffix ("": the path's own bucket,
shared by linear and inverse, the derivatives line)."""


def line_bucket(path: str, category: str) -> str:
    """The budget a request of `category` (Bybit's name; anything unknown counts as
    derivatives, and is refused by the handler) counts against on `path`."""
    line = BUSINESS_LINES.get(category, "")
    return f"{path}#{line}" if line else path


def bucket_by_line(path: str) -> Callable[[Params], str]:
    """The endpoint's `bucket_of`: the request's business line's budget."""
    def bucket(params: Params) -> str:
        category = params.get("category")
        return line_bucket(path, category) if isinstance(category, str) else path
    return bucket


DEFAULT_LIMITS: Final[Mapping[str, int]] = MappingProxyType({
    "/v5/order/create": 10,
    "/v5/order/amend": 10,
    "/v5/order/cancel": 10,
    "/v5/order/cancel-all": 10,
    **{line_bucket(path, line): limit for path in BATCH_PATHS
       for line, limit in (("linear", 10), ("spot", 20), ("option", 10))},
    "/v5/order/realtime": 50,
    "/v5/order/history": 50,
    "/v5/execution/list": 50,
    "/v5/position/list": 50,
    "/v5/account/wallet-balance": 50,
})


def quota_headers(quota: Quota) -> dict[str, str]:
    return {"X-Bapi-Limit": str(quota.limit),
            "X-Bapi-Limit-Status": str(quota.remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(quota.reset_ms)}


class BybitLimitHook:
    """The pipeline's rate-limit hook."""

    def headers(self, quota: Quota) -> Mapping[str, str]:
        return quota_headers(quota)

    def refusal(self, quota: Quota) -> ProtocolError:
        return BybitError(TOO_MANY_VISITS)
