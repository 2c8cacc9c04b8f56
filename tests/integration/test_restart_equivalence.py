"""Restart rehearsal check: for every sim scenario, a warm restart (a clean stop, then a
new session) and a cold restart (the process dies: no stop path runs, what the stream
delivered but had not written is lost) from the same venue state end in the same ledger.

Each path runs on its own exchange built from the same seed and scenario at the same
moment (the sim is deterministic: same venue ids, exec ids and times), against its own
ledger:

1. a session starts on the scenario with the bot's bracket worker attached (the startup
   reconciliation, the runner's resume), under a manual and an automatic venue policy;
2. the venue moves while it runs: one of our resting limit orders fills by hand (a
   bracket's take-profit, where there is one: the runner's one-cancels-other and trade
   count then run before the restart), and someone buys ETHUSDT at market on the
   exchange's UI; the stream delivers it all to the
   process, whose writer is held at the ledger's door;
3. warm: the writer is let through and the session stops cleanly (drains, audits);
   cold: the held writes are dropped and every task of the process is cancelled with no
   stop path (asyncio.run's teardown; a dropped write never commits, as under SIGKILL);
4. the venue states of both paths are checked equal (the premise), then a new session
   starts on each ledger, settles and stops.

Orders, fills, positions, balances and runner (bracket) states must then be equal as
sets, ignoring only timestamps: times of writes, and the epoch part of our client ids.
On PostgreSQL the engines take the account's lease: the cold restart's engine waits for
the dead one's lease to expire, then takes over (a warm stop releases it at once).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from console.bootstrap import SIM_SEED, SimSession, build_sim_session, seed_ledger
from console.domain import Category, LedgerChanges, OrderStatus, OrderType, Side
from console.domain.events import FillEvent, VenueEvent
from console.domain.ids import parse_client_id
from console.domain.records import to_record
from console.engine.brackets import BracketRunner, attach_brackets
from console.engine.reconcile_service import wall_clock_ms
from console.engine.session import EngineSession
from console.profiles import SIM_VENUE
from console.reconcile import ReconcileConfig
from console.sim import SimExchange
from console.sim.errors import SimRejectedError
from console.sim.scenarios import SCENARIOS, USER, WORKER, build_scenario
from console.store import Ledger

ACCOUNT = "main"
GRACE_MS = 2_000
TIME_FIELDS = frozenset({"created_at", "updated_at", "exec_time", "opened_at",
                         "last_execution_time"})
ID_FIELDS = frozenset({"client_order_id", "entry_client_id", "sl_client_id", "tp_client_id"})
POLICIES = {"manual": ReconcileConfig(),
            "auto": ReconcileConfig(venue_actions_auto=True)}
LEASE_TTL_S = 2.0
"""On PostgreSQL the dead process's lease must expire before the cold restart's engine
may take over (console.engine.lease): kept short here."""


class HeldWrites:
    """The stream writer's ledger: its writes wait at the door until `release` (they go
    in: a clean stop) or `drop` (they never commit: the process died)."""

    def __init__(self, inner: Ledger) -> None:
        self.inner = inner
        self._open = threading.Event()
        self._dead = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def apply_changes(self, venue: str, account: str, changes: LedgerChanges) -> None:
        self._open.wait(30)
        if not self._dead:
            self.inner.apply_changes(venue, account, changes)

    def release(self) -> None:
        self._open.set()

    def drop(self) -> None:
        self._dead = True
        self._open.set()


@dataclass
class Path1:
    exchange: SimExchange
    url: str
    delivered_unwritten: bool


def _activity(exchange: SimExchange) -> str:
    """The venue moves: one of our resting limit orders fills by hand, and a market buy
    is made on the exchange's UI. Returns the venue id of that buy."""
    ours = [o for o in exchange.open_orders(ACCOUNT)
            if o.client_order_id.startswith("rc-") and o.status is OrderStatus.NEW
            and o.type is OrderType.LIMIT]
    for order in ours:  # the first that can fill (a take-profit needs its position)
        try:
            exchange.hand_fill(ACCOUNT, order.venue_order_id)
        except SimRejectedError:
            continue
        break
    buy = exchange.place_order(ACCOUNT, category=Category.LINEAR, symbol="ETHUSDT",
                               side=Side.BUY, order_type=OrderType.MARKET,
                               qty=Decimal("0.1"))
    return buy.venue_order_id


class SceneClock:
    """The exchange's clock: `at` while the scenario is built (both paths' scenarios then
    carry the same times, so the ids derived from them agree), the wall clock after."""

    def __init__(self, at: int) -> None:
        self.at: int | None = at

    def __call__(self) -> int:
        return wall_clock_ms() if self.at is None else self.at


async def _start(engine: EngineSession) -> BracketRunner:
    """Each life starts alike: the engine with its private stream, then the bracket worker
    resumed from the ledger and settled."""
    runner = attach_brackets(engine, USER, WORKER)
    await engine.start(require_stream=True)
    await runner.resume()
    await runner.settle()
    return runner


def _first_life(url: str, scenario: str, config: ReconcileConfig, *, cold: bool,
                at: int) -> Path1:
    clock = SceneClock(at)
    exchange = SimExchange(seed=SIM_SEED, clock_ms=clock, venue=SIM_VENUE)
    seed = build_scenario(scenario, exchange, ACCOUNT, now=at)
    clock.at = None
    with Ledger.open(url) as ledger:
        seed_ledger(ledger, seed, SIM_VENUE, ACCOUNT)
    sim = build_sim_session(url, scenario, config=config, pending_grace_ms=GRACE_MS,
                            exchange=exchange, lease_ttl_s=LEASE_TTL_S)
    held = HeldWrites(sim.ledger)
    sim.engine.stream.ledger = held  # type: ignore[assignment]
    delivered = asyncio.Event()
    buy_id: list[str] = []

    def seen(event: VenueEvent) -> None:
        if isinstance(event, FillEvent) and buy_id and event.fill.venue_order_id == buy_id[0]:
            delivered.set()

    sim.engine.stream.on_event(seen)

    async def live() -> bool:
        engine = sim.engine
        runner = await _start(engine)
        buy_id.append(_activity(sim.exchange))
        await asyncio.wait_for(delivered.wait(), 5)  # in the process, not in the ledger
        await runner.settle()
        unwritten = not engine.stream.drained  # delivered, not yet written
        if cold:
            held.drop()
            return unwritten  # asyncio.run cancels every task: no stop path runs
        held.release()
        await runner.stop()
        await engine.stop()
        return unwritten

    try:
        unwritten = asyncio.run(live())
    finally:
        held.drop()  # a cold life's writer thread must not outlive the test's ledger
        sim.ledger.close()
    return Path1(sim.exchange, url, unwritten)


def _second_life(first: Path1, scenario: str, config: ReconcileConfig) -> None:
    sim: SimSession = build_sim_session(first.url, scenario, config=config,
                                        pending_grace_ms=GRACE_MS, exchange=first.exchange,
                                        lease_ttl_s=LEASE_TTL_S)

    async def live() -> None:
        engine = sim.engine
        runner = await _start(engine)
        await engine.settled(timeout_s=10)
        await runner.stop()
        await engine.stop()

    try:
        asyncio.run(live())
    finally:
        sim.ledger.close()


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()
                if k not in TIME_FIELDS}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _no_epoch(record: dict[str, Any]) -> dict[str, Any]:
    """Our client ids carry the minting time (rc-worker-role-EPOCH-counter): keep the rest."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out[key] = _no_epoch(value)
        elif key in ID_FIELDS and isinstance(value, str) and parse_client_id(value):
            parts = value.split("-")
            out[key] = "-".join((*parts[:3], "*", parts[4]))
        else:
            out[key] = value
    return out


def _as_set(records: Iterator[object] | list[Any]) -> list[str]:
    return sorted(json.dumps(_no_epoch(_plain(to_record(r))), sort_keys=True)
                  for r in records)


def ledger_state(url: str) -> dict[str, list[str]]:
    with Ledger.open(url) as ledger:
        return {
            "orders": _as_set(ledger.orders("sim", ACCOUNT)),
            "fills": _as_set(ledger.fills("sim", ACCOUNT)),
            "positions": _as_set(ledger.positions("sim", ACCOUNT)),
            "balances": _as_set(ledger.balances("sim", ACCOUNT)),
            "runner_states": _as_set(ledger.runner_states("sim", ACCOUNT)),
        }


def venue_state(exchange: SimExchange) -> dict[str, list[str]]:
    return {
        "orders": _as_set(exchange.order_history(ACCOUNT)),
        "fills": _as_set(exchange.fills(ACCOUNT)),
        "positions": _as_set(exchange.positions(ACCOUNT)),
        "balances": _as_set(exchange.balances(ACCOUNT)),
    }


def _differences(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, rows in a.items():
        only_a = sorted(set(rows) - set(b[key]))
        only_b = sorted(set(b[key]) - set(rows))
        if only_a or only_b:
            out[key] = {"warm only": only_a, "cold only": only_b}
    return out


@pytest.fixture
def two_ledgers(backend: str, tmp_path: Path,
                request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """Two empty databases of the backend: one per path (PostgreSQL: two schemas)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'warm.db'}", f"sqlite:///{tmp_path / 'cold.db'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")  # skips (or fails in CI) without PG
    base = os.environ["RECON_TEST_PG_URL"].strip()
    schemas = [f"recon_restart_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    with admin.begin() as conn:
        for schema in schemas:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        warm, cold = (make_url(base).update_query_dict({"options": f"-csearch_path={s}"})
                      .render_as_string(hide_password=False) for s in schemas)
        yield warm, cold
    finally:
        with admin.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_warm_and_a_cold_restart_end_in_the_same_ledger(
        two_ledgers: tuple[str, str], scenario: str, policy: str) -> None:
    config = POLICIES[policy]
    at = wall_clock_ms()
    warm_url, cold_url = two_ledgers
    warm = _first_life(warm_url, scenario, config, cold=False, at=at)
    cold = _first_life(cold_url, scenario, config, cold=True, at=at)
    # the premise: both restarts face the same venue, and the cold one really lost writes
    assert venue_state(warm.exchange) == venue_state(cold.exchange)
    assert cold.delivered_unwritten

    _second_life(warm, scenario, config)
    _second_life(cold, scenario, config)

    assert venue_state(warm.exchange) == venue_state(cold.exchange)
    difference = _differences(ledger_state(warm.url), ledger_state(cold.url))
    assert not difference, json.dumps(difference, indent=1)
