"""What the engine needs to know of a strategy: its name, and how to stop it.

Strategies (the bracket runner, a bot's workers) register on the `EngineSession`, so
that an emergency stop can stop every one of them without knowing what they are. Stopping
is best-effort and bounded: a strategy that hangs or raises is reported, never allowed
to hold up the rest of the emergency stop.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


class Strategy(Protocol):
    @property
    def name(self) -> str:
        """Unique within a session; shown in reports and the audit log."""
        ...

    async def stop(self) -> None:
        """Stop placing orders and end its tasks. Must be safe to call twice."""
        ...


@dataclass(frozen=True, slots=True)
class StrategyStop:
    name: str
    error: str = ""
    """Empty when it stopped; otherwise what went wrong (raised, or timed out)."""


class StrategyRegistry:
    """The strategies of one session, in registration order."""

    def __init__(self) -> None:
        self._strategies: dict[str, Strategy] = {}

    def register(self, strategy: Strategy) -> None:
        name = strategy.name
        if not name:
            raise ValueError("a strategy needs a name")
        existing = self._strategies.get(name)
        if existing is not None and existing is not strategy:
            raise ValueError(f"a strategy named {name!r} is already registered")
        self._strategies[name] = strategy

    def unregister(self, name: str) -> None:
        self._strategies.pop(name, None)

    @property
    def strategies(self) -> tuple[Strategy, ...]:
        return tuple(self._strategies.values())

    async def stop_all(self, timeout_s: float = 5.0) -> list[StrategyStop]:
        """Stop every strategy at once, each bounded by `timeout_s`."""

        async def stop_one(strategy: Strategy) -> StrategyStop:
            try:
                await asyncio.wait_for(strategy.stop(), timeout_s)
            except TimeoutError:
                return StrategyStop(strategy.name, f"did not stop within {timeout_s:g} s")
            except Exception as exc:
                # a broken strategy must not stop the emergency stop: report it
                log.exception("strategy %s: stop failed", strategy.name)
                return StrategyStop(strategy.name, f"{type(exc).__name__}: {exc}")
            return StrategyStop(strategy.name)

        return list(await asyncio.gather(*(stop_one(s) for s in self.strategies)))
