"""The reading methods over HTTP: user trades (count, has_more, sorting, seq bounds,
the 24 h window without historical=true), order history, positions and account
summaries with inverse arithmetic, instruments and currencies."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from deribit_helpers import BTC, Sim

DAY_MS = 86_400_000
POSITION_FIELDS = {"instrument_name", "kind", "direction", "size", "size_currency",
                   "average_price", "mark_price", "floating_profit_loss",
                   "realized_profit_loss", "total_profit_loss", "initial_margin",
                   "maintenance_margin", "leverage"}
SUMMARY_FIELDS = {"currency", "balance", "equity", "available_funds", "margin_balance",
                  "initial_margin", "maintenance_margin", "session_upl", "session_rpl",
                  "total_pl"}


@pytest.fixture()
def sim() -> Iterator[Sim]:
    handle = Sim()
    try:
        yield handle
    finally:
        handle.stop()


def _buy(sim: Sim, amount: int = 10) -> None:
    sim.result("private/buy", {"instrument_name": BTC, "amount": amount, "type": "market"})


def test_user_trades_count_has_more_sorting_and_seq(sim: Sim) -> None:
    for _ in range(3):
        _buy(sim)
    page = sim.result("private/get_user_trades_by_instrument",
                      {"instrument_name": BTC, "count": 2})
    assert len(page["trades"]) == 2 and page["has_more"] is True
    seqs = [t["trade_seq"] for t in page["trades"]]
    assert seqs == sorted(seqs, reverse=True)
    asc = sim.result("private/get_user_trades_by_instrument",
                     {"instrument_name": BTC, "sorting": "asc", "count": 10})
    assert [t["trade_seq"] for t in asc["trades"]] == [1, 2, 3] and not asc["has_more"]
    bounded = sim.result("private/get_user_trades_by_instrument",
                         {"instrument_name": BTC, "start_seq": 2, "end_seq": 2})
    assert [t["trade_seq"] for t in bounded["trades"]] == [2]
    by_currency = sim.result("private/get_user_trades_by_currency", {"currency": "BTC"})
    assert len(by_currency["trades"]) == 3
    assert sim.error("private/get_user_trades_by_currency",
                     {"currency": "BTC", "count": 1001})["code"] == -32602


def test_trades_older_than_a_day_need_historical(sim: Sim) -> None:
    _buy(sim)
    sim.clock.offset += DAY_MS + 60_000
    recent = sim.result("private/get_user_trades_by_currency", {"currency": "BTC"})
    assert recent["trades"] == [] and recent["has_more"] is False
    old = sim.result("private/get_user_trades_by_currency", {"currency": "BTC",
                                                             "historical": True})
    assert len(old["trades"]) == 1


def test_and_time_variants_need_both_timestamps(sim: Sim) -> None:
    _buy(sim)
    now = sim.clock()
    error = sim.error("private/get_user_trades_by_instrument_and_time",
                      {"instrument_name": BTC, "start_timestamp": now - 10_000})
    assert error["data"]["param"] == "end_timestamp"
    found = sim.result("private/get_user_trades_by_currency_and_time",
                       {"currency": "BTC", "start_timestamp": now - 10_000,
                        "end_timestamp": now + 1000})
    assert len(found["trades"]) == 1
    none = sim.result("private/get_user_trades_by_instrument_and_time",
                      {"instrument_name": BTC, "start_timestamp": now + 5000,
                       "end_timestamp": now + 9000})
    assert none["trades"] == []


def test_order_history_window(sim: Sim) -> None:
    _buy(sim)
    sim.result("private/buy", {"instrument_name": BTC, "amount": 10, "price": 40000})
    history = sim.result("private/get_order_history_by_currency", {"currency": "BTC"})
    assert [o["order_state"] for o in history] == ["filled"]
    sim.clock.offset += 31 * 60_000
    assert sim.result("private/get_order_history_by_instrument",
                      {"instrument_name": BTC}) == []
    assert len(sim.result("private/get_order_history_by_instrument",
                          {"instrument_name": BTC, "historical": True})) == 1


def test_positions_are_inverse(sim: Sim) -> None:
    _buy(sim, 1000)
    sim.set_price("66000")
    positions = sim.result("private/get_positions", {"currency": "BTC", "kind": "future"})
    assert len(positions) == 1
    position = positions[0]
    assert set(position) >= POSITION_FIELDS
    assert position["size"] == 1000 and position["direction"] == "buy"
    entry = Decimal(str(position["average_price"]))
    expected = Decimal(1000) * (1 / entry - 1 / Decimal(66000))
    assert abs(Decimal(str(position["floating_profit_loss"])) - expected) < Decimal("1e-8")
    assert abs(Decimal(str(position["size_currency"])) - Decimal(1000) / 66000) < \
        Decimal("1e-8")
    single = sim.result("private/get_position", {"instrument_name": BTC})
    assert single["size"] == 1000
    flat = sim.result("private/get_position", {"instrument_name": "ETH-PERPETUAL"})
    assert flat["size"] == 0 and flat["direction"] == "zero"


def test_account_summary_in_the_coin(sim: Sim) -> None:
    before = sim.result("private/get_account_summary", {"currency": "BTC"})
    assert set(before) >= SUMMARY_FIELDS and before["balance"] == 10
    _buy(sim, 1000)
    after = sim.result("private/get_account_summary", {"currency": "BTC"})
    assert after["balance"] < 10  # the taker fee, paid in BTC
    assert after["initial_margin"] > 0
    assert after["equity"] == pytest.approx(after["balance"] + after["session_upl"])
    every = sim.result("private/get_account_summaries")
    assert {s["currency"] for s in every["summaries"]} == {"BTC", "ETH"}
    assert sim.error("private/get_account_summary", {"currency": "XRP"})["code"] == -32602


def test_public_instruments_currencies_and_time(sim: Sim) -> None:
    instruments = sim.get("public/get_instruments", {"currency": "BTC",
                                                     "kind": "future"}).json()["result"]
    assert [i["instrument_name"] for i in instruments] == [BTC]
    btc = instruments[0]
    assert btc["contract_size"] == 10 and btc["min_trade_amount"] == 10
    assert btc["tick_size"] == 0.5 and btc["settlement_period"] == "perpetual"
    assert btc["settlement_currency"] == "BTC" and btc["counter_currency"] == "USD"
    every = sim.get("public/get_instruments").json()["result"]
    assert {i["instrument_name"] for i in every} == {BTC, "ETH-PERPETUAL"}
    assert sim.get("public/get_instruments", {"currency": "BTC",
                                              "kind": "option"}).json()["result"] == []
    currencies = sim.get("public/get_currencies").json()["result"]
    assert {c["currency"] for c in currencies} == {"BTC", "ETH"}
    now = sim.get("public/get_time").json()["result"]
    assert abs(now - sim.clock()) < 5000
