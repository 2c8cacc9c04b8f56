"""The emergency stop of every open account at once, and its report.

Order of work, and why (the one-account stop is `console.engine.emergency`):
1. Halt every account in memory, one after the other with no await in between: from that
   instant no account's order manager lets a new order through, whichever account's
   cancel is answered first. Nothing is sent for this, so it cannot wait on a venue.
2. Record the halt in each account's audit log (the halt outlives a restart from there),
   while the cancels go out: writing to a ledger must not delay a cancel.
3. Each account that may trade runs its own emergency stop (bulk cancel, optionally
   flatten, stop strategies, reconcile, read back), all in parallel: a slow venue delays
   its own report only. A read-only account is halted (and its strategies stopped) but
   nothing is sent to its venue; its part of the report says so.
4. One report per account, and the total: what is still open anywhere, and when the last
   account's cancel was acknowledged, counted from the press.

A failure in one account is reported in its part; the other accounts' stops go on.

A remote account (an engine elsewhere trades it: `console.ui.remote`) has no circuit
breaker in this process: its part is an emergency_stop command (a halt command for "halt
every account") through the shared ledger, submitted in parallel with the local stops,
and its part of the report is the lease holder's recorded outcome (docs/architecture.md,
"The console as a fleet view").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from console.domain.commands import CommandKind
from console.domain.reconciliation import AuditEntry, evidence
from console.engine.emergency import HALT_ACTION, EmergencyReport
from console.engine.session import EngineSession
from console.ui.format import plural
from console.ui.ports import Identity
from console.ui.remote import CommandOutcome, RemoteOps

log = logging.getLogger(__name__)

GLOBAL_SCOPE = "every open account"
STRATEGY_STOP_S = 5.0


@dataclass(frozen=True, slots=True)
class StopTarget:
    """One account the global stop acts on."""

    label: str
    identity: Identity
    session: EngineSession | None
    """None: a remote account (`remote`)."""
    read_only: bool
    remote: RemoteOps | None = None


@dataclass(frozen=True, slots=True)
class AccountStop:
    """One account's part of a global stop."""

    label: str
    identity: Identity
    read_only: bool
    newly_halted: bool
    """False when trading was already halted on this account before the press."""
    report: EmergencyReport | None
    """The account's own emergency stop report (None: read-only, or the stop failed)."""
    cancel_acknowledged_ms: float | None = None
    """From the press to this account's last bulk-cancel acknowledgement."""
    error: str = ""
    strategies_stopped: tuple[str, ...] = ()
    """Read-only accounts: the strategies the halt stopped (the stop reports its own)."""
    command: CommandOutcome | None = None
    """A remote account: its lease holder's outcome of the emergency_stop command."""

    @property
    def halt_only(self) -> bool:
        return self.read_only

    @property
    def open_orders(self) -> int | None:
        """Orders the venue still lists (None: unknown, or not asked: read-only)."""
        if self.report is None or self.report.open_orders is None:
            return None
        return len(self.report.open_orders)

    @property
    def open_positions(self) -> int | None:
        if self.report is None or self.report.open_positions is None:
            return None
        return len(self.report.open_positions)

    @property
    def cancelled(self) -> int:
        r = self.report
        return 0 if r is None else len(r.cancelled) + len(r.cancelled_unknown) + len(
            r.late_cancelled)

    @property
    def flattened(self) -> int:
        return 0 if self.report is None else sum(
            1 for f in self.report.flattened if f.order is not None)

    @property
    def summary(self) -> str:
        """One line: what this account's part did and what it left."""
        name = f"{self.identity.badge.value} {self.label}"
        if self.command is not None:  # the holder's outcome, as recorded, never more
            return f"{name} (remote): {self.command.text}"
        if self.error:
            return f"{name}: halted; the stop failed: {self.error}"
        if self.read_only:
            return (f"{name}: halted only (read-only profile: nothing was sent to the venue; "
                    "its orders and positions were not touched)")
        orders = ("unknown orders" if self.open_orders is None
                  else plural(self.open_orders, "order"))
        positions = ("unknown positions" if self.open_positions is None
                     else plural(self.open_positions, "position"))
        flat = f", {self.flattened} flattened" if self.report and self.report.flatten else ""
        return (f"{name}: {self.cancelled} cancelled{flat}; still open: {orders}, "
                f"{positions}")


@dataclass(frozen=True, slots=True)
class GlobalReport:
    """A stop of every open account: one part per account, and the totals."""

    operator: str
    started_at: int
    finished_at: int
    flatten: bool
    accounts: tuple[AccountStop, ...]
    halted_ms: float
    """From the press until every account was halted in memory."""
    total_ms: float

    @property
    def cancelled(self) -> int:
        return sum(a.cancelled for a in self.accounts)

    @property
    def flattened(self) -> int:
        return sum(a.flattened for a in self.accounts)

    def _total(self, values: Sequence[int | None]) -> int | None:
        return None if any(v is None for v in values) else sum(v for v in values if v)

    @property
    def open_orders(self) -> int | None:
        """Orders still open on the accounts that were stopped (None: one is unknown)."""
        return self._total([a.open_orders for a in self.accounts if not a.read_only])

    @property
    def open_positions(self) -> int | None:
        return self._total([a.open_positions for a in self.accounts if not a.read_only])

    @property
    def halt_only(self) -> tuple[AccountStop, ...]:
        return tuple(a for a in self.accounts if a.read_only)

    @property
    def errors(self) -> tuple[str, ...]:
        out = [f"{a.label}: {a.error}" for a in self.accounts if a.error]
        out += [f"{a.label}: {e}" for a in self.accounts if a.report for e in a.report.errors]
        return tuple(out)

    @property
    def last_cancel_acknowledged_ms(self) -> float | None:
        """From the press to the last account's last cancel acknowledgement (None when
        no account's cancel was acknowledged)."""
        acked = [a.cancel_acknowledged_ms for a in self.accounts
                 if a.cancel_acknowledged_ms is not None]
        return max(acked) if acked else None

    @property
    def nothing_open(self) -> bool:
        """Every stopped account verified empty (orders and positions) with no error, and
        no account left halt-only: the only case the report may show in green."""
        return (not self.halt_only and not self.errors
                and all(a.report is not None and a.report.nothing_open for a in self.accounts))

    @property
    def headline(self) -> str:
        """What is still open across the accounts, and what could not be verified."""
        parts: list[str] = []
        unknown = [a.label for a in self.accounts if not a.read_only and a.report is not None
                   and not a.report.verified]
        failed = [a.label for a in self.accounts if a.error]
        orders, positions = self.open_orders, self.open_positions
        still = []
        if orders:
            still.append(f"{orders} order{'s' if orders != 1 else ''}")
        if positions:
            still.append(f"{positions} position{'s' if positions != 1 else ''}")
        if still:
            where = [a.label for a in self.accounts if (a.open_orders or a.open_positions)]
            parts.append("Still open: " + ", ".join(still) + f" (on {', '.join(where)})")
        elif not unknown and not failed:
            stopped = [a for a in self.accounts if not a.read_only]
            parts.append("Nothing is left open on the stopped accounts" if stopped
                         else "No account could be stopped")
        if unknown:
            parts.append("could not verify " + ", ".join(unknown))
        if failed:
            parts.append("the stop failed on " + ", ".join(failed))
        if self.halt_only:
            parts.append("halted only (read-only): "
                         + ", ".join(a.label for a in self.halt_only))
        text = "; ".join(parts)
        return text[0].upper() + text[1:] if text else text


def halt_entry(target: StopTarget, *, actor: str, reason: str, at: int, flatten: bool | None,
               newly: bool, accounts: int) -> AuditEntry:
    """The audit line of one account's halt by a stop of every account (the action a
    restart rebuilds the halt from)."""
    venue, account = target.identity.venue, target.identity.account
    return AuditEntry(at=at, actor=actor, action=HALT_ACTION, subject=f"{venue}/{account}",
                      venue=venue, account=account, details=evidence(
                          reason=reason, scope=GLOBAL_SCOPE, accounts=accounts,
                          flatten=flatten, already_halted=not newly,
                          cancel="not asked (read-only)" if target.read_only
                          else ("not asked" if flatten is None else "all orders")))


def halt_everything(targets: Sequence[StopTarget], *, actor: str, reason: str,
                    at: int) -> dict[str, bool]:
    """Open every local account's circuit breaker, in memory, now. No await: nothing can
    run between the first account's halt and the last's. label -> newly halted (remote
    accounts are halted by command: `halt_remote`)."""
    return {t.label: t.session.risk.halt(reason, by=actor, at=at) for t in targets
            if t.session is not None}


async def halt_remote(targets: Sequence[StopTarget], *, operator: str,
                      reason: str) -> dict[str, CommandOutcome]:
    """A halt command to each remote account's lease holder, in parallel; label -> the
    holder's outcome."""
    remote = [(t.label, t.remote) for t in targets if t.remote is not None]
    outcomes = await asyncio.gather(*(ops.run(CommandKind.HALT, operator, {"reason": reason})
                                      for _label, ops in remote))
    return {label: outcome for (label, _ops), outcome in zip(remote, outcomes, strict=True)}


async def stop_strategies(session: EngineSession | None) -> tuple[str, ...]:
    """Stop the account's strategies (bounded: a hung strategy is left, and logged). A
    remote account (None) has none here."""
    if session is None:
        return ()
    stopped = []
    for strategy in session.strategies:
        try:
            await asyncio.wait_for(strategy.stop(), STRATEGY_STOP_S)
            stopped.append(strategy.name)
        except TimeoutError:
            log.warning("strategy %s did not stop within %g s", strategy.name, STRATEGY_STOP_S)
    return tuple(stopped)


async def record(targets: Sequence[StopTarget],
                 entries: dict[str, AuditEntry]) -> dict[str, str]:
    """Write each account's audit entry to its ledger (off the loop); label -> why it
    could not be written, for the failures."""
    async def one(target: StopTarget) -> str:
        if target.session is None:
            return ""  # a remote account's engine audits its own halt
        try:
            await asyncio.to_thread(target.session.ledger.append_audit, entries[target.label])
        except Exception as exc:  # a ledger that fails is reported; the stop goes on
            log.exception("global stop: the halt of %s was not recorded", target.label)
            return f"the halt was not recorded in the audit log ({exc})"
        return ""

    answers = await asyncio.gather(*(one(t) for t in targets))
    return {t.label: why for t, why in zip(targets, answers, strict=True) if why}


async def stop_all(targets: Sequence[StopTarget], *, flatten: bool, operator: str,
                   reason: str = "", clock_ms: Callable[[], int]) -> GlobalReport:
    """Halt every account, then stop each in parallel; see the module docstring."""
    t0 = time.perf_counter()
    started = clock_ms()
    actor = f"emergency:{operator or 'unknown'}"
    why = reason or f"emergency stop of every account by {operator or 'unknown'}"
    newly = halt_everything(targets, actor=actor, reason=why, at=started)
    halted_ms = (time.perf_counter() - t0) * 1000
    entries = {t.label: halt_entry(t, actor=actor, reason=why, at=started, flatten=flatten,
                                   newly=newly[t.label], accounts=len(targets))
               for t in targets if t.session is not None}
    audit = asyncio.ensure_future(record([t for t in targets if t.session is not None],
                                         entries))

    async def one(target: StopTarget) -> AccountStop:
        if target.remote is not None:
            return await _remote_stop(target, target.remote, flatten=flatten,
                                      operator=operator, reason=why)
        assert target.session is not None  # a target is local or remote
        if target.read_only:
            stopped = await stop_strategies(target.session)
            return AccountStop(target.label, target.identity, True, newly[target.label], None,
                               strategies_stopped=stopped)
        begun = time.perf_counter()
        try:
            report = await target.session.emergency_stop(
                flatten=flatten, operator=operator, reason=why)
        except Exception as exc:  # one account's failure must not stop the others' stops
            log.exception("global stop: %s failed", target.label)
            return AccountStop(target.label, target.identity, False, newly[target.label], None,
                               error=f"{type(exc).__name__}: {exc}")
        ack = report.cancel_acknowledged_ms
        from_press = None if ack is None else (begun - t0) * 1000 + ack
        return AccountStop(target.label, target.identity, False, newly[target.label], report,
                           cancel_acknowledged_ms=from_press)

    parts = await asyncio.gather(*(one(t) for t in targets))
    not_recorded = await audit
    parts = [_with_error(p, not_recorded.get(p.label, "")) for p in parts]
    return GlobalReport(operator=operator, started_at=started, finished_at=clock_ms(),
                        flatten=flatten, accounts=tuple(parts), halted_ms=halted_ms,
                        total_ms=(time.perf_counter() - t0) * 1000)


async def _remote_stop(target: StopTarget, remote: RemoteOps, *, flatten: bool, operator: str,
                       reason: str) -> AccountStop:
    """One remote account's part: the emergency_stop command and its holder's outcome."""
    try:
        outcome = await remote.run(CommandKind.EMERGENCY_STOP, operator,
                                   {"flatten": "yes" if flatten else "no", "reason": reason})
    except Exception as exc:  # one account's failure must not stop the others' stops
        log.exception("global stop: %s (remote) failed", target.label)
        return AccountStop(target.label, target.identity, False, False, None,
                           error=f"{type(exc).__name__}: {exc}")
    return AccountStop(target.label, target.identity, False, outcome.done, None,
                       error="" if outcome.done else outcome.text, command=outcome)


def _with_error(part: AccountStop, error: str) -> AccountStop:
    if not error:
        return part
    joined = f"{part.error}; {error}" if part.error else error
    return AccountStop(part.label, part.identity, part.read_only, part.newly_halted,
                       part.report, part.cancel_acknowledged_ms, joined,
                       part.strategies_stopped, part.command)
