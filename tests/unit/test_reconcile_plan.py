"""Policy decisions, hard desync pause and resume, applying changes, working set, config."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from recon_factories import (
    NOW,
    TAKEN,
    D,
    balance,
    cid,
    fill,
    kinds,
    ledger,
    only,
    order,
    position,
    runner,
    venue,
    venue_view,
)

from console.domain import BracketState, Category, OrderRole, OrderStatus, Origin, Side
from console.domain.reconciliation import (
    Action,
    ActionKind,
    Decision,
    DiscrepancyKind,
    TradingMode,
)
from console.domain.values import DomainValueError
from console.reconcile import (
    ReconcileConfig,
    apply_actions,
    apply_changes,
    decide,
    diff,
    plan,
    reconcile,
    working_set,
)

CFG = ReconcileConfig()


# -- policy -------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "cfg", "expected"), [
    (ActionKind.MARK_FILLED, CFG, Decision.AUTO),
    (ActionKind.ADD_FILL, CFG, Decision.AUTO),
    (ActionKind.CLEAR_BRACKET, CFG, Decision.AUTO),
    (ActionKind.CANCEL_ORDER, CFG, Decision.NEEDS_APPROVAL),
    (ActionKind.FLATTEN_POSITION, CFG, Decision.NEEDS_APPROVAL),
    (ActionKind.PLACE_PROTECTION, CFG, Decision.NEEDS_APPROVAL),
    (ActionKind.ALERT, CFG, Decision.AUTO),
    (ActionKind.PAUSE_TRADING, CFG, Decision.AUTO),
    (ActionKind.RESUME_TRADING, CFG, Decision.AUTO),
    (ActionKind.CANCEL_ORDER, ReconcileConfig(venue_actions_auto=True), Decision.AUTO),
    (ActionKind.UPSERT_POSITION, ReconcileConfig(ledger_actions_auto=False),
     Decision.NEEDS_APPROVAL),
    (ActionKind.ALERT, ReconcileConfig(ledger_actions_auto=False), Decision.AUTO),
])
def test_decisions(kind, cfg, expected) -> None:
    assert decide(kind, cfg) is expected


def test_manual_ledger_policy_leaves_the_ledger_alone() -> None:
    known = order(cid(1), vid="v1")
    cfg = ReconcileConfig(ledger_actions_auto=False)
    result = reconcile(ledger(orders=(known,)),
                       venue(open_orders=(venue_view(known, status=OrderStatus.CANCELLED),)),
                       NOW, cfg, TradingMode.TRADING)
    assert only(result.plan, ActionKind.MARK_CANCELLED)[0].decision is Decision.NEEDS_APPROVAL
    assert result.changes.is_empty


# -- hard desync --------------------------------------------------------------------------


def _books(n_orders: int, n_bad: int):
    orders = tuple(order(cid(i), vid=f"v{i}") for i in range(n_orders))
    seen = tuple(venue_view(o, status=OrderStatus.PARTIALLY_FILLED, filled_qty=D("0.1"),
                            avg_price=D(100)) if i < n_bad else venue_view(o)
                 for i, o in enumerate(orders))
    return ledger(orders=orders), venue(open_orders=seen)


@pytest.mark.parametrize(("n_orders", "n_bad", "paused"), [
    (10, 0, False),
    (10, 1, False),  # exactly 10% is not above it
    (10, 2, True),
    (100, 10, False),
    (100, 11, True),
    (1, 1, True),
])
def test_hard_desync_threshold(n_orders, n_bad, paused) -> None:
    led, ven = _books(n_orders, n_bad)
    result = reconcile(led, ven, NOW, CFG, TradingMode.TRADING)
    assert (result.plan.mode is TradingMode.PAUSED) is paused
    assert (ActionKind.PAUSE_TRADING in kinds(result.plan)) is paused
    if paused:
        assert kinds(result.plan)[0] is ActionKind.PAUSE_TRADING
        assert f"{n_bad} of {n_orders} tracked orders" in result.plan.pause_reason


def test_with_nothing_tracked_any_order_discrepancy_pauses() -> None:
    result = reconcile(ledger(), venue(open_orders=(order("manual", vid="v1"),)), NOW, CFG,
                       TradingMode.TRADING)
    # the stray order is itself tracked: 1 of 1
    assert result.plan.mode is TradingMode.PAUSED
    assert result.tracked_orders == 1


def test_zero_tracked_orders_with_a_discrepancy_is_over_the_line() -> None:
    from console.domain.reconciliation import Discrepancy
    from console.reconcile import hard_desync

    d = Discrepancy(DiscrepancyKind.STATUS_MISMATCH, "x", "x")
    assert "none are tracked" in hard_desync([d], 0, CFG)
    assert hard_desync([], 0, CFG) == ""


def test_stale_and_orphans_do_not_count_toward_desync() -> None:
    old = order(cid(1), vid="v1", created_at=NOW - 10_000_000)
    cfg = ReconcileConfig(stale_order_timeout_ms=1_000)
    result = reconcile(ledger(orders=(old,)), venue(open_orders=(venue_view(old),)), NOW, cfg,
                       TradingMode.TRADING)
    assert [d.kind for d in result.discrepancies] == [DiscrepancyKind.STALE_ORDER]
    assert result.plan.mode is TradingMode.TRADING


def test_any_position_discrepancy_pauses_with_figures() -> None:
    result = reconcile(ledger(positions=(position("1"),)), venue(positions=(position("3"),)),
                       NOW, CFG, TradingMode.TRADING)
    assert result.plan.mode is TradingMode.PAUSED
    assert "1 position discrepancy" in result.plan.pause_reason
    assert "ledger 1 @ 100, venue 3 @ 100" in result.plan.pause_reason
    [pause] = only(result.plan, ActionKind.PAUSE_TRADING)
    assert pause.decision is Decision.AUTO


def test_a_clean_run_resumes_a_paused_account() -> None:
    result = reconcile(ledger(), venue(), NOW, CFG, TradingMode.PAUSED)
    assert result.plan.mode is TradingMode.TRADING
    assert kinds(result.plan) == [ActionKind.RESUME_TRADING]


@pytest.mark.parametrize("ven", [
    venue(balances=None),  # something unverified
    venue(balances=(balance("USDT", "1"),)),  # a (non-pausing) discrepancy
])
def test_an_unclean_run_keeps_the_pause(ven) -> None:
    result = reconcile(ledger(), ven, NOW, CFG, TradingMode.PAUSED)
    assert result.plan.mode is TradingMode.PAUSED
    assert ActionKind.RESUME_TRADING not in kinds(result.plan)
    assert result.plan.pause_reason.startswith("still paused")


def test_trading_carries_over_without_actions() -> None:
    result = reconcile(ledger(), venue(balances=None), NOW, CFG, TradingMode.TRADING)
    assert result.plan.mode is TradingMode.TRADING
    assert result.plan.actions == ()
    assert result.plan.unverified == result.unverified


def test_pause_then_fix_then_resume() -> None:
    led = ledger(positions=(position("1"),))
    ven = venue(positions=(position("2"),))
    first = reconcile(led, ven, NOW, CFG, TradingMode.TRADING)
    assert first.plan.mode is TradingMode.PAUSED
    second = reconcile(apply_changes(led, first.changes), ven, NOW, CFG, first.plan.mode)
    assert second.discrepancies == ()
    assert second.plan.mode is TradingMode.TRADING


def test_plan_refuses_a_diff_of_other_snapshots() -> None:
    led, ven = _books(2, 0)
    result = diff(led, ven, NOW, CFG)
    with pytest.raises(ValueError, match="other snapshots"):
        plan(result, led, replace(ven, taken_at=TAKEN + 1), NOW, CFG, TradingMode.TRADING)


def test_an_order_cancelled_by_two_findings_is_cancelled_once() -> None:
    old_guard = order(cid(1, role=OrderRole.STOP_LOSS), vid="v1", role=OrderRole.STOP_LOSS,
                      side=Side.SELL, reduce_only=True, created_at=NOW - 10_000_000)
    stray = order(cid(2), vid="v2")
    cfg = ReconcileConfig(stale_order_timeout_ms=1_000)
    result = reconcile(ledger(orders=(old_guard,)),
                       venue(open_orders=(venue_view(old_guard), stray)), NOW, cfg,
                       TradingMode.TRADING)
    subjects = [p.action.subject for p in only(result.plan, ActionKind.CANCEL_ORDER)]
    assert len(subjects) == len(set(subjects))


# -- apply --------------------------------------------------------------------------------


def _messy_books():
    a = order(cid(1), vid="v1", strategy_id="ema", worker_id="w1", role=OrderRole.ENTRY,
              label="rc_ema_w1_entry")
    b = order(cid(2), vid="v2", worker_id="w1")
    led = ledger(orders=(a, b), fills=(fill("e1"),), positions=(position("1"),),
                 balances=(balance("USDT", "10"),))
    ven = venue(open_orders=(venue_view(a, status=OrderStatus.PARTIALLY_FILLED,
                                        filled_qty=D("0.5"), avg_price=D(100)),
                             order("manual", vid="v3")),
                queried={b.ident: venue_view(b, status=OrderStatus.FILLED, filled_qty=D(1),
                                             avg_price=D(99))},
                fills=(fill("e1"), fill("e2")), positions=(position("2", symbol="ETHUSDT"),),
                balances=(balance("USDT", "11"),))
    return led, ven


def test_applying_the_auto_plan_twice_is_applying_it_once() -> None:
    led, ven = _messy_books()
    result = reconcile(led, ven, NOW, CFG, TradingMode.TRADING)
    once = apply_changes(led, result.changes)
    again = apply_actions(once, result.plan.auto, NOW)
    assert again.is_empty
    assert apply_changes(once, again) == once
    assert apply_changes(once, result.changes) == once


def test_the_auto_plan_is_a_fixpoint() -> None:
    led, ven = _messy_books()
    first = reconcile(led, ven, NOW, CFG, TradingMode.TRADING)
    second = reconcile(apply_changes(led, first.changes), ven, NOW, CFG, first.plan.mode)
    assert second.discrepancies == ()
    assert second.changes.is_empty


def test_apply_actions_keeps_ledger_metadata_even_for_a_bare_payload() -> None:
    known = order(cid(1), vid="v1", strategy_id="ema", worker_id="w1", role=OrderRole.ENTRY,
                  label="lbl", created_at=NOW - 99)
    bare = venue_view(known, status=OrderStatus.FILLED, filled_qty=D(1), avg_price=D(1),
                      origin=Origin.ADOPTED_EXTERNAL, created_at=5)
    changes = apply_actions(ledger(orders=(known,)),
                            [Action(ActionKind.MARK_FILLED, known.ident, order=bare)], NOW)
    [out] = changes.orders
    assert (out.strategy_id, out.worker_id, out.role, out.origin, out.label, out.created_at) == (
        "ema", "w1", OrderRole.ENTRY, Origin.OURS, "lbl", NOW - 99)
    assert out.status is OrderStatus.FILLED


def test_adopting_an_order_the_ledger_knows_changes_nothing() -> None:
    known = order(cid(1), vid="v1", strategy_id="ema")
    changes = apply_actions(ledger(orders=(known,)), [
        Action(ActionKind.ADOPT_ORDER, known.ident,
               order=known.evolve(origin=Origin.ADOPTED_EXTERNAL, strategy_id="")),
        Action(ActionKind.ADOPT_ORDER, "other",
               order=known.evolve(client_order_id="other-id")),  # same venue id
    ], NOW)
    assert changes.is_empty


def test_apply_actions_ignores_venue_and_mode_actions() -> None:
    stray = order("x", vid="v1")
    changes = apply_actions(ledger(), [Action(ActionKind.CANCEL_ORDER, "x", order=stray),
                                       Action(ActionKind.PAUSE_TRADING, "trading"),
                                       Action(ActionKind.ALERT, "x")], NOW)
    assert changes.is_empty


def test_close_and_upsert_positions() -> None:
    led = ledger(positions=(position("1"), position("2", symbol="ETHUSDT")))
    changes = apply_actions(led, [
        Action(ActionKind.CLOSE_LOCAL_POSITION, "linear:BTCUSDT:one_way", position=position("1")),
        Action(ActionKind.CLOSE_LOCAL_POSITION, "linear:SOLUSDT:one_way"),  # not there: nothing
        Action(ActionKind.UPSERT_POSITION, "linear:ETHUSDT:one_way",
               position=position("2", symbol="ETHUSDT", updated_at=NOW)),  # same but time
        Action(ActionKind.UPSERT_POSITION, "linear:XRPUSDT:one_way",
               position=position("5", symbol="XRPUSDT")),
    ], NOW)
    assert changes.removed_positions == ("linear:BTCUSDT:one_way",)
    assert [p.symbol for p in changes.positions] == ["XRPUSDT"]
    after = apply_changes(led, changes)
    assert sorted(p.symbol for p in after.positions) == ["ETHUSDT", "XRPUSDT"]


def test_bracket_actions_update_runner_states() -> None:
    bracket = BracketState(strategy_id="ema", category=Category.LINEAR, symbol="BTCUSDT",
                           side=Side.BUY, size=D(1), entry_client_id=cid(1))
    led = ledger(runners=(runner("w1", bracket),))
    restored = replace(bracket, sl_order_id="vs")
    changes = apply_actions(led, [
        Action(ActionKind.RESTORE_BRACKET, "u1/w1", bracket=restored, user_id="u1",
               worker_id="w1"),
        Action(ActionKind.CLEAR_BRACKET, "u1/w9", user_id="u1", worker_id="w9"),  # no such
    ], NOW)
    [state] = changes.runner_states
    assert state.bracket == restored and state.updated_at == NOW
    cleared = apply_actions(apply_changes(led, changes), [
        Action(ActionKind.CLEAR_BRACKET, "u1/w1", user_id="u1", worker_id="w1")], NOW)
    assert cleared.runner_states[0].bracket is None


def test_apply_changes_inserts_fills_once_and_tracks_the_last_exec_time() -> None:
    led = ledger(fills=(fill("e1", at=NOW - 10),), last_exec_time=NOW - 10)
    changes = apply_actions(led, [Action(ActionKind.ADD_FILL, "e1", fill=fill("e1")),
                                  Action(ActionKind.ADD_FILL, "e2", fill=fill("e2", at=NOW)),
                                  Action(ActionKind.ADD_FILL, "e2", fill=fill("e2", at=NOW))],
                            NOW)
    assert [f.exec_id for f in changes.fills] == ["e2"]
    after = apply_changes(led, changes)
    assert [f.exec_id for f in after.fills] == ["e1", "e2"]
    assert after.last_exec_time == NOW


# -- working set and config ---------------------------------------------------------------


def test_working_set_keeps_active_and_recent_terminal_orders() -> None:
    day = 24 * 3_600_000
    active_old = order(cid(1), updated_at=NOW - 10 * day)
    done_recent = order(cid(2), status=OrderStatus.FILLED, filled="1", avg="1",
                        updated_at=NOW - day + 1)
    done_edge = order(cid(3), status=OrderStatus.CANCELLED, updated_at=NOW - day)
    done_old = order(cid(4), status=OrderStatus.REJECTED, updated_at=NOW - day - 1)
    got = working_set([active_old, done_recent, done_edge, done_old], NOW, day)
    assert got == [active_old, done_recent, done_edge]


@pytest.mark.parametrize("kw", [
    {"our_prefix": ""},
    {"our_prefix": "toolong"},
    {"our_prefix": "r-c"},
    {"balance_abs_tolerance": Decimal(-1)},
    {"hard_desync_ratio": Decimal("NaN")},
    {"pending_grace_ms": -1},
    {"stale_order_timeout_ms": 0},
])
def test_config_refuses_nonsense(kw) -> None:
    with pytest.raises(DomainValueError):
        ReconcileConfig(**kw)


def test_config_defaults() -> None:
    assert CFG.our_prefix == "rc"
    assert CFG.balance_abs_tolerance == Decimal("0.00000001")
    assert CFG.balance_rel_tolerance == Decimal("0.0001")
    assert CFG.stale_order_timeout_ms is None
    assert CFG.terminal_retention_ms == 24 * 3_600_000
    assert CFG.pending_grace_ms == 30_000
    assert CFG.hard_desync_ratio == Decimal("0.10")
    assert (CFG.venue_actions_auto, CFG.ledger_actions_auto) == (False, True)
    assert CFG.fill_margin_ms == 300_000
    assert CFG.position_size_tolerance == 0


def test_pure_module_imports_nothing_impure() -> None:
    import subprocess
    import sys

    code = ("import sys, console.reconcile; bad = {'asyncio', 'sqlite3', 'sqlalchemy', "
            "'socket', 'PySide6'} & set(sys.modules); print(sorted(bad))")
    from pathlib import Path

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"
