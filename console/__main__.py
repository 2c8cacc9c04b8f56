"""Command line: `recon-console <command>`.

Exit codes: 0 the command did its work (a reconciliation ran and was recorded, whatever it
found); 2 the run was partial or failed (some checks could not be verified); 1 an error the
operator must fix (bad arguments, unreachable database, unknown scenario).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from console import __version__
from console.domain.reconciliation import ActionState, Decision, RunRecord, RunStatus, RunTrigger
from console.errors import UserFacingError

log = logging.getLogger("console")


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

def cmd_reconcile(args: argparse.Namespace) -> int:
    from console.bootstrap import build_sim_session

    if not args.once:
        raise UserFacingError("reconcile runs one reconciliation and exits: pass --once "
                              "(the continuous loop is `recon-console run --headless`)")
    if args.venue != "sim":
        raise UserFacingError(f"venue {args.venue!r} is not available yet; use --venue sim")
    session = build_sim_session(args.db, args.scenario)
    try:
        outcome = asyncio.run(session.service.run_once(RunTrigger.STARTUP))
    finally:
        session.close()
    run = outcome.run
    if args.json:
        print(json.dumps(run_to_json(run, duration_ms=outcome.duration_ms, extra={
            "scenario": session.scenario, "ledger_seeded": session.seeded_ledger}), indent=None))
    else:
        seeded = " (new ledger seeded with the scenario's starting state)" \
            if session.seeded_ledger else ""
        print_run(run, outcome.duration_ms,
                  f"Startup reconciliation on {run.venue}/{run.account}, "
                  f"scenario {session.scenario}{seeded}")
    return 0 if run.status is RunStatus.OK else 2


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


def cmd_scenarios(_args: argparse.Namespace) -> int:
    from console.sim.scenarios import SCENARIOS, describe_scenario

    for name in sorted(SCENARIOS):
        print(f"{name:<28} {describe_scenario(name)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="recon-console",
        description="Keeps a trading bot's book of record in line with the exchange.")
    parser.add_argument("--version", action="version", version=f"recon-console {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v info, -vv debug) to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    db_help = "ledger database URL (default: SQLite in the user data directory)"
    rec = sub.add_parser("reconcile", help="run a reconciliation and print what it found",
                         description="Run a startup reconciliation of the ledger against a "
                                     "venue and print the discrepancies and actions.")
    rec.add_argument("--once", action="store_true", help="run once and exit")
    rec.add_argument("--venue", default="sim", help="venue to reconcile (sim)")
    rec.add_argument("--scenario", default="clean",
                     help="simulated exchange scenario (see `recon-console scenarios`)")
    rec.add_argument("--db", metavar="URL", help=db_help)
    rec.add_argument("--json", action="store_true", help="print one JSON object")
    rec.set_defaults(func=cmd_reconcile)

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args))
    except UserFacingError as exc:
        print(f"recon-console: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
