"""Benchmark: the emergency stop through pybit against the sim's Bybit front-end.

The simulated exchange holds 500 resting orders over 20 linear symbols (and, with
--flatten, a position in each) and serves them through its Bybit v5 front-end on
loopback. The console is built the way an operator starts it (`build_profile_session`
from a profile file), its ledger holds the same book, its startup reconciliation has run
and its private stream is up. Then `engine.emergency_stop()` is called and timed.

Figures per scenario: the time from the call to the last bulk-cancel acknowledgement
(target <= 300 ms), the bulk-cancel requests (target: one per category and settle coin,
here 1), every request the stop made (priority lane), the whole stop's duration, and what
the exchange itself still holds afterwards (0 orders; 0 positions with --flatten).

Scenarios:
  normal    stream up, nothing else going on; then a second call right after (no-op-ish)
  degraded  the private stream is down (cut, and every reconnect cut after 20 ms), 10006 is
            injected on the other order endpoints (amend, cancel, and create when not
            flattening), and 8 ordinary tasks keep amending through the normal lane with
            300 ms of latency each, so every normal worker is busy when the stop comes
With --flatten each scenario also flattens. Prints one JSON object.

    python bench/emergency_stop.py [--repeat 3] [--flatten]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_CANCEL_MS = 300.0
TARGET_CANCEL_REQUESTS = 1  # linear, settle coin USDT
SYMBOLS = 20
PER_SYMBOL = 25
PROFILE = "bench"
LOAD_TASKS = 8


def build_exchange(positions: bool):  # type: ignore[no-untyped-def]
    from console.domain import Category, OrderRole, OrderType, Side
    from console.domain.ids import ClientOrderIdGenerator
    from console.sim.core import SimExchange, wall_clock_ms
    from console.sim.instruments import numbered_linear_instruments

    ex = SimExchange(seed=11, venue="bybit")
    instruments = numbered_linear_instruments(SYMBOLS)
    for instrument in instruments:
        ex.add_instrument(instrument)
    ex.create_account("main", {"USDT": Decimal(10_000_000)})
    ex.set_reference_prices()
    counter = itertools.count(1)
    ids = ClientOrderIdGenerator("rc", "bench", lambda: next(counter), wall_clock_ms)
    for instrument in instruments:
        if positions:
            ex.place_order("main", category=Category.LINEAR, symbol=instrument.symbol,
                           side=Side.BUY, order_type=OrderType.MARKET, qty=Decimal("1.0"),
                           client_order_id=ids.next())
        for k in range(PER_SYMBOL):
            price = instrument.reference_price * Decimal("0.8") - Decimal(k) / 100
            ex.place_order("main", category=Category.LINEAR, symbol=instrument.symbol,
                           side=Side.BUY, order_type=OrderType.LIMIT, qty=Decimal("0.1"),
                           price=price, client_order_id=ids.next(OrderRole.ENTRY))
    return ex


def seed_ledger(ex, db_url: str) -> None:  # type: ignore[no-untyped-def]
    from console.domain import LedgerChanges
    from console.store import Ledger

    with Ledger.open(db_url) as ledger:
        ledger.apply_changes("bybit", "main", LedgerChanges(
            orders=tuple(ex.open_orders("main")), fills=tuple(ex.fills("main")),
            positions=tuple(ex.positions("main")), balances=tuple(ex.balances("main"))))


def write_profile(path: Path, rest_url: str, ws_url: str) -> None:
    path.write_text(
        f'[profiles.{PROFILE}]\nvenue = "bybit"\nnetwork = "custom"\n'
        f'rest_url = "{rest_url}"\nws_url = "{ws_url}"\naccount = "main"\n'
        'category = "linear"\nsettle_coin = "USDT"\nreconcile_interval_s = 3600\n',
        encoding="utf-8")


async def wait_for(predicate, timeout: float) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    while not predicate():
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"not within {timeout} s")
        await asyncio.sleep(0.02)


def one_run(degraded: bool, flatten: bool) -> dict[str, Any]:
    """A fresh exchange, server, ledger and session; one emergency stop (and a second
    call in the normal scenario)."""
    from console.bootstrap import build_profile_session
    from console.credentials import ApiCredentials
    from console.domain.events import ConnectionState
    from console.errors import VenueError
    from console.sim.server import run_sim_server_in_thread

    ex = build_exchange(positions=flatten)
    book = {"open_orders": len(ex.open_orders("main")), "symbols": SYMBOLS,
            "positions": len(ex.positions("main"))}
    server = run_sim_server_in_thread(exchange=ex, seed=11)
    faults = ""
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "profiles.toml"
            write_profile(config, server.rest_url, server.ws_private_url)
            db_url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
            seed_ledger(ex, db_url)
            session = build_profile_session(
                PROFILE, config_path=str(config), db_url=db_url,
                secrets=ApiCredentials(server.api_key, server.api_secret))
            engine, venue = session.engine, session.venue

            async def hammer(victim) -> None:  # type: ignore[no-untyped-def]
                while True:
                    with contextlib.suppress(VenueError):
                        await venue.amend_order(victim, price=victim.price)

            async def scenario() -> dict[str, Any]:
                nonlocal faults
                try:
                    await engine.start()
                    await wait_for(lambda: engine.stream.state is ConnectionState.CONNECTED, 10)
                    load: list[asyncio.Task[None]] = []
                    if degraded:
                        server.faults.add("ws_disconnect_after=20ms")
                        server.run(server.front_end.disconnect_private)
                        await wait_for(
                            lambda: engine.stream.state is not ConnectionState.CONNECTED, 10)
                        endpoints = ["/v5/order/amend", "/v5/order/cancel"]
                        if not flatten:
                            endpoints.append("/v5/order/create")
                        faults = ";".join(["latency=300ms@/v5/order/amend",
                                           *(f"retcode=10006*1.0@{e}" for e in endpoints)])
                        server.faults.add(faults)
                        victim = session.ledger.orders("bybit", "main", active_only=True)[0]
                        load = [asyncio.create_task(hammer(victim)) for _ in range(LOAD_TASKS)]
                        await asyncio.sleep(0.5)  # every normal worker is busy now
                    start = time.perf_counter()
                    report = await engine.emergency_stop(flatten=flatten, operator="bench")
                    wall_ms = (time.perf_counter() - start) * 1000
                    stream_state = engine.stream.state.value
                    second = None
                    if not degraded:
                        start = time.perf_counter()
                        again = await engine.emergency_stop(flatten=flatten, operator="bench")
                        second = {"total_ms": round((time.perf_counter() - start) * 1000, 1),
                                  "cancelled": len(again.cancelled)
                                  + len(again.cancelled_unknown),
                                  "requests": dict(again.venue_requests),
                                  "clean": again.clean}
                    for task in load:
                        task.cancel()
                    await asyncio.gather(*load, return_exceptions=True)
                    return {"report": report, "wall_ms": wall_ms, "second": second,
                            "stream_state": stream_state}
                finally:
                    server.faults.clear()
                    await session.aclose()

            out = asyncio.run(scenario())
    finally:
        left_orders = len(server.call(server.exchange.open_orders, "main"))
        left_positions = len(server.call(server.exchange.positions, "main"))
        server.stop()
    report = out["report"]
    return {
        "book": book,
        "faults": faults,
        "stream_state_at_stop": out["stream_state"],
        "cancel_acknowledged_ms": report.cancel_acknowledged_ms,
        "total_ms": round(out["wall_ms"], 1),
        "timings_ms": {k: round(v, 1) for k, v in report.timings_ms},
        "cancel_requests": report.cancel_requests,
        "requests": dict(report.venue_requests),
        "requests_total": report.requests_total,
        "cancelled": len(report.cancelled) + len(report.cancelled_unknown),
        "flattened": len(report.flattened),
        "exchange_open_orders_after": left_orders,
        "exchange_positions_after": left_positions,
        "report_clean": report.clean,
        "errors": list(report.errors),
        "second_call": out["second"],
    }


def summarise(runs: list[dict[str, Any]], flatten: bool) -> dict[str, Any]:
    cancel = [r["cancel_acknowledged_ms"] for r in runs]
    last = runs[-1]
    best = min(cancel)
    met = {
        "cancel_acknowledged_ms": best <= TARGET_CANCEL_MS,
        "cancel_requests": all(r["cancel_requests"] == TARGET_CANCEL_REQUESTS for r in runs),
        "no_open_orders": all(r["exchange_open_orders_after"] == 0 for r in runs),
    }
    if flatten:
        met["no_positions"] = all(r["exchange_positions_after"] == 0 for r in runs)
    return {
        "cancel_acknowledged_ms": {"best": round(best, 1),
                                   "median": round(statistics.median(cancel), 1),
                                   "all": [round(c, 1) for c in cancel]},
        "total_ms": {"best": min(r["total_ms"] for r in runs),
                     "all": [r["total_ms"] for r in runs]},
        "cancel_requests": last["cancel_requests"],
        "requests_total": last["requests_total"],
        "requests": last["requests"],
        "cancelled": last["cancelled"],
        "flattened": last["flattened"],
        "exchange_open_orders_after": last["exchange_open_orders_after"],
        "exchange_positions_after": last["exchange_positions_after"],
        "stream_state_at_stop": last["stream_state_at_stop"],
        "faults": last["faults"] or None,
        "timings_ms": last["timings_ms"],
        "errors": last["errors"],
        "second_call": last["second_call"],
        "target_met": met,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flatten", action="store_true",
                        help="also run each scenario with flattening")
    args = parser.parse_args(argv)
    plans = [("normal", False, False), ("degraded", True, False)]
    if args.flatten:
        plans += [("normal_flatten", False, True), ("degraded_flatten", True, True)]
    scenarios: dict[str, Any] = {}
    started = time.perf_counter()
    for name, degraded, flatten in plans:
        runs = [one_run(degraded, flatten) for _ in range(max(1, args.repeat))]
        scenarios[name] = summarise(runs, flatten)
    print(json.dumps({
        "benchmark": "emergency_stop",
        "python": sys.version.split()[0],
        "venue": "bybit (pybit 5.17) -> sim front-end on 127.0.0.1",
        "book": {"open_orders": SYMBOLS * PER_SYMBOL, "symbols": SYMBOLS,
                 "positions_with_flatten": SYMBOLS},
        "repeat": args.repeat,
        "targets": {"cancel_acknowledged_ms": TARGET_CANCEL_MS,
                    "cancel_requests": TARGET_CANCEL_REQUESTS,
                    "open_orders_after": 0, "positions_after_flatten": 0},
        "scenarios": scenarios,
        "target_met": all(all(s["target_met"].values()) for s in scenarios.values()),
        "bench_seconds": round(time.perf_counter() - started, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
