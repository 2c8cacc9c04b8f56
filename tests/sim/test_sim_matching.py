"""The matching engine: how orders meet the synthetic book, per type and time in force."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_helpers import Clock

from console.domain import Category, Order, OrderStatus, OrderType, Side, TimeInForce
from console.errors import FatalVenueError, OrderNotFoundError
from console.sim import SimErrorCode, SimExchange, SimRejectedError

L = Category.LINEAR


def place(ex: SimExchange, side: Side, qty: str, price: str | None = None, *,
          tif: TimeInForce = TimeInForce.GTC, symbol: str = "TSTUSDT", cid: str = "",
          reduce_only: bool = False, trigger: str | None = None) -> Order:
    return ex.place_order(
        "a", category=L, symbol=symbol, side=side,
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT, qty=D(qty),
        price=None if price is None else D(price), time_in_force=tif, client_order_id=cid,
        reduce_only=reduce_only, trigger_price=None if trigger is None else D(trigger))


def test_synthetic_book_surrounds_the_mark(ex: SimExchange) -> None:
    book = ex.book(L, "TSTUSDT")
    assert book.best_bid == D("99.9") and book.best_ask == D("100.1")
    assert [lv.price for lv in book.asks[:3]] == [D("100.1"), D("100.2"), D("100.3")]
    assert [lv.price for lv in book.bids[:3]] == [D("99.9"), D("99.8"), D("99.7")]
    assert all(lv.qty == D(10) for lv in book.asks + book.bids)
    assert len(book.asks) == 20
    ex.configure_book(L, "TSTUSDT", half_spread_ticks=3, level_qty=D(5), book_levels=2)
    book = ex.book(L, "TSTUSDT")
    assert [lv.price for lv in book.asks] == [D("100.3"), D("100.4")]
    assert [lv.qty for lv in book.bids] == [D(5), D(5)]


def test_market_order_walks_the_book_one_fill_per_level(ex: SimExchange) -> None:
    order = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                           order_type=OrderType.MARKET, qty=D(25))
    assert order.status is OrderStatus.FILLED
    assert order.filled_qty == D(25)
    fills = ex.fills("a")
    assert [(f.price, f.qty, f.is_maker) for f in fills] == [
        (D("100.1"), D(10), False), (D("100.2"), D(10), False), (D("100.3"), D(5), False)]
    # avg = (1001 + 1002 + 501.5) / 25
    assert order.avg_price == D("100.18")
    assert len({f.exec_id for f in fills}) == 3
    assert all(f.venue_order_id == order.venue_order_id for f in fills)


def test_market_order_beyond_the_depth_fills_what_is_there_and_cancels_the_rest(
        ex: SimExchange) -> None:
    ex.configure_book(L, "TSTUSDT", book_levels=2)
    order = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.SELL,
                           order_type=OrderType.MARKET, qty=D(30))
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_qty == D(20)
    assert ex.order_reason("a", order.venue_order_id) == "unfilled_remainder"
    assert ex.position("a", L, "TSTUSDT").size == D(-20)  # type: ignore[union-attr]


def test_limit_below_the_ask_rests_and_locks_margin(ex: SimExchange) -> None:
    order = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                           order_type=OrderType.LIMIT, qty=D(10), price=D(99))
    assert order.status is OrderStatus.NEW and order.filled_qty == 0
    assert ex.fills("a") == []
    usdt = ex.balance("a", "USDT")
    assert usdt.locked == D("99")  # 10 * 99 / 10
    assert usdt.free == D(100000) - D(99) and usdt.total == D(100000)
    assert [o.venue_order_id for o in ex.open_orders("a")] == [order.venue_order_id]


def test_marketable_limit_takes_up_to_its_price_then_rests(ex: SimExchange) -> None:
    order = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                           order_type=OrderType.LIMIT, qty=D(35), price=D("100.2"))
    assert order.status is OrderStatus.PARTIALLY_FILLED
    assert order.filled_qty == D(20)
    assert [(f.price, f.qty) for f in ex.fills("a")] == [(D("100.1"), D(10)),
                                                          (D("100.2"), D(10))]
    # the 15 left rest at 100.2: 15 * 100.2 / 10 = 150.3 locked, plus the position margin
    # 20 * 100.15 / 10 = 200.3
    assert ex.balance("a", "USDT").locked == D("150.3") + D("200.3")


def test_resting_order_fills_as_maker_with_the_liquidity_the_move_offers(
        ex: SimExchange, clock: Clock) -> None:
    order = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                           order_type=OrderType.LIMIT, qty=D(25), price=D(99))
    clock.advance()
    ex.set_price(L, "TSTUSDT", D("98.9"))  # best ask 99.0: one level (10) at or below 99
    now = ex.get_order("a", order.venue_order_id)
    assert now is not None
    assert now.status is OrderStatus.PARTIALLY_FILLED and now.filled_qty == D(10)
    (fill,) = ex.fills("a")
    assert (fill.price, fill.qty, fill.is_maker, fill.exec_time) == (D(99), D(10), True,
                                                                     clock.now)
    ex.set_price(L, "TSTUSDT", D("98.5"))  # best ask 98.6: 99.0..98.6 is 5 levels
    now = ex.get_order("a", order.venue_order_id)
    assert now is not None and now.status is OrderStatus.FILLED and now.filled_qty == D(25)
    assert now.avg_price == D(99)
    assert ex.open_orders("a") == []


def test_resting_orders_share_the_liquidity_in_price_time_priority(ex: SimExchange) -> None:
    first = place(ex, Side.BUY, "10", "99")
    second = place(ex, Side.BUY, "10", "99")
    better = place(ex, Side.BUY, "10", "99.1")
    ex.set_price(L, "TSTUSDT", D("98.9"))  # asks 99.0, 99.1: 10 at <= 99, 20 at <= 99.1
    by_id = {o.venue_order_id: o for o in ex.order_history("a")}
    assert by_id[better.venue_order_id].filled_qty == D(10)
    assert by_id[first.venue_order_id].filled_qty == D(0)
    assert by_id[second.venue_order_id].filled_qty == D(0)
    ex.set_price(L, "TSTUSDT", D("98.8"))  # asks from 98.9: 20 at <= 99 (better is done)
    by_id = {o.venue_order_id: o for o in ex.order_history("a")}
    assert by_id[first.venue_order_id].status is OrderStatus.FILLED
    assert by_id[second.venue_order_id].status is OrderStatus.FILLED


def test_ioc_takes_what_it_can_and_cancels_the_rest(ex: SimExchange) -> None:
    order = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                           order_type=OrderType.LIMIT, qty=D(15), price=D("100.1"),
                           time_in_force=TimeInForce.IOC)
    assert order.status is OrderStatus.CANCELLED and order.filled_qty == D(10)
    assert ex.open_orders("a") == []
    assert ex.balance("a", "USDT").locked == D("100.1")  # only the position: 10*100.1/10


def test_ioc_that_cannot_take_is_cancelled_without_fills(ex: SimExchange) -> None:
    order = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.SELL,
                           order_type=OrderType.LIMIT, qty=D(5), price=D(101),
                           time_in_force=TimeInForce.IOC)
    assert order.status is OrderStatus.CANCELLED and order.filled_qty == 0
    assert ex.fills("a") == [] and ex.balance("a", "USDT").locked == 0


def test_fok_fills_completely_or_not_at_all(ex: SimExchange) -> None:
    refused = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                             order_type=OrderType.LIMIT, qty=D(21), price=D("100.2"),
                             time_in_force=TimeInForce.FOK)
    assert refused.status is OrderStatus.CANCELLED and refused.filled_qty == 0
    assert ex.order_reason("a", refused.venue_order_id) == "fok_not_filled"
    assert ex.fills("a") == []
    done = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                          order_type=OrderType.LIMIT, qty=D(20), price=D("100.2"),
                          time_in_force=TimeInForce.FOK)
    assert done.status is OrderStatus.FILLED and done.filled_qty == D(20)


def test_fok_market_needs_the_whole_depth(ex: SimExchange) -> None:
    ex.configure_book(L, "TSTUSDT", book_levels=3)
    refused = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                             order_type=OrderType.MARKET, qty=D(31),
                             time_in_force=TimeInForce.FOK)
    assert refused.status is OrderStatus.CANCELLED and refused.filled_qty == 0


def test_post_only_never_takes(ex: SimExchange) -> None:
    crossing = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                              order_type=OrderType.LIMIT, qty=D(5), price=D("100.1"),
                              time_in_force=TimeInForce.POST_ONLY)
    assert crossing.status is OrderStatus.CANCELLED and crossing.filled_qty == 0
    assert ex.order_reason("a", crossing.venue_order_id) == "post_only_would_take"
    maker = ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                           order_type=OrderType.LIMIT, qty=D(5), price=D(100),
                           time_in_force=TimeInForce.POST_ONLY)
    assert maker.status is OrderStatus.NEW
    ex.set_price(L, "TSTUSDT", D("99.8"))  # best ask 99.9
    (fill,) = ex.fills("a")
    assert fill.is_maker and fill.price == D(100) and fill.qty == D(5)


def test_validation_refuses_off_grid_and_out_of_range_values(ex: SimExchange) -> None:
    cases: list[tuple[dict[str, object], str]] = [
        ({"qty": D("0.5")}, "invalid_qty"),  # below min 1
        ({"qty": D("1.5")}, "invalid_qty"),  # off the step
        ({"qty": D(0)}, "invalid_qty"),
        ({"price": D("99.05")}, "invalid_price"),  # off the tick
        ({"price": D(-1)}, "invalid_price"),
        ({"price": None}, "invalid_price"),  # a limit without a price
        ({"symbol": "NOPEUSDT"}, "unknown_symbol"),
    ]
    for change, code in cases:
        args: dict[str, object] = {"category": L, "symbol": "TSTUSDT", "side": Side.BUY,
                                   "order_type": OrderType.LIMIT, "qty": D(1), "price": D(99)}
        args.update(change)
        with pytest.raises(SimRejectedError) as info:
            ex.place_order("a", **args)  # type: ignore[arg-type]
        assert info.value.code == code, change
        assert isinstance(info.value, FatalVenueError)
    with pytest.raises(SimRejectedError) as info:
        ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                       order_type=OrderType.MARKET, qty=D(1), price=D(99))
    assert info.value.code == "invalid_request"
    with pytest.raises(SimRejectedError) as info:
        ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.BUY,
                       order_type=OrderType.LIMIT, qty=1.0, price=D(99))  # type: ignore[arg-type]
    assert info.value.code == "invalid_qty" and "Decimal" in str(info.value)
    assert ex.order_history("a") == []  # a refusal creates nothing


def test_market_order_without_a_price_is_refused(clock: Clock) -> None:
    ex = SimExchange(seed=1, clock_ms=clock)
    ex.create_account("a", {"USDT": D(1000)})
    with pytest.raises(SimRejectedError) as info:
        ex.place_order("a", category=L, symbol="ETHUSDT", side=Side.BUY,
                       order_type=OrderType.MARKET, qty=D(1))
    assert info.value.code == "no_market_price"
    resting = ex.place_order("a", category=L, symbol="ETHUSDT", side=Side.BUY,
                             order_type=OrderType.LIMIT, qty=D("0.1"), price=D(3000))
    assert resting.status is OrderStatus.NEW  # no book yet: nothing to match


def test_insufficient_balance_is_refused(ex: SimExchange) -> None:
    ex.create_account("poor", {"USDT": D(100)})
    with pytest.raises(SimRejectedError) as info:
        ex.place_order("poor", category=L, symbol="TSTUSDT", side=Side.BUY,
                       order_type=OrderType.LIMIT, qty=D(11), price=D(99))  # 108.9 margin
    assert info.value.code == SimErrorCode.INSUFFICIENT_BALANCE
    ok = ex.place_order("poor", category=L, symbol="TSTUSDT", side=Side.BUY,
                        order_type=OrderType.LIMIT, qty=D(10), price=D(99))  # 99 margin
    assert ok.status is OrderStatus.NEW
    assert ex.balance("poor", "USDT").free == D(1)


def test_amend_price_qty_and_refusals(ex: SimExchange, clock: Clock) -> None:
    order = place(ex, Side.BUY, "10", "99", cid="c1")
    clock.advance()
    amended = ex.amend_order("a", "c1", qty=D(20), price=D("98.5"))
    assert (amended.qty, amended.price, amended.updated_at) == (D(20), D("98.5"), clock.now)
    assert ex.balance("a", "USDT").locked == D(197)  # 20 * 98.5 / 10
    with pytest.raises(SimRejectedError) as info:
        ex.amend_order("a", "c1")
    assert info.value.code == "invalid_request"
    ex.set_price(L, "TSTUSDT", D("98.4"))  # best ask 98.5: 10 at <= 98.5
    with pytest.raises(SimRejectedError) as info:
        ex.amend_order("a", "c1", qty=D(10))  # not above the 10 filled
    assert info.value.code == "invalid_qty"
    ex.amend_order("a", "c1", qty=D(11))
    # amending to a marketable price takes at once
    taken = ex.amend_order("a", "c1", price=D("98.6"))
    assert taken.status is OrderStatus.FILLED and taken.filled_qty == D(11)
    assert [(f.price, f.qty, f.is_maker) for f in ex.fills("a")] == [
        (D("98.5"), D(10), True), (D("98.5"), D(1), False)]
    with pytest.raises(SimRejectedError) as info:
        ex.amend_order("a", order.venue_order_id, qty=D(30))
    assert info.value.code == "not_modifiable"


def test_cancel_and_cancel_all(ex: SimExchange) -> None:
    a = place(ex, Side.BUY, "1", "99", cid="x1")
    place(ex, Side.SELL, "1", "101", cid="x2")
    place(ex, Side.BUY, "1", "59000", symbol="BTCUSDT")
    cancelled = ex.cancel_order("a", "x1")
    assert cancelled.status is OrderStatus.CANCELLED
    assert ex.order_reason("a", "x1") == "cancelled_by_user"
    with pytest.raises(SimRejectedError) as info:
        ex.cancel_order("a", a.venue_order_id)
    assert info.value.code == "not_modifiable"
    with pytest.raises(OrderNotFoundError) as missing:
        ex.cancel_order("a", "nope")
    assert missing.value.code == "order_not_found"
    done = ex.cancel_all("a", L, "TSTUSDT")
    assert [o.client_order_id for o in done] == ["x2"]
    assert [o.symbol for o in ex.open_orders("a")] == ["BTCUSDT"]
    assert len(ex.cancel_all("a", L)) == 1
    assert ex.open_orders("a") == [] and ex.balance("a", "USDT").locked == 0
