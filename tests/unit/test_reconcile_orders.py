"""Order checks: matching, status and fill mismatches, missing and unknown orders, stale."""

from __future__ import annotations

from decimal import Decimal

import pytest
from recon_factories import (
    NOW,
    TAKEN,
    D,
    cid,
    kinds,
    ledger,
    only,
    order,
    venue,
    venue_view,
)

from console.domain import OrderRole, OrderStatus, Origin
from console.domain.reconciliation import (
    ActionKind,
    Decision,
    DiscrepancyKind,
    Severity,
    TradingMode,
)
from console.reconcile import ReconcileConfig, diff, fills_since, orders_to_query, reconcile

CFG = ReconcileConfig()


def run(led, ven, cfg=CFG, mode=TradingMode.TRADING):
    return reconcile(led, ven, NOW, cfg, mode)


# -- orders_to_query / fills_since ---------------------------------------------------------


def test_orders_to_query_returns_ledger_active_orders_absent_from_the_open_list() -> None:
    by_vid = order(cid(1), vid="v1")
    by_cid = order(cid(2))
    absent = order(cid(3), vid="v3")
    pending = order(cid(4), status=OrderStatus.PENDING_NEW)
    done = order(cid(5), vid="v5", status=OrderStatus.FILLED, filled="1", avg="100")
    led = ledger(orders=(by_vid, by_cid, absent, pending, done))
    open_list = [venue_view(by_vid, client_order_id=""), venue_view(by_cid, venue_order_id="v2")]
    assert orders_to_query(led, open_list) == [absent, pending]


def test_a_client_id_match_with_a_different_venue_id_is_another_order() -> None:
    mine = order("lbl", vid="v1")
    other = order("lbl", vid="v2")
    led = ledger(orders=(mine,))
    assert orders_to_query(led, [other]) == [mine]
    result = diff(led, venue(open_orders=(other,)), NOW, CFG)
    assert {d.kind for d in result.discrepancies} == {DiscrepancyKind.ORDER_UNKNOWN_LOCALLY}
    assert any("not resolved" in u for u in result.unverified)


LOOKBACK = 7 * 24 * 3_600_000 - 600_000  # a week less ten minutes: one 7-day window


@pytest.mark.parametrize(("mark", "last", "fill_times", "expected"), [
    (NOW - 3_600_000, None, (), NOW - 3_600_000 - 300_000),
    # the newest ledger fill never starts the back-fill: the stream may have recorded it
    # after dropping older ones; only the coverage mark says what was verified
    (NOW - 3_600_000, NOW - 60_000, (NOW - 60_000,), NOW - 3_600_000 - 300_000),
    (None, NOW - 1_000_000, (NOW - 1_000_000, NOW - 2_000_000), NOW - LOOKBACK),
    (None, None, (), NOW - LOOKBACK),
    (NOW + 50_000, None, (), NOW - 300_000),  # a mark "in the future" is clamped to now
])
def test_fills_since_starts_at_the_coverage_mark(mark, last, fill_times, expected) -> None:
    from dataclasses import replace

    from recon_factories import fill

    led = ledger(fills=tuple(fill(f"e{i}", at=t) for i, t in enumerate(fill_times)),
                 last_exec_time=last)
    assert fills_since(replace(led, fill_coverage=mark), NOW, CFG) == expected


# -- both sides know the order --------------------------------------------------------------


def test_matching_books_have_no_discrepancy_and_count_tracked_orders() -> None:
    a = order(cid(1), vid="v1")
    b = order(cid(2), vid="v2", status=OrderStatus.PARTIALLY_FILLED, filled="0.4", avg="99")
    led = ledger(orders=(a, b))
    result = run(led, venue(open_orders=(venue_view(a), venue_view(b))))
    assert result.discrepancies == ()
    assert result.unverified == ()
    assert result.plan.actions == ()
    assert result.tracked_orders == 2
    assert result.changes.is_empty


def test_avg_price_zero_versus_none_without_fills_is_not_a_mismatch() -> None:
    a = order(cid(1), vid="v1")
    result = run(ledger(orders=(a,)), venue(open_orders=(venue_view(a, avg_price=D(0)),)))
    assert result.discrepancies == ()


@pytest.mark.parametrize(("ledger_kw", "venue_kw", "kind", "action"), [
    ({}, {"status": OrderStatus.PARTIALLY_FILLED, "filled_qty": D("0.5"),
          "avg_price": D("100")}, DiscrepancyKind.STATUS_MISMATCH, ActionKind.UPDATE_ORDER),
    ({"status": OrderStatus.PARTIALLY_FILLED, "filled_qty": D("0.2"), "avg_price": D("100")},
     {"status": OrderStatus.PARTIALLY_FILLED, "filled_qty": D("0.5"), "avg_price": D("100")},
     DiscrepancyKind.FILL_QTY_MISMATCH, ActionKind.UPDATE_ORDER),
    ({"status": OrderStatus.PARTIALLY_FILLED, "filled_qty": D("0.5"), "avg_price": D("100")},
     {"status": OrderStatus.PARTIALLY_FILLED, "filled_qty": D("0.5"), "avg_price": D("101")},
     DiscrepancyKind.FILL_QTY_MISMATCH, ActionKind.UPDATE_ORDER),
    ({}, {"status": OrderStatus.FILLED, "filled_qty": D("1"), "avg_price": D("100")},
     DiscrepancyKind.STATUS_MISMATCH, ActionKind.MARK_FILLED),
    ({}, {"status": OrderStatus.CANCELLED}, DiscrepancyKind.STATUS_MISMATCH,
     ActionKind.MARK_CANCELLED),
    ({}, {"price": D("101")}, DiscrepancyKind.STATUS_MISMATCH, ActionKind.UPDATE_ORDER),
])
def test_both_present_and_different_take_the_venue_values(ledger_kw, venue_kw, kind,
                                                          action) -> None:
    known = order(cid(1), vid="v1", strategy_id="ema", worker_id="w1", role=OrderRole.ENTRY,
                  label="rc_ema_w1_entry").evolve(**ledger_kw)
    seen = venue_view(known, **{**ledger_kw, **venue_kw})
    result = run(ledger(orders=(known,)), venue(open_orders=(seen,)))
    assert [d.kind for d in result.discrepancies] == [kind]
    [planned] = only(result.plan, action)
    assert planned.decision is Decision.AUTO
    target = planned.action.order
    assert target is not None
    for name in ("status", "filled_qty", "avg_price", "price", "qty"):
        assert getattr(target, name) == getattr(seen, name)
    for name in ("strategy_id", "worker_id", "role", "origin", "label", "client_order_id",
                 "created_at"):
        assert getattr(target, name) == getattr(known, name)
    assert result.changes.orders == (target,)


def test_pending_new_seen_on_the_venue_takes_its_venue_id_and_status() -> None:
    intent = order(cid(1), status=OrderStatus.PENDING_NEW, worker_id="w1")
    seen = venue_view(intent, venue_order_id="v77", status=OrderStatus.NEW)
    result = run(ledger(orders=(intent,)), venue(open_orders=(seen,)))
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.STATUS_MISMATCH
    [planned] = only(result.plan, ActionKind.UPDATE_ORDER)
    assert planned.action.order is not None
    assert planned.action.order.venue_order_id == "v77"
    assert planned.action.order.status is OrderStatus.NEW
    assert planned.action.order.worker_id == "w1"


def test_a_terminal_ledger_order_still_open_on_the_venue_is_reopened() -> None:
    known = order(cid(1), vid="v1", status=OrderStatus.CANCELLED, updated_at=NOW - 60_000)
    result = run(ledger(orders=(known,)),
                 venue(open_orders=(venue_view(known, status=OrderStatus.NEW),)))
    assert [d.kind for d in result.discrepancies] == [DiscrepancyKind.STATUS_MISMATCH]
    [planned] = only(result.plan, ActionKind.UPDATE_ORDER)
    assert planned.action.order is not None
    assert planned.action.order.status is OrderStatus.NEW
    assert result.tracked_orders == 1


def test_a_ledger_record_newer_than_the_snapshot_is_not_compared() -> None:
    known = order(cid(1), vid="v1", status=OrderStatus.FILLED, filled="1", avg="100",
                  updated_at=TAKEN + 5)
    result = run(ledger(orders=(known,)), venue(open_orders=(venue_view(known,
                 status=OrderStatus.NEW, filled_qty=D(0), avg_price=None),)))
    assert result.discrepancies == ()
    assert any("after the venue snapshot" in u for u in result.deferred)
    assert result.unverified == ()  # newer news is deferred, not a failure


def test_evidence_and_summary_show_both_sides_with_times() -> None:
    known = order(cid(1), vid="v1", qty="0.5", price="60000", strategy_id="ema")
    seen = venue_view(known, status=OrderStatus.FILLED, filled_qty=D("0.5"),
                      avg_price=D("60000"))
    [d] = run(ledger(orders=(known,)), venue(open_orders=(seen,))).discrepancies
    assert d.summary == "BTCUSDT Buy 0.5 @ 60000: ledger NEW, venue FILLED 0.5"
    assert d.subject == known.ident
    assert d.symbol == "BTCUSDT"
    assert ("status", "NEW") in d.ledger and ("strategy_id", "ema") in d.ledger
    assert ("status", "FILLED") in d.venue and ("filled_qty", "0.5") in d.venue
    assert d.ledger_seen_at == known.updated_at
    assert d.venue_seen_at == TAKEN


# -- ledger-active, absent from the open list ---------------------------------------------


def _missing(status: OrderStatus = OrderStatus.NEW, **kw):
    return order(cid(9), vid="v9", status=status, strategy_id="ema", worker_id="w1",
                 role=OrderRole.ENTRY, **kw)


@pytest.mark.parametrize(("answer_kw", "action", "status", "filled"), [
    ({"status": OrderStatus.FILLED, "filled_qty": D(1), "avg_price": D("99.5")},
     ActionKind.MARK_FILLED, OrderStatus.FILLED, D(1)),
    ({"status": OrderStatus.CANCELLED}, ActionKind.MARK_CANCELLED, OrderStatus.CANCELLED, D(0)),
    ({"status": OrderStatus.CANCELLED, "filled_qty": D("0.3"), "avg_price": D("100")},
     ActionKind.MARK_CANCELLED, OrderStatus.CANCELLED, D("0.3")),
    ({"status": OrderStatus.REJECTED}, ActionKind.MARK_CANCELLED, OrderStatus.REJECTED, D(0)),
    ({"status": OrderStatus.UNTRIGGERED}, ActionKind.UPDATE_ORDER, OrderStatus.UNTRIGGERED,
     D(0)),
])
def test_missing_order_takes_the_by_id_answer(answer_kw, action, status, filled) -> None:
    known = _missing()
    answer = venue_view(known, **answer_kw)
    result = run(ledger(orders=(known,)), venue(queried={known.ident: answer}))
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.ORDER_MISSING_ON_VENUE
    [planned] = only(result.plan, action)
    target = planned.action.order
    assert target is not None
    assert (target.status, target.filled_qty) == (status, filled)
    assert (target.strategy_id, target.worker_id, target.role) == ("ema", "w1", OrderRole.ENTRY)


def test_missing_order_live_elsewhere_and_already_known_is_verified() -> None:
    known = _missing(OrderStatus.UNTRIGGERED)
    result = run(ledger(orders=(known,)), venue(queried={known.ident: venue_view(known)}))
    assert result.discrepancies == () and result.unverified == ()


def test_young_pending_new_unknown_to_the_venue_is_in_flight() -> None:
    known = _missing(OrderStatus.PENDING_NEW, created_at=NOW - 5_000, updated_at=NOW - 5_000)
    result = run(ledger(orders=(known,)), venue(not_found=frozenset({known.ident})))
    assert result.discrepancies == ()
    assert result.plan.actions == ()
    assert any("in flight" in u for u in result.unverified)


def test_old_pending_new_unknown_to_the_venue_never_reached_it() -> None:
    known = _missing(OrderStatus.PENDING_NEW, created_at=NOW - 60_000)
    result = run(ledger(orders=(known,)), venue(not_found=frozenset({known.ident})))
    [planned] = only(result.plan, ActionKind.MARK_CANCELLED)
    assert planned.action.order is not None
    assert planned.action.order.status is OrderStatus.REJECTED


@pytest.mark.parametrize("status", [OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED,
                                    OrderStatus.UNTRIGGERED])
def test_a_live_order_the_venue_never_saw_is_alerted_never_cancelled(status) -> None:
    known = _missing(status)
    result = run(ledger(orders=(known,)), venue(not_found=frozenset({known.ident})))
    assert kinds(result.plan)[-2:] == [ActionKind.ALERT, ActionKind.UPDATE_ORDER]
    [alert] = only(result.plan, ActionKind.ALERT)
    assert alert.action.severity is Severity.CRITICAL
    [update] = only(result.plan, ActionKind.UPDATE_ORDER)
    assert update.action.order is not None
    assert update.action.order.status is OrderStatus.UNKNOWN
    assert not only(result.plan, ActionKind.MARK_CANCELLED)
    assert not only(result.plan, ActionKind.CANCEL_ORDER)


def test_an_order_already_unknown_gets_the_alert_but_no_rewrite() -> None:
    known = _missing(OrderStatus.UNKNOWN)
    result = run(ledger(orders=(known,)), venue(not_found=frozenset({known.ident})))
    assert ActionKind.ALERT in kinds(result.plan)
    assert ActionKind.UPDATE_ORDER not in kinds(result.plan)
    assert result.changes.is_empty


def test_an_unresolved_missing_order_is_unverified_and_untouched() -> None:
    known = _missing()
    result = run(ledger(orders=(known,)), venue())
    assert result.discrepancies == ()
    assert result.plan.actions == ()
    assert any(known.ident in u and "not resolved" in u for u in result.unverified)


# -- venue-only orders ----------------------------------------------------------------------


def test_an_unknown_order_with_our_prefix_is_cancelled_with_approval() -> None:
    stray = order(cid(42, worker="w7"), vid="v42")
    result = run(ledger(), venue(open_orders=(stray,)))
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.UNKNOWN_OURS
    [cancel] = only(result.plan, ActionKind.CANCEL_ORDER)
    assert cancel.decision is Decision.NEEDS_APPROVAL
    assert cancel.action.order == stray
    assert cancel.action.worker_id == "w7"
    assert only(result.plan, ActionKind.ALERT)
    assert not only(result.plan, ActionKind.ADOPT_ORDER)


@pytest.mark.parametrize("client_id", ["", "manual-1", "rcx-w1-e-abc-1", "rc_ema_w1_sl",
                                       "other-w1-e-abc-1"])
def test_a_foreign_unknown_order_is_adopted(client_id) -> None:
    foreign = order(client_id, vid="v5", strategy_id="theirs", worker_id="x",
                    role=OrderRole.ENTRY)
    result = run(ledger(), venue(open_orders=(foreign,)))
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.ORDER_UNKNOWN_LOCALLY
    [adopt] = only(result.plan, ActionKind.ADOPT_ORDER)
    assert adopt.decision is Decision.AUTO
    adopted = adopt.action.order
    assert adopted is not None
    assert adopted.origin is Origin.ADOPTED_EXTERNAL
    assert adopted.role is OrderRole.OTHER
    assert (adopted.strategy_id, adopted.worker_id) == ("", "")
    [alert] = only(result.plan, ActionKind.ALERT)
    assert alert.action.severity is Severity.INFO
    assert not only(result.plan, ActionKind.CANCEL_ORDER)


def test_duplicate_pages_count_once() -> None:
    known = order(cid(1), vid="v1")
    stray = order("manual", vid="v2")
    result = run(ledger(orders=(known,)),
                 venue(open_orders=(venue_view(known), venue_view(known), stray, stray)))
    assert [d.kind for d in result.discrepancies] == [DiscrepancyKind.ORDER_UNKNOWN_LOCALLY]
    assert result.tracked_orders == 2


# -- stale orders ---------------------------------------------------------------------------


STALE = ReconcileConfig(stale_order_timeout_ms=600_000)


@pytest.mark.parametrize(("kw", "stale"), [
    ({"created_at": NOW - 700_000}, True),
    ({"created_at": NOW - 600_000}, False),  # exactly the timeout is not past it
    ({"created_at": NOW - 500_000}, False),
    ({"created_at": NOW - 700_000, "role": OrderRole.STOP_LOSS}, False),
    ({"created_at": NOW - 700_000, "role": OrderRole.TAKE_PROFIT}, False),
    ({"created_at": NOW - 700_000, "origin": Origin.ADOPTED_EXTERNAL}, False),
    ({"created_at": 0, "updated_at": 0}, False),  # unknown age: not judged
])
def test_stale_orders(kw, stale) -> None:
    known = order(cid(1), vid="v1", **kw)
    result = run(ledger(orders=(known,)), venue(open_orders=(venue_view(known),)), cfg=STALE)
    found = [d.kind for d in result.discrepancies if d.kind is DiscrepancyKind.STALE_ORDER]
    assert found == ([DiscrepancyKind.STALE_ORDER] if stale else [])
    if stale:
        [cancel] = only(result.plan, ActionKind.CANCEL_ORDER)
        assert result.discrepancies[0].kind is DiscrepancyKind.STALE_ORDER
        assert cancel.decision is Decision.NEEDS_APPROVAL
        assert cancel.action.reason is DiscrepancyKind.STALE_ORDER


def test_stale_check_is_off_by_default() -> None:
    known = order(cid(1), vid="v1", created_at=NOW - 10 * 24 * 3_600_000)
    result = run(ledger(orders=(known,)), venue(open_orders=(venue_view(known),)))
    assert result.discrepancies == ()


def test_stale_reduce_only_protection_by_client_id_letter_is_spared() -> None:
    guard = order(cid(1, role=OrderRole.STOP_LOSS), vid="v1", reduce_only=True,
                  created_at=NOW - 700_000)
    result = run(ledger(orders=(guard,)), venue(open_orders=(venue_view(guard),),
                                                positions=None), cfg=STALE)
    assert not [d for d in result.discrepancies if d.kind is DiscrepancyKind.STALE_ORDER]


def test_money_stays_decimal_in_every_target() -> None:
    known = order(cid(1), vid="v1", qty="0.3")
    seen = venue_view(known, status=OrderStatus.FILLED, filled_qty=D("0.3"),
                      avg_price=D("100.10"))
    result = run(ledger(orders=(known,)), venue(open_orders=(seen,)))
    [target] = result.changes.orders
    assert isinstance(target.avg_price, Decimal) and target.avg_price == D("100.10")


# -- matching edge cases ---------------------------------------------------------------------


def test_a_reused_client_id_is_adopted_under_its_venue_id() -> None:
    from console.reconcile import apply_changes

    mine = order("lbl", vid="v1", strategy_id="ema")
    other = order("lbl", vid="v2")
    led = ledger(orders=(mine,))
    ven = venue(open_orders=(venue_view(mine), other))
    first = run(led, ven)
    [adopted] = first.changes.orders
    assert adopted.client_order_id == "" and adopted.ident == "venue:v2"
    after = apply_changes(led, first.changes)
    assert {o.ident for o in after.orders} == {"lbl", "venue:v2"}
    assert run(after, ven).discrepancies == ()


def test_an_open_order_without_venue_id_matches_by_client_id() -> None:
    intent = order(cid(1), status=OrderStatus.PENDING_NEW)
    seen = venue_view(intent, status=OrderStatus.NEW)  # no venue id either
    result = run(ledger(orders=(intent,)), venue(open_orders=(seen, seen)))
    assert [d.kind for d in result.discrepancies] == [DiscrepancyKind.STATUS_MISMATCH]
    assert orders_to_query(ledger(orders=(intent,)), [seen]) == []


def test_a_venue_type_change_is_taken_without_breaking_the_order() -> None:
    from console.domain import OrderType

    known = order(cid(1), vid="v1")
    seen = venue_view(known, type=OrderType.MARKET, price=None, trigger_price=D(90))
    [target] = run(ledger(orders=(known,)), venue(open_orders=(seen,))).changes.orders
    assert (target.type, target.price, target.trigger_price) == (OrderType.MARKET, None, D(90))


def test_the_same_ledger_order_matched_twice_counts_once() -> None:
    known = order(cid(1), vid="v1")
    twin_by_cid = venue_view(known, venue_order_id="")  # same order seen without its id
    result = run(ledger(orders=(known,)), venue(open_orders=(venue_view(known), twin_by_cid)))
    assert result.discrepancies == ()
    assert result.tracked_orders == 1


@pytest.mark.parametrize(("sending", "in_flight"), [
    (True, True),    # this session is sending it right now: its sender records the answer
    (False, False),  # nobody is (a sender that gave up, a restart): take the venue's answer
])
@pytest.mark.parametrize("listed", [True, False])
def test_a_pending_order_the_venue_shows_live_is_left_to_its_sender(
        sending: bool, in_flight: bool, listed: bool) -> None:
    known = order(cid(7), status=OrderStatus.PENDING_NEW, created_at=NOW - 2_000,
                  updated_at=NOW - 2_000)
    live = venue_view(known, venue_order_id="v7", status=OrderStatus.NEW)
    ven = venue(open_orders=(live,)) if listed else venue(
        open_orders=(), queried={known.ident: live})
    cfg = ReconcileConfig(in_flight=frozenset({known.ident}) if sending else frozenset())
    result = run(ledger(orders=(known,)), ven, cfg=cfg)
    if in_flight:
        assert result.discrepancies == () and result.plan.actions == ()
        assert any("in flight" in d for d in result.deferred)
    else:
        [d] = result.discrepancies
        assert d.subject == known.ident
        [update] = [p.action for p in result.plan.actions if p.action.order is not None]
        assert update.order is not None and update.order.status is OrderStatus.NEW
        assert update.order.venue_order_id == "v7"
