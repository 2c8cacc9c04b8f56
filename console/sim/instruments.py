"""What the sim lists: instruments with their price and size grids and synthetic book shape.

An `Instrument` is a linear perpetual (quantity in the base coin, settled in its quote
coin, USDT), an inverse perpetual (quantity in USD contracts, settled in its base coin:
Bybit's BTCUSD, Deribit's BTC-PERPETUAL; see `console.sim.accounting` for its money
rules) or a spot pair.
`tick_size`, `qty_step` and `min_qty`/`max_qty` are the grid every price and quantity must
sit on; `half_spread_ticks`, `level_ticks`, `level_qty` and `book_levels` shape the
synthetic order book the sim builds around the mark price (see `console.sim.book`).
`reference_price` is a plausible starting mark for demos and scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from console.domain.enums import Category

InstrumentKey = tuple[Category, str]

_SUPPORTED = (Category.LINEAR, Category.INVERSE, Category.SPOT)
DERIVATIVES = frozenset({Category.LINEAR, Category.INVERSE})


def _positive(name: str, value: object) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise ValueError(f"instrument.{name}: {value!r} must be a Decimal greater than zero")
    return value


def is_multiple(value: Decimal, step: Decimal) -> bool:
    return value % step == 0


@dataclass(frozen=True, slots=True)
class Instrument:
    category: Category
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    qty_step: Decimal
    min_qty: Decimal
    level_qty: Decimal
    max_qty: Decimal = Decimal(1_000_000_000)
    half_spread_ticks: int = 1
    level_ticks: int = 1
    book_levels: int = 20
    reference_price: Decimal | None = None

    def __post_init__(self) -> None:
        if self.category not in _SUPPORTED:
            raise ValueError(f"instrument {self.symbol}: category {self.category!r} is not "
                             "simulated (linear, inverse and spot are)")
        if not self.symbol or not self.base or not self.quote:
            raise ValueError("instrument: symbol, base and quote are required")
        for name in ("tick_size", "qty_step", "min_qty", "level_qty", "max_qty"):
            _positive(name, getattr(self, name))
        if not is_multiple(self.min_qty, self.qty_step):
            raise ValueError(f"instrument {self.symbol}: min_qty {self.min_qty} is not a "
                             f"multiple of qty_step {self.qty_step}")
        if not is_multiple(self.level_qty, self.qty_step):
            raise ValueError(f"instrument {self.symbol}: level_qty {self.level_qty} is not a "
                             f"multiple of qty_step {self.qty_step}")
        for name in ("half_spread_ticks", "level_ticks", "book_levels"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"instrument {self.symbol}: {name} {value!r} must be >= 1")
        if self.reference_price is not None:
            _positive("reference_price", self.reference_price)
            if not is_multiple(self.reference_price, self.tick_size):
                raise ValueError(f"instrument {self.symbol}: reference_price "
                                 f"{self.reference_price} is off the tick grid")

    @property
    def key(self) -> InstrumentKey:
        return (self.category, self.symbol)

    @property
    def settle_coin(self) -> str:
        """The coin margin, PnL and fees of a contract are booked in: the quote coin of a
        linear contract (and of a spot pair), the base coin of an inverse one."""
        return self.base if self.category is Category.INVERSE else self.quote

    @property
    def is_derivative(self) -> bool:
        """Linear or inverse: traded as positions with margin and leverage."""
        return self.category in DERIVATIVES

    @property
    def is_inverse(self) -> bool:
        return self.category is Category.INVERSE

    @property
    def label(self) -> str:
        return f"{self.category.value} {self.symbol}"

    def price_problem(self, price: object, field: str = "price") -> str | None:
        """Why `price` is not a valid price for this instrument, or None."""
        if not isinstance(price, Decimal) or not price.is_finite():
            return f"{field} {price!r} for {self.label} is not a finite Decimal"
        if price <= 0:
            return f"{field} {price} for {self.label} must be greater than zero"
        if not is_multiple(price, self.tick_size):
            return (f"{field} {price} for {self.label} is not a multiple of the tick size "
                    f"{self.tick_size}")
        return None

    def qty_problem(self, qty: object, field: str = "qty") -> str | None:
        """Why `qty` is not a valid order quantity for this instrument, or None."""
        if not isinstance(qty, Decimal) or not qty.is_finite():
            return f"{field} {qty!r} for {self.label} is not a finite Decimal"
        if qty <= 0:
            return f"{field} {qty} for {self.label} must be greater than zero"
        if qty < self.min_qty:
            return f"{field} {qty} for {self.label} is below the minimum {self.min_qty}"
        if qty > self.max_qty:
            return f"{field} {qty} for {self.label} is above the maximum {self.max_qty}"
        if not is_multiple(qty, self.qty_step):
            return (f"{field} {qty} for {self.label} is not a multiple of the qty step "
                    f"{self.qty_step}")
        return None

    def floor_price(self, value: Decimal) -> Decimal:
        return (value / self.tick_size).to_integral_value(ROUND_FLOOR) * self.tick_size

    def ceil_price(self, value: Decimal) -> Decimal:
        return (value / self.tick_size).to_integral_value(ROUND_CEILING) * self.tick_size


def linear(symbol: str, base: str, *, tick: str, step: str, min_qty: str, level_qty: str,
           reference_price: str | None = None, quote: str = "USDT") -> Instrument:
    """A linear perpetual settled in `quote` (numbers as text, so they stay exact)."""
    return Instrument(Category.LINEAR, symbol, base, quote, Decimal(tick), Decimal(step),
                      Decimal(min_qty), Decimal(level_qty),
                      reference_price=None if reference_price is None else Decimal(reference_price))


def spot(symbol: str, base: str, *, tick: str, step: str, min_qty: str, level_qty: str,
         reference_price: str | None = None, quote: str = "USDT") -> Instrument:
    """A spot pair base/quote (numbers as text, so they stay exact)."""
    return Instrument(Category.SPOT, symbol, base, quote, Decimal(tick), Decimal(step),
                      Decimal(min_qty), Decimal(level_qty),
                      reference_price=None if reference_price is None else Decimal(reference_price))


def inverse(symbol: str, base: str, *, tick: str, step: str, min_qty: str, level_qty: str,
            reference_price: str | None = None, quote: str = "USD") -> Instrument:
    """An inverse perpetual: `step`, `min_qty` and `level_qty` are USD contracts (the
    contract size is the step), margin and PnL are in `base` (numbers as text)."""
    return Instrument(Category.INVERSE, symbol, base, quote, Decimal(tick), Decimal(step),
                      Decimal(min_qty), Decimal(level_qty),
                      reference_price=None if reference_price is None else Decimal(reference_price))


# symbol, base, tick, qty step, min qty, depth per book level, reference price
_LINEAR = (
    ("BTCUSDT", "BTC", "0.1", "0.001", "0.001", "0.5", "60000"),
    ("ETHUSDT", "ETH", "0.01", "0.01", "0.01", "5", "3000"),
    ("SOLUSDT", "SOL", "0.01", "0.1", "0.1", "100", "150"),
    ("XRPUSDT", "XRP", "0.0001", "1", "1", "20000", "0.5"),
    ("DOGEUSDT", "DOGE", "0.00001", "1", "1", "100000", "0.15"),
    ("BNBUSDT", "BNB", "0.01", "0.01", "0.01", "20", "550"),
    ("ADAUSDT", "ADA", "0.0001", "1", "1", "20000", "0.45"),
    ("LINKUSDT", "LINK", "0.001", "0.1", "0.1", "500", "15"),
    ("AVAXUSDT", "AVAX", "0.001", "0.1", "0.1", "300", "30"),
    ("LTCUSDT", "LTC", "0.01", "0.1", "0.1", "100", "80"),
)
_SPOT = (
    ("BTCUSDT", "BTC", "0.01", "0.000001", "0.000048", "0.5", "60000"),
    ("ETHUSDT", "ETH", "0.01", "0.00001", "0.00062", "5", "3000"),
)

DEFAULT_INSTRUMENTS: tuple[Instrument, ...] = (
    *(linear(sym, base, tick=tick, step=step, min_qty=mn, level_qty=lvl, reference_price=ref)
      for sym, base, tick, step, mn, lvl, ref in _LINEAR),
    *(spot(sym, base, tick=tick, step=step, min_qty=mn, level_qty=lvl, reference_price=ref)
      for sym, base, tick, step, mn, lvl, ref in _SPOT),
)

# Bybit's inverse perpetuals (1 USD contracts) and Deribit's (BTC in 10 USD contracts)
_INVERSE = (
    ("BTCUSD", "BTC", "0.5", "1", "1", "100000", "60000"),
    ("ETHUSD", "ETH", "0.05", "1", "1", "50000", "3000"),
    ("BTC-PERPETUAL", "BTC", "0.5", "10", "10", "100000", "60000"),
    ("ETH-PERPETUAL", "ETH", "0.05", "1", "1", "50000", "3000"),
)

INVERSE_INSTRUMENTS: tuple[Instrument, ...] = tuple(
    inverse(sym, base, tick=tick, step=step, min_qty=mn, level_qty=lvl, reference_price=ref)
    for sym, base, tick, step, mn, lvl, ref in _INVERSE)
"""Inverse perpetuals for venues that list them. Not in `DEFAULT_INSTRUMENTS`: adding
them there would change what every default exchange lists and serves (the Bybit
front-end lists the exchange's instruments); pass `(*DEFAULT_INSTRUMENTS,
*INVERSE_INSTRUMENTS)` to list both."""


def numbered_linear_instruments(count: int, *, prefix: str = "SIM",
                                start: int = 1) -> list[Instrument]:
    """`count` interchangeable linear perps, SIM001USDT, SIM002USDT, ... for benchmarks.

    Each has tick 0.01, step 0.1, 100 per book level and a reference price of
    10 + its number (so marks differ between symbols).
    """
    if count < 0 or start < 0:
        raise ValueError("numbered_linear_instruments: count and start must be >= 0")
    width = max(3, len(str(start + count - 1)))
    return [linear(f"{prefix}{n:0{width}d}USDT", f"{prefix}{n:0{width}d}", tick="0.01",
                   step="0.1", min_qty="0.1", level_qty="100", reference_price=str(10 + n))
            for n in range(start, start + count)]
