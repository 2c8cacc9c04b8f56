"""A window whose engine only observes (another engine holds the account's lease on a
shared PostgreSQL ledger) says so in the status bar, and says TRADING once it takes over:
an operator must not mistake a standby for a live engine."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.ui.app import create_console
from console.ui.dialogs.confirm import ScriptedConfirmer
from console.ui.parts import ConsoleParts
from console.ui.ports import Badge, Identity
from tests.gui.conftest import drive, loop, settings  # noqa: F401

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
TTL_S = 1.0


@pytest.fixture
def pair(ledger_url: str) -> Iterator[tuple[SimSession, SimSession]]:
    a = build_sim_session(ledger_url, "clean", reference_prices=True, worker_id="a",
                          lease_ttl_s=TTL_S)
    b = build_sim_session(ledger_url, "clean", reference_prices=True, worker_id="b",
                          lease_ttl_s=TTL_S, exchange=a.exchange)
    yield a, b
    a.close()
    b.close()


async def _until(check: object, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("backend", PG)
def test_an_observing_window_says_so_and_trading_once_it_takes_over(
        pair: tuple[SimSession, SimSession], loop, settings) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    a, b = pair
    identity = Identity(profile="standby", venue="sim", account="main", badge=Badge.SIMULATED)
    console = create_console(ConsoleParts(session=b.engine, book=b.ledger, identity=identity),
                             settings=settings, confirmer=ScriptedConfirmer(default=False))
    window = console.window
    window.show_error_dialogs = False
    status = window.status

    async def scenario() -> tuple[str, str, bool]:
        await a.engine.start()
        starting = asyncio.ensure_future(console.controller.start())
        await _until(lambda: b.engine.lease is not None
                     and b.engine.lease.status().holder is not None)
        status.update()
        observing, resume_shown = status.risk_text, status.resume.isVisible()
        await a.engine.stop()  # the holder goes: b takes the lease and starts
        await asyncio.wait_for(starting, 30)
        status.update()
        return observing, status.risk_text, resume_shown

    try:
        observing, after, resume_shown = drive(loop, scenario(), 60)
    finally:
        window.close()
        drive(loop, console.controller.aclose(), 30)
    holder = a.engine.lease.engine if a.engine.lease is not None else ""
    assert "OBSERVING" in observing and f"lease held by {holder}" in observing
    assert not resume_shown
    assert "OBSERVING" not in after and "TRADING" in after
