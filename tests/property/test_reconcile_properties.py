"""Properties of the pure reconciler over random, consistent books."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from recon_strategies import RECON, Books, books

from console.domain import OrderStatus
from console.domain.reconciliation import ActionKind, TradingMode
from console.reconcile import apply_actions, apply_changes, diff, plan, reconcile


def _ledger_only(steps) -> bool:
    return bool(steps) and all(s.action.kind.changes_ledger for s in steps)


@RECON
@given(books())
def test_a_applied_auto_plan_leaves_no_ledger_side_discrepancy(b: Books) -> None:
    first = reconcile(b.ledger, b.venue, b.now, b.config, TradingMode.TRADING)
    fixed = apply_changes(b.ledger, first.changes)
    again = diff(fixed, b.venue, b.now, b.config)
    leftover = [f.discrepancy for f in again.findings
                if f.discrepancy is not None and _ledger_only(f.steps)]
    assert leftover == []
    second = reconcile(fixed, b.venue, b.now, b.config, first.plan.mode)
    assert second.changes.is_empty, second.changes


@RECON
@given(books())
def test_b_no_fill_is_lost_or_duplicated(b: Books) -> None:
    result = reconcile(b.ledger, b.venue, b.now, b.config, TradingMode.TRADING)
    after = apply_changes(b.ledger, result.changes)
    counts = Counter(f.exec_id for f in after.fills)
    assert all(n == 1 for n in counts.values())
    for f in b.ledger.fills:  # every ledger fill preserved, unchanged
        assert f in after.fills
    if b.venue.fills is not None and b.venue.fills_window is not None:
        low, high = b.venue.fills_window
        start = max(low, b.ledger.fills_from)
        for f in b.venue.fills:
            if start <= f.exec_time <= high:
                assert counts[f.exec_id] == 1
    else:
        assert not result.changes.fills


@RECON
@given(books())
def test_c_applying_a_plan_twice_is_applying_it_once(b: Books) -> None:
    result = reconcile(b.ledger, b.venue, b.now, b.config, TradingMode.TRADING)
    for actions in (result.plan.auto, tuple(p.action for p in result.plan.actions)):
        changes = apply_actions(b.ledger, actions, b.now)
        once = apply_changes(b.ledger, changes)
        assert apply_actions(once, actions, b.now).is_empty
        assert apply_changes(once, changes) == once


@RECON
@given(books())
def test_d_ledger_metadata_is_never_overwritten(b: Books) -> None:
    result = reconcile(b.ledger, b.venue, b.now, b.config, TradingMode.TRADING)
    everything = tuple(p.action for p in result.plan.actions)
    for changes in (result.changes, apply_actions(b.ledger, everything, b.now)):
        after = {o.ident: o for o in apply_changes(b.ledger, changes).orders}
        for known in b.ledger.orders:
            now_ = after[known.ident]
            assert (now_.strategy_id, now_.worker_id, now_.role, now_.origin, now_.label,
                    now_.client_order_id, now_.created_at) == (
                known.strategy_id, known.worker_id, known.role, known.origin, known.label,
                known.client_order_id, known.created_at)


@RECON
@given(books())
def test_e_nothing_is_cancelled_on_a_guess(b: Books) -> None:
    """MARK_CANCELLED only on the venue's word, or for an intent that never arrived."""
    result = reconcile(b.ledger, b.venue, b.now, b.config, TradingMode.TRADING)
    by_ident = {o.ident: o for o in b.ledger.orders}
    open_statuses = {}
    for v in b.venue.open_orders or ():
        if v.venue_order_id:  # an empty venue id names no order (a venue that sends none)
            open_statuses[v.venue_order_id] = v.status
    for p in result.plan.actions:
        if p.action.kind is not ActionKind.MARK_CANCELLED:
            continue
        target = p.action.order
        assert target is not None
        ident = target.ident
        answer = b.venue.queried_orders.get(ident)
        if answer is not None:
            assert answer.status is target.status
        elif target.venue_order_id in open_statuses:
            assert open_statuses[target.venue_order_id] is target.status
        else:
            assert ident in b.venue.not_found
            assert by_ident[ident].status is OrderStatus.PENDING_NEW
            assert target.status is OrderStatus.REJECTED
    if b.venue.open_orders is None:
        assert not [p for p in result.plan.actions if p.action.order is not None
                    and p.action.kind is not ActionKind.PLACE_PROTECTION]


@RECON
@given(books())
def test_f_the_plan_only_depends_on_its_inputs(b: Books) -> None:
    one = diff(b.ledger, b.venue, b.now, b.config)
    two = diff(b.ledger, b.venue, b.now, b.config)
    assert one == two
    assert plan(one, b.ledger, b.venue, b.now, b.config, TradingMode.PAUSED) == plan(
        two, b.ledger, b.venue, b.now, b.config, TradingMode.PAUSED)


@RECON
@given(books())
def test_g_orders_to_query_agrees_with_the_diff(b: Books) -> None:
    """The set-based missing check equals the index-based matching it stands in for."""
    from console.reconcile.orders import OrderIndex, match_open, unmatched_active

    open_orders = b.venue.open_orders or ()
    index = OrderIndex(b.ledger.orders)
    matching = match_open(index, open_orders)
    matched = set(matching.positions)
    expected = [o for i, o in enumerate(b.ledger.orders)
                if i not in matched and o.status.is_active]
    exact = unmatched_active(b.ledger.orders, open_orders, matching=matching,
                             ledger_vids=index.by_vid)
    assert exact == expected
    # without the diff's matching it may only ever ask about fewer, never other, orders
    assert set(map(id, unmatched_active(b.ledger.orders, open_orders))) <= set(
        map(id, expected))
