"""Saved brackets against the venue: seed 003's outcomes, partial fills, two workers,
orphaned protection."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
from recon_factories import (
    NOW,
    D,
    cid,
    ledger,
    only,
    order,
    position,
    runner,
    venue,
    venue_view,
)

from console.domain import (
    BracketState,
    Category,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Origin,
    Side,
    TriggerDirection,
)
from console.domain.ids import has_our_prefix, is_valid_client_id, parse_client_id
from console.domain.reconciliation import (
    ActionKind,
    Decision,
    DiscrepancyKind,
    Severity,
    TradingMode,
)
from console.reconcile import ReconcileConfig, apply_changes, reconcile

CFG = ReconcileConfig()
OPENED = NOW - 3_600_000


@dataclass
class Book:
    entry: Order
    sl: Order
    tp: Order
    bracket: BracketState


def book(worker: str = "w1", *, symbol: str = "BTCUSDT", n: int = 0, size: str = "1",
         filled: str | None = None) -> Book:
    filled = filled if filled is not None else size
    meta = {"strategy_id": "ema", "worker_id": worker}
    entry = order(cid(n + 1, worker=worker, role=OrderRole.ENTRY), vid=f"{worker}-ve",
                  symbol=symbol, qty=size, status=OrderStatus.FILLED, filled=filled,
                  avg="100", role=OrderRole.ENTRY, **meta)
    protect = {"side": Side.SELL, "price": None, "reduce_only": True, "symbol": symbol,
               "qty": size, "status": OrderStatus.UNTRIGGERED}
    sl = order(cid(n + 2, worker=worker, role=OrderRole.STOP_LOSS), vid=f"{worker}-vs",
               trigger_price=D("95"), role=OrderRole.STOP_LOSS, **protect, **meta)
    tp = order(cid(n + 3, worker=worker, role=OrderRole.TAKE_PROFIT), vid=f"{worker}-vt",
               trigger_price=D("110"), role=OrderRole.TAKE_PROFIT, **protect, **meta)
    bracket = BracketState(
        strategy_id="ema", category=Category.LINEAR, symbol=symbol, side=Side.BUY,
        size=D(size), entry_client_id=entry.client_order_id, entry_price=D("100"),
        entry_order_id=entry.venue_order_id, sl_client_id=sl.client_order_id,
        sl_order_id=sl.venue_order_id, tp_client_id=tp.client_order_id,
        tp_order_id=tp.venue_order_id, stop_price=D("95"), take_profit_price=D("110"),
        filled_size=D(filled), opened_at=OPENED)
    return Book(entry, sl, tp, bracket)


def run(led, ven, cfg=CFG):
    """Reconcile; the ledger agrees with the venue's positions unless a test says otherwise
    (bracket tests are about orders)."""
    if not led.positions and ven.positions:
        led = replace(led, positions=ven.positions)
    return reconcile(led, ven, NOW, cfg, TradingMode.TRADING)


def bracket_kinds(result) -> list[DiscrepancyKind]:
    return [d.kind for d in result.discrepancies]


# -- seed 003, scenario 1: fully matched ---------------------------------------------------


def test_fully_matched_bracket_needs_nothing() -> None:
    b = book()
    led = ledger(orders=(b.entry, b.sl, b.tp), runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(b.sl), venue_view(b.tp)),
                            positions=(position("1"),)))
    assert result.discrepancies == ()
    assert result.plan.actions == ()
    assert result.unverified == ()


def test_fully_matched_under_new_ids_restores_the_bracket() -> None:
    b = book()
    saved = replace(b.bracket, sl_order_id="", tp_order_id="", entry_order_id="")
    led = ledger(orders=(b.entry, b.sl, b.tp), runners=(runner("w1", saved),))
    result = run(led, venue(open_orders=(venue_view(b.sl), venue_view(b.tp)),
                            positions=(position("1"),)))
    assert result.discrepancies == ()
    [restore] = only(result.plan, ActionKind.RESTORE_BRACKET)
    assert restore.decision is Decision.AUTO
    assert restore.action.bracket == b.bracket
    [state] = result.changes.runner_states
    assert state.bracket == b.bracket


def test_a_replaced_stop_is_found_by_worker_and_role_letter() -> None:
    b = book()
    old_sl = b.sl.evolve(status=OrderStatus.CANCELLED)
    new_sl = order(cid(50, role=OrderRole.STOP_LOSS), vid="vs2", side=Side.SELL, price=None,
                   trigger_price=D("96"), reduce_only=True, status=OrderStatus.UNTRIGGERED,
                   role=OrderRole.STOP_LOSS, strategy_id="ema", worker_id="w1")
    led = ledger(orders=(b.entry, old_sl, new_sl, b.tp), runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(new_sl), venue_view(b.tp)),
                            positions=(position("1"),)))
    assert result.discrepancies == ()
    [restore] = only(result.plan, ActionKind.RESTORE_BRACKET)
    assert restore.action.bracket is not None
    assert restore.action.bracket.sl_order_id == "vs2"
    assert restore.action.bracket.sl_client_id == new_sl.client_order_id


def test_a_stop_is_found_by_label() -> None:
    b = book()
    labelled = Order(venue="bybit", account="main", category=Category.LINEAR,
                     symbol="BTCUSDT", side=Side.SELL, type=OrderType.MARKET, qty=D(1),
                     status=OrderStatus.UNTRIGGERED, venue_order_id="deribit-9",
                     trigger_price=D("95"), reduce_only=True, label="rc_ema_w1_sl")
    saved = replace(b.bracket, sl_client_id="", sl_order_id="gone")
    led = ledger(orders=(b.entry, b.tp, labelled.evolve(worker_id="w1", role=OrderRole.OTHER)),
                 runners=(runner("w1", saved),))
    result = run(led, venue(open_orders=(labelled, venue_view(b.tp)),
                            positions=(position("1"),)))
    assert not [d for d in result.discrepancies
                if d.kind is DiscrepancyKind.BRACKET_MISSING_PROTECTION]
    [restore] = only(result.plan, ActionKind.RESTORE_BRACKET)
    assert restore.action.bracket is not None
    assert restore.action.bracket.sl_order_id == "deribit-9"


# -- scenario 2: missing protection --------------------------------------------------------


def test_missing_protection_alerts_and_proposes_a_reduce_only_stop() -> None:
    b = book()
    led = ledger(orders=(b.entry, b.sl.evolve(status=OrderStatus.CANCELLED), b.tp),
                 runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(b.tp),), positions=(position("1"),)))
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.BRACKET_MISSING_PROTECTION
    assert d.subject == "u1/w1"
    assert "stop-loss" in d.summary
    assert ("sl", "gone") in d.venue and ("position", "1") in d.venue
    [alert] = only(result.plan, ActionKind.ALERT)
    assert alert.action.severity is Severity.CRITICAL
    [place] = only(result.plan, ActionKind.PLACE_PROTECTION)
    assert place.decision is Decision.NEEDS_APPROVAL
    stop = place.action.order
    assert stop is not None
    assert (stop.side, stop.qty, stop.reduce_only, stop.role) == (Side.SELL, D(1), True,
                                                                  OrderRole.STOP_LOSS)
    assert stop.trigger_price == D("95")
    assert stop.trigger_direction is TriggerDirection.FALL
    assert (stop.strategy_id, stop.worker_id, stop.origin) == ("ema", "w1", Origin.OURS)
    assert stop.status is OrderStatus.PENDING_NEW
    assert is_valid_client_id(stop.client_order_id)
    assert has_our_prefix(stop.client_order_id, "rc")
    parsed = parse_client_id(stop.client_order_id)
    assert parsed is not None and (parsed.worker, parsed.role) == ("w1", OrderRole.STOP_LOSS)
    assert stop.client_order_id != b.sl.client_order_id
    assert stop.label == "rc_ema_w1_sl"


def test_both_legs_missing_for_a_short_places_both_above_and_below() -> None:
    b = book()
    short = replace(b.bracket, side=Side.SELL, stop_price=D("105"), take_profit_price=D("90"))
    led = ledger(orders=(b.entry.evolve(side=Side.SELL),), runners=(runner("w1", short),))
    result = run(led, venue(positions=(position("-1"),)))
    places = {p.action.order.role: p.action.order for p in
              only(result.plan, ActionKind.PLACE_PROTECTION) if p.action.order}
    assert places[OrderRole.STOP_LOSS].side is Side.BUY
    assert places[OrderRole.STOP_LOSS].trigger_direction is TriggerDirection.RISE
    assert places[OrderRole.TAKE_PROFIT].trigger_direction is TriggerDirection.FALL
    assert places[OrderRole.TAKE_PROFIT].trigger_price == D("90")


def test_the_protection_id_is_stable_across_runs() -> None:
    b = book()
    led = ledger(orders=(b.entry,), runners=(runner("w1", b.bracket),))
    ids = set()
    for taken in (NOW - 5_000, NOW - 1_000):
        ven = replace(venue(positions=(position("1"),)), taken_at=taken)
        result = reconcile(led, ven, NOW, CFG, TradingMode.TRADING)
        ids |= {p.action.order.client_order_id for p in
                only(result.plan, ActionKind.PLACE_PROTECTION) if p.action.order}
    assert len(ids) == 2  # one per leg, the same in both runs


def test_a_used_protection_id_is_not_reused() -> None:
    b = book()
    led = ledger(orders=(b.entry,), runners=(runner("w1", b.bracket),))
    first = run(led, venue(positions=(position("1"),)))
    [place] = [p for p in only(first.plan, ActionKind.PLACE_PROTECTION)
               if p.action.order and p.action.order.role is OrderRole.STOP_LOSS]
    assert place.action.order is not None
    used = place.action.order.evolve(status=OrderStatus.CANCELLED, venue_order_id="vx")
    second = run(replace(led, orders=(*led.orders, used)), venue(positions=(position("1"),)))
    ids = {p.action.order.client_order_id for p in
           only(second.plan, ActionKind.PLACE_PROTECTION) if p.action.order}
    assert used.client_order_id not in ids


def test_missing_protection_without_a_saved_price_asks_for_a_hand() -> None:
    b = book()
    saved = replace(b.bracket, take_profit_price=None)
    led = ledger(orders=(b.entry, b.sl, b.tp.evolve(status=OrderStatus.CANCELLED)),
                 runners=(runner("w1", saved),))
    result = run(led, venue(open_orders=(venue_view(b.sl),), positions=(position("1"),)))
    assert not only(result.plan, ActionKind.PLACE_PROTECTION)
    [alert] = only(result.plan, ActionKind.ALERT)
    assert "by hand" in alert.action.summary


# -- scenario 3: entry not filled ----------------------------------------------------------


@pytest.mark.parametrize(("venue_auto", "expected"), [
    (False, Decision.NEEDS_APPROVAL),
    (True, Decision.AUTO),
])
def test_an_open_entry_is_cancelled_and_the_bracket_cleared_together(venue_auto,
                                                                     expected) -> None:
    b = book(filled="0")
    entry = b.entry.evolve(status=OrderStatus.NEW, filled_qty=D(0), avg_price=None)
    led = ledger(orders=(entry,), runners=(runner("w1", replace(b.bracket, sl_client_id="",
                                                                 sl_order_id="",
                                                                 tp_client_id="",
                                                                 tp_order_id="")),))
    cfg = ReconcileConfig(venue_actions_auto=venue_auto)
    result = run(led, venue(open_orders=(venue_view(entry),)), cfg=cfg)
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED
    [cancel] = only(result.plan, ActionKind.CANCEL_ORDER)
    assert cancel.action.order is not None
    assert cancel.action.order.client_order_id == entry.client_order_id
    assert cancel.action.order.role is OrderRole.ENTRY  # ledger metadata kept
    [clear] = only(result.plan, ActionKind.CLEAR_BRACKET)
    assert cancel.decision is expected and clear.decision is expected
    if venue_auto:
        [state] = result.changes.runner_states
        assert state.bracket is None
    else:
        assert result.changes.runner_states == ()  # the bracket waits for the cancel


@pytest.mark.parametrize(("idle_ms", "cold_start", "void"), [
    (1_000, False, False),       # a live worker's entry is waiting to fill
    (1_000, True, True),         # this session is restarting the worker: cold start
    (3_600_000, False, True),    # a worker silent for an hour is gone
])
def test_an_open_entry_is_void_only_when_its_worker_is_gone(idle_ms, cold_start, void) -> None:
    b = book(filled="0")
    entry = b.entry.evolve(status=OrderStatus.NEW, filled_qty=D(0), avg_price=None)
    state = replace(runner("w1", b.bracket), updated_at=NOW - idle_ms)
    led = ledger(orders=(entry, b.sl, b.tp), runners=(state,))
    ven = venue(open_orders=(venue_view(entry), venue_view(b.sl), venue_view(b.tp)))
    restarting = frozenset({(state.user_id, state.worker_id)}) if cold_start else frozenset()
    result = run(led, ven, cfg=ReconcileConfig(cold_start_workers=restarting))
    kinds = bracket_kinds(result)
    if void:
        assert kinds == [DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED]
        assert len(only(result.plan, ActionKind.CANCEL_ORDER)) == 3
    else:
        assert kinds == []
        assert result.plan.actions == ()


def test_an_open_entry_with_live_stops_cancels_them_too() -> None:
    b = book(filled="0")
    entry = b.entry.evolve(status=OrderStatus.NEW, filled_qty=D(0), avg_price=None)
    led = ledger(orders=(entry, b.sl, b.tp), runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(entry), venue_view(b.sl),
                                         venue_view(b.tp))))
    assert bracket_kinds(result) == [DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED]
    assert {p.action.order.venue_order_id for p in only(result.plan, ActionKind.CANCEL_ORDER)
            if p.action.order} == {"w1-ve", "w1-vs", "w1-vt"}


# -- scenario 4: position closed while away ------------------------------------------------


@pytest.mark.parametrize("entry_in_ledger", [True, False])
def test_closed_offline_cancels_the_stops_and_clears_the_bracket(entry_in_ledger) -> None:
    b = book()
    orders = (b.entry, b.sl, b.tp) if entry_in_ledger else (b.sl, b.tp)
    led = ledger(orders=orders, runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(b.sl), venue_view(b.tp)), positions=()))
    assert bracket_kinds(result) == [DiscrepancyKind.BRACKET_CLOSED_OFFLINE]  # no orphan twice
    cancels = only(result.plan, ActionKind.CANCEL_ORDER)
    assert {p.action.subject for p in cancels} == {b.sl.ident, b.tp.ident}
    assert {p.decision for p in cancels} == {Decision.NEEDS_APPROVAL}
    [clear] = only(result.plan, ActionKind.CLEAR_BRACKET)
    assert clear.decision is Decision.AUTO
    [state] = result.changes.runner_states
    assert state.bracket is None
    # next run: the stops are plain orphans now, still proposed for cancellation
    again = run(apply_changes(led, result.changes),
                venue(open_orders=(venue_view(b.sl), venue_view(b.tp)), positions=()))
    assert {d.kind for d in again.discrepancies} == {DiscrepancyKind.ORPHANED_PROTECTION}
    assert len(only(again.plan, ActionKind.CANCEL_ORDER)) == 2


# -- scenario 5: unknown orders with our prefix --------------------------------------------


def test_crashed_session_leftovers_are_cancelled() -> None:
    b = book()
    result = run(ledger(), venue(open_orders=(venue_view(b.sl), venue_view(b.tp)),
                                 positions=()))
    assert bracket_kinds(result) == [DiscrepancyKind.UNKNOWN_OURS] * 2
    assert len(only(result.plan, ActionKind.CANCEL_ORDER)) == 2


def test_a_bracket_leg_the_ledger_lost_is_adopted_as_ours_not_cancelled() -> None:
    b = book()
    led = ledger(orders=(b.entry, b.tp), runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(b.sl), venue_view(b.tp)),
                            positions=(position("1"),)))
    assert bracket_kinds(result) == [DiscrepancyKind.ORDER_UNKNOWN_LOCALLY]
    assert not only(result.plan, ActionKind.CANCEL_ORDER)
    [adopt] = only(result.plan, ActionKind.ADOPT_ORDER)
    assert adopt.action.order is not None
    assert (adopt.action.order.origin, adopt.action.order.role, adopt.action.order.worker_id,
            adopt.action.order.strategy_id) == (Origin.OURS, OrderRole.STOP_LOSS, "w1", "ema")


def test_legs_are_claimed_even_when_positions_failed() -> None:
    b = book()
    led = ledger(orders=(b.entry, b.tp), runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(b.sl), venue_view(b.tp)), positions=None))
    assert not only(result.plan, ActionKind.CANCEL_ORDER)
    assert not [d for d in result.discrepancies if d.kind.value.startswith("bracket")]


# -- partial fills -------------------------------------------------------------------------


def test_a_partly_filled_then_cancelled_entry_is_protected_for_the_filled_size() -> None:
    b = book(filled="0.4")
    entry = b.entry.evolve(status=OrderStatus.CANCELLED)
    led = ledger(orders=(entry,), runners=(runner("w1", replace(b.bracket,
                                                                 filled_size=D(0))),))
    result = run(led, venue(positions=(position("0.4"),)))
    assert bracket_kinds(result) == [DiscrepancyKind.BRACKET_MISSING_PROTECTION]
    places = only(result.plan, ActionKind.PLACE_PROTECTION)
    assert {p.action.order.qty for p in places if p.action.order} == {D("0.4")}
    [update] = only(result.plan, ActionKind.UPDATE_BRACKET)
    assert update.action.bracket is not None
    assert update.action.bracket.filled_size == D("0.4")


def test_a_partly_filled_open_entry_cancels_the_rest_and_protects_the_fill() -> None:
    b = book(filled="0.4")
    entry = b.entry.evolve(status=OrderStatus.PARTIALLY_FILLED)
    led = ledger(orders=(entry,), runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(entry),), positions=(position("0.4"),)))
    assert bracket_kinds(result) == [DiscrepancyKind.BRACKET_ENTRY_NOT_FILLED,
                                     DiscrepancyKind.BRACKET_MISSING_PROTECTION]
    [cancel] = only(result.plan, ActionKind.CANCEL_ORDER)
    assert cancel.action.order is not None
    assert cancel.action.order.client_order_id == entry.client_order_id
    assert {p.action.order.qty for p in only(result.plan, ActionKind.PLACE_PROTECTION)
            if p.action.order} == {D("0.4")}
    assert not only(result.plan, ActionKind.CLEAR_BRACKET)


# -- two workers on one account ------------------------------------------------------------


def test_two_workers_each_resolve_only_their_own_orders() -> None:
    one = book("w1")
    two = book("w2", n=10)
    # w1 saved no ids for its stops: they must be found by worker and role letter, and
    # w2's identical-looking stops must not be taken.
    saved_one = replace(one.bracket, sl_client_id="", sl_order_id="", tp_client_id="",
                        tp_order_id="")
    led = ledger(orders=(one.entry, one.sl, one.tp, two.entry,
                         two.sl.evolve(status=OrderStatus.CANCELLED), two.tp),
                 runners=(runner("w1", saved_one), runner("w2", two.bracket)))
    result = run(led, venue(open_orders=(venue_view(two.tp), venue_view(one.tp),
                                         venue_view(one.sl)),
                            positions=(position("2"),)))
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.BRACKET_MISSING_PROTECTION
    assert d.subject == "u1/w2"
    [place] = only(result.plan, ActionKind.PLACE_PROTECTION)
    assert place.action.worker_id == "w2"
    assert place.action.order is not None and place.action.order.worker_id == "w2"
    [restore] = only(result.plan, ActionKind.RESTORE_BRACKET)
    assert restore.action.worker_id == "w1"
    assert restore.action.bracket is not None
    assert restore.action.bracket.sl_order_id == "w1-vs"
    assert restore.action.bracket.tp_order_id == "w1-vt"


# -- orphaned protection -------------------------------------------------------------------


def _guard(worker: str = "w1", n: int = 1, **kw) -> Order:
    fields = {"side": Side.SELL, "price": None, "trigger_price": D("95"), "reduce_only": True,
              "status": OrderStatus.UNTRIGGERED, "worker_id": worker}
    fields.update(kw)
    return order(cid(n, worker=worker, role=OrderRole.STOP_LOSS), vid=f"g{n}", **fields)


@pytest.mark.parametrize(("extra_orders", "positions", "orphan"), [
    ((), (), True),
    ((), (position("1"),), False),
    ((), (position("1", symbol="ETHUSDT"),), True),
    ((order(cid(7, role=OrderRole.ENTRY), vid="e7", role=OrderRole.ENTRY, worker_id="w1"),),
     (), False),
    ((order(cid(7, worker="w2", role=OrderRole.ENTRY), vid="e7", role=OrderRole.ENTRY,
            worker_id="w2"),), (), True),
])
def test_orphaned_protection(extra_orders, positions, orphan) -> None:
    guard = _guard(role=OrderRole.STOP_LOSS)
    led = ledger(orders=(guard, *extra_orders))
    result = run(led, venue(open_orders=tuple(venue_view(o) for o in (guard, *extra_orders)),
                            positions=positions))
    found = [d for d in result.discrepancies if d.kind is DiscrepancyKind.ORPHANED_PROTECTION]
    assert bool(found) is orphan
    if orphan:
        [cancel] = only(result.plan, ActionKind.CANCEL_ORDER)
        assert cancel.action.order is not None and cancel.action.order.venue_order_id == "g1"
        assert cancel.decision is Decision.NEEDS_APPROVAL


def test_a_reduce_only_order_with_our_stop_letter_counts_as_protection() -> None:
    guard = _guard()  # role OTHER in the ledger, but rc-w1-s-... and reduce-only
    result = run(ledger(orders=(guard,)), venue(open_orders=(venue_view(guard),)))
    assert [d.kind for d in result.discrepancies] == [DiscrepancyKind.ORPHANED_PROTECTION]


def test_adopted_protection_is_not_ours_to_cancel() -> None:
    guard = _guard(role=OrderRole.STOP_LOSS, origin=Origin.ADOPTED_EXTERNAL)
    result = run(ledger(orders=(guard,)), venue(open_orders=(venue_view(guard),)))
    assert result.discrepancies == ()


def test_an_unresolved_entry_makes_the_bracket_unverified() -> None:
    b = book()
    entry = b.entry.evolve(status=OrderStatus.NEW, filled_qty=D(0), avg_price=None)
    led = ledger(orders=(entry, b.sl, b.tp), runners=(runner("w1", b.bracket),))
    result = run(led, venue(open_orders=(venue_view(b.sl), venue_view(b.tp)), positions=()))
    assert not [d for d in result.discrepancies if d.kind.value.startswith("bracket")]
    assert any(u.startswith("bracket u1/w1") for u in result.unverified)
    assert not only(result.plan, ActionKind.CANCEL_ORDER)
    assert not only(result.plan, ActionKind.CLEAR_BRACKET)
