"""Shared pieces of the Binance WebSocket tests: the field tables of Binance's docs with
their JSON types, a shape check, and a sim wired to a `BinanceStream` without a server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import re
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from canary import CANARY_KEY, CANARY_SECRET

from console.domain.enums import Category, OrderType, Side
from console.sim.binance.ids import Ids
from console.sim.binance.listen_keys import ListenKeys
from console.sim.binance.pushes import Market, Push
from console.sim.binance.ws import BinanceStream, mount_streams
from console.sim.core import SimExchange
from console.sim.events import SimEvent
from console.sim.protocol.faults import Faults
from console.sim.protocol.hub import EventHub
from console.sim.protocol.keys import ApiKey, KeyStore

KEY = CANARY_KEY
SECRET = CANARY_SECRET

ACCOUNT = "acct"
NUM = "num"  # a JSON string holding a plain decimal number
STR = "str"
INT = "int"
BOOL = "bool"
STR_OR_NULL = "str|null"

_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")

# USD-M "Event Order Update" (o.*), with the JSON types of the official SDK's model
ORDER_TRADE_UPDATE_O: Mapping[str, str] = {
    "s": STR, "c": STR, "S": STR, "o": STR, "f": STR, "q": NUM, "p": NUM, "ap": NUM,
    "sp": NUM, "x": STR, "X": STR, "i": INT, "l": NUM, "z": NUM, "L": NUM, "N": STR,
    "n": NUM, "T": INT, "t": INT, "b": NUM, "a": NUM, "m": BOOL, "R": BOOL, "wt": STR,
    "ot": STR, "ps": STR, "cp": BOOL, "pP": BOOL, "rp": NUM, "V": STR, "pm": STR,
    "gtd": INT, "er": STR, "si": INT, "ss": INT}
# "only pushed with TRAILING_STOP_MARKET order" (the sim has none)
TRAILING_ONLY = ("AP", "cr")
ORDER_TRADE_UPDATE: Mapping[str, str] = {"e": STR, "E": INT, "T": INT}
TRADE_LITE: Mapping[str, str] = {
    "e": STR, "E": INT, "T": INT, "s": STR, "q": NUM, "p": NUM, "m": BOOL, "c": STR,
    "S": STR, "L": NUM, "l": NUM, "t": INT, "i": INT}
ACCOUNT_UPDATE: Mapping[str, str] = {"e": STR, "E": INT, "T": INT}
ACCOUNT_UPDATE_B: Mapping[str, str] = {"a": STR, "wb": NUM, "cw": NUM, "bc": NUM}
ACCOUNT_UPDATE_P: Mapping[str, str] = {
    "s": STR, "pa": NUM, "ep": NUM, "bep": NUM, "cr": NUM, "up": NUM, "mt": STR, "iw": NUM,
    "ps": STR}
ALGO_UPDATE: Mapping[str, str] = {"e": STR, "T": INT, "E": INT}
ALGO_UPDATE_O: Mapping[str, str] = {
    "caid": STR, "aid": INT, "at": STR, "o": STR, "s": STR, "S": STR, "ps": STR, "f": STR,
    "q": NUM, "X": STR, "ai": STR, "ap": NUM, "aq": NUM, "act": STR, "tp": NUM, "p": NUM,
    "V": STR, "wt": STR, "pm": STR, "cp": BOOL, "pP": BOOL, "R": BOOL, "tt": INT,
    "gtd": INT, "rm": STR}
LISTEN_KEY_EXPIRED: Mapping[str, str] = {"e": STR, "E": INT, "listenKey": STR}

# spot user-data-stream.md: the executionReport payload (W appears once on the book)
EXECUTION_REPORT: Mapping[str, str] = {
    "e": STR, "E": INT, "s": STR, "c": STR, "S": STR, "o": STR, "f": STR, "q": NUM,
    "p": NUM, "P": NUM, "F": NUM, "g": INT, "C": STR, "x": STR, "X": STR, "r": STR,
    "i": INT, "l": NUM, "z": NUM, "L": NUM, "n": NUM, "N": STR_OR_NULL, "T": INT, "t": INT,
    "I": INT, "w": BOOL, "m": BOOL, "M": BOOL, "O": INT, "Z": NUM, "Y": NUM, "Q": NUM,
    "V": STR}
# conditional: W once the order has been on the book, eR once it expired
EXECUTION_REPORT_IF: Mapping[str, str] = {"W": INT, "eR": STR}
OUTBOUND_ACCOUNT_POSITION: Mapping[str, str] = {"e": STR, "E": INT, "u": INT}
OUTBOUND_B: Mapping[str, str] = {"a": STR, "f": NUM, "l": NUM}
BALANCE_UPDATE: Mapping[str, str] = {"e": STR, "E": INT, "a": STR, "d": NUM, "T": INT}
EVENT_STREAM_TERMINATED: Mapping[str, str] = {"e": STR, "E": INT}


def _type_ok(value: Any, kind: str) -> bool:
    if kind == NUM:
        return isinstance(value, str) and bool(_NUMBER.fullmatch(value))
    if kind == STR:
        return isinstance(value, str)
    if kind == STR_OR_NULL:
        return value is None or isinstance(value, str)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == BOOL:
        return isinstance(value, bool)
    raise AssertionError(f"unknown kind {kind}")


def check_fields(record: Mapping[str, Any], table: Mapping[str, str], *,
                 exact: bool = False, where: str = "") -> None:
    """Every field of `table` is present with its JSON type (and, `exact`, no others)."""
    missing = [name for name in table if name not in record]
    assert not missing, f"{where}: missing {missing} in {record}"
    wrong = {name: record[name] for name, kind in table.items()
             if not _type_ok(record[name], kind)}
    assert not wrong, f"{where}: wrong JSON types {wrong}"
    if exact:
        extra = set(record) - set(table)
        assert not extra, f"{where}: unexpected fields {extra}"


def check_event(event: Mapping[str, Any]) -> None:
    """The shape check of one pushed event, whichever it is."""
    kind = event["e"]
    if kind == "ORDER_TRADE_UPDATE":
        check_fields(event, ORDER_TRADE_UPDATE, where=kind)
        assert set(event) == {"e", "E", "T", "o"}
        check_fields(event["o"], ORDER_TRADE_UPDATE_O, exact=True, where=kind)
        assert not set(TRAILING_ONLY) & set(event["o"])
    elif kind == "TRADE_LITE":
        check_fields(event, TRADE_LITE, exact=True, where=kind)
    elif kind == "ACCOUNT_UPDATE":
        check_fields(event, ACCOUNT_UPDATE, where=kind)
        assert set(event["a"]) == {"m", "B", "P"}
        for line in event["a"]["B"]:
            check_fields(line, ACCOUNT_UPDATE_B, exact=True, where="a.B")
        for line in event["a"]["P"]:
            check_fields(line, ACCOUNT_UPDATE_P, exact=True, where="a.P")
    elif kind == "ALGO_UPDATE":
        check_fields(event, ALGO_UPDATE, where=kind)
        check_fields(event["o"], ALGO_UPDATE_O, exact=True, where=kind)
    elif kind == "listenKeyExpired":
        check_fields(event, LISTEN_KEY_EXPIRED, exact=True, where=kind)
    elif kind == "executionReport":
        check_fields(event, EXECUTION_REPORT, where=kind)
        extra = set(event) - set(EXECUTION_REPORT)
        assert extra <= set(EXECUTION_REPORT_IF), f"executionReport: unexpected {extra}"
        check_fields(event, {k: v for k, v in EXECUTION_REPORT_IF.items() if k in extra},
                     where=kind)
    elif kind == "outboundAccountPosition":
        check_fields(event, OUTBOUND_ACCOUNT_POSITION, where=kind)
        for line in event["B"]:
            check_fields(line, OUTBOUND_B, exact=True, where="B")
    elif kind == "balanceUpdate":
        check_fields(event, BALANCE_UPDATE, exact=True, where=kind)
    elif kind == "eventStreamTerminated":
        check_fields(event, EVENT_STREAM_TERMINATED, exact=True, where=kind)
    else:
        raise AssertionError(f"unexpected event type {kind}")


class Clock:
    """A sim clock the test moves by hand."""

    def __init__(self, now: int = 1_700_000_000_000) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass
class Rig:
    """A sim whose account feeds a `BinanceStream` as the hub would (observe every event,
    convert what one call produced)."""

    exchange: SimExchange
    stream: BinanceStream
    ids: Ids
    clock: Clock
    pending: list[SimEvent] = field(default_factory=list)

    def run(self, action: Callable[[], object]) -> list[Push]:
        """Do one thing on the exchange; the pushes it makes."""
        self.pending.clear()
        action()
        return self.stream.convert(ACCOUNT, list(self.pending))

    def events(self, action: Callable[[], object], market: Market) -> list[dict[str, Any]]:
        return [p.event for p in self.run(action) if p.market is market]


def make_rig(balances: Mapping[str, Decimal] | None = None, *, seed: int = 1) -> Rig:
    clock = Clock()
    exchange = SimExchange(seed=seed, clock_ms=clock, venue="binance")
    exchange.create_account(ACCOUNT, dict(balances or {"USDT": Decimal(100_000),
                                                       "BTC": Decimal(2)}))
    exchange.set_reference_prices()
    ids = Ids()
    stream = BinanceStream(exchange, ids, clock, seed=seed)
    rig = Rig(exchange, stream, ids, clock)

    def listen(event: SimEvent) -> None:
        stream.observe(event)
        rig.pending.append(event)

    exchange.subscribe(ACCOUNT, listen)
    return rig


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["e"] for e in events]


# -- a served stream (no REST front-end) ----------------------------------------------------


@dataclass
class Served:
    """`mount_streams` over an `EventHub` on a loopback aiohttp server."""

    exchange: SimExchange
    stream: BinanceStream
    hub: EventHub[Push]
    listen_keys: ListenKeys
    keys: KeyStore
    faults: Faults
    clock: Callable[[], int]
    origin: str

    def futures_url(self, listen_key: str) -> str:
        return f"{self.origin}/private/ws?listenKey={listen_key}"

    @property
    def api_url(self) -> str:
        return f"{self.origin}/ws-api/v3"

    def listen_key(self) -> str:
        return self.listen_keys.create(ACCOUNT)

    def market_buy(self, category: Category = Category.LINEAR,
                   qty: str = "0.01", client_id: str = "") -> None:
        self.exchange.place_order(ACCOUNT, category=category, symbol="BTCUSDT", side=Side.BUY,
                                  order_type=OrderType.MARKET, qty=Decimal(qty),
                                  client_order_id=client_id)


def make_exchange(clock: Callable[[], int]) -> SimExchange:
    exchange = SimExchange(seed=3, venue="binance", clock_ms=clock)
    exchange.create_account(ACCOUNT, {"USDT": Decimal(100_000), "BTC": Decimal(2)})
    exchange.set_reference_prices()
    return exchange


@contextlib.asynccontextmanager
async def serving(*, faults: str = "", clock: Callable[[], int] | None = None,
                  configure: Callable[[BinanceStream], None] | None = None,
                  ) -> AsyncIterator[Served]:
    """Serve both WebSockets of a fresh sim on loopback for the body of the block."""
    tick = clock or Clock()
    exchange = make_exchange(tick)
    stream = BinanceStream(exchange, Ids(), tick, seed=3)
    if configure is not None:
        configure(stream)
    keys = KeyStore([ApiKey(KEY, SECRET, ACCOUNT)])
    fault_rules = Faults(faults, seed=1)
    hub: EventHub[Push] = EventHub(exchange, keys, fault_rules, tick, stream,
                                   venue="binance")
    listen_keys = ListenKeys(tick)
    app = web.Application()
    mount_streams(app, hub, stream=stream, listen_keys=listen_keys, keys=keys)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    hub.start(asyncio.get_running_loop())
    origin = str(server.make_url("")).rstrip("/").replace("http://", "ws://")
    try:
        yield Served(exchange, stream, hub, listen_keys, keys, fault_rules, tick, origin)
    finally:
        hub.stop()
        await hub.close_all()
        await server.close()


async def next_json(ws: aiohttp.ClientWebSocketResponse, timeout: float = 3.0) -> Any:
    msg = await ws.receive(timeout=timeout)
    assert msg.type is aiohttp.WSMsgType.TEXT, f"expected a text frame, got {msg.type}"
    return json.loads(msg.data)


async def drain(ws: aiohttp.ClientWebSocketResponse, quiet: float = 0.3) -> list[Any]:
    """Every text message until the connection is quiet for `quiet` seconds."""
    out: list[Any] = []
    while True:
        try:
            msg = await ws.receive(timeout=quiet)
        except TimeoutError:
            return out
        if msg.type is not aiohttp.WSMsgType.TEXT:
            return out
        out.append(json.loads(msg.data))


def run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(body())


def signed(params: dict[str, Any], secret: str = SECRET) -> dict[str, Any]:
    """`params` with the WS-API signature (HMAC-SHA256 over the sorted params), computed
    here independently of the sim's code."""
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    digest = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {**params, "signature": digest}


# -- the whole front-end on a thread, for third-party clients ------------------------------


class FrontEndOnThread:
    """A `BinanceFrontEnd` over a funded account, served by a loop on a daemon thread, so
    that blocking clients and clients on their own loop can both reach it. The sim is
    touched only on its loop (`call`)."""

    def __init__(self, seed: int = 11) -> None:
        from console.sim.binance.server import BinanceFrontEnd  # built by the REST half

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="binance-ws-sim")
        self._thread.start()

        def build() -> BinanceFrontEnd:
            exchange = SimExchange(seed=seed, venue="binance")
            exchange.create_account(ACCOUNT, {"USDT": Decimal(1_000_000), "BTC": Decimal(10)})
            exchange.set_reference_prices()
            return BinanceFrontEnd(exchange, credentials={KEY: (SECRET, ACCOUNT)})

        self.front_end = self.call(build)
        asyncio.run_coroutine_threadsafe(self.front_end.start(), self.loop).result(10)
        self.url: str = self.front_end.rest_url
        self.ws_origin = "ws" + self.url.removeprefix("http")

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        async def inner() -> Any:
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(inner(), self.loop).result(10)

    def place(self, category: Category, side: Side, qty: str, client_id: str) -> None:
        self.call(lambda: self.front_end.exchange.place_order(
            ACCOUNT, category=category, symbol="BTCUSDT", side=side,
            order_type=OrderType.MARKET, qty=Decimal(qty), client_order_id=client_id))

    def stop(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self.front_end.stop(), self.loop).result(10)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(5)
            self.loop.close()
