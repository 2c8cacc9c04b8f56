"""Composition root: the one module that picks concrete adapters and wires them together.

Everything else depends on ports; only this module (and the entry point that calls it)
knows that the ledger is SQLAlchemy, that the venue is the simulated exchange or a real
connector, and which configuration applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.credentials import ApiCredentials, CredentialStore, insecure_allowed_by_env
from console.domain import LedgerChanges
from console.domain.telemetry import Telemetry
from console.engine.alerts import AlertEngine, attach_alerts
from console.engine.metrics import Metrics
from console.engine.order_manager import AmendPolicy
from console.engine.ports import VenuePort
from console.engine.reconcile_service import ReconcileService, wall_clock_ms
from console.engine.session import EngineSession
from console.errors import ConfigError
from console.profiles import ActionMode, Profile, Venue, get_profile
from console.reconcile import ReconcileConfig
from console.sim import SimExchange, SimVenue
from console.sim.scenarios import SCENARIOS, ScenarioSeed, build_scenario
from console.store import Ledger
from console.venues.bybit import BybitConfig, BybitVenue

SIM_VENUE = "sim"
SIM_ACCOUNT = "main"
SIM_SEED = 7


def open_ledger(db_url: str | None) -> Ledger:
    """The ledger at `db_url`, or SQLite in the platform data dir; migrated to head."""
    return Ledger.open(db_url)


@dataclass
class SimSession:
    """An in-process simulated venue wired to a ledger and a reconcile service."""

    exchange: SimExchange
    venue: SimVenue
    ledger: Ledger
    engine: EngineSession
    scenario: str
    seed: ScenarioSeed
    seeded_ledger: bool

    @property
    def service(self) -> ReconcileService:
        return self.engine.reconciler

    def close(self) -> None:
        self.ledger.close()


def _ledger_is_new(ledger: Ledger, venue: str, account: str) -> bool:
    return not ledger.list_runs(venue, account, 1) and not ledger.orders(venue, account) \
        and not ledger.positions(venue, account) and not ledger.balances(venue, account)


def seed_ledger(ledger: Ledger, seed: ScenarioSeed, venue: str, account: str) -> None:
    """Write what the bot's ledger held when it went away (a scenario's starting point)."""
    ledger.apply_changes(venue, account, LedgerChanges(
        orders=seed.orders, fills=seed.fills, positions=seed.positions,
        balances=seed.balances, runner_states=seed.runner_states))


def build_sim_session(db_url: str | None, scenario: str = "clean", *,
                      config: ReconcileConfig | None = None,
                      interval_s: float = 60.0) -> SimSession:
    """The simulated exchange in `scenario`'s state and a ledger to reconcile against it.

    The sim is rebuilt from its seed on every start, so a scenario is a fixed venue state.
    The ledger is seeded with the scenario's "before" state only when it is new for this
    venue and account: a second run on the same database sees what the first one did.
    """
    if scenario not in SCENARIOS:
        known = ", ".join(sorted(SCENARIOS))
        raise ConfigError(f"unknown scenario {scenario!r}; known scenarios: {known}")
    ledger = open_ledger(db_url)
    try:
        exchange = SimExchange(seed=SIM_SEED, clock_ms=wall_clock_ms, venue=SIM_VENUE)
        seed = build_scenario(scenario, exchange, SIM_ACCOUNT, now=wall_clock_ms())
        seeded = _ledger_is_new(ledger, SIM_VENUE, SIM_ACCOUNT)
        if seeded:
            seed_ledger(ledger, seed, SIM_VENUE, SIM_ACCOUNT)
        venue = SimVenue(exchange, SIM_ACCOUNT)
        engine = EngineSession(venue, ledger, config or ReconcileConfig(),
                               clock_ms=wall_clock_ms, interval_s=interval_s)
    except BaseException:
        ledger.close()
        raise
    return SimSession(exchange, venue, ledger, engine, scenario, seed, seeded)


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
    if profile.venue is not Venue.BYBIT:
        raise ConfigError(f"profile {profile.name!r}: venue {profile.venue.value!r} has no "
                          "connector yet (available: bybit, and the built-in sim)")
    rest_url, ws_url = profile.resolved_urls()
    retry = profile.policy.retry
    config = BybitConfig(
        account=profile.account, category=profile.category, rest_url=rest_url,
        ws_private_url=ws_url, symbols=profile.symbols, settle_coin=profile.settle_coin,
        retry_tries=retry.tries, retry_base_ms=retry.base_ms, retry_max_ms=retry.max_ms)
    return BybitVenue(config, credentials.api_key, credentials.api_secret,
                      profile=profile.name, telemetry=telemetry)


def build_profile_session(name: str, *, config_path: str | None = None,
                          db_url: str | None = None,
                          credentials: CredentialStore | None = None,
                          secrets: ApiCredentials | None = None) -> ProfileSession:
    """Everything a profile names, wired: ledger, connector (secrets from the keyring,
    unless an embedding program hands them over), engine. Secrets go straight into the
    connector and nowhere else."""
    profile = get_profile(name, config_path)
    if secrets is None:
        store = credentials or CredentialStore(allow_insecure=insecure_allowed_by_env())
        secrets = store.get(profile.name)
    ledger = open_ledger(db_url or profile.db_url)
    try:
        metrics = Metrics()
        venue = build_venue(profile, secrets, metrics)
        engine = EngineSession(venue, ledger, reconcile_config(profile),
                               clock_ms=wall_clock_ms,
                               interval_s=float(profile.reconcile_interval_s),
                               metrics=metrics, read_only=profile.read_only,
                               amend_policy=amend_policy(profile))
        alerts = attach_alerts(engine)
    except BaseException:
        ledger.close()
        raise
    return ProfileSession(profile, ledger, venue, engine, alerts)


def open_profile_ledger(name: str, *, config_path: str | None = None,
                        db_url: str | None = None) -> tuple[Profile, Ledger]:
    """A profile's ledger alone (no connector, no credentials): for listings."""
    profile = get_profile(name, config_path)
    return profile, open_ledger(db_url or profile.db_url)


def alert_engine(profile: Profile, ledger: Ledger) -> AlertEngine:
    """Alerts of a profile's account over its ledger, for acknowledging from the CLI."""
    return AlertEngine(ledger, profile.venue.value, profile.account, clock_ms=wall_clock_ms)
