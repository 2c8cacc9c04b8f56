"""Sentences the CLI's run reports share (`reconcile --once` in `console.__main__`,
`reconcile --plan-only` and `rehearse` in `console.cli_plan`): what a run could and
could not compare, said the same way in both."""

from __future__ import annotations

from typing import Final

from console.domain.reconciliation import RunStatus
from console.domain.text import plural

HALT_HOLDS: Final = "; the emergency halt still holds (no new orders until an operator resumes)"
"""Beside a desync pause lifted while an emergency stop's halt holds: the reconciler
lifts its own pause, never the halt (`console.engine.risk`)."""


def comparison_text(status: RunStatus, discrepancies: int, unverified: int) -> str:
    """The sentence over a run's (or a plan's) discrepancies, ending in ":" when they
    are listed after it. "The ledger matches the venue" only when everything was
    compared: a failed run compared nothing, a partial one left checks unverified (the
    "Not verified" lines) or met errors (the "Error" lines)."""
    found = plural(discrepancies, "discrepancy")
    colon = ":" if discrepancies else "."
    if status is RunStatus.FAILED:
        return ("Not compared: the run failed (see the errors), so the ledger is not known "
                "to match the venue" + (f"; {found} in what was read:" if discrepancies
                                        else "."))
    head = found if discrepancies else "No discrepancies"
    if unverified:
        return (f"{head} in what could be compared; {plural(unverified, 'check')} not "
                f"verified, so the ledger is not known to match the venue there{colon}")
    if status is not RunStatus.OK:
        return (f"{head} in what could be compared; the run was {status.value} (see the "
                f"errors), so the ledger is not known to match the venue{colon}")
    return found + ":" if discrepancies else "No discrepancies: the ledger matches the venue."
