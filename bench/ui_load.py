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

Where the sim runs. Each sim runs in a child process of its own (`sim_process`), as a
trader's venue runs elsewhere: it builds its book and writes the ledger, then answers
the account's venue port over a pipe (`RemoteVenue`: each request a call, a long answer
in parts as a venue's pages, the private events in batches) and amends our orders at
the rate asked. So the figures are the console process's: its resident set holds what
the console holds (the venue's answers as it received them included), not the sim's
book, and its event loop runs the console's work, not the sim's matching. The sims' own
peaks are printed beside (`sim_processes_peak_rss_mb`). `--in-process-sim` runs them in
this process instead, as the window's embedded demo does (about 1.3 KB an order of the
sim's then counts in `peak_rss_mb`, and its work in the lag).

Figures (acceptance "Scale" of issue 14), each with its `target_met` entry:
- `lag_p99_ms`: the loop lag's 99th percentile during the updates (target: one frame,
  16 ms);
- `max_stall_ms`: the worst lag during the updates (target 50 ms; `gc_load` shows the
  garbage collections in that phase, `--stall-stacks` the code running in each stall);
- `peak_rss_mb`: the console process's peak resident set (400 MB; `rss_peak_mb_by_phase`
  splits it by phase, "build" being the time before the window exists; `rss_mb_split`
  by what holds it: the modules loaded before any account, the accounts' set-up (the
  ledgers opened; with `--in-process-sim` the sims and their writes too), and the window
  with its engines, from the window shown to the peak);
- `time_to_rows_s`: window shown -> the first flush after which every order is a row of
  its account's orders model, and of the all-accounts table while that is shown (with
  several accounts it is, at start) (1 s); `time_to_first_rows_s`: -> the first rows.
`startup_loop_lag_ms` and `gc_startup` show the same for the start-up (window shown until
the window settled, startup reconciliation included); a tick belongs to the phase it
started in.

The bench drives the window as `console.ui.app.run_console` does: window built, the
start-up's garbage-collector step (`freeze_startup`), collections moved to the GUI
thread (`GuiThreadCollector`: none in the ledger's worker threads), the tables' first
ledger reads started (`Workspace.prefetch`), window shown, engine started.

`--ui-only` leaves the engine's stream consumer out (no ledger writes): the window takes
the private events straight from the venue stream. The difference between the two runs is
the engine's share of the lag. The machine's other work shows in every figure: compare
runs made at the same load average, and take medians.

    QT_QPA_PLATFORM=offscreen python bench/ui_load.py [--orders 100000 --rate 200
        --seconds 10] [--accounts 3] [--ui-only] [--sort Updated] [--stall-stacks 30]
        [--in-process-sim]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import os
import pickle
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
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


def build_venue(n_orders: int, n_symbols: int, db_url: str, *, seed: int = 3) -> Any:
    """The sim holding `n_orders` open orders of ours and the ledger at `db_url` holding
    them too (written, then closed): (exchange, the orders' venue ids)."""
    from console.bootstrap import SIM_ACCOUNT, SIM_VENUE, open_ledger
    from console.domain import Category, LedgerChanges, OrderType, Origin, Side
    from console.domain.ids import ClientOrderIdGenerator
    from console.engine.reconcile_service import wall_clock_ms
    from console.sim import SimExchange
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
    ledger.close()
    return exchange, placed


def build(n_orders: int, n_symbols: int, db_url: str, *, seed: int = 3) -> Any:
    """`--in-process-sim`: the sim in this process, wired as the window's demo session:
    (session, the orders' venue ids)."""
    from console.bootstrap import SIM_ACCOUNT, open_ledger
    from console.bootstrap_gui import ChaosVenue, DemoSession, SimChaos, SimMarket
    from console.engine.alerts import attach_alerts
    from console.engine.metrics import Metrics
    from console.engine.reconcile_service import wall_clock_ms
    from console.engine.session import EngineSession
    from console.reconcile import ReconcileConfig
    from console.sim import SimVenue

    exchange, placed = build_venue(n_orders, n_symbols, db_url, seed=seed)
    ledger = open_ledger(db_url)
    metrics = Metrics()
    venue = ChaosVenue(SimVenue(exchange, SIM_ACCOUNT), metrics)
    engine = EngineSession(venue, ledger, ReconcileConfig(), clock_ms=wall_clock_ms,
                           interval_s=3600, metrics=metrics)
    market = SimMarket(exchange, SIM_ACCOUNT, ())
    session = DemoSession(exchange, venue, ledger, engine, market,
                          SimChaos(exchange, SIM_ACCOUNT, venue), None, "load",
                          alerts=attach_alerts(engine))
    return session, placed


# -- the sim in a child process (the default) ---------------------------------------------

FEED_TICK_S = 0.05
"""The feeder amends `rate * FEED_TICK_S` orders every `FEED_TICK_S`."""
ANSWER_PART = 1_000
"""A sim process sends a longer answer (the open orders) in parts of this many."""


def amend_some(exchange: Any, placed: list[str], rng: random.Random, count: int) -> int:
    """Amend `count` random orders of ours to a new price; each emits its private event."""
    from console.bootstrap import SIM_ACCOUNT

    for venue_order_id in rng.sample(placed, count):
        price = Decimal(rng.randint(500, 900)) / 100
        exchange.amend_order(SIM_ACCOUNT, venue_order_id, price=price)
    return count


@dataclass(frozen=True)
class SimSpec:
    """What a sim process builds: its orders, symbols and ledger, and its seeds."""

    orders: int
    symbols: int
    db_url: str
    seed: int
    feed_seed: int


def sim_process(conn: Any, spec: SimSpec) -> None:
    """The child process: the sim and its ledger built, then the account's venue port
    served over `conn` (calls answered, private events sent in batches) and the feeder run
    when asked, as a venue elsewhere would amend our orders."""
    asyncio.run(_serve(conn, spec))


async def _serve(conn: Any, spec: SimSpec) -> None:
    from console.bootstrap import SIM_ACCOUNT
    from console.errors import UserFacingError
    from console.sim import SimVenue

    exchange, placed = build_venue(spec.orders, spec.symbols, spec.db_url, seed=spec.seed)
    venue = SimVenue(exchange, SIM_ACCOUNT)
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    rng = random.Random(spec.feed_seed)

    def read() -> None:
        while True:
            try:
                msg = conn.recv()
            except (EOFError, OSError):
                msg = ("stop",)
            loop.call_soon_threadsafe(inbox.put_nowait, msg)
            if msg[0] == "stop":
                return

    async def feed(rate: int, seconds: float) -> int:
        sent, per_tick = 0, max(1, round(rate * FEED_TICK_S))
        deadline = loop.time() + seconds
        next_at = loop.time()
        while loop.time() < deadline:
            sent += amend_some(exchange, placed, rng, per_tick)
            next_at += FEED_TICK_S
            await asyncio.sleep(max(0.0, next_at - loop.time()))
        return sent

    async def answer(ident: int, method: str, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> None:
        try:
            target = feed if method == "feed" else getattr(venue, method)
            result = await target(*args, **kwargs)
            if isinstance(result, list) and len(result) > ANSWER_PART:
                # a long list goes in parts, as a venue's pages do: no single message
                # of the whole book to hold at both ends
                for at in range(0, len(result), ANSWER_PART):
                    conn.send(("part", ident, result[at:at + ANSWER_PART]))
                    await asyncio.sleep(0)
                result = []
            conn.send(("result", ident, result))
        except (UserFacingError, ValueError, LookupError) as exc:  # the venue's refusal
            try:
                conn.send(("error", ident, exc))
            except (TypeError, AttributeError, pickle.PicklingError):  # not picklable
                conn.send(("error", ident, RuntimeError(repr(exc))))

    async def stream() -> None:
        events = venue.stream()
        batch: list[Any] = []
        first = asyncio.ensure_future(anext(events))
        while True:
            batch.append(await first)
            first = asyncio.ensure_future(anext(events))
            await asyncio.sleep(0)  # what else came at this turn goes in the same batch
            while first.done():
                batch.append(first.result())
                first = asyncio.ensure_future(anext(events))
            conn.send(("events", batch))
            batch = []

    threading.Thread(target=read, name="sim-pipe", daemon=True).start()
    conn.send(("ready", venue.capabilities, venue.categories))
    tasks: set[asyncio.Task[None]] = set()
    while True:
        msg = await inbox.get()
        if msg[0] == "stop":
            break
        task = asyncio.ensure_future(answer(*msg[1:]) if msg[0] == "call" else stream())
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in tasks:
        task.cancel()
    conn.close()


class RemoteSim:
    """The console's end of one sim process: calls answered through futures, private
    events queued for `stream`, all read by one thread off the pipe (unpickling a
    100k-order answer is this process's work, as reading a venue's answer is)."""

    def __init__(self, spec: SimSpec) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")  # nothing of this process's Qt
        self.conn, child = context.Pipe()
        self.process = context.Process(target=sim_process, args=(child, spec), name="sim",
                                       daemon=True)
        self.process.start()
        child.close()
        self._ids = itertools.count()
        self._waiting: dict[int, asyncio.Future[Any]] = {}
        self._parts: dict[int, list[Any]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.events: asyncio.Queue[Any] | None = None
        self._lock = threading.Lock()
        self.capabilities: Any = None
        self.categories: Any = None

    def wait_ready(self) -> None:
        """Block until the child has built the sim and written the ledger."""
        msg = self.conn.recv()
        if msg[0] != "ready":
            raise RuntimeError(f"the sim process said {msg!r}")
        _, self.capabilities, self.categories = msg

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.events = asyncio.Queue()
        threading.Thread(target=self._read, name="sim-answers", daemon=True).start()

    def _read(self) -> None:
        loop = self._loop
        assert loop is not None and self.events is not None
        while True:
            try:
                msg = self.conn.recv()
            except (EOFError, OSError):
                return
            if msg[0] == "events":
                loop.call_soon_threadsafe(self._events, msg[1])
            else:
                loop.call_soon_threadsafe(self._answered, *msg)

    def _events(self, batch: list[Any]) -> None:
        assert self.events is not None
        for event in batch:
            self.events.put_nowait(event)

    def _answered(self, kind: str, ident: int, value: Any) -> None:
        if kind == "part":
            self._parts.setdefault(ident, []).extend(value)
            return
        future = self._waiting.pop(ident, None)
        parts = self._parts.pop(ident, None)
        if future is None or future.done():
            return
        if kind == "error":
            future.set_exception(value)
        else:
            future.set_result(value if parts is None else parts + value)

    def _send(self, msg: tuple[Any, ...]) -> None:
        with self._lock:
            self.conn.send(msg)

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        assert self._loop is not None
        ident = next(self._ids)
        future = self._loop.create_future()
        self._waiting[ident] = future
        self._send(("call", ident, method, args, kwargs))
        return await future

    def start_stream(self) -> None:
        self._send(("stream",))

    def stop(self) -> None:
        with contextlib.suppress(OSError, BrokenPipeError):
            self._send(("stop",))
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()

    def peak_rss_mb(self) -> float:
        """The child's peak resident set (Linux /proc; 0 where it is not available)."""
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return 0.0
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0


class RemoteVenue:
    """The venue port of one sim account in a child process: each request a call over
    the pipe, the private stream the events it sends. What the in-process sim declares
    (no lane, no rate budget, no dead-man's switch) is answered here."""

    def __init__(self, sim: RemoteSim) -> None:
        from console.bootstrap import SIM_ACCOUNT, SIM_VENUE

        self.sim = sim
        self.venue = SIM_VENUE
        self.account = SIM_ACCOUNT
        self.calls: Counter[str] = Counter()
        self._streaming = False

    @property
    def capabilities(self) -> Any:
        return self.sim.capabilities

    @property
    def categories(self) -> Any:
        return self.sim.categories

    def priority(self) -> Any:
        return contextlib.nullcontext()

    @property
    def priority_calls(self) -> Counter[str]:
        return self.calls

    async def warm_priority_lane(self) -> None:
        return None

    def rate_budget(self) -> None:
        return None

    def dead_man_state(self) -> None:
        return None

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        self.calls[method] += 1
        return await self.sim.call(method, *args, **kwargs)

    async def cancel_all_ids(self, category: Any, symbol: str | None = None) -> Any:
        return await self._call("cancel_all_ids", category, symbol)

    async def set_dead_man_switch(self, timeout_ms: int | None) -> Any:
        return await self._call("set_dead_man_switch", timeout_ms)

    async def fetch_open_orders(self) -> Any:
        return await self._call("fetch_open_orders")

    async def fetch_order(self, order: Any) -> Any:
        return await self._call("fetch_order", order)

    async def fetch_fills(self, since: int, until: int) -> Any:
        return await self._call("fetch_fills", since, until)

    async def fetch_positions(self) -> Any:
        return await self._call("fetch_positions")

    async def fetch_balances(self) -> Any:
        return await self._call("fetch_balances")

    async def place_order(self, order: Any) -> Any:
        return await self._call("place_order", order)

    async def amend_order(self, order: Any, *, qty: object = None, price: object = None) -> Any:
        return await self._call("amend_order", order, qty=qty, price=price)

    async def replace_order(self, order: Any, replacement: Any) -> Any:
        return await self._call("replace_order", order, replacement)

    async def cancel_order(self, order: Any) -> Any:
        return await self._call("cancel_order", order)

    async def cancel_all(self, category: Any, symbol: str | None = None) -> Any:
        return await self._call("cancel_all", category, symbol)

    async def aclose(self) -> None:
        return None

    async def stream(self) -> Any:
        if self._streaming:
            raise RuntimeError("one private stream per sim process")
        self._streaming = True
        queue = self.sim.events
        assert queue is not None
        self.sim.start_stream()
        while True:
            yield await queue.get()


def remote_parts(sim: RemoteSim, db_url: str, label: str) -> Any:
    """The window's parts for an account whose sim runs in a child process: the engine
    as the demo session wires it (the chaos wrapper times requests and events for the
    charts), with no demo strategy, chaos menu or market of its own."""
    from console.bootstrap import SIM_ACCOUNT, SIM_VENUE, open_ledger
    from console.bootstrap_gui import ChaosVenue
    from console.engine.alerts import attach_alerts
    from console.engine.metrics import Metrics
    from console.engine.reconcile_service import wall_clock_ms
    from console.engine.session import EngineSession
    from console.reconcile import ReconcileConfig
    from console.ui.parts import ConsoleParts
    from console.ui.ports import Badge, Identity

    ledger = open_ledger(db_url)
    metrics = Metrics()
    venue = ChaosVenue(RemoteVenue(sim), metrics)  # type: ignore[arg-type]
    engine = EngineSession(venue, ledger, ReconcileConfig(), clock_ms=wall_clock_ms,
                           interval_s=3600, metrics=metrics)

    async def close() -> None:
        await asyncio.to_thread(sim.stop)
        ledger.close()

    identity = Identity(profile=label, venue=SIM_VENUE, account=SIM_ACCOUNT,
                        badge=Badge.SIMULATED, read_only=False,
                        detail=f"simulated exchange in process {sim.process.pid}; "
                               f"ledger {ledger.url}")
    return ConsoleParts(session=engine, book=ledger, identity=identity,
                        alerts=attach_alerts(engine), closers=[close])


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


class Sampling:
    """A daemon thread that calls `sample` every `period_s` between `start` and `stop`."""

    def __init__(self, name: str, period_s: float) -> None:
        self._period_s = period_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._period_s):
            self.sample()

    def sample(self) -> None:
        raise NotImplementedError


class RssWatch(Sampling):
    """Samples the resident set every 20 ms in a thread: the peak of each phase, so that a
    peak can be put down to the sim's set-up, the start-up or the updates."""

    def __init__(self) -> None:
        super().__init__("rss-watch", 0.02)
        self.phase = "build"
        self.peaks: dict[str, float] = {}

    def sample(self) -> None:
        rss = current_rss_mb()
        self.peaks[self.phase] = max(self.peaks.get(self.phase, 0.0), rss)


class StallSampler(Sampling):
    """`--stall-stacks`: samples the GUI thread's stack every 5 ms from a thread; a stall
    (a tick later than `min_ms`) is then put down to the code the samples inside it show.
    The samples are taken only when the GUI thread lets go of the GIL (every 5 ms in
    Python code): a stall inside one long C call (a garbage collection) shows no samples,
    which `gc_*` accounts for."""

    def __init__(self, min_ms: float) -> None:
        super().__init__("stall-sampler", 0.005)
        self.min_ms = min_ms
        self.main = threading.get_ident()
        self.samples: list[tuple[float, str]] = []
        self.stalls: list[dict[str, Any]] = []

    def sample(self) -> None:
        frame = sys._current_frames().get(self.main)
        if frame is not None:
            self.samples.append((time.perf_counter(), self._where(frame)))

    @staticmethod
    def _where(frame: Any) -> str:
        """The innermost frame whatever its file (a library's painting, the loop's own
        code), then up to three of the console's own."""
        parts: list[str] = []
        innermost = True
        while frame is not None and len(parts) < 4:
            code = frame.f_code
            if innermost or "/console/" in code.co_filename or "ui_load" in code.co_filename:
                name = code.co_filename.rsplit("/console/", 1)[-1].rsplit(
                    "/site-packages/", 1)[-1]
                parts.append(f"{name}:{frame.f_lineno}:{code.co_name}")
                innermost = False
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

    from console.bootstrap_gui import demo_parts
    from console.ui.app import create_workspace_console
    from console.ui.dialogs.confirm import ScriptedConfirmer
    from console.ui.gc_policy import GuiThreadCollector
    from console.ui.models.base import freeze_startup
    from console.ui.settings import UiSettings

    tmp = Path(tempfile.mkdtemp(prefix="recon-ui-load-"))
    rss_before_sim = current_rss_mb()  # the program's modules, Qt and the libraries
    rss = RssWatch()
    rss.start()
    t0 = time.perf_counter()
    loop = asyncio.get_running_loop()
    urls = [f"sqlite:///{tmp / f'ledger{i}.db'}" for i in range(args.accounts)]
    built: list[Any] = []
    sims: list[RemoteSim] = []
    parts = []
    if args.in_process_sim:
        built = [build(args.orders, args.symbols, url, seed=3 + i)
                 for i, url in enumerate(urls)]
        parts = [demo_parts(session) for session, _ in built]
    else:  # built side by side, each in its process
        sims = [RemoteSim(SimSpec(args.orders, args.symbols, url, 3 + i, 9 + i))
                for i, url in enumerate(urls)]
        for sim, url in zip(sims, urls, strict=True):
            sim.wait_ready()
            sim.attach(loop)
            parts.append(remote_parts(sim, url, "embedded sim"))
    build_s = time.perf_counter() - t0
    if args.accounts > 1:  # one label per account: "sim 1", "sim 2", ...
        for i, part in enumerate(parts):
            part.identity = replace(part.identity, profile=f"sim {i + 1}")
    console = create_workspace_console(
        parts, confirmer=ScriptedConfirmer(default=False),
        settings=UiSettings(QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat)))
    window, workspace = console.window, console.workspace
    controllers = workspace.controllers()
    models = [c.orders for c in controllers]
    window.show_error_dialogs = False
    freeze_startup()  # as app.run_console does, between building the window and showing it
    collector = GuiThreadCollector()  # as app.run_console does: collections on this thread
    collector.start()
    rss_before_window = current_rss_mb()
    rss.phase = "startup"
    sampler = StallSampler(args.stall_stacks) if args.stall_stacks else None
    if sampler is not None:
        sampler.start()
    ticker = Ticker(loop, sampler)
    watch = GcWatch(ticker)
    gc.callbacks.append(watch)
    workspace.prefetch()  # as app.run_console does: the tables' first reads as it shows
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

    merged = workspace.all_view.orders

    def rows_in() -> None:
        # window shown -> the first flush after which every order of every account is a
        # row of its account's orders model, and of the all-accounts table while that is
        # the one shown (several accounts open)
        if not first_rows_at and any(m.rowCount() for m in models):
            first_rows_at.append(time.perf_counter() - t_shown)
        if not rows_at and all(m.rowCount() >= args.orders for m in models) and (
                not workspace.all_view.active
                or merged.rowCount() >= args.orders * args.accounts):
            rows_at.append(time.perf_counter() - t_shown)

    for model in (*models, merged):
        for signal in (model.rowsInserted, model.modelReset, model.layoutChanged):
            signal.connect(rows_in)
    tick = asyncio.ensure_future(ticker.run())
    feed: asyncio.Task[None] | None = None
    if args.ui_only:
        controller = controllers[0]
        await controller.start(stream=False)

        async def pipe() -> None:
            async for event in controller.session.venue.stream():
                controller.apply_event(event)

        feed = asyncio.ensure_future(pipe())
    else:
        await workspace.start_all()  # as app.run_console does
    await workspace.settle()
    startup_s = time.perf_counter() - t_shown
    shown = [m.rowCount() for m in models]

    rng = random.Random(9)
    per_tick = max(1, round(args.rate * FEED_TICK_S))
    sent = 0

    async def updates() -> None:
        nonlocal sent
        if sims:  # each sim process amends its own orders (`sim_process`)
            counts = await asyncio.gather(*(sim.call("feed", args.rate, args.seconds)
                                            for sim in sims))
            sent = sum(counts)
            return
        deadline = loop.time() + args.seconds
        next_at = loop.time()
        while loop.time() < deadline:
            for session, placed in built:
                sent += amend_some(session.exchange, placed, rng, per_tick)
            next_at += FEED_TICK_S
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
    streams = [c.session.stream for c in controllers]
    sim_rss = [round(sim.peak_rss_mb(), 1) for sim in sims]
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
        "rss_mb_split": {
            "modules": round(rss_before_sim, 1),
            "accounts_set_up": round(rss_before_window - rss_before_sim, 1),
            "window_and_engines": round(peak_rss - rss_before_window, 1),
        },
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
        "sim": "in this process" if args.in_process_sim else "child processes",
        "sim_processes_peak_rss_mb": sim_rss,
    }
    if sampler is not None:
        result["stalls"] = sampler.stalls
    result["ok"] = all(result["target_met"].values()) and all(n == args.orders for n in shown)
    window.close()
    await window.tasks.cancel_all()
    await workspace.aclose()  # each account's engine, then its sim and ledger
    collector.stop()
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
    parser.add_argument("--in-process-sim", action="store_true",
                        help="the sims in this process, as the window's embedded demo "
                             "runs (its resident set then counts them)")
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
