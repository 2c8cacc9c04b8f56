"""Read endpoints: server time, instruments, positions, orders, executions, wallet.

Each follows the Bybit v5 page of the same name: parameter rules (linear listings need
symbol, baseCoin or settleCoin; execution windows of at most 7 days; order history
a start or an end alone implying 7 days), limits and defaults, newest-first ordering and cursors.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from decimal import Decimal
from typing import Final

from console.domain.enums import Category, PositionSide
from console.domain.model import Fill, Order, Position
from console.domain.values import ZERO
from console.sim.bybit import params as p
from console.sim.bybit import shapes
from console.sim.bybit.base import (
    SEVEN_DAYS_MS,
    Result,
    Scope,
    require_linear_scope,
    symbol_filter,
)
from console.sim.bybit.codes import params_error
from console.sim.bybit.shapes import CATEGORY, EXEC_TYPE
from console.sim.instruments import Instrument
from console.sim.protocol.paging import Listing, decode_cursor, encode_cursor, paginate
from console.sim.protocol.pipeline import Request
from console.sim.protocol.wire import JsonObj, Params
from console.sim.state import OrderRef

CLOSED_KEPT: Final = 500
_DERIVATIVES: Final = frozenset({Category.LINEAR, Category.INVERSE, Category.OPTION})


def _orders_listing(orders: list[Order]) -> Listing[Order]:
    """Newest first by createdTime; equal times keep newest-created first."""
    ordered = sorted(reversed(orders), key=lambda o: o.created_at, reverse=True)
    return Listing.build(ordered, lambda o: o.venue_order_id, lambda o: o.created_at)


def _fills_listing(fills: list[Fill]) -> Listing[Fill]:
    return Listing.build(list(reversed(fills)), lambda f: f.exec_id, lambda f: f.exec_time)


def _order_filter(raw: str) -> Callable[[Order], bool]:
    if raw in ("", "Order"):
        return (lambda o: o.trigger_price is None) if raw else (lambda o: True)
    if raw == "StopOrder":
        return lambda o: o.trigger_price is not None
    raise params_error(f"orderFilter {raw!r} is not supported")


def _ref_kept(ref: OrderRef, kind: str) -> bool:
    """`_order_filter` on an `OrderRef` (`kind` already checked there)."""
    if kind == "Order":
        return not ref.conditional
    return ref.conditional if kind == "StopOrder" else True


def _window(req: Request) -> tuple[int, int]:
    """startTime/endTime as order/history and execution/list read them: neither is the
    last 7 days, one alone spans 7 days from (or to) it, both must span at most 7."""
    start, end = p.time_ms(req.params, "startTime"), p.time_ms(req.params, "endTime")
    if start is None and end is None:
        return req.now_ms - SEVEN_DAYS_MS, req.now_ms
    if end is None:
        assert start is not None
        return start, start + SEVEN_DAYS_MS
    if start is None:
        return end - SEVEN_DAYS_MS, end
    if end < start:
        raise params_error("endTime is before startTime")
    if end - start > SEVEN_DAYS_MS:
        raise params_error("the time range between startTime and endTime must not "
                           "exceed 7 days")
    return start, end


class Queries:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope

    # -- public ----------------------------------------------------------------------

    def server_time(self, req: Request) -> Result:
        now = req.now_ms
        return Result({"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)})

    def instruments_info(self, req: Request) -> Result:
        category = p.category(req.params, self.scope.categories)
        symbol = p.text(req.params, "symbol")
        listed = self.scope.instruments(category)
        found = [(n, i) for n, i in enumerate(listed, start=1)
                 if not symbol or i.symbol == symbol]
        result: JsonObj = {"category": CATEGORY[category],
                           "list": [_instrument_json(i, n) for n, i in found]}
        if category is not Category.SPOT:  # the spot table has no cursor
            result["nextPageCursor"] = ""
        return Result(result)

    # -- positions -------------------------------------------------------------------

    def positions(self, req: Request) -> Result:
        scope, prm = self.scope, req.params
        category = p.category(prm, scope.categories)
        if category not in _DERIVATIVES:
            raise params_error(f"category {CATEGORY[category]} has no positions")
        limit = p.limit(prm, default=20, maximum=200)
        symbol = p.text(prm, "symbol")
        settle = p.text(prm, "settleCoin")
        if category is Category.LINEAR and not symbol and not settle:
            raise params_error("symbol or settleCoin is required for linear")
        ex = scope.exchange
        if symbol:
            scope.instrument(category, symbol)
            pos = ex.position(req.account, category, symbol)
            positions = [pos if pos is not None else Position(
                venue=ex.venue, account=req.account, category=category, symbol=symbol,
                size=ZERO, entry_price=ZERO,
                mark_price=ex.mark_price(category, symbol), unrealised_pnl=ZERO)]
            page, next_cursor = positions, ""
        else:
            page, next_cursor = self._positions_page(req.account, category, prm, limit)
        return Result({
            "category": CATEGORY[category],
            "list": [scope.views.position(x) for x in page],
            "nextPageCursor": next_cursor,
        })

    def _positions_page(self, account: str, category: Category, prm: Params,
                        limit: int) -> tuple[list[Position], str]:
        """One page of the open positions, by symbol after the cursor's. Which positions
        are open changes only with the account (the listing is cached by its sequence
        number, and holds only their keys); their marks and PnL move with the market, so
        the page's own positions are read now, and only they: a large book is not read
        whole for any page."""
        scope, ex = self.scope, self.scope.exchange
        wanted = symbol_filter(scope, category, prm)

        def build() -> Listing[tuple[str, PositionSide]]:
            held = [x for x in ex.open_position_keys(account, category)
                    if wanted is None or x[0] in wanted]
            held.sort(key=lambda x: x[0])
            return Listing.build(held, lambda held: held[0], lambda _held: 0)

        listing = scope.cache.get(("positions", account, category, wanted),
                                  ex.last_seq(account), build)
        start = 0
        cursor = p.text(prm, "cursor")
        if cursor:
            last, _ = decode_cursor(cursor)
            start = bisect_right(listing.ids, last)
        keys = listing.items[start:start + limit]
        page = [pos for symbol, side in keys
                if (pos := ex.position(account, category, symbol, side)) is not None]
        more = start + limit < len(listing.items)
        return page, encode_cursor(keys[-1][0], 0) if more else ""

    # -- orders ----------------------------------------------------------------------

    def _by_id(self, req: Request, category: Category) -> list[Order] | None:
        if not p.present(req.params, "orderId") and not p.present(req.params, "orderLinkId"):
            return None
        order = self.scope.find_order(req.account, category, req.params)
        return [] if order is None else [order]

    def open_orders(self, req: Request) -> Result:
        """GET /v5/order/realtime. openOnly=0: open orders; 1 or 2: the most recent 500
        closed ones. orderId/orderLinkId: that order whatever its status."""
        scope, prm = self.scope, req.params
        category = p.category(prm, scope.categories)
        limit = p.limit(prm, default=20, maximum=50)
        single = self._by_id(req, category)
        if single is not None:
            return Result({"category": CATEGORY[category], "list": scope.views.orders(single),
                           "nextPageCursor": ""})
        require_linear_scope(category, prm)
        open_only = p.integer(prm, "openOnly", default=0)
        if open_only not in (0, 1, 2):
            raise params_error(f"openOnly {open_only} must be 0, 1 or 2")
        kind = p.text(prm, "orderFilter")
        _order_filter(kind)  # refuses an unknown orderFilter
        wanted = symbol_filter(scope, category, prm)
        ex, account = scope.exchange, req.account

        def build() -> Listing[OrderRef]:
            """Newest first by createdTime, equal times newest-created first; over
            `OrderRef`s, so only the page's own orders are built (below)."""
            refs = ex.order_refs(account, category, active=open_only == 0)
            if open_only != 0:
                refs = refs[-CLOSED_KEPT:]
            kept = [r for r in refs if _ref_kept(r, kind)
                    and (wanted is None or r.symbol in wanted)]
            ordered = sorted(reversed(kept), key=lambda r: r.created_at, reverse=True)
            return Listing.build(ordered, lambda r: r.venue_order_id, lambda r: r.created_at)

        key = ("realtime", account, category, wanted, open_only, kind)
        listing = scope.cache.get(key, ex.last_seq(account), build)
        page = paginate(listing, p.text(prm, "cursor"), limit)
        orders = [o for r in page.items
                  if (o := ex.order_by_venue_id(account, r.venue_order_id)) is not None]
        return Result({"category": CATEGORY[category], "list": scope.views.orders(orders),
                       "nextPageCursor": page.next_cursor})

    def order_history(self, req: Request) -> Result:
        scope, prm = self.scope, req.params
        category = p.category(prm, scope.categories)
        limit = p.limit(prm, default=20, maximum=50)
        single = self._by_id(req, category)
        if single is not None:
            return Result({"category": CATEGORY[category],
                           "list": scope.views.orders(single, history=True),
                           "nextPageCursor": ""})
        start, end = _window(req)
        status = p.text(prm, "orderStatus")
        kind = p.text(prm, "orderFilter")
        keep = _order_filter(kind)
        wanted = symbol_filter(scope, category, prm)
        ex, account, views = scope.exchange, req.account, scope.views

        def build() -> Listing[Order]:
            return _orders_listing([
                o for o in ex.order_history(account, category)
                if start <= o.created_at <= end and keep(o)
                and (wanted is None or o.symbol in wanted)
                and (not status or views.order(o)["orderStatus"] == status)])

        key = ("history", account, category, wanted, start, end, status, kind)
        listing = scope.cache.get(key, ex.last_seq(account), build)
        page = paginate(listing, p.text(prm, "cursor"), limit)
        return Result({"category": CATEGORY[category],
                       "list": views.orders(page.items, history=True),
                       "nextPageCursor": page.next_cursor})

    # -- executions ------------------------------------------------------------------

    def executions(self, req: Request) -> Result:
        """GET /v5/execution/list: newest first, windows of at most 7 days."""
        scope, prm = self.scope, req.params
        category = p.category(prm, scope.categories)
        limit = p.limit(prm, default=50, maximum=100)
        start, end = _window(req)
        exec_type = p.text(prm, "execType")
        order_id = p.text(prm, "orderId")
        link_id = "" if order_id else p.text(prm, "orderLinkId")
        wanted = None if order_id or link_id else symbol_filter(scope, category, prm)
        ex, account = scope.exchange, req.account

        def build() -> Listing[Fill]:
            fills = ex.fills(account, start, end, category=category)
            return _fills_listing([
                f for f in fills
                if (not exec_type or EXEC_TYPE[f.exec_type] == exec_type)
                and (not order_id or f.venue_order_id == order_id)
                and (not link_id or f.client_order_id == link_id)
                and (wanted is None or f.symbol in wanted)])

        key = ("executions", account, category, start, end, exec_type, order_id, link_id,
               wanted)
        listing = scope.cache.get(key, ex.last_seq(account), build)
        page = paginate(listing, p.text(prm, "cursor"), limit)
        return Result({"category": CATEGORY[category],
                       "list": [scope.views.execution(f) for f in page.items],
                       "nextPageCursor": page.next_cursor})

    # -- wallet ----------------------------------------------------------------------

    def wallet_balance(self, req: Request) -> Result:
        account_type = p.text(req.params, "accountType", required=True)
        if account_type != "UNIFIED":
            raise params_error(f"accountType {account_type} is not supported: the sim "
                               "account is a unified trading account (UNIFIED)")
        coin = p.text(req.params, "coin")
        coins = [c.strip() for c in coin.split(",") if c.strip()] if coin else None
        return Result({"list": [self.scope.views.wallet(req.account, coins)]})


def _scale(step: Decimal) -> str:
    """Decimal places of a step ("0.01" -> "2"), as `priceScale` gives them."""
    exponent = step.normalize().as_tuple().exponent
    return str(max(0, -exponent)) if isinstance(exponent, int) else "0"


def _instrument_json(instr: Instrument, symbol_id: int) -> JsonObj:
    """One instrument with the fields of docs/v5/market/instrument for its category
    (the "Linear/Inverse" table, or the "Spot" one); the sim lists no pre-market
    contracts, so `preListingInfo` is null as the page says for those."""
    d = shapes.dec
    if instr.category is Category.SPOT:
        return {
            "symbolId": symbol_id,
            "symbol": instr.symbol,
            "baseCoin": instr.base,
            "quoteCoin": instr.quote,
            "innovation": "0",
            "symbolType": "",
            "xstockMultiplier": "",
            "status": "Trading",
            "marginTrading": "none",
            "stTag": "0",
            "lotSizeFilter": {"basePrecision": d(instr.qty_step),
                              "quotePrecision": d(instr.tick_size),
                              "minOrderQty": d(instr.min_qty),
                              "maxOrderQty": d(instr.max_qty),
                              "minOrderAmt": "1", "maxOrderAmt": "2000000",
                              "maxLimitOrderQty": d(instr.max_qty),
                              "maxMarketOrderQty": d(instr.max_qty),
                              "postOnlyMaxLimitOrderSize": d(instr.max_qty)},
            "priceFilter": {"tickSize": d(instr.tick_size)},
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        }
    inverse = instr.category is Category.INVERSE
    return {
        "symbol": instr.symbol,
        "symbolId": symbol_id,
        "contractType": "InversePerpetual" if inverse else "LinearPerpetual",
        "status": "Trading",
        "baseCoin": instr.base,
        "quoteCoin": instr.quote,
        "launchTime": "1585526400000",
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": _scale(instr.tick_size),
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": d(instr.tick_size), "maxPrice": "1999999.8",
                        "tickSize": d(instr.tick_size)},
        "lotSizeFilter": {"minNotionalValue": "0" if inverse else "5",
                          "maxOrderQty": d(instr.max_qty), "maxMktOrderQty": d(instr.max_qty),
                          "minOrderQty": d(instr.min_qty), "qtyStep": d(instr.qty_step),
                          "postOnlyMaxOrderQty": d(instr.max_qty)},
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "settleCoin": instr.settle_coin,
        "copyTrading": "none" if inverse else "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "displayName": "",
        "forbidUplWithdrawal": False,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "isPreListing": False,
        "preListingInfo": None,
    }
