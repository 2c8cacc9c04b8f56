"""Whether new risk may be taken: shared by the reconcile service (which pauses and
resumes) and the order manager (which refuses risk-adding orders while paused)."""

from __future__ import annotations

from dataclasses import dataclass

from console.domain.reconciliation import TradingMode


@dataclass
class RiskState:
    mode: TradingMode = TradingMode.TRADING
    reason: str = ""

    @property
    def paused(self) -> bool:
        return self.mode is TradingMode.PAUSED

    def set(self, mode: TradingMode, reason: str = "") -> None:
        self.mode, self.reason = mode, reason if mode is TradingMode.PAUSED else ""
