"""Command line: `recon-console <command>`.

Exit codes: 0 the command did its work (a reconciliation ran and was recorded, whatever it
found); 2 the run was partial or failed (some checks could not be verified); 1 an error the
operator must fix (bad arguments, unreachable database, unknown scenario). `run --headless`,
the service, has a table of its own for its supervisor: `console.service.exit_codes`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from console.cli_text import HALT_HOLDS, comparison_text
from console.domain.reconciliation import (
    ActionKind,
    ActionState,
    Decision,
    RunRecord,
    RunStatus,
    RunTrigger,
)
from console.domain.text import duration_ms as fmt_duration
from console.domain.text import iso_utc, plural
from console.errors import UserFacingError

if TYPE_CHECKING:
    from console.engine.risk import RiskState
    from console.store import Ledger

log = logging.getLogger("console")
_T = TypeVar("_T")


def _ts(ms: int | None) -> str:
    """A time in a listing: ISO 8601 UTC with its "Z" (`console.domain.text.iso_utc`)."""
    return "-" if ms is None else iso_utc(ms)


def run_to_json(run: RunRecord, *, duration_ms: float | None = None,
                extra: dict[str, Any] | None = None) -> dict[str, Any]:
    by_kind = Counter(d.kind.value for d in run.discrepancies)
    applied = [p for p in run.actions if p.state is ActionState.APPLIED]
    awaiting = [p for p in run.actions
                if p.decision is Decision.NEEDS_APPROVAL and p.state is ActionState.PENDING]
    calls = dict(run.venue_calls)
    out: dict[str, Any] = {
        "run_id": run.run_id,
        "trigger": run.trigger.value,
        "venue": run.venue,
        "account": run.account,
        **(extra or {}),
        "status": run.status.value,
        "mode": run.mode.value,
        "pause_reason": run.pause_reason,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        # whole ms, as `runs --json` reads it from the record (one type for both)
        "duration_ms": round(duration_ms if duration_ms is not None
                             else run.finished_at - run.started_at),
        "venue_calls": calls,
        "venue_calls_total": sum(calls.values()),
        "fills_window": (None if run.fills_window is None
                         else {"from": run.fills_window[0], "to": run.fills_window[1]}),
        "discrepancies": {
            "total": len(run.discrepancies),
            "by_kind": dict(sorted(by_kind.items())),
            "items": [
                {"kind": d.kind.value, "subject": d.subject, "symbol": d.symbol,
                 "summary": d.summary, "ledger": dict(d.ledger), "venue": dict(d.venue)}
                for d in run.discrepancies
            ],
        },
        "actions": {
            "planned": len(run.actions),
            "applied": len(applied),
            "awaiting_approval": len(awaiting),
            "planned_by_kind": dict(sorted(Counter(p.action.kind.value
                                                   for p in run.actions).items())),
            "applied_by_kind": dict(sorted(Counter(p.action.kind.value
                                                   for p in applied).items())),
            "items": [
                {"index": i, "kind": p.action.kind.value, "subject": p.action.subject,
                 "summary": p.action.summary, "decision": p.decision.value,
                 "state": p.state.value, "applied_by": p.applied_by, "error": p.error}
                for i, p in enumerate(run.actions)
            ],
        },
        "unverified": list(run.unverified),
        "errors": list(run.errors),
    }
    return out


def trading_state(risk: RiskState) -> tuple[str, str]:
    """(mode, reason) of a session's risk state (`console.engine.risk.RiskState`) now:
    "halted" (the emergency stop's circuit breaker, which outlives reconciliations),
    "paused" (a desync pause) or "trading". A run record's own `mode` is the
    reconciler's decision and knows nothing of a halt."""
    if risk.halted:
        reason = risk.halt_reason or "emergency stop"
        who = risk.halted_by.partition(":")[2] or risk.halted_by
        by = f" ({risk.halted_by})" if who and who not in reason else ""
        return "halted", f"{reason}{by}; until an operator resumes"
    if risk.paused:
        return "paused", str(risk.reason)
    return "trading", ""


def print_run(run: RunRecord, duration_ms: float, header: str,
              trading: tuple[str, str] | None = None) -> None:
    """The readable summary; `trading` is the session's (mode, reason) after the run
    (`trading_state`), else the run's own mode is shown."""
    print(header)
    print(f"  run {run.run_id}  {run.status.value}  {fmt_duration(duration_ms)}  "
          f"venue calls: {sum(n for _, n in run.venue_calls)}"
          f" ({', '.join(f'{k} {n}' for k, n in run.venue_calls) or 'none'})")
    print(f"  {comparison_text(run.status, len(run.discrepancies), len(run.unverified))}")
    for d in run.discrepancies:
        print(f"    - [{d.kind.value}] {d.summary}")
    mode, reason = trading or (run.mode.value, run.pause_reason)
    if run.actions:
        print("  Actions:")
        for i, p in enumerate(run.actions):
            state = p.state.value
            if p.decision is Decision.NEEDS_APPROVAL and p.state is ActionState.PENDING:
                state = "awaiting approval"
            note = HALT_HOLDS if (p.action.kind is ActionKind.RESUME_TRADING
                                  and mode == "halted") else ""
            print(f"    {i:>3}. {p.action.kind.value:<22} {state:<18} {p.action.summary}{note}")
    for text in run.unverified:
        print(f"  Not verified: {text}")
    for text in run.errors:
        print(f"  Error: {text}")
    notes = [reason] if reason else []
    if run.status is RunStatus.FAILED:
        notes.append("unchanged: this run could not check the venue")
    print(f"  Trading: {mode.upper()}" + (f" ({'; '.join(notes)})" if notes else ""))


# -- commands -----------------------------------------------------------------------------

def _print_outcome(args: argparse.Namespace, run: RunRecord, duration_ms: float,
                   header: str, *, extra: dict[str, Any], risk: RiskState) -> None:
    """`risk`: the session's risk state, read after the run (a halt shows as HALTED)."""
    mode, reason = trading_state(risk)
    if args.json:
        extra = {**extra, "trading": {"mode": mode, "reason": reason}}
        print(json.dumps(run_to_json(run, duration_ms=duration_ms, extra=extra)))
    else:
        print_run(run, duration_ms, header, (mode, reason))


def cmd_reconcile(args: argparse.Namespace) -> int:
    if args.plan_only:
        from console.cli_plan import plan_only

        text, code = plan_only(args)  # fetch, diff, plan; nothing applied or recorded
        print(text)
        return code
    if not args.once:
        raise UserFacingError("reconcile runs one reconciliation and exits: pass --once "
                              "(the continuous loop is `recon-console run --headless`)")
    if args.profile:
        return _reconcile_profile(args)
    if args.venue != "sim":
        raise UserFacingError(f"--venue {args.venue} needs a profile: pass --profile NAME "
                              "(see `recon-console profiles`)")
    from console.bootstrap import build_sim_session

    session = build_sim_session(args.db, args.scenario, refuse_other_scenario=True)
    try:
        outcome = asyncio.run(session.service.run_once(RunTrigger.STARTUP))
    finally:
        session.close()
    seeded = " (new ledger seeded with the scenario's starting state)" \
        if session.seeded_ledger else ""
    _print_outcome(args, outcome.run, outcome.duration_ms,
                   f"Startup reconciliation on {outcome.run.venue}/{outcome.run.account}, "
                   f"scenario {session.scenario}{seeded}",
                   extra={"scenario": session.scenario,
                          "ledger_seeded": session.seeded_ledger},
                   risk=session.engine.risk)
    return 0 if outcome.run.status is RunStatus.OK else 2


def _on_profile(args: argparse.Namespace, use: Callable[[Any], Awaitable[_T]]) -> tuple[Any, _T]:
    """Open the profile's session, run `use(session)` on a fresh loop, always close it."""
    from console.bootstrap import build_profile_session
    from console.service.gc_policy import freeze_program

    session = build_profile_session(args.profile, config_path=args.config, db_url=args.db)
    freeze_program()  # before the first request (console.service.gc_policy)

    async def run() -> _T:
        try:
            return await use(session)
        finally:
            await session.aclose()

    return session, asyncio.run(run())


def _reconcile_profile(args: argparse.Namespace) -> int:
    session, outcome = _on_profile(
        args, lambda s: s.engine.reconciler.run_once(RunTrigger.STARTUP))
    _print_outcome(args, outcome.run, outcome.duration_ms,
                   f"Startup reconciliation, profile {args.profile} "
                   f"({session.profile.venue} {session.profile.network.value})",
                   extra={"profile": args.profile}, risk=session.engine.risk)
    return 0 if outcome.run.status is RunStatus.OK else 2


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon; its exit codes are for a supervisor (`console.service.exit_codes`)."""
    from console.service.exit_codes import ServiceExit, exit_code_for

    if not args.headless:
        print(f"recon-console: `run` is the headless engine: pass --headless, or open the "
              f"console window with `recon-console gui --profile {args.profile}`",
              file=sys.stderr)
        return ServiceExit.USAGE
    from console.bootstrap import build_profile_session
    from console.service.gc_policy import freeze_program

    try:
        session = build_profile_session(args.profile, config_path=args.config, db_url=args.db)
        freeze_program()  # before the first request (console.service.gc_policy)
        return asyncio.run(_daemon(session))
    except UserFacingError as exc:
        print(f"recon-console: {exc}", file=sys.stderr)
        return exit_code_for(exc)


async def _daemon(session: Any) -> int:
    """Reconcile at startup, keep the stream and the loop going, stop on SIGINT/SIGTERM.

    Under systemd (Type=notify) READY=1 goes out once the startup reconciliation is done,
    WATCHDOG=1 every half WatchdogSec while the loop answers, STOPPING=1 on a signal. A
    startup reconciliation that FAILED (the venue unreachable) ends the daemon with
    EX_TEMPFAIL rather than running blind: the supervisor restarts it with its back-off.
    """
    import signal

    from console.engine.health import HealthMonitor
    from console.service.exit_codes import ServiceExit
    from console.service.notify import Notifier

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    notifier = Notifier()
    health = HealthMonitor(session.engine)
    stop_metrics = None
    watchdog: asyncio.Task[None] | None = None
    try:
        port = session.profile.metrics_port
        if port is not None:
            from console.engine.metrics_http import start_metrics_server

            stop_metrics, bound = await start_metrics_server(
                session.engine.metrics, port, health=health.report,
                budget=session.engine.venue.rate_budget)
            log.info("metrics on http://127.0.0.1:%d/metrics, health on /healthz", bound)

        def report(outcome: Any) -> None:
            run = outcome.run
            print(f"{_ts(run.started_at)} {run.trigger.value:<9} {run.status.value:<8} "
                  f"{plural(len(run.discrepancies), 'discrepancy'):>18} "
                  f"{plural(len(run.actions), 'action'):>12} "
                  f"{fmt_duration(outcome.duration_ms):>9}  "
                  f"{trading_state(session.engine.risk)[0]}", flush=True)

        session.engine.reconciler.on_run(report)

        def ready(status: str) -> asyncio.Task[None] | None:
            notifier.ready(status)
            if watchdog is not None or notifier.watchdog_s is None:
                return watchdog
            return asyncio.create_task(_watchdog(notifier, notifier.watchdog_s / 2),
                                       name="sd-watchdog")

        where = f"{session.profile.venue}/{session.profile.account}"
        # `start` blocks while another engine holds this account's lease (a standby on a
        # shared PostgreSQL ledger): it runs beside the stop signal, so a standby answers
        # SIGTERM, and is reported ready (observing) instead of timing out its supervisor
        starting = asyncio.create_task(session.engine.start(), name="engine-start")
        stopping = asyncio.create_task(stop.wait(), name="stop-signal")
        try:
            done, _ = await asyncio.wait({starting, stopping}, timeout=STANDBY_READY_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            lease = session.engine.lease
            if not done and lease is not None:
                watchdog = ready(f"standby: {lease.status().describe()}; {where}")
                log.info("%s: standby, %s", where, lease.status().describe())
            await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not starting.done() and lease is not None and not lease.holding:
                notifier.stopping()
                return ServiceExit.OK  # stopped as a standby: nothing to let finish
            await asyncio.wait({starting})  # a startup under way finishes, as before
            outcome = starting.result()
            if outcome.run.status is RunStatus.FAILED:
                log.error("startup reconciliation failed (%s): stopping so the supervisor "
                          "retries later", "; ".join(outcome.run.errors) or "no detail")
                return ServiceExit.TEMPFAIL
            watchdog = ready(f"reconciled ({outcome.run.status.value}); {where}")
            await stopping
            notifier.stopping()
        finally:
            for task in (starting, stopping):
                if not task.done():
                    task.cancel()
            await asyncio.gather(starting, stopping, return_exceptions=True)
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if stop_metrics is not None:
            await stop_metrics()
        await session.aclose()
    return ServiceExit.OK


STANDBY_READY_S = 5.0
"""How long `run` waits for its engine to start before it tells the supervisor it is up as
a standby (another engine holds the lease)."""


async def _watchdog(notifier: Any, period_s: float) -> None:
    """WATCHDOG=1 while the event loop runs: a loop stuck in a blocking call stops pinging
    and systemd restarts the service after WatchdogSec."""
    while True:
        notifier.watchdog()
        await asyncio.sleep(period_s)


def _operator(args: argparse.Namespace) -> str:
    import getpass

    return str(args.operator or getpass.getuser())


VIA_LEDGER_HELP = ("submit the command into the ledger for the engine that holds the "
                   "account's lease (a daemon, a window, another machine on a shared "
                   "PostgreSQL ledger) and wait for its outcome, instead of acting here")


def _via_ledger(args: argparse.Namespace, kind: str, arguments: dict[str, str]) -> int:
    """Submit an operator's command into the ledger (console.engine.commands), wait up to
    --timeout for the lease holder's outcome, print it. A command no engine took in time
    is withdrawn (it must not fire when an engine starts later). 0: done; 2: refused,
    failed, or not carried out in time."""
    import time

    from console.domain.commands import CommandKind, CommandState

    ledger, venue, account = _scope(args)
    operator = _operator(args)
    try:
        command_id = ledger.submit_command(venue, account, CommandKind(kind),
                                           arguments=arguments, operator=operator,
                                           issued_at=time.time_ns() // 1_000_000)
        deadline = time.monotonic() + args.timeout
        found = ledger.command(command_id)
        while found is not None and not found.state.finished and time.monotonic() < deadline:
            time.sleep(0.05)
            found = ledger.command(command_id)
        if found is not None and found.state is CommandState.PENDING and ledger.withdraw_command(
                command_id, time.time_ns() // 1_000_000,
                f"withdrawn: no engine holding the lease of {venue}/{account} took it "
                f"within {args.timeout:g} s"):
            found = ledger.command(command_id)
    finally:
        ledger.close()
    if found is None:  # pragma: no cover - the row was inserted above
        raise UserFacingError(f"command {command_id} vanished from the ledger")
    if args.json:
        print(json.dumps({"id": found.command_id, "venue": venue, "account": account,
                          "kind": found.kind.value, "arguments": dict(found.arguments),
                          "operator": found.operator, "state": found.state.value,
                          "taken_by": found.taken_by, "epoch": found.taken_epoch,
                          "result": found.result, "issued_at": found.issued_at,
                          "done_at": found.done_at}))
    else:
        by = f" by {found.taken_by} (lease epoch {found.taken_epoch})" if found.taken_by else ""
        print(f"Command #{found.command_id} {found.kind.value} on {venue}/{account} from "
              f"operator:{operator}: {found.state.value}{by}"
              + (f": {found.result}" if found.result else ""))
        if found.state is CommandState.RUNNING:
            print(f"  Still being carried out after {args.timeout:g} s: `recon-console audit` "
                  "shows its outcome once recorded.")
    return 0 if found.state is CommandState.DONE else 2


def cmd_stop(args: argparse.Namespace) -> int:
    """Emergency stop: halt, bulk-cancel, optionally flatten, reconcile, report."""
    from console.engine.emergency import MAX_NAMED_POSITIONS, headline, position_text

    if args.via_ledger:
        return _via_ledger(args, "emergency_stop", {"flatten": "yes" if args.flatten else "no",
                                                    "reason": args.reason or ""})
    _, report = _on_profile(args, lambda s: s.engine.emergency_stop(
        flatten=args.flatten, operator=_operator(args), reason=args.reason or ""))
    data = report.to_dict()
    if args.json:
        print(json.dumps(data))
        return 0 if report.clean else 2
    print(f"Emergency stop on profile {args.profile}: trading is HALTED until "
          f"`recon-console resume --profile {args.profile}`.")
    print(f"  {headline(report).text}.")
    cancels = sum(n for name, n in report.venue_requests if name.startswith("cancel"))
    print(f"  cancelled: {plural(data['cancelled'], 'order')} with "
          f"{plural(cancels, 'cancel request')} ({plural(report.requests_total, 'venue request')}"
          " in all, the reconciliation's reads included)")
    for item in data["flattened"]:
        pos, order = item["position"], item["order"]
        state = item["error"] or (order["status"] if order else "not sent")
        print(f"  flattened: {pos['symbol']} {pos['size']} -> {state}")
    for o in report.open_orders or ():
        price = "market" if o.price is None else o.price
        print(f"  still open order: {o.symbol} {o.side.value} {o.qty} @ {price} "
              f"{o.status.value} ({o.client_order_id or o.venue_order_id})")
    # the headline names the first MAX_NAMED_POSITIONS positions; the rest are listed here
    for p in (report.open_positions or ())[MAX_NAMED_POSITIONS:]:
        print(f"  still open position: {position_text(p)} @ {p.entry_price}")
    for error in data["errors"]:
        print(f"  error: {error}")
    if report.open_positions and not report.flatten:
        print(f"  Positions were not flattened: `recon-console stop --profile {args.profile} "
              "--flatten` closes them.")
    if not report.clean:
        print("  Reconcile and check the venue before you resume.")
    return 0 if report.clean else 2


def cmd_resume(args: argparse.Namespace) -> int:
    if args.via_ledger:
        return _via_ledger(args, "resume", {})
    _, outcome = _on_profile(args, lambda s: s.engine.resume(_operator(args)))
    if args.json:
        print(json.dumps({"profile": args.profile, "changed": outcome.changed,
                          "halt_cleared": outcome.halt_cleared,
                          "pause_lifted": outcome.pause_lifted,
                          "lifted_reason": outcome.lifted_reason}))
        return 0
    print(f"Profile {args.profile}: " + ("trading resumed." if outcome.changed
                                         else "trading was not halted or paused."))
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from console.bootstrap import alert_engine, open_profile_ledger

    if args.via_ledger:
        if args.action != "ack" or not args.ref:
            raise UserFacingError("--via-ledger goes with `alerts ack ID`: the alert's id or "
                                  "key (rule:subject)")
        return _via_ledger(args, "acknowledge", {"ref": args.ref})
    profile, ledger = open_profile_ledger(args.profile, config_path=args.config, db_url=args.db)
    try:
        if args.action == "ack":
            if not args.ref:
                raise UserFacingError("alerts ack needs the alert's id or key (rule:subject)")
            ref: int | str = int(args.ref) if args.ref.isdigit() else args.ref
            alert = asyncio.run(alert_engine(profile, ledger).acknowledge(ref, _operator(args)))
            print(f"Acknowledged alert {alert.alert_id} ({alert.key}).")
            return 0
        alerts = ledger.alerts(profile.venue, profile.account, active_only=not args.all)
    finally:
        ledger.close()
    if args.json:
        print(json.dumps([{"id": a.alert_id, "key": a.key, "severity": a.severity.value,
                           "message": a.message, "first_seen": a.first_seen,
                           "last_seen": a.last_seen, "count": a.count,
                           "acknowledged_by": a.acknowledged_by, "cleared_at": a.cleared_at}
                          for a in alerts]))
        return 0
    if not alerts:
        print("No active alerts." if not args.all else "No alerts recorded.")
    for a in alerts:
        ack = f" ack by {a.acknowledged_by}" if a.acknowledged_by else ""
        cleared = f" cleared {_ts(a.cleared_at)}" if a.cleared_at else ""
        print(f"{a.alert_id:>5} {a.severity.value.upper():<8} {a.key:<40} x{a.count:<4} "
              f"first {_ts(a.first_seen)} last {_ts(a.last_seen)}{ack}{cleared}")
        print(f"      {a.message}")
    return 0


def _scope(args: argparse.Namespace) -> tuple[Ledger, str, str]:
    """(ledger, venue, account) a listing reads: the profile's with --profile (its ledger
    unless --db), else --db with --venue and --account (the CLI sim's by default)."""
    if getattr(args, "profile", None):
        from console.bootstrap import open_profile_ledger

        profile, ledger = open_profile_ledger(args.profile, config_path=args.config,
                                              db_url=args.db)
        return ledger, profile.venue, profile.account
    from console.bootstrap import open_ledger

    return open_ledger(args.db), args.venue, args.account


def _whose(args: argparse.Namespace, venue: str, account: str) -> str:
    """"sim/main" or "bybit/main (profile demo)": what a listing is of."""
    profile = getattr(args, "profile", None)
    return f"{venue}/{account}" + (f" (profile {profile})" if profile else "")


def cmd_runs(args: argparse.Namespace) -> int:
    ledger, venue, account = _scope(args)
    try:
        runs = ledger.list_runs(venue, account, args.limit)
    finally:
        ledger.close()
    if args.json:
        extra = {"profile": args.profile} if args.profile else None
        print(json.dumps([run_to_json(r, extra=extra) for r in runs]))
        return 0
    if not runs:
        print(f"No reconciliation runs recorded for {_whose(args, venue, account)}.")
        return 0
    print(f"Reconciliation runs of {_whose(args, venue, account)}, newest first:")
    for r in runs:
        print(f"{_ts(r.started_at)}  {r.venue}/{r.account}  {r.run_id}  {r.trigger.value:<9} "
              f"{r.status.value:<8} {len(r.discrepancies):>4} discrepancies  "
              f"{len(r.actions):>4} actions  {r.mode.value}")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    """List what awaits approval (or, with --held, the rejections that hold), or approve,
    reject or lift one by its id (run_id:index, as listed)."""
    if args.action != "list":
        return _inbox_decide(args)
    from console.engine.actions import standing_rejections

    ledger, venue, account = _scope(args)
    try:
        pending = ledger.pending_actions(venue, account)
        held = standing_rejections(ledger, venue, account)
    finally:
        ledger.close()
    whose = _whose(args, venue, account)
    owner = {"venue": venue, "account": account,
             **({"profile": args.profile} if args.profile else {})}
    if args.held:
        if args.json:
            print(json.dumps([{"id": h.ref, "run_id": h.run_id, "index": h.index, **owner,
                               "kind": h.action.kind.value, "subject": h.action.subject,
                               "summary": h.action.summary, "rejected_by": h.rejected_by,
                               "rejected_at": h.rejected_at, "reason": h.reason}
                              for h in held]))
            return 0
        if not held:
            print(f"No rejection holds on {whose}.")
            return 0
        print(f"Rejections holding on {whose} (not proposed again while the venue shows the "
              "same state; `inbox lift ID` lifts one):")
        for h in held:
            why = f": {h.reason}" if h.reason else ""
            print(f"{h.ref}  {venue}/{account}  {h.action.kind.value:<18} {h.action.summary}  "
                  f"(rejected by {h.rejected_by} {_ts(h.rejected_at)}{why})")
        return 0
    if args.json:
        print(json.dumps([{"id": f"{run_id}:{i}", "run_id": run_id, "index": i, **owner,
                           "kind": p.action.kind.value, "subject": p.action.subject,
                           "summary": p.action.summary}
                          for run_id, i, p in pending]))
        return 0
    if not pending:
        print(f"The inbox of {whose} is empty: nothing awaits approval.")
    else:
        print(f"Awaiting approval on {whose} (`inbox approve ID` / `inbox reject ID`):")
    for run_id, i, p in pending:
        print(f"{run_id}:{i}  {venue}/{account}  {p.action.kind.value:<18} {p.action.summary}")
    if held:
        print(f"{len(held)} rejected action{'s' if len(held) != 1 else ''} held until the "
              "venue changes: `recon-console inbox --held`.")
    return 0


def _parse_ref(ref: str | None) -> tuple[str, int]:
    """"run_id:index", as `inbox` prints it."""
    run_id, _, index = (ref or "").rpartition(":")
    if not run_id or not index.isdigit():
        raise UserFacingError(f"an inbox id is RUN_ID:INDEX as `recon-console inbox` prints "
                              f"it, not {ref!r}")
    return run_id, int(index)


def _inbox_decide(args: argparse.Namespace) -> int:
    """approve / reject / lift one action through the engine of its account: a profile's
    session, or the CLI sim in the scenario that built the ledger."""
    from console.domain.reconciliation import ActionState

    run_id, index = _parse_ref(args.ref)
    operator = _operator(args)
    if args.via_ledger:
        kind = {"approve": "approve", "reject": "reject"}.get(args.action, "lift_rejection")
        reason = {"reason": args.reason} if args.action == "reject" and args.reason else {}
        return _via_ledger(args, kind, {"run_id": run_id, "index": str(index), **reason})

    async def decide(session: Any) -> tuple[str, RunRecord | None]:
        executor = session.engine.executor
        outcome = ""
        if args.action == "approve":
            outcome = (await executor.approve(run_id, index, operator)).value
        elif args.action == "reject":
            await executor.reject(run_id, index, operator, args.reason or "")
            outcome = ActionState.REJECTED.value
        else:
            await executor.lift_rejection(run_id, index, operator)
            outcome = "rejection lifted"
        return outcome, await asyncio.to_thread(session.ledger.load_run, run_id)

    from console.engine.actions import NotPendingError

    try:
        if args.profile:
            _, (outcome, run) = _on_profile(args, decide)
        else:
            outcome, run = _on_cli_sim(args, decide)
    except NotPendingError as exc:
        if exc.state is not ActionState.REJECTED:
            raise
        raise UserFacingError(f"{exc}: run `recon-console reconcile --once{_scope_args(args)}`"
                              f", then `recon-console inbox{_scope_args(args)}` to see its new "
                              "id") from exc
    planned = run.actions[index] if run is not None else None
    what = (f"{planned.action.kind.value} {planned.action.summary}" if planned is not None
            else f"action {index}")
    where = f"{run.venue}/{run.account}" if run is not None else "?"
    print(f"{args.action.capitalize()} {run_id}:{index} on {where} by operator:{operator}: "
          f"{what} -> {outcome}")
    if planned is not None and planned.error and args.action == "approve":
        print(f"  error: {planned.error}")
    if args.action == "reject":
        print("  It is not proposed again while the venue shows the same state; "
              f"`recon-console inbox lift {run_id}:{index}` lifts the rejection.")
    if args.action == "lift":
        print("  The next reconciliation proposes it again, under a new id, if it is still "
              f"needed: run `recon-console reconcile --once{_scope_args(args)}`, then "
              f"`recon-console inbox{_scope_args(args)}` to see it.")
    failed = args.action == "approve" and outcome != ActionState.APPLIED.value
    return 2 if failed else 0


def _scope_args(args: argparse.Namespace) -> str:
    """The options that name the same account again in a suggested command."""
    import shlex

    scenario = getattr(args, "scenario", None)
    if not args.profile and scenario is None:
        from console.bootstrap import open_ledger
        from console.scenario_marker import ledger_scenario

        ledger = open_ledger(args.db)  # the sim scenario that built it, as `inbox` found it
        try:
            scenario = ledger_scenario(ledger, args.venue, args.account)
        finally:
            ledger.close()
    pairs = (("--profile", args.profile), ("--config", getattr(args, "config", None)),
             ("--db", args.db), ("--scenario", scenario))
    return "".join(f" {option} {shlex.quote(value)}" for option, value in pairs if value)


def _on_cli_sim(args: argparse.Namespace,
                use: Callable[[Any], Awaitable[_T]]) -> _T:
    """Run `use(session)` on the CLI sim over --db, rebuilt in the scenario that built the
    ledger (its marker; --scenario when it has none)."""
    from console.bootstrap import build_sim_session, open_ledger
    from console.scenario_marker import ledger_scenario

    if args.venue != "sim":
        raise UserFacingError(f"--venue {args.venue} needs a profile: pass --profile NAME")
    ledger = open_ledger(args.db)
    try:
        scenario = ledger_scenario(ledger, args.venue, args.account) or args.scenario
    finally:
        ledger.close()
    if scenario is None:
        raise UserFacingError("this ledger does not say which sim scenario built it: pass "
                              "--scenario NAME (or --profile NAME for a venue profile)")
    session = build_sim_session(args.db, scenario, account=args.account,
                                refuse_other_scenario=True)

    async def run() -> _T:
        return await use(session)

    try:
        return asyncio.run(run())
    finally:
        session.close()


def cmd_audit(args: argparse.Namespace) -> int:
    if args.profile:
        ledger, venue, account = _scope(args)
        scope: tuple[str | None, str | None] = (venue, account)
    else:
        from console.bootstrap import open_ledger

        ledger, scope = open_ledger(args.db), (args.venue, args.account)
    try:
        entries = ledger.audit_log(args.limit, venue=scope[0], account=scope[1])
    finally:
        ledger.close()
    if args.json:
        print(json.dumps([{"at": e.at, "venue": e.venue, "account": e.account,
                           "actor": e.actor, "action": e.action, "subject": e.subject,
                           "run_id": e.run_id, "details": dict(e.details)}
                          for e in entries]))
        return 0
    whose = ("every account" if scope == (None, None)
             else _whose(args, scope[0] or "*", scope[1] or "*"))
    if not entries:
        print(f"The audit log of {whose} is empty.")
        return 0
    print(f"Audit log of {whose}, newest first:")
    for e in entries:
        details = ", ".join(f"{k}={_detail(k, v)}" for k, v in e.details)
        owner = f"{e.venue}/{e.account}" if e.venue else "-"
        print(f"{_ts(e.at)}  {owner:<16} {e.actor:<18} {e.action:<28} {e.subject}  {details}")
    return 0


def _detail(key: str, value: str) -> str:
    """An audit detail for reading: epoch ms of a time ("issued_at") as ISO UTC, a
    duration in ms ("cancel_acknowledged_ms") rounded; `--json` keeps the raw values."""
    if key.endswith("_at") and value.isdigit():
        return iso_utc(int(value))
    if key.endswith("_ms"):
        try:
            return fmt_duration(float(value))
        except ValueError:
            return value
    return value


def _db_url(text: str) -> str:
    """--db: a URL as given, or a plain path (no "scheme://") as the SQLite file it names
    ("/tmp/l.db" -> "sqlite:////tmp/l.db"; a relative path from the current directory)."""
    if "://" in text:
        return text
    from pathlib import Path

    return f"sqlite:///{Path(text).expanduser().resolve()}"


class _FirstFrontEnd:
    """The default of `sim --venue`: the front-end registry's first, read only when the
    option is used or its help printed (see `_LazyChoices`)."""

    def __str__(self) -> str:
        return _sim_front_ends()[0]


def _sim_front_ends() -> tuple[str, ...]:
    """The venues `recon-console sim` can serve (the sim's front-end registry)."""
    from console.sim.frontends import FRONT_ENDS

    return tuple(FRONT_ENDS)


class _DemoLedger(argparse.Action):
    """--demo: the ledger the window's embedded sim keeps in the user data dir
    (console.bootstrap_gui), found only when the option is given."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        from console.store.db import demo_ledger_url

        namespace.db = demo_ledger_url()


class _LazyChoices:
    """argparse choices read from a registry only when an option is checked or its help
    printed: building the parser for `profiles list` must not import the sim's
    front-ends (aiohttp and every venue's protocol)."""

    def __init__(self, load: Callable[[], tuple[str, ...]]) -> None:
        self._load = load

    def __contains__(self, item: object) -> bool:
        return item in self._load()

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())


def cmd_sim(args: argparse.Namespace) -> int:
    from console.sim.server import serve

    if (args.api_key is None) != (args.api_secret is None):
        raise UserFacingError("give both --api-key and --api-secret, or neither "
                              "(a fresh pair is generated)")

    def ready(info: dict[str, str | None]) -> None:
        print(json.dumps(info), flush=True)

    asyncio.run(serve(venue=str(args.venue), host=args.host, port=args.port,
                      scenario=args.scenario, api_key=args.api_key,
                      api_secret=args.api_secret, faults=args.faults, seed=args.seed,
                      ready=ready, allow_remote=args.allow_remote, market=args.market))
    return 0


def _credential_store(config: str | None = None) -> Any:
    from console.credentials import CredentialStore, insecure_allowed_by_env

    return CredentialStore(allow_insecure=insecure_allowed_by_env(), config=config)


def _read_secret(prompt: str) -> str:
    """One secret line. From a terminal: getpass (echo off). From a pipe or a file: the
    line as it comes, without a prompt and without getpass's "can not control echo"
    warning (nothing is echoed: there is no terminal to echo to)."""
    if sys.stdin.isatty():
        import getpass

        return getpass.getpass(prompt).strip()
    line = sys.stdin.readline()
    if not line:
        raise UserFacingError("credentials set: standard input ended before the key and "
                              "the secret (give one line each)")
    return line.strip()


def cmd_credentials(args: argparse.Namespace) -> int:
    from console.bootstrap import load_profile
    from console.credentials import ApiCredentials

    store = _credential_store(args.config)
    if args.action == "set":
        load_profile(args.profile, args.config)  # the profile must exist first
        key = _read_secret(f"API key for profile {args.profile}: ")
        secret = _read_secret(f"API secret for profile {args.profile}: ")
        creds = ApiCredentials(key, secret)
        store.set(args.profile, creds)
        print(f"Stored the key {creds.key_hint} for profile {args.profile!r} "
              f"in {store.backend_name()}.")
    elif args.action == "check":
        creds = store.get(args.profile)
        print(f"Profile {args.profile!r}: key {creds.key_hint} in {store.backend_name()}.")
    elif args.action == "delete":
        removed = store.delete(args.profile)
        print(f"Deleted the credentials of profile {args.profile!r}." if removed
              else f"Profile {args.profile!r} had no stored credentials.")
    return 0


def _venue_settings(args: argparse.Namespace) -> dict[str, str]:
    """The chosen venue's own options (`--category` for Bybit...) as its sub-table. An
    option of another venue is refused rather than dropped; options left out take the
    venue's defaults."""
    from console.profiles import SIM_VENUE
    from console.venues.registry import VENUES

    chosen = VENUES.get(args.venue)
    if chosen is None and args.venue != SIM_VENUE:
        return {}  # reading the profile refuses the venue itself, with the available ones
    own = {f.key for f in chosen.fields} if chosen is not None else set()
    table: dict[str, str] = {}
    for spec in VENUES.values():
        for f in spec.fields:
            value = getattr(args, _venue_dest(f.key), None)
            if value is None or f.key in table:
                continue
            if f.key not in own:
                owners = ", ".join(s.name for s in VENUES.values()
                                   if any(g.key == f.key for g in s.fields))
                raise UserFacingError(f"{f.option} is a setting of {owners}, not of venue "
                                      f"{args.venue!r}")
            table[f.key] = value
    return table


def _setting_help(owners: Sequence[tuple[str, Any]]) -> str:
    """The help of a venue setting (`SettingField`) several venues may share: one text
    when they say the same, else each venue's own ("binance: ...; bybit: ...")."""
    def text(field: Any) -> str:
        choices = f"; one of {', '.join(field.choices)}" if field.choices else ""
        return f"{field.help}{choices} (default: {field.default})".replace("%", "%%")

    texts = {text(field) for _, field in owners}
    if len(texts) == 1:
        return f"{', '.join(name for name, _ in owners)}: {texts.pop()}"
    return "; ".join(f"{name}: {text(field)}" for name, field in owners)


def _venue_dest(key: str) -> str:
    return f"venue_setting_{key}"


def cmd_profiles(args: argparse.Namespace) -> int:
    from console.profiles import (
        config_path,
        load_profiles,
        parse_profile,
        render_profiles,
        save_profile,
    )
    from console.venues.registry import VENUES

    if args.action == "add":
        if not args.name:
            raise UserFacingError("profiles add needs a NAME")
        profiles = load_profiles(args.config, venues=VENUES)
        if args.name in profiles and not args.replace:
            raise UserFacingError(f"profile {args.name!r} exists; pass --replace to overwrite")
        table: dict[str, Any] = {
            "venue": args.venue, "network": args.network, "account": args.account,
            "symbols": list(args.symbols or ()), "read_only": args.read_only}
        table.update({key: value for key, value in (
            ("rest_url", args.rest_url), ("ws_url", args.ws_url), ("db_url", args.db))
            if value is not None})
        settings = _venue_settings(args)
        if args.venue in VENUES:  # always written: the file shows where they belong
            table[args.venue] = settings
        profile = parse_profile(args.name, table, venues=VENUES)
        spec = VENUES.get(profile.venue)
        if spec is not None:
            spec.check_profile(profile)  # what only the whole profile can tell
        path = save_profile(profile, args.config, venues=VENUES)
        import shlex

        config = f" --config {shlex.quote(args.config)}" if args.config else ""
        print(f"Saved profile {args.name!r} to {path}. Store its API key with: "
              f"recon-console credentials set {shlex.quote(args.name)}{config}")
        return 0
    profiles = load_profiles(args.config, venues=VENUES)
    if args.action == "show" and args.name is not None and args.name not in profiles:
        there = f" (there: {', '.join(sorted(profiles))})" if profiles else " (it has none)"
        raise UserFacingError(f"no profile {args.name!r} in {config_path(args.config)}{there}")
    if not profiles:
        example = next(iter(VENUES), "sim")
        print(f"No profiles in {config_path(args.config)}; add one with "
              f"`recon-console profiles add NAME --venue {example} --network testnet`.")
        return 0
    if args.action == "show":
        shown = [profiles[args.name]] if args.name is not None else profiles.values()
        print(render_profiles(shown), end="")
        return 0
    for p in profiles.values():
        own = " ".join(f"{k}={v}" for k, v in (p.settings.to_table().items()
                                               if p.settings is not None else ()))
        print(f"{p.name:<20} {p.venue:<8} {p.network.value:<8} {p.account:<10} "
              f"{own:<32} {'read-only' if p.read_only else ''}".rstrip())
    return 0


def cmd_rehearse(args: argparse.Namespace) -> int:
    """What a cold start would do now (`console.cli_plan.rehearse`)."""
    from console.cli_plan import rehearse

    text, code = rehearse(args)
    print(text)
    return code


def cmd_scenarios(_args: argparse.Namespace) -> int:
    from console.sim.scenarios import SCENARIOS, describe_scenario

    for name in sorted(SCENARIOS):
        print(f"{name:<28} {describe_scenario(name)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="recon-console",
        description="Keeps a trading bot's book of record in line with the exchange.")
    parser.add_argument("--version", action="store_true",
                        help="print the version, the commit it was built from and the "
                             "versions of Qt, PySide6, pybit, ccxt and SQLAlchemy")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v info, -vv debug) to stderr")
    parser.add_argument("--self-test", action="store_true",
                        help="open the console offscreen on the sim, reconcile once, print "
                             "versions and the keyring backend, exit 0 (1 on any failure)")
    parser.add_argument("--profile", dest="gui_profile", metavar="NAME", action="append",
                        help="open the console on this profile; give it again (or a comma "
                             "list) for several accounts in one window (default: the "
                             "embedded sim)")
    attach_help = ("open every account of this shared PostgreSQL ledger as a remote account: "
                   "engines elsewhere trade them, the window shows them and sends your "
                   "decisions as commands to each account's lease holder (repeat for "
                   "several ledgers)")
    parser.add_argument("--attach", dest="gui_attach", metavar="POSTGRES_URL",
                        action="append", help=attach_help)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    gui = sub.add_parser("gui", help="open the console window (the default without a command)",
                         description="The operator console: profiles, the embedded sim, or "
                                     "a fleet of engines through their shared PostgreSQL "
                                     "ledger (--attach).")
    gui.add_argument("--profile", dest="gui_profile", metavar="NAME", action="append",
                     help="open the console on this profile (repeat, or a comma list)")
    gui.add_argument("--attach", dest="gui_attach", metavar="POSTGRES_URL", action="append",
                     help=attach_help)
    gui.set_defaults(func=None)

    db_help = ("ledger database URL, or a plain path for an SQLite file (default: SQLite in "
               "the user data directory)")
    rec = sub.add_parser("reconcile", help="run a reconciliation and print what it found",
                         description="Run a startup reconciliation of the ledger against a "
                                     "venue and print the discrepancies and actions.")
    rec.add_argument("--once", action="store_true", help="run once and exit")
    rec.add_argument("--profile", help="reconcile this profile's venue account")
    rec.add_argument("--config", metavar="PATH", help="profiles file")
    rec.add_argument("--venue", default="sim", help="without --profile: the built-in sim")
    rec.add_argument("--scenario", default="clean",
                     help="simulated exchange scenario (see `recon-console scenarios`)")
    rec.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.add_argument("--plan-only", action="store_true",
                     help="fetch, compare and show the plan with each action's decision "
                          "(auto, needs approval, blocked); apply and record nothing")
    rec.set_defaults(func=cmd_reconcile)

    rehearse = sub.add_parser(
        "rehearse", help="show what a cold start would do now (nothing applied)",
        description="Restart rehearsal: the halt a new process would restore, the startup "
                    "reconciliation's plan, and which orders and brackets a cold start "
                    "would cancel, restore, adopt or place; nothing is applied or recorded.")
    rehearse.add_argument("--profile", help="rehearse this profile's venue account")
    rehearse.add_argument("--config", metavar="PATH", help="profiles file")
    rehearse.add_argument("--venue", default="sim", help="without --profile: the built-in sim")
    rehearse.add_argument("--scenario", default="clean",
                          help="simulated exchange scenario (see `recon-console scenarios`)")
    rehearse.add_argument("--worker", action="append", metavar="USER/WORKER",
                          help="a worker the cold start restarts (repeat; default: every "
                               "worker with a saved runner state)")
    rehearse.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
    rehearse.add_argument("--json", action="store_true", help="print one JSON object")
    rehearse.set_defaults(func=cmd_rehearse)

    daemon = sub.add_parser("run", help="run the engine for a profile (headless daemon)",
                            description="Startup reconciliation, then the private stream and "
                                        "periodic reconciliation until SIGINT/SIGTERM. Exit "
                                        "codes: 0 stopped by a signal, 1 error, 64 usage, "
                                        "75 try later, 77 credentials, 78 configuration.",
                            usage_status=64)
    daemon.add_argument("--headless", action="store_true", help="no window")
    daemon.add_argument("--profile", required=True)
    daemon.add_argument("--config", metavar="PATH", help="profiles file")
    daemon.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
    daemon.set_defaults(func=cmd_run)

    def via_ledger(command: argparse.ArgumentParser) -> None:
        command.add_argument("--via-ledger", action="store_true", help=VIA_LEDGER_HELP)
        command.add_argument("--timeout", type=float, default=10.0, metavar="S",
                             help="with --via-ledger: how long to wait for the outcome "
                                  "(default: %(default)s)")

    stop = sub.add_parser("stop", help="EMERGENCY STOP: halt, cancel every open order, "
                                       "optionally flatten",
                          description="Open the circuit breaker (no new orders), cancel every "
                                      "open order with the venue's bulk cancel, optionally "
                                      "flatten positions with reduce-only market orders, stop "
                                      "strategies, reconcile and report what is left. Safe to "
                                      "run twice. Trading stays halted until `resume`.")
    stop.add_argument("--profile", required=True)
    stop.add_argument("--flatten", action="store_true",
                      help="also close every position with reduce-only market orders")
    stop.add_argument("--reason", help="recorded in the audit log")
    stop.add_argument("--operator", help="who (default: the login name)")
    stop.add_argument("--config", metavar="PATH", help="profiles file")
    stop.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
    stop.add_argument("--json", action="store_true")
    via_ledger(stop)
    stop.set_defaults(func=cmd_stop)

    resume = sub.add_parser("resume", help="lift an emergency halt or a desync pause",
                            description="Close the circuit breaker of an emergency stop and "
                                        "lift a desync pause, audited under "
                                        "operator:<--operator or the login name>. The next "
                                        "reconciliation decides afresh: a new hard desync "
                                        "pauses again.")
    resume.add_argument("--profile", required=True)
    resume.add_argument("--operator", help="who (default: the login name)")
    resume.add_argument("--config", metavar="PATH", help="profiles file")
    resume.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
    resume.add_argument("--json", action="store_true", help="print one JSON object")
    via_ledger(resume)
    resume.set_defaults(func=cmd_resume)

    alerts = sub.add_parser("alerts", help="list or acknowledge a profile's alerts")
    alerts.add_argument("action", nargs="?", choices=["list", "ack"], default="list")
    alerts.add_argument("ref", nargs="?", help="with ack: the alert id or key (rule:subject)")
    alerts.add_argument("--profile", required=True)
    alerts.add_argument("--all", action="store_true", help="include cleared alerts")
    alerts.add_argument("--operator", help="who acknowledges (default: the login name)")
    alerts.add_argument("--config", metavar="PATH", help="profiles file")
    alerts.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
    alerts.add_argument("--json", action="store_true")
    via_ledger(alerts)
    alerts.set_defaults(func=cmd_alerts)

    def scoped(command: argparse.ArgumentParser, *, venue: str | None = "sim",
               account: str | None = "main") -> None:
        """--profile (its venue, account and ledger), or --db with --venue/--account."""
        command.add_argument("--profile", help="the profile's venue account and ledger")
        command.add_argument("--config", metavar="PATH", help="profiles file")
        command.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
        command.add_argument("--demo", nargs=0, action=_DemoLedger,
                             help="the window's embedded-sim ledger (instead of --db)")
        every = " (default: every {})"
        command.add_argument("--venue", default=venue,
                             help="without --profile" + (" (default: %(default)s)" if venue
                                                         else every.format("venue")))
        command.add_argument("--account", default=account,
                             help="without --profile" + (" (default: %(default)s)" if account
                                                         else every.format("account")))

    runs = sub.add_parser("runs", help="list recorded reconciliation runs")
    scoped(runs)
    runs.add_argument("--limit", type=int, default=20,
                      help="how many runs, newest first (default: %(default)s)")
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs)

    inbox = sub.add_parser(
        "inbox", help="list, approve or reject proposed actions awaiting approval",
        description="Without an action: what awaits approval (ids as RUN_ID:INDEX). "
                    "approve ID carries the action out; reject ID [--reason] records the "
                    "operator's no, which holds while the venue shows the same state; lift "
                    "ID lifts such a rejection. Decisions are audited under "
                    "operator:<--operator or the login name>.")
    inbox.add_argument("action", nargs="?", choices=["list", "approve", "reject", "lift"],
                       default="list")
    inbox.add_argument("ref", nargs="?", metavar="ID", help="RUN_ID:INDEX, as listed")
    scoped(inbox)
    inbox.add_argument("--scenario", help="without --profile, for a ledger that does not "
                                          "say which sim scenario built it")
    inbox.add_argument("--reason", help="with reject: why (recorded in the audit log)")
    inbox.add_argument("--operator", help="who decides (default: the login name)")
    inbox.add_argument("--held", action="store_true",
                       help="list the rejections that hold instead")
    inbox.add_argument("--json", action="store_true")
    via_ledger(inbox)
    inbox.set_defaults(func=cmd_inbox)

    audit = sub.add_parser("audit", help="show the operator audit log")
    scoped(audit, venue=None, account=None)
    audit.add_argument("--limit", type=int, default=50,
                       help="how many entries, newest first (default: %(default)s)")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(func=cmd_audit)

    scen = sub.add_parser("scenarios", help="list the simulated exchange's scenarios")
    scen.set_defaults(func=cmd_scenarios)

    sim = sub.add_parser("sim", help="serve the simulated exchange over a venue's protocol",
                         description="Start the simulated exchange with a protocol-faithful "
                                     "front-end on loopback; print one JSON line with its "
                                     "URLs and credentials; serve until SIGINT/SIGTERM.")
    sim.add_argument("--venue", choices=_LazyChoices(_sim_front_ends), metavar="VENUE",
                     default=_FirstFrontEnd(),
                     help="whose protocol to serve: %(choices)s (default: %(default)s)")
    sim.add_argument("--market", metavar="MARKET",
                     help="for a venue whose markets live on separate hosts (binance: usdm, "
                          "spot): whose URLs to print (default: the venue's first)")
    sim.add_argument("--host", default="127.0.0.1",
                     help="a loopback address (default 127.0.0.1); others need --allow-remote")
    sim.add_argument("--allow-remote", action="store_true",
                     help="listen beyond this machine (anyone reaching it can trade on it)")
    sim.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sim.add_argument("--scenario", help="start in this scenario (see `scenarios`)")
    sim.add_argument("--api-key", help="the key the sim accepts (with --api-secret; "
                                        "default: a fresh pair, printed)")
    sim.add_argument("--api-secret", help="the secret the sim accepts (with --api-key)")
    sim.add_argument("--faults", metavar="SPEC",
                     help="fault injection, e.g. 'latency=50ms;retcode=10006x5@/v5/order/create'")
    sim.add_argument("--seed", type=int, default=7,
                     help="the sim's random seed: the same seed, the same ids and prices "
                          "(default: %(default)s)")
    sim.set_defaults(func=cmd_sim)

    cfg_help = "profiles file (default: profiles.toml in the user config directory)"
    creds = sub.add_parser("credentials", help="store API keys in the OS keyring",
                           description="API keys live in the OS keyring only: never on disk, "
                                       "never echoed, never logged.")
    creds.add_argument("action", choices=["set", "check", "delete"])
    creds.add_argument("profile")
    creds.add_argument("--config", metavar="PATH", help=cfg_help)
    creds.set_defaults(func=cmd_credentials)

    from console.venues.registry import DEFAULT_VENUE, VENUES, venue_names

    prof = sub.add_parser("profiles", help="list, show or add venue profiles",
                          description="A venue's own settings (the options after --venue) "
                                      "go to its [profiles.NAME.<venue>] table.")
    prof.add_argument("action", choices=["list", "show", "add"], nargs="?", default="list")
    prof.add_argument("name", nargs="?")
    prof.add_argument("--config", metavar="PATH", help=cfg_help)
    prof.add_argument("--venue", default=DEFAULT_VENUE,
                      help=f"one of {', '.join(venue_names())} (default: %(default)s)")
    prof.add_argument("--network", default="testnet", choices=["testnet", "mainnet", "custom"])
    prof.add_argument("--rest-url")
    prof.add_argument("--ws-url")
    prof.add_argument("--account", default="main")
    prof.add_argument("--symbols", nargs="*")
    offered: set[str] = set()
    for spec in VENUES.values():
        for f in spec.fields:
            if f.key in offered:
                continue
            offered.add(f.key)
            prof.add_argument(f.option, dest=_venue_dest(f.key), metavar=f.key.upper(),
                              help=_setting_help([(s.name, g) for s in VENUES.values()
                                                  for g in s.fields if g.key == f.key]))
    prof.add_argument("--db", metavar="URL", type=_db_url, help=db_help)
    prof.add_argument("--read-only", action="store_true")
    prof.add_argument("--replace", action="store_true")
    prof.set_defaults(func=cmd_profiles)
    return parser


USAGE_ERROR = 1
"""Exit status of a command-line mistake (an unknown option or command, a bad value):
1, "an error the operator must fix", as the module docstring and the README say, and not
argparse's 2, which here means a partial run."""


class _Parser(argparse.ArgumentParser):
    """A parser whose usage errors exit with `usage_status` (`USAGE_ERROR` by default; the
    daemon's is EX_USAGE, 64, which its supervisor does not retry), the usage and the
    error on stderr."""

    def __init__(self, *args: Any, usage_status: int = USAGE_ERROR, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.usage_status = usage_status

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(self.usage_status, f"{self.prog}: error: {message}\n")


def _configure_logging(verbose: int, *, service: bool) -> None:
    """stderr logging. The daemon (`service`) writes journald-style lines ("<6>name: text")
    under a supervisor, see `console.service.journal`, and logs its own INFO events
    (routine: a lease taken, the metrics address) since its log is its record; other
    libraries stay at WARNING. Other commands keep the readable format (UTC times with
    their "Z") and log WARNING and up, since their output already says what happened.
    -v: INFO, -vv: DEBUG, for everything."""
    from console.service.journal import HumanFormatter, log_formatter

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter(sys.stderr) if service else HumanFormatter())
    logging.basicConfig(level=level, handlers=[handler])
    if service and level > logging.INFO:
        logging.getLogger("console").setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    # Before any secret is read: a crash dump would hold it in the clear.
    from console.process_guard import disable_core_dumps

    disable_core_dumps()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from console.version import version_report

        print(version_report())
        return 0
    _configure_logging(args.verbose, service=args.command == "run")
    if args.command in (None, "gui"):
        # No command: the operator console (the window), or its self-test.
        from console.bootstrap_gui import main_gui

        try:
            return int(main_gui(self_test=args.self_test, profile=args.gui_profile,
                                attach=args.gui_attach or ()))
        except UserFacingError as exc:
            print(f"recon-console: {exc}", file=sys.stderr)
            return 1
    try:
        return int(args.func(args))
    except UserFacingError as exc:
        print(f"recon-console: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
