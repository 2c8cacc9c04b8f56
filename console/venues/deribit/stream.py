"""Deribit's private stream: one authenticated JSON-RPC WebSocket under the shared
reconnecting supervisor (`console.venues._common.supervisor`: a lost connection is
rebuilt with backoff and reported as `ConnectionEvent(reconnected=True)`, on which the
engine reconciles; see docs/architecture.md).

Each connection, in order:
1. `public/auth` (client_credentials): every connection authenticates afresh, so a
   reconnect is a re-auth. Refused credentials are `AuthRefused` (the supervisor's long
   backoff, and the connector's auth gate hears of it); another refusal is
   `ConnectRefused`; a failure to talk at all is `RetryConnect`.
2. `public/set_heartbeat` {interval}: Deribit then sends `test_request`s, each answered
   with `public/test` at once (an unanswered one makes Deribit close the socket, and with
   cancel-on-disconnect cancel our orders). Silence from Deribit for two intervals (plus
   the request timeout) ends the connection here: a server that stopped talking is a
   reconnect, never a quiet stream.
3. With the dead-man's switch on: `private/enable_cancel_on_disconnect` {scope:
   connection}; its success or failure is reported to the connector
   (`on_dead_man`), which shows it (`dead_man_state`); a failure does not end the stream.
4. `private/subscribe` to `user.changes.future.<currency>.raw` (orders, trades and
   positions in one feed) and `user.portfolio.<currency>` (balances). A channel missing
   from the answer is a refusal.

While connected, the access token is refreshed (`refresh_token` grant) before it expires;
a failed refresh ends the connection (the next one authenticates afresh). The connector
may make requests over the live connection (`call`: the dead-man's switch is bound to
it, and so are the orders created on it: with the switch on, the connector places and
edits its orders here), wait for one (`wait_connected`) and end it (`restart`: after a
10028 on HTTP, Deribit ended the session).

Credits. Deribit charges every request of the account to one credit pool, whatever
carries it: the socket's login, heartbeat answers, subscriptions and token refreshes
too. `CreditKeeper` is that pool as estimated here, one per connector, shared by the
client's HTTP requests and this stream's: each handshake step (so every reconnect and
resubscribe) waits for its credits like an ordinary request, and a 10028 answered on the
socket drains the estimate, so the reconnect that follows waits for the pool to refill
instead of meeting 10028 again.

Pushes go through `parsing.parse_notification`; one that cannot be parsed is logged
(scrubbed, bounded), counted (ws_malformed) and skipped. The client secret, the client
id and every token in use are scrubbed from whatever is logged or raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Mapping,
)
from typing import Any, Final

import aiohttp

from console.domain.capabilities import RateBudget
from console.domain.events import VenueEvent
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.errors import (
    FatalVenueError,
    MalformedVenueDataError,
    TransientVenueError,
    UnknownOutcomeError,
    VenueError,
)
from console.venues._common.budget import BudgetKeeper
from console.venues._common.clock import wall_clock_ms
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
from console.venues.deribit.config import KIND, DeribitConfig
from console.venues.deribit.errors import (
    VENUE,
    ErrorContext,
    SessionTerminatedError,
    decode_frame,
    error_for_code,
    refuses_credentials,
    rpc_error,
)
from console.venues.deribit.parsing import parse_notification, parse_token, rpc_body

log = logging.getLogger(__name__)

PING_S: Final = 20.0
"""aiohttp's own WebSocket ping (a dead TCP connection is noticed without Deribit)."""
QUOTE_MAX: Final = 200
TOKENS_REMEMBERED: Final = 8
MIN_REFRESH_S: Final = 1.0


CREDITS: Final = "credits"
"""The one budget (`rate_budget`): Deribit's credit pool as estimated here."""


def channels(currency: str) -> tuple[str, ...]:
    return (f"user.changes.{KIND}.{currency}.raw", f"user.portfolio.{currency}")


class StreamDownError(TransientVenueError):
    """A request that must ride the private stream's connection (with the dead-man's
    switch on: order creations and edits) found none within the wait: nothing was sent,
    try again once the stream is back."""


class NotSent(ConnectionLost):
    """The connection was gone before the request could be written: nothing was sent."""


class CreditKeeper:
    """Deribit's credit pool of one account as estimated here (see the module docstring),
    shared by every request the connector makes, over HTTP or over the socket.

    `take` reserves one request's cost and says how long to wait until the pool covers
    it; reservations may run the estimate below zero, so concurrent callers queue behind
    each other rather than all at once. The estimate is kept in thousandths of a credit,
    so a slow refill is never lost to rounding between close requests.

    Reserve. An ordinary request waits until the pool holds its cost above `reserve`
    credits (a tenth of the pool by default): only the priority lane (the emergency stop)
    and heartbeat answers, which never wait, may spend it. So a burst of the engine's own
    never leaves the emergency stop facing an empty pool (an empty pool is 10028, and
    10028 ends the session), and the estimate's error (other clients of the account, the
    venue's own timing) is absorbed before it reaches zero."""

    def __init__(self, config: DeribitConfig, *, clock_ms: Callable[[], int] = wall_clock_ms,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 telemetry: Telemetry = NULL_TELEMETRY) -> None:
        self.pool = config.credit_pool
        self.refill_per_s = config.credit_refill_per_s
        self.cost = config.credit_cost
        self.reserve = config.reserved_credits
        self.max_wait_ms = config.retry_max_ms
        self._clock_ms = clock_ms
        self._sleep = sleep
        self._telemetry = telemetry
        self._budgets = BudgetKeeper(VENUE, config.account, max_wait_ms=config.retry_max_ms,
                                     local_ms=clock_ms, sleep=sleep, telemetry=telemetry)
        self._milli = self.pool * 1000
        self._at = clock_ms()

    def _level_milli(self, now: int) -> int:
        return min(self.pool * 1000, self._milli + max(0, now - self._at) * self.refill_per_s)

    def level(self, now: int | None = None) -> int:
        """Credits left in the estimate (negative: reserved ahead of the refill)."""
        return self._level_milli(self._clock_ms() if now is None else now) // 1000

    def take(self, *, urgent: bool = False) -> int:
        """Reserve one request's cost; the milliseconds to wait before sending it (0 for
        an urgent request, which may spend the reserve)."""
        now = self._clock_ms()
        self._milli, self._at = self._level_milli(now) - self.cost * 1000, now
        floor = 0 if urgent else self.reserve * 1000
        if self._milli >= floor:
            return 0
        return -(-(floor - self._milli) // self.refill_per_s)

    async def spend(self, *, urgent: bool = False) -> float:
        """Reserve one request's credits and wait (not when `urgent`) until the pool
        covers them above the reserve, at most `max_wait_ms`. Returns the ms waited."""
        wait_ms = self.take(urgent=urgent)
        waited = 0.0
        if wait_ms > 0 and not urgent:
            waited = float(min(wait_ms, self.max_wait_ms))
            self._budgets.note(CREDITS, limit=self.pool, remaining=0,
                               reset_at=self._clock_ms() + int(waited))
            self._telemetry.count("rest_throttled", (("endpoint", CREDITS),))
            await self._sleep(waited / 1000)
        self._note()
        return waited

    def charge(self) -> None:
        """A request that cannot wait (a heartbeat answer): charged, never delayed."""
        self.take(urgent=True)
        self._note()

    def drain(self) -> None:
        """Deribit said the pool is empty (10028)."""
        now = self._clock_ms()
        self._milli, self._at = min(0, self._level_milli(now)), now
        self._note()

    def full_at(self, now: int) -> int:
        missing = self.pool * 1000 - self._level_milli(now)
        return now + -(-missing // self.refill_per_s)

    def snapshot(self) -> RateBudget:
        self._note()
        return self._budgets.snapshot()

    def _note(self) -> None:
        now = self._clock_ms()
        self._budgets.note(CREDITS, limit=self.pool, remaining=max(0, self.level(now)),
                           reset_at=self.full_at(now))


class _Session:
    """One open socket: a reader task that answers heartbeats, resolves our requests'
    futures and queues notifications; `messages()` drains the queue until the socket is
    lost or `stop` is called (a watcher, the connector's `restart`)."""

    def __init__(self, socket: WebSocketConnection, *, label: str, timeout_s: float,
                 error: Callable[[str, bool, int, str, object], VenueError],
                 clock_ms: Callable[[], int], charge: Callable[[], None]) -> None:
        loop = asyncio.get_running_loop()
        self._socket = socket
        self._label = label
        self._timeout_s = timeout_s
        self._error = error
        self._clock_ms = clock_ms
        self._charge = charge
        self._queue: asyncio.Queue[Received] = asyncio.Queue()
        self._pending: dict[int, tuple[str, bool, asyncio.Future[Any]]] = {}
        self._ids = 0
        self._stopped: asyncio.Future[str] = loop.create_future()
        self.last_seen = loop.time()
        self._tasks: list[asyncio.Task[None]] = []
        self.watch(self._read(), "reader")

    def watch(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"{self._label}-{name}"))

    def stop(self, reason: str) -> None:
        if not self._stopped.done():
            self._stopped.set_result(reason)
        for method, _, future in self._pending.values():
            if not future.done():
                future.set_exception(ConnectionLost(f"{reason} (awaiting {method})"))
        self._pending.clear()

    @property
    def stopped(self) -> bool:
        return self._stopped.done()

    async def request(self, method: str, params: Mapping[str, Any], *,
                      write: bool = False) -> Any:
        """Send one request (Decimals as exact JSON numbers) and wait for its answer: the
        result, or the typed error of Deribit's error object (`write` classifies it as a
        write's). `NotSent` when the connection was gone before the frame was written,
        `ConnectionLost` when the socket goes before the answer, `TimeoutError` when no
        answer comes within the timeout."""
        if self.stopped:
            raise NotSent(f"the connection is closed ({self._stopped.result()})")
        self._ids += 1
        request_id = self._ids
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, write, future)
        try:
            try:
                await self._socket.send_text(rpc_body(request_id, method, params))
            except (aiohttp.ClientError, OSError, RuntimeError) as exc:
                raise NotSent(f"{type(exc).__name__}: {exc}") from exc
            return await asyncio.wait_for(future, self._timeout_s)
        finally:
            self._pending.pop(request_id, None)

    def _answered(self, message: Mapping[str, Any]) -> bool:
        request_id = message.get("id")
        entry = self._pending.get(request_id) if isinstance(request_id, int) else None
        if entry is None:
            return True  # an answer nobody waits for (public/test): dropped
        method, write, future = entry
        if future.done():
            return True
        coded = rpc_error(message)
        if coded is not None:
            future.set_exception(self._error(method, write, *coded))
        elif "result" in message:
            future.set_result(message["result"])
        else:
            future.set_exception(MalformedVenueDataError(
                f"{VENUE}: an answer to {method} without `result` or `error`", venue=VENUE,
                code="malformed"))
        return True

    async def _heartbeat(self, message: Mapping[str, Any]) -> None:
        params = message.get("params")
        if isinstance(params, Mapping) and params.get("type") == "test_request":
            self._charge()  # charged like any request, never delayed: it must go now
            self._ids += 1
            await self._socket.send_json({"jsonrpc": "2.0", "id": self._ids,
                                          "method": "public/test", "params": {}})

    async def _read(self) -> None:
        reason = "closed by Deribit"
        try:
            async for received in self._socket.messages():
                self.last_seen = asyncio.get_running_loop().time()
                message = received.message
                if isinstance(message, Mapping) and "id" in message \
                        and ("result" in message or "error" in message):
                    self._answered(message)
                elif isinstance(message, Mapping) and message.get("method") == "heartbeat":
                    await self._heartbeat(message)
                else:
                    self._queue.put_nowait(received)
        except ConnectionLost as exc:
            reason = str(exc)
        except (aiohttp.ClientError, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
        finally:
            self.stop(reason)

    async def messages(self) -> AsyncIterator[Received]:
        while True:
            if not self._queue.empty():
                yield self._queue.get_nowait()
                continue
            if self.stopped:
                raise ConnectionLost(self._stopped.result())
            getter = asyncio.ensure_future(self._queue.get())
            await asyncio.wait((getter, self._stopped), return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await getter

    async def close(self) -> None:
        self.stop("closed")
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._socket.close()


class DeribitPrivateStream:
    """One supervised private connection; `events()` is the VenuePort stream."""

    def __init__(self, config: DeribitConfig, client_id: str, client_secret: str, *,
                 telemetry: Telemetry = NULL_TELEMETRY,
                 clock_ms: Callable[[], int] = wall_clock_ms, profile: str = "",
                 policy: ReconnectPolicy | None = None,
                 sleep: Callable[[float], Any] = asyncio.sleep,
                 rand: Callable[[], float] = random.random,
                 on_refused: Callable[[ConnectRefused], None] | None = None,
                 on_connected: Callable[[], None] | None = None,
                 dead_man: Callable[[], bool] = lambda: False,
                 on_dead_man: Callable[[bool, BaseException | None], None] | None = None,
                 silence_s: float | None = None,
                 credits: CreditKeeper | None = None) -> None:
        self.config = config
        self.profile = profile
        self.policy = policy or ReconnectPolicy(
            refused_base_ms=config.auth_retry_base_ms, refused_max_ms=config.auth_retry_max_ms)
        self._client_id = client_id
        self._client_secret = client_secret
        self._telemetry = telemetry
        self._clock_ms = clock_ms
        self._sleep = sleep
        self._rand = rand
        self._on_refused = on_refused
        self._on_connected = on_connected
        self._dead_man = dead_man
        self._on_dead_man = on_dead_man
        self._silence_s = silence_s if silence_s is not None \
            else 2 * config.heartbeat_s + config.timeout_s
        self._tokens: deque[str] = deque(maxlen=TOKENS_REMEMBERED)
        self._live: _Session | None = None
        self._up = asyncio.Event()
        """Set when a connection has finished its handshake (see `wait_connected`)."""
        self._armed = False
        self.credits = credits or CreditKeeper(config, clock_ms=clock_ms, sleep=sleep,
                                               telemetry=telemetry)
        """The account's credit estimate: the connector's own, shared (see the module
        docstring); a stream on its own keeps one of its own."""

    def __repr__(self) -> str:
        return (f"DeribitPrivateStream(account={self.config.account!r}, "
                f"currency={self.config.currency!r}, profile={self.profile!r})")

    @property
    def connected(self) -> bool:
        return self._live is not None and not self._live.stopped

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

    async def call(self, method: str, params: Mapping[str, Any], *,
                   write: bool = False) -> Any:
        """A request over the live connection (what is bound to it: cancel-on-disconnect,
        and the orders created on it). The caller charges its credits and counts it.
        `FatalVenueError` "no_stream" when there is none. Not sent (the connection went
        first): `StreamDownError`, transient. Sent and then no answer (the connection was
        lost, or the timeout): for a `write` an `UnknownOutcomeError` (the order may
        exist: the caller resolves it by its label), else transient."""
        session = self._live
        if session is None or session.stopped:
            raise FatalVenueError(f"{VENUE}: {method} rides the private stream, which is "
                                  "not connected", venue=VENUE, code="no_stream")
        try:
            return await session.request(method, params, write=write)
        except NotSent as exc:
            raise StreamDownError(self._scrub(f"{VENUE}: {method} not sent: the stream's "
                                              f"connection is gone ({exc})"),
                                  venue=VENUE, code="stream_down") from exc
        except (ConnectionLost, TimeoutError) as exc:
            what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            text = self._scrub(f"{VENUE}: {method} over the stream: {what}")
            if write:
                raise UnknownOutcomeError(f"{text}; the outcome is unknown: resolve it by "
                                          "its label", venue=VENUE,
                                          code="timeout" if isinstance(exc, TimeoutError)
                                          else "stream_lost") from exc
            raise TransientVenueError(text, venue=VENUE, code="stream") from exc

    async def wait_connected(self, timeout_s: float) -> bool:
        """Whether a connection (handshake done) is up, waiting at most `timeout_s` for
        one (a reconnect in progress)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout_s)
        while not self.connected:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            self._up.clear()
            try:
                await asyncio.wait_for(self._up.wait(), remaining)
            except TimeoutError:
                return self.connected
        return True

    def restart(self, reason: str) -> None:
        """End the live connection: the supervisor connects again (and says so)."""
        if self._live is not None:
            log.warning("%s %s: restarting the private stream: %s", VENUE,
                        self.config.account, self._scrub(reason))
            self._live.stop(reason)

    # -- one connection ----------------------------------------------------------------

    async def _connect(self, generation: int) -> _Owned:
        socket = await open_websocket(self.config.ws_private_url, heartbeat_s=PING_S,
                                      timeout_s=self.config.timeout_s,
                                      clock_ms=self._clock_ms, scrub=self._scrub,
                                      decode=decode_frame)
        session = _Session(socket, label=f"{VENUE}-stream-{self.config.account}-{generation}",
                           timeout_s=self.config.timeout_s, error=self._rpc_error,
                           clock_ms=self._clock_ms, charge=self.credits.charge)
        try:
            await self._handshake(session)
        except BaseException:
            await asyncio.shield(session.close())
            raise
        session.watch(self._watch_silence(session), "silence")
        self._live = session
        self._up.set()
        return _Owned(session, self)

    async def _handshake(self, session: _Session) -> None:
        token = await self._step(session, "public/auth", {
            "grant_type": "client_credentials", "client_id": self._client_id,
            "client_secret": self._client_secret})
        expires_in = self._token(token)
        session.watch(self._refresh(session, token, expires_in), "token")
        await self._step(session, "public/set_heartbeat",
                         {"interval": self.config.heartbeat_s})
        if self._dead_man():
            try:
                await self.credits.spend()
                await session.request("private/enable_cancel_on_disconnect",
                                      {"scope": "connection"})
            except (VenueError, ConnectionLost, TimeoutError) as exc:
                self._armed = False
                self._report_dead_man(False, exc)
            else:
                self._armed = True
                self._report_dead_man(True, None)
        wanted = channels(self.config.currency)
        result = await self._step(session, "private/subscribe", {"channels": list(wanted)})
        missing = [c for c in wanted if not isinstance(result, list) or c not in result]
        if missing:
            raise ConnectRefused(f"{VENUE}: Deribit did not subscribe {', '.join(missing)}")

    async def _step(self, session: _Session, method: str, params: Mapping[str, Any]) -> Any:
        """One handshake request (after waiting for its credits, like any ordinary
        request: a reconnect after a 10028 waits for the pool), its failure as the
        supervisor's verdict."""
        try:
            await self.credits.spend()
            return await session.request(method, params)
        except VenueAuthError as exc:
            if (method == "public/auth" and refuses_credentials(exc)) or exc.code == "13009":
                raise AuthRefused(f"{VENUE}: the stream's login was refused "
                                  f"({self._quoted(exc)}): check the client id/secret of "
                                  f"{profile_label(self.profile)}") from exc
            raise ConnectRefused(f"{VENUE}: {method} refused: {self._quoted(exc)}") from exc
        except MalformedVenueDataError as exc:
            raise RetryConnect(f"{method}: {self._quoted(exc)}") from exc
        except VenueError as exc:
            if isinstance(exc, FatalVenueError):
                raise ConnectRefused(f"{VENUE}: {method} refused: "
                                     f"{self._quoted(exc)}") from exc
            raise RetryConnect(f"{method}: {self._quoted(exc)}") from exc
        except (ConnectionLost, TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise RetryConnect(f"{method}: {self._quoted(f'{type(exc).__name__}: {exc}')}"
                               ) from exc

    def _token(self, result: Any) -> int:
        """Remember the tokens (to scrub them); the lifetime in seconds."""
        try:
            access, refresh, expires_in = parse_token(result)
        except MalformedVenueDataError as exc:
            raise RetryConnect(f"public/auth: {self._quoted(exc)}") from exc
        self._tokens.extend((access, refresh))
        return expires_in

    async def _refresh(self, session: _Session, result: Any, expires_in: int) -> None:
        """Refresh the access token before it expires; a failure ends the connection."""
        _, refresh, _ = parse_token(result)
        while True:
            await asyncio.sleep(max(MIN_REFRESH_S,
                                    expires_in - self.config.token_refresh_margin_s))
            try:
                await self.credits.spend()
                answer = await session.request("public/auth", {
                    "grant_type": "refresh_token", "refresh_token": refresh})
                access, refresh, expires_in = parse_token(answer)
            except (VenueError, ConnectionLost, TimeoutError) as exc:
                session.stop(f"the token refresh failed ({self._quoted(exc)}); "
                             "authenticating again")
                return
            self._tokens.extend((access, refresh))

    async def _watch_silence(self, session: _Session) -> None:
        loop = asyncio.get_running_loop()
        while not session.stopped:
            await asyncio.sleep(min(self._silence_s / 4, 5.0))
            if loop.time() - session.last_seen > self._silence_s:
                session.stop(f"no message (heartbeat) from Deribit for "
                             f"{self._silence_s:g} s")
                return

    def _closed(self, session: _Session) -> None:
        if self._live is session:
            self._live = None
        if self._armed:
            self._armed = False
            self._report_dead_man(False, ConnectionLost("the connection ended"))

    def _report_dead_man(self, armed: bool, error: BaseException | None) -> None:
        if self._on_dead_man is None:
            return
        try:
            self._on_dead_man(armed, error)
        except Exception:
            log.exception("%s %s: reporting the dead-man's switch failed", VENUE,
                          self.config.account)

    def _rpc_error(self, method: str, write: bool, code: int, message: str,
                   data: object) -> VenueError:
        ctx = ErrorContext(endpoint=method, write=write, venue=VENUE, profile=self.profile,
                           now_ms=self._clock_ms(), secrets=self._secrets())
        error = error_for_code(code, message, ctx, data=data)
        if isinstance(error, SessionTerminatedError):
            self.credits.drain()  # Deribit ends this session: the pool is empty
        return error

    # -- messages ------------------------------------------------------------------------

    def _parse(self, received: Received) -> list[VenueEvent]:
        message = received.message
        try:
            if not isinstance(message, Mapping) or message.get("method") != "subscription":
                raise MalformedVenueDataError(f"{VENUE}: a message that is no notification")
            return parse_notification(message, account=self.config.account,
                                      received_at=received.received_at)
        except MalformedVenueDataError as exc:
            log.warning("%s %s: dropped a private-stream message: %s", VENUE,
                        self.config.account, self._quoted(exc))
            self._telemetry.count("ws_malformed", (("venue", VENUE),))
            return []

    def _secrets(self) -> tuple[str, ...]:
        return (self._client_secret, self._client_id, *self._tokens)

    def _scrub(self, text: str) -> str:
        return scrub(text, self._secrets())

    def _quoted(self, value: object) -> str:
        return repr(self._scrub(str(value)))[1:-1][:QUOTE_MAX]


class _Owned:
    """The supervisor's view of a session: closing it tells the stream it is gone."""

    def __init__(self, session: _Session, stream: DeribitPrivateStream) -> None:
        self._session = session
        self._stream = stream

    def messages(self) -> AsyncIterator[Received]:
        return self._session.messages()

    async def close(self) -> None:
        self._stream._closed(self._session)
        await self._session.close()
