"""The priority lane: requests made for an emergency stop must not queue behind ordinary
ones.

A connector with a lane keeps two of whatever carries its requests (two worker-thread
pools with their own sessions for a blocking client, see `threads.WorkerThreads`; two
connection pools for an async client, see `Lanes`) and routes each request by the
`priority_lane()` context. The context is a context variable: tasks started inside
inherit it, and it belongs to the task, so an emergency stop running in one task does not
promote the ordinary requests other tasks make meanwhile.

The variable is shared by every connector: "this task is the emergency" holds for every
venue the task talks to. A connector without a lane simply never reads it (its
`priority()` is a no-op, see `connector.ConnectorBase`).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

T = TypeVar("T")

_URGENT: Final = contextvars.ContextVar("venue_priority_lane", default=False)
"""True inside `priority_lane()`: tasks started there inherit it."""


@contextmanager
def priority_lane() -> Iterator[None]:
    """Requests made inside (and by tasks started inside) take the priority lane."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def in_priority_lane() -> bool:
    """Whether the current context asked for the priority lane."""
    return _URGENT.get()


@dataclass(frozen=True, slots=True)
class Lanes(Generic[T]):
    """Two carriers of requests (an async client's sessions or connection pools), picked
    by the context. A connector without a lane uses `Lanes.single(carrier)`: both lanes
    are then the same carrier and routing is a no-op."""

    normal: T
    priority: T

    @classmethod
    def single(cls, carrier: T) -> Lanes[T]:
        return cls(carrier, carrier)

    def current(self) -> T:
        return self.priority if _URGENT.get() else self.normal

    @property
    def separate(self) -> bool:
        """True when the priority lane has a carrier of its own."""
        return self.priority is not self.normal
