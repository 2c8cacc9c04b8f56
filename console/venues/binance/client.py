"""`BinanceVenue`: one Binance account, one market (spot or USD-M futures), behind the
engine's async `VenuePort`, over ccxt's raw endpoint methods.

The venue-neutral machinery is shared (`console.venues._common`: the priority lane,
retry, rate budget, error context, the auth gate, paging); what is here is Binance's and
ccxt's:
* Raw endpoint methods only (`fapiPrivateGetOpenOrders`, `privatePostOrder`, ...): no
  unified method, no `load_markets` (a markets download per connection, and ccxt's own
  interpretation of every answer). ccxt signs, encodes and sends; everything else is
  ours.
* ccxt's `urls['api']` is replaced by the market's bases derived from
  `config.rest_url` (`<origin>/fapi/v1`, `/fapi/v2`, `/fapi/v3` or `<origin>/api/v3`)
  and nothing else: a call to any other API cannot reach a host we were not given.
* Every answer is captured in `handle_errors`, which ccxt calls exactly once per
  response with its status, headers and body: the subclass raises them to us
  (`_Answered`) before ccxt interprets anything. Per request, so concurrent calls never
  mix their headers (`last_response_headers` would race). The body is decoded here
  (`errors.decode_body`) and classified by its `code` (`errors.error_for_answer`: ccxt
  skips its futures mapping on a custom URL, and its classes say nothing of outcomes).
* `enableRateLimit` is off and ccxt's retries are off: pacing is `BudgetKeeper`'s, from
  Binance's X-MBX-USED-WEIGHT-1M and X-MBX-ORDER-COUNT-* headers (a call on a spent
  budget waits for its reset first; priority-lane calls skip that wait); retrying is
  `RetryPolicy`'s. 429/418 wait `Retry-After` and mark the weight budget spent for every
  caller, so nothing hammers a venue that said stop.
* ccxt never adds its broker client id (`handle_client_order_id` is a no-op and we always
  send our own), never adjusts time behind our back (`nonce` is ours: local time plus
  the offset measured from /time, applied from 500 ms on) and never logs (its DEBUG lines
  carry the API-key header: the "ccxt" logger is held at WARNING).
* Two ccxt instances (two aiohttp sessions): the normal lane and the priority lane
  (emergency stop), picked by `_common.lane`.

Outcomes (docs/architecture.md, "The venue port"): HTTP 5xx and -1000/-1001/-1006/
-1007/-1008 on a write are unknown outcomes. A create is then resolved by asking for its
client id (the regular order, then the algo service for a conditional order) before
anything is concluded: found, it is the answer; not found, the unknown outcome is raised
(the order manager keeps it pending, nothing is sent again). A cancel answered -2011 is
checked the same way: an order that filled meanwhile is reported FILLED (a
`FatalVenueError` saying so), never taken for cancelled.

USD-M specifics: conditional orders go to the Algo Service (`parsing` explains the
domain view); Hedge Mode (positionSideDual) is detected (GET positionSide/dual, every
`MODE_CHECK_S`) and refused for orders and amends (`HedgeModeError`), while positions are
read per side; Multi-Assets mode is allowed and reported (`multi_assets`). The
dead-man's switch is countdownCancelAll per traded symbol. Spot has neither conditional
orders nor a dead-man's switch. Its cancelReplace gives the order a new orderId: not an
in-place amend (`capabilities.amend` is off for spot) but the port's atomic replace
(`replace_order`, `capabilities.atomic_replace`): the replacement under its own client
id, cancelRestrictions ONLY_NEW, STOP_ON_FAILURE, both halves of the answer (HTTP 200,
400 with -2022, 409 with -2021) read. Spot `amend_order` remains the same request under
the order's own client id, for callers of the port that ask for it directly.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Final

import aiohttp
import ccxt
import ccxt.async_support as ccxt_async

from console.domain.capabilities import (
    MAX_ERROR_CHARS,
    DeadManState,
    RateBudget,
    VenueCapabilities,
)
from console.domain.enums import Category, OrderStatus
from console.domain.events import BalanceEvent, FillEvent, PositionEvent, VenueEvent
from console.domain.model import Balance, Fill, Order, Position, keep_ownership
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.errors import (
    CapabilityUnsupported,
    FatalVenueError,
    MalformedVenueDataError,
    OrderNotFoundError,
    ReplaceCancelRefusedError,
    ReplacementRefusedError,
    UnknownOutcomeError,
    VenueError,
)
from console.venues._common.auth_gate import AuthGate
from console.venues._common.budget import BudgetKeeper
from console.venues._common.clock import wall_clock_ms
from console.venues._common.connector import ConnectorBase
from console.venues._common.errors import header_int, profile_label
from console.venues._common.lane import Lanes
from console.venues._common.paging import MAX_PAGES, cursor_pages, time_windows
from console.venues._common.retry import RetryPolicy
from console.venues._common.supervisor import AuthRefused, ConnectRefused
from console.venues.binance import parsing as p
from console.venues.binance.config import BinanceConfig
from console.venues.binance.errors import (
    CANCEL_REJECTED,
    ORDER_COUNT_HEADER,
    VENUE,
    WEIGHT_HEADER,
    ClockSkewError,
    ErrorContext,
    HedgeModeError,
    InvalidListenKeyError,
    VenueAuthError,
    body_code,
    decode_body,
    error_class,
    error_for_answer,
    error_for_exception,
    malformed,
    refuses_credentials,
)
from console.venues.binance.stream import BinancePrivateStream

log = logging.getLogger(__name__)
logging.getLogger("ccxt").setLevel(logging.WARNING)

CLOCK_COMPENSATE_MS: Final = 500
BALANCE_REFRESH_DELAY_S: Final = 0.25
"""After a fill, how long to wait for the rest of its burst before reading balances."""
BALANCE_REFRESH_GAP_S: Final = 2.0
"""The least time between two balance reads made for the stream (weight 5 each)."""
MODE_CHECK_S: Final = 300.0
"""How long a Hedge-Mode / Multi-Assets reading is trusted before it is asked again."""
FUTURES_FILLS_WINDOW_MS: Final = 7 * 86_400_000
SPOT_FILLS_WINDOW_MS: Final = 86_400_000
WEIGHT_BUDGET: Final = "weight-1m"
HEDGE_MODE_TEXT: Final = ("Binance Futures is in Hedge Mode; switch Position Mode to One-way "
                          "(Preferences > Position Mode) to trade with Recon Console")
POSITION_SIDE_MISMATCH: Final = "-4061"
"""USD-M: "Order's position side does not match user's setting" (the mode changed)."""
NOTHING_TO_MODIFY: Final = "-5027"
CLIENT_IDS_KEPT: Final = 20_000
CLIENT_ID_LOOKUPS: Final = 100
"""Orders asked for their client id per fill listing, newest fills first (see
`BinanceVenue._with_client_ids`)."""
CLIENT_ID_PARALLEL: Final = 8
FILL_SYMBOLS_PARALLEL: Final = 6
"""Symbols whose trades are read at the same time (within the weight budget)."""
"""orderId -> client id pairs remembered for fills (oldest forgotten first)."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    """The ccxt raw method that calls it."""
    path: str
    write: bool = False
    orders: bool = False
    """Counts against the ORDERS limits (X-MBX-ORDER-COUNT-*)."""
    signed: bool = True


# USD-M futures
F_TIME: Final = Endpoint("fapiPublicGetTime", "/fapi/v1/time", signed=False)
F_OPEN: Final = Endpoint("fapiPrivateGetOpenOrders", "/fapi/v1/openOrders")
F_ORDER: Final = Endpoint("fapiPrivateGetOrder", "/fapi/v1/order")
F_CREATE: Final = Endpoint("fapiPrivatePostOrder", "/fapi/v1/order", write=True, orders=True)
F_MODIFY: Final = Endpoint("fapiPrivatePutOrder", "/fapi/v1/order", write=True, orders=True)
F_CANCEL: Final = Endpoint("fapiPrivateDeleteOrder", "/fapi/v1/order", write=True)
F_CANCEL_ALL: Final = Endpoint("fapiPrivateDeleteAllOpenOrders", "/fapi/v1/allOpenOrders",
                               write=True)
F_ALGO: Final = Endpoint("fapiPrivateGetAlgoOrder", "/fapi/v1/algoOrder")
F_ALGO_CREATE: Final = Endpoint("fapiPrivatePostAlgoOrder", "/fapi/v1/algoOrder", write=True,
                                orders=True)
F_ALGO_CANCEL: Final = Endpoint("fapiPrivateDeleteAlgoOrder", "/fapi/v1/algoOrder", write=True)
F_ALGO_OPEN: Final = Endpoint("fapiPrivateGetOpenAlgoOrders", "/fapi/v1/openAlgoOrders")
F_ALGO_CANCEL_ALL: Final = Endpoint("fapiPrivateDeleteAlgoOpenOrders",
                                    "/fapi/v1/algoOpenOrders", write=True)
F_TRADES: Final = Endpoint("fapiPrivateGetUserTrades", "/fapi/v1/userTrades")
F_POSITIONS: Final = Endpoint("fapiPrivateV3GetPositionRisk", "/fapi/v3/positionRisk")
F_ACCOUNT: Final = Endpoint("fapiPrivateV3GetAccount", "/fapi/v3/account")
F_DUAL: Final = Endpoint("fapiPrivateGetPositionSideDual", "/fapi/v1/positionSide/dual")
F_MULTI: Final = Endpoint("fapiPrivateGetMultiAssetsMargin", "/fapi/v1/multiAssetsMargin")
F_COUNTDOWN: Final = Endpoint("fapiPrivatePostCountdownCancelAll",
                              "/fapi/v1/countdownCancelAll", write=True)
F_KEY_NEW: Final = Endpoint("fapiPrivatePostListenKey", "/fapi/v1/listenKey")
F_KEY_KEEP: Final = Endpoint("fapiPrivatePutListenKey", "/fapi/v1/listenKey")
F_KEY_CLOSE: Final = Endpoint("fapiPrivateDeleteListenKey", "/fapi/v1/listenKey")
# spot
S_TIME: Final = Endpoint("publicGetTime", "/api/v3/time", signed=False)
S_OPEN: Final = Endpoint("privateGetOpenOrders", "/api/v3/openOrders")
S_ORDER: Final = Endpoint("privateGetOrder", "/api/v3/order")
S_CREATE: Final = Endpoint("privatePostOrder", "/api/v3/order", write=True, orders=True)
S_CANCEL: Final = Endpoint("privateDeleteOrder", "/api/v3/order", write=True)
S_CANCEL_ALL: Final = Endpoint("privateDeleteOpenOrders", "/api/v3/openOrders", write=True)
S_REPLACE: Final = Endpoint("privatePostOrderCancelReplace", "/api/v3/order/cancelReplace",
                            write=True, orders=True)
S_TRADES: Final = Endpoint("privateGetMyTrades", "/api/v3/myTrades")
S_ACCOUNT: Final = Endpoint("privateGetAccount", "/api/v3/account")

FUTURES_CAPABILITIES: Final = VenueCapabilities(
    amend=True, bulk_cancel_ids=False, priority_lane=True, rate_budget=True,
    dead_man_switch=True, hedge_mode=True)
"""USD-M: PUT /fapi/v1/order amends in place; allOpenOrders answers without ids (no
`cancel_all_ids`); positions are read per side in Hedge Mode."""
SPOT_CAPABILITIES: Final = VenueCapabilities(
    amend=False, bulk_cancel_ids=True, priority_lane=True, rate_budget=True,
    atomic_replace=True)
"""Spot: DELETE openOrders answers with the cancelled orders (their ids); cancelReplace
is a new order, not an in-place amend, so it is the atomic replace; no countdown
cancel."""


class _Answered(Exception):
    """An HTTP answer, raised out of ccxt before it interprets it."""

    def __init__(self, status: int, headers: Mapping[str, Any], body: str) -> None:
        super().__init__(status)
        self.status = status
        self.headers = headers
        self.body = body


class _Capture:
    """The overrides both ccxt classes get (see the module docstring)."""

    now_ms: Callable[[], int] = staticmethod(wall_clock_ms)

    def handle_errors(self, code: int, reason: str, url: str,  # noqa: PLR0917 - ccxt's
                      method: str, headers: Any, body: str, response: Any,
                      request_headers: Any, request_body: Any) -> None:
        raise _Answered(int(code), dict(headers or {}), body or "")

    def handle_client_order_id(self, params: Any, api: Any, path: Any, method: Any) -> Any:
        return params  # never ccxt's broker id: we always send our own client id

    def nonce(self) -> int:
        return self.now_ms()

    def __repr__(self) -> str:
        return f"<ccxt {type(self).__name__} session>"


class _FuturesExchange(_Capture, ccxt_async.binanceusdm):  # type: ignore[misc]
    pass


class _SpotExchange(_Capture, ccxt_async.binance):  # type: ignore[misc]
    pass


def _api_urls(config: BinanceConfig) -> dict[str, str]:
    origin = config.origin
    if config.futures:
        return {
            "fapiPublic": f"{origin}/fapi/v1", "fapiPublicV2": f"{origin}/fapi/v2",
            "fapiPublicV3": f"{origin}/fapi/v3", "fapiPrivate": f"{origin}/fapi/v1",
            "fapiPrivateV2": f"{origin}/fapi/v2", "fapiPrivateV3": f"{origin}/fapi/v3",
            "fapiData": f"{origin}/futures/data"}
    return {"public": f"{origin}/api/v3", "private": f"{origin}/api/v3",
            "v1": f"{origin}/api/v1"}


class _ListenKeys:
    """`stream.ListenKeyCalls` over ccxt (USD-M): POST/PUT/DELETE /fapi/v1/listenKey,
    keyed by the API key (no parameters, as Binance documents them)."""

    def __init__(self, venue: BinanceVenue) -> None:
        self._venue = venue

    async def create(self) -> str:
        payload = await self._venue._request("listen_key", F_KEY_NEW)
        key: str = self._venue._parsed(p.parse_listen_key, payload, F_KEY_NEW)
        return key

    async def keepalive(self, key: str) -> None:
        payload = await self._venue._request("listen_key", F_KEY_KEEP)
        if isinstance(payload, Mapping) and isinstance(payload.get("listenKey"), str) \
                and payload["listenKey"] != key:
            # the account's live key is another one: ours is as good as dead
            raise InvalidListenKeyError(f"{VENUE}: the account's listenKey was replaced",
                                        venue=VENUE, code="-1125")

    async def close(self, key: str) -> None:
        await self._venue._request("listen_key", F_KEY_CLOSE)


class BinanceVenue(ConnectorBase):
    """One Binance account and market as a `VenuePort` (see the module docstring)."""

    venue: str = VENUE

    def __init__(self, config: BinanceConfig, api_key: str, api_secret: str, *,
                 profile: str = "", telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        if not api_key or not api_secret:
            raise FatalVenueError(f"{VENUE}: the API key and secret of "
                                  f"{profile_label(profile)} are missing", venue=VENUE,
                                  code="no_credentials")
        super().__init__()
        self.config = config
        self.account = config.account
        self.profile = profile
        self._api_key = api_key
        self._api_secret = api_secret
        self._telemetry = telemetry
        self._clock_ms = clock_ms
        self._sleep = sleep
        self._retry = RetryPolicy(config.retry_tries, config.retry_base_ms, config.retry_max_ms)
        self._lanes: Lanes[Any] = Lanes(self._exchange(), self._exchange())
        self._budgets = BudgetKeeper(VENUE, config.account, max_wait_ms=config.retry_max_ms,
                                     local_ms=clock_ms, venue_ms=self._venue_now,
                                     sleep=sleep, telemetry=telemetry)
        self.auth_gate = AuthGate(VENUE, config.account, base_ms=config.auth_retry_base_ms,
                                  max_ms=config.auth_retry_max_ms, clock_ms=clock_ms)
        """Open after Binance refused the key or signature: calls fail fast meanwhile."""
        self._accepted = False
        """An authenticated request was accepted: -2015 no longer refuses the key."""
        self._clock_offset_ms = 0
        self._clock_checked = False
        self._clock_lock: asyncio.Lock | None = None
        self.clock_skew_ms: int | None = None
        """Venue time minus local time, as last measured (None: not measured yet)."""
        self.hedge_mode: bool | None = None
        """USD-M positionSideDual as last read (None: not read yet)."""
        self.multi_assets: bool | None = None
        """USD-M Multi-Assets mode as last read (allowed; shown for diagnostics)."""
        self._mode_read_at: float | None = None
        self._mode_lock: asyncio.Lock | None = None
        self._traded: set[str] = set()
        """Symbols this connector placed orders on (the dead-man's switch covers them)."""
        self._armed: set[str] = set()
        self._dead_man: DeadManState | None = None
        """The last arm/refresh/disarm and a failure since (see `dead_man_state`)."""
        self._client_ids: dict[str, str] = {}
        """orderId -> clientOrderId, learnt from the orders read (see `_with_client_ids`)."""
        self._closed = False

    def __repr__(self) -> str:
        return (f"BinanceVenue(account={self.account!r}, profile={self.profile!r}, "
                f"market={self.config.market.value!r}, rest_url={self.config.rest_url!r})")

    @property
    def capabilities(self) -> VenueCapabilities:  # type: ignore[override]
        """Per market (one connector class serves both): see FUTURES_/SPOT_CAPABILITIES."""
        return FUTURES_CAPABILITIES if self.config.futures else SPOT_CAPABILITIES

    @property
    def categories(self) -> tuple[Category, ...]:
        return (self.config.market,)

    # -- plumbing --------------------------------------------------------------------------

    def _exchange(self) -> Any:
        cls = _FuturesExchange if self.config.futures else _SpotExchange
        exchange = cls({
            "apiKey": self._api_key, "secret": self._api_secret, "enableRateLimit": False,
            "timeout": int(self.config.timeout_s * 1000),
            "options": {"adjustForTimeDifference": False, "maxRetriesOnFailure": 0,
                        "recvWindow": self.config.recv_window_ms, "broker": {}},
        })
        exchange.urls["api"] = _api_urls(self.config)
        exchange.now_ms = self._venue_now
        return exchange

    def _context(self, endpoint: Endpoint) -> ErrorContext:
        return ErrorContext(endpoint=endpoint.path, write=endpoint.write, venue=VENUE,
                            profile=self.profile, now_ms=self._clock_ms(),
                            clock_offset_ms=self._clock_offset_ms,
                            secrets=(self._api_secret, self._api_key))

    def _venue_now(self) -> int:
        return self._clock_ms() + self._clock_offset_ms

    def _parsed(self, parse: Callable[..., Any], payload: Any, endpoint: Endpoint,
                **kwargs: Any) -> Any:
        """`parse(payload, **kwargs)`; a malformed answer is counted and, for a write,
        an unknown outcome (the venue may well have acted)."""
        try:
            return parse(payload, **kwargs)
        except MalformedVenueDataError as exc:
            self._telemetry.count("rest_errors", (("class", "malformed"),))
            raise malformed(str(exc).removeprefix(f"{VENUE}: "),
                            self._context(endpoint)) from None

    @contextmanager
    def _parsing(self) -> Iterator[None]:
        try:
            yield
        except MalformedVenueDataError:
            self._telemetry.count("rest_errors", (("class", "malformed"),))
            raise

    async def _send(self, endpoint: Endpoint, params: Mapping[str, Any]) -> _Answered:
        exchange = self._lanes.current()
        try:
            await getattr(exchange, endpoint.method)(dict(params))
        except _Answered as answer:
            return answer
        except (ccxt.BaseError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise error_for_exception(exc, self._context(endpoint)) from exc
        raise malformed("ccxt returned without an answer", self._context(endpoint))

    async def _request(self, method: str, endpoint: Endpoint,
                       params: Mapping[str, Any] | None = None, *,
                       accept: Callable[[int, Any], bool] | None = None) -> Any:
        """One logical call (with our retries): the decoded body. `accept(status,
        payload)` may take a non-success answer as the payload (cancelReplace's partial
        answers) instead of an error."""
        if self._closed:
            raise FatalVenueError(f"{VENUE}: venue {self.account!r} is closed", venue=VENUE,
                                  code="closed")
        urgent = self.urgent()
        if endpoint.signed:
            if not urgent:
                self._gate(method)
            await self._ensure_clock()
        query = dict(params or {})

        async def attempt() -> Any:
            if not urgent:
                await self._respect(endpoint)
            self.count_call(method, urgent=urgent)
            started = time.perf_counter()
            try:
                answer = await self._send(endpoint, query)
            except VenueError as lost:
                self._failed(lost)
                raise
            self._telemetry.observe_latency("rest", (time.perf_counter() - started) * 1000,
                                            (("endpoint", endpoint.path),))
            self._note(answer)
            try:
                payload = decode_body(answer.body)
            except (ValueError, RecursionError) as exc:
                if answer.status < 400 or answer.status in (409,):
                    unreadable = malformed(f"the body is not JSON ({exc})"[:200],
                                           self._context(endpoint))
                    self._failed(unreadable)
                    raise unreadable from None
                payload = None  # an HTML error page: the status decides
            if accept is not None and accept(answer.status, payload):
                self._authenticated(endpoint)
                return payload
            failure = error_for_answer(answer.status, answer.headers, payload,
                                       self._context(endpoint), market=self.config.market)
            if failure is not None:
                self._failed(failure, answer)
                raise failure
            self._authenticated(endpoint)
            return payload

        def on_retry(error: BaseException, retry: int, wait_ms: float) -> None:
            log.warning("binance %s: %s failed (%s); retry %d in %.0f ms", self.account,
                        endpoint.path, error, retry, wait_ms)

        return await self._retry.call(attempt, sleep=self._sleep, on_retry=on_retry)

    def _authenticated(self, endpoint: Endpoint) -> None:
        if endpoint.signed:
            self._accepted = True
            self.auth_gate.accepted()

    def _failed(self, error: VenueError, answer: _Answered | None = None) -> None:
        self._telemetry.count("rest_errors", (("class", error_class(error)),))
        if isinstance(error, ClockSkewError):
            self._clock_checked = False  # measure again before the next call
        elif refuses_credentials(error, accepted_before=self._accepted):
            self.auth_gate.refused(str(error), source="REST")
        if answer is not None and answer.status in (418, 429):
            retry_after = header_int(answer.headers, "Retry-After")
            if retry_after is not None:
                # every caller waits, not only the one that was told
                self._budgets.note(WEIGHT_BUDGET, limit=self.config.weight_limit, remaining=0,
                                   reset_at=self._venue_now() + retry_after * 1000)

    def _gate(self, method: str) -> None:
        """Fail fast while the credentials stand refused (see `_common.auth_gate`)."""
        try:
            self.auth_gate.check()
        except VenueAuthError as error:
            self._telemetry.count("rest_errors", (("class", error_class(error)),))
            log.debug("binance %s: %s not sent: %s", self.account, method, error)
            raise

    # -- rate budgets ----------------------------------------------------------------------

    async def _respect(self, endpoint: Endpoint) -> None:
        await self._budgets.respect(WEIGHT_BUDGET)
        if endpoint.orders:
            for interval, _, _ in self.config.order_limits:
                await self._budgets.respect(f"orders-{interval}")

    def _note(self, answer: _Answered) -> None:
        """The used weight and order counts an answer reports, as budgets: Binance says
        what is used; the limit is configured and the window resets on its interval's
        boundary (UNVERIFIED: Binance does not document the alignment)."""
        now = self._venue_now()
        used = header_int(answer.headers, WEIGHT_HEADER)
        if used is not None:
            limit = self.config.weight_limit
            self._budgets.note(WEIGHT_BUDGET, limit=limit, remaining=max(0, limit - used),
                               reset_at=(now // 60_000 + 1) * 60_000)
        for interval, limit, span_ms in self.config.order_limits:
            count = header_int(answer.headers, f"{ORDER_COUNT_HEADER}{interval.upper()}")
            if count is not None:
                self._budgets.note(f"orders-{interval}", limit=limit,
                                   remaining=max(0, limit - count),
                                   reset_at=(now // span_ms + 1) * span_ms)

    def rate_budget(self) -> RateBudget:
        return self._budgets.snapshot()

    # -- clock and account mode ------------------------------------------------------------

    async def _ensure_clock(self) -> None:
        if self._clock_checked:
            return
        if self._clock_lock is None:
            self._clock_lock = asyncio.Lock()
        async with self._clock_lock:
            if not self._clock_checked:
                try:
                    await self.sync_clock()
                except VenueError as exc:
                    log.warning("binance %s: could not read the venue clock (%s); signing "
                                "with the local clock", self.account, exc)
                self._clock_checked = True

    async def sync_clock(self) -> int:
        """Measure venue time minus local time (ms); compensate signing from 500 ms on and
        warn past `clock_skew_warn_ms` (Binance refuses timestamps 1 s ahead of its own,
        -1021)."""
        endpoint = F_TIME if self.config.futures else S_TIME
        before = self._clock_ms()
        payload = await self._request("sync_clock", endpoint)
        after = self._clock_ms()
        server = self._parsed(p.parse_server_time, payload, endpoint)
        skew = int(server) - (before + after) // 2
        self.clock_skew_ms = skew
        self._clock_offset_ms = skew if abs(skew) >= CLOCK_COMPENSATE_MS else 0
        if abs(skew) >= self.config.clock_skew_warn_ms:
            direction = "behind" if skew > 0 else "ahead of"
            log.warning("binance %s: the local clock is %d ms %s Binance's; signed requests "
                        "would fail with -1021. Compensating; fix the system clock (NTP).",
                        self.account, abs(skew), direction)
            self._telemetry.count("clock_skew", (("venue", VENUE),))
        return skew

    async def account_mode(self, *, refresh: bool = False) -> tuple[bool, bool]:
        """USD-M (Hedge Mode, Multi-Assets mode), read at most every `MODE_CHECK_S`."""
        if not self.config.futures:
            return False, False
        loop = asyncio.get_running_loop()
        fresh = self._mode_read_at is not None and loop.time() - self._mode_read_at < MODE_CHECK_S
        if fresh and not refresh and self.hedge_mode is not None:
            return self.hedge_mode, bool(self.multi_assets)
        if self._mode_lock is None:
            self._mode_lock = asyncio.Lock()
        async with self._mode_lock:
            dual = await self._request("account_mode", F_DUAL)
            multi = await self._request("account_mode", F_MULTI)
            hedge = bool(self._parsed(p.parse_position_mode, dual, F_DUAL))
            assets = bool(self._parsed(p.parse_multi_assets, multi, F_MULTI))
            if hedge != self.hedge_mode or assets != self.multi_assets:
                log.info("binance %s: position mode %s, multi-assets mode %s", self.account,
                         "Hedge" if hedge else "One-way", "on" if assets else "off")
            self.hedge_mode, self.multi_assets = hedge, assets
            self._mode_read_at = loop.time()
        return hedge, assets

    async def _refuse_hedge(self) -> None:
        hedge, _ = await self.account_mode()
        if hedge:
            raise HedgeModeError(f"{VENUE}: {HEDGE_MODE_TEXT}", venue=VENUE, code="hedge_mode")

    async def _mode_changed(self, error: VenueError) -> VenueError:
        """A -4061 (position side mismatch) says the mode changed: read it again."""
        if str(error.code) != POSITION_SIDE_MISMATCH:
            return error
        try:
            hedge, _ = await self.account_mode(refresh=True)
        except VenueError:
            return error
        if hedge:
            return HedgeModeError(f"{VENUE}: {HEDGE_MODE_TEXT}", venue=VENUE, code="hedge_mode")
        return error

    # -- priority lane ---------------------------------------------------------------------

    async def warm_priority_lane(self) -> None:
        """Open the priority lane's session and connection now (one public request), so
        that an emergency does not pay for them. Failures are only logged."""
        endpoint = F_TIME if self.config.futures else S_TIME
        try:
            await getattr(self._lanes.priority, endpoint.method)({})
        except _Answered:
            return
        except (ccxt.BaseError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("binance %s: warming the priority lane: %s", self.account,
                     type(exc).__name__)

    # -- reads -----------------------------------------------------------------------------

    def _scopes(self) -> list[str | None]:
        """One query per configured symbol, else one account-wide query."""
        return list(self.config.symbols) or [None]

    @staticmethod
    def _symbol(symbol: str | None) -> dict[str, str]:
        return {"symbol": symbol} if symbol else {}

    def _in_scope(self, symbol: str) -> bool:
        return not self.config.symbols or symbol in self.config.symbols

    async def fetch_open_orders(self) -> list[Order]:
        """Every open order of the scope: openOrders, plus (USD-M) openAlgoOrders, whose
        triggered entries yield to their regular orders."""
        return await self._open_orders("fetch_open_orders", self._scopes())

    async def _open_orders(self, method: str, scopes: Sequence[str | None]) -> list[Order]:
        parse = p.parse_futures_order if self.config.futures else p.parse_spot_order
        endpoint = F_OPEN if self.config.futures else S_OPEN

        async def regular(symbol: str | None) -> list[Order]:
            payload = await self._request(method, endpoint, self._symbol(symbol))
            items = self._parsed(p.as_list, payload, endpoint, what=endpoint.path)
            with self._parsing():
                orders = p.parse_orders(items, parse, account=self.account)
            for order in orders:
                self._remember(order)
            return orders

        tasks = [regular(s) for s in scopes]
        if self.config.futures:
            tasks += [self._open_algo(f"{method}:algo" if method == "fetch_open_orders"
                                      else method, s) for s in scopes]
        lists = await asyncio.gather(*tasks)
        seen: dict[str, Order] = {}
        clients: set[str] = set()
        for orders in lists[:len(scopes)]:
            for order in orders:
                seen.setdefault(order.venue_order_id, order)
                clients.add(order.client_order_id)
        for orders in lists[len(scopes):]:
            for order in orders:
                triggered = not order.venue_order_id.startswith(p.ALGO_PREFIX)
                if triggered and (order.venue_order_id in seen
                                  or order.client_order_id in clients):
                    continue  # the regular order it became is listed: it is authoritative
                seen.setdefault(order.venue_order_id, order)
        return [o for o in seen.values() if self._in_scope(o.symbol)]

    async def _open_algo(self, method: str, symbol: str | None) -> list[Order]:
        payload = await self._request(method, F_ALGO_OPEN, self._symbol(symbol))
        items = self._parsed(p.as_list, payload, F_ALGO_OPEN, what=F_ALGO_OPEN.path)
        out: list[Order] = []
        with self._parsing():
            for raw in items:
                if p.is_close_all(raw):
                    log.warning("binance %s: a close-all conditional order (closePosition) "
                                "is open; Recon Console cannot represent it and leaves it "
                                "alone: %.120r", self.account, raw.get("clientAlgoId"))
                    continue
                out.append(p.parse_algo_order(raw, account=self.account))
        return out

    async def fetch_order(self, order: Order) -> Order | None:
        return await self._lookup("fetch_order", order)

    async def _lookup(self, method: str, order: Order) -> Order | None:
        """The venue's view of `order`: by venue id, else client id; on USD-M an order
        the regular book does not know is looked up in the algo service (by its algo id
        or client id). None only when every place asked says it does not know it."""
        futures = self.config.futures
        if futures and order.venue_order_id.startswith(p.ALGO_PREFIX):
            return await self._lookup_algo(method, order)
        if not p.is_order_id(order.venue_order_id) and not order.client_order_id:
            return None  # no Binance order can have this id
        try:
            return await self._regular(method, p.order_ref(order))
        except OrderNotFoundError:
            if not futures or not order.client_order_id:
                return None
        return await self._lookup_algo(method, order.evolve(venue_order_id=""))

    async def _regular(self, method: str, ref: Mapping[str, str]) -> Order:
        endpoint = F_ORDER if self.config.futures else S_ORDER
        parse = p.parse_futures_order if self.config.futures else p.parse_spot_order
        payload = await self._request(method, endpoint, ref)
        found: Order = self._parsed(parse, payload, endpoint, account=self.account)
        self._remember(found)
        return found

    def _remember(self, order: Order) -> None:
        """orderId -> client id, for the fills Binance lists without one (bounded)."""
        if not p.is_order_id(order.venue_order_id):
            return
        if len(self._client_ids) >= CLIENT_IDS_KEPT:
            self._client_ids.pop(next(iter(self._client_ids)))
        self._client_ids[order.venue_order_id] = order.client_order_id

    async def _lookup_algo(self, method: str, order: Order) -> Order | None:
        try:
            payload = await self._request(method, F_ALGO, p.algo_ref(order))
        except OrderNotFoundError:
            return None
        algo: Order = self._parsed(p.parse_algo_order, payload, F_ALGO, account=self.account)
        status, actual = self._parsed(p.algo_actual_order, payload, F_ALGO)
        if not actual or status not in p.ALGO_TRIGGERED:
            return algo
        try:  # triggered: the regular order it became is authoritative
            return await self._regular(method, {"symbol": algo.symbol, "orderId": actual})
        except OrderNotFoundError:
            return algo

    async def _fill_symbols(self) -> list[str]:
        """Whose trades to list: the configured symbols; USD-M without them, the symbols
        positionRisk lists (a position or open orders) and those this connector traded.
        Trades of a symbol that is flat and has no orders now are then not listed: give
        the profile its symbols to cover every one."""
        if self.config.symbols:
            return list(self.config.symbols)
        if not self.config.futures:
            raise FatalVenueError(f"{VENUE}: spot fills are listed per symbol; give "
                                  f"{profile_label(self.profile)} its symbols", venue=VENUE,
                                  code="no_symbols")
        payload = await self._request("fetch_fills", F_POSITIONS)
        items = self._parsed(p.as_list, payload, F_POSITIONS, what=F_POSITIONS.path)
        with self._parsing():
            held = {p.parse_position(raw, account=self.account).symbol for raw in items}
        return sorted(held | self._traded)

    async def fetch_fills(self, since: int, until: int) -> list[Fill]:
        """Fills with since <= exec_time <= until: windows of at most 7 days (USD-M
        userTrades) or 24 h (spot myTrades) per symbol, every page."""
        if until < since:
            raise FatalVenueError(f"{VENUE}: fills window ends ({until}) before it starts "
                                  f"({since})", venue=VENUE, code="invalid_request")
        span = FUTURES_FILLS_WINDOW_MS if self.config.futures else SPOT_FILLS_WINDOW_MS
        horizon = self._clock_ms() - self.config.fills_history_days * 86_400_000
        first = since
        if first < horizon:
            log.info("binance %s: fills before %d are past Binance's retention; querying "
                     "from there", self.account, horizon)
            first = horizon
        found: dict[str, Fill] = {}
        gate = asyncio.Semaphore(FILL_SYMBOLS_PARALLEL)

        async def symbol_trades(symbol: str) -> list[Fill]:
            # symbols in parallel (each one's windows and pages in order): a request per
            # symbol is the floor on USD-M, and one at a time it is all latency
            async with gate:
                trades: list[Fill] = []
                for start, end in time_windows(first, until, span):
                    trades.extend(await self._trades(symbol, start, end))
                return trades

        for trades in await self._gather([symbol_trades(s)
                                          for s in await self._fill_symbols()]):
            for fill in trades:
                if since <= fill.exec_time <= until:
                    found.setdefault(fill.exec_id, fill)
        fills = await self._with_client_ids(list(found.values()))
        return sorted(fills, key=lambda f: (f.exec_time, f.exec_id))

    async def _with_client_ids(self, fills: list[Fill]) -> list[Fill]:
        """Binance lists trades without the order's client id. The ledger ties a fill to
        its order by venue id; the client id matters only for an order whose venue id the
        ledger never learnt (a create whose answer was lost), and such orders are recent.
        So the ids come from what this connector already read (open orders, its own
        creates, earlier lookups), then from GET order by orderId for the orders of the
        newest fills: at most `CLIENT_ID_LOOKUPS` per listing, `CLIENT_ID_PARALLEL` at a
        time. Asking for every order of a cold start's 5,000 fills would spend more than
        a minute's request weight on ids the ledger already has; the rest keep an empty
        client id (and the reconciler's by-id query still resolves a lost create)."""
        newest: dict[tuple[str, str], int] = {}
        for f in fills:
            if f.venue_order_id and not f.client_order_id \
                    and f.venue_order_id not in self._client_ids:
                key = (f.symbol, f.venue_order_id)
                newest[key] = max(newest.get(key, 0), f.exec_time)
        wanted = sorted(newest, key=lambda k: newest[k], reverse=True)[:CLIENT_ID_LOOKUPS]
        gate = asyncio.Semaphore(CLIENT_ID_PARALLEL)

        async def learn(symbol: str, order_id: str) -> None:
            async with gate:
                try:
                    await self._regular("fetch_fills", {"symbol": symbol, "orderId": order_id})
                except OrderNotFoundError:
                    self._client_ids[order_id] = ""

        await self._gather([learn(symbol, order_id) for symbol, order_id in wanted])
        return [replace(f, client_order_id=self._client_ids.get(f.venue_order_id, ""))
                if not f.client_order_id else f for f in fills]

    async def _trades(self, symbol: str, start: int, end: int) -> list[Fill]:
        """Every trade of `symbol` in [start, end], whichever end of a full window Binance
        answers with (its docs say the oldest from startTime; the paging does not depend
        on it, but for one case below). A window that fits one page is complete.
        Otherwise its first trade is found by narrowing the window's end to the earliest
        trade seen (or to the millisecond before it, when one millisecond holds a whole
        page: the end moves down every step), and the trades are then read upwards by
        fromId (which cannot be combined with times), every page, until one passes
        `end`. The one case: a venue answering with the newest trades, whose window
        starts with a millisecond holding more than a page, would hide that
        millisecond's first trades; Binance answers with the oldest."""
        endpoint = F_TRADES if self.config.futures else S_TRADES
        limit = self.config.page_limit
        fail = partial(malformed, ctx=self._context(endpoint))
        items = await self._trade_page(endpoint, symbol, startTime=start, endTime=end)
        if len(items) < limit:
            return self._window_fills(items, start, end)
        upper = end
        for _ in range(MAX_PAGES):
            if len(items) < limit:
                break
            earliest = min(at for _, at in self._trade_marks(items, endpoint))
            if earliest < upper:
                narrower = earliest
            elif earliest > start:
                narrower = earliest - 1  # a whole page in one millisecond: look before it
            else:
                break
            before = await self._trade_page(endpoint, symbol, startTime=start,
                                            endTime=narrower)
            if not before:
                break  # nothing earlier: `items` holds the window's first millisecond
            items, upper = before, narrower
        else:
            raise fail(f"more than {MAX_PAGES} pages narrowing the window")
        first = min(trade_id for trade_id, _ in self._trade_marks(items, endpoint))

        async def upwards(from_id: int | None) -> tuple[list[Any], int | None]:
            page = await self._trade_page(endpoint, symbol, fromId=from_id or first)
            marks = self._trade_marks(page, endpoint)
            if len(page) < limit or max(at for _, at in marks) > end:
                return page, None
            return page, max(trade_id for trade_id, _ in marks) + 1

        pages = await cursor_pages(upwards, fail=fail, cursor_name="fromId")
        return self._window_fills([raw for page in pages for raw in page], start, end)

    async def _trade_page(self, endpoint: Endpoint, symbol: str, **query: Any) -> list[Any]:
        payload = await self._request("fetch_fills", endpoint,
                                      {"symbol": symbol, "limit": self.config.page_limit,
                                       **query})
        items: list[Any] = self._parsed(p.as_list, payload, endpoint, what=endpoint.path)
        return items

    def _trade_marks(self, items: Sequence[Any], endpoint: Endpoint) -> list[tuple[int, int]]:
        with self._parsing():
            return [p.trade_cursor(raw) for raw in items]

    def _window_fills(self, items: Sequence[Any], start: int, end: int) -> list[Fill]:
        parse = p.parse_futures_trade if self.config.futures else p.parse_spot_trade
        with self._parsing():
            fills = [parse(raw, account=self.account) for raw in items]
        return [fill for fill in fills if start <= fill.exec_time <= end]

    async def fetch_positions(self) -> list[Position]:
        """USD-M positionRisk (v3), every side (Hedge Mode: LONG and SHORT); flat ones
        dropped. Spot has no positions (its holdings are balances)."""
        if not self.config.futures:
            return []
        payload = await self._request("fetch_positions", F_POSITIONS)
        items = self._parsed(p.as_list, payload, F_POSITIONS, what=F_POSITIONS.path)
        out: dict[str, Position] = {}
        with self._parsing():
            for raw in items:
                position = p.parse_position(raw, account=self.account)
                if not position.is_flat and self._in_scope(position.symbol):
                    out.setdefault(position.key, position)
        return list(out.values())

    async def fetch_balances(self) -> list[Balance]:
        endpoint = F_ACCOUNT if self.config.futures else S_ACCOUNT
        parse = p.parse_futures_account if self.config.futures else p.parse_spot_account
        payload = await self._request("fetch_balances", endpoint)
        balances: list[Balance] = self._parsed(parse, payload, endpoint, account=self.account,
                                               updated_at=self._venue_now())
        return balances

    # -- writes ----------------------------------------------------------------------------

    async def place_order(self, order: Order) -> Order:
        if order.category is not self.config.market:
            raise FatalVenueError(f"{VENUE}: this connection trades {self.config.market}, "
                                  f"not {order.category}", venue=VENUE, code="invalid_request")
        if self.config.futures:
            await self._refuse_hedge()
            conditional = order.trigger_price is not None
            endpoint = F_ALGO_CREATE if conditional else F_CREATE
            params = p.algo_order_params(order) if conditional else p.futures_order_params(order)
            parse = p.parse_algo_order if conditional else p.parse_futures_order
        else:
            endpoint, params, parse = S_CREATE, p.spot_order_params(order), p.parse_spot_order
        self._traded.add(order.symbol)
        try:
            payload = await self._request("place_order", endpoint, params)
        except UnknownOutcomeError as error:
            return keep_ownership(await self._resolve_create(order, error), order)
        except FatalVenueError as error:
            raise await self._mode_changed(error) from None
        view: Order = self._parsed(parse, payload, endpoint, account=self.account)
        self._remember(view)
        return keep_ownership(view, order)

    async def _resolve_create(self, order: Order, error: UnknownOutcomeError) -> Order:
        """An unknown create: ask for its client id (regular, then algo). Found: that is
        the answer. Not found (it may still arrive) or not askable: the unknown outcome
        stands and nothing is sent again."""
        try:
            found = await self._lookup("place_order", order.evolve(venue_order_id=""))
        except VenueError as exc:
            log.warning("binance %s: order %s has an unknown outcome and could not be asked "
                        "for (%s)", self.account, order.ident, exc)
            raise error from None
        if found is None:
            raise error
        log.info("binance %s: order %s had an unknown outcome; Binance has it (%s)",
                 self.account, order.ident, found.status.value)
        return found

    async def amend_order(self, order: Order, *, qty: object = None,
                          price: object = None) -> Order:
        new_qty, new_price = p.decimal_arg(qty, "qty"), p.decimal_arg(price, "price")
        if self.config.futures:
            view = await self._modify(order, new_qty, new_price)
        else:
            view = await self._cancel_replace(order, new_qty, new_price)
        return keep_ownership(view, order)

    async def _modify(self, order: Order, qty: Any, price: Any) -> Order:
        """PUT /fapi/v1/order (quantity and price, LIMIT orders only). Algo orders have
        no amend: refused, so that the order manager cancels and places again."""
        await self._refuse_hedge()
        if order.venue_order_id.startswith(p.ALGO_PREFIX) or order.status is \
                OrderStatus.UNTRIGGERED:
            raise FatalVenueError(f"{VENUE}: conditional (algo) orders cannot be amended on "
                                  "Binance; cancel and place again", venue=VENUE,
                                  code="algo_amend")
        params = p.modify_params(order, qty=qty, price=price)
        try:
            payload = await self._request("amend_order", F_MODIFY, params)
        except UnknownOutcomeError as error:
            return await self._resolve_amend(order, qty, price, error)
        except FatalVenueError as error:
            if str(error.code) == NOTHING_TO_MODIFY:
                current = await self._lookup("amend_order", order)
                if current is not None:
                    return current
            raise await self._mode_changed(error) from None
        view: Order = self._parsed(p.parse_futures_order, payload, F_MODIFY,
                                   account=self.account)
        if view.status.is_terminal:
            log.warning("binance %s: the amend of %s ended it (%s): Binance cancels an order "
                        "amended to at most its filled quantity, or a post-only one that "
                        "would cross", self.account, order.ident, view.status.value)
        return view

    async def _resolve_amend(self, order: Order, qty: Any, price: Any,
                             error: UnknownOutcomeError) -> Order:
        try:
            current = await self._lookup("amend_order", order)
        except VenueError:
            raise error from None
        if current is not None and (qty is None or current.qty == qty) \
                and (price is None or current.price == price):
            return current
        raise error

    async def _cancel_replace(self, order: Order, qty: Any, price: Any) -> Order:
        """Spot: cancelReplace (STOP_ON_FAILURE, ONLY_NEW) under the same client id.
        Cancelled but the new order refused (HTTP 409, -2021): nothing is live for the
        intent, and the error says so (the order manager then reads the cancel and places
        a replacement itself). The cancel refused: nothing happened. Unknown: the old
        order and the open orders are read before anything is concluded."""
        params = p.cancel_replace_params(order, qty=qty, price=price)
        try:
            payload, answer = await self._send_cancel_replace("amend_order", params)
        except UnknownOutcomeError as error:
            return await self._resolve_replace(order, error)
        cancelled, placed = answer.get("cancelResult"), answer.get("newOrderResult")
        if cancelled == "SUCCESS" and placed == "SUCCESS":
            view: Order = self._parsed(p.parse_spot_order, answer.get("newOrderResponse"),
                                       S_REPLACE, account=self.account)
            return view
        coded = body_code(payload)
        reason = self._refusal(answer.get("newOrderResponse") if cancelled == "SUCCESS"
                               else answer.get("cancelResponse"))
        code = str(coded[0]) if coded else "cancel_replace"
        if cancelled == "SUCCESS":
            raise ReplacementRefusedError(
                f"{VENUE}: the replace of {order.ident} cancelled it but the new order was "
                f"refused ({reason}); nothing is live for this order now", venue=VENUE,
                code=code)
        refused = FatalVenueError(f"{VENUE}: the replace of {order.ident} was refused: the "
                                  f"cancel failed ({reason}); the order is unchanged",
                                  venue=VENUE, code=code)
        cancel_code = body_code(answer.get("cancelResponse"))
        if cancel_code is not None and cancel_code[0] == CANCEL_REJECTED:
            # unknown, finished, or no longer untouched (ONLY_NEW): the order says which
            raise await self._cancel_rejected(order, refused) from None
        raise refused

    async def _send_cancel_replace(self, method: str, params: Mapping[str, str]
                                   ) -> tuple[Any, Mapping[str, Any]]:
        """POST cancelReplace: (the body, its result object). A 400 or 409 whose `data`
        names both results is an answer (one half or both failed), not an error."""

        def partial(status: int, payload: Any) -> bool:
            data = payload.get("data") if isinstance(payload, Mapping) else None
            return status in (400, 409) and isinstance(data, Mapping) \
                and "cancelResult" in data

        payload = await self._request(method, S_REPLACE, params, accept=partial)
        result = payload.get("data", payload) if isinstance(payload, Mapping) else payload
        answer: Mapping[str, Any] = self._parsed(p.as_object, result, S_REPLACE,
                                                 what="cancelReplace")
        return payload, answer

    async def replace_order(self, order: Order, replacement: Order) -> tuple[Order, Order]:
        """Spot's atomic replace (see the module docstring): (the original as cancelled,
        the replacement as placed). The cancel refused: `ReplaceCancelRefusedError`
        (nothing changed; the caller asks what became of the order). Cancelled but the new
        order refused: `ReplacementRefusedError` (nothing live). An unknown outcome is
        raised as it is: the caller asks for both client ids."""
        if self.config.futures:
            raise CapabilityUnsupported(f"{VENUE}: USD-M has no atomic replace (it amends "
                                        "in place)", venue=VENUE)
        if (order.category, replacement.category) != (self.config.market,) * 2:
            raise FatalVenueError(f"{VENUE}: this connection trades {self.config.market}",
                                  venue=VENUE, code="invalid_request")
        params = p.replace_params(order, replacement)
        self._traded.add(order.symbol)
        payload, answer = await self._send_cancel_replace("replace_order", params)
        cancelled, placed = answer.get("cancelResult"), answer.get("newOrderResult")
        if cancelled == "SUCCESS" and placed == "SUCCESS":
            old: Order = self._parsed(p.parse_spot_order, answer.get("cancelResponse"),
                                      S_REPLACE, account=self.account)
            new: Order = self._parsed(p.parse_spot_order, answer.get("newOrderResponse"),
                                      S_REPLACE, account=self.account)
            self._remember(old)
            self._remember(new)
            return keep_ownership(old, order), keep_ownership(new, replacement)
        coded = body_code(payload)
        code = str(coded[0]) if coded else "cancel_replace"
        if cancelled == "SUCCESS" and placed == "FAILURE":
            reason = self._refusal(answer.get("newOrderResponse"))
            raise ReplacementRefusedError(
                f"{VENUE}: the replace of {order.ident} cancelled it but the new order "
                f"{replacement.ident} was refused ({reason}); nothing is live for this "
                "order now", venue=VENUE, code=code)
        if cancelled == "FAILURE" and placed in ("NOT_ATTEMPTED", "FAILURE"):
            reason = self._refusal(answer.get("cancelResponse"))
            raise ReplaceCancelRefusedError(
                f"{VENUE}: the replace of {order.ident} was refused: the cancel failed "
                f"({reason}); the order is unchanged and {replacement.ident} was not "
                "placed", venue=VENUE, code=code)
        raise malformed(f"cancelResult {cancelled!r} with newOrderResult {placed!r}"[:200],
                        self._context(S_REPLACE))

    def _refusal(self, part: Any) -> str:
        coded = body_code(part)
        if coded is None:
            return "no reason given"
        return self._context(S_REPLACE).scrub(f"{coded[1][:200]} (code {coded[0]})")

    async def _resolve_replace(self, order: Order, error: UnknownOutcomeError) -> Order:
        try:
            old = await self._lookup("amend_order", order)
            if old is None or old.is_active:
                raise error  # not cancelled (yet): no new order can exist
            opened = await self._open_orders("amend_order", [order.symbol])
        except VenueError:
            raise error from None
        for candidate in opened:
            if candidate.client_order_id == order.client_order_id \
                    and candidate.venue_order_id != order.venue_order_id:
                return candidate
        raise error

    async def cancel_order(self, order: Order) -> Order:
        if self.config.futures and (order.venue_order_id.startswith(p.ALGO_PREFIX) or (
                not order.venue_order_id and order.trigger_price is not None)):
            view = await self._cancel_algo(order)
        else:
            view = await self._cancel_regular(order)
        return keep_ownership(view, order)

    async def _cancel_regular(self, order: Order) -> Order:
        endpoint = F_CANCEL if self.config.futures else S_CANCEL
        parse = p.parse_futures_order if self.config.futures else p.parse_spot_order
        try:
            payload = await self._request("cancel_order", endpoint, p.order_ref(order))
        except UnknownOutcomeError as error:
            return await self._resolve_cancel(order, error)
        except OrderNotFoundError:
            if self.config.futures and order.client_order_id and not order.venue_order_id:
                return await self._cancel_algo(order)
            raise
        except FatalVenueError as error:
            if str(error.code) != str(CANCEL_REJECTED):
                raise
            raise await self._cancel_rejected(order, error) from None
        view: Order = self._parsed(parse, payload, endpoint, account=self.account)
        return view

    async def _cancel_rejected(self, order: Order, error: FatalVenueError) -> VenueError:
        """-2011: what became of the order decides the error (see the module docstring)."""
        try:
            current = await self._lookup("cancel_order", order)
        except VenueError:
            return error
        if current is None:
            return OrderNotFoundError(f"{error}; Binance does not know the order",
                                      venue=VENUE, code=error.code)
        if current.status.is_terminal:
            return FatalVenueError(f"{VENUE}: too late to cancel {order.ident}: it is "
                                   f"already {current.status.value} (filled "
                                   f"{p.dec_str(current.filled_qty)})", venue=VENUE,
                                   code=error.code)
        return error

    async def _resolve_cancel(self, order: Order, error: UnknownOutcomeError) -> Order:
        try:
            current = await self._lookup("cancel_order", order)
        except VenueError:
            raise error from None
        if current is None:
            raise error
        if current.is_active:
            return current.evolve(status=OrderStatus.PENDING_CANCEL)
        return current

    async def _cancel_algo(self, order: Order) -> Order:
        """DELETE /fapi/v1/algoOrder; when it has triggered meanwhile, the regular order
        it became is cancelled instead."""
        try:
            await self._request("cancel_order", F_ALGO_CANCEL, p.algo_ref(order))
        except UnknownOutcomeError as error:
            return await self._resolve_cancel(order, error)
        except FatalVenueError as error:
            current = await self._lookup_algo("cancel_order", order)
            if current is None:
                if isinstance(error, OrderNotFoundError):
                    raise
                raise OrderNotFoundError(f"{error}; Binance does not know the order",
                                         venue=VENUE, code=error.code) from None
            if current.status.is_terminal:
                raise FatalVenueError(f"{VENUE}: too late to cancel {order.ident}: it is "
                                      f"already {current.status.value}", venue=VENUE,
                                      code=error.code) from None
            if not current.venue_order_id.startswith(p.ALGO_PREFIX):
                return await self._cancel_regular(current)
            raise
        view = await self._lookup_algo("cancel_order", order)
        if view is None or view.is_active:
            # accepted, not yet seen terminal: the venue's next answer decides
            return (view or order).evolve(status=OrderStatus.PENDING_CANCEL,
                                          updated_at=self._venue_now())
        return view

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        """Every open order of the scope cancelled (the symbol, else the configured
        symbols, else every symbol with open orders). Spot: DELETE openOrders per symbol
        answers with the cancelled orders themselves. USD-M: the open orders are listed,
        then, per symbol and in parallel, DELETE allOpenOrders (when it lists regular
        orders, or was named) and DELETE algoOpenOrders (when it lists algo orders).
        Those answer without ids, only that every open order of the symbol is cancelled:
        the listed orders of a symbol whose DELETE succeeded are reported CANCELLED as
        listed. Reading 500 orders back one by one would hold an emergency stop for
        hundreds of milliseconds after the venue acted; an order that filled between the
        listing and the DELETE is corrected by its stream push and by the
        reconciliation that ends the stop (the venue stays the truth). A symbol whose
        DELETE failed reports nothing, and every symbol is tried before a failure is
        raised."""
        self._check_category(category)
        scoped = [symbol] if symbol else list(self.config.symbols)
        if not self.config.futures:
            if not scoped:
                scoped = sorted({o.symbol for o in
                                 await self._open_orders("cancel_all", [None])})
            lists = await self._gather([self._spot_cancel_all(s) for s in scoped])
            return [order for orders in lists for order in orders]
        if scoped:
            lists = await self._gather([self._futures_cancel_all(s) for s in scoped])
            return [order for orders in lists for order in orders]
        listed = await self._open_orders("cancel_all", [None])
        by_symbol: dict[str, list[Order]] = {}
        for order in listed:
            by_symbol.setdefault(order.symbol, []).append(order)
        lists = await self._gather([self._futures_bulk_cancel(s, orders, named=False)
                                    for s, orders in sorted(by_symbol.items())])
        return [order for orders in lists for order in orders]

    async def _futures_cancel_all(self, symbol: str) -> list[Order]:
        listed = await self._open_orders("cancel_all", [symbol])
        return await self._futures_bulk_cancel(symbol, listed, named=True)

    async def _futures_bulk_cancel(self, symbol: str, listed: Sequence[Order], *,
                                   named: bool) -> list[Order]:
        """DELETE allOpenOrders (always: an algo order listed a moment ago may have
        triggered into a regular one since) and algoOpenOrders when `listed` holds algo
        orders or the symbol was `named`; `listed` as cancelled."""
        algo = named or any(o.venue_order_id.startswith(p.ALGO_PREFIX) for o in listed)
        calls = [self._request("cancel_all", F_CANCEL_ALL, {"symbol": symbol})]
        if algo:
            calls.append(self._request("cancel_all", F_ALGO_CANCEL_ALL, {"symbol": symbol}))
        await self._gather(calls)
        now = self._venue_now()
        return [o.evolve(status=OrderStatus.CANCELLED, updated_at=max(now, o.updated_at))
                for o in listed]

    async def _spot_cancel_all(self, symbol: str) -> list[Order]:
        try:
            payload = await self._request("cancel_all", S_CANCEL_ALL, {"symbol": symbol})
        except FatalVenueError as error:
            if str(error.code) == str(CANCEL_REJECTED):
                return []  # "Unknown order sent.": nothing was open on the symbol
            raise
        items = self._parsed(p.as_list, payload, S_CANCEL_ALL, what=S_CANCEL_ALL.path)
        out: list[Order] = []
        with self._parsing():
            for raw in items:
                reports = raw.get("orderReports") if isinstance(raw, Mapping) else None
                for item in reports if isinstance(reports, list) else [raw]:
                    out.append(p.parse_spot_order(item, account=self.account))
        return out

    async def cancel_all_ids(self, category: Category,
                             symbol: str | None = None) -> list[tuple[str, str]]:
        """Spot only (`bulk_cancel_ids`): the (orderId, client id) pairs DELETE
        openOrders answered with; USD-M's allOpenOrders answers without ids."""
        if self.config.futures:
            return await super().cancel_all_ids(category, symbol)
        return [(o.venue_order_id, o.client_order_id)
                for o in await self.cancel_all(category, symbol)]

    def _check_category(self, category: Category) -> None:
        if category is not self.config.market:
            raise FatalVenueError(f"{VENUE}: this connection trades {self.config.market}, "
                                  f"not {category}", venue=VENUE, code="invalid_request")

    @staticmethod
    async def _gather(calls: Sequence[Any]) -> list[Any]:
        """Run every call (an emergency must try every symbol), then raise the first
        failure, if any."""
        results = await asyncio.gather(*calls, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)

    # -- dead-man's switch -------------------------------------------------------------------

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        """USD-M countdownCancelAll for every traded symbol (the configured ones, else
        those positionRisk lists and those this connector traded); None disarms (0).
        Whether Binance's countdown also cancels algo orders is UNVERIFIED."""
        if not self.config.futures:
            return await super().set_dead_man_switch(timeout_ms)
        if timeout_ms is not None and timeout_ms <= 0:
            raise FatalVenueError(f"{VENUE}: dead-man's switch timeout {timeout_ms} ms must "
                                  "be positive (None disarms it)", venue=VENUE,
                                  code="invalid_request")
        try:
            symbols = set(self.config.symbols) or set(await self._fill_symbols())
            if timeout_ms is None:
                symbols |= self._armed
            countdown = str(timeout_ms or 0)
            await self._gather([
                self._request("set_dead_man_switch", F_COUNTDOWN,
                              {"symbol": s, "countdownTime": countdown})
                for s in sorted(symbols)])
        except VenueError as exc:
            self._dead_man_failed(exc)
            raise
        self._armed = set() if timeout_ms is None else symbols
        self._dead_man = DeadManState(armed=timeout_ms is not None, timeout_ms=timeout_ms,
                                      refreshed_at=self._venue_now(), symbols=len(symbols))
        return self._dead_man

    def dead_man_state(self) -> DeadManState | None:
        """The last arm/refresh/disarm as the venue confirmed it, with the failure of any
        attempt since (None: spot, or nothing asked yet)."""
        return self._dead_man

    def _dead_man_failed(self, exc: BaseException) -> None:
        """Keep the last confirmed state (its countdown still runs on the venue) and say
        why this attempt failed: the error class and Binance's code, never the message
        (it may quote the request), since the window shows it."""
        code = "".join(ch for ch in str(getattr(exc, "code", None) or "")
                       if ch.isascii() and (ch.isalnum() or ch in "-_"))[:24]
        reason = f"{type(exc).__name__} {code}".strip()[:MAX_ERROR_CHARS]
        self._dead_man = replace(self._dead_man or DeadManState(armed=False),
                                 last_error=reason)

    async def _heartbeat(self, timeout_ms: int) -> None:
        """Refresh the countdown every quarter of it (Binance's example: every 30 s for
        120 s) while the stream runs; failures are logged, the next beat tries again."""
        every = max(1.0, timeout_ms / 4000)
        while True:
            try:
                await self.set_dead_man_switch(timeout_ms)
            except VenueError as exc:
                log.warning("binance %s: the dead-man's switch heartbeat failed (%s)",
                            self.account, exc)
            await asyncio.sleep(every)

    # -- stream and lifecycle --------------------------------------------------------------

    async def stream(self) -> AsyncGenerator[VenueEvent, None]:
        """Private events and connection states until the generator is closed (see
        `stream.BinancePrivateStream`); with `config.dead_man_ms`, the dead-man's switch
        is kept armed meanwhile and disarmed when the stream closes."""
        await self._ensure_clock()
        private = BinancePrivateStream(
            self.config, self._api_key, self._api_secret,
            listen_keys=_ListenKeys(self) if self.config.futures else None,
            telemetry=self._telemetry, clock_ms=self._clock_ms, profile=self.profile,
            clock_offset_ms=lambda: self._clock_offset_ms, on_refused=self._stream_refused,
            on_connected=self.auth_gate.accepted)
        heartbeat: asyncio.Task[None] | None = None
        if self.config.dead_man_ms:
            heartbeat = asyncio.create_task(self._heartbeat(self.config.dead_man_ms),
                                            name=f"binance-dead-man-{self.account}")
        events = private.events()
        merged = self._with_balances(events)
        try:
            async for event in merged:
                yield event
        finally:
            await merged.aclose()  # first: it may be awaiting `events` in a task
            await events.aclose()
            if heartbeat is not None:
                heartbeat.cancel()
                await asyncio.gather(heartbeat, return_exceptions=True)
                await self._disarm()

    async def _with_balances(self, events: AsyncGenerator[VenueEvent, None]
                             ) -> AsyncGenerator[VenueEvent, None]:
        """`events`, plus USD-M balances read over REST after trades.

        ACCOUNT_UPDATE carries wallet figures only (parsing.py says why no BalanceEvent is
        built from them), so without this the ledger's balances would stay as they were
        before every fill until the next reconciliation, which would then report a
        mismatch after each trade. A fill or a position change asks for one
        GET /fapi/v3/account (weight 5) `BALANCE_REFRESH_DELAY_S` later, at most one in
        flight and no sooner than `BALANCE_REFRESH_GAP_S` after the previous one, so a
        burst of fills costs one request. A failed refresh is logged and left to the
        reconciliation. Spot needs none: outboundAccountPosition carries free and locked.
        """
        if not self.config.futures:
            async for event in events:
                yield event
            return
        following: asyncio.Future[VenueEvent] = asyncio.ensure_future(anext(events))
        refresh: asyncio.Task[list[Balance]] | None = None
        wanted = False
        last_refresh = -BALANCE_REFRESH_GAP_S
        loop = asyncio.get_running_loop()

        def start() -> asyncio.Task[list[Balance]]:
            delay = max(BALANCE_REFRESH_DELAY_S,
                        last_refresh + BALANCE_REFRESH_GAP_S - loop.time())
            return asyncio.create_task(self._balances_after(delay),
                                       name=f"binance-balances-{self.account}")

        try:
            while True:
                waiting: set[asyncio.Future[Any]] = {following}
                if refresh is not None:
                    waiting.add(refresh)
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if refresh is not None and refresh in done:
                    finished, refresh = refresh, None
                    last_refresh = loop.time()
                    try:
                        balances = finished.result()
                    except VenueError as exc:
                        log.info("binance %s: balances after a trade: %s (the next "
                                 "reconciliation reads them)", self.account, exc)
                    else:
                        now = wall_clock_ms()
                        for balance in balances:
                            yield BalanceEvent(balance, received_at=now)
                    if wanted:
                        wanted, refresh = False, start()
                if following in done:
                    try:
                        event = following.result()
                    except StopAsyncIteration:
                        return
                    following = asyncio.ensure_future(anext(events))
                    yield event
                    if isinstance(event, (FillEvent, PositionEvent)):
                        if refresh is None:
                            refresh = start()
                        else:
                            wanted = True
        finally:
            for pending in (following, refresh):
                if pending is not None and not pending.done():
                    pending.cancel()
            await asyncio.gather(*(f for f in (following, refresh) if f is not None),
                                 return_exceptions=True)

    async def _balances_after(self, delay_s: float) -> list[Balance]:
        await asyncio.sleep(delay_s)
        return await self.fetch_balances()

    async def _disarm(self) -> None:
        """Best effort, bounded by the request timeout: closing must not wait out a venue
        that does not answer (the countdown then fires, which is what it is for)."""
        if not self._armed or self._closed:
            return
        try:
            await asyncio.wait_for(self.set_dead_man_switch(None), self.config.timeout_s)
        except (VenueError, TimeoutError) as exc:
            if isinstance(exc, TimeoutError):
                self._dead_man_failed(exc)  # a VenueError was recorded where it was raised
            log.warning("binance %s: disarming the dead-man's switch failed (%s); its "
                        "countdown will cancel the orders", self.account,
                        type(exc).__name__ if isinstance(exc, TimeoutError) else exc)

    def _stream_refused(self, refusal: ConnectRefused) -> None:
        """A refused stream login refuses the credentials for REST too."""
        if isinstance(refusal, AuthRefused):
            self.auth_gate.refused(str(refusal), source="stream login")

    async def aclose(self) -> None:
        """Disarm a dead-man's switch this connector armed, close both ccxt sessions."""
        if self._closed:
            return
        await self._disarm()
        self._closed = True

        async def close(exchange: Any) -> None:
            try:
                await exchange.close()
            except (ccxt.BaseError, aiohttp.ClientError, OSError) as exc:
                log.info("binance %s: closing a session: %s", self.account, type(exc).__name__)

        # together: each close waits out ccxt's graceful-shutdown pause (~250 ms)
        await asyncio.gather(*(close(e) for e in {id(e): e for e in (
            self._lanes.normal, self._lanes.priority)}.values()))
