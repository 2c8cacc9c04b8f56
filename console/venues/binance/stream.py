"""Binance's private user-data stream (USD-M futures and spot) under the shared
reconnecting supervisor (`console.venues._common.supervisor`: it rebuilds a lost
connection with backoff and reports `ConnectionEvent(reconnected=True)`, on which the
engine reconciles and back-fills fills; see docs/architecture.md).

Why it is built this way: every way Binance ends a feed (a lost socket, an expired
listenKey, an ended subscription, the 24 h cut) becomes one thing here, a supervisor
reconnect. So each gap ends in `CONNECTED(reconnected=True)` and a reconciliation that
reads back what the gap hid (peers lose those fills: nautilus_trader#3861), and there is
only ever one socket: the old one is closed before the new one opens, so events are
never delivered twice over.

USD-M futures (`Category.LINEAR`): a listenKey.
* Each connection starts with `ListenKeyCalls.create()` (POST /fapi/v1/listenKey), which
  returns the account's live key extended by 60 min, or a new key when the old one died:
  a reconnect after any downtime holds a live key, and key rotation is nothing but a
  reconnect. The socket is `<ws_private_url>?listenKey=<key>`.
* While connected, the key is kept alive every `listen_key_keepalive_s` (PUT). A
  keepalive answered -1125 (the key is dead) ends the connection, and the reconnect gets
  a new key. Any other failure is retried sooner with the same key; should the key's
  lifetime run out first, the connection is ended the same way. The key is a value
  bound to its connection and never cleared, so a failed keepalive cannot leave the
  stream keyless (ccxt#9856).
* `listenKeyExpired` for our key ends the connection (nothing more comes on it); one
  naming another key (it can come twice: cryptoxlib-aio#68) is dropped.

Spot (`Category.SPOT`, whose listenKeys Binance retired): the WebSocket API.
* The socket is `ws_private_url` (`.../ws-api/v3`); the subscription is
  `userDataStream.subscribe.signature` {apiKey, recvWindow, timestamp, signature}, the
  signature being the HMAC-SHA256 hex of the params sorted by name and joined as
  `name=value&...` (no percent-encoding on the WS API).
* An answer with an auth code (-2014, -2015, -1022, -1021) is `AuthRefused`: DOWN, the
  supervisor's long backoff, and the connector's auth gate hears of it (`on_refused`);
  429/-1003 and 5xx are retried soon; any other refusal waits the long backoff.
* Pushes are `{"subscriptionId", "event"}`; `eventStreamTerminated` (the subscription
  ended) and `serverShutdown` end the connection, so the reconnect subscribes again.

Both markets:
* A connection is closed and rebuilt at `ws_max_age_s`, before Binance's 24 h cut.
* A connection that ends within `SHORT_LIVED_S` makes the next attempt wait a backoff
  first, and a rate-limited listenKey call waits its Retry-After: a venue that takes a
  socket and drops it at once is not met with a tight loop of REST calls (nor an IP ban).
* Every other push goes through `parsing.parse_futures_event` / `parse_spot_event`; one
  that cannot be parsed is logged (scrubbed, at most 200 characters), counted
  (ws_malformed) and skipped: the next push may be a fill.
* The API key, the secret and the listenKeys in use are scrubbed from every text logged
  or raised: a listenKey opens the account's private feed to whoever holds it.
* The listenKey is not deleted when the stream closes: Binance hands the same key to
  every client of the account (another console on it would lose its feed), and a key
  left alone expires within the hour.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import random
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import replace
from functools import partial
from typing import Any, Final, Protocol
from urllib.parse import quote

import aiohttp

from console.domain.enums import Category
from console.domain.events import (
    BalanceEvent,
    FillEvent,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.errors import (
    ConfigError,
    FatalVenueError,
    MalformedVenueDataError,
    RateLimitedError,
    VenueError,
)
from console.venues._common.errors import VenueAuthError, profile_label, scrub
from console.venues._common.supervisor import (
    AuthRefused,
    ConnectionLost,
    ConnectRefused,
    Received,
    ReconnectPolicy,
    RetryConnect,
    StreamSupervisor,
)
from console.venues._common.websocket import WebSocketConnection, open_websocket
from console.venues.binance.config import BinanceConfig
from console.venues.binance.parsing import parse_futures_event, parse_spot_event

log = logging.getLogger(__name__)

VENUE: Final = "binance"
HEARTBEAT_S: Final = 20.0
"""aiohttp pings this often and drops a socket whose pong does not come (Binance pings
too, every 20 s on the WS API, and answers our pings)."""
LISTEN_KEY_TTL_S: Final = 3600.0
"""A listenKey lives 60 min after its creation or its last keepalive."""
KEEPALIVE_RETRY_MAX_S: Final = 60.0
"""After a failed keepalive, the next try comes at most this much later."""
DEAD_LISTEN_KEY_CODE: Final = "-1125"
SUBSCRIBE_METHOD: Final = "userDataStream.subscribe.signature"
AUTH_CODES: Final = frozenset({-2014, -2015, -1022, -1021})
"""Bad key format, bad key/IP/permissions, bad signature, timestamp outside recvWindow."""
RETRY_CODES: Final = frozenset({-1003, -1008})
"""Too many requests, server busy: another attempt soon may work."""
EARLY_MAX: Final = 100
"""Pushes kept while waiting for the subscription's answer (delivered after it)."""
QUOTE_MAX: Final = 200
KEYS_REMEMBERED: Final = 8
RATE_LIMIT_WAIT_MAX_S: Final = 900.0
SHORT_LIVED_S: Final = 10.0
"""A connection that ends sooner than this makes the next one wait a backoff first: a
venue that accepts a socket and ends it at once (a refused key, a subscription ended
on arrival) must not be met with a tight loop of listenKey calls and connections."""
FUTURES_EVENTS: Final = frozenset({
    "ORDER_TRADE_UPDATE", "TRADE_LITE", "ACCOUNT_UPDATE", "ACCOUNT_CONFIG_UPDATE",
    "ALGO_UPDATE", "MARGIN_CALL", "CONDITIONAL_ORDER_TRIGGER_REJECT", "STRATEGY_UPDATE",
    "GRID_UPDATE"})
SPOT_EVENTS: Final = frozenset({
    "executionReport", "outboundAccountPosition", "balanceUpdate", "listStatus",
    "externalLockUpdate"})


class ListenKeyCalls(Protocol):
    """USD-M's listenKey REST calls (the connector implements them over ccxt). Failures
    raise the connector's typed errors (`console.errors`): a dead key at `keepalive` is
    a `VenueError` whose `code` is "-1125"; refused credentials are `VenueAuthError`."""

    async def create(self) -> str:
        """POST /fapi/v1/listenKey: the account's live key (extended) or a new one."""
        ...

    async def keepalive(self, key: str) -> None:
        """PUT /fapi/v1/listenKey: another 60 min for `key`."""
        ...

    async def close(self, key: str) -> None:
        """DELETE /fapi/v1/listenKey (the stream itself never calls it: see above)."""
        ...


def is_dead_listen_key(exc: BaseException) -> bool:
    """The keepalive's answer "This listenKey does not exist." (-1125)."""
    return isinstance(exc, VenueError) and str(exc.code) == DEAD_LISTEN_KEY_CODE


def sign_ws_api(params: Mapping[str, object], secret: str) -> str:
    """Binance's WS-API HMAC signature: the params sorted by name, `name=value` joined
    with `&`, UTF-8, hex digest (its docs' example checks this: tests)."""
    payload = "&".join(f"{name}={value}" for name, value in sorted(params.items()))
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def key_label(key: str) -> str:
    """How logs tell listenKeys apart without showing one."""
    return "key#" + hashlib.sha256(key.encode()).hexdigest()[:8]


def _event_label(message: object, *, spot: bool) -> str:
    """The telemetry label of a push: a known event name, else "other" (a label taken
    from venue text could be anything, of any length)."""
    body = message.get("event") if spot and isinstance(message, Mapping) else message
    kind = body.get("e") if isinstance(body, Mapping) else None
    known = SPOT_EVENTS if spot else FUTURES_EVENTS
    return kind if isinstance(kind, str) and kind in known else "other"


def _stamped(event: VenueEvent, at: int) -> VenueEvent:
    """The local arrival time on events the parser left unstamped."""
    if isinstance(event, OrderEvent | FillEvent | PositionEvent | BalanceEvent) \
            and not event.received_at:
        return replace(event, received_at=at)
    return event


Screen = Callable[[Any], bool]
"""A connection's look at each raw message before it is queued: True delivers it, False
drops it (an answer to our own request), `ConnectionLost` ends the connection (a control
event saying the feed is over)."""


class _Session:
    """One open socket and its deadlines: messages flow until the socket is lost, a
    control event ends it (`Screen`) or `stop` is called (the max-age timer, a watcher
    such as the keepalive). Stopping wins over a socket still open: the supervisor
    closes it and builds the next one."""

    def __init__(self, socket: WebSocketConnection, screen: Screen, *, max_age_s: float,
                 early: list[Received] | None = None) -> None:
        loop = asyncio.get_running_loop()
        self._socket = socket
        self._screen = screen
        self._early = early or []
        self._stopped: asyncio.Future[str] = loop.create_future()
        self._opened = loop.time()
        self._closed: float | None = None
        self._timer = loop.call_later(
            max_age_s, self.stop, f"the connection reached its age limit ({max_age_s:g} s);"
            " reconnecting before Binance cuts it")
        self._watchers: list[asyncio.Task[None]] = []

    def lived_s(self) -> float:
        """How long the connection lived (so far, while open)."""
        end = self._closed if self._closed is not None else asyncio.get_running_loop().time()
        return end - self._opened

    def stop(self, reason: str) -> None:
        if not self._stopped.done():
            self._stopped.set_result(reason)

    def watch(self, watcher: Coroutine[Any, Any, None], name: str) -> None:
        self._watchers.append(asyncio.create_task(watcher, name=name))

    async def messages(self) -> AsyncIterator[Received]:
        for received in self._early:
            if self._screen(received.message):
                yield received
        self._early = []
        frames = self._socket.messages()
        pending: asyncio.Task[Received | None] | None = None
        try:
            while True:
                pending = asyncio.create_task(_next(frames))
                await asyncio.wait((pending, self._stopped),
                                   return_when=asyncio.FIRST_COMPLETED)
                if not pending.done():
                    raise ConnectionLost(self._stopped.result())
                frame, pending = pending.result(), None
                if frame is None:
                    return
                if self._screen(frame.message):
                    yield frame
        finally:
            if pending is not None:
                pending.cancel()
                await asyncio.wait((pending,))
                if not pending.cancelled():
                    pending.exception()  # retrieved: a loss racing the stop
            if isinstance(frames, AsyncGenerator):
                await frames.aclose()

    async def close(self) -> None:
        self.stop("closed")
        if self._closed is None:
            self._closed = asyncio.get_running_loop().time()
        self._timer.cancel()
        for watcher in self._watchers:
            watcher.cancel()
        await asyncio.gather(*self._watchers, return_exceptions=True)
        await self._socket.close()


async def _next(frames: AsyncIterator[Received]) -> Received | None:
    try:
        return await anext(frames)
    except StopAsyncIteration:
        return None


class BinancePrivateStream:
    """One supervised user-data connection; `events()` is the VenuePort stream."""

    def __init__(self, config: BinanceConfig, api_key: str, api_secret: str, *,
                 listen_keys: ListenKeyCalls | None = None,
                 telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] | None = None,
                 profile: str = "",
                 clock_offset_ms: Callable[[], int] = lambda: 0,
                 policy: ReconnectPolicy | None = None,
                 sleep: Callable[[float], Any] = asyncio.sleep,
                 rand: Callable[[], float] = random.random,
                 on_refused: Callable[[ConnectRefused], None] | None = None,
                 on_connected: Callable[[], None] | None = None,
                 listen_key_ttl_s: float = LISTEN_KEY_TTL_S) -> None:
        if config.market not in (Category.SPOT, Category.LINEAR):
            raise ConfigError(f"{VENUE}: no private stream for market {config.market}")
        if config.market is Category.LINEAR and listen_keys is None:
            raise ConfigError(f"{VENUE}: the USD-M user-data stream needs listenKey calls")
        self.config = config
        self.profile = profile
        self.policy = policy or ReconnectPolicy(
            refused_base_ms=config.auth_retry_base_ms, refused_max_ms=config.auth_retry_max_ms)
        self._api_key = api_key
        self._api_secret = api_secret
        self._listen_keys = listen_keys
        self._telemetry = telemetry
        self._clock_ms = clock_ms or (lambda: time.time_ns() // 1_000_000)
        self._clock_offset_ms = clock_offset_ms
        self._sleep = sleep
        self._rand = rand
        self._on_refused = on_refused
        self._on_connected = on_connected
        self._ttl_s = listen_key_ttl_s
        self._spot = config.market is Category.SPOT
        self._keys: deque[str] = deque(maxlen=KEYS_REMEMBERED)
        """The listenKeys used lately, newest last: scrubbed from every text."""
        self._last: _Session | None = None
        self._short_lived = 0

    def __repr__(self) -> str:
        return (f"BinancePrivateStream(account={self.config.account!r}, "
                f"market={self.config.market.value!r}, profile={self.profile!r})")

    async def events(self) -> AsyncGenerator[VenueEvent, None]:
        supervisor = StreamSupervisor(
            self._connect, self._parse, venue=VENUE, account=self.config.account,
            policy=self.policy, telemetry=self._telemetry, clock_ms=self._clock_ms,
            sleep=self._sleep, rand=self._rand, scrub=self._scrub,
            on_refused=self._on_refused, on_connected=self._on_connected)
        events = supervisor.events()
        try:
            async for event in events:
                yield event
        finally:
            await events.aclose()

    async def _connect(self, generation: int) -> _Session:
        """One connection; after one that ended early, a backoff first (`SHORT_LIVED_S`)."""
        last, self._last = self._last, None
        if last is not None and last.lived_s() < SHORT_LIVED_S:
            self._short_lived += 1
            await self._sleep(self.policy.backoff_s(self._short_lived, self._rand))
        elif last is not None:
            self._short_lived = 0
        if self._spot:
            session = await self._connect_spot(generation)
        else:
            session = await self._connect_futures(generation)
        self._last = session
        return session

    # -- USD-M: the listenKey --------------------------------------------------------------

    async def _connect_futures(self, generation: int) -> _Session:
        key = await self._create_key()
        refreshed = asyncio.get_running_loop().time()
        url = self.config.ws_private_url
        separator = "&" if "?" in url else "?"
        socket = await self._open(f"{url}{separator}listenKey={quote(key, safe='')}")
        session = _Session(socket, partial(self._screen_futures, key),
                           max_age_s=self.config.ws_max_age_s)
        session.watch(self._keep_alive(session, key, refreshed),
                      name=f"{VENUE}-listen-key-{self.config.account}-{generation}")
        return session

    async def _create_key(self) -> str:
        """A live listenKey, or the supervisor's verdict on why there is none."""
        assert self._listen_keys is not None  # checked at construction
        try:
            key = await self._listen_keys.create()
        except VenueAuthError as exc:
            raise AuthRefused(
                f"{VENUE}: the listenKey was refused ({self._quoted(exc)}): check the API "
                f"key of {profile_label(self.profile)} and its futures permission") from exc
        except MalformedVenueDataError as exc:
            raise RetryConnect(f"creating a listenKey: {self._quoted(exc)}") from exc
        except RateLimitedError as exc:  # honour Retry-After (an IP ban lasts minutes)
            wait_s = min(RATE_LIMIT_WAIT_MAX_S, (exc.retry_after_ms or 0) / 1000)
            log.warning("%s %s: creating a listenKey was rate limited (%s); waiting %.0f s",
                        VENUE, self.config.account, self._quoted(exc), wait_s)
            await self._sleep(wait_s)
            raise RetryConnect(f"creating a listenKey: {self._quoted(exc)}") from exc
        except FatalVenueError as exc:
            raise ConnectRefused(f"{VENUE}: the listenKey was refused: "
                                 f"{self._quoted(exc)}") from exc
        except (VenueError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise RetryConnect(f"creating a listenKey failed: {self._quoted(exc)}") from exc
        if not isinstance(key, str) or not key:
            raise RetryConnect("creating a listenKey: the answer held no key")
        previous = self._keys[-1] if self._keys else None
        if key != previous:
            self._keys.append(key)
            if previous is not None:
                log.info("%s %s: a new listenKey (%s) replaces %s", VENUE,
                         self.config.account, key_label(key), key_label(previous))
        return key

    def _screen_futures(self, key: str, message: Any) -> bool:
        if not isinstance(message, Mapping) or message.get("e") != "listenKeyExpired":
            return True
        named = message.get("listenKey")
        if isinstance(named, str) and named != key:
            log.info("%s %s: listenKeyExpired for another key (%s) ignored; this "
                     "connection's is %s", VENUE, self.config.account, key_label(named),
                     key_label(key))
            return False
        raise ConnectionLost(f"the listenKey expired ({key_label(key)}); reconnecting "
                             "with a new one")

    async def _keep_alive(self, session: _Session, key: str, refreshed: float) -> None:
        """Keep `key` alive while its connection lives; end the connection when the key
        is dead (-1125) or its lifetime runs out before a keepalive succeeds. Every
        failure is caught: this task must not die while the connection goes on."""
        assert self._listen_keys is not None
        loop = asyncio.get_running_loop()
        every = self.config.listen_key_keepalive_s
        retry = min(KEEPALIVE_RETRY_MAX_S, every / 4)
        due = refreshed + every
        while True:
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                await self._listen_keys.keepalive(key)
            except Exception as exc:  # noqa: BLE001 - keep the key, or end the connection
                why = self._quoted(f"{type(exc).__name__}: {exc}")
                self._telemetry.count("ws_keepalive_errors", (("venue", VENUE),))
                if is_dead_listen_key(exc):
                    session.stop(f"the listenKey is dead ({key_label(key)}, -1125 at its "
                                 "keepalive); reconnecting with a new one")
                    return
                if loop.time() + retry >= refreshed + self._ttl_s:
                    session.stop(f"the listenKey could not be kept alive ({why}); "
                                 "reconnecting with a new one")
                    return
                log.warning("%s %s: listenKey keepalive failed (%s); trying again in "
                            "%.3g s", VENUE, self.config.account, why, retry)
                due = loop.time() + retry
            else:
                refreshed = loop.time()
                due = refreshed + every

    # -- spot: the WebSocket API subscription ----------------------------------------------

    async def _connect_spot(self, generation: int) -> _Session:
        socket = await self._open(self.config.ws_private_url)
        try:
            subscription, early = await self._subscribe(socket, generation)
        except BaseException:
            await asyncio.shield(socket.close())
            raise
        log.debug("%s %s: subscribed to the user-data stream (subscription %d)", VENUE,
                  self.config.account, subscription)
        return _Session(socket, self._screen_spot, max_age_s=self.config.ws_max_age_s,
                        early=early)

    async def _subscribe(self, socket: WebSocketConnection,
                         generation: int) -> tuple[int, list[Received]]:
        """Send the signed subscription and wait for its answer; pushes arriving before
        it are kept for delivery after it."""
        request_id = f"recon-subscribe-{generation}"
        params: dict[str, object] = {
            "apiKey": self._api_key, "recvWindow": self.config.recv_window_ms,
            "timestamp": self._clock_ms() + self._clock_offset_ms()}
        params["signature"] = sign_ws_api(params, self._api_secret)
        timeout = self.config.timeout_s
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        early: list[Received] = []
        try:
            await socket.send_json({"id": request_id, "method": SUBSCRIBE_METHOD,
                                    "params": params})
            while (remaining := deadline - loop.time()) > 0:
                message = await socket.receive(remaining)
                if isinstance(message, Mapping) and message.get("id") == request_id:
                    return self._subscribed(message), early
                if len(early) < EARLY_MAX:
                    early.append(Received(message, self._clock_ms()))
        except (ConnectionLost, aiohttp.ClientError, OSError) as exc:
            raise RetryConnect(f"the connection failed during the subscription: "
                               f"{self._quoted(exc)}") from exc
        raise RetryConnect(f"no answer to the subscription within {timeout:g} s")

    def _subscribed(self, answer: Mapping[str, Any]) -> int:
        """The subscription id of an accepted answer; otherwise why not, as the
        supervisor's verdict."""
        status = answer.get("status")
        if status == 200:
            result = answer.get("result")
            sid = result.get("subscriptionId") if isinstance(result, Mapping) else None
            if isinstance(sid, int) and not isinstance(sid, bool):
                return sid
            raise RetryConnect("the subscription's answer carried no subscriptionId")
        error = answer.get("error")
        error = error if isinstance(error, Mapping) else {}
        code = error.get("code")
        what = (f"{SUBSCRIBE_METHOD} refused (status {self._quoted(status)}, code "
                f"{self._quoted(code)}: {self._quoted(error.get('msg', ''))})")
        if code in AUTH_CODES or status == 401:
            raise AuthRefused(f"{VENUE}: the user-data subscription was refused ({what}): "
                              f"check the API key/secret of {profile_label(self.profile)} "
                              "and the system clock")
        if status == 429 or code in RETRY_CODES \
                or (isinstance(status, int) and status >= 500):
            raise RetryConnect(what)
        raise ConnectRefused(f"{VENUE}: {what}")

    def _screen_spot(self, message: Any) -> bool:
        """Answers to requests are dropped; an ended subscription or a server going down
        ends the connection (whatever its subscriptionId: there is one per connection,
        and a needless reconnect costs one reconciliation, a missed end the feed)."""
        if not isinstance(message, Mapping):
            return True
        event = message.get("event")
        if not isinstance(event, Mapping):
            if "id" in message and "status" in message:
                log.debug("%s %s: an answer to request %.40r ignored", VENUE,
                          self.config.account, message.get("id"))
                return False
            return True
        kind = event.get("e")
        if kind == "eventStreamTerminated":
            raise ConnectionLost("the user-data subscription ended (eventStreamTerminated);"
                                 " subscribing again")
        if kind == "serverShutdown":
            raise ConnectionLost("the server is shutting down (serverShutdown)")
        return True

    # -- both ------------------------------------------------------------------------------

    async def _open(self, url: str) -> WebSocketConnection:
        return await open_websocket(url, heartbeat_s=HEARTBEAT_S,
                                    timeout_s=self.config.timeout_s,
                                    clock_ms=self._clock_ms, scrub=self._scrub)

    def _parse(self, received: Received) -> list[VenueEvent]:
        """One push as domain events. A push that cannot be parsed is logged without its
        content (a venue's text may be anything), counted and skipped."""
        message = received.message
        label = _event_label(message, spot=self._spot)
        account = self.config.account
        try:
            if not isinstance(message, Mapping):
                raise MalformedVenueDataError(
                    f"{VENUE}: a push that is not a JSON object ({type(message).__name__})")
            body: Any = message.get("event") if self._spot else message
            if not isinstance(body, Mapping):
                raise MalformedVenueDataError(f"{VENUE}: a push without an `event` object")
            parse = parse_spot_event if self._spot else parse_futures_event
            events = parse(body, venue=VENUE, account=account)
        except MalformedVenueDataError as exc:
            log.warning("%s %s: dropped a private-stream push (%s): %s", VENUE, account,
                        label, self._quoted(exc))
            self._telemetry.count("ws_malformed", (("event", label),))
            return []
        created = body.get("E")
        if isinstance(created, int) and not isinstance(created, bool) and created > 0:
            latency = received.received_at + self._clock_offset_ms() - created
            self._telemetry.observe_latency("ws", float(max(0, latency)), (("event", label),))
        return [_stamped(e, received.received_at) for e in events if self._in_scope(e)]

    def _in_scope(self, event: VenueEvent) -> bool:
        """Orders, fills and positions of the configured symbols (all when none are
        configured); balances are account-wide."""
        symbols = self.config.symbols
        if not symbols:
            return True
        if isinstance(event, OrderEvent):
            return event.order.symbol in symbols
        if isinstance(event, FillEvent):
            return event.fill.symbol in symbols
        if isinstance(event, PositionEvent):
            return event.position.symbol in symbols
        return True

    def _scrub(self, text: str) -> str:
        return scrub(text, (self._api_secret, self._api_key, *self._keys))

    def _quoted(self, value: object) -> str:
        """Venue or library text fit for a log line: scrubbed, control characters
        escaped, at most `QUOTE_MAX` characters."""
        return repr(self._scrub(str(value)))[1:-1][:QUOTE_MAX]

