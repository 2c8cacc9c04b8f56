"""Credits and faults over HTTP, rendered Deribit's way: 10028 when the pool is dry
(refilling later), injected HTTP errors, injected codes, after-place cuts, and push
faults on the WebSocket."""

from __future__ import annotations

import asyncio
import time

import pytest
import requests
from deribit_helpers import BTC, Sim, WsClient


def test_http_pool_runs_dry_and_refills() -> None:
    sim = Sim(rate_limits={"pool": 1000, "refill_per_s": 1000, "cost": 500})
    try:
        codes = [sim.private("private/get_positions").status_code for _ in range(3)]
        assert codes == [200, 200, 400]
        assert sim.private("private/get_positions").json()["error"]["code"] == 10028
        time.sleep(0.6)
        assert sim.private("private/get_positions").status_code == 200
    finally:
        sim.stop()


def test_unknown_rate_limit_setting_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Deribit rate-limit"):
        Sim(rate_limits={"weight": 5})


def test_injected_http_error_and_code() -> None:
    sim = Sim(faults="http503=1@/api/v2/private/buy;retcode=10040@/api/v2/private/sell")
    try:
        gateway = sim.private("private/buy", {"instrument_name": BTC, "amount": 10,
                                              "type": "market"})
        assert gateway.status_code == 503
        assert sim.result("private/get_open_orders") == []
        injected = sim.private("private/sell", {"instrument_name": BTC, "amount": 10,
                                                "type": "market"})
        assert injected.json()["error"] == {"code": 10040, "message": "retry"}
        assert sim.result("private/get_positions") == []
    finally:
        sim.stop()


def test_timeout_after_place_applies_the_order_and_cuts() -> None:
    sim = Sim(faults="timeout_after_place=1")
    try:
        with pytest.raises(requests.exceptions.ConnectionError):
            sim.private("private/buy", {"instrument_name": BTC, "amount": 10,
                                        "price": 40000, "label": "cut"})
        found = sim.result("private/get_open_orders_by_label", {"currency": "BTC",
                                                                "label": "cut"})
        assert len(found) == 1
    finally:
        sim.stop()


def test_ws_push_drop_and_injected_10028_ends_the_session() -> None:
    sim = Sim(faults=f"ws_drop=1@user.orders.{BTC}.raw;"
                     "retcode=10028@/api/v2/private/get_positions")
    try:
        async def scenario() -> None:
            client = await WsClient(sim).open()
            await client.login()
            await client.call("private/subscribe", {"channels": [f"user.orders.{BTC}.raw"]})
            await client.call("private/buy", {"instrument_name": BTC, "amount": 10,
                                              "price": 40000})
            await client.call("private/buy", {"instrument_name": BTC, "amount": 10,
                                              "price": 40001})
            notes = await client.wait_notes(1)
            await asyncio.sleep(0.1)
            assert [n["params"]["data"]["price"] for n in client.notes] == [40001]
            del notes
            refused = await client.call("private/get_positions")
            assert refused["error"]["code"] == 10028
            await asyncio.wait_for(client.closed.wait(), 5)
            await client.close()
        sim.run(scenario())
    finally:
        sim.stop()
