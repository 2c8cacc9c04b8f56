"""No fill is lost when Binance's user-data stream goes away: the engine, the real
`BinanceVenue` (ccxt's REST, the USD-M user-data WebSocket with its listenKey) and the
simulated Binance front-end in a thread of this process, with a real SQLite ledger.

Two ways the feed ends while an order fills: the socket is cut, and the listenKey
expires (the front-end pushes `listenKeyExpired` and closes the key's connections). In
both the fill's pushes never reach the console (the front-end drops them, as a dead
socket would), so the fill can only come from the reconciliation the reconnection
triggers: it must be in the ledger exactly once, within a second of the stream being
back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from binance_support import (
    ACCOUNT,
    binance_server,  # noqa: F401 - a fixture
    connect,
    wait_for,
)

from console.bootstrap import ProfileSession
from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.events import ConnectionEvent, ConnectionState
from console.domain.reconciliation import DiscrepancyKind, RunTrigger
from console.sim.server import SimServerHandle

pytestmark = pytest.mark.timeout(60)


def bid(session: ProfileSession, price: str = "50000") -> Order:
    return Order(venue="binance", account=ACCOUNT, category=Category.LINEAR,
                 symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                 status=OrderStatus.PENDING_NEW,
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY),
                 price=Decimal(price), strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)


def ledger_order(session: ProfileSession, client_id: str) -> Order:
    found = session.ledger.get_order("binance", ACCOUNT, client_id)
    assert found is not None
    return found


def fill_unheard(server: SimServerHandle, client_id: str, cut: Callable[[], object]) -> None:
    """On the server's loop, with no turn in between: the account's pushes stop (as on a
    dead socket), the feed is ended by `cut`, the order fills by hand, pushes resume."""
    exchange = server.exchange

    def act() -> None:
        placed = exchange.order_by_client_id(ACCOUNT, client_id)
        assert placed is not None
        exchange.drop_private_events(ACCOUNT)
        try:
            cut()
            exchange.hand_fill(ACCOUNT, placed.venue_order_id)
        finally:
            exchange.restore_private_events(ACCOUNT)

    server.call(act)


def repaired_after_reconnect(server: SimServerHandle, session: ProfileSession,
                             cut: Callable[[], object]) -> float:
    """Seconds from the stream being back to the fill being in the ledger."""
    engine = session.engine

    async def scenario() -> float:
        try:
            await engine.start()
            await wait_for(lambda: engine.stream.state is ConnectionState.CONNECTED, 5)
            placed = await engine.orders.place(bid(session))
            assert placed.status is OrderStatus.NEW and placed.venue_order_id
            back: list[float] = []
            engine.stream.on_event(
                lambda e: back.append(time.perf_counter())
                if isinstance(e, ConnectionEvent) and e.reconnected else None)
            fill_unheard(server, placed.client_order_id, cut)
            await wait_for(lambda: bool(back), 10)
            await wait_for(lambda: ledger_order(session, placed.client_order_id).status
                           is OrderStatus.FILLED, 1.0)
            repaired = time.perf_counter() - back[0]
            fills = [f for f in session.ledger.fills("binance", ACCOUNT)
                     if f.venue_order_id == placed.venue_order_id]
            assert len(fills) == 1 and fills[0].qty == Decimal("0.01")
            assert ledger_order(session, placed.client_order_id).filled_qty == Decimal("0.01")
            # it came through the reconciliation the reconnection asked for
            runs = session.ledger.list_runs("binance", ACCOUNT)
            found = [d for r in runs if r.trigger is RunTrigger.RECONNECT
                     for d in r.discrepancies if d.kind is DiscrepancyKind.MISSING_FILL]
            assert [d.subject for d in found] == [fills[0].exec_id]
            # the next run finds the ledger whole and lifts the pause the gap caused; the
            # stream carries on: the next fill arrives by push, once
            clean = await engine.reconciler.run_once(RunTrigger.PERIODIC)
            assert clean.run.discrepancies == ()
            second = await engine.orders.place(bid(session, "50001"))
            resting = server.call(server.exchange.order_by_client_id, ACCOUNT,
                                  second.client_order_id)
            assert resting is not None
            server.call(server.exchange.hand_fill, ACCOUNT, resting.venue_order_id)
            await wait_for(lambda: ledger_order(session, second.client_order_id).status
                           is OrderStatus.FILLED, 5)
            assert len([f for f in session.ledger.fills("binance", ACCOUNT)
                        if f.venue_order_id == second.venue_order_id]) == 1
            return repaired
        finally:
            await session.aclose()

    return asyncio.run(scenario())


def test_a_fill_while_the_socket_is_cut_is_in_the_ledger_once_within_a_second(
        binance_server: SimServerHandle, tmp_path: Path) -> None:  # noqa: F811
    session = connect(binance_server, tmp_path)

    def cut() -> None:
        binance_server.loop.create_task(binance_server.front_end.disconnect_private())

    assert repaired_after_reconnect(binance_server, session, cut) <= 1.0


def test_a_fill_while_the_listen_key_expires_is_in_the_ledger_once_within_a_second(
        binance_server: SimServerHandle, tmp_path: Path) -> None:  # noqa: F811
    session = connect(binance_server, tmp_path)
    keys = binance_server.front_end.listen_keys  # type: ignore[attr-defined]
    expired: list[str] = []

    def cut() -> None:
        key = keys.live_key(ACCOUNT)
        assert key is not None
        expired.append(key)
        keys.expire_now(key)  # listenKeyExpired, then the key's connections close

    assert repaired_after_reconnect(binance_server, session, cut) <= 1.0
    new_key = binance_server.call(keys.live_key, ACCOUNT)
    assert new_key is not None and new_key != expired[0]  # the stream asked for a new key
