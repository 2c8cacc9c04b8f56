"""Binance's user-data stream lifecycle against a small venue on loopback that the tests
drive: the USD-M listenKey (created per connection, kept alive, rotated on
listenKeyExpired and on a dead key at keepalive, never lost to a failed keepalive), the
spot WS-API subscription (signed as Binance checks it, resubscribed after
eventStreamTerminated, refused credentials reported), the age limit, pushes that cannot
be parsed, and secrets (the API key and secret, listenKeys) kept out of every log line
and event text. Every gap must end in CONNECTED(reconnected=True): that is what makes
the engine reconcile and back-fill fills."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import WSMsgType, web
from canary import CANARY_KEY, CANARY_SECRET

from console.domain.enums import Category
from console.domain.events import (
    BalanceEvent,
    ConnectionEvent,
    ConnectionState,
    OrderEvent,
    PositionEvent,
    VenueEvent,
)
from console.errors import ConfigError, TransientVenueError
from console.venues._common.errors import VenueAuthError
from console.venues._common.supervisor import AuthRefused, ConnectRefused, ReconnectPolicy
from console.venues.binance.config import BinanceConfig
from console.venues.binance.errors import InvalidListenKeyError
from console.venues.binance.stream import BinancePrivateStream, sign_ws_api

ACCOUNT = "acct"
FAST = ReconnectPolicy(3, 1, 4, refused_base_ms=1, refused_max_ms=4)


# -- payloads (Binance's documented shapes) -----------------------------------------------

def account_update(size: str = "0.5") -> dict[str, Any]:
    """A position change (ACCOUNT_UPDATE's balances carry no free/locked: the parser
    builds no balance from them)."""
    return {"e": "ACCOUNT_UPDATE", "E": 1564745798939, "T": 1564745798938,
            "a": {"m": "ORDER", "B": [{"a": "USDT", "wb": "1000", "cw": "1000", "bc": "0"}],
                  "P": [{"s": "BTCUSDT", "pa": size, "ep": "7100.5", "bep": "7100.5",
                         "cr": "0", "up": "0", "mt": "cross", "iw": "0", "ps": "BOTH"}]}}


def order_trade_update(client_id: str = "recon-1") -> dict[str, Any]:
    return {"e": "ORDER_TRADE_UPDATE", "E": 1568879465651, "T": 1568879465650,
            "o": {"s": "BTCUSDT", "c": client_id, "S": "SELL", "o": "LIMIT", "f": "GTC",
                  "q": "0.001", "p": "7100.5", "ap": "0", "sp": "0", "x": "NEW", "X": "NEW",
                  "i": 8886774, "l": "0", "z": "0", "L": "0", "N": "USDT", "n": "0",
                  "T": 1568879465650, "t": 0, "b": "0", "a": "9.91", "m": False,
                  "R": False, "wt": "CONTRACT_PRICE", "ot": "LIMIT", "ps": "BOTH",
                  "cp": False, "rp": "0", "pP": False, "si": 0, "ss": 0, "V": "NONE",
                  "pm": "NONE", "gtd": 0, "er": "0"}}


def account_position(free: str = "1.5", locked: str = "0.5") -> dict[str, Any]:
    return {"e": "outboundAccountPosition", "E": 1564034571105, "u": 1564034571073,
            "B": [{"a": "BTC", "f": free, "l": locked}]}


# -- the venue ----------------------------------------------------------------------------

@dataclass
class Venue:
    """The USD-M user-data socket (/private/ws?listenKey=) and the spot WS API
    (/ws-api/v3): every socket kept for the test to drive, how many are open at once
    recorded, subscriptions checked as Binance checks them."""

    live_keys: set[str] = field(default_factory=set)
    sockets: list[tuple[str, web.WebSocketResponse]] = field(default_factory=list)
    open_now: int = 0
    most_open: int = 0
    subscribes: list[dict[str, Any]] = field(default_factory=list)
    answer: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
    before_answer: list[dict[str, Any]] = field(default_factory=list)

    async def futures(self, request: web.Request) -> web.StreamResponse:
        key = request.query.get("listenKey", "")
        if key not in self.live_keys:
            raise web.HTTPBadRequest(text='{"code":-1125,"msg":"Invalid listenKey."}')
        return await self._serve(request, key)

    async def spot(self, request: web.Request) -> web.StreamResponse:
        return await self._serve(request, "spot")

    async def _serve(self, request: web.Request, label: str) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        self.sockets.append((label, ws))
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._request(ws, msg.json())
        finally:
            self.open_now -= 1
        return ws

    async def _request(self, ws: web.WebSocketResponse, request: dict[str, Any]) -> None:
        if request.get("method") != "userDataStream.subscribe.signature":
            return
        self.subscribes.append(request)
        for push in self.before_answer:
            await ws.send_json(push)
        answer = self.answer(request) if self.answer else None
        if answer is None:
            params = dict(request["params"])
            signature = params.pop("signature")
            payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
            good = hmac.new(CANARY_SECRET.encode(), payload.encode(),
                            hashlib.sha256).hexdigest()
            if params.get("apiKey") != CANARY_KEY or signature != good:
                answer = {"status": 400, "error": {"code": -1022, "msg": "Signature for "
                                                   "this request is not valid."}}
            else:
                answer = {"status": 200, "result": {"subscriptionId": len(self.subscribes)}}
        await ws.send_json({"id": request["id"], **answer})

    def socket(self, index: int = -1) -> web.WebSocketResponse:
        return self.sockets[index][1]

    def key_of(self, index: int = -1) -> str:
        return self.sockets[index][0]


@asynccontextmanager
async def serving(venue: Venue) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/private/ws", venue.futures)
    app.router.add_get("/ws-api/v3", venue.spot)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"ws://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class Keys:
    """`ListenKeyCalls` as Binance answers them: create returns the live key or a new
    one; keepalive fails as the test says."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.current: str | None = None
        self.created = 0
        self.keepalives: list[object] = []
        self.keepalive_error: Callable[[], Exception] | None = None
        self.create_error: Callable[[], Exception] | None = None

    async def create(self) -> str:
        if self.create_error is not None:
            raise self.create_error()
        if self.current is None or self.current not in self.venue.live_keys:
            self.created += 1
            self.current = f"LISTENKEY{self.created:04d}x9Qm2Zt7Rw5Lp3Hs8Vb6Nc1Jd4Kf0Gy"
            self.venue.live_keys.add(self.current)
        return self.current

    async def keepalive(self, key: str) -> None:
        self.keepalives.append(key)
        if self.keepalive_error is not None:
            raise self.keepalive_error()

    async def close(self, key: str) -> None:
        self.venue.live_keys.discard(key)

    def kill(self) -> str:
        """The current key dies at the venue (its hour ran out)."""
        assert self.current is not None
        self.venue.live_keys.discard(self.current)
        return self.current


class Counter:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def observe_latency(self, stage: str, ms: float, labels: Any = ()) -> None:
        return None

    def count(self, name: str, labels: Any = (), amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount


def config(url: str, market: Category = Category.LINEAR, **overrides: Any) -> BinanceConfig:
    path = "/private/ws" if market is Category.LINEAR else "/ws-api/v3"
    return BinanceConfig(account=ACCOUNT, market=market,
                         rest_url=url.replace("ws://", "http://"),
                         ws_private_url=url + path, timeout_s=2.0, **overrides)


async def take(events: AsyncIterator[VenueEvent], n: int) -> list[VenueEvent]:
    return [await asyncio.wait_for(anext(events), 5) for _ in range(n)]


async def until(events: AsyncIterator[VenueEvent],
                done: Callable[[VenueEvent], bool]) -> list[VenueEvent]:
    got: list[VenueEvent] = []
    while not got or not done(got[-1]):
        got.append(await asyncio.wait_for(anext(events), 5))
    return got


def states(items: list[VenueEvent]) -> list[tuple[ConnectionState, bool]]:
    return [(e.state, e.reconnected) for e in items if isinstance(e, ConnectionEvent)]


def reconnected(event: VenueEvent) -> bool:
    return isinstance(event, ConnectionEvent) and event.reconnected


def is_balance(event: VenueEvent) -> bool:
    return isinstance(event, BalanceEvent)


def is_position(event: VenueEvent) -> bool:
    return isinstance(event, PositionEvent)


def client_logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every line logged but the test venue's own (its access log shows the URLs it
    served: a real venue's logs are not ours)."""
    return "\n".join(r.getMessage() for r in caplog.records
                     if not r.name.startswith(("aiohttp.access", "aiohttp.server")))


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


def futures_stream(url: str, keys: Keys, **overrides: Any) -> BinancePrivateStream:
    ttl = overrides.pop("listen_key_ttl_s", 3600.0)
    hooks = {k: overrides.pop(k) for k in ("on_refused", "on_connected", "telemetry")
             if k in overrides}
    return BinancePrivateStream(config(url, **overrides), CANARY_KEY, CANARY_SECRET,
                                listen_keys=keys, policy=FAST, listen_key_ttl_s=ttl,
                                **hooks)


def spot_stream(url: str, **hooks: Any) -> BinancePrivateStream:
    return BinancePrivateStream(config(url, Category.SPOT), CANARY_KEY, CANARY_SECRET,
                                policy=FAST, **hooks)


# -- USD-M --------------------------------------------------------------------------------

def test_futures_connects_with_a_listen_key_and_parses_pushes() -> None:
    async def main() -> None:
        venue = Venue()
        keys = Keys(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys).events()
            assert states(await take(events, 2)) == [(ConnectionState.CONNECTING, False),
                                                     (ConnectionState.CONNECTED, False)]
            assert venue.key_of() == keys.current
            await venue.socket().send_json(account_update("0.5"))
            await venue.socket().send_json(order_trade_update("recon-7"))
            position, order = await take(events, 2)
            assert isinstance(position, PositionEvent)
            assert position.position.size == Decimal("0.5")
            assert position.received_at > 0  # stamped on arrival
            assert isinstance(order, OrderEvent)
            assert order.order.client_order_id == "recon-7"
            assert order.order.price == Decimal("7100.5")
            await events.aclose()
        assert keys.created == 1

    asyncio.run(main())


def test_listen_key_expired_rotates_the_key_on_one_socket_and_reports_a_gap(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> list[VenueEvent]:
        venue = Venue()
        keys = Keys(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys).events()
            await take(events, 2)
            first = venue.socket()
            old = keys.kill()
            await first.send_json({"e": "listenKeyExpired", "E": "1736996475556",
                                   "listenKey": old})
            got = await until(events, reconnected)
            assert first.closed
            assert venue.key_of() == keys.current != old
            await venue.socket().send_json(account_update("2"))
            got.extend(await take(events, 1))
            await events.aclose()
            assert venue.most_open == 1  # closed before the new one opened
            assert keys.created == 2
            for key in (old, keys.current):
                assert key not in client_logs(caplog)
                assert all(key not in e.detail for e in got if isinstance(e, ConnectionEvent))
            return got

    got = asyncio.run(main())
    assert states(got) == [(ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)]
    assert "listenKey expired" in next(e.detail for e in got if isinstance(e, ConnectionEvent))
    assert is_position(got[-1])


def test_listen_key_expired_for_another_key_is_ignored() -> None:
    async def main() -> list[VenueEvent]:
        venue = Venue()
        keys = Keys(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys).events()
            await take(events, 2)
            await venue.socket().send_json({"e": "listenKeyExpired", "E": 1,
                                            "listenKey": "SOMEOTHERKEYfromearlier"})
            await venue.socket().send_json(account_update("3"))
            got = await take(events, 1)
            await events.aclose()
            assert len(venue.sockets) == 1
            return got

    assert is_position(asyncio.run(main())[0])


def test_a_dead_key_at_keepalive_gets_a_new_key_and_reports_a_gap() -> None:
    async def main() -> list[VenueEvent]:
        venue = Venue()
        keys = Keys(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys, listen_key_keepalive_s=0.05).events()
            await take(events, 2)
            old = keys.kill()
            keys.keepalive_error = lambda: InvalidListenKeyError(
                "binance: This listenKey does not exist. (code -1125)", venue="binance",
                code="-1125")
            got = await until(events, reconnected)
            keys.keepalive_error = None
            assert venue.key_of() == keys.current != old
            assert keys.keepalives[0] == old
            await events.aclose()
            return got

    got = asyncio.run(main())
    assert states(got) == [(ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)]
    assert "-1125" in got[0].detail  # type: ignore[union-attr]


def test_keepalives_come_on_schedule_and_keep_the_connection() -> None:
    async def main() -> tuple[list[object], int, str | None]:
        venue = Venue()
        keys = Keys(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys, listen_key_keepalive_s=0.05,
                                    listen_key_ttl_s=0.2).events()
            await take(events, 2)
            await asyncio.sleep(0.5)  # well past the ttl: kept alive all along
            await venue.socket().send_json(account_update("4"))
            assert is_position((await take(events, 1))[0])
            await events.aclose()
            return keys.keepalives, len(venue.sockets), keys.current

    keepalives, sockets, key = asyncio.run(main())
    assert sockets == 1
    assert 3 <= len(keepalives) <= 12  # about one per 0.05 s: on schedule, no spinning
    assert set(keepalives) == {key}


def test_a_failing_keepalive_never_leaves_the_stream_without_a_key() -> None:
    """ccxt#9856: after a keepalive error the key was None. Here keepalives go on with
    the same key until its lifetime would run out, then the connection is rebuilt with
    the live key `create` returns."""
    async def main() -> tuple[list[VenueEvent], list[object], str | None, str | None]:
        venue = Venue()
        keys = Keys(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys, listen_key_keepalive_s=0.05,
                                    listen_key_ttl_s=0.4).events()
            await take(events, 2)
            first = keys.current
            keys.keepalive_error = lambda: TransientVenueError("binance: HTTP 503",
                                                               venue="binance", code="503")
            await wait_for(lambda: len(keys.keepalives) >= 3)
            assert len(venue.sockets) == 1  # failures within the key's life: kept on
            got = await until(events, reconnected)
            keys.keepalive_error = None
            await events.aclose()
            return got, keys.keepalives, first, venue.key_of()

    got, keepalives, first, reconnected_with = asyncio.run(main())
    assert states(got) == [(ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)]
    assert "could not be kept alive" in got[0].detail  # type: ignore[union-attr]
    assert len(keepalives) >= 4
    assert all(isinstance(k, str) and k for k in keepalives)
    assert reconnected_with == first  # still live at the venue: create() returned it


def test_the_connection_is_renewed_before_its_age_limit_one_socket_at_a_time() -> None:
    async def main() -> tuple[list[VenueEvent], int, int]:
        venue = Venue()
        keys = Keys(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys, ws_max_age_s=0.15).events()
            await take(events, 2)
            got = await until(events, reconnected)
            got += await until(events, reconnected)
            await venue.socket().send_json(account_update("5"))
            got += await until(events, is_position)
            await events.aclose()
            return got, venue.most_open, keys.created

    got, most_open, created = asyncio.run(main())
    assert states(got) == [(ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)] * 2
    assert "age limit" in got[0].detail  # type: ignore[union-attr]
    assert most_open == 1
    assert created == 1  # the same live key each time


def test_pushes_that_cannot_be_parsed_are_logged_counted_and_skipped(
        caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> tuple[list[VenueEvent], Counter]:
        venue = Venue()
        keys = Keys(venue)
        telemetry = Counter()
        async with serving(venue) as url:
            events = futures_stream(url, keys, telemetry=telemetry).events()
            await take(events, 2)
            ws = venue.socket()
            await ws.send_str("not json at all " + "x" * 5000)
            await ws.send_json([1, 2, 3])
            await ws.send_json({"e": "ACCOUNT_UPDATE", "E": 1, "a": "garbage"})
            await ws.send_json({"e": "ORDER_TRADE_UPDATE", "E": 1, "o": {"s": "BTCUSDT"}})
            await ws.send_json(account_update("6"))
            got = await take(events, 1)
            await events.aclose()
            return got, telemetry

    got, telemetry = asyncio.run(main())
    assert is_position(got[0])
    assert telemetry.counts.get("ws_malformed") == 4
    dropped = [r for r in caplog.records if "dropped a private-stream push" in r.getMessage()]
    assert len(dropped) == 4
    assert all(len(r.getMessage()) < 400 for r in dropped)


def test_a_refused_listen_key_is_down_reported_and_tried_again() -> None:
    async def main() -> tuple[list[VenueEvent], list[ConnectRefused], int]:
        venue = Venue()
        keys = Keys(venue)
        refused: list[ConnectRefused] = []
        accepted: list[int] = []
        keys.create_error = lambda: VenueAuthError(
            "binance: Invalid API-key, IP, or permissions for action. (code -2015)",
            venue="binance", code="-2015")
        async with serving(venue) as url:
            events = futures_stream(url, keys, on_refused=refused.append,
                                    on_connected=lambda: accepted.append(1)).events()
            got = await take(events, 2)
            await wait_for(lambda: len(refused) >= 2)
            keys.create_error = None
            got += await until(events, reconnected)
            await events.aclose()
            return got, refused, len(accepted)

    got, refused, accepted = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False), (ConnectionState.DOWN, False),
                           (ConnectionState.CONNECTED, True)]
    assert all(isinstance(r, AuthRefused) for r in refused)
    assert "profile" in str(refused[0]) or "this profile" in str(refused[0])
    assert accepted == 1


def test_a_listen_key_the_socket_refuses_is_scrubbed_from_every_text(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def main() -> tuple[list[VenueEvent], str]:
        venue = Venue()

        class Stale(Keys):
            """Hands out a key the venue no longer knows, once."""

            async def create(self) -> str:
                if self.created == 0:
                    self.created = 1
                    self.current = "STALEKEYnotknownanymore0123456789abcdef"
                    return self.current
                return await super().create()

        keys = Stale(venue)
        async with serving(venue) as url:
            events = futures_stream(url, keys).events()
            got = await until(events, lambda e: isinstance(e, ConnectionEvent)
                              and e.state is ConnectionState.CONNECTED)
            await events.aclose()
            return got, "STALEKEYnotknownanymore0123456789abcdef"

    got, stale = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)]
    detail = got[1].detail  # type: ignore[union-attr]
    assert "could not connect" in detail and "***" in detail
    assert stale not in detail
    assert stale not in client_logs(caplog)


def test_usdm_needs_listen_key_calls() -> None:
    with pytest.raises(ConfigError, match="listenKey"):
        BinancePrivateStream(config("ws://127.0.0.1:1"), CANARY_KEY, CANARY_SECRET)


# -- spot ---------------------------------------------------------------------------------

def test_the_ws_api_signature_matches_binances_own_example() -> None:
    params = {"symbol": "BTCUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01000000", "price": "52000.00", "recvWindow": 100,
              "timestamp": 1645423376532,
              "apiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"}
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    assert sign_ws_api(params, secret) == \
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24"


def test_spot_subscribes_signed_and_delivers_pushes_in_order() -> None:
    async def main() -> tuple[list[VenueEvent], list[dict[str, Any]]]:
        venue = Venue()
        # a push that beats the subscription's answer is delivered after it, in order
        venue.before_answer = [{"subscriptionId": 1, "event": account_position("9")}]
        async with serving(venue) as url:
            events = spot_stream(url).events()
            got = await take(events, 3)
            ws = venue.socket()
            await ws.send_json({"id": "not-ours", "status": 200, "result": {}})
            await ws.send_json({"subscriptionId": 1, "event": account_position("2", "1")})
            got += await take(events, 1)
            await events.aclose()
            return got, venue.subscribes

    got, subscribes = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.CONNECTED, False)]
    balances = [e.balance for e in got if isinstance(e, BalanceEvent)]
    assert [(b.asset, b.total) for b in balances] == [("BTC", Decimal("9.5")),
                                                      ("BTC", Decimal("3"))]
    (request,) = subscribes
    assert request["method"] == "userDataStream.subscribe.signature"
    assert set(request["params"]) == {"apiKey", "timestamp", "recvWindow", "signature"}
    assert request["params"]["recvWindow"] == 5000


def test_event_stream_terminated_reconnects_and_subscribes_again() -> None:
    async def main() -> tuple[list[VenueEvent], int, int]:
        venue = Venue()
        async with serving(venue) as url:
            events = spot_stream(url).events()
            await take(events, 2)
            await venue.socket().send_json(
                {"subscriptionId": 1, "event": {"e": "eventStreamTerminated", "E": 1}})
            got = await until(events, reconnected)
            await venue.socket().send_json({"subscriptionId": 2, "event": account_position()})
            got += await take(events, 1)
            await events.aclose()
            return got, len(venue.subscribes), venue.most_open

    got, subscribes, most_open = asyncio.run(main())
    assert states(got) == [(ConnectionState.RECONNECTING, False),
                           (ConnectionState.CONNECTED, True)]
    assert "eventStreamTerminated" in got[0].detail  # type: ignore[union-attr]
    assert is_balance(got[-1])
    assert subscribes == 2
    assert most_open == 1


@pytest.mark.parametrize("code", [-2015, -1022, -1021])
def test_refused_credentials_are_auth_refused_then_accepted_again(code: int) -> None:
    async def main() -> tuple[list[VenueEvent], list[ConnectRefused], int]:
        venue = Venue()
        venue.answer = lambda _r: {"status": 400, "error": {"code": code, "msg": "No."}}
        refused: list[ConnectRefused] = []
        accepted: list[int] = []
        async with serving(venue) as url:
            events = spot_stream(url, on_refused=refused.append,
                                 on_connected=lambda: accepted.append(1)).events()
            got = await take(events, 2)
            await wait_for(lambda: len(refused) >= 2)
            venue.answer = None
            got += await until(events, reconnected)
            await events.aclose()
            return got, refused, len(accepted)

    got, refused, accepted = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False), (ConnectionState.DOWN, False),
                           (ConnectionState.CONNECTED, True)]
    assert all(isinstance(r, AuthRefused) for r in refused)
    assert str(code) in str(refused[0])
    assert accepted == 1


def test_a_bad_signature_is_refused() -> None:
    async def main() -> list[ConnectRefused]:
        venue = Venue()
        refused: list[ConnectRefused] = []
        async with serving(venue) as url:
            stream = BinancePrivateStream(config(url, Category.SPOT), CANARY_KEY,
                                          "NOTTHESECRETatall12345", policy=FAST,
                                          on_refused=refused.append)
            events = stream.events()
            await take(events, 2)
            await events.aclose()
        return refused

    (refusal,) = asyncio.run(main())
    assert isinstance(refusal, AuthRefused) and "-1022" in str(refusal)


def test_a_rate_limited_subscription_is_retried_soon_and_other_refusals_wait() -> None:
    async def main() -> tuple[list[VenueEvent], list[ConnectRefused]]:
        venue = Venue()
        answers = iter([{"status": 429, "error": {"code": -1003, "msg": "Too many."}},
                        {"status": 400, "error": {"code": -1100, "msg": "Illegal."}}])
        venue.answer = lambda _r: next(answers, None)
        refused: list[ConnectRefused] = []
        async with serving(venue) as url:
            events = spot_stream(url, on_refused=refused.append).events()
            got = await until(events, reconnected)
            await events.aclose()
            return got, refused

    got, refused = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False),
                           (ConnectionState.RECONNECTING, False),
                           (ConnectionState.DOWN, False), (ConnectionState.CONNECTED, True)]
    (refusal,) = refused
    assert not isinstance(refusal, AuthRefused) and "-1100" in str(refusal)
