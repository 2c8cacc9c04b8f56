"""What the conformance modules share (imported by name: tests/sim_binance is on
sys.path): the simulated Binance front-end running on a loop of its own thread, so that
blocking clients (python-binance's `Client`) and clients on another loop (ccxt's async
exchanges under `asyncio.run`) can both talk to it; and the python-binance client
pointed at it.

No tests here; the module only carries the conformance prefix so that it belongs to
the suite it serves.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, Final, TypeVar

from binance.client import Client
from binance_docs import CHECKER
from canary import CANARY_KEY, CANARY_SECRET

from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.binance.server import BinanceFrontEnd

ACCOUNT: Final = "acct"
KEY: Final = CANARY_KEY
SECRET: Final = CANARY_SECRET
T = TypeVar("T")


class SimOnThread:
    """A `SimExchange` with one funded account behind a `BinanceFrontEnd`, served by an
    event loop on a daemon thread. `call` runs a coroutine (or a plain callable) on that
    loop: the sim core is not thread-safe, so tests touch it only through `call`."""

    def __init__(self, seed: int = 5) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="binance-sim")
        self._thread.start()
        self.exchange: SimExchange = self.call(self._exchange, seed)
        self.front_end: BinanceFrontEnd = self.call(
            lambda: BinanceFrontEnd(self.exchange, credentials={KEY: (SECRET, ACCOUNT)}))
        self.run(self.front_end.start())
        self.url: str = self.front_end.rest_url

    @staticmethod
    def _exchange(seed: int) -> SimExchange:
        exchange = SimExchange(seed=seed, venue="binance", instruments=DEFAULT_INSTRUMENTS)
        exchange.create_account(ACCOUNT, {"USDT": Decimal(1_000_000), "BTC": Decimal(10)})
        exchange.set_reference_prices()
        return exchange

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        async def inner() -> T:
            return fn(*args)
        return self.run(inner())

    def stop(self) -> None:
        try:
            self.run(self.front_end.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()


def python_binance(url: str, key: str = KEY, secret: str = SECRET) -> Client:
    """python-binance's `Client` with its defaults, pointed at the sim. `ping=False`: its
    constructor pings api.binance.com before any URL attribute can be set."""
    client = Client(key, secret, ping=False)
    client.API_URL = f"{url}/api"
    client.FUTURES_URL = f"{url}/fapi"
    return client


explain = CHECKER.explain
