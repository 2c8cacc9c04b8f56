"""What a ledger book is of, recorded by the session that first uses it, so two never mix.

The ledger keys its rows by (venue, account) only. Two sessions whose (venue, account)
is the same but whose venue state differs would read and write one book, and each would
report the other's orders, fills and positions as discrepancies of its own, and act on
them (close a position "missing on the venue", cancel an order the venue "does not
know"). Two kinds of session can meet that way, and each is marked in the audit log:

- the embedded simulated exchange, rebuilt from a scenario on every start (a scenario is
  a fixed venue state) while the ledger carries over from run to run: the run that seeds
  a ledger records the scenario (action `SCENARIO_SEEDED`, details scenario and seed),
  and a later run of another scenario on that ledger is refused with
  `ScenarioMismatchError` (use a fresh `--db`), or only warned of for a program that
  mixes them knowingly. A used ledger with no marker (written before markers existed)
  cannot be told apart: it is reconciled with a warning.
- a venue profile: the first session of a book records its `BookIdentity` (action
  `BOOK_BOUND`: venue, network, custom endpoint and the scope the profile reconciles,
  e.g. Binance's market), and a later session with another identity is refused with
  `BookMismatchError` before it touches anything (give the profile its own account name
  or its own `--db`). A book written before bindings existed is bound on first use, with
  an INFO log. Of two sessions binding a fresh book at the same moment one writes the
  binding (`Ledger.append_audit_once`) and the other is held to it. Changing a
  profile's symbols or read_only does not change its book.

Composition-root helpers over the store's public methods (`Ledger.append_audit`,
`Ledger.audit_log` filtered by venue, account and action); nothing here runs in the
engine. The audit log is the record: no migration, and the marks travel with the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Final

from console.domain.reconciliation import AuditEntry, evidence
from console.errors import ConfigError
from console.profiles import BookIdentity
from console.store import Ledger

log = logging.getLogger(__name__)

SCENARIO_SEEDED: Final = "sim_scenario_seeded"
"""The audit action that marks the scenario (and seed) a ledger was seeded from."""
MARKER_ACTOR: Final = "sim"
BOOK_BOUND: Final = "ledger_book_bound"
"""The audit action that binds a (venue, account) book to a `BookIdentity`."""
BINDING_ACTOR: Final = "console"
_SCOPE: Final = "scope."
"""Detail keys of the scope's pairs ("scope.market" = "usdm")."""
_BINDINGS_READ: Final = 100
"""How many bindings of a book are read to find its first (there is one; a ledger bound
before bindings were written once, `Ledger.append_audit_once`, may hold two)."""


class ScenarioMismatchError(ConfigError):
    """The ledger was built by another scenario: reconciling it against this one would
    mix the two. The message names both and asks for a fresh `--db`."""

    def __init__(self, message: str, *, recorded: str, asked: str) -> None:
        super().__init__(message)
        self.recorded = recorded
        self.asked = asked


class BookMismatchError(ConfigError):
    """The (venue, account) book is bound to another identity: using it would mix the two.
    The message names both and what to do (an own account name, or an own `--db`)."""

    def __init__(self, message: str, *, recorded: BookIdentity, asked: BookIdentity) -> None:
        super().__init__(message)
        self.recorded = recorded
        self.asked = asked


def _marks(ledger: Ledger, venue: str, account: str, action: str,
           limit: int = 1) -> list[AuditEntry]:
    """The book's marks of one kind, newest first."""
    return ledger.audit_log(limit, venue=venue, account=account, actions=(action,))


def _mark(ledger: Ledger, venue: str, account: str, *, actor: str, action: str,
          details: Sequence[tuple[str, str]], at: int) -> None:
    ledger.append_audit(AuditEntry(
        at=at, actor=actor, action=action, subject=f"{venue}/{account}", venue=venue,
        account=account, details=tuple(details)))


def book_is_new(ledger: Ledger, venue: str, account: str) -> bool:
    """Nothing of (venue, account) in the ledger yet: no run, order, position or balance."""
    return not ledger.list_runs(venue, account, 1) and not ledger.count_orders(venue, account) \
        and not ledger.positions(venue, account) and not ledger.balances(venue, account)


# -- the simulated exchange's scenario --------------------------------------------------------

def record_scenario(ledger: Ledger, venue: str, account: str, scenario: str, *,
                    seed: int, at: int) -> None:
    """Mark `ledger` as seeded from `scenario` on (venue, account)."""
    _mark(ledger, venue, account, actor=MARKER_ACTOR, action=SCENARIO_SEEDED,
          details=evidence(scenario=scenario, seed=seed), at=at)


def ledger_scenario(ledger: Ledger, venue: str, account: str) -> str | None:
    """The scenario that last seeded this ledger's (venue, account), None if unmarked."""
    found = _marks(ledger, venue, account, SCENARIO_SEEDED)
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


# -- a venue profile's book ---------------------------------------------------------------------

def _binding_details(identity: BookIdentity, profile: str) -> tuple[tuple[str, str], ...]:
    return (*evidence(venue=identity.venue, network=identity.network,
                      endpoint=identity.endpoint or None, profile=profile or None),
            *((f"{_SCOPE}{key}", value) for key, value in identity.scope))


def record_binding(ledger: Ledger, account: str, identity: BookIdentity, *, at: int,
                   profile: str = "") -> None:
    """Bind the ledger's (identity.venue, account) book to `identity` (`profile`: the
    profile that did, named to whoever is refused later), unless it is bound already:
    two sessions binding a fresh book at the same moment write one binding
    (`Ledger.append_audit_once`), and `bind_book` refuses the one that lost."""
    venue = identity.venue
    ledger.append_audit_once(AuditEntry(
        at=at, actor=BINDING_ACTOR, action=BOOK_BOUND, subject=f"{venue}/{account}",
        venue=venue, account=account, details=_binding_details(identity, profile)))


def book_binding(ledger: Ledger, venue: str, account: str) -> tuple[BookIdentity, str] | None:
    """The identity the book was first bound to and the profile that bound it ("" when
    not recorded); None for an unbound book."""
    found = _marks(ledger, venue, account, BOOK_BOUND, _BINDINGS_READ)
    if not found:
        return None
    details = dict(found[-1].details)
    scope = tuple(sorted((key.removeprefix(_SCOPE), value) for key, value in details.items()
                         if key.startswith(_SCOPE)))
    identity = BookIdentity(venue=details.get("venue", venue),
                            network=details.get("network", ""),
                            endpoint=details.get("endpoint", ""), scope=scope)
    return identity, details.get("profile", "")


def check_book(ledger: Ledger, account: str, identity: BookIdentity, *,
               profile: str = "") -> bool:
    """Before a session of `profile` uses the (identity.venue, account) book: refuse a
    book bound to another identity (`BookMismatchError`). True when the book is bound to
    this identity already, False when it is not bound yet (`bind_book` binds it)."""
    found = book_binding(ledger, identity.venue, account)
    if found is None:
        return False
    recorded, by = found
    if recorded == identity:
        return True
    who = f"profile {profile!r}" if profile else "this session"
    first = f" (first used by profile {by!r})" if by and by != profile else ""
    raise BookMismatchError(
        f"{who} ({identity.describe()}) cannot use the ledger book {identity.venue}/"
        f"{account} at {ledger.url}: that book is bound to {recorded.describe()}{first}. "
        f"Sharing it would mix the two: each would report the other's orders, fills and "
        f"positions as discrepancies and act on them. Give this profile its own --account "
        f"(e.g. {identity.own_account(account)}) or its own --db",
        recorded=recorded, asked=identity)


def bind_book(ledger: Ledger, account: str, identity: BookIdentity, *, at: int,
              profile: str = "") -> None:
    """Bind a book `check_book` found unbound to `identity`; a used one (written before
    bindings existed) with an INFO log."""
    used = not book_is_new(ledger, identity.venue, account)
    record_binding(ledger, account, identity, at=at, profile=profile)
    # another session may have bound it since `check_book` read it unbound: the binding
    # in force is the first, and this one is refused if it is another identity's
    check_book(ledger, account, identity, profile=profile)
    if used:
        log.info("the ledger book %s/%s at %s predates book bindings: bound now to %s "
                 "(profile %r); a profile of another network or scope on this book is "
                 "refused from now on", identity.venue, account, ledger.url,
                 identity.describe(), profile)
