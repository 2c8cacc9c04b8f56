"""The tally of the conformance suite: every field of every docs table was checked.

`binance_docs.check` records each (table, field) it evaluates; the other
test_conformance_* modules run first (pytest runs a directory's modules in name order,
and "tally" sorts after "ccxt", "pybinance", "stream" and "support"). A table no test
reaches, or a nested table behind an empty list, shows here by name, so a table cannot
silently go unchecked. Run alone, this test fails: it belongs to the whole suite
(`-k conformance`).
"""

from __future__ import annotations

from binance_docs import TABLES, TALLY, check, field_count


def test_every_documented_field_was_checked() -> None:
    missing = TALLY.missing()
    assert not missing, (f"{len(missing)} documented fields were never checked (run the "
                         f"whole conformance suite): {missing}")
    assert TALLY.count >= field_count() > 0
    assert {table for table, _ in TALLY.pairs} == set(TABLES)


def test_the_checker_catches_each_kind_of_deviation() -> None:
    """The checker itself: a missing field, a decimal sent as a number or in exponent
    notation, an id sent as a string, an undocumented field, and a bad nested element
    are each reported, by path."""
    good = {"asset": "USDT", "free": "1.5", "locked": "0"}
    assert check("spot balance", good) == []
    tiny = {"asset": "USDT", "free": "1E-8", "locked": "0"}
    assert [(d.path, d.expected) for d in check("spot balance", tiny)] == [
        ("spot balance.free", "a plain decimal string")]
    bad = {"asset": "USDT", "free": 1.5, "extra": True}
    found = {(d.path, d.expected) for d in check("spot balance", bad)}
    assert found == {("spot balance.free", "string"), ("spot balance.locked", "present"),
                     ("spot balance.extra", "no undocumented field")}
    trade = {"symbol": "BTCUSDT", "id": "7", "orderId": 1, "orderListId": -1, "price": "1",
             "qty": "1", "quoteQty": "1", "commission": "0", "commissionAsset": "USDT",
             "time": 1, "isBuyer": True, "isMaker": False, "isBestMatch": True}
    assert [d.path for d in check("spot GET /api/v3/myTrades[]", trade)] == [
        "spot GET /api/v3/myTrades[].id"]
    account = {"assets": [{"asset": 1}]}
    paths = {d.path for d in check("usdm GET /fapi/v3/account", account)}
    assert "usdm GET /fapi/v3/account.assets[0].asset" in paths
    assert "usdm GET /fapi/v3/account.totalWalletBalance" in paths
