"""Reduce-only, conditional orders, client ids, order history and the operator's hand
actions on the exchange side. TSTUSDT: mark 100, asks 100.1.., bids 99.9.., 10 per level."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_helpers import Clock

from console.domain import (
    Category,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.errors import OrderNotFoundError
from console.sim import SimExchange, SimRejectedError

L = Category.LINEAR


def order(ex: SimExchange, side: Side, qty: str, price: str | None = None, *,
          cid: str = "", reduce_only: bool = False, trigger: str | None = None,
          direction: TriggerDirection | None = None,
          tif: TimeInForce = TimeInForce.GTC) -> Order:
    return ex.place_order(
        "a", category=L, symbol="TSTUSDT", side=side,
        order_type=OrderType.MARKET if price is None else OrderType.LIMIT, qty=D(qty),
        price=None if price is None else D(price), client_order_id=cid,
        reduce_only=reduce_only, trigger_price=None if trigger is None else D(trigger),
        trigger_direction=direction, time_in_force=tif)


def size(ex: SimExchange) -> D:
    pos = ex.position("a", L, "TSTUSDT")
    return D(0) if pos is None else pos.size


# -- reduce-only -------------------------------------------------------------------------


def test_reduce_only_without_a_position_is_refused(ex: SimExchange) -> None:
    with pytest.raises(SimRejectedError) as info:
        order(ex, Side.SELL, "5", reduce_only=True)
    assert info.value.code == "reduce_only_rejected"
    order(ex, Side.BUY, "5")
    with pytest.raises(SimRejectedError) as info:
        order(ex, Side.BUY, "5", "99", reduce_only=True)  # same side: would increase
    assert info.value.code == "reduce_only_rejected"


def test_reduce_only_is_shrunk_to_the_position_and_never_flips(ex: SimExchange) -> None:
    order(ex, Side.BUY, "5")
    closing = order(ex, Side.SELL, "8", reduce_only=True)
    assert closing.qty == D(5) and closing.status is OrderStatus.FILLED
    assert size(ex) == 0 and ex.positions("a") == []


def test_resting_reduce_only_is_clamped_then_cancelled_when_the_position_is_gone(
        ex: SimExchange) -> None:
    order(ex, Side.BUY, "10")  # long 10
    tp = order(ex, Side.SELL, "10", "101", reduce_only=True)
    assert ex.balance("a", "USDT").locked == D("100.1")  # reduce-only locks nothing
    order(ex, Side.SELL, "6")  # long 4 left
    ex.set_price(L, "TSTUSDT", D("101.1"))  # bid 101.0: 10 available at >= 101
    done = ex.get_order("a", tp.venue_order_id)
    assert done is not None and done.filled_qty == D(4)
    assert done.status is OrderStatus.CANCELLED
    assert ex.order_reason("a", tp.venue_order_id) == "reduce_only_no_position"
    assert size(ex) == 0


def test_reduce_only_stays_on_the_book_when_the_position_closes_elsewhere(
        ex: SimExchange) -> None:
    order(ex, Side.BUY, "10")
    tp = order(ex, Side.SELL, "10", "101", reduce_only=True)
    ex.close_position("a", L, "TSTUSDT")
    still = ex.get_order("a", tp.venue_order_id)
    assert still is not None and still.status is OrderStatus.NEW
    ex.set_price(L, "TSTUSDT", D("101.1"))
    gone = ex.get_order("a", tp.venue_order_id)
    assert gone is not None and gone.status is OrderStatus.CANCELLED and gone.filled_qty == 0
    assert size(ex) == 0


# -- conditional orders ------------------------------------------------------------------


def test_stop_loss_direction_is_inferred_and_fires_as_market(ex: SimExchange,
                                                             clock: Clock) -> None:
    order(ex, Side.BUY, "10")
    sl = order(ex, Side.SELL, "10", trigger="98", reduce_only=True)
    assert sl.status is OrderStatus.UNTRIGGERED
    assert sl.trigger_direction is TriggerDirection.FALL and sl.is_conditional
    assert [o.venue_order_id for o in ex.open_orders("a")] == [sl.venue_order_id]
    ex.set_price(L, "TSTUSDT", D("98.1"))
    assert ex.get_order("a", sl.venue_order_id).status is OrderStatus.UNTRIGGERED  # type: ignore[union-attr]
    clock.advance()
    ex.set_price(L, "TSTUSDT", D(98))  # bid 97.9
    fired = ex.get_order("a", sl.venue_order_id)
    assert fired is not None and fired.status is OrderStatus.FILLED
    assert fired.avg_price == D("97.9") and fired.updated_at == clock.now
    assert fired.trigger_price == D(98)
    assert size(ex) == 0


def test_take_profit_rises_and_a_triggered_limit_rests(ex: SimExchange) -> None:
    tp_like = order(ex, Side.BUY, "10", "105", trigger="104")
    assert tp_like.trigger_direction is TriggerDirection.RISE
    assert ex.balance("a", "USDT").locked == 0  # untriggered orders lock nothing
    ex.set_price(L, "TSTUSDT", D("104.5"))  # ask 104.6: marketable, takes 10 at 104.6
    filled = ex.get_order("a", tp_like.venue_order_id)
    assert filled is not None and filled.status is OrderStatus.FILLED
    assert filled.avg_price == D("104.6")
    resting = order(ex, Side.SELL, "5", "106", trigger="105")
    ex.set_price(L, "TSTUSDT", D(105))
    now = ex.get_order("a", resting.venue_order_id)
    assert now is not None and now.status is OrderStatus.NEW and now.filled_qty == 0


def test_explicit_direction_and_already_reached_triggers(ex: SimExchange) -> None:
    with pytest.raises(SimRejectedError) as info:
        order(ex, Side.SELL, "1", trigger="101", direction=TriggerDirection.FALL)
    assert info.value.code == "invalid_trigger"
    with pytest.raises(SimRejectedError) as info:
        order(ex, Side.SELL, "1", "99", trigger="100")  # equal to the mark: already there
    assert info.value.code == "invalid_trigger"
    breakout = order(ex, Side.BUY, "1", trigger="101", direction=TriggerDirection.RISE)
    with pytest.raises(SimRejectedError) as info:
        ex.amend_order("a", breakout.venue_order_id, trigger_price=D("99.9"))
    assert info.value.code == "invalid_trigger"
    moved = ex.amend_order("a", breakout.venue_order_id, trigger_price=D(102))
    assert moved.trigger_price == D(102) and moved.status is OrderStatus.UNTRIGGERED
    ex.set_price(L, "TSTUSDT", D("101.5"))
    assert ex.get_order("a", breakout.venue_order_id).status is OrderStatus.UNTRIGGERED  # type: ignore[union-attr]


def test_conditional_without_funds_is_rejected_at_trigger(ex: SimExchange) -> None:
    ex.create_account("poor", {"USDT": D(50)})
    big = ex.place_order("poor", category=L, symbol="TSTUSDT", side=Side.BUY,
                         order_type=OrderType.MARKET, qty=D(10), trigger_price=D(101))
    ex.set_price(L, "TSTUSDT", D(101))  # needs 10 * 101.1 / 10 = 101.1 of margin
    after = ex.get_order("poor", big.venue_order_id)
    assert after is not None and after.status is OrderStatus.REJECTED
    assert ex.order_reason("poor", big.venue_order_id) == "insufficient_balance"


# -- client ids and history --------------------------------------------------------------


def test_duplicate_active_client_id_is_refused_and_reusable_once_terminal(
        ex: SimExchange) -> None:
    first = order(ex, Side.BUY, "1", "99", cid="rc-w1-e-1-1")
    with pytest.raises(SimRejectedError) as info:
        order(ex, Side.BUY, "1", "98", cid="rc-w1-e-1-1")
    assert info.value.code == "duplicate_client_id"
    assert first.venue_order_id in str(info.value)
    ex.cancel_order("a", "rc-w1-e-1-1")
    second = order(ex, Side.BUY, "1", "98", cid="rc-w1-e-1-1")
    assert second.venue_order_id != first.venue_order_id
    assert ex.order_by_client_id("a", "rc-w1-e-1-1") == second
    assert ex.order_by_venue_id("a", first.venue_order_id).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert ex.get_order("a", "unknown") is None
    assert ex.get_order("a", "") is None
    # other accounts have their own client id space
    ex.create_account("b", {"USDT": D(1000)})
    ex.place_order("b", category=L, symbol="TSTUSDT", side=Side.BUY,
                   order_type=OrderType.LIMIT, qty=D(1), price=D(99),
                   client_order_id="rc-w1-e-1-1")


def test_history_keeps_terminal_orders_and_venue_ids_are_uuid_shaped(ex: SimExchange) -> None:
    a = order(ex, Side.BUY, "1")
    b = order(ex, Side.BUY, "1", "99")
    ex.cancel_order("a", b.venue_order_id)
    history = ex.order_history("a")
    assert [o.venue_order_id for o in history] == [a.venue_order_id, b.venue_order_id]
    assert [o.status for o in history] == [OrderStatus.FILLED, OrderStatus.CANCELLED]
    assert all(len(o.venue_order_id) == 36 and o.venue_order_id.count("-") == 4
               for o in history)
    assert ex.open_orders("a") == []


def test_fills_are_sorted_by_time_and_filtered_by_window(ex: SimExchange,
                                                         clock: Clock) -> None:
    t0 = clock.now
    order(ex, Side.BUY, "1")
    t1 = clock.advance()
    order(ex, Side.BUY, "1")
    clock.advance()
    order(ex, Side.SELL, "2")
    assert [f.exec_time for f in ex.fills("a")] == [t0, t1, t1 + 1000]
    assert [f.exec_time for f in ex.fills("a", since=t1)] == [t1, t1 + 1000]
    assert [f.exec_time for f in ex.fills("a", since=t0, until=t1)] == [t0, t1]
    assert ex.fills("a", since=t1 + 1, until=t1 + 999) == []


def test_a_clock_that_steps_back_still_keeps_fills_sorted(ex: SimExchange,
                                                          clock: Clock) -> None:
    order(ex, Side.BUY, "1")
    clock.advance(-5000)
    order(ex, Side.BUY, "1")
    times = [f.exec_time for f in ex.fills("a")]
    assert times == sorted(times) and times[0] == clock.now


# -- exchange-side operator actions ------------------------------------------------------


def test_hand_cancel_marks_the_reason(ex: SimExchange) -> None:
    o = order(ex, Side.BUY, "1", "99", cid="c")
    done = ex.hand_cancel("a", "c")
    assert done.status is OrderStatus.CANCELLED
    assert ex.order_reason("a", o.venue_order_id) == "cancelled_by_operator"
    with pytest.raises(OrderNotFoundError):
        ex.hand_cancel("a", "nope")


def test_hand_fill_at_the_order_price_or_a_given_one(ex: SimExchange) -> None:
    o = order(ex, Side.BUY, "10", "95", cid="c")
    part = ex.hand_fill("a", "c", qty=D(4))
    assert part.status is OrderStatus.PARTIALLY_FILLED and part.filled_qty == D(4)
    assert ex.fills("a")[-1].price == D(95) and ex.fills("a")[-1].is_maker
    # the remaining 6 keep their margin: 6 * 95 / 10, plus the position 4 * 95 / 10
    assert ex.balance("a", "USDT").locked == D(57) + D(38)
    rest = ex.hand_fill("a", "c", price=D("94.5"))
    assert rest.status is OrderStatus.FILLED and rest.filled_qty == D(10)
    assert rest.avg_price == D("94.7")  # (4 * 95 + 6 * 94.5) / 10
    with pytest.raises(SimRejectedError) as info:
        ex.hand_fill("a", o.venue_order_id)
    assert info.value.code == "not_modifiable"
    with pytest.raises(SimRejectedError) as info:
        ex.hand_fill("a", order(ex, Side.BUY, "2", "90").venue_order_id, qty=D(3))
    assert info.value.code == "invalid_qty"


def test_hand_fill_triggers_an_untriggered_order(ex: SimExchange) -> None:
    order(ex, Side.BUY, "10")
    sl = order(ex, Side.SELL, "10", trigger="95", reduce_only=True)
    done = ex.hand_fill("a", sl.venue_order_id, price=D("94.8"))
    assert done.status is OrderStatus.FILLED and done.avg_price == D("94.8")
    assert size(ex) == 0
    # a reduce-only conditional may wait without a position, but cannot fill without one
    late = order(ex, Side.SELL, "3", trigger="120", reduce_only=True)
    with pytest.raises(SimRejectedError) as info:
        ex.hand_fill("a", late.venue_order_id)
    assert info.value.code == "reduce_only_rejected"
    # an untriggered market order filled by hand without a price takes the mark
    entry = order(ex, Side.BUY, "2", trigger="130")
    assert ex.hand_fill("a", entry.venue_order_id).avg_price == D(100)


def test_close_position_is_a_booked_market_trade(ex: SimExchange) -> None:
    order(ex, Side.SELL, "15")  # short 15: 10 @ 99.9, 5 @ 99.8
    closing = ex.close_position("a", L, "TSTUSDT")
    assert closing.status is OrderStatus.FILLED and closing.reduce_only
    assert closing.client_order_id == "" and closing.side is Side.BUY
    assert [(f.price, f.qty) for f in ex.fills("a")[-2:]] == [(D("100.1"), D(10)),
                                                               (D("100.2"), D(5))]
    assert ex.positions("a") == []
    with pytest.raises(SimRejectedError) as info:
        ex.close_position("a", L, "TSTUSDT")
    assert info.value.code == "no_position"


def test_close_position_sweeps_beyond_the_book_depth(ex: SimExchange) -> None:
    ex.configure_book(L, "TSTUSDT", book_levels=2)
    order(ex, Side.BUY, "20")
    ex.configure_book(L, "TSTUSDT", book_levels=1)
    ex.close_position("a", L, "TSTUSDT")
    assert ex.fills("a")[-1].qty == D(20) and ex.fills("a")[-1].price == D("99.9")
    assert ex.positions("a") == []
