"""Runs reconciliations: fetch, diff, plan, apply by policy, record.

The pure work happens in `console.reconcile`; this module does the I/O around it. A run
never lets a failed or malformed fetch read as "nothing there": the affected snapshot
field stays `None`, the reconciler skips what depends on it and the run is stored as
partial. The ledger write and the run record go in one transaction, so a run that fails
half-way leaves the ledger as it found it.

Triggers: startup (before any strategy may trade), every `interval_s`, on demand, and
after a private-stream reconnect (`request(RunTrigger.RECONNECT)`). Runs never overlap: a
request that arrives during a run is served by one more run right after it.

A run is two steps: `_assess` (fetch, diff, plan: nothing written) and the record and
apply that follow. `assess` runs the first alone, under the run lock and on a copy of
the risk state, for a plan-only preview or a restart rehearsal (`console.engine.preview`,
`console.engine.rehearsal`): the same code and policy as a run, nothing recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import partial
from typing import TypeVar

from console.domain import Balance, Fill, LedgerSnapshot, Order, Position, VenueSnapshot
from console.domain.reconciliation import (
    ActionState,
    AuditEntry,
    Decision,
    Discrepancy,
    PlannedAction,
    RunRecord,
    RunStatus,
    RunTrigger,
    TradingMode,
)
from console.domain.snapshot import FillCoverage
from console.domain.values import ZERO
from console.engine.actions import ActionExecutor
from console.engine.ports import LedgerPort, VenuePort
from console.engine.risk import RiskState
from console.errors import LedgerError, VenueError
from console.reconcile import (
    ReconcileConfig,
    Reconciliation,
    fills_since,
    orders_to_query,
    reach_back,
    reconcile,
    underfilled,
    verified_fills,
)

LEDGER_FIXES = "ledger_fixes:applied"
"""The audit action of a run's automatic ledger fixes (`ReconcileService`)."""
FIXES_LISTED = 20
"""Ledger fixes named one by one in that entry; the rest are counted."""
log = logging.getLogger(__name__)

Clock = Callable[[], int]
_T = TypeVar("_T")


class _Failed:
    """Marks a fetch that failed, as opposed to one that answered "none" or "not found"."""


FAILED = _Failed()

_Lists = tuple[
    "list[Order] | _Failed", "list[Position] | _Failed", "list[Balance] | _Failed",
    "list[Fill] | _Failed",
]
ProgressFn = Callable[[str], None]

OPEN_ORDERS, POSITIONS, BALANCES, FILLS = "open orders", "positions", "balances", "fills"
LISTS = (OPEN_ORDERS, POSITIONS, BALANCES, FILLS)
"""The lists every run reads, as its errors name them ("positions: ..." when that fetch
failed): what `console.engine.coverage` reads back to say when each was last verified."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class RunOutcome:
    run: RunRecord
    duration_ms: float
    venue_open_orders: tuple[Order, ...] | None = None
    """The venue's open orders as this run fetched them (None when the list was not
    read): a window lists those the ledger does not hold, marked as such."""

    @property
    def discrepancies(self) -> tuple[Discrepancy, ...]:
        return self.run.discrepancies


@dataclass(frozen=True, slots=True)
class Assessment:
    """One fetch, diff and plan, before anything is recorded or applied: the step a run
    and a preview share (`ReconcileService.assess`, `console.engine.preview`).

    `run` is the record a run would commit (actions in their initial state); `ledger`,
    `venue` and `result` are None when the ledger could not be read (then `run` is the
    FAILED record, which a run does not commit either). `coverage` is the fill window a
    run would move the coverage mark over; `timings` the milliseconds of each stage;
    `risk` the risk state it planned with, as the last run's mode left it (a run's own,
    a preview's copy)."""

    run: RunRecord
    ledger: LedgerSnapshot | None
    venue: VenueSnapshot | None
    result: Reconciliation | None
    coverage: FillCoverage | None
    timings: tuple[tuple[str, float], ...]
    duration_ms: float
    risk: RiskState


def _describe(exc: BaseException) -> str:
    kind = type(exc).__name__
    text = str(exc) or kind
    return f"{kind}: {text}" if not isinstance(exc, VenueError) else text


class ReconcileService:
    """One (venue, account): the reconcile loop and on-demand runs."""

    def __init__(
        self,
        venue: VenuePort,
        ledger: LedgerPort,
        config: ReconcileConfig,
        *,
        executor: ActionExecutor,
        clock_ms: Clock = wall_clock_ms,
        interval_s: float = 60.0,
        query_concurrency: int = 8,
        risk: RiskState | None = None,
    ) -> None:
        self.venue = venue
        self.ledger = ledger
        self.config = config
        self.clock_ms = clock_ms
        self.interval_s = interval_s
        self.executor = executor
        self.risk = risk or RiskState()
        self._query_slots = asyncio.Semaphore(query_concurrency)
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._requested: RunTrigger | None = None
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[RunOutcome], Awaitable[None] | None]] = []
        self.last_outcome: RunOutcome | None = None
        """The last run's outcome, without `venue_open_orders` (see `run_once`)."""
        self.flight_mark: Callable[[], int] = lambda: 0
        self.in_flight_since: Callable[[int], frozenset[str]] = lambda _mark: frozenset()
        """Orders being sent around the ledger read (the order manager's, wired by the
        session): read PENDING_NEW, their senders record the venue's answer."""
        self.local_workers: set[tuple[str, str]] = set()
        """(user_id, worker_id) of the workers this session runs: at the startup run their
        saved brackets get cold-start treatment (another process's workers never do)."""
        self.consecutive_failures = 0
        self._reached: dict[str, tuple[Decimal, Decimal]] = {}

    # -- subscriptions -------------------------------------------------------------------

    def on_run(self, listener: Callable[[RunOutcome], Awaitable[None] | None]) -> None:
        self._listeners.append(listener)

    # -- one run -------------------------------------------------------------------------

    async def run_once(self, trigger: RunTrigger = RunTrigger.MANUAL,
                       progress: ProgressFn | None = None) -> RunOutcome:
        async with self._lock:
            outcome = await self._run(trigger, progress or (lambda _stage: None))
        # kept without the venue's open orders (~45 MB at 100k orders, bench/ui_load.py):
        # the listeners and the caller have them; what reads this later needs the run
        self.last_outcome = replace(outcome, venue_open_orders=None) \
            if outcome.venue_open_orders else outcome
        for listener in self._listeners:
            result = listener(outcome)
            if asyncio.iscoroutine(result):
                await result
        return outcome

    async def _run(self, trigger: RunTrigger, progress: ProgressFn) -> RunOutcome:
        t0 = time.perf_counter()
        assessed = await self._assess(trigger, progress, risk=self.risk, remember=True)
        run = assessed.run
        if assessed.result is None:
            # The ledger is unreadable: nothing was compared, and nothing can be recorded.
            self.consecutive_failures += 1
            return RunOutcome(run, (time.perf_counter() - t0) * 1000)
        run_id, actions, status = run.run_id, run.actions, run.status
        changes, coverage = assessed.result.changes, assessed.coverage
        venue_open = assessed.venue.open_orders if assessed.venue is not None else None
        # the ledger snapshot and the diff are not needed past the plan: let them go before
        # the record and the venue actions (~45 MB at 100k orders, bench/ui_load.py)
        del assessed
        progress("recording")
        try:
            await asyncio.to_thread(self.ledger.commit_run, run, changes, coverage)
        except Exception as exc:
            log.exception("reconcile %s: could not record the run", run_id)
            self.consecutive_failures += 1
            failed = replace(run, status=RunStatus.FAILED,
                             errors=(*run.errors, f"ledger: {_describe(exc)}"),
                             actions=tuple(replace(a, state=ActionState.FAILED,
                                                   error="not recorded") for a in actions))
            return RunOutcome(failed, (time.perf_counter() - t0) * 1000)
        await self._audit_ledger_fixes(run)  # what the run did, then the mode it set
        await self._audit_mode_change(run)
        self.risk.set(run.mode, run.pause_reason)
        self.consecutive_failures = 0 if status is not RunStatus.FAILED else (
            self.consecutive_failures + 1)

        auto_venue = [i for i, p in enumerate(actions)
                      if p.decision is Decision.AUTO and p.action.kind.changes_venue]
        if auto_venue:
            progress("applying venue actions")
            # one read-back of the venue for them all (console.engine.readback)
            states = dict(zip(auto_venue, await self.executor.execute_all(
                run_id, [(i, actions[i].action) for i in auto_venue], by="auto"), strict=True))
            actions = tuple(replace(p, state=states[i]) if i in states else p
                            for i, p in enumerate(actions))
            run = replace(run, actions=actions, finished_at=self.clock_ms())
        progress("done")
        return RunOutcome(run, (time.perf_counter() - t0) * 1000, venue_open)

    # -- fetch, diff and plan: shared by a run and a preview ------------------------------

    async def assess(self, trigger: RunTrigger = RunTrigger.MANUAL, *,
                     risk: RiskState | None = None, fresh: bool = False,
                     cold_start_workers: frozenset[tuple[str, str]] | None = None,
                     progress: ProgressFn | None = None) -> Assessment:
        """Fetch, diff and plan exactly as `run_once(trigger)` would (the same code, the
        same policy), and change nothing: no run, no action and no ledger write is
        recorded, no audit entry is written, no venue action is sent and no listener is
        told; this session's risk state, reach-back memory and failure count stay as
        they are. It holds the run lock, so it never interleaves with a run.

        `risk` is the risk state to plan with (default: a copy of this session's, taken
        under the lock); it takes the last run's mode as a run's own does, and comes back
        in the assessment. `fresh` plans as a process that has just
        started: no order in flight, nothing asked about before. `cold_start_workers`
        are the workers a STARTUP plan treats as restarting (default: this session's)."""
        async with self._lock:
            return await self._assess(
                trigger, progress or (lambda _stage: None),
                risk=copy.deepcopy(self.risk) if risk is None else risk, remember=False,
                fresh=fresh, cold_start_workers=cold_start_workers)

    async def _assess(self, trigger: RunTrigger, progress: ProgressFn, *, risk: RiskState,
                      remember: bool, fresh: bool = False,
                      cold_start_workers: frozenset[tuple[str, str]] | None = None,
                      ) -> Assessment:
        """The fetch, the diff and the plan of one run, before anything is recorded.
        `remember` lets the run keep what it asked about (the reach-back memory); `risk`
        takes the last run's mode, as the run's own risk state does."""
        t0 = time.perf_counter()
        stamps: list[tuple[str, float]] = []

        def stage(name: str) -> None:
            stamps.append((name, time.perf_counter()))
            progress(name)

        def timings() -> tuple[tuple[str, float], ...]:
            ends = [t for _, t in stamps[1:]] + [time.perf_counter()]
            return tuple((name, (end - at) * 1000)
                         for (name, at), end in zip(stamps, ends, strict=True))

        started = self.clock_ms()
        run_id = uuid.uuid4().hex
        calls_before = Counter(self.venue.calls)
        venue_name, account = self.venue.venue, self.venue.account
        stage("loading ledger")
        try:
            last_run = await asyncio.to_thread(self.ledger.list_runs, venue_name, account, 1)
            if last_run:
                risk.set(last_run[0].mode, last_run[0].pause_reason)
            # Fills are asked from the coverage mark (what earlier runs verified), never
            # from the newest fill: the stream may have recorded that one after dropping
            # others.
            mark = await asyncio.to_thread(self.ledger.fill_coverage, venue_name, account)
            probe = LedgerSnapshot(venue_name, account, fill_coverage=mark)
            since = fills_since(probe, started, self.config)
            stage("fetching venue snapshot")
            taken = self.clock_ms()
            lists, errors, ledger, in_flight = await self._fetch_and_read(
                since, taken, fresh=fresh, stage=stage)
        except Exception as exc:
            # The ledger is unreadable: nothing can be compared. Record what we can.
            log.exception("reconcile %s: ledger unavailable", run_id)
            run = RunRecord(run_id, venue_name, account, trigger, started, self.clock_ms(),
                            RunStatus.FAILED, mode=risk.mode, pause_reason=risk.reason,
                            errors=(f"ledger: {_describe(exc)}",))
            return Assessment(run, None, None, None, None, timings(),
                              (time.perf_counter() - t0) * 1000, risk)

        lists, ledger, since = await self._reach_back(ledger, lists, errors, since, taken,
                                                      remember=remember, fresh=fresh)
        stage("asking for orders missing from the open list")
        snapshot = await self._venue_snapshot(ledger, lists, errors, since, taken)
        stage("comparing")
        now = self.clock_ms()
        config = replace(self.config, in_flight=in_flight)
        if trigger is RunTrigger.STARTUP:
            workers = (frozenset(self.local_workers) if cold_start_workers is None
                       else cold_start_workers)
            config = replace(config, cold_start_workers=workers)
        result = reconcile(ledger, snapshot, now, config, risk.mode)
        actions = tuple(self._initial_state(p, now) for p in result.plan.actions)
        # an operator's rejection holds while the venue shows what it showed then
        actions = await self.executor.hold_rejected(actions, result.discrepancies)
        venue_calls = tuple(sorted((Counter(self.venue.calls) - calls_before).items()))
        status = RunStatus.PARTIAL if snapshot.errors or result.unverified else RunStatus.OK
        if snapshot.errors and all(
            getattr(snapshot, f) is None for f in ("open_orders", "positions", "balances", "fills")
        ):
            status = RunStatus.FAILED
        run = RunRecord(
            run_id=run_id, venue=venue_name, account=account, trigger=trigger,
            started_at=started, finished_at=self.clock_ms(), status=status,
            mode=result.plan.mode, pause_reason=result.plan.pause_reason,
            venue_calls=venue_calls, discrepancies=result.discrepancies, actions=actions,
            errors=snapshot.errors,
            unverified=(*result.unverified, *(f"deferred: {d}" for d in result.deferred)),
            fills_window=snapshot.fills_window,
        )
        coverage = verified_fills(ledger, snapshot, result.plan)
        return Assessment(run, ledger, snapshot, result, coverage, timings(),
                          (time.perf_counter() - t0) * 1000, risk)

    async def _fetch_and_read(self, since: int, taken: int, *, fresh: bool,
                              stage: ProgressFn,
                              ) -> tuple[_Lists, list[str], LedgerSnapshot, frozenset[str]]:
        """Fetch the venue's lists and read the ledger's snapshot, as of after the fetch;
        returns the lists, their errors, the snapshot and the orders in flight meanwhile.

        Why "as of after": an order placed while we fetch must be in the snapshot when
        the venue's lists show it (its intent is written before it is sent), or it would
        read as a stranger; a record the stream updates meanwhile is newer than the
        snapshot and deferred. Reading the ledger after the fetch guarantees that, at the
        cost of the read's time (a second at 10k orders and 50k fills). The ledger is
        therefore read while the venue is fetched, and its book version compared once the
        fetch is done: unchanged, that snapshot is exactly what a read after the fetch
        returns; moved (an order placed, a fill recorded meanwhile), the snapshot is read
        again, after the fetch.

        Orders being sent while the ledger is read may be read PENDING_NEW: their senders
        record the venue's answer, so they are not disagreements (`in_flight`: those in
        flight at any moment from before the read that is kept until after it)."""
        venue_name, account = self.venue.venue, self.venue.account
        retention = self.config.terminal_retention_ms
        flight = self.flight_mark()
        flying = frozenset() if fresh else self.in_flight_since(flight)
        ledger = self.ledger
        early = asyncio.ensure_future(asyncio.to_thread(
            ledger.versioned_snapshot, venue_name, account, now=taken,
            retention_ms=retention, fills_from=since))
        try:
            lists, errors = await self._fetch_lists(since, taken)
        except BaseException:
            early.cancel()  # the thread's read ends on its own; nobody waits for it
            raise
        stage("loading ledger")
        snapshot, version = await early
        if await asyncio.to_thread(ledger.book_version, venue_name, account) == version:
            in_flight = flying if fresh else flying | self.in_flight_since(flight)
            return lists, errors, snapshot, in_flight
        log.debug("reconcile: the ledger of %s/%s changed during the fetch; reading it "
                  "again", venue_name, account)
        flight = self.flight_mark()
        flying = frozenset() if fresh else self.in_flight_since(flight)
        # the stale read goes before the second one is made: both at once would add a
        # snapshot to the startup's memory peak (~45 MB at 100k orders, bench/ui_load.py)
        del snapshot, early
        snapshot = await asyncio.to_thread(
            ledger.load_snapshot, venue_name, account, now=taken,
            retention_ms=retention, fills_from=since)
        in_flight = flying if fresh else flying | self.in_flight_since(flight)
        return lists, errors, snapshot, in_flight

    def _initial_state(self, planned: PlannedAction, now: int) -> PlannedAction:
        kind = planned.action.kind
        if planned.decision is Decision.AUTO and not kind.changes_venue:
            # Ledger actions are applied in the run's own transaction; alerts and mode
            # changes take effect by being recorded.
            return replace(planned, state=ActionState.APPLIED, applied_by="auto", applied_at=now)
        return planned

    async def _audit_ledger_fixes(self, run: RunRecord) -> None:
        """One audit entry for the run's automatic ledger fixes (recorded with the run,
        in its transaction): `recon-console audit` then shows what changed the book, not
        only what an operator or a venue action did. One entry a run, not one a fix (a
        back-fill can add thousands of fills): how many of each kind, and the first
        `FIXES_LISTED` subjects."""
        fixes = [p.action for p in run.actions
                 if p.decision is Decision.AUTO and p.action.kind.changes_ledger
                 and p.state is ActionState.APPLIED]
        if not fixes:
            return
        counts = Counter(a.kind.value for a in fixes)
        listed = tuple((f"fix {i}", f"{a.kind.value} {a.subject}")
                       for i, a in enumerate(fixes[:FIXES_LISTED], 1))
        more = (("more", str(len(fixes) - FIXES_LISTED)),) if len(fixes) > FIXES_LISTED \
            else ()
        entry = AuditEntry(at=run.finished_at, actor="auto", action=LEDGER_FIXES,
                           subject=f"{run.venue}/{run.account}", venue=run.venue,
                           account=run.account, run_id=run.run_id,
                           details=(*sorted((k, str(n)) for k, n in counts.items()),
                                    *listed, *more))
        await asyncio.to_thread(self.ledger.append_audit, entry)

    async def _audit_mode_change(self, run: RunRecord) -> None:
        if run.mode is self.risk.mode:
            return
        action = "pause_trading" if run.mode is TradingMode.PAUSED else "resume_trading"
        # the reconciler lifts its own desync pause, never an emergency halt: say which
        halt = (("halt", f"still holds ({self.risk.halt_reason or 'emergency stop'}); "
                         "only an operator resume lifts it"),) if self.risk.halted else ()
        entry = AuditEntry(at=run.finished_at, actor="auto", action=action,
                           subject=f"{run.venue}/{run.account}", venue=run.venue,
                           account=run.account, run_id=run.run_id,
                           details=(("reason", run.pause_reason
                                     or "clean reconciliation: desync pause lifted"), *halt))
        await asyncio.to_thread(self.ledger.append_audit, entry)

    def _guard(self, errors: list[str]
               ) -> Callable[[str, Callable[[], Awaitable[_T]]], Awaitable[_T | _Failed]]:
        """A venue call (`call()`, made only when the guard runs: a run cancelled before
        it leaves no request half-made, and no coroutine never awaited) whose failure is
        FAILED, its text collected in `errors`."""
        async def guarded(name: str, call: Callable[[], Awaitable[_T]]) -> _T | _Failed:
            try:
                return await call()
            except (VenueError, OSError, TimeoutError) as exc:
                errors.append(f"{name}: {_describe(exc)}")
                log.warning("reconcile: %s failed: %s", name, _describe(exc))
                return FAILED
        return guarded

    async def _fetch_lists(self, since: int, now: int) -> tuple[_Lists, list[str]]:
        """Every page of open orders, positions, balances and fills, concurrently. A failed
        list is FAILED (never "empty"); its error text is collected."""
        venue = self.venue
        errors: list[str] = []
        guarded = self._guard(errors)
        lists = await asyncio.gather(
            guarded(OPEN_ORDERS, venue.fetch_open_orders),
            guarded(POSITIONS, venue.fetch_positions),
            guarded(BALANCES, venue.fetch_balances),
            guarded(FILLS, partial(venue.fetch_fills, since, now)),
        )
        return lists, errors

    async def _reach_back(self, ledger: LedgerSnapshot, lists: _Lists, errors: list[str],
                          since: int, taken: int, *, remember: bool = True,
                          fresh: bool = False) -> tuple[_Lists, LedgerSnapshot, int]:
        """Orders that filled more than the ledger holds fills for lack fills that may be
        older than the window: fetch the older stretch back to their creation (and read
        the ledger's fills of it, so nothing already recorded is reported missing).
        Returns the lists, the ledger snapshot and the window start, widened if asked.

        An order is asked about again only when its evidence (filled quantity, ledger
        fill total) changed since it was last asked: a venue whose history no longer
        holds those fills costs one fetch, not one per run. A preview leaves that memory
        as it is (`remember` False); a rehearsal of a cold start plans without it
        (`fresh`: a new process has asked about nothing yet).
        """
        open_orders, positions, balances, fills = lists
        if isinstance(fills, _Failed):
            return lists, ledger, since
        short = underfilled(ledger)
        evidence = {o.ident: (o.filled_qty, ledger.fill_totals.get(o.ident, ZERO))
                    for o in short}
        reached = {} if fresh else {k: v for k, v in self._reached.items() if k in evidence}
        if remember:
            self._reached = reached
        asked = [o for o in short if reached.get(o.ident) != evidence[o.ident]]
        start = reach_back(asked, since, taken, self.config)
        if start is None:
            return lists, ledger, since
        older = await self._guard(errors)(f"fills from {start} (orders filled beyond their "
                                          "ledger fills)",
                                          partial(self.venue.fetch_fills, start, since - 1))
        if isinstance(older, _Failed):
            return lists, ledger, since
        try:
            known = await asyncio.to_thread(self.ledger.fills, ledger.venue, ledger.account,
                                            start, since - 1)
        except LedgerError as exc:  # the run goes on with the window it has
            log.warning("reconcile: ledger fills from %s unreadable: %s", start, exc)
            errors.append(f"ledger fills from {start}: {_describe(exc)}")
            return lists, ledger, since
        if remember:
            self._reached.update({o.ident: evidence[o.ident] for o in asked})
        widened = replace(ledger, fills=(*known, *ledger.fills), fills_from=start)
        return (open_orders, positions, balances, [*older, *fills]), widened, start

    async def _venue_snapshot(self, ledger: LedgerSnapshot, lists: _Lists, errors: list[str],
                              since: int, taken: int) -> VenueSnapshot:
        """Ask by id for the ledger-active orders the open list did not show, and for the
        terminal ones that fills contradict, and assemble the snapshot. `taken` is when
        the fetch began: anything the ledger learned after that is newer than what the
        venue told us."""
        venue = self.venue
        guarded = self._guard(errors)
        open_orders, positions, balances, fills = lists
        queried: dict[str, Order] = {}
        not_found: set[str] = set()
        if not isinstance(open_orders, _Failed):
            missing = orders_to_query(ledger, open_orders,
                                      () if isinstance(fills, _Failed) else fills)

            async def ask(order: Order) -> None:
                async with self._query_slots:
                    answer = await guarded(f"order {order.ident}",
                                           partial(venue.fetch_order, order))
                if answer is None:
                    not_found.add(order.ident)
                elif not isinstance(answer, _Failed):
                    queried[order.ident] = answer

            await asyncio.gather(*(ask(o) for o in missing))
        return VenueSnapshot(
            venue=venue.venue, account=venue.account, taken_at=taken,
            open_orders=None if isinstance(open_orders, _Failed) else tuple(open_orders),
            queried_orders=queried, not_found=frozenset(not_found),
            fills=None if isinstance(fills, _Failed) else tuple(fills),
            fills_window=None if isinstance(fills, _Failed) else (since, taken),
            positions=None if isinstance(positions, _Failed) else tuple(positions),
            balances=None if isinstance(balances, _Failed) else tuple(balances),
            errors=tuple(errors),
        )

    # -- the loop ------------------------------------------------------------------------

    def request(self, trigger: RunTrigger = RunTrigger.MANUAL) -> None:
        """Ask for a run as soon as possible (coalesced with one already asked for)."""
        self._requested = trigger
        self._wake.set()

    async def start(self) -> RunOutcome:
        """Run the startup reconciliation, then keep reconciling in the background."""
        outcome = await self.run_once(RunTrigger.STARTUP)
        self._task = asyncio.create_task(self._loop(), name="reconcile-loop")
        return outcome

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self.interval_s)
            except TimeoutError:
                trigger = RunTrigger.PERIODIC
            else:
                trigger = self._requested or RunTrigger.MANUAL
            self._wake.clear()
            self._requested = None
            try:
                await self.run_once(trigger)
            except Exception:
                # A bug in one run must not end the loop: the next run may succeed, and
                # the failure count feeds the alerting.
                self.consecutive_failures += 1
                log.exception("reconcile loop: run failed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        async with self._lock:  # let a run in progress finish writing
            pass
