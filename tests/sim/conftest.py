"""Fixtures for the simulated exchange: a controllable clock and a small, round market.

TSTUSDT (linear) has tick 0.1, qty step 1 and 10 per book level, so hand-computed
expectations stay readable: with the mark at 100 the asks are 100.1, 100.2, ... and the
bids 99.9, 99.8, ...
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sim_helpers import TST, Clock

from console.domain import Category
from console.sim import DEFAULT_INSTRUMENTS, SimExchange


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ex(clock: Clock) -> SimExchange:
    exchange = SimExchange(seed=1, clock_ms=clock, instruments=(*DEFAULT_INSTRUMENTS, TST))
    exchange.create_account("a", {"USDT": Decimal(100000)})
    exchange.set_price(Category.LINEAR, "TSTUSDT", Decimal(100))
    exchange.set_price(Category.LINEAR, "BTCUSDT", Decimal(60000))
    exchange.set_price(Category.SPOT, "BTCUSDT", Decimal(60000))
    return exchange
