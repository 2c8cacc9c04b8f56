"""One (venue, account) with everything the engine runs for it, wired once.

This is what the headless daemon, the Qt console and an embedding bot hold. Start-up
order matters: the private stream starts first (so nothing that happens during start-up
is missed), then the startup reconciliation runs before anything may trade, then the
periodic loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from console.domain.ids import ClientOrderIdGenerator
from console.engine.actions import ActionExecutor
from console.engine.metrics import Metrics
from console.engine.order_manager import OrderManager
from console.engine.ports import LedgerPort, VenuePort
from console.engine.reconcile_service import ReconcileService, RunOutcome, wall_clock_ms
from console.engine.risk import RiskState
from console.engine.stream_consumer import StreamConsumer
from console.reconcile import ReconcileConfig


class EngineSession:
    def __init__(self, venue: VenuePort, ledger: LedgerPort, config: ReconcileConfig, *,
                 clock_ms: Callable[[], int] = wall_clock_ms, interval_s: float = 60.0,
                 metrics: Metrics | None = None, worker: str = "console",
                 read_only: bool = False) -> None:
        self.venue = venue
        self.ledger = ledger
        self.config = config
        self.metrics = metrics or Metrics()
        self.risk = RiskState()
        self.ids = ClientOrderIdGenerator(config.our_prefix, worker,
                                          lambda: ledger.next_counter("client_order_id"),
                                          clock_ms)
        self.orders = OrderManager(venue, ledger, self.ids, clock_ms=clock_ms, risk=self.risk)
        self.read_only = read_only
        self.executor = ActionExecutor(venue, ledger, self.orders, clock_ms=clock_ms,
                                       read_only=read_only)
        self.reconciler = ReconcileService(venue, ledger, config, executor=self.executor,
                                           clock_ms=clock_ms, interval_s=interval_s,
                                           risk=self.risk)
        self.reconciler.on_run(self._record_metrics)
        self.stream = StreamConsumer(venue, ledger, self.reconciler, telemetry=self.metrics)
        self._streaming = False

    def _record_metrics(self, outcome: RunOutcome) -> None:
        run = outcome.run
        self.metrics.record_run(run.started_at, outcome.duration_ms, run.status.value,
                                Counter(d.kind.value for d in run.discrepancies))

    async def start(self, *, stream: bool = True) -> RunOutcome:
        """Stream first, then the startup reconciliation, then the periodic loop."""
        if stream:
            self.stream.start()
            self._streaming = True
        return await self.reconciler.start()

    async def stop(self) -> None:
        await self.reconciler.stop()
        if self._streaming:
            await self.stream.stop()
            self._streaming = False
