"""The emergency stop (docs/architecture.md, "Orders"): halt, cancel everything,
optionally flatten, stop the strategies, reconcile, report what is left.

Order of work, and why:
1. Halt first, in memory, before any request: from that instant the order manager refuses
   every new order except this stop's own flattening orders. The halt outlives the stop
   and a restart (it is rebuilt from the audit log) until an operator resumes.
2. Cancel with the venue's bulk cancel, one request per category (per settle coin or
   order filter where the venue needs it), in the adapter's priority lane when it has one:
   no proactive wait for a spent rate budget, no queueing behind ordinary requests, and
   no reading hundreds of cancelled orders back before returning. The acknowledged ids
   are then recorded CANCELLED (the venue's word for each id). Orders that were already
   on their way when the halt came are waited for (bounded) and cancelled one by one.
3. Flatten (optional): one reduce-only IOC market order per open position. What the
   flatten did is then read back from the venue and written into the ledger as the stream
   would have written it (the orders' fills, the flattened positions as they are now, the
   balances our own trades moved): the CLI's stop runs with no stream, and the verifying
   reconciliation must not report our own flatten as a discrepancy (and pause on it).
4. Stop the strategies (bounded; a hung strategy is reported, not waited for).
5. Reconcile, then read the open orders and positions from the venue for the report.

Nothing here depends on the private stream. A step that fails is reported and the next
one still runs. Every step lands in the audit log under the actor "emergency:<who>".
Calling it again is safe: the halt stays, the bulk cancel finds nothing new, the report
says what is open.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from console.domain import (
    Category,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
)
from console.domain.reconciliation import AuditEntry, RunRecord, Severity, TradingMode, evidence
from console.domain.text import iso_utc
from console.engine.order_manager import OrderManager
from console.engine.ports import LedgerPort, VenuePort
from console.engine.readback import ReadBack, record_outcome
from console.engine.reconcile_service import RunOutcome
from console.engine.risk import RiskState
from console.engine.strategy import StrategyRegistry, StrategyStop
from console.errors import UserFacingError, VenueError

log = logging.getLogger(__name__)

HALT_ACTION: Final = "emergency_stop:halt"
RESUME_HALT_ACTION: Final = "resume_halted"
"""An operator closed the circuit breaker (actor "operator:<who>")."""
RESUME_PAUSE_ACTION: Final = "resume_trading"
"""A desync pause was lifted: by the reconciler (actor "auto") or an operator."""


@dataclass(frozen=True, slots=True)
class Flattened:
    position: Position
    """The position as the venue reported it before flattening."""
    order: Order | None
    """The reduce-only market order sent for it (None when it could not be sent)."""
    error: str = ""


@dataclass(frozen=True, slots=True)
class EmergencyReport:
    operator: str
    started_at: int
    finished_at: int
    flatten: bool
    already_halted: bool
    """True when the circuit breaker was already open (a second call)."""
    cancelled: tuple[Order, ...] = ()
    """Ledger orders the venue acknowledged cancelled, as recorded."""
    cancelled_unknown: tuple[tuple[str, str], ...] = ()
    """Acknowledged (venue id, client id) pairs the ledger did not hold as active."""
    late_cancelled: tuple[Order, ...] = ()
    """Orders already on their way at the halt that landed after the bulk cancel."""
    flattened: tuple[Flattened, ...] = ()
    strategies: tuple[StrategyStop, ...] = ()
    reconcile_run: str = ""
    reconcile_status: str = ""
    reconcile_discrepancies: int = 0
    open_orders: tuple[Order, ...] | None = None
    """What the venue still lists open after the reconciliation (None: not readable)."""
    open_positions: tuple[Position, ...] | None = None
    errors: tuple[str, ...] = ()
    timings_ms: tuple[tuple[str, float], ...] = ()
    venue_requests: tuple[tuple[str, int], ...] = ()
    """Requests this stop made, by adapter method (retries included)."""

    @property
    def cancel_acknowledged_ms(self) -> float | None:
        """From the call to the last bulk-cancel acknowledgement."""
        return dict(self.timings_ms).get("cancel_acknowledged")

    @property
    def requests_total(self) -> int:
        return sum(n for _, n in self.venue_requests)

    @property
    def cancel_requests(self) -> int:
        return dict(self.venue_requests).get("cancel_all", 0)

    @property
    def clean(self) -> bool:
        """The stop did what it was asked: no order left open, no position either if
        flattening was asked, no error. It decides the CLI's exit code; it does not say
        that nothing is open (a stop without flatten leaves the positions): what the
        operator reads first is `headline`, and `nothing_open` is the all-clear."""
        return (self.open_orders == () and not self.errors
                and (not self.flatten or self.open_positions == ()))

    @property
    def verified(self) -> bool:
        """Both the open orders and the positions were read back after the stop."""
        return self.open_orders is not None and self.open_positions is not None

    @property
    def nothing_open(self) -> bool:
        """The all-clear: no order and no position on the venue, both read back, no
        error. Only this may be shown in the reassuring colour."""
        return self.verified and not self.open_orders and not self.open_positions \
            and not self.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (decimals as text) for the CLI and the UI."""
        def order(o: Order) -> dict[str, Any]:
            return {"symbol": o.symbol, "side": o.side.value, "qty": str(o.qty),
                    "price": None if o.price is None else str(o.price),
                    "status": o.status.value, "filled_qty": str(o.filled_qty),
                    "client_order_id": o.client_order_id, "venue_order_id": o.venue_order_id}

        def position(p: Position) -> dict[str, Any]:
            return {"symbol": p.symbol, "category": p.category.value, "size": str(p.size),
                    "entry_price": str(p.entry_price)}

        return {
            "operator": self.operator, "started_at": self.started_at,
            "finished_at": self.finished_at, "flatten": self.flatten,
            "already_halted": self.already_halted, "clean": self.clean,
            "nothing_open": self.nothing_open, "headline": headline(self).text,
            "cancelled": len(self.cancelled) + len(self.cancelled_unknown),
            "cancelled_orders": [order(o) for o in self.cancelled],
            "cancelled_unknown": [list(pair) for pair in self.cancelled_unknown],
            "late_cancelled": [order(o) for o in self.late_cancelled],
            "flattened": [{"position": position(f.position),
                           "order": None if f.order is None else order(f.order),
                           "error": f.error} for f in self.flattened],
            "strategies": [{"name": s.name, "error": s.error} for s in self.strategies],
            "reconciliation": {"run_id": self.reconcile_run, "status": self.reconcile_status,
                               "discrepancies": self.reconcile_discrepancies},
            "open_orders": None if self.open_orders is None
            else [order(o) for o in self.open_orders],
            "open_positions": None if self.open_positions is None
            else [position(p) for p in self.open_positions],
            "errors": list(self.errors),
            "timings_ms": {k: round(v, 1) for k, v in self.timings_ms},
            "venue_requests": dict(self.venue_requests),
            "venue_requests_total": self.requests_total,
        }


MAX_NAMED_POSITIONS: Final = 3
"""Positions named one by one in the headline; more are counted."""


@dataclass(frozen=True, slots=True)
class Headline:
    """The first line of an emergency report, for the window and the CLI alike.

    A report once said "Nothing is left open." in green above a position it listed as
    still open; so the headline is built in one place, from the report's own lists, and
    names what is open (orders, positions) and what could not be read back. `all_clear`
    (green) only when nothing is open, both lists were verified and no step failed;
    `severity` tells the rest apart: CRITICAL when an order is open, a list could not be
    read or a position survived a flatten; WARNING for positions the operator chose not
    to flatten, or a step that failed with nothing left open."""

    text: str
    all_clear: bool
    severity: Severity


def position_text(position: Position) -> str:
    """"BTCUSDT long 0.01": the symbol, the direction and the absolute size."""
    side = position.side
    direction = "flat" if side is None else ("long" if side is Side.BUY else "short")
    size = abs(position.size)
    return f"{position.symbol} {direction} {format(size.normalize(), 'f') if size else '0'}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def headline(report: EmergencyReport) -> Headline:
    """What is still open and what could not be verified, in one sentence (see
    `Headline`), e.g. "Still open: 2 orders, 1 position (BTCUSDT long 0.01); could not
    verify positions"."""
    orders, positions = report.open_orders, report.open_positions
    unverified = [name for name, listed in (("orders", orders), ("positions", positions))
                  if listed is None]
    still: list[str] = []
    if orders:
        still.append(_count(len(orders), "order"))
    if positions:
        named = [position_text(p) for p in positions[:MAX_NAMED_POSITIONS]]
        more = len(positions) - len(named)
        still.append(_count(len(positions), "position") + " (" + ", ".join(named)
                     + (f", {more} more" if more else "") + ")")
    parts: list[str] = []
    if still:
        parts.append("Still open: " + ", ".join(still))
    elif not unverified:
        parts.append("Nothing is left open: no order, no position")
    else:
        verified_empty = [f"no {name[:-1]}" for name, listed in (("orders", orders),
                                                                 ("positions", positions))
                          if listed == ()]
        if verified_empty:
            parts.append(" and ".join(verified_empty).capitalize() + " left open")
    if unverified:
        parts.append("could not verify " + " or ".join(unverified))
    if report.errors:
        parts.append(_count(len(report.errors), "step") + " failed (see the errors)")
    text = "; ".join(parts)
    text = text[0].upper() + text[1:]
    if report.nothing_open:
        severity = Severity.INFO
    elif orders or unverified or (positions and report.flatten):
        severity = Severity.CRITICAL
    else:
        severity = Severity.WARNING
    return Headline(text, report.nothing_open, severity)


Reconcile = Callable[[], Awaitable[RunOutcome]]
AUDIT_SCAN: Final = 5000
"""How many recent audit entries a restart reads to rebuild the halt."""
FOLLOW_SCAN: Final = 500
"""How many a reconciliation reads to notice a halt recorded by another process."""


@dataclass(frozen=True, slots=True)
class ResumeOutcome:
    halt_cleared: bool
    """The circuit breaker of an emergency stop was closed."""
    pause_lifted: bool
    """A desync pause was lifted (the next reconciliation decides afresh)."""
    lifted_reason: str = ""

    @property
    def changed(self) -> bool:
        return self.halt_cleared or self.pause_lifted


@dataclass
class _Run:
    """What one emergency stop gathers on its way to the report."""

    actor: str
    t0: float
    errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def mark(self, stage: str) -> None:
        self.timings[stage] = (time.perf_counter() - self.t0) * 1000


def halt_in_force(entries: Sequence[AuditEntry]) -> AuditEntry | None:
    """The halt an account's audit entries (newest first) leave in force: the newest
    halt-or-resume entry when it is a halt. One rule for an engine restoring its state
    (`EmergencyStop.restore`) and a console reading another engine's (console.ui.remote)."""
    for entry in entries:
        if entry.action == RESUME_HALT_ACTION:
            return None
        if entry.action == HALT_ACTION:
            return entry
    return None


def halt_reason(entry: AuditEntry) -> str:
    return dict(entry.details).get("reason", "") or "emergency stop"


def pause_lifted(entries: Sequence[AuditEntry], last_run: RunRecord) -> bool:
    """An operator lifted the desync pause of `last_run` (a resume after it finished)."""
    return any(e.action == RESUME_PAUSE_ACTION and e.actor.startswith("operator:")
               and e.at >= last_run.finished_at for e in entries)


class EmergencyStop:
    """One (venue, account). `reconcile` runs one reconciliation (the session's)."""

    def __init__(self, venue: VenuePort, ledger: LedgerPort, orders: OrderManager,
                 risk: RiskState, *, reconcile: Reconcile, strategies: StrategyRegistry,
                 clock_ms: Callable[[], int], strategy_timeout_s: float = 5.0,
                 inflight_timeout_s: float = 2.0, reconcile_timeout_s: float = 30.0) -> None:
        self.venue = venue
        self.ledger = ledger
        self.orders = orders
        self.risk = risk
        self.reconcile = reconcile
        self.strategies = strategies
        self.clock_ms = clock_ms
        self.strategy_timeout_s = strategy_timeout_s
        self.inflight_timeout_s = inflight_timeout_s
        self.reconcile_timeout_s = reconcile_timeout_s
        self._lock = asyncio.Lock()

    @property
    def lock(self) -> asyncio.Lock:
        """Held for the whole stop: an operator resume waits for a stop in progress."""
        return self._lock

    @contextlib.contextmanager
    def _lane(self) -> Iterator[None]:
        with self.venue.priority():
            yield

    def _calls(self) -> Counter[str]:
        return Counter(self.venue.priority_calls)

    async def run(self, *, operator: str, flatten: bool = False,
                  reason: str = "") -> EmergencyReport:
        """Halt, cancel all, (flatten), stop strategies, reconcile, report."""
        t0 = time.perf_counter()
        started = self.clock_ms()
        actor = f"emergency:{operator or 'unknown'}"
        why = reason or f"emergency stop by {operator or 'unknown'}"
        # the halt comes before waiting for anything, a concurrent stop included
        newly = self.risk.halt(why, by=actor, at=started)
        async with self._lock:
            # again: an operator resume queued before this stop may just have cleared it
            newly = self.risk.halt(why, by=actor, at=self.clock_ms()) or newly
            with self._lane():
                return await self._run(_Run(actor, t0), started, operator, flatten,
                                       already_halted=not newly)

    async def _run(self, run: _Run, started: int, operator: str, flatten: bool, *,
                   already_halted: bool) -> EmergencyReport:
        calls_before = self._calls()
        run.mark("halted")
        audit_halt = asyncio.create_task(self._audit(
            run, HALT_ACTION, evidence(reason=self.risk.halt_reason, flatten=flatten,
                                       already_halted=already_halted)))

        cancelled, unknown = await self._cancel_everything(run)
        await audit_halt
        late = await self._cancel_late(run)
        flattened = await self._flatten(run) if flatten else []
        await self._record_flatten(run, flattened)
        stops = await self._stop_strategies(run)
        outcome = await self._reconcile(run)
        open_orders, open_positions = await self._what_is_left(run)
        if open_orders:
            # something is still (or again) live: a failed bulk cancel, an order from
            # another process on the account. One more sweep, then read again.
            log.warning("emergency stop: %d orders still open; sweeping once more",
                        len(open_orders))
            swept, swept_unknown = await self._cancel_everything(run, stage="swept")
            cancelled.extend(swept)
            unknown.extend(swept_unknown)
            open_orders, open_positions = await self._what_is_left(run)
        run.mark("total")

        requests = self._calls() - calls_before
        report = EmergencyReport(
            operator=operator, started_at=started, finished_at=self.clock_ms(),
            flatten=flatten, already_halted=already_halted, cancelled=tuple(cancelled),
            cancelled_unknown=tuple(unknown), late_cancelled=tuple(late),
            flattened=tuple(flattened), strategies=tuple(stops),
            reconcile_run=outcome.run.run_id if outcome else "",
            reconcile_status=outcome.run.status.value if outcome else "not run",
            reconcile_discrepancies=len(outcome.run.discrepancies) if outcome else 0,
            open_orders=open_orders, open_positions=open_positions,
            errors=tuple(run.errors), timings_ms=tuple(run.timings.items()),
            venue_requests=tuple(sorted(requests.items())))
        await self._audit(run, "emergency_stop:report", evidence(
            clean=report.clean, cancelled=len(cancelled) + len(unknown),
            flattened=len(flattened),
            open_orders=None if open_orders is None else len(open_orders),
            open_positions=None if open_positions is None else len(open_positions),
            errors="; ".join(run.errors) or None, requests=report.requests_total,
            cancel_acknowledged_ms=report.cancel_acknowledged_ms))
        level = logging.INFO if report.nothing_open else logging.WARNING
        log.log(level, "emergency stop by %s: %d cancelled, %d flattened. %s", operator,
                len(cancelled) + len(unknown), len(flattened), headline(report).text)
        return report

    # -- operator resume and restart ----------------------------------------------------------

    async def resume(self, operator: str) -> ResumeOutcome:
        """Close the circuit breaker and lift a desync pause; each is audited under
        "operator:<who>". Waits for an emergency stop in progress to finish first."""
        actor = f"operator:{operator or 'unknown'}"
        async with self._lock:
            halted_by, halt_reason = self.risk.halted_by, self.risk.halt_reason
            halt_cleared = self.risk.clear_halt()
            lifted = self.risk.operator_resume()
            now = self.clock_ms()
            subject = f"{self.venue.venue}/{self.venue.account}"
            entries = []
            if halt_cleared:
                entries.append(AuditEntry(
                    at=now, actor=actor, action=RESUME_HALT_ACTION, subject=subject,
                    venue=self.venue.venue, account=self.venue.account,
                    details=evidence(halted_by=halted_by or None, reason=halt_reason or None)))
            if lifted:
                entries.append(AuditEntry(
                    at=now, actor=actor, action=RESUME_PAUSE_ACTION, subject=subject,
                    venue=self.venue.venue, account=self.venue.account,
                    details=evidence(reason=lifted)))
            for entry in entries:
                await asyncio.to_thread(self.ledger.append_audit, entry)
        if halt_cleared or lifted:
            log.info("%s resumed trading (halt cleared: %s, pause lifted: %s)", actor,
                        halt_cleared, bool(lifted))
        return ResumeOutcome(halt_cleared, bool(lifted), lifted)

    def restore(self) -> None:
        """At start-up: rebuild the halt from the audit log (the last halt not followed by
        an operator resume), and an operator's lift of the last stored run's pause. Reads
        the ledger synchronously: call it before anything may trade."""
        venue, account = self.venue.venue, self.venue.account
        entries = self._mine(self.ledger.audit_log(AUDIT_SCAN))
        self._adopt_halt(entries, "still halted")
        runs = self.ledger.list_runs(venue, account, 1)
        if runs and runs[0].mode is TradingMode.PAUSED and pause_lifted(entries, runs[0]):
            self.risk.arm_lifted(runs[0].pause_reason)

    async def follow_other_processes(self, _outcome: RunOutcome | None = None) -> None:
        """Reconcile-run listener: adopt a halt that another process sharing this ledger
        recorded (a CLI emergency stop beside a running daemon). It never clears a halt:
        only an operator's resume in this process does."""
        if self.risk.halted or self._lock.locked():
            return  # halted already, or a stop or resume of ours is writing its entries
        try:
            entries = self._mine(await asyncio.to_thread(self.ledger.audit_log, FOLLOW_SCAN))
        except Exception:
            log.exception("emergency stop: the audit log could not be read")
            return
        if not self.risk.halted and not self._lock.locked():
            self._adopt_halt(entries, "halted by another process")

    def _mine(self, entries: Sequence[AuditEntry]) -> list[AuditEntry]:
        venue, account = self.venue.venue, self.venue.account
        return [e for e in entries if e.venue == venue and e.account == account]

    def _adopt_halt(self, entries: Sequence[AuditEntry], why: str) -> None:
        """Halt when the newest halt-or-resume entry (entries newest first) is a halt."""
        entry = halt_in_force(entries)
        if entry is None:
            return
        self.risk.halt(halt_reason(entry), by=entry.actor, at=entry.at)
        log.warning("%s/%s: %s: emergency stop of %s at %s; an operator must resume",
                    self.venue.venue, self.venue.account, why, entry.actor, iso_utc(entry.at))

    # -- steps -----------------------------------------------------------------------------

    def _categories(self) -> tuple[Category, ...]:
        return self.venue.categories

    async def _cancel_everything(
        self, run: _Run, *, stage: str = "cancel_acknowledged",
    ) -> tuple[list[Order], list[tuple[str, str]]]:
        venue = self.venue
        categories = self._categories()

        async def bulk(category: Category) -> tuple[list[Order], list[tuple[str, str]]]:
            if venue.capabilities.bulk_cancel_ids:
                acks = await venue.cancel_all_ids(category)
                run.mark(stage)
                return await self.orders.record_bulk_cancel(acks)
            recorded = await self.orders.cancel_all(category)
            run.mark(stage)
            return recorded, []

        results = await asyncio.gather(*(bulk(c) for c in categories), return_exceptions=True)
        cancelled: list[Order] = []
        unknown: list[tuple[str, str]] = []
        for category, result in zip(categories, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                run.errors.append(f"cancel all {category.value}: {_describe(result)}")
                continue
            cancelled.extend(result[0])
            unknown.extend(result[1])
        first = stage == "cancel_acknowledged"
        if first:
            run.mark("cancel_recorded")
        details = evidence(
            categories=",".join(c.value for c in categories),
            cancelled=len(cancelled) + len(unknown), not_in_ledger=len(unknown) or None,
            errors="; ".join(e for e in run.errors if e.startswith("cancel all")) or None)
        await self._audit(run, "emergency_stop:cancel_all" if first else "emergency_stop:sweep",
                          details)
        return cancelled, unknown

    async def _cancel_late(self, run: _Run) -> list[Order]:
        """Orders that left before the halt and landed after the bulk cancel."""
        landed, unsettled = await self.orders.settle_inflight(self.inflight_timeout_s)
        if unsettled:
            run.errors.append(f"{unsettled} orders were still in flight "
                              f"{self.inflight_timeout_s:g} s after the halt")
        out: list[Order] = []
        for order in landed:
            seen, error = await self.orders.cancel(order)
            if error:
                run.errors.append(f"late order {order.ident}: {error}")
            if seen is not None:
                out.append(seen)
        if landed:
            await self._audit(run, "emergency_stop:cancel_late", evidence(
                landed=len(landed), cancelled=sum(
                    1 for o in out if o.status is OrderStatus.CANCELLED)))
        run.mark("late_cancelled")
        return out

    async def _flatten(self, run: _Run) -> list[Flattened]:
        try:
            positions = await self.venue.fetch_positions()
        except (VenueError, OSError, TimeoutError) as exc:
            run.errors.append(f"flatten: positions could not be read: {_describe(exc)}")
            return []
        now = self.clock_ms()

        async def close(position: Position) -> Flattened:
            side = position.side
            if side is None:  # flat: filtered out below
                return Flattened(position, None)
            try:
                client_id = await asyncio.to_thread(self.orders.ids.next, OrderRole.OTHER)
                intent = _flatten_order(position, side.opposite, client_id, now)
                placed = await self.orders.place(intent, emergency=True)
            except (VenueError, UserFacingError) as exc:
                return Flattened(position, None, _describe(exc))
            error = "" if placed.status is not OrderStatus.REJECTED \
                else "the venue did not accept the order"
            return Flattened(position, placed, error)

        flattened = list(await asyncio.gather(*(close(p) for p in positions
                                                if not p.is_flat)))
        for item in flattened:
            if item.error:
                run.errors.append(f"flatten {item.position.symbol}: {item.error}")
        run.mark("flattened")
        await self._audit(run, "emergency_stop:flatten", evidence(
            positions=len(flattened),
            orders=",".join(f.order.client_order_id for f in flattened if f.order) or None,
            errors=sum(1 for f in flattened if f.error) or None))
        return flattened

    async def _record_flatten(self, run: _Run, flattened: Sequence[Flattened]) -> None:
        """Write the flatten's outcome into the ledger before the verifying reconciliation:
        the fills of its orders, the flattened positions as the venue now has them (gone
        when flat) and the balances (its fees and released margin). This is what the
        stream writes when it runs (fills by exec id, so both together are harmless); the
        CLI's stop has none, and without this its own reconciliation found our flatten as
        a missing fill, a position "missing on the venue" and a balance mismatch, and
        paused. A read that fails is logged: the reconciliation then reports what it
        finds, as before."""
        sent = tuple(f.order for f in flattened if f.order is not None
                     and f.order.status is not OrderStatus.REJECTED)
        if not sent:
            return
        keys = frozenset(f.position.key for f in flattened if f.order is not None)
        if await record_outcome(self.venue, self.ledger, ReadBack(sent, keys),
                                clock_ms=self.clock_ms, what="emergency stop: the flatten"):
            run.mark("flatten_recorded")

    async def _stop_strategies(self, run: _Run) -> list[StrategyStop]:
        if not self.strategies.strategies:
            run.mark("strategies_stopped")
            return []
        # outside the priority lane: a strategy's own requests are not the emergency's
        task = asyncio.create_task(self.strategies.stop_all(self.strategy_timeout_s),
                                   context=contextvars.Context())
        stops = await task
        for stop in stops:
            if stop.error:
                run.errors.append(f"strategy {stop.name}: {stop.error}")
        run.mark("strategies_stopped")
        await self._audit(run, "emergency_stop:stop_strategies", evidence(
            stopped=",".join(s.name for s in stops if not s.error) or None,
            failed=",".join(s.name for s in stops if s.error) or None))
        return stops

    async def _reconcile(self, run: _Run) -> RunOutcome | None:
        task = asyncio.ensure_future(self.reconcile())
        try:
            outcome = await asyncio.wait_for(asyncio.shield(task), self.reconcile_timeout_s)
        except TimeoutError:
            run.errors.append(f"reconciliation did not finish within "
                              f"{self.reconcile_timeout_s:g} s (it goes on in the background)")
            return None
        except Exception as exc:
            log.exception("emergency stop: reconciliation failed")
            run.errors.append(f"reconciliation failed: {_describe(exc)}")
            return None
        finally:
            run.mark("reconciled")
        if outcome.run.errors:
            run.errors.extend(f"reconciliation: {e}" for e in outcome.run.errors)
        await self._audit(run, "emergency_stop:reconcile", evidence(
            status=outcome.run.status.value, discrepancies=len(outcome.run.discrepancies)),
            run_id=outcome.run.run_id)
        return outcome

    async def _what_is_left(
        self, run: _Run,
    ) -> tuple[tuple[Order, ...] | None, tuple[Position, ...] | None]:
        orders_result, positions_result = await asyncio.gather(
            self.venue.fetch_open_orders(), self.venue.fetch_positions(),
            return_exceptions=True)
        open_orders: tuple[Order, ...] | None = None
        open_positions: tuple[Position, ...] | None = None
        if isinstance(orders_result, BaseException):
            if not isinstance(orders_result, Exception):
                raise orders_result
            run.errors.append(f"open orders could not be read: {_describe(orders_result)}")
        else:
            open_orders = tuple(orders_result)
        if isinstance(positions_result, BaseException):
            if not isinstance(positions_result, Exception):
                raise positions_result
            run.errors.append(f"positions could not be read: {_describe(positions_result)}")
        else:
            open_positions = tuple(p for p in positions_result if not p.is_flat)
        run.mark("reported")
        return open_orders, open_positions

    async def _audit(self, run: _Run, action: str, details: Sequence[tuple[str, str]],
                     *, run_id: str = "") -> None:
        entry = AuditEntry(at=self.clock_ms(), actor=run.actor, action=action,
                           subject=f"{self.venue.venue}/{self.venue.account}",
                           venue=self.venue.venue, account=self.venue.account,
                           run_id=run_id, details=tuple(details))
        try:
            await asyncio.to_thread(self.ledger.append_audit, entry)
        except Exception as exc:
            # the audit log must not stop an emergency stop; the report carries the error
            log.exception("emergency stop: audit entry %s not written", action)
            run.errors.append(f"audit {action}: {_describe(exc)}")


def _flatten_order(position: Position, side: Side, client_id: str, now: int) -> Order:
    """A reduce-only IOC market order for the whole position."""
    return Order(
        venue=position.venue, account=position.account, category=position.category,
        symbol=position.symbol, side=side, type=OrderType.MARKET, qty=abs(position.size),
        status=OrderStatus.PENDING_NEW, client_order_id=client_id, reduce_only=True,
        time_in_force=TimeInForce.IOC, role=OrderRole.OTHER, strategy_id="emergency",
        created_at=now, updated_at=now)


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if isinstance(exc, UserFacingError) else f"{type(exc).__name__}: {text}"

