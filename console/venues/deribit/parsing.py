"""Deribit JSON-RPC payloads to domain objects and back, strictly.

Every enum goes through an explicit map, both ways (a domain enum's `.value` never
reaches the wire), and an unknown value is refused naming the Deribit field and the
value. Deribit sends money as JSON numbers: answers are decoded with numbers read as
`Decimal` (`errors.decode_body`), so a float never appears; ids are strings, times
integer milliseconds. Every failure is a `MalformedVenueDataError` naming the field;
`_typed` turns even a failure the field checks did not foresee into one.

Semantics worth knowing:
* Quantities are Deribit's `amount`: USD for the inverse perpetuals and futures
  (BTC-PERPETUAL, ETH-PERPETUAL: `Category.INVERSE`, as the sim core counts inverse
  contracts), the base coin for the linear USDC-settled ones (BTC_USDC-PERPETUAL:
  `Category.LINEAR`). The category follows from the instrument's name.
* Labels carry our client ids (Deribit has no client order id; labels are not unique and
  at most 64 characters): the wire label is our client id, or `<domain label>~<client
  id>` when the order has a domain label (a bracket's `strategy_..._entry`). Reading
  splits at the LAST "~"; a label without one is ours when it has our client-id shape
  (`console.domain.ids.parse_client_id`), else a foreign order's label (client id "").
  A wire label that would pass 64 characters is refused at place time, never truncated.
* States: open is NEW (PARTIALLY_FILLED once something filled), untriggered is
  UNTRIGGERED, filled/cancelled/rejected are terminal. A trigger order in state
  `triggered` is done as a trigger: the order it created (same label, its own id, its
  `trigger_order_id` naming the trigger) carries on. Read alone it is NEW (live through
  its child); the client follows the link, and the stream drops such updates (the
  child's own update follows).
* Types: limit/market; stop_* fire on a move against the order's side (a buy stop on a
  rise), take_* on a move in its favour; trailing_stop is a MARKET order with a trigger.
  `price` is "market_price" for an open trigger market order: a market order has no
  price in the domain. good_til_day is read as GTC (the domain has no expiry);
  post_only (good_til_cancelled) is POST_ONLY.
* Fills: `trade_id` (unique per currency: a profile is one currency) is the exec id;
  the maker flag is `liquidity` "M"; a trade whose `liquidation` names our side is a
  LIQUIDATION execution.
* Positions: `size` is signed (negative short) and must agree with `direction`.
* Balances (get_account_summary, user.portfolio): total = `balance` (the wallet, without
  floating PnL); free = `available_funds` - (`equity` - `balance`), i.e. what is not
  held without the unrealised PnL Deribit adds to available funds; locked = total - free
  (the initial margin of positions and orders). A negative lock is refused (UNVERIFIED
  for portfolio margin, where `available_funds` follows other rules).
"""

from __future__ import annotations

import json
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
from console.domain.ids import MAX_LABEL, is_valid_client_id, parse_client_id
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO, DomainValueError, check_text, to_decimal, to_epoch_ms
from console.errors import FatalVenueError
from console.venues._common.malformed import (
    Malformed,
    shown,
)
from console.venues.deribit.errors import VENUE

E = TypeVar("E", bound=Enum)

_MALFORMED: Final = Malformed(VENUE)
_fail = _MALFORMED.fail
_refused = _MALFORMED.refused
_build = _MALFORMED.build
_typed = _MALFORMED.typed
_shown = shown

# -- wire maps --------------------------------------------------------------------------

DIRECTION: Final[Mapping[str, Side]] = {"buy": Side.BUY, "sell": Side.SELL}
DIRECTION_NAME: Final[Mapping[Side, str]] = {v: k for k, v in DIRECTION.items()}
BUY_METHOD: Final[Mapping[Side, str]] = {Side.BUY: "private/buy", Side.SELL: "private/sell"}

ORDER_STATE: Final[Mapping[str, OrderStatus]] = {
    "open": OrderStatus.NEW,           # PARTIALLY_FILLED once filled_amount > 0
    "filled": OrderStatus.FILLED,
    "rejected": OrderStatus.REJECTED,
    "cancelled": OrderStatus.CANCELLED,
    "untriggered": OrderStatus.UNTRIGGERED,
    "triggered": OrderStatus.NEW,      # live through the order it created (see above)
}
TRIGGERED: Final = "triggered"


class Fires:
    """When a trigger order fires, relative to its side (see `_direction`)."""

    STOP = "stop"
    TAKE = "take"


ORDER_TYPE: Final[Mapping[str, tuple[OrderType, str | None]]] = {
    "limit": (OrderType.LIMIT, None),
    "market": (OrderType.MARKET, None),
    "market_limit": (OrderType.MARKET, None),
    "stop_limit": (OrderType.LIMIT, Fires.STOP),
    "stop_market": (OrderType.MARKET, Fires.STOP),
    "take_limit": (OrderType.LIMIT, Fires.TAKE),
    "take_market": (OrderType.MARKET, Fires.TAKE),
    "trailing_stop": (OrderType.MARKET, Fires.STOP),
}
# (domain type, fires) -> the type we send
ORDER_TYPE_NAME: Final[Mapping[tuple[OrderType, str | None], str]] = {
    (OrderType.LIMIT, None): "limit",
    (OrderType.MARKET, None): "market",
    (OrderType.LIMIT, Fires.STOP): "stop_limit",
    (OrderType.MARKET, Fires.STOP): "stop_market",
    (OrderType.LIMIT, Fires.TAKE): "take_limit",
    (OrderType.MARKET, Fires.TAKE): "take_market",
}
TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = {
    "good_til_cancelled": TimeInForce.GTC,
    "good_til_day": TimeInForce.GTC,
    "fill_or_kill": TimeInForce.FOK,
    "immediate_or_cancel": TimeInForce.IOC,
}
TIME_IN_FORCE_NAME: Final[Mapping[TimeInForce, str]] = {
    TimeInForce.GTC: "good_til_cancelled", TimeInForce.IOC: "immediate_or_cancel",
    TimeInForce.FOK: "fill_or_kill", TimeInForce.POST_ONLY: "good_til_cancelled"}
"""POST_ONLY is good_til_cancelled with post_only and reject_post_only (never a silent
re-price: Deribit's default moves a crossing post-only order instead of refusing it)."""
CANCEL_REASON: Final = frozenset({
    "user_request", "autoliquidation", "cancel_on_disconnect", "risk_mitigation",
    "pme_risk_reduction", "pme_account_locked", "position_locked", "mmp_trigger",
    "mmp_config_curtailment", "edit_post_only_reject", "oco_other_closed",
    "oto_primary_closed", "settlement"})
"""Deribit's cancel reasons (the domain keeps none; an unknown one is refused, so that a
new meaning is noticed rather than guessed)."""
LIQUIDITY: Final[Mapping[str, bool]] = {"M": True, "T": False}
"""liquidity -> is_maker."""
POSITION_DIRECTION: Final = frozenset({"buy", "sell", "zero"})
TRIGGER: Final = "mark_price"
"""The trigger we send: the mark price (the domain's trigger price is a mark price)."""
TRIGGERS: Final = frozenset({"index_price", "mark_price", "last_price"})
LINEAR_MARKERS: Final = ("_USDC-", "_USDT-")
"""Instrument names of linear (stablecoin-settled) instruments: BTC_USDC-PERPETUAL."""
LABEL_SEPARATOR: Final = "~"

ID_MAX_LEN: Final = 64
SYMBOL_MAX_LEN: Final = 64
ASSET_MAX_LEN: Final = 16
_EXACT: Final = Context(prec=120)


class _Item:
    """One Deribit JSON object being read; errors name `what.field` and the value."""

    __slots__ = ("raw", "what")

    def __init__(self, raw: object, what: str) -> None:
        if not isinstance(raw, Mapping):
            raise _fail(f"{what}: expected an object, got {type(raw).__name__}")
        self.raw: Mapping[str, Any] = raw
        self.what = what

    def label(self, name: str) -> str:
        return f"{self.what}.{name}"

    def has(self, name: str) -> bool:
        return self.raw.get(name) is not None

    def get(self, name: str) -> Any:
        if name not in self.raw:
            raise _fail(f"{self.label(name)}: missing")
        return self.raw[name]

    def text(self, name: str, *, allow_empty: bool = False, optional: bool = False,
             max_len: int = 200) -> str:
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
            raise _fail(str(exc)) from None

    def decimal(self, name: str) -> Decimal:
        """A JSON number (decoded as Decimal or int): Deribit never quotes its numbers,
        so text here is a wrong type, not a number to guess at."""
        value = self.get(name)
        if isinstance(value, str):
            raise _fail(f"{self.label(name)}: {_shown(value)} is text, not a JSON number")
        try:
            out = to_decimal(value, self.label(name))
        except DomainValueError as exc:
            raise _fail(str(exc)) from None
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

    def zero_is_none(self, name: str) -> Decimal | None:
        """An optional non-negative number where 0 (or absence) means "none"."""
        if not self.has(name):
            return None
        out = self.non_negative(name)
        return out or None

    def ms(self, name: str) -> int:
        value = self.get(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise _fail(f"{self.label(name)}: {_shown(value)} is not an epoch-millisecond "
                        "timestamp")
        try:
            return to_epoch_ms(value, self.label(name))
        except DomainValueError as exc:
            raise _fail(str(exc)) from None

    def enum(self, name: str, mapping: Mapping[str, E]) -> E:
        return mapping[self.key(name, mapping)]

    def key(self, name: str, known: Mapping[str, Any] | frozenset[str]) -> str:
        value = self.get(name)
        if not isinstance(value, str) or value not in known:
            names = ", ".join(sorted(known))
            raise _fail(f"{self.label(name)}: unknown value {_shown(value)} (known: {names})")
        return value

    def boolean(self, name: str, *, optional: bool = False) -> bool:
        if optional and not self.has(name):
            return False
        value = self.get(name)
        if not isinstance(value, bool):
            raise _fail(f"{self.label(name)}: {_shown(value)} is not true or false")
        return value

    def items(self, name: str, *, optional: bool = False) -> list[Any]:
        if optional and not self.has(name):
            return []
        value = self.get(name)
        if not isinstance(value, list):
            raise _fail(f"{self.label(name)}: expected a list, got {type(value).__name__}")
        return value


# -- labels -----------------------------------------------------------------------------


def wire_label(order: Order) -> str:
    """The label sent with `order` (see the module docstring); refused (FatalVenueError
    "label_too_long") when it would pass Deribit's 64 characters."""
    client_id = order.client_order_id
    if not client_id:
        raise _invalid(f"an order on {order.symbol} needs our client id: without one, an "
                       "unknown outcome could not be resolved")
    if not is_valid_client_id(client_id):
        raise _invalid(f"client order id {client_id!r} is not valid here "
                       "(1-36 of A-Z a-z 0-9 _ -)")
    label = f"{order.label}{LABEL_SEPARATOR}{client_id}" if order.label else client_id
    if len(label) > MAX_LABEL:
        raise FatalVenueError(
            f"{VENUE}: the label {label!r} ({len(label)} characters) exceeds Deribit's "
            f"{MAX_LABEL}; shorten the strategy id (a label is never truncated: it carries "
            "the client id)", venue=VENUE, code="label_too_long")
    return label


def split_label(label: str) -> tuple[str, str]:
    """(client id, domain label) of a wire label (see the module docstring)."""
    if LABEL_SEPARATOR in label:
        before, after = label.rsplit(LABEL_SEPARATOR, 1)
        if is_valid_client_id(after):
            return after, before
        return "", label
    if parse_client_id(label) is not None:
        return label, ""
    return "", label


def _role(client_id: str) -> OrderRole:
    parsed = parse_client_id(client_id) if client_id else None
    return parsed.role if parsed else OrderRole.OTHER


def category_of(instrument: str) -> Category:
    """LINEAR for the stablecoin-settled instruments, INVERSE for the coin-settled ones."""
    return Category.LINEAR if any(m in instrument for m in LINEAR_MARKERS) \
        else Category.INVERSE


def _direction(fires: str, side: Side) -> TriggerDirection:
    """A stop buys on a rise and sells on a fall; a take-profit the other way round."""
    rises = (side is Side.BUY) == (fires == Fires.STOP)
    return TriggerDirection.RISE if rises else TriggerDirection.FALL


def _fires(order: Order) -> str:
    assert order.trigger_direction is not None
    stop = (order.side is Side.BUY) == (order.trigger_direction is TriggerDirection.RISE)
    return Fires.STOP if stop else Fires.TAKE


# -- generic answers --------------------------------------------------------------------


@_typed("answer")
def as_object(payload: object, what: str) -> Mapping[str, Any]:
    return _Item(payload, what).raw


@_typed("answer")
def as_list(payload: object, what: str) -> list[Any]:
    if not isinstance(payload, list):
        raise _fail(f"{what}: expected a list, got {type(payload).__name__}")
    return payload


@_typed("answer")
def as_count(payload: object, what: str) -> int:
    """cancel_all*: the number of orders cancelled."""
    if isinstance(payload, bool) or not isinstance(payload, int) or payload < 0:
        raise _fail(f"{what}: {_shown(payload)} is not a count")
    return payload


@_typed("auth")
def parse_token(payload: object) -> tuple[str, str, int]:
    """public/auth: (access_token, refresh_token, expires_in seconds)."""
    item = _Item(payload, "auth")
    expires = item.get("expires_in")
    if isinstance(expires, bool) or not isinstance(expires, int) or expires <= 0:
        raise _fail(f"auth.expires_in: {_shown(expires)} is not a number of seconds")
    return (item.text("access_token", max_len=4096), item.text("refresh_token", max_len=4096),
            expires)


# -- orders -----------------------------------------------------------------------------


@_typed("order")
def parse_order(raw: object, *, account: str, venue: str = VENUE) -> Order:
    """One order object (buy/sell/edit/cancel's `order`, get_order_state, the listings,
    user.orders and user.changes)."""
    item = _Item(raw, "order")
    order_id = item.text("order_id", max_len=ID_MAX_LEN)
    item.what = f"order {order_id}"
    order_type, fires = ORDER_TYPE[item.key("order_type", ORDER_TYPE)]
    side = item.enum("direction", DIRECTION)
    instrument = item.text("instrument_name", max_len=SYMBOL_MAX_LEN)
    qty = item.positive("amount")
    filled = item.non_negative("filled_amount") if item.has("filled_amount") else ZERO
    status = item.enum("order_state", ORDER_STATE)
    if status is OrderStatus.NEW and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    if item.has("cancel_reason"):
        item.key("cancel_reason", CANCEL_REASON)
    client_id, label = split_label(item.text("label", allow_empty=True, max_len=MAX_LABEL))
    trigger = item.zero_is_none("trigger_price") if fires else None
    if trigger is not None and item.has("trigger"):
        item.key("trigger", TRIGGERS)
    tif = item.enum("time_in_force", TIME_IN_FORCE)
    if item.boolean("post_only", optional=True):
        tif = TimeInForce.POST_ONLY
    price: Decimal | None = None
    if order_type is OrderType.LIMIT:
        price = item.positive("price")
    updated = item.ms("last_update_timestamp")
    return _build(  # type: ignore[no-any-return]
        item.what, Order,
        venue=venue, account=account, category=category_of(instrument), symbol=instrument,
        side=side, type=order_type, qty=qty, status=status, client_order_id=client_id,
        venue_order_id=order_id, price=price, trigger_price=trigger,
        trigger_direction=_direction(fires, side) if trigger is not None and fires else None,
        reduce_only=item.boolean("reduce_only", optional=True), time_in_force=tif,
        filled_qty=filled, avg_price=item.zero_is_none("average_price") if filled else None,
        role=_role(client_id), label=label,
        created_at=item.ms("creation_timestamp") if item.has("creation_timestamp")
        else updated, updated_at=updated)


@_typed("order")
def order_links(raw: object) -> tuple[str, str, str]:
    """(order_id, order_state, trigger_order_id or "") of an order object: how a
    triggered trigger order and the order it created find each other."""
    item = _Item(raw, "order")
    return (item.text("order_id", max_len=ID_MAX_LEN), item.key("order_state", ORDER_STATE),
            item.text("trigger_order_id", optional=True, max_len=ID_MAX_LEN))


@_typed("order answer")
def order_of(payload: object, what: str) -> object:
    """buy/sell/edit: the `order` of {"order": {...}, "trades": [...]}."""
    return _Item(payload, what).get("order")


def parse_orders(items: Sequence[object], *, account: str) -> list[Order]:
    """A listing without the triggered trigger orders whose child is listed too."""
    links = [order_links(raw) for raw in items]
    children = {parent for _, _, parent in links if parent}
    return [parse_order(raw, account=account) for raw, (oid, state, _) in zip(items, links,
                                                                              strict=True)
            if not (state == TRIGGERED and oid in children)]


# -- fills ------------------------------------------------------------------------------


@_typed("trade")
def parse_trade(raw: object, *, account: str, venue: str = VENUE) -> Fill:
    """One user trade (get_user_trades_*, user.trades, user.changes, buy/sell answers)."""
    item = _Item(raw, "trade")
    trade_id = item.text("trade_id", max_len=ID_MAX_LEN)
    item.what = f"trade {trade_id}"
    instrument = item.text("instrument_name", max_len=SYMBOL_MAX_LEN)
    client_id, _ = split_label(item.text("label", allow_empty=True, optional=True,
                                         max_len=MAX_LABEL))
    liquidity = item.key("liquidity", LIQUIDITY) if item.has("liquidity") else ""
    liquidation = item.text("liquidation", optional=True, max_len=4)
    liquidated = bool(liquidity) and liquidity in liquidation
    return _build(  # type: ignore[no-any-return]
        item.what, Fill,
        venue=venue, account=account, exec_id=trade_id, symbol=instrument,
        side=item.enum("direction", DIRECTION), price=item.non_negative("price"),
        qty=item.positive("amount"), exec_time=item.ms("timestamp"),
        category=category_of(instrument),
        venue_order_id=item.text("order_id", max_len=ID_MAX_LEN),
        client_order_id=client_id, fee=item.decimal("fee"),
        fee_asset=item.text("fee_currency", max_len=ASSET_MAX_LEN),
        is_maker=LIQUIDITY.get(liquidity, False),
        exec_type=ExecType.LIQUIDATION if liquidated else ExecType.TRADE)


@_typed("trades")
def trade_page(payload: object) -> tuple[list[Any], bool]:
    """get_user_trades_by_*_and_time: (trades, has_more)."""
    item = _Item(payload, "user trades")
    return item.items("trades"), item.boolean("has_more", optional=True)


@_typed("trade")
def trade_time(raw: object) -> int:
    return _Item(raw, "trade").ms("timestamp")


# -- positions and balances -------------------------------------------------------------


@_typed("position")
def parse_position(raw: object, *, account: str, updated_at: int,
                   venue: str = VENUE) -> Position:
    """One position (get_positions, user.changes): `size` signed, agreeing with
    `direction`."""
    item = _Item(raw, "position")
    instrument = item.text("instrument_name", max_len=SYMBOL_MAX_LEN)
    item.what = f"position {instrument}"
    size = item.decimal("size")
    direction = item.key("direction", POSITION_DIRECTION)
    agrees = {"buy": size >= 0, "sell": size <= 0, "zero": size == 0}[direction]
    if not agrees:  # a flat position may keep its last direction; a sign may not lie
        raise _fail(f"{item.label('size')}: {size} disagrees with direction {direction!r}")
    return _build(  # type: ignore[no-any-return]
        item.what, Position,
        venue=venue, account=account, category=category_of(instrument), symbol=instrument,
        size=size, entry_price=item.non_negative("average_price"),
        mark_price=item.zero_is_none("mark_price"),
        unrealised_pnl=item.decimal("floating_profit_loss")
        if item.has("floating_profit_loss") else None,
        updated_at=updated_at)


@_typed("account summary")
def parse_balance(raw: object, *, account: str, updated_at: int,
                  venue: str = VENUE) -> Balance:
    """get_account_summary or a user.portfolio push (see the module docstring)."""
    item = _Item(raw, "account summary")
    currency = item.text("currency", max_len=ASSET_MAX_LEN)
    item.what = f"account summary {currency}"
    total = item.decimal("balance")
    floating = _EXACT.subtract(item.decimal("equity"), total)
    free = _EXACT.subtract(item.decimal("available_funds"), floating)
    locked = _EXACT.subtract(total, free)
    if locked < 0:
        raise _fail(f"{item.what}: balance {total} is below available_funds - (equity - "
                    f"balance) ({free}): nothing can be held")
    return _build(item.what, Balance, venue=venue,  # type: ignore[no-any-return]
                  account=account, asset=currency, total=total, free=free, locked=locked,
                  updated_at=updated_at)


# -- private stream ---------------------------------------------------------------------

CHANNELS: Final = ("user.changes.", "user.orders.", "user.trades.", "user.portfolio.")


@_typed("notification")
def parse_notification(message: object, *, account: str, received_at: int,
                       venue: str = VENUE) -> list[VenueEvent]:
    """One `subscription` notification as domain events (see the module docstring)."""
    top = _Item(message, "notification")
    params = _Item(top.get("params"), "notification.params")
    channel = params.text("channel", max_len=200)
    data = params.get("data")
    events: list[VenueEvent] = []
    if channel.startswith("user.changes."):
        body = _Item(data, channel)
        orders = body.items("orders", optional=True)
        trades = body.items("trades", optional=True)
        positions = body.items("positions", optional=True)
    elif channel.startswith("user.orders."):
        orders, trades, positions = (data if isinstance(data, list) else [data]), [], []
    elif channel.startswith("user.trades."):
        orders, trades, positions = [], as_list(data, channel), []
    elif channel.startswith("user.portfolio."):
        return [BalanceEvent(parse_balance(data, account=account, updated_at=received_at,
                                           venue=venue), received_at=received_at)]
    else:
        raise _fail(f"notification.params.channel: unknown channel {_shown(channel)}")
    for raw in orders:
        if order_links(raw)[1] == TRIGGERED:
            continue  # the order it created carries on, in its own update
        events.append(OrderEvent(parse_order(raw, account=account, venue=venue),
                                 received_at=received_at))
    for raw in trades:
        events.append(FillEvent(parse_trade(raw, account=account, venue=venue),
                                received_at=received_at))
    for raw in positions:
        events.append(PositionEvent(parse_position(raw, account=account,
                                                   updated_at=received_at, venue=venue),
                                    received_at=received_at))
    return events


# -- requests ---------------------------------------------------------------------------


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


def _terms(order: Order, price: Decimal | None) -> dict[str, object]:
    """price, post_only/reject_post_only and reduce_only as Deribit takes them."""
    params: dict[str, object] = {}
    if order.type is OrderType.LIMIT:
        assert price is not None  # the domain guarantees a limit order's price
        params["price"] = price
    elif order.time_in_force is TimeInForce.POST_ONLY:
        raise _invalid("a market order cannot be post-only")
    if order.time_in_force is TimeInForce.POST_ONLY:
        params.update(post_only=True, reject_post_only=True)
    if order.reduce_only:
        params["reduce_only"] = True
    return params


def order_params(order: Order) -> tuple[str, dict[str, object]]:
    """(private/buy | private/sell, params) for `order`: limit/market, or with a trigger
    price a stop_*/take_* order triggered by the mark price (the type follows from side
    and trigger direction)."""
    fires = None
    params: dict[str, object] = {"instrument_name": order.symbol, "amount": order.qty,
                                 "label": wire_label(order)}
    if order.trigger_price is not None:
        if order.trigger_direction is None:
            raise _invalid("a conditional order needs a trigger direction")
        fires = _fires(order)
        params.update(trigger=TRIGGER, trigger_price=order.trigger_price)
    params["type"] = ORDER_TYPE_NAME[(order.type, fires)]
    if order.type is OrderType.LIMIT or fires is None:
        params["time_in_force"] = TIME_IN_FORCE_NAME[order.time_in_force]
    params.update(_terms(order, order.price))
    return BUY_METHOD[order.side], params


def edit_params(order: Order, *, qty: Decimal | None,
                price: Decimal | None) -> dict[str, object]:
    """private/edit: the amount always (the order's own when unchanged), the price of a
    limit order, and the post-only and reduce-only flags kept (edit's defaults would
    drop them). The label cannot be edited and is not sent."""
    if not order.venue_order_id:
        raise _invalid(f"order {order.ident} has no Deribit order id to edit")
    if qty is None and price is None:
        raise _invalid("an amend needs a new qty or a new price")
    if price is not None and order.type is not OrderType.LIMIT:
        raise _invalid("only a limit order has a price to amend")
    params: dict[str, object] = {"order_id": order.venue_order_id, "amount": qty or order.qty}
    params.update(_terms(order, price or order.price))
    return params


def _json_value(value: object) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise _invalid(f"{value} is not a finite number")
        text = format(value, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_json_value(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json_value(v) for v in value) + "]"
    return json.dumps(value)


def rpc_body(request_id: int, method: str, params: Mapping[str, object]) -> str:
    """The JSON-RPC request, Decimals written as exact JSON numbers in plain notation
    (never a float, never "1E-5")."""
    return _json_value({"jsonrpc": "2.0", "id": request_id, "method": method,
                        "params": params})


__all__ = [
    "CANCEL_REASON", "DIRECTION", "DIRECTION_NAME", "LIQUIDITY", "ORDER_STATE", "ORDER_TYPE",
    "ORDER_TYPE_NAME", "TIME_IN_FORCE", "TIME_IN_FORCE_NAME", "TRIGGERED", "as_count",
    "as_list", "as_object", "category_of", "decimal_arg", "edit_params", "order_links",
    "order_of", "order_params", "parse_balance", "parse_notification", "parse_order",
    "parse_orders", "parse_position", "parse_token", "parse_trade", "rpc_body",
    "split_label", "trade_page", "trade_time", "wire_label",
]
