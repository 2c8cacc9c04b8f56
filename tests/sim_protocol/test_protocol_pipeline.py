"""The shared request pipeline, driven through a made-up venue whose hooks log each call:
which stages run for which endpoint, in what order, and what each refusal looks like."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.faults import Faults
from console.sim.protocol.keys import ApiKey, KeyStore, Permission
from console.sim.protocol.limits import Quota, RateLimiter
from console.sim.protocol.pipeline import (
    Call,
    Endpoint,
    Hooks,
    Next,
    Pipeline,
    Request,
)
from console.sim.protocol.wire import JsonObj, Params

NOW = 1_700_000_000_000
FULL = {"X-Key": "full"}
READ_ONLY = {"X-Key": "reader"}


class Refusal(ProtocolError):
    pass


class FakeVenue:
    """All four hooks at once; `log` records every hook call and handler run."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self.log: list[str] = []

    # auth
    async def authenticate(self, call: Call) -> ApiKey:
        self.log.append("auth")
        key = self.keys.get(call.request.headers.get("X-Key", ""))
        if key is None:
            raise Refusal(401, "who are you")
        return key

    def forbidden(self, call: Call, key: ApiKey) -> ProtocolError:
        self.log.append("forbidden")
        return Refusal(403, f"{key.key} may not")

    # rate limit
    def headers(self, quota: Quota) -> dict[str, str]:
        self.log.append("quota")
        return {"X-Left": str(quota.remaining)}

    def refusal(self, quota: Quota) -> ProtocolError:
        return Refusal(429, "slow down")

    # faults
    def http_response(self, status: int) -> web.StreamResponse:
        self.log.append(f"http{status}")
        return web.Response(status=status, text="gateway")

    def injected(self, code: int) -> ProtocolError:
        self.log.append(f"injected{code}")
        return Refusal(code, "injected")

    # envelope
    async def decode(self, call: Call) -> Params:
        self.log.append("decode")
        if await call.body() == b"garbage":
            raise Refusal(400, "cannot read")
        return dict(parse_qsl(call.raw_query))

    def render(self, call: Call, result: JsonObj) -> web.StreamResponse:
        self.log.append("render")
        return web.json_response({"result": result, "at": call.now_ms}, headers=call.headers)

    def render_error(self, call: Call, error: ProtocolError) -> web.StreamResponse:
        self.log.append("render_error")
        return web.json_response({"code": error.code, "msg": error.message},
                                 headers=call.headers)

    def translate(self, exc: Exception) -> ProtocolError | None:
        return Refusal(404, f"no such {exc}") if isinstance(exc, LookupError) else None

    def server_error(self) -> ProtocolError:
        return Refusal(500, "server error")


class Rig:
    def __init__(self, faults: str = "", limits: dict[str, int] | None = None,
                 venue_stages: tuple[Any, ...] = ()) -> None:
        self.keys = KeyStore([ApiKey("full", "s", "acct"),
                              ApiKey("reader", "s", "acct", frozenset({Permission.READ}))])
        self.venue = FakeVenue(self.keys)
        self.faults = Faults(faults, seed=1)
        self.placed: list[Params] = []
        hooks: Hooks[JsonObj] = Hooks(auth=self.venue, limits=self.venue,
                                      faults=self.venue, envelope=self.venue)
        self.pipeline = Pipeline.standard(
            venue="fake", hooks=hooks, faults=self.faults,
            limiter=RateLimiter(limits or {}), clock=lambda: NOW, venue_stages=venue_stages)
        self.endpoints = (
            Endpoint("GET", "/time", self.handler("time"), private=False),
            Endpoint("GET", "/echo", self.handler("echo")),
            Endpoint("POST", "/place", self.place, places=True, permission=Permission.TRADE,
                     cost=lambda p: int(p.get("n", 2))),
            Endpoint("GET", "/boom", self.boom),
            Endpoint("GET", "/lookup", self.lookup),
        )

    def handler(self, name: str) -> Callable[[Request], JsonObj]:
        def run(req: Request) -> JsonObj:
            self.venue.log.append(name)
            return {"account": req.account, "params": dict(req.params), "now": req.now_ms,
                    "granted": req.granted}
        return run

    def place(self, req: Request) -> JsonObj:
        self.venue.log.append("place")
        self.placed.append(req.params)
        return {"granted": req.granted}

    def boom(self, req: Request) -> JsonObj:
        raise RuntimeError("unexpected")

    def lookup(self, req: Request) -> JsonObj:
        raise KeyError("thing")

    def run(self, scenario: Callable[[TestClient], Awaitable[None]]) -> None:
        app = web.Application()
        self.pipeline.mount(app, self.endpoints)

        async def main() -> None:
            async with TestClient(TestServer(app)) as client:
                await scenario(client)
        asyncio.run(main())


def names(rig: Rig, path: str) -> list[str]:
    endpoint = next(e for e in rig.endpoints if e.path == path)
    return [stage.name for stage in rig.pipeline.chain(endpoint)]


def test_each_kind_of_endpoint_gets_its_stages_in_order() -> None:
    rig = Rig()
    public = ["latency", "http_fault", "clock", "render_errors", "decode"]
    assert names(rig, "/time") == public
    assert names(rig, "/echo") == ["latency", "http_fault", "clock", "render_errors", "auth",
                                   "decode", "rate_limit", "inject_code"]
    assert names(rig, "/place") == [*names(rig, "/echo"), "after_place"]


def test_a_private_request_is_authenticated_decoded_charged_then_handled() -> None:
    rig = Rig()

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/echo?a=1&b=x", headers=FULL)
        assert resp.status == 200 and resp.headers["X-Left"] == "49"
        assert await resp.json() == {"result": {"account": "acct", "params": {"a": "1",
                                                                             "b": "x"},
                                                "now": NOW, "granted": 1}, "at": NOW}
    rig.run(scenario)
    assert rig.venue.log == ["auth", "decode", "quota", "echo", "render"]


def test_a_public_request_skips_auth_limits_and_injected_codes() -> None:
    rig = Rig(faults="retcode=7x5")

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/time?q=1")
        body = await resp.json()
        assert body["result"]["account"] == "" and "X-Left" not in resp.headers
    rig.run(scenario)
    assert rig.venue.log == ["decode", "time", "render"]


def test_an_unknown_key_is_refused_without_quota_headers() -> None:
    rig = Rig()

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/echo", headers={"X-Key": "stranger"})
        assert await resp.json() == {"code": 401, "msg": "who are you"}
        assert "X-Left" not in resp.headers
    rig.run(scenario)
    assert rig.venue.log == ["auth", "render_error"]


def test_a_key_without_the_permission_never_reaches_the_handler() -> None:
    rig = Rig()

    async def scenario(client: TestClient) -> None:
        resp = await client.post("/place", headers=READ_ONLY)
        assert await resp.json() == {"code": 403, "msg": "reader may not"}
        assert (await client.get("/echo", headers=READ_ONLY)).status == 200
    rig.run(scenario)
    assert rig.placed == [] and rig.venue.log[:3] == ["auth", "forbidden", "render_error"]


def test_an_undecodable_request_is_charged_one_unit_then_refused() -> None:
    rig = Rig(limits={"/place": 5})

    async def scenario(client: TestClient) -> None:
        resp = await client.post("/place?n=3", data=b"garbage", headers=FULL)
        assert await resp.json() == {"code": 400, "msg": "cannot read"}
        assert resp.headers["X-Left"] == "4"  # one unit, whatever it would have cost
        ok = await client.post("/place?n=3", headers=FULL)
        assert ok.headers["X-Left"] == "1" and (await ok.json())["result"]["granted"] == 3
    rig.run(scenario)
    assert rig.venue.log[:4] == ["auth", "decode", "quota", "render_error"]


def test_past_the_budget_a_costly_request_gets_the_rest_then_the_refusal() -> None:
    rig = Rig(limits={"/place": 4})

    async def scenario(client: TestClient) -> None:
        partial = await client.post("/place?n=6", headers=FULL)
        assert (await partial.json())["result"]["granted"] == 4
        refused = await client.post("/place?n=1", headers=FULL)
        assert await refused.json() == {"code": 429, "msg": "slow down"}
        assert refused.headers["X-Left"] == "0"
    rig.run(scenario)
    assert len(rig.placed) == 1


def test_an_http_fault_answers_before_authentication() -> None:
    rig = Rig(faults="http503=1@/echo")

    async def scenario(client: TestClient) -> None:
        resp = await client.get("/echo", headers={"X-Key": "stranger"})
        assert (resp.status, await resp.text()) == (503, "gateway")
        assert (await client.get("/echo", headers=FULL)).status == 200  # count spent
    rig.run(scenario)
    assert rig.venue.log[0] == "http503" and rig.venue.log[1] == "auth"


def test_an_injected_code_comes_after_the_charge_and_spares_the_handler() -> None:
    rig = Rig(faults="retcode=-1003x1@/place")

    async def scenario(client: TestClient) -> None:
        resp = await client.post("/place", headers=FULL)
        assert await resp.json() == {"code": -1003, "msg": "injected"}
        assert resp.headers["X-Left"] == "48"  # charged its cost (two units) first
    rig.run(scenario)
    assert rig.placed == []
    assert rig.venue.log == ["auth", "decode", "quota", "injected-1003", "render_error"]


def test_venue_stages_run_after_the_rate_limit_and_before_injected_codes() -> None:
    seen: list[str] = []

    class SessionCheck:
        name = "session_check"

        def applies(self, endpoint: Endpoint[Any]) -> bool:
            return endpoint.private

        async def __call__(self, call: Call, next_: Next) -> web.StreamResponse:
            seen.append(f"session_check after {rig.venue.log[-1]}")
            return await next_(call)

    rig = Rig(faults="retcode=9x1", venue_stages=(SessionCheck(),))
    assert names(rig, "/echo")[-3:] == ["rate_limit", "session_check", "inject_code"]

    async def scenario(client: TestClient) -> None:
        assert (await (await client.get("/echo", headers=FULL)).json())["code"] == 9
    rig.run(scenario)
    assert seen == ["session_check after quota"]


def test_timeout_after_place_applies_the_order_then_cuts_the_connection() -> None:
    rig = Rig(faults="timeout_after_place=1")

    async def scenario(client: TestClient) -> None:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.post("/place?id=1", headers=FULL)
        assert (await client.post("/place?id=2", headers=FULL)).status == 200
    rig.run(scenario)
    assert rig.placed == [{"id": "1"}, {"id": "2"}]


def test_hang_after_place_holds_the_answer_and_latency_delays_it() -> None:
    rig = Rig(faults="hang_after_place=1;hang=250ms;latency=100ms@/echo")

    async def scenario(client: TestClient) -> None:
        started = time.monotonic()
        assert (await client.post("/place", headers=FULL)).status == 200
        assert time.monotonic() - started >= 0.25
        started = time.monotonic()
        assert (await client.get("/echo", headers=FULL)).status == 200
        assert time.monotonic() - started >= 0.1
    rig.run(scenario)
    assert len(rig.placed) == 1


def test_an_after_place_fault_also_follows_a_refused_order() -> None:
    """The sim refused it, but the client still may not learn that (the fault models the
    network, not the venue)."""
    rig = Rig(faults="timeout_after_place=1@/lookup")
    rig.endpoints = (Endpoint("GET", "/lookup", rig.lookup, places=True),)

    async def scenario(client: TestClient) -> None:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.get("/lookup", headers=FULL)
    rig.run(scenario)


def test_handler_exceptions_become_the_venues_errors_and_bugs_are_logged(
        caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()

    async def scenario(client: TestClient) -> None:
        known = await client.get("/lookup", headers=FULL)
        assert await known.json() == {"code": 404, "msg": "no such 'thing'"}
        bug = await client.get("/boom", headers=FULL)
        assert await bug.json() == {"code": 500, "msg": "server error"}
        assert bug.headers["X-Left"] == "49"
    with caplog.at_level(logging.ERROR, logger="console.sim.protocol.pipeline"):
        rig.run(scenario)
    assert [r.getMessage() for r in caplog.records] == ["fake front-end: GET /boom failed"]
