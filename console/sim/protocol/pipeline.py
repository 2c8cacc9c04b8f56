"""The aiohttp request pipeline every front-end's REST API runs through.

A request passes a chain of middlewares, each of which may answer or refuse it; the
order is what real venues do (and what makes faults land where they land on a real
venue)::

    latency → HTTP-level fault (4xx/5xx before anything else) → clock → error rendering
    → authentication (private endpoints) → decoding of the parameters
    → rate limit (private; a request that does not decode is still charged, one unit)
    → [venue stages] → injected venue code (private) → after-place fault (placing
    endpoints: cut or hang once the sim has applied the order, or cut now and apply it
    later: a late create) → dispatch to the handler

Everything venue-specific is a hook the front-end supplies (`Hooks`): how a caller is
authenticated (`AuthHook`), how a quota is told and refused (`RateLimitHook`), what an
HTTP fault and an injected code look like (`FaultHook`), and how parameters are decoded
and answers and errors are written (`EnvelopeHook`). A stage refuses a request by raising
the venue's `ProtocolError`; the error-rendering stage turns it into the venue's error
answer with the headers gathered so far (a rate-limit refusal carries the quota headers,
an authentication failure none). Handlers are synchronous (the sim is) and run on the
server's loop; an unexpected exception in one becomes the venue's server error and is
logged without headers or bodies, so no key or signature lands in a log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Generic, NoReturn, Protocol, TypeVar

from aiohttp import web

from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.faults import AfterPlace, Faults
from console.sim.protocol.keys import ApiKey, Permission
from console.sim.protocol.limits import Quota, RateLimiter
from console.sim.protocol.wire import Params

log = logging.getLogger(__name__)

R = TypeVar("R")
R_contra = TypeVar("R_contra", contravariant=True)

HTTP_REASONS: Final[Mapping[int, str]] = MappingProxyType({
    403: "Forbidden", 429: "Too Many Requests", 500: "Internal Server Error",
    502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"})

AioHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class Request:
    """What a handler gets: whose request it is ("" on a public endpoint), its
    parameters, the server's time and how many units of its rate budget it was granted
    (a batch may get fewer than it asked for)."""

    account: str
    params: Params
    now_ms: int
    granted: int = 1


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[R]):
    """One REST endpoint. `cost` says how many rate-limit units a request takes (one per
    order of a batch, a venue's weight); `bucket` is the budget it counts against (its
    path unless named), or `bucket_of(params)` where the request chooses it (a budget
    per category); `places` marks endpoints that create orders (after-place faults);
    `permission` is what the caller's key must allow."""

    method: str
    path: str
    handler: Callable[[Request], R]
    private: bool = True
    places: bool = False
    permission: Permission = Permission.READ
    cost: Callable[[Params], int] | None = None
    bucket: str | None = None
    bucket_of: Callable[[Params], str] | None = None

    @property
    def limit_bucket(self) -> str:
        return self.bucket or self.path

    def bucket_for(self, params: Params) -> str:
        return self.limit_bucket if self.bucket_of is None else self.bucket_of(params)

    def units(self, params: Params) -> int:
        return 1 if self.cost is None else self.cost(params)


@dataclass(slots=True)
class Call:
    """One request on its way through the pipeline; stages fill it in."""

    request: web.Request
    endpoint: Endpoint[Any]
    now_ms: int = 0
    key: ApiKey | None = None
    params: Params = field(default_factory=dict)
    deferred: ProtocolError | None = None  # a decoding error, told after the charge
    quota: Quota | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def raw_query(self) -> str:
        """The query string exactly as it arrived (what clients sign)."""
        return self.request.raw_path.partition("?")[2]

    async def body(self) -> bytes:
        return await self.request.read()

    @property
    def account(self) -> str:
        return "" if self.key is None else self.key.account

    def to_request(self) -> Request:
        granted = 1 if self.quota is None else self.quota.granted
        return Request(self.account, self.params, self.now_ms, granted)


# -- the hooks a venue supplies ---------------------------------------------------------


class AuthHook(Protocol):
    async def authenticate(self, call: Call) -> ApiKey:
        """The caller's key if the request is authentic; raise the venue's error if not."""
        ...

    def forbidden(self, call: Call, key: ApiKey) -> ProtocolError:
        """The refusal for an authentic key that lacks the endpoint's permission."""
        ...


class RateLimitHook(Protocol):
    def headers(self, quota: Quota) -> Mapping[str, str]:
        """The headers that tell the caller its quota (on every private answer)."""
        ...

    def refusal(self, quota: Quota) -> ProtocolError:
        ...


class FaultHook(Protocol):
    def http_response(self, status: int) -> web.StreamResponse:
        """What an injected HTTP error looks like (the venue's gateway page)."""
        ...

    def injected(self, code: int) -> ProtocolError:
        """A chosen venue code (the fault grammar's retcode rule)."""
        ...


class EnvelopeHook(Protocol[R_contra]):
    async def decode(self, call: Call) -> Params:
        """The request's parameters; raise the venue's error when they do not parse."""
        ...

    def render(self, call: Call, result: R_contra) -> web.StreamResponse:
        ...

    def render_error(self, call: Call, error: ProtocolError) -> web.StreamResponse:
        ...

    def translate(self, exc: Exception) -> ProtocolError | None:
        """The venue's error for a handler exception it knows (sim refusals, bad
        values, bad cursors); None for a bug (rendered as `server_error`)."""
        ...

    def server_error(self) -> ProtocolError:
        ...


@dataclass(frozen=True, slots=True)
class Hooks(Generic[R]):
    auth: AuthHook
    limits: RateLimitHook
    faults: FaultHook
    envelope: EnvelopeHook[R]


def plain_http_error(status: int, texts: Mapping[int, str] = HTTP_REASONS) -> web.Response:
    """A bare HTTP error page, as a gateway in front of a venue answers."""
    return web.Response(status=status, text=texts.get(status, "error"))


# -- the middlewares ----------------------------------------------------------------------

Next = Callable[[Call], Awaitable[web.StreamResponse]]


class Middleware(Protocol):
    """One stage: `applies` picks the endpoints it runs for (decided once, at mount)."""

    name: str

    def applies(self, endpoint: Endpoint[Any]) -> bool: ...

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse: ...


class Latency:
    name = "latency"

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return True

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        delay = self.faults.latency_ms(call.endpoint.path)
        if delay:
            await asyncio.sleep(delay / 1000)
        return await next_(call)


class HttpFault:
    """An injected HTTP error answers before anything else: the sim never sees it."""

    name = "http_fault"

    def __init__(self, faults: Faults, hook: FaultHook) -> None:
        self.faults = faults
        self.hook = hook

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return True

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        status = self.faults.http_status(call.endpoint.path)
        if status is not None:
            return self.hook.http_response(status)
        return await next_(call)


class Stamp:
    """The server's time for the request, read once (answers and signatures use it)."""

    name = "clock"

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return True

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        call.now_ms = self.clock()
        return await next_(call)


class RenderErrors:
    """A refusal from any inner stage becomes the venue's error answer."""

    name = "render_errors"

    def __init__(self, envelope: EnvelopeHook[Any]) -> None:
        self.envelope = envelope

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return True

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        try:
            return await next_(call)
        except ProtocolError as exc:
            return self.envelope.render_error(call, exc)


class Authenticate:
    name = "auth"

    def __init__(self, hook: AuthHook) -> None:
        self.hook = hook

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return endpoint.private

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        key = await self.hook.authenticate(call)
        if not key.allows(call.endpoint.permission):
            raise self.hook.forbidden(call, key)
        call.key = key
        return await next_(call)


class Decode:
    """Parameters are decoded once; an error waits for the rate limiter to charge the
    request (venues count malformed requests too), or for dispatch on public endpoints."""

    name = "decode"

    def __init__(self, envelope: EnvelopeHook[Any]) -> None:
        self.envelope = envelope

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return True

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        try:
            call.params = await self.envelope.decode(call)
        except ProtocolError as exc:
            call.deferred = exc
        return await next_(call)


class RateLimit:
    name = "rate_limit"

    def __init__(self, limiter: RateLimiter, hook: RateLimitHook) -> None:
        self.limiter = limiter
        self.hook = hook

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return endpoint.private

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        endpoint = call.endpoint
        if call.deferred is not None:
            units, bucket = 1, endpoint.limit_bucket
        else:
            units, bucket = endpoint.units(call.params), endpoint.bucket_for(call.params)
        quota = self.limiter.take(call.account, bucket, call.now_ms, units)
        call.quota = quota
        call.headers.update(self.hook.headers(quota))
        if call.deferred is not None:
            raise call.deferred
        if quota.exceeded:
            raise self.hook.refusal(quota)
        return await next_(call)


class InjectCode:
    """A chosen venue code, after authentication and rate limiting: the sim never sees
    the request."""

    name = "inject_code"

    def __init__(self, faults: Faults, hook: FaultHook) -> None:
        self.faults = faults
        self.hook = hook

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return endpoint.private

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        code = self.faults.ret_code(call.endpoint.path)
        if code is not None:
            raise self.hook.injected(code)
        return await next_(call)


class AfterPlaceFault:
    """Once the sim has applied an order request (whatever it answered): cut the
    connection without an answer, or hold the answer past the client's timeout. Or,
    for a late create, cut it first and apply the request to the sim only later, when
    the client has long given up (the venue that executes a create after the client's
    timeout); the handler's answer then goes nowhere."""

    name = "after_place"

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    def applies(self, endpoint: Endpoint[Any]) -> bool:
        return endpoint.places

    async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
        late_ms = self.faults.late_create(call.endpoint.path)
        if late_ms is not None:
            # a timer, not a task: a stop before it fires leaves nothing pending
            asyncio.get_running_loop().call_later(late_ms / 1000, _apply_late, call, next_)
            _cut(call)
        response = await next_(call)
        after = self.faults.after_place(call.endpoint.path)
        if after is AfterPlace.CUT:
            _cut(call)
        if after is AfterPlace.HANG:
            await asyncio.sleep(self.faults.hang_ms / 1000)
        return response


def _cut(call: Call) -> NoReturn:
    """Drop the connection without an answer."""
    transport = call.request.transport
    if transport is not None:
        transport.abort()
    raise asyncio.CancelledError  # aiohttp drops the finished connection


def _apply_late(call: Call, next_: Next) -> None:
    """Run the rest of the chain (the dispatch: synchronous sim work) for a late create."""
    task = asyncio.ensure_future(next_(call))
    _LATE.add(task)
    task.add_done_callback(_LATE.discard)


_LATE: set[asyncio.Future[web.StreamResponse]] = set()
"""Late creates being applied (references kept until they finish)."""


class Dispatch(Generic[R]):
    """The end of the chain: the handler, and the venue's answer for whatever it did."""

    name = "dispatch"

    def __init__(self, envelope: EnvelopeHook[R], venue: str) -> None:
        self.envelope = envelope
        self.venue = venue

    async def __call__(self, call: Call) -> web.StreamResponse:
        envelope = self.envelope
        endpoint: Endpoint[R] = call.endpoint
        try:
            if call.deferred is not None:
                raise call.deferred
            result = endpoint.handler(call.to_request())
        except ProtocolError as exc:
            return envelope.render_error(call, exc)
        except Exception as exc:  # the boundary: the client gets an answer, never a trace
            error = envelope.translate(exc)
            if error is None:
                log.exception("%s front-end: %s %s failed", self.venue, endpoint.method,
                              endpoint.path)
                error = envelope.server_error()
            return envelope.render_error(call, error)
        return envelope.render(call, result)


def standard_stages(*, hooks: Hooks[Any], faults: Faults, limiter: RateLimiter,
                    clock: Callable[[], int],
                    venue_stages: Sequence[Middleware] = ()) -> list[Middleware]:
    """The stages in the order of the module docstring; `venue_stages` (a second limiter,
    a session check) run after the rate limit and before the injected code."""
    return [Latency(faults), HttpFault(faults, hooks.faults), Stamp(clock),
            RenderErrors(hooks.envelope), Authenticate(hooks.auth), Decode(hooks.envelope),
            RateLimit(limiter, hooks.limits), *venue_stages,
            InjectCode(faults, hooks.faults), AfterPlaceFault(faults)]


class Pipeline(Generic[R]):
    """Middlewares around a dispatch; `mount` puts endpoints on an aiohttp app."""

    def __init__(self, stages: Sequence[Middleware], dispatch: Dispatch[R]) -> None:
        self.stages = tuple(stages)
        self.dispatch = dispatch

    @classmethod
    def standard(cls, *, venue: str, hooks: Hooks[R], faults: Faults, limiter: RateLimiter,
                 clock: Callable[[], int],
                 venue_stages: Sequence[Middleware] = ()) -> Pipeline[R]:
        stages = standard_stages(hooks=hooks, faults=faults, limiter=limiter, clock=clock,
                                 venue_stages=venue_stages)
        return cls(stages, Dispatch(hooks.envelope, venue))

    def chain(self, endpoint: Endpoint[R]) -> tuple[Middleware, ...]:
        """The stages `endpoint` goes through, outermost first."""
        return tuple(stage for stage in self.stages if stage.applies(endpoint))

    def handler(self, endpoint: Endpoint[R]) -> AioHandler:
        run: Next = self.dispatch.__call__
        for stage in reversed(self.chain(endpoint)):
            run = _bind(stage, run)
        first = run

        async def handle(request: web.Request) -> web.StreamResponse:
            return await first(Call(request, endpoint))
        return handle

    def mount(self, app: web.Application, endpoints: Sequence[Endpoint[R]]) -> None:
        for endpoint in endpoints:
            app.router.add_route(endpoint.method, endpoint.path, self.handler(endpoint))


def _bind(stage: Middleware, next_: Next) -> Next:
    async def run(call: Call) -> web.StreamResponse:
        return await stage(call, next_)
    return run
