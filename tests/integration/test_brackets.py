"""Bracket runners against the in-process sim and real SQLite / PostgreSQL ledgers: the
five cold-start outcomes under both policies, partial fills, OCO with PnL counters, two
workers restarting together, and the store's guard for a live runner's state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from decimal import Decimal

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import Category, LedgerChanges, Order, OrderRole, OrderStatus, Side
from console.domain.ids import parse_client_id
from console.domain.reconciliation import (
    ActionKind,
    ActionState,
    RunRecord,
    RunStatus,
    RunTrigger,
)
from console.engine.brackets import (
    BracketError,
    BracketRunner,
    ResumeOutcome,
    attach_brackets,
    resume_brackets,
)
from console.engine.session import EngineSession
from console.reconcile import ReconcileConfig
from console.sim import SimVenue
from console.store import Ledger

D = Decimal
LINEAR = Category.LINEAR
V, A = "sim", "main"


def config(auto: bool) -> ReconcileConfig:
    return ReconcileConfig(venue_actions_auto=auto)


@pytest.fixture
def sessions() -> Iterator[list[SimSession | Ledger]]:
    opened: list[SimSession | Ledger] = []
    yield opened
    for item in opened:
        item.close()


def sim(ledger_url: str, scenario: str, opened: list[SimSession | Ledger], *,
        auto: bool = False) -> SimSession:
    s = build_sim_session(ledger_url, scenario, config=config(auto), interval_s=3600)
    opened.append(s)
    return s


def restart(s: SimSession, ledger_url: str, opened: list[SimSession | Ledger], *,
            auto: bool) -> EngineSession:
    """A new engine (new ledger connection, new venue port) on the same exchange: what a
    process restart looks like while the venue keeps its state."""
    ledger = Ledger.open(ledger_url)
    opened.append(ledger)
    return EngineSession(SimVenue(s.exchange, A), ledger, config(auto), interval_s=3600)


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)


def live(s: SimSession, worker: str, symbol: str = "BTCUSDT") -> list[Order]:
    """Live venue orders of one worker (by the worker token of our client ids)."""
    out = []
    for o in s.exchange.open_orders(A, symbol=symbol):
        parsed = parse_client_id(o.client_order_id) if o.client_order_id else None
        if parsed is not None and parsed.worker == worker:
            out.append(o)
    return out


def saved(ledger: Ledger, user: str, worker: str):
    [state] = [r for r in ledger.runner_states(V, A) if (r.user_id, r.worker_id) == (user, worker)]
    return state


def pending(ledger: Ledger) -> list[tuple[str, int, ActionKind]]:
    return [(run, i, p.action.kind) for run, i, p in ledger.pending_actions(V, A)]


# -- the five cold-start outcomes (seed 003), each under both policies ------------------------

async def cold_start(s: SimSession) -> tuple[BracketRunner, object]:
    runner = attach_brackets(s.engine, "demo", "w1", heartbeat_s=0.2)
    await s.engine.start()
    report = await runner.resume()
    return runner, report


async def shut(s: SimSession | EngineSession, *runners: BracketRunner) -> None:
    engine = s.engine if isinstance(s, SimSession) else s
    for runner in runners:
        await runner.stop()
    await engine.stop()


@pytest.mark.parametrize("auto", [True, False], ids=["auto", "approve"])
def test_cold_start_fully_matched_restores_and_monitors(ledger_url, sessions, auto):
    s = sim(ledger_url, "bracket-ok", sessions, auto=auto)
    before = {o.venue_order_id for o in live(s, "w1")}

    async def scenario() -> None:
        runner, report = await cold_start(s)
        assert report.outcome is ResumeOutcome.RESTORED
        assert runner.legs.stop is not None and runner.legs.stop.is_active
        assert runner.legs.take is not None and runner.legs.take.is_active
        # Monitoring resumed: the stop fires, the take-profit is cancelled, the trade counts.
        s.exchange.set_price(LINEAR, "BTCUSDT", D("57900"))
        await wait_for(lambda: runner.bracket is None)
        await shut(s, runner)

    asyncio.run(scenario())
    assert len(before) == 2 and live(s, "w1") == []
    state = saved(s.ledger, "demo", "w1")
    assert state.bracket is None and (state.total_trades, state.losing_trades) == (1, 1)
    assert state.total_pnl < 0
    assert pending(s.ledger) == []


@pytest.mark.parametrize("auto", [True, False], ids=["auto", "approve"])
def test_cold_start_missing_protection(ledger_url, sessions, auto):
    s = sim(ledger_url, "bracket-missing-protection", sessions, auto=auto)
    seeded = s.seed.runner_states[0].bracket
    assert seeded is not None

    async def scenario() -> None:
        runner, report = await cold_start(s)
        inbox = pending(s.ledger)
        if not auto:
            assert report.outcome is ResumeOutcome.PROTECTION_PENDING
            assert runner.missing == {OrderRole.STOP_LOSS}
            assert [k for _r, _i, k in inbox] == [ActionKind.PLACE_PROTECTION]
            assert [o.client_order_id for o in live(s, "w1")] == [seeded.tp_client_id]
            # The operator approves: the reconciler places it, the runner adopts it.
            run_id, index, _kind = inbox[0]
            assert await s.engine.executor.approve(run_id, index, "alice") \
                is ActionState.APPLIED
            await wait_for(lambda: not runner.missing)
        else:
            assert report.outcome is ResumeOutcome.PROTECTION_RESTORED
        await runner.settle()
        await shut(s, runner)

    asyncio.run(scenario())
    orders = {parse_client_id(o.client_order_id).role: o for o in live(s, "w1")}
    assert set(orders) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    stop = orders[OrderRole.STOP_LOSS]
    assert stop.qty == seeded.filled_size and stop.reduce_only
    assert stop.trigger_price == seeded.stop_price and stop.status is OrderStatus.UNTRIGGERED
    assert stop.client_order_id != seeded.sl_client_id
    state = saved(s.ledger, "demo", "w1")
    assert state.bracket is not None
    assert (state.bracket.sl_client_id, state.bracket.sl_order_id) == (
        stop.client_order_id, stop.venue_order_id)
    assert state.bracket.tp_client_id == seeded.tp_client_id
    assert pending(s.ledger) == []


@pytest.mark.parametrize("auto", [True, False], ids=["auto", "approve"])
def test_cold_start_entry_still_open(ledger_url, sessions, auto):
    s = sim(ledger_url, "bracket-entry-open", sessions, auto=auto)
    seeded = s.seed.runner_states[0].bracket
    assert seeded is not None

    async def scenario() -> object:
        runner, report = await cold_start(s)
        if not auto:
            # Held: the bracket stays saved, no heartbeat, the entry rests until the operator
            # decides; opening another bracket is refused meanwhile.
            assert runner.held
            with pytest.raises(BracketError, match="held"):
                await runner.open("demo", "ETHUSDT", Side.BUY, D("0.1"), None, D("2900"),
                                  D("3100"))
            assert saved(s.ledger, "demo", "w1").updated_at == \
                s.seed.runner_states[0].updated_at
        await shut(s, runner)
        return report

    report = asyncio.run(scenario())
    state = saved(s.ledger, "demo", "w1")
    if auto:
        assert report.outcome is ResumeOutcome.CLEARED
        assert live(s, "w1") == [] and state.bracket is None
        assert pending(s.ledger) == []
    else:
        assert report.outcome is ResumeOutcome.HELD
        assert [o.client_order_id for o in live(s, "w1")] == [seeded.entry_client_id]
        assert state.bracket == seeded
        assert sorted(k for _r, _i, k in pending(s.ledger)) == [
            ActionKind.CANCEL_ORDER, ActionKind.CLEAR_BRACKET]


def test_a_held_runner_is_released_once_the_operator_cancels(ledger_url, sessions):
    s = sim(ledger_url, "bracket-entry-open", sessions, auto=False)

    async def scenario() -> None:
        runner, report = await cold_start(s)
        assert report.outcome is ResumeOutcome.HELD
        [(run_id, index, _k)] = [p for p in pending(s.ledger) if p[2] is ActionKind.CANCEL_ORDER]
        await s.engine.executor.approve(run_id, index, "alice")
        await s.engine.reconciler.run_once(RunTrigger.MANUAL)  # clears the void bracket
        await wait_for(lambda: not runner.held)
        assert runner.bracket is None
        await shut(s, runner)

    asyncio.run(scenario())
    assert live(s, "w1") == [] and saved(s.ledger, "demo", "w1").bracket is None


def test_the_operator_may_keep_a_held_bracket(ledger_url, sessions):
    s = sim(ledger_url, "bracket-entry-open", sessions, auto=False)
    seeded = s.seed.runner_states[0]

    async def scenario() -> list:
        runner, _report = await cold_start(s)
        assert runner.held
        await runner.release()
        assert not runner.held and runner.legs.entry is not None
        outcome = await s.engine.reconciler.run_once(RunTrigger.MANUAL)
        await shut(s, runner)
        return [p.action.kind for p in outcome.run.actions]

    kinds = asyncio.run(scenario())
    assert ActionKind.CANCEL_ORDER not in kinds  # a live worker's entry waits to fill
    assert pending(s.ledger) == []  # the clean run superseded the old proposals
    state = saved(s.ledger, "demo", "w1")
    assert state.bracket == seeded.bracket and state.updated_at > seeded.updated_at
    assert [o.client_order_id for o in live(s, "w1")] == [seeded.bracket.entry_client_id]


@pytest.mark.parametrize("auto", [True, False], ids=["auto", "approve"])
def test_cold_start_position_closed_while_away(ledger_url, sessions, auto):
    s = sim(ledger_url, "bracket-closed-offline", sessions, auto=auto)

    async def scenario() -> object:
        runner, report = await cold_start(s)
        assert runner.bracket is None and not runner.held
        await shut(s, runner)
        return report

    report = asyncio.run(scenario())
    assert report.outcome is ResumeOutcome.CLEARED
    assert saved(s.ledger, "demo", "w1").bracket is None
    if auto:
        assert live(s, "w1") == [] and pending(s.ledger) == []
    else:  # the orphaned stop-loss and take-profit wait for the operator
        assert {parse_client_id(o.client_order_id).role for o in live(s, "w1")} == {
            OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
        assert [k for _r, _i, k in pending(s.ledger)] == [ActionKind.CANCEL_ORDER] * 2


@pytest.mark.parametrize("auto", [True, False], ids=["auto", "approve"])
def test_cold_start_unknown_orders_with_our_prefix(ledger_url, sessions, auto):
    s = sim(ledger_url, "crashed-session", sessions, auto=auto)
    ours = {o.client_order_id for o in s.exchange.open_orders(A)}

    async def scenario() -> object:
        runner, report = await cold_start(s)
        assert runner.bracket is None
        await shut(s, runner)
        return report

    report = asyncio.run(scenario())
    assert report.outcome is ResumeOutcome.IDLE
    state = saved(s.ledger, "demo", "w1")  # the worker is known again, with nothing to do
    assert state.bracket is None and state.total_trades == 0
    if auto:
        assert s.exchange.open_orders(A) == []
    else:
        assert {o.client_order_id for o in s.exchange.open_orders(A)} == ours
        assert [k for _r, _i, k in pending(s.ledger)] == [ActionKind.CANCEL_ORDER] * len(ours)


# -- running brackets -------------------------------------------------------------------------

def test_stop_loss_fill_cancels_the_take_profit_and_counts_the_loss(ledger_url, sessions):
    s = sim(ledger_url, "clean", sessions)

    async def scenario() -> BracketRunner:
        runner = attach_brackets(s.engine, "u1", "a1", heartbeat_s=0.2)
        await s.engine.start()
        assert (await runner.resume()).outcome is ResumeOutcome.IDLE
        bracket = await runner.open("trend", "BTCUSDT", Side.BUY, D("0.01"), None,
                                    D("59500"), D("60500"))
        assert bracket.filled_size == D("0.01") and bracket.entry_price is not None
        legs = {parse_client_id(o.client_order_id).role: o for o in live(s, "a1")}
        assert legs[OrderRole.STOP_LOSS].status is OrderStatus.UNTRIGGERED
        assert legs[OrderRole.STOP_LOSS].side is Side.SELL and legs[OrderRole.STOP_LOSS].reduce_only
        assert legs[OrderRole.TAKE_PROFIT].price == D("60500")
        assert {o.qty for o in legs.values()} == {D("0.01")}
        stored = saved(s.ledger, "u1", "a1").bracket
        assert stored is not None and stored.sl_order_id == legs[OrderRole.STOP_LOSS].venue_order_id
        s.exchange.set_price(LINEAR, "BTCUSDT", D("59400"))
        await wait_for(lambda: runner.bracket is None)
        await shut(s, runner)
        return runner

    runner = asyncio.run(scenario())
    assert live(s, "a1") == []
    take = [o for o in s.exchange.order_history(A) if o.client_order_id.startswith("rc-a1-t-")]
    assert [o.status for o in take] == [OrderStatus.CANCELLED]
    # PnL from the venue's own fills of the bracket's orders: exact, in Decimal.
    fills = [f for f in s.exchange.fills(A) if f.client_order_id.startswith("rc-a1-")]
    buys = [f for f in fills if f.side is Side.BUY]
    sells = [f for f in fills if f.side is Side.SELL]
    gross = sum(f.price * f.qty for f in sells) - sum(f.price * f.qty for f in buys)
    expected = gross - sum(f.fee for f in fills)
    state = saved(s.ledger, "u1", "a1")
    assert (state.total_trades, state.winning_trades, state.losing_trades) == (1, 0, 1)
    assert state.total_pnl == expected and isinstance(state.total_pnl, Decimal)
    assert runner.last_trade is not None and runner.last_trade.pnl == expected


def test_partial_fills_keep_protection_sized_to_the_filled_quantity(ledger_url, sessions):
    s = sim(ledger_url, "clean", sessions)

    def legs() -> dict[OrderRole, Order]:
        return {parse_client_id(o.client_order_id).role: o for o in live(s, "a1")}

    def protection() -> dict[OrderRole, Order]:
        return {r: o for r, o in legs().items() if r.is_protection}

    async def sized(qty: str) -> None:
        await wait_for(lambda: set(protection()) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
                       and {o.qty for o in protection().values()} == {D(qty)})

    async def scenario() -> None:
        runner = attach_brackets(s.engine, "u1", "a1", heartbeat_s=0.2)
        await s.engine.start()
        await runner.resume()
        bracket = await runner.open("trend", "BTCUSDT", Side.BUY, D("0.2"), D("59900"),
                                    D("59500"), D("60500"))
        assert set(legs()) == {OrderRole.ENTRY}  # nothing filled: nothing to protect
        entry = bracket.entry_order_id
        s.exchange.hand_fill(A, entry, D("0.05"))
        await sized("0.05")
        first = {r: o.venue_order_id for r, o in legs().items()}
        s.exchange.hand_fill(A, entry, D("0.07"))
        await sized("0.12")
        assert {r: o.venue_order_id for r, o in legs().items()} == first  # amended in place
        await runner.settle()
        assert saved(s.ledger, "u1", "a1").bracket.filled_size == D("0.12")
        s.exchange.hand_fill(A, entry)
        await wait_for(lambda: set(legs()) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
                       and {o.qty for o in legs().values()} == {D("0.2")})
        # The take-profit fills: the stop-loss is cancelled, the trade counts as a win.
        s.exchange.set_price(LINEAR, "BTCUSDT", D("60600"))
        await wait_for(lambda: runner.bracket is None)
        await shut(s, runner)

    asyncio.run(scenario())
    assert live(s, "a1") == []
    state = saved(s.ledger, "u1", "a1")
    assert (state.total_trades, state.winning_trades, state.losing_trades) == (1, 1, 0)
    assert state.total_pnl > 0


def test_fills_while_away_resize_the_protection_at_resume(ledger_url, sessions):
    s = sim(ledger_url, "clean", sessions)

    def protection() -> dict[OrderRole, Order]:
        return {parse_client_id(o.client_order_id).role: o for o in live(s, "a1")
                if parse_client_id(o.client_order_id).role.is_protection}

    async def before() -> str:
        runner = attach_brackets(s.engine, "u1", "a1", heartbeat_s=0.2)
        await s.engine.start()
        await runner.resume()
        bracket = await runner.open("trend", "BTCUSDT", Side.BUY, D("0.2"), D("59900"),
                                    D("59500"), D("60500"))
        s.exchange.hand_fill(A, bracket.entry_order_id, D("0.05"))
        await wait_for(lambda: len(protection()) == 2)
        await runner.settle()
        await shut(s, runner)
        return bracket.entry_order_id

    entry = asyncio.run(before())
    s.exchange.hand_fill(A, entry, D("0.07"))  # while nobody watches
    engine = restart(s, ledger_url, sessions, auto=False)

    async def after() -> object:
        runner = attach_brackets(engine, "u1", "a1", heartbeat_s=0.2)
        await engine.start()
        report = await runner.resume()
        await runner.settle()
        await shut(engine, runner)
        return report

    report = asyncio.run(after())
    assert report.outcome is ResumeOutcome.RESTORED
    assert {o.qty for o in protection().values()} == {D("0.12")}
    assert saved(s.ledger, "u1", "a1").bracket.filled_size == D("0.12")
    # The worker was gone, so the startup run proposed cancelling the entry's rest; the
    # operator decides (the runner leaves a proposal of the plan alone).
    assert [k for _r, _i, k in pending(s.ledger)] == [ActionKind.CANCEL_ORDER]


def test_one_runner_per_worker_per_session(ledger_url, sessions):
    s = sim(ledger_url, "clean", sessions)
    attach_brackets(s.engine, "u1", "a1")
    with pytest.raises(ValueError, match="already registered"):
        attach_brackets(s.engine, "u1", "a1")
    with pytest.raises(BracketError, match="worker"):
        attach_brackets(s.engine, "u1", "not_a_token")
    assert [st.name for st in s.engine.strategies] == ["brackets:u1/a1"]


def test_a_refused_entry_leaves_nothing_saved(ledger_url, sessions):
    s = sim(ledger_url, "clean", sessions)

    async def scenario() -> None:
        runner = attach_brackets(s.engine, "u1", "a1", heartbeat_s=0.2)
        await s.engine.start()
        await runner.resume()
        with pytest.raises(Exception, match="minimum"):
            await runner.open("trend", "BTCUSDT", Side.BUY, D("0.0001"), None, D("59500"),
                              D("60500"))
        with pytest.raises(BracketError, match="stop below"):
            await runner.open("trend", "BTCUSDT", Side.BUY, D("0.01"), None, D("61000"),
                              D("60500"))
        await shut(s, runner)

    asyncio.run(scenario())
    assert saved(s.ledger, "u1", "a1").bracket is None and live(s, "a1") == []


# -- two workers on one account restart together ----------------------------------------------

def test_two_workers_restarting_together_each_touch_only_their_own(ledger_url, sessions):
    s = sim(ledger_url, "clean", sessions)

    async def before() -> None:
        one = attach_brackets(s.engine, "u1", "a1", heartbeat_s=0.2)
        two = attach_brackets(s.engine, "u1", "a2", heartbeat_s=0.2)
        await s.engine.start()
        await asyncio.gather(one.resume(), two.resume())
        await one.open("trend", "BTCUSDT", Side.BUY, D("0.01"), None, D("59500"), D("60500"))
        await two.open("revert", "SOLUSDT", Side.SELL, D("10"), None, D("151"), D("149"))
        await shut(s, one, two)

    asyncio.run(before())
    kept = {o.venue_order_id for o in live(s, "a1")}
    [stop2] = [o for o in live(s, "a2", "SOLUSDT") if o.client_order_id.startswith("rc-a2-s-")]
    s.exchange.hand_cancel(A, stop2.venue_order_id)  # a2 loses its stop while both are down
    state1 = saved(s.ledger, "u1", "a1")

    engine = restart(s, ledger_url, sessions, auto=True)

    async def after() -> tuple[object, object, RunRecord]:
        one = attach_brackets(engine, "u1", "a1", heartbeat_s=0.2)
        two = attach_brackets(engine, "u1", "a2", heartbeat_s=0.2)
        startup = await engine.start()
        reports = await resume_brackets(engine, [one, two])
        await asyncio.gather(one.settle(), two.settle())
        await shut(engine, one, two)
        return reports[0], reports[1], startup.run

    report1, report2, run = asyncio.run(after())
    assert report1.outcome is ResumeOutcome.RESTORED
    assert report2.outcome is ResumeOutcome.PROTECTION_RESTORED
    assert {o.venue_order_id for o in live(s, "a1")} == kept  # a1 untouched
    assert saved(s.ledger, "u1", "a1").bracket == state1.bracket
    legs2 = {parse_client_id(o.client_order_id).role: o for o in live(s, "a2", "SOLUSDT")}
    assert set(legs2) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    assert legs2[OrderRole.STOP_LOSS].side is Side.BUY and legs2[OrderRole.STOP_LOSS].qty == D("10")
    assert saved(s.ledger, "u1", "a2").bracket.sl_order_id == \
        legs2[OrderRole.STOP_LOSS].venue_order_id
    # Every venue action of the startup run concerns its own worker's orders only.
    for planned in run.actions:
        order = planned.action.order
        if planned.action.kind.changes_venue and order is not None:
            assert parse_client_id(order.client_order_id).worker == planned.action.worker_id
    assert run.status is RunStatus.OK


# -- the store's guard for a live runner -------------------------------------------------------

def test_a_run_never_overwrites_a_runner_state_written_after_it_started(ledger):
    bracket_less = replace(saved_state := _runner(updated_at=5_000), bracket=None)
    ledger.save_runner_state(saved_state)
    stale = RunRecord("r1", V, A, RunTrigger.PERIODIC, started_at=4_000, finished_at=6_000,
                      status=RunStatus.OK)
    ledger.commit_run(stale, LedgerChanges(runner_states=(replace(bracket_less,
                                                                 updated_at=6_000),)))
    assert ledger.runner_states(V, A) == [saved_state]
    fresh = replace(stale, run_id="r2", started_at=5_000)
    ledger.commit_run(fresh, LedgerChanges(runner_states=(replace(bracket_less,
                                                                 updated_at=6_000),)))
    assert ledger.runner_states(V, A)[0].bracket is None


def _runner(updated_at: int):
    from console.domain import BracketState, RunnerState
    bracket = BracketState(strategy_id="s", category=LINEAR, symbol="BTCUSDT", side=Side.BUY,
                           size=D("0.01"), entry_client_id="rc-w1-e-1-1", opened_at=1)
    return RunnerState("u1", "w1", V, A, bracket=bracket, updated_at=updated_at)
