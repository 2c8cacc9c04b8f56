"""The trading methods over HTTP against Deribit's field lists: buy/sell (limit, market,
trigger, post-only), edit, cancel, the cancel-all family, labels, the open-orders
``type`` filter, and inverse money (USD amounts, BTC fees)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import pytest
from deribit_helpers import BTC, Sim

ORDER_FIELDS = {"order_id", "order_state", "order_type", "instrument_name", "direction",
                "amount", "contracts", "filled_amount", "price", "average_price", "label",
                "time_in_force", "post_only", "reject_post_only", "reduce_only",
                "creation_timestamp", "last_update_timestamp", "api", "web",
                "is_liquidation", "replaced"}
TRADE_FIELDS = {"trade_id", "trade_seq", "order_id", "label", "amount", "price", "fee",
                "fee_currency", "timestamp", "direction", "liquidity", "index_price",
                "mark_price", "state", "instrument_name", "order_type", "contracts"}


@pytest.fixture()
def sim() -> Iterator[Sim]:
    handle = Sim()
    try:
        yield handle
    finally:
        handle.stop()


def test_limit_buy_rests_with_deribits_order_shape(sim: Sim) -> None:
    result = sim.result("private/buy", {"instrument_name": BTC, "amount": 100,
                                        "type": "limit", "price": "59000.5",
                                        "label": "strategy_1_entry~rc-1"})
    order = result["order"]
    assert set(order) >= ORDER_FIELDS
    assert order["order_state"] == "open" and order["direction"] == "buy"
    assert order["amount"] == 100 and order["contracts"] == 10
    assert order["price"] == 59000.5 and order["average_price"] == 0
    assert order["label"] == "strategy_1_entry~rc-1"
    assert order["time_in_force"] == "good_til_cancelled" and order["api"] is True
    assert isinstance(order["order_id"], str) and result["trades"] == []


def test_numbers_are_json_numbers_without_exponents(sim: Sim) -> None:
    answer = sim.private("private/buy", {"instrument_name": BTC, "amount": 100,
                                         "type": "market"})
    text = answer.text
    assert '"amount":100' in text and not re.search(r"\d[eE][-+]?\d", text)
    trade = answer.json()["result"]["trades"][0]
    assert all(isinstance(trade[k], int | float) for k in ("fee", "price", "amount",
                                                           "index_price"))
    assert answer.json()["result"]["order"]["price"] == "market_price"


def test_market_buy_fills_in_usd_and_pays_fee_in_btc(sim: Sim) -> None:
    result = sim.result("private/buy", {"instrument_name": BTC, "contracts": 10,
                                        "type": "market", "label": "m1"})
    order, trades = result["order"], result["trades"]
    assert order["order_state"] == "filled" and order["price"] == "market_price"
    assert order["filled_amount"] == 100 and order["order_type"] == "market"
    assert trades and set(trades[0]) >= TRADE_FIELDS
    trade = trades[0]
    assert trade["liquidity"] == "T" and trade["fee_currency"] == "BTC"
    assert trade["trade_seq"] == 1 and trade["label"] == "m1"
    price = Decimal(str(trade["price"]))
    expected = Decimal(100) / price * sim.exchange.taker_fee
    assert abs(Decimal(str(trade["fee"])) - expected) < Decimal("0.00000001")


def test_edit_keeps_the_label_and_refuses_to_change_it(sim: Sim) -> None:
    order = sim.result("private/buy", {"instrument_name": BTC, "amount": 50,
                                       "price": 50000, "label": "keep"})["order"]
    edited = sim.result("private/edit", {"order_id": order["order_id"], "amount": 80,
                                         "price": 50500})["order"]
    assert edited["label"] == "keep" and edited["amount"] == 80
    assert edited["price"] == 50500 and edited["replaced"] is True
    error = sim.error("private/edit", {"order_id": order["order_id"], "amount": 80,
                                       "label": "other"})
    assert error["code"] == -32602 and error["data"]["param"] == "label"


def test_cancel_and_cancel_all_family(sim: Sim) -> None:
    ids = [sim.result("private/buy", {"instrument_name": BTC, "amount": 10,
                                      "price": 50000 + i, "label": "grp"})["order"]["order_id"]
           for i in range(3)]
    cancelled = sim.result("private/cancel", {"order_id": ids[0]})
    assert cancelled["order_state"] == "cancelled"
    assert cancelled["cancel_reason"] == "user_request"
    assert sim.error("private/cancel", {"order_id": ids[0]})["code"] == 11044
    assert sim.error("private/cancel", {"order_id": "nope"})["code"] == 10004
    assert sim.result("private/cancel_by_label", {"label": "grp"}) == 2
    for i in range(2):
        sim.result("private/sell", {"instrument_name": BTC, "amount": 10,
                                    "price": 70000 + i})
    assert sim.result("private/cancel_all_by_instrument", {"instrument_name": BTC}) == 2
    sim.result("private/sell", {"instrument_name": "ETH-PERPETUAL", "amount": 5,
                                "price": 4000})
    assert sim.result("private/cancel_all_by_currency", {"currency": "BTC"}) == 0
    assert sim.result("private/cancel_all") == 1


def test_labels_are_not_unique_lookups_return_arrays(sim: Sim) -> None:
    for price in (50000, 50001):
        sim.result("private/buy", {"instrument_name": BTC, "amount": 10, "price": price,
                                   "label": "dup"})
    states = sim.result("private/get_order_state_by_label", {"currency": "BTC",
                                                             "label": "dup"})
    assert len(states) == 2 and {s["label"] for s in states} == {"dup"}
    open_ = sim.result("private/get_open_orders_by_label", {"currency": "BTC",
                                                            "label": "dup"})
    assert len(open_) == 2
    assert sim.error("private/buy", {"instrument_name": BTC, "amount": 10,
                                     "price": 50000, "label": "x" * 65})["code"] == -32602


def test_trigger_orders_are_listed_only_when_asked(sim: Sim) -> None:
    stop = sim.result("private/sell", {"instrument_name": BTC, "amount": 10,
                                       "type": "stop_market", "trigger": "mark_price",
                                       "trigger_price": 55000})["order"]
    assert stop["order_state"] == "untriggered" and stop["order_type"] == "stop_market"
    assert stop["trigger"] == "mark_price" and stop["trigger_price"] == 55000
    assert stop["triggered"] is False and stop["price"] == "market_price"
    sim.result("private/buy", {"instrument_name": BTC, "amount": 10, "price": 50000})
    plain = sim.result("private/get_open_orders_by_currency", {"currency": "BTC"})
    assert [o["order_type"] for o in plain] == ["limit"]
    triggers = sim.result("private/get_open_orders_by_instrument",
                          {"instrument_name": BTC, "type": "trigger_all"})
    assert [o["order_id"] for o in triggers] == [stop["order_id"]]
    assert len(sim.result("private/get_open_orders", {"type": "all"})) == 2
    assert sim.result("private/get_open_orders_by_currency",
                      {"currency": "BTC", "type": "take_all"}) == []
    missing = sim.error("private/sell", {"instrument_name": BTC, "amount": 10,
                                         "type": "stop_market", "trigger_price": 55000})
    assert missing["code"] == -32602 and missing["data"]["param"] == "trigger"


def test_post_only_reprices_or_rejects(sim: Sim) -> None:
    mark = sim.exchange.mark_price(*sim.exchange.instrument(
        *next(i.key for i in sim.exchange.instruments() if i.symbol == BTC)).key)
    assert mark is not None
    crossing = mark + 1000
    error = sim.error("private/buy", {"instrument_name": BTC, "amount": 10,
                                      "price": crossing, "post_only": True,
                                      "reject_post_only": True})
    assert error["code"] == 11054
    moved = sim.result("private/buy", {"instrument_name": BTC, "amount": 10,
                                       "price": crossing, "post_only": True})["order"]
    assert moved["order_state"] == "open" and moved["post_only"] is True
    assert Decimal(str(moved["price"])) < crossing


def test_unsupported_and_bad_params(sim: Sim) -> None:
    linked = sim.error("private/buy", {"instrument_name": BTC, "amount": 10,
                                       "price": 50000,
                                       "linked_order_type": "one_triggers_other"})
    assert linked["code"] == 11047
    assert sim.error("private/buy", {"instrument_name": "NOPE-PERPETUAL",
                                     "amount": 10, "type": "market"})["code"] == -32602
    assert sim.error("private/buy", {"instrument_name": BTC, "amount": 15,
                                     "type": "market"})["code"] == 10021
    assert sim.error("private/buy", {"instrument_name": BTC, "amount": 10_000_000,
                                     "type": "market"})["code"] == 10009
    assert sim.error("private/buy", {"instrument_name": BTC, "amount": 10})["code"] \
        == -32602
