"""Binance's user-data stream end to end: the real connector (`BinanceVenue.stream()`,
its ccxt listenKey calls) against the simulated Binance front-end on loopback. Orders
placed through the connector come back as stream events; the venue ending the feed in
each of its ways (an expired listenKey, a dead key at keepalive, its 24 h cut made short,
an ended spot subscription) costs a reconnect reported as CONNECTED(reconnected=True),
after which events flow again; refused credentials reach the connector's auth gate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain.enums import Category, OrderStatus, OrderType, Side
from console.domain.events import ConnectionEvent, ConnectionState, OrderEvent, VenueEvent
from console.domain.model import Order
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.binance.server import BinanceFrontEnd
from console.sim.binance.ws_api import ApiSession
from console.venues.binance.client import BinanceVenue
from console.venues.binance.config import BinanceConfig

ACCOUNT = "acct"
SYMBOL = "BTCUSDT"


@asynccontextmanager
async def connected(market: Category, *, secret: str = CANARY_SECRET,
                    front_end_options: dict[str, Any] | None = None,
                    **config: Any) -> AsyncIterator[tuple[BinanceFrontEnd, BinanceVenue]]:
    exchange = SimExchange(seed=5, venue="binance", instruments=DEFAULT_INSTRUMENTS)
    exchange.create_account(ACCOUNT, {"USDT": Decimal(1_000_000), "BTC": Decimal(10)})
    exchange.set_reference_prices()
    front_end = BinanceFrontEnd(exchange, credentials={CANARY_KEY: (CANARY_SECRET, ACCOUNT)},
                                market=market, **(front_end_options or {}))
    await front_end.start()
    urls = front_end.urls()
    settings = BinanceConfig(account=ACCOUNT, market=market, rest_url=urls["rest_url"],
                             ws_private_url=urls["ws_private_url"], symbols=(SYMBOL,),
                             retry_base_ms=20, timeout_s=3.0, **config)
    venue = BinanceVenue(settings, CANARY_KEY, secret, profile="e2e")
    try:
        yield front_end, venue
    finally:
        await venue.aclose()
        await front_end.stop()


def intent(market: Category, client_id: str) -> Order:
    qty = Decimal("0.01") if market is Category.LINEAR else Decimal("0.001")
    return Order(venue="binance", account=ACCOUNT, category=market, symbol=SYMBOL,
                 side=Side.BUY, type=OrderType.LIMIT, qty=qty, price=Decimal("50000"),
                 status=OrderStatus.PENDING_NEW, client_order_id=client_id,
                 strategy_id="demo", worker_id="w1")


async def until(events: AsyncIterator[VenueEvent], done: Callable[[VenueEvent], bool],
                timeout: float = 10.0) -> list[VenueEvent]:
    got: list[VenueEvent] = []
    async with asyncio.timeout(timeout):
        while not got or not done(got[-1]):
            got.append(await anext(events))
    return got


def connected_event(event: VenueEvent) -> bool:
    return isinstance(event, ConnectionEvent) and event.state is ConnectionState.CONNECTED


def reconnected(event: VenueEvent) -> bool:
    return connected_event(event) and event.reconnected  # type: ignore[union-attr]


def order_of(client_id: str) -> Callable[[VenueEvent], bool]:
    return lambda e: isinstance(e, OrderEvent) and e.order.client_order_id == client_id


def why(events: list[VenueEvent]) -> str:
    """The first connection event's detail (why the connection went)."""
    return next(e.detail for e in events if isinstance(e, ConnectionEvent))


def gaps(events: list[VenueEvent]) -> list[tuple[ConnectionState, bool]]:
    return [(e.state, e.reconnected) for e in events if isinstance(e, ConnectionEvent)]


async def placed_and_seen(venue: BinanceVenue, events: AsyncGenerator[VenueEvent, None],
                          market: Category, client_id: str) -> OrderEvent:
    await venue.place_order(intent(market, client_id))
    event = (await until(events, order_of(client_id)))[-1]
    assert isinstance(event, OrderEvent)
    return event


# -- USD-M --------------------------------------------------------------------------------

def test_usdm_orders_arrive_and_an_expired_listen_key_is_replaced() -> None:
    async def main() -> list[VenueEvent]:
        async with connected(Category.LINEAR) as (front_end, venue):
            events = venue.stream()
            await until(events, connected_event)
            first = await placed_and_seen(venue, events, Category.LINEAR, "rc-w1-e-1")
            assert first.order.status is OrderStatus.NEW
            old = front_end.listen_keys.live_key(ACCOUNT)
            assert old is not None
            front_end.listen_keys.expire_now(old)  # listenKeyExpired, then the close
            got = await until(events, reconnected)
            new = front_end.listen_keys.live_key(ACCOUNT)
            assert new is not None and new != old
            await placed_and_seen(venue, events, Category.LINEAR, "rc-w1-e-2")
            await events.aclose()
            return got

    got = asyncio.run(main())
    assert gaps(got) == [(ConnectionState.RECONNECTING, False),
                         (ConnectionState.CONNECTED, True)]
    assert "listenKey expired" in why(got)


def test_usdm_a_dead_key_at_keepalive_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> list[VenueEvent]:
        async with connected(Category.LINEAR, listen_key_keepalive_s=0.2) as (front_end,
                                                                              venue):
            events = venue.stream()
            await until(events, connected_event)
            monkeypatch.setattr(front_end.listen_keys, "keepalive", lambda key: False)
            got = await until(events, reconnected)  # PUT answered -1125
            monkeypatch.undo()
            await placed_and_seen(venue, events, Category.LINEAR, "rc-w1-e-3")
            await events.aclose()
            return got

    got = asyncio.run(main())
    assert gaps(got) == [(ConnectionState.RECONNECTING, False),
                         (ConnectionState.CONNECTED, True)]
    assert "-1125" in why(got)


def test_usdm_keepalives_hold_the_key_past_its_lifetime() -> None:
    async def main() -> tuple[list[VenueEvent], str | None, str | None]:
        async with connected(Category.LINEAR, listen_key_keepalive_s=0.2,
                             front_end_options={"listen_key_ttl_ms": 600}) as (front_end,
                                                                               venue):
            events = venue.stream()
            got = await until(events, connected_event)
            key = front_end.listen_keys.live_key(ACCOUNT)
            await asyncio.sleep(2.0)  # more than three lifetimes, and the sim's sweeps
            await venue.place_order(intent(Category.LINEAR, "rc-w1-e-4"))
            got += await until(events, order_of("rc-w1-e-4"))
            await events.aclose()
            return got, key, front_end.listen_keys.live_key(ACCOUNT)

    got, before, after = asyncio.run(main())
    assert gaps(got) == [(ConnectionState.CONNECTING, False),
                         (ConnectionState.CONNECTED, False)]
    assert before is not None and before == after


@pytest.mark.parametrize("ours", [True, False], ids=["our-age-limit", "the-venue-cut"])
def test_usdm_the_age_limit_reconnects_and_events_flow_again(ours: bool) -> None:
    async def main() -> list[VenueEvent]:
        async with connected(Category.LINEAR, ws_max_age_s=0.5 if ours else 3600.0
                             ) as (front_end, venue):
            if not ours:
                front_end.stream.max_connection_age_s = 0.5
            events = venue.stream()
            await until(events, connected_event)
            got = await until(events, reconnected)
            await placed_and_seen(venue, events, Category.LINEAR, "rc-w1-e-5")
            await events.aclose()
            return got

    got = asyncio.run(main())
    assert gaps(got)[-1] == (ConnectionState.CONNECTED, True)


# -- spot ---------------------------------------------------------------------------------

def test_spot_orders_arrive_and_an_ended_subscription_is_renewed() -> None:
    async def main() -> list[VenueEvent]:
        async with connected(Category.SPOT) as (front_end, venue):
            events = venue.stream()
            await until(events, connected_event)
            first = await placed_and_seen(venue, events, Category.SPOT, "rc-w1-e-6")
            assert first.order.category is Category.SPOT
            (session,) = [s for s in front_end.hub.connections if isinstance(s, ApiSession)]
            session.unsubscribe({})  # the venue ends it: eventStreamTerminated
            got = await until(events, reconnected)
            (renewed,) = [s for s in front_end.hub.connections if isinstance(s, ApiSession)]
            assert renewed is not session and renewed.subscription is not None
            await placed_and_seen(venue, events, Category.SPOT, "rc-w1-e-7")
            await events.aclose()
            return got

    got = asyncio.run(main())
    assert gaps(got) == [(ConnectionState.RECONNECTING, False),
                         (ConnectionState.CONNECTED, True)]
    assert "eventStreamTerminated" in why(got)


def test_spot_a_wrong_secret_is_refused_and_the_auth_gate_learns_of_it() -> None:
    async def main() -> tuple[list[VenueEvent], object]:
        async with connected(Category.SPOT, secret="WRONGSECRETwrongsecret0123") as (_, venue):
            events = venue.stream()
            got = await until(events, lambda e: isinstance(e, ConnectionEvent)
                              and e.state is ConnectionState.DOWN)
            episode = venue.auth_gate.episode
            await events.aclose()
            return got, episode

    got, episode = asyncio.run(main())
    assert gaps(got) == [(ConnectionState.CONNECTING, False), (ConnectionState.DOWN, False)]
    assert "-1022" in [e for e in got if isinstance(e, ConnectionEvent)][-1].detail
    assert episode is not None


def test_usdm_balances_follow_a_burst_of_fills_with_one_account_read() -> None:
    """ACCOUNT_UPDATE carries wallet figures only: the connector reads the balances once
    after a burst of fills, so the ledger's free and locked follow the trades."""
    from console.domain.events import BalanceEvent, FillEvent

    async def main() -> None:
        async with connected(Category.LINEAR) as (_front_end, venue):
            events = venue.stream()
            try:
                await until(events, connected_event)
                before = venue.calls["fetch_balances"]
                for n in range(3):
                    await venue.place_order(intent(Category.LINEAR, f"rc-w1-e-bal-{n}").evolve(
                        type=OrderType.MARKET, price=None))
                got = await until(events, lambda e: isinstance(e, BalanceEvent), timeout=5)
                assert sum(isinstance(e, FillEvent) for e in got) >= 1
                [usdt] = [b for b in await venue.fetch_balances() if b.asset == "USDT"]
                streamed = [e.balance for e in got if isinstance(e, BalanceEvent)]
                assert usdt.locked > 0 and streamed[0].asset in {"USDT", "BTC"}
                await asyncio.sleep(2.5)  # any further refresh of this burst has run
                # one read for the burst (and the one made just above), never one per fill
                assert venue.calls["fetch_balances"] - before <= 3
            finally:
                await events.aclose()

    asyncio.run(main())
