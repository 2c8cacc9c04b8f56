"""Amend first, through Bybit's protocol: the order manager, the real pybit adapter and the
simulated exchange's Bybit front-end on loopback, with a real SQLite ledger.

"Exactly one live order" is checked on the exchange itself: a listener subscribed to the
account's private feed runs inside every state change of the simulated exchange (on its
own thread) and counts the live orders on the test's symbol at that instant. A
create-before-cancel would be seen as two, however briefly.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from canary import CANARY_KEY, CANARY_SECRET

from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
from console.engine.order_manager import (
    AmendPolicy,
    ReplacePath,
    ReplaceRefusedError,
    TradingHaltedError,
)
from console.engine.session import EngineSession
from console.reconcile import ReconcileConfig
from console.sim.events import SimEvent
from console.sim.server import SimServerHandle, run_sim_server_in_thread
from console.store import Ledger
from console.venues.bybit import BybitConfig, BybitVenue

pytestmark = pytest.mark.timeout(60)
SYMBOL = "BTCUSDT"  # mark 60000: bids at 50000 rest


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


class LiveMonitor:
    """Runs inside every exchange state change: the live orders on one symbol, then."""

    def __init__(self, server: SimServerHandle, symbol: str) -> None:
        self.server = server
        self.symbol = symbol
        self.samples: list[int] = []

    def __call__(self, _event: SimEvent) -> None:
        live = [o for o in self.server.exchange.open_orders(self.server.account)
                if o.symbol == self.symbol]
        self.samples.append(len(live))

    def runs(self) -> list[int]:
        """The samples with repeats collapsed: [1, 0, 1] is cancel, then create."""
        return [n for i, n in enumerate(self.samples) if i == 0 or self.samples[i - 1] != n]

    @property
    def max_live(self) -> int:
        return max(self.samples, default=0)


@dataclass
class Rig:
    server: SimServerHandle
    venue: BybitVenue
    ledger: Ledger
    engine: EngineSession
    paths: PathCounter
    monitor: LiveMonitor

    def bid(self, price: str = "50000", qty: str = "0.010") -> Order:
        return Order(venue="bybit", account="main", category=Category.LINEAR, symbol=SYMBOL,
                     side=Side.BUY, type=OrderType.LIMIT, qty=Decimal(qty),
                     status=OrderStatus.PENDING_NEW,
                     client_order_id=self.engine.ids.next(OrderRole.ENTRY),
                     price=Decimal(price), strategy_id="mm1", worker_id="w1",
                     role=OrderRole.ENTRY, label="rc_mm1_w1_entry")

    def live_on_venue(self) -> list[Order]:
        return [o for o in self.server.call(self.server.exchange.open_orders, "main")
                if o.symbol == SYMBOL]

    def ledger_orders(self) -> list[Order]:
        return [o for o in self.ledger.orders("bybit", "main") if o.symbol == SYMBOL]

    def ledger_order(self, client_id: str) -> Order:
        [found] = [o for o in self.ledger_orders() if o.client_order_id == client_id]
        return found


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def build(policy: AmendPolicy | None = None) -> Rig:
        server = run_sim_server_in_thread(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
        paths = PathCounter()
        config = BybitConfig(account="main", rest_url=server.rest_url,
                             ws_private_url=server.ws_private_url, retry_base_ms=50,
                             retry_max_ms=2000)
        venue = BybitVenue(config, server.api_key, server.api_secret, telemetry=paths)
        ledger = Ledger.open(f"sqlite:///{tmp_path / f'ledger{len(rigs)}.db'}")
        engine = EngineSession(venue, ledger, ReconcileConfig(), amend_policy=policy)
        monitor = LiveMonitor(server, SYMBOL)
        server.call(server.exchange.subscribe, "main", monitor)
        rig = Rig(server, venue, ledger, engine, paths, monitor)
        rigs.append(rig)
        return rig

    yield build
    for rig in rigs:
        asyncio.run(rig.venue.aclose())
        rig.ledger.close()
        rig.server.stop()


QUICK = AmendPolicy(min_time_in_book_ms=150)


def settle(rig: Rig, policy: AmendPolicy) -> None:
    """Let the order rest for the policy's minimum time in the book."""
    time.sleep(policy.min_time_in_book_ms / 1000 + 0.05)
    rig.paths.paths.clear()


def test_a_small_change_of_a_rested_order_is_amended_in_place(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(QUICK)
    placed = asyncio.run(rig.engine.orders.place(rig.bid()))
    settle(rig, QUICK)
    result = asyncio.run(rig.engine.orders.replace(placed, price=Decimal("50100")))  # 20 bps
    assert result.path is ReplacePath.AMENDED, result
    assert result.new is not None and result.new.venue_order_id == placed.venue_order_id
    assert result.new.price == Decimal("50100")
    # one amend request (the read-back is a query), nothing cancelled, nothing created
    assert rig.paths.paths["/v5/order/amend"] == 1
    assert rig.paths.paths["/v5/order/cancel"] == rig.paths.paths["/v5/order/create"] == 0
    [live] = rig.live_on_venue()
    assert (live.venue_order_id, live.price) == (placed.venue_order_id, Decimal("50100"))
    assert rig.ledger_order(placed.client_order_id).price == Decimal("50100")
    assert rig.monitor.max_live == 1


def check_replaced(rig: Rig, placed: Order, result: Any, price: str) -> Order:
    assert result.path is ReplacePath.REPLACED, result
    new = result.new
    assert new is not None and new.client_order_id != placed.client_order_id
    assert new.venue_order_id != placed.venue_order_id
    assert (new.strategy_id, new.worker_id, new.role, new.label) == (
        "mm1", "w1", OrderRole.ENTRY, "rc_mm1_w1_entry")
    assert result.old.status is OrderStatus.CANCELLED
    [live] = rig.live_on_venue()
    assert (live.client_order_id, live.price) == (new.client_order_id, Decimal(price))
    # the ledger holds both steps: the old one cancelled, the new one live
    assert rig.ledger_order(placed.client_order_id).status is OrderStatus.CANCELLED
    assert rig.ledger_order(new.client_order_id).status is OrderStatus.NEW
    assert rig.ledger_order(new.client_order_id).strategy_id == "mm1"
    assert rig.monitor.max_live == 1, rig.monitor.samples
    assert rig.monitor.runs()[-3:] == [1, 0, 1]  # the cancel took before the create
    return new


def test_a_young_order_is_cancelled_then_replaced_never_two_live(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(AmendPolicy())  # 500 ms in the book before an amend
    placed = asyncio.run(rig.engine.orders.place(rig.bid()))
    result = asyncio.run(rig.engine.orders.replace(placed, price=Decimal("50100")))
    assert "less than 500 ms" in result.reason
    check_replaced(rig, placed, result, "50100")
    assert rig.paths.paths["/v5/order/amend"] == 0


def test_a_change_beyond_the_threshold_is_cancel_and_create(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(QUICK)
    placed = asyncio.run(rig.engine.orders.place(rig.bid()))
    settle(rig, QUICK)
    result = asyncio.run(rig.engine.orders.replace(placed, price=Decimal("52000")))  # 400 bps
    assert "bps" in result.reason
    check_replaced(rig, placed, result, "52000")
    assert rig.paths.paths["/v5/order/amend"] == 0


@pytest.mark.parametrize(("fault", "code"), [
    ("retcode=110001@/v5/order/amend", "110001"),  # unknown order / not modifiable
    ("retcode=10006x30@/v5/order/amend", "10006"),  # rate-limited past the adapter's budget
])
def test_a_refused_amend_falls_back_to_cancel_and_create(
        make_rig: Callable[..., Rig], fault: str, code: str) -> None:
    rig = make_rig(QUICK)
    placed = asyncio.run(rig.engine.orders.place(rig.bid()))
    settle(rig, QUICK)
    rig.server.faults.add(fault)
    result = asyncio.run(rig.engine.orders.replace(placed, price=Decimal("50100")))
    assert "refused the amend" in result.reason and f"retCode {code}" in result.reason
    check_replaced(rig, placed, result, "50100")
    assert rig.paths.paths["/v5/order/amend"] >= 1
    rig.server.faults.clear()


def test_an_amend_racing_a_fill_creates_no_replacement(make_rig: Callable[..., Rig]) -> None:
    """The amend is refused, the cancel is held in flight (latency) and the order fills
    meanwhile: the cancel answers 110001, the venue says FILLED, nothing is created."""
    rig = make_rig(QUICK)
    placed = asyncio.run(rig.engine.orders.place(rig.bid()))
    settle(rig, QUICK)
    rig.server.faults.add("retcode=110001@/v5/order/amend;latency=400ms@/v5/order/cancel")
    discovered: list[Order] = []
    rig.engine.orders.on_fill_discovered = discovered.append

    async def race() -> Any:
        task = asyncio.create_task(rig.engine.orders.replace(placed, price=Decimal("50100")))
        while rig.paths.paths["/v5/order/amend"] == 0:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the cancel is now held by the front-end
        rig.server.call(rig.server.exchange.hand_fill, "main", placed.venue_order_id)
        return await task

    result = asyncio.run(race())
    assert result.path is ReplacePath.NOT_REPLACED_FILLED, result
    assert result.new is None and result.old.status is OrderStatus.FILLED
    assert rig.paths.paths["/v5/order/create"] == 0
    assert rig.live_on_venue() == []
    assert [o.status for o in rig.ledger_orders()] == [OrderStatus.FILLED]
    assert rig.ledger_order(placed.client_order_id).filled_qty == placed.qty
    assert [o.client_order_id for o in discovered] == [placed.client_order_id]
    assert rig.monitor.max_live == 1


def test_a_partly_filled_order_is_replaced_by_its_remainder(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(QUICK)
    placed = asyncio.run(rig.engine.orders.place(rig.bid(qty="0.010")))
    rig.server.call(rig.server.exchange.hand_fill, "main", placed.venue_order_id,
                    Decimal("0.004"))
    result = asyncio.run(rig.engine.orders.replace(placed, price=Decimal("52000")))
    new = check_replaced(rig, placed, result, "52000")
    assert result.old.filled_qty == Decimal("0.004")
    assert new.qty == Decimal("0.006")  # the intent was 0.010 in all, 0.004 already filled


def test_a_qty_at_or_below_the_filled_qty_is_refused_before_anything_is_sent(
        make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(QUICK)
    placed = asyncio.run(rig.engine.orders.place(rig.bid(qty="0.010")))
    partly = placed.evolve(status=OrderStatus.PARTIALLY_FILLED, filled_qty=Decimal("0.004"))
    rig.paths.paths.clear()
    with pytest.raises(ReplaceRefusedError, match=r"not above the 0\.004 already filled"):
        asyncio.run(rig.engine.orders.replace(partly, qty=Decimal("0.004")))
    with pytest.raises(ReplaceRefusedError, match="new price, a new qty"):
        asyncio.run(rig.engine.orders.replace(placed))
    assert sum(rig.paths.paths.values()) == 0
    assert [o.client_order_id for o in rig.live_on_venue()] == [placed.client_order_id]


def test_a_replaced_order_cannot_be_replaced_twice(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(AmendPolicy())
    placed = asyncio.run(rig.engine.orders.place(rig.bid()))
    first = asyncio.run(rig.engine.orders.replace(placed, price=Decimal("50100")))
    assert first.path is ReplacePath.REPLACED
    with pytest.raises(ReplaceRefusedError, match="already cancelled or replaced"):
        asyncio.run(rig.engine.orders.replace(placed, price=Decimal("50200")))
    assert len(rig.live_on_venue()) == 1


def test_no_replace_while_halted(make_rig: Callable[..., Rig]) -> None:
    rig = make_rig(QUICK)
    placed = asyncio.run(rig.engine.orders.place(rig.bid()))
    rig.engine.risk.halt("test", by="emergency:test", at=0)
    with pytest.raises(TradingHaltedError):
        asyncio.run(rig.engine.orders.replace(placed, price=Decimal("50100")))
    assert [o.client_order_id for o in rig.live_on_venue()] == [placed.client_order_id]
