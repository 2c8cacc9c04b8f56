"""`BinanceVenue.replace_order` (spot's atomic replace: POST /api/v3/order/cancelReplace)
over real ccxt against the simulated Binance front-end on loopback: both halves of the
answer are read (HTTP 200, 400 with -2022, 409 with -2021) and every outcome is a typed
error the order manager branches on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, Order, OrderStatus, OrderType, Side
from console.domain.enums import TimeInForce
from console.errors import (
    CapabilityUnsupported,
    FatalVenueError,
    ReplaceCancelRefusedError,
    ReplacementRefusedError,
    UnknownOutcomeError,
)
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.binance import BinanceFrontEnd
from console.sim.instruments import spot
from console.venues.binance import BinanceConfig, BinanceVenue
from console.venues.binance import parsing as p

pytestmark = pytest.mark.timeout(60)
S = Category.SPOT
ACCOUNT = "acct"
STS = spot("STSUSDT", "STS", tick="0.1", step="1", min_qty="1", level_qty="10",
           reference_price="100")
REPLACE_PATH = "/api/v3/order/cancelReplace"


@asynccontextmanager
async def spot_venue(*, faults: str = "",
                     market: Category = S) -> AsyncIterator[tuple[SimExchange, BinanceVenue]]:
    exchange = SimExchange(seed=11, venue="binance", instruments=(*DEFAULT_INSTRUMENTS, STS))
    exchange.create_account(ACCOUNT, {"USDT": D(1_000_000), "STS": D(1000)})
    exchange.set_reference_prices()
    front_end = BinanceFrontEnd(exchange, credentials={CANARY_KEY: (CANARY_SECRET, ACCOUNT)},
                                faults=faults, market=market)
    await front_end.start()
    config = BinanceConfig(account=ACCOUNT, market=market, rest_url=front_end.rest_url,
                           ws_private_url=front_end.ws_private_url, retry_base_ms=20,
                           retry_max_ms=200, timeout_s=3.0,
                           symbols=("STSUSDT",) if market is S else ())
    venue = BinanceVenue(config, CANARY_KEY, CANARY_SECRET)
    try:
        yield exchange, venue
    finally:
        await venue.aclose()
        await front_end.stop()


def bid(client_id: str, **changes: Any) -> Order:
    order = Order(venue="binance", account=ACCOUNT, category=S, symbol="STSUSDT",
                  side=Side.BUY, type=OrderType.LIMIT, qty=D(2), price=D(95),
                  status=OrderStatus.PENDING_NEW, client_order_id=client_id,
                  strategy_id="demo", worker_id="w1")
    return order.evolve(**changes)


def run(body: Callable[[SimExchange, BinanceVenue], Awaitable[None]], **kwargs: Any) -> None:
    async def main() -> None:
        async with spot_venue(**kwargs) as (exchange, venue):
            await body(exchange, venue)
    asyncio.run(main())


def test_the_request_names_the_old_client_id_and_the_replacement_s_own() -> None:
    old = bid("rc-w1-e-old-1", venue_order_id="7", status=OrderStatus.NEW)
    new = bid("rc-w1-e-new-2", price=D("96.5"), qty=D(3))
    assert p.replace_params(old, new) == {
        "symbol": "STSUSDT", "cancelOrigClientOrderId": "rc-w1-e-old-1", "side": "BUY",
        "quantity": "3", "newClientOrderId": "rc-w1-e-new-2", "newOrderRespType": "RESULT",
        "type": "LIMIT", "price": "96.5", "timeInForce": "GTC",
        "cancelReplaceMode": "STOP_ON_FAILURE", "cancelRestrictions": "ONLY_NEW"}
    adopted = old.evolve(client_order_id="")
    assert p.replace_params(adopted, new)["cancelOrderId"] == "7"
    with pytest.raises(FatalVenueError, match="symbol and side"):
        p.replace_params(old, new.evolve(side=Side.SELL))


def test_both_halves_done_answer_the_cancelled_original_and_the_new_order() -> None:
    async def body(exchange: SimExchange, venue: BinanceVenue) -> None:
        assert venue.capabilities.atomic_replace and not venue.capabilities.amend
        placed = await venue.place_order(bid("rc-w1-e-rp-1"))
        old, new = await venue.replace_order(placed, bid("rc-w1-e-rp-2", price=D("96.5")))
        assert (old.client_order_id, old.venue_order_id, old.status) == (
            placed.client_order_id, placed.venue_order_id, OrderStatus.CANCELLED)
        assert (new.client_order_id, new.price, new.status) == (
            "rc-w1-e-rp-2", D("96.5"), OrderStatus.NEW)
        assert new.venue_order_id != placed.venue_order_id
        assert (new.strategy_id, old.strategy_id) == ("demo", "demo")  # ownership kept
        [live] = exchange.open_orders(ACCOUNT)
        assert live.client_order_id == "rc-w1-e-rp-2"
        assert venue.calls["replace_order"] == 1

    run(body)


def test_a_refused_cancel_is_typed_and_changes_nothing() -> None:
    """ONLY_NEW: a partly filled order is not cancelled (400, -2022, the new order
    NOT_ATTEMPTED); an unknown one neither."""
    async def body(exchange: SimExchange, venue: BinanceVenue) -> None:
        placed = await venue.place_order(bid("rc-w1-e-rp-3"))
        exchange.hand_fill(ACCOUNT, placed.client_order_id, D(1))
        with pytest.raises(ReplaceCancelRefusedError, match="the order is unchanged") as err:
            await venue.replace_order(placed, bid("rc-w1-e-rp-4", price=D(96)))
        assert err.value.code == "-2022"
        [live] = exchange.open_orders(ACCOUNT)
        assert (live.client_order_id, live.filled_qty) == (placed.client_order_id, D(1))
        with pytest.raises(ReplaceCancelRefusedError):
            await venue.replace_order(bid("rc-w1-e-ghost-5"), bid("rc-w1-e-rp-6"))
        assert [o.client_order_id for o in exchange.open_orders(ACCOUNT)] == [
            placed.client_order_id]

    run(body)


def test_cancelled_but_the_new_order_refused_is_typed_and_leaves_nothing_live() -> None:
    async def body(exchange: SimExchange, venue: BinanceVenue) -> None:
        maker = await venue.place_order(bid("rc-w1-e-rp-7",
                                            time_in_force=TimeInForce.POST_ONLY))
        with pytest.raises(ReplacementRefusedError, match="nothing is live") as err:
            await venue.replace_order(maker, bid("rc-w1-e-rp-8", price=D(150),
                                                 time_in_force=TimeInForce.POST_ONLY))
        assert err.value.code == "-2021"  # HTTP 409, partial success
        assert exchange.open_orders(ACCOUNT) == []
        old = await venue.fetch_order(maker)
        assert old is not None and old.status is OrderStatus.CANCELLED

    run(body)


def test_a_lost_answer_is_an_unknown_outcome_and_is_not_sent_again() -> None:
    async def body(exchange: SimExchange, venue: BinanceVenue) -> None:
        placed = await venue.place_order(bid("rc-w1-e-rp-9"))
        with pytest.raises(UnknownOutcomeError):
            await venue.replace_order(placed, bid("rc-w1-e-rp-10", price=D(96)))
        assert venue.calls["replace_order"] == 1
        [live] = exchange.open_orders(ACCOUNT)  # it was executed: the caller asks
        assert live.client_order_id == "rc-w1-e-rp-10"

    run(body, faults=f"timeout_after_place=1@{REPLACE_PATH}")


def test_usdm_has_no_atomic_replace() -> None:
    async def body(_exchange: SimExchange, venue: BinanceVenue) -> None:
        assert not venue.capabilities.atomic_replace
        order = bid("rc-w1-e-rp-11", category=Category.LINEAR, symbol="BTCUSDT")
        with pytest.raises(CapabilityUnsupported):
            await venue.replace_order(order, order.evolve(client_order_id="rc-w1-e-rp-12"))
        assert venue.calls["replace_order"] == 0

    run(body, market=Category.LINEAR)
