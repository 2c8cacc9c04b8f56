"""The order manager's replace on Binance spot: one atomic cancelReplace per change.

The real `BinanceVenue` (ccxt, spot market) against the simulated Binance front-end on
loopback (`BinanceFrontEnd`, in the test's own loop), the engine's `OrderManager` and a
real SQLite ledger. Spot declares `atomic_replace` (and no in-place amend), so `replace`
writes the replacement's intent, then sends one POST /api/v3/order/cancelReplace
(STOP_ON_FAILURE, ONLY_NEW, the replacement under its own client id). Each outcome of
that request is driven here: both halves done, the cancel refused because the order was
touched meanwhile (partly or fully filled), the cancel done and the new order refused
(HTTP 409), the request refused whole, and unknown outcomes (executed or not).

"One live order per intent" is checked on the exchange itself after every outcome and
throughout: a listener subscribed to the account's private feed runs inside every state
change of the simulated exchange and counts the live orders on the symbol at that instant
(`assert_one_live_per_intent`, the property any venue declaring `atomic_replace` must
keep).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal as D
from pathlib import Path

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.domain.enums import TimeInForce
from console.engine.order_manager import AmendPolicy, ReplacePath, ReplaceResult
from console.engine.session import EngineSession
from console.reconcile import ReconcileConfig
from console.sim import DEFAULT_INSTRUMENTS, SimExchange
from console.sim.binance import BinanceFrontEnd
from console.sim.events import SimEvent
from console.sim.instruments import spot
from console.store import Ledger
from console.venues.binance import BinanceConfig, BinanceVenue

pytestmark = pytest.mark.timeout(60)
S = Category.SPOT
ACCOUNT = "acct"
SYMBOL = "STSUSDT"  # mark 100: bids at 95 rest, asks above 100
STS = spot(SYMBOL, "STS", tick="0.1", step="1", min_qty="1", level_qty="10",
           reference_price="100")
REPLACE_PATH = "/api/v3/order/cancelReplace"


class PathCounter:
    """Telemetry that counts REST requests by endpoint path (each attempt counts)."""

    def __init__(self) -> None:
        self.paths: Counter[str] = Counter()

    def observe_latency(self, stage: str, ms: float,
                        labels: tuple[tuple[str, str], ...] = ()) -> None:
        if stage == "rest":
            self.paths[dict(labels).get("endpoint", "")] += 1

    def count(self, name: str, labels: tuple[tuple[str, str], ...] = (),
              amount: int = 1) -> None:
        return None


@dataclass
class Rig:
    exchange: SimExchange
    front_end: BinanceFrontEnd
    venue: BinanceVenue
    ledger: Ledger
    engine: EngineSession
    paths: PathCounter
    samples: list[int] = field(default_factory=list)
    discovered: list[Order] = field(default_factory=list)

    def bid(self, price: str = "95", qty: str = "2", **changes: object) -> Order:
        order = Order(venue="binance", account=ACCOUNT, category=S, symbol=SYMBOL,
                      side=Side.BUY, type=OrderType.LIMIT, qty=D(qty),
                      status=OrderStatus.PENDING_NEW,
                      client_order_id=self.engine.ids.next(OrderRole.ENTRY), price=D(price),
                      strategy_id="mm1", worker_id="w1", role=OrderRole.ENTRY,
                      label="rc_mm1_w1_entry")
        return order.evolve(**changes)

    def live_on_venue(self) -> list[Order]:
        return [o for o in self.exchange.open_orders(ACCOUNT) if o.symbol == SYMBOL]

    def ledger_order(self, client_id: str) -> Order:
        [found] = [o for o in self.ledger.orders("binance", ACCOUNT)
                   if o.client_order_id == client_id]
        return found

    def replace_requests(self) -> int:
        """cancelReplace requests sent (an answer lost counts too)."""
        return self.venue.calls["replace_order"]


@asynccontextmanager
async def rig(tmp_path: Path, *, faults: str = "") -> AsyncIterator[Rig]:
    exchange = SimExchange(seed=11, venue="binance", instruments=(*DEFAULT_INSTRUMENTS, STS))
    exchange.create_account(ACCOUNT, {"USDT": D(1_000_000), "STS": D(1000)})
    exchange.set_reference_prices()
    front_end = BinanceFrontEnd(exchange, credentials={CANARY_KEY: (CANARY_SECRET, ACCOUNT)},
                                faults=faults, market=S)
    await front_end.start()
    paths = PathCounter()
    config = BinanceConfig(account=ACCOUNT, market=S, rest_url=front_end.rest_url,
                           ws_private_url=front_end.ws_private_url, retry_base_ms=20,
                           retry_max_ms=200, timeout_s=3.0, symbols=(SYMBOL,))
    venue = BinanceVenue(config, CANARY_KEY, CANARY_SECRET, telemetry=paths)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")
    # amend_policy: spot cannot amend in place anyway; the default keeps young orders too
    engine = EngineSession(venue, ledger, ReconcileConfig(), amend_policy=AmendPolicy())
    r = Rig(exchange, front_end, venue, ledger, engine, paths)
    engine.orders.on_fill_discovered = r.discovered.append

    def monitor(_event: SimEvent) -> None:
        r.samples.append(len(r.live_on_venue()))

    unsubscribe = exchange.subscribe(ACCOUNT, monitor)
    try:
        yield r
    finally:
        unsubscribe()
        await venue.aclose()
        ledger.close()
        await front_end.stop()


def assert_one_live_per_intent(r: Rig, result: ReplaceResult) -> None:
    """What a venue declaring `atomic_replace` keeps after every outcome: never two live
    orders for one intent (at any instant the exchange changed state), the live one (if
    any) is the one the result names, and the ledger agrees with the venue about it."""
    assert max(r.samples, default=0) <= 1, r.samples
    live = r.live_on_venue()
    assert len(live) <= 1, live
    if result.live is not None and result.live.is_active:
        assert [o.client_order_id for o in live] == [result.live.client_order_id]
    if result.path in (ReplacePath.FAILED, ReplacePath.NOT_REPLACED_FILLED) and live:
        assert [o.client_order_id for o in live] == [result.old.client_order_id]
    ours_active = [o for o in r.ledger.orders("binance", ACCOUNT, True)
                   if o.status is not OrderStatus.PENDING_NEW]
    assert {o.client_order_id for o in ours_active} == {o.client_order_id for o in live}


def run(tmp_path: Path, body: Callable[[Rig], Awaitable[None]], *, faults: str = "") -> None:
    async def main() -> None:
        async with rig(tmp_path, faults=faults) as r:
            await body(r)
    asyncio.run(main())


# -- both halves done -------------------------------------------------------------------------


def test_a_replace_is_one_cancel_replace_request_under_a_new_client_id(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        assert r.venue.capabilities.atomic_replace and not r.venue.capabilities.amend
        placed = await r.engine.orders.place(r.bid())
        r.paths.paths.clear()
        result = await r.engine.orders.replace(placed, price=D("96"), qty=D(3))
        assert result.path is ReplacePath.REPLACED, result
        new = result.new
        assert new is not None and new.client_order_id != placed.client_order_id
        assert new.venue_order_id not in ("", placed.venue_order_id)
        assert (new.price, new.qty, new.status) == (D("96"), D(3), OrderStatus.NEW)
        assert (new.strategy_id, new.worker_id, new.role, new.label) == (
            "mm1", "w1", OrderRole.ENTRY, "rc_mm1_w1_entry")
        assert result.old.status is OrderStatus.CANCELLED
        # one request: no separate cancel, no separate create, no wait for a confirmation
        assert r.paths.paths == Counter({REPLACE_PATH: 1})
        assert r.ledger_order(placed.client_order_id).status is OrderStatus.CANCELLED
        assert r.ledger_order(new.client_order_id).status is OrderStatus.NEW
        assert_one_live_per_intent(r, result)
        # the replacement can itself be replaced; the original cannot
        again = await r.engine.orders.replace(new, price=D("97"))
        assert again.path is ReplacePath.REPLACED and again.new is not None
        assert_one_live_per_intent(r, again)

    run(tmp_path, body)


# -- the cancel refused: nothing changed --------------------------------------------------------


def test_a_replace_racing_a_partial_fill_is_refused_then_replaces_the_remainder(
        tmp_path: Path) -> None:
    """Our view says NEW; on the venue 1 of 2 filled meanwhile. ONLY_NEW refuses the cancel
    (-2022, cancelResult FAILURE, the new order NOT_ATTEMPTED): nothing changed, the venue
    is asked, and the replace goes on by cancel then create, sized from the final fill."""
    async def body(r: Rig) -> None:
        placed = await r.engine.orders.place(r.bid(qty="2"))
        r.exchange.hand_fill(ACCOUNT, placed.client_order_id, D(1))
        r.paths.paths.clear()
        result = await r.engine.orders.replace(placed, price=D("96"))
        assert r.replace_requests() == 1
        assert result.path is ReplacePath.REPLACED, result
        assert result.new is not None and result.new.qty == D(1)  # 2 in all, 1 filled
        assert result.old.status is OrderStatus.CANCELLED
        assert result.old.filled_qty == D(1)
        assert [o.client_order_id for o in r.discovered] == [placed.client_order_id]
        # the atomic attempt's intent was never placed: REJECTED, not pending
        rejected = [o for o in r.ledger.orders("binance", ACCOUNT)
                    if o.status is OrderStatus.REJECTED]
        assert len(rejected) == 1 and rejected[0].client_order_id not in (
            placed.client_order_id, result.new.client_order_id)
        assert_one_live_per_intent(r, result)

    run(tmp_path, body)


def test_a_replace_of_an_order_that_filled_meanwhile_creates_nothing(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        placed = await r.engine.orders.place(r.bid())
        r.exchange.hand_fill(ACCOUNT, placed.client_order_id)
        result = await r.engine.orders.replace(placed, price=D("96"))
        assert result.path is ReplacePath.NOT_REPLACED_FILLED, result
        assert result.new is None and result.old.status is OrderStatus.FILLED
        assert r.live_on_venue() == []
        assert r.ledger_order(placed.client_order_id).status is OrderStatus.FILLED
        assert [o.client_order_id for o in r.discovered] == [placed.client_order_id]
        assert [o.status for o in r.ledger.orders("binance", ACCOUNT)
                if o.client_order_id != placed.client_order_id] == [OrderStatus.REJECTED]
        assert_one_live_per_intent(r, result)

    run(tmp_path, body)


# -- cancelled, the new order refused (HTTP 409) ------------------------------------------------


def test_a_replace_that_cancels_but_cannot_place_leaves_nothing_live(tmp_path: Path) -> None:
    """A post-only bid moved above the ask: the cancel takes, the new order would take
    liquidity (-2010): HTTP 409. The original is cancelled, the intent REJECTED."""
    async def body(r: Rig) -> None:
        placed = await r.engine.orders.place(r.bid(time_in_force=TimeInForce.POST_ONLY))
        result = await r.engine.orders.replace(placed, price=D("150"))
        assert result.path is ReplacePath.FAILED, result
        assert "nothing is live" in result.error
        assert result.old.status is OrderStatus.CANCELLED
        assert result.new is not None and result.new.status is OrderStatus.REJECTED
        assert r.live_on_venue() == []
        assert r.ledger_order(placed.client_order_id).status is OrderStatus.CANCELLED
        assert r.ledger_order(result.new.client_order_id).status is OrderStatus.REJECTED
        assert_one_live_per_intent(r, result)

    run(tmp_path, body)


# -- refused whole --------------------------------------------------------------------------


def test_a_replace_refused_whole_changes_nothing(tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        placed = await r.engine.orders.place(r.bid())
        r.front_end.faults.add(f"retcode=-1013@{REPLACE_PATH}")
        result = await r.engine.orders.replace(placed, price=D("96"))
        assert result.path is ReplacePath.FAILED, result
        assert "the order is unchanged" in result.error
        assert [o.client_order_id for o in r.live_on_venue()] == [placed.client_order_id]
        assert r.ledger_order(placed.client_order_id).status is OrderStatus.NEW
        assert [o.status for o in r.ledger.orders("binance", ACCOUNT)
                if o.client_order_id != placed.client_order_id] == [OrderStatus.REJECTED]
        assert_one_live_per_intent(r, result)

    run(tmp_path, body)


# -- unknown outcomes: both client ids are asked ------------------------------------------------


def test_an_executed_replace_whose_answer_was_lost_is_found_by_its_client_id(
        tmp_path: Path) -> None:
    async def body(r: Rig) -> None:
        placed = await r.engine.orders.place(r.bid())
        r.front_end.faults.add(f"timeout_after_place=1@{REPLACE_PATH}")
        r.paths.paths.clear()
        result = await r.engine.orders.replace(placed, price=D("96"))
        assert result.path is ReplacePath.REPLACED, result
        assert r.replace_requests() == 1  # never sent again
        assert result.new is not None and result.new.price == D("96")
        assert result.old.status is OrderStatus.CANCELLED  # asked, not assumed
        assert r.ledger_order(result.new.client_order_id).status is OrderStatus.NEW
        assert r.ledger_order(placed.client_order_id).status is OrderStatus.CANCELLED
        assert not r.engine.risk.quarantined_idents()
        assert_one_live_per_intent(r, result)

    run(tmp_path, body)


def test_a_replace_with_an_unknown_outcome_the_venue_never_saw_stays_pending(
        tmp_path: Path) -> None:
    """HTTP 503 before the venue saw the request: the original is still live, the
    replacement unknown to the venue. Nothing is assumed: the replacement stays
    PENDING_NEW (the reconciliation settles it after the grace) and its instrument is
    quarantined until then; a late execution could only place it by cancelling the
    original."""
    async def body(r: Rig) -> None:
        placed = await r.engine.orders.place(r.bid())
        r.front_end.faults.add(f"http503=1@{REPLACE_PATH}")
        r.paths.paths.clear()
        result = await r.engine.orders.replace(placed, price=D("96"))
        assert result.path is ReplacePath.FAILED, result
        assert r.replace_requests() == 1
        assert result.old.status is OrderStatus.NEW  # the venue's word on the original
        assert [o.client_order_id for o in r.live_on_venue()] == [placed.client_order_id]
        [pending] = [o for o in r.ledger.orders("binance", ACCOUNT)
                     if o.status is OrderStatus.PENDING_NEW]
        assert pending.price == D("96") and pending.client_order_id != placed.client_order_id
        assert pending.ident in r.engine.risk.quarantined_idents()
        assert r.paths.paths["/api/v3/order"] >= 2  # asked for both client ids
        assert_one_live_per_intent(r, result)

    run(tmp_path, body)


# -- what is not atomic -----------------------------------------------------------------------


def test_a_partly_filled_order_is_replaced_by_cancel_then_create(tmp_path: Path) -> None:
    """ONLY_NEW would refuse it: the order manager does not ask, it cancels, confirms and
    creates the remainder."""
    async def body(r: Rig) -> None:
        placed = await r.engine.orders.place(r.bid(qty="3"))
        r.exchange.hand_fill(ACCOUNT, placed.client_order_id, D(1))
        partly = await r.venue.fetch_order(placed)
        assert partly is not None and partly.status is OrderStatus.PARTIALLY_FILLED
        r.paths.paths.clear()
        result = await r.engine.orders.replace(partly, price=D("96"))
        assert result.path is ReplacePath.REPLACED, result
        assert result.new is not None and result.new.qty == D(2)
        assert r.replace_requests() == 0
        assert_one_live_per_intent(r, result)

    run(tmp_path, body)
