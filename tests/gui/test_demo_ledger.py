"""The window's embedded sim keeps its ledger from start to start, so `recon-console audit`
shows what the operator did in it; a start on a used ledger forgets the earlier sim's
book (the sim is rebuilt from its seed) and says so in the audit log."""

from __future__ import annotations

from pathlib import Path

import pytest
import qasync

from console import __main__ as cli
from console import bootstrap_gui
from console.bootstrap_gui import build_demo_session, demo_parts
from console.domain import OrderStatus
from console.store import db
from console.ui.app import create_console
from console.ui.dialogs.confirm import ScriptedConfirmer
from console.ui.settings import UiSettings

from .conftest import Harness


def _start(loop: qasync.QEventLoop, settings: UiSettings) -> Harness:
    """The window as `recon-console` opens it with no profile (no ledger given)."""
    session = build_demo_session(scenario="crashed-session", demo=False,
                                 latency_ms=(0.0, 0.0))
    confirmer = ScriptedConfirmer()
    console = create_console(demo_parts(session), settings=settings, confirmer=confirmer,
                             flush_ms=20)
    console.window.show_error_dialogs = False
    console.window.show()
    harness = Harness(loop, session, console, confirmer)
    harness.run(console.controller.start())
    harness.idle()
    return harness


def test_the_demo_ledger_is_kept_and_the_cli_reads_what_the_operator_did(
        loop: qasync.QEventLoop, settings: UiSettings, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'demo-ledger.db'}"
    (tmp_path / "data").mkdir()
    # the user data dir, here: where the window keeps the demo ledger and the CLI finds it
    monkeypatch.setattr(bootstrap_gui, "demo_ledger_url", lambda: url, raising=False)
    monkeypatch.setattr(db, "demo_ledger_url", lambda: url, raising=False)

    first = _start(loop, settings)
    try:
        assert first.session.ledger.url.endswith("demo-ledger.db")
        btc, eth = (next(i for i in first.controller.pending
                         if i.planned.action.order is not None
                         and i.planned.action.order.symbol == symbol)
                    for symbol in ("BTCUSDT", "ETHUSDT"))
        first.window.inbox.show_pending()
        first.window.inbox.select_items([btc.key])
        first.window.inbox.approve_button.click()
        first.idle()
        first.window.inbox.select_items([eth.key])
        first.window.inbox.reject_button.click()
        first.idle()
        cancelled = btc.planned.action.order.client_order_id
        stored = first.session.ledger.get_order("sim", "main", cancelled)
        assert stored is not None and stored.status is OrderStatus.CANCELLED
    finally:
        first.close()

    # the CLI finds the window's ledger and what the operator did there
    assert cli.main(["audit", "--demo", "--limit", "100"]) == 0
    printed = capsys.readouterr().out
    assert "cancel_order:applied" in printed and "cancel_order:rejected" in printed
    assert cancelled in printed

    second = _start(loop, settings)
    try:
        ledger = second.session.ledger
        entries = ledger.audit_log(200)
        actions = [e.action for e in entries]
        # what the operator did before is still on record, and where this start begins
        assert "cancel_order:applied" in actions and "cancel_order:rejected" in actions
        rebuilt = next(e for e in entries if e.action == "demo_sim_rebuilt")
        details = dict(rebuilt.details)
        assert details["scenario"] == "crashed-session" and int(details["orders_forgotten"]) >= 1
        # the earlier sim's book is gone: no stale order, no stale approval
        assert ledger.get_order("sim", "main", cancelled) is None
        on_venue = {o.client_order_id for o in second.sim_open()}
        proposed = {i.planned.action.order.client_order_id for i in second.controller.pending
                    if i.planned.action.order is not None}
        assert proposed == on_venue and cancelled not in proposed
        kinds = {d.kind.value for d in second.controller.last_outcome.run.discrepancies}
        assert "order_missing_on_venue" not in kinds
        assert len(ledger.list_runs("sim", "main", 50)) >= 2  # both starts' runs are kept
    finally:
        second.close()
