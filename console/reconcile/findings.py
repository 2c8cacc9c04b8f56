"""What a diff produces before policy: each discrepancy with the steps that would fix it."""

from __future__ import annotations

from dataclasses import dataclass, field

from console.domain.reconciliation import Action, Discrepancy


@dataclass(frozen=True, slots=True)
class Step:
    """One proposed action. `follows_venue` ties its decision to the venue actions of the
    same finding: a bracket is cleared only when the cancel that makes it void is allowed."""

    action: Action
    follows_venue: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    """A discrepancy and its remedy. `discrepancy` is None for bookkeeping that fixes no
    disagreement (a bracket whose legs were found under new ids)."""

    discrepancy: Discrepancy | None
    steps: tuple[Step, ...] = ()


@dataclass(slots=True)
class Collector:
    """Accumulates findings and not-verified notes during one diff (local, never shared)."""

    findings: list[Finding] = field(default_factory=list)
    unverified: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)

    def add(self, discrepancy: Discrepancy | None, *steps: Step) -> None:
        self.findings.append(Finding(discrepancy, steps))

    def skip(self, text: str) -> None:
        self.unverified.append(text)

    def defer(self, text: str) -> None:
        """The ledger learned something newer than the venue snapshot (the stream wrote it
        while we were fetching): not a failure, just compared on the next run."""
        self.deferred.append(text)
