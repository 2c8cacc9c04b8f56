"""A USD-M account in Hedge Mode (positionSideDual): the console reads it, never trades
it. The engine, the real `BinanceVenue` and the simulated Binance front-end in a thread
(the account holds a LONG and a SHORT BTCUSDT position side by side), a real ledger.

Reconciliation reads both sides (domain PositionSide LONG/SHORT) into the ledger; order
entry is refused before anything reaches the venue, with a message that names the
setting to change (Preferences > Position Mode).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from binance_support import ACCOUNT, connect
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import (
    Category,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
)
from console.domain.reconciliation import DiscrepancyKind, RunRecord, RunStatus, RunTrigger
from console.errors import VenueError
from console.sim.core import SimExchange
from console.sim.server import SimServerHandle, run_sim_server_in_thread
from console.sim.state import PositionMode

pytestmark = pytest.mark.timeout(60)
D = Decimal


@pytest.fixture
def hedged_server() -> Iterator[SimServerHandle]:
    exchange = SimExchange(seed=7, venue="binance")
    exchange.create_account(ACCOUNT, {"USDT": D(100_000)}, position_mode=PositionMode.HEDGE)
    exchange.set_reference_prices()
    for side, qty, position_side in ((Side.BUY, "0.01", PositionSide.LONG),
                                     (Side.SELL, "0.02", PositionSide.SHORT)):
        exchange.place_order(ACCOUNT, category=Category.LINEAR, symbol="BTCUSDT", side=side,
                             order_type=OrderType.MARKET, qty=D(qty),
                             position_side=position_side)
    handle = run_sim_server_in_thread(venue="binance", exchange=exchange,
                                      api_key=CANARY_KEY, api_secret=CANARY_SECRET)
    yield handle
    handle.stop()


def test_hedge_mode_positions_are_read_and_order_entry_is_refused_naming_the_setting(
        hedged_server: SimServerHandle, tmp_path: Path) -> None:
    server = hedged_server
    session = connect(server, tmp_path)
    venue_sides = {(p.symbol, p.position_side): p.size
                   for p in server.call(server.exchange.positions, ACCOUNT)}
    assert set(venue_sides) == {("BTCUSDT", PositionSide.LONG),
                                ("BTCUSDT", PositionSide.SHORT)}

    async def scenario() -> tuple[RunRecord, RunRecord,
                                  dict[tuple[str, PositionSide], Decimal], VenueError]:
        try:
            run = (await session.engine.reconciler.run_once(RunTrigger.STARTUP)).run
            again = (await session.engine.reconciler.run_once(RunTrigger.PERIODIC)).run
            held = {(p.symbol, p.position_side): p.size
                    for p in session.ledger.positions("binance", ACCOUNT)}
            # reduce-only passes any desync pause: only the mode can refuse it
            order = Order(venue="binance", account=ACCOUNT, category=Category.LINEAR,
                          symbol="BTCUSDT", side=Side.SELL, type=OrderType.LIMIT,
                          qty=D("0.01"), status=OrderStatus.PENDING_NEW,
                          client_order_id=session.engine.ids.next(OrderRole.OTHER),
                          price=D(70_000), reduce_only=True, strategy_id="s1",
                          worker_id="w1", role=OrderRole.OTHER)
            with pytest.raises(VenueError) as refused:
                await session.engine.orders.place(order)
            return run, again, held, refused.value
        finally:
            await session.aclose()

    run, again, held, refused = asyncio.run(scenario())
    assert run.status is RunStatus.OK, (run.errors, run.unverified)
    found = [d for d in run.discrepancies
             if d.kind is DiscrepancyKind.POSITION_MISSING_LOCALLY]
    assert len(found) == 2, [d.summary for d in run.discrepancies]
    assert held == venue_sides  # both sides, each with its own size
    assert again.discrepancies == (), [d.summary for d in again.discrepancies]
    text = str(refused)
    assert "Hedge Mode" in text and "Position Mode" in text and "One-way" in text
    assert server.call(server.exchange.open_orders, ACCOUNT) == []  # nothing was sent
