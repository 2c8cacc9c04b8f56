"""Binance JSON (spot /api/v3, USD-M /fapi) to domain objects and back, strictly.

Every enum goes through an explicit map, both ways (what we read and what we send: a
domain enum's `.value` never reaches the wire), and an unknown value is refused, naming
the Binance field and the value. Numbers are read from Binance's strings as `Decimal`
through `console.domain.values` (a JSON float is refused: Binance writes decimals as
strings), ids and times from JSON integers. Where Binance writes "0" for "none" (the
price of a market order, avgPrice before a fill, stopPrice of a plain order) the domain
gets None. Every failure is a `MalformedVenueDataError` naming the field and the value;
`_typed` turns even a failure the field checks did not foresee into one.

Semantics worth knowing:
* Statuses: CANCELED, EXPIRED and EXPIRED_IN_MATCH (self-trade prevention) are all
  CANCELLED (the filled quantity is kept; the domain has no place for the reason).
  NEW_INSURANCE / NEW_ADL (USD-M liquidation orders, listed by peers such as
  NautilusTrader, not on the current pages) are NEW. A spot stop order that is not
  working yet (`isWorking`/`w` false) is UNTRIGGERED.
* Types: GTX (and RPI, a maker-only book) is post-only; spot LIMIT_MAKER is a post-only
  LIMIT. GTD is read as GTC (the domain has no expiry; the order rests until then).
  STOP/TAKE_PROFIT(_LIMIT) are LIMIT orders with a trigger, *_MARKET (and spot
  STOP_LOSS/TAKE_PROFIT, and TRAILING_STOP_MARKET) MARKET orders with one. The trigger
  direction follows from type and side (Binance's trigger rules: a STOP buys when the
  price rises to it and sells when it falls to it, a TAKE_PROFIT the other way round).
* Algo orders (USD-M conditional orders, `/fapi/v1/algoOrder`): the domain order has
  `venue_order_id` "algo:<algoId>" and `client_order_id` = clientAlgoId. NEW is
  UNTRIGGERED; once triggered (TRIGGERING/TRIGGERED, and FINISHED) the regular order
  is authoritative: the view carries its id (actualOrderId) when Binance gives one.
  FINISHED is FILLED when the executed quantity reaches the order's, CANCELLED (with the
  executed quantity kept) otherwise; CANCELED/EXPIRED are CANCELLED.
* Spot cancel answers: `clientOrderId` is the *cancel's* id; the order's own is
  `origClientOrderId` (and in executionReport the original id is `C` on a cancel).
* Trade ids are per symbol: a fill's exec id is "<symbol>:<tradeId>:<B|S>" (the side
  keeps the two sides of a self-trade apart), the same from REST and from the stream.
* Positions: positionRisk's `positionAmt` is signed already; BOTH is one-way, LONG and
  SHORT are the hedge-mode books.
* Balances: spot total = free + locked. USD-M (GET /fapi/v3/account assets): total =
  walletBalance; free = availableBalance - unrealizedProfit (what is not held, without
  the unrealised PnL Binance adds to availableBalance); locked = total - free, which is
  the initial margin of open orders and positions (availableBalance = walletBalance +
  unrealizedProfit - initialMargin in cross margin; UNVERIFIED for Multi-Assets mode,
  where a negative result is refused rather than guessed). ACCOUNT_UPDATE's balances
  (`a.B`: wallet and cross-wallet only) say nothing of what is held, so no BalanceEvent
  is built from them (it would overwrite the ledger's free/locked with guesses); the
  client reads the balances over REST after trades instead (`BinanceVenue._with_balances`).
* Venue-made orders (client ids "autoclose-...", "adl_autoclose",
  "settlement_autoclose-...") are read as they are: never our prefix, so adopted.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Context, Decimal
from enum import Enum
from typing import Any, Final, TypeVar

from console.domain.enums import (
    Category,
    ExecType,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.events import (
    BalanceEvent,
    FillEvent,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.domain.ids import is_valid_client_id, parse_client_id
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import (
    ZERO,
    DomainValueError,
    check_text,
    to_decimal,
    to_epoch_ms,
)
from console.errors import FatalVenueError
from console.venues._common.malformed import (
    Malformed,
    shown,
)
from console.venues.binance.errors import VENUE

E = TypeVar("E", bound=Enum)

_MALFORMED: Final = Malformed(VENUE)
_fail = _MALFORMED.fail
_refused = _MALFORMED.refused
_build = _MALFORMED.build
_typed = _MALFORMED.typed
_shown = shown

# -- wire maps --------------------------------------------------------------------------

SIDE: Final[Mapping[str, Side]] = {"BUY": Side.BUY, "SELL": Side.SELL}
SIDE_NAME: Final[Mapping[Side, str]] = {v: k for k, v in SIDE.items()}

_COMMON_STATUS: Final[Mapping[str, OrderStatus]] = {
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.CANCELLED,
    "EXPIRED_IN_MATCH": OrderStatus.CANCELLED,
}
FUTURES_STATUS: Final[Mapping[str, OrderStatus]] = {
    **_COMMON_STATUS,
    "NEW_INSURANCE": OrderStatus.NEW,
    "NEW_ADL": OrderStatus.NEW,
}
SPOT_STATUS: Final[Mapping[str, OrderStatus]] = {
    **_COMMON_STATUS,
    "PENDING_NEW": OrderStatus.PENDING_NEW,
    "PENDING_CANCEL": OrderStatus.PENDING_CANCEL,
}
ALGO_STATUS: Final[Mapping[str, OrderStatus]] = {
    "NEW": OrderStatus.UNTRIGGERED,
    "TRIGGERING": OrderStatus.NEW,
    "TRIGGERED": OrderStatus.NEW,
    "FINISHED": OrderStatus.FILLED,  # or CANCELLED: see `_algo_state`
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
}
ALGO_TRIGGERED: Final = frozenset({"TRIGGERING", "TRIGGERED", "FINISHED"})
"""Algo statuses after which the regular order (actualOrderId) is authoritative."""

# type -> (domain type, conditional)
FUTURES_TYPE: Final[Mapping[str, tuple[OrderType, bool]]] = {
    "LIMIT": (OrderType.LIMIT, False),
    "MARKET": (OrderType.MARKET, False),
    "STOP": (OrderType.LIMIT, True),
    "TAKE_PROFIT": (OrderType.LIMIT, True),
    "STOP_MARKET": (OrderType.MARKET, True),
    "TAKE_PROFIT_MARKET": (OrderType.MARKET, True),
    "TRAILING_STOP_MARKET": (OrderType.MARKET, True),
    "LIQUIDATION": (OrderType.MARKET, False),
}
SPOT_TYPE: Final[Mapping[str, tuple[OrderType, bool]]] = {
    "LIMIT": (OrderType.LIMIT, False),
    "LIMIT_MAKER": (OrderType.LIMIT, False),
    "MARKET": (OrderType.MARKET, False),
    "STOP_LOSS": (OrderType.MARKET, True),
    "STOP_LOSS_LIMIT": (OrderType.LIMIT, True),
    "TAKE_PROFIT": (OrderType.MARKET, True),
    "TAKE_PROFIT_LIMIT": (OrderType.LIMIT, True),
}
_STOPS: Final = frozenset({"STOP", "STOP_MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT",
                           "TRAILING_STOP_MARKET"})
"""Conditional types that fire on a move against the order's side (a buy stop on a
rise); the others (take-profits) fire on a move in its favour."""

TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC,
    "IOC": TimeInForce.IOC,
    "FOK": TimeInForce.FOK,
    "GTX": TimeInForce.POST_ONLY,
    "RPI": TimeInForce.POST_ONLY,
    "GTD": TimeInForce.GTC,
}
FUTURES_TIF_NAME: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "GTX"}
SPOT_TIF_NAME: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}
"""Spot post-only is the LIMIT_MAKER type, which takes no timeInForce."""

POSITION_SIDE: Final[Mapping[str, PositionSide]] = {
    "BOTH": PositionSide.ONE_WAY, "LONG": PositionSide.LONG, "SHORT": PositionSide.SHORT}

# (conditional, side, direction) -> the algo order type we send
ALGO_TYPE_NAME: Final[Mapping[tuple[OrderType, Side, TriggerDirection], str]] = {
    (OrderType.MARKET, Side.BUY, TriggerDirection.RISE): "STOP_MARKET",
    (OrderType.MARKET, Side.SELL, TriggerDirection.FALL): "STOP_MARKET",
    (OrderType.MARKET, Side.SELL, TriggerDirection.RISE): "TAKE_PROFIT_MARKET",
    (OrderType.MARKET, Side.BUY, TriggerDirection.FALL): "TAKE_PROFIT_MARKET",
    (OrderType.LIMIT, Side.BUY, TriggerDirection.RISE): "STOP",
    (OrderType.LIMIT, Side.SELL, TriggerDirection.FALL): "STOP",
    (OrderType.LIMIT, Side.SELL, TriggerDirection.RISE): "TAKE_PROFIT",
    (OrderType.LIMIT, Side.BUY, TriggerDirection.FALL): "TAKE_PROFIT",
}
ALGO_PREFIX: Final = "algo:"
"""The domain's venue id of an untriggered algo order: "algo:<algoId>"."""

ID_MAX_LEN: Final = 128
SYMBOL_MAX_LEN: Final = 64
ASSET_MAX_LEN: Final = 32
TEXT_MAX_LEN: Final = 1000

_MAX_ID: Final = 2 ** 63 - 1
_DIGITS: Final = re.compile(r"[0-9]{1,19}")
_EXACT: Final = Context(prec=120)
"""Sums of bounded venue numbers without rounding (free + locked)."""
_AVERAGE: Final = Context(prec=28)
"""A spot average price (quote / quantity) is a quotient: rounded to 28 digits."""


class _Item:
    """One Binance JSON object being read; errors name `what.field` and the value."""

    __slots__ = ("raw", "what")

    def __init__(self, raw: object, what: str) -> None:
        if not isinstance(raw, Mapping):
            raise _fail(f"{what}: expected an object, got {type(raw).__name__}")
        self.raw: Mapping[str, Any] = raw
        self.what = what

    def label(self, name: str) -> str:
        return f"{self.what}.{name}"

    def has(self, name: str) -> bool:
        return name in self.raw and self.raw[name] is not None

    def get(self, name: str) -> Any:
        if name not in self.raw:
            raise _fail(f"{self.label(name)}: missing")
        return self.raw[name]

    def text(self, name: str, *, allow_empty: bool = False, optional: bool = False,
             max_len: int = TEXT_MAX_LEN) -> str:
        if optional and not self.has(name):
            return ""
        value = self.get(name)
        if not isinstance(value, str):
            raise _fail(f"{self.label(name)}: {_shown(value)} is not text")
        if not value and not allow_empty:
            raise _fail(f"{self.label(name)}: missing (empty string)")
        try:
            return check_text(value, self.label(name), max_len=max_len)
        except DomainValueError as exc:
            raise _refused(exc) from None

    def decimal(self, name: str) -> Decimal:
        value = self.get(name)
        try:
            out = to_decimal(value, self.label(name))
        except DomainValueError as exc:
            raise _refused(exc) from None
        assert out is not None
        return out

    def non_negative(self, name: str) -> Decimal:
        out = self.decimal(name)
        if out < 0:
            raise _fail(f"{self.label(name)}: {_shown(self.raw[name])} is negative")
        return out

    def positive(self, name: str) -> Decimal:
        out = self.decimal(name)
        if out <= 0:
            raise _fail(f"{self.label(name)}: {_shown(self.raw[name])} must be greater "
                        "than zero")
        return out

    def zero_is_none(self, name: str, *, optional: bool = False) -> Decimal | None:
        """A non-negative number where "0" (and "") means "none"."""
        if optional and not self.has(name):
            return None
        value = self.get(name)
        try:
            out = to_decimal(value, self.label(name), allow_empty=True)
        except DomainValueError as exc:
            raise _refused(exc) from None
        if out is None or out == 0:
            return None
        if out < 0:
            raise _fail(f"{self.label(name)}: {_shown(value)} is negative")
        return out

    def integer(self, name: str, *, minimum: int = 0) -> int:
        """A JSON integer (ids, counts): never a bool, a float or text."""
        value: object = self.get(name)
        if isinstance(value, bool) or not isinstance(value, int) \
                or not minimum <= value <= _MAX_ID:
            raise _fail(f"{self.label(name)}: {_shown(value)} is not an integer id")
        return value

    def id_text(self, name: str, *, allow_empty: bool = False) -> str:
        """An id Binance sends as a JSON integer or as digits in a string (algo
        actualOrderId), as text."""
        value = self.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_ID:
            return str(value)
        if isinstance(value, str) and (_DIGITS.fullmatch(value)
                                       or (allow_empty and value == "")):
            return value
        raise _fail(f"{self.label(name)}: {_shown(value)} is not an id")

    def ms(self, name: str) -> int:
        value = self.get(name)
        try:
            return to_epoch_ms(value, self.label(name))
        except DomainValueError as exc:
            raise _refused(exc) from None

    def enum(self, name: str, mapping: Mapping[str, E]) -> E:
        value = self.get(name)
        if not isinstance(value, str) or value not in mapping:
            known = ", ".join(sorted(mapping))
            raise _fail(f"{self.label(name)}: unknown value {_shown(value)} (known: {known})")
        return mapping[value]

    def key(self, name: str, mapping: Mapping[str, Any]) -> str:
        """A wire value that must be a key of `mapping`, as the text itself."""
        self.enum(name, mapping)
        return str(self.raw[name])

    def boolean(self, name: str, *, optional: bool = False) -> bool:
        if optional and not self.has(name):
            return False
        value = self.get(name)
        if not isinstance(value, bool):
            raise _fail(f"{self.label(name)}: {_shown(value)} is not true or false")
        return value


def _direction(wire_type: str, side: Side) -> TriggerDirection:
    """Which way the price must move for a conditional order of this type to fire."""
    stop = wire_type in _STOPS
    rises = (side is Side.BUY) == stop
    return TriggerDirection.RISE if rises else TriggerDirection.FALL


def _role(client_id: str) -> OrderRole:
    parsed = parse_client_id(client_id) if client_id else None
    return parsed.role if parsed else OrderRole.OTHER


def exec_id(symbol: str, trade_id: int, side: Side) -> str:
    """The fill's exec id: Binance's trade ids count per symbol, and both sides of a
    self-trade share one."""
    return f"{symbol}:{trade_id}:{'B' if side is Side.BUY else 'S'}"


# -- generic answers --------------------------------------------------------------------


@_typed("answer")
def as_object(payload: object, what: str) -> Mapping[str, Any]:
    return _Item(payload, what).raw


@_typed("answer")
def as_list(payload: object, what: str) -> list[Any]:
    if not isinstance(payload, list):
        raise _fail(f"{what}: expected a list, got {type(payload).__name__}")
    return payload


@_typed("server time")
def parse_server_time(payload: object) -> int:
    """GET /api/v3/time and /fapi/v1/time: {"serverTime": ms}."""
    return _Item(payload, "time").ms("serverTime")


@_typed("listenKey")
def parse_listen_key(payload: object) -> str:
    return _Item(payload, "listenKey").text("listenKey", max_len=200)


@_typed("position mode")
def parse_position_mode(payload: object) -> bool:
    """GET /fapi/v1/positionSide/dual: True in Hedge Mode."""
    return _Item(payload, "positionSide/dual").boolean("dualSidePosition")


@_typed("multi-assets mode")
def parse_multi_assets(payload: object) -> bool:
    return _Item(payload, "multiAssetsMargin").boolean("multiAssetsMargin")


@_typed("countdown")
def parse_countdown(payload: object) -> tuple[str, int]:
    """POST /fapi/v1/countdownCancelAll: (symbol, countdownTime ms); the example writes
    countdownTime as a string."""
    item = _Item(payload, "countdownCancelAll")
    raw = item.get("countdownTime")
    if isinstance(raw, str) and _DIGITS.fullmatch(raw):
        countdown = int(raw)
    elif isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        countdown = raw
    else:
        raise _fail(f"countdownCancelAll.countdownTime: {_shown(raw)} is not a number of "
                    "milliseconds")
    return item.text("symbol", max_len=SYMBOL_MAX_LEN), countdown


@_typed("order ids")
def algo_ids(payload: object, what: str) -> tuple[str, str]:
    """(domain venue id "algo:<algoId>", clientAlgoId) of an algo answer."""
    item = _Item(payload, what)
    return (f"{ALGO_PREFIX}{item.integer('algoId')}",
            item.text("clientAlgoId", max_len=ID_MAX_LEN))


# -- orders -----------------------------------------------------------------------------


def _trigger(item: _Item, name: str, wire_type: str, conditional: bool,
             side: Side) -> tuple[Decimal | None, TriggerDirection | None]:
    price = item.zero_is_none(name, optional=True)
    if price is None:
        return None, None
    return price, _direction(wire_type, side) if conditional else None


@_typed("order")
def parse_futures_order(raw: object, *, account: str, venue: str = VENUE) -> Order:
    """A USD-M order from /fapi/v1/order (new, query, cancel, modify) or openOrders."""
    item = _Item(raw, "order")
    order_id = item.integer("orderId")
    item.what = f"order {order_id}"
    client_id = item.text("clientOrderId", allow_empty=True, max_len=ID_MAX_LEN)
    wire_type = item.key("type", FUTURES_TYPE)
    order_type, _ = FUTURES_TYPE[wire_type]
    conditional = FUTURES_TYPE[wire_type][1]
    if not conditional and item.has("origType") and item.raw["origType"] in FUTURES_TYPE:
        # a triggered conditional order reports what it became, and what it was
        origin = str(item.raw["origType"])
        conditional, wire_type = FUTURES_TYPE[origin][1], origin
    side = item.enum("side", SIDE)
    trigger, direction = _trigger(item, "stopPrice", wire_type, conditional, side)
    price = item.positive("price") if order_type is OrderType.LIMIT else None
    updated = item.ms("updateTime")
    return _build(  # type: ignore[no-any-return]
        item.what, Order,
        venue=venue, account=account, category=Category.LINEAR,
        symbol=item.text("symbol", max_len=SYMBOL_MAX_LEN), side=side, type=order_type,
        qty=item.positive("origQty"), status=item.enum("status", FUTURES_STATUS),
        client_order_id=client_id, venue_order_id=str(order_id), price=price,
        trigger_price=trigger, trigger_direction=direction,
        reduce_only=item.boolean("reduceOnly"),
        time_in_force=item.enum("timeInForce", TIME_IN_FORCE),
        filled_qty=item.non_negative("executedQty"),
        avg_price=item.zero_is_none("avgPrice", optional=True),
        role=_role(client_id),
        created_at=item.ms("time") if item.has("time") else updated, updated_at=updated)


def _algo_state(wire_status: str, qty: Decimal,
                executed: Decimal) -> tuple[OrderStatus, Decimal]:
    """(status, executed quantity) of an algo order: the executed quantity counts only
    once the order reached the matching engine (TRIGGERING, TRIGGERED, FINISHED: the
    docs' own example shows an actualQty on a CANCELED, never triggered, order); FINISHED
    is FILLED when it reaches the order's quantity, CANCELLED (fills kept) otherwise."""
    if wire_status not in ALGO_TRIGGERED:
        return ALGO_STATUS[wire_status], ZERO
    if wire_status == "FINISHED":
        return (OrderStatus.FILLED if executed >= qty else OrderStatus.CANCELLED), executed
    return (OrderStatus.PARTIALLY_FILLED if executed > 0 else OrderStatus.NEW), executed


@_typed("algo order")
def parse_algo_order(raw: object, *, account: str, venue: str = VENUE) -> Order:
    """A USD-M algo (conditional) order from /fapi/v1/algoOrder or openAlgoOrders."""
    item = _Item(raw, "algo order")
    algo_id = item.integer("algoId")
    item.what = f"algo order {algo_id}"
    client_id = item.text("clientAlgoId", max_len=ID_MAX_LEN)
    wire_type = item.key("orderType", FUTURES_TYPE)
    order_type, conditional = FUTURES_TYPE[wire_type]
    side = item.enum("side", SIDE)
    qty = item.positive("quantity")
    wire_status = item.key("algoStatus", ALGO_STATUS)
    executed = (item.zero_is_none("actualQty") or ZERO) if item.has("actualQty") else ZERO
    status, executed = _algo_state(wire_status, qty, executed)
    actual = item.id_text("actualOrderId", allow_empty=True) \
        if item.has("actualOrderId") else ""
    venue_id = actual if actual and wire_status in ALGO_TRIGGERED \
        else f"{ALGO_PREFIX}{algo_id}"
    trigger, direction = _trigger(item, "triggerPrice", wire_type, conditional, side)
    updated = item.ms("updateTime")
    return _build(  # type: ignore[no-any-return]
        item.what, Order,
        venue=venue, account=account, category=Category.LINEAR,
        symbol=item.text("symbol", max_len=SYMBOL_MAX_LEN), side=side, type=order_type,
        qty=qty, status=status, client_order_id=client_id, venue_order_id=venue_id,
        price=item.positive("price") if order_type is OrderType.LIMIT else None,
        trigger_price=trigger, trigger_direction=direction,
        reduce_only=item.boolean("reduceOnly"),
        time_in_force=item.enum("timeInForce", TIME_IN_FORCE), filled_qty=executed,
        avg_price=item.zero_is_none("actualPrice", optional=True) if executed else None,
        role=_role(client_id), created_at=item.ms("createTime"), updated_at=updated)


@_typed("algo order")
def algo_actual_order(raw: object) -> tuple[str, str]:
    """(algoStatus, actualOrderId or "") of an algo answer: where the regular order is."""
    item = _Item(raw, "algo order")
    status = item.key("algoStatus", ALGO_STATUS)
    actual = item.id_text("actualOrderId", allow_empty=True) \
        if item.has("actualOrderId") else ""
    return status, actual


@_typed("algo order")
def is_close_all(raw: object) -> bool:
    """An algo order with closePosition=true (quantity "0": "close the whole position"),
    which the domain cannot represent (an order has a quantity)."""
    item = _Item(raw, "algo order")
    return item.boolean("closePosition", optional=True)


def _spot_average(item: _Item, filled: Decimal) -> Decimal | None:
    if filled <= 0 or not item.has("cummulativeQuoteQty"):
        return None
    quote = item.decimal("cummulativeQuoteQty")
    if quote <= 0:  # "< 0 meaning the data is not available at this time"
        return None
    return _AVERAGE.divide(quote, filled)


@_typed("order")
def parse_spot_order(raw: object, *, account: str, venue: str = VENUE) -> Order:
    """A spot order from /api/v3/order (new RESULT/FULL, query, cancel) or openOrders.
    A cancel answer's own client id is `origClientOrderId`."""
    item = _Item(raw, "order")
    order_id = item.integer("orderId")
    item.what = f"order {order_id}"
    id_field = "origClientOrderId" if item.has("origClientOrderId") else "clientOrderId"
    client_id = item.text(id_field, allow_empty=True, max_len=ID_MAX_LEN)
    wire_type = item.key("type", SPOT_TYPE)
    order_type, conditional = SPOT_TYPE[wire_type]
    side = item.enum("side", SIDE)
    trigger, direction = _trigger(item, "stopPrice", wire_type, conditional, side)
    status = item.enum("status", SPOT_STATUS)
    if conditional and status is OrderStatus.NEW and item.has("isWorking") \
            and not item.boolean("isWorking"):
        status = OrderStatus.UNTRIGGERED
    tif = TimeInForce.POST_ONLY if wire_type == "LIMIT_MAKER" \
        else item.enum("timeInForce", TIME_IN_FORCE)
    filled = item.non_negative("executedQty")
    updated = item.ms("updateTime") if item.has("updateTime") else item.ms("transactTime")
    return _build(  # type: ignore[no-any-return]
        item.what, Order,
        venue=venue, account=account, category=Category.SPOT,
        symbol=item.text("symbol", max_len=SYMBOL_MAX_LEN), side=side, type=order_type,
        qty=item.positive("origQty"), status=status, client_order_id=client_id,
        venue_order_id=str(order_id),
        price=item.positive("price") if order_type is OrderType.LIMIT else None,
        trigger_price=trigger, trigger_direction=direction, time_in_force=tif,
        filled_qty=filled, avg_price=_spot_average(item, filled), role=_role(client_id),
        created_at=item.ms("time") if item.has("time") else updated, updated_at=updated)


def parse_orders(items: Sequence[object], parse: Callable[..., Order], *,
                 account: str) -> list[Order]:
    return [parse(raw, account=account) for raw in items]


# -- fills ------------------------------------------------------------------------------


@_typed("trade")
def parse_futures_trade(raw: object, *, account: str, venue: str = VENUE) -> Fill:
    """One /fapi/v1/userTrades item (no client id: Binance does not list it there)."""
    item = _Item(raw, "trade")
    trade_id = item.integer("id")
    symbol = item.text("symbol", max_len=SYMBOL_MAX_LEN)
    item.what = f"trade {symbol}:{trade_id}"
    side = item.enum("side", SIDE)
    return _build(  # type: ignore[no-any-return]
        item.what, Fill,
        venue=venue, account=account, exec_id=exec_id(symbol, trade_id, side),
        symbol=symbol, side=side, price=item.non_negative("price"),
        qty=item.positive("qty"), exec_time=item.ms("time"), category=Category.LINEAR,
        venue_order_id=str(item.integer("orderId")), fee=item.decimal("commission"),
        fee_asset=item.text("commissionAsset", allow_empty=True, max_len=ASSET_MAX_LEN),
        is_maker=item.boolean("maker"))


@_typed("trade")
def parse_spot_trade(raw: object, *, account: str, venue: str = VENUE) -> Fill:
    """One /api/v3/myTrades item."""
    item = _Item(raw, "trade")
    trade_id = item.integer("id")
    symbol = item.text("symbol", max_len=SYMBOL_MAX_LEN)
    item.what = f"trade {symbol}:{trade_id}"
    side = Side.BUY if item.boolean("isBuyer") else Side.SELL
    return _build(  # type: ignore[no-any-return]
        item.what, Fill,
        venue=venue, account=account, exec_id=exec_id(symbol, trade_id, side),
        symbol=symbol, side=side, price=item.non_negative("price"),
        qty=item.positive("qty"), exec_time=item.ms("time"), category=Category.SPOT,
        venue_order_id=str(item.integer("orderId")), fee=item.decimal("commission"),
        fee_asset=item.text("commissionAsset", allow_empty=True, max_len=ASSET_MAX_LEN),
        is_maker=item.boolean("isMaker"))


@_typed("trade")
def trade_cursor(raw: object) -> tuple[int, int]:
    """(id, time) of a trade item: what paging advances by."""
    item = _Item(raw, "trade")
    return item.integer("id"), item.ms("time")


# -- positions and balances -------------------------------------------------------------


@_typed("position")
def parse_position(raw: object, *, account: str, venue: str = VENUE) -> Position:
    """One GET /fapi/v3/positionRisk item."""
    item = _Item(raw, "position")
    symbol = item.text("symbol", max_len=SYMBOL_MAX_LEN)
    item.what = f"position {symbol}"
    size = item.decimal("positionAmt")
    entry = item.non_negative("entryPrice")
    return _build(  # type: ignore[no-any-return]
        item.what, Position,
        venue=venue, account=account, category=Category.LINEAR, symbol=symbol, size=size,
        entry_price=entry, position_side=item.enum("positionSide", POSITION_SIDE),
        mark_price=item.zero_is_none("markPrice", optional=True),
        unrealised_pnl=item.decimal("unRealizedProfit") if item.has("unRealizedProfit")
        else None,
        updated_at=item.ms("updateTime"))


def _nonzero(balance: Balance) -> bool:
    return bool(balance.total or balance.free or balance.locked)


@_typed("account")
def parse_futures_account(payload: object, *, account: str, updated_at: int = 0,
                          venue: str = VENUE) -> list[Balance]:
    """GET /fapi/v3/account: one Balance per asset holding anything."""
    assets = _Item(payload, "account").get("assets")
    if not isinstance(assets, list):
        raise _fail(f"account.assets: expected a list, got {type(assets).__name__}")
    out: list[Balance] = []
    for index, raw in enumerate(assets):
        item = _Item(raw, f"account.assets[{index}]")
        asset = item.text("asset", max_len=ASSET_MAX_LEN)
        item.what = f"account asset {asset}"
        stamp = item.ms("updateTime") if item.has("updateTime") else updated_at
        total = item.decimal("walletBalance")
        free = _EXACT.subtract(item.decimal("availableBalance"),
                               item.decimal("unrealizedProfit"))
        locked = _EXACT.subtract(total, free)
        if locked < 0:
            raise _fail(f"{item.what}: walletBalance {total} is below availableBalance - "
                        f"unrealizedProfit ({free}): nothing can be held")
        balance = _build(item.what, Balance, venue=venue, account=account, asset=asset,
                         total=total, free=free, locked=locked,
                         updated_at=stamp or updated_at)
        if _nonzero(balance):
            out.append(balance)
    return out


def _spot_balance(item: _Item, *, account: str, venue: str, updated_at: int,
                  names: tuple[str, str, str]) -> Balance:
    asset_field, free_field, locked_field = names
    asset = item.text(asset_field, max_len=ASSET_MAX_LEN)
    item.what = f"balance {asset}"
    free = item.non_negative(free_field)
    locked = item.non_negative(locked_field)
    return _build(item.what, Balance, venue=venue,  # type: ignore[no-any-return]
                  account=account, asset=asset, total=_EXACT.add(free, locked), free=free,
                  locked=locked, updated_at=updated_at)


@_typed("account")
def parse_spot_account(payload: object, *, account: str, updated_at: int = 0,
                       venue: str = VENUE) -> list[Balance]:
    """GET /api/v3/account: one Balance per asset holding anything (total = free +
    locked)."""
    top = _Item(payload, "account")
    stamp = top.ms("updateTime") if top.has("updateTime") else updated_at
    balances = top.get("balances")
    if not isinstance(balances, list):
        raise _fail(f"account.balances: expected a list, got {type(balances).__name__}")
    out = [_spot_balance(_Item(raw, f"account.balances[{i}]"), account=account,
                         venue=venue, updated_at=stamp or updated_at,
                         names=("asset", "free", "locked"))
           for i, raw in enumerate(balances)]
    return [b for b in out if _nonzero(b)]


# -- private stream ---------------------------------------------------------------------

FUTURES_IGNORED: Final = frozenset({
    "TRADE_LITE", "ACCOUNT_CONFIG_UPDATE", "MARGIN_CALL", "CONDITIONAL_ORDER_TRIGGER_REJECT",
    "STRATEGY_UPDATE", "GRID_UPDATE", "listenKeyExpired"})
"""USD-M events that carry nothing a domain event needs: TRADE_LITE repeats the fill of
ORDER_TRADE_UPDATE without its commission (the ORDER_TRADE_UPDATE fill is the one kept),
ACCOUNT_CONFIG_UPDATE is leverage/multi-assets settings, the trigger reject is followed by
the order's own update; listenKeyExpired is the stream's business."""
SPOT_IGNORED: Final = frozenset({
    "balanceUpdate", "listStatus", "externalLockUpdate", "eventStreamTerminated",
    "serverShutdown"})
"""Spot events without a domain event: balanceUpdate is followed by
outboundAccountPosition (which carries the resulting balances); the rest are the
stream's business or order lists (whose orders come as executionReports)."""
FILL_EXECUTIONS: Final[Mapping[str, ExecType]] = {
    "TRADE": ExecType.TRADE, "CALCULATED": ExecType.LIQUIDATION}
"""Execution types that are fills: a trade, and (USD-M) a liquidation execution."""


@_typed("stream event")
def parse_futures_event(message: Mapping[str, Any], *, venue: str = VENUE,
                        account: str) -> list[VenueEvent]:
    """One USD-M user-data push as domain events (see the module docstring)."""
    top = _Item(message, "stream event")
    kind = top.text("e", max_len=100)
    top.what = kind
    if kind == "ORDER_TRADE_UPDATE":
        return _order_trade_update(top, venue=venue, account=account)
    if kind == "ALGO_UPDATE":
        return [OrderEvent(_algo_update(top, venue=venue, account=account))]
    if kind == "ACCOUNT_UPDATE":
        return _account_update(top, venue=venue, account=account)
    if kind in FUTURES_IGNORED:
        return []
    raise _fail(f"stream event.e: unknown event {_shown(kind)}")


def _order_trade_update(top: _Item, *, venue: str, account: str) -> list[VenueEvent]:
    item = _Item(top.get("o"), "ORDER_TRADE_UPDATE.o")
    order_id = item.integer("i")
    item.what = f"ORDER_TRADE_UPDATE order {order_id}"
    client_id = item.text("c", allow_empty=True, max_len=ID_MAX_LEN)
    wire_type = item.key("o", FUTURES_TYPE)
    order_type, conditional = FUTURES_TYPE[wire_type]
    if not conditional and item.has("ot") and item.raw["ot"] in FUTURES_TYPE:
        origin = str(item.raw["ot"])
        conditional, wire_type = FUTURES_TYPE[origin][1], origin
    side = item.enum("S", SIDE)
    symbol = item.text("s", max_len=SYMBOL_MAX_LEN)
    trigger, direction = _trigger(item, "sp", wire_type, conditional, side)
    at = item.ms("T")
    order = _build(
        item.what, Order, venue=venue, account=account, category=Category.LINEAR,
        symbol=symbol, side=side, type=order_type, qty=item.positive("q"),
        status=item.enum("X", FUTURES_STATUS), client_order_id=client_id,
        venue_order_id=str(order_id),
        price=item.positive("p") if order_type is OrderType.LIMIT else None,
        trigger_price=trigger, trigger_direction=direction,
        reduce_only=item.boolean("R"), time_in_force=item.enum("f", TIME_IN_FORCE),
        filled_qty=item.non_negative("z"), avg_price=item.zero_is_none("ap", optional=True),
        role=_role(client_id), updated_at=at)
    events: list[VenueEvent] = [OrderEvent(order)]
    execution = item.text("x", max_len=40)
    if execution in FILL_EXECUTIONS:
        trade_id = item.integer("t")
        events.append(FillEvent(_build(
            f"{item.what} trade {trade_id}", Fill, venue=venue, account=account,
            exec_id=exec_id(symbol, trade_id, side), symbol=symbol, side=side,
            price=item.non_negative("L"), qty=item.positive("l"), exec_time=at,
            category=Category.LINEAR, venue_order_id=str(order_id),
            client_order_id=client_id,
            fee=item.decimal("n") if item.has("n") else ZERO,
            fee_asset=item.text("N", allow_empty=True, optional=True, max_len=ASSET_MAX_LEN),
            is_maker=item.boolean("m"), exec_type=FILL_EXECUTIONS[execution])))
    return events


def _algo_update(top: _Item, *, venue: str, account: str) -> Order:
    item = _Item(top.get("o"), "ALGO_UPDATE.o")
    algo_id = item.integer("aid")
    item.what = f"ALGO_UPDATE algo order {algo_id}"
    client_id = item.text("caid", max_len=ID_MAX_LEN)
    wire_type = item.key("o", FUTURES_TYPE)
    order_type, conditional = FUTURES_TYPE[wire_type]
    side = item.enum("S", SIDE)
    qty = item.positive("q")
    wire_status = item.key("X", ALGO_STATUS)
    executed = (item.zero_is_none("aq") or ZERO) if item.has("aq") else ZERO
    status, executed = _algo_state(wire_status, qty, executed)
    actual = item.id_text("ai", allow_empty=True) if item.has("ai") else ""
    venue_id = actual if actual and wire_status in ALGO_TRIGGERED \
        else f"{ALGO_PREFIX}{algo_id}"
    trigger, direction = _trigger(item, "tp", wire_type, conditional, side)
    return _build(  # type: ignore[no-any-return]
        item.what, Order, venue=venue, account=account, category=Category.LINEAR,
        symbol=item.text("s", max_len=SYMBOL_MAX_LEN), side=side, type=order_type, qty=qty,
        status=status, client_order_id=client_id, venue_order_id=venue_id,
        price=item.positive("p") if order_type is OrderType.LIMIT else None,
        trigger_price=trigger, trigger_direction=direction, reduce_only=item.boolean("R"),
        time_in_force=item.enum("f", TIME_IN_FORCE), filled_qty=executed,
        avg_price=item.zero_is_none("ap", optional=True) if executed else None,
        role=_role(client_id), updated_at=top.ms("E"))


def _account_update(top: _Item, *, venue: str, account: str) -> list[VenueEvent]:
    data = _Item(top.get("a"), "ACCOUNT_UPDATE.a")
    at = top.ms("T")
    positions = data.get("P") if data.has("P") else []
    if not isinstance(positions, list):
        raise _fail(f"ACCOUNT_UPDATE.a.P: expected a list, got {type(positions).__name__}")
    events: list[VenueEvent] = []
    for index, raw in enumerate(positions):
        item = _Item(raw, f"ACCOUNT_UPDATE.a.P[{index}]")
        symbol = item.text("s", max_len=SYMBOL_MAX_LEN)
        item.what = f"ACCOUNT_UPDATE position {symbol}"
        events.append(PositionEvent(_build(
            item.what, Position, venue=venue, account=account, category=Category.LINEAR,
            symbol=symbol, size=item.decimal("pa"), entry_price=item.non_negative("ep"),
            position_side=item.enum("ps", POSITION_SIDE),
            unrealised_pnl=item.decimal("up") if item.has("up") else None,
            updated_at=at)))
    return events


@_typed("stream event")
def parse_spot_event(event: Mapping[str, Any], *, venue: str = VENUE,
                     account: str) -> list[VenueEvent]:
    """The inner `event` of one spot WebSocket-API user-data push as domain events."""
    top = _Item(event, "stream event")
    kind = top.text("e", max_len=100)
    top.what = kind
    if kind == "executionReport":
        return _execution_report(top, venue=venue, account=account)
    if kind == "outboundAccountPosition":
        stamp = top.ms("u") if top.has("u") else top.ms("E")
        balances = top.get("B")
        if not isinstance(balances, list):
            raise _fail(f"outboundAccountPosition.B: expected a list, got "
                        f"{type(balances).__name__}")
        return [BalanceEvent(_spot_balance(
            _Item(raw, f"outboundAccountPosition.B[{i}]"), account=account, venue=venue,
            updated_at=stamp, names=("a", "f", "l"))) for i, raw in enumerate(balances)]
    if kind in SPOT_IGNORED:
        return []
    raise _fail(f"stream event.e: unknown event {_shown(kind)}")


def _execution_report(item: _Item, *, venue: str, account: str) -> list[VenueEvent]:
    order_id = item.integer("i")
    item.what = f"executionReport order {order_id}"
    original = item.text("C", allow_empty=True, optional=True, max_len=ID_MAX_LEN)
    client_id = original or item.text("c", allow_empty=True, max_len=ID_MAX_LEN)
    wire_type = item.key("o", SPOT_TYPE)
    order_type, conditional = SPOT_TYPE[wire_type]
    side = item.enum("S", SIDE)
    symbol = item.text("s", max_len=SYMBOL_MAX_LEN)
    trigger, direction = _trigger(item, "P", wire_type, conditional, side)
    status = item.enum("X", SPOT_STATUS)
    if conditional and status is OrderStatus.NEW and item.has("w") and not item.boolean("w"):
        status = OrderStatus.UNTRIGGERED
    filled = item.non_negative("z")
    average: Decimal | None = None
    if filled > 0 and item.has("Z"):
        quote = item.decimal("Z")
        average = _AVERAGE.divide(quote, filled) if quote > 0 else None
    at = item.ms("T")
    order = _build(
        item.what, Order, venue=venue, account=account, category=Category.SPOT,
        symbol=symbol, side=side, type=order_type, qty=item.positive("q"), status=status,
        client_order_id=client_id, venue_order_id=str(order_id),
        price=item.positive("p") if order_type is OrderType.LIMIT else None,
        trigger_price=trigger, trigger_direction=direction,
        time_in_force=TimeInForce.POST_ONLY if wire_type == "LIMIT_MAKER"
        else item.enum("f", TIME_IN_FORCE),
        filled_qty=filled, avg_price=average, role=_role(client_id),
        created_at=item.ms("O") if item.has("O") else 0, updated_at=at)
    events: list[VenueEvent] = [OrderEvent(order)]
    if item.text("x", max_len=40) == "TRADE":
        trade_id = item.integer("t")
        events.append(FillEvent(_build(
            f"{item.what} trade {trade_id}", Fill, venue=venue, account=account,
            exec_id=exec_id(symbol, trade_id, side), symbol=symbol, side=side,
            price=item.non_negative("L"), qty=item.positive("l"), exec_time=at,
            category=Category.SPOT, venue_order_id=str(order_id), client_order_id=client_id,
            fee=item.decimal("n"),
            fee_asset=item.text("N", allow_empty=True, optional=True, max_len=ASSET_MAX_LEN),
            is_maker=item.boolean("m"))))
    return events


# -- requests ---------------------------------------------------------------------------


def dec_str(value: Decimal) -> str:
    """Plain notation ("0.00001", never "1E-5"), no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text


def _invalid(message: str) -> FatalVenueError:
    return FatalVenueError(f"{VENUE}: {message}", venue=VENUE, code="invalid_request")


def decimal_arg(raw: object, name: str) -> Decimal | None:
    """A caller's Decimal-or-text argument (None stays None), > 0."""
    try:
        value = to_decimal(raw, name, allow_empty=True)
    except DomainValueError as exc:
        raise _invalid(str(exc)) from None
    if value is not None and value <= 0:
        raise _invalid(f"{name} {value} must be greater than zero")
    return value


def _client_id(order: Order) -> str:
    if not order.client_order_id:
        raise _invalid(f"an order on {order.symbol} needs our client id: without one, an "
                       "unknown outcome could not be resolved")
    if not is_valid_client_id(order.client_order_id):
        raise _invalid(f"client order id {order.client_order_id!r} is not valid here "
                       "(1-36 of A-Z a-z 0-9 _ -)")
    return order.client_order_id


def futures_order_params(order: Order) -> dict[str, str]:
    """POST /fapi/v1/order for a plain (untriggered: no trigger price) LIMIT/MARKET order."""
    params = {"symbol": order.symbol, "side": SIDE_NAME[order.side],
              "quantity": dec_str(order.qty), "newClientOrderId": _client_id(order),
              "newOrderRespType": "RESULT"}
    if order.type is OrderType.LIMIT:
        assert order.price is not None  # the domain guarantees it
        params.update(type="LIMIT", price=dec_str(order.price),
                      timeInForce=FUTURES_TIF_NAME[order.time_in_force])
    elif order.time_in_force is TimeInForce.POST_ONLY:
        raise _invalid("a market order cannot be post-only")
    else:
        params["type"] = "MARKET"
    if order.reduce_only:
        params["reduceOnly"] = "true"
    return params


def algo_order_params(order: Order) -> dict[str, str]:
    """POST /fapi/v1/algoOrder (algoType CONDITIONAL) for an order with a trigger price:
    the type follows from side and trigger direction (see `ALGO_TYPE_NAME`)."""
    assert order.trigger_price is not None
    if order.trigger_direction is None:
        raise _invalid("a conditional order needs a trigger direction")
    params = {"algoType": "CONDITIONAL", "symbol": order.symbol,
              "side": SIDE_NAME[order.side],
              "type": ALGO_TYPE_NAME[(order.type, order.side, order.trigger_direction)],
              "quantity": dec_str(order.qty), "triggerPrice": dec_str(order.trigger_price),
              "clientAlgoId": _client_id(order)}
    if order.type is OrderType.LIMIT:
        assert order.price is not None
        params.update(price=dec_str(order.price),
                      timeInForce=FUTURES_TIF_NAME[order.time_in_force])
    elif order.time_in_force is TimeInForce.POST_ONLY:
        raise _invalid("a market order cannot be post-only")
    if order.reduce_only:
        params["reduceOnly"] = "true"
    return params


def spot_order_params(order: Order) -> dict[str, str]:
    """POST /api/v3/order: LIMIT (post-only: LIMIT_MAKER) or MARKET (quantity in the base
    asset). Conditional and reduce-only orders are refused (out of scope on spot)."""
    if order.trigger_price is not None:
        raise _invalid("conditional spot orders (STOP_LOSS/TAKE_PROFIT) are not supported "
                       "by this connector")
    if order.reduce_only:
        raise _invalid("reduce-only applies to futures, not spot")
    params = {"symbol": order.symbol, "side": SIDE_NAME[order.side],
              "quantity": dec_str(order.qty), "newClientOrderId": _client_id(order),
              "newOrderRespType": "RESULT"}
    params.update(_spot_terms(order, order.price))
    return params


def _spot_terms(order: Order, price: Decimal | None) -> dict[str, str]:
    if order.type is OrderType.MARKET:
        if order.time_in_force is TimeInForce.POST_ONLY:
            raise _invalid("a market order cannot be post-only")
        return {"type": "MARKET"}
    assert price is not None
    if order.time_in_force is TimeInForce.POST_ONLY:
        return {"type": "LIMIT_MAKER", "price": dec_str(price)}
    return {"type": "LIMIT", "price": dec_str(price),
            "timeInForce": SPOT_TIF_NAME[order.time_in_force]}


def is_order_id(venue_order_id: str) -> bool:
    """Whether a venue id can be a Binance order id (an integer; not an algo id)."""
    return bool(_DIGITS.fullmatch(venue_order_id))


def order_ref(order: Order, *, prefix: str = "") -> dict[str, str]:
    """symbol + the order's regular id (venue id preferred, else our client id): for
    GET/DELETE /fapi/v1/order and /api/v3/order (`prefix` "cancel" for cancelReplace)."""
    params = {"symbol": order.symbol}
    id_key, client_key = ("cancelOrderId", "cancelOrigClientOrderId") if prefix \
        else ("orderId", "origClientOrderId")
    if is_order_id(order.venue_order_id):
        params[id_key] = order.venue_order_id
    elif order.client_order_id:
        params[client_key] = order.client_order_id
    else:
        raise _invalid(f"order on {order.symbol} has neither a venue id nor a client id")
    return params


def algo_ref(order: Order) -> dict[str, str]:
    """algoId (from "algo:<id>") or clientAlgoId: for GET/DELETE /fapi/v1/algoOrder."""
    if order.venue_order_id.startswith(ALGO_PREFIX):
        return {"algoId": order.venue_order_id.removeprefix(ALGO_PREFIX)}
    if order.client_order_id:
        return {"clientAlgoId": order.client_order_id}
    raise _invalid(f"algo order on {order.symbol} has neither an algo id nor a client id")


def modify_params(order: Order, *, qty: Decimal | None,
                  price: Decimal | None) -> dict[str, str]:
    """PUT /fapi/v1/order: Binance wants quantity AND price (the unchanged one is the
    order's own); LIMIT orders only."""
    if order.type is not OrderType.LIMIT or order.price is None:
        raise _invalid("only LIMIT orders can be modified on Binance USD-M")
    if qty is None and price is None:
        raise _invalid("an amend needs a new qty or a new price")
    params = order_ref(order)
    params.update(side=SIDE_NAME[order.side], quantity=dec_str(qty or order.qty),
                  price=dec_str(price or order.price))
    return params


def cancel_replace_params(order: Order, *, qty: Decimal | None,
                          price: Decimal | None) -> dict[str, str]:
    """POST /api/v3/order/cancelReplace: cancel only if the order is still untouched
    (cancelRestrictions ONLY_NEW), place nothing if the cancel fails (STOP_ON_FAILURE),
    and place the new order under the same client id (free once the old one is
    cancelled; UNVERIFIED: Binance's wording on reusing an id is ambiguous)."""
    if order.type is not OrderType.LIMIT or order.price is None:
        raise _invalid("only LIMIT orders can be replaced in place on Binance spot")
    if qty is None and price is None:
        raise _invalid("an amend needs a new qty or a new price")
    params = order_ref(order, prefix="cancel")
    params.update(side=SIDE_NAME[order.side], cancelReplaceMode="STOP_ON_FAILURE",
                  cancelRestrictions="ONLY_NEW", quantity=dec_str(qty or order.qty),
                  newClientOrderId=_client_id(order), newOrderRespType="RESULT")
    params.update(_spot_terms(order, price or order.price))
    return params


def replace_params(order: Order, replacement: Order) -> dict[str, str]:
    """POST /api/v3/order/cancelReplace for the port's atomic replace: cancel `order`
    (by our client id, else its orderId) only while it is untouched (cancelRestrictions
    ONLY_NEW: a fill racing the request refuses it), place nothing if the cancel fails
    (STOP_ON_FAILURE), and place `replacement` under its own client id."""
    if (replacement.symbol, replacement.side) != (order.symbol, order.side):
        raise _invalid("a replacement keeps the order's symbol and side")
    if order.client_order_id:
        params = {"symbol": order.symbol, "cancelOrigClientOrderId": _client_id(order)}
    else:
        params = order_ref(order, prefix="cancel")
    params.update(spot_order_params(replacement))
    params.update(cancelReplaceMode="STOP_ON_FAILURE", cancelRestrictions="ONLY_NEW")
    return params


__all__ = [
    "ALGO_PREFIX", "ALGO_STATUS", "ALGO_TYPE_NAME", "FUTURES_STATUS", "FUTURES_TIF_NAME",
    "FUTURES_TYPE", "POSITION_SIDE", "SIDE", "SIDE_NAME", "SPOT_STATUS", "SPOT_TIF_NAME",
    "SPOT_TYPE", "TIME_IN_FORCE", "algo_actual_order", "algo_ids", "algo_order_params",
    "algo_ref", "as_list", "as_object", "cancel_replace_params", "dec_str", "decimal_arg",
    "exec_id", "futures_order_params", "is_close_all", "is_order_id", "modify_params",
    "order_ref",
    "parse_algo_order", "parse_countdown", "parse_futures_account", "parse_futures_event",
    "parse_futures_order", "parse_futures_trade", "parse_listen_key", "parse_multi_assets",
    "parse_orders", "parse_position", "parse_position_mode", "parse_server_time",
    "parse_spot_account", "parse_spot_event", "parse_spot_order", "parse_spot_trade",
    "replace_params", "spot_order_params", "trade_cursor",
]
