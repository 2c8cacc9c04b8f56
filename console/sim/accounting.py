"""Money arithmetic of the sim: fees, margin, average entry and PnL, linear and inverse.

Linear contracts and spot (amounts in the base coin, money in the quote coin)
-----------------------------------------------------------------------------
Everything is exact `Decimal` arithmetic. The only inexact operation is division
(average prices, margin = notional / leverage); its results are rounded to 8 decimal
places, and only when they need more: margin rounds up (never lock too little), prices
and fees round half-even and half-up respectively.

Inverse contracts (amounts in USD contracts, money in the base coin)
--------------------------------------------------------------------
Bybit's BTCUSD and Deribit's BTC-PERPETUAL: an order's quantity is a number of USD, and
margin, fees and PnL are amounts of the coin, so every figure is a division by a price:

* value of `qty` at `price` (in coin) = qty / price
* fee = qty / price * rate
* initial margin = qty / price / leverage (orders at their limit price, positions at their
  entry price)
* average entry = the harmonic mean: total qty / sum(qty_i / price_i); incrementally,
  (|size| + qty) / (|size| / entry + qty / price)
* unrealised PnL = size * (1 / entry - 1 / mark)  (size signed: long > 0)
* realised PnL of a reduction = closed * (1 / entry - 1 / exit), negated for a short

Quantization. Each figure is computed exactly (as the rational number its Decimal inputs
define, with `fractions.Fraction`, so no intermediate result is ever rounded) and then
rounded once to `PLACES` = 8 decimal places, and only when it needs more (1000 / 50000 is
0.02, not 0.02000000). Eight places is one satoshi, the unit Bybit reports inverse
balances, PnL, fees and margins in (Deribit reports BTC to the same precision). The
rounding modes are the linear ones, for the same reasons: margins round up (an account
never locks less than the rule asks), fees round half-up, and the entry price and PnL
round half-even (no drift in either direction over many fills). The entry is rounded to
8 places after every fill that changes it, exactly as the linear average is, and PnL and
position margin are computed from that reported entry, so anyone holding the position
snapshot (size, entry, mark) can recompute its unrealised PnL to the satoshi.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP, Decimal, localcontext
from fractions import Fraction

from console.domain.enums import Category
from console.domain.values import ZERO

PLACES = 8
QUANTUM = Decimal(1).scaleb(-PLACES)
_SCALE = 10 ** PLACES


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


# -- inverse contracts -----------------------------------------------------------------


def _round_int(value: Fraction, rounding: str) -> int:
    """`value` rounded to a whole number: ROUND_UP (away from zero), ROUND_HALF_UP (ties
    away from zero) or ROUND_HALF_EVEN."""
    floor = value.numerator // value.denominator
    rest = value - floor  # in [0, 1)
    if rest == 0:
        return floor
    if rounding == ROUND_UP:
        return floor + 1 if value > 0 else floor
    half = Fraction(1, 2)
    if rest != half:
        return floor + 1 if rest > half else floor
    if rounding == ROUND_HALF_UP:
        return floor + 1 if value > 0 else floor
    if rounding == ROUND_HALF_EVEN:
        return floor if floor % 2 == 0 else floor + 1
    raise ValueError(f"unsupported rounding {rounding!r}")


def to_decimal_places(value: Fraction, rounding: str) -> Decimal:
    """`value` as a Decimal: exactly when it has at most `PLACES` decimal places, else
    rounded once to `PLACES` with `rounding`."""
    scaled = value * _SCALE
    if scaled.denominator == 1:
        # exact with at most PLACES places: let Decimal pick the shortest exponent
        with localcontext() as ctx:
            ctx.prec = max(28, len(str(abs(value.numerator))) + PLACES + 2)
            return Decimal(value.numerator) / Decimal(value.denominator)
    return Decimal(_round_int(scaled, rounding)).scaleb(-PLACES)


def _exact(value: Decimal) -> Fraction:
    return Fraction(value)


def inverse_value(qty: Decimal, price: Decimal) -> Decimal:
    """The coin value of `qty` USD contracts at `price` (rounded half-even)."""
    return to_decimal_places(_exact(qty) / _exact(price), ROUND_HALF_EVEN)


def inverse_fee(qty: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    """Fee in coin: qty / price * rate, rounded half-up (negative for a rebate)."""
    return to_decimal_places(_exact(qty) * _exact(rate) / _exact(price), ROUND_HALF_UP)


def inverse_margin(qty: Decimal, price: Decimal, leverage: int) -> Decimal:
    """Initial margin in coin: qty / price / leverage, rounded up (zero for nothing: a
    flat position has no entry price)."""
    if qty == 0:
        return ZERO
    return to_decimal_places(_exact(qty) / (_exact(price) * leverage), ROUND_UP)


def inverse_margin_of(executions: Iterable[tuple[Decimal, Decimal]], leverage: int) -> Decimal:
    """Initial margin of (price, qty) executions: sum(qty / price) / leverage, rounded up
    once (what a market order that walks the book needs)."""
    value = sum((_exact(qty) / _exact(price) for price, qty in executions), Fraction(0))
    return to_decimal_places(value / leverage, ROUND_UP)


def inverse_average(qty_before: Decimal, average: Decimal, qty: Decimal,
                    price: Decimal) -> Decimal:
    """The harmonic mean price of `qty_before` at `average` and `qty` at `price`: total
    qty / total coin value, rounded half-even."""
    if qty_before == 0:
        return price
    value = _exact(qty_before) / _exact(average) + _exact(qty) / _exact(price)
    return to_decimal_places((_exact(qty_before) + _exact(qty)) / value, ROUND_HALF_EVEN)


def inverse_pnl(size: Decimal, entry_price: Decimal, price: Decimal) -> Decimal:
    """PnL in coin of `size` (signed, long > 0) entered at `entry_price` and valued at
    `price`: size * (1 / entry - 1 / price), rounded half-even."""
    if size == 0:
        return ZERO
    exact = _exact(size) * (1 / _exact(entry_price) - 1 / _exact(price))
    return to_decimal_places(exact, ROUND_HALF_EVEN)


def apply_inverse_trade(size: Decimal, entry_price: Decimal, signed_qty: Decimal,
                        price: Decimal) -> PositionChange:
    """An inverse position after a trade of `signed_qty` USD (buy > 0) at `price`.

    The shape of `apply_trade` with inverse money: adding takes the harmonic mean of the
    entry; reducing books `closed * (1 / entry - 1 / price)` (sign of the position) in
    coin and keeps the entry; closing resets the entry to zero; flipping opens the
    remainder at the trade price.
    """
    new_size = size + signed_qty
    if size == 0 or (size > 0) == (signed_qty > 0):
        entry = inverse_average(abs(size), entry_price, abs(signed_qty), price)
        return PositionChange(new_size, entry, ZERO)
    closed = min(abs(signed_qty), abs(size))
    realised = inverse_pnl(closed if size > 0 else -closed, entry_price, price)
    if new_size == 0:
        return PositionChange(new_size, ZERO, realised)
    if (new_size > 0) != (size > 0):
        return PositionChange(new_size, price, realised)
    return PositionChange(new_size, entry_price, realised)


# -- the rules of one kind of contract -------------------------------------------------


def linear_fee(qty: Decimal, price: Decimal, rate: Decimal) -> Decimal:
    return fee_for(price * qty, rate)


def linear_margin_of(executions: Iterable[tuple[Decimal, Decimal]], leverage: int) -> Decimal:
    return margin_for(sum((price * qty for price, qty in executions), ZERO), leverage)


def linear_pnl(size: Decimal, entry_price: Decimal, price: Decimal) -> Decimal:
    """PnL in the quote coin of `size` (signed) entered at `entry_price`, valued at `price`."""
    if size == 0:
        return ZERO
    return (price - entry_price) * size


@dataclass(frozen=True, slots=True)
class ContractMath:
    """The money rules of one kind of derivative, so the matcher need not ask which:
    `margin(qty, price, leverage)`, `margin_of(executions, leverage)`,
    `fee(qty, price, rate)`, `trade(size, entry, signed_qty, price)` and
    `pnl(size, entry, price)`."""

    margin: Callable[[Decimal, Decimal, int], Decimal]
    margin_of: Callable[[Iterable[tuple[Decimal, Decimal]], int], Decimal]
    fee: Callable[[Decimal, Decimal, Decimal], Decimal]
    trade: Callable[[Decimal, Decimal, Decimal, Decimal], PositionChange]
    pnl: Callable[[Decimal, Decimal, Decimal], Decimal]


LINEAR_MATH = ContractMath(initial_margin, linear_margin_of, linear_fee, apply_trade,
                           linear_pnl)
INVERSE_MATH = ContractMath(inverse_margin, inverse_margin_of, inverse_fee,
                            apply_inverse_trade, inverse_pnl)


def contract_math(category: Category) -> ContractMath:
    """The rules of `category`'s contracts: inverse ones for INVERSE, else linear ones."""
    return INVERSE_MATH if category is Category.INVERSE else LINEAR_MATH
