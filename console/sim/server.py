"""Run the simulated exchange as a server: `recon-console sim` and background threads.

`serve()` builds a `SimExchange` (a named scenario, or an account "main" holding 100000
USDT), gives every instrument without a price its reference price so that market orders
can fill, starts the chosen venue's front-end (from the registry,
`console.sim.frontends`; default: the first registered) on the loop it runs in, reports
where it listens through `ready(dict)` and serves until `stop_event` is set or the
process gets SIGINT or SIGTERM (handlers are installed only when running in the main
thread).

`run_sim_server_in_thread()` does the same on a private loop in a daemon thread, for
tests and benchmarks that drive it with blocking clients (pybit): the returned handle
has the URLs and credentials, `call(fn, ...)` to run code against the sim on the
server's loop (the sim is not thread-safe), and `stop()`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import secrets
import signal
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, TypeVar

from console.errors import ConfigError
from console.sim.core import SimExchange, wall_clock_ms
from console.sim.frontends import DEFAULT_FRONT_END, front_end
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import FrontEnd
from console.sim.protocol.keys import KEY_BYTES, SECRET_BYTES, ApiKey, KeyStore
from console.sim.protocol.limits import RateLimiter
from console.sim.scenarios import build_scenario

T = TypeVar("T")
log = logging.getLogger(__name__)

ACCOUNT: Final = "main"
OPENING_USDT: Final = Decimal(100000)


@dataclass(frozen=True, slots=True)
class SimSetup:
    """A built exchange and the front-end over it (not started)."""

    exchange: SimExchange
    front_end: FrontEnd
    key: ApiKey
    scenario: str | None

    @property
    def venue(self) -> str:
        return self.front_end.venue

    @property
    def api_key(self) -> str:
        return self.key.key

    @property
    def api_secret(self) -> str:
        return self.key.secret

    @property
    def account(self) -> str:
        return self.key.account

    def info(self) -> dict[str, str | None]:
        """What `recon-console sim` prints: the front-end's description and the scenario."""
        return {**self.front_end.describe(), "scenario": self.scenario}


def build_sim(*, venue: str | None = None, scenario: str | None = None,
              api_key: str | None = None, api_secret: str | None = None,
              faults: str | Faults | None = None, seed: int = 7,
              exchange: SimExchange | None = None, account: str = ACCOUNT,
              rate_limits: RateLimiter | Mapping[str, int] | None = None,
              clock_ms: Callable[[], int] | None = None,
              market: str | None = None) -> SimSetup:
    """The exchange (fresh, or `exchange` as given) and a front-end of `venue` over it;
    `market` picks the URLs of a venue whose markets live on separate hosts."""
    spec = front_end(venue or DEFAULT_FRONT_END)
    category = spec.market(market)
    if (api_key is None) != (api_secret is None):
        raise ConfigError("give both --api-key and --api-secret, or neither")
    if exchange is None:
        exchange = SimExchange(seed=seed)
    if scenario:
        build_scenario(scenario, exchange, account, now=(clock_ms or wall_clock_ms)())
    elif not exchange.has_account(account):
        exchange.create_account(account, {"USDT": OPENING_USDT})
    exchange.set_reference_prices()
    key = ApiKey(api_key or secrets.token_hex(KEY_BYTES),
                 api_secret or secrets.token_hex(SECRET_BYTES), account)
    built = spec.build(exchange, keys=KeyStore([key]), faults=faults,
                       rate_limits=rate_limits, clock_ms=clock_ms, seed=seed,
                       market=category)
    return SimSetup(exchange, built, key, scenario)


def check_listen_host(host: str, *, allow_remote: bool = False) -> str:
    """Refuse to serve the sim beyond this machine unless asked to in so many words.

    Whoever reaches a sim front-end can trade on it and the CLI prints its API secret, so
    every interface ("0.0.0.0", "::") or a LAN address is refused without
    `allow_remote`, and logged as a warning with it. A host that is not an IP address or
    "localhost" is refused: resolving names here would hide where we really listen.
    """
    name = host.strip().strip("[]")
    if name.lower() == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        raise ConfigError(f"sim: --host {host!r} is not an IP address (use 127.0.0.1, ::1 "
                          "or localhost)") from None
    if address.is_loopback:
        return str(address)
    if not allow_remote:
        where = "every interface" if address.is_unspecified else f"{address}"
        raise ConfigError(
            f"sim: refusing to listen on {where} ({host}): anyone who can reach it could "
            "trade on the simulated exchange with the API key it prints. Use a loopback "
            "address, or pass --allow-remote to do this on purpose")
    log.warning("sim: listening on %s, beyond this machine (--allow-remote)", address)
    return str(address)


async def _start(front_end: FrontEnd, host: str, port: int) -> None:
    try:
        await front_end.start(host, port)
    except OSError as exc:  # taken port, address not on this machine, no permission
        raise ConfigError(f"sim: cannot listen on {host}:{port}: "
                          f"{exc.strerror or exc}") from None


async def serve(*, venue: str | None = None, host: str = "127.0.0.1", port: int = 0,
                scenario: str | None = None, api_key: str | None = None,
                api_secret: str | None = None, faults: str | None = None, seed: int = 7,
                ready: Callable[[dict[str, str | None]], None] | None = None,
                stop_event: asyncio.Event | None = None, allow_remote: bool = False,
                market: str | None = None) -> None:
    """Serve the sim until `stop_event` is set (or SIGINT/SIGTERM in the main thread)."""
    host = check_listen_host(host, allow_remote=allow_remote)
    setup = build_sim(venue=venue, scenario=scenario, api_key=api_key,
                      api_secret=api_secret, faults=faults, seed=seed, market=market)
    await _start(setup.front_end, host, port)
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # e.g. Windows, nested loops
                continue
            installed.append(sig)
    try:
        if ready is not None:
            ready(setup.info())
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await setup.front_end.stop()


class SimServerHandle:
    """A front-end serving from its own loop in a daemon thread."""

    def __init__(self, setup: SimSetup, loop: asyncio.AbstractEventLoop,
                 thread: threading.Thread, stop_event: asyncio.Event) -> None:
        self.setup = setup
        self.loop = loop
        self.thread = thread
        self._stop_event = stop_event

    @property
    def front_end(self) -> FrontEnd:
        return self.setup.front_end

    @property
    def venue(self) -> str:
        return self.setup.venue

    @property
    def exchange(self) -> SimExchange:
        """Touch only through `call` while the server runs (the sim is not thread-safe)."""
        return self.setup.exchange

    @property
    def faults(self) -> Faults:
        return self.setup.front_end.faults

    @property
    def rest_url(self) -> str:
        return self.front_end.rest_url

    @property
    def ws_private_url(self) -> str:
        return self.front_end.ws_private_url

    @property
    def api_key(self) -> str:
        return self.setup.api_key

    @property
    def api_secret(self) -> str:
        return self.setup.api_secret

    @property
    def account(self) -> str:
        return self.setup.account

    def info(self) -> dict[str, str | None]:
        return self.setup.info()

    def call(self, fn: Callable[..., T], *args: Any, timeout: float = 10.0,
             **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` on the server's loop and return its result."""
        result: Future[T] = Future()

        def run() -> None:
            try:
                result.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
                result.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return result.result(timeout)

    def run(self, coro_fn: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Await `coro_fn()` on the server's loop (e.g. front_end.disconnect_private)."""
        return asyncio.run_coroutine_threadsafe(coro_fn(), self.loop).result(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        if not self.thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self._stop_event.set)
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise RuntimeError("the sim server thread did not stop in time")

    def __enter__(self) -> SimServerHandle:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def run_sim_server_in_thread(*, host: str = "127.0.0.1", port: int = 0,
                             startup_timeout: float = 10.0,
                             **build: Any) -> SimServerHandle:
    """Start `build_sim(**build)` in a daemon thread; returns once it listens."""
    setup = build_sim(**build)
    started: Future[asyncio.Event] = Future()

    async def main() -> None:
        stop = asyncio.Event()
        try:
            await setup.front_end.start(host, port)
        except BaseException as exc:
            started.set_exception(exc)
            raise
        started.set_result(stop)
        try:
            await stop.wait()
        finally:
            await setup.front_end.stop()

    loop = asyncio.new_event_loop()

    def target() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        except Exception:  # a start-up failure also reaches the caller through `started`
            log.exception("the sim server thread failed")
        finally:
            loop.close()

    thread = threading.Thread(target=target, name=f"sim-{setup.venue}-server", daemon=True)
    thread.start()
    stop_event = started.result(startup_timeout)
    return SimServerHandle(setup, loop, thread, stop_event)
