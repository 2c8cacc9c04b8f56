"""What Deribit's connection does to the console, end to end (the engine, the real
`DeribitVenue` and the simulated Deribit front-end on loopback):

* a back-fill after 30 hours away: Deribit answers only the last 24 hours of trades
  unless asked with historical=true, so every fill of the gap must still reach the
  ledger, exactly once;
* an unanswered heartbeat: Deribit closes the connection and, with cancel-on-disconnect
  armed (profile `dead_man = "on"`), cancels the orders; the connector reconnects,
  authenticates again and reconciles, and the ledger shows those orders cancelled;
* the credit pool: a burst the engine makes on its own is paced (no 10028), and an
  injected 10028 (Deribit ends the session) is survived: reconnect, reconciliation.
"""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal
from pathlib import Path

import pytest
from deribit_support import (
    ACCOUNT,
    BTC,
    HOUR_MS,
    INVERSE,
    VENUE,
    Clock,
    client_id,
    connect,
    start_server,
    wait_for,
)

from console.bootstrap import ProfileSession
from console.domain import LedgerChanges, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.events import ConnectionEvent, ConnectionState
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.domain.snapshot import FillCoverage
from console.errors import VenueError
from console.sim.deribit.limits import CreditPool
from console.store import Ledger

pytestmark = pytest.mark.timeout(60)

D = Decimal


def bid(session: ProfileSession, price: str = "50000", qty: str = "100") -> Order:
    """A resting buy of ours on BTC-PERPETUAL (USD amount), well below the market."""
    return Order(venue=VENUE, account=ACCOUNT, category=INVERSE, symbol=BTC, side=Side.BUY,
                 type=OrderType.LIMIT, qty=D(qty), status=OrderStatus.PENDING_NEW,
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY), price=D(price),
                 strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)


def reconnections(session: ProfileSession) -> list[ConnectionEvent]:
    seen: list[ConnectionEvent] = []
    session.engine.stream.on_event(
        lambda e: seen.append(e) if isinstance(e, ConnectionEvent) and e.reconnected
        else None)
    return seen


def connected(session: ProfileSession) -> bool:
    return session.engine.stream.state is ConnectionState.CONNECTED


# -- back-fill after 30 hours away ---------------------------------------------------------------

def test_fills_of_30_hours_away_are_back_filled_exactly_once(tmp_path: Path,
                                                             ledger_url: str) -> None:
    clock = Clock()
    clock.offset = -31 * HOUR_MS  # the sim's life starts 31 hours ago
    server = start_server(clock=clock)
    try:
        # The ledger a session left 30 hours ago: fill history verified up to then.
        went_away = clock()
        ledger = Ledger.open(ledger_url)
        try:
            ledger.commit_run(
                RunRecord("left-30h-ago", VENUE, ACCOUNT, RunTrigger.PERIODIC,
                          started_at=went_away - 1000, finished_at=went_away,
                          status=RunStatus.OK),
                LedgerChanges(), FillCoverage(went_away - HOUR_MS, went_away))
        finally:
            ledger.close()
        # Trades while nobody watched: 29 h, 27 h and 25 h ago (past Deribit's default
        # 24 h window), then 12 h and 1 h ago.
        for n, hours_ago in enumerate((29, 27, 25, 12, 1)):
            clock.offset = -hours_ago * HOUR_MS
            server.call(server.exchange.place_order, ACCOUNT, category=INVERSE, symbol=BTC,
                        side=Side.BUY if n % 2 == 0 else Side.SELL,
                        order_type=OrderType.MARKET, qty=D(10 * (n + 1)))
        clock.offset = 0
        made = server.call(server.exchange.fills, ACCOUNT)
        assert len(made) == 5
        assert sum(1 for f in made if f.exec_time < clock() - 24 * HOUR_MS) == 3

        session = connect(server, tmp_path, ledger_url, auto=True)

        async def run() -> tuple[list[str], tuple[int, int] | None, list[str]]:
            try:
                startup = await session.engine.start()
                first = [f.exec_id for f in session.ledger.fills(VENUE, ACCOUNT)]
                again = await session.engine.reconciler.run_once(RunTrigger.MANUAL)
                assert again.run.status is RunStatus.OK
                second = [f.exec_id for f in session.ledger.fills(VENUE, ACCOUNT)]
                return first, startup.run.fills_window, second
            finally:
                await session.aclose()

        first, window, second = asyncio.run(run())
    finally:
        server.stop()
    assert sorted(first) == sorted(f.exec_id for f in made)  # all of them, once each
    assert second == first  # a second run adds none again
    assert window is not None and window[0] <= went_away - 1


# -- an unanswered heartbeat with cancel-on-disconnect armed --------------------------------------

def test_an_unanswered_heartbeat_cancels_on_disconnect_and_the_ledger_follows(
        tmp_path: Path) -> None:
    # One heartbeat-interval second lasts 20 ms: the connector's 30 s interval is 0.6 s.
    server = start_server(heartbeat_unit_ms=20)
    session = connect(server, tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", auto=True,
                      dead_man=True)

    async def run() -> list[Order]:
        try:
            back = reconnections(session)
            await session.engine.start()
            await wait_for(lambda: connected(session))
            state = session.venue.dead_man_state()
            assert state is not None and state.armed
            placed = [await session.engine.orders.place(bid(session, p))
                      for p in ("50000", "50500")]
            assert all(o.status is OrderStatus.NEW for o in placed)
            # Our answers to Deribit's test_request are held past the next heartbeat.
            [rule] = server.call(server.faults.add, "latency=3000ms@/api/v2/public/test")
            await wait_for(lambda: not connected(session) or bool(back), 5)
            server.call(server.faults.remove, rule)
            await wait_for(lambda: bool(back) and connected(session), 10)
            await wait_for(lambda: (session.venue.dead_man_state() or state).armed, 5)
            await wait_for(lambda: any(r.trigger is RunTrigger.RECONNECT for r in
                                       session.ledger.list_runs(VENUE, ACCOUNT)), 5)

            def on_venue() -> list[OrderStatus]:
                return [server.exchange.order_by_venue_id(ACCOUNT, o.venue_order_id).status
                        for o in placed]  # type: ignore[union-attr]

            with contextlib.suppress(AssertionError):
                await wait_for(lambda: set(server.call(on_venue)) == {
                    OrderStatus.CANCELLED}, 2)
            venue = server.call(on_venue)
            assert venue == [OrderStatus.CANCELLED] * len(placed), \
                f"cancel-on-disconnect left our orders {venue}"
            await wait_for(lambda: all(
                (session.ledger.get_order(VENUE, ACCOUNT, o.client_order_id) or o).status
                is OrderStatus.CANCELLED for o in placed), 5)
            return placed
        finally:
            await session.aclose()

    try:
        placed = asyncio.run(run())
    finally:
        server.stop()
    reasons = server.front_end.views.cancel_reasons  # type: ignore[attr-defined]
    assert [reasons.get(o.venue_order_id) for o in placed] == \
        ["cancel_on_disconnect"] * len(placed)


# -- the credit pool ---------------------------------------------------------------------------



def test_a_burst_past_the_credit_pool_is_paced_without_10028(tmp_path: Path) -> None:
    pool = CreditPool()
    server = start_server(rate_limits=pool)  # Deribit's figures: 50 000, 10 000/s, 500
    session = connect(server, tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", auto=True)
    burst = 130  # 65 000 credits of orders alone: more than the pool holds

    async def run() -> tuple[list[Order], list[ConnectionEvent]]:
        try:
            back = reconnections(session)
            await session.engine.start()
            await wait_for(lambda: connected(session))
            placed = await asyncio.gather(*(
                session.engine.orders.place(bid(session, str(40000 + 10 * i), "10"))
                for i in range(burst)))
            return list(placed), back
        finally:
            await session.aclose()

    try:
        placed, back = asyncio.run(run())
        resting = server.call(server.exchange.open_orders, ACCOUNT, symbol=BTC)
    finally:
        server.stop()
    assert sum(pool.refused.values()) == 0
    assert back == []  # the session was never ended
    # the burst and the startup reads all reached the venue
    assert sum(pool.granted.values()) > burst
    assert all(o.status is OrderStatus.NEW for o in placed)
    assert sorted(client_id(o) for o in resting) == sorted(o.client_order_id for o in placed)


def test_an_injected_10028_ends_the_session_and_is_survived(tmp_path: Path) -> None:
    server = start_server()
    session = connect(server, tmp_path, f"sqlite:///{tmp_path / 'ledger.db'}", auto=True)

    async def run() -> tuple[Order, Order, str]:
        try:
            back = reconnections(session)
            await session.engine.start()
            await wait_for(lambda: connected(session))
            first = await session.engine.orders.place(bid(session, "50000"))
            server.call(server.faults.add, "retcode=10028@/api/v2/private/buy")
            refused = bid(session, "50100")
            outcome = "placed"
            try:
                await session.engine.orders.place(refused)
            except VenueError as exc:
                outcome = f"refused: {exc.code}"
            await wait_for(lambda: bool(back) and connected(session), 10)
            await wait_for(lambda: any(
                r.trigger is RunTrigger.RECONNECT
                for r in session.ledger.list_runs(VENUE, ACCOUNT)), 5)
            again = await session.engine.orders.place(bid(session, "50200"))
            return first, again, outcome
        finally:
            await session.aclose()

    try:
        first, again, outcome = asyncio.run(run())
        resting = server.call(server.exchange.open_orders, ACCOUNT, symbol=BTC)
    finally:
        server.stop()
    assert again.status is OrderStatus.NEW
    labels = [client_id(o) for o in resting]
    assert len(labels) == len(set(labels))  # nothing was sent twice
    assert {first.client_order_id, again.client_order_id} <= set(labels)
    assert outcome.startswith(("refused", "placed")), outcome
