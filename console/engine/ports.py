"""The engine's view of its adapters. Adapters satisfy these structurally (no import).

Venue ports are async and return domain objects. The ledger port is synchronous
(SQLAlchemy); the engine calls it off the event loop with `asyncio.to_thread`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from console.domain import (
    Balance,
    Category,
    Fill,
    LedgerChanges,
    LedgerSnapshot,
    Order,
    Position,
    RunnerState,
)
from console.domain.alerts import Alert
from console.domain.capabilities import DeadManState, RateBudget, VenueCapabilities
from console.domain.events import VenueEvent
from console.domain.reconciliation import ActionState, AuditEntry, PlannedAction, RunRecord
from console.domain.snapshot import FillCoverage


class VenuePort(Protocol):
    """One account on one venue (docs/architecture.md, "The venue port"). Methods raise
    `console.errors.VenueError` subclasses; a malformed venue answer raises
    `MalformedVenueDataError`.

    Every member is required. Optional behaviour is declared in `capabilities`; a member
    whose capability is off still exists and answers in the documented way, so the engine
    branches on declared flags, never on `getattr`, and a wrapper must forward each member
    (the type checker refuses one that does not).
    """

    venue: str
    account: str
    calls: Counter[str]
    """Requests made so far, by method (pages count one each): the run reports the delta."""

    @property
    def capabilities(self) -> VenueCapabilities:
        ...

    @property
    def categories(self) -> tuple[Category, ...]:
        """The categories in scope: what a reconciliation reads and a bulk cancel covers."""
        ...

    def priority(self) -> AbstractContextManager[None]:
        """Requests made inside take the emergency lane (a no-op without `priority_lane`)."""
        ...

    @property
    def priority_calls(self) -> Counter[str]:
        """Requests made in the priority lane (`calls` itself without a lane)."""
        ...

    async def warm_priority_lane(self) -> None:
        """Open the lane's connections ahead of an emergency (a no-op without a lane)."""
        ...

    async def cancel_all_ids(self, category: Category,
                             symbol: str | None = None) -> list[tuple[str, str]]:
        """Bulk cancel answering with the acknowledged (venue id, client id) pairs alone.
        Raises `CapabilityUnsupported` without `bulk_cancel_ids`."""
        ...

    def rate_budget(self) -> RateBudget | None:
        """The venue's last reported rate-limit figures (None without `rate_budget`)."""
        ...

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        """Arm (timeout) or disarm (None) the venue-side cancel-all-on-silence. Raises
        `CapabilityUnsupported` without `dead_man_switch`."""
        ...

    def dead_man_state(self) -> DeadManState | None:
        """How the dead-man's switch stands after the last arm, refresh or disarm (a failed
        refresh in `last_error`); None without `dead_man_switch` or before anything was
        asked of it. Synchronous and from memory: the window reads it every second."""
        ...

    async def fetch_open_orders(self) -> list[Order]:
        """Every open order (active and untriggered) in the configured scope, all pages."""
        ...

    async def fetch_order(self, order: Order) -> Order | None:
        """The venue's current view of `order` (by venue id, else client id); None when the
        venue positively says it does not know it."""
        ...

    async def fetch_fills(self, since: int, until: int) -> list[Fill]:
        """Every fill with since <= exec_time <= until, all pages."""
        ...

    async def fetch_positions(self) -> list[Position]:
        ...

    async def fetch_balances(self) -> list[Balance]:
        ...

    async def place_order(self, order: Order) -> Order:
        ...

    async def amend_order(self, order: Order, *, qty: object = None, price: object = None) -> Order:
        ...

    async def replace_order(self, order: Order, replacement: Order) -> tuple[Order, Order]:
        """Cancel `order` and place `replacement` (its own client id) in one venue request,
        the new order only if the cancel took, and the cancel only while `order` is
        untouched (no fill at all: a fill racing the request refuses it, so that the
        replacement's quantity never adds to a fill). Returns (the original as the venue
        cancelled it, the replacement as placed).

        Raises `ReplaceCancelRefusedError` (nothing changed), `ReplacementRefusedError`
        (cancelled, the new order refused: nothing live), `UnknownOutcomeError` (ask the
        venue for both orders), another `FatalVenueError` (the request was refused whole:
        nothing changed), and `CapabilityUnsupported` without `atomic_replace`."""
        ...

    async def cancel_order(self, order: Order) -> Order:
        ...

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        ...

    async def aclose(self) -> None:
        """Release sockets and worker threads; the port is not used afterwards."""
        ...

    def stream(self) -> AsyncIterator[VenueEvent]:
        """Private events until the iterator is closed. The adapter keeps the connection
        alive itself (reconnecting with backoff) and reports its state as ConnectionEvents;
        a ConnectionEvent with `reconnected=True` means "you missed something"."""
        ...


class LedgerPort(Protocol):
    """The book of record. Reads and writes are set-based; each write is one transaction."""

    def load_snapshot(self, venue: str, account: str, *, now: int, retention_ms: int,
                      fills_from: int) -> LedgerSnapshot:
        ...

    def versioned_snapshot(self, venue: str, account: str, *, now: int, retention_ms: int,
                           fills_from: int) -> tuple[LedgerSnapshot, int]:
        """`load_snapshot` and the book version it reflects, read together: a reconciliation
        reads the ledger while the venue is fetched and compares the version afterwards."""
        ...

    def book_version(self, venue: str, account: str) -> int:
        """A number that moves with every committed write to what a snapshot reads."""
        ...

    def share_orders(self, venue: str, account: str,
                     held: Callable[[], Mapping[str, Order]] | None) -> None:
        """Snapshot reads of (venue, account) hand out the orders `held()` holds (ident ->
        order) in place of equal ones they read, so that a window's table and the
        engine's reconciliation hold one copy of each; None stops it."""
        ...

    def last_exec_time(self, venue: str, account: str) -> int | None:
        """The newest fill's time, for display. The fill back-fill never starts from it:
        a fill the stream recorded says nothing about the ones it dropped before."""
        ...

    def fill_coverage(self, venue: str, account: str) -> int | None:
        """The coverage mark: up to when this account's fill history was verified complete
        against the venue (`FillCoverage`); None before any run's fill fetch succeeded."""
        ...

    def commit_run(self, run: RunRecord, changes: LedgerChanges,
                   coverage: FillCoverage | None = None) -> None:
        """Record the run and apply the ledger changes atomically, and move the coverage
        mark over `coverage` (`FillCoverage.advance`) in the same transaction. A runner
        state written after `run.started_at` is newer than the run's evidence and is not
        replaced."""
        ...

    def apply_changes(self, venue: str, account: str, changes: LedgerChanges) -> None:
        ...

    def set_action_state(self, run_id: str, index: int, state: ActionState, *, by: str,
                         at: int, error: str = "") -> None:
        ...

    def pending_actions(self, venue: str, account: str) -> list[tuple[str, int, PlannedAction]]:
        ...

    def list_runs(self, venue: str, account: str, limit: int = 50) -> list[RunRecord]:
        ...

    def run_headers(self, venue: str, account: str, limit: int = 5000) -> list[RunRecord]:
        """The latest runs, newest first, without discrepancies and actions (cheap)."""
        ...

    def load_run(self, run_id: str) -> RunRecord | None:
        ...

    def append_audit(self, entry: AuditEntry) -> None:
        ...

    def audit_log(self, limit: int = 200, *, venue: str | None = None,
                  account: str | None = None,
                  actions: Collection[str] | None = None) -> list[AuditEntry]:
        ...

    def latest_actions(
        self, venue: str, account: str, keys: Collection[tuple[str, str]],
    ) -> dict[tuple[str, str], tuple[str, int, PlannedAction]]:
        """The newest approval-needing action of each (kind, subject), any state."""
        ...

    def runner_states(self, venue: str, account: str) -> list[RunnerState]:
        ...

    def save_runner_state(self, state: RunnerState) -> None:
        ...

    def next_counter(self, name: str) -> int:
        ...

    def upsert_orders(self, orders: Sequence[Order]) -> None:
        ...

    def orders(self, venue: str, account: str, active_only: bool = False) -> list[Order]:
        ...

    def orders_page(self, venue: str, account: str, active_only: bool = False, *,
                    before: tuple[int, str] | None = None, limit: int = 2000) -> list[Order]:
        """Newest first by (updated_at, ident), at most `limit`, after `before` (the
        previous page's last order's (updated_at, ident)): keyset paging."""
        ...

    def get_order(self, venue: str, account: str, ident: str) -> Order | None:
        """One order by its ledger identity (`Order.ident`)."""
        ...

    def finished_orders(self, venue: str, account: str, since: int,
                        limit: int = 500) -> list[Order]:
        """Orders that ended at or after `since` (by their last update), newest first."""
        ...

    def positions(self, venue: str, account: str) -> list[Position]:
        ...

    def balances(self, venue: str, account: str) -> list[Balance]:
        ...

    def fills(self, venue: str, account: str, since: int | None = None,
              until: int | None = None) -> list[Fill]:
        """Fills with since <= exec_time <= until (either bound may be left open)."""
        ...

    def find_orders(self, venue: str, account: str, venue_order_ids: Collection[str],
                    client_order_ids: Collection[str]) -> list[Order]:
        """The orders with any of these venue ids or client ids, whatever their status, in
        set-based statements."""
        ...

    def upsert_alerts(self, alerts: Sequence[Alert]) -> None:
        """Observations (no `cleared_at`) refresh or open the active alert of their key;
        alerts with `cleared_at` clear it."""
        ...

    def alerts(self, venue: str, account: str, active_only: bool = True,
               limit: int = 1000) -> list[Alert]:
        ...

    def acknowledge_alert(self, ref: int | str, by: str, at: int, *, venue: str = "",
                          account: str = "") -> Alert:
        """By ledger id, or by key ``rule:subject`` (the active alert, within venue/account)."""
        ...
