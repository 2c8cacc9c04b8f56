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

With --venue binance the same book is on the sim's Binance USD-M front-end and the stop
goes through the Binance connector (ccxt). USD-M's bulk cancel is per symbol: the target
is one DELETE /fapi/v1/allOpenOrders per symbol with open orders (here 20) plus the algo
cancels, in the priority lane, in parallel, within the weight budget (no HTTP 429), and
the time from the call to the last acknowledgement <= 300 ms. The requests are counted
as the front-end saw them (bench/binance_bench.py), with a timeline of the stop. The
degraded scenario keeps its stream cut; Binance has no per-endpoint limit like Bybit's
10006, and the sim's faults target paths, not methods (GET, PUT and DELETE
/fapi/v1/order are one path, and the stop reads orders back on it), so the ordinary
amends are refused by the account's own order-count budget instead (the sim's
X-MBX-ORDER-COUNT-10S budget lowered to a few orders: 429/-1015 with Retry-After, as
Binance answers past it), which leaves the connector's budget keeper holding the normal
lane. That budget also counts new orders, so with --flatten the degraded flatten meets
it too (Binance counts orders per account, whatever the lane).

With --accounts N (issue 14: one emergency stop for everything) the console holds N
accounts at once, each its own simulated exchange with its own Bybit front-end on
loopback (as N accounts on a venue are N API keys, N connections and N rate budgets),
each built from its profile as the window builds it, each with 500 resting orders and its
startup reconciliation done and its stream up, all on one qasync loop in one workspace
(`console.ui.workspace`, offscreen). Then the stop of every account is pressed through
the workspace's own code path (`Workspace.global_stop`: every account halted in memory
at once, then the per-account stops in parallel), as the window's button does after its
one confirmation. Figures per run: each account's and the overall "last cancel
acknowledged" (ms from the press, target <= 300 ms), the halt of every account, the
whole stop, and the orders each exchange itself still holds (target 0).

    python bench/emergency_stop.py [--repeat 3] [--flatten] [--venue bybit|binance]
    python bench/emergency_stop.py --accounts 3 [--repeat 3] [--flatten]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
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
BINANCE_ORDERS_10S = 4
"""Degraded on Binance: the account's 10-second order-count budget (Binance: 300)."""
BINANCE_STOP_ENDPOINTS = (
    ("GET", "/fapi/v1/openOrders"), ("GET", "/fapi/v1/openAlgoOrders"),
    ("DELETE", "/fapi/v1/allOpenOrders"), ("DELETE", "/fapi/v1/algoOpenOrders"),
    ("GET", "/fapi/v1/order"), ("GET", "/fapi/v1/algoOrder"), ("POST", "/fapi/v1/order"),
    ("GET", "/fapi/v3/positionRisk"), ("GET", "/fapi/v1/userTrades"),
    ("GET", "/fapi/v3/account"))
"""The endpoints the stop itself uses (refusals there count against it)."""
STOP_WRITES = frozenset({"cancel_all", "cancel_order", "place_order"})


def build_exchange(positions: bool, venue: str = "bybit"):  # type: ignore[no-untyped-def]
    from console.domain import Category, OrderRole, OrderType, Side
    from console.domain.ids import ClientOrderIdGenerator
    from console.sim.core import SimExchange, wall_clock_ms
    from console.sim.instruments import numbered_linear_instruments

    ex = SimExchange(seed=11, venue=venue)
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


def one_run(degraded: bool, flatten: bool, venue: str = "bybit") -> dict[str, Any]:
    """A fresh exchange, server, ledger and session; one emergency stop (and a second
    call in the normal scenario)."""
    from console.bootstrap import build_profile_session
    from console.credentials import ApiCredentials
    from console.domain.events import ConnectionState
    from console.errors import VenueError
    from console.sim.server import run_sim_server_in_thread

    binance = venue == "binance"
    ex = build_exchange(positions=flatten, venue=venue)
    book = {"open_orders": len(ex.open_orders("main")), "symbols": SYMBOLS,
            "positions": len(ex.positions("main"))}
    held = {"symbols": {o.symbol for o in ex.open_orders("main")},
            "algo_symbols": {o.symbol for o in ex.open_orders("main")
                             if o.trigger_price is not None}}
    requests_log = None
    if binance:
        import binance_bench as bb

        requests_log = bb.RequestLog()
        with bb.recording(requests_log):
            server = run_sim_server_in_thread(venue="binance", market=bb.MARKET,
                                              exchange=ex, seed=11)
    else:
        server = run_sim_server_in_thread(exchange=ex, seed=11)
    faults = ""
    extra: dict[str, Any] = {}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "profiles.toml"
            db_url = f"sqlite:///{Path(tmp) / 'ledger.db'}"
            if binance:
                ws_url = server.front_end.urls()["usdm_ws_url"]
                bb.write_profile(config, PROFILE, server.rest_url, ws_url,
                                 extra="reconcile_interval_s = 3600\n")
                with bb.unmetered(server):
                    bb.seed_ledger(server, db_url, ws_url,
                                   fills_from_ms=int(time.time() * 1000) - 86_400_000)
            else:
                write_profile(config, server.rest_url, server.ws_private_url)
                seed_ledger(ex, db_url)
            session = build_profile_session(
                PROFILE, config_path=str(config), db_url=db_url,
                secrets=ApiCredentials(server.api_key, server.api_secret))
            engine, venue_port = session.engine, session.venue

            async def hammer(victim) -> None:  # type: ignore[no-untyped-def]
                while True:
                    with contextlib.suppress(VenueError):
                        await venue_port.amend_order(victim, price=victim.price)

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
                        if binance:
                            faults = "ws_disconnect_after=20ms; " + server.call(
                                binance_order_budget, server.front_end)
                        else:
                            endpoints = ["/v5/order/amend", "/v5/order/cancel"]
                            if not flatten:
                                endpoints.append("/v5/order/create")
                            faults = ";".join(["latency=300ms@/v5/order/amend",
                                               *(f"retcode=10006*1.0@{e}" for e in endpoints)])
                            server.faults.add(faults)
                        victim = session.ledger.orders(venue, "main", active_only=True)[0]
                        load = [asyncio.create_task(hammer(victim)) for _ in range(LOAD_TASKS)]
                        await asyncio.sleep(0.5)  # every normal worker is busy now
                    calls_before = Counter(venue_port.calls)
                    lane_before = Counter(venue_port.priority_calls)
                    if requests_log is not None:
                        server.call(requests_log.clear)
                    start = time.perf_counter()
                    report = await engine.emergency_stop(flatten=flatten, operator="bench")
                    wall_ms = (time.perf_counter() - start) * 1000
                    stop_calls = Counter(venue_port.calls) - calls_before
                    stop_lane = Counter(venue_port.priority_calls) - lane_before
                    seen = server.call(requests_log.snapshot) if requests_log else []
                    stream_state = engine.stream.state.value
                    second = None
                    if not degraded:
                        start_again = time.perf_counter()
                        again = await engine.emergency_stop(flatten=flatten, operator="bench")
                        second = {"total_ms": round((time.perf_counter() - start_again)
                                                    * 1000, 1),
                                  "cancelled": len(again.cancelled)
                                  + len(again.cancelled_unknown),
                                  "requests": dict(again.venue_requests),
                                  "clean": again.clean}
                    for task in load:
                        task.cancel()
                    await asyncio.gather(*load, return_exceptions=True)
                    return {"report": report, "wall_ms": wall_ms, "second": second,
                            "stream_state": stream_state, "start": start, "seen": seen,
                            "stop_calls": stop_calls, "stop_lane": stop_lane}
                finally:
                    server.faults.clear()
                    await session.aclose()

            out = asyncio.run(scenario())
            if binance:
                extra = binance_figures(out, server.front_end, held)
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
        **extra,
    }


def binance_order_budget(front_end: Any) -> str:
    """Lower the account's 10-second order-count budget (the sim's X-MBX-ORDER-COUNT-10S)
    so that ordinary amends are refused 429/-1015; runs on the server's loop."""
    from console.sim.binance.limits import FAPI_ORDERS_10S, TEN_S_MS

    front_end.limiters.orders[TEN_S_MS].set_limit(FAPI_ORDERS_10S, BINANCE_ORDERS_10S)
    return f"{FAPI_ORDERS_10S}={BINANCE_ORDERS_10S} (amends answered 429/-1015)"


def binance_figures(out: dict[str, Any], front_end: Any,
                    held: dict[str, set[str]]) -> dict[str, Any]:
    """The stop as the Binance front-end saw it: requests per endpoint (until the last
    cancel acknowledgement, and in all) against the least a bulk cancel needs, refusals,
    weight, and when each kind of request arrived and was answered (ms from the call)."""
    import binance_bench as bb

    report, start = out["report"], out["start"]
    weights = bb.endpoint_weights(front_end)
    least = {  # allOpenOrders needs a symbol: which ones is listed first (weight 40 each)
        "GET /fapi/v1/openOrders": 1, "GET /fapi/v1/openAlgoOrders": 1,
        "DELETE /fapi/v1/allOpenOrders": len(held["symbols"]),
        "DELETE /fapi/v1/algoOpenOrders": len(held["algo_symbols"])}
    ack_ms = report.cancel_acknowledged_ms or 0.0
    stop_paths = {f"{m} {p}" for m, p in BINANCE_STOP_ENDPOINTS}
    seen = [s for s in out["seen"] if s.endpoint != "PUT /fapi/v1/order"]  # the load
    acked = [s for s in seen if (s.arrived - start) * 1000 <= ack_ms]
    deletes = [s for s in acked if s.endpoint == "DELETE /fapi/v1/allOpenOrders"]
    phases: dict[str, list[bb.Seen]] = {}
    for s in acked:
        phases.setdefault(s.endpoint, []).append(s)
    stop_calls, stop_lane = out["stop_calls"], out["stop_lane"]
    # the stop's writes (its reads share their names with the engine's own background
    # reconciliations, and the ordinary load amends meanwhile, outside the lane)
    outside = {m: n - stop_lane.get(m, 0) for m, n in stop_calls.items()
               if m in STOP_WRITES and n != stop_lane.get(m, 0)}
    return {
        "binance_requests_until_acknowledged": bb.by_endpoint(acked, weights),
        "binance_minimum_until_acknowledged": {
            k: {"requests": n, "weight": n * bb.weight_of(weights, k, {})}
            for k, n in least.items()},
        "binance_requests_whole_stop": bb.by_endpoint(seen, weights),
        "binance_delete_all_open_orders": len(deletes),
        "binance_delete_algo_open_orders": sum(
            1 for s in acked if s.endpoint == "DELETE /fapi/v1/algoOpenOrders"),
        "binance_symbols_with_open_orders": len({s.query.get("symbol") for s in deletes}),
        "binance_delete_arrival_span_ms": round(
            (max(s.arrived for s in deletes) - min(s.arrived for s in deletes)) * 1000, 1)
        if deletes else None,
        "binance_timeline_ms": {
            k: {"first_arrived": round((min(x.arrived for x in v) - start) * 1000, 1),
                "last_answered": round((max(x.answered for x in v) - start) * 1000, 1),
                "served_ms_median": round(statistics.median(
                    (x.answered - x.arrived) * 1000 for x in v), 2),
                "served_ms_sum": round(sum((x.answered - x.arrived) * 1000 for x in v), 1)}
            for k, v in sorted(phases.items())},
        "binance_refused_429": sum(1 for s in seen if s.status in (418, 429)
                                   and s.endpoint in stop_paths),
        "binance_max_used_weight": max((s.used_weight or 0 for s in seen), default=0),
        "binance_weight_budget": bb.weight_budget(front_end),
        "binance_all_in_priority_lane": not outside,
        "binance_calls_outside_priority_lane": outside,
    }


def summarise(runs: list[dict[str, Any]], flatten: bool,
              venue: str = "bybit") -> dict[str, Any]:
    cancel = [r["cancel_acknowledged_ms"] for r in runs]
    last = runs[-1]
    best = min(cancel)
    met = {
        "cancel_acknowledged_ms": best <= TARGET_CANCEL_MS,
        "cancel_requests": all(r["cancel_requests"] == TARGET_CANCEL_REQUESTS for r in runs),
        "no_open_orders": all(r["exchange_open_orders_after"] == 0 for r in runs),
    }
    if venue == "binance":
        met["cancel_requests"] = all(
            r["binance_delete_all_open_orders"] == r["binance_symbols_with_open_orders"]
            == SYMBOLS for r in runs)
        met["priority_lane"] = all(r["binance_all_in_priority_lane"] for r in runs)
        met["no_refused_429"] = all(r["binance_refused_429"] == 0 for r in runs)
    if flatten:
        met["no_positions"] = all(r["exchange_positions_after"] == 0 for r in runs)
    binance = {k: last[k] for k in last if k.startswith("binance_")}
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
        **binance,
        "target_met": met,
    }


def write_profiles(path: Path, servers: list[Any]) -> list[str]:
    """One Bybit profile per account, each on its own front-end; their names."""
    names = [f"{PROFILE}-{i + 1}" for i in range(len(servers))]
    path.write_text("".join(
        f'[profiles.{name}]\nvenue = "bybit"\nnetwork = "custom"\n'
        f'rest_url = "{server.rest_url}"\nws_url = "{server.ws_private_url}"\n'
        'account = "main"\nreconcile_interval_s = 3600\n'
        f'[profiles.{name}.bybit]\ncategory = "linear"\nsettle_coin = "USDT"\n'
        for name, server in zip(names, servers, strict=True)),
        encoding="utf-8")
    return names


def accounts_run(n: int, flatten: bool) -> dict[str, Any]:
    """N fresh exchanges, front-ends, ledgers and sessions in one workspace; one stop of
    every account through `Workspace.global_stop`."""
    import qasync

    from console.bootstrap import build_profile_session
    from console.bootstrap_gui import profile_identity
    from console.credentials import ApiCredentials
    from console.domain.events import ConnectionState
    from console.sim.server import run_sim_server_in_thread
    from console.ui.app import ensure_app
    from console.ui.dialogs.confirm import ScriptedConfirmer
    from console.ui.notifications import Notifier
    from console.ui.parts import ConsoleParts
    from console.ui.theme import ThemeState
    from console.ui.workspace import Workspace

    app = ensure_app()
    app.setQuitOnLastWindowClosed(False)
    # Qt objects must be freed on the GUI thread: the automatic collector could run in a
    # sim server's or a connector's thread and free the workspace's (or the closed loop's)
    # there. It is off for the run, and collects on this thread at the end.
    gc.disable()
    exchanges = [build_exchange(positions=flatten) for _ in range(n)]
    servers = [run_sim_server_in_thread(exchange=ex, seed=11) for ex in exchanges]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "profiles.toml"
            names = write_profiles(config, servers)
            parts = []
            for name, ex, server in zip(names, exchanges, servers, strict=True):
                db_url = f"sqlite:///{Path(tmp) / (name + '.db')}"
                seed_ledger(ex, db_url)
                session = build_profile_session(
                    name, config_path=str(config), db_url=db_url,
                    secrets=ApiCredentials(server.api_key, server.api_secret))
                parts.append(ConsoleParts(session=session.engine, book=session.ledger,
                                          identity=profile_identity(session),
                                          alerts=session.alerts, closers=[session.aclose]))

            async def scenario() -> dict[str, Any]:
                workspace = Workspace(theme=ThemeState("dark"),
                                      confirmer=ScriptedConfirmer(default=True),
                                      notifier=Notifier(), operator=lambda: "bench")
                try:
                    for account in parts:
                        workspace.add(account)
                    await workspace.start_all()
                    await wait_for(lambda: all(
                        c.session.stream.state is ConnectionState.CONNECTED
                        for c in workspace.controllers()), 20)
                    await workspace.settle()
                    held = {c.label: sum(1 for o in c.orders.records() if o.is_active)
                            for c in workspace.controllers()}
                    start = time.perf_counter()
                    report = await workspace.global_stop(flatten=flatten)
                    wall_ms = (time.perf_counter() - start) * 1000
                    assert report is not None  # the scripted operator confirms
                    return {"report": report, "wall_ms": wall_ms, "held": held}
                finally:
                    await workspace.aclose()

            with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
                out = runner.run(scenario())
    finally:
        left = {name: len(server.call(server.exchange.open_orders, "main"))
                for name, server in zip(names, servers, strict=True)}
        left_positions = {name: len(server.call(server.exchange.positions, "main"))
                          for name, server in zip(names, servers, strict=True)}
        for server in servers:
            server.stop()
        gc.collect()
        gc.enable()
    report = out["report"]
    return {
        "accounts": {
            part.label: {
                "open_orders_before": out["held"][part.label],
                "cancel_acknowledged_ms": None if part.cancel_acknowledged_ms is None
                else round(part.cancel_acknowledged_ms, 1),
                "cancel_requests": part.report.cancel_requests if part.report else None,
                "cancelled": part.cancelled,
                "flattened": part.flattened,
                "exchange_open_orders_after": left[part.label],
                "exchange_positions_after": left_positions[part.label],
                "errors": list(part.report.errors) if part.report else [part.error],
            } for part in report.accounts},
        "last_cancel_acknowledged_ms": None if report.last_cancel_acknowledged_ms is None
        else round(report.last_cancel_acknowledged_ms, 1),
        "halted_all_ms": round(report.halted_ms, 3),
        "total_ms": round(out["wall_ms"], 1),
        "exchange_open_orders_after": sum(left.values()),
        "exchange_positions_after": sum(left_positions.values()),
        "headline": report.headline,
    }


def accounts_main(n: int, repeat: int, flatten: bool) -> int:
    runs = [accounts_run(n, flatten) for _ in range(max(1, repeat))]
    overall = [r["last_cancel_acknowledged_ms"] for r in runs]
    acked = [v for v in overall if v is not None]
    best = min(acked) if acked else None
    left = runs[-1]["exchange_open_orders_after"]
    met = {"last_cancel_acknowledged_ms": best is not None and best <= TARGET_CANCEL_MS,
           "no_open_orders": all(r["exchange_open_orders_after"] == 0 for r in runs)}
    if flatten:
        met["no_positions"] = all(r["exchange_positions_after"] == 0 for r in runs)
    print(json.dumps({
        "benchmark": "emergency_stop_all_accounts",
        "python": sys.version.split()[0],
        "venue": "bybit (pybit 5.17) -> one sim front-end per account on 127.0.0.1",
        "path": "console.ui.workspace.Workspace.global_stop (offscreen, one qasync loop)",
        "accounts": n,
        "book_per_account": {"open_orders": SYMBOLS * PER_SYMBOL, "symbols": SYMBOLS,
                             "positions_with_flatten": SYMBOLS if flatten else 0},
        "flatten": flatten,
        "repeat": len(runs),
        "target_ms": TARGET_CANCEL_MS,
        "last_cancel_acknowledged_ms": {"best": best,
                                        "median": round(statistics.median(acked), 1)
                                        if acked else None,
                                        "all": overall},
        "per_account_last_run": runs[-1]["accounts"],
        "halted_all_ms": [r["halted_all_ms"] for r in runs],
        "total_ms": [r["total_ms"] for r in runs],
        "orders_left_open": left,
        "positions_left_open": runs[-1]["exchange_positions_after"],
        "headline": runs[-1]["headline"],
        "target_met": all(met.values()),
        "targets_met": met,
    }))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flatten", action="store_true",
                        help="also run each scenario with flattening")
    parser.add_argument("--venue", choices=("bybit", "binance", "deribit"), default="bybit",
                        help="the sim front-end and connector (default bybit)")
    parser.add_argument("--accounts", type=int, default=None, metavar="N",
                        help="N Bybit sim accounts in one workspace, stopped all at once "
                             "(the stop of every account; see above)")
    args = parser.parse_args(argv)
    if args.accounts is not None:
        if args.venue != "bybit" or args.accounts < 1:
            parser.error("--accounts takes a count >= 1, on the bybit venue")
        return accounts_main(args.accounts, args.repeat, args.flatten)
    if args.venue == "deribit":
        from deribit_bench import run_emergency

        return run_emergency(args, profile=PROFILE, orders=SYMBOLS * PER_SYMBOL)
    plans = [("normal", False, False), ("degraded", True, False)]
    if args.flatten:
        plans += [("normal_flatten", False, True), ("degraded_flatten", True, True)]
    scenarios: dict[str, Any] = {}
    started = time.perf_counter()
    for name, degraded, flatten in plans:
        runs = [one_run(degraded, flatten, args.venue) for _ in range(max(1, args.repeat))]
        scenarios[name] = summarise(runs, flatten, args.venue)
    binance = args.venue == "binance"
    print(json.dumps({
        "benchmark": "emergency_stop",
        "python": sys.version.split()[0],
        "venue": "binance usdm (ccxt raw methods) -> sim front-end on 127.0.0.1" if binance
        else "bybit (pybit 5.17) -> sim front-end on 127.0.0.1",
        "book": {"open_orders": SYMBOLS * PER_SYMBOL, "symbols": SYMBOLS,
                 "positions_with_flatten": SYMBOLS},
        "repeat": args.repeat,
        "targets": {"cancel_acknowledged_ms": TARGET_CANCEL_MS,
                    "cancel_requests": TARGET_CANCEL_REQUESTS,
                    "open_orders_after": 0, "positions_after_flatten": 0}
        if not binance else
        {"cancel_acknowledged_ms": TARGET_CANCEL_MS,
         "cancel_requests": f"one DELETE /fapi/v1/allOpenOrders per symbol with open "
                            f"orders ({SYMBOLS}), plus the algo cancels",
         "priority_lane": True, "refused_429": 0, "open_orders_after": 0,
         "positions_after_flatten": 0},
        "scenarios": scenarios,
        "target_met": all(all(s["target_met"].values()) for s in scenarios.values()),
        "bench_seconds": round(time.perf_counter() - started, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
