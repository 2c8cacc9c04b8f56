"""A Binance spot account end to end: a profile with `[profiles.NAME.binance] market =
"spot"`, the real `BinanceVenue` (REST under /api/v3, user data over the WebSocket API)
and the simulated Binance front-end in a thread of this process, a real SQLite ledger.

Spot positions are balances, and a balance is free AND locked: an open order locks what
it would spend (the quote of a buy, the base of a sell). The bot trades, the console
restarts on the same ledger (nothing to find), then an order fills on the venue while
the console is away: the changed balances are reported, and the run after finds nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from binance_support import ACCOUNT, connect, wait_for
from canary import CANARY_KEY, CANARY_SECRET

from console.bootstrap import ProfileSession
from console.domain import Balance, Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.events import ConnectionState
from console.domain.reconciliation import DiscrepancyKind, RunRecord, RunStatus, RunTrigger
from console.sim.core import SimExchange
from console.sim.server import SimServerHandle, run_sim_server_in_thread

pytestmark = pytest.mark.timeout(60)
D = Decimal
SYMBOLS = ("BTCUSDT", "ETHUSDT")
OPENING = {"USDT": D(10_000), "BTC": D("0.5")}


@pytest.fixture
def spot_server() -> Iterator[SimServerHandle]:
    exchange = SimExchange(seed=7, venue="binance")
    exchange.create_account(ACCOUNT, dict(OPENING))
    handle = run_sim_server_in_thread(venue="binance", market="spot", exchange=exchange,
                                      api_key=CANARY_KEY, api_secret=CANARY_SECRET)
    yield handle
    handle.stop()


def limit(session: ProfileSession, side: Side, qty: str, price: str) -> Order:
    return Order(venue="binance", account=ACCOUNT, category=Category.SPOT, symbol="BTCUSDT",
                 side=side, type=OrderType.LIMIT, qty=D(qty), status=OrderStatus.PENDING_NEW,
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY), price=D(price),
                 strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)


def balances(session: ProfileSession) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    return {b.asset: (b.total, b.free, b.locked)
            for b in session.ledger.balances("binance", ACCOUNT) if b.total}


def venue_balances(server: SimServerHandle) -> dict[str, tuple[Decimal, Decimal, Decimal]]:
    found: list[Balance] = server.call(server.exchange.balances, ACCOUNT)
    return {b.asset: (b.total, b.free, b.locked) for b in found if b.total}


def startup(session: ProfileSession) -> tuple[RunRecord, RunRecord]:
    """A restart's startup run and the run after it."""
    async def runs() -> tuple[RunRecord, RunRecord]:
        try:
            first = await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            second = await session.engine.reconciler.run_once(RunTrigger.PERIODIC)
            return first.run, second.run
        finally:
            await session.aclose()
    return asyncio.run(runs())


def test_a_spot_account_reconciles_free_and_locked_and_reports_a_change_made_while_away(
        spot_server: SimServerHandle, tmp_path: Path) -> None:
    server = spot_server
    db_url = f"sqlite:///{tmp_path / 'ledger.db'}"

    # -- the bot trades: two resting orders lock USDT (the buy) and BTC (the sell) -------
    bot = connect(server, tmp_path, db_url=db_url, market="spot", symbols=SYMBOLS)

    async def trade() -> tuple[RunRecord, RunRecord, list[Order], dict[str, tuple[D, D, D]]]:
        try:
            first = await bot.engine.reconciler.run_once(RunTrigger.STARTUP)
            await bot.engine.start()
            await wait_for(lambda: bot.engine.stream.state is ConnectionState.CONNECTED, 5)
            placed = [await bot.engine.orders.place(limit(bot, Side.BUY, "0.01", "50000")),
                      await bot.engine.orders.place(limit(bot, Side.SELL, "0.1", "70000"))]
            # the WebSocket API's outboundAccountPosition carries free and locked
            await wait_for(lambda: balances(bot).get("BTC", (0, 0, 0))[2] == D("0.1"), 5)
            await wait_for(lambda: balances(bot).get("USDT", (0, 0, 0))[2] == D(500), 5)
            pushed = balances(bot)
            again = await bot.engine.reconciler.run_once(RunTrigger.PERIODIC)
            return first.run, again.run, placed, pushed
        finally:
            await bot.aclose()

    first, again, placed, pushed = asyncio.run(trade())
    assert first.status is RunStatus.OK, first.errors
    assert {d.kind for d in first.discrepancies} == {DiscrepancyKind.BALANCE_MISMATCH}
    assert {d.subject for d in first.discrepancies} == {"USDT", "BTC"}  # new ledger
    assert [o.status for o in placed] == [OrderStatus.NEW, OrderStatus.NEW]
    assert pushed == {"USDT": (D(10_000), D(9_500), D(500)),
                      "BTC": (D("0.5"), D("0.4"), D("0.1"))}
    assert again.discrepancies == (), [d.summary for d in again.discrepancies]

    # -- a restart with nothing changed: free, locked and both orders agree ---------------
    restart, _after = startup(connect(server, tmp_path, db_url=db_url, market="spot",
                                      symbols=SYMBOLS))
    assert restart.status is RunStatus.OK, restart.errors
    assert restart.discrepancies == (), [d.summary for d in restart.discrepancies]
    assert dict(restart.venue_calls).get("fetch_balances", 0) >= 1

    # -- while away the buy fills on the venue (by hand) -----------------------------------
    buy = server.call(server.exchange.order_by_client_id, ACCOUNT, placed[0].client_order_id)
    assert buy is not None
    server.call(server.exchange.hand_fill, ACCOUNT, buy.venue_order_id)
    after_fill = venue_balances(server)
    assert after_fill["USDT"][2] == 0 and after_fill["BTC"][0] > D("0.5")

    session = connect(server, tmp_path, db_url=db_url, market="spot", symbols=SYMBOLS)
    reported, second = startup(session)
    assert reported.status is RunStatus.OK, reported.errors
    moved = {d.subject for d in reported.discrepancies
             if d.kind is DiscrepancyKind.BALANCE_MISMATCH}
    assert moved == {"USDT", "BTC"}, [d.summary for d in reported.discrepancies]
    kinds = {d.kind for d in reported.discrepancies}
    assert DiscrepancyKind.MISSING_FILL in kinds  # and the fill behind it
    assert second.status is RunStatus.OK, second.errors
    assert second.discrepancies == (), [d.summary for d in second.discrepancies]
