"""The demo's market on the embedded sim: what the quoting strategy reads of it (the
engine's `MarketView`, answered from the exchange's memory) and a random walk that moves
the marks, so that quotes get amended and filled while the window is open."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal

from console.domain import Category
from console.errors import UserFacingError
from console.sim import SimExchange

log = logging.getLogger(__name__)

WALK_INTERVAL_S = 1.0
WALK_TICKS = 6


class SimMarket:
    """The quoter's `MarketView` over the sim, and a random walk that moves the marks."""

    def __init__(self, exchange: SimExchange, account: str,
                 symbols: tuple[tuple[Category, str], ...]) -> None:
        self.exchange = exchange
        self.account = account
        self.symbols = symbols
        self._task: asyncio.Task[None] | None = None

    def mark(self, category: Category, symbol: str) -> Decimal | None:
        return self.exchange.mark_price(category, symbol)

    def tick(self, category: Category, symbol: str) -> Decimal:
        return self.exchange.instrument(category, symbol).tick_size

    def position(self, category: Category, symbol: str) -> Decimal:
        found = self.exchange.position(self.account, category, symbol)
        return found.size if found is not None else Decimal(0)

    def start(self, interval_s: float = WALK_INTERVAL_S, max_ticks: int = WALK_TICKS) -> None:
        """Start walking the marks (needs a running loop); a second call does nothing."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._walk(interval_s, max_ticks), name="sim-market")

    async def _walk(self, interval_s: float, max_ticks: int) -> None:
        while True:
            await asyncio.sleep(interval_s)
            for category, symbol in self.symbols:
                try:
                    self.exchange.random_walk(category, symbol, max_ticks=max_ticks)
                except UserFacingError as exc:
                    log.info("sim market %s: %s", symbol, exc)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
