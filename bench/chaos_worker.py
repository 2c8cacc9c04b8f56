"""The chaos benchmark's worker: a bot process trading through the engine, then the fresh
process that reconciles after it.

Started by bench/chaos.py with one JSON object on stdin (URLs, the key handed over in
code, the ledger URL, the profile file, the schedule). The engine is built through the
composition root exactly as an embedding bot builds it: `build_profile_session` on a
profile file (venue bybit, network custom, the sim's URLs) with the secrets handed over,
on a SQLite ledger. Two phases:

* ``chaos``: start the session (stream, startup reconciliation, periodic loop), then run
  the schedule's operations (place, amend, replace, cancel, cancel-all through
  `engine.orders`) on `lanes` concurrent lanes, adding each step's faults through the
  sim's control endpoint right before it. It prints ``step N`` before each operation (the
  orchestrator may SIGKILL it at any moment) and ``done {...}`` with its tallies.
* ``reconcile``: a fresh session on the same ledger, no faults: reconcile until a run
  finds nothing and the ledger holds no order in flight, then ``done {...}``.

Time is compressed in one place: the grace the reconciler and the order manager give a
create whose outcome is unknown (30 s by default; the builder's `pending_grace_ms`) becomes
`grace_ms`, so that a schedule lasts seconds. Late creates are drawn on both sides of it.

Logs go to ``worker-<phase>.log`` in the schedule's directory, kept for failing seeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
import traceback
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from chaos_schedule import Schedule, Step  # bench/, the script's directory, is on the path

PROFILE: Final = "chaos"
VENUE: Final = "bybit"
ACCOUNT: Final = "main"
INTENT: Final = "intent-"
STRATEGY: Final = "chaos"


def say(line: str) -> None:
    print(line, flush=True)


def open_session(cfg: dict[str, Any]) -> Any:
    """The profile session, as an embedding bot builds it; then the one compression of
    time (module docstring): the unknown-create grace of the reconciler and the order
    manager becomes `grace_ms`."""
    from console.bootstrap import build_profile_session
    from console.credentials import ApiCredentials

    return build_profile_session(PROFILE, config_path=cfg["profile_path"],
                                 db_url=cfg["db_url"],
                                 secrets=ApiCredentials(cfg["api_key"], cfg["api_secret"]),
                                 pending_grace_ms=int(cfg["grace_ms"]))


class Control:
    """The sim's fault control endpoint (plain HTTP on loopback)."""

    def __init__(self, url: str) -> None:
        self.url = url

    async def add(self, spec: str) -> list[int]:
        import aiohttp

        async with aiohttp.ClientSession() as http, \
                http.post(self.url, data=spec, timeout=aiohttp.ClientTimeout(total=5)) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise RuntimeError(f"the sim refused fault {spec!r}: {body}")
            return list(body["ids"])


class Chaos:
    """Runs a schedule's operations through the engine's order manager."""

    def __init__(self, session: Any, schedule: Schedule, market: dict[str, Any],
                 control: Control) -> None:
        self.session = session
        self.engine = session.engine
        self.schedule = schedule
        self.market = market
        self.control = control
        self.busy: set[str] = set()
        self.tally: Counter[str] = Counter()
        self.unexpected: list[str] = []
        self.log = logging.getLogger("chaos.worker")

    async def run(self) -> None:
        lanes = max(1, self.schedule.lanes)
        steps = list(enumerate(self.schedule.steps))
        await asyncio.gather(*(self._lane(steps[lane::lanes]) for lane in range(lanes)))

    async def _lane(self, steps: list[tuple[int, Step]]) -> None:
        for index, step in steps:
            for fault in step.faults:
                await self.control.add(fault.spec)
            say(f"step {index}")
            await self._one(index, step)
            if step.pause_ms:
                await asyncio.sleep(step.pause_ms / 1000)

    async def _one(self, index: int, step: Step) -> None:
        from console.engine.order_manager import ReplaceRefusedError, TradingPausedError
        from console.errors import LedgerError, UserFacingError, VenueError

        op = step.op
        try:
            outcome = await getattr(self, f"_{op}")(index, step)
        except (ReplaceRefusedError, TradingPausedError) as exc:
            outcome = f"refused:{type(exc).__name__}"
        except LedgerError as exc:
            outcome = "ledger_error"
            self.unexpected.append(f"step {index} {op}: ledger error: {exc}")
        except (VenueError, UserFacingError) as exc:
            outcome = f"venue:{type(exc).__name__}"
        except (TimeoutError, OSError) as exc:
            outcome = f"io:{type(exc).__name__}"
        except Exception as exc:  # noqa: BLE001 - an engine bug: reported, the run goes on
            outcome = "unexpected"
            self.unexpected.append(f"step {index} {op}: {type(exc).__name__}: {exc}\n"
                                   + traceback.format_exc(limit=8))
        self.tally[f"{op}:{outcome}"] += 1
        self.log.info("step %d %s -> %s", index, op, outcome)

    # -- helpers -------------------------------------------------------------------------

    def _instrument(self, symbol: str) -> tuple[Decimal, Decimal, Decimal]:
        spec = self.market[symbol]
        return Decimal(spec["tick"]), Decimal(spec["step"]), Decimal(spec["reference"])

    async def _candidates(self, symbol: str | None = None) -> list[Any]:
        orders = await asyncio.to_thread(self.session.ledger.orders, VENUE, ACCOUNT, True)
        return sorted((o for o in orders
                       if o.label.startswith(INTENT) and o.label not in self.busy
                       and o.venue_order_id and o.status.value in ("NEW", "PARTIALLY_FILLED")
                       and o.price is not None and (symbol is None or o.symbol == symbol)),
                      key=lambda o: o.label)

    async def _target(self, step: Step) -> Any | None:
        candidates = await self._candidates()
        if not candidates:
            return None
        return candidates[min(len(candidates) - 1, int(step.pick * len(candidates)))]

    @contextlib.contextmanager
    def _holding(self, label: str) -> Any:
        """One operation per intent at a time, as one bot owns one intent."""
        self.busy.add(label)
        try:
            yield
        finally:
            self.busy.discard(label)

    # -- the operations --------------------------------------------------------------------

    async def _place(self, index: int, step: Step, *, market: bool = False) -> str:
        from console.domain import Category, Order, OrderRole, OrderStatus, OrderType, Side
        from console.engine.order_manager import TradingPausedError

        tick, lot, reference = self._instrument(step.symbol)
        client_id = await asyncio.to_thread(self.engine.ids.next, OrderRole.ENTRY)
        order = Order(
            venue=VENUE, account=ACCOUNT, category=Category.LINEAR, symbol=step.symbol,
            side=Side.BUY if step.side == "Buy" else Side.SELL,
            type=OrderType.MARKET if market else OrderType.LIMIT,
            qty=lot * max(1, step.lots), status=OrderStatus.PENDING_NEW,
            client_order_id=client_id,
            price=None if market else reference + tick * (
                step.offset if step.side == "Buy" else -step.offset),
            strategy_id=STRATEGY, worker_id="chaos", role=OrderRole.ENTRY,
            label=f"{INTENT}{index}")
        with self._holding(order.label):
            try:
                placed = await self.engine.orders.place(order)
            except TradingPausedError:
                # as a bot would: ask for a reconciliation, wait (briefly) for the pause
                # to lift, try once more under a new client id (the first never left)
                if not await self._wait_unpaused():
                    raise
                retry = order.evolve(client_order_id=await asyncio.to_thread(
                    self.engine.ids.next, OrderRole.ENTRY))
                placed = await self.engine.orders.place(retry)
                return f"ok_after_pause:{placed.status.value}"
        return f"ok:{placed.status.value}"

    async def _wait_unpaused(self, timeout_s: float = 2.0) -> bool:
        from console.domain.reconciliation import RunTrigger

        self.engine.reconciler.request(RunTrigger.MANUAL)
        deadline = time.monotonic() + timeout_s
        while self.engine.risk.paused:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def _place_market(self, index: int, step: Step) -> str:
        return await self._place(index, step, market=True)

    async def _amend(self, index: int, step: Step) -> str:
        target = await self._target(step)
        if target is None:
            return "no_target"
        tick, _, _ = self._instrument(target.symbol)
        with self._holding(target.label):
            amended = await self.engine.orders.amend(
                target, price=target.price + tick * (step.offset or 1))
        return f"ok:{amended.status.value}"

    async def _replace(self, index: int, step: Step) -> str:
        target = await self._target(step)
        if target is None:
            return "no_target"
        tick, lot, _ = self._instrument(target.symbol)
        qty = None
        if step.lots:
            qty = max(target.filled_qty + lot, target.qty + lot * step.lots)
        with self._holding(target.label):
            result = await self.engine.orders.replace(
                target, price=target.price + tick * (step.offset or 1), qty=qty)
        return f"ok:{result.path.value}"

    async def _cancel(self, index: int, step: Step) -> str:
        target = await self._target(step)
        if target is None:
            return "no_target"
        with self._holding(target.label):
            final, error = await self.engine.orders.cancel(target)
        if final is None:
            return "unconfirmed"
        return f"ok:{final.status.value}" + (":error" if error else "")

    async def _cancel_all(self, index: int, step: Step) -> str:
        from console.domain import Category

        busy = set(self.busy)
        if busy:  # an intent mid-operation is one bot's; the bulk cancel waits for none
            return "skipped_busy"
        cancelled = await self.engine.orders.cancel_all(Category.LINEAR, step.symbol)
        return f"ok:{len(cancelled)}"

    async def _pause(self, index: int, step: Step) -> str:
        return "ok"


async def chaos_phase(cfg: dict[str, Any]) -> dict[str, Any]:
    schedule = Schedule.from_json(cfg["schedule"])
    session = open_session(cfg)
    engine = session.engine
    started = time.perf_counter()
    try:
        await engine.start()
        say("ready")
        chaos = Chaos(session, schedule, cfg["market"], Control(cfg["control_url"]))
        await chaos.run()
        return {"tally": dict(chaos.tally), "unexpected": chaos.unexpected,
                "seconds": round(time.perf_counter() - started, 2),
                "mode": engine.risk.mode.value}
    finally:
        await session.aclose()


async def reconcile_phase(cfg: dict[str, Any]) -> dict[str, Any]:
    from console.domain.reconciliation import RunTrigger

    session = open_session(cfg)
    engine = session.engine
    started = time.perf_counter()
    not_before = float(cfg.get("not_before", 0))
    deadline = max(time.time(), not_before) + float(cfg["quiesce_timeout_s"])
    in_flight = ("PENDING_NEW", "PENDING_CANCEL", "UNKNOWN")
    runs: list[dict[str, Any]] = []
    quiescent = False
    try:
        outcome = await engine.start()
        while True:
            run = outcome.run
            pending = [o.ident for o in session.ledger.orders(VENUE, ACCOUNT, True)
                       if o.status.value in in_flight]
            runs.append({"status": run.status.value,
                         "discrepancies": sorted(d.kind.value for d in run.discrepancies),
                         "errors": list(run.errors), "pending": pending})
            settled = time.time() >= not_before
            if not run.discrepancies and not run.errors and not run.unverified \
                    and not pending and settled:
                quiescent = True
                break
            if time.time() >= deadline:
                break
            await asyncio.sleep(max(0.3, not_before - time.time()))
            outcome = await engine.reconciler.run_once(RunTrigger.MANUAL)
        last = runs[-1]
        return {"quiescent": quiescent, "runs": len(runs), "last": last,
                "first": runs[0], "mode": engine.risk.mode.value,
                "summaries": [d.summary for d in outcome.run.discrepancies][:20],
                "seconds": round(time.perf_counter() - started, 2)}
    finally:
        await session.aclose()


def main() -> int:
    cfg = json.loads(sys.stdin.readline())
    phase = cfg["phase"]
    logging.basicConfig(filename=str(Path(cfg["workdir"]) / f"worker-{phase}.log"),
                        level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    runner = chaos_phase if phase == "chaos" else reconcile_phase
    try:
        report = asyncio.run(runner(cfg))
    except Exception as exc:
        logging.getLogger("chaos.worker").exception("the %s phase failed", phase)
        report = {"failed": f"{type(exc).__name__}: {exc}",
                  "trace": traceback.format_exc(limit=12)}
    say("done " + json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
