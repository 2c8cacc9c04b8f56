"""Named scenarios: a venue state and the ledger a bot left behind when it went away.

Each scenario really drives the sim: a bot (client ids from `ClientOrderIdGenerator` with
prefix "rc", worker "w1", strategy "demo") places orders, prices move, orders fill. At the
moment the bot "goes away" the scenario takes its ledger from the sim's state (our
orders carrying our metadata, every fill, position and balance); then the offline events
happen (fills with events dropped, cancels and closes by hand, foreign orders). The
returned `ScenarioSeed` holds that ledger and `expect`, the discrepancy kinds a
reconciliation of the ledger against the sim must report.

`expect` follows the reconciler's rules (console.reconcile): a ledger-active order that is
not in the open-orders list is reported as order_missing_on_venue with the venue's by-id
answer; one that is listed with another status as status_mismatch; balances compare total,
free and locked with the default tolerances (abs 1e-8, rel 1e-4). Scenarios are built so
that each balance field either stays exactly equal or moves far beyond the tolerance.

Each scenario salts the sim's id stream with its name: built from one seed, two scenarios
never mint the same venue order ids (a ledger kept from one scenario must not match
another scenario's orders by id). Scenarios set the marks of the symbols they use
(BTCUSDT 60000, ETHUSDT 3000, SOLUSDT 150, XRPUSDT 0.5) and create the account with
100000 USDT if it does not exist. Amounts are sized so that the defaults (leverage 10,
fees 0.0002/0.00055, the default books) make every order fill, rest or partially fill
as described.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from console.domain.enums import Category, OrderRole, OrderType, Origin, Side
from console.domain.ids import ClientOrderIdGenerator
from console.domain.model import Balance, BracketState, Fill, Order, Position, RunnerState
from console.domain.reconciliation import DiscrepancyKind
from console.domain.snapshot import LedgerSnapshot
from console.errors import ConfigError
from console.sim.core import SimExchange

PREFIX = "rc"
WORKER = "w1"
STRATEGY = "demo"
USER = "demo"
OPENING_USDT = Decimal(100000)
LINEAR = Category.LINEAR

_MARKS = {"BTCUSDT": Decimal(60000), "ETHUSDT": Decimal(3000), "SOLUSDT": Decimal(150),
          "XRPUSDT": Decimal("0.5")}


@dataclass(frozen=True, slots=True)
class ScenarioSeed:
    """What the bot's ledger held when it went away, and what reconciling it must find."""

    name: str
    description: str
    expect: frozenset[str]
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    positions: tuple[Position, ...] = ()
    balances: tuple[Balance, ...] = ()
    runner_states: tuple[RunnerState, ...] = ()

    @property
    def last_exec_time(self) -> int | None:
        return max((f.exec_time for f in self.fills), default=None)

    def ledger_snapshot(self, venue: str, account: str, *, fills_from: int = 0) -> LedgerSnapshot:
        return LedgerSnapshot(
            venue=venue, account=account, orders=self.orders,
            fills=tuple(f for f in self.fills if f.exec_time >= fills_from),
            fills_from=fills_from, positions=self.positions, balances=self.balances,
            runner_states=self.runner_states, last_exec_time=self.last_exec_time)


class ScenarioFn(Protocol):
    def __call__(self, exchange: SimExchange, account: str, *, now: int) -> ScenarioSeed: ...


@dataclass(frozen=True, slots=True)
class _Ledger:
    orders: tuple[Order, ...]
    fills: tuple[Fill, ...]
    positions: tuple[Position, ...]
    balances: tuple[Balance, ...]


class _Bot:
    """The trading bot whose ledger the scenario seeds: it remembers what it placed."""

    def __init__(self, exchange: SimExchange, account: str, now: int) -> None:
        self.exchange = exchange
        self.account = account
        counter = itertools.count(1)
        self._ids = ClientOrderIdGenerator(PREFIX, WORKER, lambda: next(counter), lambda: now)
        self._roles: dict[str, OrderRole] = {}

    def place(self, symbol: str, side: Side, qty: str, *, price: str | None = None,
              trigger: str | None = None, reduce_only: bool = False,
              role: OrderRole = OrderRole.OTHER) -> Order:
        order = self.exchange.place_order(
            self.account, category=LINEAR, symbol=symbol, side=side,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            qty=Decimal(qty), price=None if price is None else Decimal(price),
            trigger_price=None if trigger is None else Decimal(trigger),
            reduce_only=reduce_only, client_order_id=self._ids.next(role))
        self._roles[order.venue_order_id] = role
        return self._ours(order)

    def _ours(self, order: Order) -> Order:
        return order.evolve(strategy_id=STRATEGY, worker_id=WORKER,
                            role=self._roles[order.venue_order_id], origin=Origin.OURS)

    def current(self, order: Order) -> Order:
        """The venue's view of one of our orders now, with our metadata."""
        found = self.exchange.order_by_venue_id(self.account, order.venue_order_id)
        assert found is not None
        return self._ours(found)

    def went_away(self) -> _Ledger:
        """The ledger as of now: our orders, all fills, positions and balances."""
        ex, acct = self.exchange, self.account
        return _Ledger(
            orders=tuple(self._ours(o) for o in ex.order_history(acct)
                         if o.venue_order_id in self._roles),
            fills=tuple(ex.fills(acct)), positions=tuple(ex.positions(acct)),
            balances=tuple(ex.balances(acct)))


_Seeded = tuple[_Ledger, tuple[RunnerState, ...]]
_Build = Callable[[SimExchange, str, int], _Seeded]


@dataclass(frozen=True, slots=True)
class _Info:
    description: str
    expect: frozenset[str]
    build: _Build


_REGISTRY: dict[str, _Info] = {}
SCENARIOS: dict[str, ScenarioFn] = {}


def _scenario(name: str, description: str,
              *expect: DiscrepancyKind) -> Callable[[_Build], _Build]:
    def register(build: _Build) -> _Build:
        info = _Info(description, frozenset(k.value for k in expect), build)
        _REGISTRY[name] = info

        def run(exchange: SimExchange, account: str, *, now: int) -> ScenarioSeed:
            exchange.salt_ids(name)  # scenarios never share venue ids
            _prepare(exchange, account)
            ledger, runners = info.build(exchange, account, now)
            return ScenarioSeed(name, info.description, info.expect, ledger.orders,
                                ledger.fills, ledger.positions, ledger.balances, runners)

        SCENARIOS[name] = run
        return build

    return register


def build_scenario(name: str, exchange: SimExchange, account: str, *, now: int) -> ScenarioSeed:
    """Drive `exchange` into scenario `name` on `account`; return the bot's ledger seed."""
    fn = SCENARIOS.get(name)
    if fn is None:
        known = ", ".join(sorted(SCENARIOS))
        raise ConfigError(f"unknown scenario {name!r}; known scenarios: {known}")
    return fn(exchange, account, now=now)


def describe_scenario(name: str) -> str:
    info = _REGISTRY.get(name)
    if info is None:
        raise ConfigError(f"unknown scenario {name!r}")
    return info.description


def expected_kinds(name: str) -> frozenset[str]:
    info = _REGISTRY.get(name)
    if info is None:
        raise ConfigError(f"unknown scenario {name!r}")
    return info.expect


def _prepare(exchange: SimExchange, account: str) -> None:
    if not exchange.has_account(account):
        exchange.create_account(account, {"USDT": OPENING_USDT})
    listed = {i.symbol for i in exchange.instruments(LINEAR)}
    for symbol, mark in _MARKS.items():
        if symbol not in listed:
            raise ConfigError(f"scenarios need linear {symbol} listed on the sim")
        exchange.set_price(LINEAR, symbol, mark)


def _bracket(bot: _Bot, *, now: int) -> tuple[RunnerState, Order, Order, Order]:
    """A filled BTCUSDT long 0.01 with a stop-loss (trigger 58000) and a take-profit (63000)."""
    entry = bot.current(bot.place("BTCUSDT", Side.BUY, "0.01", role=OrderRole.ENTRY))
    sl = bot.place("BTCUSDT", Side.SELL, "0.01", trigger="58000", reduce_only=True,
                   role=OrderRole.STOP_LOSS)
    tp = bot.place("BTCUSDT", Side.SELL, "0.01", price="63000", reduce_only=True,
                   role=OrderRole.TAKE_PROFIT)
    fills = bot.exchange.fills(bot.account, symbol="BTCUSDT")
    bracket = BracketState(
        strategy_id=STRATEGY, category=LINEAR, symbol="BTCUSDT", side=Side.BUY,
        size=entry.qty, entry_client_id=entry.client_order_id, entry_price=entry.avg_price,
        entry_order_id=entry.venue_order_id, sl_client_id=sl.client_order_id,
        sl_order_id=sl.venue_order_id, tp_client_id=tp.client_order_id,
        tp_order_id=tp.venue_order_id, stop_price=sl.trigger_price,
        take_profit_price=tp.price, filled_size=entry.filled_qty,
        opened_at=fills[-1].exec_time)
    runner = RunnerState(user_id=USER, worker_id=WORKER, venue=bot.exchange.venue,
                         account=bot.account, bracket=bracket,
                         updated_at=now - WENT_AWAY_MS)
    return runner, entry, sl, tp


# -- the scenarios -----------------------------------------------------------------------

K = DiscrepancyKind
WENT_AWAY_MS = 3_600_000
"""The bot's last heartbeat (runner-state update) was an hour before the scenario."""


@_scenario("clean", "Resting orders on BTC, ETH and SOL and an ETH long; the ledger matches "
           "the venue exactly.")
def _clean(exchange: SimExchange, account: str, now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    bot.place("BTCUSDT", Side.BUY, "0.01", price="59000")
    bot.place("ETHUSDT", Side.SELL, "0.5", price="3100")
    bot.place("SOLUSDT", Side.BUY, "10", price="140")
    bot.place("ETHUSDT", Side.BUY, "0.2")
    return bot.went_away(), ()


@_scenario("restart-with-position",
           "The bot bought 0.01 BTCUSDT at market and crashed before recording anything: the "
           "venue has the position, its fill and the margin; the ledger only its old balance.",
           K.POSITION_MISSING_LOCALLY, K.MISSING_FILL, K.BALANCE_MISMATCH)
def _restart_with_position(exchange: SimExchange, account: str,
                           now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    ledger = bot.went_away()
    bot.place("BTCUSDT", Side.BUY, "0.01")
    return ledger, ()


@_scenario("missed-fill",
           "Our BTCUSDT buy 0.01 @ 59900 filled while private events were dropped; the ledger "
           "still shows it NEW with no fill and no position (the margin moved from the order "
           "to the position, so balances agree within tolerance).",
           K.ORDER_MISSING_ON_VENUE, K.MISSING_FILL, K.POSITION_MISSING_LOCALLY)
def _missed_fill(exchange: SimExchange, account: str,
                 now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    bot.place("BTCUSDT", Side.BUY, "0.01", price="59900")
    bot.place("ETHUSDT", Side.SELL, "0.5", price="3100")
    ledger = bot.went_away()
    exchange.drop_private_events(account)
    exchange.set_price(LINEAR, "BTCUSDT", Decimal(59800))
    exchange.restore_private_events(account)
    return ledger, ()


@_scenario("missed-partial-fill",
           "Our ETHUSDT buy 8 @ 2990 half-filled (5) while private events were dropped; the "
           "venue lists it PARTIALLY_FILLED, the ledger NEW with no fill and no position.",
           K.STATUS_MISMATCH, K.MISSING_FILL, K.POSITION_MISSING_LOCALLY)
def _missed_partial_fill(exchange: SimExchange, account: str,
                         now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    bot.place("ETHUSDT", Side.BUY, "8", price="2990")
    ledger = bot.went_away()
    exchange.drop_private_events(account)
    exchange.set_price(LINEAR, "ETHUSDT", Decimal("2989.99"))  # best ask 2990: one level
    exchange.restore_private_events(account)
    return ledger, ()


@_scenario("manual-cancel",
           "Our reduce-only BTCUSDT sell 0.02 @ 62000 (guarding a long) was cancelled by hand "
           "on the exchange; the ledger still shows it NEW. It locked nothing, so balances "
           "agree.",
           K.ORDER_MISSING_ON_VENUE)
def _manual_cancel(exchange: SimExchange, account: str,
                   now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    bot.place("BTCUSDT", Side.BUY, "0.02")
    target = bot.place("BTCUSDT", Side.SELL, "0.02", price="62000", reduce_only=True)
    ledger = bot.went_away()
    exchange.hand_cancel(account, target.venue_order_id)
    return ledger, ()


@_scenario("orphan-order",
           "Two open orders the ledger never saw and that are not ours: one from another bot "
           "(client id mm-7f3a-01), one placed by hand (no client id).",
           K.ORDER_UNKNOWN_LOCALLY)
def _orphan_order(exchange: SimExchange, account: str,
                  now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    bot.place("ETHUSDT", Side.BUY, "0.5", price="2900")
    exchange.place_order(account, category=LINEAR, symbol="SOLUSDT", side=Side.SELL,
                         order_type=OrderType.LIMIT, qty=Decimal(1), price=Decimal(160),
                         client_order_id="mm-7f3a-01")
    exchange.place_order(account, category=LINEAR, symbol="XRPUSDT", side=Side.BUY,
                         order_type=OrderType.LIMIT, qty=Decimal(1000), price=Decimal("0.45"))
    return bot.went_away(), ()


@_scenario("crashed-session",
           "A session placed two orders with our rc- client ids and lost its ledger: the "
           "ledger is empty (no orders, balances or saved state).",
           K.UNKNOWN_OURS, K.BALANCE_MISMATCH)
def _crashed_session(exchange: SimExchange, account: str,
                     now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    bot.place("BTCUSDT", Side.BUY, "0.01", price="59000", role=OrderRole.ENTRY)
    bot.place("ETHUSDT", Side.SELL, "0.5", price="3100")
    return _Ledger((), (), (), ()), ()


@_scenario("bracket-ok",
           "A saved BTCUSDT bracket: entry filled, stop-loss (58000) and take-profit (63000) "
           "resting; the ledger matches the venue.")
def _bracket_ok(exchange: SimExchange, account: str,
                now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    runner, _entry, _sl, _tp = _bracket(bot, now=now)
    return bot.went_away(), (runner,)


@_scenario("bracket-entry-open",
           "A saved BTCUSDT bracket whose entry (buy 0.01 @ 59000) still rests unfilled; no "
           "protection placed yet.",
           K.BRACKET_ENTRY_NOT_FILLED)
def _bracket_entry_open(exchange: SimExchange, account: str,
                        now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    entry = bot.place("BTCUSDT", Side.BUY, "0.01", price="59000", role=OrderRole.ENTRY)
    bracket = BracketState(
        strategy_id=STRATEGY, category=LINEAR, symbol="BTCUSDT", side=Side.BUY, size=entry.qty,
        entry_client_id=entry.client_order_id, entry_price=entry.price,
        entry_order_id=entry.venue_order_id, stop_price=Decimal(58000),
        take_profit_price=Decimal(63000), opened_at=entry.created_at)
    runner = RunnerState(user_id=USER, worker_id=WORKER, venue=exchange.venue,
                         account=account, bracket=bracket,
                         updated_at=now - WENT_AWAY_MS)
    return bot.went_away(), (runner,)


@_scenario("bracket-missing-protection",
           "A saved BTCUSDT bracket with the position open; its stop-loss was cancelled by hand "
           "on the exchange, the take-profit still rests.",
           K.ORDER_MISSING_ON_VENUE, K.BRACKET_MISSING_PROTECTION)
def _bracket_missing_protection(exchange: SimExchange, account: str,
                                now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    runner, _entry, sl, _tp = _bracket(bot, now=now)
    ledger = bot.went_away()
    exchange.hand_cancel(account, sl.venue_order_id)
    return ledger, (runner,)


@_scenario("bracket-closed-offline",
           "A saved BTCUSDT bracket whose position was closed on the exchange while we were "
           "away; stop-loss and take-profit still rest on the venue.",
           K.BRACKET_CLOSED_OFFLINE, K.POSITION_MISSING_ON_VENUE, K.MISSING_FILL,
           K.BALANCE_MISMATCH)
def _bracket_closed_offline(exchange: SimExchange, account: str,
                            now: int) -> _Seeded:
    bot = _Bot(exchange, account, now)
    runner, _entry, _sl, _tp = _bracket(bot, now=now)
    ledger = bot.went_away()
    exchange.close_position(account, LINEAR, "BTCUSDT")
    return ledger, (runner,)
