"""The window on a profile (`bootstrap_gui.profile_parts`): one alert engine per session,
the identity the status bar shows, and a sim profile running the embedded exchange."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import pytest

from console.bootstrap_gui import profile_parts
from console.domain import Balance, LedgerChanges
from console.domain.alerts import Alert
from console.domain.reconciliation import RunTrigger
from console.engine.alerts import AlertEngine
from console.profiles import CONFIG_ENV
from console.store import Ledger
from console.ui.ports import Badge


def _alert_engines(parts: object) -> list[AlertEngine]:
    """The alert engines listening to the session's reconciliations."""
    reconciler = parts.session.reconciler  # type: ignore[attr-defined]
    return [listener.__self__ for listener in reconciler._listeners
            if isinstance(getattr(listener, "__self__", None), AlertEngine)]


@pytest.fixture
def sim_profile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A sim profile whose ledger disagrees with the exchange (it holds 1 USDT and none of
    the scenario's orders or positions), so that one run raises alerts."""
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    config = tmp_path / "profiles.toml"
    config.write_text(f'[profiles.desk]\nvenue = "sim"\ndb_url = "{db}"\n', encoding="utf-8")
    monkeypatch.setenv(CONFIG_ENV, str(config))
    with Ledger.open(db) as ledger:
        ledger.apply_changes("sim", "main", LedgerChanges(balances=(
            Balance("sim", "main", "USDT", Decimal(1), Decimal(1)),)))
    return db


def test_one_alert_engine_evaluates_and_writes_each_run_once(sim_profile: str) -> None:
    """`build_profile_session` attaches the session's alert engine; the window's parts must
    use that one, not attach a second that evaluates and writes every run again and that
    nobody stops. (Plain asyncio: nothing here needs the Qt loop.)"""
    parts = profile_parts("desk")
    engines = _alert_engines(parts)

    async def one_run_then_close() -> list[Alert]:
        try:
            await parts.session.reconciler.run_once(RunTrigger.STARTUP)
            assert all(e._task is not None for e in engines)  # the run started the timer
            return list(parts.book.alerts("sim", "main"))
        finally:
            for close in parts.closers:
                await close()

    alerts = asyncio.run(one_run_then_close())
    assert engines == [parts.alerts]
    assert {a.rule for a in alerts} >= {"balance_mismatch"}
    assert [a.count for a in alerts] == [1] * len(alerts)  # seen once, written once
    assert all(e._task is None for e in engines)  # and closing the session stopped it
    assert parts.identity.badge is Badge.SIMULATED
    assert (parts.identity.profile, parts.identity.venue) == ("desk", "sim")
