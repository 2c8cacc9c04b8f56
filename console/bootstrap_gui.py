"""Composition root for the Qt console (the window's half of `console.bootstrap`).

With profiles, the window runs on each profile's venue (`build_profile_session`), one
account each, all in one window; File > Open profile adds more while it runs
(`ProfileSessions`, the window's `SessionsPort`). With none (a first run), it runs on
the embedded simulated exchange alone, badged SIMULATED, with a
demo quoting strategy, a market that moves, and a chaos menu, so that discrepancies
appear and get fixed within a minute.

The sim's ledger is kept: `demo-ledger.db` in the user data dir (beside the default
ledger; `recon-console audit --demo`, `runs --demo`, `inbox --demo` read it), so what the
operator did in the window stays on record. The sim itself is rebuilt from its seed at
every start, and a book kept from an earlier start would describe an exchange that no
longer exists: its orders would read as missing on the venue, its fills as never made.
So a start on a used demo ledger forgets that account's book (orders, fills,
positions, balances, runner states, the fill coverage mark: `Ledger.reset_book`), clears
its active alerts and supersedes its pending approvals (they concern orders that are
gone), records one audit entry `demo_sim_rebuilt` with the scenario, the seed and how
many orders were forgotten, re-marks the ledger with the scenario it now holds, and seeds
the scenario's starting book, as a first start does. The runs, the audit log and the
alert history stay: they are what happened, and the entry marks where each start
begins. A halt the operator left stays too (it is restored from the audit log, as on any
venue): resume it in the window. One window at a time on the demo ledger: a second one
would forget the first one's book. The stored SIM_ACCOUNT ("main") is kept, so the CLI
and the scenarios see the same account name as always.

`--attach URL` (and File > Attach to a fleet ledger…) opens every account of a shared
PostgreSQL ledger as a remote account (`FleetLedgers`, the window's `FleetPort`): engines
elsewhere trade them; the window reads the ledger and sends the operator's decisions as
commands (docs/architecture.md, "The console as a fleet view"). A SQLite ledger is
refused: it is one process. The URL's password is never shown, logged or stored.

The UI sees protocols only (`console.ui.ports`, `console.engine.demo.ChaosPort`); the
adapters that satisfy them are the sim's demo pieces (`console.sim.chaos.ChaosVenue`,
`SimChaos`, `console.sim.market.SimMarket`), the keyring and the profiles file (below),
whose venue list is the venue registry's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console.bootstrap import (
    SIM_ACCOUNT,
    SIM_SEED,
    ProfileSession,
    build_profile_session,
    build_sim_session,
    seed_ledger,
)
from console.credentials import (
    ApiCredentials,
    CredentialsError,
    CredentialStore,
    insecure_allowed_by_env,
)
from console.domain.reconciliation import AuditEntry, evidence
from console.engine.alerts import AlertEngine
from console.engine.demo import DEFAULT_SPECS, DemoQuoter, QuoteSpec
from console.engine.metrics import Metrics
from console.engine.reconcile_service import wall_clock_ms
from console.engine.session import EngineSession
from console.errors import ConfigError, UserFacingError
from console.profiles import SIM_VENUE, Network, load_profiles, parse_profile, save_profile
from console.reconcile import ReconcileConfig
from console.scenario_marker import record_scenario
from console.sim import SimExchange, SimVenue
from console.sim.chaos import ChaosVenue, SimChaos
from console.sim.market import SimMarket
from console.store import Ledger
from console.store.db import demo_ledger_url, mask_url
from console.ui.parts import ConsoleParts
from console.ui.ports import Badge, Identity, KeyringStatus, ProfileDraft, VenueChoice, VenueField
from console.ui.remote import DEFAULT_TIMEOUT_S, RemoteOps
from console.venues.registry import VENUES, connector

log = logging.getLogger(__name__)

DEMO_SCENARIO_ENV = "RECON_CONSOLE_DEMO_SCENARIO"
"""Start the embedded sim in this scenario (see `recon-console scenarios`); default clean."""
DEMO_INTERVAL_S = 15.0

__all__ = [  # the sim's demo pieces are re-exported for the benchmarks that build a window
    "DEMO_INTERVAL_S", "DEMO_SCENARIO_ENV", "EMBEDDED_SIM", "ChaosVenue", "DemoSession",
    "KeyringCredentials", "ProfileFile", "ProfileSessions", "SimChaos", "SimMarket",
    "build_demo_session", "demo_parts", "keyring_text", "main_gui", "profile_identity",
    "profile_names", "profile_parts", "self_test_main", "versions_text",
]

EMBEDDED_SIM = "embedded sim"
"""The embedded simulated exchange's name in the window (its account label)."""


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
    """`ProfilesPort` over the profiles TOML file, offering the venue registry's venues."""

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self._venues = tuple(
            VenueChoice(spec.name, spec.title, tuple(
                VenueField(f.key, f.label, f.default, f.choices, f.help) for f in spec.fields))
            for spec in VENUES.values())

    @property
    def venues(self) -> tuple[VenueChoice, ...]:
        return self._venues

    def names(self) -> list[str]:
        try:
            return sorted(load_profiles(self.path, venues=VENUES))
        except ConfigError as exc:
            log.warning("profiles: %s", exc)
            return []

    def save(self, draft: ProfileDraft) -> str:
        """Validate the draft exactly as the file reader would (`parse_profile`) and as
        `profiles add` does (the connector spec's `check_profile`: a Binance spot profile
        without symbols), refuse a venue without a connector and an existing name, then
        write it."""
        profiles = load_profiles(self.path, venues=VENUES)
        if draft.name in profiles:
            raise UserFacingError(f"a profile named {draft.name!r} exists already")
        table: dict[str, Any] = {
            "venue": draft.venue, "network": draft.network, "account": draft.account,
            "symbols": list(draft.symbols), "read_only": draft.read_only}
        table.update({key: value for key, value in (("rest_url", draft.rest_url),
                                                    ("ws_url", draft.ws_url)) if value})
        if draft.venue in VENUES:  # always written: the file shows where they belong
            table[draft.venue] = {key: text for key, text in draft.settings if text}
        profile = parse_profile(draft.name, table, venues=VENUES)
        spec = VENUES.get(profile.venue)
        if spec is not None:
            spec.check_profile(profile)  # what only the whole profile can tell, as the CLI
        return str(save_profile(profile, self.path, venues=VENUES))


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
        if self.alerts is not None:
            await self.alerts.stop()
        await self.engine.stop()
        await self.venue.aclose()
        self.ledger.close()
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def build_demo_session(db_url: str | None = None, scenario: str = "clean", *,
                       latency_ms: tuple[float, float] = (1.0, 8.0),
                       interval_s: float = DEMO_INTERVAL_S, demo: bool = True,
                       read_only: bool = False, specs: tuple[QuoteSpec, ...] = DEFAULT_SPECS,
                       config: ReconcileConfig | None = None) -> DemoSession:
    """The sim in `scenario`'s state, a ledger (the demo ledger in the user data dir
    unless `db_url`; a used one has its sim book forgotten first, see the module
    docstring), the engine over both behind the chaos venue, alerts, a demo quoter (not
    started) and the chaos port. The wiring is `build_sim_session`'s; only the wrapper,
    the market and the quoter are the window's."""
    db_url = db_url or demo_ledger_url()
    rebuilt = forget_earlier_sim(db_url, scenario)
    metrics = Metrics()

    def chaos_venue(inner: SimVenue) -> ChaosVenue:
        return ChaosVenue(inner, metrics, latency_ms=latency_ms, seed=SIM_SEED)

    sim = build_sim_session(db_url, scenario, config=config, interval_s=interval_s,
                            wrap=chaos_venue, metrics=metrics, read_only=read_only,
                            alerts=True, reference_prices=True)
    if rebuilt is not None and not sim.seeded_ledger:
        seed_ledger(sim.ledger, sim.seed, SIM_VENUE, SIM_ACCOUNT)  # as a first start does
    venue = sim.engine.venue
    assert isinstance(venue, ChaosVenue)  # what `chaos_venue` made
    market = SimMarket(sim.exchange, SIM_ACCOUNT, tuple((s.category, s.symbol) for s in specs))
    quoter = DemoQuoter(sim.engine.orders, sim.ledger, market, venue=SIM_VENUE,
                        account=SIM_ACCOUNT, specs=specs) if demo else None
    return DemoSession(sim.exchange, venue, sim.ledger, sim.engine, market,
                       SimChaos(sim.exchange, SIM_ACCOUNT, venue), quoter, scenario, None,
                       sim.alerts)


DEMO_REBUILT = "demo_sim_rebuilt"
"""The audit action of a start that forgot the earlier sim's book (module docstring)."""


def forget_earlier_sim(db_url: str, scenario: str) -> int | None:
    """Before the sim is rebuilt on a used ledger: forget what it holds of the sim
    account's book and record that (module docstring). Returns how many orders were
    forgotten, or None when the ledger holds nothing of the sim yet."""
    ledger = Ledger.open(db_url)
    try:
        used = (ledger.list_runs(SIM_VENUE, SIM_ACCOUNT, 1)
                or ledger.count_orders(SIM_VENUE, SIM_ACCOUNT)
                or ledger.positions(SIM_VENUE, SIM_ACCOUNT)
                or ledger.balances(SIM_VENUE, SIM_ACCOUNT))
        if not used:
            return None
        at = wall_clock_ms()
        forgotten = ledger.reset_book(SIM_VENUE, SIM_ACCOUNT, by=DEMO_REBUILT, at=at)
        ledger.append_audit(AuditEntry(
            at=at, actor="sim", action=DEMO_REBUILT, subject=f"{SIM_VENUE}/{SIM_ACCOUNT}",
            venue=SIM_VENUE, account=SIM_ACCOUNT,
            details=evidence(scenario=scenario, seed=SIM_SEED, orders_forgotten=forgotten,
                             kept="runs, audit log, alert history")))
        record_scenario(ledger, SIM_VENUE, SIM_ACCOUNT, scenario, seed=SIM_SEED, at=at)
        log.info("demo ledger %s: the sim is rebuilt from seed %d (%s); %d orders of the "
                 "earlier sim forgotten", ledger.url, SIM_SEED, scenario, forgotten)
        return forgotten
    finally:
        ledger.close()


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
               versions: str = "", label: str = EMBEDDED_SIM) -> ConsoleParts:
    identity = Identity(profile=label, venue=SIM_VENUE, account=SIM_ACCOUNT,
                        badge=Badge.SIMULATED, read_only=session.engine.read_only,
                        detail=f"simulated exchange, scenario {session.scenario}, "
                               f"seed {SIM_SEED}; ledger {session.ledger.url}")
    return ConsoleParts(session=session.engine, book=session.ledger, identity=identity,
                        alerts=session.alerts, chaos=session.chaos, demo=session.demo,
                        credentials=credentials, profiles=profiles, versions=versions,
                        closers=[session.aclose])


def profile_identity(profile_session: ProfileSession) -> Identity:
    """What the window shows of a profile: which money is at stake, and where it goes."""
    profile = profile_session.profile
    if profile.uses_simulator:
        return Identity(profile=profile.name, venue=profile.venue, account=profile.account,
                        badge=Badge.SIMULATED, read_only=profile.read_only,
                        detail=f"embedded simulated exchange; ledger "
                               f"{profile_session.ledger.url}")
    badge = {Network.TESTNET: Badge.TESTNET, Network.MAINNET: Badge.MAINNET,
             Network.CUSTOM: Badge.CUSTOM}[profile.network]
    urls = connector(profile.venue).endpoints(profile)
    return Identity(profile=profile.name, venue=profile.venue, account=profile.account,
                    badge=badge, read_only=profile.read_only,
                    detail=f"{profile.venue} {profile.network.value} {urls.rest} "
                           f"{urls.ws_private}")


def profile_parts(name: str, *, config_path: str | None = None, db_url: str | None = None,
                  versions: str = "") -> ConsoleParts:
    """The window's parts for a profile. The alert engine is the session's own (the one
    `build_profile_session` attached and `ProfileSession.aclose` stops): a second one
    would evaluate and write every run twice."""
    session = build_profile_session(name, config_path=config_path, db_url=db_url)
    return ConsoleParts(session=session.engine, book=session.ledger,
                        identity=profile_identity(session), alerts=session.alerts,
                        credentials=KeyringCredentials(), profiles=ProfileFile(config_path),
                        versions=versions, closers=[session.aclose])


class ProfileSessions:
    """`SessionsPort`: a profile opened while the window runs is built exactly as at start
    (`profile_parts`), in the worker thread the window calls this from."""

    def __init__(self, config_path: str | None = None, *, versions: str = "") -> None:
        self.config_path = config_path
        self.versions = versions

    def open(self, profile: str) -> ConsoleParts:
        return profile_parts(profile, config_path=self.config_path, versions=self.versions)


# -- a fleet ledger (remote accounts) ---------------------------------------------------------

SQLITE_REFUSED = ("a SQLite ledger is one process: open its profile instead "
                  "(recon-console --profile NAME)")


def redact(text: str, url: str) -> str:
    """`text` with the password of `url` (and `url` itself) replaced: for every message
    that may quote what the operator typed or what the driver answered."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    out = text.replace(url, mask_url(url)) if url else text
    try:
        password = make_url(url).password
    except ArgumentError:
        return out.replace(url, "<ledger URL>") if url else out
    if password:
        out = out.replace(str(password), "***")
    return out


def remote_identity(venue: str, account: str, ledger_url: str) -> Identity:
    """A remote account: named for where it trades; its money is the venue's (the
    ledger does not say which network: CUSTOM, unless it is the simulator)."""
    return Identity(profile=f"remote {venue}/{account}", venue=venue, account=account,
                    badge=Badge.SIMULATED if venue == SIM_VENUE else Badge.CUSTOM,
                    detail=f"remote account: its engine runs elsewhere; fleet ledger "
                           f"{ledger_url}")


class _SharedLedger:
    """One ledger for every remote account of one attach; closed with the last of them."""

    def __init__(self, ledger: Ledger, users: int) -> None:
        self.ledger = ledger
        self.users = users

    async def release(self) -> None:
        self.users -= 1
        if self.users == 0:
            self.ledger.close()


class FleetLedgers:
    """`FleetPort`: attach the window to a shared PostgreSQL ledger, one remote account per
    (venue, account) it has a lease row or recorded runs for."""

    def __init__(self, *, versions: str = "", timeout_s: float | None = None) -> None:
        self.versions = versions
        self.timeout_s = timeout_s

    def attach(self, url: str) -> list[ConsoleParts]:
        url = url.strip()
        shown = mask_url(url)
        try:
            backend = url.split(":", 1)[0].split("+", 1)[0].lower()
            if backend == "sqlite":
                raise UserFacingError(f"{shown}: {SQLITE_REFUSED}")
            if backend not in ("postgresql", "postgres"):
                raise UserFacingError(f"{shown}: not a PostgreSQL URL (postgresql://…); "
                                      "only a shared PostgreSQL ledger holds a fleet")
            ledger = Ledger.open(url, migrate=False)  # a console never changes the schema
        except UserFacingError as exc:
            raise UserFacingError(redact(str(exc), url)) from None
        try:
            accounts = ledger.fleet_accounts()
        except BaseException:
            ledger.close()
            raise
        if not accounts:
            ledger.close()
            return []
        shared = _SharedLedger(ledger, len(accounts))
        timeout_s = DEFAULT_TIMEOUT_S if self.timeout_s is None else self.timeout_s
        parts = [ConsoleParts(session=None, book=ledger,
                              identity=remote_identity(venue, account, ledger.url),
                              versions=self.versions, closers=[shared.release],
                              remote=RemoteOps(ledger, venue, account, timeout_s=timeout_s))
                 for venue, account in accounts]
        log.info("attached to fleet ledger %s: %s", ledger.url,
                 ", ".join(f"{v}/{a}" for v, a in accounts))
        return parts


def profile_names(profile: str | Sequence[str] | None) -> list[str]:
    """`--profile` as given: once, several times, or as comma lists; each name once."""
    given = [profile] if isinstance(profile, str) else list(profile or ())
    names = [n.strip() for item in given for n in item.split(",") if n.strip()]
    return list(dict.fromkeys(names))


def _close_built(built: Sequence[ConsoleParts]) -> None:
    """Release what was built before a later profile failed (no loop runs yet)."""
    async def close_all() -> None:
        for parts in built:
            await parts.aclose()

    if built:
        asyncio.run(close_all())


# -- entry points -----------------------------------------------------------------------------

def _say(text: str) -> None:
    """The self-test's report goes to stdout (the CLI's channel), not to the log."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main_gui(*, self_test: bool = False, profile: str | Sequence[str] | None = None,
             attach: Sequence[str] = ()) -> int:
    """`recon-console` with no command: the window (or its self-test). `profile`: one
    name, several (`--profile A --profile B`, `--profile A,B`), or none for the embedded
    sim alone. `attach`: shared PostgreSQL ledgers whose accounts open as remote ones
    (with no profile, those alone)."""
    if self_test:
        return self_test_main()
    import qasync

    from console.ui.app import create_workspace_console, ensure_app, run_console
    from console.ui.settings import UiSettings

    app = ensure_app()
    versions = versions_text()
    market: SimMarket | None = None
    accounts: list[ConsoleParts] = []
    names = profile_names(profile)
    fleet = FleetLedgers(versions=versions)
    if names or attach:
        try:
            for name in names:
                accounts.append(profile_parts(name, versions=versions))
            for url in attach:
                found = fleet.attach(url)
                if not found:
                    raise UserFacingError(f"{mask_url(url)}: the ledger holds no account yet "
                                          "(no engine took a lease or recorded a run)")
                accounts += found
        except BaseException:
            _close_built(accounts)
            raise
    else:
        scenario = os.environ.get(DEMO_SCENARIO_ENV, "clean")
        session = build_demo_session(scenario=scenario)
        market = session.market
        accounts.append(demo_parts(session, credentials=KeyringCredentials(),
                                   profiles=ProfileFile(), versions=versions))
    console = create_workspace_console(accounts, settings=UiSettings(),
                                       sessions=ProfileSessions(versions=versions))
    console.workspace.fleet = fleet  # File > Attach to a fleet ledger…
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
    try:  # a ledger of its own: the self-test never touches the demo ledger
        session = build_demo_session(f"sqlite:///{Path(tmp) / 'self-test.db'}", demo=False,
                                     latency_ms=(0.0, 0.0))
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
