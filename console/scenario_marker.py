"""Which simulated-exchange scenario built a ledger, so that two never mix.

The simulated exchange is rebuilt from its scenario on every `reconcile --scenario` (a
scenario is a fixed venue state), while the ledger carries over from run to run: that is
how a second run sees what the first one did. A ledger built by one scenario and then
reconciled against another reports the first scenario's orders and fills as
discrepancies of the second (a `clean` run once found 9 on a ledger other scenarios had
filled). So the run that seeds a ledger records the scenario in the audit log (actor
"sim", action `SCENARIO_SEEDED`, details scenario and seed), and a later run of another
scenario on that ledger is refused by `recon-console reconcile --scenario` with
`ScenarioMismatchError`, which says to use a fresh `--db` (a program building sim
sessions gets the same text as a warning unless it asks for the refusal). A used ledger
with no marker (written before markers existed) cannot be told apart: it is reconciled
with a warning.

Composition-root helpers over the store's public methods (`Ledger.append_audit`,
`Ledger.audit_log` filtered by venue, account and action); nothing here runs in the
engine.
"""

from __future__ import annotations

import logging
from typing import Final

from console.domain.reconciliation import AuditEntry, evidence
from console.errors import ConfigError
from console.store import Ledger

log = logging.getLogger(__name__)

SCENARIO_SEEDED: Final = "sim_scenario_seeded"
"""The audit action that marks the scenario (and seed) a ledger was seeded from."""
MARKER_ACTOR: Final = "sim"


class ScenarioMismatchError(ConfigError):
    """The ledger was built by another scenario: reconciling it against this one would
    mix the two. The message names both and asks for a fresh `--db`."""

    def __init__(self, message: str, *, recorded: str, asked: str) -> None:
        super().__init__(message)
        self.recorded = recorded
        self.asked = asked


def record_scenario(ledger: Ledger, venue: str, account: str, scenario: str, *,
                    seed: int, at: int) -> None:
    """Mark `ledger` as seeded from `scenario` on (venue, account)."""
    ledger.append_audit(AuditEntry(
        at=at, actor=MARKER_ACTOR, action=SCENARIO_SEEDED, subject=f"{venue}/{account}",
        venue=venue, account=account, details=evidence(scenario=scenario, seed=seed)))


def ledger_scenario(ledger: Ledger, venue: str, account: str) -> str | None:
    """The scenario that last seeded this ledger's (venue, account), None if unmarked."""
    found = ledger.audit_log(1, venue=venue, account=account, actions=(SCENARIO_SEEDED,))
    if not found:
        return None
    return dict(found[0].details).get("scenario")


def check_scenario(ledger: Ledger, venue: str, account: str, scenario: str, *,
                   refuse: bool = True) -> None:
    """Before reconciling a used ledger against `scenario`: refuse another scenario's
    ledger (`ScenarioMismatchError`), or with `refuse` False only warn (a program that
    mixes them knowingly); warn when the ledger has no marker at all."""
    recorded = ledger_scenario(ledger, venue, account)
    if recorded is None:
        log.warning("the ledger at %s already holds %s/%s data and does not say which "
                    "scenario built it: if it was another one than %r, the results mix "
                    "both; use a fresh --db to be sure", ledger.url, venue, account,
                    scenario)
        return
    if recorded == scenario:
        return
    error = ScenarioMismatchError(
        f"the ledger at {ledger.url} was built by scenario {recorded!r}; reconciling it "
        f"against scenario {scenario!r} would report the orders and fills of {recorded!r} "
        f"as discrepancies of {scenario!r}. Use a fresh database for this scenario, e.g. "
        f"--db sqlite:///{scenario}.db (or run {recorded!r} again on this one)",
        recorded=recorded, asked=scenario)
    if refuse:
        raise error
    log.warning("%s", error)
