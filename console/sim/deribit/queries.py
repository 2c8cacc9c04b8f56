"""The reading methods: order state, open orders, order history, user trades,
positions and account summaries.

Windows: without ``historical=true`` Deribit serves only recent records, the last
`RECENT_TRADES_MS` (24 h) of trades and `RECENT_ORDERS_MS` (30 min) of closed orders;
a back-fill over a longer gap must ask for ``historical=true``.

User trades: ``count`` (default 10, at most 1000), ``start_timestamp``/``end_timestamp``
(inclusive), ``start_seq``/``end_seq`` (instrument methods), ``sorting`` asc, desc or
default (newest first), answered as ``{"trades": [...], "has_more": bool}``. The
``_and_time`` variants need both timestamps.

Open orders: the ``type`` filter (`orders.TYPE_FILTERS`). Untriggered trigger orders are
listed only when asked for (``type`` all, trigger_all, stop_*, take_*); without a
``type`` only the live orders are (UNVERIFIED: Deribit's docs give "all" as the default
while trigger orders live in a book of their own).
"""

from __future__ import annotations

from typing import Any, Final

from console.domain.enums import OrderStatus
from console.domain.model import Fill, Order
from console.sim.core import SimExchange
from console.sim.deribit import params as p
from console.sim.deribit.codes import ORDER_NOT_FOUND, DeribitError, invalid_param
from console.sim.deribit.orders import TYPE_FILTERS, type_matches
from console.sim.deribit.rpc import Context
from console.sim.deribit.shapes import order_type_of
from console.sim.deribit.views import Views

RECENT_TRADES_MS: Final = 86_400_000
RECENT_ORDERS_MS: Final = 1_800_000
DEFAULT_COUNT: Final = 10
MAX_COUNT: Final = 1000
HISTORY_COUNT: Final = 20
KINDS: Final = ("future", "any")


class Queries:
    def __init__(self, exchange: SimExchange, views: Views) -> None:
        self.exchange = exchange
        self.views = views

    # -- orders -------------------------------------------------------------------------

    def get_order_state(self, ctx: Context) -> dict[str, Any]:
        order_id = ctx.params.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise invalid_param("order_id")
        order = self.exchange.order_by_venue_id(ctx.account, order_id)
        if order is None or self.views.name_of(order.category, order.symbol) is None:
            raise DeribitError(ORDER_NOT_FOUND)
        return self.views.order(order)

    def get_order_state_by_label(self, ctx: Context) -> list[dict[str, Any]]:
        currency = self.views.currency(ctx.params.get("currency"), allow_any=False)
        label = p.text(ctx.params, "label")
        found = [o for o in self.views.account_orders(ctx.account, currency, history=True)
                 if o.label == label]
        return self.views.orders(sorted(found, key=lambda o: -o.created_at))

    def _open(self, ctx: Context, orders: list[Order]) -> list[dict[str, Any]]:
        wanted = p.choice(ctx.params, "type", TYPE_FILTERS, "") \
            if p.present(ctx.params, "type") else None
        kept = []
        for order in orders:
            if wanted is None:
                if order.status is OrderStatus.UNTRIGGERED:
                    continue
            elif not type_matches(order_type_of(order, self.views.meta.get(
                    order.venue_order_id)), wanted):
                continue
            kept.append(order)
        return self.views.orders(kept)

    def get_open_orders(self, ctx: Context) -> list[dict[str, Any]]:
        p.choice(ctx.params, "kind", KINDS, "any")
        return self._open(ctx, self.views.account_orders(ctx.account, None))

    def get_open_orders_by_currency(self, ctx: Context) -> list[dict[str, Any]]:
        currency = self.views.currency(ctx.params.get("currency"))
        p.choice(ctx.params, "kind", KINDS, "any")
        return self._open(ctx, self.views.account_orders(ctx.account, currency))

    def get_open_orders_by_instrument(self, ctx: Context) -> list[dict[str, Any]]:
        _name, instrument = self.views.instrument(ctx.params.get("instrument_name"))
        return self._open(ctx, self.exchange.open_orders(ctx.account, *instrument.key))

    def get_open_orders_by_label(self, ctx: Context) -> list[dict[str, Any]]:
        currency = self.views.currency(ctx.params.get("currency"), allow_any=False)
        label = p.text(ctx.params, "label")
        return self.views.orders([o for o in self.views.account_orders(ctx.account, currency)
                                  if o.label == label])

    def _history(self, ctx: Context, orders: list[Order]) -> list[dict[str, Any]]:
        count = _count(ctx, HISTORY_COUNT)
        offset = p.integer(ctx.params, "offset", 0) or 0
        unfilled = p.flag(ctx.params, "include_unfilled")
        horizon = None if p.flag(ctx.params, "historical") else ctx.now_ms - RECENT_ORDERS_MS
        kept = [o for o in orders if o.status.is_terminal
                and (unfilled or o.filled_qty > 0)
                and (horizon is None or o.updated_at >= horizon)]
        kept.sort(key=lambda o: (-o.updated_at, o.venue_order_id))
        return self.views.orders(kept[offset:offset + count])

    def get_order_history_by_currency(self, ctx: Context) -> list[dict[str, Any]]:
        currency = self.views.currency(ctx.params.get("currency"))
        p.choice(ctx.params, "kind", KINDS, "any")
        return self._history(ctx, self.views.account_orders(ctx.account, currency,
                                                            history=True))

    def get_order_history_by_instrument(self, ctx: Context) -> list[dict[str, Any]]:
        _name, instrument = self.views.instrument(ctx.params.get("instrument_name"))
        return self._history(ctx, self.exchange.order_history(ctx.account, *instrument.key))

    # -- trades -------------------------------------------------------------------------

    def _trades(self, ctx: Context, fills: list[Fill], *, seqs: bool,
                need_times: bool) -> dict[str, Any]:
        params = ctx.params
        count = _count(ctx, DEFAULT_COUNT)
        start = p.integer(params, "start_timestamp")
        end = p.integer(params, "end_timestamp")
        if need_times:
            if start is None:
                raise invalid_param("start_timestamp")
            if end is None:
                raise invalid_param("end_timestamp")
        sorting = p.choice(params, "sorting", ("asc", "desc", "default"), "default")
        if not p.flag(params, "historical"):
            horizon = ctx.now_ms - RECENT_TRADES_MS
            start = horizon if start is None else max(start, horizon)
        start_seq = p.integer(params, "start_seq") if seqs else None
        end_seq = p.integer(params, "end_seq") if seqs else None
        account = ctx.account
        kept: list[tuple[Fill, int]] = []
        for fill in fills:
            seq = self.views.trade_seq(account, fill)
            if (start is not None and fill.exec_time < start) or (
                    end is not None and fill.exec_time > end) or (
                    start_seq is not None and seq < start_seq) or (
                    end_seq is not None and seq > end_seq):
                continue
            kept.append((fill, seq))
        ascending = sorting == "asc" or (sorting == "default" and start_seq is not None)
        kept.sort(key=lambda item: (item[0].exec_time, item[1]), reverse=not ascending)
        page = kept[:count]
        return {"trades": [self.views.trade(account, fill) for fill, _seq in page],
                "has_more": len(kept) > count}

    def _currency_fills(self, ctx: Context) -> list[Fill]:
        currency = self.views.currency(ctx.params.get("currency"))
        p.choice(ctx.params, "kind", KINDS, "any")
        served = {i.key for _n, i in self.views.served(currency)}
        return [f for f in self.exchange.fills(ctx.account)
                if (f.category, f.symbol) in served]

    def _instrument_fills(self, ctx: Context) -> list[Fill]:
        _name, instrument = self.views.instrument(ctx.params.get("instrument_name"))
        return self.exchange.fills(ctx.account, category=instrument.category,
                                   symbol=instrument.symbol)

    def get_user_trades_by_currency(self, ctx: Context) -> dict[str, Any]:
        return self._trades(ctx, self._currency_fills(ctx), seqs=False, need_times=False)

    def get_user_trades_by_currency_and_time(self, ctx: Context) -> dict[str, Any]:
        return self._trades(ctx, self._currency_fills(ctx), seqs=False, need_times=True)

    def get_user_trades_by_instrument(self, ctx: Context) -> dict[str, Any]:
        return self._trades(ctx, self._instrument_fills(ctx), seqs=True, need_times=False)

    def get_user_trades_by_instrument_and_time(self, ctx: Context) -> dict[str, Any]:
        return self._trades(ctx, self._instrument_fills(ctx), seqs=False, need_times=True)

    def get_user_trades_by_order(self, ctx: Context) -> list[dict[str, Any]]:
        order_id = p.text(ctx.params, "order_id")
        order = self.exchange.order_by_venue_id(ctx.account, order_id)
        if order is None:
            raise DeribitError(ORDER_NOT_FOUND)
        return [self.views.trade(ctx.account, f) for f in self.exchange.fills(
            ctx.account, category=order.category, symbol=order.symbol)
            if f.venue_order_id == order_id]

    # -- positions and money ------------------------------------------------------------

    def get_positions(self, ctx: Context) -> list[dict[str, Any]]:
        currency = self.views.currency(ctx.params["currency"]) \
            if p.present(ctx.params, "currency") else None
        p.choice(ctx.params, "kind", KINDS, "any")
        return self.views.positions(ctx.account, currency)

    def get_position(self, ctx: Context) -> dict[str, Any]:
        name, instrument = self.views.instrument(ctx.params.get("instrument_name"))
        position = self.exchange.position(ctx.account, *instrument.key)
        if position is None:
            return self.views.flat_position(ctx.account, name, instrument)
        return self.views.position(ctx.account, position)

    def get_account_summary(self, ctx: Context) -> dict[str, Any]:
        currency = self.views.currency(ctx.params.get("currency"), allow_any=False)
        assert currency is not None
        return self.views.summary(ctx.account, currency)

    def get_account_summaries(self, ctx: Context) -> dict[str, Any]:
        return {"summaries": [self.views.summary(ctx.account, currency)
                              for currency in self.views.names.currencies()]}


def _count(ctx: Context, default: int) -> int:
    count = p.integer(ctx.params, "count", default)
    assert count is not None
    if not 1 <= count <= MAX_COUNT:
        raise invalid_param("count", f"must be between 1 and {MAX_COUNT}")
    return count
