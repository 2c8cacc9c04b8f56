"""The simulated exchange core: accounts, orders, matching, positions, fees, private events.

Theory of operation
-------------------
`SimExchange` is a synchronous, deterministic, protocol-neutral exchange. Protocol
front-ends (Bybit, Binance, Deribit over HTTP + WebSocket) and the in-process
`SimVenue` sit on top of it and translate; nothing here knows a venue's wire format.

* Determinism. Ids (venue order ids, exec ids: uuid-shaped strings) and random price
  steps come from one `random.Random(seed)`; time comes from the injected
  `clock_ms()` (read once per operation, so every record of one operation carries the
  same timestamp). Same seed, same clock and same calls give the same state, ids and
  events (`salt_ids` forks the id stream, so that scenarios built from one seed never
  share ids). Money is `Decimal` throughout; randomness is drawn as integers.
* Market. Each instrument has a mark price set by `set_price` (or `random_walk`).
  Around it the sim builds a stateless synthetic book (`console.sim.book`): asks above,
  bids below, `book_levels` levels of `level_qty`. Without a mark there is no book:
  limit orders rest but nothing matches, market orders are refused.
* Orders. Validation happens before anything changes; a refusal raises
  `SimRejectedError` (a `FatalVenueError`) whose `code` says why, and creates no order.
  An accepted order is matched at once as a taker, walking the book level by level
  (one fill per level) up to its limit price; then, by time in force: GTC rests the
  remainder, IOC and market orders cancel it, FOK cancels the whole order unless the book
  can fill it entirely, PostOnly is cancelled (reason post_only_would_take) if it would
  take at all. A resting order is filled as a maker, at its own price, when a later
  mark makes it marketable: the liquidity it gets is the depth of the book between the
  new best price and its limit, shared by the resting orders in price-time priority, so a
  small move fills partially (PARTIALLY_FILLED) and a large one fully.
* Conditional orders (with a trigger price) wait as UNTRIGGERED and lock nothing. When
  the mark crosses the trigger in the order's direction (RISE: mark >= trigger, FALL:
  mark <= trigger; inferred from the mark at placement when not given) the order
  becomes NEW and is matched like a fresh market or limit order.
* Reduce-only orders never increase a position: at placement the quantity is shrunk to
  the position (or refused if there is nothing to reduce); at every fill the quantity is
  clamped to what is left, and a remainder that can no longer reduce is cancelled.
  They stay on the book when the position is closed by other means.
* Accounts and money. Wallet totals per asset; `locked` is derived incrementally from
  what each resting order and position holds: linear orders lock initial margin
  (remaining * price / leverage, default leverage 10) and positions lock
  |size| * entry / leverage, both in the settle coin; spot buys lock quote, spot sells
  lock base. free = total - locked. Derivative fills charge fees in the settle coin and
  book realised PnL there when a position is reduced, closed or flipped; spot fills
  charge the fee in the asset received. Unrealised PnL is computed from the mark on
  demand and does not change balances, so moving the mark never emits balance or
  position events.
* Inverse contracts (Bybit BTCUSD, Deribit BTC-PERPETUAL) work like linear ones with
  inverse money: the quantity is USD contracts, the settle coin is the base coin, margin
  is qty / price / leverage, fees qty / price * rate, the entry is the harmonic mean and
  PnL is size * (1 / entry - 1 / price); `console.sim.accounting` has the rules and their
  rounding (coin amounts to 8 places).
* Position modes. Each account holds one netted position per derivative (one-way, the
  default) or, in hedge mode (`set_position_mode`, per account or per instrument), a
  LONG and a SHORT position side by side. A hedge-mode order names its position
  (`position_side` LONG or SHORT; when left at ONE_WAY the sim infers it: a buy opens
  LONG, a sell opens SHORT, a reduce-only sell closes LONG, a reduce-only buy closes
  SHORT). An order on the side that closes its position (a sell on LONG, a buy on SHORT)
  is treated as reduce-only. Each position has its own entry, realised PnL, fees and
  margin; leverage is the instrument's and applies to both.
* Events. Every change of an account emits private events with a per-account sequence
  number: order updates and executions as they happen, then position and balance updates
  once per operation. Events are delivered to listeners after the operation completes
  (state is consistent when a listener looks); a listener that raises is logged and
  skipped. `drop_private_events` makes the feed skip delivery (not logging, not
  sequence numbers) to model missed WebSocket messages; `events_since` replays the log.
* Operator actions on the exchange side (`hand_cancel`, `hand_fill`, `close_position`)
  are ordinary operations that the console did not initiate; together with dropped
  events they produce the divergences that reconciliation must find.
"""

from __future__ import annotations

import bisect
import random
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Generic, NoReturn, TypeVar

from console.domain.enums import (
    Category,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.ids import MAX_LABEL
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.accounting import contract_math
from console.sim.book import (
    BookView,
    book_view,
    crosses,
    infer_direction,
    trigger_due,
)
from console.sim.errors import (
    SimErrorCode,
    SimOrderNotFoundError,
    rejection,
)
from console.sim.events import EventCallback, EventFeed, EventKind, Payload, SimEvent
from console.sim.instruments import DEFAULT_INSTRUMENTS, Instrument, InstrumentKey
from console.sim.matching import Matcher
from console.sim.state import (
    OrderRef,
    OrderTerms,
    PositionFigures,
    PositionKey,
    PositionMode,
    SimAccount,
    SimOrder,
    SimPosition,
    closing_side,
)

T = TypeVar("T")

DEFAULT_MAKER_FEE = Decimal("0.0002")
DEFAULT_TAKER_FEE = Decimal("0.00055")
DEFAULT_LEVERAGE = 10
MAX_LEVERAGE = 100


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing; `next_cursor` is "" on the last page."""

    items: tuple[T, ...]
    next_cursor: str = ""


class SimExchange:
    """The simulated exchange. Not thread-safe: drive it from one thread (the event loop)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        clock_ms: Callable[[], int] | None = None,
        venue: str = "sim",
        instruments: Iterable[Instrument] | None = None,
        maker_fee: Decimal = DEFAULT_MAKER_FEE,
        taker_fee: Decimal = DEFAULT_TAKER_FEE,
        default_leverage: int = DEFAULT_LEVERAGE,
        event_log_size: int = 10_000,
    ) -> None:
        for name, rate in (("maker_fee", maker_fee), ("taker_fee", taker_fee)):
            if not isinstance(rate, Decimal) or not rate.is_finite() or abs(rate) >= 1:
                raise ValueError(f"{name} {rate!r} must be a Decimal fee rate between -1 and 1")
        if not 1 <= default_leverage <= MAX_LEVERAGE:
            raise ValueError(f"default_leverage {default_leverage} must be 1..{MAX_LEVERAGE}")
        if not venue:
            raise ValueError("venue name is required")
        if event_log_size < 1:
            raise ValueError(f"event_log_size {event_log_size} must be >= 1")
        self.venue = venue
        self._event_log_size = event_log_size
        self._seed = seed
        self._rng = random.Random(seed)
        self._clock = clock_ms or wall_clock_ms
        self._instruments: dict[InstrumentKey, Instrument] = {}
        self._instruments_version = 0
        self._marks: dict[InstrumentKey, Decimal] = {}
        self._accounts: dict[str, SimAccount] = {}
        self._matcher = Matcher(venue=venue, rng=self._rng, maker_fee=maker_fee,
                                taker_fee=taker_fee, default_leverage=default_leverage,
                                instruments=self._instruments, marks=self._marks,
                                emit=self._emit)
        self._depth = 0
        self._op_now = 0
        self._outbox: deque[tuple[EventFeed, SimEvent]] = deque()
        self._delivering = False
        for instrument in DEFAULT_INSTRUMENTS if instruments is None else instruments:
            self.add_instrument(instrument)

    @property
    def maker_fee(self) -> Decimal:
        return self._matcher.maker_fee

    @property
    def taker_fee(self) -> Decimal:
        return self._matcher.taker_fee

    @property
    def default_leverage(self) -> int:
        return self._matcher.default_leverage

    def salt_ids(self, salt: str) -> None:
        """Continue ids and random steps from a new stream derived from the seed, `salt` and
        the records made so far: still deterministic, but two runs from one seed with
        different salts (scenarios, say) never mint the same venue order ids."""
        matcher = self._matcher
        self._rng.seed(f"{self._seed}:{salt}:{matcher.order_seq}:{matcher.fill_seq}", version=2)

    # -- plumbing --------------------------------------------------------------------------

    def _reject(self, code: SimErrorCode, message: str) -> NoReturn:
        raise rejection(code, message, venue=self.venue)

    def _now(self) -> int:
        value = self._clock()
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ValueError(f"sim clock returned {value!r}, not epoch milliseconds")
        return value

    @contextmanager
    def _operation(self) -> Iterator[int]:
        """One state change: a single timestamp, then position/balance events and delivery."""
        outer = self._depth == 0
        if outer:
            self._op_now = self._now()
        self._depth += 1
        try:
            yield self._op_now
        finally:
            self._depth -= 1
            if outer:
                self._publish_dirty(self._op_now)
                self._deliver()

    def _emit(self, acct: SimAccount, kind: EventKind, payload: Payload, now: int) -> None:
        event = acct.feed.record(kind, now, payload)
        if event is not None:
            self._outbox.append((acct.feed, event))

    def _publish_dirty(self, now: int) -> None:
        for acct in self._accounts.values():
            if acct.dirty_positions:
                for key in acct.dirty_positions:
                    pos = acct.positions[key]
                    mark = self._marks.get((key[0], key[1]))
                    self._emit(acct, EventKind.POSITION,
                               pos.snapshot(self.venue, acct.name, mark), now)
                acct.dirty_positions.clear()
            if acct.dirty_assets:
                for asset in acct.dirty_assets:
                    acct.balance_times[asset] = now
                    self._emit(acct, EventKind.BALANCE, acct.balance(self.venue, asset), now)
                acct.dirty_assets.clear()

    def _deliver(self) -> None:
        if self._delivering:
            return  # a listener acted on the exchange: the running loop delivers the rest
        self._delivering = True
        try:
            while self._outbox:
                feed, event = self._outbox.popleft()
                feed.deliver(event)
        finally:
            self._delivering = False

    def _account(self, name: str) -> SimAccount:
        acct = self._accounts.get(name)
        if acct is None:
            self._reject(SimErrorCode.UNKNOWN_ACCOUNT, f"unknown account {name!r}")
        return acct

    def _instrument(self, category: Category, symbol: str) -> Instrument:
        instr = self._instruments.get((category, symbol))
        if instr is None:
            self._reject(SimErrorCode.UNKNOWN_SYMBOL,
                         f"unknown instrument {getattr(category, 'value', category)} {symbol!r}")
        return instr

    def _order(self, acct: SimAccount, ref: str) -> SimOrder:
        order = acct.find_order(ref) if ref else None
        if order is None:
            raise SimOrderNotFoundError(f"order {ref!r} not found on account {acct.name!r}",
                                        venue=self.venue)
        return order

    def _valid_price(self, instr: Instrument, price: object, field: str = "price") -> Decimal:
        problem = instr.price_problem(price, field)
        if problem is not None:
            code = SimErrorCode.INVALID_TRIGGER if field == "trigger_price" else \
                SimErrorCode.INVALID_PRICE
            self._reject(code, problem)
        assert isinstance(price, Decimal)
        return price

    def _valid_qty(self, instr: Instrument, qty: object) -> Decimal:
        problem = instr.qty_problem(qty)
        if problem is not None:
            self._reject(SimErrorCode.INVALID_QTY, problem)
        assert isinstance(qty, Decimal)
        return qty

    # -- instruments and market ------------------------------------------------------------

    def add_instrument(self, instrument: Instrument, *, replace_existing: bool = False) -> None:
        """List an instrument (benchmarks add dozens); re-listing needs `replace_existing`."""
        if instrument.key in self._instruments and not replace_existing:
            raise ValueError(f"instrument {instrument.label} is already listed")
        self._instruments[instrument.key] = instrument
        self._instruments_version += 1
        self._matcher.active.setdefault(instrument.key, {})

    def instrument(self, category: Category, symbol: str) -> Instrument:
        return self._instrument(category, symbol)

    def instruments(self, category: Category | None = None) -> list[Instrument]:
        return [i for i in self._instruments.values() if category is None or i.category is category]

    @property
    def instruments_version(self) -> int:
        """Moves with every listing or change of an instrument: what a front-end derives
        from the instrument table (the symbols of a settle coin) is valid while it holds."""
        return self._instruments_version

    def configure_book(self, category: Category, symbol: str, *,
                       half_spread_ticks: int | None = None, level_ticks: int | None = None,
                       level_qty: Decimal | None = None,
                       book_levels: int | None = None) -> Instrument:
        """Reshape an instrument's synthetic book; returns the updated instrument."""
        instr = self._instrument(category, symbol)
        updated = replace(
            instr,
            half_spread_ticks=instr.half_spread_ticks if half_spread_ticks is None
            else half_spread_ticks,
            level_ticks=instr.level_ticks if level_ticks is None else level_ticks,
            level_qty=instr.level_qty if level_qty is None else level_qty,
            book_levels=instr.book_levels if book_levels is None else book_levels)
        self._instruments[instr.key] = updated
        self._instruments_version += 1
        return updated

    def mark_price(self, category: Category, symbol: str) -> Decimal | None:
        return self._marks.get(self._instrument(category, symbol).key)

    def book(self, category: Category, symbol: str) -> BookView:
        instr = self._instrument(category, symbol)
        return book_view(instr, self._marks.get(instr.key))

    def set_price(self, category: Category, symbol: str, price: Decimal) -> None:
        """Move the mark (and last) price: conditionals may fire, resting orders may fill."""
        instr = self._instrument(category, symbol)
        if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
            self._reject(SimErrorCode.INVALID_PRICE,
                         f"mark price {price!r} for {instr.label} must be a Decimal above zero")
        with self._operation() as now:
            self._marks[instr.key] = price
            self._matcher.on_price(instr, now)

    def set_reference_prices(self) -> None:
        """Give every instrument without a mark its reference price (demo start-up)."""
        for instr in list(self._instruments.values()):
            if instr.key not in self._marks and instr.reference_price is not None:
                self.set_price(instr.category, instr.symbol, instr.reference_price)

    def random_walk(self, category: Category, symbol: str, *, max_ticks: int = 10) -> Decimal:
        """Move the mark by a seeded random whole number of ticks in [-max_ticks, max_ticks]."""
        instr = self._instrument(category, symbol)
        mark = self._marks.get(instr.key)
        if mark is None:
            self._reject(SimErrorCode.NO_MARKET_PRICE, f"{instr.label} has no mark price to move")
        if max_ticks < 1:
            raise ValueError(f"max_ticks {max_ticks} must be >= 1")
        price = mark + instr.tick_size * self._rng.randint(-max_ticks, max_ticks)
        if price <= 0:
            price = instr.tick_size
        self.set_price(category, symbol, price)
        return price

    # -- accounts --------------------------------------------------------------------------

    def create_account(self, name: str, balances: Mapping[str, Decimal] | None = None, *,
                       position_mode: PositionMode = PositionMode.ONE_WAY) -> None:
        """Open an account with opening `balances`, holding positions in `position_mode`."""
        if not name:
            self._reject(SimErrorCode.INVALID_REQUEST, "an account needs a name")
        if not isinstance(position_mode, PositionMode):
            self._reject(SimErrorCode.INVALID_REQUEST,
                         f"position mode {position_mode!r} is not a PositionMode")
        if name in self._accounts:
            self._reject(SimErrorCode.ACCOUNT_EXISTS, f"account {name!r} already exists")
        acct = SimAccount(name, EventFeed(name, self._event_log_size),
                          position_mode=position_mode)
        for asset, amount in (balances or {}).items():
            if not asset or not isinstance(amount, Decimal) or not amount.is_finite() \
                    or amount < 0:
                self._reject(SimErrorCode.INVALID_REQUEST,
                             f"opening balance {asset!r} {amount!r} must be a Decimal >= 0")
        with self._operation() as now:
            for asset, amount in (balances or {}).items():
                acct.totals[asset] = amount
                acct.balance_times[asset] = now
            self._accounts[name] = acct

    def accounts(self) -> list[str]:
        return list(self._accounts)

    def has_account(self, name: str) -> bool:
        return name in self._accounts

    def deposit(self, account: str, asset: str, amount: Decimal) -> Balance:
        acct = self._account(account)
        if not isinstance(amount, Decimal) or not amount.is_finite() or amount <= 0:
            self._reject(SimErrorCode.INVALID_REQUEST,
                         f"deposit {amount!r} must be a Decimal above zero")
        with self._operation() as now:
            acct.add_total(asset, amount)
            acct.balance_times[asset] = now
            return acct.balance(self.venue, asset)

    def leverage(self, account: str, category: Category, symbol: str) -> int:
        key = self._instrument(category, symbol).key
        return self._account(account).leverage.get(key, self.default_leverage)

    def set_leverage(self, account: str, category: Category, symbol: str, leverage: int) -> None:
        """Leverage of a derivative (both hedge-mode positions share it); resting orders and
        the positions are re-margined."""
        acct = self._account(account)
        instr = self._instrument(category, symbol)
        if not instr.is_derivative:
            self._reject(SimErrorCode.INVALID_REQUEST, f"{instr.label} has no leverage")
        if not isinstance(leverage, int) or not 1 <= leverage <= MAX_LEVERAGE:
            self._reject(SimErrorCode.INVALID_REQUEST,
                         f"leverage {leverage!r} must be a whole number 1..{MAX_LEVERAGE}")
        with self._operation():
            acct.leverage[instr.key] = leverage
            for order in acct.open_orders.values():
                if order.key == instr.key:
                    self._matcher.relock(acct, order)
            math = contract_math(instr.category)
            for pos in acct.instrument_positions(instr.key):
                acct.set_position_margin(pos, instr.settle_coin, math.margin(
                    abs(pos.size), pos.entry_price, leverage))

    def position_mode(self, account: str, category: Category, symbol: str) -> PositionMode:
        """The position mode `account` trades the instrument in."""
        return self._account(account).mode_of(self._instrument(category, symbol).key)

    def set_position_mode(self, account: str, mode: PositionMode, *,
                          category: Category | None = None, symbol: str | None = None) -> None:
        """Switch to one-way or hedge mode: the account's default (no category, no symbol)
        or one derivative's. Refused, as venues refuse it, while an instrument whose mode
        would change has an active order or an open position."""
        acct = self._account(account)
        if not isinstance(mode, PositionMode):
            self._reject(SimErrorCode.INVALID_REQUEST, f"position mode {mode!r} is not a "
                         "PositionMode")
        if (category is None) != (symbol is None):
            self._reject(SimErrorCode.INVALID_REQUEST,
                         "set_position_mode takes both category and symbol, or neither")
        if category is not None and symbol is not None:
            instr = self._instrument(category, symbol)
            if not instr.is_derivative:
                self._reject(SimErrorCode.INVALID_REQUEST,
                             f"{instr.label} holds no positions: it has no position mode")
            changing = [instr.key] if acct.mode_of(instr.key) is not mode else []
        else:
            changing = [key for key, instr in self._instruments.items()
                        if instr.is_derivative and key not in acct.position_modes
                        and acct.position_mode is not mode]
        for key in changing:
            busy = any(o.key == key for o in acct.open_orders.values()) or any(
                pos.size != 0 for pos in acct.instrument_positions(key))
            if busy:
                self._reject(SimErrorCode.INVALID_REQUEST,
                             f"{self._instruments[key].label} has an open position or active "
                             f"orders: its position mode cannot change")
        if category is not None and symbol is not None:
            acct.position_modes[(category, symbol)] = mode
        else:
            acct.position_mode = mode

    def _resolve_position_side(self, acct: SimAccount, instr: Instrument, side: Side,
                               reduce_only: bool, position_side: object) -> PositionSide:
        """The position an order's fills change: ONE_WAY in one-way mode (and on spot);
        in hedge mode LONG or SHORT, inferred from the side when the request says
        ONE_WAY (a buy opens LONG, a sell SHORT; reduce-only, the other way round)."""
        if not isinstance(position_side, PositionSide):
            self._reject(SimErrorCode.INVALID_REQUEST,
                         f"position side {position_side!r} is not a PositionSide")
        hedge = instr.is_derivative and acct.mode_of(instr.key) is PositionMode.HEDGE
        if not hedge:
            if position_side is not PositionSide.ONE_WAY:
                self._reject(SimErrorCode.INVALID_REQUEST,
                             f"{instr.label} is traded in one-way mode: an order cannot name "
                             f"the {position_side.value} position")
            return PositionSide.ONE_WAY
        if position_side is PositionSide.ONE_WAY:
            return PositionSide.LONG if (side is Side.BUY) != reduce_only else PositionSide.SHORT
        if reduce_only and closing_side(position_side) is not side:
            self._reject(SimErrorCode.REDUCE_ONLY_REJECTED,
                         f"a reduce-only {side.value} cannot reduce the {position_side.value} "
                         f"position on {instr.label}")
        return position_side

    # -- orders: the API -------------------------------------------------------------------

    def place_order(
        self,
        account: str,
        *,
        category: Category,
        symbol: str,
        side: Side,
        order_type: OrderType,
        qty: Decimal,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_order_id: str = "",
        reduce_only: bool = False,
        trigger_price: Decimal | None = None,
        trigger_direction: TriggerDirection | None = None,
        label: str = "",
        position_side: PositionSide = PositionSide.ONE_WAY,
    ) -> Order:
        """Accept (and match) an order, or raise `SimRejectedError` without creating one.

        The returned order is the venue's view after immediate matching: NEW or
        PARTIALLY_FILLED (resting), FILLED, CANCELLED (IOC/FOK/PostOnly outcome), or
        UNTRIGGERED for a conditional order. `position_side` names the hedge-mode position
        the order opens or closes (LONG or SHORT); ONE_WAY, the default, is the only
        value a one-way instrument takes, and in hedge mode lets the sim infer it.
        """
        acct = self._account(account)
        instr = self._instrument(category, symbol)
        if not (isinstance(side, Side) and isinstance(order_type, OrderType)
                and isinstance(time_in_force, TimeInForce)):
            self._reject(SimErrorCode.INVALID_REQUEST,
                         "side, order_type and time_in_force must be domain enum members")
        qty = self._valid_qty(instr, qty)
        if order_type is OrderType.LIMIT:
            if price is None:
                self._reject(SimErrorCode.INVALID_PRICE, "a limit order needs a price")
            price = self._valid_price(instr, price)
        elif price is not None:
            self._reject(SimErrorCode.INVALID_REQUEST, "a market order takes no price")
        if order_type is OrderType.MARKET and time_in_force is TimeInForce.POST_ONLY:
            self._reject(SimErrorCode.INVALID_REQUEST, "a market order cannot be post-only")
        if trigger_price is not None:
            trigger_price = self._valid_price(instr, trigger_price, "trigger_price")
        elif trigger_direction is not None:
            self._reject(SimErrorCode.INVALID_TRIGGER, "trigger_direction without trigger_price")
        if len(client_order_id) > MAX_LABEL or len(label) > MAX_LABEL:
            self._reject(SimErrorCode.INVALID_REQUEST,
                         f"client_order_id and label are limited to {MAX_LABEL} characters")
        if client_order_id in acct.active_client_ids:
            self._reject(SimErrorCode.DUPLICATE_CLIENT_ID,
                         f"client order id {client_order_id!r} is already used by active order "
                         f"{acct.active_client_ids[client_order_id]}")
        if reduce_only and instr.category is Category.SPOT:
            self._reject(SimErrorCode.REDUCE_ONLY_REJECTED,
                         f"reduce-only applies to derivatives, not {instr.label}")
        position_side = self._resolve_position_side(acct, instr, side, reduce_only,
                                                     position_side)
        closing = reduce_only or closing_side(position_side) is side
        mark = self._marks.get(instr.key)
        direction: TriggerDirection | None = None
        if trigger_price is not None:
            direction = trigger_direction or infer_direction(side, trigger_price, mark)
            if mark is not None and trigger_due(direction, trigger_price, mark):
                self._reject(SimErrorCode.INVALID_TRIGGER,
                             f"trigger {trigger_price} ({direction.value}) is already reached: "
                             f"{instr.label} mark is {mark}")
        else:
            if order_type is OrderType.MARKET and mark is None:
                self._reject(SimErrorCode.NO_MARKET_PRICE,
                             f"{instr.label} has no price yet: a market order cannot fill")
            if closing:
                allowed = acct.reducible(instr.key, side, position_side)
                if allowed == 0:
                    what = "" if position_side is PositionSide.ONE_WAY else \
                        f" ({position_side.value})"
                    self._reject(SimErrorCode.REDUCE_ONLY_REJECTED,
                                 f"reduce-only {side.value} on {instr.label} would not reduce "
                                 f"a position{what}")
                qty = min(qty, allowed)
            else:
                ok, why = self._matcher.has_funds(acct, instr, side=side, order_type=order_type,
                                                  qty=qty, price=price, mark=mark)
                if not ok:
                    self._reject(SimErrorCode.INSUFFICIENT_BALANCE, why)
        with self._operation() as now:
            order = self._matcher.new_order(
                acct, instr, side=side, order_type=order_type, qty=qty, price=price,
                trigger_price=trigger_price, trigger_direction=direction,
                reduce_only=reduce_only, time_in_force=time_in_force,
                client_order_id=client_order_id, label=label, now=now,
                position_side=position_side)
            if order.status is OrderStatus.UNTRIGGERED:
                self._matcher.rest(acct, order)
                self._matcher.emit_order(acct, order, now)
            else:
                self._matcher.activate(acct, instr, order, now)
            return order.snapshot(self.venue, acct.name)

    def amend_order(self, account: str, order_ref: str, *, qty: Decimal | None = None,
                    price: Decimal | None = None,
                    trigger_price: Decimal | None = None) -> Order:
        """Change an active order's quantity, limit price or (untriggered) trigger price.

        The new quantity must stay above what has filled. A price change or a larger
        quantity loses time priority; a new limit price that is marketable takes at once.
        """
        acct = self._account(account)
        order = self._order(acct, order_ref)
        if not order.is_active:
            self._reject(SimErrorCode.NOT_MODIFIABLE,
                         f"order {order_ref!r} is {order.status.value}: it cannot be amended")
        if qty is None and price is None and trigger_price is None:
            self._reject(SimErrorCode.INVALID_REQUEST, "amend: nothing to change")
        instr = self._instruments[order.key]
        new_qty = order.qty
        if qty is not None:
            new_qty = self._valid_qty(instr, qty)
            if new_qty <= order.filled_qty:
                self._reject(SimErrorCode.INVALID_QTY,
                             f"qty {new_qty} is not above the {order.filled_qty} already filled")
        new_price = order.price
        if price is not None:
            if order.type is OrderType.MARKET:
                self._reject(SimErrorCode.INVALID_REQUEST, "a market order has no price to amend")
            new_price = self._valid_price(instr, price)
        mark = self._marks.get(instr.key)
        new_trigger = order.trigger_price
        if trigger_price is not None:
            if order.status is not OrderStatus.UNTRIGGERED or order.trigger_direction is None:
                self._reject(SimErrorCode.NOT_MODIFIABLE,
                             "only an untriggered conditional order's trigger can be amended")
            new_trigger = self._valid_price(instr, trigger_price, "trigger_price")
            if mark is not None and trigger_due(order.trigger_direction, new_trigger, mark):
                self._reject(SimErrorCode.INVALID_TRIGGER,
                             f"trigger {new_trigger} is already reached: mark is {mark}")
        resting = order.is_resting
        if resting and new_price is not None:
            if order.time_in_force is TimeInForce.POST_ONLY and crosses(
                    instr, mark, order.side, new_price):
                self._reject(SimErrorCode.POST_ONLY_WOULD_TAKE,
                             f"post-only price {new_price} would take liquidity")
            asset, amount = self._matcher.lock_for(acct, instr, side=order.side,
                                                   reduce_only=order.closing,
                                                   remaining=new_qty - order.filled_qty,
                                                   price=new_price)
            extra = amount - (order.lock_amount if order.lock_asset == asset else ZERO)
            if amount and extra > acct.free(asset):
                self._reject(SimErrorCode.INSUFFICIENT_BALANCE,
                             f"amend needs {extra} more {asset}; {acct.free(asset)} is free")
        with self._operation() as now:
            repriced = new_price != order.price
            if repriced or new_qty > order.qty:
                order.priority = self._matcher.next_priority()
            order.qty, order.price, order.trigger_price = new_qty, new_price, new_trigger
            order.updated_at = now
            if resting:
                self._matcher.relock(acct, order)
                # only a new price reaches into the book; the old one met its liquidity
                if repriced and new_price is not None and crosses(
                        instr, mark, order.side, new_price):
                    self._matcher.activate(acct, instr, order, now)
                    return order.snapshot(self.venue, acct.name)
            self._matcher.emit_order(acct, order, now)
            return order.snapshot(self.venue, acct.name)

    def _cancel(self, account: str, order_ref: str, reason: str) -> Order:
        acct = self._account(account)
        order = self._order(acct, order_ref)
        if not order.is_active:
            self._reject(SimErrorCode.NOT_MODIFIABLE,
                         f"order {order_ref!r} is {order.status.value}: too late to cancel")
        with self._operation() as now:
            self._matcher.finish(acct, order, OrderStatus.CANCELLED, reason, now)
            self._matcher.emit_order(acct, order, now)
            return order.snapshot(self.venue, acct.name)

    def cancel_order(self, account: str, order_ref: str) -> Order:
        """Cancel an active order (by venue id or client id); returns it CANCELLED."""
        return self._cancel(account, order_ref, "cancelled_by_user")

    def cancel_all(self, account: str, category: Category,
                   symbol: str | None = None) -> list[Order]:
        """Cancel every active order (untriggered ones too) in `category`, or one symbol."""
        acct = self._account(account)
        if symbol is not None:
            self._instrument(category, symbol)
        targets = [o for o in acct.open_orders.values()
                   if o.category is category and (symbol is None or o.symbol == symbol)]
        with self._operation() as now:
            for order in targets:
                self._matcher.finish(acct, order, OrderStatus.CANCELLED, "cancelled_by_user", now)
                self._matcher.emit_order(acct, order, now)
            return [o.snapshot(self.venue, acct.name) for o in targets]

    # -- exchange-side operator actions ----------------------------------------------------

    def hand_cancel(self, account: str, order_ref: str) -> Order:
        """Someone cancels the order on the exchange's own UI."""
        return self._cancel(account, order_ref, "cancelled_by_operator")

    def hand_fill(self, account: str, order_ref: str, qty: Decimal | None = None,
                  price: Decimal | None = None) -> Order:
        """Fill an active order now: `qty` (default all that remains) at `price` (default its
        limit price; for market orders the mark, else the trigger price). An untriggered
        order triggers first. A market order's unfilled rest is cancelled."""
        acct = self._account(account)
        order = self._order(acct, order_ref)
        if not order.is_active:
            self._reject(SimErrorCode.NOT_MODIFIABLE,
                         f"order {order_ref!r} is {order.status.value}: it cannot fill")
        instr = self._instruments[order.key]
        if qty is None:
            fill_qty = order.remaining
        else:
            if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0 \
                    or qty > order.remaining or qty % instr.qty_step != 0:
                self._reject(SimErrorCode.INVALID_QTY,
                             f"hand fill qty {qty!r} must be a multiple of {instr.qty_step} "
                             f"in (0, {order.remaining}]")
            fill_qty = qty
        if price is not None:
            fill_price = self._valid_price(instr, price)
        elif order.price is not None:
            fill_price = order.price
        else:
            candidate = self._marks.get(instr.key) or order.trigger_price
            if candidate is None:
                self._reject(SimErrorCode.NO_MARKET_PRICE,
                             f"{instr.label} has no price: give the hand fill a price")
            fill_price = candidate
        if order.closing:
            allowed = acct.reducible_by(order)
            if allowed == 0:
                self._reject(SimErrorCode.REDUCE_ONLY_REJECTED,
                             f"reduce-only order {order_ref!r} has no position left to reduce")
            fill_qty = min(fill_qty, allowed)
        with self._operation() as now:
            if order.status is OrderStatus.UNTRIGGERED:
                order.status = OrderStatus.NEW
                order.priority = self._matcher.next_priority()
            self._matcher.fill(acct, instr, order, fill_price, fill_qty,
                               is_maker=order.type is OrderType.LIMIT, now=now)
            if order.is_active:
                if order.type is OrderType.MARKET:
                    self._matcher.finish(acct, order, OrderStatus.CANCELLED,
                                         "unfilled_remainder", now)
                elif order.closing and acct.reducible_by(order) == 0:
                    self._matcher.finish(acct, order, OrderStatus.CANCELLED,
                                         "reduce_only_no_position", now)
                else:
                    self._matcher.rest(acct, order)
            self._matcher.emit_order(acct, order, now)
            return order.snapshot(self.venue, acct.name)

    def close_position(self, account: str, category: Category, symbol: str,
                       position_side: PositionSide = PositionSide.ONE_WAY) -> Order:
        """Close the whole position with a reduce-only market order (no client id), as an
        operator does on the exchange's UI. Returns that order, FILLED. In hedge mode
        `position_side` says which (LONG or SHORT; ONE_WAY: the only open one)."""
        acct = self._account(account)
        instr = self._instrument(category, symbol)
        if not isinstance(position_side, PositionSide):
            self._reject(SimErrorCode.INVALID_REQUEST,
                         f"position side {position_side!r} is not a PositionSide")
        if position_side is PositionSide.ONE_WAY and instr.is_derivative \
                and acct.mode_of(instr.key) is PositionMode.HEDGE:
            open_sides = [p.position_side for p in acct.instrument_positions(instr.key)
                          if p.size != 0 and p.position_side is not PositionSide.ONE_WAY]
            if len(open_sides) > 1:
                self._reject(SimErrorCode.INVALID_REQUEST,
                             f"{instr.label} has a long and a short position: say which to close")
            if open_sides:
                position_side = open_sides[0]
        pos = acct.positions.get((instr.key[0], instr.key[1], position_side))
        if pos is None or pos.size == 0:
            what = "" if position_side is PositionSide.ONE_WAY else f" {position_side.value}"
            self._reject(SimErrorCode.NO_POSITION, f"no open{what} position on {instr.label}")
        if self._marks.get(instr.key) is None:
            self._reject(SimErrorCode.NO_MARKET_PRICE, f"{instr.label} has no price")
        side = Side.SELL if pos.size > 0 else Side.BUY
        with self._operation() as now:
            order = self._matcher.new_order(
                acct, instr, side=side, order_type=OrderType.MARKET, qty=abs(pos.size),
                price=None, trigger_price=None, trigger_direction=None, reduce_only=True,
                time_in_force=TimeInForce.IOC, client_order_id="", label="", now=now,
                position_side=position_side)
            self._matcher.activate(acct, instr, order, now, sweep=True)
            return order.snapshot(self.venue, acct.name)

    # -- private events --------------------------------------------------------------------

    def subscribe(self, account: str, callback: EventCallback) -> Callable[[], None]:
        """Deliver `account`'s private events to `callback`; returns the unsubscribe function."""
        return self._account(account).feed.subscribe(callback)

    def last_seq(self, account: str) -> int:
        return self._account(account).feed.last_seq

    def events_since(self, account: str, after_seq: int) -> list[SimEvent]:
        """Replay from the log (dropped events included); refused when the log has moved on."""
        events = self._account(account).feed.since(after_seq)
        if events is None or after_seq < 0:
            self._reject(SimErrorCode.REPLAY_UNAVAILABLE,
                         f"events after {after_seq} of {account!r} are no longer in the log")
        return events

    def drop_private_events(self, account: str, count: int | None = None) -> None:
        """Do not deliver the next `count` events (all, until restored, when None)."""
        self._account(account).feed.drop(count)

    def restore_private_events(self, account: str) -> None:
        self._account(account).feed.restore()

    def dropped_events(self, account: str) -> int:
        return self._account(account).feed.dropped

    # -- queries ---------------------------------------------------------------------------

    def open_orders(self, account: str, category: Category | None = None,
                    symbol: str | None = None) -> list[Order]:
        """Active orders (resting and untriggered), oldest first."""
        acct = self._account(account)
        return [o.snapshot(self.venue, acct.name) for o in acct.open_orders.values()
                if (category is None or o.category is category)
                and (symbol is None or o.symbol == symbol)]

    def order_refs(self, account: str, category: Category | None = None, *,
                   active: bool = True) -> list[OrderRef]:
        """The active orders (oldest first), or with `active` False the terminal ones
        (oldest first), as `OrderRef`s: what a venue listing sorts and filters by, at a
        fraction of the cost of `open_orders` (no `Order` is built)."""
        acct = self._account(account)
        orders = acct.open_orders.values() if active else (
            o for o in acct.orders.values() if o.status.is_terminal)
        return [o.ref() for o in orders if category is None or o.category is category]

    def page_open_orders(self, account: str, *, cursor: str = "", limit: int = 50,
                         category: Category | None = None,
                         symbol: str | None = None) -> Page[Order]:
        acct = self._account(account)
        after = self._int_cursor(cursor)
        if limit < 1:
            self._reject(SimErrorCode.INVALID_REQUEST, f"page limit {limit} must be >= 1")
        items: list[SimOrder] = []
        more = False
        for order in acct.open_orders.values():
            if order.seq <= after or (category is not None and order.category is not category) \
                    or (symbol is not None and order.symbol != symbol):
                continue
            if len(items) == limit:
                more = True
                break
            items.append(order)
        return Page(tuple(o.snapshot(self.venue, acct.name) for o in items),
                    str(items[-1].seq) if more else "")

    def _int_cursor(self, cursor: str) -> int:
        if not cursor:
            return 0
        if not cursor.isdigit():
            self._reject(SimErrorCode.INVALID_REQUEST, f"bad cursor {cursor!r}")
        return int(cursor)

    def get_order(self, account: str, order_ref: str) -> Order | None:
        """By venue order id, else client order id (active first, then the latest); None if
        the account never had it. Terminal orders are kept forever."""
        acct = self._account(account)
        order = acct.find_order(order_ref) if order_ref else None
        return None if order is None else order.snapshot(self.venue, acct.name)

    def order_by_venue_id(self, account: str, venue_order_id: str) -> Order | None:
        acct = self._account(account)
        order = acct.orders.get(venue_order_id)
        return None if order is None else order.snapshot(self.venue, acct.name)

    def order_terms(self, account: str, venue_order_id: str) -> OrderTerms | None:
        """`order_by_venue_id` reduced to what an execution record shows of its order."""
        order = self._account(account).orders.get(venue_order_id)
        return None if order is None else order.terms()

    def order_by_client_id(self, account: str, client_order_id: str) -> Order | None:
        acct = self._account(account)
        vid = acct.active_client_ids.get(client_order_id) or \
            acct.latest_client_ids.get(client_order_id)
        return None if vid is None else acct.orders[vid].snapshot(self.venue, acct.name)

    def order_reason(self, account: str, order_ref: str) -> str:
        """Why an order ended (e.g. post_only_would_take, cancelled_by_operator); "" if not."""
        return self._order(self._account(account), order_ref).reason

    def order_history(self, account: str, category: Category | None = None,
                      symbol: str | None = None) -> list[Order]:
        """Every order the account ever had, terminal ones too, oldest first."""
        acct = self._account(account)
        return [o.snapshot(self.venue, acct.name) for o in acct.orders.values()
                if (category is None or o.category is category)
                and (symbol is None or o.symbol == symbol)]

    def fills(self, account: str, since: int | None = None, until: int | None = None, *,
              category: Category | None = None, symbol: str | None = None) -> list[Fill]:
        """Fills with since <= exec_time <= until, oldest first."""
        acct = self._account(account)
        lo, hi = self._fill_range(acct, since, until)
        return [f for f in acct.fills[lo:hi]
                if (category is None or f.category is category)
                and (symbol is None or f.symbol == symbol)]

    def page_fills(self, account: str, *, since: int | None = None, until: int | None = None,
                   cursor: str = "", limit: int = 100) -> Page[Fill]:
        acct = self._account(account)
        if limit < 1:
            self._reject(SimErrorCode.INVALID_REQUEST, f"page limit {limit} must be >= 1")
        lo, hi = self._fill_range(acct, since, until)
        if cursor:
            parts = cursor.split(":")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                self._reject(SimErrorCode.INVALID_REQUEST, f"bad cursor {cursor!r}")
            lo = max(lo, bisect.bisect_right(acct.fill_keys, (int(parts[0]), int(parts[1]))))
        end = min(lo + limit, hi)
        items = tuple(acct.fills[lo:end]) if lo < end else ()
        if end < hi:
            exec_time, seq = acct.fill_keys[end - 1]
            return Page(items, f"{exec_time}:{seq}")
        return Page(items)

    @staticmethod
    def _fill_range(acct: SimAccount, since: int | None, until: int | None) -> tuple[int, int]:
        lo = 0 if since is None else bisect.bisect_left(acct.fill_keys, (since, 0))
        hi = len(acct.fill_keys) if until is None else \
            bisect.bisect_right(acct.fill_keys, (until, sys.maxsize))
        return lo, hi

    def positions(self, account: str, *, include_flat: bool = False,
                  category: Category | None = None) -> list[Position]:
        """Positions by (category, symbol, position side: long, one_way, short); flat ones
        (ever traded) only on request. A hedge-mode instrument lists LONG and SHORT."""
        acct = self._account(account)
        return [pos.snapshot(self.venue, acct.name, self._marks.get((key[0], key[1])))
                for key, pos in sorted(acct.positions.items(), key=lambda kv: kv[0])
                if (include_flat or pos.size != 0)
                and (category is None or key[0] is category)]

    def open_position_keys(self, account: str,
                           category: Category) -> list[tuple[str, PositionSide]]:
        """(symbol, position side) of the open positions of `category`, in the order of
        `positions`: what a listing pages over, without building the positions."""
        acct = self._account(account)
        return [(key[1], key[2]) for key, pos in sorted(acct.positions.items(),
                                                         key=lambda kv: kv[0])
                if pos.size != 0 and key[0] is category]

    def _sim_position(self, account: str, category: Category, symbol: str,
                      position_side: PositionSide) -> tuple[SimAccount, PositionKey,
                                                            SimPosition | None]:
        acct = self._account(account)
        instr = self._instrument(category, symbol)
        if not isinstance(position_side, PositionSide):
            self._reject(SimErrorCode.INVALID_REQUEST,
                         f"position side {position_side!r} is not a PositionSide")
        key = (instr.category, instr.symbol, position_side)
        return acct, key, acct.positions.get(key)

    def position(self, account: str, category: Category, symbol: str,
                 position_side: PositionSide = PositionSide.ONE_WAY) -> Position | None:
        """The instrument's one-way position, or in hedge mode its LONG or SHORT one; None
        if the account never held it."""
        acct, key, pos = self._sim_position(account, category, symbol, position_side)
        return None if pos is None else pos.snapshot(self.venue, acct.name,
                                                     self._marks.get((key[0], key[1])))

    def position_figures(self, account: str, category: Category, symbol: str,
                         position_side: PositionSide = PositionSide.ONE_WAY,
                         ) -> PositionFigures | None:
        """What the sim booked on one position: gross realised PnL, fees paid and the
        margin it locks, in the settle coin; None if the account never held it."""
        _acct, _key, pos = self._sim_position(account, category, symbol, position_side)
        return None if pos is None else pos.figures()

    def realised_pnl(self, account: str, category: Category, symbol: str,
                     position_side: PositionSide | None = None) -> Decimal:
        """Gross realised PnL so far (fees not deducted) of one position, or with
        `position_side` None of every position the account held on the instrument."""
        acct = self._account(account)
        key = self._instrument(category, symbol).key
        if position_side is not None:
            pos = self._sim_position(account, category, symbol, position_side)[2]
            return ZERO if pos is None else pos.realised_pnl
        return sum((pos.realised_pnl for pos in acct.instrument_positions(key)), ZERO)

    def balances(self, account: str) -> list[Balance]:
        acct = self._account(account)
        return [acct.balance(self.venue, asset) for asset in sorted(acct.totals)]

    def balance(self, account: str, asset: str) -> Balance:
        return self._account(account).balance(self.venue, asset)
