"""The embedding API (README, "Embedding the engine"): what a bot that builds a session in
its own process relies on. `start()` returns once the private stream is subscribed or says
it is not; `settled()` waits until nothing is pending; worker id and pending grace are
builder parameters; a session from a `Profile` object and secrets, with no file on disk;
async ledger reads off the loop; a clean stop that drains the stream into the ledger."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from console.bootstrap import SimSession, build_session, build_sim_session
from console.credentials import ApiCredentials
from console.domain import (
    Category,
    LedgerChanges,
    Order,
    OrderStatus,
    OrderType,
    Side,
)
from console.domain.events import ConnectionEvent, ConnectionState, PositionEvent, VenueEvent
from console.engine.readiness import NotSettledError, StreamNotConnectedError
from console.engine.session import EngineSession
from console.profiles import Network, Profile
from console.sim import SimVenue
from console.store import Ledger

SYMBOL = "BTCUSDT"


class QuietStream:
    """The sim's port, except that its private stream never subscribes: it says CONNECTING
    (then `then`, when given), then nothing."""

    def __init__(self, inner: SimVenue, *, then: ConnectionState | None = None) -> None:
        self.inner = inner
        self.then = then

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def stream(self) -> AsyncIterator[VenueEvent]:
        return self._stream()

    async def _stream(self) -> AsyncIterator[VenueEvent]:
        yield ConnectionEvent(ConnectionState.CONNECTING)
        if self.then is not None:
            yield ConnectionEvent(self.then, detail="refused", attempt=1)
        await asyncio.Event().wait()


class SlowWrites:
    """A ledger whose writes take `delay_s` (a busy database), for the stream's writer."""

    def __init__(self, inner: Ledger, delay_s: float) -> None:
        self.inner = inner
        self.delay_s = delay_s

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def apply_changes(self, venue: str, account: str, changes: LedgerChanges) -> None:
        time.sleep(self.delay_s)
        self.inner.apply_changes(venue, account, changes)


@pytest.fixture
def sim(ledger_url: str) -> Iterator[SimSession]:
    s = build_sim_session(ledger_url, "clean", reference_prices=True, worker_id="bot7",
                          pending_grace_ms=60_000)
    yield s
    s.close()


async def market_buy(engine: EngineSession, qty: str = "0.01") -> Order:
    order = Order(venue=engine.venue.venue, account=engine.venue.account,
                  category=Category.LINEAR, symbol=SYMBOL, side=Side.BUY,
                  type=OrderType.MARKET, qty=Decimal(qty), status=OrderStatus.PENDING_NEW,
                  client_order_id=await engine.next_client_id())
    return await engine.orders.place(order)


def btc_position(ledger: Ledger) -> Decimal | None:
    return next((p.size for p in ledger.positions("sim", "main") if p.symbol == SYMBOL), None)


# -- start -------------------------------------------------------------------------------------

def test_start_returns_with_the_private_stream_subscribed(sim: SimSession) -> None:
    async def run() -> tuple[bool, ConnectionState]:
        try:
            await sim.engine.start()
            return sim.engine.stream_connected, sim.engine.stream.state
        finally:
            await sim.engine.stop()

    assert asyncio.run(run()) == (True, ConnectionState.CONNECTED)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_stream_that_does_not_subscribe_is_reported_or_refused(ledger_url: str) -> None:
    quiet = build_sim_session(ledger_url, "clean", wrap=QuietStream)
    down = build_sim_session(ledger_url, "clean",
                             wrap=lambda v: QuietStream(v, then=ConnectionState.DOWN))
    retrying = build_sim_session(ledger_url, "clean",
                                 wrap=lambda v: QuietStream(v, then=ConnectionState.RECONNECTING))

    async def run() -> None:
        # reported: start goes on without it, within the timeout
        t0 = time.perf_counter()
        outcome = await quiet.engine.start(connect_timeout_s=0.3)
        assert 0.3 <= time.perf_counter() - t0 < 5
        assert outcome.run.status.value == "ok"
        assert not quiet.engine.stream_connected
        await quiet.engine.stop()
        # refused: nothing left running
        with pytest.raises(StreamNotConnectedError) as refused:
            await quiet.engine.start(connect_timeout_s=0.2, require_stream=True)
        assert refused.value.state is ConnectionState.CONNECTING
        assert "not subscribed" in str(refused.value)
        assert not quiet.engine.stream_connected and quiet.engine.stream._tasks == []
        # a stream that reports DOWN ends the wait at once, not at the timeout
        t0 = time.perf_counter()
        with pytest.raises(StreamNotConnectedError) as gave_up:
            await down.engine.start(connect_timeout_s=30, require_stream=True)
        assert time.perf_counter() - t0 < 5
        assert gave_up.value.state is ConnectionState.DOWN
        # a failed first attempt answers a start that does not require the stream...
        t0 = time.perf_counter()
        await retrying.engine.start(connect_timeout_s=30)
        assert time.perf_counter() - t0 < 5 and not retrying.engine.stream_connected
        await retrying.engine.stop()
        # ...while one that requires it gives the retries the whole timeout
        t0 = time.perf_counter()
        with pytest.raises(StreamNotConnectedError):
            await retrying.engine.start(connect_timeout_s=0.4, require_stream=True)
        assert time.perf_counter() - t0 >= 0.4

    try:
        asyncio.run(run())
    finally:
        quiet.close()
        down.close()
        retrying.close()


# -- worker id and grace -----------------------------------------------------------------------

def test_worker_id_and_pending_grace_are_builder_parameters(sim: SimSession) -> None:
    engine = sim.engine
    assert engine.worker == "bot7" and engine.ids.worker == "bot7"
    assert (engine.config.pending_grace_ms == engine.reconciler.config.pending_grace_ms
            == engine.orders.pending_grace_ms == 60_000)

    async def run() -> Order:
        try:
            await engine.start()
            return await market_buy(engine)
        finally:
            await engine.stop()

    placed = asyncio.run(run())
    assert placed.client_order_id.startswith("rc-bot7-")
    assert sim.ledger.get_order("sim", "main", placed.ident) is not None


def test_a_session_from_a_profile_object_and_secrets_needs_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))

    class NoKeyring:
        def get(self, name: str) -> ApiCredentials:
            raise AssertionError(f"the keyring was asked for {name!r}")

    profile = Profile(name="bot", venue="bybit", network=Network.CUSTOM,
                      rest_url="http://127.0.0.1:9", ws_url="ws://127.0.0.1:9")
    session = build_session(profile, secrets=ApiCredentials("key-embed", "secret-embed"),
                            credentials=NoKeyring(),  # type: ignore[arg-type]
                            db_url=f"sqlite:///{tmp_path / 'ledger.db'}", worker_id="bot9",
                            pending_grace_ms=1500)
    try:
        assert session.venue.venue == "bybit" and session.profile is profile
        assert session.engine.ids.worker == "bot9"
        assert session.engine.orders.pending_grace_ms == 1500
        assert session.engine.reconciler.config.pending_grace_ms == 1500
    finally:
        asyncio.run(session.aclose())
    assert not (tmp_path / "config").exists() and not (tmp_path / "home").exists()

    sim_profile = Profile(name="simbot", venue="sim")
    simmed = build_session(sim_profile, db_url=f"sqlite:///{tmp_path / 'sim.db'}",
                           worker_id="bot8", pending_grace_ms=700)
    try:
        assert simmed.engine.ids.worker == "bot8"
        assert simmed.engine.reconciler.config.pending_grace_ms == 700
    finally:
        asyncio.run(simmed.aclose())


# -- settled -----------------------------------------------------------------------------------

def test_settled_waits_for_the_stream_to_be_written(sim: SimSession) -> None:
    engine = sim.engine
    engine.stream.ledger = SlowWrites(sim.ledger, 0.3)  # type: ignore[assignment]

    async def run() -> tuple[Decimal | None, Decimal | None]:
        try:
            await engine.start()
            await market_buy(engine)
            await engine.settled(timeout_s=10)
            positions = {p.symbol: p.size for p in await engine.reads.positions()}
            return positions.get(SYMBOL), btc_position(sim.ledger)
        finally:
            await engine.stop()

    assert asyncio.run(run()) == (Decimal("0.01"), Decimal("0.01"))


def test_settled_waits_out_an_intents_grace_then_has_it_settled(ledger_url: str) -> None:
    s = build_sim_session(ledger_url, "clean", pending_grace_ms=60_000)
    short = build_sim_session(ledger_url, "clean", pending_grace_ms=300)

    def intent(session: SimSession) -> Order:
        """An intent written before a crash: the venue never heard of it."""
        now = int(time.time() * 1000)
        order = Order(venue="sim", account="main", category=Category.LINEAR, symbol=SYMBOL,
                      side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                      price=Decimal("50000"), status=OrderStatus.PENDING_NEW,
                      client_order_id=session.engine.ids.next(), created_at=now,
                      updated_at=now)
        session.ledger.apply_changes("sim", "main", LedgerChanges(orders=(order,)))
        return order

    async def within_grace() -> None:
        try:
            await s.engine.start()
            order = intent(s)
            with pytest.raises(NotSettledError) as waited:
                await s.engine.settled(timeout_s=0.3)
            assert waited.value.pending.pending_new == frozenset({order.ident})
            assert order.ident in str(waited.value)
        finally:
            await s.engine.stop()

    async def past_grace() -> Order | None:
        try:
            await short.engine.start()
            order = intent(short)
            await short.engine.settled(timeout_s=10)
            assert (await short.engine.pending()).empty
            return await short.engine.reads.get_order(order.ident)
        finally:
            await short.engine.stop()

    try:
        asyncio.run(within_grace())
        settled = asyncio.run(past_grace())
    finally:
        s.close()
        short.close()
    assert settled is not None and settled.status is OrderStatus.REJECTED


# -- reads -------------------------------------------------------------------------------------

def test_async_reads_run_off_the_loop_and_match_the_ledger(sim: SimSession) -> None:
    threads: list[int] = []

    class Watched:
        def __getattr__(self, name: str) -> Any:
            read = getattr(sim.ledger, name)

            def call(*args: Any) -> Any:
                threads.append(threading.get_ident())  # where the read itself runs
                return read(*args)
            return call

    reads = type(sim.engine.reads)(Watched(), "sim", "main")  # type: ignore[arg-type]

    async def run() -> tuple[Any, ...]:
        loop_thread = threading.get_ident()
        got = (await reads.orders(), await reads.orders(active_only=True),
               await reads.positions(), await reads.balances(), await reads.fills())
        one = await reads.get_order(got[0][0].ident)
        assert loop_thread not in threads
        return (*got, one)

    orders, active, positions, balances, fills, one = asyncio.run(run())
    ledger = sim.ledger
    assert orders == ledger.orders("sim", "main")
    assert active == ledger.orders("sim", "main", True) and active
    assert positions == ledger.positions("sim", "main") and positions
    assert balances == ledger.balances("sim", "main") and balances
    assert fills == ledger.fills("sim", "main")
    assert one == orders[0]
    assert len(threads) == 6


# -- clean stop --------------------------------------------------------------------------------

def test_a_clean_stop_writes_what_the_stream_delivered_and_records_the_stop(
        sim: SimSession) -> None:
    engine = sim.engine
    engine.stream.ledger = SlowWrites(sim.ledger, 0.3)  # type: ignore[assignment]
    delivered = asyncio.Event()

    def seen(event: VenueEvent) -> None:
        if isinstance(event, PositionEvent) and event.position.symbol == SYMBOL:
            delivered.set()

    engine.stream.on_event(seen)

    async def run() -> None:
        await engine.start()
        await market_buy(engine)
        await asyncio.wait_for(delivered.wait(), 5)  # delivered to the process, not written
        await engine.stop()

    asyncio.run(run())
    assert btc_position(sim.ledger) == Decimal("0.01")  # written before stop returned
    [stop] = [e for e in sim.ledger.audit_log() if e.action == "session_stopped"]
    assert stop.actor == "engine:bot7" and stop.venue == "sim" and stop.account == "main"
    assert dict(stop.details)["stream_drained"] == "yes"
    assert int(dict(stop.details)["events_written_at_stop"]) > 0
