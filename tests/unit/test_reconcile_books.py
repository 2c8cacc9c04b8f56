"""Fills, positions, balances, and what happens when part of the venue snapshot is missing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from recon_factories import (
    NOW,
    TAKEN,
    balance,
    cid,
    fill,
    ledger,
    only,
    order,
    position,
    venue,
    venue_view,
)

from console.domain import Category, PositionSide
from console.domain.reconciliation import ActionKind, Decision, DiscrepancyKind, TradingMode
from console.reconcile import ReconcileConfig, diff, reconcile

CFG = ReconcileConfig()


def run(led, ven, cfg=CFG):
    return reconcile(led, ven, NOW, cfg, TradingMode.TRADING)


# -- fills ----------------------------------------------------------------------------------


def test_a_venue_fill_missing_from_the_ledger_is_added_once() -> None:
    have = fill("e1")
    lost = fill("e2", order_cid=cid(1), vid="v1", qty="0.25")
    result = run(ledger(fills=(have,)), venue(fills=(have, lost, lost)))
    [d] = result.discrepancies
    assert d.kind is DiscrepancyKind.MISSING_FILL
    assert d.subject == "e2"
    assert ("exec_id", "e2") in d.venue and ("qty", "0.25") in d.venue
    assert d.venue_seen_at == TAKEN
    [add] = only(result.plan, ActionKind.ADD_FILL)
    assert add.decision is Decision.AUTO
    assert add.action.fill == lost
    assert result.changes.fills == (lost,)


@pytest.mark.parametrize(("window", "fills_from", "at", "missing", "note"), [
    ((NOW - 1000_000, TAKEN), 0, NOW - 500_000, True, False),
    ((NOW - 1000_000, TAKEN), 0, NOW - 2000_000, False, False),  # before the window
    ((NOW - 1000_000, NOW - 600_000), 0, NOW - 500_000, False, False),  # after it
    ((NOW - 1000_000, TAKEN), NOW - 400_000, NOW - 500_000, False, True),  # not loaded
    (None, 0, NOW - 500_000, True, False),  # no window given: every fill counts
])
def test_fills_compare_only_inside_the_covered_window(window, fills_from, at, missing,
                                                      note) -> None:
    result = run(ledger(fills_from=fills_from), venue(fills=(fill("e1", at=at),),
                                                      window=window))
    assert bool(result.discrepancies) is missing
    assert any("not compared" in u for u in result.unverified) is note


def test_ledger_only_fills_are_never_dropped() -> None:
    mine = fill("e-local")
    result = run(ledger(fills=(mine,)), venue(fills=()))
    assert result.discrepancies == ()
    assert result.changes.is_empty


# -- positions ------------------------------------------------------------------------------


@pytest.mark.parametrize(("mine", "theirs", "kind", "action"), [
    ((), (position("1"),), DiscrepancyKind.POSITION_MISSING_LOCALLY,
     ActionKind.UPSERT_POSITION),
    ((position("0"),), (position("-2"),), DiscrepancyKind.POSITION_MISSING_LOCALLY,
     ActionKind.UPSERT_POSITION),
    ((position("1"),), (), DiscrepancyKind.POSITION_MISSING_ON_VENUE,
     ActionKind.CLOSE_LOCAL_POSITION),
    ((position("1"),), (position("0"),), DiscrepancyKind.POSITION_MISSING_ON_VENUE,
     ActionKind.CLOSE_LOCAL_POSITION),
    ((position("1"),), (position("1.5"),), DiscrepancyKind.POSITION_MISMATCH,
     ActionKind.UPSERT_POSITION),
    ((position("1", entry="100"),), (position("1", entry="100.5"),),
     DiscrepancyKind.POSITION_MISMATCH, ActionKind.UPSERT_POSITION),
])
def test_position_discrepancies(mine, theirs, kind, action) -> None:
    result = run(ledger(positions=mine), venue(positions=theirs))
    [d] = result.discrepancies
    assert d.kind is kind
    [fix] = only(result.plan, action)
    assert fix.decision is Decision.AUTO
    assert result.plan.mode is TradingMode.PAUSED  # any position discrepancy pauses
    if action is ActionKind.CLOSE_LOCAL_POSITION:
        assert result.changes.removed_positions == (mine[0].key,)
    else:
        assert result.changes.positions == (theirs[0],)


@pytest.mark.parametrize(("mine", "theirs"), [
    ((), ()),
    ((position("0"),), ()),
    ((), (position("0"),)),
    ((position("1.0"),), (position("1"),)),  # equal decimals, different exponents
    ((position("1", symbol="ETHUSDT"), position("-1")),
     (position("-1"), position("1", symbol="ETHUSDT"))),
])
def test_agreeing_positions(mine, theirs) -> None:
    assert run(ledger(positions=mine), venue(positions=theirs)).discrepancies == ()


def test_positions_are_keyed_by_category_symbol_and_index() -> None:
    mine = (position("1", side=PositionSide.LONG), position("-1", side=PositionSide.SHORT))
    theirs = (position("1", side=PositionSide.LONG),
              position("-1", side=PositionSide.SHORT, category=Category.INVERSE))
    found = {(d.kind, d.subject) for d in run(ledger(positions=mine),
                                              venue(positions=theirs)).discrepancies}
    assert found == {
        (DiscrepancyKind.POSITION_MISSING_ON_VENUE, "linear:BTCUSDT:short"),
        (DiscrepancyKind.POSITION_MISSING_LOCALLY, "inverse:BTCUSDT:short"),
    }


def test_position_tolerance_is_configurable() -> None:
    cfg = ReconcileConfig(position_size_tolerance=Decimal("0.01"))
    result = run(ledger(positions=(position("1"),)), venue(positions=(position("1.005"),)),
                 cfg=cfg)
    assert result.discrepancies == ()


def test_position_evidence() -> None:
    [d] = run(ledger(positions=(position("1", entry="100"),)),
              venue(positions=(position("2", entry="101"),))).discrepancies
    assert d.summary == "BTCUSDT linear one_way: ledger 1 @ 100, venue 2 @ 101"
    assert ("size", "1") in d.ledger and ("size", "2") in d.venue
    assert d.ledger_seen_at == NOW - 60_000 and d.venue_seen_at == TAKEN


def test_a_ledger_position_newer_than_the_snapshot_waits() -> None:
    result = run(ledger(positions=(position("1", updated_at=TAKEN + 1),)), venue(positions=()))
    assert result.discrepancies == ()
    assert any("position" in u for u in result.deferred) and result.unverified == ()


# -- balances -------------------------------------------------------------------------------


@pytest.mark.parametrize(("mine", "theirs", "differs"), [
    (balance("USDT", "100"), balance("USDT", "100"), False),
    (balance("USDT", "100"), balance("USDT", "100.01"), False),  # 1e-4 relative: 0.0100...
    (balance("USDT", "100"), balance("USDT", "100.0101"), True),
    (balance("BTC", "0"), balance("BTC", "0.00000001"), False),  # absolute tolerance edge
    (balance("BTC", "0"), balance("BTC", "0.00000002"), True),
    (balance("USDT", "100", free="100"), balance("USDT", "100", free="90", locked="10"), True),
    (balance("USDT", "100", free="90", locked="10"), balance("USDT", "100", free="90",
                                                              locked="10"), False),
    (balance("USDT", "-5"), balance("USDT", "-5"), False),
])
def test_balance_tolerance(mine, theirs, differs) -> None:
    result = run(ledger(balances=(mine,)), venue(balances=(theirs,)))
    assert bool(result.discrepancies) is differs
    if differs:
        [d] = result.discrepancies
        assert d.kind is DiscrepancyKind.BALANCE_MISMATCH
        [update] = only(result.plan, ActionKind.UPDATE_BALANCE)
        assert update.action.balance == theirs
        assert update.decision is Decision.AUTO
        [alert] = only(result.plan, ActionKind.ALERT)
        assert alert.action.severity.value == "warning"
        assert result.plan.mode is TradingMode.TRADING  # balances alone never pause


def test_free_balance_alone_is_compared() -> None:
    [d] = run(ledger(balances=(balance("USDT", "100", free="100"),)),
              venue(balances=(balance("USDT", "100", free="40", locked="60"),))).discrepancies
    assert "free" in d.summary and "locked" in d.summary and "total, " not in d.summary


def test_a_ledger_asset_the_venue_does_not_list_counts_as_zero() -> None:
    result = run(ledger(balances=(balance("ETH", "2"),)), venue(balances=()))
    [d] = result.discrepancies
    assert d.subject == "ETH"
    [update] = only(result.plan, ActionKind.UPDATE_BALANCE)
    assert update.action.balance is not None
    assert update.action.balance.total == 0 and update.action.balance.free == 0
    assert ("listed", "no") in d.venue


def test_a_venue_asset_missing_in_the_ledger_is_recorded() -> None:
    result = run(ledger(), venue(balances=(balance("SOL", "3"), balance("DOGE", "0"))))
    assert [d.subject for d in result.discrepancies] == ["SOL"]


# -- partial failure ------------------------------------------------------------------------


def _busy_books():
    known = order(cid(1), vid="v1")
    led = ledger(orders=(known,), positions=(position("1"),), balances=(balance("USDT", "5"),))
    return known, led


@pytest.mark.parametrize("missing", ["open_orders", "positions", "fills", "balances"])
def test_a_failed_fetch_is_never_read_as_empty(missing) -> None:
    _, led = _busy_books()
    parts = {"open_orders": (), "positions": (), "fills": (), "balances": ()}
    parts[missing] = None
    result = run(led, venue(**parts))  # type: ignore[arg-type]
    found = {d.kind for d in result.discrepancies}
    words = {"open_orders": "open orders", "positions": "positions", "fills": "fills",
             "balances": "balances"}[missing]
    assert any(u.startswith(words) for u in result.unverified)
    if missing == "open_orders":
        assert DiscrepancyKind.ORDER_MISSING_ON_VENUE not in found
        assert not only(result.plan, ActionKind.MARK_CANCELLED)
    if missing == "positions":
        assert not any(k.is_position for k in found)
        assert not only(result.plan, ActionKind.CLOSE_LOCAL_POSITION)
    if missing == "balances":
        assert DiscrepancyKind.BALANCE_MISMATCH not in found


def test_nothing_fetched_means_nothing_changes() -> None:
    _, led = _busy_books()
    result = run(led, venue(open_orders=None, positions=None, fills=None, balances=None))
    assert result.discrepancies == ()
    assert result.plan.actions == ()
    assert len(result.unverified) == 4
    assert result.changes.is_empty
    assert result.tracked_orders == 1


def test_without_positions_brackets_and_orphans_are_skipped() -> None:
    from console.domain import OrderRole

    guard = order(cid(1, role=OrderRole.STOP_LOSS), vid="v1", role=OrderRole.STOP_LOSS,
                  reduce_only=True)
    result = run(ledger(orders=(guard,)), venue(open_orders=(venue_view(guard),),
                                                positions=None))
    assert result.discrepancies == ()
    assert any("orphaned-protection" in u for u in result.unverified)


def test_diff_refuses_books_of_different_accounts() -> None:
    from dataclasses import replace

    with pytest.raises(ValueError, match="different books"):
        diff(replace(ledger(), account="other"), venue(), NOW, CFG)
