"""The exchange as Binance shows it: one place that reads the sim for the JSON shapes.

`BinanceViews` gathers what `shapes` needs beyond a record: the Binance ids (`Ids`), the
hedge-mode position side of an order, whether an algo order triggered, the quote amount
an order filled (from its fills, cached per account state: the sim's event sequence
number moves with every change), marks, leverage and margins. Positions, balances and
account figures are computed here too, from the sim's positions and balances, in the
settle coin (USD-M is served in single-asset mode).

Margins: the position's initial margin is |notional at the mark| / leverage (Binance
uses the mark price); maintenance margin uses a flat 0.4 % rate (Binance's first
bracket for most symbols; brackets are not simulated); the liquidation price is "0" and
the break-even price is the entry price (fees are not folded in): both UNVERIFIED
simplifications, documented so a client does not read meaning into them.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Final

from console.domain.enums import Category, OrderStatus, OrderType, PositionSide, Side
from console.domain.model import Balance, Fill, Order, Position
from console.domain.values import ZERO
from console.sim.binance import shapes
from console.sim.binance.ids import Ids
from console.sim.binance.shapes import num
from console.sim.core import SimExchange
from console.sim.protocol.wire import JsonObj
from console.sim.state import PositionMode

MAINT_RATE: Final = Decimal("0.004")
MAX_NOTIONAL: Final = "1000000000"
_LIVE: Final = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED})
_PS_NAME: Final = {PositionSide.ONE_WAY: "BOTH", PositionSide.LONG: "LONG",
                   PositionSide.SHORT: "SHORT"}
_TRIGGERED_REASONS: Final = shapes.EXPIRED_REASONS | {"insufficient_balance"}


class _FillIndex:
    """An account's fills by sim order id, with the quote filled; rebuilt when the
    account's state moved."""

    def __init__(self, seq: int, fills: Iterable[Fill]) -> None:
        self.seq = seq
        self.by_order: dict[str, list[Fill]] = {}
        self.quote: dict[str, Decimal] = {}
        for fill in fills:
            self.by_order.setdefault(fill.venue_order_id, []).append(fill)
            self.quote[fill.venue_order_id] = self.quote.get(fill.venue_order_id, ZERO) \
                + fill.price * fill.qty


class BinanceViews:
    """Binance JSON for the records of one exchange. Runs on the server's loop."""

    def __init__(self, exchange: SimExchange, ids: Ids) -> None:
        self.exchange = exchange
        self.ids = ids
        self._fills: dict[str, _FillIndex] = {}
        self.orig_quote: dict[str, Decimal] = {}
        """Spot quoteOrderQty per sim order id (what the sim does not record)."""

    # -- bookkeeping -----------------------------------------------------------------------

    def fill_index(self, account: str) -> _FillIndex:
        seq = self.exchange.last_seq(account)
        index = self._fills.get(account)
        if index is None or index.seq != seq:
            index = _FillIndex(seq, self.exchange.fills(account))
            self._fills[account] = index
        return index

    def cum_quote(self, order: Order) -> Decimal:
        return self.fill_index(order.account).quote.get(order.venue_order_id, ZERO)

    def order_fills(self, order: Order) -> list[Fill]:
        return list(self.fill_index(order.account).by_order.get(order.venue_order_id, ()))

    def reason(self, order: Order) -> str:
        if not order.status.is_terminal:
            return ""
        return self.exchange.order_reason(order.account, order.venue_order_id)

    def triggered(self, order: Order) -> bool:
        """Whether a conditional order ever triggered: noted live by the front-end's
        event observer, else read off what it did (a fill, an engine-side ending)."""
        if order.trigger_price is None:
            return False
        sim_id = order.venue_order_id
        if self.ids.was_triggered(sim_id) or order.status in _LIVE or order.filled_qty > 0:
            return True
        return order.status.is_terminal and self.reason(order) in _TRIGGERED_REASONS

    def position_side(self, order: Order) -> str:
        """"BOTH" in one-way mode; in hedge mode the side the order was placed for, or the
        one the sim infers (a buy opens LONG, a reduce-only buy closes SHORT)."""
        noted = self.ids.position_side(order.venue_order_id)
        if noted is not None:
            return noted
        if order.category is not Category.LINEAR or self.exchange.position_mode(
                order.account, order.category, order.symbol) is not PositionMode.HEDGE:
            return "BOTH"
        return "LONG" if (order.side is Side.BUY) != order.reduce_only else "SHORT"

    # -- USD-M orders ----------------------------------------------------------------------

    def futures_order(self, order: Order, kind: str) -> JsonObj:
        orig_type = ""
        if order.trigger_price is not None:
            orig_type = shapes.algo_type(order.side, order.trigger_direction, order.type)
        return shapes.futures_order(
            order, order_id=self.ids.order_id(order.venue_order_id),
            position_side=self.position_side(order), reason=self.reason(order),
            cum_quote=self.cum_quote(order), kind=kind, orig_type=orig_type)

    def algo_order(self, order: Order, kind: str) -> JsonObj:
        sim_id = order.venue_order_id
        triggered = self.triggered(order)
        actual = self.ids.actual_order_id(sim_id) if triggered else None
        return shapes.algo_order(
            order, algo_id=self.ids.algo_id(sim_id), position_side=self.position_side(order),
            triggered=triggered, trigger_time=self.ids.trigger_time(sim_id) or order.updated_at,
            actual_order_id=actual, kind=kind)

    def futures_trade(self, fill: Fill) -> JsonObj:
        order = self.exchange.order_by_venue_id(fill.account, fill.venue_order_id)
        side = self.position_side(order) if order is not None else "BOTH"
        return shapes.futures_trade(fill, trade_id=self.ids.trade_id(fill.exec_id),
                                    order_id=self.ids.order_id(fill.venue_order_id),
                                    position_side=side)

    # -- spot orders -----------------------------------------------------------------------

    def spot_order(self, order: Order) -> JsonObj:
        return shapes.spot_order(order, order_id=self.ids.order_id(order.venue_order_id),
                                 reason=self.reason(order), cum_quote=self.cum_quote(order),
                                 orig_quote=self.orig_quote.get(order.venue_order_id, ZERO))

    def spot_result(self, order: Order, now_ms: int) -> JsonObj:
        return shapes.spot_result(order, order_id=self.ids.order_id(order.venue_order_id),
                                  reason=self.reason(order), cum_quote=self.cum_quote(order),
                                  orig_quote=self.orig_quote.get(order.venue_order_id, ZERO),
                                  transact_time=order.created_at or now_ms)

    def spot_cancel(self, order: Order, cancel_client_id: str, now_ms: int) -> JsonObj:
        return shapes.spot_cancel(order, order_id=self.ids.order_id(order.venue_order_id),
                                  reason=self.reason(order), cum_quote=self.cum_quote(order),
                                  orig_quote=self.orig_quote.get(order.venue_order_id, ZERO),
                                  cancel_client_id=cancel_client_id,
                                  transact_time=order.updated_at or now_ms)

    def spot_fills(self, order: Order) -> list[JsonObj]:
        return [shapes.spot_fill(f, trade_id=self.ids.trade_id(f.exec_id))
                for f in self.order_fills(order)]

    def spot_trade(self, fill: Fill) -> JsonObj:
        return shapes.spot_trade(fill, trade_id=self.ids.trade_id(fill.exec_id),
                                 order_id=self.ids.order_id(fill.venue_order_id))

    # -- positions and balances ------------------------------------------------------------

    def _order_margin(self, account: str, symbol: str,
                      position_side: str | None) -> tuple[Decimal, Decimal, Decimal]:
        """(initial margin, bid notional, ask notional) of the open regular limit orders
        on `symbol` (of one hedge-mode side when given)."""
        ex = self.exchange
        leverage = Decimal(ex.leverage(account, Category.LINEAR, symbol))
        margin = bids = asks = ZERO
        for order in ex.open_orders(account, Category.LINEAR, symbol):
            if order.trigger_price is not None or order.type is not OrderType.LIMIT \
                    or order.price is None:
                continue
            if position_side is not None and self.position_side(order) != position_side:
                continue
            notional = (order.qty - order.filled_qty) * order.price
            if order.reduce_only:
                continue
            margin += notional / leverage
            if order.side is Side.BUY:
                bids += notional
            else:
                asks += notional
        return margin, bids, asks

    def _positions(self, account: str, symbol: str) -> list[tuple[str, Position | None]]:
        ex = self.exchange
        sides: tuple[PositionSide, ...] = (PositionSide.ONE_WAY,)
        if ex.position_mode(account, Category.LINEAR, symbol) is PositionMode.HEDGE:
            sides = (PositionSide.LONG, PositionSide.SHORT)
        return [(_PS_NAME[side], ex.position(account, Category.LINEAR, symbol, side))
                for side in sides]

    def _symbols(self, account: str, wanted: str = "") -> list[str]:
        """Symbols with a position or open orders (what v3 lists), optionally one."""
        ex = self.exchange
        busy = {o.symbol for o in ex.open_orders(account, Category.LINEAR)}
        busy |= {p.symbol for p in ex.positions(account, category=Category.LINEAR)}
        return sorted(s for s in busy if not wanted or s == wanted)

    def position_v3(self, account: str, symbol: str) -> list[JsonObj]:
        ex = self.exchange
        instr = ex.instrument(Category.LINEAR, symbol)
        mark = ex.mark_price(Category.LINEAR, symbol) or ZERO
        leverage = Decimal(ex.leverage(account, Category.LINEAR, symbol))
        hedge = ex.position_mode(account, Category.LINEAR, symbol) is PositionMode.HEDGE
        out: list[JsonObj] = []
        for side, pos in self._positions(account, symbol):
            size = pos.size if pos is not None else ZERO
            entry = pos.entry_price if pos is not None and size != 0 else ZERO
            upl = (pos.unrealised_pnl or ZERO) if pos is not None else ZERO
            notional = size * mark
            position_im = abs(notional) / leverage
            order_im, bids, asks = self._order_margin(account, symbol, side if hedge else None)
            out.append({
                "symbol": symbol, "positionSide": side, "positionAmt": num(size),
                "entryPrice": num(entry), "breakEvenPrice": num(entry), "markPrice": num(mark),
                "unRealizedProfit": num(upl), "liquidationPrice": "0", "isolatedMargin": "0",
                "notional": num(notional), "marginAsset": instr.settle_coin,
                "isolatedWallet": "0", "initialMargin": num(position_im + order_im),
                "maintMargin": num(abs(notional) * MAINT_RATE),
                "positionInitialMargin": num(position_im),
                "openOrderInitialMargin": num(order_im), "adl": 0,
                "bidNotional": num(bids), "askNotional": num(asks),
                "updateTime": pos.updated_at if pos is not None else 0,
            })
        return out

    def positions_v3(self, account: str, symbol: str = "") -> list[JsonObj]:
        return [row for sym in self._symbols(account, symbol)
                for row in self.position_v3(account, sym)]

    def positions_v2(self, account: str, symbol: str = "") -> list[JsonObj]:
        """Every USD-M symbol (or one), as v2 lists them."""
        ex = self.exchange
        out: list[JsonObj] = []
        for instr in ex.instruments(Category.LINEAR):
            if symbol and instr.symbol != symbol:
                continue
            leverage = ex.leverage(account, Category.LINEAR, instr.symbol)
            for row in self.position_v3(account, instr.symbol):
                out.append({
                    "entryPrice": row["entryPrice"], "breakEvenPrice": row["breakEvenPrice"],
                    "marginType": "cross", "isAutoAddMargin": "false", "isolatedMargin": "0",
                    "leverage": str(leverage), "liquidationPrice": "0",
                    "markPrice": row["markPrice"], "maxNotionalValue": MAX_NOTIONAL,
                    "positionAmt": row["positionAmt"], "notional": row["notional"],
                    "isolatedWallet": "0", "symbol": instr.symbol,
                    "unRealizedProfit": row["unRealizedProfit"],
                    "positionSide": row["positionSide"], "updateTime": row["updateTime"]})
        return out

    def _coin_figures(self, account: str) -> dict[str, dict[str, Decimal]]:
        """Per settle coin: unrealised PnL, position and order initial margin, maint."""
        figures: dict[str, dict[str, Decimal]] = {}
        for symbol in self._symbols(account):
            for row in self.position_v3(account, symbol):
                coin = figures.setdefault(row["marginAsset"], {
                    "upl": ZERO, "pim": ZERO, "oim": ZERO, "mm": ZERO})
                coin["upl"] += Decimal(row["unRealizedProfit"])
                coin["pim"] += Decimal(row["positionInitialMargin"])
                coin["oim"] += Decimal(row["openOrderInitialMargin"])
                coin["mm"] += Decimal(row["maintMargin"])
        return figures

    def balances(self, account: str) -> list[JsonObj]:
        """/fapi/v2|v3/balance: every asset of the account."""
        figures = self._coin_figures(account)
        alias = _alias(account)
        out: list[JsonObj] = []
        for balance in self.exchange.balances(account):
            upl = figures.get(balance.asset, {}).get("upl", ZERO)
            out.append({
                "accountAlias": alias, "asset": balance.asset, "balance": num(balance.total),
                "crossWalletBalance": num(balance.total), "crossUnPnl": num(upl),
                "availableBalance": num(balance.free + upl),
                "maxWithdrawAmount": num(max(ZERO, min(balance.free, balance.free + upl))),
                "marginAvailable": True, "updateTime": balance.updated_at})
        return out

    def account_v3(self, account: str) -> JsonObj:
        figures = self._coin_figures(account)
        assets: list[JsonObj] = []
        totals = {"USDT": _asset(None, {}), }
        for balance in self.exchange.balances(account):
            row = _asset(balance, figures.get(balance.asset, {}))
            assets.append(row)
            if balance.asset == "USDT":
                totals["USDT"] = row
        usdt = totals["USDT"]
        positions = [{
            "symbol": row["symbol"], "positionSide": row["positionSide"],
            "positionAmt": row["positionAmt"], "unrealizedProfit": row["unRealizedProfit"],
            "isolatedMargin": "0", "notional": row["notional"], "isolatedWallet": "0",
            "initialMargin": row["initialMargin"], "maintMargin": row["maintMargin"],
            "updateTime": row["updateTime"]} for row in self.positions_v3(account)]
        return {
            "totalInitialMargin": usdt["initialMargin"], "totalMaintMargin": usdt["maintMargin"],
            "totalWalletBalance": usdt["walletBalance"],
            "totalUnrealizedProfit": usdt["unrealizedProfit"],
            "totalMarginBalance": usdt["marginBalance"],
            "totalPositionInitialMargin": usdt["positionInitialMargin"],
            "totalOpenOrderInitialMargin": usdt["openOrderInitialMargin"],
            "totalCrossWalletBalance": usdt["crossWalletBalance"],
            "totalCrossUnPnl": usdt["crossUnPnl"], "availableBalance": usdt["availableBalance"],
            "maxWithdrawAmount": usdt["maxWithdrawAmount"], "assets": assets,
            "positions": positions,
        }

    def spot_balances(self, account: str, *, omit_zero: bool = False) -> list[JsonObj]:
        """free and locked as the sim books them (one wallet serves both markets)."""
        return [{"asset": b.asset, "free": num(b.free), "locked": num(b.locked)}
                for b in self.exchange.balances(account)
                if not omit_zero or b.total != 0 or b.locked != 0]


def _asset(balance: Balance | None, figures: dict[str, Decimal]) -> JsonObj:
    total = balance.total if balance is not None else ZERO
    free = balance.free if balance is not None else ZERO
    upl = figures.get("upl", ZERO)
    pim, oim = figures.get("pim", ZERO), figures.get("oim", ZERO)
    return {
        "asset": balance.asset if balance is not None else "USDT",
        "walletBalance": num(total), "unrealizedProfit": num(upl),
        "marginBalance": num(total + upl), "maintMargin": num(figures.get("mm", ZERO)),
        "initialMargin": num(pim + oim), "positionInitialMargin": num(pim),
        "openOrderInitialMargin": num(oim), "crossWalletBalance": num(total),
        "crossUnPnl": num(upl), "availableBalance": num(free + upl),
        "maxWithdrawAmount": num(max(ZERO, min(free, free + upl))),
        "updateTime": balance.updated_at if balance is not None else 0,
    }


def _alias(account: str) -> str:
    """A stable four-letter account alias (Binance's "unique account code")."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    value = sum((i + 1) * ord(c) for i, c in enumerate(account))
    return "".join(letters[(value // 52**k) % 52] for k in range(4))
