"""Benchmark: chaos schedules against the engine, judged by an independent reader.

Each of N seeded schedules (bench/chaos_schedule.py) runs in fresh processes:

1. a sim Bybit front-end with a moving market (bench/chaos_sim.py), its faults in force
   from the start added through its loopback control endpoint;
2. a worker (bench/chaos_worker.py, phase ``chaos``) built through the composition root
   on a SQLite ledger, which places, amends, replaces and cancels orders through the
   engine's order manager on 1-3 concurrent lanes while the schedule's faults are
   injected: HTTP 5xx, rate limits (10006, 429, 403), Bybit server codes, timeouts after
   placement, creates whose answer is held past the client's timeout, creates the venue
   executes only after the client gave up (late creates, on both sides of the engine's
   grace), dropped, duplicated and reordered private pushes, and cut connections. In
   some schedules the orchestrator kills it with SIGKILL at a random step;
3. then: faults cleared, the market frozen, late creates given time to land, and a fresh
   worker (phase ``reconcile``) on the same ledger reconciles until quiescent;
4. the judge (bench/chaos_check.py) reads the venue with pybit, every page, and the
   ledger, and checks the invariants: every venue fill in the ledger exactly once; every
   venue order with the venue's status, filled quantity and average price; each order's
   fills summing to its filled quantity; positions equal; never two live orders for one
   intent; no ledger order CANCELLED (or REJECTED) that the venue shows live or filled;
   nothing left in flight.

Before the schedules, the judge's self-check plants every violation kind in a consistent
venue and ledger and must find each. Prints ONE JSON object on stdout (schedules, clean,
violations by kind, failing seeds, wall time, ...); each failing seed's violations and
worker errors go to stderr, and its directory (ledger, worker logs, schedule) is kept.

    python bench/chaos.py [--schedules 50] [--seed 1] [--jobs 2] [--grace-ms 1500]
    python bench/chaos.py --self-check          # the judge's self-check alone
    python bench/chaos.py --seed 417 --schedules 1   # replay one seed
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

BENCH: Final = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import chaos_check  # noqa: E402 (bench/ on the path first)
from chaos_schedule import Schedule, make_schedule  # noqa: E402

PROFILE: Final = "chaos"
DEFAULT_GRACE_MS: Final = 1500
SIM_START_S: Final = 20.0
CHAOS_TIMEOUT_S: Final = 120.0
RECONCILE_TIMEOUT_S: Final = 60.0
QUIESCE_TIMEOUT_S: Final = 15.0


class HarnessError(Exception):
    """The bench itself could not run a schedule (a process did not start, or hung)."""


@dataclass
class Options:
    grace_ms: int = DEFAULT_GRACE_MS
    workdir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()))
    keep_failed: bool = True
    keep_all: bool = False
    api_key: str | None = None
    api_secret: str | None = None
    kill_share: float = 0.3
    hang_share: float = 0.05


# -- processes --------------------------------------------------------------------------

class Lines:
    """A child's stdout, line by line, read on a thread (so waits can time out)."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def next(self, timeout: float) -> str | None:
        """The next line; None at the end of the stream; TimeoutError past `timeout`."""
        try:
            return self._queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            raise TimeoutError from None


@contextlib.contextmanager
def sim_process(seed: int, opts: Options, workdir: Path) -> Iterator[dict[str, Any]]:
    """bench/chaos_sim.py in its own process; yields its JSON line (plus `pid`)."""
    args = [sys.executable, str(BENCH / "chaos_sim.py"), "--seed", str(seed), "--watch-stdin"]
    if opts.api_key and opts.api_secret:
        args += ["--api-key", opts.api_key, "--api-secret", opts.api_secret]
    with open(workdir / "sim.stderr", "w", encoding="utf-8") as err:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=err, text=True)
        try:
            assert proc.stdout is not None
            line = Lines(proc.stdout).next(SIM_START_S)
            if not line:
                raise HarnessError(f"the sim did not start (exit {proc.poll()})")
            info = dict(json.loads(line))
            info["pid"] = proc.pid
            yield info
        except TimeoutError:
            raise HarnessError("the sim did not report its URLs in time") from None
        finally:
            if proc.stdin is not None:
                proc.stdin.close()  # the sim's --watch-stdin: it stops even without SIGTERM
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def run_worker(cfg: dict[str, Any], workdir: Path, *, timeout_s: float,
               kill_after_step: int | None = None,
               kill_delay_ms: int = 0) -> tuple[dict[str, Any] | None, bool, int]:
    """Run one worker phase; returns (its report or None, killed by us, last step seen).
    SIGKILL once a step >= `kill_after_step` has started (plus `kill_delay_ms`)."""
    phase = cfg["phase"]
    with open(workdir / f"worker-{phase}.stderr", "w", encoding="utf-8") as err:
        proc = subprocess.Popen([sys.executable, str(BENCH / "chaos_worker.py")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                                text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(cfg) + "\n")  # the secret goes by pipe, not argv
        proc.stdin.close()
        lines = Lines(proc.stdout)
        deadline = time.monotonic() + timeout_s
        last_step, report, killed = -1, None, False
        try:
            while True:
                try:
                    line = lines.next(deadline - time.monotonic())
                except TimeoutError:
                    proc.kill()
                    raise HarnessError(f"the {phase} worker did not finish within "
                                       f"{timeout_s:g} s (last step {last_step}): an engine "
                                       "hang, see its log") from None
                if line is None:
                    break
                if line.startswith("step "):
                    last_step = max(last_step, int(line.split()[1]))
                    if kill_after_step is not None and last_step >= kill_after_step:
                        time.sleep(kill_delay_ms / 1000)
                        proc.kill()
                        killed = True
                        break
                elif line.startswith("done "):
                    report = json.loads(line[5:])
        finally:
            proc.wait()
    if not killed and report is None:
        raise HarnessError(f"the {phase} worker ended (exit {proc.returncode}) without a "
                           "report; see its stderr")
    return report, killed, last_step


def control(url: str, method: str, spec: str = "") -> Any:
    import requests

    resp = requests.request(method, url, data=spec or None, timeout=5)
    if resp.status_code != 200:
        raise HarnessError(f"fault control {method} {spec!r}: {resp.status_code} {resp.text}")
    return resp.json()


def write_profile(path: Path, info: dict[str, Any], schedule: Schedule) -> None:
    path.write_text(
        f'[profiles.{PROFILE}]\nvenue = "bybit"\nnetwork = "custom"\n'
        f'rest_url = "{info["rest_url"]}"\nws_url = "{info["ws_private_url"]}"\n'
        f'account = "{info["account"]}"\n'
        f"reconcile_interval_s = {schedule.reconcile_interval_s}\n\n"
        f'[profiles.{PROFILE}.bybit]\ncategory = "linear"\nsettle_coin = "USDT"\n\n'
        f"[profiles.{PROFILE}.policy]\nmin_time_in_book_ms = {schedule.min_time_in_book_ms}\n\n"
        f"[profiles.{PROFILE}.policy.retry]\ntries = 4\nbase_ms = 50\nmax_ms = 500\n",
        encoding="utf-8")


# -- one schedule ---------------------------------------------------------------------------

def run_schedule(seed: int, opts: Options) -> dict[str, Any]:
    """Run the schedule of `seed` end to end and judge it."""
    schedule = make_schedule(seed, grace_ms=opts.grace_ms, kill_share=opts.kill_share,
                             hang_share=opts.hang_share)
    workdir = Path(tempfile.mkdtemp(prefix=f"chaos-{seed}-", dir=opts.workdir))
    (workdir / "schedule.json").write_text(schedule.to_json(), encoding="utf-8")
    started = time.perf_counter()
    out: dict[str, Any] = {"seed": seed, "faults": schedule.fault_kinds,
                           "ops": len(schedule.steps), "lanes": schedule.lanes,
                           "kill_planned": schedule.kill_after_step is not None}
    violations: list[chaos_check.Violation] = []
    timings: dict[str, float] = {}
    mark = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        timings[name] = round(now - mark, 2)
        mark = now

    try:
        with sim_process(seed, opts, workdir) as info:
            lap("sim_start")
            url = info["control_url"]
            for fault in schedule.background:
                control(url, "POST", fault.spec)
            db_url = f"sqlite:///{workdir / 'ledger.db'}"
            write_profile(workdir / "profiles.toml", info, schedule)
            cfg = {"rest_url": info["rest_url"], "control_url": url,
                   "api_key": info["api_key"], "api_secret": info["api_secret"],
                   "db_url": db_url, "workdir": str(workdir),
                   "profile_path": str(workdir / "profiles.toml"),
                   "grace_ms": opts.grace_ms, "market": info["market"],
                   "schedule": schedule.to_json(), "quiesce_timeout_s": QUIESCE_TIMEOUT_S}
            chaos, killed, last = run_worker(
                {**cfg, "phase": "chaos"}, workdir, timeout_s=CHAOS_TIMEOUT_S,
                kill_after_step=schedule.kill_after_step,
                kill_delay_ms=schedule.kill_delay_ms)
            out.update(killed=killed, killed_at_step=last if killed else None, chaos=chaos)
            lap("chaos")
            control(url, "DELETE")
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(info["pid"]), signal.SIGUSR1)  # freeze the market
            # every late create in flight lands before the reconciliation may call the
            # ledger quiescent (the fresh worker starts meanwhile)
            settle_s = (schedule.late_max_ms + 300) / 1000 if schedule.late_max_ms else 0.1
            rec, _, _ = run_worker({**cfg, "phase": "reconcile",
                                    "not_before": time.time() + settle_s}, workdir,
                                   timeout_s=RECONCILE_TIMEOUT_S)
            out["reconcile"] = rec
            lap("reconcile")
            venue = chaos_check.read_venue(info["rest_url"], info["api_key"],
                                           info["api_secret"])
            ledger = chaos_check.read_ledger(db_url)
            out["venue"] = {"orders": len(venue.orders), "fills": len(venue.fills),
                            "positions": len(venue.positions)}
            violations = chaos_check.check(venue, ledger)
            out["judge_proof"] = chaos_check.prove_on(venue, ledger)
            lap("judge")
            if rec is not None and not rec.get("quiescent"):
                last_run = rec.get("last") or {}
                violations.append(chaos_check.Violation(
                    "not_quiescent", "reconcile phase",
                    f"no quiet run within {QUIESCE_TIMEOUT_S:g} s: "
                    f"{rec.get('failed') or last_run}"))
    except HarnessError as exc:
        out["harness_error"] = str(exc)
    except Exception as exc:  # noqa: BLE001 - a bench bug must not end the whole run
        out["harness_error"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"
    out["violations"] = [v.as_json() for v in violations]
    unexpected = list((out.get("chaos") or {}).get("unexpected") or [])
    for phase in ("chaos", "reconcile"):
        failed = (out.get(phase) or {}).get("failed")
        if failed:
            unexpected.append(f"{phase} phase failed: {failed}\n"
                              f"{(out.get(phase) or {}).get('trace', '')}")
    out["unexpected"] = unexpected
    out["clean"] = not violations and not unexpected and "harness_error" not in out
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["timings"] = timings
    out["workdir"] = str(workdir)
    if not opts.keep_all and (out["clean"] or not opts.keep_failed):
        shutil.rmtree(workdir, ignore_errors=True)
    return out


# -- the run -----------------------------------------------------------------------------

def report_failure(result: dict[str, Any]) -> None:
    """A failing seed, in detail, on stderr."""
    lines = [f"seed {result['seed']}: FAILED (faults {sorted(set(result['faults']))}, "
             f"killed={result.get('killed')}, lanes={result['lanes']}); kept in "
             f"{result['workdir']}"]
    if "harness_error" in result:
        lines.append(f"  harness: {result['harness_error']}")
    for v in result["violations"][:25]:
        lines.append(f"  {v['kind']}: {v['ref']}: {v['detail']}")
    if len(result["violations"]) > 25:
        lines.append(f"  ... {len(result['violations']) - 25} more")
    for text in result["unexpected"][:5]:
        lines.append("  unexpected: " + text.replace("\n", "\n    "))
    print("\n".join(lines), file=sys.stderr, flush=True)


def summarise(results: list[dict[str, Any]], selfcheck: dict[str, Any], *, seed: int,
              jobs: int, grace_ms: int, wall_s: float) -> dict[str, Any]:
    instances: Counter[str] = Counter()
    schedules_with: Counter[str] = Counter()
    faults: Counter[str] = Counter()
    ops: Counter[str] = Counter()
    left: Counter[str] = Counter()
    for r in results:
        left.update(((r.get("reconcile") or {}).get("first") or {}).get("discrepancies") or [])
        kinds = [v["kind"] for v in r["violations"]]
        instances.update(kinds)
        schedules_with.update(set(kinds))
        faults.update(r["faults"])
        ops.update((r.get("chaos") or {}).get("tally") or {})
    failing = sorted(r["seed"] for r in results if not r["clean"])
    seconds = [r["seconds"] for r in results]
    harness = [r for r in results if "harness_error" in r]
    quiescent = sum(1 for r in results if (r.get("reconcile") or {}).get("quiescent"))
    unexpected = sum(1 for r in results if r["unexpected"])
    return {
        "benchmark": "chaos",
        "python": sys.version.split()[0],
        "venue": "bybit sim front-end (own process, moving market) <- engine via pybit",
        "schedules": len(results),
        "seed": seed,
        "jobs": jobs,
        "grace_ms": grace_ms,
        "clean": len(results) - len(failing),
        "violations": dict(sorted(instances.items())),
        "schedules_with_violations": dict(sorted(schedules_with.items())),
        "failing_seeds": failing,
        "failures": [{"seed": r["seed"],
                      "kinds": sorted({v["kind"] for v in r["violations"]}),
                      **({"harness_error": r["harness_error"]} if "harness_error" in r
                         else {}),
                      **({"unexpected": len(r["unexpected"])} if r["unexpected"] else {})}
                     for r in results if not r["clean"]],
        "harness_errors": len(harness),
        "schedules_with_unexpected_exceptions": unexpected,
        "killed": sum(1 for r in results if r.get("killed")),
        "quiescent": quiescent,
        "faults_injected": dict(sorted(faults.items())),
        "operations": dict(sorted(ops.items())),
        "left_for_the_fresh_worker": dict(sorted(left.items())),
        "venue_totals": {k: sum((r.get("venue") or {}).get(k, 0) for r in results)
                         for k in ("orders", "fills", "positions")},
        "wall_s": round(wall_s, 1),
        "schedule_s": {"median": round(statistics.median(seconds), 2) if seconds else None,
                       "max": max(seconds) if seconds else None},
        "phase_s_median": {name: round(statistics.median(
            [r["timings"][name] for r in results if name in r["timings"]]), 2)
            for name in ("sim_start", "chaos", "reconcile", "judge")
            if any(name in r["timings"] for r in results)},
        "judge_on_real_data": {
            "plants": sum(len(r.get("judge_proof") or {}) for r in results),
            "missed": sorted({f"{r['seed']}:{kind}" for r in results
                              for kind, hit in (r.get("judge_proof") or {}).items()
                              if not hit})},
        "selfcheck": {"passed": selfcheck["passed"],
                      "baseline_clean": selfcheck["baseline_clean"],
                      "kinds_planted": len(selfcheck["kinds_planted"]),
                      "kinds": selfcheck["kinds"],
                      "missed": sorted(name for name, p in selfcheck["planted"].items()
                                       if not p["detected"])},
        "target_met": {
            "selfcheck": bool(selfcheck["passed"]) and not any(
                not hit for r in results for hit in (r.get("judge_proof") or {}).values()),
            "no_violations": not instances,
            "all_quiescent": quiescent == len(results),
            "no_harness_errors": not harness,
            "no_unexpected_exceptions": not unexpected,
        },
    }


def run(seeds: Sequence[int], jobs: int, opts: Options) -> dict[str, Any]:
    """The judge's self-check, then one schedule per seed, `jobs` at a time."""
    selfcheck = chaos_check.self_check()
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    schedules = len(seeds)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(run_schedule, s, opts): s for s in seeds}
        for done, future in enumerate(as_completed(futures), 1):
            result = future.result()
            results.append(result)
            mark = "clean" if result["clean"] else "FAILED"
            print(f"[{done}/{schedules}] seed {result['seed']}: {mark} "
                  f"({result['seconds']} s: {result['timings']})", file=sys.stderr, flush=True)
            if not result["clean"]:
                report_failure(result)
    results.sort(key=lambda r: r["seed"])
    return summarise(results, selfcheck, seed=min(seeds, default=0), jobs=jobs,
                     grace_ms=opts.grace_ms, wall_s=time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--schedules", type=int, default=50)
    parser.add_argument("--seed", type=int, default=1, help="the first schedule's seed")
    parser.add_argument("--jobs", type=int, default=2, help="schedules run at once")
    parser.add_argument("--grace-ms", type=int, default=DEFAULT_GRACE_MS,
                        help="the engine's grace for unknown creates (compressed time)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where schedules run (failing ones are kept there)")
    parser.add_argument("--kill-share", type=float, default=0.3,
                        help="share of schedules whose worker is SIGKILLed")
    parser.add_argument("--hang-share", type=float, default=0.05,
                        help="share of schedules where one create's answer is held past "
                        "the client's 10 s timeout (each costs ~10 s)")
    parser.add_argument("--keep", action="store_true",
                        help="keep every schedule's directory, clean ones too")
    parser.add_argument("--self-check", action="store_true",
                        help="only run the judge's self-check")
    args = parser.parse_args(argv)
    if args.self_check:
        result = chaos_check.self_check()
        print(json.dumps({"benchmark": "chaos_selfcheck", **result,
                          "target_met": {"selfcheck": result["passed"]}}))
        return 0 if result["passed"] else 1
    opts = Options(grace_ms=args.grace_ms, kill_share=args.kill_share,
                   hang_share=args.hang_share, keep_all=args.keep)
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        opts.workdir = args.workdir
    summary = run(range(args.seed, args.seed + args.schedules), args.jobs, opts)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    faulthandler.enable()  # a crash of the orchestrator itself leaves its stacks on stderr
    sys.exit(main())
