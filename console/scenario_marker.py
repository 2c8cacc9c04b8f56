"""Which simulated-exchange scenario built a ledger: the scenario half of
`console.book_marker`, which holds both of a ledger book's marks (the sim's scenario and
a venue profile's binding). Its public names stay importable from here."""

from __future__ import annotations

from console.book_marker import (
    MARKER_ACTOR,
    SCENARIO_SEEDED,
    ScenarioMismatchError,
    check_scenario,
    ledger_scenario,
    record_scenario,
)

__all__ = ["MARKER_ACTOR", "SCENARIO_SEEDED", "ScenarioMismatchError", "check_scenario",
           "ledger_scenario", "record_scenario"]
