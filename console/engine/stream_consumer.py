"""Writes the venue's private stream into the ledger, idempotently, and reacts to
reconnects.

The stream is a hint that keeps the ledger fresh between reconciliations; it is never
trusted to be complete. So:
- fills are inserted by exec id (a duplicate message is a no-op: exactly once);
- an order update applies only if it is not older than what the ledger holds (reordered
  messages cannot roll a FILLED order back to NEW), and keeps the ledger's ownership;
- order updates for orders the ledger does not know are left to the reconciler, which
  adopts them or proposes a cancel with the evidence an operator needs;
- a fill or an order update that names a ledger order in a terminal state is recorded
  (the fill) and, when it contradicts that state (a REJECTED order the venue knows, or
  more filled than the ledger's terminal record says), asks for a reconciliation, which
  asks the venue about the order by id: a terminal record is the ledger's conclusion,
  never a reason to drop the venue's news;
- after a reconnect a reconciliation is requested at once, to repair whatever the gap hid.
Events are drained in batches, one ledger transaction per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from console.domain import LedgerChanges, Order, OrderStatus, Position
from console.domain.events import (
    BalanceEvent,
    ConnectionEvent,
    ConnectionState,
    FillEvent,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.domain.reconciliation import RunTrigger
from console.domain.telemetry import NULL_TELEMETRY, Telemetry
from console.engine.order_manager import take_venue_view
from console.engine.ports import LedgerPort, VenuePort
from console.engine.reconcile_service import ReconcileService

log = logging.getLogger(__name__)

EventListener = Callable[[VenueEvent], None]


@dataclass(frozen=True, slots=True)
class StreamStats:
    events: int
    batches: int
    reconnects: int
    state: ConnectionState


def changes_for(events: list[VenueEvent], known: dict[str, Order]) -> LedgerChanges:
    """Ledger changes for a batch of stream events, against the orders the ledger knows
    (keyed by venue order id and client order id)."""
    orders: dict[str, Order] = {}
    fills = {}
    positions: dict[str, Position] = {}
    removed: set[str] = set()
    balances = {}
    for event in events:
        if isinstance(event, OrderEvent):
            venue_view = event.order
            mine = known.get(venue_view.venue_order_id) or known.get(venue_view.client_order_id)
            if mine is None:
                continue
            current = orders.get(mine.ident, mine)
            if venue_view.updated_at < current.updated_at or (
                    current.status.is_terminal and not venue_view.status.is_terminal):
                continue  # older news, or a reordered message that would reopen the order
            orders[mine.ident] = take_venue_view(current, venue_view)
        elif isinstance(event, FillEvent):
            fills[event.fill.exec_id] = event.fill
        elif isinstance(event, PositionEvent):
            position = event.position
            if position.is_flat:
                positions.pop(position.key, None)
                removed.add(position.key)
            else:
                removed.discard(position.key)
                positions[position.key] = position
        elif isinstance(event, BalanceEvent):
            balances[event.balance.asset] = event.balance
    return LedgerChanges(orders=tuple(orders.values()), fills=tuple(fills.values()),
                         positions=tuple(positions.values()), removed_positions=tuple(removed),
                         balances=tuple(balances.values()))


def _mine(known: dict[str, Order], venue_order_id: str, client_order_id: str) -> Order | None:
    return ((known.get(venue_order_id) if venue_order_id else None)
            or (known.get(client_order_id) if client_order_id else None))


def reopened(events: list[VenueEvent], known: dict[str, Order],
             changes: LedgerChanges) -> list[Order]:
    """Terminal ledger orders that a batch of events contradicts: a REJECTED order the
    venue reports in any other state, or any terminal order that the venue reports (or
    this batch's fills show) filled beyond the ledger's filled quantity. Each needs the
    venue's by-id answer; a reordered message never counts (it fills no more)."""
    updated = {o.ident: o for o in changes.orders}
    out: dict[str, Order] = {}
    filled: dict[str, Decimal] = {}
    for event in events:
        if isinstance(event, OrderEvent):
            view = event.order
            mine = _mine(known, view.venue_order_id, view.client_order_id)
            if mine is None or not mine.status.is_terminal:
                continue
            if ((mine.status is OrderStatus.REJECTED and view.status is not OrderStatus.REJECTED)
                    or view.filled_qty > mine.filled_qty):
                out[mine.ident] = mine
        elif isinstance(event, FillEvent):
            fill = event.fill
            mine = _mine(known, fill.venue_order_id, fill.client_order_id)
            if mine is not None:
                filled[mine.ident] = filled.get(mine.ident, Decimal(0)) + fill.qty
                mine = updated.get(mine.ident, mine)
                if mine.status.is_terminal and (mine.status is OrderStatus.REJECTED
                                                or filled[mine.ident] > mine.filled_qty):
                    out[mine.ident] = mine
    return list(out.values())


class StreamConsumer:
    def __init__(self, venue: VenuePort, ledger: LedgerPort, reconciler: ReconcileService, *,
                 telemetry: Telemetry = NULL_TELEMETRY, max_batch: int = 500) -> None:
        self.venue = venue
        self.ledger = ledger
        self.reconciler = reconciler
        self.telemetry = telemetry
        self.max_batch = max_batch
        self.state = ConnectionState.CONNECTING
        self.events = 0
        self.batches = 0
        self.reconnects = 0
        self._queue: asyncio.Queue[VenueEvent] = asyncio.Queue()
        self._taken = 0  # events off the queue whose batch is being written
        self._tasks: list[asyncio.Task[None]] = []
        self._listeners: list[EventListener] = []
        self._known: dict[str, Order] | None = None
        # The ledger's orders by venue id and client id, kept between batches: reloading
        # every active order per batch costs a full read at 10k orders (measured: the UI's
        # event-loop lag p99 went from 4 ms to 73 ms). Filled on demand: each batch's
        # orders not in it yet are found by one look-up of their ids; dropped after every
        # reconciliation (which rewrites the ledger). Ids the ledger does not hold are
        # remembered until then too. (Loading every active order up front, again after
        # each run, held 100k orders twice over at 100k: ~100 MB, and a full garbage
        # collection walking them stalled the window: bench/ui_load.py.)
        self._strangers: set[tuple[str, str]] = set()
        reconciler.on_run(self._forget)

    def _forget(self, _outcome: object) -> None:
        self._known = None
        self._strangers = set()

    async def _index(self, batch: list[VenueEvent]) -> dict[str, Order]:
        refs = [(e.order.venue_order_id, e.order.client_order_id) for e in batch
                if isinstance(e, OrderEvent)]
        refs += [(e.fill.venue_order_id, e.fill.client_order_id) for e in batch
                 if isinstance(e, FillEvent)]
        venue, account = self.venue.venue, self.venue.account
        known = self._known
        if known is None:
            known = self._known = {}
        misses = {(v, c) for v, c in refs
                  if _mine(known, v, c) is None and (v, c) not in self._strangers}
        if misses:
            found = await asyncio.to_thread(
                self.ledger.find_orders, venue, account, {v for v, _ in misses if v},
                {c for _, c in misses if c})
            for order in found:
                _remember(known, order)
            if len(self._strangers) > _STRANGERS_MAX:
                self._strangers = set()
            self._strangers.update(ref for ref in misses if _mine(known, *ref) is None)
        return known

    def on_event(self, listener: EventListener) -> None:
        self._listeners.append(listener)

    @property
    def stats(self) -> StreamStats:
        return StreamStats(self.events, self.batches, self.reconnects, self.state)

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._pump(), name="stream-pump"),
                       asyncio.create_task(self._write(), name="stream-writer")]

    @property
    def drained(self) -> bool:
        """Every event the stream delivered to this process has been written (or its
        write failed and was logged): nothing is queued or being applied."""
        return self._queue.empty() and not self._taken

    async def drain_and_stop(self, timeout_s: float) -> bool:
        """A clean stop: unsubscribe (no new events), let the writer apply what the stream
        already delivered (bounded by `timeout_s`), then stop. True when it all went in."""
        pump = self._tasks[0] if self._tasks else None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._tasks and not self.drained and loop.time() < deadline:
            await asyncio.sleep(0.005)  # a local condition: the writer's progress
        drained = self.drained
        await self.stop()
        return drained

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _pump(self) -> None:
        stream = self.venue.stream()
        try:
            async for event in stream:
                if isinstance(event, ConnectionEvent):
                    self._on_connection(event)
                else:
                    self._queue.put_nowait(event)
                for listener in self._listeners:
                    listener(event)
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _on_connection(self, event: ConnectionEvent) -> None:
        self.state = event.state
        if event.reconnected:
            self.reconnects += 1
            log.info("private stream reconnected: reconciling now")
            self.reconciler.request(RunTrigger.RECONNECT)

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            self._taken = len(batch)
            try:
                await self._apply(batch)
            except Exception:
                # A batch that cannot be written is not lost for good: the reconciler reads
                # the venue again. Keep consuming so the stream does not back up.
                log.exception("stream: could not write %d events; the next reconciliation "
                              "will repair the ledger", len(batch))
                self.telemetry.count("stream_write_errors")
            finally:
                self._taken = 0

    async def _apply(self, batch: list[VenueEvent]) -> None:
        venue, account = self.venue.venue, self.venue.account
        needs_orders = any(isinstance(e, (OrderEvent, FillEvent)) for e in batch)
        known = await self._index(batch) if needs_orders else {}
        changes = changes_for(batch, known)
        contradicted = reopened(batch, known, changes)
        if not changes.is_empty:
            try:
                await asyncio.to_thread(self.ledger.apply_changes, venue, account, changes)
            except BaseException:
                self._known = None  # the ledger may or may not hold them: read it again
                raise
            if self._known is not None:
                for order in changes.orders:
                    _remember(self._known, order)
        if contradicted:
            log.info("stream: news of %s contradicts the ledger's terminal record; "
                     "reconciling now", ", ".join(o.ident for o in contradicted))
            self.reconciler.request(RunTrigger.STREAM)
        self.events += len(batch)
        self.batches += 1


_STRANGERS_MAX = 10_000


def _remember(known: dict[str, Order], order: Order) -> None:
    if order.venue_order_id:
        known[order.venue_order_id] = order
    if order.client_order_id:
        known[order.client_order_id] = order
