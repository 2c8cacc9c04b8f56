"""`BybitVenue`: one Bybit v5 account behind the engine's async `VenuePort`, over pybit.

The venue-neutral machinery is shared (`console.venues._common`: worker threads and the
priority lane, retry, rate budget, error context, paging, the stream supervisor); what
is here is Bybit's and pybit's:
* pybit's HTTP client is blocking and not thread-safe: calls run on
  `_common.threads.WorkerThreads`, one pybit session per worker thread.
* pybit is pointed at `config.rest_url` by setting `session.endpoint` after construction
  (every pybit method builds its URL from it at call time): the same code reaches
  api.bybit.com and the simulated front-end on 127.0.0.1.
* pybit's own retries are off: `retry_codes` holds only a code Bybit never returns (an
  empty set would mean "pybit's defaults", which sleep on the worker thread for 10006 and
  10002), `force_retry=False` (it would resend order creations) and `max_retries=1`.
  Retrying is ours (`_common.retry.RetryPolicy`) and errors are classified in `errors`.
* `return_response_headers=True` gives us the X-Bapi-Limit-* headers: `rate_budget`
  shows them, and a call on an endpoint whose budget is spent waits for its reset first
  (`_common.budget.BudgetKeeper`; priority-lane calls skip that wait). Bybit tells a
  reset time only on a refusal (a granted answer's X-Bapi-Limit-Reset-Timestamp is the
  current time), so the keeper also paces each endpoint in Bybit's rolling one-second
  window (`RATE_WINDOW_MS`) from X-Bapi-Limit-Status and the requests in flight: pages
  of a large book are asked at the budget's rate instead of being refused (10006) and
  retried. An unreadable header is logged and ignored, never an error.
* Every answer is read by `parsing`, whose only error is `MalformedVenueDataError`
  naming the field: a reconciliation then marks that one list unverified.
* Credentials: once Bybit refused the key or signature (10003, 10004, ...; or the
  private stream's login), ordinary calls fail fast with `VenueAuthError` until the next
  probe (`_common.auth_gate.AuthGate`, `auth_retry_base_ms`), instead of signing with
  the same secret on every reconciliation; priority-lane calls are always sent.
* Clock: the first authenticated call measures the offset to /v5/market/time. Beyond
  `clock_skew_warn_ms` it is logged and counted; from 500 ms on, signing timestamps are
  corrected by it (a small pybit subclass overrides `_prepare_headers`), since a clock
  1 s ahead of Bybit's makes every signed request fail with 10002.

Priority lane (emergency stop): inside `with venue.priority():` requests run on the
lane's own worker threads and pybit sessions (`WorkerThreads`), so they never queue
behind ordinary requests; `warm_priority_lane()` opens those sessions ahead of need.
`cancel_all_ids` is the bulk cancel alone, answering with the acknowledged ids and
reading nothing back.

Dead-man's switch: Bybit's disconnection protection (DCP). `set_dead_man_switch` sets
the window of the category's product (POST /v5/order/disconnected-cancel-all) and has
the private stream subscribe the product's `dcp.*` topic; Bybit then cancels the
product's orders once every connection so subscribed has been gone for the window (the
account needs DCP enabled by Bybit). There is no countdown to refresh: the switch holds
while the connection lives, so `dead_man_state()` is refreshed each time the stream is
seen holding the topic, and its `runs_out_at` is the earliest the venue can fire after a
loss. With `config.dead_man_ms` the stream arms it when it starts; closing the stream
cleanly disarms it (unsubscribes) first.

Reads follow every page (cursor until ""); fills are fetched in windows of at most 7 days
(Bybit's limit for execution/list), never "the last 50". A page's items are read while
the next page is with the venue (`_paged`): on a large book, pages are paced by the
budget's rolling window, and a page that starts late pushes back every page a window
after it, so the time between two requests is kept to the venue's own. The four
listings a reconciliation reads run side by side (the engine gathers them), each on its
endpoint's budget. Writes return the venue's view:
Bybit's create/amend/cancel answers carry only ids, so one follow-up query reads the
order back (if that query fails, the answer is built from the request: NEW, or
PENDING_CANCEL after a cancel, never a guess of a terminal state). Domain enums reach
the wire only through `parsing`'s explicit maps (`CATEGORY_NAME`, ...).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncGenerator, Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from functools import partial
from operator import attrgetter
from typing import Any, ClassVar, Final

import requests
from pybit import _helpers as pybit_helpers
from pybit.exceptions import FailedRequestError, InvalidRequestError
from pybit.unified_trading import HTTP

from console.domain.capabilities import (
    MAX_ERROR_CHARS,
    DeadManState,
    RateBudget,
    VenueCapabilities,
)
from console.domain.enums import Category, OrderStatus
from console.domain.events import VenueEvent
from console.domain.model import Balance, Fill, Order, Position, keep_ownership
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.errors import (
    FatalVenueError,
    MalformedVenueDataError,
    VenueError,
)
from console.venues._common.auth_gate import AuthGate
from console.venues._common.budget import BudgetKeeper
from console.venues._common.clock import wall_clock_ms
from console.venues._common.connector import ConnectorBase
from console.venues._common.errors import profile_label
from console.venues._common.paging import cursor_pages, time_windows
from console.venues._common.retry import RetryPolicy
from console.venues._common.supervisor import AuthRefused, ConnectRefused
from console.venues._common.threads import WorkerThreads
from console.venues.bybit.config import DEAD_MAN_MAX_MS, DEAD_MAN_MIN_MS, BybitConfig
from console.venues.bybit.errors import (
    LIMIT_HEADER,
    RESET_HEADER,
    STATUS_HEADER,
    VENUE,
    ClockSkewError,
    ErrorContext,
    VenueAuthError,
    error_class,
    error_for_exception,
    malformed,
    refuses_credentials,
)
from console.venues.bybit.parsing import (
    CATEGORY_NAME,
    DCP_PRODUCT,
    DCP_TOPIC,
    amend_params,
    create_params,
    decimal_arg,
    envelope_time,
    order_ids,
    parse_fill,
    parse_orders,
    parse_page,
    parse_position,
    parse_result,
    parse_server_time,
    parse_wallet,
    ref_params,
    result_category,
)
from console.venues.bybit.stream import BybitPrivateStream, SocketFactory

log = logging.getLogger(__name__)
logging.getLogger("pybit").setLevel(logging.WARNING)

NEVER_RETRY_CODE: Final = 999_999_999
"""The only code in pybit's retry_codes: Bybit never returns it, so pybit never retries."""
FILLS_WINDOW_MS: Final = 7 * 24 * 3600 * 1000
CLOCK_COMPENSATE_MS: Final = 500
RATE_WINDOW_MS: Final = 1000
"""Bybit counts requests per UID and endpoint in a rolling one-second window."""
PageParser = Callable[[list[Any], Category | None], None]
"""Reads one page's items (with the category the page declares) as it arrives."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    method: str
    """The pybit HTTP method that calls it."""
    path: str
    write: bool = False


OPEN_ORDERS: Final = Endpoint("get_open_orders", "/v5/order/realtime")
ORDER_HISTORY: Final = Endpoint("get_order_history", "/v5/order/history")
EXECUTIONS: Final = Endpoint("get_executions", "/v5/execution/list")
POSITIONS: Final = Endpoint("get_positions", "/v5/position/list")
WALLET: Final = Endpoint("get_wallet_balance", "/v5/account/wallet-balance")
CREATE: Final = Endpoint("place_order", "/v5/order/create", write=True)
AMEND: Final = Endpoint("amend_order", "/v5/order/amend", write=True)
CANCEL: Final = Endpoint("cancel_order", "/v5/order/cancel", write=True)
CANCEL_ALL: Final = Endpoint("cancel_all_orders", "/v5/order/cancel-all", write=True)
SERVER_TIME: Final = Endpoint("get_server_time", "/v5/market/time")
SET_DCP: Final = Endpoint("set_dcp", "/v5/order/disconnected-cancel-all", write=True)

DEAD_MAN_CHECK_MAX_S: Final = 1.0
"""The longest pause between two looks at the stream's hold on the DCP topic (a quarter
of the window when that is shorter)."""
DEAD_MAN_REARM_S: Final = 30.0
"""After a failed arm (the window refused or not answered), how long until trying again."""


class _SignedHTTP(HTTP):  # type: ignore[misc]
    """pybit's HTTP with clock-corrected signing timestamps and a repr without secrets."""

    offset_ms: Callable[[], int] = staticmethod(lambda: 0)

    def _prepare_headers(self, payload: Any, recv_window: int,
                         content_type: str = "application/json") -> dict[str, str]:
        offset = self.offset_ms()
        if not offset or isinstance(payload, bytes):
            return super()._prepare_headers(payload, recv_window,  # type: ignore[no-any-return]
                                            content_type=content_type)
        timestamp = pybit_helpers.generate_timestamp() + offset
        signature = self._auth(payload=payload, recv_window=recv_window, timestamp=timestamp)
        return {
            "Content-Type": content_type,
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-SIGN": signature,
            "X-BAPI-SIGN-TYPE": "2",
            "X-BAPI-TIMESTAMP": str(timestamp),
            "X-BAPI-RECV-WINDOW": str(recv_window),
        }

    def __repr__(self) -> str:
        return f"<pybit HTTP session for {self.endpoint}>"

    __str__ = __repr__


@dataclass(slots=True)
class _Answer:
    payload: Any
    headers: Mapping[str, Any] | None
    error: BaseException | None
    ms: float


SessionFactory = Callable[[], Any]

_PYBIT_ERRORS: Final = (InvalidRequestError, FailedRequestError,
                        requests.exceptions.RequestException, PermissionError, OSError,
                        AttributeError, TypeError, KeyError, ValueError, ArithmeticError,
                        RecursionError)
"""What a pybit call can raise on a bad answer: its own errors, the transport's, and
what reading a hostile body raises inside pybit (a body that is JSON but not an object,
a 5,000-digit number, nesting deeper than the interpreter's stack)."""


def _close_session(session: Any) -> None:
    client = getattr(session, "client", None)
    if isinstance(client, requests.Session):
        client.close()


def _blocking(session: Any, endpoint: Endpoint, params: dict[str, Any],
              starting: Callable[[], object] | None = None) -> _Answer:
    """Runs on a worker thread: one pybit call, nothing raised (classified on the loop).
    `starting` (thread-safe) is told first: the request is then on its way."""
    if starting is not None:
        with suppress(RuntimeError):  # the loop is gone (shutting down): nobody waits
            starting()
    started = time.perf_counter()
    try:
        answer = getattr(session, endpoint.method)(**params)
    except _PYBIT_ERRORS as exc:
        return _Answer(None, getattr(exc, "resp_headers", None), exc,
                       (time.perf_counter() - started) * 1000)
    ms = (time.perf_counter() - started) * 1000
    if isinstance(answer, tuple) and len(answer) == 3:
        return _Answer(answer[0], answer[2], None, ms)
    return _Answer(answer, None, None, ms)


def _answer_time(payload: Any) -> int | None:
    """The envelope's `time` for the rate budget's clock bounds; None when absent or
    unreadable (the answer's own parsing reports that)."""
    try:
        stamp = envelope_time(payload)
    except MalformedVenueDataError:
        return None
    return stamp or None


class BybitVenue(ConnectorBase):
    """One Bybit account as a `VenuePort` (see the module docstring for the how)."""

    venue: str = VENUE
    capabilities: ClassVar[VenueCapabilities] = VenueCapabilities(
        amend=True, bulk_cancel_ids=True, priority_lane=True, rate_budget=True,
        dead_man_switch=True)
    """DCP covers every category (DERIVATIVES, SPOT, OPTIONS: `parsing.DCP_PRODUCT`)."""

    def __init__(self, config: BybitConfig, api_key: str, api_secret: str, *,
                 profile: str = "", telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 sleep: Callable[[float], Any] = asyncio.sleep,
                 session_factory: SessionFactory | None = None,
                 socket_factory: SocketFactory | None = None) -> None:
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
        self._socket_factory = socket_factory
        self._threads: WorkerThreads[Any] = WorkerThreads(
            f"bybit-{config.account}", session_factory or self._new_session,
            workers=config.rest_workers, priority_workers=config.priority_workers,
            close_session=_close_session)
        self._budgets = BudgetKeeper(VENUE, config.account, max_wait_ms=config.retry_max_ms,
                                     local_ms=clock_ms, venue_ms=self._venue_now,
                                     sleep=sleep, telemetry=telemetry,
                                     window_ms=RATE_WINDOW_MS)
        self.auth_gate = AuthGate(VENUE, config.account, base_ms=config.auth_retry_base_ms,
                                  max_ms=config.auth_retry_max_ms, clock_ms=clock_ms)
        """Open after the venue refused the key or signature: calls fail fast meanwhile."""
        self._clock_offset_ms = 0
        self._clock_checked = False
        self._clock_lock: asyncio.Lock | None = None
        self.clock_skew_ms: int | None = None
        """Venue time minus local time, as last measured (None: not measured yet)."""
        self._dead_man: DeadManState | None = None
        """The last arm/disarm and how the stream holds it (see `dead_man_state`)."""
        self._dcp_ms: int | None = None
        """The window the venue confirmed for the armed switch (None: disarmed)."""
        self._private: BybitPrivateStream | None = None
        """The running private stream (None: none): it holds the DCP topic."""
        self._closed = False

    def __repr__(self) -> str:
        return (f"BybitVenue(account={self.account!r}, profile={self.profile!r}, "
                f"rest_url={self.config.rest_url!r})")

    # -- plumbing --------------------------------------------------------------------------

    def _new_session(self) -> Any:
        session = _SignedHTTP(
            testnet=False, api_key=self._api_key, api_secret=self._api_secret,
            recv_window=self.config.recv_window_ms, timeout=self.config.timeout_s,
            max_retries=1, retry_codes={NEVER_RETRY_CODE}, force_retry=False,
            return_response_headers=True, logging_level=logging.WARNING)
        session.endpoint = self.config.rest_url.rstrip("/")
        session.offset_ms = lambda: self._clock_offset_ms
        return session

    def _context(self, endpoint: Endpoint) -> ErrorContext:
        return ErrorContext(endpoint=endpoint.path, write=endpoint.write, venue=VENUE,
                            profile=self.profile, now_ms=self._clock_ms(),
                            clock_offset_ms=self._clock_offset_ms,
                            secrets=(self._api_secret, self._api_key))

    def _venue_now(self) -> int:
        return self._clock_ms() + self._clock_offset_ms

    # -- priority lane -----------------------------------------------------------------

    async def warm_priority_lane(self) -> None:
        """Open the priority lane's sessions and connections now (one public request per
        worker), so that an emergency does not pay for them. Failures are only logged."""

        def touch(session: Any) -> None:
            answer = _blocking(session, SERVER_TIME, {})
            if answer.error is not None:
                log.info("bybit %s: warming the priority lane: %s", self.account,
                         type(answer.error).__name__)

        await self._threads.warm(touch)

    async def _request(self, method: str, endpoint: Endpoint, params: Mapping[str, Any], *,
                       on_its_way: asyncio.Event | None = None,
                       ) -> tuple[Mapping[str, Any], Any]:
        """One logical call (with our retries): the `result` object and the raw payload.
        `on_its_way` is set once a worker thread has taken the request (past the budget's
        wait): what the caller does meanwhile overlaps the venue's time, not the send."""
        if self._closed:
            raise FatalVenueError(f"{VENUE}: venue {self.account!r} is closed", venue=VENUE,
                                  code="closed")
        urgent = self.urgent()
        if endpoint is not SERVER_TIME:
            if not urgent:
                self._gate(method)
            await self._ensure_clock()
        starting: Callable[[], object] | None = None
        if on_its_way is not None:
            starting = partial(asyncio.get_running_loop().call_soon_threadsafe,
                               on_its_way.set)

        async def attempt() -> tuple[Mapping[str, Any], Any]:
            if not urgent:
                await self._budgets.respect(endpoint.path)
            self.count_call(method, urgent=urgent)
            with self._budgets.in_flight(endpoint.path):
                answer = await self._threads.call(_blocking, endpoint, dict(params), starting,
                                                  urgent=urgent)
            self._telemetry.observe_latency("rest", answer.ms, (("endpoint", endpoint.path),))
            self._budgets.note_headers(endpoint.path, answer.headers, limit=LIMIT_HEADER,
                                       remaining=STATUS_HEADER, reset=RESET_HEADER,
                                       answer_time=_answer_time(answer.payload))
            try:
                if answer.error is not None:
                    raise error_for_exception(answer.error, self._context(endpoint)) \
                        from answer.error
                try:
                    result = parse_result(answer.payload, endpoint.path)
                except MalformedVenueDataError as exc:
                    raise malformed(str(exc).removeprefix(f"{VENUE}: "),
                                    self._context(endpoint)) from None
            except VenueError as error:
                self._telemetry.count("rest_errors", (("class", error_class(error)),))
                if isinstance(error, ClockSkewError):
                    self._clock_checked = False  # measure again before the next call
                elif refuses_credentials(error):
                    self.auth_gate.refused(str(error), source="REST")
                raise
            if endpoint is not SERVER_TIME:
                self.auth_gate.accepted()
            return result, answer.payload

        def on_retry(error: BaseException, retry: int, wait_ms: float) -> None:
            log.warning("bybit %s: %s failed (%s); retry %d in %.0f ms", self.account,
                        endpoint.path, error, retry, wait_ms)

        return await self._retry.call(attempt, sleep=self._sleep, on_retry=on_retry)

    def _gate(self, method: str) -> None:
        """Fail fast while the credentials stand refused (see `_common.auth_gate`)."""
        try:
            self.auth_gate.check()
        except VenueAuthError as error:
            self._telemetry.count("rest_errors", (("class", error_class(error)),))
            log.debug("bybit %s: %s not sent: %s", self.account, method, error)
            raise

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
                    log.warning("bybit %s: could not read the venue clock (%s); signing with "
                                "the local clock", self.account, exc)
                self._clock_checked = True

    async def sync_clock(self) -> int:
        """Measure venue time minus local time (ms); compensate signing from 500 ms on and
        warn past `clock_skew_warn_ms` (Bybit refuses timestamps 1 s ahead of its own)."""
        before = self._clock_ms()
        result, payload = await self._request("sync_clock", SERVER_TIME, {})
        after = self._clock_ms()
        try:
            server = parse_server_time(result, payload)
        except MalformedVenueDataError as exc:
            raise malformed(str(exc).removeprefix(f"{VENUE}: "),
                            self._context(SERVER_TIME)) from None
        if server is None:
            raise malformed("no timeNano/timeSecond/time in the answer",
                            self._context(SERVER_TIME))
        skew = server - (before + after) // 2
        self.clock_skew_ms = skew
        self._clock_offset_ms = skew if abs(skew) >= CLOCK_COMPENSATE_MS else 0
        if abs(skew) >= self.config.clock_skew_warn_ms:
            direction = "behind" if skew > 0 else "ahead of"
            log.warning("bybit %s: the local clock is %d ms %s Bybit's; signed requests "
                        "would fail with retCode 10002. Compensating; fix the system clock "
                        "(NTP).", self.account, abs(skew), direction)
            self._telemetry.count("clock_skew", (("venue", VENUE),))
        return skew

    async def _paged(self, method: str, endpoint: Endpoint, params: Mapping[str, Any],
                     limit: int, each: PageParser) -> None:
        """Every page of a listing, each page's items handed to `each` (with the category
        the page declares) while the next page is being asked.

        Why: a page's cursor is all the next request needs, so its items are read while
        that request is with the venue (once a worker thread has taken it: the loop then
        does not hold up its sending) instead of between the two. A long listing then
        costs its requests, not its requests plus their reading, and no listing is read
        in one block at its end, which would stall every other listing on the loop (on a
        paced listing a stall is not caught up: each page after it waits for its place in
        the rolling window). A malformed item fails the listing when its page is read;
        the next page may be on its way by then, and its answer is dropped."""
        waiting: deque[tuple[list[Any], Category | None]] = deque()

        def hand_over() -> None:
            while waiting:
                items, category = waiting.popleft()
                with self._parsing():
                    each(items, category)

        async def page(cursor: str | None) -> tuple[None, str | None]:
            query = dict(params, limit=limit)
            if cursor:
                query["cursor"] = cursor
            on_its_way = asyncio.Event()
            asked = asyncio.ensure_future(
                self._request(method, endpoint, query, on_its_way=on_its_way))
            if waiting:
                told = asyncio.ensure_future(on_its_way.wait())
                try:
                    await asyncio.wait((told, asked), return_when=asyncio.FIRST_COMPLETED)
                    hand_over()
                except BaseException:
                    asked.cancel()
                    await asyncio.gather(asked, return_exceptions=True)
                    raise
                finally:
                    told.cancel()
            result, _ = await asked
            with self._parsing():
                items, next_cursor = parse_page(result, endpoint.path)
                waiting.append((items, result_category(result, endpoint.path)))
            return None, next_cursor or None

        await cursor_pages(page, fail=lambda detail: malformed(
            detail, self._context(endpoint)), cursor_name="nextPageCursor")
        hand_over()

    @contextmanager
    def _parsing(self) -> Iterator[None]:
        """Count an answer that fails strict parsing as a REST error, then let it raise."""
        try:
            yield
        except MalformedVenueDataError:
            self._telemetry.count("rest_errors", (("class", "malformed"),))
            raise

    def _scopes(self, *, settle: bool = True) -> list[dict[str, Any]]:
        """One query scope per configured symbol, else the settle coin (derivatives)."""
        if self.config.symbols:
            return [{"symbol": s} for s in self.config.symbols]
        if settle and self.config.category is not Category.SPOT:
            return [{"settleCoin": self.config.settle_coin}]
        return [{}]

    # -- reads -----------------------------------------------------------------------------

    async def fetch_open_orders(self) -> list[Order]:
        category = self.config.category
        seen: dict[str, Order] = {}

        def take(items: list[Any], page_category: Category | None) -> None:
            for order in parse_orders(items, account=self.account,
                                      category=page_category or category):
                seen.setdefault(order.venue_order_id, order)

        for scope in self._scopes():
            await self._paged("fetch_open_orders", OPEN_ORDERS,
                              {"category": CATEGORY_NAME[category], "openOnly": 0, **scope},
                              self.config.order_page_limit, take)
        return list(seen.values())

    async def fetch_order(self, order: Order) -> Order | None:
        return await self._lookup("fetch_order", order)

    async def _lookup(self, method: str, order: Order) -> Order | None:
        return await self._find(method, ref_params(order), category=order.category,
                                venue_id=order.venue_order_id,
                                client_id=order.client_order_id, created_at=order.created_at)

    async def _find(self, method: str, params: Mapping[str, Any], *, category: Category,
                    venue_id: str, client_id: str, created_at: int = 0) -> Order | None:
        """Realtime (active and recent) first, then history; None only when both answer
        with an empty list."""
        result, _ = await self._request(method, OPEN_ORDERS, params)
        found = self._match(result, OPEN_ORDERS, category, venue_id, client_id)
        if found is not None:
            return found
        history = dict(params)
        history.update(self._history_window(created_at))
        result, _ = await self._request(method, ORDER_HISTORY, history)
        return self._match(result, ORDER_HISTORY, category, venue_id, client_id)

    def _history_window(self, created_at: int) -> dict[str, Any]:
        """Bybit's order history defaults to the last 7 days: older orders need a window."""
        if created_at and self._clock_ms() - created_at > FILLS_WINDOW_MS - 86_400_000:
            start = max(0, created_at - 3_600_000)
            return {"startTime": start, "endTime": start + FILLS_WINDOW_MS - 1}
        return {}

    def _match(self, result: Mapping[str, Any], endpoint: Endpoint, category: Category,
               venue_id: str, client_id: str) -> Order | None:
        with self._parsing():
            items, _ = parse_page(result, endpoint.path)
            declared = result_category(result, endpoint.path) or category
            candidates = parse_orders(items, account=self.account, category=declared)
        for candidate in candidates:
            if (venue_id and candidate.venue_order_id == venue_id) or \
                    (not venue_id and candidate.client_order_id == client_id):
                return candidate
        if candidates:
            self._telemetry.count("rest_errors", (("class", "malformed"),))
            raise malformed(f"asked for order {venue_id or client_id}, got others",
                            self._context(endpoint))
        return None

    async def fetch_fills(self, since: int, until: int) -> list[Fill]:
        """Fills with since <= exec_time <= until: windows of at most 7 days, every page."""
        if until < since:
            raise FatalVenueError(f"{VENUE}: fills window ends ({until}) before it starts "
                                  f"({since})", venue=VENUE, code="invalid_request")
        category = self.config.category
        found: dict[str, Fill] = {}
        horizon = self._clock_ms() - self.config.fills_history_days * 86_400_000
        first = since
        if first < horizon:
            log.info("bybit %s: fills before %d are past Bybit's retention; querying from "
                     "there", self.account, horizon)
            first = horizon

        def take(items: list[Any], page_category: Category | None) -> None:
            for raw in items:
                fill = parse_fill(raw, account=self.account,
                                  category=page_category or category)
                if since <= fill.exec_time <= until:
                    found.setdefault(fill.exec_id, fill)

        for start, end in time_windows(first, until, FILLS_WINDOW_MS):
            for scope in self._scopes(settle=False):
                await self._paged(
                    "fetch_fills", EXECUTIONS,
                    {"category": CATEGORY_NAME[category], "startTime": start, "endTime": end,
                     **scope},
                    self.config.execution_page_limit, take)
        return sorted(found.values(), key=attrgetter("exec_time", "exec_id"))

    async def fetch_positions(self) -> list[Position]:
        """Open positions (flat ones dropped); spot has none."""
        category = self.config.category
        if category is Category.SPOT:
            return []
        out: dict[str, Position] = {}

        def take(items: list[Any], page_category: Category | None) -> None:
            for raw in items:
                position = parse_position(raw, account=self.account,
                                          category=page_category or category)
                if not position.is_flat:
                    out.setdefault(position.key, position)

        for scope in self._scopes():
            await self._paged("fetch_positions", POSITIONS,
                              {"category": CATEGORY_NAME[category], **scope},
                              self.config.position_page_limit, take)
        return list(out.values())

    async def fetch_balances(self) -> list[Balance]:
        result, payload = await self._request("fetch_balances", WALLET,
                                              {"accountType": "UNIFIED"})
        with self._parsing():
            return parse_wallet(result, account=self.account,
                                updated_at=envelope_time(payload) or self._clock_ms())

    # -- writes ----------------------------------------------------------------------------

    async def place_order(self, order: Order) -> Order:
        params = create_params(order, position_idx=self.config.position_idx)
        result, _ = await self._request("place_order", CREATE, params)
        order_id, _ = self._ids(result, CREATE)
        now = self._clock_ms()
        sent = order.evolve(venue_order_id=order_id)
        view = await self._confirm("place_order", sent)
        if view is None:
            status = OrderStatus.UNTRIGGERED if order.trigger_price is not None \
                else OrderStatus.NEW
            view = sent.evolve(status=status, created_at=order.created_at or now,
                               updated_at=now)
        return keep_ownership(view, order)

    async def amend_order(self, order: Order, *, qty: object = None,
                          price: object = None) -> Order:
        params = amend_params(order, qty=qty, price=price)
        result, _ = await self._request("amend_order", AMEND, params)
        order_id, _ = self._ids(result, AMEND)
        sent = order.evolve(venue_order_id=order.venue_order_id or order_id)
        view = await self._confirm("amend_order", sent)
        if view is None:
            new_qty, new_price = decimal_arg(qty, "qty"), decimal_arg(price, "price")
            view = sent.evolve(qty=new_qty or order.qty, price=new_price or order.price,
                               updated_at=self._clock_ms())
        return keep_ownership(view, order)

    async def cancel_order(self, order: Order) -> Order:
        result, _ = await self._request("cancel_order", CANCEL, ref_params(order))
        order_id, _ = self._ids(result, CANCEL)
        sent = order.evolve(venue_order_id=order.venue_order_id or order_id)
        view = await self._confirm("cancel_order", sent)
        if view is None or view.is_active:
            # accepted, not yet seen terminal: the venue's next answer decides
            view = (view or sent).evolve(status=OrderStatus.PENDING_CANCEL,
                                         updated_at=self._clock_ms())
        return keep_ownership(view, order)

    @property
    def categories(self) -> tuple[Category, ...]:
        """The categories this connection trades (what an emergency stop cancels)."""
        return (self.config.category,)

    def _cancel_scope(self, category: Category, symbol: str | None) -> dict[str, Any]:
        scope: dict[str, Any] = {"category": CATEGORY_NAME[category]}
        if symbol:
            scope["symbol"] = symbol
        elif category is not Category.SPOT:
            scope["settleCoin"] = self.config.settle_coin
        return scope

    async def cancel_all_ids(self, category: Category,
                             symbol: str | None = None) -> list[tuple[str, str]]:
        """The bulk cancel alone: one request per order filter (by symbol, else the settle
        coin; spot: plain and conditional orders, two requests). Returns the (orderId,
        orderLinkId) pairs Bybit acknowledged, reading nothing back: in an emergency
        nothing may delay it, and the reconciliation that follows reads the venue."""
        scope = self._cancel_scope(category, symbol)
        filters = ("Order", "StopOrder") if category is Category.SPOT else ("",)

        async def one(kind: str) -> list[tuple[str, str]]:
            params = dict(scope, orderFilter=kind) if kind else scope
            result, _ = await self._request("cancel_all", CANCEL_ALL, params)
            try:
                items, _ = parse_page(result, CANCEL_ALL.path)
                return [order_ids(item, "cancel-all item") for item in items]
            except MalformedVenueDataError as exc:
                raise malformed(str(exc), self._context(CANCEL_ALL)) from None

        acked: dict[str, str] = {}
        for pairs in await asyncio.gather(*(one(kind) for kind in filters)):
            acked.update(pairs)
        return list(acked.items())

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        """Bulk cancel (`cancel_all_ids`), sent first. Bybit answers with ids only, so the
        cancelled orders are then read back from the recently-closed listing (openOnly=1,
        newest first, until every id is found), and any id still missing on its own. An
        order that cannot be read back is logged and left out."""
        scope = self._cancel_scope(category, symbol)
        ids = dict(await self.cancel_all_ids(category, symbol))
        if not ids:
            return []
        found = await self._recently_closed(category, scope, set(ids))
        out: list[Order] = []
        for order_id, link_id in ids.items():
            view = found.get(order_id)
            if view is None:
                try:
                    view = await self._find("cancel_all", dict(scope, orderId=order_id),
                                            category=category, venue_id=order_id,
                                            client_id=link_id)
                except VenueError as exc:
                    log.warning("bybit %s: reading cancelled order %s back failed (%s)",
                                self.account, order_id, exc)
            if view is None:
                log.warning("bybit %s: cancelled order %s could not be read back",
                            self.account, order_id)
                continue
            out.append(view)
        return out

    async def _recently_closed(self, category: Category, scope: Mapping[str, Any],
                               wanted: set[str]) -> dict[str, Order]:
        """Closed orders from order/realtime?openOnly=1 until `wanted` are all seen (Bybit
        keeps the last 500 there); a failure just leaves the rest to per-id reads."""
        found: dict[str, Order] = {}
        cursor = ""
        limit = self.config.order_page_limit
        try:
            for _ in range(500 // limit + 1):
                query = dict(scope, openOnly=1, limit=limit)
                if cursor:
                    query["cursor"] = cursor
                result, _ = await self._request("cancel_all", OPEN_ORDERS, query)
                with self._parsing():
                    items, cursor = parse_page(result, OPEN_ORDERS.path)
                    declared = result_category(result, OPEN_ORDERS.path) or category
                    orders = parse_orders(items, account=self.account, category=declared)
                found.update((o.venue_order_id, o) for o in orders
                             if o.venue_order_id in wanted)
                if wanted <= found.keys() or not cursor:
                    break
        except VenueError as exc:
            log.warning("bybit %s: listing closed orders after cancel-all failed (%s)",
                        self.account, exc)
        return found

    def _ids(self, result: Mapping[str, Any], endpoint: Endpoint) -> tuple[str, str]:
        try:
            return order_ids(result, endpoint.path)
        except MalformedVenueDataError as exc:
            raise malformed(str(exc), self._context(endpoint)) from None

    async def _confirm(self, method: str, order: Order) -> Order | None:
        """Read an order back after a write; None when that fails (never raised: the
        write itself succeeded)."""
        try:
            return await self._lookup(method, order)
        except VenueError as exc:
            log.warning("bybit %s: could not read order %s back after %s (%s)", self.account,
                        order.ident, method, exc)
            return None

    # -- dead-man's switch (disconnection protection) -------------------------------------

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        """Arm DCP with a window of `timeout_ms` (whole seconds, 3 to 300) for the
        category's product, or disarm it (None). Arming sets the window over REST (the
        venue's acceptance arms it), then has the running stream subscribe the product's
        topic; until a stream holds it, the state says so in `last_error` (Bybit fires
        only after losing a connection that held it).
        Disarming unsubscribes the topic; Bybit offers no request that switches DCP off
        (the account's window stays as set)."""
        if timeout_ms is not None and (
                isinstance(timeout_ms, bool) or not isinstance(timeout_ms, int)
                or timeout_ms % 1000 or not DEAD_MAN_MIN_MS <= timeout_ms <= DEAD_MAN_MAX_MS):
            raise FatalVenueError(f"{VENUE}: dead-man's switch window {timeout_ms!r} ms must "
                                  f"be whole seconds from {DEAD_MAN_MIN_MS // 1000} to "
                                  f"{DEAD_MAN_MAX_MS // 1000} (None disarms it)", venue=VENUE,
                                  code="invalid_request")
        category = self.config.category
        if timeout_ms is None:
            self._dcp_ms = None
            if self._private is not None:
                await self._private.set_dcp(None)
            self._dead_man = DeadManState(armed=False, refreshed_at=self._venue_now())
            return self._dead_man
        try:
            await self._request("set_dead_man_switch", SET_DCP,
                                {"product": DCP_PRODUCT[category],
                                 "timeWindow": timeout_ms // 1000})
        except VenueError as exc:
            self._dead_man_failed(exc, timeout_ms)
            raise
        self._dcp_ms = timeout_ms
        live = False
        if self._private is not None:
            live = await self._private.set_dcp(DCP_TOPIC[category])
        self._note_dead_man(live)
        assert self._dead_man is not None
        return self._dead_man

    def dead_man_state(self) -> DeadManState | None:
        """The last arm or disarm, kept current while armed (None: nothing asked yet)."""
        return self._dead_man

    def _note_dead_man(self, live: bool) -> None:
        """The armed switch as the stream holds it now. Held, it is confirmed as of now.
        Not held, the last confirmation stands (after a loss, the venue's window runs
        from then) and `last_error` says why; a switch armed while no stream holds it
        counts from the venue's acceptance of the window."""
        timeout = self._dcp_ms
        if timeout is None:
            return
        now = self._venue_now()
        last = self._dead_man
        if live:
            self._dead_man = DeadManState(armed=True, timeout_ms=timeout, refreshed_at=now)
        elif last is not None and last.armed and last.timeout_ms == timeout:
            self._dead_man = replace(last, last_error="stream down" if last.last_error
                                     != "stream not subscribed" else last.last_error)
        else:
            self._dead_man = DeadManState(armed=True, timeout_ms=timeout, refreshed_at=now,
                                          last_error="stream not subscribed")

    def _dead_man_failed(self, exc: BaseException, timeout_ms: int) -> None:
        """Keep the last state and say why this arm failed: the error class and Bybit's
        code, never the message (it may quote the request), since the window shows it."""
        code = "".join(ch for ch in str(getattr(exc, "code", None) or "")
                       if ch.isascii() and (ch.isalnum() or ch in "-_"))[:24]
        reason = f"{type(exc).__name__} {code}".strip()[:MAX_ERROR_CHARS]
        self._dead_man = replace(self._dead_man or DeadManState(armed=False,
                                                                timeout_ms=timeout_ms),
                                 last_error=reason)

    async def _keep_dead_man(self, private: BybitPrivateStream, arm_ms: int | None) -> None:
        """While the stream runs: arm it with `arm_ms` if the profile asks (again after
        `DEAD_MAN_REARM_S` while the venue refuses or does not answer; once armed, a
        disarm by the operator stands), keep the stream holding the topic (a socket built
        meanwhile, or whose subscription went unanswered, is brought in line) and keep
        the state current. Failures are logged; the next round tries again."""
        loop = asyncio.get_running_loop()
        retry_at = 0.0
        while True:
            if arm_ms and self._dcp_ms is None and loop.time() >= retry_at:
                try:
                    await self.set_dead_man_switch(arm_ms)
                    arm_ms = None
                except VenueError as exc:
                    log.warning("bybit %s: arming disconnection protection failed (%s); "
                                "trying again in %g s", self.account, exc, DEAD_MAN_REARM_S)
                    retry_at = loop.time() + DEAD_MAN_REARM_S
            elif self._dcp_ms is not None:
                live = private.dcp_live()
                if not live and private.dcp_topic:
                    live = await private.set_dcp(private.dcp_topic)
                self._note_dead_man(live)
            window_ms = self._dcp_ms or arm_ms or DEAD_MAN_MIN_MS
            await asyncio.sleep(min(DEAD_MAN_CHECK_MAX_S, window_ms / 4000))

    # -- stream and lifecycle --------------------------------------------------------------

    async def stream(self) -> AsyncGenerator[VenueEvent, None]:
        """Private events (order, execution, position, wallet) and connection states,
        until the generator is closed; see `stream.BybitPrivateStream`. The venue clock
        is measured first: the login's expiry must cover a local clock running behind.
        With `config.dead_man_ms`, disconnection protection is armed and kept current
        meanwhile, and disarmed (unsubscribed) before the stream closes."""
        await self._ensure_clock()
        private = BybitPrivateStream(
            self.config, self._api_key, self._api_secret, profile=self.profile,
            telemetry=self._telemetry, clock_ms=self._clock_ms,
            clock_offset_ms=lambda: self._clock_offset_ms,
            socket_factory=self._socket_factory, on_refused=self._stream_refused,
            on_connected=self.auth_gate.accepted)
        if self._dcp_ms is not None:  # armed before the stream started
            private.dcp_topic = DCP_TOPIC[self.config.category]
        self._private = private
        keeper = asyncio.create_task(self._keep_dead_man(private, self.config.dead_man_ms),
                                     name=f"bybit-dead-man-{self.account}")
        events = private.events()
        # Each event is awaited in a task of its own: cancelling the consumer (how the
        # engine stops a stream) then stops here, not inside `events`, whose socket must
        # outlive the unsubscribing below.
        following: asyncio.Future[VenueEvent] | None = None
        try:
            while True:
                following = asyncio.ensure_future(anext(events))
                await asyncio.wait({following})
                try:
                    event = following.result()
                except StopAsyncIteration:
                    return
                following = None
                yield event
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            if self._dcp_ms is not None or private.dcp_topic:
                # a clean close is no loss: unsubscribe first (bounded by the handshake
                # timeout; if that fails, the venue cancels after the window, as DCP does)
                await self.set_dead_man_switch(None)
            self._private = None
            if following is not None and not following.done():
                following.cancel()
                await asyncio.gather(following, return_exceptions=True)
            await events.aclose()

    def _stream_refused(self, refusal: ConnectRefused) -> None:
        """A refused stream login refuses the credentials for REST too."""
        if isinstance(refusal, AuthRefused):
            self.auth_gate.refused(str(refusal), source="stream login")

    def rate_budget(self) -> RateBudget:
        return self._budgets.snapshot()

    async def aclose(self) -> None:
        """Stop the worker threads and close their HTTP sessions."""
        if self._closed:
            return
        self._closed = True
        await self._threads.aclose()
