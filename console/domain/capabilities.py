"""What a venue connector can do beyond the required surface, declared, not discovered.

Every connector states its `VenueCapabilities` and implements every member of the venue
port; a member whose capability is off answers in a defined way (a no-op priority lane,
no rate budget, `CapabilityUnsupported` from the dead-man's switch). The engine branches
on these flags, so a wrapper that forwards the port (the demo's chaos venue) cannot drop a
capability silently: it must forward `capabilities` and every member, and the type checker
and the venue contract suite hold it to that.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    amend: bool = False
    """`amend_order` changes price/quantity in place; otherwise replace is cancel + create."""
    bulk_cancel_ids: bool = False
    """`cancel_all_ids` answers with the acknowledged (venue id, client id) pairs."""
    priority_lane: bool = False
    """`priority()` routes requests through a lane reserved for the emergency stop."""
    rate_budget: bool = False
    """`rate_budget()` reports what the venue's rate-limit headers said."""
    dead_man_switch: bool = False
    """`set_dead_man_switch` arms a venue-side cancel-all for when we go silent."""
    hedge_mode: bool = False
    """Positions may be held long and short on one instrument at once."""


@dataclass(frozen=True, slots=True)
class EndpointBudget:
    """The last rate-limit figures a venue reported for one endpoint (None: not said)."""

    endpoint: str
    limit: int | None
    remaining: int | None
    reset_at: int | None
    """Venue time (ms) at which `remaining` is refilled."""
    seen_at: int


@dataclass(frozen=True, slots=True)
class RateBudget:
    endpoints: tuple[EndpointBudget, ...] = field(default=())

    def get(self, endpoint: str) -> EndpointBudget | None:
        for budget in self.endpoints:
            if budget.endpoint == endpoint:
                return budget
        return None


@dataclass(frozen=True, slots=True)
class DeadManState:
    """The venue-side dead-man's switch: armed with `timeout_ms`, refreshed at `refreshed_at`."""

    armed: bool
    timeout_ms: int | None = None
    refreshed_at: int | None = None
