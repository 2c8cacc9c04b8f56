"""Shared pieces of the Binance acceptance tests (tests/integration/test_binance_*.py).

The whole product against the simulated Binance front-end on loopback: a profile file
(`[profiles.NAME.binance] market = ...`) read through the venue registry by
`build_profile_session`, the real `BinanceVenue` (ccxt's REST, the user-data WebSocket),
the engine and a real SQLite ledger. The front-end runs either as `recon-console sim
--venue binance` in its own process (`sim_process`) or in a thread of the test process
(`binance_server`), when the test drives the exchange side (hand fills, listenKey
expiry, faults).

A scenario's "ledger the bot left behind" is built in this process from the same
deterministic scenario, with the sim's own ids. Binance shows its own int64 ids instead
(and the bot's client ids carry the time it minted them, so two builds differ in that
part), so `binance_ledger` rewrites the seed into what a bot trading on Binance would
have recorded: each order matched to the venue's by the client id's counter, taking the
venue's client id, orderId (or "algo:<algoId>" for a conditional order not yet
triggered); each fill replaced by the venue's fill of that order (as the stream would
have delivered it); the saved brackets' references rewritten likewise.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode

import aiohttp
import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.bootstrap import ProfileSession, build_profile_session
from console.credentials import ApiCredentials
from console.domain import Category, Fill, Order, OrderStatus
from console.domain.ids import parse_client_id
from console.domain.model import BracketState, RunnerState
from console.sim.scenarios import ScenarioSeed
from console.sim.server import SimServerHandle, run_sim_server_in_thread
from console.venues.binance import BinanceConfig, BinanceVenue

PROFILE: Final = "bn"
ACCOUNT: Final = "main"
SCENARIO_SYMBOLS: Final = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT")
"""Every symbol the sim's scenarios trade: the profile's scope, as an operator gives it."""


# -- the profile and the session ------------------------------------------------------------

def write_profile(path: Path, rest_url: str, ws_url: str, *, market: str = "usdm",
                  symbols: Sequence[str] = SCENARIO_SYMBOLS,
                  venue_actions: str | None = None) -> Path:
    listed = ", ".join(f'"{s}"' for s in symbols)
    text = (f'[profiles.{PROFILE}]\nvenue = "binance"\nnetwork = "custom"\n'
            f'rest_url = "{rest_url}"\nws_url = "{ws_url}"\naccount = "{ACCOUNT}"\n'
            f"symbols = [{listed}]\nreconcile_interval_s = 3600\n"
            f'[profiles.{PROFILE}.binance]\nmarket = "{market}"\n')
    if venue_actions is not None:
        text += f'[profiles.{PROFILE}.policy]\nvenue_actions = "{venue_actions}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def open_session(tmp_path: Path, rest_url: str, ws_url: str, key: str, secret: str, *,
                 db_url: str | None = None, market: str = "usdm",
                 symbols: Sequence[str] = SCENARIO_SYMBOLS,
                 venue_actions: str | None = None) -> ProfileSession:
    """A session built as the CLI builds one: from a profile file, through the registry."""
    config = write_profile(tmp_path / "profiles.toml", rest_url, ws_url, market=market,
                           symbols=symbols, venue_actions=venue_actions)
    return build_profile_session(PROFILE, config_path=str(config),
                                 db_url=db_url or f"sqlite:///{tmp_path / 'ledger.db'}",
                                 secrets=ApiCredentials(key, secret))


def connect(handle: SimServerHandle, tmp_path: Path, *, db_url: str | None = None,
            market: str = "usdm", symbols: Sequence[str] = SCENARIO_SYMBOLS,
            venue_actions: str | None = None) -> ProfileSession:
    """A session on the in-thread front-end; `market` "spot" uses its WS-API URL."""
    urls = handle.front_end.urls()
    ws = urls["ws_api_url"] if market == "spot" else urls["usdm_ws_url"]
    return open_session(tmp_path, handle.rest_url, ws, handle.api_key, handle.api_secret,
                        db_url=db_url, market=market, symbols=symbols,
                        venue_actions=venue_actions)


# -- the front-end, in its own process or in a thread ---------------------------------------

@pytest.fixture
def sim_process() -> Iterator[Callable[..., dict[str, Any]]]:
    """`recon-console sim --venue binance ...` in its own process; stopped with SIGTERM."""
    procs: list[subprocess.Popen[str]] = []

    def start(*args: str) -> dict[str, Any]:
        proc = subprocess.Popen([sys.executable, "-m", "console", "sim", "--venue", "binance",
                                 "--api-key", CANARY_KEY, "--api-secret", CANARY_SECRET,
                                 *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        procs.append(proc)
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "no output"
        return dict(json.loads(line))

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0, "the sim did not stop cleanly on SIGTERM"


@pytest.fixture
def binance_server() -> Iterator[SimServerHandle]:
    handle = run_sim_server_in_thread(venue="binance", api_key=CANARY_KEY,
                                      api_secret=CANARY_SECRET)
    yield handle
    handle.stop()


# -- waiting ---------------------------------------------------------------------------------

async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    """Poll `predicate` every 20 ms; the seconds it took, AssertionError past `timeout`."""
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise AssertionError(f"not within {timeout} s")
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


# -- signed REST, for what the product does not ask (every order ever, algo orders) ----------

class SignedRest:
    """A minimal Binance REST client (HMAC-SHA256, X-MBX-APIKEY), independent of ccxt."""

    def __init__(self, rest_url: str, key: str, secret: str) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.key = key
        self.secret = secret

    async def request(self, method: str, path: str,
                      params: Mapping[str, object] | None = None) -> tuple[int, Any]:
        """(HTTP status, the JSON body) of one signed request."""
        query = urlencode({**(params or {}), "timestamp": int(time.time() * 1000)})
        signature = hmac.new(self.secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        url = f"{self.rest_url}{path}?{query}&signature={signature}"
        async with aiohttp.ClientSession() as http, \
                http.request(method, url, headers={"X-MBX-APIKEY": self.key}) as answer:
            return answer.status, await answer.json(content_type=None)

    async def call(self, method: str, path: str, params: Mapping[str, object] | None = None
                   ) -> Any:
        """The body of a request that must succeed."""
        status, body = await self.request(method, path, params)
        if status != 200:
            raise AssertionError(f"{method} {path}: HTTP {status} {body}")
        return body

    async def open_algo_orders(self) -> list[dict[str, Any]]:
        return list(await self.call("GET", "/fapi/v1/openAlgoOrders"))


# -- the bot's ledger as Binance would have shown it -----------------------------------------

def _counter(client_id: str) -> int | None:
    parsed = parse_client_id(client_id) if client_id else None
    return parsed.counter if parsed is not None else None


async def binance_ledger(seed: ScenarioSeed, rest_url: str, key: str, secret: str,
                         symbols: Sequence[str] = SCENARIO_SYMBOLS) -> ScenarioSeed:
    """`seed` (built with the sim's ids) as a bot trading on Binance recorded it: the
    venue at `rest_url` is asked for every order (allOrders, allAlgoOrders) and fill of
    `symbols`; see the module docstring for how each record is matched."""
    rest = SignedRest(rest_url, key, secret)
    regular: dict[int, tuple[str, str]] = {}  # counter -> (clientOrderId, orderId)
    algo: dict[int, tuple[str, str]] = {}  # counter -> (clientAlgoId, "algo:<algoId>")
    for symbol in symbols:
        for raw in await rest.call("GET", "/fapi/v1/allOrders", {"symbol": symbol}):
            counter = _counter(raw["clientOrderId"])
            if counter is not None:
                regular[counter] = (raw["clientOrderId"], str(raw["orderId"]))
        for raw in await rest.call("GET", "/fapi/v1/allAlgoOrders", {"symbol": symbol}):
            counter = _counter(raw["clientAlgoId"])
            if counter is not None:
                algo[counter] = (raw["clientAlgoId"], f"algo:{raw['algoId']}")

    ids: dict[str, str] = {}  # sim venue id -> Binance venue id
    clients: dict[str, str] = {}  # our client id here -> the venue's
    orders: list[Order] = []
    for order in seed.orders:
        counter = _counter(order.client_order_id)
        assert counter is not None, order
        untriggered = order.trigger_price is not None \
            and order.status is OrderStatus.UNTRIGGERED
        client_id, venue_id = (algo if untriggered or counter not in regular
                               else regular)[counter]
        ids[order.venue_order_id] = venue_id
        clients[order.client_order_id] = client_id
        orders.append(order.evolve(client_order_id=client_id, venue_order_id=venue_id))

    fills: list[Fill] = []
    if seed.fills:
        venue = BinanceVenue(BinanceConfig(account=ACCOUNT, market=Category.LINEAR,
                                           rest_url=rest_url,
                                           ws_private_url="ws://127.0.0.1:1/private/ws",
                                           symbols=tuple(symbols)), key, secret)
        try:
            now = int(time.time() * 1000)
            venue_fills = await venue.fetch_fills(now - 86_400_000, now + 60_000)
        finally:
            await venue.aclose()
        by_order: dict[str, list[Fill]] = {}
        for fill in venue_fills:
            by_order.setdefault(fill.venue_order_id, []).append(fill)
        for fill in seed.fills:  # the venue's fill of the same order, price and size
            candidates = by_order.get(ids[fill.venue_order_id], [])
            matches = [f for f in candidates if (f.price, f.qty) == (fill.price, fill.qty)]
            assert matches, f"the venue lists no fill like {fill.exec_id} of its order"
            candidates.remove(matches[0])
            fills.append(matches[0])

    def bracket(b: BracketState) -> BracketState:
        return replace(
            b, entry_client_id=clients.get(b.entry_client_id or "", b.entry_client_id),
            entry_order_id=ids.get(b.entry_order_id or "", b.entry_order_id),
            sl_client_id=clients.get(b.sl_client_id or "", b.sl_client_id),
            sl_order_id=ids.get(b.sl_order_id or "", b.sl_order_id),
            tp_client_id=clients.get(b.tp_client_id or "", b.tp_client_id),
            tp_order_id=ids.get(b.tp_order_id or "", b.tp_order_id))

    runners: list[RunnerState] = [
        replace(r, venue="binance", bracket=None if r.bracket is None else bracket(r.bracket))
        for r in seed.runner_states]
    return replace(seed, orders=tuple(orders), fills=tuple(fills),
                   runner_states=tuple(runners))
