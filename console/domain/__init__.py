"""Frozen domain values shared by every layer. Standard library only."""

from console.domain.enums import (
    Category,
    ExecType,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.model import (
    Balance,
    BracketState,
    Fill,
    Order,
    Position,
    RunnerState,
    position_key,
)
from console.domain.snapshot import LedgerChanges, LedgerSnapshot, VenueSnapshot
from console.domain.values import ZERO, DomainValueError

__all__ = [
    "ZERO", "Balance", "BracketState", "Category", "DomainValueError", "ExecType", "Fill",
    "LedgerChanges", "LedgerSnapshot", "Order", "OrderRole", "OrderStatus", "OrderType",
    "Origin", "Position", "PositionSide", "RunnerState", "Side", "TimeInForce", "TriggerDirection",
    "VenueSnapshot", "position_key",
]
