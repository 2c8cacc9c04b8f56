"""Two engines on one account in one process (each with its own ledger connection, both on
one simulated exchange): on PostgreSQL one trades and the other observes, says so in its
health, and takes over when the holder stops; a holder that stops renewing stops sending
before the other can start. On SQLite nothing changes: every started session trades."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from console.bootstrap import SimSession, build_sim_session
from console.domain import Category, LedgerChanges, Order, OrderStatus, OrderType, Side
from console.engine.health import HealthMonitor, HealthStatus
from console.engine.lease import LEASE_ACQUIRED_ACTION, LeaseKeeper, LeaseState
from console.engine.session import EngineSession
from console.errors import LeaseLostError

PG = [pytest.param("postgres", marks=pytest.mark.postgres)]
TTL_S = 1.0


@pytest.fixture
def pair(ledger_url: str) -> Iterator[tuple[SimSession, SimSession]]:
    """Engine "a" and engine "b": two sessions, two ledger objects, one exchange."""
    a = build_sim_session(ledger_url, "clean", reference_prices=True, worker_id="a",
                          pending_grace_ms=2_000, lease_ttl_s=TTL_S)
    b = build_sim_session(ledger_url, "clean", reference_prices=True, worker_id="b",
                          pending_grace_ms=2_000, lease_ttl_s=TTL_S, exchange=a.exchange)
    yield a, b
    a.close()
    b.close()


async def market(engine: EngineSession, side: Side = Side.BUY) -> Order:
    order = Order(venue=engine.venue.venue, account=engine.venue.account,
                  category=Category.LINEAR, symbol="BTCUSDT", side=side,
                  type=OrderType.MARKET, qty=Decimal("0.01"), status=OrderStatus.PENDING_NEW,
                  client_order_id=await engine.next_client_id())
    return await engine.orders.place(order)


def lease_of(engine: EngineSession) -> LeaseKeeper:
    assert engine.lease is not None  # the composition root wires it
    return engine.lease


async def until(check: object, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("backend", PG)
def test_the_second_engine_observes_says_so_and_takes_over_when_the_holder_stops(
        pair: tuple[SimSession, SimSession]) -> None:
    a, b = pair
    health_a, health_b = HealthMonitor(a.engine), HealthMonitor(b.engine)

    async def scenario() -> None:
        await a.engine.start()
        assert (await market(a.engine)).status is OrderStatus.FILLED
        runs = len(a.ledger.list_runs("sim", "main", 100))
        watching = asyncio.create_task(b.engine.start())
        await until(lambda: lease_of(b.engine).status().holder is not None)
        holder = lease_of(a.engine).engine
        # b observes: no stream, no reconciliation, no order; its health says who trades
        status = lease_of(b.engine).status()
        assert status.state is LeaseState.OBSERVING and status.holder == holder
        report = health_b.report()
        assert report.status is HealthStatus.OBSERVING and report.healthy
        assert report.trading == "observing" and report.lease_holder == holder
        assert report.lease is not None and f"lease held by {holder}" in report.lease
        assert report.to_json()["status"] == "observing"
        assert health_a.report().lease_holder == holder
        assert (health_a.report().lease or "").startswith("holding (epoch 1")
        with pytest.raises(LeaseLostError, match="does not hold the lease"):
            await market(b.engine)
        assert not b.engine.stream_connected
        await asyncio.sleep(TTL_S)  # a renews: b stays an observer
        assert not watching.done()
        assert len(b.ledger.list_runs("sim", "main", 100)) == runs
        # a stops cleanly: its lease is released, b takes over at once (not after the TTL)
        await a.engine.stop()
        stopped = time.monotonic()
        outcome = await watching
        assert time.monotonic() - stopped < TTL_S
        assert outcome.run.status.value == "ok" and b.engine.stream_connected
        assert lease_of(b.engine).epoch == 2
        assert (await market(b.engine, Side.SELL)).status is OrderStatus.FILLED
        assert health_b.report().status is not HealthStatus.OBSERVING
        await b.engine.stop()

    asyncio.run(scenario())
    taken = [dict(e.details) for e in b.ledger.audit_log(200)
             if e.action == LEASE_ACQUIRED_ACTION]
    assert [(t["epoch"], t.get("previous_holder")) for t in reversed(taken)] == [
        ("1", None), ("2", lease_of(a.engine).engine)]


@pytest.mark.parametrize("backend", PG)
def test_a_holder_that_stops_renewing_stops_sending_before_the_other_engine_starts(
        pair: tuple[SimSession, SimSession]) -> None:
    a, b = pair
    marks: dict[str, float] = {}

    async def scenario() -> None:
        await a.engine.start()
        watching = asyncio.create_task(b.engine.start())
        await until(lambda: lease_of(b.engine).status().holder is not None)
        await lease_of(a.engine).stop()  # its renewals stop (a hung thread, a partition)
        last = a.ledger.lease("sim", "main")
        assert last is not None and last.holder == lease_of(a.engine).engine
        while True:
            try:
                lease_of(a.engine).check_send()
            except LeaseLostError:
                marks["a_stopped_sending"] = time.monotonic()
                break
            await asyncio.sleep(0.002)
        with pytest.raises(LeaseLostError):
            await market(a.engine)
        await watching
        marks["b_took_over"] = time.monotonic()
        # the ledger refuses a's writes too, whatever path they take
        with pytest.raises(LeaseLostError, match="lost the lease of epoch 1"):
            await asyncio.to_thread(a.ledger.apply_changes, "sim", "main", LedgerChanges(
                orders=((await market(b.engine)).evolve(status=OrderStatus.CANCELLED),)))
        await a.engine.stop()
        await b.engine.stop()

    asyncio.run(scenario())
    assert marks["a_stopped_sending"] < marks["b_took_over"]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_on_sqlite_every_started_session_trades_and_health_names_no_holder(
        pair: tuple[SimSession, SimSession]) -> None:
    a, b = pair

    async def scenario() -> None:
        await a.engine.start()
        await b.engine.start()  # no waiting: one process per file, nothing contended
        assert (await market(a.engine)).status is OrderStatus.FILLED
        assert (await market(b.engine, Side.SELL)).status is OrderStatus.FILLED
        await asyncio.sleep(TTL_S * 1.5)  # past several renewal periods: neither lets go
        assert (await market(a.engine, Side.SELL)).status is OrderStatus.FILLED
        assert (await market(b.engine)).status is OrderStatus.FILLED
        assert lease_of(a.engine).takeovers == lease_of(b.engine).takeovers == 1
        assert HealthMonitor(a.engine).report().lease_holder is None
        assert HealthMonitor(b.engine).report().lease is None
        await a.engine.stop()
        await b.engine.stop()

    asyncio.run(scenario())
    assert not [e for e in a.ledger.audit_log(200) if e.action == LEASE_ACQUIRED_ACTION]
