"""The bracket runner's pure decisions: protection sized to the fill, OCO, close, PnL."""

from __future__ import annotations

from decimal import Decimal

from console.domain import (
    BracketState,
    Category,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    RunnerState,
    Side,
)
from console.engine.brackets import Legs, StepKind, Trade, counted, plan_steps, trade_of

D = Decimal
S, T = OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT


def bracket(side: Side = Side.BUY, filled: str = "0", **kw: object) -> BracketState:
    fields: dict[str, object] = {
        "strategy_id": "s", "category": Category.LINEAR, "symbol": "BTCUSDT", "side": side,
        "size": D("0.2"), "entry_client_id": "rc-w1-e-1-1", "entry_price": D("100"),
        "stop_price": D("90") if side is Side.BUY else D("110"),
        "take_profit_price": D("120") if side is Side.BUY else D("80"),
        "filled_size": D(filled), "opened_at": 1,
    }
    fields.update(kw)
    return BracketState(**fields)  # type: ignore[arg-type]


def order(cid: str, role: OrderRole, *, qty: str = "0.2", filled: str = "0",
          status: OrderStatus = OrderStatus.NEW, avg: str | None = None,
          side: Side = Side.SELL) -> Order:
    return Order(venue="v", account="a", category=Category.LINEAR, symbol="BTCUSDT", side=side,
                 type=OrderType.MARKET, qty=D(qty), status=status, client_order_id=cid,
                 venue_order_id=f"v-{cid}", filled_qty=D(filled),
                 avg_price=D(avg) if avg else None, role=role, worker_id="w1")


def entry(filled: str, status: OrderStatus = OrderStatus.PARTIALLY_FILLED,
          avg: str | None = "100") -> Order:
    return order("e", OrderRole.ENTRY, filled=filled, status=status, avg=avg, side=Side.BUY)


def kinds(steps) -> list[tuple[StepKind, OrderRole, Decimal | None]]:
    return [(s.kind, s.role, s.qty) for s in steps]


def test_nothing_to_protect_before_the_first_fill():
    assert plan_steps(bracket(), Legs(entry=entry("0", OrderStatus.NEW, None))) == []


def test_the_first_fill_places_both_legs_sized_to_it():
    steps = plan_steps(bracket(), Legs(entry=entry("0.05")))
    assert kinds(steps) == [(StepKind.PLACE, S, D("0.05")), (StepKind.PLACE, T, D("0.05"))]


def test_further_fills_resize_the_legs():
    legs = Legs(entry=entry("0.12"), stop=order("s", S, qty="0.05"),
                take=order("t", T, qty="0.05"))
    assert kinds(plan_steps(bracket(), legs)) == [
        (StepKind.AMEND, S, D("0.12")), (StepKind.AMEND, T, D("0.12"))]
    sized = Legs(entry=entry("0.12"), stop=order("s", S, qty="0.12"),
                 take=order("t", T, qty="0.12"))
    assert plan_steps(bracket(), sized) == []


def test_a_leg_without_a_price_is_never_placed():
    steps = plan_steps(bracket(take_profit_price=None), Legs(entry=entry("0.05")))
    assert kinds(steps) == [(StepKind.PLACE, S, D("0.05"))]


def test_a_leg_that_ended_unfilled_is_reported_missing_once_and_never_replaced_by_itself():
    legs = Legs(entry=entry("0.2", OrderStatus.FILLED),
                stop=order("s", S, status=OrderStatus.CANCELLED), take=order("t", T))
    assert kinds(plan_steps(bracket(), legs)) == [(StepKind.MISSING, S, None)]
    assert plan_steps(bracket(), legs, missing={S}) == []
    assert plan_steps(bracket(), Legs(entry=entry("0.2")), missing={S, T}) == []


def test_a_stop_fill_cancels_the_take_profit_and_the_rest_of_the_entry():
    legs = Legs(entry=entry("0.2"), stop=order("s", S, filled="0.2", status=OrderStatus.FILLED),
                take=order("t", T))
    steps = plan_steps(bracket(), legs)
    assert [(s.kind, s.order.client_order_id) for s in steps] == [
        (StepKind.CANCEL, "e"), (StepKind.CANCEL, "t")]


def test_the_bracket_closes_once_everything_has_ended():
    legs = Legs(entry=entry("0.2", OrderStatus.FILLED),
                stop=order("s", S, filled="0.2", status=OrderStatus.FILLED),
                take=order("t", T, status=OrderStatus.CANCELLED))
    assert kinds(plan_steps(bracket(), legs)) == [(StepKind.CLOSE, OrderRole.OTHER, None)]


def test_a_fired_leg_still_filling_is_waited_for():
    legs = Legs(entry=entry("0.2", OrderStatus.FILLED),
                stop=order("s", S, filled="0.1", status=OrderStatus.PARTIALLY_FILLED),
                take=order("t", T, status=OrderStatus.CANCELLED))
    assert plan_steps(bracket(), legs) == []


def test_what_a_fired_leg_did_not_cover_is_closed_at_market_once():
    legs = Legs(entry=entry("0.2", OrderStatus.FILLED),
                stop=order("s", S, qty="0.12", filled="0.12", status=OrderStatus.FILLED),
                take=order("t", T, status=OrderStatus.CANCELLED))
    assert kinds(plan_steps(bracket(), legs)) == [(StepKind.EXIT, S, D("0.08"))]
    done = Legs(entry=legs.entry, stop=legs.stop, take=legs.take,
                exit=order("x", S, qty="0.08", filled="0.08", status=OrderStatus.FILLED))
    assert kinds(plan_steps(bracket(), done)) == [(StepKind.CLOSE, OrderRole.OTHER, None)]


def test_an_entry_that_ends_unfilled_voids_the_bracket():
    gone = entry("0", OrderStatus.CANCELLED, None)
    assert kinds(plan_steps(bracket(), Legs(entry=gone))) == [
        (StepKind.VOID, OrderRole.OTHER, None)]


def test_a_retired_leg_is_cancelled_and_its_fills_count_as_exits():
    retired = order("s0", S, qty="0.05")
    legs = Legs(entry=entry("0.12"), stop=order("s", S, qty="0.12"),
                take=order("t", T, qty="0.12"), retired=(retired,))
    assert [(s.kind, s.order.client_order_id) for s in plan_steps(bracket(), legs)] == [
        (StepKind.CANCEL, "s0")]
    raced = Legs(entry=entry("0.12"), stop=order("s", S, qty="0.12"),
                 take=order("t", T, qty="0.12"),
                 retired=(order("s0", S, qty="0.05", filled="0.05", status=OrderStatus.FILLED),))
    cancels = {s.order.client_order_id for s in plan_steps(bracket(), raced)}
    assert cancels == {"e", "s", "t"}


def fill(cid: str, side: Side, price: str, qty: str, fee: str, n: int) -> Fill:
    return Fill(venue="v", account="a", exec_id=f"x{n}", symbol="BTCUSDT", side=side,
                price=D(price), qty=D(qty), exec_time=1000 + n, venue_order_id=f"v-{cid}",
                client_order_id=cid, fee=D(fee))


def test_pnl_of_a_long_stopped_out_and_a_short_taken_profit():
    legs = Legs(entry=entry("0.2", OrderStatus.FILLED, "100"),
                stop=order("s", S, filled="0.2", status=OrderStatus.FILLED, avg="90"),
                take=order("t", T, status=OrderStatus.CANCELLED))
    fills = [fill("e", Side.BUY, "100", "0.2", "0.011", 1),
             fill("s", Side.SELL, "90", "0.2", "0.0099", 2),
             fill("other", Side.SELL, "90", "1", "5", 3)]
    trade = trade_of(bracket(), legs, fills, 5)
    assert (trade.gross_pnl, trade.fees, trade.pnl) == (D("-2.0"), D("0.0209"), D("-2.0209"))
    assert (trade.entry_price, trade.exit_price, trade.qty) == (D("100"), D("90"), D("0.2"))

    short = Legs(entry=order("e", OrderRole.ENTRY, filled="1", status=OrderStatus.FILLED,
                             avg="100", side=Side.SELL, qty="1"),
                 take=order("t", T, qty="1", filled="1", status=OrderStatus.FILLED, avg="80",
                            side=Side.BUY))
    assert trade_of(bracket(Side.SELL), short, [], 5).pnl == D("20")


def test_pnl_falls_back_to_fills_when_the_venue_gives_no_average():
    legs = Legs(entry=entry("0.2", OrderStatus.FILLED, None),
                take=order("t", T, filled="0.2", status=OrderStatus.FILLED))
    fills = [fill("e", Side.BUY, "99", "0.1", "0", 1), fill("e", Side.BUY, "101", "0.1", "0", 2),
             fill("t", Side.SELL, "120", "0.2", "0", 3)]
    assert trade_of(bracket(), legs, fills, 5).pnl == D("4.0")


def test_counters():
    state = RunnerState("u", "w", "v", "a", bracket=bracket(), total_pnl=D("1.5"))
    win = Trade("BTCUSDT", Side.BUY, D("1"), D("1"), D("2"), D("1"), D("0"), D("1"), 7)
    loss = Trade("BTCUSDT", Side.BUY, D("1"), D("2"), D("1"), D("-1"), D("0.5"), D("-1.5"), 9)
    flat = Trade("BTCUSDT", Side.BUY, D("1"), D("1"), D("1"), D("0"), D("0"), D("0"), 8)
    after = counted(counted(counted(state, win), loss), flat)
    assert after.bracket is None
    assert (after.total_trades, after.winning_trades, after.losing_trades) == (3, 1, 1)
    assert after.total_pnl == D("1.0") and after.last_execution_time == 9


def test_inverse_pnl_is_in_the_coin():
    """An inverse contract (BTC-PERPETUAL: quantity in USD) gains qty * (1/entry - 1/exit)
    coins on a long, and its exit average is the harmonic one; fees are in the coin."""
    legs = Legs(entry=order("e", OrderRole.ENTRY, filled="100", status=OrderStatus.FILLED,
                            avg="50000", qty="100"),
                take=order("t", T, qty="100", filled="100", status=OrderStatus.FILLED,
                           avg="62500", side=Side.SELL))
    inverse = bracket(category=Category.INVERSE, symbol="BTC-PERPETUAL", size=D("100"))
    trade = trade_of(inverse, legs, [], 5)
    assert trade.gross_pnl == D(100) * (1 / D(50000) - 1 / D(62500)) == D("0.0004")
    assert (trade.exit_price, trade.qty) == (D("62500"), D("100"))
    short = trade_of(bracket(Side.SELL, category=Category.INVERSE, size=D("100")), Legs(
        entry=order("e", OrderRole.ENTRY, filled="100", status=OrderStatus.FILLED,
                    avg="50000", side=Side.SELL, qty="100"),
        take=order("t", T, qty="100", filled="100", status=OrderStatus.FILLED, avg="40000",
                   side=Side.BUY)), [], 5)
    assert short.pnl == D(100) * (1 / D(40000) - 1 / D(50000)) == D("0.0005")
