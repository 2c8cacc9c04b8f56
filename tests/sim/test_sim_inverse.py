"""Inverse contracts (Bybit BTCUSD, Deribit BTC-PERPETUAL): quantities in USD, margin, fees
and PnL in the coin, worked by hand.

TSTUSD: inverse, settled in BTC, tick 0.5, 1 USD contracts, 100000 USD per book level, so
the book is one level deep for every order here: with the mark at 49999.5 the best ask is
ceil(49999.5 + 0.5) = 50000, with the mark at 60000.5 the best bid is 60000. Fees maker
0.0002, taker 0.00055; leverage 10; the account opens with 1 BTC.

Rules (console.sim.accounting): value = qty / price; fee = qty / price * rate, rounded
half-up to 8 places; margin = qty / price / leverage, rounded up; entry = harmonic mean,
rounded half-even; PnL = size * (1 / entry - 1 / price), rounded half-even. Figures with
8 places or fewer are exact and not rounded.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP
from decimal import Decimal as D
from fractions import Fraction

import pytest

from console.domain import Category, OrderStatus, OrderType, PositionSide, Side
from console.sim import (
    DEFAULT_INSTRUMENTS,
    INVERSE_INSTRUMENTS,
    SimExchange,
    SimRejectedError,
    inverse,
)
from console.sim.accounting import (
    apply_inverse_trade,
    inverse_average,
    inverse_fee,
    inverse_margin,
    inverse_pnl,
    to_decimal_places,
)

I = Category.INVERSE  # noqa: E741 - the category's initial, like L for linear elsewhere
TSTUSD = inverse("TSTUSD", "BTC", tick="0.5", step="1", min_qty="1", level_qty="100000",
                 reference_price="50000")


@pytest.fixture
def ex() -> SimExchange:
    exchange = SimExchange(seed=1, clock_ms=lambda: 1_700_000_000_000, instruments=(TSTUSD,))
    exchange.create_account("a", {"BTC": D(1)})
    return exchange


def market(ex: SimExchange, side: Side, qty: int) -> None:
    ex.place_order("a", category=I, symbol="TSTUSD", side=side, order_type=OrderType.MARKET,
                   qty=D(qty))


def btc(ex: SimExchange) -> tuple[D, D, D]:
    b = ex.balance("a", "BTC")
    return b.total, b.free, b.locked


def test_long_entry_is_the_harmonic_mean_and_money_moves_in_the_coin(ex: SimExchange) -> None:
    # 1. buy 1000 USD at 50000 (taker): 1000 / 50000 = 0.02 BTC of contracts
    #    fee 0.02 * 0.00055 = 0.000011 BTC; margin 0.02 / 10 = 0.002 BTC
    ex.set_price(I, "TSTUSD", D("49999.5"))
    market(ex, Side.BUY, 1000)
    fill = ex.fills("a")[-1]
    assert (fill.price, fill.qty, fill.fee, fill.fee_asset) == (D(50000), D(1000),
                                                              D("0.000011"), "BTC")
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and (pos.size, pos.entry_price) == (D(1000), D(50000))
    assert btc(ex) == (D("0.999989"), D("0.997989"), D("0.002"))

    # 2. a resting limit buy of 1000 at 40000 locks 1000 / 40000 / 10 = 0.0025 BTC
    ex.place_order("a", category=I, symbol="TSTUSD", side=Side.BUY,
                   order_type=OrderType.LIMIT, qty=D(1000), price=D(40000))
    assert btc(ex)[2] == D("0.002") + D("0.0025")

    #    the mark falls to 39999.5 (best ask 40000): it fills as a maker,
    #    fee 1000 / 40000 * 0.0002 = 0.000005 BTC
    #    entry = 2000 / (1000 / 50000 + 1000 / 40000) = 2000 / 0.045 = 44444.444...
    #          -> 44444.44444444 (8 places, half-even)
    #    margin = 2000 / (44444.44444444 * 10) = 0.0045000000000004500...: margins round up
    #          -> 0.00450001 (the rounded entry is a hair below 400000/9)
    ex.set_price(I, "TSTUSD", D("39999.5"))
    fill = ex.fills("a")[-1]
    assert (fill.price, fill.fee, fill.fee_asset, fill.is_maker) == (D(40000), D("0.000005"),
                                                                    "BTC", True)
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and (pos.size, pos.entry_price) == (D(2000), D("44444.44444444"))
    assert btc(ex) == (D("0.999984"), D("0.99548399"), D("0.00450001"))

    # 3. mark 45000: uPnL = 2000 * (1 / 44444.44444444 - 1 / 45000)
    #                     = 0.04500000000000450... - 0.04444444444444444...
    #                     = 0.00055555555556005...  -> 0.00055556 BTC
    #    (the exact harmonic entry gives 0.000555555...: the same 8 places)
    ex.set_price(I, "TSTUSD", D(45000))
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and pos.unrealised_pnl == D("0.00055556")
    assert pos.mark_price == D(45000)
    assert btc(ex)[0] == D("0.999984")  # the mark moves no money

    # 4. close: sell 2000 at 60000 (mark 60000.5, best bid 60000)
    #    realised = 2000 * (1 / 44444.44444444 - 1 / 60000)
    #             = 0.04500000000000450... - 0.03333333333333333...
    #             = 0.01166666666667116...  -> 0.01166667 BTC
    #    fee = 2000 / 60000 * 0.00055 = 0.0000183333... -> 0.00001833 (half-up)
    #    wallet = 0.999984 + 0.01166667 - 0.00001833 = 1.01163234; nothing locked
    ex.set_price(I, "TSTUSD", D("60000.5"))
    market(ex, Side.SELL, 2000)
    fill = ex.fills("a")[-1]
    assert (fill.price, fill.fee, fill.fee_asset) == (D(60000), D("0.00001833"), "BTC")
    assert ex.positions("a") == []
    (flat,) = ex.positions("a", include_flat=True)
    assert (flat.size, flat.entry_price, flat.unrealised_pnl) == (D(0), D(0), D(0))
    assert ex.realised_pnl("a", I, "TSTUSD") == D("0.01166667")
    assert btc(ex) == (D("1.01163234"), D("1.01163234"), D(0))
    figures = ex.position_figures("a", I, "TSTUSD")
    assert figures is not None
    # fees 0.000011 + 0.000005 + 0.00001833
    assert (figures.realised_pnl, figures.fees_paid, figures.margin) == (
        D("0.01166667"), D("0.00003433"), D(0))
    assert [b.asset for b in ex.balances("a")] == ["BTC"]  # no USD ever appears


def test_short_reduce_and_flip(ex: SimExchange) -> None:
    # sell 3000 at 30000 (mark 30000.5): fee 3000 / 30000 * 0.00055 = 0.000055;
    # margin 3000 / 30000 / 10 = 0.01
    ex.set_price(I, "TSTUSD", D("30000.5"))
    market(ex, Side.SELL, 3000)
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and (pos.size, pos.entry_price) == (D(-3000), D(30000))
    assert btc(ex) == (D("0.999945"), D("0.989945"), D("0.01"))

    # mark 25000: uPnL = -3000 * (1 / 30000 - 1 / 25000) = -0.1 + 0.12 = 0.02 (exact)
    ex.set_price(I, "TSTUSD", D(25000))
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and pos.unrealised_pnl == D("0.02")

    # buy back 1000 at 24000 (mark 23999.5): realised = -1000 * (1 / 30000 - 1 / 24000)
    #   = 0.041666... - 0.033333... = 0.008333... -> 0.00833333
    # fee 1000 / 24000 * 0.00055 = 0.00002291666... -> 0.00002292
    # the entry stays 30000; margin 2000 / 30000 / 10 = 0.0066666... -> 0.00666667 (up)
    ex.set_price(I, "TSTUSD", D("23999.5"))
    market(ex, Side.BUY, 1000)
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and (pos.size, pos.entry_price) == (D(-2000), D(30000))
    assert ex.realised_pnl("a", I, "TSTUSD") == D("0.00833333")
    assert ex.fills("a")[-1].fee == D("0.00002292")
    # 0.999945 + 0.00833333 - 0.00002292
    assert btc(ex) == (D("1.00825541"), D("1.00825541") - D("0.00666667"), D("0.00666667"))

    # buy 3000 at 24000: closes 2000, realised 2000 / 24000 - 2000 / 30000
    #   = 0.083333... - 0.066666... = 0.016666... -> 0.01666667, and opens a long of 1000
    #   at 24000; fee 3000 / 24000 * 0.00055 = 0.00006875; margin 1000 / 24000 / 10
    #   = 0.004166... -> 0.00416667
    market(ex, Side.BUY, 3000)
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and (pos.size, pos.entry_price) == (D(1000), D(24000))
    assert ex.realised_pnl("a", I, "TSTUSD") == D("0.00833333") + D("0.01666667")
    # 1.00825541 + 0.01666667 - 0.00006875
    assert btc(ex) == (D("1.02485333"), D("1.02485333") - D("0.00416667"), D("0.00416667"))


def test_an_order_that_walks_the_book_averages_harmonically(ex: SimExchange) -> None:
    # levels of 1000 USD, 20000 ticks (10000 USD) apart: asks 50000, 60000, ...
    ex.configure_book(I, "TSTUSD", level_qty=D(1000), level_ticks=20000)
    ex.set_price(I, "TSTUSD", D("49999.5"))
    # a market buy of 2000 needs (1000 / 50000 + 1000 / 60000) / 10 = 0.0036666...
    # -> 0.00366667 BTC of margin (rounded up once, over the whole walk)
    poor = SimExchange(seed=1, clock_ms=lambda: 1, instruments=(TSTUSD,))
    poor.create_account("a", {"BTC": D("0.00366666")})
    poor.configure_book(I, "TSTUSD", level_qty=D(1000), level_ticks=20000)
    poor.set_price(I, "TSTUSD", D("49999.5"))
    with pytest.raises(SimRejectedError) as info:
        poor.place_order("a", category=I, symbol="TSTUSD", side=Side.BUY,
                         order_type=OrderType.MARKET, qty=D(2000))
    assert info.value.code == "insufficient_balance"
    assert "needs 0.00366667 BTC" in str(info.value)

    # 2000 / (0.02 + 0.0166666...) = 54545.4545... -> 54545.45454545, for the order's
    # average price and the position's entry alike
    order = ex.place_order("a", category=I, symbol="TSTUSD", side=Side.BUY,
                           order_type=OrderType.MARKET, qty=D(2000))
    assert order.status is OrderStatus.FILLED
    assert [(f.price, f.qty) for f in ex.fills("a")] == [(D(50000), D(1000)),
                                                         (D(60000), D(1000))]
    assert order.avg_price == D("54545.45454545")
    pos = ex.position("a", I, "TSTUSD")
    assert pos is not None and pos.entry_price == D("54545.45454545")


def test_leverage_re_margins_inverse_positions_and_orders(ex: SimExchange) -> None:
    ex.set_price(I, "TSTUSD", D("49999.5"))
    market(ex, Side.BUY, 1000)  # 0.02 BTC of contracts at 50000
    ex.place_order("a", category=I, symbol="TSTUSD", side=Side.BUY,
                   order_type=OrderType.LIMIT, qty=D(3000), price=D(30000))
    assert btc(ex)[2] == D("0.002") + D("0.01")  # 0.02 / 10 and 3000 / 30000 / 10
    ex.set_leverage("a", I, "TSTUSD", 4)
    assert ex.leverage("a", I, "TSTUSD") == 4
    assert btc(ex)[2] == D("0.005") + D("0.025")  # 0.02 / 4 and 0.1 / 4
    ex.set_leverage("a", I, "TSTUSD", 3)  # 0.02 / 3 and 0.1 / 3, each rounded up
    assert btc(ex)[2] == D("0.00666667") + D("0.03333334")


def test_an_inverse_account_without_the_coin_cannot_trade(ex: SimExchange) -> None:
    ex.create_account("usd-only", {"USDT": D(1_000_000)})
    ex.set_price(I, "TSTUSD", D("49999.5"))
    with pytest.raises(SimRejectedError) as info:
        ex.place_order("usd-only", category=I, symbol="TSTUSD", side=Side.BUY,
                       order_type=OrderType.MARKET, qty=D(1))
    assert info.value.code == "insufficient_balance"
    with pytest.raises(SimRejectedError) as info:
        market(ex, Side.BUY, 0)
    assert info.value.code == "invalid_qty"


def test_inverse_instruments_are_listed_apart_from_the_defaults() -> None:
    assert TSTUSD.category is I and TSTUSD.settle_coin == "BTC" and TSTUSD.quote == "USD"
    assert TSTUSD.is_inverse and TSTUSD.is_derivative
    assert {i.symbol for i in INVERSE_INSTRUMENTS} == {"BTCUSD", "ETHUSD", "BTC-PERPETUAL",
                                                       "ETH-PERPETUAL"}
    assert all(i.category is I for i in INVERSE_INSTRUMENTS)
    assert not any(i.category is I for i in DEFAULT_INSTRUMENTS)
    assert SimExchange().instruments(I) == []
    both = SimExchange(instruments=(*DEFAULT_INSTRUMENTS, *INVERSE_INSTRUMENTS))
    perp = both.instrument(I, "BTC-PERPETUAL")
    assert (perp.qty_step, perp.min_qty, perp.settle_coin) == (D(10), D(10), "BTC")
    linear_btc = both.instrument(Category.LINEAR, "BTCUSDT")
    assert linear_btc.settle_coin == "USDT" and not linear_btc.is_inverse


# -- the arithmetic on its own ---------------------------------------------------------


def test_inverse_formulas_against_hand_results() -> None:
    # harmonic mean of 1000 at 5000 and 2000 at 6000: 3000 / (0.2 + 0.3333...) = 5625
    assert inverse_average(D(1000), D(5000), D(2000), D(6000)) == D(5625)
    assert inverse_average(D(0), D(0), D(7), D("123.5")) == D("123.5")
    # uPnL of a long 1000 at 5000 marked at 5500: 1000 * (1/5000 - 1/5500) = 0.0181818...
    assert inverse_pnl(D(1000), D(5000), D(5500)) == D("0.01818182")
    # a short gains when the price falls: -1000 * (1/5000 - 1/4000) = 0.05
    assert inverse_pnl(D(-1000), D(5000), D(4000)) == D("0.05")
    assert inverse_pnl(D(0), D(0), D(4000)) == D(0)
    assert inverse_fee(D(1000), D(50000), D("-0.0001")) == D("-0.000002")  # a rebate
    assert inverse_margin(D(1), D(3), 1) == D("0.33333334")
    assert inverse_margin(D(0), D(0), 10) == D(0)
    # reduce a long of 1000 at 5000 by 400 at 5500: 400 * (1/5000 - 1/5500) = 0.0072727...
    change = apply_inverse_trade(D(1000), D(5000), D(-400), D(5500))
    assert (change.size, change.entry_price, change.realised_pnl) == (
        D(600), D(5000), D("0.00727273"))


@pytest.mark.parametrize(("value", "rounding", "expected"), [
    (Fraction(1, 50), ROUND_HALF_EVEN, "0.02"),  # exact: not padded to 8 places
    (Fraction(5, 10**9), ROUND_HALF_EVEN, "0"),  # tie to even (0)
    (Fraction(15, 10**9), ROUND_HALF_EVEN, "0.00000002"),  # tie to even (2)
    (Fraction(-15, 10**9), ROUND_HALF_EVEN, "-0.00000002"),
    (Fraction(5, 10**9), ROUND_HALF_UP, "0.00000001"),  # tie away from zero
    (Fraction(-5, 10**9), ROUND_HALF_UP, "-0.00000001"),
    (Fraction(49, 10**10), ROUND_HALF_UP, "0"),
    (Fraction(1, 3), ROUND_UP, "0.33333334"),  # away from zero
    (Fraction(-1, 3), ROUND_UP, "-0.33333334"),
    (Fraction(2, 3), ROUND_HALF_EVEN, "0.66666667"),
    (Fraction(123456789, 1), ROUND_UP, "123456789"),
])
def test_rounding_to_eight_places_is_exact(value: Fraction, rounding: str,
                                           expected: str) -> None:
    result = to_decimal_places(value, rounding)
    assert result == D(expected)
    exponent = result.as_tuple().exponent
    assert isinstance(exponent, int) and exponent >= -8


def test_a_one_way_account_holds_one_inverse_position(ex: SimExchange) -> None:
    ex.set_price(I, "TSTUSD", D("49999.5"))
    market(ex, Side.BUY, 10)
    (pos,) = ex.positions("a")
    assert pos.position_side is PositionSide.ONE_WAY and pos.category is I
