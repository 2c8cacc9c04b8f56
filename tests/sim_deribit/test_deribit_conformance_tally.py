"""The tally of the Deribit conformance suite: every field of every docs table was
checked.

`deribit_docs.check` records each (table, field) it evaluates; the other
test_deribit_conformance_* modules run first (pytest runs a directory's modules in name order,
and "tally" sorts after "ccxt", "http" and "stream"). A table no test reaches, or a
nested table behind an empty list, shows here by name, so a table cannot silently go
unchecked. Run alone, the first test fails: it belongs to the whole suite
(`-k conformance`).
"""

from __future__ import annotations

from deribit_docs import TABLES, TALLY, check, field_count


def test_every_documented_field_was_checked() -> None:
    missing = TALLY.missing()
    assert not missing, (f"{len(missing)} documented fields were never checked (run the "
                         f"whole conformance suite): {missing}")
    assert TALLY.count >= field_count() > 0
    assert {table for table, _ in TALLY.pairs} == set(TABLES)


def test_the_checker_catches_each_kind_of_deviation() -> None:
    """A missing field, a number sent as a string, an undocumented field and a bad
    nested element are each reported, by path; an integer is a number."""
    good = {"scope": "connection", "enabled": True}
    assert check("private/get_cancel_on_disconnect", good) == []
    bad = {"scope": "connection", "enabled": "true", "extra": 1}
    found = {(d.path, d.expected) for d in check("private/get_cancel_on_disconnect", bad)}
    assert found == {("private/get_cancel_on_disconnect.enabled", "boolean"),
                     ("private/get_cancel_on_disconnect.extra", "no undocumented field")}
    page = {"has_more": False, "trades": [{"trade_id": "1", "price": "100"}]}
    paths = {d.path for d in check("trades page", page)}
    assert "trades page.trades[0].price" in paths  # a price is a JSON number
    assert "trades page.trades[0].trade_seq" in paths  # required, absent
    summary = {"currency": "BTC", "balance": 1, "equity": 1.5}
    assert "private/get_account_summary.balance" not in {
        d.path for d in check("private/get_account_summary", summary)}
