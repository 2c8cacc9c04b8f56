"""`recon-console reconcile --plan-only` and `recon-console rehearse`: the commands and
their text (the parser entries live in `console.__main__`, which calls these).

Both build the session as `reconcile --once` does (a profile, or the embedded sim in a
scenario), never start it, compute the report (`console.engine.preview`,
`console.engine.rehearsal`) and close it again: no run, action or audit entry is
recorded. A sim ledger that is new is seeded with the scenario's starting state first,
as for every sim command (that is the sim's setup, not the plan's doing).

Exit codes as for `reconcile --once`: 0 when the run would be recorded OK, 2 when it
would be partial or failed (something could not be verified), 1 on an error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TypeVar

from console.cli_text import HALT_HOLDS, comparison_text
from console.domain.reconciliation import ActionKind, RunStatus
from console.domain.text import duration_ms
from console.engine.preview import PlanDecision, PreviewAction, ReconcilePreview
from console.engine.rehearsal import RestartRehearsal, parse_worker
from console.engine.session import EngineSession
from console.errors import UserFacingError

_T = TypeVar("_T")


def _on_session(args: argparse.Namespace,
                use: Callable[[EngineSession], Awaitable[_T]]) -> tuple[str, _T]:
    """Build the session `args` name (profile or sim), run `use` on a fresh loop, close
    it without starting it. Returns a description of what was used and the result."""
    from console.bootstrap import build_profile_session, build_sim_session

    if args.profile:
        session = build_profile_session(args.profile, config_path=args.config, db_url=args.db)

        async def on_profile() -> _T:
            try:
                return await use(session.engine)
            finally:
                await session.aclose()

        where = (f"profile {args.profile} ({session.profile.venue} "
                 f"{session.profile.network.value})")
        return where, asyncio.run(on_profile())
    if args.venue != "sim":
        raise UserFacingError(f"--venue {args.venue} needs a profile: pass --profile NAME "
                              "(see `recon-console profiles`)")
    sim = build_sim_session(args.db, args.scenario)

    async def on_sim() -> _T:
        try:
            return await use(sim.engine)
        finally:
            await sim.aclose()

    seeded = " (new ledger seeded with the scenario's starting state)" \
        if sim.seeded_ledger else ""
    return f"{sim.engine.venue.venue}/{sim.engine.venue.account}, scenario " \
           f"{sim.scenario}{seeded}", asyncio.run(on_sim())


def _exit(status: RunStatus) -> int:
    return 0 if status is RunStatus.OK else 2


# -- reconcile --plan-only ------------------------------------------------------------------


def plan_only(args: argparse.Namespace) -> tuple[str, int]:
    """`reconcile --plan-only`: the text to print and the exit code."""
    from console.engine.preview import preview_reconcile

    where, preview = _on_session(args, lambda engine: preview_reconcile(engine.reconciler))
    if args.json:
        return json.dumps({**preview.to_dict(), "source": where}), _exit(preview.status)
    lines = [f"Plan only, nothing applied or recorded: {where}", *preview_lines(preview)]
    return "\n".join(lines), _exit(preview.status)


def _decision_text(action: PreviewAction) -> str:
    if action.decision is PlanDecision.BLOCKED:
        return "BLOCKED"
    return action.decision.label


def _would_text(action: PreviewAction) -> str:
    """The decision column of a plan nothing was applied from: an automatic action
    "would apply" (it was not applied), the others as `_decision_text`."""
    return "would apply" if action.decision is PlanDecision.AUTO else _decision_text(action)


def preview_lines(p: ReconcilePreview, *, indent: str = "  ") -> list[str]:
    out: list[str] = []
    calls = ", ".join(f"{k} {n}" for k, n in p.venue_calls) or "none"
    out.append(f"{indent}a run would be recorded {p.status.value}  "
               f"({duration_ms(p.duration_ms)}, venue calls: {p.venue_calls_total} ({calls}))")
    if p.holdings:
        out.append(f"{indent}Held now:")
        for h in p.holdings:
            venue = "not read" if h.venue is None else str(h.venue)
            out.append(f"{indent}  {h.name:<12} venue {venue:>8}   ledger {h.ledger:>8}")
    out.append(indent + comparison_text(p.status, len(p.discrepancies), len(p.unverified)))
    for d in p.discrepancies:
        out.append(f"{indent}  - [{d.kind.value}] {d.summary}")
    if p.actions:
        out.append(f"{indent}Planned actions, none applied ({len(p.auto)} would apply "
                   f"automatically, {len(p.needs_approval)} would need approval, "
                   f"{len(p.blocked)} blocked):")
        for a in p.actions:
            why = f"  ({a.why_blocked})" if a.why_blocked else ""
            halt = HALT_HOLDS if a.kind is ActionKind.RESUME_TRADING and p.halted else ""
            out.append(f"{indent}  {a.index:>3}. {a.kind.value:<22} {_would_text(a):<15} "
                       f"{a.summary}{halt}{why}")
    else:
        out.append(f"{indent}Nothing to do.")
    for text in p.unverified:
        out.append(f"{indent}Not verified: {text}")
    for text in p.errors:
        out.append(f"{indent}Error: {text}")
    before = p.mode_before.value.upper()
    after = p.mode_after.value.upper() + (f" ({p.pause_reason})" if p.pause_reason else "")
    mode = after if before == p.mode_after.value.upper() else f"{before} -> {after}"
    halted = "; HALTED by an emergency stop (no new orders until resume)" if p.halted else ""
    out.append(f"{indent}Trading: {mode}{halted}")
    stages: dict[str, float] = {}
    for name, ms in p.timings:
        stages[name] = stages.get(name, 0.0) + ms
    out.append(f"{indent}Timings: " + ", ".join(f"{k} {duration_ms(v)}"
                                                for k, v in stages.items()))
    return out


# -- rehearse ---------------------------------------------------------------------------------


def rehearse(args: argparse.Namespace) -> tuple[str, int]:
    """`rehearse`: the text to print and the exit code."""
    from console.engine.rehearsal import rehearse_restart

    workers = [parse_worker(w) for w in args.worker] if args.worker else None
    where, report = _on_session(args, lambda engine: rehearse_restart(engine, workers=workers))
    if args.json:
        return json.dumps({**report.to_dict(), "source": where}), _exit(report.plan.status)
    lines = [f"Restart rehearsal, nothing applied or recorded: what a cold start of {where} "
             "would do now", *rehearsal_lines(report)]
    return "\n".join(lines), _exit(report.plan.status)


def _lines(out: list[str], title: str, actions: tuple[PreviewAction, ...]) -> None:
    if not actions:
        return
    out.append(f"  {title} ({len(actions)}):")
    for a in actions:
        why = f" ({a.why_blocked})" if a.why_blocked else ""
        out.append(f"    - [{_decision_text(a)}] {a.summary or a.subject}{why}")


def rehearsal_lines(r: RestartRehearsal) -> list[str]:
    out: list[str] = []
    workers = ", ".join(r.workers) or "none"
    out.append(f"  Workers restarting: {workers} ({r.workers_from})")
    out.append("  Emergency halt: " + (f"HALTED ({r.halt_reason}): a cold start stays halted "
                                       "until an operator resumes" if r.halted else "none"))
    _lines(out, "Would cancel", r.cancels)
    _lines(out, "Would restore brackets", r.restores)
    _lines(out, "Would adopt orders", r.adoptions)
    _lines(out, "Would place protection", r.protections)
    _lines(out, "Would clear brackets", r.clears)
    _lines(out, "Would flatten", r.flattens)
    if not (r.cancels or r.restores or r.adoptions or r.protections or r.clears
            or r.flattens):
        out.append("  Would cancel, restore, adopt or place nothing.")
    for b in r.brackets:
        symbol = f" {b.symbol}" if b.symbol else ""
        notes = f": {'; '.join(b.notes)}" if b.notes else ""
        out.append(f"  Bracket {b.worker}{symbol}: {b.outcome.value}{notes}")
    if r.in_flight_now:
        out.append(f"  Orders in flight in this process now: {', '.join(r.in_flight_now)}")
    out.append("  The startup reconciliation:")
    out.extend(preview_lines(r.plan, indent="    "))
    return out

