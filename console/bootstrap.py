"""Composition root: the one module that picks concrete adapters and wires them together.

Everything else depends on ports; only this module (and the entry points that call it)
knows that the ledger is SQLAlchemy, that the venue is the simulated exchange or a real
connector, and which configuration applies. Real connectors are found through the venue
registry (`console.venues.registry`), never by name here; the embedded simulated exchange
("sim") is wired here, for the CLI, for a sim profile and (wrapped) for the window.

An embedding program builds its session here too: `build_session` from a `Profile` object
and the secrets it holds (no profiles file, no keyring), or `build_sim_session` for the
embedded sim; both take the worker id and the pending grace (README, "Embedding the
engine").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from console.book_marker import bind_book, book_is_new, check_book, check_scenario, record_scenario
from console.credentials import ApiCredentials, CredentialStore, insecure_allowed_by_env
from console.domain import LedgerChanges
from console.domain.telemetry import Telemetry
from console.engine.alerts import AlertEngine, attach_alerts
from console.engine.lease import DEFAULT_LEASE_TTL_S
from console.engine.metrics import Metrics
from console.engine.order_manager import AmendPolicy
from console.engine.ports import VenuePort
from console.engine.reconcile_service import ReconcileService, wall_clock_ms
from console.engine.session import DEFAULT_WORKER, EngineSession
from console.errors import ConfigError
from console.profiles import SIM_VENUE, ActionMode, Profile, book_identity, get_profile
from console.reconcile import ReconcileConfig
from console.sim import SimExchange, SimVenue
from console.sim.scenarios import SCENARIOS, ScenarioSeed, build_scenario
from console.store import Ledger
from console.venues.registry import VENUES, connector

SIM_ACCOUNT = "main"
SIM_SEED = 7
SIM_PROFILE_SCENARIO = "clean"
"""A sim profile starts the embedded exchange in this scenario."""


def open_ledger(db_url: str | None) -> Ledger:
    """The ledger at `db_url`, or SQLite in the platform data dir; migrated to head."""
    return Ledger.open(db_url)


@dataclass
class SimSession:
    """An in-process simulated venue wired to a ledger and a reconcile service.

    `venue` is the bare `SimVenue` (its fault injection is for tests); the engine runs on
    `engine.venue`, which is `venue` or what `build_sim_session`'s `wrap` made of it.
    """

    exchange: SimExchange
    venue: SimVenue
    ledger: Ledger
    engine: EngineSession
    scenario: str
    seed: ScenarioSeed
    seeded_ledger: bool
    alerts: AlertEngine | None = None

    @property
    def service(self) -> ReconcileService:
        return self.engine.reconciler

    def close(self) -> None:
        self.ledger.close()

    async def aclose(self) -> None:
        """Stop the alerts and the engine cleanly (the stream drained into the ledger),
        then close the ledger. The exchange lives on: a new session may use it."""
        try:
            if self.alerts is not None:
                await self.alerts.stop()
            await self.engine.stop()
        finally:
            self.ledger.close()


def seed_ledger(ledger: Ledger, seed: ScenarioSeed, venue: str, account: str) -> None:
    """Write what the bot's ledger held when it went away (a scenario's starting point)."""
    ledger.apply_changes(venue, account, LedgerChanges(
        orders=seed.orders, fills=seed.fills, positions=seed.positions,
        balances=seed.balances, runner_states=seed.runner_states))


def build_sim_session(db_url: str | None, scenario: str = "clean", *,
                      config: ReconcileConfig | None = None,
                      interval_s: float = 60.0, account: str = SIM_ACCOUNT,
                      wrap: Callable[[SimVenue], VenuePort] | None = None,
                      metrics: Metrics | None = None, read_only: bool = False,
                      amend: AmendPolicy | None = None, alerts: bool = False,
                      reference_prices: bool = False, worker_id: str = DEFAULT_WORKER,
                      pending_grace_ms: int | None = None,
                      exchange: SimExchange | None = None,
                      lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
                      refuse_other_scenario: bool = False) -> SimSession:
    """The simulated exchange in `scenario`'s state and a ledger to reconcile against it.

    The sim is rebuilt from its seed on every start, so a scenario is a fixed venue state.
    The ledger is seeded with the scenario's "before" state only when it is new for this
    venue and account: a second run on the same database sees what the first one did.
    The seeding run marks the ledger with its scenario; a ledger another scenario built
    is warned of, or with `refuse_other_scenario` refused
    (`console.scenario_marker.ScenarioMismatchError`: use a fresh --db).

    For the window and for sim profiles: `wrap` puts the engine on a wrapper of the sim's
    port (the demo's chaos venue), `metrics` is the engine's registry (the wrapper may
    report into it), `alerts` attaches the one alert engine of the session, and
    `reference_prices` gives every instrument a price, so that market orders fill.

    For an embedding program: `worker_id` is the worker in client order ids,
    `pending_grace_ms` the grace of an order the venue does not know yet (the engine's
    default when None), and `exchange` an exchange a previous session ran on (a restart
    against the same venue state: the scenario is not built again, the ledger not seeded).
    The session holds the lease of its account while it trades (`lease_ttl_s` without
    renewal: console.engine.lease); on SQLite nothing waits for it.
    """
    if scenario not in SCENARIOS:
        known = ", ".join(sorted(SCENARIOS))
        raise ConfigError(f"unknown scenario {scenario!r}; known scenarios: {known}")
    ledger = open_ledger(db_url)
    try:
        if exchange is None:
            exchange = SimExchange(seed=SIM_SEED, clock_ms=wall_clock_ms, venue=SIM_VENUE)
            seed = build_scenario(scenario, exchange, account, now=wall_clock_ms())
            seeded = book_is_new(ledger, SIM_VENUE, account)
            if not seeded:  # another scenario's ledger would mix with this one
                check_scenario(ledger, SIM_VENUE, account, scenario,
                               refuse=refuse_other_scenario)
        else:
            seed = ScenarioSeed(scenario, "the venue as an earlier session left it",
                                frozenset())
            seeded = False
        if reference_prices:
            exchange.set_reference_prices()
        if seeded:
            seed_ledger(ledger, seed, SIM_VENUE, account)
            record_scenario(ledger, SIM_VENUE, account, scenario, seed=SIM_SEED,
                            at=wall_clock_ms())
        venue = SimVenue(exchange, account)
        port: VenuePort = wrap(venue) if wrap is not None else venue
        engine = EngineSession(port, ledger, config or ReconcileConfig(),
                               clock_ms=wall_clock_ms, interval_s=interval_s, metrics=metrics,
                               read_only=read_only, amend_policy=amend, worker=worker_id,
                               pending_grace_ms=pending_grace_ms, leases=ledger,
                               lease_ttl_s=lease_ttl_s)
        alert_engine = attach_alerts(engine) if alerts else None
    except BaseException:
        ledger.close()
        raise
    return SimSession(exchange, venue, ledger, engine, scenario, seed, seeded, alert_engine)


# -- real venues, from a profile ---------------------------------------------------------------

@dataclass
class ProfileSession:
    """A venue connector for a profile, its ledger and the engine over both."""

    profile: Profile
    ledger: Ledger
    venue: VenuePort
    engine: EngineSession
    alerts: AlertEngine

    async def aclose(self) -> None:
        """Stop alerts, the engine, the connector's threads and sockets, then the ledger."""
        try:
            await self.alerts.stop()
            await self.engine.stop()
            await self.venue.aclose()
        finally:
            self.ledger.close()


def reconcile_config(profile: Profile) -> ReconcileConfig:
    """The reconciler's policy from a profile's `[policy]` table."""
    policy = profile.policy
    return ReconcileConfig(
        venue_actions_auto=(policy.venue_actions is ActionMode.AUTO and not profile.read_only),
        ledger_actions_auto=policy.ledger_actions is ActionMode.AUTO,
        hard_desync_ratio=policy.hard_desync_ratio,
        balance_abs_tolerance=policy.balance_abs_tolerance,
        balance_rel_tolerance=policy.balance_rel_tolerance,
        stale_order_timeout_ms=(None if policy.stale_order_timeout_s is None
                                else policy.stale_order_timeout_s * 1000),
    )


def amend_policy(profile: Profile) -> AmendPolicy:
    """Amend-first thresholds from a profile's `[policy]` table."""
    policy = profile.policy
    return AmendPolicy(min_time_in_book_ms=policy.min_time_in_book_ms,
                       price_threshold_bps=policy.amend_price_threshold_bps,
                       size_threshold=policy.amend_size_threshold)


def build_venue(profile: Profile, credentials: ApiCredentials,
                telemetry: Telemetry) -> VenuePort:
    """The connector the venue registry has for the profile's venue."""
    spec = connector(profile.venue)
    venue: VenuePort = spec.build(profile, api_key=credentials.api_key,
                                  api_secret=credentials.api_secret, telemetry=telemetry)
    return venue


def load_profile(name: str, config_path: str | None = None) -> Profile:
    """The named profile, read against the venues this build has."""
    return get_profile(name, config_path, venues=VENUES)


def build_profile_session(name: str, *, config_path: str | None = None,
                          db_url: str | None = None,
                          credentials: CredentialStore | None = None,
                          secrets: ApiCredentials | None = None,
                          worker_id: str = DEFAULT_WORKER,
                          pending_grace_ms: int | None = None,
                          lease_ttl_s: float | None = None) -> ProfileSession:
    """The named profile from the profiles file, wired by `build_session` (`lease_ttl_s`
    None: the profile's own)."""
    if credentials is None and secrets is None and config_path is not None:
        # a missing key's hint names this profiles file (`credentials set ... --config`)
        credentials = CredentialStore(allow_insecure=insecure_allowed_by_env(),
                                      config=config_path)
    return build_session(load_profile(name, config_path), db_url=db_url,
                         credentials=credentials, secrets=secrets, worker_id=worker_id,
                         pending_grace_ms=pending_grace_ms, lease_ttl_s=lease_ttl_s)


def build_session(profile: Profile, *, secrets: ApiCredentials | None = None,
                  db_url: str | None = None, credentials: CredentialStore | None = None,
                  worker_id: str = DEFAULT_WORKER,
                  pending_grace_ms: int | None = None,
                  lease_ttl_s: float | None = None) -> ProfileSession:
    """Everything a profile names, wired: ledger, connector (secrets from the keyring,
    unless an embedding program hands them over), engine, and its one alert engine.

    The profile is an object: an embedding program builds one (`Profile`, with its
    `Policy`) and needs no profiles file on disk. Secrets go straight into the connector
    and nowhere else. `db_url` overrides the profile's ledger; `worker_id` is the worker
    in client order ids (one per process sharing a ledger); `pending_grace_ms` overrides
    the 30 s grace of an order the venue does not know yet; `lease_ttl_s` overrides the
    profile's `lease_ttl_s`, how long the engine's lease of the account lasts without
    renewal (on a shared PostgreSQL ledger one engine per account trades, the others
    observe: console.engine.lease); a caller's override is not bounded as the profile's
    value is, so a test may use a sub-second TTL.
    A sim profile gets the embedded simulated exchange (no secret) in the
    `SIM_PROFILE_SCENARIO` state, refused on a ledger another scenario built.

    The ledger's (venue, account) book is bound to the profile's identity (venue,
    network, custom endpoint, the scope it reconciles: `console.book_marker`) by the first
    session that uses it; a profile of another identity is refused
    (`BookMismatchError`) before credentials are read or anything is sent or written."""
    if lease_ttl_s is None:
        lease_ttl_s = float(profile.lease_ttl_s)
    if profile.uses_simulator:
        return _sim_profile_session(profile, db_url, worker_id=worker_id,
                                    pending_grace_ms=pending_grace_ms,
                                    lease_ttl_s=lease_ttl_s)
    identity = book_identity(profile, VENUES)
    assert identity is not None  # every connector venue has one; the sim returned above
    ledger = open_ledger(db_url or profile.db_url)
    try:
        bound = check_book(ledger, profile.account, identity, profile=profile.name)
        if secrets is None:
            store = credentials or CredentialStore(allow_insecure=insecure_allowed_by_env())
            secrets = store.get(profile.name)
        metrics = Metrics()
        venue = build_venue(profile, secrets, metrics)
        if not bound:
            bind_book(ledger, profile.account, identity, at=wall_clock_ms(),
                      profile=profile.name)
        engine = EngineSession(venue, ledger, reconcile_config(profile),
                               clock_ms=wall_clock_ms,
                               interval_s=float(profile.reconcile_interval_s),
                               metrics=metrics, read_only=profile.read_only,
                               amend_policy=amend_policy(profile), worker=worker_id,
                               pending_grace_ms=pending_grace_ms, leases=ledger,
                               lease_ttl_s=lease_ttl_s)
        alerts = attach_alerts(engine)
    except BaseException:
        ledger.close()
        raise
    return ProfileSession(profile, ledger, venue, engine, alerts)


def _sim_profile_session(profile: Profile, db_url: str | None, *, worker_id: str,
                         pending_grace_ms: int | None,
                         lease_ttl_s: float) -> ProfileSession:
    # the sim profile's default ledger is the quick-start one: a ledger another scenario
    # built is refused, as `reconcile --venue sim --scenario` refuses it
    sim = build_sim_session(db_url or profile.db_url, SIM_PROFILE_SCENARIO,
                            config=reconcile_config(profile),
                            interval_s=float(profile.reconcile_interval_s),
                            account=profile.account, metrics=Metrics(),
                            read_only=profile.read_only, amend=amend_policy(profile),
                            alerts=True, reference_prices=True, worker_id=worker_id,
                            pending_grace_ms=pending_grace_ms, lease_ttl_s=lease_ttl_s,
                            refuse_other_scenario=True)
    assert sim.alerts is not None  # asked for
    return ProfileSession(profile, sim.ledger, sim.engine.venue, sim.engine, sim.alerts)


def open_profile_ledger(name: str, *, config_path: str | None = None,
                        db_url: str | None = None) -> tuple[Profile, Ledger]:
    """A profile's ledger alone (no connector, no credentials): for listings. A book
    bound to another identity is refused (`BookMismatchError`): its rows are not this
    profile's; an unbound one is not bound here (a session binds it)."""
    profile = load_profile(name, config_path)
    ledger = open_ledger(db_url or profile.db_url)
    identity = book_identity(profile, VENUES)
    try:
        if identity is not None:
            check_book(ledger, profile.account, identity, profile=profile.name)
    except BaseException:
        ledger.close()
        raise
    return profile, ledger


def alert_engine(profile: Profile, ledger: Ledger) -> AlertEngine:
    """Alerts of a profile's account over its ledger, for acknowledging from the CLI."""
    return AlertEngine(ledger, profile.venue, profile.account, clock_ms=wall_clock_ms)
