"""Fill coverage and re-opened orders: the pure parts.

Where the fill back-fill starts and how far an under-filled order makes it reach, which
window a run verified, the one rule that moves the coverage mark, and terminal ledger
orders that fills contradict (asked about by id, the venue's answer wins).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from recon_factories import NOW, TAKEN, D, cid, fill, ledger, only, order, venue, venue_view

from console.domain import OrderRole, OrderStatus, Origin
from console.domain.reconciliation import ActionKind, Decision, DiscrepancyKind, TradingMode
from console.domain.snapshot import FillCoverage
from console.reconcile import (
    ReconcileConfig,
    apply_changes,
    diff,
    orders_to_query,
    reach_back,
    reconcile,
    underfilled,
    verified_fills,
)

CFG = ReconcileConfig()
MIN = 60_000
DAY = 24 * 60 * MIN


def run(led, ven, cfg=CFG):
    return reconcile(led, ven, NOW, cfg, TradingMode.TRADING)


# -- the coverage mark --------------------------------------------------------------------


@pytest.mark.parametrize(("mark", "window", "after"), [
    (None, (50, 100), 100),   # no mark yet: the first window read sets it
    (60, (50, 100), 100),     # contiguous
    (50, (50, 100), 100),     # starts exactly at the mark
    (49, (50, 100), 49),      # a gap nobody read: the mark stays
    (200, (50, 100), 100),    # stops short (a fill awaits approval): back, ask again
])
def test_the_mark_moves_only_over_a_contiguous_window(mark, window, after) -> None:
    assert FillCoverage(*window).advance(mark) == after


def test_verified_fills_is_the_compared_window() -> None:
    led = ledger(fills_from=NOW - 10 * MIN)
    result = run(led, venue(fills=(), window=(NOW - 20 * MIN, TAKEN)))
    assert verified_fills(led, venue(fills=(), window=(NOW - 20 * MIN, TAKEN)),
                          result.plan) == FillCoverage(NOW - 10 * MIN, TAKEN)


def test_no_fetched_fills_verify_nothing() -> None:
    led = ledger()
    ven = venue(fills=None)
    assert verified_fills(led, ven, run(led, ven).plan) is None


def test_a_missing_fill_awaiting_approval_holds_the_window_back() -> None:
    lost = fill("e2", at=NOW - 5 * MIN)
    ven = venue(fills=(fill("e1", at=NOW - 9 * MIN), lost), window=(NOW - 10 * MIN, TAKEN))
    led = ledger(fills=(fill("e1", at=NOW - 9 * MIN),), fills_from=NOW - 10 * MIN)
    held = run(led, ven, ReconcileConfig(ledger_actions_auto=False))
    [add] = only(held.plan, ActionKind.ADD_FILL)
    assert add.decision is Decision.NEEDS_APPROVAL
    assert verified_fills(led, ven, held.plan) == FillCoverage(NOW - 10 * MIN, lost.exec_time - 1)
    applied = run(led, ven)  # applied in the run's own transaction: the whole window
    assert verified_fills(led, ven, applied.plan) == FillCoverage(NOW - 10 * MIN, TAKEN)


# -- orders filled beyond their ledger fills -----------------------------------------------


def test_underfilled_orders_are_those_with_fewer_ledger_fills_than_their_filled_qty() -> None:
    short = order(cid(1), vid="v1", status=OrderStatus.FILLED, filled="1", avg="100")
    whole = order(cid(2), vid="v2", status=OrderStatus.FILLED, filled="1", avg="100")
    part = order(cid(3), vid="v3", status=OrderStatus.PARTIALLY_FILLED, filled="0.5", avg="100")
    none = order(cid(4), vid="v4")
    led = replace(ledger(orders=(short, whole, part, none)),
                  fill_totals={short.ident: D("0.4"), whole.ident: D("1")})
    assert underfilled(led) == [short, part]


def test_reach_back_goes_to_the_earliest_creation_within_bounds() -> None:
    old = order(cid(1), created_at=NOW - 3 * DAY)
    young = order(cid(2), created_at=NOW - DAY)
    ageless = order(cid(3), created_at=0)
    since = NOW - 10 * MIN
    assert reach_back([young, old], since, NOW, CFG) == NOW - 3 * DAY - CFG.fill_margin_ms
    assert reach_back([ageless], since, NOW, CFG) == NOW - CFG.fill_order_lookback_ms
    ancient = order(cid(4), created_at=NOW - 400 * DAY)
    assert reach_back([ancient], since, NOW, CFG) == NOW - CFG.fill_order_lookback_ms
    inside = order(cid(5), created_at=NOW - 2 * MIN)
    assert reach_back([inside], NOW - 10 * MIN, NOW, CFG) is None
    assert reach_back([], since, NOW, CFG) is None


def test_applied_fills_count_in_the_order_totals() -> None:
    known = order(cid(1), vid="v1", status=OrderStatus.FILLED, filled="1", avg="100")
    intent = order(cid(2), status=OrderStatus.REJECTED)
    led = replace(ledger(orders=(known, intent)), fill_totals={known.ident: D("0.4")})
    result = run(led, venue(fills=(fill("a", vid="v1", qty="0.6"),
                                   fill("b", vid="v9", order_cid=cid(2), qty="0.3"))))
    after = apply_changes(led, result.changes)
    assert after.fill_totals[known.ident] == D("1")
    assert underfilled(after) == []


# -- terminal orders that fills contradict ----------------------------------------------------


def test_fills_that_contradict_a_terminal_order_make_it_asked_about() -> None:
    rejected = order(cid(1), status=OrderStatus.REJECTED)  # no venue id: a timed-out create
    cancelled = order(cid(2), vid="v2", status=OrderStatus.CANCELLED, filled="0.5", avg="100")
    partial = order(cid(3), vid="v3", status=OrderStatus.CANCELLED, filled="0.5", avg="100")
    done = order(cid(4), vid="v4", status=OrderStatus.FILLED, filled="1", avg="100")
    listed = order(cid(5), vid="v5", status=OrderStatus.CANCELLED)
    quiet = order(cid(6), vid="v6", status=OrderStatus.REJECTED)
    live = order(cid(7), vid="v7")
    led = ledger(orders=(rejected, cancelled, partial, done, listed, quiet, live))
    fills = (
        fill("a", order_cid=cid(1), vid="v1", qty="1"),
        fill("b", vid="v2", qty="0.5"), fill("c", vid="v2", qty="0.25"),  # 0.75 > 0.5
        fill("d", vid="v3", qty="0.5"),  # matches its partial fill: consistent
        fill("e", vid="v4", qty="1"),
        fill("f", vid="v5", qty="1"),  # in the open list: compared there
    )
    open_list = [venue_view(listed, status=OrderStatus.NEW)]
    asked = orders_to_query(led, open_list, fills)
    # the intent comes with the venue id its fill names, to be asked by either id
    assert asked == [live, rejected.evolve(venue_order_id="v1"), cancelled]
    assert asked[1].ident == rejected.ident
    assert orders_to_query(led, open_list) == [live]  # no fills: only the active ones


def test_the_ledgers_own_fills_contradict_a_terminal_order_too() -> None:
    rejected = order(cid(1), status=OrderStatus.REJECTED)
    done = order(cid(2), vid="v2", status=OrderStatus.FILLED, filled="1", avg="100")
    led = replace(ledger(orders=(rejected, done)),
                  fill_totals={rejected.ident: D("1"), done.ident: D("1")})
    assert orders_to_query(led, []) == [rejected]


def test_the_venue_answer_reopens_a_rejected_order_and_keeps_its_ownership() -> None:
    rejected = order(cid(1, role=OrderRole.ENTRY), status=OrderStatus.REJECTED,
                     strategy_id="ema", worker_id="w1", role=OrderRole.ENTRY,
                     origin=Origin.OURS, label="mine")
    answer = venue_view(rejected, venue_order_id="v1", status=OrderStatus.FILLED,
                        filled_qty=D("1"), avg_price=D("100"))
    lost = fill("e1", order_cid=rejected.client_order_id, vid="v1")
    led = ledger(orders=(rejected,))
    ven = venue(queried={rejected.ident: answer}, fills=(lost,))
    result = run(led, ven)
    found = {d.kind for d in result.discrepancies}
    assert found == {DiscrepancyKind.STATUS_MISMATCH, DiscrepancyKind.MISSING_FILL}
    [mark] = only(result.plan, ActionKind.MARK_FILLED)
    assert mark.decision is Decision.AUTO
    [after] = apply_changes(led, result.changes).orders
    assert (after.status, after.venue_order_id, after.filled_qty) == (
        OrderStatus.FILLED, "v1", D("1"))
    assert (after.strategy_id, after.worker_id, after.role, after.origin, after.label) == (
        "ema", "w1", OrderRole.ENTRY, Origin.OURS, "mine")
    again = run(apply_changes(led, result.changes), ven)
    assert again.discrepancies == () and again.changes.is_empty


def test_a_reopened_order_the_venue_does_not_know_is_reported_not_verified() -> None:
    rejected = order(cid(1), status=OrderStatus.REJECTED)
    result = run(ledger(orders=(rejected,)), venue(not_found=frozenset({rejected.ident}),
                                                   fills=()))
    assert result.discrepancies == ()
    assert any("does not know it" in u for u in result.unverified)


def test_a_reopened_order_written_after_the_snapshot_waits_for_the_next_run() -> None:
    rejected = order(cid(1), status=OrderStatus.REJECTED, updated_at=TAKEN + 5)
    answer = venue_view(rejected, venue_order_id="v1", status=OrderStatus.FILLED,
                        filled_qty=D("1"), avg_price=D("100"))
    result = diff(ledger(orders=(rejected,)), venue(queried={rejected.ident: answer}),
                  NOW, CFG)
    assert result.discrepancies == ()
    assert result.deferred
