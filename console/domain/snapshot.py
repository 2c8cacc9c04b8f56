"""What the reconciler compares, and the ledger changes it asks for."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.domain.model import Balance, Fill, Order, Position, RunnerState


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """The ledger's view of one (venue, account).

    `orders` is the working set: every active order plus terminal ones still within the
    retention window. `fills` holds every ledger fill with `exec_time >= fills_from`, so a
    venue fill in that window that is not here is truly missing.
    """

    venue: str
    account: str
    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    fills_from: int = 0
    positions: tuple[Position, ...] = ()
    balances: tuple[Balance, ...] = ()
    runner_states: tuple[RunnerState, ...] = ()
    last_exec_time: int | None = None


@dataclass(frozen=True, slots=True)
class VenueSnapshot:
    """What the venue said. A field left `None` was not fetched (or its fetch failed):
    the checks that depend on it are skipped and reported as not verified, never read as
    "nothing there".

    `queried_orders` answers, per ledger order ident, the by-id lookup of orders that are
    active locally but absent from `open_orders`; `not_found` lists idents the venue
    says it has never seen. An ident in neither was not resolved this cycle.
    """

    venue: str
    account: str
    taken_at: int
    open_orders: tuple[Order, ...] | None = None
    queried_orders: dict[str, Order] = field(default_factory=dict)
    not_found: frozenset[str] = frozenset()
    fills: tuple[Fill, ...] | None = None
    fills_window: tuple[int, int] | None = None
    positions: tuple[Position, ...] | None = None
    balances: tuple[Balance, ...] | None = None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class LedgerChanges:
    """Set-based writes: upsert these orders (by ident), insert these fills if absent, upsert
    or remove these positions (by key), upsert these balances and runner states."""

    orders: tuple[Order, ...] = ()
    fills: tuple[Fill, ...] = ()
    positions: tuple[Position, ...] = ()
    removed_positions: tuple[str, ...] = ()
    balances: tuple[Balance, ...] = ()
    runner_states: tuple[RunnerState, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not (self.orders or self.fills or self.positions or self.removed_positions
                    or self.balances or self.runner_states)
