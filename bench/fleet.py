"""Benchmark: engines as a fleet on one PostgreSQL ledger, one account, one served venue.

Every engine is its own process (``python bench/fleet.py engine ...``: a bot that builds
its session with `console.bootstrap.build_session` from a `Profile` object, starts it and
places market orders in a loop through the order manager, writing its own state after
each), all trading one account of ONE simulated Bybit (``recon-console sim --venue bybit``
in its own process on 127.0.0.1) on one PostgreSQL ledger. One engine holds the account's
lease and trades; the others observe.

Each trial SIGKILLs the holder at a random moment while it places orders, and measures
the takeover: from the kill to the moment an observer holds the lease (`takeover_s`),
and to the moment it has run its startup reconciliation and may trade (`ready_s`). A
fresh observer replaces the killed engine. After the trials the last holder settles and
stops cleanly, and the chaos benchmark's independent judge (bench/chaos_check.py: pybit
reads the venue, every page) checks venue against ledger: no order placed twice (client
ids unique on the venue, one order per intent), no fill recorded twice, every order's
status and fills as the venue has them.

Then the console-to-engine command latency (`command_latency_s`): this process, as an
operator's console would, submits commands into the ledger (a halt, then a resume, in
turn) for the account the running holder trades, and measures from the insert to the
moment the ledger shows the command done (taken by the holder's poll, carried out,
recorded: console.engine.commands). The observer must never take one.

    python bench/fleet.py [--db POSTGRES_URL] [--trials 50] [--ttl 2] [--seed 1]
                          [--command-trials 60] [--commands-only]

`--db` defaults to $RECON_TEST_PG_URL; a fresh schema is made in it and dropped after.
Prints ONE JSON object: the takeover times (p50, p99, max), the goal (TTL + 1 s) and
whether it was met, the judge's violations, and the command latency (p50, p99, max; goal
<= 1 s at p99). `--commands-only` skips the takeover trials (one holder, one observer,
the command trials, the judge).

tests/integration/test_lease_takeover.py runs the same engines and trials (20 runs) and
the SIGSTOP variant (`fence_trial`): a holder frozen past its lease, thawed after the
takeover, has every write it attempts refused.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

BENCH: Final = Path(__file__).resolve().parent
ROOT: Final = BENCH.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import chaos_check  # noqa: E402 (bench/ on the path first)

VENUE: Final = "bybit"
ACCOUNT: Final = "main"
SYMBOL: Final = "BTCUSDT"
QTY: Final = "0.001"
DEFAULT_TTL_S: Final = 2.0
DEFAULT_GRACE_MS: Final = 1500
START_TIMEOUT_S: Final = 60.0
READY_TIMEOUT_S: Final = 30.0


# ==== the engine process ======================================================================

def _emit(event: str, **fields: Any) -> None:
    """One JSON line on stdout: the orchestrator's (and the test's) view of this engine."""
    print(json.dumps({"event": event, "t": time.time(), **fields}), flush=True)


async def _engine(args: argparse.Namespace) -> int:
    """A bot on the fleet: build, start (observing until it holds the lease), trade."""
    import asyncio
    import logging
    from decimal import Decimal

    from console.bootstrap import build_session
    from console.credentials import ApiCredentials
    from console.domain import Category, Order, OrderStatus, OrderType, RunnerState, Side
    from console.errors import LeaseLostError, UserFacingError
    from console.profiles import Network, Profile

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    profile = Profile(name="fleet", venue=VENUE, network=Network.CUSTOM,
                      rest_url=args.rest_url, ws_url=args.ws_url, account=ACCOUNT,
                      reconcile_interval_s=args.reconcile_interval_s)
    session = build_session(profile, secrets=ApiCredentials(args.api_key, args.api_secret),
                            db_url=args.db, worker_id=args.worker,
                            pending_grace_ms=args.grace_ms, lease_ttl_s=args.ttl)
    engine, ledger = session.engine, session.ledger
    keeper = engine.lease
    assert keeper is not None  # the composition root always wires the lease
    keeper.on_acquired.append(lambda lease: _emit("lease_acquired", epoch=lease.epoch,
                                                  engine=lease.holder))
    _emit("built", engine=keeper.engine, worker=args.worker)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def watch() -> None:
        """Say when the lease state changes (observing, holding)."""
        said: tuple[str, str | None] = ("", None)
        while True:
            status = keeper.status()
            now = (status.state.value, status.holder)
            if now != said and (status.state.value != "observing"
                                or status.holder is not None):
                said = now
                _emit("lease_state", state=now[0], holder=now[1], epoch=status.epoch,
                      describe=status.describe())
            await asyncio.sleep(0.02)

    async def trade() -> None:
        """Place, then write the bot's own state; every attempt is reported, refused or
        not (an engine that does not hold the lease keeps trying: the fences must hold)."""
        while keeper.status().state.value == "idle":
            await asyncio.sleep(0.005)  # start() has not begun: nothing is fenced yet
        seq = 0
        while not stop.is_set():
            seq += 1
            refused = False
            started = time.time()
            try:
                order = Order(venue=VENUE, account=ACCOUNT, category=Category.LINEAR,
                              symbol=SYMBOL, side=Side.BUY if seq % 2 else Side.SELL,
                              type=OrderType.MARKET, qty=Decimal(QTY),
                              status=OrderStatus.PENDING_NEW,
                              client_order_id=await engine.next_client_id(),
                              strategy_id="fleet", worker_id=args.worker,
                              label=f"fleet-{args.worker}-{seq}")
                placed = await engine.orders.place(order)
            except LeaseLostError as exc:
                refused = True
                _emit("refused", seq=seq, started=started, error=str(exc)[:300])
            except UserFacingError as exc:
                _emit("failed", seq=seq, started=started,
                      error=f"{type(exc).__name__}: {str(exc)[:300]}")
            else:
                _emit("placed", seq=seq, started=started, client_id=placed.client_order_id,
                      status=placed.status.value)
            started = time.time()
            state = RunnerState(user_id="fleet", worker_id=args.worker, venue=VENUE,
                                account=ACCOUNT, updated_at=int(started * 1000),
                                extra=(("seq", str(seq)),))
            try:
                await asyncio.to_thread(ledger.save_runner_state, state)
            except LeaseLostError as exc:
                refused = True
                _emit("write_refused", seq=seq, started=started, error=str(exc)[:300])
            except UserFacingError as exc:
                _emit("write_failed", seq=seq, started=started, error=str(exc)[:300])
            else:
                _emit("write_ok", seq=seq, started=started)
            await asyncio.sleep(args.interval_s * (4 if refused else 1))

    watcher = asyncio.create_task(watch())
    trader = asyncio.create_task(trade())
    starter = asyncio.create_task(engine.start(require_stream=True))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait([starter, stopping], return_when=asyncio.FIRST_COMPLETED)
    if starter.done() and not starter.cancelled() and starter.exception() is None:
        outcome = starter.result()
        _emit("ready", run_status=outcome.run.status.value, epoch=keeper.epoch)
    await stopping
    trader.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await trader
    if starter.done() and not starter.cancelled() and starter.exception() is None \
            and args.settle_on_stop:
        try:
            await engine.settled(timeout_s=30)
            _emit("settled")
        except UserFacingError as exc:
            _emit("not_settled", error=str(exc)[:300])
    await session.aclose()
    if not starter.done():
        starter.cancel()
    with contextlib.suppress(BaseException):
        await starter  # an observer's start ends in LeaseLostError once stopped
    watcher.cancel()
    _emit("stopped")
    return 0


def engine_main(argv: list[str]) -> int:
    import asyncio

    parser = argparse.ArgumentParser(prog="fleet.py engine")
    parser.add_argument("--rest-url", required=True)
    parser.add_argument("--ws-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--api-secret", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--worker", required=True)
    parser.add_argument("--ttl", type=float, default=DEFAULT_TTL_S)
    parser.add_argument("--grace-ms", type=int, default=DEFAULT_GRACE_MS)
    parser.add_argument("--interval-s", type=float, default=0.05)
    # a takeover's startup run pauses new risk when the dead holder's last order was sent
    # but not recorded (a cold start's desync); the next clean run lifts the pause
    parser.add_argument("--reconcile-interval-s", type=int, default=2)
    parser.add_argument("--settle-on-stop", action="store_true")
    return asyncio.run(_engine(parser.parse_args(argv)))


# ==== the orchestrator ========================================================================

class FleetError(Exception):
    """The bench itself could not run (a process did not start, or hung)."""


@dataclass
class Sim:
    proc: subprocess.Popen[str]
    info: dict[str, Any]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_sim(api_key: str, api_secret: str) -> Sim:
    """`recon-console sim --venue bybit` in its own process, on a free loopback port."""
    proc = subprocess.Popen([sys.executable, "-m", "console", "sim", "--venue", "bybit",
                             "--api-key", api_key, "--api-secret", api_secret],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        err = proc.stderr.read() if proc.stderr else ""
        raise FleetError(f"the sim did not start: {err[-2000:]}")
    return Sim(proc, dict(json.loads(line)))


@dataclass
class Engine:
    """One engine process and what it said (its JSON lines, in order)."""

    worker: str
    proc: subprocess.Popen[str]
    log_path: Path
    events: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _news: queue.Queue[None] = field(default_factory=queue.Queue)

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            with self._lock:
                self.events.append(event)
            self._news.put(None)

    def seen(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.events)

    def wait_for(self, test: Callable[[dict[str, Any]], bool], timeout_s: float,
                 what: str, *, after: int = 0) -> dict[str, Any]:
        """The first event from index `after` that passes `test`, within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            for event in self.seen()[after:]:
                if test(event):
                    return event
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and not self._news.qsize()):
                if self.proc.poll() is not None:
                    for event in self.seen()[after:]:
                        if test(event):
                            return event
                raise FleetError(f"engine {self.worker}: no {what} within {timeout_s:g} s "
                                 f"(exit {self.proc.poll()}; log {self.log_path})")
            with contextlib.suppress(queue.Empty):
                self._news.get(timeout=min(left, 0.05))

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stop(self, timeout_s: float = 60.0) -> None:
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@dataclass
class Fleet:
    """The served sim, the ledger and the engines running on them."""

    sim: Sim
    db_url: str
    workdir: Path
    ttl_s: float = DEFAULT_TTL_S
    grace_ms: int = DEFAULT_GRACE_MS
    engines: list[Engine] = field(default_factory=list)
    _count: int = 0

    def spawn(self, *, settle_on_stop: bool = True) -> Engine:
        self._count += 1
        worker = f"f{self._count:03d}"
        info = self.sim.info
        log_path = self.workdir / f"engine-{worker}.log"
        log = log_path.open("w", encoding="utf-8")
        cmd = [sys.executable, str(BENCH / "fleet.py"), "engine",
               "--rest-url", str(info["rest_url"]), "--ws-url", str(info["ws_private_url"]),
               "--api-key", str(info["api_key"]), "--api-secret", str(info["api_secret"]),
               "--db", self.db_url, "--worker", worker, "--ttl", str(self.ttl_s),
               "--grace-ms", str(self.grace_ms)]
        if settle_on_stop:
            cmd.append("--settle-on-stop")
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, cwd=ROOT)
        log.close()
        engine = Engine(worker, proc, log_path)
        assert proc.stdout is not None
        threading.Thread(target=engine._read, args=(proc.stdout,), daemon=True).start()
        self.engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self.engines:
            if engine.proc.poll() is None:
                engine.signal(signal.SIGCONT)
                engine.stop(timeout_s=45)
        self.sim.stop()


def holding(event: dict[str, Any]) -> bool:
    return event["event"] == "lease_acquired"


def observing(event: dict[str, Any]) -> bool:
    return event["event"] == "lease_state" and event["state"] == "observing"


def placed_after(t: float) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == "placed" and float(e["started"]) >= t


@dataclass(frozen=True)
class Trial:
    killed: str
    took_over: str
    epoch: int
    takeover_s: float
    ready_s: float


def first_holder(fleet: Fleet) -> tuple[Engine, Engine]:
    """A holder that trades and an observer that stands by."""
    holder = fleet.spawn()
    holder.wait_for(holding, START_TIMEOUT_S, "lease")
    holder.wait_for(lambda e: e["event"] == "placed", READY_TIMEOUT_S, "order placed")
    standby = fleet.spawn()
    standby.wait_for(observing, START_TIMEOUT_S, "observing")
    return holder, standby


def kill_trial(fleet: Fleet, holder: Engine, standby: Engine,
               rng: random.Random) -> tuple[Trial, Engine, Engine]:
    """SIGKILL `holder` at a random moment while it places orders; `standby` takes over;
    a fresh observer replaces the killed engine. Returns the trial, the new holder and the
    new observer."""
    mark = len(holder.seen())
    holder.wait_for(lambda e: e["event"] == "placed", READY_TIMEOUT_S, "order placed",
                    after=mark)
    time.sleep(rng.uniform(0.0, 0.6))
    killed_at = time.time()
    holder.signal(signal.SIGKILL)
    holder.proc.wait()
    replacement = fleet.spawn()  # starts up while the takeover happens; it may win it
    winner, took = first_to_hold([standby, replacement], fleet.ttl_s * 3 + 10)
    other = replacement if winner is standby else standby
    ready = winner.wait_for(lambda e: e["event"] == "ready", READY_TIMEOUT_S, "ready")
    winner.wait_for(placed_after(float(ready["t"])), READY_TIMEOUT_S, "order placed")
    other.wait_for(observing, START_TIMEOUT_S, "observing")
    trial = Trial(holder.worker, winner.worker, int(took["epoch"]),
                  float(took["t"]) - killed_at, float(ready["t"]) - killed_at)
    return trial, winner, other


def first_to_hold(engines: list[Engine], timeout_s: float) -> tuple[Engine, dict[str, Any]]:
    """The engine that took the lease (and its event), whichever of `engines` it was."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for engine in engines:
            for event in engine.seen():
                if holding(event):
                    return engine, event
        time.sleep(0.01)
    raise FleetError(f"no takeover by {', '.join(e.worker for e in engines)} within "
                     f"{timeout_s:g} s")


def settle_and_stop(fleet: Fleet, holder: Engine, standby: Engine) -> None:
    """The observer stops, then the holder settles (its startup run and the grace settle
    what killed engines left in flight) and stops cleanly."""
    standby.stop()
    holder.stop()
    holder.wait_for(lambda e: e["event"] == "stopped", 5, "clean stop")


def judge(fleet: Fleet) -> list[dict[str, str]]:
    """The chaos judge's invariants between the venue (read with pybit) and the ledger,
    and the fleet's own: every client id placed on the venue once."""
    info = fleet.sim.info
    venue = chaos_check.read_venue(str(info["rest_url"]), str(info["api_key"]),
                                   str(info["api_secret"]))
    ledger = chaos_check.read_ledger(fleet.db_url)
    found = [v.as_json() for v in chaos_check.check(venue, ledger)]
    twice = [link for link, n in Counter(o.link_id for o in venue.orders).items() if n > 1]
    found += [{"kind": "client_id_placed_twice", "ref": link, "detail": ""} for link in twice]
    return found


def venue_client_ids(fleet: Fleet) -> list[str]:
    info = fleet.sim.info
    venue = chaos_check.read_venue(str(info["rest_url"]), str(info["api_key"]),
                                   str(info["api_secret"]))
    return [o.link_id for o in venue.orders]


# -- a frozen holder ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FenceResult:
    frozen: str
    took_over: str
    takeover_s: float
    thawed_at: float
    attempts_after_thaw: tuple[dict[str, Any], ...]


def fence_trial(fleet: Fleet, holder: Engine, standby: Engine, *,
                thawed_for_s: float = 2.0) -> tuple[FenceResult, Engine]:
    """SIGSTOP the holder while it trades, let the observer take over and trade, SIGCONT
    the holder and let it try for `thawed_for_s`: what it attempted after the thaw."""
    mark = len(holder.seen())
    holder.wait_for(lambda e: e["event"] == "placed", READY_TIMEOUT_S, "order placed",
                    after=mark)
    frozen_at = time.time()
    holder.signal(signal.SIGSTOP)
    took = standby.wait_for(holding, fleet.ttl_s * 3 + 10, "takeover")
    ready = standby.wait_for(lambda e: e["event"] == "ready", READY_TIMEOUT_S, "ready")
    standby.wait_for(placed_after(float(ready["t"])), READY_TIMEOUT_S, "order placed")
    thawed_at = time.time()
    holder.signal(signal.SIGCONT)
    time.sleep(thawed_for_s)
    attempts = tuple(e for e in holder.seen()
                     if e["event"] in ("placed", "refused", "failed", "write_ok",
                                       "write_refused", "write_failed")
                     and float(e["started"]) >= thawed_at)
    return FenceResult(holder.worker, standby.worker, float(took["t"]) - frozen_at,
                       thawed_at, attempts), standby


# -- a fresh PostgreSQL schema -----------------------------------------------------------------

COMMAND_GOAL_S: Final = 1.0
COMMAND_TIMEOUT_S: Final = 10.0


@dataclass(frozen=True)
class CommandTrial:
    kind: str
    state: str
    taken_by: str
    latency_s: float


def command_trials(fleet: Fleet, holder: Engine, count: int) -> list[CommandTrial]:
    """Submit `count` commands (halt, resume, halt, ...; a resume last, so that the holder
    trades on) for the account, one at a time, each measured from the insert until the
    ledger shows it finished."""
    from console.domain.commands import CommandKind
    from console.store import Ledger

    holder.wait_for(lambda e: e["event"] == "ready", READY_TIMEOUT_S, "ready")
    kinds = [CommandKind.HALT if i % 2 == 0 else CommandKind.RESUME for i in range(count)]
    if kinds and kinds[-1] is not CommandKind.RESUME:
        kinds.append(CommandKind.RESUME)
    results: list[CommandTrial] = []
    with contextlib.closing(Ledger.open(fleet.db_url, migrate=False)) as console:
        for kind in kinds:
            t0 = time.perf_counter()
            command_id = console.submit_command(
                VENUE, ACCOUNT, kind, arguments={"reason": "fleet bench"}, operator="bench",
                issued_at=time.time_ns() // 1_000_000)
            while True:
                found = console.command(command_id)
                if found is not None and found.state.finished:
                    break
                if time.perf_counter() - t0 > COMMAND_TIMEOUT_S:
                    raise FleetError(f"command {command_id} ({kind.value}) not done in "
                                     f"{COMMAND_TIMEOUT_S:g} s: {found}")
                time.sleep(0.002)
            results.append(CommandTrial(kind.value, found.state.value, found.taken_by,
                                        time.perf_counter() - t0))
    return results


def command_report(trials: list[CommandTrial], holder_id: str) -> dict[str, Any]:
    latencies = [t.latency_s for t in trials]
    quantiles = _quantiles(latencies)
    wrong_taker = sum(t.taken_by != holder_id for t in trials)
    not_done = sum(t.state != "done" for t in trials)
    return {
        "command_latency_s": quantiles,
        "command_trials": len(trials),
        "command_kinds": dict(Counter(t.kind for t in trials)),
        "command_goal_p99_s": COMMAND_GOAL_S,
        "command_not_done": not_done,
        "command_taken_by_other_than_holder": wrong_taker,
        "command_target_met": bool(trials) and quantiles["p99"] is not None
                              and quantiles["p99"] <= COMMAND_GOAL_S
                              and not not_done and not wrong_taker,
    }


def holder_id(engine: Engine) -> str:
    return str(next(e for e in engine.seen() if e["event"] == "built")["engine"])


@contextlib.contextmanager
def fresh_schema(base_url: str) -> Iterator[str]:
    """A URL to an empty schema of the PostgreSQL database at `base_url`, dropped after."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    admin = create_engine(base_url, poolclass=NullPool)
    schema = f"recon_fleet_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _quantiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p99": None, "max": None}
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 3), "p99": round(p99, 3),
            "max": round(ordered[-1], 3)}


def run(db_base: str, *, trials: int, ttl_s: float, seed: int, workdir: Path,
        commands: int = 60) -> dict[str, Any]:
    rng = random.Random(seed)
    started = time.monotonic()
    results: list[Trial] = []
    sent: list[CommandTrial] = []
    with fresh_schema(db_base) as db_url:
        # the ledger is migrated once, before several processes open it
        from console.store import Ledger
        Ledger.open(db_url).close()
        sim = start_sim(secrets.token_hex(9), secrets.token_hex(18))
        fleet = Fleet(sim, db_url, workdir, ttl_s=ttl_s)
        try:
            holder, standby = first_holder(fleet)
            for _ in range(trials):
                trial, holder, standby = kill_trial(fleet, holder, standby, rng)
                results.append(trial)
                print(f"trial {len(results)}: {trial.killed} killed, {trial.took_over} took "
                      f"over in {trial.takeover_s:.3f} s (ready {trial.ready_s:.3f} s)",
                      file=sys.stderr, flush=True)
            sent = command_trials(fleet, holder, commands)
            trading = holder_id(holder)
            print(f"{len(sent)} commands: p99 "
                  f"{_quantiles([c.latency_s for c in sent])['p99']} s", file=sys.stderr,
                  flush=True)
            settle_and_stop(fleet, holder, standby)
            violations = judge(fleet)
        finally:
            fleet.close()
    takeovers = [t.takeover_s for t in results]
    goal = ttl_s + 1.0
    commanded = command_report(sent, trading)
    return {
        "bench": "fleet", "trials": len(results), "ttl_s": ttl_s, "seed": seed,
        "engines": len(fleet.engines),
        "takeover_s": _quantiles(takeovers),
        "ready_s": _quantiles([t.ready_s for t in results]),
        "goal_takeover_s": goal,
        "takeover_target_met": (not trials or (bool(takeovers) and max(takeovers) <= goal))
                               and not violations,
        "target_met": ((not trials or (bool(takeovers) and max(takeovers) <= goal))
                       and not violations and commanded["command_target_met"]),
        "epochs": [t.epoch for t in results][-3:],
        "violations": violations,
        **commanded,
        "wall_s": round(time.monotonic() - started, 1),
    }


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["engine"]:
        return engine_main(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("RECON_TEST_PG_URL", ""),
                        help="PostgreSQL URL (default $RECON_TEST_PG_URL)")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--ttl", type=float, default=DEFAULT_TTL_S)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--command-trials", type=int, default=60,
                        help="operator commands through the ledger to time (at least 50)")
    parser.add_argument("--commands-only", action="store_true",
                        help="skip the takeover trials: only the command latency (and the "
                             "judge)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where the engines' logs go (default: a temporary directory)")
    args = parser.parse_args(argv)
    if not args.db.startswith("postgresql"):
        parser.error("--db (or $RECON_TEST_PG_URL) must be a PostgreSQL URL: leases are "
                     "for a shared ledger")
    import tempfile

    with tempfile.TemporaryDirectory(prefix="recon-fleet-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = run(args.db, trials=0 if args.commands_only else args.trials,
                     ttl_s=args.ttl, seed=args.seed, workdir=workdir,
                     commands=args.command_trials)
    print(json.dumps(result))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
