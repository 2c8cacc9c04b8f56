"""Composition root for the Qt console (the window's half of `console.bootstrap`).

With a profile, the window runs on that profile's venue (`build_profile_session`). With
none (a first run), it runs on the embedded simulated exchange, badged SIMULATED, with a
demo quoting strategy, a market that moves, and a chaos menu, so that discrepancies
appear and get fixed within a minute. The sim's ledger is a throwaway SQLite file: the
sim is rebuilt from its seed at every start, so a ledger kept from an earlier run would
describe another exchange.

The UI sees protocols only (`console.ui.ports`, `console.engine.demo.ChaosPort`); the
adapters that satisfy them live here: `ChaosVenue` (the sim behind the venue port, with
simulated network latency measured into the metrics and a private stream that can be
cut), `SimChaos`, `SimMarket`, the keyring and the profiles file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from console.bootstrap import (
    SIM_ACCOUNT,
    SIM_SEED,
    SIM_VENUE,
    build_profile_session,
    open_ledger,
    seed_ledger,
)
from console.credentials import (
    ApiCredentials,
    CredentialsError,
    CredentialStore,
    insecure_allowed_by_env,
)
from console.domain import Balance, Category, Fill, Order, Position
from console.domain.capabilities import DeadManState, RateBudget, VenueCapabilities
from console.domain.events import ConnectionEvent, ConnectionState, VenueEvent
from console.domain.telemetry import Telemetry
from console.engine.alerts import AlertEngine, attach_alerts
from console.engine.demo import DEFAULT_SPECS, DemoQuoter, QuoteSpec
from console.engine.metrics import Metrics
from console.engine.reconcile_service import wall_clock_ms
from console.engine.session import EngineSession
from console.errors import ConfigError, UserFacingError
from console.profiles import (
    Network,
    Profile,
    Venue,
    load_profiles,
    save_profile,
)
from console.reconcile import ReconcileConfig
from console.sim import SimExchange, SimVenue
from console.sim.scenarios import SCENARIOS, build_scenario
from console.store import Ledger
from console.ui.ports import Badge, Identity, KeyringStatus, ProfileDraft

log = logging.getLogger(__name__)

DEMO_SCENARIO_ENV = "RECON_CONSOLE_DEMO_SCENARIO"
"""Start the embedded sim in this scenario (see `recon-console scenarios`); default clean."""
DEMO_INTERVAL_S = 15.0
WALK_INTERVAL_S = 1.0
WALK_TICKS = 6

_T = TypeVar("_T")


# -- the sim behind the venue port, with latency and a stream that can be cut -----------------

class ChaosVenue:
    """A `VenuePort` over a `SimVenue`.

    Each request waits a simulated network delay and is timed into the telemetry as
    "rest" (the in-process sim has no network, and the charts should show what a venue
    would). Private events are timed as "ws" (delivery lag after the exchange emitted
    them). `cut_stream(seconds)` takes the private stream down: DOWN is reported, events
    of the gap are lost, then RECONNECTING and CONNECTED(reconnected=True), which makes
    the engine reconcile at once, as after a real reconnect.
    """

    def __init__(self, inner: SimVenue, telemetry: Telemetry, *,
                 latency_ms: tuple[float, float] = (0.0, 0.0), seed: int = SIM_SEED) -> None:
        self.inner = inner
        self.venue = inner.venue
        self.account = inner.account
        self.calls: Counter[str] = inner.calls
        self.telemetry = telemetry
        self.latency_ms = latency_ms
        self._rng = random.Random(seed)
        self._queues: list[asyncio.Queue[VenueEvent]] = []
        self._cut_until = 0.0
        self.lost_events = 0
        self._reconnect: asyncio.TimerHandle | None = None

    # -- the port's declared capabilities, forwarded one by one ---------------------------

    @property
    def capabilities(self) -> VenueCapabilities:
        return self.inner.capabilities

    @property
    def categories(self) -> tuple[Category, ...]:
        return self.inner.categories

    def priority(self) -> AbstractContextManager[None]:
        return self.inner.priority()

    @property
    def priority_calls(self) -> Counter[str]:
        return self.inner.priority_calls

    async def warm_priority_lane(self) -> None:
        await self.inner.warm_priority_lane()

    async def cancel_all_ids(self, category: Category,
                             symbol: str | None = None) -> list[tuple[str, str]]:
        result: list[tuple[str, str]] = await self._timed(
            lambda: self.inner.cancel_all_ids(category, symbol))
        return result

    def rate_budget(self) -> RateBudget | None:
        return self.inner.rate_budget()

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        return await self.inner.set_dead_man_switch(timeout_ms)

    async def _timed(self, call: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        low, high = self.latency_ms
        try:
            if high > 0:
                await asyncio.sleep(self._rng.uniform(low, high) / 1000)
            return await call()
        finally:
            self.telemetry.observe_latency("rest", (time.perf_counter() - t0) * 1000)

    async def fetch_open_orders(self) -> list[Order]:
        result: list[Order] = await self._timed(self.inner.fetch_open_orders)
        return result

    async def fetch_order(self, order: Order) -> Order | None:
        result: Order | None = await self._timed(lambda: self.inner.fetch_order(order))
        return result

    async def fetch_fills(self, since: int, until: int) -> list[Fill]:
        result: list[Fill] = await self._timed(lambda: self.inner.fetch_fills(since, until))
        return result

    async def fetch_positions(self) -> list[Position]:
        result: list[Position] = await self._timed(self.inner.fetch_positions)
        return result

    async def fetch_balances(self) -> list[Balance]:
        result: list[Balance] = await self._timed(self.inner.fetch_balances)
        return result

    async def place_order(self, order: Order) -> Order:
        result: Order = await self._timed(lambda: self.inner.place_order(order))
        return result

    async def amend_order(self, order: Order, *, qty: object = None,
                          price: object = None) -> Order:
        result: Order = await self._timed(
            lambda: self.inner.amend_order(order, qty=qty, price=price))
        return result

    async def cancel_order(self, order: Order) -> Order:
        result: Order = await self._timed(lambda: self.inner.cancel_order(order))
        return result

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        result: list[Order] = await self._timed(lambda: self.inner.cancel_all(category, symbol))
        return result

    async def aclose(self) -> None:
        if self._reconnect is not None:
            self._reconnect.cancel()
        await self.inner.aclose()

    @property
    def stream_cut(self) -> bool:
        return time.monotonic() < self._cut_until

    def cut_stream(self, seconds: float) -> None:
        """Take the private stream down for `seconds` (call on the loop's thread)."""
        loop = asyncio.get_running_loop()
        self._cut_until = time.monotonic() + seconds
        for queue in self._queues:
            queue.put_nowait(ConnectionEvent(ConnectionState.DOWN, detail="cut by the chaos "
                                             "menu", at=wall_clock_ms()))
        if self._reconnect is not None:
            self._reconnect.cancel()
        self._reconnect = loop.call_later(seconds, self._reconnected)

    def _reconnected(self) -> None:
        self._reconnect = None
        self._cut_until = 0.0
        now = wall_clock_ms()
        for queue in self._queues:
            queue.put_nowait(ConnectionEvent(ConnectionState.RECONNECTING, at=now, attempt=1))
            queue.put_nowait(ConnectionEvent(ConnectionState.CONNECTED, reconnected=True,
                                             detail="reconnected after the cut", at=now))

    def stream(self) -> AsyncIterator[VenueEvent]:
        return self._stream()

    async def _stream(self) -> AsyncGenerator[VenueEvent, None]:
        queue: asyncio.Queue[VenueEvent] = asyncio.Queue()
        inner = self.inner.stream()

        async def pump() -> None:
            async for event in inner:
                if self.stream_cut:
                    self.lost_events += 1
                    continue
                queue.put_nowait(event)

        self._queues.append(queue)
        task = asyncio.create_task(pump(), name="chaos-stream-pump")
        try:
            while True:
                event = await queue.get()
                if not isinstance(event, ConnectionEvent) and event.received_at:
                    self.telemetry.observe_latency(
                        "ws", max(0, wall_clock_ms() - event.received_at))
                yield event
        finally:
            self._queues.remove(queue)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await inner.aclose()


class SimChaos:
    """`ChaosPort` over the sim: exchange-side actions whose private events are lost, so
    only a reconciliation can find them."""

    def __init__(self, exchange: SimExchange, account: str, venue: ChaosVenue) -> None:
        self.exchange = exchange
        self.account = account
        self.venue = venue

    def _silently(self, action: Callable[[], _T]) -> _T:
        self.exchange.drop_private_events(self.account)
        try:
            return action()
        finally:
            self.exchange.restore_private_events(self.account)

    def _pick(self, ref: str | None) -> Order:
        if ref:
            found = self.exchange.get_order(self.account, ref)
            if found is None or not found.is_active:
                raise UserFacingError(f"order {ref} is not open on the sim")
            return found
        orders = self.exchange.open_orders(self.account)
        if not orders:
            raise UserFacingError("no open order on the sim")
        ours = [o for o in orders if o.client_order_id]
        return (ours or orders)[0]

    @staticmethod
    def _title(order: Order) -> str:
        price = order.price if order.price is not None else order.trigger_price
        return (f"{order.symbol} {order.side.value} {order.qty} @ {price} "
                f"({order.client_order_id or order.venue_order_id})")

    def hand_cancel(self, ref: str | None = None) -> str:
        order = self._pick(ref)
        self._silently(lambda: self.exchange.hand_cancel(self.account, order.venue_order_id))
        return f"cancelled {self._title(order)} by hand on the exchange (events lost)"

    def hand_fill(self, ref: str | None = None) -> str:
        order = self._pick(ref)
        filled = self._silently(
            lambda: self.exchange.hand_fill(self.account, order.venue_order_id))
        return (f"filled {self._title(order)} by hand on the exchange: "
                f"{filled.filled_qty} @ {filled.avg_price} (events lost)")

    def close_position(self, symbol: str | None = None) -> str:
        positions = [p for p in self.exchange.positions(self.account)
                     if symbol is None or p.symbol == symbol]
        if not positions:
            raise UserFacingError("no open position on the sim" + (
                f" for {symbol}" if symbol else ""))
        p = positions[0]
        self._silently(lambda: self.exchange.close_position(self.account, p.category,
                                                            p.symbol))
        return f"closed the {p.symbol} position ({p.size}) by hand on the exchange (events lost)"

    def drop_private_events(self, count: int = 20) -> str:
        self.exchange.drop_private_events(self.account, count)
        return f"the next {count} private events will be lost"

    def cut_stream(self, seconds: float = 10.0) -> str:
        self.venue.cut_stream(seconds)
        return f"private WebSocket cut for {seconds:g} s; it reconnects by itself"


class SimMarket:
    """The quoter's `MarketView` over the sim, and a random walk that moves the marks."""

    def __init__(self, exchange: SimExchange, account: str,
                 symbols: tuple[tuple[Category, str], ...]) -> None:
        self.exchange = exchange
        self.account = account
        self.symbols = symbols
        self._task: asyncio.Task[None] | None = None

    def mark(self, category: Category, symbol: str) -> Decimal | None:
        return self.exchange.mark_price(category, symbol)

    def tick(self, category: Category, symbol: str) -> Decimal:
        return self.exchange.instrument(category, symbol).tick_size

    def position(self, category: Category, symbol: str) -> Decimal:
        found = self.exchange.position(self.account, category, symbol)
        return found.size if found is not None else Decimal(0)

    def start(self, interval_s: float = WALK_INTERVAL_S, max_ticks: int = WALK_TICKS) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._walk(interval_s, max_ticks), name="sim-market")

    async def _walk(self, interval_s: float, max_ticks: int) -> None:
        while True:
            await asyncio.sleep(interval_s)
            for category, symbol in self.symbols:
                try:
                    self.exchange.random_walk(category, symbol, max_ticks=max_ticks)
                except UserFacingError as exc:
                    log.info("sim market %s: %s", symbol, exc)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


# -- keyring and profiles for the dialogs ------------------------------------------------------

class KeyringCredentials:
    """`CredentialsPort` over `CredentialStore` (the only way to the keyring)."""

    def __init__(self, store: CredentialStore | None = None) -> None:
        self.store = store or CredentialStore(allow_insecure=insecure_allowed_by_env())

    def status(self) -> KeyringStatus:
        try:
            return KeyringStatus(self.store.check(), True)
        except CredentialsError as exc:
            try:
                name = self.store.backend_name()
            except CredentialsError:
                name = "none"
            return KeyringStatus(name, False, str(exc))

    def has(self, profile: str) -> bool:
        return self.store.has(profile)

    def save(self, profile: str, api_key: str, api_secret: str) -> None:
        self.store.set(profile, ApiCredentials(api_key, api_secret))

    def delete(self, profile: str) -> bool:
        return self.store.delete(profile)


class ProfileFile:
    """`ProfilesPort` over the profiles TOML file."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path

    def names(self) -> list[str]:
        try:
            return sorted(load_profiles(self.path))
        except ConfigError as exc:
            log.warning("profiles: %s", exc)
            return []

    def save(self, draft: ProfileDraft) -> str:
        profiles = load_profiles(self.path)
        if draft.name in profiles:
            raise UserFacingError(f"a profile named {draft.name!r} exists already")
        try:
            profile = Profile(name=draft.name, venue=Venue(draft.venue),
                              network=Network(draft.network), rest_url=draft.rest_url,
                              ws_url=draft.ws_url, account=draft.account,
                              category=Category(draft.category), symbols=tuple(draft.symbols),
                              read_only=draft.read_only)
        except ValueError as exc:
            if isinstance(exc, UserFacingError):
                raise
            raise UserFacingError(str(exc)) from None
        return str(save_profile(profile, self.path))


# -- sessions ---------------------------------------------------------------------------------

@dataclass
class DemoSession:
    """The embedded sim wired for the window."""

    exchange: SimExchange
    venue: ChaosVenue
    ledger: Ledger
    engine: EngineSession
    market: SimMarket
    chaos: SimChaos
    demo: DemoQuoter | None
    scenario: str
    tmpdir: str | None = None
    alerts: AlertEngine | None = None

    async def aclose(self) -> None:
        await self.market.stop()
        await self.engine.stop()
        await self.venue.aclose()
        self.ledger.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def _ledger_is_new(ledger: Ledger, venue: str, account: str) -> bool:
    return not ledger.list_runs(venue, account, 1) and not ledger.orders(venue, account) \
        and not ledger.positions(venue, account) and not ledger.balances(venue, account)


def build_demo_session(db_url: str | None = None, scenario: str = "clean", *,
                       latency_ms: tuple[float, float] = (1.0, 8.0),
                       interval_s: float = DEMO_INTERVAL_S, demo: bool = True,
                       read_only: bool = False, specs: tuple[QuoteSpec, ...] = DEFAULT_SPECS,
                       config: ReconcileConfig | None = None) -> DemoSession:
    """The sim in `scenario`'s state, a ledger (a throwaway SQLite file unless `db_url`),
    the engine over both, alerts, a demo quoter (not started) and the chaos port."""
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario {scenario!r}; known scenarios: "
                          f"{', '.join(sorted(SCENARIOS))}")
    tmpdir = None
    if db_url is None:
        tmpdir = tempfile.mkdtemp(prefix="recon-console-sim-")
        db_url = f"sqlite:///{Path(tmpdir) / 'sim-ledger.db'}"
    ledger = open_ledger(db_url)
    try:
        exchange = SimExchange(seed=SIM_SEED, clock_ms=wall_clock_ms, venue=SIM_VENUE)
        seed = build_scenario(scenario, exchange, SIM_ACCOUNT, now=wall_clock_ms())
        exchange.set_reference_prices()
        if _ledger_is_new(ledger, SIM_VENUE, SIM_ACCOUNT):
            seed_ledger(ledger, seed, SIM_VENUE, SIM_ACCOUNT)
        metrics = Metrics()
        venue = ChaosVenue(SimVenue(exchange, SIM_ACCOUNT), metrics, latency_ms=latency_ms)
        engine = EngineSession(venue, ledger, config or ReconcileConfig(),
                               clock_ms=wall_clock_ms, interval_s=interval_s, metrics=metrics,
                               read_only=read_only)
        alerts = attach_alerts(engine)
        market = SimMarket(exchange, SIM_ACCOUNT, tuple((s.category, s.symbol) for s in specs))
        quoter = DemoQuoter(engine.orders, ledger, market, venue=SIM_VENUE,
                            account=SIM_ACCOUNT, specs=specs) if demo else None
    except BaseException:
        ledger.close()
        if tmpdir is not None:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    return DemoSession(exchange, venue, ledger, engine, market, SimChaos(exchange, SIM_ACCOUNT,
                                                                        venue),
                       quoter, scenario, tmpdir, alerts)


def versions_text() -> str:
    """The same report as `recon-console --version` (one list of what we depend on)."""
    from console.version import version_report

    return version_report()


def keyring_text() -> tuple[str, bool]:
    """(what the keyring would use, whether it is acceptable)."""
    status = KeyringCredentials().status()
    if status.usable:
        return f"keyring backend: {status.backend} (secure)", True
    return f"keyring backend: {status.backend} (refused: {status.problem})", False


def demo_parts(session: DemoSession, *, credentials: Any = None, profiles: Any = None,
               versions: str = "") -> Any:
    from console.ui.app import ConsoleParts

    identity = Identity(profile="embedded sim", venue=SIM_VENUE, account=SIM_ACCOUNT,
                        badge=Badge.SIMULATED, read_only=session.engine.read_only,
                        detail=f"simulated exchange, scenario {session.scenario}, "
                               f"seed {SIM_SEED}; ledger {session.ledger.url}")
    return ConsoleParts(session=session.engine, book=session.ledger, identity=identity,
                        alerts=session.alerts, chaos=session.chaos, demo=session.demo,
                        credentials=credentials, profiles=profiles, versions=versions,
                        closers=[session.aclose])


def profile_parts(name: str, *, versions: str = "") -> Any:
    from console.ui.app import ConsoleParts

    session = build_profile_session(name)
    profile = session.profile
    badge = {Network.TESTNET: Badge.TESTNET, Network.MAINNET: Badge.MAINNET,
             Network.CUSTOM: Badge.CUSTOM}[profile.network]
    rest, ws = (profile.resolved_urls() if not profile.uses_simulator else ("", ""))
    identity = Identity(profile=profile.name, venue=profile.venue.value,
                        account=profile.account, badge=badge, read_only=profile.read_only,
                        detail=f"{profile.venue.value} {profile.network.value} {rest} {ws}")
    alerts = attach_alerts(session.engine)
    return ConsoleParts(session=session.engine, book=session.ledger, identity=identity,
                        alerts=alerts, credentials=KeyringCredentials(),
                        profiles=ProfileFile(), versions=versions, closers=[session.aclose])


# -- entry points -----------------------------------------------------------------------------

def _say(text: str) -> None:
    """The self-test's report goes to stdout (the CLI's channel), not to the log."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main_gui(*, self_test: bool = False, profile: str | None = None) -> int:
    """`recon-console` with no command: the window (or its self-test)."""
    if self_test:
        return self_test_main()
    import qasync

    from console.ui.app import create_console, ensure_app, run_console
    from console.ui.settings import UiSettings

    app = ensure_app()
    versions = versions_text()
    market: SimMarket | None = None
    if profile:
        parts = profile_parts(profile, versions=versions)
    else:
        scenario = os.environ.get(DEMO_SCENARIO_ENV, "clean")
        session = build_demo_session(scenario=scenario)
        market = session.market
        parts = demo_parts(session, credentials=KeyringCredentials(), profiles=ProfileFile(),
                           versions=versions)
    console = create_console(parts, settings=UiSettings())
    if market is not None:
        console.controller.engine_started.connect(market.start)
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        code = runner.run(run_console(console))
    del app
    return code


def self_test_main() -> int:
    """Open the window offscreen on the sim, run one reconciliation, print the versions
    and the keyring backend; 0 when all of it worked, 1 on any failure."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        import qasync

        from console.ui.app import ensure_app

        app = ensure_app()
        app.setQuitOnLastWindowClosed(False)
        _say("recon-console self-test")
        _say(versions_text())
        text, _secure = keyring_text()
        _say(text)
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            ok = runner.run(_self_test())
    except Exception:
        log.exception("self-test failed")
        _say("self-test: FAILED")
        return 1
    _say("self-test: OK" if ok else "self-test: FAILED")
    return 0 if ok else 1


async def _self_test() -> bool:
    from PySide6.QtCore import QSettings

    from console.domain.reconciliation import RunStatus
    from console.ui.app import create_console
    from console.ui.dialogs.confirm import ScriptedConfirmer
    from console.ui.settings import UiSettings

    tmp = tempfile.mkdtemp(prefix="recon-console-selftest-")
    try:
        session = build_demo_session(demo=False, latency_ms=(0.0, 0.0))
        store = QSettings(str(Path(tmp) / "ui.ini"), QSettings.Format.IniFormat)
        console = create_console(demo_parts(session, versions=versions_text()),
                                 settings=UiSettings(store),
                                 confirmer=ScriptedConfirmer(default=False))
        window = console.window
        window.show_error_dialogs = False
        window.show()
        try:
            outcome = await console.controller.start()
            await console.controller.settle()
            image = window.grab()
        finally:
            window.close()
            await window.tasks.cancel_all()
            await console.controller.aclose()
            await session.aclose()
        if outcome is None:
            _say("reconciliation: did not run")
            return False
        run = outcome.run
        _say(f"window: {image.width()}x{image.height()} offscreen, title "
              f"{window.windowTitle()!r}")
        _say(f"reconciliation: run {run.run_id} {run.status.value} in "
              f"{outcome.duration_ms:.1f} ms, {len(run.discrepancies)} discrepancies")
        return run.status is not RunStatus.FAILED and not image.isNull()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
