"""The window's view model: engine state into table models, operator intents into engine
calls. No widget lives here, so every operator action can be driven and checked in tests
without a mouse.

An account is either this process's engine session (local) or a remote one that an engine
elsewhere trades (`console.ui.remote`): the window reads the shared ledger for it on a poll
and every operator decision becomes a ledger command whose outcome the lease holder
records. `capabilities` says which (`console.ui.ports.Capabilities`); the actions that
need the venue connection itself refuse on a remote account, and the window disables them.

Threading: everything runs on the GUI thread's asyncio loop (qasync). The engine's
listeners (run finished, private-stream event, alert) only stage model updates or ask
for a debounced refresh; ledger reads go through `asyncio.to_thread`, the orders table's
through the window's bulk-read thread (`console.ui.read_lane`); each model applies
its staged updates once per flush tick (see `models.base`).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QObject, QTimer, Signal

from console.domain import Balance, Fill, Order, Position
from console.domain.alerts import Alert
from console.domain.capabilities import DeadManState
from console.domain.commands import CommandKind
from console.domain.events import (
    BalanceEvent,
    ConnectionEvent,
    ConnectionState,
    FillEvent,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.domain.model import held_if_equal
from console.domain.reconciliation import (
    ActionKind,
    ActionState,
    AuditEntry,
    DiscrepancyKind,
    RunRecord,
    RunStatus,
    RunTrigger,
    Severity,
    evidence,
)
from console.engine.actions import standing_rejections
from console.engine.alerts import AlertChange, AlertEngine, AlertNotice
from console.engine.coverage import CoverageReport, account_coverage
from console.engine.demo import ChaosPort, DemoQuoter
from console.engine.emergency import (
    HALT_ACTION,
    EmergencyReport,
    ResumeOutcome,
    headline,
)
from console.engine.lease import LeaseKeeper
from console.engine.metrics import Metrics, MetricsSnapshot
from console.engine.order_manager import ReplaceResult, take_venue_view
from console.engine.ports import LedgerPort
from console.engine.preview import ReconcilePreview, preview_reconcile
from console.engine.reconcile_service import RunOutcome, wall_clock_ms
from console.engine.rehearsal import RestartRehearsal, rehearse_restart
from console.engine.session import EngineSession
from console.errors import UserFacingError
from console.ui import row_actions
from console.ui.dialogs.confirm import Confirmer
from console.ui.first_load import FirstLoad, grown
from console.ui.format import plural
from console.ui.models.alerts import AlertsModel, alert_ref
from console.ui.models.audit import AuditModel, audit_rows
from console.ui.models.balances import BalancesModel
from console.ui.models.base import freeze_long_lived
from console.ui.models.fills import FillsModel
from console.ui.models.inbox import (
    HELD,
    InboxItem,
    InboxModel,
    approval_effects,
    items_for_run,
    pending_items,
)
from console.ui.models.orders import OrdersModel, VenueOrders, in_ledger, order_line
from console.ui.models.positions import PositionsModel, position_line
from console.ui.models.runs import RunsModel
from console.ui.notifications import Notifier
from console.ui.ports import LOCAL_ACCOUNT, REMOTE_ACCOUNT, Capabilities, Identity
from console.ui.read_lane import in_read_lane
from console.ui.remote import CommandOutcome, FleetHealth, LedgerRisk, RemoteOps
from console.ui.row_actions import amend_order, lift_rejections
from console.ui.theme import ThemeState

log = logging.getLogger(__name__)
T = TypeVar("T")

ORPHAN_REASONS = frozenset({DiscrepancyKind.ORPHANED_PROTECTION, DiscrepancyKind.UNKNOWN_OURS,
                            DiscrepancyKind.BRACKET_CLOSED_OFFLINE,
                            DiscrepancyKind.ORDER_UNKNOWN_LOCALLY})
"""Cancel proposals that concern an order nobody owns any more ("Cancel orphans")."""
FINISHED_TTL_MS = 10 * 60_000
"""Orders that finished stay in the orders table (greyed) this long."""
FILLS_LOOKBACK_MS = 24 * 3_600_000
MAX_FILLS = 2_000
MAX_FINISHED_LOOKUPS = 200
ORDERS_PAGE = 2_000
MAX_ORDERS_PAGE = 64_000
"""Orders in the first ledger read of the orders table (`LedgerPort.orders_page`), shown
at once; each next page is larger (`console.ui.first_load.grown`), up to
`MAX_ORDERS_PAGE`, in the first load and in every re-read alike. Each page that goes in
is a flush of the table and a repaint of the growing table on the GUI thread, which the
reading thread waits for (the interpreter lock): a 100k-order book showed its last row
~0.05 s sooner in pages up to 64k than up to 32k, ~0.1 s sooner than up to 16k
(bench/ui_load.py)."""
RUNS_SHOWN = 50
AUDIT_SHOWN = 500
STRATEGY_STOP_S = 5.0
SETTLE_TIMEOUT_S = 30.0
"""`settle` gives up after this long (a refresh stuck on a locked ledger)."""
REMOTE_POLL_S = 1.0
"""A remote account re-reads the shared ledger (book, inbox, audit, alerts, health) this
often: a few cheap indexed reads, so a change another process made shows within ~1 s."""
REMOTE_ALERT_AGE_MS = 180_000
"""A remote account's last OK reconciliation turns red after this long (its engine's
reconcile interval is not in the ledger: three default intervals)."""


class RiskView(Protocol):
    """The trading mode the window shows: the engine's `RiskState` (local), or the mode
    as the shared ledger holds it (`console.ui.remote.LedgerRisk`)."""

    @property
    def halted(self) -> bool: ...

    @property
    def halt_reason(self) -> str: ...

    @property
    def paused(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def quarantine(self) -> Mapping[str, Mapping[str, str]]: ...


def wall_ms() -> int:
    """The engine's clock (epoch ms)."""
    return wall_clock_ms()


@dataclass(frozen=True, slots=True)
class BookSnapshot:
    positions: list[Position]
    balances: list[Balance]
    fills: list[Fill] | None


AmendAsker = row_actions.AmendAsker
"""Asks the operator for an amend's new price and/or quantity (`console.ui.row_actions`)."""


class BookLoad(enum.Enum):
    """The orders table's first load (`ConsoleController.book_load`)."""

    IDLE = "idle"
    FIRST_PAGE = "first page"
    REST = "rest"


@dataclass(frozen=True, slots=True)
class InboxSnapshot:
    runs: list[RunRecord]
    pending: list[InboxItem]
    held: list[InboxItem] = field(default_factory=list)
    """The standing rejections (`console.engine.actions.standing_rejections`)."""


class ConsoleController(QObject):
    message = Signal(str)
    """One line for the status bar: what just happened."""
    run_started = Signal(str)
    run_progress = Signal(str)
    run_finished = Signal(object)
    """A `RunOutcome` (every run: startup, periodic, reconnect, manual)."""
    stream_changed = Signal(str)
    risk_changed = Signal()
    inbox_changed = Signal()
    emergency_reported = Signal(object)
    """An `EmergencyReport`."""
    engine_started = Signal()
    work_progress = Signal(str)
    """What a preview or a rehearsal is doing now (for the status bar's progress)."""
    work_done = Signal()
    book_loading = Signal()
    """The first load of the orders table moved on (`book_load`)."""

    def __init__(self, session: EngineSession | None, book: LedgerPort, identity: Identity, *,
                 confirmer: Confirmer, notifier: Notifier, theme: ThemeState,
                 operator: Callable[[], str], alerts: AlertEngine | None = None,
                 chaos: ChaosPort | None = None, demo: DemoQuoter | None = None,
                 clock_ms: Callable[[], int] = wall_ms, flush_ms: int = 150,
                 book_refresh_s: float = 5.0, remote: RemoteOps | None = None,
                 remote_poll_s: float = REMOTE_POLL_S, parent: QObject | None = None) -> None:
        """`session`: the account's engine in this process; or None and `remote`: an
        account that an engine elsewhere trades, over the shared ledger."""
        super().__init__(parent)
        if (session is None) == (remote is None):
            raise UserFacingError(f"{identity.profile}: give the engine session or the "
                                  "remote operations, one of them")
        self._session = session
        self.remote = remote
        self.capabilities: Capabilities = LOCAL_ACCOUNT if remote is None else REMOTE_ACCOUNT
        self.health: FleetHealth | None = None
        """A remote account's health, as last read from the ledger (None: local, or not
        read yet)."""
        self.ledger_risk = LedgerRisk()
        self.last_command: CommandOutcome | None = None
        """A remote account's last command outcome (what the holder recorded)."""
        self._no_metrics = Metrics()
        self.book = book
        self.identity = identity
        self.confirmer = confirmer
        self.notifier = notifier
        self.operator = operator
        self.alerts = alerts
        self.chaos = chaos
        self.demo = demo
        self.clock_ms = clock_ms
        if session is not None:
            self.venue, self.account = session.venue.venue, session.venue.account
        else:
            assert remote is not None  # checked above
            self.venue, self.account = remote.venue, remote.account
        self.orders = OrdersModel(theme, flush_ms=flush_ms, parent=self)
        self.venue_orders = VenueOrders()  # the venue's own list: rows "not in ledger"
        self.positions = PositionsModel(theme, flush_ms=flush_ms, parent=self)
        self.fills = FillsModel(theme, flush_ms=flush_ms, parent=self)
        self.balances = BalancesModel(theme, flush_ms=flush_ms, parent=self)
        self.inbox = InboxModel(theme, parent=self)
        self.runs = RunsModel(theme, parent=self)
        self.alerts_model = AlertsModel(theme, parent=self)
        self.audit = AuditModel(theme, parent=self)
        self.run_history: list[RunRecord] = []
        self.pending: list[InboxItem] = []
        self.held: list[InboxItem] = []
        self.results: list[str] = []
        self.last_report: EmergencyReport | None = None
        self.last_outcome: RunOutcome | None = None
        self.last_ok_at: int | None = None
        self.show_cleared_alerts = False
        self.stream_state = ConnectionState.CONNECTING
        self.started = False
        self.closing = False
        self.reconciling = False
        self.emergency_running = False
        self._tasks: set[asyncio.Task[None]] = set()
        self._reads: set[asyncio.Future[Any]] = set()
        self._wanted: set[str] = set()
        self._refreshing = False
        self._first: asyncio.Future[list[Order]] | None = None
        """The table's first load, started before the window shows (`prefetch`)."""
        self._loader: FirstLoad | None = None
        self.book_load = BookLoad.IDLE
        """Where the orders table's first load is: its first page awaited, the rest of
        the book being read, or no load under way (`book_loading` on each change). A
        later read of a table still empty (a book with no active order, re-read at
        each refresh) is not reported: it is no load the window waits for."""
        self._book_loaded = False
        self._attached = False
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self._refresh_wanted)
        self._periodic = QTimer(self)
        self._periodic.setInterval(int(book_refresh_s * 1000))
        self._periodic.timeout.connect(lambda: self.refresh_soon("positions", "balances"))
        self._remote_poll = QTimer(self)
        self._remote_poll.setInterval(int(remote_poll_s * 1000))
        self._remote_poll.timeout.connect(lambda: self.refresh_soon(
            "book", "inbox", "audit", "alerts", "health", delay_ms=0))

    # -- wiring ------------------------------------------------------------------------------

    @property
    def session(self) -> EngineSession:
        """The account's engine session in this process. A remote account has none: what
        needs it (the venue connection itself) refuses with why."""
        if self._session is None:
            raise UserFacingError(f"{self.label}: not available on {self.capabilities.why_not}.")
        return self._session

    @property
    def local_session(self) -> EngineSession | None:
        """The engine session in this process, None for a remote account."""
        return self._session

    @property
    def read_only(self) -> bool:
        return self.identity.read_only or (self._session is not None
                                           and self._session.read_only)

    @property
    def risk(self) -> RiskView:
        """The trading mode: the engine's own (local), or the ledger's (remote)."""
        return self._session.risk if self._session is not None else self.ledger_risk

    @property
    def lease(self) -> LeaseKeeper | None:
        """The local engine's lease keeper (None: remote, or no leasing)."""
        return self._session.lease if self._session is not None else None

    def metrics_snapshot(self) -> MetricsSnapshot:
        """The engine's latencies and counters (empty for a remote account: they live in
        its engine's process)."""
        source = self._session.metrics if self._session is not None else self._no_metrics
        return source.snapshot()

    def dead_man_state(self) -> DeadManState | None:
        return self._session.venue.dead_man_state() if self._session is not None else None

    def attach(self) -> None:
        """Listen to the engine (once)."""
        if self._attached or self._session is None:
            return
        self._attached = True
        self.session.reconciler.on_run(self._on_run)
        self.session.stream.on_event(self._on_event)
        if self.alerts is not None:
            self.alerts.on_alert(self._on_alert)
        # the engine's snapshots take the table's records of unchanged orders: one copy
        self.session.ledger.share_orders(self.venue, self.account, self.orders.held_records)

    async def start(self, *, engine: bool = True, stream: bool = True) -> RunOutcome | None:
        """Load what the ledger holds, then start the engine (stream, startup
        reconciliation, periodic loop), the alert timer and the demo strategy."""
        self.attach()
        if self.remote is not None:
            await self._start_remote()
            return None
        self._periodic.start()
        await self.refresh("book", "inbox", "audit", "alerts")
        outcome = None
        if engine:
            self.reconciling = True
            self.run_started.emit("startup")
            self.run_progress.emit("startup reconciliation")
            try:
                outcome = await self.session.start(stream=stream)
            finally:
                self.reconciling = False
            if self.alerts is not None:
                self.alerts.start()
            if self.demo is not None and not self.read_only and not self.session.halted:
                self.session.register_strategy(self.demo)
                self.demo.start()
        self.started = True
        # the rows are in: the collector's full passes leave them be (models.base)
        freeze_long_lived(sum(m.rowCount() for m in (self.orders, self.positions,
                                                      self.fills, self.balances)))
        self.engine_started.emit()
        return outcome

    async def _start_remote(self) -> None:
        """A remote account: read what the ledger holds, then keep reading it."""
        await self.refresh("book", "inbox", "audit", "alerts", "health")
        self._remote_poll.start()
        self.started = True
        self.engine_started.emit()

    async def aclose(self) -> None:
        """Stop the demo, the alert timer and the engine; the ledger is the caller's."""
        self.closing = True  # what the engine says while it stops asks no more reads
        self._periodic.stop()
        self._remote_poll.stop()
        self._debounce.stop()
        first, self._first = self._first, None
        if first is not None:  # a first load never awaited (closed before `start`)
            first.cancel()
            await asyncio.gather(first, return_exceptions=True)
            self._set_book_load(BookLoad.IDLE)  # cancelled before it ran: no `finally`
        loader, self._loader = self._loader, None
        if loader is not None:  # the ledger closes after this: never under a page read
            await loader.stopped()
        if self.demo is not None:
            await self.demo.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        if self._session is not None:
            await self._session.stop()
            self._session.ledger.share_orders(self.venue, self.account, None)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._reads:  # the ledger closes after this: never under a read
            await asyncio.gather(*self._reads, return_exceptions=True)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking ledger read in a worker thread for another part of the window
        (the account summary). `aclose` waits for it: the caller closes the ledger next,
        and a thread still reading a closed ledger may crash the process."""
        return await self._guarded(asyncio.to_thread(fn, *args))

    async def _guarded(self, work: Awaitable[T]) -> T:
        """Await work that reads the ledger in worker threads, as one `aclose` waits
        for (see `read`); refused once the account is closing."""
        if self.closing:
            raise UserFacingError(f"{self.label} is closing.")
        future = asyncio.ensure_future(work)
        self._reads.add(future)
        future.add_done_callback(self._reads.discard)
        return await asyncio.shield(future)

    def say(self, text: str) -> None:
        self.results.append(text)
        log.info("%s", text)
        self.message.emit(text)

    # -- engine listeners (never raise: they run inside the engine) --------------------------

    def _on_run(self, outcome: RunOutcome) -> None:
        try:
            run = outcome.run
            self.venue_orders.from_run(outcome)
            # the run only: its venue open orders (100k rows at scale) are not kept
            self.last_outcome = replace(outcome, venue_open_orders=None) \
                if outcome.venue_open_orders else outcome
            if run.status is RunStatus.OK:
                self.last_ok_at = max(self.last_ok_at or 0, run.finished_at)
            self.run_finished.emit(outcome)
            self.risk_changed.emit()
            self.refresh_soon("book", "inbox", "audit", "alerts", delay_ms=0)
        except Exception:
            log.exception("console: run listener failed")

    def _on_event(self, event: VenueEvent) -> None:
        try:
            self.apply_event(event)
        except Exception:
            log.exception("console: stream listener failed on %s", type(event).__name__)

    def apply_event(self, event: VenueEvent) -> None:
        """Stage what a private-stream event changes (the ledger gets it from the engine's
        stream consumer; the table need not wait for the round trip)."""
        if isinstance(event, OrderEvent):
            seen = event.order
            known = self.orders.latest(seen.ident) or (
                self.orders.latest(f"venue:{seen.venue_order_id}")
                if seen.venue_order_id else None)
            if known is None:
                self.venue_orders.see(seen)  # listed "not in ledger" unless the ledger has it
                self.refresh_soon("orders")  # new to us: the ledger says whose it is
                return
            if seen.updated_at < known.updated_at or (
                    known.status.is_terminal and not seen.status.is_terminal):
                return
            self.orders.upsert([take_venue_view(known, seen)])
        elif isinstance(event, FillEvent):
            self.fills.upsert([event.fill])
        elif isinstance(event, PositionEvent):
            position = event.position
            if position.is_flat:
                self.positions.remove([position.key])
            else:
                self.positions.upsert([position])
        elif isinstance(event, BalanceEvent):
            self.balances.upsert([event.balance])
        elif isinstance(event, ConnectionEvent):
            self.stream_state = event.state
            self.stream_changed.emit(event.state.value)

    async def _on_alert(self, notice: AlertNotice) -> None:
        try:
            alert = notice.alert
            if notice.change is AlertChange.RAISED and alert.severity is Severity.CRITICAL:
                self.notifier.notify(f"Critical alert: {alert.rule}", alert.message)
            self.refresh_soon("alerts")
        except Exception:
            log.exception("console: alert listener failed")

    # -- refreshing (ledger reads off the GUI path) ---------------------------------------

    def refresh_soon(self, *what: str, delay_ms: int = 300) -> None:
        if self.closing:
            return
        self._wanted.update(what)
        if not self._debounce.isActive() or delay_ms < self._debounce.remainingTime():
            self._debounce.start(delay_ms)

    def _refresh_wanted(self) -> None:
        if self.closing:
            return
        if self._refreshing:
            self._debounce.start(100)
            return
        wanted, self._wanted = self._wanted, set()
        if wanted:
            self._spawn(self.refresh(*wanted), "refresh")

    def _spawn(self, coro: Awaitable[None], name: str) -> None:
        async def run() -> None:
            try:
                await coro
            except UserFacingError as exc:
                self.say(str(exc))
            except Exception:
                log.exception("console: %s failed", name)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait for pending refreshes and flush every model (tests, screenshots).

        Bounded by time, not by a count of polls: a refresh already under way (started by
        an operator action, not a tracked task) may take longer than a few polls on a
        loaded machine, and what was asked meanwhile must still be read."""
        deadline = asyncio.get_running_loop().time() + SETTLE_TIMEOUT_S
        while asyncio.get_running_loop().time() < deadline:
            if self._debounce.isActive():
                self._debounce.stop()
                self._refresh_wanted()
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)
                continue
            if not self._wanted and not self._refreshing:
                break
            await asyncio.sleep(0.01)
        for model in (self.orders, self.positions, self.fills, self.balances, self.inbox,
                      self.runs, self.alerts_model, self.audit):
            model.flush()

    async def refresh(self, *what: str) -> None:
        """Re-read parts of the ledger: "book" (= orders, positions, balances, fills),
        "orders", "positions", "balances", "fills", "inbox", "audit", "alerts"."""
        parts = set(what)
        if "book" in parts:
            parts |= {"orders", "positions", "balances", "fills"}
        self._refreshing = True
        try:
            if parts & {"orders", "positions", "balances", "fills"}:
                await self._refresh_book(parts)
            if "inbox" in parts:
                await self._refresh_inbox()
            if "audit" in parts:
                entries = await asyncio.to_thread(self._ledger.audit_log, AUDIT_SHOWN)
                mine = [e for e in entries if not e.venue or (
                    e.venue == self.venue and e.account == self.account)]
                self.audit.replace_all(audit_rows(mine))
            if "alerts" in parts and self.alerts is not None:
                alerts = await (self.alerts.history(200) if self.show_cleared_alerts
                                else self.alerts.active())
                self.alerts_model.replace_all(alerts)
            elif "alerts" in parts and self.remote is not None:
                # the engine's alert engine writes them into the ledger
                self.alerts_model.replace_all(await asyncio.to_thread(
                    self.book.alerts, self.venue, self.account,
                    not self.show_cleared_alerts, 200))
            if "health" in parts and self.remote is not None:
                await self._refresh_health(self.remote)
        finally:
            self._refreshing = False

    async def _refresh_book(self, parts: set[str]) -> None:
        now = self.clock_ms()
        if "orders" in parts:
            await self._refresh_orders(now)
        rest = parts - {"orders"}
        if not rest:
            return
        snap = await asyncio.to_thread(self._read_book, rest, now)
        if "positions" in parts:
            self.positions.replace_all(p for p in snap.positions if not p.is_flat)
        if "balances" in parts:
            self.balances.replace_all(snap.balances)
        if snap.fills is not None:
            self.fills.replace_all(snap.fills)

    async def _refresh_orders(self, now: int) -> None:
        """Read the account's active orders page by page, newest first (the pages grow,
        `ORDERS_PAGE`), in the window's bulk-read thread (`console.ui.read_lane`). Into
        an empty table (the window's first load) each page goes as it arrives, the first
        shown at once (`_first_load`); then the whole read is merged with what the table
        holds in that thread (`_merge_orders`) and staged as one `replace_all`, so that
        no step walks every row on the GUI thread. A re-read keeps the table's record of
        each order that did not change (`_read_orders_page`): one copy of the book at a
        time."""
        model = self.orders
        first, self._first = self._first, None
        if first is not None or (model.rowCount() == 0 and not model.pending):
            listed = await (first if first is not None
                            else self._first_load(self._first_loader()))
        else:
            listed = await self._read_pages(model.latest_records())
        if len(listed) >= ORDERS_PAGE:  # a full first page: more than one page was read
            # an order updated while the pages were read moved above the first page,
            # where no later page looks: read the top again down to where it began
            shown = {} if model.rowCount() == 0 else model.latest_records()
            top, before = listed[0].updated_at, None
            while True:
                page = await in_read_lane(self._read_orders_page, shown, before,
                                          ORDERS_PAGE)
                listed += page  # later in the list wins (`_merge_orders`)
                if len(page) < ORDERS_PAGE or page[-1].updated_at <= top:
                    break
                before = (page[-1].updated_at, page[-1].ident)
        lookup = self.venue_orders.lookup_keys()
        mine = model.latest_records()
        merged, read, known = await in_read_lane(self._merge_orders, listed, mine,
                                                 lookup, now)
        for unlisted in self.venue_orders.unlisted(known):
            key = unlisted.ident
            if key in read:
                continue
            held = mine.get(key)
            merged[key] = held if held is not None and not in_ledger(held) \
                and held.updated_at > unlisted.updated_at else unlisted
        model.replace_all(merged)

    async def _read_pages(self, shown: dict[str, Order]) -> list[Order]:
        """A re-read: every page, one lane call each (other accounts' reads take turns
        between them)."""
        listed: list[Order] = []
        before: tuple[int, str] | None = None
        limit = ORDERS_PAGE
        while True:
            page = await in_read_lane(self._read_orders_page, shown, before, limit)
            listed += page
            if len(page) < limit:
                return listed
            before = (page[-1].updated_at, page[-1].ident)
            limit = grown(limit, MAX_ORDERS_PAGE)

    def prefetch(self) -> None:
        """Start the table's first load now (the window about to show, the loop running):
        its first page is queued in the bulk-read thread at once, so it is read while the
        window paints, and the pages are shown as they come, before the rest of `start`
        runs (`console.ui.first_load`)."""
        if self.remote is None and self._first is None and self.orders.rowCount() == 0 \
                and not self.orders.pending:
            loader = self._first_loader()
            loader.start()
            self._first = asyncio.ensure_future(self._first_load(loader))
            if not self._book_loaded:
                self._set_book_load(BookLoad.FIRST_PAGE)

    def _first_loader(self) -> FirstLoad:
        """A first load of the table, kept until `aclose` has waited for its reading."""
        self._loader = FirstLoad(
            lambda before, limit: self.book.orders_page(
                self.venue, self.account, True, before=before, limit=limit),
            first=ORDERS_PAGE, largest=MAX_ORDERS_PAGE)
        return self._loader

    async def _first_load(self, loader: FirstLoad) -> list[Order]:
        """The first load of the table (`console.ui.first_load`): each page shown as it
        comes, the first at once. Returns every order read. Its progress is
        `book_load`."""
        listed: list[Order] = []
        report = not self._book_loaded  # the window's first load, not an empty re-read
        if report:
            self._set_book_load(BookLoad.FIRST_PAGE)
        try:
            async with contextlib.aclosing(loader.pages()) as pages:
                async for page in pages:
                    self._show_page(page, first=not listed, loaded=len(listed))
                    if report and not listed and len(page) >= ORDERS_PAGE:
                        self._set_book_load(BookLoad.REST)
                    listed += page
        finally:
            self._book_loaded = True
            self._set_book_load(BookLoad.IDLE)
        return listed

    def _set_book_load(self, state: BookLoad) -> None:
        """`book_load` becomes `state`; `book_loading` says so when it changed."""
        if state is not self.book_load:
            self.book_load = state
            self.book_loading.emit()

    def _read_orders_page(self, shown: dict[str, Order], before: tuple[int, str] | None,
                          limit: int) -> list[Order]:
        """Runs in a worker thread: one page, each order that equals the table's record
        replaced by it (the copy just read goes at once, and the table's flush finds it
        unchanged by identity)."""
        page = self.book.orders_page(self.venue, self.account, True, before=before,
                                     limit=limit)
        if not shown:
            return page
        return [held_if_equal(order, shown) for order in page]

    def _show_page(self, page: list[Order], *, first: bool, loaded: int = 0) -> None:
        """One page of the first load into the table (a row the stream brought since,
        newer, stays); the first page at once. `loaded`: the orders of this load shown
        before; while the table holds no other key (nothing came from the stream), the
        page goes in without a look-up per order."""
        model = self.orders
        if model.key_count() == loaded:
            rows = page
        else:
            rows = []
            for order in page:
                held = model.latest(order.ident)
                rows.append(held if held is not None and in_ledger(held)
                            and held.updated_at > order.updated_at else order)
        model.upsert(rows)
        if first:
            model.flush()

    def _merge_orders(self, listed: list[Order], mine: dict[str, Order],
                      lookup: tuple[list[str], list[str]], now: int
                      ) -> tuple[dict[str, Order], set[str], tuple[Order, ...]]:
        """Runs in a worker thread, over immutable records and a copy of the table's
        (`RecordTableModel.latest_records`): the ledger's active orders (`listed`) with
        the orders shown active that it no longer lists (re-read, up to
        `MAX_FINISHED_LOOKUPS`) and the ones that ended within `FINISHED_TTL_MS`, merged
        with the table's (its record stays when newer, a recently finished row stays
        greyed). Returns (key -> order, the keys the ledger gave, the ledger's records of
        the venue's orders seen, for `VenueOrders.unlisted`)."""
        venue, account = self.venue, self.account
        fresh = {o.ident: o for o in listed}
        gone = [k for k, o in mine.items() if o.is_active and k not in fresh]
        for key in gone[:MAX_FINISHED_LOOKUPS]:
            found = self.book.get_order(venue, account, key)
            if found is not None:
                fresh[key] = found
        # orders that ended within the TTL though never shown active (the emergency
        # stop's flattening orders fill at once)
        for order in self.book.finished_orders(venue, account, now - FINISHED_TTL_MS):
            fresh[order.ident] = order
        venue_ids, client_ids = lookup
        known = tuple(self.book.find_orders(venue, account, venue_ids, client_ids)) \
            if venue_ids or client_ids else ()
        read = set(fresh)
        merged: dict[str, Order] = {}
        for key, order in fresh.items():
            held = mine.get(key)
            merged[key] = held if held is not None and in_ledger(held) == in_ledger(order) \
                and held.updated_at > order.updated_at else order
        for key, held in mine.items():
            if key not in read and not held.is_active \
                    and now - held.updated_at < FINISHED_TTL_MS:
                merged[key] = held  # finished recently: keep it visible, greyed
        return merged, read, known

    def _read_book(self, parts: set[str], now: int) -> BookSnapshot:
        """Runs in a worker thread: one hop for the positions, balances and fills."""
        venue, account = self.venue, self.account
        positions = self.book.positions(venue, account) if "positions" in parts else []
        balances = self.book.balances(venue, account) if "balances" in parts else []
        fills = None
        if "fills" in parts:
            fills = self.book.fills(venue, account, now - FILLS_LOOKBACK_MS)[-MAX_FILLS:]
        return BookSnapshot(positions, balances, fills)

    @property
    def _ledger(self) -> LedgerPort:
        """What the inbox and the audit log are read from: the engine's ledger (local),
        the shared one (remote)."""
        return self._session.ledger if self._session is not None else self.book

    async def _refresh_health(self, remote: RemoteOps) -> None:
        health = await asyncio.to_thread(remote.read_health)
        self.health = health
        self.ledger_risk = health.risk
        if health.last_ok_at is not None:
            self.last_ok_at = max(self.last_ok_at or 0, health.last_ok_at)
        self.risk_changed.emit()

    async def _refresh_inbox(self) -> None:
        ledger = self._ledger

        def read() -> InboxSnapshot:
            runs = ledger.list_runs(self.venue, self.account, RUNS_SHOWN)
            pending = ledger.pending_actions(self.venue, self.account)
            by_id = {r.run_id: r for r in runs}
            for run_id in {p[0] for p in pending} - set(by_id):
                run = ledger.load_run(run_id)
                if run is not None:
                    by_id[run_id] = run
            held = []
            for rejection in standing_rejections(ledger, self.venue, self.account):
                run = by_id.get(rejection.run_id) or ledger.load_run(rejection.run_id)
                if run is not None and rejection.index < len(run.actions):
                    held.append(items_for_run(run)[rejection.index])
            return InboxSnapshot(runs, pending_items(pending, by_id), held)

        snap = await asyncio.to_thread(read)
        self.run_history = snap.runs
        self.pending = snap.pending
        self.held = snap.held
        ok = [r.finished_at for r in snap.runs if r.status is RunStatus.OK]
        if ok:
            self.last_ok_at = max(self.last_ok_at or 0, *ok)
        self.runs.replace_all(snap.runs)
        self.inbox_changed.emit()

    def run_items(self, run_id: str | None) -> list[InboxItem]:
        """The inbox rows: awaiting approval (None), the standing rejections (`HELD`) or
        every action of one run."""
        if run_id is None:
            return list(self.pending)
        if run_id == HELD:
            return list(self.held)
        for run in self.run_history:
            if run.run_id == run_id:
                return items_for_run(run)
        return []

    # -- operator actions -------------------------------------------------------------------

    async def reconcile_now(self) -> RunOutcome | None:
        """One manual run, with progress; the result is announced when it is recorded."""
        if self.reconciling:
            self.say("A reconciliation is already running.")
            return None
        if self.remote is not None:
            await self._remote_reconcile()
            return None
        self.reconciling = True
        self.run_started.emit("manual")
        try:
            outcome = await self.session.reconciler.run_once(
                RunTrigger.MANUAL, progress=self.run_progress.emit)
        finally:
            self.reconciling = False
            self.risk_changed.emit()
        run = outcome.run
        waiting = sum(1 for p in run.actions if p.state is ActionState.PENDING
                      and p.decision.value == "needs_approval")
        self.say(f"Reconciliation {run.status.value}: "
                 f"{plural(len(run.discrepancies), 'discrepancy')}, "
                 f"{waiting} awaiting approval ({outcome.duration_ms:.0f} ms)")
        await self.refresh("book", "inbox", "audit", "alerts")
        return outcome

    async def approve(self, items: Sequence[InboxItem]) -> list[tuple[InboxItem, str]]:
        """Approve each awaiting item through the engine's executor; the outcome per item."""
        todo = [i for i in items if i.awaiting]
        if not todo:
            self.say("Nothing selected awaits approval.")
            return []
        venue_items = [i for i in todo if i.changes_venue]
        if venue_items and self.read_only:
            raise UserFacingError("This profile is read-only: venue-changing actions are "
                                  "disabled.")
        if venue_items and not await self.confirmer.confirm(
                f"Approve {plural(len(venue_items), 'venue action')}",
                f"{'This request' if len(venue_items) == 1 else 'These requests'} will be "
                f"sent to {self.identity.badge.value} {self.venue}/{self.account}:",
                [line for i in venue_items for line in approval_effects(i)],
                accept="Approve" if len(venue_items) == 1 else "Approve all"):
            self.say("Approval cancelled.")
            return []
        out = await self._approve(todo)
        await self.refresh("book", "inbox", "audit")
        return out

    async def _approve(self, todo: Sequence[InboxItem]) -> list[tuple[InboxItem, str]]:
        out = []
        operator = self.operator()
        for item in todo:
            if self.remote is not None:
                outcome = await self._command(CommandKind.APPROVE, run_id=item.run_id,
                                              index=str(item.index))
                out.append((item, outcome.result if outcome.done else outcome.text))
                self.say(f"Approve {item.planned.action.summary}: {outcome.text}")
                continue
            try:
                state = await self.session.executor.approve(item.run_id, item.index, operator)
                text = state.value
            except UserFacingError as exc:
                text = f"refused: {exc}"
            out.append((item, text))
            self.say(f"Approved {item.planned.action.summary}: {text}")
        return out

    async def lift(self, items: Sequence[InboxItem]) -> int:
        """"Un-reject" (`row_actions.lift_rejections`; a remote account's engine lifts it
        on command)."""
        if self.remote is None:
            return await lift_rejections(self, items)
        todo = [i for i in items if i.rejected]
        if not todo:
            self.say("Select a rejected action to un-reject.")
            return 0
        done = 0
        for item in todo:
            outcome = await self._command(CommandKind.LIFT_REJECTION, run_id=item.run_id,
                                          index=str(item.index))
            done += outcome.done
            self.say(f"Un-reject {item.planned.action.summary}: {outcome.text}")
        await self.refresh("inbox", "audit")
        return done

    async def reject(self, items: Sequence[InboxItem], reason: str = "") -> int:
        todo = [i for i in items if i.awaiting]
        operator = self.operator()
        done = 0
        for item in todo:
            if self.remote is not None:
                outcome = await self._command(CommandKind.REJECT, run_id=item.run_id,
                                              index=str(item.index),
                                              reason=reason or "rejected in the console")
                done += outcome.done
                self.say(f"Reject {item.planned.action.summary}: {outcome.text}")
                continue
            try:
                await self.session.executor.reject(item.run_id, item.index, operator,
                                                   reason or "rejected in the console")
                done += 1
                self.say(f"Rejected {item.planned.action.summary}")
            except UserFacingError as exc:
                self.say(f"Could not reject {item.planned.action.summary}: {exc}")
        if not todo:
            self.say("Nothing selected awaits approval.")
        await self.refresh("inbox", "audit")
        return done

    def orphan_items(self) -> list[InboxItem]:
        return [i for i in self.pending if i.awaiting
                and i.planned.action.kind is ActionKind.CANCEL_ORDER
                and i.planned.action.reason in ORPHAN_REASONS]

    async def cancel_orphans(self) -> list[tuple[InboxItem, str]]:
        """Approve every pending cancel of an orphan order, after one confirmation that
        lists exactly those orders."""
        if self.read_only:
            raise UserFacingError("This profile is read-only: cancelling is disabled.")
        await self._refresh_inbox()
        items = self.orphan_items()
        if not items:
            self.say("No orphan orders await cancellation.")
            return []
        lines = [order_line(i.planned.action.order) if i.planned.action.order is not None
                 else i.planned.action.summary for i in items]
        if not await self.confirmer.confirm(
                f"Cancel {len(items)} orphan order{'s' if len(items) > 1 else ''}",
                "Exactly these orders will be cancelled on the venue:", lines,
                accept="Cancel these orders"):
            self.say("Cancel orphans: cancelled by the operator; nothing sent.")
            return []
        out = await self._approve(items)
        await self.refresh("book", "inbox", "audit")
        return out

    async def amend(self, order: Order, ask: AmendAsker) -> ReplaceResult | None:
        """Ask for a new price and/or quantity, confirm, then amend first (cancel and
        re-create when the venue or the policy says so): `row_actions.amend_order`."""
        self.refuse_remote("Amend")
        return await amend_order(self, order, ask)

    def refuse_remote(self, what: str) -> None:
        """Refuse, before asking anything, an action that needs the venue connection
        itself on an account whose engine runs elsewhere."""
        if not self.capabilities.venue_direct:
            raise UserFacingError(f"{what}: not available on {self.capabilities.why_not}.")

    # -- a remote account's commands (console.ui.remote) ------------------------------------

    async def _command(self, kind: CommandKind, **arguments: str) -> CommandOutcome:
        """Submit one command for the lease holder and wait for its recorded outcome."""
        remote = self.remote
        if remote is None:
            raise UserFacingError(f"{self.label}: its engine runs in this window")
        outcome = await self._guarded(remote.run(kind, self.operator(), arguments))
        self.last_command = outcome
        return outcome

    def _carried_out(self, outcome: CommandOutcome) -> CommandOutcome:
        """Say the outcome; an error unless the holder says it was done (the window shows
        it as a failed action, never as done)."""
        self.say(outcome.text)
        if not outcome.done:
            raise UserFacingError(outcome.text)
        return outcome

    async def _remote_reconcile(self) -> None:
        self.reconciling = True
        self.risk_changed.emit()
        try:
            outcome = await self._command(CommandKind.RECONCILE_NOW)
        finally:
            self.reconciling = False
            self.risk_changed.emit()
        self.say(f"Reconcile now: {outcome.text}")
        await self.refresh("book", "inbox", "audit", "alerts", "health")

    async def _remote_halt(self) -> bool:
        operator = self.operator()
        outcome = await self._command(CommandKind.HALT,
                                      reason=f"halted from the console by {operator}")
        await self.refresh("audit", "health")
        self._carried_out(outcome)
        return outcome.result == "halted"

    # -- emergency ---------------------------------------------------------------------------

    async def halt(self) -> bool:
        """Open the circuit breaker and stop the strategies; nothing is sent to the venue,
        so it needs no confirmation. False when already halted. A remote account's engine
        halts on command."""
        if self.remote is not None:
            return await self._remote_halt()
        risk = self.session.risk
        operator = self.operator()
        actor = f"emergency:{operator}"
        now = self.clock_ms()
        reason = f"halted from the console by {operator}"
        newly = risk.halt(reason, by=actor, at=now)
        self.risk_changed.emit()
        if not newly:
            self.say("Trading is already halted.")
            return False
        entry = AuditEntry(at=now, actor=actor, action=HALT_ACTION,
                           subject=f"{self.venue}/{self.account}", venue=self.venue,
                           account=self.account,
                           details=evidence(reason=reason, flatten=False, already_halted=False,
                                            cancel="not asked"))
        await asyncio.to_thread(self.session.ledger.append_audit, entry)
        for strategy in self.session.strategies:
            try:
                await asyncio.wait_for(strategy.stop(), STRATEGY_STOP_S)
            except TimeoutError:
                self.say(f"Strategy {strategy.name} did not stop within {STRATEGY_STOP_S:g} s")
        self.say("HALTED: every new order is refused until an operator resumes.")
        await self.refresh("audit")
        return True

    def emergency_effects(self, flatten: bool) -> list[str]:
        active = [o for o in self.orders.records() if o.is_active]
        lines = ["Trading halts: every new order is refused until an operator resumes.",
                 "Every strategy is stopped.",
                 f"Every open order on {self.venue}/{self.account} is cancelled with the "
                 f"venue's bulk cancel ({len(active)} in the ledger):"]
        lines += [f"  cancel {order_line(o)}" for o in active]
        if flatten:
            positions = self.positions.records()
            lines.append(f"Every position is closed at market ({len(positions)} in the "
                         "ledger):")
            lines += [f"  {position_line(p)}" for p in positions]
        lines.append("Then a reconciliation runs and the report lists what is still open.")
        return lines

    async def emergency_stop(self, *, flatten: bool) -> EmergencyReport | None:
        """Cancel everything (and flatten), after one confirmation listing the effects.
        Pressing again while it runs does nothing; afterwards it is safe to run again."""
        if self.emergency_running:
            self.say("The emergency stop is already running.")
            return None
        if self.read_only:
            raise UserFacingError("This profile is read-only: cancel-all and flatten are "
                                  "disabled; Halt still works.")
        what = "Cancel all orders and flatten" if flatten else "Cancel all orders"
        if not await self.confirmer.confirm(
                f"Emergency stop: {what.lower()}", f"{what} on {self.identity.badge.value} "
                f"{self.venue}/{self.account}. This will:", self.emergency_effects(flatten),
                accept=what):
            self.say("Emergency stop not confirmed: nothing sent (the halt, if any, stays).")
            return None
        self.emergency_running = True
        self.risk_changed.emit()
        if self.remote is not None:
            try:
                outcome = await self._command(CommandKind.EMERGENCY_STOP,
                                              flatten="yes" if flatten else "no",
                                              reason=f"{what.lower()} from the console")
            finally:
                self.emergency_running = False
                self.risk_changed.emit()
            await self.refresh("book", "inbox", "audit", "alerts", "health")
            self._carried_out(outcome)
            return None
        try:
            report = await self.session.emergency_stop(flatten=flatten, operator=self.operator(),
                                                       reason=f"{what.lower()} from the console")
        finally:
            self.emergency_running = False
        await self.take_report(report)
        return report

    async def take_report(self, report: EmergencyReport) -> None:
        """Show an emergency stop's report (this account's, or its part of a stop of every
        account) and re-read what it changed."""
        self.last_report = report
        self.emergency_reported.emit(report)
        self.risk_changed.emit()
        # the engine's one headline: what is still open and what was not verified
        cancelled = len(report.cancelled) + len(report.cancelled_unknown)
        self.say(f"Emergency stop: {plural(cancelled, 'order')} cancelled, "
                 f"{plural(len(report.flattened), 'position')} flattened. "
                 f"{headline(report).text}.")
        await self.refresh("book", "inbox", "audit", "alerts")

    async def resume(self) -> ResumeOutcome | None:
        if not await self.confirmer.confirm(
                "Resume trading", "Resume trading on "
                f"{self.identity.badge.value} {self.venue}/{self.account}?",
                ["The circuit breaker closes: new orders are accepted again.",
                 "A desync pause is lifted; the next reconciliation decides afresh.",
                 "Stopped strategies stay stopped until started again."],
                accept="Resume", destructive=False):
            return None
        if self.remote is not None:
            done = await self._command(CommandKind.RESUME)
            await self.refresh("audit", "health")
            self._carried_out(done)
            return None
        outcome = await self.session.resume(self.operator())
        self.risk_changed.emit()
        self.say("Trading resumed." if outcome.changed else "Nothing to resume.")
        await self.refresh("audit")
        return outcome

    # -- plan-only: preview, rehearsal, coverage (nothing applied) --------------------------

    async def preview(self, progress: Callable[[str], None] | None = None
                      ) -> ReconcilePreview:
        """What the next reconciliation would find and do, with nothing applied or
        recorded (`console.engine.preview`); it waits for a running reconciliation."""
        self.refuse_remote("Preview reconcile")
        report = await self._working("Preview reconcile", lambda p: preview_reconcile(
            self.session.reconciler, progress=p), progress)
        self.say(f"Preview reconcile: {plural(len(report.discrepancies), 'discrepancy')}, "
                 f"{plural(len(report.actions), 'planned action')}; nothing applied.")
        return report

    async def rehearse(self, progress: Callable[[str], None] | None = None
                       ) -> RestartRehearsal:
        """What a cold start of this account would do now (`console.engine.rehearsal`),
        with nothing applied."""
        self.refuse_remote("Restart rehearsal")
        report = await self._working("Restart rehearsal", lambda p: rehearse_restart(
            self.session, progress=p), progress)
        self.say(f"Restart rehearsal: {plural(len(report.cancels), 'cancel')}, "
                 f"{plural(len(report.restores), 'bracket')} restored; nothing applied.")
        return report

    async def _working(self, title: str,
                       start: Callable[[Callable[[str], None]], Awaitable[T]],
                       progress: Callable[[str], None] | None) -> T:
        """Run plan-only work with its stages on `work_progress` (a signal: the engine
        may report a stage from a worker thread) until `work_done`."""
        def stage(name: str) -> None:
            self.work_progress.emit(f"{title}: {name}…")
            if progress is not None:
                progress(name)

        self.work_progress.emit(f"{title}…")
        try:
            return await self._guarded(start(stage))
        finally:
            self.work_done.emit()

    async def coverage(self) -> CoverageReport:
        """Coverage and budgets (`console.engine.coverage`): run headers and the coverage
        mark read in worker threads, the budgets from the venue port's memory."""
        self.refuse_remote("Coverage")
        return await self._guarded(account_coverage(self.session.venue, self.session.ledger,
                                                    clock_ms=self.clock_ms))

    # -- alerts ------------------------------------------------------------------------------

    @property
    def can_acknowledge(self) -> bool:
        """Alerts can be acknowledged: by the alert engine here, or by a remote account's
        lease holder on command."""
        return self.alerts is not None or self.remote is not None

    async def acknowledge(self, alerts: Sequence[Alert]) -> int:
        """Acknowledge the active, unacknowledged `alerts`: through the alert engine here,
        or on a remote account as one command each to its lease holder (whose alert
        engine may hold them in memory too), counted only when the holder says done."""
        if self.alerts is None and self.remote is None:
            return 0
        done = 0
        for alert in alerts:
            if alert.is_acknowledged or not alert.is_active:
                continue
            ref: int | str = alert.alert_id if alert.alert_id is not None else alert.key
            if self.remote is not None:
                outcome = await self._command(CommandKind.ACKNOWLEDGE, ref=str(ref))
                done += outcome.done
                self.say(f"Acknowledge {alert.key}: {outcome.text}")
                continue
            assert self.alerts is not None  # checked above
            await self.alerts.acknowledge(ref, self.operator())
            done += 1
        self.say(f"Acknowledged {plural(done, 'alert')}.")
        await self.refresh("alerts", "audit")
        return done

    def set_show_cleared(self, show: bool) -> None:
        self.show_cleared_alerts = show
        self.refresh_soon("alerts", delay_ms=0)

    # -- demo and chaos ----------------------------------------------------------------------

    async def start_demo(self) -> None:
        if self.demo is None:
            return
        if self.session.halted:
            raise UserFacingError("Trading is halted: resume before starting the demo.")
        self.session.register_strategy(self.demo)
        self.demo.start()
        self.say("Demo strategy quoting.")

    async def stop_demo(self) -> None:
        if self.demo is not None:
            await self.demo.stop()
            self.say("Demo strategy stopped.")

    def chaos_action(self, name: str, *args: object) -> str:
        """Run one chaos-menu action on the sim and announce it."""
        if self.chaos is None:
            raise UserFacingError("The chaos menu exists on the embedded sim only.")
        methods: dict[str, Callable[..., str]] = {
            "hand_cancel": self.chaos.hand_cancel, "hand_fill": self.chaos.hand_fill,
            "close_position": self.chaos.close_position,
            "place_lost_order": self.chaos.place_lost_order,
            "drop_private_events": self.chaos.drop_private_events,
            "cut_stream": self.chaos.cut_stream}
        text = methods[name](*args)
        self.say(f"Chaos: {text}")
        self.refresh_soon("book")
        return text

    # -- status ------------------------------------------------------------------------------

    @property
    def label(self) -> str:
        """The account's name in the window (its profile; "embedded sim" for the sim)."""
        return self.identity.profile

    @property
    def trading_mode(self) -> str:
        """TRADING, HALTED (circuit breaker open) or PAUSED (desync: reduce-only)."""
        risk = self.risk
        return "HALTED" if risk.halted else "PAUSED" if risk.paused else "TRADING"

    def active_alerts(self) -> list[Alert]:
        """The alerts still active, as the alerts table holds them."""
        return [a for a in self.alerts_model.records() if a.is_active]

    def alert_age_ms(self) -> int:
        if self.alerts is not None:
            return self.alerts.config.stale_after_ms
        if self._session is None:
            return REMOTE_ALERT_AGE_MS
        return int(max(3 * self._session.reconciler.interval_s, 60) * 1000)

    def alert_ref(self, alert: Alert) -> str:
        return alert_ref(alert)


AccountController = ConsoleController
"""One open account's controller (the window may hold several: `console.ui.workspace`)."""
