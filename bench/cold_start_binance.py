"""bench/cold_start.py --venue binance: the run, the minimum the reads need, the floor.

The book is bench/cold_start.py's (open orders, one long position per symbol, fills), on
the sim's Binance USD-M front-end; the ledger holds the same book, read through the
connector (see binance_bench.seed_ledger). The measured process is cold_start.py's own
child, reading a `venue = "binance"`, `market = "usdm"` profile without a symbol list.

The minimum requests and weight of a startup reconciliation (Binance's documented weights,
as the sim charges them, console/sim/binance/server.py; the budget per
console/sim/binance/limits.py):
  GET /fapi/v1/time            1    the clock, before anything is signed
  GET /fapi/v1/openOrders      1    without a symbol: every open order at once (weight 40;
                                    per symbol it would be 1 x symbols)
  GET /fapi/v1/openAlgoOrders  1    likewise for conditional orders (weight 40)
  GET /fapi/v3/positionRisk    1    the positions, and the symbols whose trades to ask
  GET /fapi/v3/account         1    the balances
  GET /fapi/v1/userTrades      per symbol positionRisk lists (a position or open orders:
                               userTrades needs a symbol), per window of at most 7 days
                               of the fills window the run asked, per 1000 fills in it
Anything else the connector asks (the account's position mode, say) has a minimum of 0
for a reconciliation. The time floor: the minimum weight beyond the first minute's budget
at the budget's rate (budget / 60 s), plus the latency of the dependent round trips
(time -> positionRisk -> userTrades: 3) at the front-end's median service time. The
headline figures are the best run's, against the minimum for the fills window that run
asked; `runs` has every run's.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import binance_bench as bb

WEEK_MS: Final = 7 * 86_400_000
"""userTrades: a window (startTime to endTime) of at most 7 days (USD-M's docs)."""
TRADES_PAGE: Final = 1000
"""userTrades' largest page (`limit` at most 1000)."""
DEPENDENT_ROUND_TRIPS: Final = 3
"""time -> positionRisk (which symbols) -> userTrades."""
FLOOR_SLACK: Final = 1.5
"""target_met: the best time within 1.5 x the floor."""
MINUTE_S: Final = 60.0


def sim_book(ex: Any) -> dict[str, Any]:
    """What the exchange holds, for the minimum: runs on the server's loop."""
    orders = ex.open_orders(bb.ACCOUNT)
    positions = [p for p in ex.positions(bb.ACCOUNT) if p.size]
    fills = ex.fills(bb.ACCOUNT)
    listed = sorted({p.symbol for p in positions} | {o.symbol for o in orders})
    return {"open_orders": len(orders),
            "conditional": sum(1 for o in orders if o.trigger_price is not None),
            "positions": len(positions), "fills": len(fills), "listed_symbols": listed,
            "fill_times": [(f.symbol, f.exec_time) for f in fills]}


def minimum(book: dict[str, Any], window: tuple[int, int],
            weights: dict[str, Any]) -> dict[str, dict[str, int]]:
    """The least requests (and their weight) per endpoint for the fills `window`."""
    since, until = window
    windows = max(1, math.ceil((until - since) / WEEK_MS))
    per_window: dict[tuple[str, int], int] = {}
    for symbol, at in book["fill_times"]:
        if since <= at <= until:
            index = min(windows - 1, (at - since) // WEEK_MS)
            per_window[(symbol, index)] = per_window.get((symbol, index), 0) + 1
    trades = sum(max(1, math.ceil(per_window.get((symbol, k), 0) / TRADES_PAGE))
                 for symbol in book["listed_symbols"] for k in range(windows))
    wanted = {
        ("GET /fapi/v1/time", ()): 1,
        ("GET /fapi/v1/openOrders", ()): 1,
        ("GET /fapi/v1/openAlgoOrders", ()): 1,
        ("GET /fapi/v3/positionRisk", ()): 1,
        ("GET /fapi/v3/account", ()): 1,
        ("GET /fapi/v1/userTrades", (("symbol", "ANY"),)): trades,
    }
    return {endpoint: {"requests": n,
                       "weight": n * bb.weight_of(weights, endpoint, dict(query))}
            for (endpoint, query), n in wanted.items()}


def run_figures(seen: list[bb.Seen], report: dict[str, Any], book: dict[str, Any],
                weights: dict[str, Any]) -> dict[str, Any]:
    """One run's requests against the minimum for the fills window it asked."""
    made = bb.by_endpoint(seen, weights)
    since, until = fills_window_of(report)
    least = minimum(book, (since, until), weights)
    table = {ep: {"requests": made.get(ep, {}).get("requests", 0),
                  "minimum": least.get(ep, {}).get("requests", 0),
                  "weight": made.get(ep, {}).get("weight", 0),
                  "minimum_weight": least.get(ep, {}).get("weight", 0)}
             for ep in sorted(set(made) | set(least))}
    return {
        "requests": table,
        "requests_total": sum(row["requests"] for row in table.values()),
        "requests_minimum_total": sum(row["minimum"] for row in table.values()),
        "weight_used": sum(row["weight"] for row in table.values()),
        "weight_minimum": sum(row["minimum_weight"] for row in table.values()),
        "max_used_weight_header": max((s.used_weight or 0 for s in seen), default=0),
        "refused_429": sum(1 for s in seen if s.status in (418, 429)),
        "statuses": bb.statuses(seen),
        "fills_window_ms": {"since": since, "until": until,
                            "as_run": bool(report["fills_window"]),
                            "length_ms": until - since,
                            "userTrades_windows_per_symbol":
                                max(1, math.ceil((until - since) / WEEK_MS))},
    }


def fills_window_of(report: dict[str, Any]) -> tuple[int, int]:
    """The fills window the run asked (its record has none when the fills failed: then
    the default a first run asks, 7 days before the run's start up to its end)."""
    window = report["fills_window"]
    if window:
        return int(window[0]), int(window[1])
    marks = report["marks"]
    return (int(marks["run_started"] * 1000) - WEEK_MS, int(marks["run_finished"] * 1000))


def timeline(seen: list[bb.Seen], spawned: float, spawned_wall: float,
             marks: dict[str, float]) -> dict[str, Any]:
    """Where the time went, in seconds from the spawn of the measured process."""
    out: dict[str, Any] = {k: round(v - spawned_wall, 3) for k, v in marks.items()}
    if seen:
        out["first_request"] = round(min(s.arrived for s in seen) - spawned, 3)
        out["last_answer"] = round(max(s.answered for s in seen) - spawned, 3)
    per: dict[str, list[float]] = {}
    for s in seen:
        per.setdefault(s.endpoint, []).extend([s.arrived - spawned, s.answered - spawned])
    out["per_endpoint"] = {k: [round(min(v), 3), round(max(v), 3)]
                           for k, v in sorted(per.items())}
    return out


def measured_child(script: str, env: dict[str, str], timeout_s: float
                   ) -> tuple[str | None, float, str]:
    """Spawn the measured process; (its report line or None, seconds from the spawn to
    the line, the tail of its stderr). Its stderr goes to a file, not a pipe: a connector
    logging a warning per refused request would fill a pipe and stall the child. Past
    `timeout_s` the child is killed."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, script, "--child"], env=env,
                                stdout=subprocess.PIPE, stderr=errors, text=True)
        got: dict[str, Any] = {}

        def read() -> None:
            assert proc.stdout is not None
            got["line"] = proc.stdout.readline()
            got["at"] = time.perf_counter()

        reader = threading.Thread(target=read, name="cold-start-child", daemon=True)
        reader.start()
        reader.join(timeout_s)
        line = got.get("line") or None
        took = got.get("at", time.perf_counter()) - start
        if line is None:
            proc.kill()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors.seek(0)
        tail = errors.read()[-3000:]
        if proc.returncode not in (0, None) and line is not None:
            line = None
    return line, took, tail


def failure(args: argparse.Namespace, seen: list[bb.Seen], start: float, *,
            weights: dict[str, Any], budget: int, err: str) -> dict[str, Any]:
    """The one JSON object of a run that did not report: what the venue saw meanwhile."""
    per_10s: dict[int, dict[str, int]] = {}
    for s in seen:
        bucket = per_10s.setdefault(int((s.arrived - start) // 10) * 10, {})
        bucket[str(s.status)] = bucket.get(str(s.status), 0) + 1
    return {
        "benchmark": "cold_start", "venue": "binance usdm", "error":
            f"the measured process did not report within {args.child_timeout} s "
            "(killed)" if "Traceback" not in err else "the measured process failed",
        "target_met": False,
        "weight_budget_1m": budget,
        "requests": bb.by_endpoint(seen, weights),
        "refused_429": sum(1 for s in seen if s.status in (418, 429)),
        "statuses": bb.statuses(seen),
        "statuses_per_10s_from_spawn": {f"{k}s": v for k, v in sorted(per_10s.items())},
        "stderr_tail": err[-1500:],
    }


def run_binance(args: argparse.Namespace, *, build_exchange: Callable[..., Any],
                profile: str, target_s: float, script: str) -> int:
    from console.sim.server import run_sim_server_in_thread

    t0 = time.perf_counter()
    ex = build_exchange(args.orders, args.positions, args.fills, venue="binance")
    build_s = time.perf_counter() - t0
    log = bb.RequestLog()
    with bb.recording(log):
        handle = run_sim_server_in_thread(venue="binance", market=bb.MARKET, exchange=ex,
                                          seed=11)
    samples: list[float] = []
    reports: list[dict[str, Any]] = []
    runs: list[tuple[list[bb.Seen], float, float]] = []
    try:
        front = handle.front_end
        weights = bb.endpoint_weights(front)
        budget = bb.weight_budget(front)
        book_now = handle.call(sim_book, ex)
        ws_url = front.urls()["usdm_ws_url"]
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "profiles.toml"
            bb.write_profile(config, profile, handle.rest_url, ws_url)
            db_url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
            seeded_at = time.perf_counter()
            with bb.unmetered(handle):
                book = bb.seed_ledger(handle, db_url, ws_url,
                                      fills_from_ms=int(time.time() * 1000) - WEEK_MS)
            seed_s = time.perf_counter() - seeded_at
            env = dict(os.environ, RECON_BENCH_KEY=handle.api_key,
                       RECON_BENCH_SECRET=handle.api_secret, RECON_BENCH_CONFIG=str(config),
                       RECON_BENCH_DB=db_url)
            for _ in range(args.repeat):
                handle.call(bb.reset_budgets, front)
                handle.call(log.clear)
                spawned_wall, start = time.time(), time.perf_counter()
                line, took, err = measured_child(script, env, args.child_timeout)
                seen = handle.call(log.snapshot)
                if line is None:
                    print(json.dumps(failure(args, seen, start, weights=weights,
                                             budget=budget, err=err)))
                    return 1
                samples.append(took)
                reports.append(json.loads(line))
                runs.append((seen, start, spawned_wall))
    finally:
        handle.stop()

    figures = [run_figures(seen_run, report, book_now, weights)
               for (seen_run, _, _), report in zip(runs, reports, strict=True)]
    best_index = min(range(len(samples)), key=samples.__getitem__)
    best, chosen, report = samples[best_index], figures[best_index], reports[best_index]
    seen, spawned, spawned_wall = runs[best_index]
    refused_per_run = [f["refused_429"] for f in figures]
    refused = sum(refused_per_run)
    min_weight = chosen["weight_minimum"]
    rate = budget / MINUTE_S
    weight_floor_s = max(0, min_weight - budget) / rate
    service = [s.answered - s.arrived for s in seen] or [0.0]
    latency_floor_s = DEPENDENT_ROUND_TRIPS * statistics.median(service)
    floor_s = weight_floor_s + latency_floor_s
    if weight_floor_s == 0:
        goal_s, applies = target_s, "bybit_target"
        why = (f"the minimum weight {min_weight} fits the first minute's budget of "
               f"{budget}: no rate-limit wait is needed, the floor is latency only "
               f"({floor_s:.4f} s, about 0), so the Bybit target of {target_s} s is the goal")
    else:
        goal_s, applies = FLOOR_SLACK * floor_s, "rate_limit_floor"
        why = (f"the minimum weight {min_weight} is {min_weight - budget} beyond the first "
               f"minute's {budget}, at {rate:g} a second: the goal is {FLOOR_SLACK} x the "
               "floor")
    table = chosen["requests"]
    print(json.dumps({
        "benchmark": "cold_start",
        "python": sys.version.split()[0],
        "venue": "binance usdm (ccxt raw methods) -> sim front-end on 127.0.0.1",
        "book": book,
        "exchange_book": {k: v for k, v in book_now.items()
                          if k not in ("listed_symbols", "fill_times")}
        | {"symbols_positionrisk_lists": len(book_now["listed_symbols"])},
        "build_seconds": round(build_s, 2),
        "ledger_seed_seconds": round(seed_s, 2),
        "process_start_to_reconciled_s": {"best": round(best, 3),
                                          "median": round(sorted(samples)[len(samples) // 2], 3),
                                          "all": [round(s, 3) for s in samples]},
        "reconcile_run_ms": [r["run_ms"] for r in reports],
        "best_run": best_index + 1,
        "fills_window_ms": chosen["fills_window_ms"],
        "weight_budget_1m": budget,
        "weight_minimum": min_weight,
        "weight_used": chosen["weight_used"],
        "max_used_weight_header": chosen["max_used_weight_header"],
        "weight_floor_s": round(weight_floor_s, 3),
        "latency_floor_s": round(latency_floor_s, 4),
        "median_service_ms": round(statistics.median(service) * 1000, 2),
        "rate_limit_floor_s": round(floor_s, 4),
        "measured_s": round(best, 3),
        "ratio_to_floor": round(best / floor_s, 1) if floor_s > 0 else None,
        "ratio_to_goal": round(best / goal_s, 2),
        "goal": {"applies": applies, "seconds": round(goal_s, 3), "why": why},
        "target_met": best <= goal_s,
        "refused_429": refused,
        "refused_429_per_run": refused_per_run,
        "refused_429_ok": refused == 0,
        "requests": table,
        "requests_total": sum(row["requests"] for row in table.values()),
        "requests_minimum_total": sum(row["minimum"] for row in table.values()),
        "requests_equal_minimum": all(row["requests"] == row["minimum"]
                                      for row in table.values()),
        "statuses": chosen["statuses"],
        "adapter_calls": report["venue_calls"],
        "timeline_s": timeline(seen, spawned, spawned_wall, report["marks"]),
        "runs": [{"seconds": round(t, 3), "status": r["status"],
                  "userTrades_windows_per_symbol":
                      f["fills_window_ms"]["userTrades_windows_per_symbol"],
                  "fills_window_from_coverage_mark": f["fills_window_ms"]["length_ms"]
                  < WEEK_MS,
                  "requests": f["requests_total"], "requests_minimum":
                      f["requests_minimum_total"], "weight_used": f["weight_used"],
                  "weight_minimum": f["weight_minimum"], "refused_429": f["refused_429"]}
                 for t, r, f in zip(samples, reports, figures, strict=True)],
        "status": report["status"],
        "discrepancies": report["discrepancies"],
        "errors": report["errors"],
        "unverified": report["unverified"][:5],
    }))
    return 0
