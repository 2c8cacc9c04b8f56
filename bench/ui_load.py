"""Benchmark: the console under load. Prints one JSON object.

The sim holds 10,000 open orders (ours, in the ledger too) on 50 symbols; the real window
(offscreen, orders tab in front) runs over the real engine: private stream, stream
consumer writing to SQLite, startup reconciliation. Then, for 10 s, 200 order updates a
second arrive (the sim amends 10 random orders every 50 ms; each emits its private
event, which the engine writes to the ledger and the window's orders model takes). A
ticker coroutine sleeps 10 ms at a time and records how late it wakes up: that lateness
is the event loop's lag, i.e. how long the GUI could not respond.

Targets: lag p99 <= 50 ms, peak RSS <= 400 MB.

`--ui-only` leaves the engine's stream consumer out (no ledger writes): the window takes
the private events straight from the venue stream. The difference between the two runs is
the engine's share of the lag.

    QT_QPA_PLATFORM=offscreen python bench/ui_load.py [--orders 10000 --rate 200 --seconds 10]
        [--ui-only]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TARGET_P99_MS = 50.0
TARGET_RSS_MB = 400.0
TICK_S = 0.010


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(min(rank, len(ordered))) - 1]


def build(n_orders: int, n_symbols: int, db_url: str) -> Any:
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
    exchange = SimExchange(seed=3, clock_ms=wall_clock_ms, venue=SIM_VENUE,
                           instruments=instruments)
    exchange.create_account(SIM_ACCOUNT, {"USDT": Decimal(10) ** 12})
    exchange.set_reference_prices()
    counter = iter(range(1, 10_000_000))
    ids = ClientOrderIdGenerator("rc", "load", lambda: next(counter), wall_clock_ms)
    rng = random.Random(5)
    placed = []
    for i in range(n_orders):
        instr = instruments[i % n_symbols]
        price = Decimal(rng.randint(500, 900)) / 100
        placed.append(exchange.place_order(
            SIM_ACCOUNT, category=Category.LINEAR, symbol=instr.symbol, side=Side.BUY,
            order_type=OrderType.LIMIT, qty=Decimal("0.1"), price=price,
            client_order_id=ids.next()))
    ledger = open_ledger(db_url)
    ledger.apply_changes(SIM_VENUE, SIM_ACCOUNT, LedgerChanges(
        orders=tuple(o.evolve(strategy_id="load", worker_id="load", origin=Origin.OURS)
                     for o in placed),
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


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from PySide6.QtCore import QSettings

    from console.bootstrap_gui import demo_parts
    from console.ui.app import create_console
    from console.ui.dialogs.confirm import ScriptedConfirmer
    from console.ui.settings import UiSettings

    tmp = Path(tempfile.mkdtemp(prefix="recon-ui-load-"))
    t0 = time.perf_counter()
    session, placed = build(args.orders, args.symbols, f"sqlite:///{tmp / 'ledger.db'}")
    build_s = time.perf_counter() - t0
    console = create_console(
        demo_parts(session), confirmer=ScriptedConfirmer(default=False),
        settings=UiSettings(QSettings(str(tmp / "ui.ini"), QSettings.Format.IniFormat)))
    window, controller = console.window, console.controller
    window.show_error_dialogs = False
    window.show()
    t1 = time.perf_counter()
    outcome = await controller.start(stream=not args.ui_only)
    feed: asyncio.Task[None] | None = None
    if args.ui_only:
        async def pipe() -> None:
            async for event in session.venue.stream():
                controller.apply_event(event)

        feed = asyncio.ensure_future(pipe())
    await controller.settle()
    startup_s = time.perf_counter() - t1
    shown = controller.orders.rowCount()

    loop = asyncio.get_running_loop()
    lags: list[float] = []
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            t = loop.time()
            await asyncio.sleep(TICK_S)
            lags.append(max(0.0, (loop.time() - t - TICK_S) * 1000))

    rng = random.Random(9)
    per_tick = max(1, round(args.rate * 0.05))
    sent = 0

    async def updates() -> None:
        nonlocal sent
        deadline = loop.time() + args.seconds
        next_at = loop.time()
        while loop.time() < deadline:
            for order in rng.sample(placed, per_tick):
                price = Decimal(rng.randint(500, 900)) / 100
                session.exchange.amend_order("main", order.venue_order_id, price=price)
                sent += 1
            next_at += 0.05
            await asyncio.sleep(max(0.0, next_at - loop.time()))

    rss_peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    flushes0 = controller.orders.flushes
    signals0 = controller.orders.data_changed_signals
    tick = asyncio.ensure_future(ticker())
    t2 = time.perf_counter()
    await updates()
    load_s = time.perf_counter() - t2
    stop.set()
    await tick
    await asyncio.sleep(0.5)  # let the stream consumer drain what is queued
    await controller.settle()
    stream = session.engine.stream
    if feed is not None:
        feed.cancel()
        await asyncio.gather(feed, return_exceptions=True)
    result = {
        "benchmark": "ui_load",
        "orders": args.orders,
        "symbols": args.symbols,
        "updates_per_s_target": args.rate,
        "updates_sent": sent,
        "updates_per_s": round(sent / load_s, 1),
        "seconds": round(load_s, 2),
        "loop_lag_ms": {
            "p50": round(percentile(lags, 50), 2),
            "p99": round(percentile(lags, 99), 2),
            "max": round(max(lags), 2),
            "samples": len(lags),
            "tick_ms": TICK_S * 1000,
        },
        "target_p99_ms": TARGET_P99_MS,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_before_load": round(rss_peak_before, 1),
        "target_rss_mb": TARGET_RSS_MB,
        "rows_shown": shown,
        "startup_s": round(startup_s, 2),
        "startup_reconcile_ms": round(outcome.duration_ms, 1) if outcome else None,
        "build_s": round(build_s, 2),
        "model_flushes": controller.orders.flushes - flushes0,
        "data_changed_signals": controller.orders.data_changed_signals - signals0,
        "engine_stream_consumer": not args.ui_only,
        "engine_stream": {"events": stream.events, "batches": stream.batches},
        "qt": __import__("PySide6.QtCore", fromlist=["qVersion"]).qVersion(),
    }
    result["ok"] = (result["loop_lag_ms"]["p99"] <= TARGET_P99_MS
                    and result["peak_rss_mb"] <= TARGET_RSS_MB and shown == args.orders)
    window.close()
    await window.tasks.cancel_all()
    await controller.aclose()
    await session.aclose()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--rate", type=int, default=200, help="order updates per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--ui-only", action="store_true",
                        help="without the engine's stream consumer (see above)")
    args = parser.parse_args()

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
