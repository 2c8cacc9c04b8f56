"""Coverage of one account from run headers (`console.engine.coverage`): the fill history
read (from, to, gaps), when each list was last verified, what a venue says of its
budgets. Pure: run records in, report out."""

from __future__ import annotations

from console.domain.capabilities import EndpointBudget
from console.domain.reconciliation import RunRecord, RunStatus, RunTrigger
from console.engine.coverage import coverage_of, fill_history, last_verified


def run(n: int, *, window: tuple[int, int] | None = None, errors: tuple[str, ...] = (),
        status: RunStatus = RunStatus.OK) -> RunRecord:
    return RunRecord(run_id=f"r{n}", venue="sim", account="main", trigger=RunTrigger.PERIODIC,
                     started_at=n * 1000, finished_at=n * 1000 + 50, status=status,
                     errors=errors, fills_window=window)


def test_overlapping_and_touching_windows_are_one_stretch() -> None:
    runs = [run(3, window=(250, 400)), run(1, window=(0, 100)), run(2, window=(101, 260))]
    history = fill_history(runs, 390, complete=True)
    assert (history.covered_from, history.covered_to, history.gaps) == (0, 400, ())
    assert history.windows == 3 and history.verified_to == 390 and history.complete


def test_a_stretch_nobody_read_is_a_gap() -> None:
    runs = [run(1, window=(0, 100)), run(2, window=(200, 300)), run(3, window=(250, 500)),
            run(4, window=(700, 800)), run(5)]  # run 5 read no fills
    history = fill_history(runs, None, complete=False)
    assert history.gaps == ((101, 199), (501, 699))
    assert (history.covered_from, history.covered_to) == (0, 800)
    assert history.windows == 4 and history.verified_to is None and not history.complete


def test_no_fill_window_at_all_covers_nothing() -> None:
    history = fill_history([run(1, errors=("fills: timeout",))], None, complete=True)
    assert (history.covered_from, history.covered_to, history.gaps, history.windows) == \
        (None, None, (), 0)


def test_each_list_is_verified_by_the_newest_run_that_read_it() -> None:
    runs = [
        run(1, window=(0, 10)),
        run(2, window=(5, 20), errors=("balances: HTTP 502",), status=RunStatus.PARTIAL),
        run(3, errors=("positions: timed out", "fills: timed out", "balances: HTTP 503"),
            status=RunStatus.PARTIAL),
        run(4, window=(15, 40), errors=("positions: rate limited",),
            status=RunStatus.PARTIAL),
    ]
    checks = {c.name: c for c in last_verified(runs)}
    assert (checks["open orders"].run_id, checks["open orders"].verified_at) == ("r4", 4050)
    assert checks["open orders"].last_error == "" and checks["open orders"].failed_since is None
    assert (checks["fills"].run_id, checks["fills"].last_error) == ("r4", "")
    assert (checks["positions"].run_id, checks["positions"].verified_at) == ("r2", 2050)
    assert checks["positions"].last_error == "rate limited"  # the newest failure
    assert checks["positions"].failed_since == 3000          # since the first failing run
    assert (checks["balances"].run_id, checks["balances"].last_error) == ("r4", "")


def test_a_list_no_run_could_read_was_never_verified() -> None:
    runs = [run(1, errors=("open orders: HTTP 500",), status=RunStatus.PARTIAL),
            run(2, errors=("open orders: HTTP 502",), status=RunStatus.PARTIAL)]
    [orders] = [c for c in last_verified(runs) if c.name == "open orders"]
    assert (orders.verified_at, orders.run_id) == (None, "")
    assert (orders.last_error, orders.failed_since) == ("HTTP 502", 1000)
    assert all(c.verified_at is None for c in last_verified([]))


def test_budgets_say_whether_the_venue_reports_any() -> None:
    silent = coverage_of("sim", "main", [], None, budgets=None, at=5, complete=True)
    assert not silent.budget_reported and silent.budgets == ()
    told = EndpointBudget("/v5/order/create", limit=10, remaining=3, reset_at=9, seen_at=4)
    loud = coverage_of("bybit", "main", [run(1)], 7, budgets=[told], at=5, complete=True)
    assert loud.budget_reported and loud.budgets == (told,)
    assert loud.to_dict()["budgets"] == [{"endpoint": "/v5/order/create", "limit": 10,
                                          "remaining": 3, "reset_at": 9, "seen_at": 4}]
    assert loud.list_check("fills") is not None and loud.runs_examined == 1
