"""Binance's user-data push records, built from the sim's records.

USD-M futures (raw JSON objects on the listenKey stream): ``ORDER_TRADE_UPDATE``,
``TRADE_LITE``, ``ACCOUNT_UPDATE``, ``ALGO_UPDATE`` and ``listenKeyExpired``. Spot (the
``event`` of a WebSocket API push ``{"subscriptionId": N, "event": {...}}``):
``executionReport``, ``outboundAccountPosition``, ``balanceUpdate`` and
``eventStreamTerminated``.

Field names follow Binance's docs (developers.binance.com: USD-M "Event Order Update",
"Event Balance and Position Update", "Event Algo Order Update", "Event User Data Stream
Expired"; spot ``user-data-stream.md`` and ``web-socket-api.md``); JSON types follow the
official SDK models (``binance-sdk-derivatives-trading-usds-futures``,
``binance-sdk-spot``): numbers are strings (Decimal text: never a float, never an
exponent), ids and times are JSON integers, flags are booleans.

Pure functions of frozen inputs: the conversion (`console.sim.binance.pushes`) decides
what happened (execution type, status, cumulative figures, ids); this module only spells
it. Values the sim has no notion of (working type, self-trade prevention, price match,
margin type, ...) carry Binance's defaults; a value that is our guess is marked
UNVERIFIED.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from console.domain.enums import (
    OrderType,
    PositionSide,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.model import Order
from console.domain.values import ZERO
from console.sim.binance.shapes import STP, WORKING_TYPE
from console.sim.protocol.wire import JsonObj

SIDE: Final[Mapping[Side, str]] = MappingProxyType({Side.BUY: "BUY", Side.SELL: "SELL"})
FUTURES_TIF: Final[Mapping[TimeInForce, str]] = MappingProxyType({
    TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "GTX"})
# spot post-only is the LIMIT_MAKER order type, which Binance reports with GTC
SPOT_TIF: Final[Mapping[TimeInForce, str]] = MappingProxyType({
    TimeInForce.GTC: "GTC", TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
    TimeInForce.POST_ONLY: "GTC"})
POSITION_SIDE: Final[Mapping[PositionSide, str]] = MappingProxyType({
    PositionSide.ONE_WAY: "BOTH", PositionSide.LONG: "LONG", PositionSide.SHORT: "SHORT"})

# Binance's defaults for what the sim does not model; the STP mode is the REST answers'
# (`shapes.STP`) so that both sides of the sim agree (UNVERIFIED: accounts show their own
# default, e.g. EXPIRE_MAKER)
FUTURES_STP: Final = STP
SPOT_STP: Final = STP
PRICE_MATCH: Final = "NONE"
MARGIN_TYPE: Final = "cross"            # the sim margins every position cross
EXPIRY_NONE: Final = "0"                # futures `er`: 0 = none


def num(value: Decimal | None) -> str:
    """A Decimal as Binance writes numbers: plain digits, no exponent, no trailing zeros
    ("0" for None and for zero)."""
    if value is None:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def algo_type(order: Order) -> str:
    """The Algo Service type of a conditional order: a stop loses (a buy triggered by a
    rise, a sell by a fall), a take-profit gains; ``_MARKET`` without a limit price."""
    rising = order.trigger_direction is TriggerDirection.RISE
    stop = rising if order.side is Side.BUY else not rising
    base = "STOP" if stop else "TAKE_PROFIT"
    return f"{base}_MARKET" if order.type is OrderType.MARKET else base


def futures_order_type(order: Order) -> str:
    return "MARKET" if order.type is OrderType.MARKET else "LIMIT"


def futures_tif(order: Order) -> str:
    """A market order shows GTC, whatever the sim ran it with (as the REST answers do)."""
    return "GTC" if order.type is OrderType.MARKET else FUTURES_TIF[order.time_in_force]


def spot_tif(order: Order) -> str:
    return "GTC" if order.type is OrderType.MARKET else SPOT_TIF[order.time_in_force]


def spot_order_type(order: Order) -> str:
    """MARKET, LIMIT or LIMIT_MAKER (post-only); a conditional order is a STOP_LOSS or
    TAKE_PROFIT, ``_LIMIT`` with a limit price (the same stop/take-profit rule as
    `algo_type`)."""
    if order.trigger_price is not None:
        base = algo_type(order).removesuffix("_MARKET").replace("STOP", "STOP_LOSS")
        return base if order.type is OrderType.MARKET else f"{base}_LIMIT"
    if order.type is OrderType.MARKET:
        return "MARKET"
    return "LIMIT_MAKER" if order.time_in_force is TimeInForce.POST_ONLY else "LIMIT"


@dataclass(frozen=True, slots=True)
class Trade:
    """The execution an update reports (``x`` = TRADE)."""

    trade_id: int
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    realised_pnl: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """One order update as Binance reports it.

    `order` gives the terms (symbol, side, type, quantity, price, trigger, time in force,
    reduce-only, client id, creation time); the state at this update is given apart,
    because one sim record can stand for several updates (every execution of a market
    order is its own TRADE update with its own cumulative figures).
    """

    order: Order
    order_id: int
    exec_type: str
    status: str
    filled: Decimal
    filled_quote: Decimal
    at: int
    trade: Trade | None = None
    client_order_id: str | None = None   # default: the order's client id
    orig_client_order_id: str = ""       # spot `C`: the cancelled order's client id
    position_side: str = "BOTH"
    order_type: str = ""                 # default: from the order
    original_type: str = ""              # futures `ot`; default: the order type
    expiry_reason: str = ""
    reject_reason: str = "NONE"
    on_book: bool = False

    @property
    def avg_price(self) -> Decimal:
        if self.filled == 0:
            return ZERO
        return (self.filled_quote / self.filled).quantize(Decimal("1E-8"))

    @property
    def client_id(self) -> str:
        return self.order.client_order_id if self.client_order_id is None \
            else self.client_order_id


# -- USD-M futures ------------------------------------------------------------------------


def order_trade_update(update: OrderUpdate, *, event_time: int, commission_asset: str,
                       bids_notional: Decimal, asks_notional: Decimal) -> JsonObj:
    """``ORDER_TRADE_UPDATE`` with every field of the docs' table but the trailing-stop
    ones. `commission_asset` is the settle coin (``N`` of an update without a trade)."""
    order, trade = update.order, update.trade
    order_type = update.order_type or futures_order_type(order)
    body: JsonObj = {
        "s": order.symbol,
        "c": update.client_id,
        "S": SIDE[order.side],
        "o": order_type,
        "f": futures_tif(order),
        "q": num(order.qty),
        "p": num(order.price),
        "ap": num(update.avg_price),
        "sp": num(order.trigger_price),
        "x": update.exec_type,
        "X": update.status,
        "i": update.order_id,
        "l": num(trade.qty if trade else None),
        "z": num(update.filled),
        "L": num(trade.price if trade else None),
        "N": trade.fee_asset if trade else commission_asset,
        "n": num(trade.fee if trade else None),
        "T": update.at,
        "t": trade.trade_id if trade else 0,
        "b": num(bids_notional),
        "a": num(asks_notional),
        "m": trade.is_maker if trade else False,
        "R": order.reduce_only,
        "wt": WORKING_TYPE,
        "ot": update.original_type or order_type,
        "ps": update.position_side,
        "cp": False,
        # no "AP" (activation price) nor "cr" (callback rate): "only pushed with
        # TRAILING_STOP_MARKET order", which the sim has none of
        "pP": False,
        "si": 0,     # "ignore" in the SDK model
        "ss": 0,     # "ignore" in the SDK model
        "rp": num(trade.realised_pnl if trade else None),
        "V": FUTURES_STP,
        "pm": PRICE_MATCH,
        "gtd": 0,
        "er": update.expiry_reason or EXPIRY_NONE,
    }
    return {"e": "ORDER_TRADE_UPDATE", "E": event_time, "T": update.at, "o": body}


def trade_lite(update: OrderUpdate, *, event_time: int) -> JsonObj:
    """``TRADE_LITE``: the low-latency subset of a TRADE update (no commission)."""
    order, trade = update.order, update.trade
    if trade is None:
        raise ValueError("TRADE_LITE reports a trade; this update has none")
    return {
        "e": "TRADE_LITE", "E": event_time, "T": update.at,
        "s": order.symbol, "q": num(order.qty), "p": num(order.price),
        "m": trade.is_maker, "c": update.client_id, "S": SIDE[order.side],
        "L": num(trade.price), "l": num(trade.qty), "t": trade.trade_id,
        "i": update.order_id,
    }


@dataclass(frozen=True, slots=True)
class WalletLine:
    """One asset of ``ACCOUNT_UPDATE`` a.B: wallet total and its change (``bc``: the
    change other than PnL and commission, so 0 for trading)."""

    asset: str
    wallet: Decimal
    change: Decimal = ZERO


@dataclass(frozen=True, slots=True)
class PositionLine:
    """One position of ``ACCOUNT_UPDATE`` a.P."""

    symbol: str
    amount: Decimal
    entry_price: Decimal
    realised: Decimal
    unrealised: Decimal
    position_side: str


def account_update(reason: str, balances: Sequence[WalletLine],
                   positions: Sequence[PositionLine], *, at: int,
                   event_time: int) -> JsonObj:
    """``ACCOUNT_UPDATE``: `reason` is a.m (ORDER, DEPOSIT, WITHDRAW, ...)."""
    return {
        "e": "ACCOUNT_UPDATE", "E": event_time, "T": at,
        "a": {
            "m": reason,
            "B": [{"a": b.asset, "wb": num(b.wallet), "cw": num(b.wallet),
                   "bc": num(b.change)} for b in balances],
            # bep: the sim books no break-even price; the entry stands in (UNVERIFIED)
            "P": [{"s": p.symbol, "pa": num(p.amount), "ep": num(p.entry_price),
                   "bep": num(p.entry_price), "cr": num(p.realised),
                   "up": num(p.unrealised), "mt": MARGIN_TYPE, "iw": "0",
                   "ps": p.position_side} for p in positions],
        },
    }


@dataclass(frozen=True, slots=True)
class AlgoState:
    """An algo (conditional) order at one ``ALGO_UPDATE``: its status and, once
    triggered, the regular order it became."""

    algo_id: int
    status: str
    at: int
    position_side: str = "BOTH"
    actual_order_id: int | None = None
    filled: Decimal = ZERO
    avg_price: Decimal = ZERO
    trigger_time: int = 0
    reason: str = ""


def algo_update(order: Order, state: AlgoState, *, event_time: int) -> JsonObj:
    """``ALGO_UPDATE`` with the fields of the docs' example."""
    triggered = state.actual_order_id is not None
    body: JsonObj = {
        "caid": order.client_order_id,
        "aid": state.algo_id,
        "at": "CONDITIONAL",
        "o": algo_type(order),
        "s": order.symbol,
        "S": SIDE[order.side],
        "ps": state.position_side,
        "f": futures_tif(order),
        "q": num(order.qty),
        "X": state.status,
        "ai": str(state.actual_order_id) if triggered else "",
        "ap": num(state.avg_price if triggered else None),
        "aq": num(state.filled if triggered else None),
        "act": futures_order_type(order) if triggered else "0",
        "tp": num(order.trigger_price),
        "p": num(order.price),
        "V": FUTURES_STP,
        "wt": WORKING_TYPE,
        "pm": PRICE_MATCH,
        "cp": False,
        "pP": False,
        "R": order.reduce_only,
        "tt": state.trigger_time,
        "gtd": 0,
        "rm": state.reason,
    }
    return {"e": "ALGO_UPDATE", "T": state.at, "E": event_time, "o": body}


def listen_key_expired(listen_key: str, *, event_time: int) -> JsonObj:
    return {"e": "listenKeyExpired", "E": event_time, "listenKey": listen_key}


# -- spot ---------------------------------------------------------------------------------


def execution_report(update: OrderUpdate, *, event_time: int, execution_id: int,
                     working_time: int | None) -> JsonObj:
    """``executionReport`` with every field of the docs' payload, plus the conditional
    ``W`` (working time: "only visible if the order has been placed on the book";
    `working_time` None leaves it out) and ``eR`` (expiry reason: expired orders)."""
    order, trade = update.order, update.trade
    body: JsonObj = {
        "e": "executionReport",
        "E": event_time,
        "s": order.symbol,
        "c": update.client_id,
        "S": SIDE[order.side],
        "o": update.order_type or spot_order_type(order),
        "f": spot_tif(order),
        "q": num(order.qty),
        "p": num(order.price),
        "P": num(order.trigger_price),
        "F": "0",
        "g": -1,
        "C": update.orig_client_order_id,
        "x": update.exec_type,
        "X": update.status,
        "r": update.reject_reason,
        "i": update.order_id,
        "l": num(trade.qty if trade else None),
        "z": num(update.filled),
        "L": num(trade.price if trade else None),
        "n": num(trade.fee if trade else None),
        "N": trade.fee_asset if trade else None,
        "T": update.at,
        "t": trade.trade_id if trade else -1,
        "I": execution_id,
        "w": update.on_book,
        "m": trade.is_maker if trade else False,
        "M": False,
        "O": order.created_at,
        "Z": num(update.filled_quote),
        "Y": num(trade.price * trade.qty if trade else None),
        "Q": "0",
    }
    if working_time is not None:
        body["W"] = working_time
    body["V"] = SPOT_STP
    if update.expiry_reason:
        body["eR"] = update.expiry_reason
    return body


@dataclass(frozen=True, slots=True)
class SpotBalance:
    asset: str
    free: Decimal
    locked: Decimal


def outbound_account_position(balances: Sequence[SpotBalance], *, at: int,
                              event_time: int) -> JsonObj:
    return {"e": "outboundAccountPosition", "E": event_time, "u": at,
            "B": [{"a": b.asset, "f": num(b.free), "l": num(b.locked)} for b in balances]}


def balance_update(asset: str, delta: Decimal, *, at: int, event_time: int) -> JsonObj:
    return {"e": "balanceUpdate", "E": event_time, "a": asset, "d": num(delta), "T": at}


def event_stream_terminated(*, event_time: int) -> JsonObj:
    return {"e": "eventStreamTerminated", "E": event_time}


def subscription_event(subscription_id: int, event: JsonObj) -> JsonObj:
    """A WebSocket API push: the event under the subscription it belongs to."""
    return {"subscriptionId": subscription_id, "event": event}
