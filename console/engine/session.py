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

Embedding (README, "Embedding the engine"; examples/embed_bot.py): `start()` returns once
the private stream is subscribed, or says it is not (`stream_connected`, or
`StreamNotConnectedError` with `require_stream=True`); `settled()` waits until nothing is
pending (`console.engine.readiness`); `reads` are the ledger reads as coroutines; `stop()`
writes what the stream already delivered into the ledger, then records the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
from collections import Counter
from collections.abc import Callable

from console.domain import Order, OrderRole, OrderStatus
from console.domain.events import ConnectionEvent, ConnectionState, VenueEvent
from console.domain.ids import ClientOrderIdGenerator
from console.domain.reconciliation import AuditEntry, RunTrigger
from console.engine.actions import ActionExecutor
from console.engine.commands import CommandPort, CommandRunner
from console.engine.emergency import EmergencyReport, EmergencyStop, ResumeOutcome
from console.engine.lease import DEFAULT_LEASE_TTL_S, LeaseKeeper, LeasePort, engine_id
from console.engine.ledger_reads import LedgerReads
from console.engine.metrics import Metrics
from console.engine.order_manager import AmendPolicy, OrderManager
from console.engine.ports import LedgerPort, VenuePort
from console.engine.readiness import NotSettledError, Pending, StreamNotConnectedError
from console.engine.reconcile_service import ReconcileService, RunOutcome, wall_clock_ms
from console.engine.risk import RiskState
from console.engine.strategy import Strategy, StrategyRegistry
from console.engine.stream_consumer import StreamConsumer
from console.errors import LedgerError, VenueError
from console.reconcile import ReconcileConfig

log = logging.getLogger(__name__)

DEFAULT_WORKER = "console"
"""The worker id in client order ids (`rc-console-...`) when the builder names none."""
CONNECT_TIMEOUT_S = 10.0
"""How long `start()` waits for the private stream to subscribe by default."""
STOP_DRAIN_S = 5.0
"""How long a clean stop lets the stream's writer apply what was already delivered."""
_SETTLE_POLL_S = 0.01
_SETTLE_REQUEST_EVERY_S = 1.0


class EngineSession:
    def __init__(self, venue: VenuePort, ledger: LedgerPort, config: ReconcileConfig, *,
                 clock_ms: Callable[[], int] = wall_clock_ms, interval_s: float = 60.0,
                 metrics: Metrics | None = None, worker: str = DEFAULT_WORKER,
                 read_only: bool = False, amend_policy: AmendPolicy | None = None,
                 pending_grace_ms: int | None = None, leases: LeasePort | None = None,
                 lease_ttl_s: float = DEFAULT_LEASE_TTL_S) -> None:
        """`worker` is the worker id in this session's client order ids (1-8 letters or
        digits: one per process sharing a ledger, so their ids never collide).
        `pending_grace_ms` overrides `config.pending_grace_ms`: how long an order the
        venue does not know stays in flight, for the reconciler and the order manager
        alike (they must agree). With `leases` (the composition root passes the ledger)
        the session trades only while it holds the lease of its (venue, account), which
        lasts `lease_ttl_s` without renewal (console.engine.lease)."""
        if pending_grace_ms is not None:
            config = dataclasses.replace(config, pending_grace_ms=pending_grace_ms)
        self.clock_ms = clock_ms
        self.worker = worker
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
        self.lease: LeaseKeeper | None = None
        """The lease of this (venue, account), when the session takes part in leasing:
        it observes until it holds it, and stops trading when it loses it."""
        if leases is not None:
            self.lease = LeaseKeeper(leases, venue.venue, venue.account,
                                     engine=engine_id(worker), ttl_s=lease_ttl_s,
                                     actor=f"engine:{worker}")
            self.orders.lease = self.lease
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
        self.stream.on_event(self.orders.observe)
        self.stream.on_event(self._stream_answered)
        self._subscribed = asyncio.Event()
        self._first_attempt_failed = asyncio.Event()
        self.reads = LedgerReads(ledger, venue.venue, venue.account)
        """The ledger reads a bot makes on its loop, off the loop (`LedgerReads`)."""
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
        self.commands: CommandRunner | None = None
        """The operator's commands through the ledger (console.engine.commands): carried
        out while this session holds its lease (a session without one takes none)."""
        port: object = leases  # a LeasePort; the ledger is a CommandPort too
        if self.lease is not None and isinstance(port, CommandPort):
            self.commands = CommandRunner(self, port)
        self._commands_task: asyncio.Task[None] | None = None

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

    def _stream_answered(self, event: VenueEvent) -> None:
        """The stream subscribed (CONNECTED), gave up for now (DOWN), or saw its first
        attempt fail (RECONNECTING): `start` may stop waiting (see `start`)."""
        if isinstance(event, ConnectionEvent):
            if event.state in (ConnectionState.CONNECTED, ConnectionState.DOWN):
                self._subscribed.set()
            elif event.state is ConnectionState.RECONNECTING:
                self._first_attempt_failed.set()

    @property
    def stream_connected(self) -> bool:
        """The private stream is running and subscribed right now."""
        return self._streaming and self.stream.state is ConnectionState.CONNECTED

    async def start(self, *, stream: bool = True,
                    connect_timeout_s: float = CONNECT_TIMEOUT_S,
                    require_stream: bool = False) -> RunOutcome:
        """Stream first, then the startup reconciliation, then the periodic loop.

        With the stream, it returns once the stream is subscribed, so that nothing the
        venue pushes after `start` returns can wait for a reconciliation; or, when the
        stream reports DOWN or `connect_timeout_s` passes first, it says so: it raises
        `StreamNotConnectedError` (the stream stopped again) with `require_stream`, and
        otherwise goes on with `stream_connected` False (the stream keeps trying, and the
        reconciliation its reconnect asks for repairs the gap). Without `require_stream`
        a failed first attempt is answer enough (a daemon facing an unreachable venue
        learns it from the reconciliation at once); with it, the retries get the whole
        `connect_timeout_s`.

        With a lease (`self.lease`), all of that waits until this engine holds it: while
        another engine holds it, this one observes (no stream, no reconciliation, no
        order), and takes over once that lease expires; the status says which
        (`self.lease.status()`). It raises `LeaseLostError` if `stop` comes first."""
        if self.lease is None:
            return await self._start_active(stream, connect_timeout_s, require_stream)
        return await self.lease.start(
            lambda: self._start_active(stream, connect_timeout_s, require_stream),
            self._stop_active)

    async def _start_active(self, stream: bool, connect_timeout_s: float,
                            require_stream: bool) -> RunOutcome:
        """`start` once the session may trade (no lease, or the lease held)."""
        if stream:
            self._subscribed.clear()
            self._first_attempt_failed.clear()
            self.stream.start()
            self._streaming = True
            answers = [self._subscribed.wait()]
            if not require_stream:
                answers.append(self._first_attempt_failed.wait())
            waits = [asyncio.ensure_future(answer) for answer in answers]
            try:
                await asyncio.wait(waits, timeout=connect_timeout_s,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for wait in waits:
                    wait.cancel()
            if not self.stream_connected:
                state = self.stream.state
                if require_stream:
                    await self.stream.stop()
                    self._streaming = False
                    raise StreamNotConnectedError(
                        f"{self.venue.venue} {self.venue.account}: the private stream is "
                        f"{state.value}, not subscribed (waited up to {connect_timeout_s:g} "
                        f"s); the session did not start",
                        state=state)
                log.warning("%s %s: private stream %s, not subscribed; starting without "
                            "it (the reconciliation its reconnect asks for fills the gap)",
                            self.venue.venue, self.venue.account, state.value)
        if self.venue.capabilities.priority_lane:
            try:
                await self.venue.warm_priority_lane()
            except (VenueError, OSError) as exc:
                log.info("priority lane not warmed: %s", exc)
        outcome = await self.reconciler.start()
        self._halt_watch = asyncio.create_task(self._watch_halts(), name="halt-watch")
        if self.commands is not None:
            # a context of its own: not the start-up's (whose orders may go out before
            # the session is active); a command sends only once the session has started
            self._commands_task = asyncio.create_task(
                self.commands.run(), name="operator-commands", context=contextvars.Context())
        return outcome

    async def _watch_halts(self) -> None:
        """A halt recorded by another process on this ledger (`recon-console stop` beside a
        running daemon or window) is adopted within `halt_watch_s`, not at the next
        reconciliation: until then this process could still send orders."""
        while True:
            await asyncio.sleep(self.halt_watch_s)
            await self.emergency.follow_other_processes()

    async def stop(self, *, drain_timeout_s: float = STOP_DRAIN_S) -> None:
        """A clean stop: the halt watch and the periodic loop end (a run in progress
        finishes writing), the stream unsubscribes and what it had already delivered is
        written into the ledger (bounded by `drain_timeout_s`), and the stop is audited
        (`session_stopped`, with whether the stream was drained), so that the ledger does
        not trail the venue until the next start. With a lease, the lease is released
        after the last write: an observer may take over at once."""
        commands, self._commands_task = self._commands_task, None
        if commands is not None and self.commands is not None:
            await self.commands.stop(commands)  # after the command in progress, if any
        if self.lease is not None:
            await self.lease.stop()
        task, self._halt_watch = self._halt_watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.reconciler.stop()
        if self._streaming:
            self._streaming = False
            before = self.stream.events
            drained = await self.stream.drain_and_stop(drain_timeout_s)
            if not drained:
                log.warning("%s %s: stopped with stream events unwritten after %g s; the "
                            "next start's reconciliation records them", self.venue.venue,
                            self.venue.account, drain_timeout_s)
            entry = AuditEntry(
                at=self.clock_ms(), actor=f"engine:{self.worker}", action="session_stopped",
                subject=f"{self.venue.venue}/{self.venue.account}", venue=self.venue.venue,
                account=self.venue.account,
                details=(("stream_drained", "yes" if drained else "no"),
                         ("events_written_at_stop", str(self.stream.events - before))))
            try:
                await asyncio.to_thread(self.ledger.append_audit, entry)
            except LedgerError as exc:
                # the stop itself is done; a ledger that cannot take the record must not
                # turn it into a failed stop (the next start reconciles anyway)
                log.warning("%s %s: the clean stop could not be recorded: %s",
                            self.venue.venue, self.venue.account, exc)
        if self.lease is not None:
            await self.lease.release()

    async def _stop_active(self) -> None:
        """The lease was lost: stop whatever writes or trades (the halt watch, the
        periodic loop, the stream, without draining it: those writes would be refused).
        The engine observes until it takes the lease again (`start` runs again then)."""
        commands, self._commands_task = self._commands_task, None
        if commands is not None:
            commands.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await commands
        task, self._halt_watch = self._halt_watch, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.reconciler.stop()
        if self._streaming:
            self._streaming = False
            await self.stream.stop()

    # -- embedding: is anything still pending? ------------------------------------------------

    async def next_client_id(self, role: OrderRole = OrderRole.ENTRY) -> str:
        """A fresh client order id of this session's worker (the counter is in the ledger:
        minted off the loop). `orders.place` mints one for an order without; a bot that
        builds its `Order` first takes one here."""
        return await asyncio.to_thread(self.ids.next, role)

    async def pending(self) -> Pending:
        """What can still change the ledger without a new request (`Pending`)."""
        return self._pending(await self._ledger_pending_new())

    async def _ledger_pending_new(self) -> list[Order]:
        active = await asyncio.to_thread(self.ledger.orders, self.venue.venue,
                                         self.venue.account, True)
        return [o for o in active if o.status is OrderStatus.PENDING_NEW]

    def _pending(self, pending_new: list[Order]) -> Pending:
        in_flight = self.orders.in_flight_since(self.orders.flight_mark())
        return Pending(
            in_flight=in_flight,
            unknown_outcomes=frozenset(self.risk.quarantined_idents()),
            pending_new=frozenset(o.ident for o in pending_new) - in_flight,
            stream_backlog=self._streaming and not self.stream.drained)

    async def settled(self, timeout_s: float = 60.0, *, quiet_s: float = 0.05) -> None:
        """Resolve once nothing is pending (`Pending.empty`) and the stream has written
        nothing new for `quiet_s` (events the venue already pushed may still be on their
        way into this process); raise `NotSettledError` after `timeout_s`.

        An intent past its grace is settled by a reconciliation: this asks for one (at
        most once a second) rather than waiting for the periodic loop. Within the grace
        it waits: pass a short `pending_grace_ms` to the session builder when the venue
        is local (the sim)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        calm_since: float | None = None
        seen = self.stream.events
        asked = float("-inf")
        grace = self.config.pending_grace_ms
        while True:
            now = loop.time()
            quick = self._pending([])
            pending = quick if not quick.empty else self._pending(
                await self._ledger_pending_new())
            if pending.empty and self.stream.events == seen:
                calm_since = now if calm_since is None else calm_since
                if now - calm_since >= quiet_s:
                    return
            else:
                calm_since, seen = None, self.stream.events
                if (pending.pending_new or pending.unknown_outcomes) and not pending.in_flight \
                        and now - asked >= _SETTLE_REQUEST_EVERY_S \
                        and await self._grace_passed(grace):
                    asked = now
                    self.reconciler.request(RunTrigger.MANUAL)
            if now >= deadline:
                raise NotSettledError(
                    f"{self.venue.venue} {self.venue.account}: not settled after "
                    f"{timeout_s:g} s ({pending.describe()})", pending=pending)
            await asyncio.sleep(_SETTLE_POLL_S)

    async def _grace_passed(self, grace_ms: int) -> bool:
        """Some PENDING_NEW order of the account is past its grace: a run settles it."""
        now = self.clock_ms()
        return any(now - o.created_at >= grace_ms for o in await self._ledger_pending_new())

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
