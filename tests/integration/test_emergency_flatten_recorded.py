"""`stop --flatten` on a console with no stream running (the CLI's stop) used to report the
discrepancy it created: the flatten filled on the venue, but its own verifying
reconciliation found the fill missing, the position "missing on the venue" and a balance
mismatch, paused trading and raised alerts. The stop now writes what its own flatten did
into the ledger before it verifies. The whole product on loopback: the real connectors
against the simulated Bybit, Binance and Deribit front-ends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from deribit_support import start_server as start_deribit

from console.bootstrap import ProfileSession, build_profile_session
from console.credentials import ApiCredentials
from console.domain import Category, OrderType, Side
from console.domain.reconciliation import RunStatus, RunTrigger
from console.sim.server import SimServerHandle, run_sim_server_in_thread

pytestmark = pytest.mark.timeout(120)

SYMBOLS = '["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]'


@pytest.fixture(params=["bybit", "binance", "deribit"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, SimServerHandle]]:
    venue = str(request.param)
    if venue == "deribit":
        handle = start_deribit()
        handle.call(handle.exchange.place_order, "main", category=Category.INVERSE,
                    symbol="BTC-PERPETUAL", side=Side.BUY, order_type=OrderType.MARKET,
                    qty=Decimal(100))
    else:  # a BTCUSDT position of 0.01 and resting orders
        handle = run_sim_server_in_thread(venue=venue, scenario="restart-with-position",
                                          api_key="k" * 20, api_secret="s" * 32)
    yield venue, handle
    handle.stop()


def open_session(venue: str, handle: SimServerHandle, tmp_path: Path) -> ProfileSession:
    extra = {"bybit": f"symbols = {SYMBOLS}\n",
             "binance": f'symbols = {SYMBOLS}\n[profiles.desk.binance]\nmarket = "usdm"\n',
             "deribit": '[profiles.desk.deribit]\ncurrency = "BTC"\n'}[venue]
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.desk]\nvenue = "{venue}"\nnetwork = "custom"\n'
                      f'rest_url = "{handle.rest_url}"\nws_url = "{handle.ws_private_url}"\n'
                      + extra, encoding="utf-8")
    return build_profile_session("desk", config_path=str(config),
                                 db_url=f"sqlite:///{tmp_path / 'ledger.db'}",
                                 secrets=ApiCredentials(handle.api_key, handle.api_secret))


def test_the_stops_own_reconciliation_sees_its_flatten(
        server: tuple[str, SimServerHandle], tmp_path: Path) -> None:
    venue, handle = server

    async def adopt() -> None:  # the ledger holds the position, as a running console's does
        session = open_session(venue, handle, tmp_path)
        try:
            await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            again = await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            assert again.run.discrepancies == ()
            assert [p for p in session.ledger.positions(venue, "main") if not p.is_flat]
        finally:
            await session.aclose()

    async def stop() -> None:  # `recon-console stop --flatten`: no stream, no start
        session = open_session(venue, handle, tmp_path)
        try:
            report = await session.engine.emergency_stop(flatten=True, operator="alice")
            assert [f.error for f in report.flattened] == [""]
            assert report.clean and report.open_positions == ()
            run = session.ledger.list_runs(venue, "main", 1)[0]
            assert run.run_id == report.reconcile_run and run.status is RunStatus.OK
            assert [d.summary for d in run.discrepancies] == []
            assert report.reconcile_discrepancies == 0
            assert not session.engine.risk.paused
            alerts = session.ledger.alerts(venue, "main")
            assert {a.rule for a in alerts} & {"trading_paused", "balance_mismatch"} == set()
            assert [p for p in session.ledger.positions(venue, "main") if not p.is_flat] == []
        finally:
            await session.aclose()

    asyncio.run(adopt())
    asyncio.run(stop())
