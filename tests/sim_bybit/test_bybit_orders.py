"""Order entry against the real pybit client: fields, statuses and Bybit's error codes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from console.domain import Category
from console.sim.server import SimServerHandle

LIN = "linear"


def place(http: HTTP, **kwargs: Any) -> dict[str, Any]:
    order = {"category": LIN, "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
             "qty": "0.01", "price": "59000", **kwargs}
    return http.place_order(**order)["result"]  # type: ignore[no-any-return]


def code_of(call: Any, **kwargs: Any) -> int:
    with pytest.raises(InvalidRequestError) as err:
        call(**kwargs)
    return int(err.value.status_code)


def one_order(http: HTTP, **query: Any) -> dict[str, Any]:
    found = http.get_open_orders(category=LIN, **query)["result"]["list"]
    assert len(found) == 1, found
    return found[0]  # type: ignore[no-any-return]


def test_created_order_reads_back_with_bybit_fields(http: HTTP) -> None:
    ids = place(http, orderLinkId="rc-w1-e-1")
    order = one_order(http, orderLinkId="rc-w1-e-1")
    assert order["orderId"] == ids["orderId"]
    assert (order["orderStatus"], order["side"], order["orderType"], order["timeInForce"]) \
        == ("New", "Buy", "Limit", "GTC")
    assert (order["price"], order["qty"], order["leavesQty"], order["cumExecQty"]) \
        == ("59000", "0.01", "0.01", "0")
    assert order["avgPrice"] == "" and order["positionIdx"] == 0
    assert order["reduceOnly"] is False and order["triggerDirection"] == 0
    assert int(order["createdTime"]) > 0 and order["updatedTime"] == order["createdTime"]


def test_market_order_fills_and_shows_filled(http: HTTP) -> None:
    ids = place(http, orderType="Market", price=None, orderLinkId="mkt-1")
    order = one_order(http, orderId=ids["orderId"])
    assert order["orderStatus"] == "Filled" and order["timeInForce"] == "IOC"
    assert order["cumExecQty"] == "0.01" and Decimal(order["avgPrice"]) > 0
    assert Decimal(order["cumExecFee"]) > 0 and order["leavesQty"] == "0"
    position = http.get_positions(category=LIN, symbol="BTCUSDT")["result"]["list"][0]
    assert (position["side"], position["size"]) == ("Buy", "0.01")


def test_duplicate_order_link_id_is_110072_even_after_cancel(http: HTTP) -> None:
    place(http, orderLinkId="dup-1")
    assert code_of(http.place_order, category=LIN, symbol="BTCUSDT", side="Buy",
                   orderType="Limit", qty="0.01", price="58000", orderLinkId="dup-1") == 110072
    http.cancel_order(category=LIN, symbol="BTCUSDT", orderLinkId="dup-1")
    assert code_of(http.place_order, category=LIN, symbol="BTCUSDT", side="Buy",
                   orderType="Limit", qty="0.01", price="58000", orderLinkId="dup-1") == 110072


@pytest.mark.parametrize("link", ["x" * 37, "has space", "semi;colon", "ünï"])
def test_invalid_order_link_id_is_10001(http: HTTP, link: str) -> None:
    with pytest.raises(InvalidRequestError) as err:
        place(http, orderLinkId=link)
    assert err.value.status_code == 10001
    assert "orderLinkId" in err.value.message


def test_order_link_id_of_36_allowed_chars_is_accepted(http: HTTP) -> None:
    link = "aA0_-" * 7 + "z"
    assert place(http, orderLinkId=link)["orderLinkId"] == link


def test_unknown_order_on_cancel_and_amend_is_110001(http: HTTP) -> None:
    assert code_of(http.cancel_order, category=LIN, symbol="BTCUSDT",
                   orderId="no-such-order") == 110001
    assert code_of(http.amend_order, category=LIN, symbol="BTCUSDT",
                   orderLinkId="nope", price="58000") == 110001


def test_cancelling_a_filled_order_is_too_late_110001(http: HTTP) -> None:
    ids = place(http, orderType="Market", price=None)
    with pytest.raises(InvalidRequestError) as err:
        http.cancel_order(category=LIN, symbol="BTCUSDT", orderId=ids["orderId"])
    assert err.value.status_code == 110001 and "too late" in err.value.message


def test_amend_changes_price_and_qty(http: HTTP) -> None:
    ids = place(http, orderLinkId="am-1")
    http.amend_order(category=LIN, symbol="BTCUSDT", orderLinkId="am-1", price="58500",
                     qty="0.02")
    order = one_order(http, orderId=ids["orderId"])
    assert (order["price"], order["qty"]) == ("58500", "0.02")


def test_amend_to_at_most_the_filled_qty_is_110064(server: SimServerHandle,
                                                    http: HTTP) -> None:
    ids = place(http, symbol="ETHUSDT", qty="8", price="2990")
    server.call(server.exchange.set_price, Category.LINEAR, "ETHUSDT", Decimal("2989.99"))
    assert one_order(http, orderId=ids["orderId"])["orderStatus"] == "PartiallyFilled"
    assert code_of(http.amend_order, category=LIN, symbol="ETHUSDT", orderId=ids["orderId"],
                   qty="5") == 110064


def test_insufficient_balance_is_110007(http: HTTP) -> None:
    assert code_of(http.place_order, category=LIN, symbol="BTCUSDT", side="Buy",
                   orderType="Limit", qty="100", price="59000") == 110007


def test_reduce_only_without_position_is_110017(http: HTTP) -> None:
    assert code_of(http.place_order, category=LIN, symbol="BTCUSDT", side="Sell",
                   orderType="Market", qty="0.01", reduceOnly=True) == 110017


def test_trigger_already_reached_is_110092_or_110093(http: HTTP) -> None:
    assert code_of(http.place_order, category=LIN, symbol="BTCUSDT", side="Buy",
                   orderType="Market", qty="0.01", triggerPrice="59000",
                   triggerDirection=1) == 110092
    assert code_of(http.place_order, category=LIN, symbol="BTCUSDT", side="Sell",
                   orderType="Market", qty="0.01", triggerPrice="61000",
                   triggerDirection=2) == 110093


@pytest.mark.parametrize(("field", "value"), [
    ("category", "futures"), ("symbol", "NOPEUSDT"), ("side", "buy"), ("orderType", "Stop"),
    ("qty", "abc"), ("qty", "0.0001"), ("price", "59000.05"), ("timeInForce", "GTD"),
    ("positionIdx", 1), ("takeProfit", "65000"),
])
def test_bad_parameters_are_10001(http: HTTP, field: str, value: Any) -> None:
    with pytest.raises(InvalidRequestError) as err:
        place(http, **{field: value})
    assert err.value.status_code == 10001


def test_inverse_is_served_and_option_answers_as_an_account_without_options(
        http: HTTP) -> None:
    inverse = http.get_open_orders(category="inverse", symbol="BTCUSD")
    assert inverse["retCode"] == 0 and inverse["result"]["list"] == []
    options = http.get_instruments_info(category="option", baseCoin="BTC")
    assert options["retCode"] == 0 and options["result"]["list"] == []
    assert http.get_open_orders(category="option")["result"]["list"] == []
    assert code_of(http.get_open_orders, category="option", symbol="BTC-1JAN30-1-C") == 10001


def test_linear_listing_needs_symbol_base_or_settle_coin(http: HTTP) -> None:
    assert code_of(http.get_open_orders, category=LIN) == 10001
    assert code_of(http.get_positions, category=LIN) == 10001
    assert http.get_open_orders(category=LIN, baseCoin="BTC")["retCode"] == 0


def test_realtime_by_id_returns_a_closed_order_open_only_does_not(http: HTTP) -> None:
    ids = place(http, orderLinkId="gone-1")
    http.cancel_order(category=LIN, symbol="BTCUSDT", orderId=ids["orderId"])
    assert one_order(http, orderLinkId="gone-1")["orderStatus"] == "Cancelled"
    assert http.get_open_orders(category=LIN, settleCoin="USDT", openOnly=0)["result"][
        "list"] == []
    closed = http.get_open_orders(category=LIN, settleCoin="USDT", openOnly=1)["result"]["list"]
    assert [o["orderLinkId"] for o in closed] == ["gone-1"]
    assert closed[0]["cancelType"] == "CancelByUser"


def test_cancelled_untriggered_conditional_is_deactivated(http: HTTP) -> None:
    ids = place(http, orderType="Market", price=None, triggerPrice="62000",
                triggerDirection=1, orderLinkId="cond-1")
    order = one_order(http, orderId=ids["orderId"])
    assert (order["orderStatus"], order["stopOrderType"], order["triggerDirection"]) \
        == ("Untriggered", "Stop", 1)
    assert order["triggerPrice"] == "62000"
    http.cancel_order(category=LIN, symbol="BTCUSDT", orderId=ids["orderId"])
    assert one_order(http, orderId=ids["orderId"])["orderStatus"] == "Deactivated"


def test_triggered_conditional_fills(server: SimServerHandle, http: HTTP) -> None:
    ids = place(http, orderType="Market", price=None, triggerPrice="60500",
                triggerDirection=1)
    server.call(server.exchange.set_price, Category.LINEAR, "BTCUSDT", Decimal(60600))
    assert one_order(http, orderId=ids["orderId"])["orderStatus"] == "Filled"


def test_cancel_all_by_settle_coin_lists_what_it_cancelled(http: HTTP) -> None:
    a = place(http, orderLinkId="ca-1")
    b = place(http, symbol="ETHUSDT", qty="0.1", price="2900", orderLinkId="ca-2")
    result = http.cancel_all_orders(category=LIN, settleCoin="USDT")["result"]
    assert result["success"] == "1"
    assert sorted(x["orderId"] for x in result["list"]) == sorted([a["orderId"], b["orderId"]])
    assert code_of(http.cancel_all_orders, category=LIN) == 10001


def test_cancel_all_stop_orders_only(http: HTTP) -> None:
    place(http, orderLinkId="keep-1")
    cond = place(http, orderType="Market", price=None, triggerPrice="62000",
                 triggerDirection=1)
    result = http.cancel_all_orders(category=LIN, symbol="BTCUSDT",
                                    orderFilter="StopOrder")["result"]
    assert [x["orderId"] for x in result["list"]] == [cond["orderId"]]
    assert one_order(http, orderLinkId="keep-1")["orderStatus"] == "New"


def test_batch_create_reports_per_item_errors(http: HTTP) -> None:
    place(http, orderLinkId="taken")
    answer = http.place_batch_order(category=LIN, request=[
        {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
         "price": "58000", "orderLinkId": "b-1"},
        {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
         "price": "58000", "orderLinkId": "taken"},
        {"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "-1",
         "price": "58000", "orderLinkId": "b-3"},
    ])
    assert answer["retCode"] == 0
    items, codes = answer["result"]["list"], answer["retExtInfo"]["list"]
    assert [c["code"] for c in codes] == [0, 110072, 10001]
    assert items[0]["orderId"] and items[0]["orderLinkId"] == "b-1" and items[0]["createAt"]
    assert items[1]["orderId"] == "" and items[1]["orderLinkId"] == "taken"
    assert codes[0]["msg"] == "OK"


def test_batch_amend_and_cancel(http: HTTP) -> None:
    a = place(http, orderLinkId="ba-1")
    amended = http.amend_batch_order(category=LIN, request=[
        {"symbol": "BTCUSDT", "orderLinkId": "ba-1", "price": "58800"},
        {"symbol": "BTCUSDT", "orderId": "missing", "price": "58800"},
    ])
    assert [c["code"] for c in amended["retExtInfo"]["list"]] == [0, 110001]
    cancelled = http.cancel_batch_order(category=LIN, request=[
        {"symbol": "BTCUSDT", "orderId": a["orderId"]},
        {"symbol": "BTCUSDT", "orderLinkId": "never"},
    ])
    assert [c["code"] for c in cancelled["retExtInfo"]["list"]] == [0, 110001]
    assert cancelled["result"]["list"][0]["orderId"] == a["orderId"]


def test_batch_is_limited_to_20_linear_orders(http: HTTP) -> None:
    """docs/v5/order/batch-place: "A maximum of ... 20 orders (linear), 10 orders (spot)
    can be placed per request"."""
    request = [{"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
                "price": str(50000 + i)} for i in range(21)]
    assert code_of(http.place_batch_order, category=LIN, request=request) == 10001


def test_batch_is_limited_to_10_spot_orders(http: HTTP) -> None:
    spot = [{"symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.001",
             "price": str(50000 + i)} for i in range(11)]
    assert code_of(http.place_batch_order, category="spot", request=spot) == 10001



def test_qty_zero_reduce_only_closes_the_whole_position(http: HTTP) -> None:
    place(http, orderType="Market", price=None, qty="0.02")
    http.place_order(category=LIN, symbol="BTCUSDT", side="Sell", orderType="Market",
                     qty="0", reduceOnly=True, closeOnTrigger=True)
    position = http.get_positions(category=LIN, symbol="BTCUSDT")["result"]["list"][0]
    assert position["side"] == "" and Decimal(position["size"]) == 0


def test_wallet_splits_locks_as_bybit(server: SimServerHandle, http: HTTP) -> None:
    place(http, qty="0.01", price="59000")  # linear: 59 USDT of order margin at 10x
    http.place_order(category="spot", symbol="BTCUSDT", side="Buy", orderType="Limit",
                     qty="0.001", price="50000")  # spot: 50 USDT held
    place(http, orderType="Market", price=None, qty="0.01")  # a position
    usdt = http.get_wallet_balance(accountType="UNIFIED", coin="USDT")["result"]["list"][0][
        "coin"][0]
    held = server.call(server.exchange.balance, server.account, "USDT")
    assert Decimal(usdt["locked"]) == Decimal(50)
    assert Decimal(usdt["totalOrderIM"]) == Decimal(59)
    assert Decimal(usdt["locked"]) + Decimal(usdt["totalOrderIM"]) \
        + Decimal(usdt["totalPositionIM"]) == held.locked
    assert Decimal(usdt["walletBalance"]) == held.total
    assert Decimal(usdt["availableToWithdraw"]) == held.free
