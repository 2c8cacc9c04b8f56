"""Money arithmetic of the sim: fees, margin, average entry and realised PnL.

Everything is exact `Decimal` arithmetic. The only inexact operation is division
(average prices, margin = notional / leverage); its results are rounded to 8 decimal
places, and only when they need more: margin rounds up (never lock too little), prices
and fees round half-even and half-up respectively.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal

from console.domain.values import ZERO

PLACES = 8
QUANTUM = Decimal(1).scaleb(-PLACES)


def _round(value: Decimal, rounding: str) -> Decimal:
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -PLACES:
        return value.quantize(QUANTUM, rounding=rounding)
    return value


def quantize_price(value: Decimal) -> Decimal:
    return _round(value, ROUND_HALF_EVEN)


def fee_for(amount: Decimal, rate: Decimal) -> Decimal:
    """Fee on `amount` (a notional, or a received quantity on spot buys)."""
    return _round(amount * rate, ROUND_HALF_UP)


def margin_for(notional: Decimal, leverage: int) -> Decimal:
    """Initial margin of `notional` at `leverage`, rounded up."""
    return _round(notional / leverage, ROUND_UP)


def initial_margin(qty: Decimal, price: Decimal, leverage: int) -> Decimal:
    return margin_for(qty * price, leverage)


@dataclass(frozen=True, slots=True)
class PositionChange:
    size: Decimal
    entry_price: Decimal
    realised_pnl: Decimal


def apply_trade(size: Decimal, entry_price: Decimal, signed_qty: Decimal,
                price: Decimal) -> PositionChange:
    """A one-way position after a trade of `signed_qty` (buy > 0) at `price`.

    Adding averages the entry price by quantity; reducing books
    `closed * (price - entry)` (sign of the position) and keeps the entry; closing
    resets the entry to zero; flipping opens the remainder at the trade price.
    """
    new_size = size + signed_qty
    if size == 0 or (size > 0) == (signed_qty > 0):
        entry = quantize_price((abs(size) * entry_price + abs(signed_qty) * price)
                               / abs(new_size))
        return PositionChange(new_size, entry, ZERO)
    closed = min(abs(signed_qty), abs(size))
    direction = 1 if size > 0 else -1
    realised = closed * (price - entry_price) * direction
    if new_size == 0:
        return PositionChange(new_size, ZERO, realised)
    if (new_size > 0) != (size > 0):
        return PositionChange(new_size, price, realised)
    return PositionChange(new_size, entry_price, realised)
