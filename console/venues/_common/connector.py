"""`ConnectorBase`: the defaults of the venue port's optional members, for real
connectors.

The engine's `VenuePort` requires every member; what a venue cannot do is declared in
`capabilities` (`console.domain.capabilities.VenueCapabilities`) and the member answers
in the documented way. A connector subclasses `ConnectorBase`, sets `venue` and
`capabilities`, and overrides only what it really offers. The defaults follow the
declared flags, so flag and behaviour cannot disagree:
* priority lane: `priority()` enters `lane.priority_lane()` when `priority_lane` is
  declared (the connector routes by it, e.g. with `threads.WorkerThreads`), else it is a
  no-op; `priority_calls` counts the requests that took the lane (without a lane it is
  `calls` itself); `warm_priority_lane()` does nothing unless overridden;
* `rate_budget()` answers None (override it with `budget.BudgetKeeper.snapshot()`);
* `cancel_all_ids`, `replace_order` and `set_dead_man_switch` raise
  `CapabilityUnsupported`, and
  `dead_man_state()` answers None (a connector with a switch overrides both).
"""

from __future__ import annotations

from collections import Counter
from contextlib import AbstractContextManager, nullcontext
from typing import ClassVar

from console.domain.capabilities import DeadManState, RateBudget, VenueCapabilities
from console.domain.enums import Category
from console.domain.model import Order
from console.errors import CapabilityUnsupported
from console.venues._common.lane import in_priority_lane, priority_lane


class ConnectorBase:
    """Defaults for the optional `VenuePort` members (see the module docstring)."""

    venue: str = ""
    capabilities: ClassVar[VenueCapabilities] = VenueCapabilities()

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        """Requests made so far, by method (pages and retries count one each)."""
        self._priority_calls: Counter[str] = Counter()

    # -- priority lane ----------------------------------------------------------------

    def priority(self) -> AbstractContextManager[None]:
        """Requests made inside (and by tasks started inside) take the priority lane."""
        return priority_lane() if self.capabilities.priority_lane else nullcontext()

    @property
    def priority_calls(self) -> Counter[str]:
        """The requests of `calls` that took the priority lane (`calls` without a lane)."""
        return self._priority_calls if self.capabilities.priority_lane else self.calls

    def urgent(self) -> bool:
        """Whether a request made now takes the priority lane."""
        return self.capabilities.priority_lane and in_priority_lane()

    def count_call(self, method: str, *, urgent: bool = False) -> None:
        """Count one request of `method` (and, when `urgent`, one in the lane)."""
        self.calls[method] += 1
        if urgent:
            self._priority_calls[method] += 1

    async def warm_priority_lane(self) -> None:
        """Open the lane's connections ahead of an emergency: nothing to do by default."""
        return None

    # -- capabilities off by default ---------------------------------------------------

    def rate_budget(self) -> RateBudget | None:
        return None

    async def cancel_all_ids(self, category: Category,
                             symbol: str | None = None) -> list[tuple[str, str]]:
        raise CapabilityUnsupported(f"{self.venue}: this connector answers bulk cancels "
                                    "with orders, not ids", venue=self.venue)

    async def replace_order(self, order: Order, replacement: Order) -> tuple[Order, Order]:
        raise CapabilityUnsupported(f"{self.venue}: this connector has no atomic replace "
                                    "(the order manager cancels, then creates)",
                                    venue=self.venue)

    async def set_dead_man_switch(self, timeout_ms: int | None) -> DeadManState:
        raise CapabilityUnsupported(f"{self.venue}: this connector has no dead-man's "
                                    "switch", venue=self.venue)

    def dead_man_state(self) -> DeadManState | None:
        return None
