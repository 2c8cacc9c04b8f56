"""The vocabulary every layer shares. Venues map their strings onto these, never the reverse."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    SPOT = "spot"
    LINEAR = "linear"
    INVERSE = "inverse"
    OPTION = "option"


class Side(StrEnum):
    BUY = "Buy"
    SELL = "Sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(StrEnum):
    LIMIT = "Limit"
    MARKET = "Market"


class TriggerDirection(StrEnum):
    """Which way the market must cross `trigger_price` for a conditional order to fire."""

    RISE = "rise"
    FALL = "fall"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    POST_ONLY = "PostOnly"


class OrderStatus(StrEnum):
    PENDING_NEW = "PENDING_NEW"
    NEW = "NEW"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    UNTRIGGERED = "UNTRIGGERED"
    PENDING_CANCEL = "PENDING_CANCEL"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    UNKNOWN = "UNKNOWN"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_active(self) -> bool:
        """Active means "may still be on the venue's book": it must be verified, not assumed."""
        return self not in _TERMINAL


_TERMINAL = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})


class PositionSide(StrEnum):
    """Which book a position sits in: one-way accounts hold one netted position per
    instrument; hedge-mode accounts hold a long and a short one side by side."""

    ONE_WAY = "one_way"
    LONG = "long"
    SHORT = "short"


class OrderRole(StrEnum):
    ENTRY = "entry"
    STOP_LOSS = "sl"
    TAKE_PROFIT = "tp"
    OTHER = "other"

    @property
    def is_protection(self) -> bool:
        return self in (OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT)


class Origin(StrEnum):
    OURS = "ours"
    ADOPTED_EXTERNAL = "adopted_external"


class ExecType(StrEnum):
    TRADE = "Trade"
    FUNDING = "Funding"
    LIQUIDATION = "Liquidation"
    ADL = "AdlTrade"
    DELIVERY = "Delivery"
