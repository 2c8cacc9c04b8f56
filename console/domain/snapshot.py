"""What the reconciler compares, and the ledger changes it asks for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from console.domain.model import Balance, Fill, Order, Position, RunnerState

WHOLE_ACCOUNT = ""
"""The coverage scope of a fill fetch over every category the venue port reads."""


@dataclass(frozen=True, slots=True)
class FillCoverage:
    """A window of the venue's fill history that one reconciliation read in full and
    wrote into the ledger: every venue fill with ``start <= exec_time <= end`` is in the
    ledger now (or awaits an operator's approval, which `end` stops short of).

    The ledger keeps, per (venue, account, scope), a *coverage mark*: the time up to which
    its fill history is verified complete. `advance` is the one rule that moves it (the
    store applies the same rule in SQL, atomically with the run that read the window).
    """

    start: int
    end: int
    scope: str = WHOLE_ACCOUNT

    def advance(self, mark: int | None) -> int | None:
        """The mark after this window is recorded over `mark`.

        A window that starts after the mark leaves a gap that nobody read: the mark stays.
        Otherwise the mark becomes `end`: forward over what was read, or back when `end`
        stops short of a fill still awaiting approval (asking again is always safe; a mark
        past an unrecorded fill is how a fill is lost for good). No mark yet: the first
        window read sets it.
        """
        if mark is not None and self.start > mark:
            return mark
        return self.end


@dataclass(frozen=True, slots=True)
class LedgerSnapshot:
    """The ledger's view of one (venue, account).

    `orders` is the working set: every active order plus terminal ones still within the
    retention window. `fills` holds every ledger fill with `exec_time >= fills_from`, so a
    venue fill in that window that is not here is truly missing.

    `fill_coverage` is the coverage mark (see `FillCoverage`): None when no run has read
    the venue's fills into this ledger yet. `fill_totals` sums, per venue order id, the
    quantity of every ledger fill (any time) of the working-set orders that have one: an
    order whose filled quantity exceeds it lacks fills that may predate `fills_from`.
    `last_exec_time` is the newest ledger fill's time, for display; the fill back-fill
    never starts from it (a fill recorded by the stream says nothing of those before it).
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
    fill_coverage: int | None = None
    fill_totals: Mapping[str, Decimal] = field(default_factory=dict)


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
