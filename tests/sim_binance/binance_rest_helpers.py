"""Helpers of the Binance REST front-end tests (imported by name: tests/sim_binance is on
sys.path): a front-end served from a loop on a daemon thread, a settable clock, and a
hand-made signed request that can sign one thing and send another."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

import requests
from canary import CANARY_KEY, CANARY_SECRET

from console.domain.enums import Category
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.binance.server import BinanceFrontEnd
from console.sim.protocol.keys import ApiKey, KeyStore, Permission

T = TypeVar("T")
ACCOUNT: Final = "acct"
KEY: Final = CANARY_KEY
SECRET: Final = CANARY_SECRET
READ_KEY: Final = "readonlykey0001"
READ_SECRET: Final = "readonlysecret0001"


class Clock:
    """Wall-clock milliseconds plus a settable offset (tests move time forward)."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset


class RestSim:
    """A `SimExchange` with one funded account behind a `BinanceFrontEnd` on a loop thread;
    `call` runs a callable on that loop (the sim is not thread-safe)."""

    def __init__(self, *, faults: str | None = None,
                 rate_limits: Mapping[str, int] | None = None, seed: int = 5) -> None:
        self.clock = Clock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.exchange: SimExchange = self.call(self._exchange, seed)
        keys = KeyStore([ApiKey(KEY, SECRET, ACCOUNT),
                         ApiKey(READ_KEY, READ_SECRET, ACCOUNT,
                                frozenset({Permission.READ}))])
        self.front_end: BinanceFrontEnd = self.call(lambda: BinanceFrontEnd(
            self.exchange, credentials=keys, faults=faults, rate_limits=rate_limits,
            clock_ms=self.clock, seed=seed))
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

    def set_price(self, category: Category, symbol: str, price: str) -> None:
        self.call(self.exchange.set_price, category, symbol, Decimal(price))

    def stop(self) -> None:
        try:
            self.run(self.front_end.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()

    # -- requests ----------------------------------------------------------------------

    def signed(self, method: str, path: str, params: Mapping[str, object] | None = None, *,
               where: str = "query", key: str = KEY, secret: str = SECRET,
               timestamp: int | None = None, recv_window: int | None = None,
               tamper: Callable[[str], str] | None = None) -> requests.Response:
        """A signed request; `where`: "query", "body" or "split" (half in each);
        `tamper` changes the sent text after signing (payload = query + body)."""
        items = [(k, str(v)) for k, v in (params or {}).items()]
        items.append(("timestamp", str(self.clock() if timestamp is None else timestamp)))
        if recv_window is not None:
            items.append(("recvWindow", str(recv_window)))
        half = len(items) // 2
        query_items, body_items = {
            "query": (items, []), "body": ([], items),
            "split": (items[:half], items[half:])}[where]
        query, body = urlencode(query_items), urlencode(body_items)
        signature = sign(secret, query + body)
        if where == "body":
            body += f"&signature={signature}"
        else:
            query += f"&signature={signature}"
        if tamper is not None:
            joined = tamper(query + "\x00" + body)
            query, body = joined.split("\x00")
        headers = {"X-MBX-APIKEY": key}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return requests.request(method, f"{self.url}{path}?{query}", data=body or None,
                                headers=headers, timeout=10)

    def keyed(self, method: str, path: str, params: Mapping[str, object] | None = None, *,
              key: str = KEY) -> requests.Response:
        query = urlencode([(k, str(v)) for k, v in (params or {}).items()])
        return requests.request(method, f"{self.url}{path}?{query}",
                                headers={"X-MBX-APIKEY": key}, timeout=10)

    def public(self, path: str, params: Mapping[str, object] | None = None
               ) -> requests.Response:
        return requests.get(f"{self.url}{path}", params=params, timeout=10)


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def error_of(response: requests.Response) -> tuple[int, int]:
    """(HTTP status, Binance code) of an error answer."""
    body = response.json()
    assert set(body) >= {"code", "msg"} and isinstance(body["msg"], str), body
    return response.status_code, body["code"]
