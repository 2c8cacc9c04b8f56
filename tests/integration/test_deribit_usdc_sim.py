"""A Deribit profile with `currency = "USDC"` (the linear USDC perpetuals the connector
offers) reconciles against the sim as `recon-console sim --venue deribit` builds it: the
sim serves the USDC currency instead of answering "invalid currency" to every list."""

from __future__ import annotations

import asyncio
from pathlib import Path

from deribit_support import PROFILE, write_profile

from console.bootstrap import build_profile_session
from console.credentials import ApiCredentials
from console.domain.reconciliation import RunStatus, RunTrigger
from console.sim.server import run_sim_server_in_thread


def test_a_usdc_profile_reconciles_against_the_cli_sim(tmp_path: Path) -> None:
    with run_sim_server_in_thread(venue="deribit") as sim:
        config = write_profile(tmp_path / "profiles.toml", sim.rest_url, sim.ws_private_url,
                               currency="USDC")
        session = build_profile_session(
            PROFILE, config_path=str(config), db_url=f"sqlite:///{tmp_path / 'l.db'}",
            secrets=ApiCredentials(sim.api_key, sim.api_secret))

        async def once() -> object:
            try:
                return await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            finally:
                await session.aclose()

        outcome = asyncio.run(once())
    run = outcome.run  # type: ignore[attr-defined]
    assert run.errors == (), run.errors
    assert run.status is RunStatus.OK, (run.status, run.unverified)
