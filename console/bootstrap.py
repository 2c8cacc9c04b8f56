"""Composition root: the one module that picks concrete adapters and wires them together.

Everything else depends on ports; only this module (and the entry point that calls it)
knows that the ledger is SQLAlchemy, that the venue is the simulated exchange or a real
connector, and which configuration applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.domain import LedgerChanges
from console.engine.reconcile_service import ReconcileService, wall_clock_ms
from console.engine.session import EngineSession
from console.errors import ConfigError
from console.reconcile import ReconcileConfig
from console.sim import SimExchange, SimVenue
from console.sim.scenarios import SCENARIOS, ScenarioSeed, build_scenario
from console.store import Ledger

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
