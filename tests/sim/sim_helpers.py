"""Shared helpers of the sim tests (imported by name: tests/sim is on sys.path)."""

from __future__ import annotations

from console.sim import linear


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, start: int = 1_700_000_000_000) -> None:
        self.now = start

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int = 1000) -> int:
        self.now += ms
        return self.now


TST = linear("TSTUSDT", "TST", tick="0.1", step="1", min_qty="1", level_qty="10",
             reference_price="100")
