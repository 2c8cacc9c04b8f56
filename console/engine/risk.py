"""Whether new risk may be taken: shared by the reconcile service (which pauses and
resumes), the emergency stop (which halts) and the order manager (which refuses).

Two independent brakes:
- the *desync pause* (`mode`) belongs to the reconciler: a hard desync pauses new risk
  (reduce-only orders still pass) and a clean reconciliation lifts it; an operator may
  lift it too (`operator_resume`);
- the *halt* (circuit breaker) belongs to the emergency stop: every new order is refused
  (only the emergency's own flattening orders pass) until an operator resumes. The
  reconciler never touches it, so a clean run cannot undo an emergency stop.

And one narrower brake, the *quarantine*, per (account, instrument): while the outcome of
one of our orders on an instrument is unknown (a create that timed out and that the venue
does not know yet), new risk on that instrument is refused, reduce-only orders pass, and
other instruments trade on. Sending a second order beside one that may have landed is
how a bot doubles a position. The venue's word on the order (the order manager's own
answer, a stream update, or a reconciliation) releases it.

The reconcile service restores the mode of the last stored run at the start of each run
(so that a restart comes back paused). After an operator resume that restore would pause
again, so the resume arms a one-shot override: the next `set` that repeats the mode and
reason the operator lifted is ignored. The run after it decides afresh from a trading
start, and a new hard desync pauses again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from console.domain.reconciliation import TradingMode


@dataclass
class RiskState:
    mode: TradingMode = TradingMode.TRADING
    reason: str = ""
    halted: bool = False
    halt_reason: str = ""
    halted_by: str = ""
    halted_at: int | None = None
    _lifted: tuple[TradingMode, str] | None = field(default=None, repr=False)
    quarantine: dict[str, dict[str, str]] = field(default_factory=dict)
    """instrument ("category:symbol") -> {order ident: why its outcome is unknown}."""

    def quarantine_order(self, instrument: str, ident: str, why: str) -> None:
        self.quarantine.setdefault(instrument, {})[ident] = why

    def release_order(self, ident: str) -> str:
        """The venue has spoken about `ident`; returns the instrument released ("" if the
        instrument is still held by another order, or `ident` held nothing)."""
        for instrument, held in list(self.quarantine.items()):
            if held.pop(ident, None) is not None and not held:
                del self.quarantine[instrument]
                return instrument
        return ""

    def quarantined_idents(self) -> set[str]:
        return {ident for held in self.quarantine.values() for ident in held}

    @property
    def paused(self) -> bool:
        return self.mode is TradingMode.PAUSED

    def set(self, mode: TradingMode, reason: str = "") -> None:
        """The reconciler's decision (or its restore of the last run's)."""
        lifted, self._lifted = self._lifted, None
        if lifted is not None and lifted == (mode, reason):
            return  # the restore of a pause the operator has lifted
        self.mode, self.reason = mode, reason if mode is TradingMode.PAUSED else ""

    def operator_resume(self) -> str:
        """Lift a desync pause by hand; returns the reason that was lifted ("" if none)."""
        if not self.paused:
            return ""
        lifted = self.reason
        self._lifted = (self.mode, self.reason)
        self.mode, self.reason = TradingMode.TRADING, ""
        return lifted

    def arm_lifted(self, reason: str) -> None:
        """After a restart: the operator had lifted the pause of the last stored run."""
        self._lifted = (TradingMode.PAUSED, reason)

    def halt(self, reason: str, *, by: str, at: int) -> bool:
        """Open the circuit breaker; False when it was already open (kept as it was)."""
        if self.halted:
            return False
        self.halted, self.halt_reason, self.halted_by, self.halted_at = True, reason, by, at
        return True

    def clear_halt(self) -> bool:
        """Close the circuit breaker (operator resume only); False when it was closed."""
        if not self.halted:
            return False
        self.halted, self.halt_reason, self.halted_by, self.halted_at = False, "", "", None
        return True

    def refusal(self, *, reduce_only: bool, emergency: bool = False,
                instrument: str = "") -> str:
        """Why a new order must be refused now ("" when it may go)."""
        if self.halted and not emergency:
            by = f" by {self.halted_by}" if self.halted_by else ""
            return (f"trading is halted (emergency stop{by}: {self.halt_reason or 'no reason'}"
                    "); every new order is refused until an operator resumes")
        if self.paused and not reduce_only and not emergency:
            return (f"trading is paused ({self.reason or 'hard desync'}): "
                    "only reduce-only orders pass")
        held = self.quarantine.get(instrument) if instrument else None
        if held and not reduce_only and not emergency:
            orders = ", ".join(sorted(held))
            return (f"{instrument} is quarantined: the outcome of order {orders} is unknown "
                    "until the venue answers; only reduce-only orders pass on it")
        return ""
