"""The private event feed: sequence numbers, what each change emits, dropped events,
replay, listener failures; and determinism of the whole exchange."""

from __future__ import annotations

import logging
from decimal import Decimal as D

import pytest
from sim_helpers import TST, Clock

from console.domain import Balance, Category, Fill, Order, OrderType, Position, Side
from console.sim import DEFAULT_INSTRUMENTS, EventKind, SimEvent, SimExchange, SimRejectedError

L = Category.LINEAR


def buy(ex: SimExchange, qty: str, price: str | None = None, account: str = "a") -> Order:
    return ex.place_order(account, category=L, symbol="TSTUSDT", side=Side.BUY,
                          order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
                          qty=D(qty), price=None if price is None else D(price))


def test_a_market_fill_emits_executions_order_position_and_balance(ex: SimExchange,
                                                                   clock: Clock) -> None:
    seen: list[SimEvent] = []
    ex.subscribe("a", seen.append)
    start = ex.last_seq("a")
    buy(ex, "15")
    assert [e.kind for e in seen] == [EventKind.EXECUTION, EventKind.EXECUTION, EventKind.ORDER,
                                      EventKind.POSITION, EventKind.BALANCE]
    assert [e.seq for e in seen] == list(range(start + 1, start + 6))
    assert all(e.account == "a" and e.at == clock.now for e in seen)
    assert isinstance(seen[0].payload, Fill) and isinstance(seen[2].payload, Order)
    assert isinstance(seen[3].payload, Position) and seen[3].payload.size == D(15)
    balance = seen[4].payload
    assert isinstance(balance, Balance) and balance.asset == "USDT"
    assert balance == ex.balance("a", "USDT")


def test_resting_order_and_cancel_emit_order_and_balance(ex: SimExchange) -> None:
    seen: list[SimEvent] = []
    ex.subscribe("a", seen.append)
    o = buy(ex, "1", "99")
    ex.cancel_order("a", o.venue_order_id)
    assert [e.kind for e in seen] == [EventKind.ORDER, EventKind.BALANCE,
                                      EventKind.ORDER, EventKind.BALANCE]
    assert [e.payload.locked for e in seen if isinstance(e.payload, Balance)] == [D("9.9"), 0]


def test_moving_the_mark_alone_emits_nothing(ex: SimExchange) -> None:
    buy(ex, "5")
    seen: list[SimEvent] = []
    ex.subscribe("a", seen.append)
    ex.set_price(L, "TSTUSDT", D(120))
    assert seen == []


def test_events_are_delivered_after_the_state_change_is_complete(ex: SimExchange) -> None:
    looked: list[D] = []

    def look(event: SimEvent) -> None:
        pos = ex.position("a", L, "TSTUSDT")
        looked.append(D(0) if pos is None else pos.size)

    ex.subscribe("a", look)
    buy(ex, "25")  # three executions: each listener call already sees the final position
    assert looked == [D(25)] * len(looked) and len(looked) == 6


def test_dropped_events_are_not_delivered_but_keep_their_sequence_and_replay(
        ex: SimExchange) -> None:
    seen: list[SimEvent] = []
    ex.subscribe("a", seen.append)
    ex.drop_private_events("a", count=2)
    o = buy(ex, "1", "99")  # order + balance: both dropped
    ex.cancel_order("a", o.venue_order_id)  # order + balance: delivered
    assert [e.seq for e in seen] == [3, 4]
    assert ex.dropped_events("a") == 2
    replay = ex.events_since("a", 0)
    assert [e.seq for e in replay] == [1, 2, 3, 4]
    assert [e.kind for e in replay[:2]] == [EventKind.ORDER, EventKind.BALANCE]
    assert ex.events_since("a", 4) == []


def test_dropping_until_restored_models_a_dead_socket(ex: SimExchange) -> None:
    seen: list[SimEvent] = []
    ex.subscribe("a", seen.append)
    ex.drop_private_events("a")
    buy(ex, "1", "99")
    buy(ex, "2")
    assert seen == []
    ex.restore_private_events("a")
    buy(ex, "1", "98")
    assert [e.seq for e in seen] == [ex.last_seq("a") - 1, ex.last_seq("a")]
    assert ex.open_orders("a")[0].qty == D(1)  # state changed all along


def test_replay_refuses_what_the_bounded_log_no_longer_holds(clock: Clock) -> None:
    ex = SimExchange(seed=1, clock_ms=clock, instruments=(TST,), event_log_size=3)
    ex.create_account("a", {"USDT": D(1000)})
    ex.set_price(L, "TSTUSDT", D(100))
    for _ in range(3):
        buy(ex, "1", "99")  # two events each: 6 in all, the log keeps 4..6
    assert [e.seq for e in ex.events_since("a", 3)] == [4, 5, 6]
    with pytest.raises(SimRejectedError) as info:
        ex.events_since("a", 2)
    assert info.value.code == "replay_unavailable"


def test_a_failing_listener_is_logged_and_others_still_hear(
        ex: SimExchange, caplog: pytest.LogCaptureFixture) -> None:
    heard: list[int] = []

    def broken(event: SimEvent) -> None:
        raise RuntimeError("boom")

    ex.subscribe("a", broken)
    unsubscribe = ex.subscribe("a", lambda e: heard.append(e.seq))
    with caplog.at_level(logging.ERROR, logger="console.sim.events"):
        buy(ex, "1", "99")
    assert heard == [1, 2]
    assert "listener" in caplog.text
    unsubscribe()
    buy(ex, "1", "98")
    assert heard == [1, 2]


def test_a_listener_may_act_on_the_exchange(ex: SimExchange) -> None:
    order_events: list[int] = []

    def react(event: SimEvent) -> None:
        if event.kind is EventKind.EXECUTION and not order_events:
            order_events.append(event.seq)
            buy(ex, "1", "90")  # placed from inside a callback

    seen: list[int] = []
    ex.subscribe("a", react)
    ex.subscribe("a", lambda e: seen.append(e.seq))
    buy(ex, "1")
    assert seen == list(range(1, ex.last_seq("a") + 1))
    assert len(ex.open_orders("a")) == 1


def test_feeds_are_per_account(ex: SimExchange) -> None:
    ex.create_account("b", {"USDT": D(1000)})
    seen_a: list[SimEvent] = []
    ex.subscribe("a", seen_a.append)
    buy(ex, "1", "99", account="b")
    assert seen_a == [] and ex.last_seq("b") == 2 and ex.last_seq("a") == 0


def _script(ex: SimExchange, clock: Clock) -> None:
    ex.create_account("a", {"USDT": D(100000)})
    ex.set_price(L, "TSTUSDT", D(100))
    buy(ex, "13")
    clock.advance()
    buy(ex, "30", "99")
    for _ in range(20):
        ex.random_walk(L, "TSTUSDT", max_ticks=15)
        clock.advance(250)
    ex.place_order("a", category=L, symbol="TSTUSDT", side=Side.SELL,
                   order_type=OrderType.MARKET, qty=D(5), trigger_price=D(90))


def _state(ex: SimExchange) -> tuple[object, ...]:
    return (ex.order_history("a"), ex.fills("a"), ex.positions("a", include_flat=True),
            ex.balances("a"), ex.events_since("a", 0), ex.mark_price(L, "TSTUSDT"))


def test_same_seed_and_clock_give_identical_state() -> None:
    runs = []
    for _ in range(2):
        clock = Clock()
        ex = SimExchange(seed=42, clock_ms=clock, instruments=(*DEFAULT_INSTRUMENTS, TST))
        _script(ex, clock)
        runs.append(_state(ex))
    assert runs[0] == runs[1]
    assert runs[0][1]  # something filled
    clock = Clock()
    other = SimExchange(seed=43, clock_ms=clock, instruments=(*DEFAULT_INSTRUMENTS, TST))
    _script(other, clock)
    assert _state(other)[0] != runs[0][0]  # ids come from the seed


def test_random_walk_moves_by_whole_ticks(ex: SimExchange) -> None:
    for _ in range(50):
        price = ex.random_walk(L, "TSTUSDT", max_ticks=3)
        assert price % D("0.1") == 0
    assert ex.mark_price(L, "TSTUSDT") == price
