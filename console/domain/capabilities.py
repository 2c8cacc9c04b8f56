"""What a venue connector can do beyond the required surface, declared, not discovered.

Every connector states its `VenueCapabilities` and implements every member of the venue
port; a member whose capability is off answers in a defined way (a no-op priority lane,
no rate budget, `CapabilityUnsupported` from the dead-man's switch and None for its
state). The engine branches on these flags, so a wrapper that forwards the port (the
demo's chaos venue) cannot drop a capability silently: it must forward `capabilities` and
every member, and the type checker and the venue contract suite hold it to that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.domain.values import DomainValueError


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
    """`set_dead_man_switch` arms a venue-side cancel-all for when we go silent;
    `dead_man_state()` says how it stands (the window shows it)."""
    hedge_mode: bool = False
    """Positions may be held long and short on one instrument at once."""
    atomic_replace: bool = False
    """`replace_order` cancels an untouched order and places its replacement (a new
    client id, a new venue id) in one venue request, the new order only if the cancel
    took: the order manager's replace then needs no wait for a cancel confirmation, and
    never shows two live orders for one intent. Otherwise `replace_order` raises
    `CapabilityUnsupported`."""


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
    """The venue-side dead-man's switch as its connector last set it: armed with
    `timeout_ms`, last confirmed by the venue at `refreshed_at`.

    A failed refresh keeps `armed`, `timeout_ms` and `refreshed_at` of the last success
    (the venue's countdown is still running from then, and runs out at
    `refreshed_at + timeout_ms` unless a refresh gets through) and says why in
    `last_error`; the next success clears it. The window shows this (the status bar), so
    it holds nothing secret: `last_error` is an error class and the venue's code, never
    a message that may quote a request.
    """

    armed: bool
    timeout_ms: int | None = None
    refreshed_at: int | None = None
    """Epoch ms (the connector's venue clock) of the last answer that armed or disarmed."""
    symbols: int | None = None
    """How many symbols the countdown covers (None: the venue's switch is per account)."""
    last_error: str = ""
    """Why the last arm, refresh or disarm failed ("" after a success)."""

    def __post_init__(self) -> None:
        if not isinstance(self.armed, bool):
            raise DomainValueError(f"dead-man state: armed {self.armed!r} is not a bool")
        if self.timeout_ms is not None and (not _is_int(self.timeout_ms)
                                            or self.timeout_ms <= 0):
            raise DomainValueError(f"dead-man state: timeout_ms {self.timeout_ms!r} must be "
                                   "a positive number of milliseconds")
        if self.armed and (self.timeout_ms is None or self.refreshed_at is None):
            raise DomainValueError("dead-man state: an armed switch has a timeout and the "
                                   "time it was armed")
        if self.refreshed_at is not None and (not _is_int(self.refreshed_at)
                                              or self.refreshed_at < 0):
            raise DomainValueError(f"dead-man state: refreshed_at {self.refreshed_at!r} is "
                                   "not an epoch-millisecond timestamp")
        if self.symbols is not None and (not _is_int(self.symbols) or self.symbols < 0):
            raise DomainValueError(f"dead-man state: symbols {self.symbols!r} must be a "
                                   "count")
        if not isinstance(self.last_error, str) or "\n" in self.last_error \
                or len(self.last_error) > MAX_ERROR_CHARS:
            raise DomainValueError("dead-man state: last_error must be one short line "
                                   f"(at most {MAX_ERROR_CHARS} characters)")

    def runs_out_at(self) -> int | None:
        """When the venue's countdown fires unless refreshed (None: not armed)."""
        if not self.armed or self.timeout_ms is None or self.refreshed_at is None:
            return None
        return self.refreshed_at + self.timeout_ms


MAX_ERROR_CHARS = 120
"""`DeadManState.last_error` is shown in a status bar: a class name and a code fit."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
