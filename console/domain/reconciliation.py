"""Values a reconciliation produces: discrepancies, actions, decisions and the run record.

They live in the domain (not in `reconcile`) because the store persists them and the UI
shows them; `reconcile` only computes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from console.domain.model import Balance, BracketState, Fill, Order, Position

Evidence = tuple[tuple[str, str], ...]


def evidence(**fields: object) -> Evidence:
    """Field → text pairs, for showing ledger and venue side by side. None is left out."""
    return tuple((k, str(v)) for k, v in fields.items() if v is not None)


class DiscrepancyKind(StrEnum):
    ORDER_MISSING_ON_VENUE = "order_missing_on_venue"
    ORDER_UNKNOWN_LOCALLY = "order_unknown_locally"
    STATUS_MISMATCH = "status_mismatch"
    FILL_QTY_MISMATCH = "fill_qty_mismatch"
    MISSING_FILL = "missing_fill"
    POSITION_MISSING_LOCALLY = "position_missing_locally"
    POSITION_MISSING_ON_VENUE = "position_missing_on_venue"
    POSITION_MISMATCH = "position_mismatch"
    BALANCE_MISMATCH = "balance_mismatch"
    BRACKET_MISSING_PROTECTION = "bracket_missing_protection"
    ORPHANED_PROTECTION = "orphaned_protection"
    BRACKET_ENTRY_NOT_FILLED = "bracket_entry_not_filled"
    BRACKET_CLOSED_OFFLINE = "bracket_closed_offline"
    UNKNOWN_OURS = "unknown_ours"
    STALE_ORDER = "stale_order"

    @property
    def is_position(self) -> bool:
        return self in (DiscrepancyKind.POSITION_MISSING_LOCALLY,
                        DiscrepancyKind.POSITION_MISSING_ON_VENUE,
                        DiscrepancyKind.POSITION_MISMATCH)


@dataclass(frozen=True, slots=True)
class Discrepancy:
    kind: DiscrepancyKind
    subject: str
    summary: str
    symbol: str = ""
    ledger: Evidence = ()
    venue: Evidence = ()
    ledger_seen_at: int | None = None
    venue_seen_at: int | None = None


class ActionKind(StrEnum):
    # ledger only
    MARK_FILLED = "mark_filled"
    MARK_CANCELLED = "mark_cancelled"
    UPDATE_ORDER = "update_order"
    ADOPT_ORDER = "adopt_order"
    ADD_FILL = "add_fill"
    UPSERT_POSITION = "upsert_position"
    CLOSE_LOCAL_POSITION = "close_local_position"
    UPDATE_BALANCE = "update_balance"
    RESTORE_BRACKET = "restore_bracket"
    UPDATE_BRACKET = "update_bracket"
    CLEAR_BRACKET = "clear_bracket"
    # venue changing
    CANCEL_ORDER = "cancel_order"
    FLATTEN_POSITION = "flatten_position"
    PLACE_PROTECTION = "place_protection"
    # mode
    ALERT = "alert"
    PAUSE_TRADING = "pause_trading"
    RESUME_TRADING = "resume_trading"

    @property
    def changes_venue(self) -> bool:
        return self in _VENUE_ACTIONS

    @property
    def changes_ledger(self) -> bool:
        return self in _LEDGER_ACTIONS


_VENUE_ACTIONS = frozenset({ActionKind.CANCEL_ORDER, ActionKind.FLATTEN_POSITION,
                            ActionKind.PLACE_PROTECTION})
_LEDGER_ACTIONS = frozenset({
    ActionKind.MARK_FILLED, ActionKind.MARK_CANCELLED, ActionKind.UPDATE_ORDER,
    ActionKind.ADOPT_ORDER, ActionKind.ADD_FILL, ActionKind.UPSERT_POSITION,
    ActionKind.CLOSE_LOCAL_POSITION, ActionKind.UPDATE_BALANCE, ActionKind.RESTORE_BRACKET,
    ActionKind.UPDATE_BRACKET, ActionKind.CLEAR_BRACKET,
})


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a plan. Exactly the payload its kind needs is set.

    `order` is the ledger's new view of an order (mark_*, update, adopt) or the venue order
    to cancel; `worker` scopes bracket actions to one (user, worker).
    """

    kind: ActionKind
    subject: str
    reason: DiscrepancyKind | None = None
    summary: str = ""
    order: Order | None = None
    fill: Fill | None = None
    position: Position | None = None
    balance: Balance | None = None
    bracket: BracketState | None = None
    user_id: str = ""
    worker_id: str = ""
    severity: Severity = Severity.INFO


class Decision(StrEnum):
    AUTO = "auto"
    NEEDS_APPROVAL = "needs_approval"


class ActionState(StrEnum):
    PENDING = "pending"
    APPLIED = "applied"
    REJECTED = "rejected"
    FAILED = "failed"
    SUPERSEDED = "superseded"


@dataclass(frozen=True, slots=True)
class PlannedAction:
    action: Action
    decision: Decision
    state: ActionState = ActionState.PENDING
    applied_by: str = ""
    applied_at: int | None = None
    error: str = ""


class TradingMode(StrEnum):
    TRADING = "trading"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Plan:
    actions: tuple[PlannedAction, ...]
    mode: TradingMode
    pause_reason: str = ""
    unverified: tuple[str, ...] = ()

    @property
    def auto(self) -> tuple[Action, ...]:
        return tuple(p.action for p in self.actions if p.decision is Decision.AUTO)

    @property
    def awaiting_approval(self) -> tuple[Action, ...]:
        return tuple(p.action for p in self.actions if p.decision is Decision.NEEDS_APPROVAL)


class RunTrigger(StrEnum):
    STARTUP = "startup"
    PERIODIC = "periodic"
    RECONNECT = "reconnect"
    MANUAL = "manual"
    STREAM = "stream"
    """The private stream pushed a fill or an order update that contradicts a terminal
    ledger order (a REJECTED order the venue filled): the venue is asked about it now."""


class RunStatus(StrEnum):
    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One reconciliation, as stored: the audit trail and the data behind the inbox."""

    run_id: str
    venue: str
    account: str
    trigger: RunTrigger
    started_at: int
    finished_at: int
    status: RunStatus
    mode: TradingMode = TradingMode.TRADING
    pause_reason: str = ""
    venue_calls: tuple[tuple[str, int], ...] = ()
    discrepancies: tuple[Discrepancy, ...] = ()
    actions: tuple[PlannedAction, ...] = ()
    errors: tuple[str, ...] = ()
    unverified: tuple[str, ...] = ()
    fills_window: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """Append-only record of what an operator (or the automation) did and why."""

    at: int
    actor: str
    action: str
    subject: str
    venue: str = ""
    account: str = ""
    run_id: str = ""
    details: tuple[tuple[str, str], ...] = field(default=())
