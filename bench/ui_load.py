"""Benchmark: the console under load. Prints one JSON object.

The sim holds `--orders` open orders (ours, in the ledger too) on 50 symbols; the real
window (offscreen, orders tab in front) runs over the real engine: private stream, stream
consumer writing to SQLite, startup reconciliation. Then, for 10 s, 200 order updates a
second arrive (the sim amends 10 random orders every 50 ms; each emits its private
event, which the engine writes to the ledger and the window's orders model takes).
`--accounts N` opens N such sims in the one window (each its own engine, ledger and
orders; `--orders` and `--rate` are per account), as a trader with several accounts. A
ticker coroutine sleeps 10 ms at a time and records how late it wakes up: that lateness
is the event loop's lag, i.e. how long the GUI could not respond.

Figures (acceptance "Scale" of issue 14), each with its `target_met` entry:
- `lag_p99_ms`: the loop lag's 99th percentile during the updates (target: one frame,
  16 ms);
- `max_stall_ms`: the worst lag during the updates (target 50 ms; `gc_load` shows the
  garbage collections in that phase, `--stall-stacks` the code running in each stall);
- `peak_rss_mb`: the process's peak resident set, the sim and its set-up included (400
  MB; `rss_peak_mb_by_phase` splits it: "build" is the sim and the ledger before the
  window exists);
The bench drives the window as `console.ui.app.run_console` does: window built, the
start-up's garbage-collector step (`freeze_startup`), window shown, engine started.
- `time_to_rows_s`: window shown -> the first flush after which every order is a row of
  its account's orders model (1 s); `time_to_first_rows_s`: -> the first rows.
`startup_loop_lag_ms` and `gc_startup` show the same for the start-up (window shown until
the window settled, startup reconciliation included); a tick belongs to the phase it
started in.

`--ui-only` leaves the engine's stream consumer out (no ledger writes): the window takes
the private events straight from the venue stream. The difference between the two runs is
the engine's share of the lag. The machine's other work shows in every figure: compare
runs made at the same load average, and take medians.

    QT_QPA_PLATFORM=offscreen python bench/ui_load.py [--orders 100000 --rate 200
        --seconds 10] [--accounts 3] [--ui-only] [--sort Updated] [--stall-stacks 30]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_P99_MS = 16.0
"""One frame at 60 Hz."""
TARGET_STALL_MS = 50.0
TARGET_RSS_MB = 400.0
TARGET_ROWS_S = 1.0
TICK_S = 0.010
LEDGER_SLICE = 5_000


def current_rss_mb() -> float:
    """Resident set size now (Linux /proc; 0 where it is not available)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(min(rank, len(ordered))) - 1]


def build(n_orders: int, n_symbols: int, db_url: str, *, seed: int = 3) -> Any:
    from console.bootstrap import SIM_ACCOUNT, SIM_VENUE, open_ledger
    from console.bootstrap_gui import ChaosVenue, DemoSession, SimChaos, SimMarket
    from console.domain import Category, LedgerChanges, OrderType, Origin, Side
    from console.domain.ids import ClientOrderIdGenerator
    from console.engine.alerts import attach_alerts
    from console.engine.metrics import Metrics
    from console.engine.reconcile_service import wall_clock_ms
    from console.engine.session import EngineSession
    from console.reconcile import ReconcileConfig
    from console.sim import SimExchange, SimVenue
    from console.sim.instruments import numbered_linear_instruments

    instruments = numbered_linear_instruments(n_symbols)
    exchange = SimExchange(seed=seed, clock_ms=wall_clock_ms, venue=SIM_VENUE,
                           instruments=instruments)
    exchange.create_account(SIM_ACCOUNT, {"USDT": Decimal(10) ** 12})
    exchange.set_reference_prices()
    counter = iter(range(1, 10_000_000))
    ids = ClientOrderIdGenerator("rc", "load", lambda: next(counter), wall_clock_ms)
    rng = random.Random(5)
    ledger = open_ledger(db_url)
    # The bench keeps only the venue ids (it amends by them) and writes the ledger a
    # slice at a time: the set-up's own garbage is not the window's memory.
    placed: list[str] = []
    ours = []
    for i in range(n_orders):
        instr = instruments[i % n_symbols]
        price = Decimal(rng.randint(500, 900)) / 100
        order = exchange.place_order(
            SIM_ACCOUNT, category=Category.LINEAR, symbol=instr.symbol, side=Side.BUY,
            order_type=OrderType.LIMIT, qty=Decimal("0.1"), price=price,
            client_order_id=ids.next())
        placed.append(order.venue_order_id)
        ours.append(order.evolve(strategy_id="load", worker_id="load", origin=Origin.OURS))
        if len(ours) == LEDGER_SLICE or i == n_orders - 1:
            ledger.apply_changes(SIM_VENUE, SIM_ACCOUNT, LedgerChanges(orders=tuple(ours)))
            ours = []
    ledger.apply_changes(SIM_VENUE, SIM_ACCOUNT, LedgerChanges(
        balances=tuple(exchange.balances(SIM_ACCOUNT))))
    metrics = Metrics()
    venue = ChaosVenue(SimVenue(exchange, SIM_ACCOUNT), metrics)
    engine = EngineSession(venue, ledger, ReconcileConfig(), clock_ms=wall_clock_ms,
                           interval_s=3600, metrics=metrics)
    market = SimMarket(exchange, SIM_ACCOUNT, ())
    session = DemoSession(exchange, venue, ledger, engine, market,
                          SimChaos(exchange, SIM_ACCOUNT, venue), None, "load",
                          alerts=attach_alerts(engine))
    return session, placed


class Ticker:
    """Sleeps `TICK_S` at a time on the loop and records how late it wakes up, per phase
    ("startup": window shown until the window settled; "load": the update phase). The
    lateness is how long the GUI could not respond; the worst one is the longest stall."""

    def __init__(self, loop: asyncio.AbstractEventLoop,
                 sampler: StallSampler | None = None) -> None:
        self.loop = loop
        self.sampler = sampler
        self.phase = "startup"
        self.lags: dict[str, list[float]] = {"startup": [], "load": []}
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        while not self.stopped.is_set():
            t = self.loop.time()
            started = time.perf_counter()
            phase = self.phase  # a tick belongs to the phase it started in
            await asyncio.sleep(TICK_S)
            lag = max(0.0, (self.loop.time() - t - TICK_S) * 1000)
            self.lags.setdefault(phase, []).append(lag)
            if self.sampler is not None:
                self.sampler.stalled(phase, started, lag)


class RssWatch:
    """Samples the resident set every 20 ms in a thread: the peak of each phase, so that a
    peak can be put down to the sim's set-up, the start-up or the updates."""

    def __init__(self) -> None:
        self.phase = "build"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            rss = current_rss_mb()
            self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)


class StallSampler:
    """`--stall-stacks`: samples the GUI thread's stack every 5 ms from a thread; a stall
    (a tick later than `min_ms`) is then put down to the code the samples inside it show.
    The samples are taken only when the GUI thread lets go of the GIL (every 5 ms in
    Python code): a stall inside one long C call (a garbage collection) shows no samples,
    which `gc_*` accounts for."""

    def __init__(self, min_ms: float) -> None:
        self.min_ms = min_ms
        self.main = threading.get_ident()
        self.samples: list[tuple[float, str]] = []
        self.stalls: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            frame = sys._current_frames().get(self.main)
            if frame is not None:
                self.samples.append((time.perf_counter(), self._where(frame)))

    @staticmethod
    def _where(frame: Any) -> str:
        parts: list[str] = []
        while frame is not None and len(parts) < 4:
            code = frame.f_code
            if "/console/" in code.co_filename or "ui_load" in code.co_filename:
                name = code.co_filename.rsplit("/console/", 1)[-1]
                parts.append(f"{name}:{frame.f_lineno}:{code.co_name}")
            frame = frame.f_back
        return " < ".join(parts) or "(outside console)"

    def stalled(self, phase: str, started: float, lag_ms: float) -> None:
        if lag_ms < self.min_ms:
            return
        ended = time.perf_counter()
        inside = [w for t, w in self.samples if started <= t <= ended]
        top = sorted(set(inside), key=inside.count, reverse=True)[:3]
        self.stalls.append({"phase": phase, "lag_ms": round(lag_ms, 1),
                            "samples": len(inside),
                            "where": [f"{inside.count(w)}x {w}" for w in top]})
        self.samples = [(t, w) for t, w in self.samples if t > ended]


class GcWatch:
    """Garbage-collection pauses (gc.callbacks), per generation, per phase."""

    def __init__(self, ticker: Ticker) -> None:
        self.ticker = ticker
        self._started = 0.0
        self.pauses: dict[str, list[tuple[int, float, int]]] = {}

    def __call__(self, what: str, info: dict[str, int]) -> None:
        if what == "start":
            self._started = time.perf_counter()
        else:
            ms = (time.perf_counter() - self._started) * 1000
            self.pauses.setdefault(self.ticker.phase, []).append(
                (info["generation"], ms, info.get("collected", 0)))

    def summary(self, phase: str) -> dict[str, Any]:
        pauses = self.pauses.get(phase, [])
        return {
            "collections": [sum(1 for g, _, _ in pauses if g == gen) for gen in range(3)],
            "max_pause_ms": round(max((ms for _, ms, _ in pauses), default=0.0), 2),
            "gen2_max_pause_ms": round(max((ms for g, ms, _ in pauses if g == 2),
                                           default=0.0), 2),
            "total_ms": round(sum(ms for _, ms, _ in pauses), 1),
        }


def sorted_by(model: Any) -> str | None:
    from PySide6.QtCore import Qt

    if model.sort_column < 0:
        return None
    way = "desc" if model.sort_order == Qt.SortOrder.DescendingOrder else "asc"
    return f"{model.columns[model.sort_column].title}:{way}"


def lag_summary(lags: list[float]) -> dict[str, Any]:
    if not lags:
        return {"p50": None, "p99": None, "max": None, "samples": 0}
    return {"p50": round(percentile(lags, 50), 2), "p99": round(percentile(lags, 99), 2),
            "max": round(max(lags), 2), "samples": len(lags)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from dataclasses import replace

    from PySide6.QtCore import QSettings, Qt

    from console.bootstrap import SIM_ACCOUNT
    from console.bootstrap_gui import demo_parts
    from console.ui.app import create_workspace_console
    from console.ui.dialogs.confirm import ScriptedConfirmer
    from console.ui.models.base import freeze_startup
    from console.ui.settings import UiSettings

    tmp = Path(tempfile.mkdtemp(prefix="recon-ui-load-"))
    rss = RssWatch()
    rss.start()
    t0 = time.perf_counter()
    built = [build(args.orders, args.symbols, f"sqlite:///{tmp / f'ledger{i}.db'}", seed=3 + i)
             for i in range(args.accounts)]
    build_s = time.perf_counter() - t0
    loop = asyncio.get_running_loop()
    parts = []
    for i, (session, _) in enumerate(built):
        part = demo_parts(session)
        if args.accounts > 1:  # one label per account: "sim 1", "sim 2", ...
            part.identity = replace(part.identity, profile=f"sim {i + 1}")
        parts.append(part)
    console = create_workspace_console(
        parts, confirmer=ScriptedConfirmer(default=False),
        settings=UiSettings(QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat)))
    window, workspace = console.window, console.workspace
    controllers = workspace.controllers()
    models = [c.orders for c in controllers]
    window.show_error_dialogs = False
    freeze_startup()  # as app.run_console does, between building the window and showing it
    rss_before_window = current_rss_mb()
    rss.phase = "startup"
    sampler = StallSampler(args.stall_stacks) if args.stall_stacks else None
    if sampler is not None:
        sampler.start()
    ticker = Ticker(loop, sampler)
    watch = GcWatch(ticker)
    gc.callbacks.append(watch)
    window.show()
    if args.sort:
        title, _, way = args.sort.partition(":")
        titles = [c.title for c in models[0].columns]
        if title not in titles:
            raise SystemExit(f"--sort: no column {title!r} (columns: {', '.join(titles)})")
        window.orders_table.view.horizontalHeader().setSortIndicator(
            titles.index(title), Qt.SortOrder.AscendingOrder if way == "asc"
            else Qt.SortOrder.DescendingOrder)
    t_shown = time.perf_counter()
    rows_at: list[float] = []
    first_rows_at: list[float] = []

    def rows_in() -> None:
        # window shown -> the first flush after which every order of every account is a
        # row of its account's orders model
        if not first_rows_at and any(m.rowCount() for m in models):
            first_rows_at.append(time.perf_counter() - t_shown)
        if not rows_at and all(m.rowCount() >= args.orders for m in models):
            rows_at.append(time.perf_counter() - t_shown)

    for model in models:
        for signal in (model.rowsInserted, model.modelReset, model.layoutChanged):
            signal.connect(rows_in)
    tick = asyncio.ensure_future(ticker.run())
    feed: asyncio.Task[None] | None = None
    if args.ui_only:
        session, controller = built[0][0], controllers[0]
        await controller.start(stream=False)

        async def pipe() -> None:
            async for event in session.venue.stream():
                controller.apply_event(event)

        feed = asyncio.ensure_future(pipe())
    else:
        await workspace.start_all()  # as app.run_console does
    await workspace.settle()
    startup_s = time.perf_counter() - t_shown
    shown = [m.rowCount() for m in models]

    rng = random.Random(9)
    per_tick = max(1, round(args.rate * 0.05))
    sent = 0

    async def updates() -> None:
        nonlocal sent
        deadline = loop.time() + args.seconds
        next_at = loop.time()
        while loop.time() < deadline:
            for session, placed in built:
                for venue_order_id in rng.sample(placed, per_tick):
                    price = Decimal(rng.randint(500, 900)) / 100
                    session.exchange.amend_order(SIM_ACCOUNT, venue_order_id, price=price)
                    sent += 1
            next_at += 0.05
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    def total(name: str) -> int:
        return sum(getattr(m, name) for m in models)

    rss_peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flushes0, signals0 = total("flushes"), total("data_changed_signals")
    ticker.phase = rss.phase = "load"
    t2 = time.perf_counter()
    await updates()
    load_s = time.perf_counter() - t2
    ticker.phase = rss.phase = "drain"
    await asyncio.sleep(0.5)  # let the stream consumer drain what is queued
    await workspace.settle()
    ticker.stopped.set()
    await tick
    gc.callbacks.remove(watch)
    rss.stop()
    if sampler is not None:
        sampler.stop()
    if feed is not None:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
    streams = [session.engine.stream for session, _ in built]
    reconciles = [c.last_outcome.duration_ms for c in controllers if c.last_outcome]
    load = lag_summary(ticker.lags["load"])
    startup = lag_summary(ticker.lags["startup"])
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    time_to_rows = rows_at[0] if rows_at else None
    result = {
        "benchmark": "ui_load",
        "accounts": args.accounts,
        "orders": args.orders,
        "orders_total": args.orders * args.accounts,
        "symbols": args.symbols,
        "updates_per_s_target": args.rate * args.accounts,
        "updates_sent": sent,
        "updates_per_s": round(sent / load_s, 1),
        "seconds": round(load_s, 2),
        "lag_p99_ms": load["p99"],
        "max_stall_ms": load["max"],
        "peak_rss_mb": round(peak_rss, 1),
        "time_to_rows_s": None if time_to_rows is None else round(time_to_rows, 3),
        "time_to_first_rows_s": round(first_rows_at[0], 3) if first_rows_at else None,
        "target_met": {
            "lag_p99": load["p99"] is not None and load["p99"] <= TARGET_P99_MS,
            "max_stall": load["max"] is not None and load["max"] <= TARGET_STALL_MS,
            "peak_rss": peak_rss <= TARGET_RSS_MB,
            "time_to_rows": time_to_rows is not None and time_to_rows <= TARGET_ROWS_S,
        },
        "targets": {"lag_p99_ms": TARGET_P99_MS, "max_stall_ms": TARGET_STALL_MS,
                    "peak_rss_mb": TARGET_RSS_MB, "time_to_rows_s": TARGET_ROWS_S},
        "loop_lag_ms": {**load, "tick_ms": TICK_S * 1000},
        "startup_loop_lag_ms": startup,
        "gc_load": watch.summary("load"),
        "gc_startup": watch.summary("startup"),
        "gc_tracked_objects": len(gc.get_objects()),
        "gc_frozen_objects": gc.get_freeze_count(),
        "rss_mb_before_window_shown": round(rss_before_window, 1),
        "rss_peak_mb_by_phase": {k: round(v, 1) for k, v in rss.peaks.items()},
        "peak_rss_mb_before_load": round(rss_peak_before, 1),
        "rows_shown": shown,
        "all_accounts_rows": workspace.all_view.orders.rowCount(),
        "startup_s": round(startup_s, 2),
        "startup_reconcile_ms": round(max(reconciles), 1) if reconciles else None,
        "build_s": round(build_s, 2),
        "model_flushes": total("flushes") - flushes0,
        "data_changed_signals": total("data_changed_signals") - signals0,
        "orders_sorted_by": sorted_by(models[0]),
        "engine_stream_consumer": not args.ui_only,
        "engine_stream": {"events": sum(s.events for s in streams),
                          "batches": sum(s.batches for s in streams)},
        "qt": __import__("PySide6.QtCore", fromlist=["qVersion"]).qVersion(),
    }
    if sampler is not None:
        result["stalls"] = sampler.stalls
    result["ok"] = all(result["target_met"].values()) and all(n == args.orders for n in shown)
    window.close()
    await window.tasks.cancel_all()
    await workspace.aclose()  # each account's engine, then its sim and ledger
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000, help="per account")
    parser.add_argument("--accounts", type=int, default=1,
                        help="sim accounts open in the one window, each with --orders orders "
                             "and --rate updates a second")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--rate", type=int, default=200,
                        help="order updates per second, per account")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ui-only", action="store_true",
                        help="without the engine's stream consumer (see above)")
    parser.add_argument("--sort", default="", metavar="TITLE[:asc|desc]",
                        help="sort the orders table by this column first (default: the "
                             "window's own order); \"Updated\" moves every updated row")
    parser.add_argument("--stall-stacks", type=float, default=0.0, metavar="MS",
                        help="put every stall longer than MS down to the code running in it "
                             "(sampled stacks, in the JSON under \"stalls\")")
    args = parser.parse_args()
    if args.ui_only and args.accounts != 1:
        parser.error("--ui-only measures one account")

    import qasync

    from console.ui.app import ensure_app

    app = ensure_app()
    app.setQuitOnLastWindowClosed(False)
    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        result = runner.run(run(args))
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
