"""Bybit v5 JSON to domain objects and back, strictly.

Every enum goes through an explicit mapping, both ways (what we read and what we send:
a domain enum's own `.value` never reaches the wire, so renaming one cannot change a
request), and an unknown value is refused, naming the Bybit field and the value;
numbers are parsed from Bybit's strings as `Decimal`, never float. Where Bybit writes ""
or "0" for "none" (avgPrice before a fill, triggerPrice of a plain order, the price of a
market order) the domain gets None. Nothing is defaulted silently: a missing or
unreadable field raises `MalformedVenueDataError` naming the field and the value.

Strictness: numbers and timestamps go through `console.domain.values` (ASCII digits,
bounded magnitudes, epoch ms below the year 9999), text through `values.check_text` (no
lone surrogates or control characters, bounded length), integer codes through an ASCII
pattern. Nothing here calls int() or Decimal() on venue text. Every public parser is
wrapped by `_typed`, so even a failure the field checks did not foresee surfaces as
`MalformedVenueDataError`, never as a ValueError/TypeError that would end a stream task
or make a reconciliation report "ledger unavailable"; tests/fuzz holds them to that.

Semantics worth knowing:
* Status: Triggered is the instant a conditional order becomes live (NEW);
  PartiallyFilledCanceled and Deactivated are CANCELLED (the filled quantity is kept);
  Created (accepted, not yet in the matching engine) is PENDING_NEW.
* A market order's `price` is Bybit's slippage guard, not a limit: it becomes None.
* Positions: Bybit reports an unsigned size and a side; the domain size is signed.
* Balances (UNIFIED wallet): total = walletBalance; locked = locked (spot orders) +
  totalOrderIM + totalPositionIM (margin held by derivative orders and positions), which
  is what the sim and the reconciler call "locked"; free = availableToWithdraw when Bybit
  still fills it in, else walletBalance - locked. (Bybit stopped filling availableToWithdraw
  for UNIFIED accounts in 2025 and returns ""; the derivation is the same quantity
  without the unrealised-loss haircut.)
* Ownership is the ledger's business: parsed orders carry default ledger metadata, except
  the role, which our own client ids encode (console.domain.ids) and which helps a cold
  start tell entries from stops.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
from console.errors import FatalVenueError, MalformedVenueDataError
from console.venues._common.malformed import (
    Malformed,
    shown,
)
from console.venues.bybit.errors import VENUE

E = TypeVar("E", bound=Enum)

_MALFORMED: Final = Malformed(VENUE)
_fail = _MALFORMED.fail
_refused = _MALFORMED.refused
_build = _MALFORMED.build
_typed = _MALFORMED.typed
_shown = shown

ORDER_STATUS: Final[Mapping[str, OrderStatus]] = {
    "Created": OrderStatus.PENDING_NEW,
    "New": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Untriggered": OrderStatus.UNTRIGGERED,
    "Triggered": OrderStatus.NEW,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Deactivated": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
}
SIDE: Final[Mapping[str, Side]] = {"Buy": Side.BUY, "Sell": Side.SELL}
ORDER_TYPE: Final[Mapping[str, OrderType]] = {"Limit": OrderType.LIMIT,
                                              "Market": OrderType.MARKET}
TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = {
    "GTC": TimeInForce.GTC, "IOC": TimeInForce.IOC, "FOK": TimeInForce.FOK,
    "PostOnly": TimeInForce.POST_ONLY,
}
CATEGORY: Final[Mapping[str, Category]] = {
    "spot": Category.SPOT, "linear": Category.LINEAR, "inverse": Category.INVERSE,
    "option": Category.OPTION,
}
EXEC_TYPE: Final[Mapping[str, ExecType]] = {
    "Trade": ExecType.TRADE,
    "BlockTrade": ExecType.TRADE,
    "FutureSpread": ExecType.TRADE,
    "AdlTrade": ExecType.ADL,
    "Funding": ExecType.FUNDING,
    "BustTrade": ExecType.LIQUIDATION,
    "Delivery": ExecType.DELIVERY,
    "Settle": ExecType.DELIVERY,
}
TRIGGER_DIRECTION: Final[Mapping[int, TriggerDirection | None]] = {
    0: None, 1: TriggerDirection.RISE, 2: TriggerDirection.FALL}
TRIGGER_DIRECTION_CODE: Final[Mapping[TriggerDirection, int]] = {
    TriggerDirection.RISE: 1, TriggerDirection.FALL: 2}
POSITION_SIDE_FLAT: Final = frozenset({"", "None"})
# positionIdx: 0 one-way mode, 1 hedge-mode buy side, 2 hedge-mode sell side
POSITION_SIDE: Final[Mapping[int, PositionSide]] = {
    0: PositionSide.ONE_WAY, 1: PositionSide.LONG, 2: PositionSide.SHORT}
POSITION_IDX: Final[Mapping[PositionSide, int]] = {v: k for k, v in POSITION_SIDE.items()}

# what we send: the inverse of the one-to-one maps above (never an enum's own value)
CATEGORY_NAME: Final[Mapping[Category, str]] = {v: k for k, v in CATEGORY.items()}
SIDE_NAME: Final[Mapping[Side, str]] = {v: k for k, v in SIDE.items()}
ORDER_TYPE_NAME: Final[Mapping[OrderType, str]] = {v: k for k, v in ORDER_TYPE.items()}
TIME_IN_FORCE_NAME: Final[Mapping[TimeInForce, str]] = {
    v: k for k, v in TIME_IN_FORCE.items()}

PRIVATE_TOPICS: Final = ("order", "execution", "position", "wallet")

# Disconnection protection (DCP, Bybit's dead-man's switch): the product whose window
# /v5/order/disconnected-cancel-all sets, and the private topic whose subscribers guard it
DCP_PRODUCT: Final[Mapping[Category, str]] = {
    Category.LINEAR: "DERIVATIVES", Category.INVERSE: "DERIVATIVES",
    Category.SPOT: "SPOT", Category.OPTION: "OPTIONS"}
DCP_TOPIC: Final[Mapping[Category, str]] = {
    Category.LINEAR: "dcp.future", Category.INVERSE: "dcp.future",
    Category.SPOT: "dcp.spot", Category.OPTION: "dcp.option"}

ID_MAX_LEN: Final = 128
"""orderId, orderLinkId, execId: Bybit's are at most 36 characters; the ledger keeps 200
(an ident is "venue:" + the venue id)."""
SYMBOL_MAX_LEN: Final = 64
"""Bybit symbols are short (BTCUSDT, BTC-27DEC24-80000-C); the ledger column holds 100."""
COIN_MAX_LEN: Final = 32
"""Coin names (USDT, 1000PEPE); the ledger's asset and fee-asset columns hold 40."""
TEXT_MAX_LEN: Final = 1000
"""Anything else we read as text (a cursor, a topic)."""

_SMALL_INT: Final = re.compile(r"-?[0-9]{1,9}")
"""The integers Bybit sends as codes (positionIdx, triggerDirection): ASCII digits only.
Python's int() also reads "١" or " 1_0 "; those are not Bybit's."""
_NANOS: Final = re.compile(r"[0-9]{1,25}")


_EXACT: Final = Context(prec=120)
"""Sums and differences of bounded venue numbers (values.MAX_MAGNITUDE_EXP,
MIN_MAGNITUDE_EXP), computed without rounding: the default context keeps 28 digits and
would round a 50-digit balance silently."""


class _Item:
    """One Bybit JSON object being read; errors name `what.field` and the value."""

    __slots__ = ("raw", "what")

    def __init__(self, raw: object, what: str) -> None:
        if not isinstance(raw, Mapping):
            raise _fail(f"{what}: expected an object, got {type(raw).__name__}")
        self.raw: Mapping[str, Any] = raw
        self.what = what

    def label(self, name: str) -> str:
        return f"{self.what}.{name}"

    def get(self, name: str) -> Any:
        if name not in self.raw:
            raise _fail(f"{self.label(name)}: missing")
        return self.raw[name]

    def text(self, name: str, *, allow_empty: bool = False, optional: bool = False,
             max_len: int = TEXT_MAX_LEN) -> str:
        """Valid Unicode without control characters (`values.check_text`), bounded."""
        if optional and name not in self.raw:
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

    def optional_decimal(self, name: str, *, zero_is_none: bool = False,
                         missing_ok: bool = False, signed: bool = False) -> Decimal | None:
        """"" (and "0" when `zero_is_none`) mean absent; anything else must be a number."""
        if missing_ok and name not in self.raw:
            return None
        value = self.get(name)
        if value is None:
            raise _fail(f"{self.label(name)}: missing (null)")
        try:
            out = to_decimal(value, self.label(name), allow_empty=True)
        except DomainValueError as exc:
            raise _refused(exc) from None
        if out is None or (zero_is_none and out == 0):
            return None
        if not signed and out < 0:
            raise _fail(f"{self.label(name)}: {_shown(value)} is negative")
        return out

    def ms(self, name: str, *, empty_is_zero: bool = False) -> int:
        value = self.get(name)
        if empty_is_zero and value == "":
            return 0
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

    def boolean(self, name: str) -> bool:
        value = self.get(name)
        if not isinstance(value, bool):
            raise _fail(f"{self.label(name)}: {_shown(value)} is not true or false")
        return value

    def code(self, name: str, known: Mapping[int, Any]) -> int:
        """A small integer code (int, or ASCII digits with an optional "-") that must be
        one of `known`."""
        value = self.get(name)
        code: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            code = value
        elif isinstance(value, str) and _SMALL_INT.fullmatch(value):
            code = int(value)
        if code is None or code not in known:
            choices = ", ".join(str(k) for k in sorted(known))
            raise _fail(f"{self.label(name)}: unknown value {_shown(value)} "
                        f"(known: {choices})")
        return code

    def category(self, fallback: Category | None) -> Category:
        if "category" in self.raw:
            return self.enum("category", CATEGORY)
        if fallback is None:
            raise _fail(f"{self.label('category')}: missing")
        return fallback


def _epoch(value: object, what: str) -> int:
    try:
        return to_epoch_ms(value, what)
    except DomainValueError as exc:
        raise _refused(exc) from None


# -- responses --------------------------------------------------------------------------


@_typed("response")
def parse_result(payload: object, what: str) -> Mapping[str, Any]:
    """The `result` object of a successful envelope (retCode 0 is checked by the caller)."""
    envelope = _Item(payload, f"{what} response")
    code = envelope.get("retCode")
    if type(code) is not int or code != 0:
        raise _fail(f"{what} response.retCode: {_shown(code)} is not 0")
    result = envelope.get("result")
    if not isinstance(result, Mapping):
        raise _fail(f"{what} response.result: expected an object, got {type(result).__name__}")
    return result


@_typed("response envelope")
def envelope_time(payload: object) -> int:
    """The envelope's `time` (venue ms), 0 when absent: used to stamp balances. A `time`
    that is there but unreadable is refused like any other field."""
    if isinstance(payload, Mapping) and "time" in payload:
        return _epoch(payload["time"], "response.time")
    return 0


@_typed("server time")
def parse_server_time(result: Mapping[str, Any], payload: object) -> int | None:
    """Venue ms from a /v5/market/time result: timeNano, else timeSecond, else the
    envelope's time; None when none is there."""
    item = _Item(result, "market/time")
    if "timeNano" in result:
        nano = item.text("timeNano", max_len=30)
        if not _NANOS.fullmatch(nano):
            raise _fail(f"market/time.timeNano: {_shown(nano)} is not a number of "
                        "nanoseconds")
        return _epoch(nano[:-6] or "0", "market/time.timeNano")
    if "timeSecond" in result:
        seconds = _epoch(item.get("timeSecond"), "market/time.timeSecond")
        return _epoch(seconds * 1000, "market/time.timeSecond")
    return envelope_time(payload) or None


@_typed("listing page")
def parse_page(result: Mapping[str, Any], what: str) -> tuple[list[Any], str]:
    """A listing page: its items and the next cursor ("" on the last page)."""
    page = _Item(result, what)
    items = page.get("list")
    if not isinstance(items, list):
        raise _fail(f"{what}.list: expected a list, got {type(items).__name__}")
    cursor = page.text("nextPageCursor", allow_empty=True, optional=True)
    return items, cursor


@_typed("listing page")
def result_category(result: Mapping[str, Any], what: str) -> Category | None:
    """The `category` a listing result declares (None when it declares none)."""
    item = _Item(result, what)
    if "category" not in result or result["category"] == "":
        return None
    return item.enum("category", CATEGORY)


# -- orders -----------------------------------------------------------------------------


@_typed("order")
def parse_order(raw: object, *, account: str, category: Category | None = None,
                venue: str = VENUE) -> Order:
    item = _Item(raw, "order")
    order_id = item.text("orderId", max_len=ID_MAX_LEN)
    item.what = f"order {order_id}"
    link_id = item.text("orderLinkId", allow_empty=True, max_len=ID_MAX_LEN)
    order_type = item.enum("orderType", ORDER_TYPE)
    qty = item.positive("qty")
    price: Decimal | None = None
    if order_type is OrderType.LIMIT:
        price = item.positive("price")
    trigger_price = item.optional_decimal("triggerPrice", zero_is_none=True, missing_ok=True)
    direction: TriggerDirection | None = None
    if trigger_price is not None and "triggerDirection" in item.raw:
        direction = TRIGGER_DIRECTION[item.code("triggerDirection", TRIGGER_DIRECTION)]
    parsed_id = parse_client_id(link_id) if link_id else None
    return _build(  # type: ignore[no-any-return]
        item.what, Order,
        venue=venue, account=account, category=item.category(category),
        symbol=item.text("symbol", max_len=SYMBOL_MAX_LEN), side=item.enum("side", SIDE),
        type=order_type, qty=qty, status=item.enum("orderStatus", ORDER_STATUS),
        client_order_id=link_id, venue_order_id=order_id, price=price,
        trigger_price=trigger_price, trigger_direction=direction,
        reduce_only=item.boolean("reduceOnly"),
        time_in_force=item.enum("timeInForce", TIME_IN_FORCE),
        filled_qty=item.non_negative("cumExecQty"),
        avg_price=item.optional_decimal("avgPrice", zero_is_none=True),
        role=parsed_id.role if parsed_id else OrderRole.OTHER,
        created_at=item.ms("createdTime"), updated_at=item.ms("updatedTime"))


def parse_orders(items: Sequence[object], *, account: str, category: Category | None,
                 venue: str = VENUE) -> list[Order]:
    return [parse_order(raw, account=account, category=category, venue=venue)
            for raw in items]


# -- fills ------------------------------------------------------------------------------


@_typed("execution")
def parse_fill(raw: object, *, account: str, category: Category | None = None,
               venue: str = VENUE) -> Fill:
    item = _Item(raw, "execution")
    exec_id = item.text("execId", max_len=ID_MAX_LEN)
    item.what = f"execution {exec_id}"
    exec_type = item.enum("execType", EXEC_TYPE)
    qty = item.positive("execQty") if exec_type is ExecType.TRADE \
        else item.non_negative("execQty")
    return _build(  # type: ignore[no-any-return]
        item.what, Fill,
        venue=venue, account=account, exec_id=exec_id,
        symbol=item.text("symbol", max_len=SYMBOL_MAX_LEN),
        side=item.enum("side", SIDE), price=item.non_negative("execPrice"), qty=qty,
        exec_time=item.ms("execTime"), category=item.category(category),
        venue_order_id=item.text("orderId", allow_empty=True, max_len=ID_MAX_LEN),
        client_order_id=item.text("orderLinkId", allow_empty=True, max_len=ID_MAX_LEN),
        fee=item.decimal("execFee"),
        fee_asset=item.text("feeCurrency", allow_empty=True, optional=True,
                            max_len=COIN_MAX_LEN),
        is_maker=item.boolean("isMaker"), exec_type=exec_type)


# -- positions --------------------------------------------------------------------------


@_typed("position")
def parse_position(raw: object, *, account: str, category: Category | None = None,
                   venue: str = VENUE) -> Position:
    """REST (avgPrice) and stream (entryPrice) shapes; the size comes back signed."""
    item = _Item(raw, "position")
    symbol = item.text("symbol", max_len=SYMBOL_MAX_LEN)
    item.what = f"position {symbol}"
    size = item.non_negative("size")
    side_raw = item.get("side")
    if isinstance(side_raw, str) and side_raw in POSITION_SIDE_FLAT:
        if size != 0:
            raise _fail(f"{item.label('side')}: {side_raw!r} with a size of {size}")
        signed = ZERO
    else:
        # copy_negate is exact; `size * -1` would round to the context's 28 digits
        signed = size if item.enum("side", SIDE) is Side.BUY else size.copy_negate()
    price_field = "avgPrice" if "avgPrice" in item.raw else "entryPrice"
    entry = item.optional_decimal(price_field)
    if entry is None:
        if size != 0:
            raise _fail(f"{item.label(price_field)}: missing for an open position")
        entry = ZERO
    idx = POSITION_SIDE[item.code("positionIdx", POSITION_SIDE)]
    return _build(  # type: ignore[no-any-return]
        item.what, Position,
        venue=venue, account=account, category=item.category(category), symbol=symbol,
        size=signed, entry_price=entry, position_side=idx,
        mark_price=item.optional_decimal("markPrice", missing_ok=True),
        unrealised_pnl=item.optional_decimal("unrealisedPnl", missing_ok=True, signed=True),
        updated_at=item.ms("updatedTime", empty_is_zero=True))


# -- balances ---------------------------------------------------------------------------


@_typed("coin")
def parse_coin(raw: object, *, account: str, updated_at: int = 0,
               venue: str = VENUE) -> Balance:
    item = _Item(raw, "coin")
    asset = item.text("coin", max_len=COIN_MAX_LEN)
    item.what = f"coin {asset}"
    total = item.decimal("walletBalance")
    held = ZERO
    for name in ("locked", "totalOrderIM", "totalPositionIM"):
        value = item.optional_decimal(name, missing_ok=True)
        held = _EXACT.add(held, value or ZERO)
    available = item.optional_decimal("availableToWithdraw", missing_ok=True, signed=True)
    free = _EXACT.subtract(total, held) if available is None else available
    return _build(  # type: ignore[no-any-return]
        item.what, Balance, venue=venue, account=account, asset=asset, total=total,
        free=free, locked=held, updated_at=updated_at)


@_typed("wallet")
def parse_wallet(result: Mapping[str, Any], *, account: str, updated_at: int = 0,
                 venue: str = VENUE) -> list[Balance]:
    """Every coin of every wallet in a wallet-balance result (UNIFIED: one wallet)."""
    wallets, _ = parse_page(result, "wallet-balance")
    out: list[Balance] = []
    for index, wallet in enumerate(wallets):
        out.extend(_wallet_coins(wallet, f"wallet[{index}]", account=account,
                                 updated_at=updated_at, venue=venue))
    return out


def _wallet_coins(wallet: object, what: str, *, account: str, updated_at: int,
                  venue: str) -> list[Balance]:
    coins = _Item(wallet, what).get("coin")
    if not isinstance(coins, list):
        raise _fail(f"{what}.coin: expected a list, got {type(coins).__name__}")
    return [parse_coin(coin, account=account, updated_at=updated_at, venue=venue)
            for coin in coins]


# -- private stream ---------------------------------------------------------------------


@_typed("stream message")
def parse_stream_message(message: object, *, account: str, received_at: int,
                         venue: str = VENUE) -> tuple[list[VenueEvent], list[str]]:
    """A private-topic push as domain events, plus one problem text per item that could
    not be parsed (the caller logs and counts them: one bad item never hides the rest).
    Raises `MalformedVenueDataError` when the envelope itself is unreadable."""
    msg = _Item(message, "stream message")
    topic = msg.text("topic", max_len=100)
    data = msg.get("data")
    if not isinstance(data, list):
        raise _fail(f"stream message.data: expected a list, got {type(data).__name__}")
    stamp = envelope_creation_time(message) or received_at
    if topic not in PRIVATE_TOPICS:
        return [], [f"{VENUE}: stream topic {topic!r} is not one we subscribe to"]
    events: list[VenueEvent] = []
    problems: list[str] = []
    for index, raw in enumerate(data):
        try:
            events.extend(_stream_item(topic, raw, f"{topic}[{index}]", account=account,
                                       received_at=received_at, stamp=stamp, venue=venue))
        except MalformedVenueDataError as exc:
            problems.append(str(exc))
    return events, problems


@_typed("stream item")
def _stream_item(topic: str, raw: object, what: str, *, account: str, received_at: int,
                 stamp: int, venue: str) -> list[VenueEvent]:
    if topic == "order":
        return [OrderEvent(parse_order(raw, account=account, venue=venue), received_at)]
    if topic == "execution":
        return [FillEvent(parse_fill(raw, account=account, venue=venue), received_at)]
    if topic == "position":
        return [PositionEvent(parse_position(raw, account=account, venue=venue),
                              received_at)]
    return [BalanceEvent(balance, received_at)
            for balance in _wallet_coins(raw, what, account=account, updated_at=stamp,
                                         venue=venue)]


@_typed("stream message")
def envelope_creation_time(message: object) -> int:
    """A push's creationTime (venue ms), 0 when absent; refused when unreadable."""
    if isinstance(message, Mapping) and "creationTime" in message:
        return _epoch(message["creationTime"], "stream message.creationTime")
    return 0


# -- requests ---------------------------------------------------------------------------


def dec_str(value: Decimal) -> str:
    """Plain notation ("0.00001", never "1E-5"): Bybit refuses exponents."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".") or "0"
    return text


def _invalid(message: str) -> FatalVenueError:
    return FatalVenueError(f"{VENUE}: {message}", venue=VENUE, code="invalid_request")


def ref_params(order: Order) -> dict[str, Any]:
    """category + symbol + the order's id (venue id preferred, else our client id)."""
    params: dict[str, Any] = {"category": CATEGORY_NAME[order.category],
                              "symbol": order.symbol}
    if order.venue_order_id:
        params["orderId"] = order.venue_order_id
    elif order.client_order_id:
        params["orderLinkId"] = order.client_order_id
    else:
        raise _invalid(f"order on {order.symbol} has neither a venue id nor a client id")
    return params


def create_params(order: Order, *, position_idx: int = 0) -> dict[str, Any]:
    """/v5/order/create parameters for `order` (all numbers as strings)."""
    if order.client_order_id and not is_valid_client_id(order.client_order_id):
        raise _invalid(f"client order id {order.client_order_id!r} is not a valid "
                       "orderLinkId (1-36 of A-Z a-z 0-9 _ -)")
    if order.category is Category.OPTION:
        raise _invalid("options are not supported by this adapter")
    params: dict[str, Any] = {
        "category": CATEGORY_NAME[order.category], "symbol": order.symbol,
        "side": SIDE_NAME[order.side], "orderType": ORDER_TYPE_NAME[order.type],
        "qty": dec_str(order.qty),
    }
    if order.client_order_id:
        params["orderLinkId"] = order.client_order_id
    if order.type is OrderType.LIMIT:
        assert order.price is not None  # the domain guarantees it
        params["price"] = dec_str(order.price)
        params["timeInForce"] = TIME_IN_FORCE_NAME[order.time_in_force]
    elif order.time_in_force is TimeInForce.POST_ONLY:
        raise _invalid("a market order cannot be post-only")
    elif order.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        params["timeInForce"] = TIME_IN_FORCE_NAME[order.time_in_force]
    if order.trigger_price is not None:
        params["triggerPrice"] = dec_str(order.trigger_price)
        if order.trigger_direction is not None:
            params["triggerDirection"] = TRIGGER_DIRECTION_CODE[order.trigger_direction]
        elif order.category is not Category.SPOT:
            raise _invalid("a derivative conditional order needs a trigger direction")
        if order.category is Category.SPOT:
            params["orderFilter"] = "StopOrder"
    if order.category is Category.SPOT:
        if order.reduce_only:
            raise _invalid("reduce-only applies to derivatives, not spot")
        if order.type is OrderType.MARKET:
            params["marketUnit"] = "baseCoin"  # our qty is in the base coin, always
    else:
        params["positionIdx"] = position_idx
        if order.reduce_only:
            params["reduceOnly"] = True
    return params


def amend_params(order: Order, *, qty: object = None, price: object = None) -> dict[str, Any]:
    """/v5/order/amend parameters; `qty`/`price` as Decimal or text, None = unchanged."""
    try:
        new_qty = to_decimal(qty, "qty", allow_empty=True)
        new_price = to_decimal(price, "price", allow_empty=True)
    except DomainValueError as exc:
        raise _invalid(str(exc)) from None
    if new_qty is None and new_price is None:
        raise _invalid("an amend needs a new qty or a new price")
    if new_qty is not None and new_qty <= 0:
        raise _invalid(f"qty {new_qty} must be greater than zero")
    if new_price is not None and new_price <= 0:
        raise _invalid(f"price {new_price} must be greater than zero")
    params = ref_params(order)
    if new_qty is not None:
        params["qty"] = dec_str(new_qty)
    if new_price is not None:
        params["price"] = dec_str(new_price)
    return params


def decimal_arg(raw: object, name: str) -> Decimal | None:
    """A caller's Decimal-or-text argument (None stays None)."""
    try:
        return to_decimal(raw, name, allow_empty=True)
    except DomainValueError as exc:
        raise _invalid(str(exc)) from None


@_typed("order ids")
def order_ids(result: Mapping[str, Any], what: str) -> tuple[str, str]:
    """(orderId, orderLinkId) of a create/amend/cancel answer."""
    item = _Item(result, what)
    return (item.text("orderId", max_len=ID_MAX_LEN),
            item.text("orderLinkId", allow_empty=True, optional=True, max_len=ID_MAX_LEN))


__all__ = [
    "CATEGORY", "CATEGORY_NAME", "DCP_PRODUCT", "DCP_TOPIC",
    "EXEC_TYPE", "ORDER_STATUS", "ORDER_TYPE", "ORDER_TYPE_NAME",
    "PRIVATE_TOPICS", "SIDE", "SIDE_NAME", "TIME_IN_FORCE", "TIME_IN_FORCE_NAME",
    "amend_params", "create_params", "dec_str", "decimal_arg", "envelope_creation_time",
    "envelope_time", "order_ids", "parse_coin", "parse_fill", "parse_order", "parse_orders",
    "parse_page", "parse_position", "parse_result", "parse_server_time",
    "parse_stream_message", "parse_wallet",
    "ref_params", "result_category",
]
