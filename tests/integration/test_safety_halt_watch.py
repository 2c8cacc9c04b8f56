"""A halt recorded by another process on the same ledger (the CLI's `stop` beside a
running daemon or window) reaches a running session within its watch interval, without
waiting for the next reconciliation."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import pytest

from console.bootstrap import build_sim_session
from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.reconciliation import RunTrigger
from console.engine.order_manager import TradingHaltedError


def test_a_halt_from_another_process_is_adopted_within_the_watch_interval(
        ledger_url: str) -> None:
    daemon = build_sim_session(ledger_url, "clean")
    cli = build_sim_session(ledger_url, "clean")  # the other process: same ledger

    async def scenario() -> float:
        engine = daemon.engine
        engine.reconciler.interval_s = 3600  # no reconciliation will come to the rescue
        engine.halt_watch_s = 0.1
        await engine.start(stream=False)
        try:
            runs_before = len(daemon.ledger.list_runs("sim", "main", 100))
            await cli.engine.emergency_stop(flatten=False, operator="alice")
            started = time.perf_counter()
            while not engine.risk.halted:
                if time.perf_counter() - started > 2.0:
                    raise AssertionError("the halt did not reach the running session")
                await asyncio.sleep(0.02)
            adopted_after = time.perf_counter() - started
            bid = Order(venue="sim", account="main", category=Category.LINEAR,
                        symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT,
                        qty=Decimal("0.01"), status=OrderStatus.PENDING_NEW,
                        client_order_id=engine.ids.next(OrderRole.ENTRY),
                        price=Decimal("50000"))
            with pytest.raises(TradingHaltedError):
                await engine.orders.place(bid)
            # Adopted by the watch, not by a run of the daemon's own.
            daemon_runs = [r for r in daemon.ledger.list_runs("sim", "main", 100)
                           if r.trigger is RunTrigger.PERIODIC]
            assert daemon_runs == [] and runs_before >= 1
            return adopted_after
        finally:
            await engine.stop()

    try:
        assert asyncio.run(scenario()) < 1.0
    finally:
        daemon.close()
        cli.close()
