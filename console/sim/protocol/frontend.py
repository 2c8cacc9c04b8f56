"""What a sim front-end is to the server that runs it, and the aiohttp lifecycle they share.

`FrontEnd` is the surface `console.sim.server` (and tests) use: start and stop it on the
running loop, ask where it listens (`urls`, `rest_url`, `ws_private_url`) and what to tell
a client (`describe`: the dict `recon-console sim` prints), reach its fault controller,
its rate limiter and its event hub, and cut private streams on demand.

Every `HttpFrontEnd` also serves the fault control endpoint (`control_url`, loopback
peers only: `console.sim.protocol.control`), through which a harness in another process
adds, removes, clears and lists fault rules while the sim runs.

`HttpFrontEnd` implements the lifecycle once (an aiohttp AppRunner and TCPSite on the
caller's loop, the event hub started and stopped with it, a short shutdown so that a held
answer cannot keep `stop()` waiting); a venue subclass mounts its routes (`mount`) and
names its URLs (`urls`).
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar, Final, Protocol

from aiohttp import web

from console.sim.core import SimExchange, wall_clock_ms
from console.sim.protocol.control import CONTROL_PATH, mount_control
from console.sim.protocol.faults import Faults
from console.sim.protocol.hub import EventHub
from console.sim.protocol.keys import KeyStore
from console.sim.protocol.limits import RateLimiter

SHUTDOWN_TIMEOUT_S: Final = 0.5
LOOPBACK: Final = "127.0.0.1"


class FrontEnd(Protocol):
    """A venue's protocol served over one `SimExchange`."""

    @property
    def venue(self) -> str:
        """The registry name ("bybit")."""
        ...

    @property
    def exchange(self) -> SimExchange: ...

    @property
    def keys(self) -> KeyStore: ...

    @property
    def faults(self) -> Faults:
        """The fault controller: mutable at runtime (`add`, `clear`)."""
        ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def hub(self) -> EventHub[Any]: ...

    @property
    def running(self) -> bool: ...

    @property
    def rest_url(self) -> str: ...

    @property
    def ws_private_url(self) -> str:
        """Where the private stream connects (for some venues the base of its URL)."""
        ...

    @property
    def control_url(self) -> str:
        """The fault control endpoint (loopback peers only)."""
        ...

    async def start(self, host: str = LOOPBACK, port: int = 0) -> None: ...

    async def stop(self) -> None: ...

    def urls(self) -> dict[str, str]:
        """Every URL it serves, by name (rest_url and ws_private_url at least)."""
        ...

    def describe(self) -> dict[str, str | None]:
        """What a client needs: venue, the URLs, and the first key's api_key,
        api_secret and account (JSON-able; the `sim` command prints it)."""
        ...

    async def disconnect_private(self, account: str | None = None,
                                 mode: str = "abort") -> int:
        """Cut the private connections (of `account`, or all) now; returns how many."""
        ...


class HttpFrontEnd(ABC):
    """The lifecycle of a front-end served by aiohttp. Subclasses set `venue` and
    `title`, assign `self.hub` after `super().__init__`, and implement `mount` and
    `urls`."""

    venue: ClassVar[str]
    title: ClassVar[str]
    hub: EventHub[Any]

    def __init__(self, exchange: SimExchange, *, keys: KeyStore, faults: Faults,
                 limiter: RateLimiter, clock_ms: Callable[[], int] | None = None) -> None:
        for account in sorted(keys.accounts):
            if not exchange.has_account(account):
                raise ValueError(f"credentials name sim account {account!r}, which does "
                                 "not exist")
        self.exchange = exchange
        self.keys = keys
        self.faults = faults
        self.limiter = limiter
        self.clock: Callable[[], int] = clock_ms or wall_clock_ms
        self._runner: web.AppRunner | None = None
        self._host = ""
        self._port = 0

    @abstractmethod
    def mount(self, app: web.Application) -> None:
        """Add the REST routes (through a `Pipeline`) and the WebSocket routes."""

    @abstractmethod
    def urls(self) -> dict[str, str]:
        """Every URL served, by name; rest_url and ws_private_url at least."""

    # -- lifecycle -------------------------------------------------------------------

    async def start(self, host: str = LOOPBACK, port: int = 0) -> None:
        if self._runner is not None:
            raise RuntimeError(f"the {self.title} front-end is already running")
        app = web.Application()
        self.mount(app)
        mount_control(app, self.faults)
        # a short shutdown: a held (hang fault) answer must not keep `stop()` waiting
        runner = web.AppRunner(app, access_log=None, handle_signals=False,
                               shutdown_timeout=SHUTDOWN_TIMEOUT_S)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = host
        addresses = runner.addresses
        self._port = int(addresses[0][1]) if addresses else port
        self.hub.start(asyncio.get_running_loop())

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self.hub.stop()
        await self.hub.close_all()
        await runner.cleanup()

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        return self._port

    def http_url(self, path: str = "") -> str:
        return f"http://{self._host}:{self._port}{path}"

    def ws_url(self, path: str = "") -> str:
        return f"ws://{self._host}:{self._port}{path}"

    @property
    def rest_url(self) -> str:
        return self.urls()["rest_url"]

    @property
    def ws_private_url(self) -> str:
        return self.urls()["ws_private_url"]

    @property
    def control_url(self) -> str:
        return self.http_url(CONTROL_PATH)

    def describe(self) -> dict[str, str | None]:
        key = self.keys.primary
        return {"venue": self.venue, **self.urls(),
                "api_key": None if key is None else key.key,
                "api_secret": None if key is None else key.secret,
                "account": None if key is None else key.account}

    async def disconnect_private(self, account: str | None = None,
                                 mode: str = "abort") -> int:
        """Cut the private connections (of `account`, or all) now; returns how many."""
        return await self.hub.disconnect(account, mode)

