"""Property: a fill dropped from the private stream at any point is in the ledger after the
next successful run, exactly once.

A random history: fills at random gaps (seconds to hours), each pushed by the stream or
dropped, each listed by the venue at once or a little late (never later than the fill
margin), and reconciliations at random moments, some of whose fill fetch fails. The model
runs the engine's pure steps the way `ReconcileService` does: the window starts at
`fills_since` (the coverage mark minus the margin), the diff finds what the ledger lacks,
the changes are applied, and the mark moves by `FillCoverage.advance` over
`verified_fills`, as `commit_run` does. The stream inserts by exec id and never moves the
mark.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from recon_strategies import ACCOUNT, RECON, TAKEN, VENUE

from console.domain import Fill, LedgerSnapshot, Side, VenueSnapshot
from console.domain.reconciliation import TradingMode
from console.reconcile import ReconcileConfig, fills_since, reconcile, verified_fills

SECOND = 1_000
MINUTE = 60 * SECOND
CONFIG = ReconcileConfig()
GAPS = (SECOND, 2 * MINUTE, 6 * MINUTE, 30 * MINUTE, 3 * 60 * MINUTE)
LAGS = (0, SECOND, 4 * MINUTE, CONFIG.fill_margin_ms)


@dataclass(frozen=True)
class Pushed:
    fill: Fill
    streamed: bool
    listed_at: int  # when the venue's fill history first shows it


@dataclass(frozen=True)
class History:
    fills: tuple[Pushed, ...]
    runs: tuple[tuple[int, bool], ...]  # (when, fill fetch succeeded)


@st.composite
def histories(draw: Any) -> History:
    now = TAKEN
    pushed: list[Pushed] = []
    for i in range(draw(st.integers(1, 10))):
        now += draw(st.sampled_from(GAPS))
        fill = Fill(venue=VENUE, account=ACCOUNT, exec_id=f"x{i}", symbol="BTCUSDT",
                    side=Side.BUY, price=Decimal(100), qty=Decimal("0.1"), exec_time=now,
                    venue_order_id=f"v{i}")
        pushed.append(Pushed(fill, draw(st.booleans()), now + draw(st.sampled_from(LAGS))))
    if all(p.streamed for p in pushed):  # at least one push is dropped
        at = draw(st.integers(0, len(pushed) - 1))
        pushed[at] = Pushed(pushed[at].fill, False, pushed[at].listed_at)
    end = now + CONFIG.fill_margin_ms + MINUTE
    times = draw(st.lists(st.integers(TAKEN - MINUTE, end), max_size=8))
    runs = sorted((t, draw(st.booleans())) for t in times)
    runs.append((end + MINUTE, True))  # the history ends with a successful run
    return History(tuple(pushed), tuple(runs))


class Model:
    """The ledger's fills and its coverage mark, changed only the way the engine does."""

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.mark: int | None = None

    def stream(self, fill: Fill) -> None:
        if fill.exec_id not in {f.exec_id for f in self.fills}:
            self.fills.append(fill)

    def reconcile(self, at: int, ok: bool, history: History) -> None:
        since = fills_since(LedgerSnapshot(VENUE, ACCOUNT, fill_coverage=self.mark), at,
                            CONFIG)
        listed = tuple(p.fill for p in history.fills
                       if p.listed_at <= at and since <= p.fill.exec_time <= at)
        ledger = LedgerSnapshot(VENUE, ACCOUNT,
                                fills=tuple(f for f in self.fills if f.exec_time >= since),
                                fills_from=since, fill_coverage=self.mark)
        venue = VenueSnapshot(VENUE, ACCOUNT, taken_at=at, open_orders=(),
                              fills=listed if ok else None,
                              fills_window=(since, at) if ok else None)
        result = reconcile(ledger, venue, at, CONFIG, TradingMode.TRADING)
        for fill in result.changes.fills:
            self.stream(fill)  # insert-if-absent by exec id, like the store
        coverage = verified_fills(ledger, venue, result.plan)
        if coverage is not None:
            self.mark = coverage.advance(self.mark)


@RECON
@given(histories())
def test_h_a_dropped_fill_is_in_the_ledger_after_the_next_successful_run_exactly_once(
        history: History) -> None:
    model = Model()
    events = sorted([(p.fill.exec_time, 0, i) for i, p in enumerate(history.fills)]
                    + [(at, 1, i) for i, (at, _ok) in enumerate(history.runs)])
    for at, kind, i in events:
        if kind == 0:
            pushed = history.fills[i]
            if pushed.streamed:
                model.stream(pushed.fill)
            continue
        ok = history.runs[i][1]
        model.reconcile(at, ok, history)
        if not ok:
            continue
        counts = Counter(f.exec_id for f in model.fills)
        for p in history.fills:
            if p.listed_at <= at:
                assert counts[p.fill.exec_id] == 1, (p, at, model.mark)
        assert all(n == 1 for n in counts.values())
