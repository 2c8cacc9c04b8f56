"""How adapters report what they measure without knowing who listens.

The engine's metrics registry satisfies `Telemetry`; adapters take one at construction
(default: `NULL_TELEMETRY`). Stages are short names ("rest", "ws", "reconcile");
labels are (name, value) pairs such as (("class", "rate_limited"),).
"""

from __future__ import annotations

from typing import Protocol

Labels = tuple[tuple[str, str], ...]


class Telemetry(Protocol):
    def observe_latency(self, stage: str, ms: float, labels: Labels = ()) -> None:
        """One timed operation of `stage`, in milliseconds (floats are fine: not money)."""
        ...

    def count(self, name: str, labels: Labels = (), amount: int = 1) -> None:
        """Increment counter `name` (e.g. "rest_errors", "ws_reconnects")."""
        ...


class NullTelemetry:
    def observe_latency(self, stage: str, ms: float, labels: Labels = ()) -> None:
        return None

    def count(self, name: str, labels: Labels = (), amount: int = 1) -> None:
        return None


NULL_TELEMETRY: Telemetry = NullTelemetry()
