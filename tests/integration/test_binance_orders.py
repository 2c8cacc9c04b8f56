"""Order entry's unknown outcomes through Binance's protocol: the engine's order manager,
the real `BinanceVenue` and the simulated Binance USD-M front-end, a real SQLite ledger.

* A create the venue applies but whose answer is lost (the connection cut after the
  placement, injected at run time through the sim's control URL `/__sim/faults` into
  `recon-console sim --venue binance` running in its own process) ends with one order
  on the venue and that same order in the ledger: the truth is read back over plain
  signed REST, not through the connector under test. The same for a conditional order,
  whose create goes to the Algo Service (`/fapi/v1/algoOrder`).
* A cancel Binance answers -2011 ("Unknown order sent.") because the order filled
  meanwhile (its pushes lost) ends FILLED in the ledger, not CANCELLED.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from binance_support import (
    ACCOUNT,
    SignedRest,
    binance_server,  # noqa: F401 - a fixture
    connect,
    open_session,
    sim_process,  # noqa: F401 - a fixture
    wait_for,
)

from console.bootstrap import ProfileSession
from console.domain import (
    Category,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
    TriggerDirection,
)
from console.domain.events import ConnectionState
from console.domain.reconciliation import RunStatus, RunTrigger
from console.sim.server import SimServerHandle

pytestmark = pytest.mark.timeout(60)
CONTROL_PATH = "/__sim/faults"


def bid(session: ProfileSession, price: str) -> Order:
    return Order(venue="binance", account=ACCOUNT, category=Category.LINEAR,
                 symbol="BTCUSDT", side=Side.BUY, type=OrderType.LIMIT, qty=Decimal("0.01"),
                 status=OrderStatus.PENDING_NEW,
                 client_order_id=session.engine.ids.next(OrderRole.ENTRY),
                 price=Decimal(price), strategy_id="s1", worker_id="w1", role=OrderRole.ENTRY)


async def add_fault(rest_url: str, spec: str) -> list[int]:
    async with aiohttp.ClientSession() as http, \
            http.post(f"{rest_url}{CONTROL_PATH}", json={"spec": spec}) as answer:
        assert answer.status == 200, await answer.text()
        return list((await answer.json())["ids"])


async def fault_rules(rest_url: str) -> list[str]:
    async with aiohttp.ClientSession() as http, \
            http.get(f"{rest_url}{CONTROL_PATH}") as answer:
        return [rule["rule"] for rule in (await answer.json())["rules"]]


def test_a_create_cut_after_placement_ends_with_one_order_on_the_venue_and_in_the_ledger(
        sim_process: Callable[..., dict[str, Any]], tmp_path: Path) -> None:  # noqa: F811
    info = sim_process()
    rest = SignedRest(info["rest_url"], info["api_key"], info["api_secret"])
    session = open_session(tmp_path, info["rest_url"], info["ws_private_url"],
                           info["api_key"], info["api_secret"])

    async def scenario() -> tuple[Order, Order | None, list[dict[str, Any]], list[str]]:
        try:
            startup = await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            assert startup.run.status is RunStatus.OK, startup.run.errors
            await add_fault(info["rest_url"], "timeout_after_place=1@/fapi/v1/order")
            placed = await session.engine.orders.place(bid(session, "51000"))
            left = await fault_rules(info["rest_url"])
            on_venue = [o for o in await rest.call("GET", "/fapi/v1/openOrders",
                                                   {"symbol": "BTCUSDT"})
                        if o["clientOrderId"] == placed.client_order_id]
            recorded = session.ledger.get_order("binance", ACCOUNT, placed.client_order_id)
            return placed, recorded, on_venue, left
        finally:
            await session.aclose()

    placed, recorded, on_venue, left = asyncio.run(scenario())
    assert left == []  # the cut was spent: the placement really was answered by nothing
    assert len(on_venue) == 1
    assert placed.status is OrderStatus.NEW
    assert placed.venue_order_id == str(on_venue[0]["orderId"])
    assert recorded is not None and recorded.status is OrderStatus.NEW
    assert recorded.venue_order_id == str(on_venue[0]["orderId"])
    assert recorded.origin is placed.origin and recorded.strategy_id == "s1"


def test_a_cancel_answered_unknown_order_for_a_filled_order_ends_filled_in_the_ledger(
        binance_server: SimServerHandle, tmp_path: Path) -> None:  # noqa: F811
    server = binance_server
    session = connect(server, tmp_path)
    engine = session.engine
    exchange = server.exchange

    rest = SignedRest(server.rest_url, server.api_key, server.api_secret)

    async def scenario() -> tuple[Order | None, str, Order | None]:
        try:
            await engine.start()
            await wait_for(lambda: engine.stream.state is ConnectionState.CONNECTED, 5)
            placed = await engine.orders.place(bid(session, "50000"))

            def fill_silently() -> None:  # its pushes never arrive
                sim = exchange.order_by_client_id(ACCOUNT, placed.client_order_id)
                assert sim is not None
                exchange.drop_private_events(ACCOUNT)
                exchange.hand_fill(ACCOUNT, sim.venue_order_id)

            server.call(fill_silently)
            try:
                stored = session.ledger.get_order("binance", ACCOUNT, placed.client_order_id)
                assert stored is not None and stored.status is OrderStatus.NEW
                # what Binance answers such a cancel, asked over plain REST first
                refused = await rest.request("DELETE", "/fapi/v1/order", {
                    "symbol": "BTCUSDT", "origClientOrderId": placed.client_order_id})
                assert refused == (400, {"code": -2011, "msg": "Unknown order sent."})
                cancelled, why = await engine.orders.cancel(stored)
            finally:
                server.call(exchange.restore_private_events, ACCOUNT)
            return cancelled, why, session.ledger.get_order("binance", ACCOUNT,
                                                            placed.client_order_id)
        finally:
            await session.aclose()

    cancelled, why, recorded = asyncio.run(scenario())
    assert recorded is not None
    assert recorded.status is OrderStatus.FILLED
    assert recorded.filled_qty == Decimal("0.01")
    assert cancelled is not None and cancelled.status is OrderStatus.FILLED
    assert "FILLED" in why  # the operator is told the cancel came too late
    # the venue agrees: nothing of it is open
    assert server.call(exchange.open_orders, ACCOUNT) == []


def test_a_conditional_create_cut_after_placement_ends_with_one_algo_order(
        binance_server: SimServerHandle, tmp_path: Path) -> None:  # noqa: F811
    """The same lost answer on the Algo Service (`/fapi/v1/algoOrder`): the connector
    finds the algo order by its clientAlgoId, and the ledger holds it once."""
    server = binance_server
    session = connect(server, tmp_path)
    rest = SignedRest(server.rest_url, server.api_key, server.api_secret)
    server.faults.add("timeout_after_place=1@/fapi/v1/algoOrder")

    async def scenario() -> tuple[Order, Order | None, list[dict[str, Any]]]:
        try:
            await session.engine.reconciler.run_once(RunTrigger.STARTUP)
            stop = Order(venue="binance", account=ACCOUNT, category=Category.LINEAR,
                         symbol="BTCUSDT", side=Side.BUY, type=OrderType.MARKET,
                         qty=Decimal("0.01"), status=OrderStatus.PENDING_NEW,
                         client_order_id=session.engine.ids.next(OrderRole.OTHER),
                         trigger_price=Decimal(65_000),
                         trigger_direction=TriggerDirection.RISE, strategy_id="s1",
                         worker_id="w1")
            placed = await session.engine.orders.place(stop)
            recorded = session.ledger.get_order("binance", ACCOUNT, stop.client_order_id)
            return placed, recorded, await rest.open_algo_orders()
        finally:
            await session.aclose()

    placed, recorded, algos = asyncio.run(scenario())
    assert server.faults.rules() == []  # the cut was spent
    [algo] = algos
    assert algo["clientAlgoId"] == placed.client_order_id
    assert placed.status is OrderStatus.UNTRIGGERED
    assert placed.venue_order_id == f"algo:{algo['algoId']}"
    assert recorded is not None and recorded.venue_order_id == placed.venue_order_id
    assert recorded.status is OrderStatus.UNTRIGGERED
