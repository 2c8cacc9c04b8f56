"""Hedge mode: a long and a short position on one instrument side by side, each with its
own entry, PnL, fees and margin, worked by hand.

BTCUSDT (linear): tick 0.1, books reshaped here to 5 BTC per level so every order fills
at one price: with the mark at 60000 the best ask is 60000.1 and the best bid 59999.9.
Fees maker 0.0002, taker 0.00055; leverage 10; the account opens with 100000 USDT.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest
from sim_helpers import Clock

from console.domain import (
    Category,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
)
from console.sim import (
    EventKind,
    PositionMode,
    SimExchange,
    SimRejectedError,
    SimVenue,
    inverse,
)

L = Category.LINEAR
LONG, SHORT, ONE_WAY = PositionSide.LONG, PositionSide.SHORT, PositionSide.ONE_WAY


@pytest.fixture
def hx(ex: SimExchange) -> SimExchange:
    """The shared sim fixture with BTCUSDT in hedge mode and a 5 BTC deep book."""
    ex.configure_book(L, "BTCUSDT", level_qty=D(5))
    ex.set_position_mode("a", PositionMode.HEDGE, category=L, symbol="BTCUSDT")
    return ex


def market(ex: SimExchange, side: Side, qty: str, *, reduce_only: bool = False,
           position_side: PositionSide = ONE_WAY, symbol: str = "BTCUSDT") -> Order:
    return ex.place_order("a", category=L, symbol=symbol, side=side,
                          order_type=OrderType.MARKET, qty=D(qty), reduce_only=reduce_only,
                          position_side=position_side)


def usdt(ex: SimExchange) -> tuple[D, D, D]:
    b = ex.balance("a", "USDT")
    return b.total, b.free, b.locked


def sizes(ex: SimExchange, **kwargs: bool) -> list[tuple[PositionSide, D, D]]:
    return [(p.position_side, p.size, p.entry_price)
            for p in ex.positions("a", category=L, **kwargs) if p.symbol == "BTCUSDT"]


def test_long_and_short_side_by_side(hx: SimExchange) -> None:
    ex = hx
    assert ex.position_mode("a", L, "BTCUSDT") is PositionMode.HEDGE
    # 1. buy 2 (a buy opens LONG): 2 @ 60000.1 = 120000.2, fee 66.00011, margin 12000.02
    market(ex, Side.BUY, "2")
    # 2. sell 1 on SHORT: 1 @ 59999.9, fee 32.999945, margin 5999.99
    market(ex, Side.SELL, "1", position_side=SHORT)
    assert sizes(ex) == [(LONG, D(2), D("60000.1")), (SHORT, D(-1), D("59999.9"))]
    # wallet 100000 - 66.00011 - 32.999945; both margins locked
    assert usdt(ex) == (D("99900.999945"), D("99900.999945") - D("18000.01"), D("18000.01"))

    # 3. mark 61000: LONG (61000 - 60000.1) * 2 = 1999.8, SHORT (61000 - 59999.9) * -1
    ex.set_price(L, "BTCUSDT", D(61000))
    long_pos = ex.position("a", L, "BTCUSDT", LONG)
    short_pos = ex.position("a", L, "BTCUSDT", SHORT)
    assert long_pos is not None and long_pos.unrealised_pnl == D("1999.8")
    assert short_pos is not None and short_pos.unrealised_pnl == D("-1000.1")
    assert ex.position("a", L, "BTCUSDT") is None  # no one-way position here

    # 4. a reduce-only sell closes LONG (not: opens SHORT): 1 @ 60999.9,
    #    realised 1 * (60999.9 - 60000.1) = 999.8, fee 60999.9 * 0.00055 = 33.549945
    market(ex, Side.SELL, "1", reduce_only=True)
    assert sizes(ex) == [(LONG, D(1), D("60000.1")), (SHORT, D(-1), D("59999.9"))]

    # 5. a reduce-only buy of 2 on SHORT is cut to the 1 there is: 1 @ 61000.1,
    #    realised 1 * (61000.1 - 59999.9) * -1 = -1000.2, fee 61000.1 * 0.00055 = 33.550055
    order = market(ex, Side.BUY, "2", reduce_only=True, position_side=SHORT)
    assert (order.qty, order.filled_qty, order.status) == (D(1), D(1), OrderStatus.FILLED)
    assert sizes(ex) == [(LONG, D(1), D("60000.1"))]
    assert sizes(ex, include_flat=True) == [(LONG, D(1), D("60000.1")), (SHORT, D(0), D(0))]

    # per side: realised PnL, fees, margin
    long_fig = ex.position_figures("a", L, "BTCUSDT", LONG)
    short_fig = ex.position_figures("a", L, "BTCUSDT", SHORT)
    assert long_fig is not None and short_fig is not None
    assert (long_fig.realised_pnl, long_fig.fees_paid, long_fig.margin) == (
        D("999.8"), D("66.00011") + D("33.549945"), D("6000.01"))
    assert (short_fig.realised_pnl, short_fig.fees_paid, short_fig.margin) == (
        D("-1000.2"), D("32.999945") + D("33.550055"), D(0))
    assert ex.realised_pnl("a", L, "BTCUSDT", LONG) == D("999.8")
    assert ex.realised_pnl("a", L, "BTCUSDT", SHORT) == D("-1000.2")
    assert ex.realised_pnl("a", L, "BTCUSDT") == D("-0.4")  # both sides
    # 99900.999945 + 999.8 - 33.549945 - 1000.2 - 33.550055
    assert usdt(ex) == (D("99833.499945"), D("99833.499945") - D("6000.01"), D("6000.01"))

    # 6. nothing left on SHORT: a reduce-only buy is refused, as in one-way mode
    with pytest.raises(SimRejectedError) as info:
        market(ex, Side.BUY, "1", reduce_only=True)
    assert info.value.code == "reduce_only_rejected"
    # and a reduce-only buy cannot reduce the LONG
    with pytest.raises(SimRejectedError) as info:
        market(ex, Side.BUY, "1", reduce_only=True, position_side=LONG)
    assert info.value.code == "reduce_only_rejected"


def test_a_sell_on_long_closes_and_never_opens_a_short(hx: SimExchange) -> None:
    market(hx, Side.BUY, "1")  # LONG 1 @ 60000.1
    # not sent reduce-only, but a sell on LONG can only close it: cut to 1, locks nothing
    order = market(hx, Side.SELL, "3", position_side=LONG)
    assert (order.qty, order.status, order.reduce_only) == (D(1), OrderStatus.FILLED, False)
    assert sizes(hx, include_flat=True) == [(LONG, D(0), D(0))]
    assert usdt(hx)[2] == D(0)
    with pytest.raises(SimRejectedError) as info:
        market(hx, Side.SELL, "1", position_side=LONG)
    assert info.value.code == "reduce_only_rejected"


def test_resting_closers_wait_on_their_own_side(hx: SimExchange) -> None:
    ex = hx
    market(ex, Side.BUY, "1")  # LONG 1 @ 60000.1
    market(ex, Side.SELL, "1")  # SHORT -1 @ 59999.9 (a sell opens SHORT)
    locked = usdt(ex)[2]
    take_profit = ex.place_order("a", category=L, symbol="BTCUSDT", side=Side.SELL,
                                 order_type=OrderType.LIMIT, qty=D(1), price=D(60100),
                                 reduce_only=True)
    cover = ex.place_order("a", category=L, symbol="BTCUSDT", side=Side.BUY,
                           order_type=OrderType.LIMIT, qty=D(1), price=D(59000),
                           reduce_only=True)
    assert usdt(ex)[2] == locked  # closing orders lock no margin
    assert take_profit.status is OrderStatus.NEW and cover.status is OrderStatus.NEW

    # the operator closes LONG by hand; the SHORT stays, and so do both orders
    closed = ex.close_position("a", L, "BTCUSDT", LONG)
    assert (closed.side, closed.qty, closed.reduce_only) == (Side.SELL, D(1), True)
    assert sizes(ex) == [(SHORT, D(-1), D("59999.9"))]
    assert len(ex.open_orders("a", L, "BTCUSDT")) == 2

    # the take-profit's price is reached: nothing on LONG to reduce, it is cancelled
    ex.set_price(L, "BTCUSDT", D("60100.1"))
    assert ex.order_reason("a", take_profit.venue_order_id) == "reduce_only_no_position"
    # the cover of the SHORT is untouched and fills when its price comes
    ex.set_price(L, "BTCUSDT", D("58999.9"))
    done = ex.get_order("a", cover.venue_order_id)
    assert done is not None and done.status is OrderStatus.FILLED
    # SHORT realised (59000 - 59999.9) * 1 * -1 = 999.9
    assert ex.realised_pnl("a", L, "BTCUSDT", SHORT) == D("999.9")
    assert sizes(ex) == []


def test_close_position_without_a_side_needs_exactly_one_open(hx: SimExchange) -> None:
    market(hx, Side.BUY, "1")
    market(hx, Side.SELL, "2")
    with pytest.raises(SimRejectedError) as info:
        hx.close_position("a", L, "BTCUSDT")
    assert info.value.code == "invalid_request"
    hx.close_position("a", L, "BTCUSDT", SHORT)
    closed = hx.close_position("a", L, "BTCUSDT")  # only LONG is open
    assert closed.side is Side.SELL
    with pytest.raises(SimRejectedError) as info:
        hx.close_position("a", L, "BTCUSDT", LONG)
    assert info.value.code == "no_position"


def test_position_events_name_their_side(hx: SimExchange) -> None:
    start = hx.last_seq("a")
    market(hx, Side.BUY, "1")
    market(hx, Side.SELL, "1")
    events = [e.payload for e in hx.events_since("a", start)
              if e.kind is EventKind.POSITION and isinstance(e.payload, Position)]
    assert [(p.position_side, p.size) for p in events] == [(LONG, D(1)), (SHORT, D(-1))]
    assert len({p.key for p in events}) == 2


def test_one_way_is_the_default_and_refuses_a_position_side(ex: SimExchange) -> None:
    assert ex.position_mode("a", L, "BTCUSDT") is PositionMode.ONE_WAY
    with pytest.raises(SimRejectedError) as info:
        market(ex, Side.BUY, "1", position_side=LONG)
    assert info.value.code == "invalid_request"
    with pytest.raises(SimRejectedError) as info:
        ex.place_order("a", category=Category.SPOT, symbol="BTCUSDT", side=Side.BUY,
                       order_type=OrderType.MARKET, qty=D("0.001"), position_side=LONG)
    assert info.value.code == "invalid_request"
    market(ex, Side.BUY, "1")
    market(ex, Side.SELL, "0.4")  # one-way: the sell reduces the one position
    (pos,) = ex.positions("a")
    assert (pos.position_side, pos.size) == (ONE_WAY, D("0.6"))


def test_switching_modes_needs_a_quiet_instrument(ex: SimExchange) -> None:
    market(ex, Side.BUY, "1", symbol="TSTUSDT")
    with pytest.raises(SimRejectedError) as info:  # an open position
        ex.set_position_mode("a", PositionMode.HEDGE, category=L, symbol="TSTUSDT")
    assert info.value.code == "invalid_request"
    market(ex, Side.SELL, "1", symbol="TSTUSDT")
    ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                   order_type=OrderType.LIMIT, qty=D(1), price=D(90))
    with pytest.raises(SimRejectedError) as info:  # an active order
        ex.set_position_mode("a", PositionMode.HEDGE)
    assert info.value.code == "invalid_request"
    ex.cancel_all("a", L)
    ex.set_position_mode("a", PositionMode.HEDGE)  # the account's default now
    assert ex.position_mode("a", L, "TSTUSDT") is PositionMode.HEDGE
    assert ex.position_mode("a", L, "ETHUSDT") is PositionMode.HEDGE
    ex.set_position_mode("a", PositionMode.ONE_WAY, category=L, symbol="ETHUSDT")
    assert ex.position_mode("a", L, "ETHUSDT") is PositionMode.ONE_WAY
    assert ex.position_mode("a", L, "TSTUSDT") is PositionMode.HEDGE

    for bad in ({"category": L}, {"category": Category.SPOT, "symbol": "BTCUSDT"}):
        with pytest.raises(SimRejectedError) as info:
            ex.set_position_mode("a", PositionMode.HEDGE, **bad)
        assert info.value.code == "invalid_request"

    ex.create_account("h", {"USDT": D(1000)}, position_mode=PositionMode.HEDGE)
    assert ex.position_mode("h", L, "BTCUSDT") is PositionMode.HEDGE


def test_leverage_re_margins_both_sides(hx: SimExchange) -> None:
    market(hx, Side.BUY, "1")  # 60000.1 -> margin 6000.01
    market(hx, Side.SELL, "1")  # 59999.9 -> margin 5999.99
    assert usdt(hx)[2] == D("12000.00")
    hx.set_leverage("a", L, "BTCUSDT", 5)
    long_fig = hx.position_figures("a", L, "BTCUSDT", LONG)
    short_fig = hx.position_figures("a", L, "BTCUSDT", SHORT)
    assert long_fig is not None and short_fig is not None
    assert (long_fig.margin, short_fig.margin) == (D("12000.02"), D("11999.98"))
    assert usdt(hx)[2] == D(24000)


def test_inverse_hedge_books_each_side_in_the_coin(clock: Clock) -> None:
    instr = inverse("TSTUSD", "BTC", tick="0.5", step="1", min_qty="1", level_qty="100000")
    ex = SimExchange(seed=3, clock_ms=clock, instruments=(instr,))
    ex.create_account("a", {"BTC": D(1)}, position_mode=PositionMode.HEDGE)
    inv = Category.INVERSE
    ex.set_price(inv, "TSTUSD", D("49999.5"))  # best ask 50000, best bid 49999
    for side, qty in ((Side.BUY, 1000), (Side.SELL, 500)):
        ex.place_order("a", category=inv, symbol="TSTUSD", side=side,
                       order_type=OrderType.MARKET, qty=D(qty))
    long_fig = ex.position_figures("a", inv, "TSTUSD", LONG)
    short_fig = ex.position_figures("a", inv, "TSTUSD", SHORT)
    assert long_fig is not None and short_fig is not None
    # LONG 1000 @ 50000: fee 0.02 * 0.00055 = 0.000011, margin 0.002
    assert (long_fig.size, long_fig.entry_price, long_fig.fees_paid, long_fig.margin,
            long_fig.margin_asset) == (D(1000), D(50000), D("0.000011"), D("0.002"), "BTC")
    # SHORT 500 @ 49999: fee 500 / 49999 * 0.00055 = 0.0000055001... -> 0.0000055,
    # margin 500 / 49999 / 10 = 0.00100002000... -> 0.00100003 (up)
    assert (short_fig.size, short_fig.entry_price, short_fig.fees_paid, short_fig.margin) == (
        D(-500), D(49999), D("0.0000055"), D("0.00100003"))
    # uPnL at 49999.5: LONG 1000 * (1/50000 - 1/49999.5) = -0.000000200002 -> -0.0000002
    #                  SHORT -500 * (1/49999 - 1/49999.5) = -0.000000100003 -> -0.0000001
    pnl = {p.position_side: p.unrealised_pnl for p in ex.positions("a")}
    assert pnl == {LONG: D("-0.0000002"), SHORT: D("-0.0000001")}
    assert ex.balance("a", "BTC").locked == D("0.00300003")


def test_the_venue_port_carries_the_position_side(hx: SimExchange) -> None:
    venue = SimVenue(hx, "a")
    intent = Order(venue="sim", account="a", category=L, symbol="BTCUSDT", side=Side.BUY,
                   type=OrderType.MARKET, qty=D(1), status=OrderStatus.PENDING_NEW,
                   client_order_id="rc-w1-e-1")

    async def scenario() -> list[tuple[PositionSide, D]]:
        await venue.place_order(intent)  # inferred: a buy opens LONG
        await venue.place_order(intent.evolve(client_order_id="rc-w1-e-2", side=Side.SELL,
                                              qty=D(2)), position_side=SHORT)
        return [(p.position_side, p.size) for p in await venue.fetch_positions()]

    assert asyncio.run(scenario()) == [(LONG, D(1)), (SHORT, D(-2))]
