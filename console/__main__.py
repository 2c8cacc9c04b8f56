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
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from console.domain.reconciliation import ActionState, Decision, RunRecord, RunStatus, RunTrigger
from console.errors import UserFacingError

log = logging.getLogger("console")
_T = TypeVar("_T")


def _ts(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


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
        "duration_ms": round(duration_ms if duration_ms is not None
                             else run.finished_at - run.started_at, 3),
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


def print_run(run: RunRecord, duration_ms: float, header: str) -> None:
    print(header)
    print(f"  run {run.run_id}  {run.status.value}  {duration_ms:.1f} ms  "
          f"venue calls: {sum(n for _, n in run.venue_calls)}"
          f" ({', '.join(f'{k} {n}' for k, n in run.venue_calls) or 'none'})")
    if not run.discrepancies:
        print("  No discrepancies: the ledger matches the venue.")
    else:
        print(f"  {len(run.discrepancies)} discrepancies:")
        for d in run.discrepancies:
            print(f"    - [{d.kind.value}] {d.summary}")
    if run.actions:
        print("  Actions:")
        for i, p in enumerate(run.actions):
            state = p.state.value
            if p.decision is Decision.NEEDS_APPROVAL and p.state is ActionState.PENDING:
                state = "awaiting approval"
            print(f"    {i:>3}. {p.action.kind.value:<22} {state:<18} {p.action.summary}")
    for text in run.unverified:
        print(f"  Not verified: {text}")
    for text in run.errors:
        print(f"  Error: {text}")
    mode = run.mode.value.upper() + (f" ({run.pause_reason})" if run.pause_reason else "")
    print(f"  Trading: {mode}")


# -- commands -----------------------------------------------------------------------------

def _print_outcome(args: argparse.Namespace, run: RunRecord, duration_ms: float,
                   header: str, extra: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(run_to_json(run, duration_ms=duration_ms, extra=extra)))
    else:
        print_run(run, duration_ms, header)


def cmd_reconcile(args: argparse.Namespace) -> int:
    if not args.once:
        raise UserFacingError("reconcile runs one reconciliation and exits: pass --once "
                              "(the continuous loop is `recon-console run --headless`)")
    if args.profile:
        return _reconcile_profile(args)
    if args.venue != "sim":
        raise UserFacingError(f"--venue {args.venue} needs a profile: pass --profile NAME "
                              "(see `recon-console profiles`)")
    from console.bootstrap import build_sim_session

    session = build_sim_session(args.db, args.scenario)
    try:
        outcome = asyncio.run(session.service.run_once(RunTrigger.STARTUP))
    finally:
        session.close()
    seeded = " (new ledger seeded with the scenario's starting state)" \
        if session.seeded_ledger else ""
    _print_outcome(args, outcome.run, outcome.duration_ms,
                   f"Startup reconciliation on {outcome.run.venue}/{outcome.run.account}, "
                   f"scenario {session.scenario}{seeded}",
                   {"scenario": session.scenario, "ledger_seeded": session.seeded_ledger})
    return 0 if outcome.run.status is RunStatus.OK else 2


def _on_profile(args: argparse.Namespace, use: Callable[[Any], Awaitable[_T]]) -> tuple[Any, _T]:
    """Open the profile's session, run `use(session)` on a fresh loop, always close it."""
    from console.bootstrap import build_profile_session

    session = build_profile_session(args.profile, config_path=args.config, db_url=args.db)

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
                   {"profile": args.profile})
    return 0 if outcome.run.status is RunStatus.OK else 2


def cmd_run(args: argparse.Namespace) -> int:
    """The daemon; its exit codes are for a supervisor (`console.service.exit_codes`)."""
    from console.service.exit_codes import ServiceExit, exit_code_for

    if not args.headless:
        print("recon-console: the console window arrives with the UI; use --headless",
              file=sys.stderr)
        return ServiceExit.USAGE
    from console.bootstrap import build_profile_session

    try:
        session = build_profile_session(args.profile, config_path=args.config, db_url=args.db)
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

            stop_metrics, bound = await start_metrics_server(session.engine.metrics, port,
                                                             health=health.report)
            log.warning("metrics on http://127.0.0.1:%d/metrics, health on /healthz", bound)

        def report(outcome: Any) -> None:
            run = outcome.run
            print(f"{_ts(run.started_at)} {run.trigger.value:<9} {run.status.value:<8} "
                  f"{len(run.discrepancies):>4} discrepancies {len(run.actions):>4} actions "
                  f"{outcome.duration_ms:8.1f} ms  {run.mode.value}", flush=True)

        session.engine.reconciler.on_run(report)
        outcome = await session.engine.start()
        if outcome.run.status is RunStatus.FAILED:
            log.error("startup reconciliation failed (%s): stopping so the supervisor "
                      "retries later", "; ".join(outcome.run.errors) or "no detail")
            return ServiceExit.TEMPFAIL
        notifier.ready(f"reconciled ({outcome.run.status.value}); "
                       f"{session.profile.venue}/{session.profile.account}")
        if notifier.watchdog_s is not None:
            watchdog = asyncio.create_task(_watchdog(notifier, notifier.watchdog_s / 2),
                                           name="sd-watchdog")
        await stop.wait()
        notifier.stopping()
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if stop_metrics is not None:
            await stop_metrics()
        await session.aclose()
    return ServiceExit.OK


async def _watchdog(notifier: Any, period_s: float) -> None:
    """WATCHDOG=1 while the event loop runs: a loop stuck in a blocking call stops pinging
    and systemd restarts the service after WatchdogSec."""
    while True:
        notifier.watchdog()
        await asyncio.sleep(period_s)


def _operator(args: argparse.Namespace) -> str:
    import getpass

    return str(args.operator or getpass.getuser())


def cmd_stop(args: argparse.Namespace) -> int:
    """Emergency stop: halt, bulk-cancel, optionally flatten, reconcile, report."""
    _, report = _on_profile(args, lambda s: s.engine.emergency_stop(
        flatten=args.flatten, operator=_operator(args), reason=args.reason or ""))
    data = report.to_dict()
    if args.json:
        print(json.dumps(data))
    else:
        print(f"Emergency stop on profile {args.profile}: trading is HALTED until "
              f"`recon-console resume --profile {args.profile}`.")
        print(f"  cancelled: {data['cancelled']} orders in "
              f"{data['venue_requests_total']} venue requests")
        for item in data["flattened"]:
            pos, order = item["position"], item["order"]
            state = item["error"] or (order["status"] if order else "not sent")
            print(f"  flattened: {pos['symbol']} {pos['size']} -> {state}")
        for label, key in (("still open order", "open_orders"),
                           ("still open position", "open_positions")):
            for item in data[key] or []:
                print(f"  {label}: {item}")
        for error in data["errors"]:
            print(f"  error: {error}")
        print("  Nothing is left open." if report.clean
              else "  NOT CLEAN: see above; reconcile and check the venue.")
    return 0 if report.clean else 2


def cmd_resume(args: argparse.Namespace) -> int:
    _, outcome = _on_profile(args, lambda s: s.engine.resume(_operator(args)))
    print(f"Profile {args.profile}: " + ("trading resumed." if outcome.changed
                                         else "trading was not halted or paused."))
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    from console.bootstrap import alert_engine, open_profile_ledger

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


def cmd_runs(args: argparse.Namespace) -> int:
    from console.bootstrap import open_ledger

    ledger = open_ledger(args.db)
    try:
        runs = ledger.list_runs(args.venue, args.account, args.limit)
    finally:
        ledger.close()
    if args.json:
        print(json.dumps([run_to_json(r) for r in runs]))
        return 0
    if not runs:
        print("No reconciliation runs recorded.")
    for r in runs:
        print(f"{_ts(r.started_at)}  {r.run_id}  {r.trigger.value:<9} {r.status.value:<8} "
              f"{len(r.discrepancies):>4} discrepancies  {len(r.actions):>4} actions  "
              f"{r.mode.value}")
    return 0


def cmd_inbox(args: argparse.Namespace) -> int:
    from console.bootstrap import open_ledger

    ledger = open_ledger(args.db)
    try:
        pending = ledger.pending_actions(args.venue, args.account)
    finally:
        ledger.close()
    if args.json:
        print(json.dumps([{"run_id": run_id, "index": i, "kind": p.action.kind.value,
                           "subject": p.action.subject, "summary": p.action.summary}
                          for run_id, i, p in pending]))
        return 0
    if not pending:
        print("The inbox is empty: nothing awaits approval.")
    for run_id, i, p in pending:
        print(f"{run_id}:{i}  {p.action.kind.value:<18} {p.action.summary}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from console.bootstrap import open_ledger

    ledger = open_ledger(args.db)
    try:
        entries = ledger.audit_log(args.limit)
    finally:
        ledger.close()
    if not entries:
        print("The audit log is empty.")
    for e in entries:
        details = ", ".join(f"{k}={v}" for k, v in e.details)
        print(f"{_ts(e.at)}  {e.actor:<18} {e.action:<28} {e.subject}  {details}")
    return 0


def _sim_front_ends() -> tuple[str, ...]:
    """The venues `recon-console sim` can serve (the sim's front-end registry)."""
    from console.sim.frontends import FRONT_ENDS

    return tuple(FRONT_ENDS)


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

    asyncio.run(serve(venue=args.venue or _sim_front_ends()[0], host=args.host, port=args.port,
                      scenario=args.scenario, api_key=args.api_key,
                      api_secret=args.api_secret, faults=args.faults, seed=args.seed,
                      ready=ready, allow_remote=args.allow_remote, market=args.market))
    return 0


def _credential_store() -> Any:
    from console.credentials import CredentialStore, insecure_allowed_by_env

    return CredentialStore(allow_insecure=insecure_allowed_by_env())


def cmd_credentials(args: argparse.Namespace) -> int:
    import getpass

    from console.bootstrap import load_profile
    from console.credentials import ApiCredentials

    store = _credential_store()
    if args.action == "set":
        load_profile(args.profile, args.config)  # the profile must exist first
        key = getpass.getpass(f"API key for profile {args.profile}: ").strip()
        secret = getpass.getpass(f"API secret for profile {args.profile}: ").strip()
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
        path = save_profile(profile, args.config, venues=VENUES)
        print(f"Saved profile {args.name!r} to {path}. Store its API key with: "
              f"recon-console credentials set {args.name}")
        return 0
    profiles = load_profiles(args.config, venues=VENUES)
    if not profiles:
        example = next(iter(VENUES), "sim")
        print(f"No profiles in {config_path(args.config)}; add one with "
              f"`recon-console profiles add NAME --venue {example} --network testnet`.")
        return 0
    if args.action == "show":
        print(render_profiles(profiles.values()), end="")
        return 0
    for p in profiles.values():
        own = " ".join(f"{k}={v}" for k, v in (p.settings.to_table().items()
                                               if p.settings is not None else ()))
        print(f"{p.name:<20} {p.venue:<8} {p.network.value:<8} {p.account:<10} "
              f"{own:<32} {'read-only' if p.read_only else ''}".rstrip())
    return 0


def cmd_scenarios(_args: argparse.Namespace) -> int:
    from console.sim.scenarios import SCENARIOS, describe_scenario

    for name in sorted(SCENARIOS):
        print(f"{name:<28} {describe_scenario(name)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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
    parser.add_argument("--profile", dest="gui_profile", metavar="NAME",
                        help="open the console on this profile (default: the embedded sim)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    db_help = "ledger database URL (default: SQLite in the user data directory)"
    rec = sub.add_parser("reconcile", help="run a reconciliation and print what it found",
                         description="Run a startup reconciliation of the ledger against a "
                                     "venue and print the discrepancies and actions.")
    rec.add_argument("--once", action="store_true", help="run once and exit")
    rec.add_argument("--profile", help="reconcile this profile's venue account")
    rec.add_argument("--config", metavar="PATH", help="profiles file")
    rec.add_argument("--venue", default="sim", help="without --profile: the built-in sim")
    rec.add_argument("--scenario", default="clean",
                     help="simulated exchange scenario (see `recon-console scenarios`)")
    rec.add_argument("--db", metavar="URL", help=db_help)
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.set_defaults(func=cmd_reconcile)

    daemon = sub.add_parser("run", help="run the engine for a profile (headless daemon)",
                            description="Startup reconciliation, then the private stream and "
                                        "periodic reconciliation until SIGINT/SIGTERM. Exit "
                                        "codes: 0 stopped by a signal, 1 error, 64 usage, "
                                        "75 try later, 77 credentials, 78 configuration.",
                            usage_status=64)
    daemon.add_argument("--headless", action="store_true", help="no window")
    daemon.add_argument("--profile", required=True)
    daemon.add_argument("--config", metavar="PATH", help="profiles file")
    daemon.add_argument("--db", metavar="URL", help=db_help)
    daemon.set_defaults(func=cmd_run)

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
    stop.add_argument("--db", metavar="URL", help=db_help)
    stop.add_argument("--json", action="store_true")
    stop.set_defaults(func=cmd_stop)

    resume = sub.add_parser("resume", help="lift an emergency halt or a desync pause")
    resume.add_argument("--profile", required=True)
    resume.add_argument("--operator", help="who (default: the login name)")
    resume.add_argument("--config", metavar="PATH", help="profiles file")
    resume.add_argument("--db", metavar="URL", help=db_help)
    resume.set_defaults(func=cmd_resume)

    alerts = sub.add_parser("alerts", help="list or acknowledge a profile's alerts")
    alerts.add_argument("action", nargs="?", choices=["list", "ack"], default="list")
    alerts.add_argument("ref", nargs="?", help="with ack: the alert id or key (rule:subject)")
    alerts.add_argument("--profile", required=True)
    alerts.add_argument("--all", action="store_true", help="include cleared alerts")
    alerts.add_argument("--operator", help="who acknowledges (default: the login name)")
    alerts.add_argument("--config", metavar="PATH", help="profiles file")
    alerts.add_argument("--db", metavar="URL", help=db_help)
    alerts.add_argument("--json", action="store_true")
    alerts.set_defaults(func=cmd_alerts)

    runs = sub.add_parser("runs", help="list recorded reconciliation runs")
    runs.add_argument("--db", metavar="URL", help=db_help)
    runs.add_argument("--venue", default="sim")
    runs.add_argument("--account", default="main")
    runs.add_argument("--limit", type=int, default=20)
    runs.add_argument("--json", action="store_true")
    runs.set_defaults(func=cmd_runs)

    inbox = sub.add_parser("inbox", help="list proposed actions awaiting approval")
    inbox.add_argument("--db", metavar="URL", help=db_help)
    inbox.add_argument("--venue", default="sim")
    inbox.add_argument("--account", default="main")
    inbox.add_argument("--json", action="store_true")
    inbox.set_defaults(func=cmd_inbox)

    audit = sub.add_parser("audit", help="show the operator audit log")
    audit.add_argument("--db", metavar="URL", help=db_help)
    audit.add_argument("--limit", type=int, default=50)
    audit.set_defaults(func=cmd_audit)

    scen = sub.add_parser("scenarios", help="list the simulated exchange's scenarios")
    scen.set_defaults(func=cmd_scenarios)

    sim = sub.add_parser("sim", help="serve the simulated exchange over a venue's protocol",
                         description="Start the simulated exchange with a protocol-faithful "
                                     "front-end on loopback; print one JSON line with its "
                                     "URLs and credentials; serve until SIGINT/SIGTERM.")
    sim.add_argument("--venue", choices=_LazyChoices(_sim_front_ends), metavar="VENUE",
                     help="whose protocol to serve: %(choices)s (default: the first)")
    sim.add_argument("--market", metavar="MARKET",
                     help="for a venue whose markets live on separate hosts (binance: usdm, "
                          "spot): whose URLs to print (default: the venue's first)")
    sim.add_argument("--host", default="127.0.0.1",
                     help="a loopback address (default 127.0.0.1); others need --allow-remote")
    sim.add_argument("--allow-remote", action="store_true",
                     help="listen beyond this machine (anyone reaching it can trade on it)")
    sim.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sim.add_argument("--scenario", help="start in this scenario (see `scenarios`)")
    sim.add_argument("--api-key")
    sim.add_argument("--api-secret")
    sim.add_argument("--faults", metavar="SPEC",
                     help="fault injection, e.g. 'latency=50ms;retcode=10006x5@/v5/order/create'")
    sim.add_argument("--seed", type=int, default=7)
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
            owners = ", ".join(s.name for s in VENUES.values()
                               if any(g.key == f.key for g in s.fields))
            choices = f"; one of {', '.join(f.choices)}" if f.choices else ""
            prof.add_argument(f.option, dest=_venue_dest(f.key), metavar=f.key.upper(),
                              help=f"{owners}: {f.help}{choices} (default: {f.default})")
    prof.add_argument("--db", metavar="URL", help=db_help)
    prof.add_argument("--read-only", action="store_true")
    prof.add_argument("--replace", action="store_true")
    prof.set_defaults(func=cmd_profiles)
    return parser


class _Parser(argparse.ArgumentParser):
    """A sub-command parser whose usage errors exit with `usage_status` (argparse's 2 by
    default; the daemon's is EX_USAGE, 64, which its supervisor does not retry)."""

    def __init__(self, *args: Any, usage_status: int = 2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.usage_status = usage_status

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(self.usage_status, f"{self.prog}: error: {message}\n")


def _configure_logging(level: int, *, service: bool) -> None:
    """stderr logging. The daemon (`service`) writes journald-style lines ("<4>name: text")
    under a supervisor, see `console.service.journal`; other commands keep the readable
    format with timestamps."""
    from console.service.journal import HUMAN_FORMAT, log_formatter

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(log_formatter(sys.stderr) if service
                         else logging.Formatter(HUMAN_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])


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
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    _configure_logging(level, service=args.command == "run")
    if args.command is None:
        # No command: the operator console (the window), or its self-test.
        from console.bootstrap_gui import main_gui

        try:
            return int(main_gui(self_test=args.self_test, profile=args.gui_profile))
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
