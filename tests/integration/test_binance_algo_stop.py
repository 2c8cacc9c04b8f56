"""A bracket's stop-loss on Binance USD-M is an algo order (the Algo Service's
CONDITIONAL STOP_MARKET since 2025-12-09): the engine's bracket runner, the real
`BinanceVenue` and the simulated Binance front-end in a thread, a real SQLite ledger.

The stop-loss must be placed through `/fapi/v1/algoOrder` and then be, to the rest of
the product, an order like any other: reconciliation sees it (no discrepancy), a new
session on the same ledger (a restart) finds it as the bracket's protection without
placing anything, and the emergency stop cancels it (no open algo order afterwards).
What the venue holds is read over plain signed REST, not through the connector. And a
conditional order the market triggers stays one order in the ledger, from the algo order
to the regular order it became.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from binance_support import (
    ACCOUNT,
    SignedRest,
    binance_server,  # noqa: F401 - a fixture
    connect,
    wait_for,
)

from console.bootstrap import ProfileSession
from console.domain import (
    BracketState,
    Category,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
    TriggerDirection,
)
from console.domain.events import ConnectionState
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.engine.brackets import BracketRunner, ResumeOutcome, attach_brackets
from console.sim.server import SimServerHandle

pytestmark = pytest.mark.timeout(60)
D = Decimal
WORKER = "b1"


async def started(session: ProfileSession) -> tuple[BracketRunner, Any]:
    runner = attach_brackets(session.engine, "u1", WORKER, heartbeat_s=0.5)
    await session.engine.start()
    await wait_for(lambda: session.engine.stream.state is ConnectionState.CONNECTED, 5)
    return runner, await runner.resume()


def saved_bracket(session: ProfileSession) -> BracketState | None:
    [state] = [r for r in session.ledger.runner_states("binance", ACCOUNT)
               if r.worker_id == WORKER]
    return state.bracket


def test_a_stop_loss_algo_order_is_reconciled_survives_a_restart_and_is_cancelled_by_the_stop(
        binance_server: SimServerHandle, tmp_path: Path) -> None:  # noqa: F811
    server = binance_server
    rest = SignedRest(server.rest_url, server.api_key, server.api_secret)
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"

    # -- the first session opens a protected long ---------------------------------------
    first = connect(server, tmp_path, db_url=db_url)

    async def open_bracket() -> tuple[BracketState, list[dict[str, Any]], Any, Any]:
        try:
            runner, report = await started(first)
            assert report.outcome is ResumeOutcome.IDLE
            await runner.open("trend", "BTCUSDT", Side.BUY, D("0.01"), None, D("59000"),
                              D("61000"))
            await runner.settle()
            bracket = runner.bracket
            assert bracket is not None
            algos = await rest.open_algo_orders()
            # USD-M pushes carry no free/locked (ACCOUNT_UPDATE a.B: wallet only): the
            # connector reads the balances after the trades, so the ledger has them before
            # any reconciliation, and the first periodic run is clean
            def balances_read() -> bool:
                return any(b.asset == "USDT" and b.locked > 0
                           for b in first.ledger.balances("binance", ACCOUNT))

            await wait_for(balances_read, 5)
            run = (await first.engine.reconciler.run_once(RunTrigger.PERIODIC)).run
            await runner.stop()
            stored = first.ledger.get_order("binance", ACCOUNT, bracket.sl_client_id or "")
            return bracket, algos, run, stored
        finally:
            await first.aclose()

    bracket, algos, run, stored = asyncio.run(open_bracket())
    assert bracket.filled_size == D("0.01")
    [stop] = algos
    assert stop["clientAlgoId"] == bracket.sl_client_id
    assert (stop["algoType"], stop["orderType"], stop["side"]) == (
        "CONDITIONAL", "STOP_MARKET", "SELL")
    assert D(stop["triggerPrice"]) == D("59000") and D(stop["quantity"]) == D("0.01")
    assert stop["reduceOnly"] is True
    assert bracket.sl_order_id == f"algo:{stop['algoId']}"
    assert stored is not None and stored.status is OrderStatus.UNTRIGGERED
    assert stored.role is OrderRole.STOP_LOSS and stored.trigger_price == D("59000")
    # reconciliation sees the algo order as the stop it is
    assert run.status is RunStatus.OK, run.errors
    assert run.discrepancies == (), [d.summary for d in run.discrepancies]

    # -- a restart: a new session on the same ledger --------------------------------------
    second = connect(server, tmp_path, db_url=db_url)

    async def restart() -> tuple[Any, Any, list[dict[str, Any]], Any, Any, Any]:
        try:
            runner, report = await started(second)
            await runner.settle()
            startup = second.engine.reconciler.last_outcome
            algos_after = await rest.open_algo_orders()
            stopped = await second.engine.emergency_stop(flatten=False, operator="ops")
            await runner.stop()
            gone = second.ledger.get_order("binance", ACCOUNT, bracket.sl_client_id or "")
            return report, startup, algos_after, stopped, saved_bracket(second), gone
        finally:
            await second.aclose()

    report, startup, algos_after, stopped, saved, gone = asyncio.run(restart())
    assert report.outcome is ResumeOutcome.RESTORED, report.notes
    assert report.bracket is not None and report.bracket.sl_order_id == bracket.sl_order_id
    assert startup is not None and startup.run.discrepancies == (), [
        d.summary for d in startup.run.discrepancies]
    assert [a["algoId"] for a in algos_after] == [stop["algoId"]]  # nothing re-placed
    assert saved is not None and saved.sl_order_id == bracket.sl_order_id

    # -- the emergency stop cancelled it -----------------------------------------------
    assert asyncio.run(rest.open_algo_orders()) == []
    assert asyncio.run(rest.call("GET", "/fapi/v1/openOrders")) == []
    assert stopped.open_orders == ()
    cancelled = {o.client_order_id for o in stopped.cancelled}
    assert bracket.sl_client_id in cancelled and bracket.tp_client_id in cancelled
    assert gone is not None and gone.status is OrderStatus.CANCELLED


def test_a_triggered_algo_order_becomes_one_filled_order_in_the_ledger(
        binance_server: SimServerHandle, tmp_path: Path) -> None:  # noqa: F811
    """Through the order manager (an Order with trigger_price): placed as an algo order,
    then triggered by the market; the ledger keeps one order (by client id) that moves
    from "algo:<algoId>" UNTRIGGERED to the regular order FILLED, with its one fill."""
    server = binance_server
    session = connect(server, tmp_path)
    engine = session.engine

    async def scenario() -> tuple[Order, list[Order], list[Fill], RunRecord]:
        try:
            await engine.start()
            await wait_for(lambda: engine.stream.state is ConnectionState.CONNECTED, 5)
            stop = Order(venue="binance", account=ACCOUNT, category=Category.LINEAR,
                         symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET,
                         qty=D("0.01"), status=OrderStatus.PENDING_NEW,
                         client_order_id=engine.ids.next(OrderRole.OTHER),
                         trigger_price=D(65_000), trigger_direction=TriggerDirection.RISE,
                         strategy_id="s1", worker_id="w1")
            placed = await engine.orders.place(stop)
            server.call(server.exchange.set_price, Category.LINEAR, "BTCUSDT", D(65_100))

            def filled() -> bool:
                found = session.ledger.get_order("binance", ACCOUNT, stop.client_order_id)
                return found is not None and found.status is OrderStatus.FILLED

            await wait_for(filled, 5)

            def balances_read() -> bool:  # read by the connector after the fill
                return any(b.asset == "USDT" and b.locked > 0
                           for b in session.ledger.balances("binance", ACCOUNT))

            await wait_for(balances_read, 5)
            run = (await engine.reconciler.run_once(RunTrigger.PERIODIC)).run
            return (placed, session.ledger.orders("binance", ACCOUNT),
                    session.ledger.fills("binance", ACCOUNT), run)
        finally:
            await session.aclose()

    placed, orders, fills, run = asyncio.run(scenario())
    assert placed.status is OrderStatus.UNTRIGGERED
    assert placed.venue_order_id.startswith("algo:")
    [order] = orders
    assert order.client_order_id == placed.client_order_id
    assert order.status is OrderStatus.FILLED and order.filled_qty == D("0.01")
    assert not order.venue_order_id.startswith("algo:")  # the regular order it became
    assert [f.venue_order_id for f in fills] == [order.venue_order_id]
    assert run.discrepancies == (), [d.summary for d in run.discrepancies]
