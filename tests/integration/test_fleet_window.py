"""A remote account whose engine is gone (its lease expired on the shared PostgreSQL
ledger): the window says NO ENGINE in its bars, and a halt, a stop of every account or a
reconcile-now pressed in the window says that nothing was sent and writes no command (one
would fire whenever an engine starts later); what needs the venue connection refuses
before asking anything (docs/architecture.md, "The console as a fleet view")."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from console.bootstrap_gui import FleetLedgers
from console.errors import UserFacingError
from console.store import Ledger
from console.ui.app import create_workspace_console
from console.ui.dialogs.confirm import ScriptedConfirmer
from tests.gui.conftest import drive, loop, settings  # noqa: F401

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("backend", PG)
def test_a_remote_account_without_an_engine_sends_nothing_and_says_so(
        ledger_url: str, open_ledger: Callable[..., Ledger], loop, settings,  # type: ignore[no-untyped-def]  # noqa: F811
        ) -> None:
    ghost = open_ledger()  # an engine that took the lease once, then died
    ghost.acquire_lease("bybit", "gone", "ghost@host:1:aa", 200)
    ghost.close()
    time.sleep(0.4)
    judge = open_ledger()
    (parts,) = FleetLedgers(timeout_s=2).attach(ledger_url)
    confirmer = ScriptedConfirmer(default=True)
    console = create_workspace_console([parts], settings=settings, confirmer=confirmer)
    window, workspace = console.window, console.workspace
    window.show_error_dialogs = False
    c = console.controller
    said: list[str] = []
    workspace.message.connect(said.append)
    try:
        drive(loop, workspace.start_all(), 30)
        assert c.health is not None and c.health.stale
        entry = window.accounts_bar.entries[c.label]
        assert "remote: NO ENGINE" in entry.plain_text() and "STALE" in entry.plain_text()
        window.status.update()
        assert "NO ENGINE" in window.status.rest.text()

        with pytest.raises(UserFacingError, match=r"NOT SENT.*no engine holds its lease"):
            drive(loop, c.halt(), 15)
        assert drive(loop, c.reconcile_now(), 15) is None
        assert "NOT SENT" in c.results[-1]
        newly = drive(loop, workspace.halt_all(), 15)
        assert newly == {}
        assert any(f"NOT HALTED {c.label}" in line and "nothing was sent" in line
                   for line in said), said
        assert judge.commands() == []  # nothing waits to fire when an engine starts
        assert c.trading_mode == "TRADING"  # never shown halted on the strength of a press

        asked = len(confirmer.asked)
        for attempt in (c.preview(), c.rehearse(), c.coverage()):
            with pytest.raises(UserFacingError, match="remote account"):
                drive(loop, attempt, 15)
        assert len(confirmer.asked) == asked  # refused before asking anything
        assert not window.act_preview.isEnabled() and not window.act_rehearse.isEnabled()
        assert not window.book_tables.act_cancel.isEnabled()

        # File > Attach to a fleet ledger…: a SQLite ledger is refused, a password never shown
        menu = window.fleet_menu
        file_menus = [a.menu() for a in window.menuBar().actions()]
        assert any(m is not None and menu.act_attach in m.actions() for m in file_menus)
        workspace.fleet = FleetLedgers()
        menu.ask().textValueSelected.emit("sqlite:////tmp/one-process.db")
        drive(loop, window.tasks.idle(), 15)
        assert "a SQLite ledger is one process: open its profile instead" in window.last_error
        menu.ask().textValueSelected.emit("postgresql://bob:hunter2-pw@127.0.0.1:1/x")
        drive(loop, window.tasks.idle(), 15)
        assert "bob:***@" in window.last_error and "hunter2-pw" not in window.last_error
        assert workspace.labels() == [c.label]
    finally:
        window.close()
        drive(loop, window.tasks.cancel_all(), 30)
        drive(loop, workspace.aclose(), 30)
