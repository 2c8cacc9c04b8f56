"""Binance's rate limits: request weight per minute and order counts, told in headers.

Every answer carries ``X-MBX-USED-WEIGHT-1M`` (the weight used in the last minute,
this request included). Order-placing answers also carry the order counts:
``X-MBX-ORDER-COUNT-10S`` and ``-1M`` on USD-M, ``-10S`` and ``-1D`` on spot. Past the
weight budget the answer is HTTP 429 with -1003 and ``Retry-After`` (seconds); past an
order budget, HTTP 429 with -1015 and ``Retry-After``. A request refused for its weight
still counts (Binance counts what it is sent). The 418 IP ban for repeated abuse is not
simulated.

Binance counts weight per IP and orders per account; the sim counts both per account for
keyed requests (two simulated accounts on one loopback address must not share a budget)
and per peer address for public ones. Budgets (the defaults are Binance's published
figures: USD-M 2400 weight/min, 300 orders/10 s, 1200 orders/min; spot 6000 weight/min,
100 orders/10 s, 200 000 orders/day) are overridden by name through the front-end's
``rate_limits`` mapping, e.g. ``{"fapi:weight:1m": 50, "api:orders:10s": 2}``. Spot's
unfilled-order count is counted as placed orders: the decrement when orders fill is not
simulated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from aiohttp import web

from console.domain.enums import Category
from console.sim.binance.codes import TOO_MANY_ORDERS, TOO_MANY_REQUESTS, BinanceError
from console.sim.protocol.limits import RateLimiter
from console.sim.protocol.pipeline import Call, Endpoint, Next
from console.sim.protocol.wire import Params

MINUTE_MS: Final = 60_000
TEN_S_MS: Final = 10_000
DAY_MS: Final = 86_400_000

FAPI_WEIGHT: Final = "fapi:weight:1m"
API_WEIGHT: Final = "api:weight:1m"
FAPI_ORDERS_10S: Final = "fapi:orders:10s"
FAPI_ORDERS_1M: Final = "fapi:orders:1m"
API_ORDERS_10S: Final = "api:orders:10s"
API_ORDERS_1D: Final = "api:orders:1d"

WEIGHT_DEFAULTS: Final[Mapping[str, int]] = MappingProxyType({FAPI_WEIGHT: 2400,
                                                              API_WEIGHT: 6000})
ORDER_DEFAULTS: Final[Mapping[str, int]] = MappingProxyType({
    FAPI_ORDERS_10S: 300, FAPI_ORDERS_1M: 1200, API_ORDERS_10S: 100, API_ORDERS_1D: 200_000})

WEIGHT_BUCKET: Final = {Category.LINEAR: FAPI_WEIGHT, Category.SPOT: API_WEIGHT}
# (bucket, window, header suffix, Binance's interval words for -1015)
ORDER_WINDOWS: Final = {
    Category.LINEAR: ((FAPI_ORDERS_10S, TEN_S_MS, "10S", "10 SECOND"),
                      (FAPI_ORDERS_1M, MINUTE_MS, "1M", "1 MINUTE")),
    Category.SPOT: ((API_ORDERS_10S, TEN_S_MS, "10S", "10 SECOND"),
                    (API_ORDERS_1D, DAY_MS, "1D", "1 DAY")),
}

Weight = int | Callable[[Params], int]


def weight_of(weight: Weight, params: Params) -> int:
    return weight(params) if callable(weight) else weight


def symbol_weight(with_symbol: int, without: int) -> Callable[[Params], int]:
    """The weight of a listing that is cheap for one symbol and dear for all."""
    def weight(params: Params) -> int:
        return with_symbol if params.get("symbol") else without
    return weight


@dataclass(frozen=True, slots=True)
class OrderCost:
    """What a placing request adds to the order counts: (first window, second window)."""

    short: int
    long: int


class Limiters:
    """The weight limiter (one-minute window: the front-end's `limiter`) and the order
    limiters (10 s, 1 min, 1 day), with their budgets and overrides."""

    def __init__(self, rate_limits: RateLimiter | Mapping[str, int] | None) -> None:
        overrides: Mapping[str, int] = {} if isinstance(rate_limits, RateLimiter) \
            else (rate_limits or {})
        weight_defaults = {**WEIGHT_DEFAULTS, **{k: v for k, v in overrides.items()
                                                 if k in WEIGHT_DEFAULTS}}
        self.weight = rate_limits if isinstance(rate_limits, RateLimiter) else RateLimiter(
            defaults=weight_defaults, window_ms=MINUTE_MS, default=WEIGHT_DEFAULTS[FAPI_WEIGHT])
        self.orders: dict[int, RateLimiter] = {}
        for window in (TEN_S_MS, MINUTE_MS, DAY_MS):
            budgets = {bucket: overrides.get(bucket, ORDER_DEFAULTS[bucket])
                       for windows in ORDER_WINDOWS.values()
                       for bucket, ms, _suffix, _words in windows if ms == window}
            self.orders[window] = RateLimiter(defaults=budgets, window_ms=window)
        unknown = set(overrides) - set(WEIGHT_DEFAULTS) - set(ORDER_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown Binance rate-limit buckets: {sorted(unknown)}")

    def reset(self) -> None:
        self.weight.reset()
        for limiter in self.orders.values():
            limiter.reset()


def _caller(call: Call) -> str:
    return call.account or f"ip:{call.request.remote}"


def _retry_after(reset_ms: int, now_ms: int) -> dict[str, str]:
    return {"Retry-After": str(max(1, -(-(reset_ms - now_ms) // 1000)))}


class WeightLimit:
    """Charges the request weight on every endpoint (public ones too) and tells it."""

    name = "rate_limit"

    def __init__(self, limiters: Limiters, market: Category,
                 weights: Mapping[tuple[str, str], Weight]) -> None:
        self.limiter = limiters.weight
        self.bucket = WEIGHT_BUCKET[market]
        self.weights = weights

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return True

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        endpoint = call.endpoint
        units = 1 if call.deferred is not None else weight_of(
            self.weights.get((endpoint.method, endpoint.path), 1), call.params)
        uid = _caller(call)
        if units <= 0:
            used = self.limiter.used(uid, self.bucket, call.now_ms)
            call.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
        else:
            quota = self.limiter.take(uid, self.bucket, call.now_ms, units)
            call.headers["X-MBX-USED-WEIGHT-1M"] = str(quota.limit - quota.remaining)
            if quota.granted < units:
                raise BinanceError(
                    TOO_MANY_REQUESTS,
                    f"Too many requests; current limit is {quota.limit} request weight per "
                    "1 MINUTE. Please use the websocket for live updates to avoid polling "
                    "the API.", headers=_retry_after(quota.reset_ms, call.now_ms))
        if call.deferred is not None:
            raise call.deferred
        return await next_(call)


class OrderLimit:
    """Counts placed orders for the endpoints in `costs`; -1015 past a budget."""

    name = "order_limit"

    def __init__(self, limiters: Limiters, market: Category,
                 costs: Mapping[tuple[str, str], OrderCost]) -> None:
        self.limiters = limiters
        self.windows = ORDER_WINDOWS[market]
        self.costs = costs

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return (endpoint.method, endpoint.path) in self.costs

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        endpoint = call.endpoint
        cost = self.costs[(endpoint.method, endpoint.path)]
        uid = _caller(call)
        refusal: BinanceError | None = None
        for (bucket, window, suffix, words), units in zip(self.windows,
                                                           (cost.short, cost.long),
                                                           strict=True):
            limiter = self.limiters.orders[window]
            if units <= 0:
                count = limiter.used(uid, bucket, call.now_ms)
            else:
                quota = limiter.take(uid, bucket, call.now_ms, units)
                count = quota.limit - quota.remaining
                if quota.granted < units and refusal is None:
                    refusal = BinanceError(
                        TOO_MANY_ORDERS, f"Too many new orders; current limit is "
                                         f"{quota.limit} orders per {words}.",
                        headers=_retry_after(quota.reset_ms, call.now_ms))
            call.headers[f"X-MBX-ORDER-COUNT-{suffix}"] = str(count)
        if refusal is not None:
            raise refusal
        return await next_(call)
