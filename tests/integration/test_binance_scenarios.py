"""Startup reconciliation against the simulated Binance USD-M front-end, every scenario.

The console is built as the operator builds it: a profile file naming venue "binance"
(`[profiles.NAME.binance] market = "usdm"`), read through the venue registry, the real
`BinanceVenue` over ccxt on loopback, a real SQLite ledger seeded with what the bot held
when it went away (`binance_support.binance_ledger`: the scenario's ledger with Binance's
ids), the front-end as `recon-console sim --venue binance --scenario NAME` in its own
process (each scenario costs about 1-2 s). The run must report exactly the scenario's
expected discrepancy kinds. A second run on the ledger the first one repaired finds
nothing left for the ledger: what remains is only what waits for an operator's approval
(a venue-changing action such as cancelling an order that is ours but unknown), proposed
again unchanged; where nothing waited, the second run finds no discrepancy at all (the
rule of tests/integration/test_reconcile_service.py, here through Binance's protocol).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from binance_support import (
    ACCOUNT,
    binance_ledger,
    open_session,
    sim_process,  # noqa: F401 - a fixture
)

from console.bootstrap import ProfileSession, seed_ledger
from console.domain.reconciliation import (
    ActionKind,
    Decision,
    RunRecord,
    RunStatus,
    RunTrigger,
    TradingMode,
)
from console.sim.core import SimExchange
from console.sim.scenarios import SCENARIOS, build_scenario, expected_kinds
from console.store import Ledger
from console.venues.binance import BinanceVenue

pytestmark = pytest.mark.timeout(60)


def reconcile_twice(session: ProfileSession) -> tuple[RunRecord, RunRecord]:
    async def runs() -> tuple[RunRecord, RunRecord]:
        try:
            first = await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            second = await session.engine.reconciler.run_once(RunTrigger.PERIODIC)
            return first.run, second.run
        finally:
            await session.aclose()
    return asyncio.run(runs())


def check(scenario: str, info: dict[str, Any], tmp_path: Path) -> None:
    # The bot's ledger as it was when it went away: the same deterministic scenario,
    # with the ids Binance showed the bot.
    seed = build_scenario(scenario, SimExchange(seed=7, venue="binance"), ACCOUNT,
                          now=int(time.time() * 1000))
    assert seed.expect == expected_kinds(scenario)
    seed = asyncio.run(binance_ledger(seed, info["rest_url"], info["api_key"],
                                      info["api_secret"]))
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with Ledger.open(db_url) as ledger:
        seed_ledger(ledger, seed, "binance", ACCOUNT)
    session = open_session(tmp_path, info["rest_url"], info["ws_private_url"],
                           info["api_key"], info["api_secret"], db_url=db_url)
    assert isinstance(session.venue, BinanceVenue)  # the registry's "binance" connector
    first, second = reconcile_twice(session)
    assert first.status is RunStatus.OK, (first.errors, first.unverified)
    assert {d.kind.value for d in first.discrepancies} == set(expected_kinds(scenario)), [
        d.summary for d in first.discrepancies]
    assert dict(first.venue_calls).get("fetch_open_orders", 0) >= 1
    assert second.status is RunStatus.OK, (second.errors, second.unverified)
    left_for_ledger = [p.action.summary for p in second.actions
                       if p.action.kind.changes_ledger
                       and p.action.kind is not ActionKind.CLEAR_BRACKET]
    assert left_for_ledger == []
    assert waiting(second) == waiting(first)
    if not waiting(first):
        assert second.discrepancies == (), [d.summary for d in second.discrepancies]
        assert second.mode is TradingMode.TRADING


def waiting(run: RunRecord) -> set[tuple[ActionKind, str]]:
    return {(p.action.kind, p.action.subject) for p in run.actions
            if p.decision is Decision.NEEDS_APPROVAL}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_startup_reconciliation_against_the_sim_process(
        scenario: str, sim_process: Callable[..., dict[str, Any]],  # noqa: F811
        tmp_path: Path) -> None:
    info = sim_process("--scenario", scenario)
    assert info["venue"] == "binance" and info["ws_private_url"].endswith("/private/ws")
    check(scenario, info, tmp_path)

