"""Positions, average entry, realised PnL, fees and balances, computed by hand.

TSTUSDT: mark 100, asks 100.1, 100.2, ..., bids 99.9, 99.8, ..., 10 per level;
fees maker 0.0002, taker 0.00055; leverage 10; the account opens with 100000 USDT.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from console.domain import Category, OrderType, Side
from console.sim import SimExchange, SimRejectedError

L = Category.LINEAR
S = Category.SPOT


def market(ex: SimExchange, side: Side, qty: str, *, symbol: str = "TSTUSDT",
           category: Category = L) -> None:
    ex.place_order("a", category=category, symbol=symbol, side=side,
                   order_type=OrderType.MARKET, qty=D(qty))


def limit(ex: SimExchange, side: Side, qty: str, price: str, *, symbol: str = "TSTUSDT",
          category: Category = L) -> None:
    ex.place_order("a", category=category, symbol=symbol, side=side,
                   order_type=OrderType.LIMIT, qty=D(qty), price=D(price))


def usdt(ex: SimExchange) -> tuple[D, D, D]:
    b = ex.balance("a", "USDT")
    return b.total, b.free, b.locked


def test_position_life_cycle_entry_pnl_fees_and_margin(ex: SimExchange) -> None:
    # 1. buy 10 at market: one fill at 100.1, taker fee 1001 * 0.00055
    market(ex, Side.BUY, "10")
    pos = ex.position("a", L, "TSTUSDT")
    assert pos is not None and (pos.size, pos.entry_price) == (D(10), D("100.1"))
    assert ex.fills("a")[-1].fee == D("0.55055") and ex.fills("a")[-1].fee_asset == "USDT"
    assert usdt(ex) == (D("99999.44945"), D("99999.44945") - D("100.1"), D("100.1"))

    # 2. add 10 as a maker at 99: entry (1001 + 990) / 20, maker fee 990 * 0.0002
    limit(ex, Side.BUY, "10", "99")
    assert usdt(ex)[2] == D("100.1") + D("99")  # position margin + order margin
    ex.set_price(L, "TSTUSDT", D("98.9"))
    pos = ex.position("a", L, "TSTUSDT")
    assert pos is not None and (pos.size, pos.entry_price) == (D(20), D("99.55"))
    assert ex.fills("a")[-1].fee == D("0.198") and ex.fills("a")[-1].is_maker
    assert usdt(ex) == (D("99999.25145"), D("99999.25145") - D("199.1"), D("199.1"))
    # unrealised at mark 98.9: (98.9 - 99.55) * 20
    assert pos.mark_price == D("98.9") and pos.unrealised_pnl == D("-13.00")

    # 3. reduce 5 at 98.8: realised 5 * (98.8 - 99.55) = -3.75, fee 494 * 0.00055
    market(ex, Side.SELL, "5")
    pos = ex.position("a", L, "TSTUSDT")
    assert pos is not None and (pos.size, pos.entry_price) == (D(15), D("99.55"))
    assert ex.realised_pnl("a", L, "TSTUSDT") == D("-3.75")
    assert usdt(ex) == (D("99995.22975"), D("99995.22975") - D("149.325"), D("149.325"))

    # 4. flip with a sell of 20: 10 @ 98.8 close 10 (-7.5), 10 @ 98.7 close 5 (-4.25) and
    #    open short 5 at 98.7; fees 988 * 0.00055 and 987 * 0.00055
    market(ex, Side.SELL, "20")
    pos = ex.position("a", L, "TSTUSDT")
    assert pos is not None and (pos.size, pos.entry_price) == (D(-5), D("98.7"))
    assert ex.realised_pnl("a", L, "TSTUSDT") == D("-15.5")
    assert [f.fee for f in ex.fills("a")[-2:]] == [D("0.5434"), D("0.54285")]
    assert usdt(ex) == (D("99982.3935"), D("99982.3935") - D("49.35"), D("49.35"))
    assert pos.unrealised_pnl == D("-1.0")  # (98.9 - 98.7) * -5

    # 5. close with a buy of 5 at 99: realised 5 * (99 - 98.7) * -1 = -1.5, fee 495 * 0.00055
    market(ex, Side.BUY, "5")
    assert ex.positions("a") == []
    (flat,) = ex.positions("a", include_flat=True)
    assert (flat.size, flat.entry_price, flat.unrealised_pnl) == (D(0), D(0), D(0))
    assert usdt(ex) == (D("99980.62125"), D("99980.62125"), D(0))
    assert ex.realised_pnl("a", L, "TSTUSDT") == D("-17.0")


def test_adding_to_a_short_averages_its_entry(ex: SimExchange) -> None:
    market(ex, Side.SELL, "10")  # 10 @ 99.9
    ex.set_price(L, "TSTUSDT", D(101))
    market(ex, Side.SELL, "10")  # 10 @ 100.9
    pos = ex.position("a", L, "TSTUSDT")
    assert pos is not None and (pos.size, pos.entry_price) == (D(-20), D("100.4"))
    assert pos.unrealised_pnl == D("-12.0")  # (101 - 100.4) * -20
    ex.set_price(L, "TSTUSDT", D(90))
    market(ex, Side.BUY, "10")  # 10 @ 90.1: realised 10 * (90.1 - 100.4) * -1 = 103
    assert ex.realised_pnl("a", L, "TSTUSDT") == D("103.0")


def test_average_entry_is_rounded_to_eight_places(ex: SimExchange) -> None:
    market(ex, Side.BUY, "10")  # 10 @ 100.1
    ex.set_price(L, "TSTUSDT", D(100))  # unchanged book
    ex.configure_book(L, "TSTUSDT", level_qty=D(20))
    ex.set_price(L, "TSTUSDT", D("100.1"))
    market(ex, Side.BUY, "20")  # 20 @ 100.2: (1001 + 2004) / 30 = 100.1666...
    pos = ex.position("a", L, "TSTUSDT")
    assert pos is not None and pos.entry_price == D("100.16666667")


def test_leverage_changes_the_margin(ex: SimExchange) -> None:
    market(ex, Side.BUY, "10")  # 10 @ 100.1
    limit(ex, Side.BUY, "10", "99")
    assert usdt(ex)[2] == D("100.1") + D(99)
    ex.set_leverage("a", L, "TSTUSDT", 5)
    assert ex.leverage("a", L, "TSTUSDT") == 5
    assert usdt(ex)[2] == D("200.2") + D(198)
    ex.set_leverage("a", L, "TSTUSDT", 3)  # 1001 / 3 and 990 / 3, rounded up
    assert usdt(ex)[2] == D("333.66666667") + D(330)
    with pytest.raises(SimRejectedError) as info:
        ex.set_leverage("a", L, "TSTUSDT", 0)
    assert info.value.code == "invalid_request"


def test_fee_rates_are_configurable_and_rebates_are_negative_fees() -> None:
    ex = SimExchange(seed=1, clock_ms=lambda: 5, maker_fee=D("-0.0001"), taker_fee=D("0.001"))
    ex.create_account("a", {"USDT": D(1000)})
    ex.set_price(L, "ETHUSDT", D(3000))
    ex.place_order("a", category=L, symbol="ETHUSDT", side=Side.BUY,
                   order_type=OrderType.LIMIT, qty=D(1), price=D(2990))
    ex.set_price(L, "ETHUSDT", D("2989.98"))
    (fill,) = ex.fills("a")
    assert (fill.price, fill.fee, fill.is_maker) == (D(2990), D("-0.299"), True)
    assert ex.balance("a", "USDT").total == D("1000.299")


def test_spot_fills_move_both_assets_and_charge_the_received_asset(ex: SimExchange) -> None:
    # buy 0.001 BTC at 60000.01: pay 60.00001 USDT, receive 0.001 - 0.001 * 0.00055 BTC
    market(ex, Side.BUY, "0.001", symbol="BTCUSDT", category=S)
    fill = ex.fills("a")[-1]
    assert (fill.category, fill.price, fill.fee, fill.fee_asset) == (
        S, D("60000.01"), D("0.00000055"), "BTC")
    btc = ex.balance("a", "BTC")
    assert (btc.total, btc.free, btc.locked) == (D("0.00099945"), D("0.00099945"), D(0))
    assert usdt(ex) == (D("99939.99999"), D("99939.99999"), D(0))
    assert ex.positions("a") == []  # spot holds balances, not positions

    # a sell locks base; filling it as a maker pays 30.5 * 0.0002 USDT
    limit(ex, Side.SELL, "0.0005", "61000", symbol="BTCUSDT", category=S)
    btc = ex.balance("a", "BTC")
    assert (btc.free, btc.locked) == (D("0.00049945"), D("0.0005"))
    ex.set_price(S, "BTCUSDT", D("61000.01"))
    btc = ex.balance("a", "BTC")
    assert (btc.total, btc.locked) == (D("0.00049945"), D(0))
    assert ex.fills("a")[-1].fee == D("0.0061") and ex.fills("a")[-1].fee_asset == "USDT"
    assert usdt(ex)[0] == D("99970.49389")

    # a buy locks quote
    limit(ex, Side.BUY, "0.01", "59000", symbol="BTCUSDT", category=S)
    assert usdt(ex) == (D("99970.49389"), D("99970.49389") - D(590), D(590))

    with pytest.raises(SimRejectedError) as info:
        limit(ex, Side.SELL, "0.001", "62000", symbol="BTCUSDT", category=S)
    assert info.value.code == "insufficient_balance"
    with pytest.raises(SimRejectedError) as info:
        ex.place_order("a", category=S, symbol="BTCUSDT", side=Side.SELL,
                       order_type=OrderType.MARKET, qty=D("0.0001"), reduce_only=True)
    assert info.value.code == "reduce_only_rejected"


def test_balances_list_every_asset_sorted_and_deposits_add(ex: SimExchange) -> None:
    market(ex, Side.BUY, "0.001", symbol="BTCUSDT", category=S)
    assert [b.asset for b in ex.balances("a")] == ["BTC", "USDT"]
    assert all(b.venue == "sim" and b.account == "a" for b in ex.balances("a"))
    after = ex.deposit("a", "USDT", D("0.00001"))
    assert after.total == D(99940)
    with pytest.raises(SimRejectedError):
        ex.deposit("a", "USDT", D(0))
    with pytest.raises(SimRejectedError) as info:
        ex.create_account("a")
    assert info.value.code == "account_exists"
    with pytest.raises(SimRejectedError) as info:
        ex.balances("nobody")
    assert info.value.code == "unknown_account"
