"""The console as a fleet view, for real (docs/architecture.md, "The console as a fleet
view"): two headless engines, each its own process, trade two accounts (each on its own
served Bybit sim) on one PostgreSQL ledger; the real window, offscreen, attaches to that
ledger. It shows both accounts with their health (lease holder, heartbeat, last OK
reconcile, trading mode); an inbox item approved in the window is carried out by the
engine that owns the account (the order is cancelled on the venue and in the ledger) and
audited under "operator:<name>"; the window's global emergency stop halts both engines
within 2 s of the click, and each account's part of the report is its holder's outcome."""

from __future__ import annotations

import asyncio
import gc
import json
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer

from console.bootstrap_gui import FleetLedgers
from console.domain.commands import CommandState
from console.domain.reconciliation import ActionState
from console.engine.emergency import HALT_ACTION, RESUME_HALT_ACTION
from console.store import Ledger
from console.ui.app import create_workspace_console
from console.ui.dialogs.confirm import ScriptedConfirmer
from console.ui.global_stop import GlobalReport
from console.ui.remote import ledger_risk
from tests.gui.conftest import drive, loop, settings  # noqa: F401

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
ROOT = Path(__file__).resolve().parents[2]
ENGINE = Path(__file__).resolve().parent / "fleet_engine.py"
TTL_S = 2.0
OPERATOR = "dana"
HALT_WITHIN_S = 2.0


@dataclass
class Proc:
    proc: subprocess.Popen[str]
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class Fleet:
    url: str
    sims: dict[str, dict[str, Any]] = field(default_factory=dict)
    procs: list[Proc] = field(default_factory=list)


def start_sim(scenario: str, tmp: Path) -> tuple[Proc, dict[str, Any]]:
    key, secret = secrets.token_hex(8), secrets.token_hex(16)
    log = tmp / f"sim-{scenario}.log"
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "console", "sim", "--venue", "bybit",
                                 "--scenario", scenario, "--api-key", key,
                                 "--api-secret", secret],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"the sim did not start: {log.read_text()[-2000:]}"
    return Proc(proc, log), dict(json.loads(line))


def start_engine(info: dict[str, Any], url: str, account: str, worker: str,
                 tmp: Path) -> Proc:
    log = tmp / f"engine-{account}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ENGINE), "--rest-url", str(info["rest_url"]),
             "--ws-url", str(info["ws_private_url"]), "--api-key", str(info["api_key"]),
             "--api-secret", str(info["api_secret"]), "--db", url, "--account", account,
             "--worker", worker, "--ttl", str(TTL_S)],
            stdout=out, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    return Proc(proc, log)


def wait_for(check: Callable[[], bool], timeout_s: float, what: str,
             logs: list[Proc]) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {p.log.name}\n{p.log.read_text()[-1500:]}" for p in logs)
            raise AssertionError(f"{what}: not within {timeout_s:g} s\n{tails}")
        time.sleep(0.1)


@pytest.fixture
def fleet(ledger_url: str, tmp_path: Path, open_ledger: Callable[..., Ledger]
          ) -> Iterator[Fleet]:
    """alpha: a crashed session's two orders await approval; beta: a clean book."""
    out = Fleet(ledger_url)
    try:
        for account, scenario, worker in (("alpha", "crashed-session", "a"),
                                          ("beta", "clean", "b")):
            sim, info = start_sim(scenario, tmp_path)
            out.procs.append(sim)
            out.sims[account] = info
            out.procs.append(start_engine(info, ledger_url, account, worker, tmp_path))
        ledger = open_ledger()

        def both_ready() -> bool:
            leases = {(x.venue, x.account): x for x in ledger.leases()}
            return all(("bybit", a) in leases and not leases[("bybit", a)].expired
                       and ledger.last_ok_run_at("bybit", a) is not None
                       for a in ("alpha", "beta"))

        wait_for(both_ready, 60, "both engines hold their lease and reconciled", out.procs)
        yield out
    finally:
        for proc in reversed(out.procs):
            proc.stop()


def halted_in_ledger(ledger: Ledger, account: str, since_ms: int) -> bool:
    """The account's engine recorded a halt at or after `since_ms`, not resumed since (as
    any engine restarting would rebuild it)."""
    entries = ledger.audit_log(50, venue="bybit", account=account,
                               actions={HALT_ACTION, RESUME_HALT_ACTION})
    fresh = [e for e in entries if e.at >= since_ms]
    return bool(fresh) and ledger_risk(fresh, None).halted


@pytest.mark.parametrize("backend", PG)
def test_a_console_attached_to_two_engines_shows_both_approves_and_stops_them(
        fleet: Fleet, open_ledger: Callable[..., Ledger], loop, settings,  # type: ignore[no-untyped-def]  # noqa: F811
        ) -> None:
    judge = open_ledger()  # the test's own view of the ledger
    settings.operator = OPERATOR
    parts = FleetLedgers(timeout_s=15).attach(fleet.url)
    assert sorted((p.identity.venue, p.identity.account) for p in parts) == [
        ("bybit", "alpha"), ("bybit", "beta")]
    confirmer = ScriptedConfirmer(default=True)
    console = create_workspace_console(parts, settings=settings, confirmer=confirmer)
    window, workspace = console.window, console.workspace
    window.show_error_dialogs = False
    holders = {a: judge.lease("bybit", a) for a in ("alpha", "beta")}
    assert all(h is not None for h in holders.values())

    async def until(check: Callable[[], bool], timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not check():
            assert time.monotonic() < deadline, "condition not reached in time"
            await asyncio.sleep(0.05)

    try:
        drive(loop, workspace.start_all(), 60)
        alpha = workspace.controller("remote bybit/alpha")
        beta = workspace.controller("remote bybit/beta")
        drive(loop, until(lambda: alpha.health is not None and beta.health is not None
                          and len(alpha.pending) == 2))
        drive(loop, workspace.settle(), 30)

        # -- both shown, with their health ------------------------------------------------
        bar = window.accounts_bar
        for c, account in ((alpha, "alpha"), (beta, "beta")):
            holder = holders[account]
            assert holder is not None
            assert c.health is not None and c.health.holder == holder.holder
            assert not c.health.stale and c.last_ok_at is not None
            text = bar.entries[c.label].plain_text()
            assert f"remote: {holder.holder}" in text and "heartbeat" in text
            assert c.trading_mode in text
            assert not c.capabilities.venue_direct and c.capabilities.why_not
        assert alpha.trading_mode == "PAUSED"  # the crashed session's desync
        window.select_scope(alpha.label)
        window.status.update()
        assert "remote:" in window.status.rest.text()
        assert not window.act_preview.isEnabled()
        assert "remote account" in window.act_preview.toolTip()

        # -- an approval in the window, carried out by alpha's engine ---------------------
        item = next(i for i in alpha.pending if i.planned.action.order is not None)
        target = item.planned.action.order
        assert target is not None
        results = drive(loop, window.approve([item]), 60)
        assert results == [(item, "applied")], alpha.results[-3:]
        assert any("Approve selected" in title or "Approve" in title
                   for title, _t, _d in confirmer.asked)
        run = judge.load_run(item.run_id)
        assert run is not None and run.actions[item.index].state is ActionState.APPLIED
        stored = judge.get_order("bybit", "alpha", target.client_order_id or target.ident)
        assert stored is not None and not stored.is_active, stored
        audited = [e for e in judge.audit_log(300, venue="bybit", account="alpha")
                   if e.action == "command:approve"]
        assert len(audited) == 1 and audited[0].actor == f"operator:{OPERATOR}"
        details = dict(audited[0].details)
        assert details["state"] == "done" and details["taken_by"] == holders["alpha"].holder  # type: ignore[union-attr]
        assert [e.actor for e in judge.audit_log(300, venue="bybit", account="beta")
                if e.action.startswith("command:")] == []  # beta's engine was not asked

        # -- the global emergency stop: both engines halted within 2 s of the click -------
        since = time.time_ns() // 1_000_000
        clicked = time.monotonic()
        window.global_button.click()
        halted_at: dict[str, float] = {}

        async def both_halted() -> None:
            while len(halted_at) < 2:
                for account in ("alpha", "beta"):
                    if account not in halted_at and await asyncio.to_thread(
                            halted_in_ledger, judge, account, since):
                        halted_at[account] = time.monotonic() - clicked
                await asyncio.sleep(0.02)

        drive(loop, asyncio.wait_for(both_halted(), 15), 20)
        assert max(halted_at.values()) <= HALT_WITHIN_S, halted_at
        drive(loop, window.tasks.idle(), 30)
        drive(loop, workspace.settle(), 30)
        assert alpha.trading_mode == beta.trading_mode == "HALTED"
        halts = [e for e in judge.audit_log(300) if e.action == "command:halt"]
        assert {(e.account, e.actor) for e in halts} == {
            ("alpha", f"operator:{OPERATOR}"), ("beta", f"operator:{OPERATOR}")}

        # then cancel all on both, each part reported from its holder's outcome
        report = drive(loop, workspace.global_stop(flatten=False), 60)
        assert isinstance(report, GlobalReport)
        parts_by = {p.label: p for p in report.accounts}
        for c in (alpha, beta):
            part = parts_by[c.label]
            assert part.command is not None and part.command.state is CommandState.DONE, \
                part.summary
            assert part.command.taken_by == c.health.holder  # type: ignore[union-attr]
            assert "remote" in part.summary and "done" in part.summary
        stops = [e for e in judge.audit_log(300) if e.action == "command:emergency_stop"]
        assert {(e.account, e.actor) for e in stops} == {
            ("alpha", f"operator:{OPERATOR}"), ("beta", f"operator:{OPERATOR}")}
        assert judge.orders("bybit", "beta", active_only=True) == []
    finally:
        window.close()
        drive(loop, window.tasks.cancel_all(), 30)
        drive(loop, workspace.aclose(), 30)
        _destroy_now(window, workspace)


def _destroy_now(*objects: QObject) -> None:
    """Delete the window and the workspace on this (the GUI) thread before the test
    ends. Signal connections hold their Python wrappers (a reference cycle through Qt
    that Python's collector cannot see), so they outlived the test with their timers
    running, until a garbage collection in a later test's worker thread freed part of
    them there: Qt cannot stop a timer from another thread, and the next tick crashed
    the process in whatever test ran then."""
    for obj in objects:
        for timer in obj.findChildren(QTimer):
            timer.stop()
        obj.deleteLater()
    QCoreApplication.sendPostedEvents(None, int(QEvent.Type.DeferredDelete))
    gc.collect()
