"""The `sim` runner: serve(), the thread helper, scenarios served over Bybit, code table."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from bybit_helpers import StartServer, make_http

from console.errors import ConfigError
from console.sim.bybit import SIM_CODES, BybitFrontEnd
from console.sim.core import SimExchange
from console.sim.errors import SimErrorCode
from console.sim.server import build_sim, serve


def test_every_sim_refusal_has_a_bybit_code() -> None:
    assert set(SIM_CODES) == set(SimErrorCode)
    assert SIM_CODES[SimErrorCode.DUPLICATE_CLIENT_ID] == 110072
    assert SIM_CODES[SimErrorCode.ORDER_NOT_FOUND] == 110001
    assert SIM_CODES[SimErrorCode.INSUFFICIENT_BALANCE] == 110007


def test_serve_reports_ready_and_stops_on_the_event() -> None:
    seen: dict[str, Any] = {}

    async def main() -> None:
        stop = asyncio.Event()

        def ready(info: dict[str, Any]) -> None:
            seen.update(info)

        task = asyncio.create_task(serve(scenario="clean", ready=ready, stop_event=stop,
                                         api_key="k1", api_secret="s1"))
        while not seen:
            await asyncio.sleep(0.01)
        async with aiohttp.ClientSession() as session, \
                session.get(f"{seen['rest_url']}/v5/market/time") as resp:
            assert (await resp.json())["retCode"] == 0
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert seen["venue"] == "bybit" and seen["account"] == "main"
    assert seen["scenario"] == "clean" and (seen["api_key"], seen["api_secret"]) == ("k1", "s1")
    assert seen["rest_url"].startswith("http://127.0.0.1:")
    assert seen["ws_private_url"].endswith("/v5/private")


def test_generated_credentials_work(start_server: StartServer) -> None:
    server = start_server(api_key=None, api_secret=None)
    assert len(server.api_key) == 18 and len(server.api_secret) == 36
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    assert http.get_wallet_balance(accountType="UNIFIED")["retCode"] == 0


def test_a_ledgerless_bot_sees_the_scenario(start_server: StartServer) -> None:
    server = start_server(scenario="bracket-closed-offline")
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    orders = http.get_open_orders(category="linear", settleCoin="USDT", limit=50)["result"]
    assert sorted((o["side"], o["reduceOnly"], o["orderStatus"]) for o in orders["list"]) \
        == [("Sell", True, "New"), ("Sell", True, "Untriggered")]
    assert all(o["orderLinkId"].startswith("rc-") for o in orders["list"])
    positions = http.get_positions(category="linear", settleCoin="USDT")["result"]["list"]
    assert positions == []  # closed on the exchange while the bot was away
    fills = http.get_executions(category="linear")["result"]["list"]
    assert {f["side"] for f in fills} == {"Buy", "Sell"}
    closing = [f for f in fills if f["side"] == "Sell"]
    assert closing and all(f["orderLinkId"] == "" for f in closing)
    wallet = http.get_wallet_balance(accountType="UNIFIED")["result"]["list"][0]
    assert [c["coin"] for c in wallet["coin"]] == ["USDT"]


def test_scenario_with_foreign_orders(start_server: StartServer) -> None:
    server = start_server(scenario="orphan-order")
    http = make_http(server.rest_url, server.api_key, server.api_secret)
    orders = http.get_open_orders(category="linear", settleCoin="USDT")["result"]["list"]
    assert {o["orderLinkId"] for o in orders} >= {"mm-7f3a-01", ""}


def test_handle_call_runs_on_the_loop_and_reraises(start_server: StartServer) -> None:
    server = start_server()
    assert server.call(server.exchange.has_account, "main") is True
    with pytest.raises(Exception, match="unknown account"):
        server.call(server.exchange.balances, "nobody")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"venue": "no-such-venue"}, "not available"),
    ({"api_key": "only-key"}, "both"),
    ({"scenario": "no-such-scenario"}, "unknown scenario"),
])
def test_build_sim_refuses_bad_settings(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_sim(**kwargs)


def test_front_end_refuses_credentials_for_a_missing_account() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        BybitFrontEnd(SimExchange(), credentials={"k": ("s", "ghost")})
