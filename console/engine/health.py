"""The engine's health as a supervisor or a load balancer asks for it: GET /healthz.

Why a separate verdict from the metrics: a scraper wants numbers, a supervisor wants one
yes/no it can act on (restart, page, take out of rotation). The verdict is computed from
what the engine already publishes (the reconciler's runs, the private stream's connection
events, the circuit breaker), so it needs no hook inside the session.

Unhealthy (HTTP 503), each for a reason an operator must look at:
- halted: an emergency stop is in force (nothing will trade until a resume);
- the private stream has not been connected for `stream_down_s` (default 120 s: longer
  than a venue's ordinary reconnect, short enough that a dead stream is noticed);
- no reconciliation ended OK within `ok_intervals` reconcile intervals (default 3), counted
  from the last OK run or, before the first one, from when the monitor was attached.
Degraded (still 200): the stream is reconnecting within its threshold, the last run was not
OK, or trading is paused by a desync; the engine is working on it.
Observing (200): on a shared ledger another engine holds the account's lease; this one
stands by without a stream or reconciliations by design, so those thresholds do not apply
(they count again from its takeover). `lease_holder` names the holding engine whenever the
lease is contended (PostgreSQL); it stays null on a ledger one process alone uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from console.domain.events import ConnectionEvent, ConnectionState
from console.domain.reconciliation import RunStatus
from console.engine.lease import LeaseState, LeaseStatus
from console.engine.reconcile_service import RunOutcome, wall_clock_ms
from console.engine.session import EngineSession


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    HALTED = "halted"
    UNHEALTHY = "unhealthy"
    OBSERVING = "observing"
    """Standing by: another engine holds the lease (healthy: nothing to restart)."""


@dataclass(frozen=True, slots=True)
class HealthPolicy:
    """The thresholds past which the engine answers 503."""

    stream_down_s: float = 120.0
    ok_intervals: int = 3


@dataclass(frozen=True, slots=True)
class HealthReport:
    """One answer to GET /healthz."""

    status: HealthStatus
    healthy: bool
    reasons: tuple[str, ...]
    stream: str
    stream_down_s: float | None
    last_ok_reconcile_age_s: float | None
    last_run_status: str | None
    trading: str
    lease_holder: str | None = None
    """The engine holding the account's lease, as this one last heard (null when the
    lease is not contended: no lease, or a ledger one process alone uses)."""
    lease: str | None = None
    """The lease in words: "holding (epoch 3, expires in 8.1 s)", "observing (lease
    held by X, expires in 3.2 s)"; null without a contended lease."""
    lease_epoch: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "healthy": self.healthy,
            "reasons": list(self.reasons),
            "stream": self.stream,
            "stream_down_s": _round(self.stream_down_s),
            "last_ok_reconcile_age_s": _round(self.last_ok_reconcile_age_s),
            "last_run_status": self.last_run_status,
            "trading": self.trading,
            "lease_holder": self.lease_holder,
            "lease": self.lease,
            "lease_epoch": self.lease_epoch,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


class HealthMonitor:
    """Follows one `EngineSession` from before its start; `report()` is the verdict now."""

    def __init__(self, engine: EngineSession, policy: HealthPolicy | None = None, *,
                 clock_ms: Callable[[], int] = wall_clock_ms) -> None:
        self.engine = engine
        self.policy = policy or HealthPolicy()
        self._clock = clock_ms
        self._attached_at = clock_ms()
        self._last_ok_at: int | None = None
        self._last_status: str | None = None
        self._stream_state = ConnectionState.CONNECTING
        self._down_since: int | None = self._attached_at
        self._observed_at: int | None = None  # when it last stood by (the lease elsewhere)
        engine.reconciler.on_run(self._on_run)
        engine.stream.on_event(self._on_event)

    def _on_run(self, outcome: RunOutcome) -> None:
        run = outcome.run
        self._last_status = run.status.value
        if run.status is RunStatus.OK:
            self._last_ok_at = run.finished_at

    def _on_event(self, event: object) -> None:
        if not isinstance(event, ConnectionEvent):
            return
        self._stream_state = event.state
        if event.state is ConnectionState.CONNECTED:
            self._down_since = None
        elif self._down_since is None:
            self._down_since = self._clock()

    def _lease(self) -> LeaseStatus | None:
        """The lease, when it is contended (a shared ledger) and the engine takes part."""
        keeper = self.engine.lease
        if keeper is None:
            return None
        status = keeper.status()
        return status if status.enforced and status.state is not LeaseState.IDLE else None

    def report(self) -> HealthReport:
        now = self._clock()
        policy = self.policy
        reasons: list[str] = []
        lease = self._lease()
        if lease is not None and lease.state is LeaseState.OBSERVING:
            self._observed_at = now
            return self._observing(lease)
        # after a takeover the thresholds count from it, not from when it began to observe
        since = max(self._attached_at, self._observed_at or self._attached_at)
        down_from = None if self._down_since is None else max(self._down_since, since)
        down_s = None if down_from is None else (now - down_from) / 1000
        if down_s is not None and down_s > policy.stream_down_s:
            reasons.append(f"private stream {self._stream_state.value} for {down_s:.0f} s "
                           f"(threshold {policy.stream_down_s:g} s)")
        ok_age_s = None if self._last_ok_at is None else (now - self._last_ok_at) / 1000
        window_s = policy.ok_intervals * float(self.engine.reconciler.interval_s)
        since_s = ok_age_s if ok_age_s is not None else (now - since) / 1000
        if since_s > window_s:
            reasons.append(f"no OK reconciliation for {since_s:.0f} s "
                           f"({policy.ok_intervals} intervals = {window_s:g} s)")
        risk = self.engine.risk
        trading = "halted" if risk.halted else ("paused" if risk.paused else "trading")
        if risk.halted:
            by = f" by {risk.halted_by}" if risk.halted_by else ""
            reasons.insert(0, f"emergency stop{by}: {risk.halt_reason or 'no reason given'}")
            status = HealthStatus.HALTED
        elif reasons:
            status = HealthStatus.UNHEALTHY
        elif (down_s is not None or risk.paused
              or self._last_status not in (None, RunStatus.OK.value)):
            status = HealthStatus.DEGRADED
        else:
            status = HealthStatus.OK
        return HealthReport(status=status, healthy=not reasons, reasons=tuple(reasons),
                            stream=self._stream_state.value, stream_down_s=down_s,
                            last_ok_reconcile_age_s=ok_age_s, last_run_status=self._last_status,
                            trading=trading,
                            lease_holder=lease.holder if lease is not None else None,
                            lease=lease.describe() if lease is not None else None,
                            lease_epoch=lease.epoch if lease is not None else None)

    def _observing(self, lease: LeaseStatus) -> HealthReport:
        """Standing by: healthy, trading nothing, saying who holds the lease."""
        now = self._clock()
        ok_age_s = None if self._last_ok_at is None else (now - self._last_ok_at) / 1000
        return HealthReport(status=HealthStatus.OBSERVING, healthy=True,
                            reasons=(lease.describe(),), stream=self._stream_state.value,
                            stream_down_s=None, last_ok_reconcile_age_s=ok_age_s,
                            last_run_status=self._last_status, trading="observing",
                            lease_holder=lease.holder, lease=lease.describe(),
                            lease_epoch=lease.epoch)
