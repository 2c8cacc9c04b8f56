"""Carries out venue-changing actions from a plan, and the operator's approve / reject.

Rules that cost money when broken:
- the intent is written to the ledger before a request leaves (PENDING_NEW);
- a failed cancel is never taken as a cancel: the venue is asked what became of the order,
  and the ledger records the venue's answer (a fill that raced the cancel stays a fill);
- every decision, automatic or by an operator, lands in the append-only audit log.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from console.domain import Order, OrderStatus, OrderType, TimeInForce
from console.domain.reconciliation import Action, ActionKind, ActionState, AuditEntry, evidence
from console.engine.order_manager import OrderManager
from console.engine.ports import LedgerPort, VenuePort
from console.errors import UserFacingError, VenueError
from console.reconcile import apply_actions
from console.reconcile.config import DAY_MS

log = logging.getLogger(__name__)


class ActionError(UserFacingError):
    """An action cannot be carried out as asked (wrong state, unknown id, missing payload)."""


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
        action = await self._pending(run_id, index)
        now = self.clock_ms()
        await asyncio.to_thread(self.ledger.set_action_state, run_id, index,
                                ActionState.REJECTED, by=f"operator:{operator}", at=now,
                                error=reason)
        await self._audit(run_id, action, f"operator:{operator}", "rejected",
                          evidence(reason=reason or None))

    async def _pending(self, run_id: str, index: int) -> Action:
        run = await asyncio.to_thread(self.ledger.load_run, run_id)
        if run is None or not 0 <= index < len(run.actions):
            raise ActionError(f"no action {index} in run {run_id}")
        planned = run.actions[index]
        if planned.state is not ActionState.PENDING:
            raise ActionError(
                f"action {index} of run {run_id} is {planned.state.value}, not pending")
        return planned.action

    # -- execution -----------------------------------------------------------------------

    async def execute(self, run_id: str, index: int, action: Action, *, by: str) -> ActionState:
        try:
            if self.read_only and action.kind.changes_venue:
                raise ActionError(f"{action.kind.value}: this profile is read-only; "
                                  "venue-changing actions are disabled")
            state, error, details = await self._carry_out(action)
        except ActionError as exc:
            state, error, details = ActionState.FAILED, str(exc), ()
        now = self.clock_ms()
        await asyncio.to_thread(self.ledger.set_action_state, run_id, index, state, by=by,
                                at=now, error=error)
        await self._audit(run_id, action, by, state.value,
                          (*details, *evidence(error=error or None)))
        return state

    async def _carry_out(
        self, action: Action,
    ) -> tuple[ActionState, str, tuple[tuple[str, str], ...]]:
        if action.kind is ActionKind.CANCEL_ORDER:
            if action.order is None:
                raise ActionError("cancel_order without an order")
            seen, error = await self.orders.cancel(action.order)
            if error:
                return ActionState.FAILED, error, evidence(
                    status=seen.status.value if seen else None,
                    filled_qty=seen.filled_qty if seen else None)
            return ActionState.APPLIED, "", evidence(status=seen.status.value if seen else None)
        if action.kind is ActionKind.PLACE_PROTECTION:
            if action.order is None:
                raise ActionError("place_protection without an order")
            return await self.place(action.order)
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
            return await self.place(order)
        if action.kind.changes_ledger:
            return await self._apply_to_ledger(action)
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
        try:
            placed = await self.orders.place(order)
        except VenueError as exc:
            return ActionState.FAILED, f"place failed: {exc}", ()
        if placed.status is OrderStatus.REJECTED:
            return ActionState.FAILED, "the venue did not accept the order", evidence(
                client_order_id=placed.client_order_id)
        return ActionState.APPLIED, "", evidence(venue_order_id=placed.venue_order_id,
                                                 client_order_id=placed.client_order_id,
                                                 status=placed.status.value)

    async def _audit(self, run_id: str, action: Action, actor: str, outcome: str,
                     details: tuple[tuple[str, str], ...]) -> None:
        entry = AuditEntry(
            at=self.clock_ms(), actor=actor, action=f"{action.kind.value}:{outcome}",
            subject=action.subject, venue=self.venue.venue, account=self.venue.account,
            run_id=run_id, details=details)
        await asyncio.to_thread(self.ledger.append_audit, entry)


