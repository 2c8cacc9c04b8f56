"""Places, amends and cancels orders so that the ledger never loses track of one.

Theory of operation:
- A client id is minted (persisted counter) and the intent is written to the ledger as
  PENDING_NEW *before* the request leaves. A crash at any later point leaves a record
  that the reconciler resolves by client id.
- A request whose outcome is unknown (timeout, reset, 5xx on a write) is resolved by
  asking the venue for that client id, never by sending again under a new id. If the
  venue cannot be asked either, or does not know the id yet (it may still execute the
  request a moment later), the order stays PENDING_NEW and the next reconciliation
  settles it: REJECTED only once the venue still does not know it `pending_grace_ms`
  after its creation, the reconciler's own grace.
- A refused duplicate client id means an earlier attempt got through: ask, and record it.
- A failed cancel is never taken as a cancel: the venue's answer decides (a fill that
  raced the cancel stays a fill, and a reconciliation is requested to record its fills).
- The ledger's ownership (strategy, worker, role, origin, label) is kept on every update;
  the venue's facts (ids, status, quantities, prices) replace the ledger's.
- While trading is paused (hard desync), orders that add risk are refused; reduce-only
  orders still pass, so protection and flattening keep working. While it is halted
  (emergency stop) every new order is refused but the emergency's own.
- On a shared ledger nothing is placed, amended or replaced unless the session holds the
  account's lease (`LeaseLostError`): the lease's local deadline is checked before the
  intent is written and again right before the request leaves, and the intent's write
  itself is fenced by the ledger (docs/architecture.md, "Leases and fencing").

Amend first (design §5): `replace` amends in place when the order has rested for
`min_time_in_book_ms` and the change is within the thresholds. Otherwise, or when the
venue refuses the amend, it cancels, waits until the venue *confirms* the cancel (its
answer, a stream event or a query: never a fixed sleep), and only then creates the
replacement under a new client id. So at no moment are two orders live where one was
intended, and an order that filled meanwhile is never replaced.

Atomic replace: a venue that declares `capabilities.atomic_replace` cancels an untouched
order and places its replacement in one request (`VenuePort.replace_order`, the new order
only if the cancel took). Where the amend is not used, an order still NEW and unfilled is
replaced that way: the replacement's intent is written first (PENDING_NEW, a new client
id), then one request; the outcomes are in `_replace_atomically`. The guarantee is the
same: the venue never places the replacement unless it cancelled the original, and it
cancels only an untouched order, so a fill that races the request refuses it instead of
leaving a replacement sized as if nothing had filled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from console.domain import Category, LedgerChanges, Order, OrderStatus, OrderType, Origin
from console.domain.events import OrderEvent, VenueEvent
from console.domain.ids import ClientOrderIdGenerator
from console.engine.lease import LeaseKeeper
from console.engine.ports import LedgerPort, VenuePort
from console.engine.risk import RiskState
from console.errors import (
    DuplicateClientOrderIdError,
    FatalVenueError,
    LeaseLostError,
    LedgerError,
    ReplaceCancelRefusedError,
    ReplacementRefusedError,
    UnknownOutcomeError,
    UserFacingError,
    VenueError,
)
from console.reconcile import ReconcileConfig, take_venue

log = logging.getLogger(__name__)

ZERO = Decimal(0)
BPS = Decimal(10_000)
RETIRED_MEMORY = 10_000
DEFAULT_PENDING_GRACE_MS = ReconcileConfig().pending_grace_ms


class TradingPausedError(UserFacingError):
    """New risk is refused while the book is out of sync; the text says why."""


class InstrumentQuarantinedError(TradingPausedError):
    """New risk on one instrument is refused while one of our orders on it has an unknown
    outcome; the text names the instrument and the order."""


def instrument_key(order: Order) -> str:
    return f"{order.category.value}:{order.symbol}"


class TradingHaltedError(TradingPausedError):
    """Every new order is refused after an emergency stop until an operator resumes.
    A subclass of the pause error, so that code which handles a pause handles a halt."""


class ReplaceRefusedError(UserFacingError):
    """A replace that cannot be asked for (nothing sent to the venue); the text says why."""


class OrderOutcomeUnknownError(UnknownOutcomeError):
    """Neither the request nor the follow-up query told us what happened; the order stays
    PENDING_NEW in the ledger for the reconciler."""


def take_venue_view(known: Order, venue: Order) -> Order:
    """The venue's facts (ids, status, fills, prices) on top of the ledger's intent and
    ownership: the reconciler's own rule, applied to an answer as it arrives."""
    return take_venue(known, venue, venue.updated_at or known.updated_at)


def merge_venue_views(known: Iterable[Order], answers: Iterable[Order]) -> list[Order]:
    """Each venue answer on top of the ledger order it concerns (by venue id, else client
    id), in one pass over hash maps."""
    known = list(known)
    by_vid = {o.venue_order_id: o for o in known if o.venue_order_id}
    by_cid = {o.client_order_id: o for o in by_vid.values() if o.client_order_id}
    for o in known:
        if o.client_order_id:
            by_cid.setdefault(o.client_order_id, o)
    out = []
    for answer in answers:
        mine = by_vid.get(answer.venue_order_id) or by_cid.get(answer.client_order_id)
        out.append(take_venue_view(mine, answer) if mine is not None else answer)
    return out


# -- amend first ---------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class AmendPolicy:
    """When a change is made in place rather than by cancel and create (profile
    `[policy]`: min_time_in_book_ms, amend_price_threshold_bps, amend_size_threshold).

    `size_threshold` is a fraction of the order's quantity. `cancel_confirm_timeout_s`
    bounds the wait for the venue to confirm a cancel before a replacement may go; past
    it the replace fails and nothing is created. Queries while waiting start
    `poll_initial_s` apart and back off to `poll_max_s`; a stream event ends the wait
    earlier.
    """

    min_time_in_book_ms: int = 500
    price_threshold_bps: Decimal = Decimal(50)
    size_threshold: Decimal = Decimal("0.5")
    cancel_confirm_timeout_s: float = 5.0
    poll_initial_s: float = 0.05
    poll_max_s: float = 0.5

    def __post_init__(self) -> None:
        if self.min_time_in_book_ms < 0:
            raise ValueError("amend policy: min_time_in_book_ms must be >= 0")
        for name in ("price_threshold_bps", "size_threshold"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise ValueError(f"amend policy: {name} {value!r} is not a decimal >= 0")
        if self.cancel_confirm_timeout_s <= 0 or self.poll_initial_s <= 0 \
                or self.poll_max_s < self.poll_initial_s:
            raise ValueError("amend policy: timeouts must be > 0 and poll_max_s >= "
                             "poll_initial_s")


def amend_decision(order: Order, *, price: Decimal | None, qty: Decimal | None, now: int,
                   policy: AmendPolicy) -> str:
    """"" when the change may be made by amending `order` in place; else why not."""
    if not order.venue_order_id or order.status not in (
            OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.UNTRIGGERED):
        return f"the order is {order.status.value} without a confirmed place in the book"
    age = now - order.created_at
    if age < policy.min_time_in_book_ms:
        return (f"the order has been in the book {age} ms, less than "
                f"{policy.min_time_in_book_ms} ms")
    if price is not None and order.price is not None and price != order.price:
        moved = abs(price - order.price) / order.price * BPS
        if moved > policy.price_threshold_bps:
            return (f"the price moves {moved.quantize(Decimal('0.01'))} bps, more than "
                    f"{policy.price_threshold_bps} bps")
    if qty is not None and qty != order.qty:
        change = abs(qty - order.qty) / order.qty
        if change > policy.size_threshold:
            return (f"the size changes by {change.quantize(Decimal('0.0001'))} of the "
                    f"quantity, more than {policy.size_threshold}")
    return ""


class ReplacePath(StrEnum):
    AMENDED = "amended"
    """Changed in place: same venue id, one order throughout."""
    REPLACED = "replaced"
    """Cancelled (confirmed), then created under a new client id; or both in one atomic
    request (`capabilities.atomic_replace`)."""
    NOT_REPLACED_FILLED = "not_replaced_filled"
    """The order filled (fully, or up to the asked quantity) before the cancel took: no
    replacement, the fill stands."""
    FAILED = "failed"
    """Nothing new was created; `old` is the venue's last word on the original."""


@dataclass(frozen=True, slots=True)
class ReplaceResult:
    path: ReplacePath
    old: Order
    """The original order as the venue last described it (CANCELLED, FILLED, ...)."""
    new: Order | None = None
    """AMENDED: the amended order (same venue id). REPLACED: the replacement."""
    reason: str = ""
    """Why the amend was not used (empty for AMENDED)."""
    error: str = ""
    """FAILED and NOT_REPLACED_FILLED: what happened, for the operator."""

    @property
    def live(self) -> Order | None:
        """The order that now carries the intent, if any."""
        return self.new if self.path in (ReplacePath.AMENDED, ReplacePath.REPLACED) else None


@dataclass(frozen=True, slots=True)
class _Cancel:
    final: Order | None
    """The venue's terminal view of the order; None when it could not be confirmed."""
    by_us: bool
    error: str = ""


class OrderManager:
    """Order operations for one (venue, account)."""

    def __init__(self, venue: VenuePort, ledger: LedgerPort, ids: ClientOrderIdGenerator, *,
                 clock_ms: Callable[[], int], risk: RiskState | None = None,
                 resolve_attempts: int = 3, resolve_delay_s: float = 0.2,
                 amend_policy: AmendPolicy | None = None,
                 pending_grace_ms: int = DEFAULT_PENDING_GRACE_MS) -> None:
        self.venue = venue
        self.ledger = ledger
        self.ids = ids
        self.clock_ms = clock_ms
        self.risk = risk or RiskState()
        self.resolve_attempts = resolve_attempts
        self.resolve_delay_s = resolve_delay_s
        self.amend_policy = amend_policy or AmendPolicy()
        self.pending_grace_ms = pending_grace_ms
        """How long after its creation an order the venue does not know stays in flight
        (`ReconcileConfig.pending_grace_ms`: the session passes the reconciler's)."""
        self.on_fill_discovered: Callable[[Order], None] | None = None
        """Called when a cancel or replace finds that an order filled: the session asks
        for a reconciliation, which records the fills themselves."""
        self._waiters: dict[str, list[asyncio.Future[Order]]] = {}
        self._inflight: dict[str, Order] = {}
        self._flight_seq = 0
        self._flights: deque[tuple[int, str]] = deque(maxlen=10_000)
        self._landed_while_halted: list[Order] = []
        self._replacing: set[str] = set()
        self._retired: OrderedDict[str, None] = OrderedDict()
        self.lease: LeaseKeeper | None = None
        """The session's lease on a shared ledger: no order is placed, amended or
        replaced without it (`LeaseLostError`; console.engine.lease). Cancels need none:
        they only take risk off, and an emergency stop must work from any process."""

    def _check_lease(self, what: str) -> None:
        if self.lease is not None:
            self.lease.check_send(what)

    # -- place ---------------------------------------------------------------------------

    def _refuse(self, *, reduce_only: bool, emergency: bool = False,
                instrument: str = "") -> None:
        refusal = self.risk.refusal(reduce_only=reduce_only, emergency=emergency,
                                    instrument=instrument)
        if refusal:
            if self.risk.halted:
                raise TradingHaltedError(refusal)
            if self.risk.paused:
                raise TradingPausedError(refusal)
            raise InstrumentQuarantinedError(refusal)

    def flight_mark(self) -> int:
        """A point in the stream of sends, for `in_flight_since`."""
        return self._flight_seq

    def in_flight_since(self, mark: int) -> frozenset[str]:
        """Idents of orders in flight at any moment since `mark`: sending now, or started
        and finished since. A ledger read taken meanwhile may show any of them PENDING_NEW."""
        recent = {ident for seq, ident in self._flights if seq > mark}
        return frozenset(self._inflight) | frozenset(recent)

    async def place(self, order: Order, *, emergency: bool = False) -> Order:
        """Send `order` (its client id is minted here when empty); returns the venue's view.
        `emergency=True` is for the emergency stop's own flattening orders: the only ones
        that pass a halt."""
        self._refuse(reduce_only=order.reduce_only, emergency=emergency,
                     instrument=instrument_key(order))
        if not emergency:
            self._check_lease("send an order")
        if not order.client_order_id:
            client_id = await asyncio.to_thread(self.ids.next, order.role)
            order = order.evolve(client_order_id=client_id)
        now = self.clock_ms()
        intent = order.evolve(status=OrderStatus.PENDING_NEW, venue_order_id="",
                              filled_qty=Decimal(0), avg_price=None,
                              created_at=order.created_at or now, updated_at=now)
        if not emergency:
            # In flight from before its intent exists: a reconciliation reading the ledger
            # meanwhile must know that a PENDING_NEW it sees has a sender.
            self._flight_seq += 1
            self._flights.append((self._flight_seq, intent.ident))
            self._inflight[intent.ident] = intent
        try:
            await self._record(intent)
        except BaseException:
            self._inflight.pop(intent.ident, None)
            raise
        if not emergency:
            try:
                # a halt may have come while the intent was written: check again, last
                self._refuse(reduce_only=order.reduce_only, instrument=instrument_key(order))
            except TradingPausedError:
                self._inflight.pop(intent.ident, None)
                await self._record(intent.evolve(status=OrderStatus.REJECTED,
                                                  updated_at=self.clock_ms()))
                raise
            try:
                # and the lease, last: the intent's write may have outlasted it
                self._check_lease("send an order")
            except LeaseLostError:
                self._inflight.pop(intent.ident, None)
                with contextlib.suppress(LedgerError):  # fenced: the new holder settles it
                    await self._record(intent.evolve(status=OrderStatus.REJECTED,
                                                      updated_at=self.clock_ms()))
                raise
        try:
            placed = await self._send(intent)
        finally:
            if not emergency:
                self._inflight.pop(intent.ident, None)
        if not emergency and self.risk.halted and placed.is_active:
            # it left before the halt and landed after the bulk cancel: the emergency
            # stop cancels it (settle_inflight)
            self._landed_while_halted.append(placed)
        return placed

    async def _send(self, intent: Order) -> Order:
        try:
            answer = await self.venue.place_order(intent)
        except (UnknownOutcomeError, TimeoutError, OSError) as exc:
            log.warning("place %s: outcome unknown (%s); asking the venue",
                        intent.client_order_id, exc)
            return await self._resolve(intent, str(exc))
        except FatalVenueError as exc:
            if isinstance(exc, DuplicateClientOrderIdError):
                return await self._resolve(intent, str(exc))
            await self._record(intent.evolve(status=OrderStatus.REJECTED,
                                              updated_at=self.clock_ms()))
            raise
        placed = take_venue_view(intent, answer)
        await self._record(placed)
        return placed

    async def _resolve(self, intent: Order, cause: str) -> Order:
        """Ask the venue for the client id until it answers; never send again.

        "Not found" right after an unknown outcome is no answer yet: a create that timed
        out here may still be executed by the venue a moment later. The order stays in
        flight (PENDING_NEW) until `pending_grace_ms` after its creation, the grace the
        reconciler gives it too; only an order the venue still does not know after that
        is REJECTED. Within the grace the caller gets `OrderOutcomeUnknownError` and the
        next reconciliation settles the order from the venue's word.
        """
        last_error = cause
        unknown_to_venue = False
        for attempt in range(self.resolve_attempts):
            if attempt:
                await asyncio.sleep(self.resolve_delay_s * attempt)
            try:
                answer = await self.venue.fetch_order(intent)
            except VenueError as exc:
                last_error = str(exc)
                continue
            if answer is None:
                unknown_to_venue = True
                if self.clock_ms() - intent.created_at >= self.pending_grace_ms:
                    # Past the grace and still unknown: the request never took effect.
                    rejected = intent.evolve(status=OrderStatus.REJECTED,
                                             updated_at=self.clock_ms())
                    await self._record(rejected)
                    return rejected
                continue
            resolved = take_venue_view(intent, answer)
            await self._record(resolved)
            return resolved
        self.risk.quarantine_order(instrument_key(intent), intent.ident,
                                   f"unknown outcome: {cause}")
        log.warning("%s quarantined: order %s has an unknown outcome", instrument_key(intent),
                    intent.ident)
        if unknown_to_venue:
            raise OrderOutcomeUnknownError(
                f"order {intent.client_order_id}: the outcome of the request is unknown "
                f"({cause}) and the venue does not know the order yet; it stays PENDING_NEW "
                f"and the reconciliation settles it (REJECTED only if the venue still does "
                f"not know it {self.pending_grace_ms} ms after it was created)",
                venue=self.venue.venue)
        raise OrderOutcomeUnknownError(
            f"order {intent.client_order_id}: the venue did not confirm or deny it "
            f"({last_error}); it stays pending and the next reconciliation will settle it",
            venue=self.venue.venue)

    # -- amend / replace -----------------------------------------------------------------

    def _refuse_change(self, order: Order, qty: Decimal | None,
                       price: Decimal | None) -> None:
        """A halt refuses every change; a pause refuses changes that may add risk (only a
        smaller quantity at the same price passes, besides reduce-only orders)."""
        shrinks = price is None and qty is not None and qty < order.qty
        self._refuse(reduce_only=order.reduce_only or shrinks, instrument=instrument_key(order))

    async def amend(self, order: Order, *, qty: Decimal | None = None,
                    price: Decimal | None = None) -> Order:
        """Amend in place, nothing else (see `replace` for the amend-first operation)."""
        self._refuse_change(order, qty, price)
        self._check_lease("amend an order")
        answer = await self.venue.amend_order(order, qty=qty, price=price)
        amended = take_venue_view(order, answer)
        await self._record(amended)
        return amended

    def _check_replace(self, order: Order, price: Decimal | None, qty: Decimal | None) -> None:
        ident = order.ident
        if price is None and qty is None:
            raise ReplaceRefusedError(f"replace {ident}: give a new price, a new qty or both")
        if not order.is_active:
            raise ReplaceRefusedError(f"replace {ident}: the order is {order.status.value}; "
                                      "only an active order can be replaced")
        if price is not None and (not isinstance(price, Decimal) or price <= 0):
            raise ReplaceRefusedError(f"replace {ident}: price {price!r} must be a decimal > 0")
        if price is not None and order.type is OrderType.MARKET:
            raise ReplaceRefusedError(f"replace {ident}: a market order has no price to change")
        if qty is not None:
            if not isinstance(qty, Decimal) or qty <= 0:
                raise ReplaceRefusedError(f"replace {ident}: qty {qty!r} must be a decimal > 0")
            if qty <= order.filled_qty:
                raise ReplaceRefusedError(
                    f"replace {ident}: qty {qty} is not above the {order.filled_qty} already "
                    "filled; the qty is the order's new total, fills included")
        if ident in self._replacing:
            raise ReplaceRefusedError(f"replace {ident}: a replace of this order is already "
                                      "in progress")
        if ident in self._retired:
            raise ReplaceRefusedError(f"replace {ident}: this order was already cancelled or "
                                      "replaced here; use the order the last result returned")

    async def replace(self, order: Order, *, price: Decimal | None = None,
                      qty: Decimal | None = None) -> ReplaceResult:
        """Change `order` to `price` and/or `qty` (the new total, fills included): amend in
        place when the policy allows and the venue accepts, else cancel, confirm the
        cancel, and create a replacement with a new client id and the same ownership.

        Raises `ReplaceRefusedError` / `TradingPausedError` (nothing sent) for requests
        that cannot be made; every other outcome is in the result (`path`)."""
        self._check_replace(order, price, qty)
        self._refuse_change(order, qty, price)
        self._check_lease("replace an order")
        ident = order.ident
        self._replacing.add(ident)
        try:
            return await self._replace(order, price, qty)
        finally:
            self._replacing.discard(ident)

    async def _replace(self, order: Order, price: Decimal | None,
                       qty: Decimal | None) -> ReplaceResult:
        why = amend_decision(order, price=price, qty=qty, now=self.clock_ms(),
                             policy=self.amend_policy)
        if not why and not self.venue.capabilities.amend:
            why = f"{self.venue.venue} cannot amend in place"
        if not why:
            try:
                answer = await self.venue.amend_order(order, qty=qty, price=price)
            except VenueError as exc:
                why = f"the venue refused the amend ({exc})"
                log.info("replace %s: %s; cancelling and creating instead", order.ident, why)
            else:
                amended = take_venue_view(order, answer)
                await self._record(amended)
                return ReplaceResult(ReplacePath.AMENDED, old=order, new=amended)
        if self.venue.capabilities.atomic_replace:
            return await self._replace_atomically(order, price, qty, why)
        return await self._cancel_then_create(order, price, qty, why)

    async def _replace_atomically(self, order: Order, price: Decimal | None,
                                  qty: Decimal | None, why: str) -> ReplaceResult:
        """One `replace_order` request for an order still NEW and unfilled (the venue
        cancels only an untouched one; a partly filled order goes by cancel then create,
        which sizes the replacement from the confirmed final fill). Outcomes:

        * both done: REPLACED with the new order; the original recorded as cancelled;
        * the cancel refused (`ReplaceCancelRefusedError`: nothing changed): the
          replacement's intent is REJECTED and the venue is asked about the original.
          Finished, it decides as a refused cancel does (filled: NOT_REPLACED_FILLED;
          cancelled elsewhere: FAILED); still live (typically partly filled meanwhile),
          the replace goes on by cancel then create, as after a refused amend;
        * cancelled, the new order refused (`ReplacementRefusedError`): the intent is
          REJECTED, the original is read back, FAILED: nothing is live for the intent;
        * the request refused whole, or not taken (transient, rate limit): REJECTED
          intent, FAILED, the original unchanged;
        * unknown outcome: the venue is asked about BOTH client ids before anything is
          decided (`_resolve_atomic`).
        """
        if order.status is not OrderStatus.NEW or order.filled_qty != ZERO:
            log.info("replace %s: the order is %s with %s filled; cancelling and creating "
                     "(an atomic replace takes untouched orders only)", order.ident,
                     order.status.value, order.filled_qty)
            return await self._cancel_then_create(order, price, qty, why)
        client_id = await asyncio.to_thread(self.ids.next, order.role)
        now = self.clock_ms()
        intent = order.evolve(
            client_order_id=client_id, venue_order_id="",
            qty=qty if qty is not None else order.qty,
            price=price if price is not None else order.price, status=OrderStatus.PENDING_NEW,
            filled_qty=ZERO, avg_price=None, origin=Origin.OURS, created_at=now,
            updated_at=now)
        # in flight from before its intent exists, as in `place`
        self._flight_seq += 1
        self._flights.append((self._flight_seq, intent.ident))
        self._inflight[intent.ident] = intent
        try:
            await self._record(intent)
            try:
                # a halt may have come while the intent was written: check again, last
                self._refuse_change(order, qty, price)
                self._check_lease("replace an order")
            except (TradingPausedError, LeaseLostError):
                await self._record(intent.evolve(status=OrderStatus.REJECTED,
                                                  updated_at=self.clock_ms()))
                raise
            return await self._send_replace(order, intent, why)
        finally:
            self._inflight.pop(intent.ident, None)

    async def _send_replace(self, order: Order, intent: Order, why: str) -> ReplaceResult:
        try:
            cancelled, answer = await self.venue.replace_order(order, intent)
        except ReplaceCancelRefusedError as exc:
            await self._reject(intent)
            return await self._after_refused_replace(order, intent, why, exc)
        except ReplacementRefusedError as exc:
            rejected = await self._reject(intent)
            seen, error = await self._until_terminal(order, wait=False)
            return self._unplaced(order, seen, intent, why, new=rejected, error=(
                f"cancelled, but the venue refused the replacement ({exc}): nothing is live "
                "for this intent" + (f" (the original could not be read back: {error})"
                                     if seen is None else "")))
        except (UnknownOutcomeError, TimeoutError, OSError) as exc:
            log.warning("replace %s: outcome unknown (%s); asking the venue about both "
                        "orders", order.ident, exc)
            return await self._resolve_atomic(order, intent, why, str(exc))
        except VenueError as exc:
            # refused whole (a bad request, filters) or not taken (transient, rate limit)
            await self._reject(intent)
            return ReplaceResult(ReplacePath.FAILED, old=order, reason=why, error=(
                f"the venue did not take the replace ({exc}); the order is unchanged and "
                "no replacement was created"))
        old = take_venue_view(order, cancelled)
        placed = take_venue_view(intent, answer)
        await asyncio.to_thread(self.ledger.apply_changes, self.venue.venue,
                                self.venue.account, LedgerChanges(orders=(old, placed)))
        self._release(old.ident)
        self._release(placed.ident)
        self._retire(order.ident)
        if old.filled_qty > order.filled_qty:
            self._fill_discovered(old)
        if self.risk.halted and placed.is_active:
            self._landed_while_halted.append(placed)  # the emergency stop cancels it
        return ReplaceResult(ReplacePath.REPLACED, old=old, new=placed, reason=why)

    async def _reject(self, intent: Order) -> Order:
        """The replacement's intent, never placed: REJECTED in the ledger."""
        rejected = intent.evolve(status=OrderStatus.REJECTED, updated_at=self.clock_ms())
        await self._record(rejected)
        return rejected

    async def _after_refused_replace(self, order: Order, intent: Order, why: str,
                                     exc: VenueError) -> ReplaceResult:
        """The venue refused the atomic replace's cancel: nothing changed. Its answer on
        the original decides (never an assumption about why it refused)."""
        try:
            answer = await self.venue.fetch_order(order)
        except VenueError as query_exc:
            return ReplaceResult(ReplacePath.FAILED, old=order, reason=why, error=(
                f"the replace was refused ({exc}) and the order's state is unknown "
                f"({query_exc}); no replacement was created"))
        if answer is None:
            return ReplaceResult(ReplacePath.FAILED, old=order, reason=why, error=(
                f"the replace was refused ({exc}); the venue does not know the order; no "
                "replacement was created"))
        seen = take_venue_view(order, answer)
        await self._record(seen)
        if seen.status.is_terminal:
            return self._unplaced(order, seen, intent, why, error=(
                f"the order was already {seen.status.value} before this replace (cancelled "
                "elsewhere); no replacement was created"))
        log.info("replace %s: the atomic replace was refused (%s) and the order is %s (%s "
                 "filled); cancelling and creating instead", order.ident, exc,
                 seen.status.value, seen.filled_qty)
        if seen.filled_qty > order.filled_qty:
            self._fill_discovered(seen)
        return await self._cancel_then_create(seen, intent.price, intent.qty, why)

    def _unplaced(self, order: Order, seen: Order | None, intent: Order, why: str, *,
                  error: str, new: Order | None = None) -> ReplaceResult:
        """The result when no replacement was placed: `seen` is the venue's view of the
        original (None when it could not be read). A fill found decides first."""
        if seen is None:
            return ReplaceResult(ReplacePath.FAILED, old=order, new=new, reason=why,
                                 error=error)
        if seen.filled_qty > order.filled_qty:
            self._fill_discovered(seen)
        if seen.status.is_terminal:
            self._retire(order.ident)
            if seen.status is OrderStatus.FILLED or seen.filled_qty >= intent.qty:
                return ReplaceResult(
                    ReplacePath.NOT_REPLACED_FILLED, old=seen, reason=why,
                    error=(f"the order filled ({seen.filled_qty} of {seen.qty}) before the "
                           "replace took effect: no replacement was created"))
        return ReplaceResult(ReplacePath.FAILED, old=seen, new=new, reason=why, error=error)

    async def _resolve_atomic(self, order: Order, intent: Order, why: str,
                              cause: str) -> ReplaceResult:
        """An atomic replace with an unknown outcome: the replacement is asked for by its
        client id (`_resolve`: found, it is the answer; unknown within the grace, it stays
        PENDING_NEW and its instrument is quarantined until the venue answers for it), and
        the original by its ids. Whatever a late execution does, the venue places the
        replacement only by cancelling the original: one live order at most."""
        new: Order | None
        unknown = ""
        try:
            new = await self._resolve(intent, cause)
        except OrderOutcomeUnknownError as exc:
            new, unknown = None, str(exc)
        try:
            answer = await self.venue.fetch_order(order)
        except VenueError as exc:
            answer, old_error = None, f"the original could not be read back ({exc})"
        else:
            old_error = "" if answer is not None else "the venue does not know the original"
        seen = take_venue_view(order, answer) if answer is not None else None
        if seen is not None:
            await self._record(seen)
        if new is not None and new.status is not OrderStatus.REJECTED:
            self._retire(order.ident)
            if seen is not None and seen.filled_qty > order.filled_qty:
                self._fill_discovered(seen)
            if self.risk.halted and new.is_active:
                self._landed_while_halted.append(new)
            return ReplaceResult(ReplacePath.REPLACED, old=seen or order, new=new, reason=why)
        if new is not None:  # past the grace, the venue never had it
            return self._unplaced(order, seen, intent, why, new=new, error=(
                f"the replace had an unknown outcome ({cause}); the venue never placed the "
                "replacement" + (f"; {old_error}" if old_error else "")))
        return self._unplaced(order, seen, intent, why, error=(
            f"the replace had an unknown outcome; {unknown}"
            + (f"; {old_error}" if old_error else "")))

    async def _cancel_then_create(self, order: Order, price: Decimal | None,
                                  qty: Decimal | None, why: str) -> ReplaceResult:
        cancel = await self._cancel_confirmed(order)
        final = cancel.final
        if final is None:
            return ReplaceResult(ReplacePath.FAILED, old=order, reason=why,
                                 error=f"{cancel.error}; no replacement was created")
        self._retire(order.ident)
        target = qty if qty is not None else order.qty
        if final.filled_qty > order.filled_qty:
            self._fill_discovered(final)
        if final.status is OrderStatus.FILLED or final.filled_qty >= target:
            return ReplaceResult(
                ReplacePath.NOT_REPLACED_FILLED, old=final, reason=why,
                error=(f"the order filled ({final.filled_qty} of {final.qty}) before the "
                       "cancel took effect: no replacement was created"))
        if not cancel.by_us:
            return ReplaceResult(
                ReplacePath.FAILED, old=final, reason=why,
                error=(f"the order was already {final.status.value} before this cancel "
                       "(cancelled elsewhere); no replacement was created"))
        client_id = await asyncio.to_thread(self.ids.next, order.role)
        replacement = order.evolve(
            client_order_id=client_id, venue_order_id="", qty=target - final.filled_qty,
            price=price if price is not None else order.price, status=OrderStatus.PENDING_NEW,
            filled_qty=ZERO, avg_price=None, origin=Origin.OURS, created_at=0, updated_at=0)
        try:
            placed = await self.place(replacement)
        except (VenueError, TradingPausedError) as exc:
            return ReplaceResult(ReplacePath.FAILED, old=final, reason=why,
                                 error=f"cancelled, but the replacement failed: {exc}")
        if placed.status is OrderStatus.REJECTED:
            return ReplaceResult(ReplacePath.FAILED, old=final, new=placed, reason=why,
                                 error="cancelled, but the venue did not accept the replacement")
        return ReplaceResult(ReplacePath.REPLACED, old=final, new=placed, reason=why)

    async def _cancel_confirmed(self, order: Order) -> _Cancel:
        """Cancel and wait for the venue to say the order is terminal. `by_us` is False
        when the venue refused our cancel because the order was already finished."""
        try:
            answer = await self.venue.cancel_order(order)
        except FatalVenueError as exc:
            # refused: whatever the order is now, our cancel did not make it so; one
            # answer decides (a live order will not end by itself waiting here)
            final, error = await self._until_terminal(order, wait=False)
            return _Cancel(final, by_us=False,
                           error=f"cancel refused ({exc}); {error}" if error else "")
        except VenueError as exc:
            # unknown outcome, transient or rate-limited: it may still take effect
            final, error = await self._until_terminal(order)
            return _Cancel(final, by_us=True,
                           error=f"cancel failed ({exc}); {error}" if error else "")
        seen = take_venue_view(order, answer)
        await self._record(seen)
        if seen.status.is_terminal:
            return _Cancel(seen, by_us=True)
        final, error = await self._until_terminal(seen)
        return _Cancel(final, by_us=True, error=error)

    async def _until_terminal(self, order: Order, *,
                              wait: bool = True) -> tuple[Order | None, str]:
        """Query (and listen to the stream) until the venue reports the order terminal,
        within the policy's timeout (one query when not `wait`). Records what it learns."""
        policy = self.amend_policy
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.cancel_confirm_timeout_s
        delay = policy.poll_initial_s
        last = "no answer"
        while True:
            try:
                answer = await self.venue.fetch_order(order)
            except VenueError as exc:
                last = f"the venue could not be asked ({exc})"
            else:
                if answer is None:
                    return None, "the venue does not know the order"
                seen = take_venue_view(order, answer)
                if seen.status.is_terminal:
                    await self._record(seen)
                    return seen, ""
                last = f"the venue still reports it {seen.status.value}"
            remaining = deadline - loop.time()
            if not wait:
                return None, last
            if remaining <= 0:
                return None, (f"the cancel was not confirmed within "
                              f"{policy.cancel_confirm_timeout_s:g} s ({last})")
            pushed = await self._next_terminal_event(order, min(delay, remaining))
            if pushed is not None:
                seen = take_venue_view(order, pushed)
                await self._record(seen)
                return seen, ""
            delay = min(delay * 2, policy.poll_max_s)

    async def _next_terminal_event(self, order: Order, timeout_s: float) -> Order | None:
        """The venue's terminal view of `order` if the private stream pushes one within
        `timeout_s` (see `observe`); None otherwise."""
        keys = [k for k in (order.venue_order_id, order.client_order_id) if k]
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._waiters.setdefault(key, []).append(future)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout_s)
        except TimeoutError:
            return None
        finally:
            for key in keys:
                waiting = self._waiters.get(key)
                if waiting is not None:
                    if future in waiting:
                        waiting.remove(future)
                    if not waiting:
                        del self._waiters[key]
            future.cancel()

    def observe(self, event: VenueEvent) -> None:
        """Private-stream listener: a terminal order update ends the wait for a cancel;
        any update of a quarantined order is the venue's word on it."""
        if not isinstance(event, OrderEvent):
            return
        if event.order.client_order_id:
            self._release(event.order.client_order_id)
        if not event.order.status.is_terminal:
            return
        pushed = event.order
        for key in (pushed.venue_order_id, pushed.client_order_id):
            for future in self._waiters.get(key, ()):
                if not future.done():
                    future.set_result(pushed)

    def _retire(self, ident: str) -> None:
        self._retired[ident] = None
        while len(self._retired) > RETIRED_MEMORY:
            self._retired.popitem(last=False)

    def _fill_discovered(self, order: Order) -> None:
        log.info("order %s filled (%s of %s) while it was being cancelled", order.ident,
                 order.filled_qty, order.qty)
        if self.on_fill_discovered is not None:
            self.on_fill_discovered(order)

    # -- cancel --------------------------------------------------------------------------

    async def cancel(self, order: Order) -> tuple[Order | None, str]:
        """Cancel and return the venue's view of the order plus an error text ("" if the
        order ended cancelled). A failed cancel asks the venue what became of the order."""
        try:
            answer = await self.venue.cancel_order(order)
        except VenueError as exc:
            return await self._after_failed_cancel(order, exc)
        cancelled = take_venue_view(order, answer)
        await self._record(cancelled)
        if cancelled.filled_qty > order.filled_qty:
            self._fill_discovered(cancelled)
        return cancelled, ""

    async def _after_failed_cancel(self, order: Order, exc: VenueError) -> tuple[Order | None, str]:
        try:
            answer = await self.venue.fetch_order(order)
        except VenueError as query_exc:
            return None, (f"cancel failed ({exc}); the order's state is unknown ({query_exc}); "
                          "the next reconciliation will verify it")
        if answer is None:
            return None, f"cancel failed ({exc}); the venue does not know the order"
        seen = take_venue_view(order, answer)
        await self._record(seen)
        if seen.filled_qty > order.filled_qty:
            self._fill_discovered(seen)
        if answer.status is OrderStatus.CANCELLED:
            return seen, ""
        return seen, f"cancel failed ({exc}); the venue reports the order {answer.status.value}"

    async def cancel_all(self, category: Category, symbol: str | None = None) -> list[Order]:
        """One bulk cancel; the venue's answers are recorded on top of what the ledger
        knows of each order (unknown ones are recorded as the venue reports them)."""
        answers = await self.venue.cancel_all(category, symbol)
        known = await asyncio.to_thread(self.ledger.orders, self.venue.venue,
                                        self.venue.account, True)
        recorded = merge_venue_views(known, answers)
        if recorded:
            await asyncio.to_thread(self.ledger.apply_changes, self.venue.venue,
                                    self.venue.account, LedgerChanges(orders=tuple(recorded)))
        return recorded

    async def record_bulk_cancel(
        self, acks: Sequence[tuple[str, str]],
    ) -> tuple[list[Order], list[tuple[str, str]]]:
        """Record the orders a bulk cancel acknowledged by id (venue id, client id) as
        CANCELLED: the venue's own word for each id. Returns the recorded orders and the
        acknowledged ids the ledger does not hold as active (reported, not invented: the
        reconciliation that follows adopts or settles them)."""
        if not acks:
            return [], []
        known = await asyncio.to_thread(self.ledger.orders, self.venue.venue,
                                        self.venue.account, True)
        by_vid = {o.venue_order_id: o for o in known if o.venue_order_id}
        by_cid = {o.client_order_id: o for o in known if o.client_order_id}
        now = self.clock_ms()
        recorded: dict[str, Order] = {}
        unknown: list[tuple[str, str]] = []
        for vid, cid in acks:
            mine = (by_vid.get(vid) if vid else None) or (by_cid.get(cid) if cid else None)
            if mine is None:
                unknown.append((vid, cid))
                continue
            recorded[mine.ident] = mine.evolve(
                status=OrderStatus.CANCELLED, venue_order_id=vid or mine.venue_order_id,
                updated_at=max(now, mine.updated_at))
        if recorded:
            await asyncio.to_thread(self.ledger.apply_changes, self.venue.venue,
                                    self.venue.account,
                                    LedgerChanges(orders=tuple(recorded.values())))
        return list(recorded.values()), unknown

    async def settle_inflight(self, timeout_s: float) -> tuple[list[Order], int]:
        """After a halt: wait (bounded) for the orders that were already on their way, and
        return those that landed live (to be cancelled) and how many are still unsettled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._inflight and loop.time() < deadline:
            await asyncio.sleep(0.01)  # a local condition, not a guess about the venue
        if self._inflight:
            log.warning("%d orders still in flight after %g s", len(self._inflight), timeout_s)
        landed, self._landed_while_halted = self._landed_while_halted, []
        return landed, len(self._inflight)

    # -- ledger ----------------------------------------------------------------------------

    async def _record(self, order: Order) -> None:
        await asyncio.to_thread(self.ledger.apply_changes, order.venue, order.account,
                                LedgerChanges(orders=(order,)))
        if order.status is not OrderStatus.PENDING_NEW:
            self._release(order.ident)

    def _release(self, ident: str) -> None:
        released = self.risk.release_order(ident)
        if released:
            log.info("%s released from quarantine: the venue answered for order %s",
                     released, ident)

    async def settle_quarantine(self, _outcome: object = None) -> None:
        """Release the instruments whose unknown orders the ledger now knows the venue's
        word on (a reconciliation or the stream recorded it). Runs after every run."""
        held = self.risk.quarantined_idents()
        if not held:
            return
        venue, account = self.venue.venue, self.venue.account
        for ident in held:
            order = await asyncio.to_thread(self.ledger.get_order, venue, account, ident)
            if order is not None and order.status is not OrderStatus.PENDING_NEW:
                self._release(ident)
