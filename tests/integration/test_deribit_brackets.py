"""Bracket runners through Deribit's protocol on an inverse perpetual (BTC-PERPETUAL:
amounts in USD, PnL in BTC): the engine, the real `DeribitVenue` (JSON-RPC over HTTP,
the private WebSocket) and the simulated Deribit front-end on loopback, with SQLite and
PostgreSQL ledgers, under both policies.

Each cold-start state is built the way it arises: a first session opens a bracket and
stops; the exchange then changes while nobody watches (a stop cancelled by hand, the
position closed, the ledger lost, fills); a second session resumes. Our client ids ride
in Deribit's labels (`rc_<strategy>_<worker>_<role>~<client id>`), which is how the
venue's orders are told apart here and by the reconciler.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from deribit_support import (
    ACCOUNT,
    BTC,
    INVERSE,
    VENUE,
    client_id,
    connect,
    legs,
    ours,
    start_server,
    wait_for,
)

from console.bootstrap import ProfileSession
from console.domain import BracketState, OrderRole, OrderStatus, RunnerState, Side
from console.domain.ids import parse_client_id
from console.domain.reconciliation import ActionKind, ActionState, RunStatus
from console.engine.brackets import (
    BracketError,
    BracketRunner,
    ResumeOutcome,
    attach_brackets,
    resume_brackets,
)
from console.sim.server import SimServerHandle
from console.store import Ledger

pytestmark = pytest.mark.timeout(60)

D = Decimal
USER = "u1"
POLICIES = pytest.mark.parametrize("auto", [True, False], ids=["auto", "approve"])


@pytest.fixture
def server() -> Iterator[SimServerHandle]:
    handle = start_server()
    yield handle
    handle.stop()


# -- helpers ---------------------------------------------------------------------------------

async def started(session: ProfileSession, *workers: str) -> tuple[list[BracketRunner],
                                                                   list[Any]]:
    runners = [attach_brackets(session.engine, USER, w, heartbeat_s=0.3) for w in workers]
    await session.engine.start()
    await wait_for(lambda: session.engine.stream.state.value == "connected")
    reports = await resume_brackets(session.engine, runners)
    return runners, list(reports)


async def shut(session: ProfileSession) -> None:
    """Stop the session's runners (their orders stay on the venue), then the session."""
    for strategy in session.engine.strategies:
        await strategy.stop()
    await session.aclose()


def saved(ledger: Ledger, worker: str) -> RunnerState:
    [state] = [r for r in ledger.runner_states(VENUE, ACCOUNT) if r.worker_id == worker]
    return state


def pending(ledger: Ledger) -> list[tuple[str, int, ActionKind]]:
    return [(run, i, p.action.kind) for run, i, p in ledger.pending_actions(VENUE, ACCOUNT)]


def open_bracket(server: SimServerHandle, tmp_path: Path, db_url: str, *, worker: str = "w1",
                 qty: str = "100", entry: str | None = None, stop: str = "59500",
                 take: str = "60500") -> BracketState:
    """A first session opens one bracket on BTC-PERPETUAL and stops (the orders stay)."""
    session = connect(server, tmp_path, db_url, auto=True)

    async def run() -> BracketState:
        try:
            [runner], [report] = await started(session, worker)
            assert report.outcome is ResumeOutcome.IDLE
            bracket = await runner.open("trend", BTC, Side.BUY, D(qty),
                                        None if entry is None else D(entry), D(stop),
                                        D(take), category=INVERSE)
            await runner.settle()
            await runner.stop()
            return bracket
        finally:
            await session.aclose()

    return asyncio.run(run())


def labels_carry_the_worker(server: SimServerHandle, worker: str) -> None:
    """Every open order of `worker` carries the seed's label convention before its id."""
    for order in ours(server, worker):
        label, _, cid = order.label.rpartition("~")
        parsed = parse_client_id(cid)
        assert parsed is not None
        assert label == f"rc_trend_{worker}_{parsed.role.value}", order.label


# -- the five cold-start outcomes -------------------------------------------------------------

@POLICIES
def test_fully_matched_restores_and_monitors(server, tmp_path, ledger_url, auto):
    opened = open_bracket(server, tmp_path, ledger_url)
    before = {r: o.venue_order_id for r, o in legs(server, "w1").items()}
    assert set(before) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    labels_carry_the_worker(server, "w1")
    session = connect(server, tmp_path, ledger_url, auto=auto)

    async def run() -> Any:
        try:
            [runner], [report] = await started(session, "w1")
            assert runner.legs.stop is not None and runner.legs.stop.is_active
            assert runner.legs.take is not None and runner.legs.take.is_active
            assert pending(session.ledger) == []
            # Monitoring resumed: the mark falls through the stop, the take-profit goes.
            server.call(server.exchange.set_price, INVERSE, BTC, D("59000"))
            await wait_for(lambda: runner.bracket is None)
            await runner.settle()
            return report
        finally:
            await shut(session)

    report = asyncio.run(run())
    assert report.outcome is ResumeOutcome.RESTORED
    assert legs(server, "w1") == {}
    history = {client_id(o): o.status for o in
               server.call(server.exchange.order_history, ACCOUNT)}
    assert history[opened.tp_client_id] is OrderStatus.CANCELLED
    ledger = Ledger.open(ledger_url)
    try:
        state = saved(ledger, "w1")
        assert state.bracket is None
        assert (state.total_trades, state.losing_trades) == (1, 1)
        assert state.total_pnl < 0 and isinstance(state.total_pnl, Decimal)
        assert pending(ledger) == []
        # Inverse PnL is in BTC: 100 USD bought near 60000 and sold near 59000 lose
        # about 100/59000 - 100/60000 = 0.000028 BTC (plus fees), not ~100 USD.
        assert D("-0.0001") < state.total_pnl < D("-0.00001")
    finally:
        ledger.close()


@POLICIES
def test_missing_protection(server, tmp_path, ledger_url, auto):
    opened = open_bracket(server, tmp_path, ledger_url)
    server.call(server.exchange.hand_cancel, ACCOUNT, opened.sl_order_id)
    session = connect(server, tmp_path, ledger_url, auto=auto)

    async def run() -> tuple[Any, RunnerState]:
        try:
            [runner], [report] = await started(session, "w1")
            inbox = pending(session.ledger)
            if not auto:
                assert report.outcome is ResumeOutcome.PROTECTION_PENDING
                assert runner.missing == {OrderRole.STOP_LOSS}
                assert [k for _r, _i, k in inbox] == [ActionKind.PLACE_PROTECTION]
                assert set(legs(server, "w1")) == {OrderRole.TAKE_PROFIT}
                run_id, index, _kind = inbox[0]
                assert await session.engine.executor.approve(run_id, index, "alice") \
                    is ActionState.APPLIED
                await wait_for(lambda: not runner.missing)
            else:
                assert inbox == []
            await runner.settle()
            assert pending(session.ledger) == []
            return report, saved(session.ledger, "w1")
        finally:
            await shut(session)

    report, state = asyncio.run(run())
    if auto:
        assert report.outcome is ResumeOutcome.PROTECTION_RESTORED
    now = legs(server, "w1")
    assert set(now) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    stop = now[OrderRole.STOP_LOSS]
    assert (stop.qty, stop.trigger_price, stop.reduce_only) == (D("100"), D("59500"), True)
    assert stop.status is OrderStatus.UNTRIGGERED
    assert client_id(stop) != opened.sl_client_id
    assert now[OrderRole.TAKE_PROFIT].venue_order_id == opened.tp_order_id
    assert state.bracket is not None
    assert (state.bracket.sl_client_id, state.bracket.sl_order_id) == (
        client_id(stop), stop.venue_order_id)
    labels_carry_the_worker(server, "w1")


@POLICIES
def test_entry_still_open(server, tmp_path, ledger_url, auto):
    opened = open_bracket(server, tmp_path, ledger_url, entry="59000", stop="58000",
                          take="63000")
    assert set(legs(server, "w1")) == {OrderRole.ENTRY}
    session = connect(server, tmp_path, ledger_url, auto=auto)

    async def run() -> Any:
        try:
            [runner], [report] = await started(session, "w1")
            if not auto:
                assert runner.held  # the entry rests until the operator decides
                with pytest.raises(BracketError, match="held"):
                    await runner.open("trend", BTC, Side.BUY, D("100"), None, D("59000"),
                                      D("61000"), category=INVERSE)
            return report
        finally:
            await shut(session)

    report = asyncio.run(run())
    ledger = Ledger.open(ledger_url)
    try:
        state = saved(ledger, "w1")
        if auto:
            assert report.outcome is ResumeOutcome.CLEARED
            assert legs(server, "w1") == {} and state.bracket is None
            assert pending(ledger) == []
        else:
            assert report.outcome is ResumeOutcome.HELD
            assert [client_id(o) for o in ours(server, "w1")] == [opened.entry_client_id]
            assert state.bracket is not None
            assert state.bracket.entry_order_id == opened.entry_order_id
            assert sorted(k for _r, _i, k in pending(ledger)) == [
                ActionKind.CANCEL_ORDER, ActionKind.CLEAR_BRACKET]
    finally:
        ledger.close()


@POLICIES
def test_position_closed_while_away(server, tmp_path, ledger_url, auto):
    open_bracket(server, tmp_path, ledger_url)
    server.call(server.exchange.close_position, ACCOUNT, INVERSE, BTC)  # by hand, on the web
    session = connect(server, tmp_path, ledger_url, auto=auto)

    async def run() -> Any:
        try:
            [runner], [report] = await started(session, "w1")
            assert runner.bracket is None and not runner.held
            return report
        finally:
            await shut(session)

    report = asyncio.run(run())
    assert report.outcome is ResumeOutcome.CLEARED
    ledger = Ledger.open(ledger_url)
    try:
        assert saved(ledger, "w1").bracket is None
        if auto:  # the orphaned stop-loss and take-profit are cancelled
            assert legs(server, "w1") == {} and pending(ledger) == []
        else:  # they wait for the operator
            assert set(legs(server, "w1")) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
            assert [k for _r, _i, k in pending(ledger)] == [ActionKind.CANCEL_ORDER] * 2
    finally:
        ledger.close()


@POLICIES
def test_unknown_orders_with_our_label(server, tmp_path, ledger_url, auto):
    # A session traded on a ledger that is then lost (the crash): the orders with our
    # labels are all the next session finds of it.
    lost = tmp_path / "lost"
    lost.mkdir()
    open_bracket(server, lost, f"sqlite:///{lost / 'ledger.db'}")
    left = {client_id(o) for o in ours(server)}
    assert len(left) == 2
    session = connect(server, tmp_path, ledger_url, auto=auto)

    async def run() -> Any:
        try:
            [runner], [report] = await started(session, "w1")
            assert runner.bracket is None
            return report
        finally:
            await shut(session)

    report = asyncio.run(run())
    assert report.outcome is ResumeOutcome.IDLE
    ledger = Ledger.open(ledger_url)
    try:
        state = saved(ledger, "w1")  # the worker is known again, with nothing to do
        assert state.bracket is None and state.total_trades == 0
        if auto:
            assert ours(server) == [] and pending(ledger) == []
        else:
            assert {client_id(o) for o in ours(server)} == left
            assert [k for _r, _i, k in pending(ledger)] == [ActionKind.CANCEL_ORDER] * 2
    finally:
        ledger.close()


# -- partial fills ---------------------------------------------------------------------------

def protection_sized(server: SimServerHandle, worker: str, qty: str) -> bool:
    now = legs(server, worker)
    guards = {r: o for r, o in now.items() if r.is_protection}
    return set(guards) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT} and \
        {o.qty for o in guards.values()} == {D(qty)}


@POLICIES
def test_partial_fills_while_running_resize_the_protection(server, tmp_path, ledger_url,
                                                          auto):
    session = connect(server, tmp_path, ledger_url, auto=auto)

    async def run() -> tuple[dict[OrderRole, str], dict[OrderRole, str], RunnerState]:
        try:
            [runner], _ = await started(session, "p1")
            bracket = await runner.open("trend", BTC, Side.BUY, D("200"), D("59900"),
                                        D("59500"), D("60500"), category=INVERSE)
            assert set(legs(server, "p1")) == {OrderRole.ENTRY}  # nothing to protect yet
            server.call(server.exchange.hand_fill, ACCOUNT, bracket.entry_order_id, D("50"))
            await wait_for(lambda: protection_sized(server, "p1", "50"))
            first = {r: o.venue_order_id for r, o in legs(server, "p1").items()}
            server.call(server.exchange.hand_fill, ACCOUNT, bracket.entry_order_id, D("70"))
            await wait_for(lambda: protection_sized(server, "p1", "120"))
            second = {r: o.venue_order_id for r, o in legs(server, "p1").items()}
            await runner.settle()
            return first, second, saved(session.ledger, "p1")
        finally:
            await shut(session)

    first, second, state = asyncio.run(run())
    assert first == second  # amended through private/edit, not replaced
    assert state.bracket is not None and state.bracket.filled_size == D("120")
    entry = legs(server, "p1")[OrderRole.ENTRY]
    assert entry.status is OrderStatus.PARTIALLY_FILLED and entry.filled_qty == D("120")
    labels_carry_the_worker(server, "p1")


@POLICIES
def test_partial_fills_while_away_resize_the_protection_at_resume(server, tmp_path,
                                                                 ledger_url, auto):
    first = connect(server, tmp_path, ledger_url, auto=auto)

    async def before() -> BracketState:
        try:
            [runner], _ = await started(first, "p2")
            bracket = await runner.open("trend", BTC, Side.BUY, D("200"), D("59900"),
                                        D("59500"), D("60500"), category=INVERSE)
            server.call(server.exchange.hand_fill, ACCOUNT, bracket.entry_order_id, D("50"))
            await wait_for(lambda: protection_sized(server, "p2", "50"))
            await runner.settle()
            return bracket
        finally:
            await shut(first)

    bracket = asyncio.run(before())
    server.call(server.exchange.hand_fill, ACCOUNT, bracket.entry_order_id, D("70"))
    second = connect(server, tmp_path, ledger_url, auto=auto)

    async def after() -> tuple[Any, RunnerState, list[ActionKind]]:
        try:
            [runner], [report] = await started(second, "p2")
            await runner.settle()
            return report, saved(second.ledger, "p2"), [k for _r, _i, k in
                                                       pending(second.ledger)]
        finally:
            await shut(second)

    report, state, inbox = asyncio.run(after())
    assert report.outcome is ResumeOutcome.RESTORED
    assert protection_sized(server, "p2", "120")
    assert state.bracket is not None and state.bracket.filled_size == D("120")
    entry = [o for o in server.call(server.exchange.order_history, ACCOUNT)
             if client_id(o) == bracket.entry_client_id]
    assert [o.filled_qty for o in entry] == [D("120")]
    if auto:  # the worker was away: the entry's unfilled rest is cancelled
        assert entry[0].status is OrderStatus.CANCELLED and inbox == []
    else:  # proposed; the operator decides
        assert entry[0].status is OrderStatus.PARTIALLY_FILLED
        assert inbox == [ActionKind.CANCEL_ORDER]


# -- two workers on one account restart together ------------------------------------------------

@POLICIES
def test_two_workers_restarting_together_each_touch_only_their_own(server, tmp_path,
                                                                  ledger_url, auto):
    first = connect(server, tmp_path, ledger_url, auto=True)

    async def before() -> None:
        try:
            (one, two), _ = await started(first, "a1", "a2")
            await one.open("trend", BTC, Side.BUY, D("100"), None, D("59500"), D("60500"),
                           category=INVERSE)
            await two.open("trend", BTC, Side.BUY, D("50"), None, D("59000"), D("61000"),
                           category=INVERSE)
            await asyncio.gather(one.settle(), two.settle())
        finally:
            await shut(first)

    asyncio.run(before())
    kept = {o.venue_order_id for o in ours(server, "a1")}
    lost = legs(server, "a2")[OrderRole.STOP_LOSS]
    server.call(server.exchange.hand_cancel, ACCOUNT, lost.venue_order_id)
    ledger = Ledger.open(ledger_url)
    try:
        state1 = saved(ledger, "a1")
    finally:
        ledger.close()
    second = connect(server, tmp_path, ledger_url, auto=auto)

    async def after() -> tuple[list[Any], Any, RunnerState, RunnerState]:
        try:
            (one, two), reports = await started(second, "a1", "a2")
            run = second.engine.reconciler.last_outcome
            assert run is not None
            if not auto:
                [(run_id, index, kind)] = pending(second.ledger)
                assert kind is ActionKind.PLACE_PROTECTION
                assert await second.engine.executor.approve(run_id, index, "alice") \
                    is ActionState.APPLIED
                await wait_for(lambda: not two.missing)
            await asyncio.gather(one.settle(), two.settle())
            return reports, run.run, saved(second.ledger, "a1"), saved(second.ledger, "a2")
        finally:
            await shut(second)

    (report1, report2), run, after1, after2 = asyncio.run(after())
    assert report1.outcome is ResumeOutcome.RESTORED
    assert report2.outcome is (ResumeOutcome.PROTECTION_RESTORED if auto
                               else ResumeOutcome.PROTECTION_PENDING)
    assert {o.venue_order_id for o in ours(server, "a1")} == kept  # a1 untouched
    assert after1.bracket == state1.bracket
    legs2 = legs(server, "a2")
    assert set(legs2) == {OrderRole.STOP_LOSS, OrderRole.TAKE_PROFIT}
    stop2 = legs2[OrderRole.STOP_LOSS]
    assert (stop2.side, stop2.qty, stop2.trigger_price) == (Side.SELL, D("50"), D("59000"))
    assert after2.bracket is not None and after2.bracket.sl_order_id == stop2.venue_order_id
    for planned in run.actions:  # every venue action of the startup run: its own worker's
        order = planned.action.order
        if planned.action.kind.changes_venue and order is not None:
            assert parse_client_id(order.client_order_id).worker == planned.action.worker_id
    assert run.status is RunStatus.OK
