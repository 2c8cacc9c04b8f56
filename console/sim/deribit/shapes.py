"""Deribit's record shapes (orders, trades, positions, account summaries, instruments),
built from the sim's domain objects, and the explicit maps between the two vocabularies.

Field names and types follow Deribit's API v2 field tables: amounts, prices and money
are JSON numbers (Decimals here, written as digits by `envelope.dumps`), ids are
strings, timestamps milliseconds. For inverse perpetuals (BTC-PERPETUAL) ``amount`` is
USD and money (fees, PnL, margins) is in the coin; ``contracts`` is amount divided by
the contract size. The sim's order ids (uuid-shaped strings) are Deribit's order ids
as they are: Deribit's are strings too.

What the sim has no figure for is left out rather than invented (``profit_loss`` of a
trade, ``estimated_liquidation_price``); ``tick_direction`` is against the account's own
previous trade on the instrument (the sim's only tape). The
maintenance margin is the sim's initial margin times `MAINTENANCE_RATIO` (a sim model:
Deribit's own formula is tiered, UNVERIFIED here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from types import MappingProxyType
from typing import Any, Final

from console.domain.enums import Category, OrderStatus, OrderType, Side, TimeInForce
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.accounting import QUANTUM
from console.sim.core import SimExchange
from console.sim.instruments import Instrument

PERPETUAL: Final = "-PERPETUAL"
PERPETUAL_EXPIRY_MS: Final = 32_503_708_800_000  # Deribit's expiration_timestamp of a perp
MAINTENANCE_RATIO: Final = Decimal("0.5")
KIND: Final = "future"

DIRECTIONS: Final[Mapping[Side, str]] = MappingProxyType({Side.BUY: "buy",
                                                          Side.SELL: "sell"})
SIDES: Final[Mapping[str, Side]] = MappingProxyType({v: k for k, v in DIRECTIONS.items()})
ORDER_STATES: Final[Mapping[OrderStatus, str]] = MappingProxyType({
    OrderStatus.PENDING_NEW: "open", OrderStatus.NEW: "open",
    OrderStatus.PARTIALLY_FILLED: "open", OrderStatus.PENDING_CANCEL: "open",
    OrderStatus.UNTRIGGERED: "untriggered", OrderStatus.FILLED: "filled",
    OrderStatus.CANCELLED: "cancelled", OrderStatus.REJECTED: "rejected",
    OrderStatus.UNKNOWN: "open"})
TIME_IN_FORCE: Final[Mapping[str, TimeInForce]] = MappingProxyType({
    "good_til_cancelled": TimeInForce.GTC, "fill_or_kill": TimeInForce.FOK,
    "immediate_or_cancel": TimeInForce.IOC})
TIF_WIRE: Final[Mapping[TimeInForce, str]] = MappingProxyType({
    TimeInForce.GTC: "good_til_cancelled", TimeInForce.FOK: "fill_or_kill",
    TimeInForce.IOC: "immediate_or_cancel", TimeInForce.POST_ONLY: "good_til_cancelled"})
ORDER_TYPES: Final = ("limit", "market", "stop_limit", "stop_market", "take_limit",
                      "take_market")
TRIGGERS: Final = ("mark_price", "index_price", "last_price")
CANCEL_REASONS: Final[Mapping[str, str]] = MappingProxyType({
    "cancelled_by_user": "user_request", "cancelled_by_operator": "user_request"})


@dataclass(frozen=True, slots=True)
class OrderMeta:
    """What Deribit reports about an order that the sim core does not keep: the wire
    order type, trigger source, post-only flags, and whether the API placed it."""

    order_type: str
    trigger: str | None = None
    post_only: bool = False
    reject_post_only: bool = False
    api: bool = True
    replaced: bool = False


def coin(value: Decimal) -> Decimal:
    """A coin amount to Deribit's 8 places (only when it has more)."""
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -8:
        return value.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)
    return value


def wire_name(instrument: Instrument) -> str | None:
    """The Deribit name of a sim instrument it serves: inverse perpetuals named the
    Deribit way (BTC-PERPETUAL), USDC-settled linear perpetuals (BTC_USDC-PERPETUAL);
    None for the rest (Bybit's BTCUSD, USDT perpetuals, spot)."""
    if instrument.category is Category.INVERSE:
        return instrument.symbol if instrument.symbol.endswith(PERPETUAL) else None
    if instrument.category is Category.LINEAR and instrument.quote == "USDC":
        if instrument.symbol.endswith(PERPETUAL):
            return instrument.symbol
        return f"{instrument.base}_USDC{PERPETUAL}"
    return None


class Names:
    """Deribit instrument names <-> sim instruments, for the instruments served."""

    def __init__(self, exchange: SimExchange) -> None:
        self.exchange = exchange
        self._by_name: dict[str, Instrument] = {}
        self._by_key: dict[tuple[Category, str], str] = {}
        for instrument in exchange.instruments():
            name = wire_name(instrument)
            if name is not None and name not in self._by_name:
                self._by_name[name] = instrument
                self._by_key[instrument.key] = name

    def instrument(self, name: str) -> Instrument | None:
        """The served instrument named `name` (re-read, so a re-shaped book is seen)."""
        found = self._by_name.get(name)
        return None if found is None else self.exchange.instrument(*found.key)

    def name(self, category: Category, symbol: str) -> str | None:
        return self._by_key.get((category, symbol))

    def instruments(self) -> list[tuple[str, Instrument]]:
        return [(name, self.exchange.instrument(*i.key)) for name, i in self._by_name.items()]

    def currency_of(self, instrument: Instrument) -> str:
        """Deribit's currency of an instrument: its settlement coin (BTC for
        BTC-PERPETUAL, USDC for BTC_USDC-PERPETUAL)."""
        return instrument.settle_coin

    def currencies(self) -> list[str]:
        return sorted({self.currency_of(i) for i in self._by_name.values()})


def contract_size(instrument: Instrument) -> Decimal:
    return instrument.qty_step


def instrument_record(name: str, instrument: Instrument, exchange: SimExchange,
                      created_ms: int) -> dict[str, Any]:
    inverse = instrument.is_inverse
    return {
        "instrument_name": name, "kind": KIND, "is_active": True,
        "base_currency": instrument.base,
        "counter_currency": "USD" if inverse else instrument.quote,
        "quote_currency": "USD" if inverse else instrument.quote,
        "settlement_currency": instrument.settle_coin,
        "settlement_period": "perpetual",
        "instrument_type": "reversed" if inverse else "linear",
        "price_index": f"{instrument.base.lower()}_usd" if inverse
        else f"{instrument.base.lower()}_usdc",
        "tick_size": instrument.tick_size, "min_trade_amount": instrument.min_qty,
        "contract_size": contract_size(instrument),
        "maker_commission": exchange.maker_fee, "taker_commission": exchange.taker_fee,
        "max_leverage": 100, "creation_timestamp": created_ms,
        "expiration_timestamp": PERPETUAL_EXPIRY_MS, "underlying_type": "crypto",
        "future_type": "reversed" if inverse else "linear",
    }


def order_type_of(order: Order, meta: OrderMeta | None) -> str:
    """The wire order type: the one placed, else inferred (a trigger order that buys
    on a rise, or sells on a fall, is a stop; the other way round a take)."""
    if meta is not None:
        return meta.order_type
    base = "limit" if order.type is OrderType.LIMIT else "market"
    if order.trigger_price is None:
        return base
    rising = order.trigger_direction is not None and order.trigger_direction.value == "rise"
    stop = rising == (order.side is Side.BUY)
    return f"{'stop' if stop else 'take'}_{base}"


def order_record(order: Order, name: str, instrument: Instrument, meta: OrderMeta | None,
                 cancel_reason: str | None) -> dict[str, Any]:
    post_only = order.time_in_force is TimeInForce.POST_ONLY or (
        meta is not None and meta.post_only)
    record: dict[str, Any] = {
        "order_id": order.venue_order_id,
        "order_state": ORDER_STATES[order.status],
        "order_type": order_type_of(order, meta),
        "instrument_name": name,
        "direction": DIRECTIONS[order.side],
        "amount": order.qty,
        "contracts": order.qty / contract_size(instrument),
        "filled_amount": order.filled_qty,
        "price": order.price if order.price is not None else "market_price",
        "average_price": order.avg_price if order.avg_price is not None else ZERO,
        "label": order.label,
        "time_in_force": TIF_WIRE[order.time_in_force],
        "post_only": post_only,
        "reject_post_only": bool(meta is not None and meta.reject_post_only),
        "reduce_only": order.reduce_only,
        "creation_timestamp": order.created_at,
        "last_update_timestamp": order.updated_at,
        "api": meta.api if meta is not None else False,
        "web": not (meta.api if meta is not None else False),
        "is_liquidation": False,
        "is_rebalance": False,
        "risk_reducing": False,
        "mmp": False,
        "replaced": bool(meta is not None and meta.replaced),
    }
    if order.trigger_price is not None:
        record["trigger"] = (meta.trigger if meta is not None and meta.trigger
                             else "mark_price")
        record["trigger_price"] = order.trigger_price
        record["triggered"] = order.status is not OrderStatus.UNTRIGGERED
    if order.status is OrderStatus.CANCELLED:
        record["cancel_reason"] = cancel_reason or "user_request"
    return record


def trade_record(fill: Fill, name: str, instrument: Instrument, seq: int, *,
                 tick_direction: int, order: Order | None, meta: OrderMeta | None,
                 mark: Decimal | None) -> dict[str, Any]:
    index = mark if mark is not None else fill.price
    record: dict[str, Any] = {
        "trade_id": fill.exec_id, "trade_seq": seq, "order_id": fill.venue_order_id,
        "tick_direction": tick_direction, "matching_id": None,  # "Always null"
        "instrument_name": name, "timestamp": fill.exec_time,
        "direction": DIRECTIONS[fill.side], "amount": fill.qty,
        "contracts": fill.qty / contract_size(instrument), "price": fill.price,
        "fee": fill.fee, "fee_currency": fill.fee_asset or instrument.settle_coin,
        "liquidity": "M" if fill.is_maker else "T",
        "index_price": index, "mark_price": index,
        "label": order.label if order is not None else "",
        "state": ORDER_STATES[order.status] if order is not None else "filled",
        "order_type": order_type_of(order, meta) if order is not None else "limit",
        "reduce_only": order.reduce_only if order is not None else False,
        "post_only": bool(order is not None and order.time_in_force
                          is TimeInForce.POST_ONLY),
        "api": meta.api if meta is not None else False,
    }
    return record


@dataclass(frozen=True, slots=True)
class PositionMoney:
    """What a position record needs beyond the domain snapshot."""

    realised: Decimal
    initial_margin: Decimal
    leverage: int


def position_record(position: Position, name: str, instrument: Instrument,
                    money: PositionMoney) -> dict[str, Any]:
    mark = position.mark_price if position.mark_price is not None else position.entry_price
    size = position.size
    size_currency = (coin(size / mark) if mark else ZERO) if instrument.is_inverse else size
    floating = position.unrealised_pnl if position.unrealised_pnl is not None else ZERO
    direction = "buy" if size > 0 else "sell" if size < 0 else "zero"
    return {
        "instrument_name": name, "kind": KIND, "direction": direction,
        "size": size, "size_currency": size_currency,
        "average_price": position.entry_price, "mark_price": mark, "index_price": mark,
        "floating_profit_loss": floating, "realized_profit_loss": money.realised,
        "total_profit_loss": floating + money.realised,
        "initial_margin": money.initial_margin,
        "maintenance_margin": coin(money.initial_margin * MAINTENANCE_RATIO),
        "open_orders_margin": ZERO, "leverage": money.leverage,
        "delta": size_currency, "settlement_price": mark,
    }


@dataclass(frozen=True, slots=True)
class CurrencyMoney:
    """A currency's positions summed: unrealised and realised PnL, position margin, delta."""

    upl: Decimal = ZERO
    rpl: Decimal = ZERO
    position_margin: Decimal = ZERO
    delta: Decimal = ZERO


def summary_record(currency: str, balance: Balance, money: CurrencyMoney) -> dict[str, Any]:
    equity = balance.total + money.upl
    initial = balance.locked
    maintenance = coin(money.position_margin * MAINTENANCE_RATIO)
    available = equity - initial
    return {
        "currency": currency, "balance": balance.total, "equity": equity,
        "margin_balance": equity, "available_funds": available,
        "available_withdrawal_funds": min(balance.free, available) if available > 0
        else ZERO,
        "initial_margin": initial, "maintenance_margin": maintenance,
        "projected_initial_margin": initial, "projected_maintenance_margin": maintenance,
        "session_upl": money.upl, "session_rpl": money.rpl,
        "total_pl": money.upl + money.rpl, "futures_pl": money.upl + money.rpl,
        "futures_session_upl": money.upl, "futures_session_rpl": money.rpl,
        "delta_total": money.delta, "projected_delta_total": money.delta,
        "portfolio_margining_enabled": False, "cross_collateral_enabled": False,
        "fee_balance": ZERO,
    }


def currency_record(currency: str) -> dict[str, Any]:
    """public/get_currencies: what ccxt's load_markets reads (withdrawal figures are
    the sim's: nothing is withdrawn here)."""
    long_names = {"BTC": "Bitcoin", "ETH": "Ethereum", "USDC": "USD Coin"}
    return {"currency": currency, "currency_long": long_names.get(currency, currency),
            "coin_type": {"BTC": "BITCOIN", "ETH": "ETHER"}.get(currency, "ERC20"),
            "min_confirmations": 1, "min_withdrawal_fee": ZERO,
            "withdrawal_fee": ZERO, "withdrawal_priorities": [],
            "in_cross_collateral_pool": False}
