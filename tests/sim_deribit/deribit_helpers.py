"""Helpers of the Deribit front-end tests (imported by name: tests/sim_deribit is on
sys.path): a front-end served from a loop on a daemon thread, a settable clock, HTTP
calls (GET with a query, POST with a JSON-RPC body) and both signature styles."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, Final, TypeVar
from urllib.parse import urlencode

import aiohttp
import requests
from canary import CANARY_KEY, CANARY_SECRET

from console.domain.enums import Category
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.deribit.server import DeribitFrontEnd
from console.sim.instruments import INVERSE_INSTRUMENTS
from console.sim.protocol.keys import ApiKey, KeyStore, Permission

T = TypeVar("T")
ACCOUNT: Final = "acct"
KEY: Final = CANARY_KEY
SECRET: Final = CANARY_SECRET
READ_KEY: Final = "readonlykey0001"
READ_SECRET: Final = "readonlysecret0001"
BTC: Final = "BTC-PERPETUAL"


class Clock:
    """Wall-clock milliseconds plus a settable offset (tests move time forward)."""

    def __init__(self) -> None:
        self.offset = 0

    def __call__(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset


def sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class Sim:
    """A `SimExchange` (USDT perps, spot and the inverse perps) with one account holding
    10 BTC behind a `DeribitFrontEnd` on a loop thread."""

    def __init__(self, *, faults: str | None = None,
                 rate_limits: Mapping[str, int] | None = None, seed: int = 5,
                 **options: Any) -> None:
        self.clock = Clock()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.exchange: SimExchange = self.call(self._exchange, seed)
        keys = KeyStore([ApiKey(KEY, SECRET, ACCOUNT),
                         ApiKey(READ_KEY, READ_SECRET, ACCOUNT,
                                frozenset({Permission.READ}))])
        self.front_end: DeribitFrontEnd = self.call(lambda: DeribitFrontEnd(
            self.exchange, credentials=keys, faults=faults, rate_limits=rate_limits,
            clock_ms=self.clock, seed=seed, **options))
        self.run(self.front_end.start())
        self.url: str = self.front_end.rest_url
        self.ws_url: str = self.front_end.ws_private_url

    @staticmethod
    def _exchange(seed: int) -> SimExchange:
        exchange = SimExchange(seed=seed, venue="deribit",
                               instruments=(*DEFAULT_INSTRUMENTS, *INVERSE_INSTRUMENTS))
        exchange.create_account(ACCOUNT, {"BTC": Decimal(10), "ETH": Decimal(100),
                                          "USDT": Decimal(100_000)})
        exchange.set_reference_prices()
        return exchange

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 15.0) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        async def inner() -> T:
            return fn(*args)
        return self.run(inner())

    def set_price(self, price: str, symbol: str = BTC) -> None:
        self.call(self.exchange.set_price, Category.INVERSE, symbol, Decimal(price))

    def stop(self) -> None:
        self.run(self.front_end.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)

    # -- HTTP ----------------------------------------------------------------------------

    def get(self, method: str, params: Mapping[str, Any] | None = None, *,
            headers: Mapping[str, str] | None = None) -> requests.Response:
        query = urlencode({k: _text(v) for k, v in (params or {}).items()})
        url = f"{self.url}/api/v2/{method}" + (f"?{query}" if query else "")
        return requests.get(url, headers=dict(headers or {}), timeout=10)

    def post(self, method: str, params: Mapping[str, Any] | None = None, *,
             headers: Mapping[str, str] | None = None, rpc_id: int = 7) -> requests.Response:
        body = json.dumps({"jsonrpc": "2.0", "id": rpc_id, "method": method,
                           "params": dict(params or {})})
        return requests.post(f"{self.url}/api/v2/{method}", data=body,
                             headers={"Content-Type": "application/json",
                                      **dict(headers or {})}, timeout=10)

    def token(self, key: str = KEY, secret: str = SECRET) -> str:
        answer = self.get("public/auth", {"grant_type": "client_credentials",
                                          "client_id": key, "client_secret": secret})
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["result"]["access_token"]
        return token

    def private(self, method: str, params: Mapping[str, Any] | None = None, *,
                key: str = KEY, secret: str = SECRET) -> requests.Response:
        """A private GET signed per request (deri-hmac-sha256), as ccxt signs it."""
        query = urlencode({k: _text(v) for k, v in (params or {}).items()})
        uri = f"/api/v2/{method}" + (f"?{query}" if query else "")
        ts, nonce = str(self.clock()), "abc123"
        sig = sign(secret, f"{ts}\n{nonce}\nGET\n{uri}\n\n")
        header = f"deri-hmac-sha256 id={key},ts={ts},sig={sig},nonce={nonce}"
        return requests.get(self.url + uri, headers={"Authorization": header}, timeout=10)

    def result(self, method: str, params: Mapping[str, Any] | None = None) -> Any:
        answer = self.private(method, params)
        assert answer.status_code == 200, answer.text
        return answer.json()["result"]

    def error(self, method: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        answer = self.private(method, params)
        assert answer.status_code == 400, answer.text
        error: dict[str, Any] = answer.json()["error"]
        return error


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class WsClient:
    """A WebSocket client on the sim's loop: requests by id, notifications kept."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.next_id = 1
        self.answers: dict[int, dict[str, Any]] = {}
        self.notes: list[dict[str, Any]] = []
        self.closed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> WsClient:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.sim.ws_url)
        self._reader = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type is aiohttp.WSMsgType.TEXT:
                body = json.loads(msg.data)
                if "id" in body and body["id"] is not None:
                    self.answers[body["id"]] = body
                else:
                    self.notes.append(body)
        self.closed.set()

    async def send(self, method: str, params: Mapping[str, Any] | None = None) -> int:
        assert self.ws is not None
        rpc_id, self.next_id = self.next_id, self.next_id + 1
        await self.ws.send_str(json.dumps({"jsonrpc": "2.0", "id": rpc_id,
                                           "method": method, "params": dict(params or {})}))
        return rpc_id

    async def call(self, method: str, params: Mapping[str, Any] | None = None,
                   timeout: float = 5.0) -> dict[str, Any]:
        rpc_id = await self.send(method, params)
        deadline = time.monotonic() + timeout
        while rpc_id not in self.answers:
            if time.monotonic() > deadline or self.closed.is_set():
                raise TimeoutError(f"no answer to {method}")
            await asyncio.sleep(0.01)
        return self.answers[rpc_id]

    async def login(self) -> dict[str, Any]:
        return await self.call("public/auth", {"grant_type": "client_credentials",
                                               "client_id": KEY, "client_secret": SECRET})

    async def wait_notes(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.notes) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        return list(self.notes)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self._reader is not None:
            self._reader.cancel()
