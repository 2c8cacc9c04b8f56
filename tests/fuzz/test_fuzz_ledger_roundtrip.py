"""Whatever a Bybit parser accepts can be written to a SQLite ledger and read back equal:
no text the database cannot store (lone surrogates), no timestamp beyond a signed 64-bit
column, no number whose digits change on the way (`RECON_FUZZ_LEDGER_EXAMPLES`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from bybit_payloads import coin_json, execution_json, order_json, position_json
from fuzz_strategies import (
    LEDGER_EXAMPLES,
    Outcomes,
    fuzz_settings,
    mutated,
    plausible,
    plausible_fields,
)
from hypothesis import given
from hypothesis import strategies as st

from console.domain import Balance, Category, Fill, Order, Position
from console.domain.snapshot import LedgerChanges
from console.errors import MalformedVenueDataError
from console.store import Ledger
from console.venues.bybit.parsing import parse_coin, parse_fill, parse_order, parse_position

FIELDS = plausible_fields()
NOW = 1_700_000_000_000


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(f"sqlite:///{tmp_path / 'fuzz.db'}") as opened:
        yield opened


def read_back(ledger: Ledger, record: Any) -> Any:
    venue, account = record.venue, record.account
    if isinstance(record, Order):
        return ledger.get_order(venue, account, record.ident)
    if isinstance(record, Fill):
        return next(f for f in ledger.fills(venue, account) if f.exec_id == record.exec_id)
    if isinstance(record, Position):
        return next(p for p in ledger.positions(venue, account) if p.key == record.key)
    return next(b for b in ledger.balances(venue, account) if b.asset == record.asset)


def changes(record: Any) -> LedgerChanges:
    if isinstance(record, Order):
        return LedgerChanges(orders=(record,))
    if isinstance(record, Fill):
        return LedgerChanges(fills=(record,))
    if isinstance(record, Position):
        return LedgerChanges(positions=(record,))
    assert isinstance(record, Balance)
    return LedgerChanges(balances=(record,))


CASES: list[tuple[str, dict[str, Any], Callable[[Any, str], Any]]] = [
    ("order", order_json(), lambda raw, account: parse_order(raw, account=account,
                                                             category=Category.LINEAR)),
    ("fill", execution_json(), lambda raw, account: parse_fill(raw, account=account,
                                                               category=Category.LINEAR)),
    ("position", position_json(), lambda raw, account: parse_position(
        raw, account=account, category=Category.INVERSE)),
    ("balance", coin_json(), lambda raw, account: parse_coin(raw, account=account,
                                                             updated_at=NOW)),
]


@pytest.mark.parametrize(("name", "base", "parse"), CASES, ids=[c[0] for c in CASES])
def test_whatever_is_accepted_round_trips_through_the_ledger(
        ledger: Ledger, name: str, base: dict[str, Any],
        parse: Callable[[Any, str], Any]) -> None:
    outcomes = Outcomes(f"ledger round trip: {name}")
    accounts = (f"fz{n}" for n in itertools.count())
    # mostly plausible values: the point is what gets accepted
    payloads = st.one_of(plausible(base, FIELDS), plausible(base, FIELDS),
                         mutated(base, FIELDS))

    @fuzz_settings(LEDGER_EXAMPLES)
    @given(raw=payloads)
    def check(raw: Any) -> None:
        try:
            record = parse(raw, next(accounts))
        except MalformedVenueDataError:
            outcomes.refused()
            return
        outcomes.accepted()
        ledger.apply_changes(record.venue, record.account, changes(record))
        assert read_back(ledger, record) == record

    check()
    outcomes.report()
    assert outcomes.counts["accepted"] > 0, outcomes.counts
