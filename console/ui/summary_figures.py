"""The account summary's figures: equity, available margin, unrealised and realised PnL
per account, and the exposure per symbol netted across accounts. Pure, `Decimal` end to
end; the dock (`console.ui.widgets.summary`) only formats them.

Where the records carry the venue's own figure, it is used as it is: a position's
`unrealised_pnl` and `mark_price`, a balance's wallet `total` and `free`. Balances are
wallet figures without the unrealised PnL (every connector maps them so: see the
parsers' headers), hence equity = wallet total + the unrealised PnL of the positions
settled in that asset, and available margin = `free` as the venue reports it.

Realised PnL is not in the records: it is replayed from the ledger's fills with the
average-cost rule the venues use for a position (an increase moves the entry to the
size-weighted average, a decrease realises (exit - entry) x size, a flip opens the rest
at the fill's price), minus fees and funding, from a known starting position:
- session: the positions the ledger held when this window opened the account (read
  before its engine started, so nothing moved meanwhile), then every fill since;
- day (since 00:00 UTC): when the account was opened before midnight, the session's
  replay up to midnight gives the starting position exactly; when it was opened after,
  the starting position is rewound from the session's over the fills in between (exact
  unless a position was closed outright in that span: its entry price before the close
  is gone, and the figure is reported unknown, with why, rather than guessed).
Linear and inverse contracts only (spot has no position to replay against; options
settle on their own rules): fills of other categories are left out, and said so.

Every money figure is shown with its unit, a zero too ("0 USDT", never a bare "0", which
reads as a count): `AccountFigures.units` are the assets an empty figure is counted in,
the settle assets of the account's contracts, else the quote coins of its wallet. A
position for which the venue sends neither an unrealised PnL nor a mark price leaves its
settle asset's unrealised PnL, and so that asset's equity, unknown: such assets are in
`AccountFigures.unpublished` and shown as "not published", never as a partial sum.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from console.domain import Balance, Category, ExecType, Fill, Position, PositionSide
from console.domain.values import ZERO

REPLAYED = frozenset({Category.LINEAR, Category.INVERSE})
COMMON_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "USD", "EUR")
"""Quote assets recognised in a symbol when the account's balances do not name it."""

UNKNOWN_UNIT = "(unit unknown)"
"""Shown after an amount whose asset neither the symbol nor the balances name."""

Amounts = tuple[tuple[str, Decimal], ...]
"""(asset, amount) pairs, assets sorted: a figure in several currencies is not summed."""


def utc_midnight_ms(now_ms: int) -> int:
    day = datetime.fromtimestamp(now_ms / 1000, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    return int(day.timestamp() * 1000)


def settle_asset(category: Category, symbol: str, assets: Iterable[str] = ()) -> str:
    """The asset a contract's PnL is paid in: the quote asset of a linear contract, the
    base asset of an inverse one ("" when neither the balances nor the usual quote
    assets name it). Dashed names (Deribit's) carry both: BTC-PERPETUAL is inverse and
    paid in BTC, BTC_USDC-PERPETUAL linear and paid in USDC."""
    head = symbol.split("-", 1)[0] if "-" in symbol else ""
    if category is Category.INVERSE:  # BTCUSD, BTCUSDH25: paid in BTC
        if symbol.find("USD") > 0:
            return symbol[:symbol.index("USD")]
        return head if head.isalnum() else ""
    if "_" in head:  # BTC_USDC-PERPETUAL: paid in USDC
        quote = head.rsplit("_", 1)[1]
        return quote if quote.isalnum() else ""
    known = sorted(set(assets) | set(COMMON_QUOTES), key=len, reverse=True)
    for asset in known:
        if symbol.endswith(asset) and len(symbol) > len(asset):
            return asset
    return ""


def _add(into: dict[str, Decimal], asset: str, amount: Decimal) -> None:
    into[asset] = into.get(asset, ZERO) + amount


def amounts(values: Mapping[str, Decimal]) -> Amounts:
    return tuple(sorted(values.items()))


def money_units(balances: Sequence[Balance],
                contracts: Iterable[tuple[Category, str]]) -> tuple[str, ...]:
    """What an account's money figures are counted in when they are empty: the settle
    assets of its contracts (held, held when the window opened, or traded), else the
    quote coins among its wallet's assets, else every wallet asset; () when the account
    holds and traded nothing (no unit can be named then)."""
    assets = [b.asset for b in balances]
    settled = {settle_asset(category, symbol, assets) for category, symbol in contracts
               if category in REPLAYED} - {""}
    if settled:
        return tuple(sorted(settled))
    quotes = {a for a in assets if a in COMMON_QUOTES}
    return tuple(sorted(quotes or set(assets)))


@dataclass(frozen=True, slots=True)
class Leg:
    """A one-way position for the replay: signed size, average entry."""

    size: Decimal
    entry: Decimal


Book = dict[tuple[Category, str], Leg]


def legs(positions: Iterable[Position]) -> tuple[Book, frozenset[tuple[Category, str]]]:
    """The replayable positions by (category, symbol), and the symbols held in hedge mode
    (two sides at once: a fill does not say which side it hits, so they are left out)."""
    book: Book = {}
    hedged: set[tuple[Category, str]] = set()
    for p in positions:
        key = (p.category, p.symbol)
        if p.position_side is not PositionSide.ONE_WAY:
            hedged.add(key)
            continue
        if p.size != 0:
            book[key] = Leg(p.size, p.entry_price)
    return book, frozenset(hedged)


def _closed_pnl(category: Category, qty: Decimal, entry: Decimal, price: Decimal,
                long: bool) -> Decimal:
    """PnL of closing `qty` of a position entered at `entry`, at `price`."""
    if category is Category.INVERSE:
        if entry == 0 or price == 0:
            return ZERO
        per = (1 / entry - 1 / price) if long else (1 / price - 1 / entry)
        return qty * per
    return qty * ((price - entry) if long else (entry - price))


def _moves(fill: Fill) -> bool:
    return fill.exec_type is not ExecType.FUNDING and fill.qty > 0


def replay(start: Mapping[tuple[Category, str], Leg], fills: Sequence[Fill],
           assets: Iterable[str] = (), *,
           skip: frozenset[tuple[Category, str]] = frozenset()) -> tuple[Book, dict[str, Decimal]]:
    """Apply `fills` (oldest first) to `start`: the book after them, and the realised PnL
    per settle asset (fees and funding paid subtracted, rebates added)."""
    book = dict(start)
    realised: dict[str, Decimal] = {}
    assets = tuple(assets)
    for fill in fills:
        key = (fill.category, fill.symbol)
        if fill.category not in REPLAYED or key in skip:
            continue
        asset = settle_asset(fill.category, fill.symbol, assets)
        if fill.fee and (not fill.fee_asset or fill.fee_asset == asset):
            _add(realised, asset, -fill.fee)
        if not _moves(fill):
            continue
        signed = fill.qty * fill.side.sign
        leg = book.get(key, Leg(ZERO, ZERO))
        size, entry = leg.size, leg.entry
        if size == 0 or (size > 0) == (signed > 0):
            total = abs(size) + fill.qty
            entry = (abs(size) * entry + fill.qty * fill.price) / total
            size += signed
        else:
            closing = min(fill.qty, abs(size))
            _add(realised, asset, _closed_pnl(fill.category, closing, entry, fill.price,
                                              size > 0))
            size += signed
            if size == 0:
                entry = ZERO
            elif (size > 0) != (leg.size > 0):
                entry = fill.price  # flipped: the rest opens at this price
        if size == 0:
            book.pop(key, None)
        else:
            book[key] = Leg(size, entry)
    return book, realised


def rewind(end: Mapping[tuple[Category, str], Leg],
           fills: Sequence[Fill]) -> Book | None:
    """The book before `fills` (oldest first), given the book after them; None when a
    fill closed a position outright or flipped it (its entry before is not recoverable)."""
    book = dict(end)
    for fill in reversed(fills):
        key = (fill.category, fill.symbol)
        if fill.category not in REPLAYED or not _moves(fill):
            continue
        after = book.get(key, Leg(ZERO, ZERO))
        before_size = after.size - fill.qty * fill.side.sign
        if before_size == 0:
            book.pop(key, None)
            continue
        if after.size == 0 or (after.size > 0) != (before_size > 0):
            return None
        if abs(after.size) > abs(before_size):  # the fill added to the position
            entry = (abs(after.size) * after.entry - fill.qty * fill.price) / abs(before_size)
        else:
            entry = after.entry
        book[key] = Leg(before_size, entry)
    return book


def unrealised(position: Position) -> Decimal | None:
    """The venue's unrealised PnL when it sends one, else from the mark price; None
    when neither is known."""
    if position.unrealised_pnl is not None:
        return position.unrealised_pnl
    if position.mark_price is None:
        return None
    return _closed_pnl(position.category, abs(position.size), position.entry_price,
                       position.mark_price, position.size > 0)


@dataclass(frozen=True, slots=True)
class AccountFigures:
    label: str
    equity: Amounts
    available: Amounts
    unrealised: Amounts
    realised_session: Amounts | None
    realised_day: Amounts | None
    notes: tuple[str, ...] = ()
    """Why a figure is missing or leaves something out (shown in its tooltip)."""
    venue_unrealised: bool = True
    """Every unrealised PnL is the venue's own figure (none computed from a mark)."""
    units: tuple[str, ...] = ()
    """What an empty figure is counted in (`money_units`): "0 USDT", not "0"."""
    unpublished: tuple[str, ...] = ()
    """Settle assets whose unrealised PnL (hence equity) the venue does not publish for
    some position: left out of `unrealised` and `equity`, shown as "not published"."""


@dataclass(frozen=True, slots=True)
class Exposure:
    """One symbol across every open account."""

    category: Category
    symbol: str
    unit: str
    """What the notional is counted in (the quote asset; USD for inverse contracts)."""
    net_size: Decimal
    net_notional: Decimal
    gross_notional: Decimal
    by_account: tuple[tuple[str, Decimal], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Baseline:
    """The positions the ledger held when the window opened the account."""

    at: int
    positions: tuple[Position, ...]


def account_figures(label: str, balances: Sequence[Balance], positions: Sequence[Position],
                    fills: Sequence[Fill], *, baseline: Baseline, now_ms: int) -> AccountFigures:
    """One account's summary; `fills` are the ledger's since min(baseline, midnight)."""
    assets = [b.asset for b in balances]
    notes: list[str] = []
    wallet: dict[str, Decimal] = {b.asset: b.total for b in balances}
    upnl: dict[str, Decimal] = {}
    unpublished: set[str] = set()
    venue_upnl = True
    for p in positions:
        if p.size == 0:
            continue
        asset = settle_asset(p.category, p.symbol, assets)
        value = unrealised(p)
        if value is None:
            notes.append(f"{p.symbol}: no unrealised PnL or mark price from the venue "
                         f"(unrealised PnL and equity{f' in {asset}' if asset else ''} "
                         "not published)")
            unpublished.add(asset)
            continue
        venue_upnl = venue_upnl and p.unrealised_pnl is not None
        _add(upnl, asset, value)
    equity = dict(wallet)
    for asset, value in upnl.items():
        _add(equity, asset, value)
    for asset in unpublished:  # a partial sum would pass for the whole figure
        upnl.pop(asset, None)
        equity.pop(asset, None)
    ordered = sorted((f for f in fills if f.exec_time >= 0), key=lambda f: f.exec_time)
    left_out = sorted({f.category.value for f in ordered if f.category not in REPLAYED})
    if left_out:
        notes.append("realised PnL leaves out " + ", ".join(left_out) + " fills")
    start, hedged = legs(baseline.positions)
    _current, hedged_now = legs(positions)
    skip = hedged | hedged_now
    if skip:
        notes.append("realised PnL leaves out hedge-mode symbols: "
                     + ", ".join(sorted(s for _, s in skip)))
    after_open = [f for f in ordered if f.exec_time > baseline.at]
    _book, session = replay(start, after_open, assets, skip=skip)
    midnight = utc_midnight_ms(now_ms)
    day: dict[str, Decimal] | None
    if baseline.at <= midnight:
        before = [f for f in after_open if f.exec_time <= midnight]
        at_midnight, _ = replay(start, before, assets, skip=skip)
        _book, day = replay(at_midnight, [f for f in after_open if f.exec_time > midnight],
                            assets, skip=skip)
    else:
        between = [f for f in ordered if midnight < f.exec_time <= baseline.at]
        rewound = rewind(start, [f for f in between if (f.category, f.symbol) not in skip])
        if rewound is None:
            day = None
            notes.append("day realised PnL unknown: a position was closed between 00:00 UTC "
                         "and the opening of this account, and the ledger does not keep "
                         "its entry price")
        else:
            _book, day = replay(rewound, [f for f in ordered if f.exec_time > midnight],
                                assets, skip=skip)
    contracts = {(p.category, p.symbol) for p in (*positions, *baseline.positions)}
    contracts.update((f.category, f.symbol) for f in ordered)
    return AccountFigures(
        label=label, equity=amounts(equity),
        available=amounts({b.asset: b.free for b in balances}), unrealised=amounts(upnl),
        realised_session=amounts(session), realised_day=None if day is None else amounts(day),
        notes=tuple(notes), venue_unrealised=venue_upnl,
        units=money_units(balances, sorted(contracts)), unpublished=tuple(sorted(unpublished)))


def exposures(positions: Mapping[str, Sequence[Position]],
              assets: Iterable[str] = ()) -> list[Exposure]:
    """Per (category, symbol), netted across accounts (label -> positions): signed size,
    signed notional at the mark (the entry when the venue sends no mark), and gross."""
    assets = tuple(assets)
    sizes: dict[tuple[Category, str], dict[str, Decimal]] = {}
    net: dict[tuple[Category, str], Decimal] = {}
    gross: dict[tuple[Category, str], Decimal] = {}
    for label, held in positions.items():
        for p in held:
            if p.size == 0:
                continue
            key = (p.category, p.symbol)
            price = p.mark_price if p.mark_price is not None else p.entry_price
            notional = p.size if p.category is Category.INVERSE else p.size * price
            per = sizes.setdefault(key, {})
            per[label] = per.get(label, ZERO) + p.size
            net[key] = net.get(key, ZERO) + notional
            gross[key] = gross.get(key, ZERO) + abs(notional)
    out = []
    for key in sorted(sizes):
        category, symbol = key
        unit = "USD" if category is Category.INVERSE else (
            settle_asset(category, symbol, assets) or UNKNOWN_UNIT)
        out.append(Exposure(category, symbol, unit, sum(sizes[key].values(), ZERO), net[key],
                            gross[key], tuple(sorted(sizes[key].items()))))
    return out
