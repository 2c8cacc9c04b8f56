"""Which trades a full page of a timed trade listing holds, on both markets.

Binance's spot "General API Information": data is chronological; without startTime or
endTime the most recent items up to the limit; with startTime the oldest items from
startTime up to the limit; with endTime only the most recent up to endTime; with both,
like startTime but not past endTime. USD-M's userTrades page says nothing of it; the sim
applies the same rule (`console.sim.binance.scope.timed_page`). A client paging forward
from startTime must get a window's first trades, never its last ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from binance_rest_helpers import RestSim

MARKETS = {  # market: (order path, trades path)
    "spot": ("/api/v3/order", "/api/v3/myTrades"),
    "usdm": ("/fapi/v1/order", "/fapi/v1/userTrades"),
}
COUNT = 5
LIMIT = 2


@pytest.fixture
def sim() -> Iterator[RestSim]:
    handle = RestSim()
    yield handle
    handle.stop()


def trades(sim: RestSim, market: str, **query: Any) -> list[tuple[int, int]]:
    answer = sim.signed("GET", MARKETS[market][1], {"symbol": "BTCUSDT", **query})
    assert answer.status_code == 200, answer.text
    return [(t["id"], t["time"]) for t in answer.json()]


@pytest.mark.parametrize("market", sorted(MARKETS))
def test_a_timed_page_holds_the_oldest_trades_from_start_time(sim: RestSim,
                                                              market: str) -> None:
    for i in range(COUNT):
        placed = sim.signed("POST", MARKETS[market][0], {
            "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001",
            "newClientOrderId": f"order-{market}-{i}"})
        assert placed.status_code == 200, placed.text
    every = trades(sim, market, limit=1000)
    assert len(every) == COUNT  # one fill per order: the book's first level holds 0.5
    assert every == sorted(every) and len({tid for tid, _ in every}) == COUNT
    start, end = every[0][1], every[-1][1]

    assert trades(sim, market, startTime=start, limit=LIMIT) == every[:LIMIT]
    assert trades(sim, market, startTime=start, endTime=end, limit=LIMIT) == every[:LIMIT]
    later = every[1][1]  # from the second trade's millisecond on
    assert trades(sim, market, startTime=later, limit=LIMIT) == [
        t for t in every if t[1] >= later][:LIMIT]
    assert trades(sim, market, endTime=end, limit=LIMIT) == every[-LIMIT:]
    assert trades(sim, market, limit=LIMIT) == every[-LIMIT:]
    # fromId lists upwards from that id, whatever the times
    assert trades(sim, market, fromId=every[1][0], limit=LIMIT) == every[1:1 + LIMIT]
