"""Shared pieces of the Deribit acceptance tests (tests/integration/test_deribit_*.py).

The whole product against the simulated Deribit front-end on loopback: a profile file
(`[profiles.NAME.deribit] currency = "BTC"`) read through the venue registry by
`build_profile_session`, the real `DeribitVenue` (JSON-RPC over HTTP, the private
WebSocket), the engine and a real ledger (SQLite or PostgreSQL). The front-end runs in a
thread of the test process (`start_server`), on an exchange built here so that a test
can set its clock (fills made "30 hours ago"), its credit pool and how long one
heartbeat-interval second lasts.

Deribit has no client order id: our client id rides in the order's label
(`<domain label>~<client id>`), so the venue's orders are read back by their label
(`ours`), parsed as the connector parses it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from decimal import Decimal
from pathlib import Path
from typing import Final

from canary import CANARY_KEY, CANARY_SECRET

from console.bootstrap import ProfileSession, build_profile_session
from console.credentials import ApiCredentials
from console.domain import Category, Order, OrderRole
from console.domain.ids import parse_client_id
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.deribit.server import DeribitFrontEnd
from console.sim.instruments import INVERSE_INSTRUMENTS
from console.sim.protocol.keys import ApiKey, KeyStore
from console.sim.protocol.limits import RateLimiter
from console.sim.server import SimServerHandle, SimSetup
from console.venues.deribit.parsing import split_label

PROFILE: Final = "drb"
ACCOUNT: Final = "main"
VENUE: Final = "deribit"
BTC: Final = "BTC-PERPETUAL"
INVERSE: Final = Category.INVERSE
HOUR_MS: Final = 3_600_000


class Clock:
    """Wall-clock milliseconds plus a settable offset: the sim's time, moved by tests."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset


def start_server(*, clock: Clock | None = None, faults: str | None = None,
                 rate_limits: RateLimiter | Mapping[str, int] | None = None,
                 heartbeat_unit_ms: int = 1000) -> SimServerHandle:
    """A Deribit front-end (BTC and ETH inverse perpetuals, an account holding 10 BTC)
    serving from its own loop in a daemon thread."""
    clock = clock or Clock()
    exchange = SimExchange(seed=7, venue=VENUE, clock_ms=clock,
                           instruments=(*DEFAULT_INSTRUMENTS, *INVERSE_INSTRUMENTS))
    exchange.create_account(ACCOUNT, {"BTC": Decimal(10), "ETH": Decimal(100),
                                      "USDT": Decimal(100_000)})
    exchange.set_reference_prices()
    key = ApiKey(CANARY_KEY, CANARY_SECRET, ACCOUNT)
    front_end = DeribitFrontEnd(exchange, credentials=KeyStore([key]), faults=faults,
                                rate_limits=rate_limits, clock_ms=clock, seed=7,
                                heartbeat_unit_ms=heartbeat_unit_ms)
    setup = SimSetup(exchange, front_end, key, None)
    started: Future[asyncio.Event] = Future()

    async def main() -> None:
        stop = asyncio.Event()
        try:
            await front_end.start("127.0.0.1", 0)
        except BaseException as exc:
            started.set_exception(exc)
            raise
        started.set_result(stop)
        try:
            await stop.wait()
        finally:
            await front_end.stop()

    loop = asyncio.new_event_loop()

    def target() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=target, name="sim-deribit-test", daemon=True)
    thread.start()
    return SimServerHandle(setup, loop, thread, started.result(10))


def write_profile(path: Path, rest_url: str, ws_url: str, *, auto: bool | None = None,
                  dead_man: bool = False, currency: str = "BTC") -> Path:
    text = (f'[profiles.{PROFILE}]\nvenue = "deribit"\nnetwork = "custom"\n'
            f'rest_url = "{rest_url}"\nws_url = "{ws_url}"\naccount = "{ACCOUNT}"\n'
            f"reconcile_interval_s = 3600\n"
            f'[profiles.{PROFILE}.deribit]\ncurrency = "{currency}"\n'
            f'dead_man = "{"on" if dead_man else "off"}"\n')
    if auto is not None:
        text += (f'[profiles.{PROFILE}.policy]\n'
                 f'venue_actions = "{"auto" if auto else "approve"}"\n')
    path.write_text(text, encoding="utf-8")
    return path


def connect(handle: SimServerHandle, tmp_path: Path, db_url: str, *,
            auto: bool | None = None, dead_man: bool = False) -> ProfileSession:
    """A session built as the CLI builds one: from a profile file, through the registry."""
    config = write_profile(tmp_path / "profiles.toml", handle.rest_url,
                           handle.ws_private_url, auto=auto, dead_man=dead_man)
    return build_profile_session(PROFILE, config_path=str(config), db_url=db_url,
                                 secrets=ApiCredentials(handle.api_key, handle.api_secret))


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    """Poll `predicate` every 20 ms; the seconds it took, AssertionError past `timeout`."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


def client_id(order: Order) -> str:
    """Our client id of a venue order, read from its Deribit label ("" if foreign)."""
    return order.client_order_id or split_label(order.label)[0]


def ours(handle: SimServerHandle, worker: str | None = None, *,
         symbol: str = BTC) -> list[Order]:
    """The open venue orders carrying our client id (of `worker`, when given)."""
    found = []
    for order in handle.call(handle.exchange.open_orders, ACCOUNT, symbol=symbol):
        parsed = parse_client_id(client_id(order)) if client_id(order) else None
        if parsed is not None and (worker is None or parsed.worker == worker):
            found.append(order)
    return found


def legs(handle: SimServerHandle, worker: str, *, symbol: str = BTC) -> dict[OrderRole, Order]:
    """One worker's open orders by role."""
    out: dict[OrderRole, Order] = {}
    for order in ours(handle, worker, symbol=symbol):
        parsed = parse_client_id(client_id(order))
        assert parsed is not None
        out[parsed.role] = order
    return out




__all__ = ["ACCOUNT", "BTC", "HOUR_MS", "INVERSE", "PROFILE", "VENUE", "Clock", "client_id",
           "connect", "legs", "ours", "start_server", "wait_for", "write_profile"]
