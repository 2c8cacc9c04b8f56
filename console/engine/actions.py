"""Carries out venue-changing actions from a plan, and the operator's approve / reject.

Rules that cost money when broken:
- the intent is written to the ledger before a request leaves (PENDING_NEW);
- a failed cancel is never taken as a cancel: the venue is asked what became of the order,
  and the ledger records the venue's answer (a fill that raced the cancel stays a fill);
- every decision, automatic or by an operator, lands in the append-only audit log.

A rejection holds. Every run proposes afresh what still needs doing, so an action an
operator rejected would be back in the inbox a minute later. `hold_rejected` (called by
the reconcile service on each new plan) looks up what became of each proposal last
(`LedgerPort.latest_actions`): when that was a rejection and the venue shows the same
state as then (`venue_fingerprint`: the venue-side evidence of the action's discrepancy
and the venue facts the action carries), the proposal is recorded REJECTED again, by
"hold:<who rejected>", with the original time and reason, and never reaches the inbox.
When the venue state changed, the proposal is pending as usual, and from then on the old
rejection is history. An operator lifts a standing rejection with `lift_rejection` (an
audit entry "<kind>:rejection_lifted"); the next run proposes it again. No table of its
own: the runs and their actions are the record of the hold.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final

from console.domain import Order, OrderStatus, OrderType, TimeInForce
from console.domain.reconciliation import (
    Action,
    ActionKind,
    ActionState,
    AuditEntry,
    Decision,
    Discrepancy,
    PlannedAction,
    evidence,
)
from console.engine.order_manager import OrderManager
from console.engine.ports import LedgerPort, VenuePort
from console.engine.readback import ReadBack, record_outcome, symbol_positions
from console.errors import UserFacingError, VenueError
from console.reconcile import apply_actions
from console.reconcile.config import DAY_MS

log = logging.getLogger(__name__)


class ActionError(UserFacingError):
    """An action cannot be carried out as asked (wrong state, unknown id, missing payload)."""


class NotPendingError(ActionError):
    """Approve or reject of an action already decided; `state` is what it is now (a
    front-end says what to do next: a lifted rejection comes back under a new id)."""

    def __init__(self, message: str, state: ActionState) -> None:
        super().__init__(message)
        self.state = state


HOLD_PREFIX: Final = "hold:"
"""`applied_by` of a proposal recorded REJECTED because an operator's rejection holds."""
LIFTED: Final = "rejection_lifted"
"""Audit action suffix ("cancel_order:rejection_lifted") of an operator's lift."""
LIFT_SCAN: Final = 1000
"""How many of an account's newest lift entries a hold check reads."""


@dataclass(frozen=True, slots=True)
class HeldRejection:
    """A standing rejection: the operator said no, and the venue has not changed since.
    `run_id` and `index` name its newest record (the id to lift it by)."""

    run_id: str
    index: int
    action: Action
    rejected_by: str
    """Who rejected it ("operator:alice"), without the hold prefix."""
    rejected_at: int | None
    reason: str

    @property
    def ref(self) -> str:
        """"run_id:index", as the CLI prints and takes it."""
        return f"{self.run_id}:{self.index}"


@dataclass(frozen=True, slots=True)
class _Done:
    """How carrying out one action went, and what of it to read back from the venue
    (None: no request reached the venue)."""

    state: ActionState
    error: str
    details: tuple[tuple[str, str], ...]
    sent: ReadBack | None = None


def _after_cancel(order: Order, seen: Order | None) -> ReadBack:
    """What a cancel moved: the margin its order held (the balances, always read back)
    and, when the venue shows fills the ledger did not know (a fill raced the cancel),
    those fills and the positions of its instrument."""
    if seen is None or seen.filled_qty <= order.filled_qty:
        return ReadBack()
    return ReadBack((seen,), symbol_positions(seen))


def _text(value: object) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return str(getattr(value, "value", value))


def _facts(**fields: object) -> list[str]:
    return [f"{k}={_text(v)}" for k, v in fields.items() if v is not None]


def _payload_facts(action: Action) -> list[str]:
    """What the action carries of the venue's state (never times: a record touched again
    is not a venue change)."""
    out: list[str] = []
    if (o := action.order) is not None:
        out += _facts(symbol=o.symbol, side=o.side, type=o.type, qty=o.qty, price=o.price,
                      trigger_price=o.trigger_price, status=o.status, filled=o.filled_qty,
                      avg_price=o.avg_price, reduce_only=o.reduce_only,
                      venue_order_id=o.venue_order_id, client_order_id=o.client_order_id)
    if (p := action.position) is not None:
        out += _facts(category=p.category, symbol=p.symbol, position_side=p.position_side,
                      size=p.size, entry_price=p.entry_price)
    if (f := action.fill) is not None:
        out += _facts(exec_id=f.exec_id, fill_qty=f.qty, fill_price=f.price)
    if (b := action.balance) is not None:
        out += _facts(asset=b.asset, total=b.total, free=b.free, locked=b.locked)
    return out


def venue_fingerprint(action: Action, discrepancies: Sequence[Discrepancy]) -> str:
    """The venue's side of `action` in its run: the venue evidence of the discrepancies
    it answers (same subject, and same kind as its reason) and the venue facts of its
    payload. Equal fingerprints: the venue shows what it showed when the action was
    rejected."""
    facts = sorted(f"{d.kind.value}:{json.dumps(sorted(d.venue))}" for d in discrepancies
                   if d.subject == action.subject
                   and (action.reason is None or d.kind is action.reason))
    facts += _payload_facts(action)
    key = "\n".join((action.kind.value, action.subject, *facts))
    return hashlib.sha256(key.encode()).hexdigest()


def _rejected_by(planned: PlannedAction) -> str:
    return planned.applied_by.removeprefix(HOLD_PREFIX)


def _awaits_approval(planned: PlannedAction) -> bool:
    return planned.decision is Decision.NEEDS_APPROVAL and planned.state is ActionState.PENDING


def lift_times(ledger: LedgerPort, venue: str, account: str,
               kinds: Collection[str]) -> dict[tuple[str, str], int]:
    """(kind, subject) -> when an operator last lifted its rejection (ledger read)."""
    entries = ledger.audit_log(LIFT_SCAN, venue=venue, account=account,
                               actions={f"{kind}:{LIFTED}" for kind in kinds})
    out: dict[tuple[str, str], int] = {}
    for entry in entries:
        key = (entry.action.removesuffix(f":{LIFTED}"), entry.subject)
        out[key] = max(out.get(key, entry.at), entry.at)
    return out


def _lifted(lifts: dict[tuple[str, str], int], planned: PlannedAction) -> bool:
    key = (planned.action.kind.value, planned.action.subject)
    return lifts.get(key, -1) >= (planned.applied_at or 0)


def standing_rejections(ledger: LedgerPort, venue: str, account: str) -> list[HeldRejection]:
    """The rejections standing now (ledger reads): those of the newest run that no
    operator has lifted since. A rejection of an action the venue no longer calls for is
    not listed: nothing proposes it any more."""
    runs = ledger.list_runs(venue, account, 1)
    if not runs:
        return []
    run = runs[0]
    found = [(i, p) for i, p in enumerate(run.actions)
             if p.decision is Decision.NEEDS_APPROVAL and p.state is ActionState.REJECTED]
    if not found:
        return []
    lifts = lift_times(ledger, venue, account, {p.action.kind.value for _, p in found})
    return [HeldRejection(run.run_id, i, p.action, _rejected_by(p), p.applied_at, p.error)
            for i, p in found if not _lifted(lifts, p)]


class ActionExecutor:
    def __init__(self, venue: VenuePort, ledger: LedgerPort, orders: OrderManager, *,
                 clock_ms: Callable[[], int], read_only: bool = False) -> None:
        self.read_only = read_only
        self.venue = venue
        self.ledger = ledger
        self.orders = orders
        self.clock_ms = clock_ms

    # -- operator decisions --------------------------------------------------------------

    async def approve(self, run_id: str, index: int, operator: str) -> ActionState:
        action = await self._pending(run_id, index)
        if self.read_only and action.kind.changes_venue:
            raise ActionError(f"{action.kind.value}: this profile is read-only; "
                              "venue-changing actions are disabled")
        return await self.execute(run_id, index, action, by=f"operator:{operator}")

    async def reject(self, run_id: str, index: int, operator: str, reason: str = "") -> None:
        """Record the operator's no (audited). It holds: later runs record the same
        proposal rejected again while the venue shows the same state (`hold_rejected`),
        until the venue changes or an operator lifts it (`lift_rejection`)."""
        action = await self._pending(run_id, index)
        now = self.clock_ms()
        await asyncio.to_thread(self.ledger.set_action_state, run_id, index,
                                ActionState.REJECTED, by=f"operator:{operator}", at=now,
                                error=reason)
        await self._audit(run_id, action, f"operator:{operator}", "rejected",
                          evidence(reason=reason or None))

    # -- standing rejections ---------------------------------------------------------------

    async def hold_rejected(self, actions: tuple[PlannedAction, ...],
                            discrepancies: Sequence[Discrepancy]) -> tuple[PlannedAction, ...]:
        """`actions` of a new plan, with each proposal an operator's rejection still holds
        recorded REJECTED (see the module docstring). Never fails a run: when the ledger
        cannot say, nothing is held and the proposals go to the inbox as before."""
        asking = {(p.action.kind.value, p.action.subject): p.action for p in actions
                  if _awaits_approval(p)}
        if not asking:
            return actions
        try:
            held = await self._held(asking, discrepancies)
        except Exception:
            log.exception("rejection hold: the earlier decisions could not be read; "
                          "proposing everything")
            return actions
        if not held:
            return actions
        out = []
        for planned in actions:
            rejection = held.get((planned.action.kind.value, planned.action.subject))
            if rejection is None or not _awaits_approval(planned):
                out.append(planned)
                continue
            out.append(replace(planned, state=ActionState.REJECTED,
                               applied_by=HOLD_PREFIX + _rejected_by(rejection),
                               applied_at=rejection.applied_at, error=rejection.error))
        log.info("%s/%s: %d rejected proposals held (the venue has not changed)",
                 self.venue.venue, self.venue.account, len(held))
        return tuple(out)

    async def _held(self, asking: dict[tuple[str, str], Action],
                    discrepancies: Sequence[Discrepancy]) -> dict[tuple[str, str],
                                                                  PlannedAction]:
        venue, account = self.venue.venue, self.venue.account
        latest = await asyncio.to_thread(self.ledger.latest_actions, venue, account,
                                         list(asking))
        rejected = {key: found for key, found in latest.items()
                    if found[2].state is ActionState.REJECTED}
        if not rejected:
            return {}
        lifts = await asyncio.to_thread(lift_times, self.ledger, venue, account,
                                        {kind for kind, _ in rejected})
        runs: dict[str, Sequence[Discrepancy]] = {}
        held: dict[tuple[str, str], PlannedAction] = {}
        for key, (run_id, _index, planned) in rejected.items():
            if _lifted(lifts, planned):
                continue  # lifted by an operator since
            if run_id not in runs:
                run = await asyncio.to_thread(self.ledger.load_run, run_id)
                runs[run_id] = run.discrepancies if run is not None else ()
            then = venue_fingerprint(planned.action, runs[run_id])
            if venue_fingerprint(asking[key], discrepancies) == then:
                held[key] = planned
        return held

    async def held_rejections(self) -> list[HeldRejection]:
        """The rejections standing now (`standing_rejections`), for the window."""
        return await asyncio.to_thread(standing_rejections, self.ledger, self.venue.venue,
                                       self.venue.account)

    async def lift_rejection(self, run_id: str, index: int, operator: str) -> Action:
        """Lift the rejection recorded as action `index` of `run_id` (the operator's or a
        hold's): audited, and the next run proposes the action again if still needed."""
        planned = await self._recorded(run_id, index)
        if (planned.state is not ActionState.REJECTED
                or planned.decision is not Decision.NEEDS_APPROVAL):
            raise ActionError(f"action {index} of run {run_id} is {planned.state.value}, "
                              "not a rejection an operator can lift")
        action = planned.action
        lifts = await asyncio.to_thread(lift_times, self.ledger, self.venue.venue,
                                        self.venue.account, {action.kind.value})
        if _lifted(lifts, planned):
            raise ActionError(f"the rejection of {action.kind.value} {action.subject} was "
                              "lifted already; the next reconciliation proposes it again")
        await self._audit(run_id, action, f"operator:{operator}", LIFTED, evidence(
            rejected_by=_rejected_by(planned) or None, rejected_at=planned.applied_at,
            reason=planned.error or None))
        return action

    async def _recorded(self, run_id: str, index: int) -> PlannedAction:
        """Action `index` of run `run_id`, which must be a run of this venue and account:
        an approval must never act on another account's venue."""
        run = await asyncio.to_thread(self.ledger.load_run, run_id)
        if run is None or not 0 <= index < len(run.actions):
            raise ActionError(f"no action {index} in run {run_id}")
        if (run.venue, run.account) != (self.venue.venue, self.venue.account):
            raise ActionError(f"run {run_id} is of {run.venue}/{run.account}, not of "
                              f"{self.venue.venue}/{self.venue.account}")
        return run.actions[index]

    async def _pending(self, run_id: str, index: int) -> Action:
        planned = await self._recorded(run_id, index)
        if planned.state is not ActionState.PENDING:
            again = (": a rejection, once lifted, is proposed again under a new id by the "
                     "next reconciliation" if planned.state is ActionState.REJECTED else "")
            raise NotPendingError(f"action {index} of run {run_id} is {planned.state.value}, "
                                  f"not pending{again}", planned.state)
        return planned.action

    # -- execution -----------------------------------------------------------------------

    async def execute(self, run_id: str, index: int, action: Action, *, by: str,
                      read_back: bool = True) -> ActionState:
        """Carry out `action` (action `index` of run `run_id`), record its state and audit
        it under `by`. A request that reached the venue is then read back
        (`console.engine.readback`: the balances it moved, the fills and positions of the
        orders it sent), so the next reconciliation does not find our own action as a
        discrepancy when no stream runs to record it. `read_back=False` leaves that to the
        caller (`execute_all`: one read-back for a run's actions)."""
        state, outcome = await self._execute(run_id, index, action, by=by)
        if read_back and outcome is not None:
            await self._record_outcome(outcome)
        return state

    async def execute_all(self, run_id: str, items: Sequence[tuple[int, Action]], *,
                          by: str) -> list[ActionState]:
        """`execute` each of `items` (index, action) of run `run_id` in turn, then read back
        once what they all did."""
        states: list[ActionState] = []
        outcome: ReadBack | None = None
        for index, action in items:
            state, done = await self._execute(run_id, index, action, by=by)
            states.append(state)
            if done is not None:
                outcome = done if outcome is None else outcome.merge(done)
        if outcome is not None:
            await self._record_outcome(outcome)
        return states

    async def _execute(self, run_id: str, index: int, action: Action, *,
                       by: str) -> tuple[ActionState, ReadBack | None]:
        outcome: ReadBack | None = None
        try:
            if self.read_only and action.kind.changes_venue:
                raise ActionError(f"{action.kind.value}: this profile is read-only; "
                                  "venue-changing actions are disabled")
            done = await self._carry_out(action)
            state, error, details, outcome = done.state, done.error, done.details, done.sent
        except ActionError as exc:
            state, error, details = ActionState.FAILED, str(exc), ()
        now = self.clock_ms()
        await asyncio.to_thread(self.ledger.set_action_state, run_id, index, state, by=by,
                                at=now, error=error)
        await self._audit(run_id, action, by, state.value,
                          (*details, *evidence(error=error or None)))
        return state, outcome

    async def _record_outcome(self, outcome: ReadBack) -> None:
        await record_outcome(self.venue, self.ledger, outcome, clock_ms=self.clock_ms,
                             what=f"{self.venue.venue}/{self.venue.account}: an action")

    async def _carry_out(self, action: Action) -> _Done:
        if action.kind is ActionKind.CANCEL_ORDER:
            if action.order is None:
                raise ActionError("cancel_order without an order")
            seen, error = await self.orders.cancel(action.order)
            sent = _after_cancel(action.order, seen)
            if error:
                return _Done(ActionState.FAILED, error, evidence(
                    status=seen.status.value if seen else None,
                    filled_qty=seen.filled_qty if seen else None), sent)
            return _Done(ActionState.APPLIED, "",
                         evidence(status=seen.status.value if seen else None), sent)
        if action.kind is ActionKind.PLACE_PROTECTION:
            if action.order is None:
                raise ActionError("place_protection without an order")
            return await self._place(action.order)
        if action.kind is ActionKind.FLATTEN_POSITION:
            position = action.position
            if position is None or position.side is None:
                raise ActionError("flatten_position without an open position")
            client_id = await asyncio.to_thread(self.orders.ids.next)
            now = self.clock_ms()
            order = Order(
                venue=position.venue, account=position.account, category=position.category,
                symbol=position.symbol, side=position.side.opposite, type=OrderType.MARKET,
                qty=abs(position.size), status=OrderStatus.PENDING_NEW,
                client_order_id=client_id, reduce_only=True,
                time_in_force=TimeInForce.IOC, created_at=now, updated_at=now)
            return await self._place(order, positions=frozenset({position.key}))
        if action.kind.changes_ledger:
            state, error, details = await self._apply_to_ledger(action)
            return _Done(state, error, details)
        raise ActionError(f"{action.kind.value} cannot be carried out by an operator")

    async def _apply_to_ledger(
        self, action: Action,
    ) -> tuple[ActionState, str, tuple[tuple[str, str], ...]]:
        """A ledger action the profile wanted approved: the same pure step the reconciler
        applies automatically, against the ledger as it is now."""
        now = self.clock_ms()
        snapshot = await asyncio.to_thread(
            self.ledger.load_snapshot, self.venue.venue, self.venue.account, now=now,
            retention_ms=DAY_MS, fills_from=now)
        changes = apply_actions(snapshot, [action], now)
        if not changes.is_empty:
            await asyncio.to_thread(self.ledger.apply_changes, self.venue.venue,
                                    self.venue.account, changes)
        return ActionState.APPLIED, "", evidence(
            changed="yes" if not changes.is_empty else "already so")

    async def place(self, order: Order) -> tuple[ActionState, str, tuple[tuple[str, str], ...]]:
        """Place `order` (the ledger records it first) and say how it went; nothing is read
        back (`execute` does that for an action)."""
        done = await self._place(order)
        return done.state, done.error, done.details

    async def _place(self, order: Order, *, positions: frozenset[str] = frozenset()) -> _Done:
        """Place `order`; a request the venue may have acted on is read back afterwards:
        the balances, the order's fills and `positions` (those it may move)."""
        try:
            placed = await self.orders.place(order)
        except VenueError as exc:
            # it may have landed all the same (the order manager resolves it): read back
            return _Done(ActionState.FAILED, f"place failed: {exc}", (),
                         ReadBack((order,), positions))
        if placed.status is OrderStatus.REJECTED:
            return _Done(ActionState.FAILED, "the venue did not accept the order", evidence(
                client_order_id=placed.client_order_id))
        return _Done(ActionState.APPLIED, "", evidence(venue_order_id=placed.venue_order_id,
                                                       client_order_id=placed.client_order_id,
                                                       status=placed.status.value),
                     ReadBack((placed,), positions))

    async def _audit(self, run_id: str, action: Action, actor: str, outcome: str,
                     details: tuple[tuple[str, str], ...]) -> None:
        entry = AuditEntry(
            at=self.clock_ms(), actor=actor, action=f"{action.kind.value}:{outcome}",
            subject=action.subject, venue=self.venue.venue, account=self.venue.account,
            run_id=run_id, details=details)
        await asyncio.to_thread(self.ledger.append_audit, entry)


