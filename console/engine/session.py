"""One (venue, account) with everything the engine runs for it, wired once.

This is what the headless daemon, the Qt console and an embedding bot hold. Start-up
order matters: the private stream starts first (so nothing that happens during start-up
is missed), then the startup reconciliation runs before anything may trade, then the
periodic loop.

Safety wiring: the order manager listens to the private stream (a pushed cancel ends a
replace's wait) and asks for a reconciliation when a cancel reveals a fill; the emergency
stop and the operator's resume live here; the halt of an unresumed emergency stop is
rebuilt from the audit log when the session is built, before anything may trade, and a
halt recorded by another process on the same ledger is adopted at the next reconciliation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Callable

from console.domain import Order
from console.domain.ids import ClientOrderIdGenerator
from console.domain.reconciliation import RunTrigger
from console.engine.actions import ActionExecutor
from console.engine.emergency import EmergencyReport, EmergencyStop, ResumeOutcome
from console.engine.metrics import Metrics
from console.engine.order_manager import AmendPolicy, OrderManager
from console.engine.ports import LedgerPort, VenuePort
from console.engine.reconcile_service import ReconcileService, RunOutcome, wall_clock_ms
from console.engine.risk import RiskState
from console.engine.strategy import Strategy, StrategyRegistry
from console.engine.stream_consumer import StreamConsumer
from console.errors import VenueError
from console.reconcile import ReconcileConfig

log = logging.getLogger(__name__)


class EngineSession:
    def __init__(self, venue: VenuePort, ledger: LedgerPort, config: ReconcileConfig, *,
                 clock_ms: Callable[[], int] = wall_clock_ms, interval_s: float = 60.0,
                 metrics: Metrics | None = None, worker: str = "console",
                 read_only: bool = False, amend_policy: AmendPolicy | None = None) -> None:
        self.venue = venue
        self.ledger = ledger
        self.config = config
        self.metrics = metrics or Metrics()
        self.risk = RiskState()
        self.ids = ClientOrderIdGenerator(config.our_prefix, worker,
                                          lambda: ledger.next_counter("client_order_id"),
                                          clock_ms)
        self.orders = OrderManager(venue, ledger, self.ids, clock_ms=clock_ms, risk=self.risk,
                                   amend_policy=amend_policy,
                                   pending_grace_ms=config.pending_grace_ms)
        self.read_only = read_only
        self.executor = ActionExecutor(venue, ledger, self.orders, clock_ms=clock_ms,
                                       read_only=read_only)
        self.reconciler = ReconcileService(venue, ledger, config, executor=self.executor,
                                           clock_ms=clock_ms, interval_s=interval_s,
                                           risk=self.risk)
        self.reconciler.flight_mark = self.orders.flight_mark
        self.reconciler.in_flight_since = self.orders.in_flight_since
        self.reconciler.on_run(self._record_metrics)
        self.reconciler.on_run(self.orders.settle_quarantine)
        self.stream = StreamConsumer(venue, ledger, self.reconciler, telemetry=self.metrics)
        self.reconciler.ledger_activity = lambda: self.stream.events
        self.stream.on_event(self.orders.observe)
        self.orders.on_fill_discovered = self._fill_discovered
        self._strategies = StrategyRegistry()
        self.emergency = EmergencyStop(
            venue, ledger, self.orders, self.risk, reconcile=self._reconcile_now,
            strategies=self._strategies, clock_ms=clock_ms)
        self.emergency.restore()
        self.reconciler.on_run(self.emergency.follow_other_processes)
        self._streaming = False
        self.halt_watch_s = 2.0
        self._halt_watch: asyncio.Task[None] | None = None

    def _record_metrics(self, outcome: RunOutcome) -> None:
        run = outcome.run
        self.metrics.record_run(run.started_at, outcome.duration_ms, run.status.value,
                                Counter(d.kind.value for d in run.discrepancies))

    def _fill_discovered(self, order: Order) -> None:
        """A cancel found a fill: the next reconciliation records its fills."""
        del order
        self.reconciler.request(RunTrigger.MANUAL)

    async def _reconcile_now(self) -> RunOutcome:
        return await self.reconciler.run_once(RunTrigger.MANUAL)

    async def start(self, *, stream: bool = True) -> RunOutcome:
        """Stream first, then the startup reconciliation, then the periodic loop."""
        if stream:
            self.stream.start()
            self._streaming = True
        if self.venue.capabilities.priority_lane:
            try:
                await self.venue.warm_priority_lane()
            except (VenueError, OSError) as exc:
                log.info("priority lane not warmed: %s", exc)
        outcome = await self.reconciler.start()
        self._halt_watch = asyncio.create_task(self._watch_halts(), name="halt-watch")
        return outcome

    async def _watch_halts(self) -> None:
        """A halt recorded by another process on this ledger (`recon-console stop` beside a
        running daemon or window) is adopted within `halt_watch_s`, not at the next
        reconciliation: until then this process could still send orders."""
        while True:
            await asyncio.sleep(self.halt_watch_s)
            await self.emergency.follow_other_processes()

    async def stop(self) -> None:
        task, self._halt_watch = self._halt_watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.reconciler.stop()
        if self._streaming:
            await self.stream.stop()
            self._streaming = False

    # -- strategies --------------------------------------------------------------------------

    def register_strategy(self, strategy: Strategy) -> None:
        """The emergency stop stops every registered strategy."""
        self._strategies.register(strategy)

    def unregister_strategy(self, name: str) -> None:
        self._strategies.unregister(name)

    @property
    def strategies(self) -> tuple[Strategy, ...]:
        return self._strategies.strategies

    # -- safety --------------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        return self.risk.halted

    async def emergency_stop(self, *, flatten: bool, operator: str,
                             reason: str = "") -> EmergencyReport:
        """Halt, cancel everything, optionally flatten, stop strategies, reconcile, report
        (see `console.engine.emergency`). Safe to call again."""
        return await self.emergency.run(operator=operator, flatten=flatten, reason=reason)

    async def resume(self, operator: str) -> ResumeOutcome:
        """The operator's explicit resume: closes the emergency circuit breaker and lifts a
        desync pause (the next reconciliation decides afresh). Audited."""
        return await self.emergency.resume(operator)
