"""Bybit v5 JSON → domain objects (strict) and domain orders → request parameters.

Payload shapes follow Bybit's v5 docs (order/realtime, execution/list, position/list,
account/wallet-balance and the private topics); numbers are strings as Bybit sends them.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from bybit_payloads import coin_json, execution_json, order_json, position_json

from console.domain import (
    Category,
    ExecType,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TriggerDirection,
)
from console.domain.events import BalanceEvent, FillEvent, OrderEvent, PositionEvent
from console.errors import FatalVenueError, MalformedVenueDataError
from console.venues.bybit import parsing
from console.venues.bybit.parsing import (
    CATEGORY,
    CATEGORY_NAME,
    ORDER_STATUS,
    ORDER_TYPE,
    ORDER_TYPE_NAME,
    SIDE,
    SIDE_NAME,
    TIME_IN_FORCE,
    TIME_IN_FORCE_NAME,
    amend_params,
    create_params,
    dec_str,
    parse_coin,
    parse_fill,
    parse_order,
    parse_page,
    parse_position,
    parse_result,
    parse_stream_message,
    parse_wallet,
    ref_params,
)

L = Category.LINEAR


# -- orders ------------------------------------------------------------------------------


def test_a_docs_order_parses_to_a_domain_order() -> None:
    order = parse_order(order_json(), account="main", category=L)
    assert order == Order(
        venue="bybit", account="main", category=L, symbol="ETHUSDT", side=Side.BUY,
        type=OrderType.LIMIT, qty=D("0.10"), status=OrderStatus.NEW,
        client_order_id="rc-w1-e-lq2x8k0a-1f",
        venue_order_id="fd4300ae-7847-404e-b947-b46980a4d140", price=D("1600.00"),
        time_in_force=TimeInForce.GTC, filled_qty=D("0.00"), avg_price=None,
        role=OrderRole.ENTRY, created_at=1684738540559, updated_at=1684738540561)
    assert isinstance(order.qty, D) and order.trigger_price is None


@pytest.mark.parametrize(("bybit", "ours"), sorted(ORDER_STATUS.items()))
def test_every_order_status_maps(bybit: str, ours: OrderStatus) -> None:
    assert parse_order(order_json(orderStatus=bybit), account="a", category=L).status is ours


def test_the_status_table_is_the_documented_one() -> None:
    assert ORDER_STATUS == {
        "Created": OrderStatus.PENDING_NEW, "New": OrderStatus.NEW,
        "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
        "Untriggered": OrderStatus.UNTRIGGERED, "Triggered": OrderStatus.NEW,
        "Filled": OrderStatus.FILLED, "Cancelled": OrderStatus.CANCELLED,
        "PartiallyFilledCanceled": OrderStatus.CANCELLED,
        "Deactivated": OrderStatus.CANCELLED, "Rejected": OrderStatus.REJECTED}


def test_partially_filled_canceled_keeps_the_filled_quantity() -> None:
    order = parse_order(order_json(orderStatus="PartiallyFilledCanceled", cumExecQty="0.04",
                                   avgPrice="1599.5"), account="a", category=Category.SPOT)
    assert order.status is OrderStatus.CANCELLED
    assert order.filled_qty == D("0.04") and order.avg_price == D("1599.5")
    assert order.remaining_qty == D("0.06")


def test_a_market_orders_price_is_none_whatever_bybit_writes() -> None:
    for price in ("0", "", "1650.3"):  # "0", or the slippage guard of a linear market order
        order = parse_order(order_json(orderType="Market", price=price, timeInForce="IOC"),
                            account="a", category=L)
        assert order.type is OrderType.MARKET and order.price is None


def test_a_conditional_order_keeps_its_trigger_and_direction() -> None:
    order = parse_order(order_json(orderStatus="Untriggered", triggerPrice="1500",
                                   triggerDirection=2, orderType="Market", reduceOnly=True,
                                   orderLinkId="rc-w1-s-lq2x8k0a-20"),
                        account="a", category=L)
    assert order.status is OrderStatus.UNTRIGGERED
    assert order.trigger_price == D(1500)
    assert order.trigger_direction is TriggerDirection.FALL
    assert order.reduce_only and order.role is OrderRole.STOP_LOSS


def test_role_comes_from_our_client_id_and_foreign_ids_stay_other() -> None:
    assert parse_order(order_json(orderLinkId="rc-w1-t-abc-1"), account="a",
                       category=L).role is OrderRole.TAKE_PROFIT
    for link in ("", "my-hand-order", "other_bot_123"):
        order = parse_order(order_json(orderLinkId=link), account="a", category=L)
        assert order.role is OrderRole.OTHER and order.client_order_id == link


def test_the_category_of_a_stream_order_is_its_own() -> None:
    order = parse_order(order_json(category="spot"), account="a")
    assert order.category is Category.SPOT


@pytest.mark.parametrize(("field", "value", "message"), [
    ("orderStatus", "Exploded", "orderStatus: unknown value 'Exploded'"),
    ("orderStatus", "Active", "orderStatus: unknown value 'Active'"),
    ("side", "Long", "side: unknown value 'Long'"),
    ("orderType", "StopLimit", "orderType: unknown value 'StopLimit'"),
    ("timeInForce", "RPI", "timeInForce: unknown value 'RPI'"),
    ("category", "futures", "category: unknown value 'futures'"),
    ("qty", "-1", "qty: '-1' must be greater than zero"),
    ("qty", "0", "qty: '0' must be greater than zero"),
    ("qty", "abc", "qty: 'abc' is not a number"),
    ("qty", 0.1, "qty: 0.1 is not an exact decimal"),
    ("price", "NaN", "price: 'NaN' is not a finite number"),
    ("cumExecQty", "-0.01", "cumExecQty: '-0.01' is negative"),
    ("cumExecQty", "0.2", "filled_qty 0.2 exceeds qty 0.10"),
    ("createdTime", "yesterday", "createdTime: 'yesterday' is not an epoch-millisecond"),
    ("reduceOnly", "false", "reduceOnly: 'false' is not true or false"),
    ("triggerDirection", 7, "triggerDirection: unknown value 7"),
])
def test_strict_refusals_name_the_field_and_value(field: str, value: object,
                                                  message: str) -> None:
    raw = order_json(**{field: value})
    if field == "triggerDirection":
        raw["triggerPrice"] = "1500"
    with pytest.raises(MalformedVenueDataError, match="bybit") as caught:
        parse_order(raw, account="a", category=L)
    assert message in str(caught.value)
    assert "fd4300ae" in str(caught.value)  # which order


@pytest.mark.parametrize("field", ["orderId", "orderStatus", "qty", "side", "cumExecQty",
                                   "createdTime", "reduceOnly", "symbol", "orderLinkId"])
def test_a_missing_field_is_refused_by_name(field: str) -> None:
    raw = order_json()
    del raw[field]
    with pytest.raises(MalformedVenueDataError, match=f"{field}: missing"):
        parse_order(raw, account="a", category=L)


def test_an_order_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(MalformedVenueDataError, match="expected an object, got list"):
        parse_order([1, 2], account="a", category=L)


def test_without_any_category_an_order_is_refused() -> None:
    with pytest.raises(MalformedVenueDataError, match="category: missing"):
        parse_order(order_json(), account="a")


# -- fills -------------------------------------------------------------------------------


def test_a_docs_execution_parses_to_a_fill() -> None:
    fill = parse_fill(execution_json(), account="a", category=L)
    assert fill.exec_id == "e0cbe81d-0f18-5866-9415-cf319b5dab3b"
    assert (fill.price, fill.qty, fill.fee) == (D("1190.15"), D("0.10"), D("0.071409"))
    assert fill.fee_asset == "USDT" and not fill.is_maker
    assert fill.exec_time == 1684738540559 and fill.exec_type is ExecType.TRADE
    assert fill.client_order_id == "rc-w1-e-lq2x8k0a-1f" and fill.side is Side.BUY


@pytest.mark.parametrize(("bybit", "ours"), [
    ("Trade", ExecType.TRADE), ("BlockTrade", ExecType.TRADE), ("AdlTrade", ExecType.ADL),
    ("Funding", ExecType.FUNDING), ("BustTrade", ExecType.LIQUIDATION),
    ("Delivery", ExecType.DELIVERY), ("Settle", ExecType.DELIVERY)])
def test_exec_types_map(bybit: str, ours: ExecType) -> None:
    assert parse_fill(execution_json(execType=bybit), account="a",
                      category=L).exec_type is ours


def test_a_maker_rebate_is_a_negative_fee_and_funding_may_have_no_order() -> None:
    fill = parse_fill(execution_json(execFee="-0.0119", isMaker=True), account="a",
                      category=L)
    assert fill.fee == D("-0.0119") and fill.is_maker
    funding = parse_fill(execution_json(execType="Funding", orderId="", orderLinkId="",
                                        execPrice="1183.54", execQty="0.10"),
                         account="a", category=L)
    assert funding.venue_order_id == "" and funding.exec_type is ExecType.FUNDING


@pytest.mark.parametrize(("field", "value", "message"), [
    ("execType", "MovePosition", "execType: unknown value 'MovePosition'"),
    ("execQty", "0", "execQty: '0' must be greater than zero"),
    ("execPrice", "-1", "execPrice: '-1' is negative"),
    ("isMaker", 1, "isMaker: 1 is not true or false"),
    ("execTime", "", "execTime: '' is not an epoch-millisecond"),
    ("execId", "", "execId: missing"),
])
def test_fill_refusals(field: str, value: object, message: str) -> None:
    with pytest.raises(MalformedVenueDataError) as caught:
        parse_fill(execution_json(**{field: value}), account="a", category=L)
    assert message in str(caught.value)


# -- positions ---------------------------------------------------------------------------


def test_a_short_position_comes_back_with_a_negative_size() -> None:
    pos = parse_position(position_json(), account="a", category=Category.INVERSE)
    assert pos.size == D(-300) and pos.side is Side.SELL
    assert pos.entry_price == D("27464.50441675") and pos.mark_price == D("28224.50")
    assert pos.unrealised_pnl == D("-0.00029413") and pos.updated_at == 1697673600012


def test_a_long_position_and_the_stream_shape_with_entry_price() -> None:
    raw = position_json(side="Buy", size="0.5", category="linear", symbol="BTCUSDT")
    del raw["avgPrice"]
    raw["entryPrice"] = "30000"
    pos = parse_position(raw, account="a")
    assert (pos.size, pos.entry_price, pos.category) == (D("0.5"), D(30000), L)


@pytest.mark.parametrize("side", ["", "None"])
def test_a_flat_position_has_no_side_and_size_zero(side: str) -> None:
    pos = parse_position(position_json(side=side, size="0", avgPrice="0", unrealisedPnl="",
                                       updatedTime=""), account="a", category=L)
    assert pos.is_flat and pos.unrealised_pnl is None and pos.updated_at == 0


def test_position_refusals() -> None:
    with pytest.raises(MalformedVenueDataError, match="side: '' with a size of 5"):
        parse_position(position_json(side="", size="5"), account="a", category=L)
    with pytest.raises(MalformedVenueDataError, match="size: '-5' is negative"):
        parse_position(position_json(size="-5"), account="a", category=L)
    with pytest.raises(MalformedVenueDataError, match="side: unknown value 'Long'"):
        parse_position(position_json(side="Long"), account="a", category=L)
    with pytest.raises(MalformedVenueDataError, match=r"positionIdx: unknown value 3"):
        parse_position(position_json(positionIdx=3), account="a", category=L)


# -- balances ----------------------------------------------------------------------------


def test_a_unified_coin_holds_spot_locks_and_derivative_margin() -> None:
    balance = parse_coin(coin_json(), account="a", updated_at=5)
    assert balance.total == D("708.9")
    assert balance.locked == D(35)  # locked 5 + totalOrderIM 10 + totalPositionIM 20
    assert balance.free == D("673.9")  # availableToWithdraw is "" (deprecated for UTA)
    assert balance.updated_at == 5


def test_available_to_withdraw_is_free_when_bybit_fills_it_in() -> None:
    assert parse_coin(coin_json(availableToWithdraw="600"), account="a").free == D(600)


def test_a_wallet_result_gives_one_balance_per_coin() -> None:
    result = {"list": [{"accountType": "UNIFIED", "totalEquity": "3.3",
                        "coin": [coin_json(), coin_json(coin="BTC", walletBalance="0.1",
                                                        locked="0", totalOrderIM="",
                                                        totalPositionIM="")]}]}
    balances = parse_wallet(result, account="a")
    assert [(b.asset, b.total, b.locked) for b in balances] == [
        ("USDT", D("708.9"), D(35)), ("BTC", D("0.1"), D(0))]
    with pytest.raises(MalformedVenueDataError, match=r"wallet-balance\.list: missing"):
        parse_wallet({}, account="a")
    with pytest.raises(MalformedVenueDataError, match="walletBalance: 'x' is not a number"):
        parse_wallet({"list": [{"coin": [coin_json(walletBalance="x")]}]}, account="a")


# -- envelopes and pages -----------------------------------------------------------------


def test_envelopes_and_pages() -> None:
    result = parse_result({"retCode": 0, "retMsg": "OK", "result": {"list": [],
                                                                   "nextPageCursor": "c%3D1"},
                           "retExtInfo": {}, "time": 1}, "/v5/order/realtime")
    assert parse_page(result, "x") == ([], "c%3D1")
    with pytest.raises(MalformedVenueDataError, match="result: expected an object"):
        parse_result({"retCode": 0, "result": []}, "/v5/x")
    with pytest.raises(MalformedVenueDataError, match="retCode: missing"):
        parse_result({"result": {}}, "/v5/x")
    with pytest.raises(MalformedVenueDataError, match="list: expected a list"):
        parse_page({"list": {}}, "/v5/x")
    with pytest.raises(MalformedVenueDataError, match="nextPageCursor: 5 is not text"):
        parse_page({"list": [], "nextPageCursor": 5}, "/v5/x")


# -- the private stream ------------------------------------------------------------------


def test_stream_messages_become_domain_events() -> None:
    order = parse_stream_message({"id": "1", "topic": "order", "creationTime": 10,
                                  "data": [order_json(category="linear")]},
                                 account="a", received_at=12)
    fills = parse_stream_message({"topic": "execution", "creationTime": 10,
                                  "data": [execution_json(category="linear"),
                                           execution_json(category="linear", execId="2")]},
                                 account="a", received_at=12)
    raw_position = position_json(category="linear", symbol="BTCUSDT", side="Buy", size="1")
    raw_position["entryPrice"] = raw_position.pop("avgPrice")
    position = parse_stream_message({"topic": "position", "data": [raw_position]},
                                    account="a", received_at=12)
    wallet = parse_stream_message({"topic": "wallet", "creationTime": 11,
                                   "data": [{"accountType": "UNIFIED",
                                             "coin": [coin_json()]}]},
                                  account="a", received_at=12)
    assert isinstance(order[0][0], OrderEvent) and order[0][0].received_at == 12
    assert [type(e) for e in fills[0]] == [FillEvent, FillEvent]
    assert isinstance(position[0][0], PositionEvent) and position[0][0].position.size == 1
    assert isinstance(wallet[0][0], BalanceEvent)
    assert wallet[0][0].balance.updated_at == 11
    assert all(not problems for _, problems in (order, fills, position, wallet))


def test_one_bad_item_is_reported_and_the_rest_still_arrive() -> None:
    events, problems = parse_stream_message(
        {"topic": "order", "data": [order_json(category="linear", orderStatus="Weird"),
                                    order_json(category="linear")]},
        account="a", received_at=1)
    assert len(events) == 1 and len(problems) == 1 and "Weird" in problems[0]
    _, problems = parse_stream_message({"topic": "greeks", "data": [{}]}, account="a",
                                       received_at=1)
    assert "greeks" in problems[0]
    with pytest.raises(MalformedVenueDataError, match="data: expected a list"):
        parse_stream_message({"topic": "order", "data": {}}, account="a", received_at=1)


# -- requests ----------------------------------------------------------------------------


def intent(**changes: Any) -> Order:
    base = Order(venue="bybit", account="a", category=L, symbol="BTCUSDT", side=Side.BUY,
                 type=OrderType.LIMIT, qty=D("0.001"), price=D("60000.5"),
                 status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-e-abc-1")
    return base.evolve(**changes)


def test_a_limit_order_becomes_create_parameters() -> None:
    assert create_params(intent()) == {
        "category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit",
        "qty": "0.001", "price": "60000.5", "timeInForce": "GTC",
        "orderLinkId": "rc-w1-e-abc-1", "positionIdx": 0}


def test_a_reduce_only_stop_becomes_a_conditional_market_order() -> None:
    params = create_params(intent(type=OrderType.MARKET, price=None, side=Side.SELL,
                                  trigger_price=D("55000"), reduce_only=True,
                                  trigger_direction=TriggerDirection.FALL,
                                  time_in_force=TimeInForce.IOC), position_idx=0)
    assert params["triggerPrice"] == "55000" and params["triggerDirection"] == 2
    assert params["reduceOnly"] is True and params["orderType"] == "Market"
    assert "price" not in params and params["timeInForce"] == "IOC"
    rise = create_params(intent(trigger_price=D(70000),
                                trigger_direction=TriggerDirection.RISE))
    assert rise["triggerDirection"] == 1


def test_spot_market_orders_are_quoted_in_the_base_coin() -> None:
    params = create_params(intent(category=Category.SPOT, type=OrderType.MARKET, price=None))
    assert params["marketUnit"] == "baseCoin" and "positionIdx" not in params


def test_requests_that_bybit_would_refuse_are_refused_before_sending() -> None:
    with pytest.raises(FatalVenueError, match="not a valid orderLinkId"):
        create_params(intent(client_order_id="x" * 37))
    with pytest.raises(FatalVenueError, match="needs a trigger direction"):
        create_params(intent(trigger_price=D(1)))
    with pytest.raises(FatalVenueError, match="reduce-only applies to derivatives"):
        create_params(intent(category=Category.SPOT, reduce_only=True))
    with pytest.raises(FatalVenueError, match="market order cannot be post-only"):
        create_params(intent(type=OrderType.MARKET, price=None,
                             time_in_force=TimeInForce.POST_ONLY))


def test_numbers_are_sent_in_plain_notation() -> None:
    assert dec_str(D("1E-8")) == "0.00000001"
    assert dec_str(D("1E+3")) == "1000"
    assert dec_str(D("1.500")) == "1.5"
    assert create_params(intent(qty=D("1E-5")))["qty"] == "0.00001"


def test_amend_and_reference_parameters() -> None:
    placed = intent(venue_order_id="v-1")
    assert ref_params(placed) == {"category": "linear", "symbol": "BTCUSDT", "orderId": "v-1"}
    assert ref_params(intent()) == {"category": "linear", "symbol": "BTCUSDT",
                                    "orderLinkId": "rc-w1-e-abc-1"}
    assert amend_params(placed, price="61000", qty=D("0.002")) == {
        "category": "linear", "symbol": "BTCUSDT", "orderId": "v-1", "qty": "0.002",
        "price": "61000"}
    with pytest.raises(FatalVenueError, match="needs a new qty or a new price"):
        amend_params(placed)
    with pytest.raises(FatalVenueError, match="'abc' is not a number"):
        amend_params(placed, price="abc")
    with pytest.raises(FatalVenueError, match="must be greater than zero"):
        amend_params(placed, qty=D(0))


@pytest.mark.parametrize(("names", "reads", "enum"), [
    (CATEGORY_NAME, CATEGORY, Category), (SIDE_NAME, SIDE, Side),
    (ORDER_TYPE_NAME, ORDER_TYPE, OrderType), (TIME_IN_FORCE_NAME, TIME_IN_FORCE, TimeInForce)])
def test_every_domain_value_has_a_wire_name_that_reads_back(
        names: Any, reads: Any, enum: Any) -> None:
    assert set(names) == set(enum)
    for member, name in names.items():
        assert reads[name] is member


def test_requests_take_wire_names_from_the_maps_not_from_enum_values(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # renamed wire strings show up in the request: nothing reads the enums' own values
    monkeypatch.setattr(parsing, "CATEGORY_NAME", {c: f"cat-{c.name}" for c in Category})
    monkeypatch.setattr(parsing, "SIDE_NAME", {s: f"side-{s.name}" for s in Side})
    monkeypatch.setattr(parsing, "ORDER_TYPE_NAME", {t: f"type-{t.name}" for t in OrderType})
    monkeypatch.setattr(parsing, "TIME_IN_FORCE_NAME",
                        {t: f"tif-{t.name}" for t in TimeInForce})
    params = create_params(intent())
    assert (params["category"], params["side"], params["orderType"],
            params["timeInForce"]) == ("cat-LINEAR", "side-BUY", "type-LIMIT", "tif-GTC")
    assert ref_params(intent())["category"] == "cat-LINEAR"
