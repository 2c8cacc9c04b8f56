"""Brackets that survive restarts: one entry with its stop-loss and take-profit, per worker.

THEORY OF OPERATION
===================

Ownership
---------
A `BracketRunner` is one (user, worker). Its `RunnerState` in the ledger holds at most one
bracket (`BracketState`: every id, price, the size, the filled size, when it opened) and
the trade counters. Nothing else writes that row while the runner lives: the runner only
reads and writes its own row, only acts on orders whose ids it minted (its worker token is
in every client id and label), and when two workers share an account neither ever sees
the other's orders or state.

Intent first
------------
Every order is named in the saved bracket *before* it leaves (the entry at `open`, a
protection leg before it is placed), then saved again with the venue's id. A crash at any
point leaves a bracket that the cold-start reconciliation can match: by saved id, then
label, then the role letter of our client id.

Protection as the entry fills
-----------------------------
Protection is placed as the entry fills, never up-front: a reduce-only take-profit limit
is refused (or shrunk) by venues while there is no position to reduce, and a stop sized to
an unfilled order would guard nothing. So the stop-loss (a conditional reduce-only market
order that triggers as the price moves against the position) and the take-profit (a
reduce-only limit) are sized to the *filled* quantity: placed at the first fill, amended as
further fills arrive (if the venue refuses the amend, the resized leg is placed first and
the old one cancelled after, so the position is never without a stop). The window between
a fill and its protection is one round trip; a crash inside it is what the cold start's
"missing protection" outcome repairs.

OCO in the engine
-----------------
The venue has no one-cancels-other here. When either leg fills, the runner cancels the
other one and what is left of the entry; when everything has stopped, the bracket closes:
PnL (exit minus entry average, times the quantity, minus the fees of the bracket's fills)
goes to the counters (total, winning if > 0, losing if < 0, total_pnl as Decimal), and the
saved bracket is cleared. If the fired leg covered less than what filled (an entry fill
raced the resize), the rest is closed with a reduce-only market order.

Evidence
--------
The private stream (via `StreamConsumer.on_event`) brings order and fill updates; every
reconciliation run, a reconnect and the heartbeat make the runner ask the venue for its
legs again, so a lost message costs at most one heartbeat. Reconciliation results are
evidence the runner checks with the venue, not orders it obeys: a run that read the ledger
before the runner's last write cannot overwrite the runner's row (the store's
`commit_run` guards it), and a "closed while away" verdict about a live runner is verified
against the venue's positions first.

Heartbeat
---------
The runner rewrites its state every `heartbeat_s` (a quarter of `worker_idle_ms` by
default): the reconciler treats a runner silent for `worker_idle_ms` as gone, and a gone
worker's resting entry is void.

Cold start
----------
`resume()` runs after the startup reconciliation, which matched the saved bracket against
the venue and planned the five cold-start outcomes (docs/architecture.md, "Orders");
the runner acts on that plan, within policy:

- fully matched: the (restored) bracket is monitored again;
- missing protection: with `venue_actions = auto` the reconciler has re-placed the leg
  (sized to the fill) and the runner adopts it; otherwise the proposal waits in the inbox,
  a critical alert is raised (see `console.engine.alerts`) and the runner adopts the order
  when the operator approves it. The runner never places a leg the plan left to the
  operator;
- entry still open: with `auto` the entry was cancelled and the bracket cleared; otherwise
  the runner is *held*: it leaves the bracket alone and does not heartbeat (so every run
  keeps proposing the cancel) until the operator's decision shows in a later run, or the
  operator keeps the bracket (`release()`);
- closed while away: the bracket is cleared (the orphaned legs' cancels follow policy);
- unknown orders with our prefix: proposals of the reconciler; the runner starts idle.

While it runs, its own orders are its business: OCO cancels, resizing and the close are
strategy actions, not reconciliation actions, and need no approval. A leg that someone
else cancels is different: the runner marks it missing and asks for a reconciliation,
whose policy (and alert) decides; it never re-places a leg it did not lose itself. A
position closed outside the runner (by hand, while away) is not counted as a trade: its
fills cannot be told apart from other workers' on the same symbol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from console.domain import (
    BracketState,
    Category,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Position,
    RunnerState,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.events import ConnectionEvent, FillEvent, OrderEvent, VenueEvent
from console.domain.ids import ClientOrderIdGenerator, bracket_label, parse_client_id
from console.domain.reconciliation import (
    ActionKind,
    ActionState,
    Decision,
    DiscrepancyKind,
    PlannedAction,
    RunRecord,
    RunTrigger,
)
from console.domain.values import ZERO, DomainValueError
from console.engine.order_manager import OrderOutcomeUnknownError, take_venue_view
from console.engine.reconcile_service import RunOutcome
from console.engine.session import EngineSession
from console.errors import TransientVenueError, UserFacingError, VenueError

log = logging.getLogger(__name__)

_PROTECTION = (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)
_ROLE_NAME = {OrderRole.ENTRY: "entry", OrderRole.STOP_LOSS: "stop-loss",
              OrderRole.TAKE_PROFIT: "take-profit", OrderRole.OTHER: "exit"}
_MAX_STEPS = 12
_PLACE_TRIES = 3
_FILL_MARGIN_MS = 60_000


class BracketError(UserFacingError):
    """A bracket operation that cannot be done as asked; the text says why."""


# -- the pure part: what to do next, from the venue's view of the legs ---------------------


@dataclass(frozen=True, slots=True)
class Legs:
    """The venue's latest view of a bracket's orders (our metadata on top).

    `retired` are protection legs replaced by a resize; `exit` closes what a fired leg
    did not cover. Fills of both count as exits.
    """

    entry: Order | None = None
    stop: Order | None = None
    take: Order | None = None
    retired: tuple[Order, ...] = ()
    exit: Order | None = None

    def leg(self, role: OrderRole) -> Order | None:
        if role is OrderRole.ENTRY:
            return self.entry
        return self.stop if role is OrderRole.STOP_LOSS else self.take

    def with_leg(self, role: OrderRole, order: Order | None) -> Legs:
        if role is OrderRole.ENTRY:
            return replace(self, entry=order)
        if role is OrderRole.STOP_LOSS:
            return replace(self, stop=order)
        return replace(self, take=order)

    @property
    def exits(self) -> tuple[Order, ...]:
        """Every order that reduces the bracket's position."""
        return tuple(o for o in (self.stop, self.take, *self.retired, self.exit)
                     if o is not None)

    @property
    def orders(self) -> tuple[Order, ...]:
        return tuple(o for o in (self.entry, *self.exits) if o is not None)


class StepKind(StrEnum):
    PLACE = "place"      # place a protection leg sized to the fill
    AMEND = "amend"      # resize a protection leg to the fill
    CANCEL = "cancel"    # OCO, the rest of the entry, a retired leg
    EXIT = "exit"        # close what the fired leg did not cover
    CLOSE = "close"      # the bracket is over: count the trade, clear the state
    VOID = "void"        # the entry ended without a fill: clear, no trade
    MISSING = "missing"  # a leg ended without a fill while the position is open


@dataclass(frozen=True, slots=True)
class Step:
    kind: StepKind
    role: OrderRole = OrderRole.OTHER
    qty: Decimal | None = None
    order: Order | None = None
    why: str = ""


def filled_of(bracket: BracketState, legs: Legs) -> Decimal:
    """The entry's filled quantity: the venue's view, else the saved one."""
    return legs.entry.filled_qty if legs.entry is not None else bracket.filled_size


def plan_steps(bracket: BracketState, legs: Legs, *,
               missing: Collection[OrderRole] = ()) -> list[Step]:
    """The next steps for a bracket, from the venue's view of its orders. Pure.

    Protection targets the filled quantity; once any exit has filled, the bracket is
    closing: everything unfilled is cancelled, then the trade closes. `missing` are legs
    the runner must not place itself (the reconciler's policy owns them).
    """
    entry = legs.entry
    filled = filled_of(bracket, legs)
    exits = legs.exits
    exited = sum((o.filled_qty for o in exits), ZERO)
    if exited > 0:
        steps = [Step(StepKind.CANCEL, OrderRole.ENTRY, order=entry,
                      why="a protection leg filled: no more entry")
                 ] if entry is not None and entry.is_active else []
        steps += [Step(StepKind.CANCEL, o.role, order=o, why="one-cancels-other")
                  for o in exits if o.is_active and o.filled_qty == 0]
        if steps or any(o.is_active for o in exits):
            return steps  # wait for the cancels, or for the fired leg to finish
        rest = filled - exited
        if rest > 0 and legs.exit is None:
            fired = next(o for o in exits if o.filled_qty > 0)
            return [Step(StepKind.EXIT, fired.role, qty=rest,
                         why=f"{fired.role.value} covered {exited} of {filled}")]
        return [Step(StepKind.CLOSE, why="every order of the bracket has ended")]
    if entry is not None and not entry.is_active and filled == 0:
        steps = [Step(StepKind.CANCEL, o.role, order=o, why="the entry ended without a fill")
                 for o in exits if o.is_active]
        return steps or [Step(StepKind.VOID, why=f"entry {entry.status.value} without a fill")]
    steps = [Step(StepKind.CANCEL, o.role, order=o, why="replaced by a resized leg")
             for o in legs.retired if o.is_active and o.filled_qty == 0]
    if filled == 0:
        return steps
    for role, price in ((OrderRole.STOP_LOSS, bracket.stop_price),
                        (OrderRole.TAKE_PROFIT, bracket.take_profit_price)):
        if price is None:
            continue
        leg = legs.leg(role)
        if leg is None:
            if role not in missing:
                steps.append(Step(StepKind.PLACE, role, qty=filled, why=f"{filled} filled"))
        elif leg.is_active:
            if leg.qty != filled:
                steps.append(Step(StepKind.AMEND, role, qty=filled, order=leg,
                                  why=f"{filled} filled, leg holds {leg.qty}"))
        elif role not in missing:
            steps.append(Step(StepKind.MISSING, role, order=leg,
                              why=f"{_ROLE_NAME[role]} {leg.status.value} without a fill"))
    return steps


@dataclass(frozen=True, slots=True)
class Trade:
    """A closed bracket, as counted."""

    symbol: str
    side: Side
    qty: Decimal
    entry_price: Decimal | None
    exit_price: Decimal | None
    gross_pnl: Decimal
    fees: Decimal
    pnl: Decimal
    closed_at: int


def _vwap(fills: Sequence[Fill]) -> Decimal | None:
    qty = sum((f.qty for f in fills), ZERO)
    if qty == 0:
        return None
    return sum((f.price * f.qty for f in fills), ZERO) / qty


def _fills_of(order: Order, fills: Sequence[Fill]) -> list[Fill]:
    return [f for f in fills
            if (order.venue_order_id and f.venue_order_id == order.venue_order_id)
            or (order.client_order_id and f.client_order_id == order.client_order_id)]


def trade_of(bracket: BracketState, legs: Legs, fills: Sequence[Fill], now: int) -> Trade:
    """The closed trade's PnL: each exit's average against the entry's, minus every fee
    of the bracket's fills (the venue's average prices first, fills where it has none)."""
    entry = legs.entry
    entry_avg = None
    if entry is not None:
        entry_avg = entry.avg_price or _vwap(_fills_of(entry, fills))
    if entry_avg is None:
        entry_avg = bracket.entry_price
    inverse = bracket.category is Category.INVERSE
    gross = ZERO
    qty = ZERO
    value = ZERO
    for order in legs.exits:
        if order.filled_qty <= 0:
            continue
        exit_avg = order.avg_price or _vwap(_fills_of(order, fills))
        if exit_avg is None or entry_avg is None or exit_avg <= 0 or entry_avg <= 0:
            continue
        if inverse:
            # quantity in USD contracts, PnL in the coin: qty * (1/entry - 1/exit) for a
            # long (the venue's fees on an inverse contract are in the coin too)
            gross += order.filled_qty * (1 / entry_avg - 1 / exit_avg) * bracket.side.sign
            value += order.filled_qty / exit_avg  # coins: the exit average is harmonic
        else:
            gross += (exit_avg - entry_avg) * order.filled_qty * bracket.side.sign
            value += exit_avg * order.filled_qty
        qty += order.filled_qty
    mine = {f.exec_id: f for o in legs.orders for f in _fills_of(o, fills)}
    fees = sum((f.fee for f in mine.values()), ZERO)
    exit_price = None
    if qty:
        exit_price = qty / value if inverse else value / qty
    return Trade(symbol=bracket.symbol, side=bracket.side, qty=qty, entry_price=entry_avg,
                 exit_price=exit_price, gross_pnl=gross, fees=fees, pnl=gross - fees,
                 closed_at=now)


def counted(state: RunnerState, trade: Trade) -> RunnerState:
    """The counters after one closed trade (break-even counts as neither win nor loss)."""
    return replace(
        state, bracket=None, total_trades=state.total_trades + 1,
        winning_trades=state.winning_trades + (1 if trade.pnl > 0 else 0),
        losing_trades=state.losing_trades + (1 if trade.pnl < 0 else 0),
        total_pnl=state.total_pnl + trade.pnl,
        last_execution_time=max(state.last_execution_time, trade.closed_at))


# -- resume ---------------------------------------------------------------------------------


class ResumeOutcome(StrEnum):
    IDLE = "idle"                                # nothing saved: ready to open
    RESTORED = "restored"                        # matched: monitoring again
    PROTECTION_RESTORED = "protection_restored"  # the missing legs were re-placed (auto)
    PROTECTION_PENDING = "protection_pending"    # missing legs wait for the operator
    HELD = "held"                                # void entry: its cancel waits for the operator
    CLEARED = "cleared"                          # the startup run cleared the bracket


@dataclass(frozen=True, slots=True)
class ResumeReport:
    outcome: ResumeOutcome
    bracket: BracketState | None
    actions: tuple[PlannedAction, ...] = ()
    """The startup run's actions concerning this worker, as they stood."""
    notes: tuple[str, ...] = ()


@dataclass
class _Refresh:
    """Ask the venue about the legs (heartbeat, reconnect); `positions` as well."""

    positions: bool = False


@dataclass
class _Views:
    legs: Legs = field(default_factory=Legs)
    missing: set[OrderRole] = field(default_factory=set)
    fills: dict[str, Fill] = field(default_factory=dict)


# -- the runner -------------------------------------------------------------------------------


class BracketRunner:
    """One (user, worker)'s bracket on one session's account. Satisfies `Strategy`.

    Call `resume()` once the session's startup reconciliation has run (`open` does it
    if you did not); then `open` brackets, one at a time. `stop()` ends the tasks; the
    saved state stays for the next `resume()`.
    """

    def __init__(self, session: EngineSession, user_id: str, worker_id: str, *,
                 heartbeat_s: float | None = None, fill_wait_s: float = 1.0) -> None:
        if not user_id:
            raise BracketError("a bracket runner needs a user id")
        try:
            ids = session.ids if session.ids.worker == worker_id else ClientOrderIdGenerator(
                session.config.our_prefix, worker_id,
                lambda: session.ledger.next_counter("client_order_id"),
                session.reconciler.clock_ms)
            bracket_label(session.config.our_prefix, "x", worker_id, OrderRole.ENTRY)
        except DomainValueError as exc:
            raise BracketError(f"worker {worker_id!r}: {exc}") from None
        self.session = session
        self.user_id = user_id
        self.worker_id = worker_id
        self.name = f"brackets:{user_id}/{worker_id}"
        self.ids = ids
        self.clock_ms = session.reconciler.clock_ms
        self.venue_name = session.venue.venue
        self.account = session.venue.account
        idle_ms = session.config.worker_idle_ms
        self.heartbeat_s = heartbeat_s if heartbeat_s is not None else max(idle_ms / 4000, 0.05)
        self.fill_wait_s = fill_wait_s
        self.state = RunnerState(user_id, worker_id, self.venue_name, self.account)
        self.held = False
        self.last_trade: Trade | None = None
        self._v = _Views()
        self._lock = asyncio.Lock()
        self._queue: asyncio.Queue[Order | RunOutcome | _Refresh] = asyncio.Queue()
        self._pending = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._settled = False
        self._stopped = False

    # -- public view ---------------------------------------------------------------------

    @property
    def bracket(self) -> BracketState | None:
        return self.state.bracket

    @property
    def legs(self) -> Legs:
        return self._v.legs

    @property
    def missing(self) -> frozenset[OrderRole]:
        """Protection legs the position lacks and the runner leaves to the reconciler."""
        return frozenset(self._v.missing)

    @property
    def subject(self) -> str:
        return f"{self.user_id}/{self.worker_id}"

    # -- lifecycle -------------------------------------------------------------------------

    async def resume(self, outcome: RunOutcome | None = None) -> ResumeReport:
        """Act on the startup reconciliation (run it if this session has not) and start
        monitoring. See the module doc for what each cold-start outcome leads to."""
        if self._stopped:
            raise BracketError(f"{self.name} is stopped")
        if outcome is None:
            outcome = self.session.reconciler.last_outcome
        if outcome is None:
            outcome = await self.session.reconciler.run_once(RunTrigger.STARTUP)
        async with self._lock:
            report = await self._settle(outcome.run)
            if not self.held and self.bracket is not None:
                await self._step()
        self._settled = True
        self._start_tasks()
        log.info("%s resumed: %s%s", self.name, report.outcome.value,
                 "".join(f"; {n}" for n in report.notes))
        return report

    async def release(self) -> ResumeReport:
        """The operator keeps a held bracket: the runner takes it back under management
        (monitoring, heartbeat), so the next run no longer treats its entry as void."""
        async with self._lock:
            if not self.held or self.bracket is None:
                raise BracketError(f"{self.name} is not held")
            self.held = False
            await self._load_legs(self.bracket)
            await self._save()
            await self._step()
            report = ResumeReport(ResumeOutcome.RESTORED, self.bracket,
                                  notes=("released by the operator",))
        self._start_tasks()
        log.info("%s: held bracket released by the operator", self.name)
        return report

    async def stop(self, timeout_s: float = 3.0) -> None:
        """Stop monitoring (idempotent). Orders and saved state stay as they are.

        The update being handled is finished first (bounded by `timeout_s`): cancelling it
        half-way could drop the write of a close that has already happened.
        """
        self._stopped = True
        tasks, self._tasks = self._tasks, []
        acquired = False
        try:
            async with asyncio.timeout(timeout_s):
                await self._lock.acquire()
            acquired = True
        except TimeoutError:
            log.warning("%s: still busy after %s s; stopping anyway", self.name, timeout_s)
        try:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        finally:
            if acquired:
                self._lock.release()

    def _start_tasks(self) -> None:
        if self._tasks or self._stopped:
            return
        self._tasks = [asyncio.create_task(self._work(), name=f"{self.name}:work"),
                       asyncio.create_task(self._heartbeat(), name=f"{self.name}:heartbeat")]

    async def settle(self, timeout_s: float = 5.0) -> None:
        """Wait until every queued update has been handled (for tests and tools)."""
        async with asyncio.timeout(timeout_s):
            while self._pending:
                await asyncio.sleep(0.01)
            async with self._lock:
                pass

    def _enqueue(self, item: Order | RunOutcome | _Refresh) -> None:
        self._pending += 1
        self._queue.put_nowait(item)

    # -- listeners (registered by attach_brackets) -----------------------------------------

    def on_stream(self, event: VenueEvent) -> None:
        """StreamConsumer listener: called on the loop for every event; never raises."""
        if self._stopped:
            return
        try:
            if isinstance(event, OrderEvent):
                if self._concerns(event.order):
                    self._enqueue(event.order)
            elif isinstance(event, FillEvent):
                fill = event.fill
                if any(_fills_of(o, (fill,)) for o in self._v.legs.orders):
                    self._v.fills[fill.exec_id] = fill
            elif isinstance(event, ConnectionEvent) and event.reconnected:
                self._enqueue(_Refresh(positions=True))
        except Exception:
            log.exception("%s: stream event dropped", self.name)

    def on_run(self, outcome: RunOutcome) -> None:
        """ReconcileService listener: every run is evidence to check."""
        if not self._stopped and self._settled:
            self._enqueue(outcome)

    def _concerns(self, order: Order) -> bool:
        for mine in self._v.legs.orders:
            if (order.venue_order_id and order.venue_order_id == mine.venue_order_id) or (
                    order.client_order_id and order.client_order_id == mine.client_order_id):
                return True
        return self._adoptable(order) is not None

    def _adoptable(self, order: Order) -> OrderRole | None:
        """The role of a live protection order of this worker that could fill a missing
        leg (placed by the reconciler on the operator's approval, or a retry)."""
        bracket = self.bracket
        if bracket is None or not order.is_active:
            return None
        parsed = parse_client_id(order.client_order_id) if order.client_order_id else None
        if parsed is None or parsed.prefix != self.ids.prefix or parsed.worker != self.worker_id:
            return None
        if parsed.role not in _PROTECTION or order.symbol != bracket.symbol \
                or order.category is not bracket.category \
                or order.side is not bracket.side.opposite:
            return None
        legs = self._v.legs
        if any(o.filled_qty > 0 for o in legs.exits):
            return None  # the bracket is closing: nothing is added to it
        leg = legs.leg(parsed.role)
        if leg is not None and (leg.is_active or leg.filled_qty > 0):
            return None
        return parsed.role

    # -- the loops -------------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._lock:
                    for item in batch:
                        if isinstance(item, Order):
                            await self._absorb(item)
                        elif isinstance(item, _Refresh):
                            await self._refresh(positions=item.positions)
                        else:
                            await self._on_outcome(item.run)
                    if not self.held and self.bracket is not None:
                        await self._step()
            except Exception:
                # One bad update must not end the monitoring of a live position.
                log.exception("%s: handling %d updates failed; the next heartbeat retries",
                              self.name, len(batch))
            finally:
                self._pending -= len(batch)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            try:
                async with self._lock:
                    if not self.held:
                        await self._save()
                if self.bracket is not None and not self.held:
                    self._enqueue(_Refresh())
            except Exception:
                log.exception("%s: heartbeat failed", self.name)

    # -- open --------------------------------------------------------------------------------

    async def open(self, strategy_id: str, symbol: str, side: Side, qty: Decimal,  # noqa: PLR0917
                   entry_price: Decimal | None, stop_price: Decimal,
                   take_profit_price: Decimal,
                   category: Category = Category.LINEAR) -> BracketState:
        """Place an entry (limit at `entry_price`, or market when None) whose fills are
        protected by a stop-loss and a take-profit. Returns once the bracket is saved and
        tracked; raises only when the entry was refused (nothing then stays saved)."""
        if not self._settled:
            await self.resume()
        async with self._lock:
            self._check_can_open(side, qty, entry_price, stop_price, take_profit_price)
            try:
                label = bracket_label(self.ids.prefix, strategy_id, self.worker_id,
                                      OrderRole.ENTRY)
            except DomainValueError as exc:
                raise BracketError(str(exc)) from None
            leftovers = [o for o in await asyncio.to_thread(
                self.session.ledger.orders, self.venue_name, self.account, True)
                if o.worker_id == self.worker_id and o.symbol == symbol
                and o.category is category]
            if leftovers:
                raise BracketError(
                    f"{self.name}: {len(leftovers)} orders of this worker are still active on "
                    f"{symbol} ({', '.join(o.ident for o in leftovers[:3])}); settle them "
                    "(inbox) before opening a bracket there")
            client_id = await asyncio.to_thread(self.ids.next, OrderRole.ENTRY)
            now = self.clock_ms()
            bracket = BracketState(
                strategy_id=strategy_id, category=category, symbol=symbol, side=side, size=qty,
                entry_client_id=client_id, entry_price=entry_price, stop_price=stop_price,
                take_profit_price=take_profit_price, opened_at=now)
            market = entry_price is None
            entry = Order(
                venue=self.venue_name, account=self.account, category=category, symbol=symbol,
                side=side, type=OrderType.MARKET if market else OrderType.LIMIT, qty=qty,
                status=OrderStatus.PENDING_NEW, client_order_id=client_id, price=entry_price,
                time_in_force=TimeInForce.IOC if market else TimeInForce.GTC,
                strategy_id=strategy_id, worker_id=self.worker_id, role=OrderRole.ENTRY,
                origin=Origin.OURS, label=label, created_at=now, updated_at=now)
            self._v = _Views(legs=Legs(entry=entry))
            self.state = replace(self.state, bracket=bracket)
            await self._save()  # intent first: the bracket exists before its entry leaves
            try:
                placed = await self.session.orders.place(entry)
            except (OrderOutcomeUnknownError, TransientVenueError) as exc:
                # It may be live: the bracket stays saved and tracked; the next refresh asks
                # the venue by client id (and voids it if the venue never saw it).
                log.warning("%s: entry %s outcome unknown (%s); tracking it", self.name,
                            client_id, exc)
                self._start_tasks()
                return bracket
            except UserFacingError:
                self._v = _Views()
                self.state = replace(self.state, bracket=None)
                await self._save()
                raise
            await self._set_leg(OrderRole.ENTRY, placed)
            await self._step()
            return self.bracket or bracket

    def _check_can_open(self, side: Side, qty: Decimal, entry_price: Decimal | None,
                        stop_price: Decimal, take_profit_price: Decimal) -> None:
        if self._stopped:
            raise BracketError(f"{self.name} is stopped")
        if self.held:
            raise BracketError(f"{self.name} is held: its saved bracket waits for the "
                               "operator's decision in the inbox")
        if self.bracket is not None:
            raise BracketError(f"{self.name} already holds a bracket on {self.bracket.symbol}")
        for name, value in (("qty", qty), ("stop_price", stop_price),
                            ("take_profit_price", take_profit_price), ("entry_price", entry_price)):
            if value is not None and (not isinstance(value, Decimal) or not value.is_finite()
                                      or value <= 0):
                raise BracketError(f"{name} {value!r} must be a Decimal above zero")
        low, high = (stop_price, take_profit_price) if side is Side.BUY \
            else (take_profit_price, stop_price)
        if not low < high:
            raise BracketError(f"a {'long' if side is Side.BUY else 'short'} bracket needs the "
                               f"stop {'below' if side is Side.BUY else 'above'} the take-profit")
        if entry_price is not None and not low < entry_price < high:
            raise BracketError(f"entry {entry_price} must lie between the stop-loss and the "
                               "take-profit")

    # -- acting ------------------------------------------------------------------------------

    async def _step(self) -> None:
        """Plan and act until nothing is left to do (bounded; a step that makes no
        progress ends the round: the next event or heartbeat tries again)."""
        done: set[tuple[StepKind, OrderRole, str]] = set()
        for _ in range(_MAX_STEPS):
            bracket = self.bracket
            if bracket is None:
                return
            await self._note_fill(bracket)
            steps = plan_steps(bracket, self._v.legs, missing=self._v.missing)
            if not steps:
                return
            step = steps[0]
            key = (step.kind, step.role, step.order.ident if step.order is not None else "")
            if key in done:
                return
            done.add(key)
            await self._do(step)

    async def _do(self, step: Step) -> None:
        log.info("%s: %s %s (%s)", self.name, step.kind.value, _ROLE_NAME[step.role], step.why)
        if step.kind is StepKind.PLACE:
            assert step.qty is not None
            await self._place_leg(step.role, step.qty)
        elif step.kind is StepKind.AMEND:
            assert step.qty is not None and step.order is not None
            await self._resize_leg(step.role, step.order, step.qty)
        elif step.kind is StepKind.CANCEL:
            assert step.order is not None
            await self._cancel(step.order)
        elif step.kind is StepKind.EXIT:
            assert step.qty is not None
            await self._exit_rest(step.role, step.qty)
        elif step.kind is StepKind.MISSING:
            self._v.missing.add(step.role)
            log.critical("%s: %s %s: the position is missing protection; asking the "
                         "reconciler (its policy places it, or the operator)", self.name,
                         _ROLE_NAME[step.role], step.why)
            self.session.reconciler.request(RunTrigger.MANUAL)
        elif step.kind is StepKind.CLOSE:
            await self._close()
        else:
            await self._finish(None, "entry ended without a fill")

    async def _note_fill(self, bracket: BracketState) -> None:
        """Keep the saved filled size (and a market entry's price) in step with the venue."""
        entry = self._v.legs.entry
        if entry is None or entry.filled_qty == bracket.filled_size:
            return
        changes: dict[str, object] = {"filled_size": entry.filled_qty}
        if bracket.entry_price is None and entry.avg_price is not None:
            changes["entry_price"] = entry.avg_price
        self.state = replace(self.state, bracket=replace(bracket, **changes))  # type: ignore[arg-type]
        await self._save()

    def _label(self, strategy_id: str, role: OrderRole) -> str:
        try:
            return bracket_label(self.ids.prefix, strategy_id, self.worker_id, role)
        except DomainValueError:
            return ""  # a strategy id that is not label-safe (saved by an older version)

    def _protection(self, role: OrderRole, qty: Decimal, client_id: str,
                    venue_order_id: str = "") -> Order:
        bracket = self.bracket
        assert bracket is not None
        long = bracket.side is Side.BUY
        now = self.clock_ms()
        common = {
            "venue": self.venue_name, "account": self.account, "category": bracket.category,
            "symbol": bracket.symbol, "side": bracket.side.opposite, "qty": qty,
            "status": OrderStatus.PENDING_NEW, "client_order_id": client_id,
            "venue_order_id": venue_order_id, "reduce_only": True,
            "strategy_id": bracket.strategy_id, "worker_id": self.worker_id, "role": role,
            "origin": Origin.OURS, "label": self._label(bracket.strategy_id, role),
            "created_at": now, "updated_at": now,
        }
        if role is OrderRole.STOP_LOSS:
            return Order(type=OrderType.MARKET, trigger_price=bracket.stop_price,
                         trigger_direction=TriggerDirection.FALL if long
                         else TriggerDirection.RISE,
                         time_in_force=TimeInForce.GTC, **common)  # type: ignore[arg-type]
        return Order(type=OrderType.LIMIT, price=bracket.take_profit_price,
                     time_in_force=TimeInForce.GTC, **common)  # type: ignore[arg-type]

    async def _send(self, order: Order) -> Order:
        """Place with retries on transient errors, always under the same client id (a
        duplicate is refused by the venue and resolved by the order manager)."""
        for attempt in range(_PLACE_TRIES):
            try:
                return await self.session.orders.place(order)
            except TransientVenueError as exc:
                if attempt == _PLACE_TRIES - 1:
                    raise
                log.warning("%s: place %s: %s; retrying", self.name, order.client_order_id, exc)
                await asyncio.sleep(0.1 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _place_leg(self, role: OrderRole, qty: Decimal) -> Order | None:
        client_id = await asyncio.to_thread(self.ids.next, role)
        order = self._protection(role, qty, client_id)
        await self._set_leg(role, order)  # intent first
        try:
            placed = await self._send(order)
        except (OrderOutcomeUnknownError, TransientVenueError) as exc:
            log.warning("%s: %s %s outcome unknown (%s); asking again at the next heartbeat",
                        self.name, _ROLE_NAME[role], client_id, exc)
            return order  # it may be live: tracked as sent, the refresh settles it
        except UserFacingError as exc:
            log.error("%s: %s %s refused: %s", self.name, _ROLE_NAME[role], client_id, exc)
            await self._set_leg(role, order.evolve(status=OrderStatus.REJECTED,
                                                   updated_at=self.clock_ms()))
            return None
        await self._set_leg(role, placed)
        return placed if placed.is_active or placed.filled_qty > 0 else None

    async def _resize_leg(self, role: OrderRole, leg: Order, qty: Decimal) -> None:
        try:
            amended = await self.session.orders.amend(leg, qty=qty)
        except UserFacingError as exc:
            log.warning("%s: amend %s to %s refused (%s); replacing it", self.name,
                        leg.ident, qty, exc)
        else:
            await self._set_leg(role, amended)
            return
        seen = await self._ask(leg)
        if seen is not None:
            await self._set_leg(role, seen)
            if not seen.is_active or seen.filled_qty > 0 or seen.qty == qty:
                return  # it fired or ended meanwhile: plan again from that
        # Protection first: the resized leg goes out before the old one is cancelled.
        old = self._v.legs.leg(role) or leg
        placed = await self._place_leg(role, qty)
        if placed is None:
            await self._set_leg(role, old)  # keep the undersized leg rather than none
            return
        self._v.legs = replace(self._v.legs, retired=(*self._v.legs.retired, old))

    async def _cancel(self, order: Order) -> None:
        seen, error = await self.session.orders.cancel(order)
        if seen is not None:
            await self._absorb(seen)
        if error:
            log.warning("%s: cancel %s: %s", self.name, order.ident, error)

    async def _exit_rest(self, role: OrderRole, qty: Decimal) -> None:
        bracket = self.bracket
        assert bracket is not None
        client_id = await asyncio.to_thread(self.ids.next, role)
        now = self.clock_ms()
        order = Order(
            venue=self.venue_name, account=self.account, category=bracket.category,
            symbol=bracket.symbol, side=bracket.side.opposite, type=OrderType.MARKET, qty=qty,
            status=OrderStatus.PENDING_NEW, client_order_id=client_id, reduce_only=True,
            time_in_force=TimeInForce.IOC, strategy_id=bracket.strategy_id,
            worker_id=self.worker_id, role=role, origin=Origin.OURS, created_at=now,
            updated_at=now)
        self._v.legs = replace(self._v.legs, exit=order)
        try:
            placed = await self._send(order)
        except UserFacingError as exc:
            log.error("%s: closing the uncovered %s failed: %s", self.name, qty, exc)
            placed = order.evolve(status=OrderStatus.REJECTED, updated_at=self.clock_ms())
        self._v.legs = replace(self._v.legs, exit=placed)

    async def _close(self) -> None:
        bracket = self.bracket
        assert bracket is not None
        fills = await self._bracket_fills(wait=True)
        trade = trade_of(bracket, self._v.legs, fills, self.clock_ms())
        closed_at = max((f.exec_time for f in fills), default=trade.closed_at)
        await self._finish(replace(trade, closed_at=closed_at), "closed")

    async def _finish(self, trade: Trade | None, why: str) -> None:
        bracket = self.bracket
        if trade is not None:
            self.state = counted(self.state, trade)
            self.last_trade = trade
            log.info("%s: bracket %s closed: %s %s, pnl %s (fees %s)", self.name,
                     bracket.symbol if bracket else "?", trade.qty, trade.side.value,
                     trade.pnl, trade.fees)
        else:
            self.state = replace(self.state, bracket=None)
            log.info("%s: bracket cleared (%s)", self.name, why)
        self._v = _Views()
        await self._save()

    async def _bracket_fills(self, *, wait: bool) -> list[Fill]:
        """The bracket's fills: from the stream, and from the ledger (which the stream and
        the reconciler write). Waits up to `fill_wait_s` for the exits' fills to be in."""
        bracket = self.bracket
        assert bracket is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.fill_wait_s if wait else 0)
        while True:
            known = dict(self._v.fills)
            stored = await asyncio.to_thread(self.session.ledger.fills, self.venue_name,
                                             self.account, bracket.opened_at - _FILL_MARGIN_MS)
            for fill in stored:
                known.setdefault(fill.exec_id, fill)
            fills = [f for f in known.values()
                     if any(_fills_of(o, (f,)) for o in self._v.legs.orders)]
            complete = all(sum((f.qty for f in _fills_of(o, fills)), ZERO) >= o.filled_qty
                           for o in self._v.legs.orders)
            if complete or loop.time() >= deadline:
                return fills
            await asyncio.sleep(0.05)

    # -- evidence ----------------------------------------------------------------------------

    async def _absorb(self, view: Order) -> None:
        """A venue view of one of our orders (or an adoptable protection order)."""
        legs = self._v.legs
        for role in (OrderRole.ENTRY, *_PROTECTION):
            mine = legs.leg(role)
            if mine is not None and _same(mine, view):
                await self._set_leg(role, _merge(mine, view))
                return
        for index, mine in enumerate(legs.retired):
            if _same(mine, view):
                retired = list(legs.retired)
                retired[index] = _merge(mine, view)
                self._v.legs = replace(legs, retired=tuple(retired))
                return
        if legs.exit is not None and _same(legs.exit, view):
            self._v.legs = replace(legs, exit=_merge(legs.exit, view))
            return
        adoptable = self._adoptable(view)
        if adoptable is not None:
            await self._adopt(adoptable, view)

    async def _adopt(self, role: OrderRole, order: Order) -> bool:
        """Take a live protection order of this worker as the missing leg."""
        bracket = self.bracket
        if bracket is None:
            return False
        seen = await self._ask(order) or order
        if not seen.is_active or self._adoptable(seen) is not role:
            return False
        ours = seen.evolve(strategy_id=bracket.strategy_id, worker_id=self.worker_id,
                           role=role, origin=Origin.OURS,
                           label=order.label or self._label(bracket.strategy_id, role))
        await self._set_leg(role, ours)
        self._v.missing.discard(role)
        log.info("%s: adopted %s %s", self.name, _ROLE_NAME[role], ours.ident)
        return True

    async def _query(self, order: Order) -> tuple[bool, Order | None]:
        """(asked, the venue's view now): (True, None) means the venue does not know it."""
        try:
            answer = await self.session.venue.fetch_order(order)
        except VenueError as exc:
            log.warning("%s: could not ask about %s: %s", self.name, order.ident, exc)
            return False, None
        return True, (_merge(order, answer) if answer is not None else None)

    async def _ask(self, order: Order) -> Order | None:
        return (await self._query(order))[1]

    async def _refresh(self, *, positions: bool = False) -> None:
        """Ask the venue about every order of the bracket that may still change."""
        bracket = self.bracket
        if bracket is None or self.held:
            return
        now = self.clock_ms()
        grace = self.session.config.pending_grace_ms
        for order in self._v.legs.orders:
            if not order.is_active:
                continue
            asked, seen = await self._query(order)
            if seen is not None:
                await self._absorb(seen)
            elif asked and order.status in (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN) \
                    and now - order.created_at > grace:
                # The venue has never seen it, long after it was sent: it never arrived.
                await self._absorb(order.evolve(status=OrderStatus.REJECTED, updated_at=now))
        if positions:
            await self._check_position()

    async def _check_position(self) -> None:
        """A live bracket whose venue position is flat was closed by someone else: its
        remaining orders are the runner's to cancel, and nothing is counted."""
        bracket = self.bracket
        if bracket is None or filled_of(bracket, self._v.legs) == 0:
            return
        if any(o.filled_qty > 0 for o in self._v.legs.exits):
            return  # our own exit is under way
        try:
            found = await self.session.venue.fetch_positions()
        except VenueError as exc:
            log.warning("%s: could not read positions: %s", self.name, exc)
            return
        if _holds(found, bracket):
            return
        log.warning("%s: the %s position is flat on the venue: closed outside the runner; "
                    "cancelling the bracket's orders", self.name, bracket.symbol)
        for order in self._v.legs.orders:
            if order.is_active:
                await self._cancel(order)
        await self._finish(None, "position closed outside the runner")

    async def _on_outcome(self, run: RunRecord) -> None:
        if (run.venue, run.account) != (self.venue_name, self.account):
            return
        if self.held:
            report = await self._settle(run)
            if report.outcome is not ResumeOutcome.HELD:
                log.info("%s: released from hold: %s", self.name, report.outcome.value)
            return
        bracket = self.bracket
        if bracket is None:
            return
        mine = self._mine(run)
        for planned in mine:
            await self._adopt_from(planned)
        concerned = any(d.subject == self.subject for d in run.discrepancies)
        closed = any(p.action.kind is ActionKind.CLEAR_BRACKET
                     and p.action.reason is DiscrepancyKind.BRACKET_CLOSED_OFFLINE
                     for p in mine)
        if concerned or closed or mine:
            await self._refresh(positions=closed)

    async def _adopt_from(self, planned: PlannedAction) -> None:
        action = planned.action
        bracket = self.bracket
        if bracket is None:
            return
        if action.kind is ActionKind.PLACE_PROTECTION and action.order is not None \
                and planned.state is ActionState.APPLIED:
            await self._adopt(action.order.role, action.order)
        elif action.kind in (ActionKind.RESTORE_BRACKET, ActionKind.UPDATE_BRACKET) \
                and action.bracket is not None:
            found = action.bracket
            for role, cid, vid in ((OrderRole.STOP_LOSS, found.sl_client_id, found.sl_order_id),
                                   (OrderRole.TAKE_PROFIT, found.tp_client_id,
                                    found.tp_order_id)):
                leg = self._v.legs.leg(role)
                if (cid or vid) and (leg is None or not leg.is_active):
                    stub = self._protection(role, bracket.filled_size or bracket.size,
                                            cid, vid)
                    await self._adopt(role, stub)

    def _mine(self, run: RunRecord) -> list[PlannedAction]:
        return [p for p in run.actions if p.action.worker_id == self.worker_id
                and p.action.user_id in ("", self.user_id)]

    # -- cold start --------------------------------------------------------------------------

    async def _settle(self, run: RunRecord) -> ResumeReport:
        """Load the saved state as the (startup) run left it and take it up."""
        mine = tuple(self._mine(run))
        saved = [s for s in await asyncio.to_thread(self.session.ledger.runner_states,
                                                    self.venue_name, self.account)
                 if (s.user_id, s.worker_id) == (self.user_id, self.worker_id)]
        self.state = saved[0] if saved else RunnerState(self.user_id, self.worker_id,
                                                        self.venue_name, self.account)
        self._v = _Views()
        self.held = False
        bracket = self.state.bracket
        notes = [p.action.summary for p in mine if p.action.summary]
        if bracket is None:
            cleared = any(p.action.kind is ActionKind.CLEAR_BRACKET
                          and p.state is ActionState.APPLIED for p in mine)
            await self._save()
            return ResumeReport(ResumeOutcome.CLEARED if cleared else ResumeOutcome.IDLE,
                                None, mine, tuple(notes))
        if any(p.action.kind is ActionKind.CLEAR_BRACKET
               and p.decision is Decision.NEEDS_APPROVAL and p.state is ActionState.PENDING
               for p in mine):
            self.held = True  # no heartbeat: each run keeps proposing the cancel
            return ResumeReport(ResumeOutcome.HELD, bracket, mine, (
                *notes, "held: the bracket is void and its cancel waits for the operator"))
        await self._load_legs(bracket)
        adopted = False
        for planned in mine:
            action = planned.action
            if action.kind is ActionKind.PLACE_PROTECTION and action.order is not None \
                    and planned.state is ActionState.APPLIED:
                leg = self._v.legs.leg(action.order.role)
                if leg is not None and leg.is_active and _same(leg, action.order):
                    # a later run (a lease takeover's second one) has already saved the
                    # placed order as the leg: re-placed all the same
                    adopted = True
                    continue
                adopted = await self._adopt(action.order.role, action.order) or adopted
        filled = filled_of(bracket, self._v.legs)
        if filled > 0 and not any(o.filled_qty > 0 for o in self._v.legs.exits):
            for role, price in ((OrderRole.STOP_LOSS, bracket.stop_price),
                                (OrderRole.TAKE_PROFIT, bracket.take_profit_price)):
                leg = self._v.legs.leg(role)
                if price is not None and (leg is None or not leg.is_active):
                    self._v.missing.add(role)
        await self._save()
        if self._v.missing:
            pending = any(p.action.kind is ActionKind.PLACE_PROTECTION
                          and p.state is ActionState.PENDING for p in mine)
            names = ", ".join(_ROLE_NAME[r] for r in sorted(self._v.missing))
            notes.append(f"missing {names}: " + (
                "the placement waits for the operator in the inbox" if pending
                else "the reconciler did not place it; see its alert and inbox"))
            outcome = ResumeOutcome.PROTECTION_PENDING
        else:
            outcome = ResumeOutcome.PROTECTION_RESTORED if adopted else ResumeOutcome.RESTORED
        return ResumeReport(outcome, self.bracket, mine, tuple(notes))

    async def _load_legs(self, bracket: BracketState) -> None:
        """The legs as the ledger knows them, then as the venue says they are now."""
        ledger = self.session.ledger
        for role, cid, vid in ((OrderRole.ENTRY, bracket.entry_client_id,
                                bracket.entry_order_id),
                               (OrderRole.STOP_LOSS, bracket.sl_client_id, bracket.sl_order_id),
                               (OrderRole.TAKE_PROFIT, bracket.tp_client_id,
                                bracket.tp_order_id)):
            if not cid and not vid:
                continue
            known = await asyncio.to_thread(ledger.get_order, self.venue_name, self.account,
                                            cid or f"venue:{vid}")
            if known is None:
                known = self._stub(bracket, role, cid, vid)
            try:
                answer = await self.session.venue.fetch_order(known)
            except VenueError as exc:
                log.warning("%s: could not ask about %s: %s", self.name, known.ident, exc)
                answer = None
                view = known
            else:
                view = _merge(known, answer) if answer is not None else (
                    known.evolve(status=OrderStatus.REJECTED) if known.is_active else known)
            self._v.legs = self._v.legs.with_leg(role, view)

    def _stub(self, bracket: BracketState, role: OrderRole, cid: str, vid: str) -> Order:
        if role is OrderRole.ENTRY:
            market = bracket.entry_price is None
            return Order(
                venue=self.venue_name, account=self.account, category=bracket.category,
                symbol=bracket.symbol, side=bracket.side,
                type=OrderType.MARKET if market else OrderType.LIMIT, qty=bracket.size,
                status=OrderStatus.UNKNOWN, client_order_id=cid, venue_order_id=vid,
                price=bracket.entry_price, strategy_id=bracket.strategy_id,
                worker_id=self.worker_id, role=role, origin=Origin.OURS)
        return self._protection(role, bracket.filled_size or bracket.size, cid,
                                vid).evolve(status=OrderStatus.UNKNOWN)

    # -- state -------------------------------------------------------------------------------

    async def _set_leg(self, role: OrderRole, order: Order) -> None:
        """Record a leg's latest view; save the bracket when its ids change."""
        self._v.legs = self._v.legs.with_leg(role, order)
        bracket = self.bracket
        if bracket is None:
            return
        if role is OrderRole.ENTRY:
            updated = replace(bracket,
                              entry_client_id=order.client_order_id or bracket.entry_client_id,
                              entry_order_id=order.venue_order_id)
        elif role is OrderRole.STOP_LOSS:
            updated = replace(bracket, sl_client_id=order.client_order_id,
                              sl_order_id=order.venue_order_id)
        else:
            updated = replace(bracket, tp_client_id=order.client_order_id,
                              tp_order_id=order.venue_order_id)
        if updated != bracket:
            self.state = replace(self.state, bracket=updated)
            await self._save()

    async def _save(self) -> None:
        """Write the state. Shielded: once the state has changed in memory, a cancellation
        must not drop its write (an executor job cancelled before it starts never runs)."""
        self.state = replace(self.state, updated_at=max(self.clock_ms(), self.state.updated_at))
        await asyncio.shield(asyncio.to_thread(self.session.ledger.save_runner_state,
                                               self.state))


def _same(a: Order, b: Order) -> bool:
    if a.venue_order_id and b.venue_order_id:
        return a.venue_order_id == b.venue_order_id
    return bool(a.client_order_id) and a.client_order_id == b.client_order_id


def _merge(current: Order, incoming: Order) -> Order:
    """The venue's newer facts on top of our view. Never reopen an ended order, never
    take back a fill; an older message that shows no progress is ignored."""
    if current.status.is_terminal and not incoming.status.is_terminal:
        return current
    if incoming.filled_qty < current.filled_qty:
        return current
    progress = incoming.filled_qty > current.filled_qty or (
        incoming.status.is_terminal and not current.status.is_terminal)
    if incoming.updated_at < current.updated_at and not progress:
        return current
    merged = take_venue_view(current, incoming)
    if not current.client_order_id and incoming.client_order_id:
        merged = merged.evolve(client_order_id=incoming.client_order_id)
    return merged


def _holds(positions: Sequence[Position], bracket: BracketState) -> bool:
    return any(p.category is bracket.category and p.symbol == bracket.symbol
               and p.side is bracket.side for p in positions)


def attach_brackets(session: EngineSession, user_id: str, worker_id: str, *,
                    heartbeat_s: float | None = None) -> BracketRunner:
    """A `BracketRunner` wired to the session: private stream, reconciliation runs and the
    strategy registry (so that an emergency stop stops it). Call `resume()` after the
    session's startup reconciliation."""
    runner = BracketRunner(session, user_id, worker_id, heartbeat_s=heartbeat_s)
    session.register_strategy(runner)  # refuses a second runner for the same worker
    session.reconciler.local_workers.add((user_id, worker_id))
    session.stream.on_event(runner.on_stream)
    session.reconciler.on_run(runner.on_run)
    return runner


async def resume_brackets(session: EngineSession,
                          runners: Sequence[BracketRunner]) -> list[ResumeReport]:
    """Resume several runners of one session on its startup reconciliation, together
    (each acts only on its own worker's part of the plan)."""
    outcome = session.reconciler.last_outcome
    if outcome is None:
        outcome = await session.reconciler.run_once(RunTrigger.STARTUP)
    return list(await asyncio.gather(*(r.resume(outcome) for r in runners)))
