"""The knobs of a reconciliation. Defaults are the safe ones: the ledger follows the venue
on its own, the venue is never touched without an operator."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from console.domain.values import ZERO, DomainValueError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
_PREFIX = re.compile(r"^[A-Za-z0-9]{1,6}$")  # what ClientOrderIdGenerator accepts


@dataclass(frozen=True, slots=True)
class ReconcileConfig:
    """Policy and tolerances for one (venue, account).

    - `our_prefix`: the client-id prefix that marks an order as ours (see `domain.ids`).
    - balances differ only when |ledger - venue| > max(abs_tol, rel_tol * |venue|),
      field by field (total, free, locked).
    - positions differ when size or entry price differ by more than their tolerance (0).
    - `stale_order_timeout_ms`: our resting orders older than this are proposed for
      cancellation; None disables the check.
    - `terminal_retention_ms`: how long terminal orders stay in the working set.
    - `pending_grace_ms`: a PENDING_NEW order younger than this that the venue does not
      know is still in flight, not lost.
    - `hard_desync_ratio`: order discrepancies above this share of tracked orders pause
      new risk (any position discrepancy does too).
    - `venue_actions_auto` / `ledger_actions_auto`: whether those actions run without an
      operator's approval.
    - `fill_margin_ms`: the fill back-fill starts this long before the ledger's coverage
      mark (late prints, clock skew), `fill_default_lookback_ms` before now when the
      ledger has no mark yet (a new or upgraded ledger): a week less ten minutes, so that
      the first back-fill is one 7-day window on venues that allow no more (Binance asks
      a request per symbol per window: exactly a week would double them).
    - `fill_order_lookback_ms`: how far back the fill query of an order whose filled
      quantity exceeds its ledger fills may reach (to the order's creation, at most this
      long ago): bounds the cost of an order whose venue history is gone.
    - `cold_start_workers` / `worker_idle_ms`: a saved bracket whose entry still rests is
      void (cancel it, clear the state: seed 003) when its worker is gone: the worker is
      restarting in this session (its (user_id, worker_id) is listed here for the startup
      reconciliation), or it has not updated its runner state for `worker_idle_ms`. Only
      this session's own workers are listed: on a shared ledger another process's live
      workers must never be taken for gone. A live worker's resting entry is simply
      waiting to fill.
    - `in_flight`: idents of orders this session is sending right now (intent written,
      answer not yet recorded). Such a PENDING_NEW order that the venue shows live is
      deferred, not "corrected": its sender records the answer. A sender that gave up
      leaves the set, and the reconciler settles the order.
    """

    our_prefix: str = "rc"
    balance_abs_tolerance: Decimal = Decimal("0.00000001")
    balance_rel_tolerance: Decimal = Decimal("0.0001")
    position_size_tolerance: Decimal = ZERO
    position_price_tolerance: Decimal = ZERO
    stale_order_timeout_ms: int | None = None
    terminal_retention_ms: int = DAY_MS
    pending_grace_ms: int = 30_000
    hard_desync_ratio: Decimal = Decimal("0.10")
    venue_actions_auto: bool = False
    ledger_actions_auto: bool = True
    fill_margin_ms: int = 5 * MINUTE_MS
    fill_default_lookback_ms: int = 7 * DAY_MS - 10 * MINUTE_MS
    fill_order_lookback_ms: int = 30 * DAY_MS
    cold_start_workers: frozenset[tuple[str, str]] = frozenset()
    in_flight: frozenset[str] = frozenset()
    worker_idle_ms: int = 5 * MINUTE_MS

    def __post_init__(self) -> None:
        if not _PREFIX.match(self.our_prefix):
            raise DomainValueError(
                f"config.our_prefix: {self.our_prefix!r} must be 1-6 letters or digits")
        for name in ("balance_abs_tolerance", "balance_rel_tolerance",
                     "position_size_tolerance", "position_price_tolerance",
                     "hard_desync_ratio"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
                raise DomainValueError(f"config.{name}: {value!r} is not a decimal >= 0")
        for name in ("terminal_retention_ms", "pending_grace_ms", "fill_margin_ms",
                     "fill_default_lookback_ms", "fill_order_lookback_ms", "worker_idle_ms"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise DomainValueError(f"config.{name}: {value!r} is not milliseconds >= 0")
        timeout = self.stale_order_timeout_ms
        if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
            raise DomainValueError(f"config.stale_order_timeout_ms: {timeout!r} must be > 0")
