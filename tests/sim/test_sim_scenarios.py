"""Every named scenario builds, seeds a ledger that is what the bot held, and leaves the
venue in the state its description and `expect` promise."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from sim_helpers import Clock

from console.domain import Category, OrderRole, OrderStatus, Origin
from console.domain.ids import has_our_prefix
from console.domain.reconciliation import DiscrepancyKind
from console.errors import ConfigError
from console.sim import SimExchange
from console.sim.scenarios import (
    SCENARIOS,
    ScenarioSeed,
    build_scenario,
    describe_scenario,
    expected_kinds,
)

L = Category.LINEAR
NOW = 1_700_000_000_000
K = DiscrepancyKind


def build(name: str) -> tuple[SimExchange, ScenarioSeed]:
    ex = SimExchange(seed=7, clock_ms=Clock(NOW))
    return ex, build_scenario(name, ex, "main", now=NOW)


def test_the_scenario_list() -> None:
    assert set(SCENARIOS) == {
        "clean", "restart-with-position", "missed-fill", "missed-partial-fill",
        "manual-cancel", "orphan-order", "crashed-session", "bracket-ok",
        "bracket-entry-open", "bracket-missing-protection", "bracket-closed-offline"}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_builds_with_our_metadata(name: str) -> None:
    ex, seed = build(name)
    assert seed.name == name and seed.description == describe_scenario(name)
    assert seed.expect == expected_kinds(name)
    assert seed.expect <= {k.value for k in DiscrepancyKind}
    assert ex.has_account("main")
    for order in seed.orders:
        assert order.origin is Origin.OURS and has_our_prefix(order.client_order_id, "rc")
        assert (order.strategy_id, order.worker_id, order.venue) == ("demo", "w1", "sim")
    snapshot = seed.ledger_snapshot("sim", "main")
    assert snapshot.orders == seed.orders and snapshot.runner_states == seed.runner_states
    assert snapshot.last_exec_time == seed.last_exec_time


def test_scenarios_are_deterministic() -> None:
    assert build("bracket-closed-offline")[1] == build("bracket-closed-offline")[1]


def test_two_scenarios_from_one_seed_never_share_venue_ids() -> None:
    seen: dict[str, str] = {}
    for name in SCENARIOS:
        ex, _seed = build(name)
        for order in ex.order_history("main"):
            assert order.venue_order_id not in seen, (name, seen.get(order.venue_order_id))
            seen[order.venue_order_id] = name


def test_unknown_scenario_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown scenario 'nope'.*missed-fill"):
        build("nope")
    with pytest.raises(ConfigError):
        describe_scenario("nope")


def test_clean_ledger_equals_the_venue() -> None:
    ex, seed = build("clean")
    assert seed.expect == frozenset()
    assert {o.symbol for o in ex.open_orders("main")} == {"BTCUSDT", "ETHUSDT", "SOLUSDT"}
    assert [o.venue_order_id for o in seed.orders] == [
        o.venue_order_id for o in ex.order_history("main")]
    assert seed.positions == tuple(ex.positions("main"))
    assert seed.positions[0].symbol == "ETHUSDT" and seed.positions[0].size == D("0.2")
    assert seed.fills == tuple(ex.fills("main"))
    assert seed.balances == tuple(ex.balances("main"))


def test_restart_with_position() -> None:
    ex, seed = build("restart-with-position")
    assert seed.expect == {K.POSITION_MISSING_LOCALLY, K.MISSING_FILL, K.BALANCE_MISMATCH}
    assert seed.orders == () and seed.fills == () and seed.positions == ()
    (pos,) = ex.positions("main")
    assert (pos.symbol, pos.size, pos.entry_price) == ("BTCUSDT", D("0.01"), D("60000.1"))
    (fill,) = ex.fills("main")
    assert has_our_prefix(fill.client_order_id, "rc")
    (ledger_usdt,) = seed.balances
    assert (ledger_usdt.total, ledger_usdt.locked) == (D(100000), D(0))
    venue_usdt = ex.balance("main", "USDT")
    # fee 600.001 * 0.00055, margin 600.001 / 10
    assert (venue_usdt.total, venue_usdt.locked) == (D("99999.66999945"), D("60.0001"))


def test_missed_fill() -> None:
    ex, seed = build("missed-fill")
    assert seed.expect == {K.ORDER_MISSING_ON_VENUE, K.MISSING_FILL,
                           K.POSITION_MISSING_LOCALLY}
    ours = next(o for o in seed.orders if o.symbol == "BTCUSDT")
    assert ours.status is OrderStatus.NEW and ours.filled_qty == 0
    venue = ex.order_by_venue_id("main", ours.venue_order_id)
    assert venue is not None and venue.status is OrderStatus.FILLED
    assert venue.avg_price == D(59900)
    assert seed.fills == () and seed.positions == ()
    assert [(f.price, f.qty, f.is_maker) for f in ex.fills("main")] == [
        (D(59900), D("0.01"), True)]
    assert ex.dropped_events("main") > 0
    assert ours.venue_order_id not in {o.venue_order_id for o in ex.open_orders("main")}
    # margin moved from the order to the position: locked agrees exactly
    # (the ETH sell locks 0.5 * 3100 / 10)
    assert seed.balances[0].locked == ex.balance("main", "USDT").locked == D("59.9") + D(155)


def test_missed_partial_fill() -> None:
    ex, seed = build("missed-partial-fill")
    (ours,) = seed.orders
    venue = ex.order_by_venue_id("main", ours.venue_order_id)
    assert venue is not None and venue.status is OrderStatus.PARTIALLY_FILLED
    assert venue.filled_qty == D(5) and ours.filled_qty == 0
    assert venue in ex.open_orders("main")
    assert ex.position("main", L, "ETHUSDT").size == D(5)  # type: ignore[union-attr]
    assert seed.balances[0].locked == ex.balance("main", "USDT").locked


def test_manual_cancel() -> None:
    ex, seed = build("manual-cancel")
    assert seed.expect == {K.ORDER_MISSING_ON_VENUE}
    target = next(o for o in seed.orders if o.reduce_only)
    assert target.status is OrderStatus.NEW
    venue = ex.order_by_venue_id("main", target.venue_order_id)
    assert venue is not None and venue.status is OrderStatus.CANCELLED
    assert ex.order_reason("main", target.venue_order_id) == "cancelled_by_operator"
    assert seed.balances == tuple(ex.balances("main"))
    assert seed.positions == tuple(ex.positions("main"))


def test_orphan_order() -> None:
    ex, seed = build("orphan-order")
    known = {o.venue_order_id for o in seed.orders}
    strangers = [o for o in ex.open_orders("main") if o.venue_order_id not in known]
    assert sorted(o.client_order_id for o in strangers) == ["", "mm-7f3a-01"]
    assert not any(has_our_prefix(o.client_order_id, "rc") for o in strangers)
    assert seed.balances == tuple(ex.balances("main"))


def test_crashed_session() -> None:
    ex, seed = build("crashed-session")
    assert seed == ScenarioSeed("crashed-session", seed.description, seed.expect)
    opened = ex.open_orders("main")
    assert len(opened) == 2 and all(has_our_prefix(o.client_order_id, "rc") for o in opened)


def _legs(seed: ScenarioSeed) -> dict[OrderRole, str]:
    return {o.role: o.venue_order_id for o in seed.orders}


def test_bracket_ok() -> None:
    ex, seed = build("bracket-ok")
    (runner,) = seed.runner_states
    bracket = runner.bracket
    assert bracket is not None
    legs = _legs(seed)
    assert (bracket.entry_order_id, bracket.sl_order_id, bracket.tp_order_id) == (
        legs[OrderRole.ENTRY], legs[OrderRole.STOP_LOSS], legs[OrderRole.TAKE_PROFIT])
    assert (bracket.filled_size, bracket.entry_price) == (D("0.01"), D("60000.1"))
    assert (bracket.stop_price, bracket.take_profit_price) == (D(58000), D(63000))
    assert {o.status for o in ex.open_orders("main")} == {OrderStatus.UNTRIGGERED,
                                                          OrderStatus.NEW}
    assert seed.positions == tuple(ex.positions("main"))
    assert seed.expect == frozenset()


def test_bracket_entry_open() -> None:
    ex, seed = build("bracket-entry-open")
    (runner,) = seed.runner_states
    assert runner.bracket is not None and runner.bracket.filled_size == 0
    (entry,) = ex.open_orders("main")
    assert entry.venue_order_id == runner.bracket.entry_order_id
    assert seed.expect == {K.BRACKET_ENTRY_NOT_FILLED}


def test_bracket_missing_protection() -> None:
    ex, seed = build("bracket-missing-protection")
    legs = _legs(seed)
    sl = ex.order_by_venue_id("main", legs[OrderRole.STOP_LOSS])
    tp = ex.order_by_venue_id("main", legs[OrderRole.TAKE_PROFIT])
    assert sl is not None and sl.status is OrderStatus.CANCELLED
    assert tp is not None and tp.status is OrderStatus.NEW
    assert ex.position("main", L, "BTCUSDT").size == D("0.01")  # type: ignore[union-attr]
    assert seed.expect == {K.ORDER_MISSING_ON_VENUE, K.BRACKET_MISSING_PROTECTION}


def test_bracket_closed_offline() -> None:
    ex, seed = build("bracket-closed-offline")
    assert ex.positions("main") == [] and len(seed.positions) == 1
    assert {o.venue_order_id for o in ex.open_orders("main")} == {
        _legs(seed)[OrderRole.STOP_LOSS], _legs(seed)[OrderRole.TAKE_PROFIT]}
    closing = ex.fills("main")[-1]
    assert closing.exec_id not in {f.exec_id for f in seed.fills}
    assert (closing.price, closing.qty, closing.client_order_id) == (D("59999.9"), D("0.01"), "")
    # realised 0.01 * (59999.9 - 60000.1) = -0.002, fee 599.999 * 0.00055 = 0.32999945
    assert ex.balance("main", "USDT").total == D("99999.66999945") - D("0.002") - D(
        "0.32999945")
    assert seed.expect == {K.BRACKET_CLOSED_OFFLINE, K.POSITION_MISSING_ON_VENUE,
                           K.MISSING_FILL, K.BALANCE_MISMATCH}


def test_a_scenario_reuses_an_existing_account() -> None:
    ex = SimExchange(seed=7, clock_ms=Clock(NOW))
    ex.create_account("main", {"USDT": D(5000)})
    seed = build_scenario("clean", ex, "main", now=NOW)
    assert seed.balances[0].total < D(5000)
