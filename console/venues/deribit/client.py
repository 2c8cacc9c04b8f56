"""`DeribitVenue`: one Deribit account and settlement currency behind the engine's async
`VenuePort`, over Deribit's JSON-RPC API v2 with aiohttp (no SDK: the API is small, and
every answer is ours to read).

Transport. Requests are HTTP POSTs of a JSON-RPC body to `<origin>/api/v2/<method>` with
`Authorization: Bearer <access token>`; the one WebSocket is the private stream's
(`stream.DeribitPrivateStream`), which also carries what Deribit binds to a connection
(cancel-on-disconnect). HTTP keeps a request independent of the stream's reconnects, and
of its heartbeat, so reads and cancels always go over HTTP. Two aiohttp sessions make
the priority lane (`_common.lane.Lanes`): an emergency stop never queues behind ordinary
requests.

With the dead-man's switch on, order creations and edits (private/buy, private/sell,
private/edit) go over the stream's socket instead; see `DeribitVenue._write_route` for
why, and for what happens while the socket is down.

Authentication. `public/auth` (client_credentials) gives an access token with a lifetime;
it is refreshed (refresh_token grant) `token_refresh_margin_s` before it expires, and a
13009 (expired or revoked token) on a request is answered by one fresh `public/auth` and
the request sent again (nothing was done: the request was refused). A refused
`public/auth` (13004...) opens the auth gate (`_common.auth_gate`): requests fail fast
with `VenueAuthError` until the probe time; the stream's refused login does the same.

Credits. Deribit meters requests in credits (a pool refilled per second; an empty pool is
10028 AND the end of the session). `stream.CreditKeeper` keeps an estimate (configurable
figures, UNVERIFIED defaults), one for the connector, shared with the stream: Deribit
charges the socket's requests (login, heartbeat answers, subscriptions, token refreshes,
orders) to the same pool. Every request waits ahead until its cost is covered above a
reserve (a tenth of the pool by default) that only the priority lane may spend, so the
engine's own bursts never see 10028 and an emergency stop still finds credits. A 10028
all the same empties the estimate, drops the token and restarts the stream (whose
reconnect waits for credits): its `ConnectionEvent(reconnected=True)` makes the engine
reconcile.

Outcomes (docs/architecture.md, "The venue port"): a write whose outcome is unknown (a
timeout, HTTP 5xx, 11094/13888) is resolved by asking for its label before anything is
concluded: found, it is the answer; not found, the unknown outcome is raised (nothing is
sent again). A cancel refused (not found, already closed) asks what became of the order:
an order that filled is never taken for cancelled.

Port methods and the Deribit methods behind them:
* fetch_open_orders  private/get_open_orders_by_currency {currency, kind future, type all}
* fetch_order        private/get_order_state (by id), else
                     private/get_order_state_by_label (the exact client id kept)
* fetch_fills        private/get_user_trades_by_currency_and_time (historical past 24 h,
                     every page by has_more, deduplicated by trade_id)
* fetch_positions    private/get_positions {currency, kind future}
* fetch_balances     private/get_account_summary {currency}
* place_order        private/buy | private/sell (label = client id; see `parsing`); over
                     the stream's socket with the dead-man's switch on
* amend_order        private/edit (the label cannot change and is kept); likewise
* cancel_order       private/cancel
* cancel_all         private/cancel_all_by_currency | _by_instrument {type all}, with
                     the open orders listed before and after
* set_dead_man_switch private/enable|disable_cancel_on_disconnect over the stream
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Final

import aiohttp

from console.domain.capabilities import (
    MAX_ERROR_CHARS,
    DeadManState,
    RateBudget,
    VenueCapabilities,
)
from console.domain.enums import Category, OrderStatus, OrderType, TimeInForce
from console.domain.events import VenueEvent
from console.domain.model import Balance, Fill, Order, Position, keep_ownership
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.errors import (
    DuplicateClientOrderIdError,
    FatalVenueError,
    MalformedVenueDataError,
    OrderNotFoundError,
    UnknownOutcomeError,
    VenueError,
)
from console.venues._common.auth_gate import AuthGate
from console.venues._common.clock import wall_clock_ms
from console.venues._common.connector import ConnectorBase
from console.venues._common.errors import profile_label
from console.venues._common.lane import Lanes
from console.venues._common.paging import MAX_PAGES
from console.venues._common.retry import RetryPolicy
from console.venues._common.supervisor import AuthRefused, ConnectRefused
from console.venues.deribit import parsing as p
from console.venues.deribit.config import KIND, DeribitConfig
from console.venues.deribit.errors import (
    CLOSED_CODES,
    UNAUTHORIZED,
    VENUE,
    ErrorContext,
    SessionTerminatedError,
    VenueAuthError,
    decode_body,
    error_class,
    error_for_answer,
    error_for_exception,
    malformed,
    refuses_credentials,
)
from console.venues.deribit.stream import (
    CreditKeeper,
    DeribitPrivateStream,
    StreamDownError,
)

log = logging.getLogger(__name__)

PLACED_KEPT: Final = 20_000
"""Client ids remembered for the duplicate check (the engine never reuses one)."""
CAPABILITIES: Final = VenueCapabilities(
    amend=True, bulk_cancel_ids=False, priority_lane=True, rate_budget=True,
    dead_man_switch=True, hedge_mode=False, atomic_replace=False)
"""private/edit amends in place; the cancel_all family answers with a count (no ids);
two HTTP sessions make the lane; the credit estimate is the budget; cancel-on-disconnect
is the switch; positions are netted; there is no atomic replace."""
AUTH: Final = "public/auth"
ORDER_FILTER: Final = "all"
"""Open-order listings and bulk cancels ask for every type: untriggered trigger orders
are listed (and cancelled) only when asked."""


@dataclass(slots=True)
class _Token:
    access: str
    refresh: str
    expires_at: int
    """Local ms."""


class DeribitVenue(ConnectorBase):
    """One Deribit account and currency as a `VenuePort` (see the module docstring)."""

    venue: str = VENUE
    capabilities: ClassVar[VenueCapabilities] = CAPABILITIES

    def __init__(self, config: DeribitConfig, client_id: str, client_secret: str, *,
                 profile: str = "", telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 sleep: Callable[[float], Any] = asyncio.sleep) -> None:
        if not client_id or not client_secret:
            raise FatalVenueError(f"{VENUE}: the client id and secret of "
                                  f"{profile_label(profile)} are missing", venue=VENUE,
                                  code="no_credentials")
        super().__init__()
        self.config = config
        self.account = config.account
        self.profile = profile
        self._client_id = client_id
        self._client_secret = client_secret
        self._telemetry = telemetry
        self._clock_ms = clock_ms
        self._sleep = sleep
        self._retry = RetryPolicy(config.retry_tries, config.retry_base_ms, config.retry_max_ms)
        self._credits = CreditKeeper(config, clock_ms=clock_ms, sleep=sleep,
                                     telemetry=telemetry)
        """The account's credit estimate, shared with the stream (see the module
        docstring)."""
        self.auth_gate = AuthGate(VENUE, config.account, base_ms=config.auth_retry_base_ms,
                                  max_ms=config.auth_retry_max_ms, clock_ms=clock_ms)
        self._lanes: Lanes[aiohttp.ClientSession] | None = None
        self._token: _Token | None = None
        self._auth_lock: asyncio.Lock | None = None
        self._tokens_seen: list[str] = []
        self._ids = 0
        self._stream: DeribitPrivateStream | None = None
        self._dead_man_wanted = config.dead_man
        self._dead_man: DeadManState | None = None
        self._closed = False
        self._placed: OrderedDict[str, None] = OrderedDict()
        """Client ids this connector has sent (the newest `PLACED_KEPT`): see
        `place_order`."""

    def __repr__(self) -> str:
        return (f"DeribitVenue(account={self.account!r}, profile={self.profile!r}, "
                f"currency={self.config.currency!r}, rest_url={self.config.rest_url!r})")

    @property
    def categories(self) -> tuple[Category, ...]:
        return (self.config.category,)

    # -- plumbing --------------------------------------------------------------------------

    def _sessions(self) -> Lanes[aiohttp.ClientSession]:
        """Built on first use: an aiohttp session belongs to the running loop."""
        if self._lanes is None:
            timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
            self._lanes = Lanes(aiohttp.ClientSession(timeout=timeout),
                                aiohttp.ClientSession(timeout=timeout))
        return self._lanes

    def _secrets(self) -> tuple[str, ...]:
        return (self._client_secret, self._client_id, *self._tokens_seen[-8:])

    def _context(self, method: str, write: bool) -> ErrorContext:
        return ErrorContext(endpoint=method, write=write, venue=VENUE, profile=self.profile,
                            now_ms=self._clock_ms(), secrets=self._secrets())

    def _parsed(self, parse: Callable[..., Any], payload: Any, method: str, *,
                write: bool = False, **kwargs: Any) -> Any:
        """`parse(payload, **kwargs)`; a malformed answer is counted and, for a write, an
        unknown outcome (Deribit may well have acted)."""
        try:
            return parse(payload, **kwargs)
        except MalformedVenueDataError as exc:
            self._telemetry.count("rest_errors", (("class", "malformed"),))
            raise malformed(str(exc).removeprefix(f"{VENUE}: "),
                            self._context(method, write)) from None

    async def _post(self, method: str, params: Mapping[str, object], *, write: bool,
                    token: str | None) -> tuple[int, Mapping[str, str], Any]:
        """One HTTP exchange: (status, headers, decoded body)."""
        self._ids += 1
        body = p.rpc_body(self._ids, method, params)
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = f"{self.config.origin}/api/v2/{method}"
        ctx = self._context(method, write)
        try:
            async with self._sessions().current().post(url, data=body,
                                                       headers=headers) as response:
                text = await response.text()
                status, answer_headers = response.status, dict(response.headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise error_for_exception(exc, ctx) from exc
        try:
            payload = decode_body(text)
        except (ValueError, RecursionError) as exc:
            if status < 400:
                raise malformed(f"the body is not JSON ({exc})"[:200], ctx) from None
            payload = None  # an HTML error page: the status decides
        return status, answer_headers, payload

    async def _call(self, name: str, method: str, params: Mapping[str, object], *,
                    write: bool = False, order: Order | None = None) -> Any:
        """One logical request (with our retries): the JSON-RPC `result`. `order` marks an
        order creation or edit (of that order): see `_write_route`."""
        if self._closed:
            raise FatalVenueError(f"{VENUE}: venue {self.account!r} is closed", venue=VENUE,
                                  code="closed")
        urgent = self.urgent()
        if not urgent:
            self._gate(name)
        deadline = asyncio.get_running_loop().time() + self.config.timeout_s

        async def attempt() -> Any:
            if order is not None:
                stream = await self._write_route(method, order, deadline)
                if stream is not None:
                    return await self._over_socket(stream, name, method, params, urgent)
            for renewed in (False, True):
                token = await self._access_token(urgent)
                await self._spend(urgent)
                self.count_call(name, urgent=urgent)
                started = time.perf_counter()
                try:
                    status, headers, payload = await self._post(method, params, write=write,
                                                                 token=token)
                except VenueError as lost:
                    self._failed(lost)
                    raise
                self._telemetry.observe_latency(
                    "rest", (time.perf_counter() - started) * 1000, (("endpoint", method),))
                failure = error_for_answer(status, headers, payload,
                                           self._context(method, write))
                if failure is None:
                    self.auth_gate.accepted()
                    return payload["result"]
                if str(failure.code) == str(UNAUTHORIZED) and not renewed:
                    self._token = None  # expired or revoked: one fresh login, then again
                    continue
                self._failed(failure)
                raise failure
            raise AssertionError("unreachable")  # pragma: no cover

        def on_retry(error: BaseException, retry: int, wait_ms: float) -> None:
            log.warning("deribit %s: %s failed (%s); retry %d in %.0f ms", self.account,
                        method, error, retry, wait_ms)

        return await self._retry.call(attempt, sleep=self._sleep, on_retry=on_retry)

    async def _write_route(self, method: str, order: Order,
                           deadline: float) -> DeribitPrivateStream | None:
        """The stream whose socket carries this order creation or edit; None: HTTP.

        Why the socket: Deribit's cancel-on-disconnect (the dead-man's switch) "does not
        affect orders created by other connections": armed with scope `connection` on
        the stream's socket, it covers only the orders created over that socket, never
        those placed over HTTP. Scope `account` is no way out: it only makes "every newly
        opened connection start with active Cancel on Disconnect", so an order is still
        bound to the connection that created it, which for HTTP is a pooled keep-alive
        connection whose close says nothing about us (it would cancel orders whenever
        aiohttp recycles a connection, and protect nothing when it does not); and it is
        an account-wide, persistent setting that would change every other client of the
        account. So with the switch on (`dead_man`, or `set_dead_man_switch`), creations
        and edits ride the socket; reads and cancels stay on HTTP (a cancel needs no
        protection, and the emergency stop's priority lane is the HTTP one). With the
        switch off everything goes over HTTP.

        The socket down (a reconnect in progress): a creation must not silently make an
        unprotected order, so it waits for the socket until `deadline` (the request
        timeout from the call's start) and is then refused with `StreamDownError`
        (transient: nothing was sent; the retry policy tries again until its tries are
        spent, each without a new wait). One exception: an order that cannot rest
        (market, IOC or FOK, without a trigger) has nothing for the switch to protect,
        and goes over HTTP at once: an emergency flatten must not wait for a reconnect.
        Edits follow the same rule as creations."""
        if not self._dead_man_wanted:
            return None
        stream = self._stream
        remaining = deadline - asyncio.get_running_loop().time()
        if stream is not None and (stream.connected
                                   or (not self._cannot_rest(order)
                                       and await stream.wait_connected(remaining))):
            return stream
        if self._cannot_rest(order):
            log.info("deribit %s: %s of %s over HTTP: the stream is down and the order "
                     "cannot rest", self.account, method, order.ident)
            return None
        self._telemetry.count("rest_errors", (("class", "stream_down"),))
        raise StreamDownError(f"{VENUE}: {method} of {order.ident} not sent: with the "
                              "dead-man's switch on, orders are created and edited over the "
                              "private stream, which is not connected; try again once it "
                              "is back", venue=VENUE, code="stream_down")

    @staticmethod
    def _cannot_rest(order: Order) -> bool:
        return order.trigger_price is None and (
            order.type is OrderType.MARKET
            or order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK))

    async def _over_socket(self, stream: DeribitPrivateStream, name: str, method: str,
                           params: Mapping[str, object], urgent: bool) -> Any:
        """One attempt of a write over the stream's socket: charged and counted like an
        HTTP request, its failure classified the same way (a lost answer is an unknown
        outcome, resolved by label by the caller)."""
        await self._credits.spend(urgent=urgent)
        self.count_call(name, urgent=urgent)
        started = time.perf_counter()
        try:
            result = await stream.call(method, params, write=True)
        except VenueError as failure:
            self._failed(failure)
            raise
        self._telemetry.observe_latency(
            "rest", (time.perf_counter() - started) * 1000, (("endpoint", method),))
        self.auth_gate.accepted()
        return result

    def _failed(self, error: VenueError) -> None:
        self._telemetry.count("rest_errors", (("class", error_class(error)),))
        if isinstance(error, SessionTerminatedError):
            self._credits.drain()
            self._token = None
            if self._stream is not None:
                self._stream.restart("Deribit ended the session (10028 on a request)")
        elif refuses_credentials(error):
            self.auth_gate.refused(str(error), source="REST")

    def _gate(self, name: str) -> None:
        try:
            self.auth_gate.check()
        except VenueAuthError as error:
            self._telemetry.count("rest_errors", (("class", error_class(error)),))
            log.debug("deribit %s: %s not sent: %s", self.account, name, error)
            raise

    # -- authentication and credits --------------------------------------------------------

    async def _access_token(self, urgent: bool) -> str:
        token, now = self._token, self._clock_ms()
        margin = int(self.config.token_refresh_margin_s * 1000)
        if token is not None and now < token.expires_at - margin:
            return token.access
        if self._auth_lock is None:
            self._auth_lock = asyncio.Lock()
        async with self._auth_lock:
            token, now = self._token, self._clock_ms()
            if token is not None and now < token.expires_at - margin:
                return token.access
            renewed: _Token | None = None
            if token is not None and now < token.expires_at:
                try:
                    renewed = await self._login({"grant_type": "refresh_token",
                                                 "refresh_token": token.refresh}, urgent)
                except VenueError as exc:
                    log.info("deribit %s: the token refresh failed (%s); logging in again",
                             self.account, type(exc).__name__)
            if renewed is None:
                renewed = await self._login({
                    "grant_type": "client_credentials", "client_id": self._client_id,
                    "client_secret": self._client_secret}, urgent)
            self._token = renewed
            return renewed.access

    async def _login(self, params: Mapping[str, object], urgent: bool) -> _Token:
        await self._spend(urgent)
        self.count_call("auth", urgent=urgent)
        status, headers, payload = await self._post(AUTH, params, write=False, token=None)
        failure = error_for_answer(status, headers, payload, self._context(AUTH, False))
        if failure is not None:
            if not isinstance(failure, VenueAuthError):
                self._failed(failure)
            elif params.get("grant_type") == "client_credentials":
                self.auth_gate.refused(str(failure), source="REST")
            raise failure
        access, refresh, expires_in = self._parsed(p.parse_token, payload["result"], AUTH)
        self._tokens_seen = [*self._tokens_seen[-6:], access, refresh]
        return _Token(access, refresh, self._clock_ms() + expires_in * 1000)

    async def _spend(self, urgent: bool) -> None:
        """Reserve one request's credits; wait (not in the priority lane) until the pool
        covers it above the reserve."""
        await self._credits.spend(urgent=urgent)

    def rate_budget(self) -> RateBudget:
        """The credit estimate (`stream.CREDITS`), the stream's requests included."""
        return self._credits.snapshot()

    async def warm_priority_lane(self) -> None:
        """Open the priority session's connection now (public/test), so that an
        emergency does not pay for it. Failures are only logged."""
        try:
            async with self._sessions().priority.post(
                    f"{self.config.origin}/api/v2/public/test",
                    data=p.rpc_body(0, "public/test", {}),
                    headers={"Content-Type": "application/json"}) as response:
                await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            log.info("deribit %s: warming the priority lane: %s", self.account,
                     type(exc).__name__)

    # -- reads -----------------------------------------------------------------------------

    def _scope(self) -> dict[str, object]:
        return {"currency": self.config.currency, "kind": KIND}

    async def fetch_open_orders(self) -> list[Order]:
        return await self._open_orders("fetch_open_orders")

    async def _open_orders(self, name: str, symbol: str | None = None) -> list[Order]:
        """Every open order (untriggered ones too) of the currency, or of `symbol`."""
        if symbol:
            method = "private/get_open_orders_by_instrument"
            params: dict[str, object] = {"instrument_name": symbol, "type": ORDER_FILTER}
        else:
            method = "private/get_open_orders_by_currency"
            params = {**self._scope(), "type": ORDER_FILTER}
        result = await self._call(name, method, params)
        items = self._parsed(p.as_list, result, method, what=method)
        orders: list[Order] = self._parsed(p.parse_orders, items, method,
                                           account=self.account)
        return orders

    async def fetch_order(self, order: Order) -> Order | None:
        return await self._lookup("fetch_order", order)

    async def _lookup(self, name: str, order: Order) -> Order | None:
        """The venue's view of `order`: by order id, else by its label (the one whose
        parsed client id is exactly ours). A trigger order that has triggered is
        followed to the order it created. None only when Deribit says it knows neither."""
        if order.venue_order_id:
            method = "private/get_order_state"
            try:
                raw = await self._call(name, method, {"order_id": order.venue_order_id})
            except OrderNotFoundError:
                raw = None
            if raw is not None:
                found: Order = self._parsed(p.parse_order, raw, method, account=self.account)
                _, state, _ = self._parsed(p.order_links, raw, method)
                if state == p.TRIGGERED and found.client_order_id:
                    child = await self._by_label(name, found)
                    if child is not None and child.venue_order_id != found.venue_order_id:
                        return child
                return found
        if not order.client_order_id:
            return None
        return await self._by_label(name, order)

    async def _by_label(self, name: str, order: Order) -> Order | None:
        try:
            label = p.wire_label(order)
        except FatalVenueError:
            return None  # no such label can have been sent
        method = "private/get_order_state_by_label"
        result = await self._call(name, method, {"currency": self.config.currency,
                                                 "label": label})
        items = self._parsed(p.as_list, result, method, what=method)
        orders: list[Order] = self._parsed(p.parse_orders, items, method, account=self.account)
        mine = [o for o in orders if o.client_order_id == order.client_order_id]
        if not mine:
            return None
        return max(mine, key=lambda o: (o.is_active, o.updated_at))

    async def fetch_fills(self, since: int, until: int) -> list[Fill]:
        """Fills with since <= exec_time <= until: get_user_trades_by_currency_and_time
        over the whole gap (historical=true when it reaches past Deribit's recent window),
        every page, deduplicated by trade_id. A page continues from its last trade's
        millisecond (inclusive: the repeats are deduplicated), upwards for an ascending
        page, downwards for a descending one."""
        if until < since:
            raise FatalVenueError(f"{VENUE}: fills window ends ({until}) before it starts "
                                  f"({since})", venue=VENUE, code="invalid_request")
        method = "private/get_user_trades_by_currency_and_time"
        historical = since < self._clock_ms() - self.config.recent_trades_ms
        start, end = since, until
        found: dict[str, Fill] = {}
        for _ in range(MAX_PAGES):
            result = await self._call("fetch_fills", method, {
                **self._scope(), "start_timestamp": start, "end_timestamp": end,
                "count": self.config.page_count, "sorting": "asc",
                "historical": historical})
            trades, more = self._parsed(p.trade_page, result, method)
            for raw in trades:
                fill: Fill = self._parsed(p.parse_trade, raw, method, account=self.account)
                if since <= fill.exec_time <= until:
                    found.setdefault(fill.exec_id, fill)
            window = self._next_window(start, end, trades, method) if more and trades \
                else None
            if window is None:
                break
            start, end = window
        else:
            raise malformed(f"more than {MAX_PAGES} pages of trades", self._context(
                method, False))
        return sorted(found.values(), key=lambda f: (f.exec_time, f.exec_id))

    def _next_window(self, start: int, end: int, trades: Sequence[Any],
                     method: str) -> tuple[int, int] | None:
        """The window of the next page (None: nothing is left). An ascending page goes
        on from its last millisecond, a descending one down to it; a page within one
        millisecond moves past that millisecond (a page-full of trades in one
        millisecond is the one case that can hide trades: logged)."""
        first = self._parsed(p.trade_time, trades[0], method)
        last = self._parsed(p.trade_time, trades[-1], method)
        if last > first:
            window = (last, end)
        elif last < first:
            window = (start, last)
        else:
            log.warning("deribit %s: a whole page of trades at %d ms; moving past that "
                        "millisecond", self.account, last)
            window = (start, last - 1) if last == end and last > start else (last + 1, end)
        return window if window[0] <= window[1] else None

    async def fetch_positions(self) -> list[Position]:
        method = "private/get_positions"
        result = await self._call("fetch_positions", method, self._scope())
        items = self._parsed(p.as_list, result, method, what=method)
        now = self._clock_ms()
        positions = [self._parsed(p.parse_position, raw, method, account=self.account,
                                  updated_at=now) for raw in items]
        return [position for position in positions if not position.is_flat]

    async def fetch_balances(self) -> list[Balance]:
        method = "private/get_account_summary"
        result = await self._call("fetch_balances", method,
                                  {"currency": self.config.currency})
        balance: Balance = self._parsed(p.parse_balance, result, method,
                                        account=self.account, updated_at=self._clock_ms())
        return [balance]

    # -- writes ----------------------------------------------------------------------------

    def _check_category(self, category: Category) -> None:
        if category is not self.config.category:
            raise FatalVenueError(f"{VENUE}: this connection trades {self.config.category} "
                                  f"({self.config.currency}), not {category}", venue=VENUE,
                                  code="invalid_request")

    async def place_order(self, order: Order) -> Order:
        """private/buy or private/sell. Deribit accepts any number of orders with one
        label, so it never refuses a client id twice: this connector refuses a client id
        it has already sent (DuplicateClientOrderIdError, no request), which keeps one
        live order per intent when a caller retries a placement instead of resolving it
        (`_resolve` asks Deribit by label after an unknown outcome)."""
        self._check_category(order.category)
        method, params = p.order_params(order)
        cid = order.client_order_id
        if cid:
            if cid in self._placed:
                raise DuplicateClientOrderIdError(
                    f"{VENUE}: client order id {cid!r} was already sent by this connection "
                    "(Deribit would accept a second order with the same label)",
                    venue=VENUE, code="duplicate_label")
            self._placed[cid] = None
            while len(self._placed) > PLACED_KEPT:
                self._placed.popitem(last=False)
        try:
            result = await self._call("place_order", method, params, write=True,
                                      order=order)
        except UnknownOutcomeError as error:
            return keep_ownership(await self._resolve(order, error), order)
        raw = self._parsed(p.order_of, result, method, write=True, what=method)
        view: Order = self._parsed(p.parse_order, raw, method, write=True,
                                   account=self.account)
        return keep_ownership(view, order)

    async def _resolve(self, order: Order, error: UnknownOutcomeError) -> Order:
        """An unknown write: ask for the order by its label. Found: that is the answer.
        Not found (it may still arrive) or not askable: the unknown outcome stands."""
        try:
            found = await self._by_label("place_order", order)
        except VenueError as exc:
            log.warning("deribit %s: order %s has an unknown outcome and could not be "
                        "asked for (%s)", self.account, order.ident, exc)
            raise error from None
        if found is None:
            raise error
        log.info("deribit %s: order %s had an unknown outcome; Deribit has it (%s)",
                 self.account, order.ident, found.status.value)
        return found

    async def amend_order(self, order: Order, *, qty: object = None,
                          price: object = None) -> Order:
        new_qty, new_price = p.decimal_arg(qty, "qty"), p.decimal_arg(price, "price")
        if not order.venue_order_id:  # ours by its label only (an unknown-outcome create)
            found = await self._lookup("amend_order", order)
            if found is None:
                raise OrderNotFoundError(f"{VENUE}: no order has the label of "
                                         f"{order.ident}", venue=VENUE, code="10004")
            order = keep_ownership(found, order)
        method = "private/edit"
        params = p.edit_params(order, qty=new_qty, price=new_price)
        try:
            result = await self._call("amend_order", method, params, write=True,
                                      order=order)
        except UnknownOutcomeError as error:
            current = await self._current(order, error)
            if (new_qty is None or current.qty == new_qty) \
                    and (new_price is None or current.price == new_price):
                return keep_ownership(current, order)
            raise error from None
        except FatalVenueError as error:
            if not self._closed_code(error):
                raise
            raise await self._too_late(order, error) from None
        raw = self._parsed(p.order_of, result, method, write=True, what=method)
        view: Order = self._parsed(p.parse_order, raw, method, write=True,
                                   account=self.account)
        return keep_ownership(view, order)

    async def _current(self, order: Order, error: VenueError) -> Order:
        """The order as Deribit has it now; `error` again when that cannot be said."""
        try:
            current = await self._lookup("amend_order", order)
        except VenueError:
            raise error from None
        if current is None:
            raise error
        return current

    @staticmethod
    def _closed_code(error: VenueError) -> bool:
        return isinstance(error, OrderNotFoundError) or (
            error.code is not None and error.code.isdigit() and int(error.code) in CLOSED_CODES)

    async def _too_late(self, order: Order, error: FatalVenueError) -> VenueError:
        """A refused cancel or edit: what became of the order decides the error."""
        try:
            current = await self._lookup("cancel_order", order)
        except VenueError:
            return error
        if current is None:
            return OrderNotFoundError(f"{error}; Deribit does not know the order",
                                      venue=VENUE, code=error.code)
        if current.status.is_terminal:
            return FatalVenueError(f"{VENUE}: too late for {order.ident}: it is already "
                                   f"{current.status.value} (filled {current.filled_qty})",
                                   venue=VENUE, code=error.code)
        return error

    async def cancel_order(self, order: Order) -> Order:
        target = order
        if not order.venue_order_id:
            found = await self._lookup("cancel_order", order)
            if found is None:
                raise OrderNotFoundError(f"{VENUE}: no order has the label of "
                                         f"{order.ident}", venue=VENUE, code="10004")
            target = found
        view = await self._cancel(target, follow=True)
        return keep_ownership(view, order)

    async def _cancel(self, order: Order, *, follow: bool) -> Order:
        method = "private/cancel"
        try:
            result = await self._call("cancel_order", method,
                                      {"order_id": order.venue_order_id}, write=True)
        except UnknownOutcomeError as error:
            current = await self._current(order, error)
            return current.evolve(status=OrderStatus.PENDING_CANCEL) if current.is_active \
                else current
        except FatalVenueError as error:
            if not self._closed_code(error):
                raise
            current = None
            try:
                current = await self._lookup("cancel_order", order)
            except VenueError:
                raise error from None
            if follow and current is not None and current.is_active \
                    and current.venue_order_id != order.venue_order_id:
                return await self._cancel(current, follow=False)  # the triggered child
            raise await self._too_late(order, error) from None
        view: Order = self._parsed(p.parse_order, result, method, write=True,
                                   account=self.account)
        return view

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        """Every open order of the currency (or of `symbol`) cancelled in one request
        (private/cancel_all_by_currency or _by_instrument, type all: trigger orders too),
        which answers with a count only. So the open orders are listed before and after:
        those gone are reported CANCELLED as listed (one that filled in between is
        corrected by its stream push and the reconciliation that ends a stop), those
        still open are reported as they are, never assumed cancelled."""
        self._check_category(category)
        before = await self._open_orders("cancel_all", symbol)
        if symbol:
            method = "private/cancel_all_by_instrument"
            params: dict[str, object] = {"instrument_name": symbol, "type": ORDER_FILTER}
        else:
            method = "private/cancel_all_by_currency"
            params = {**self._scope(), "type": ORDER_FILTER}
        result = await self._call("cancel_all", method, params, write=True)
        count = self._parsed(p.as_count, result, method, write=True, what=method)
        after = await self._open_orders("cancel_all", symbol)
        still = {o.venue_order_id for o in after}
        now = self._clock_ms()
        gone = [o.evolve(status=OrderStatus.CANCELLED, updated_at=max(now, o.updated_at))
                for o in before if o.venue_order_id not in still]
        if after:
            log.warning("deribit %s: %d order(s) still open after cancelling %d", self.account,
                        len(after), count)
        return gone + after

    # -- dead-man's switch -----------------------------------------------------------------

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        """Deribit's switch is cancel-on-disconnect (scope connection) on the stream's
        socket: armed, it cancels this connection's orders when the socket closes, its
        heartbeat fails or it idles 10 min. It has no timeout of its own: the state
        reports the heartbeat interval as `timeout_ms` (how long silence lasts before
        Deribit notices). None disarms it; either choice holds across reconnects."""
        if timeout_ms is not None and timeout_ms <= 0:
            raise FatalVenueError(f"{VENUE}: dead-man's switch timeout {timeout_ms} ms must "
                                  "be positive (None disarms it)", venue=VENUE,
                                  code="invalid_request")
        self._dead_man_wanted = timeout_ms is not None
        method = "private/enable_cancel_on_disconnect" if timeout_ms is not None \
            else "private/disable_cancel_on_disconnect"
        try:
            if self._stream is None:
                raise FatalVenueError(f"{VENUE}: the dead-man's switch rides the private "
                                      "stream, which is not running", venue=VENUE,
                                      code="no_stream")
            await self._credits.spend(urgent=self.urgent())
            self.count_call("set_dead_man_switch", urgent=self.urgent())
            await self._stream.call(method, {"scope": "connection"})
        except VenueError as exc:
            self._dead_man_failed(exc)
            raise
        self._dead_man_changed(timeout_ms is not None, None)
        assert self._dead_man is not None
        return self._dead_man

    def dead_man_state(self) -> DeadManState | None:
        return self._dead_man

    def _dead_man_changed(self, armed: bool, error: BaseException | None) -> None:
        """The stream's report (or our own request's): armed, disarmed, or failed."""
        if error is not None:
            self._dead_man_failed(error)
            return
        self._dead_man = DeadManState(
            armed=armed, timeout_ms=self.config.heartbeat_s * 1000 if armed else None,
            refreshed_at=self._clock_ms())

    def _dead_man_failed(self, exc: BaseException) -> None:
        """Say why the last attempt failed (class and code only: the window shows it)."""
        code = "".join(ch for ch in str(getattr(exc, "code", None) or "")
                       if ch.isascii() and (ch.isalnum() or ch in "-_"))[:24]
        reason = f"{type(exc).__name__} {code}".strip()[:MAX_ERROR_CHARS]
        previous = self._dead_man or DeadManState(armed=False)
        if type(exc).__name__ == "ConnectionLost":
            previous = DeadManState(armed=False)  # the switch fired with the connection
        self._dead_man = replace(previous, last_error=reason)

    # -- stream and lifecycle --------------------------------------------------------------

    async def stream(self) -> AsyncGenerator[VenueEvent, None]:
        """Private events and connection states until the generator is closed (see
        `stream.DeribitPrivateStream`)."""
        private = DeribitPrivateStream(
            self.config, self._client_id, self._client_secret, telemetry=self._telemetry,
            clock_ms=self._clock_ms, profile=self.profile, on_refused=self._stream_refused,
            on_connected=self.auth_gate.accepted, dead_man=lambda: self._dead_man_wanted,
            on_dead_man=self._dead_man_changed, credits=self._credits)
        self._stream = private
        events = private.events()
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()
            if self._stream is private:
                self._stream = None

    def _stream_refused(self, refusal: ConnectRefused) -> None:
        """A refused stream login refuses the credentials for requests too."""
        if isinstance(refusal, AuthRefused):
            self.auth_gate.refused(str(refusal), source="stream login")

    async def aclose(self) -> None:
        """Close both HTTP sessions (the stream's socket closes with its generator: its
        cancel-on-disconnect, if armed, then does what it is for)."""
        if self._closed:
            return
        self._closed = True
        if self._lanes is not None:
            sessions = {id(s): s for s in (self._lanes.normal, self._lanes.priority)}
            await asyncio.gather(*(s.close() for s in sessions.values()),
                                 return_exceptions=True)
