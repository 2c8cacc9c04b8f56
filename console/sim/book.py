"""The synthetic order book around a mark price, and the arithmetic of taking from it.

The book is stateless: it is rebuilt from the mark on every use. Asks start at
`ceil(mark + half_spread_ticks * tick)`, bids at `floor(mark - half_spread_ticks * tick)`,
and each side has `book_levels` levels `level_ticks` ticks apart holding `level_qty` each
(bids stop above zero). Taking liquidity does not deplete it: the next order or price
update sees a fresh book ("new liquidity arrives with every tick").

Conditional orders fire when the mark crosses their trigger in their direction.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from console.domain.enums import Side, TriggerDirection
from console.domain.values import ZERO
from console.sim.instruments import Instrument


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class BookView:
    """A snapshot of the synthetic book: bids high to low, asks low to high."""

    mark: Decimal | None
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]

    @property
    def best_bid(self) -> Decimal | None:
        return self.bids[0].price if self.bids else None

    @property
    def best_ask(self) -> Decimal | None:
        return self.asks[0].price if self.asks else None


def level_prices(instr: Instrument, mark: Decimal, book_side: Side) -> Iterator[Decimal]:
    """Prices of one side of the book, best first. `book_side` BUY is the bids."""
    gap = instr.tick_size * instr.half_spread_ticks
    step = instr.tick_size * instr.level_ticks
    if book_side is Side.SELL:
        first = instr.ceil_price(mark + gap)
        for i in range(instr.book_levels):
            yield first + step * i
    else:
        first = instr.floor_price(mark - gap)
        for i in range(instr.book_levels):
            price = first - step * i
            if price <= 0:
                return
            yield price


def book_view(instr: Instrument, mark: Decimal | None) -> BookView:
    if mark is None:
        return BookView(None, (), ())
    bids = tuple(BookLevel(p, instr.level_qty) for p in level_prices(instr, mark, Side.BUY))
    asks = tuple(BookLevel(p, instr.level_qty) for p in level_prices(instr, mark, Side.SELL))
    return BookView(mark, bids, asks)


def _within(taker_side: Side, level: Decimal, limit: Decimal | None) -> bool:
    if limit is None:
        return True
    return level <= limit if taker_side is Side.BUY else level >= limit


def best_price(instr: Instrument, mark: Decimal | None, taker_side: Side) -> Decimal | None:
    """The first price a taker on `taker_side` would meet (best ask for a buy), if any."""
    if mark is None:
        return None
    return next(level_prices(instr, mark, taker_side.opposite), None)


def crosses(instr: Instrument, mark: Decimal | None, taker_side: Side, limit: Decimal) -> bool:
    """True when a limit order at `limit` would take liquidity (it is marketable)."""
    best = best_price(instr, mark, taker_side)
    return best is not None and _within(taker_side, best, limit)


def takeable(instr: Instrument, mark: Decimal | None, taker_side: Side,
             limit: Decimal | None) -> Decimal:
    """How much a taker could get at `limit` or better (everything when `limit` is None)."""
    if mark is None:
        return ZERO
    total = ZERO
    for price in level_prices(instr, mark, taker_side.opposite):
        if not _within(taker_side, price, limit):
            break
        total += instr.level_qty
    return total


def walk(instr: Instrument, mark: Decimal, taker_side: Side, qty: Decimal,
         limit: Decimal | None, *, sweep: bool = False) -> list[tuple[Decimal, Decimal]]:
    """The (price, qty) executions of a taker for up to `qty`, best level first.

    With `sweep`, whatever the book's depth cannot absorb executes at its last level (an
    operator closing a position does not leave a remainder).
    """
    fills: list[tuple[Decimal, Decimal]] = []
    left = qty
    last: Decimal | None = None
    for price in level_prices(instr, mark, taker_side.opposite):
        if left <= 0 or not _within(taker_side, price, limit):
            break
        take = min(left, instr.level_qty)
        fills.append((price, take))
        left -= take
        last = price
    if sweep and left > 0:
        if last is None:
            last = instr.ceil_price(mark) if taker_side is Side.BUY else instr.floor_price(mark)
            if last <= 0:
                last = instr.tick_size
            fills.append((last, left))
        else:
            price, take = fills[-1]
            fills[-1] = (price, take + left)
    return fills


def infer_direction(side: Side, trigger: Decimal, mark: Decimal | None) -> TriggerDirection:
    """Which way a conditional fires when the caller did not say: away from the mark.

    With no mark, a sell is stop-loss-like (fires on a fall) and a buy fires on a rise.
    """
    if mark is not None and trigger > mark:
        return TriggerDirection.RISE
    if mark is not None and trigger < mark:
        return TriggerDirection.FALL
    return TriggerDirection.FALL if side is Side.SELL else TriggerDirection.RISE


def trigger_due(direction: TriggerDirection, trigger: Decimal, mark: Decimal) -> bool:
    if direction is TriggerDirection.RISE:
        return mark >= trigger
    return mark <= trigger
