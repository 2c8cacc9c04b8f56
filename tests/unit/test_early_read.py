"""The ledger read taken during the venue fetch stands for one taken after it only when
it holds every record the venue showed (`console.engine.early_read`)."""

from __future__ import annotations

from recon_factories import fill, ledger, order, position

from console.engine.early_read import holds_venue_records


def test_a_ledger_that_knows_every_venue_record_holds() -> None:
    known = order("rc-1", vid="v1")
    unsent_id = order("rc-2")  # matched by client id (the venue id not recorded yet)
    book = ledger(orders=(known, unsent_id), fills=(fill("e1", vid="v1"),),
                  positions=(position("1", symbol="BTCUSDT"),))
    assert holds_venue_records(book, [known, order("rc-2", vid="v2")],
                               [position("2", symbol="BTCUSDT"), position("0", symbol="X")],
                               [fill("e1", vid="v1")])
    assert holds_venue_records(book, None, None, None)  # failed lists: nothing to check


def test_any_record_placed_or_printed_during_the_fetch_makes_it_read_again() -> None:
    book = ledger(orders=(order("rc-1", vid="v1"),), fills=(fill("e1", vid="v1"),),
                  positions=(position("1", symbol="BTCUSDT"),))
    assert not holds_venue_records(book, [order("rc-9", vid="v9")], None, None)
    assert not holds_venue_records(book, [order("", vid="v8")], None, None)
    assert not holds_venue_records(book, None, [position("1", symbol="ETHUSDT")], None)
    assert not holds_venue_records(book, None, None, [fill("e2", vid="v1")])
