"""Stale orders and the working set.

- A stale-order cancel that races a fill, through Bybit's protocol (real pybit, the sim's
  Bybit front-end, SQLite): the cancel of the just-filled order answers 110001, the
  order manager asks, the ledger records the order FILLED, and the reconciliation it
  requests records the fill itself.
- Terminal orders older than the retention (24 h) leave the working set that
  `load_snapshot` returns, and stay in the ledger's table.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, LedgerChanges, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.reconciliation import ActionKind, ActionState, RunTrigger
from console.engine.session import EngineSession
from console.reconcile import ReconcileConfig
from console.reconcile.config import DAY_MS
from console.sim.server import run_sim_server_in_thread
from console.store import Ledger
from console.venues.bybit import BybitConfig, BybitVenue

pytestmark = pytest.mark.timeout(60)


class ErrorCounter:
    """Telemetry that counts REST errors by class (not_found is Bybit's 110001)."""

    def __init__(self) -> None:
        self.errors: Counter[str] = Counter()

    def observe_latency(self, stage: str, ms: float,
                        labels: tuple[tuple[str, str], ...] = ()) -> None:
        return None

    def count(self, name: str, labels: tuple[tuple[str, str], ...] = (),
              amount: int = 1) -> None:
        if name == "rest_errors":
            self.errors[dict(labels).get("class", "")] += amount


async def wait_for(predicate: Callable[[], bool], timeout: float) -> None:
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)


def test_a_stale_cancel_racing_a_fill_records_the_fill(tmp_path: Path) -> None:
    server = run_sim_server_in_thread(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
    telemetry = ErrorCounter()
    venue = BybitVenue(BybitConfig(account="main", rest_url=server.rest_url,
                                   ws_private_url=server.ws_private_url),
                       server.api_key, server.api_secret, telemetry=telemetry)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    config = ReconcileConfig(stale_order_timeout_ms=300, venue_actions_auto=True)
    engine = EngineSession(venue, ledger, config, interval_s=3600)

    def mine(client_id: str) -> Order:
        [found] = [o for o in ledger.orders("bybit", "main") if o.client_order_id == client_id]
        return found

    async def scenario() -> tuple[Order, object]:
        try:
            await engine.start(stream=False)  # no stream: only REST can tell
            placed = await engine.orders.place(Order(
                venue="bybit", account="main", category=Category.LINEAR, symbol="BTCUSDT",
                side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                status=OrderStatus.PENDING_NEW, price=Decimal("50000"), strategy_id="s1",
                worker_id="w1", role=OrderRole.ENTRY,
                client_order_id=engine.ids.next(OrderRole.ENTRY)))
            await asyncio.sleep(0.4)  # past the 300 ms timeout: stale

            def fill_before_the_cancel(stage: str) -> None:
                if stage == "applying venue actions":
                    server.call(server.exchange.hand_fill, "main", placed.venue_order_id)

            outcome = await engine.reconciler.run_once(RunTrigger.PERIODIC,
                                                       fill_before_the_cancel)
            # the order manager asked for a reconciliation, which records the fill
            await wait_for(lambda: any(f.client_order_id == placed.client_order_id
                                       for f in ledger.fills("bybit", "main")), 5)
            return placed, outcome
        finally:
            await engine.stop()
            await venue.aclose()

    try:
        placed, outcome = asyncio.run(scenario())
        stored = ledger.load_run(outcome.run.run_id)  # type: ignore[attr-defined]
        assert stored is not None
        [cancel] = [a for a in stored.actions if a.action.kind is ActionKind.CANCEL_ORDER]
        assert cancel.action.reason is not None and cancel.action.reason.value == "stale_order"
        # the cancel did not cancel: the executor says why, with the venue's answer
        assert cancel.state is ActionState.FAILED and "FILLED" in cancel.error
        assert telemetry.errors["not_found"] >= 1  # Bybit answered 110001 to the cancel
        row = mine(placed.client_order_id)
        assert row.status is OrderStatus.FILLED
        assert (row.filled_qty, row.avg_price) == (Decimal("0.01"), Decimal("50000"))
        fills = [f for f in ledger.fills("bybit", "main")
                 if f.client_order_id == placed.client_order_id]
        assert len(fills) == 1 and fills[0].qty == Decimal("0.01")
        assert server.call(server.exchange.open_orders, "main") == []
    finally:
        ledger.close()
        server.stop()


def test_old_terminal_orders_leave_the_working_set_but_stay_in_the_ledger(
        ledger: Ledger, build: Any) -> None:
    now = 30 * DAY_MS
    orders = {
        "old-filled": build.order("old-filled", status=OrderStatus.FILLED,
                                  updated_at=now - DAY_MS - 1),
        "old-cancelled": build.order("old-cancelled", status=OrderStatus.CANCELLED,
                                     updated_at=now - 5 * DAY_MS),
        "old-rejected": build.order("old-rejected", status=OrderStatus.REJECTED,
                                    updated_at=now - 2 * DAY_MS),
        "recent-cancelled": build.order("recent-cancelled", status=OrderStatus.CANCELLED,
                                        updated_at=now - DAY_MS + 1_000),
        "old-but-active": build.order("old-but-active", status=OrderStatus.NEW,
                                      updated_at=now - 20 * DAY_MS),
    }
    ledger.apply_changes("bybit", "main", LedgerChanges(orders=tuple(orders.values())))
    snapshot = ledger.load_snapshot("bybit", "main", now=now,
                                    retention_ms=ReconcileConfig().terminal_retention_ms,
                                    fills_from=0)
    assert {o.ident for o in snapshot.orders} == {"recent-cancelled", "old-but-active"}
    kept = {o.ident: o for o in ledger.orders("bybit", "main")}
    assert set(kept) == set(orders)  # purged from the working set only
    assert kept["old-filled"] == orders["old-filled"]
