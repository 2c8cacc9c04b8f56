"""Private-stream events a venue pushes: what changed, and the connection's own state.

A stream is a hint, never the truth: messages can be dropped, duplicated or reordered, so
every consumer must be idempotent (fills by exec id, orders by newest `updated_at`) and a
reconnect is always followed by a reconciliation that repairs the gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from console.domain.model import Balance, Fill, Order, Position


class ConnectionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class OrderEvent:
    order: Order
    received_at: int = 0


@dataclass(frozen=True, slots=True)
class FillEvent:
    fill: Fill
    received_at: int = 0


@dataclass(frozen=True, slots=True)
class PositionEvent:
    position: Position
    received_at: int = 0


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    balance: Balance
    received_at: int = 0


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """The private stream's state. `reconnected` marks a CONNECTED that follows a loss:
    whatever happened in between was not seen, and must be reconciled now."""

    state: ConnectionState
    reconnected: bool = False
    detail: str = ""
    at: int = 0
    attempt: int = 0


VenueEvent = OrderEvent | FillEvent | PositionEvent | BalanceEvent | ConnectionEvent
