"""What our testers sent the Bybit parsers, REST and stream: every malformed field comes
out as `MalformedVenueDataError` naming the field (never a ValueError, TypeError,
KeyError, AttributeError, OverflowError or decimal.InvalidOperation), a lone surrogate or
a timestamp of 2**63 never gets past parsing, and the arithmetic on accepted numbers is
exact."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from bybit_payloads import coin_json, execution_json, order_json, position_json

from console.domain import Category
from console.errors import MalformedVenueDataError
from console.venues._common.malformed import UNEXPECTED_CODE
from console.venues.bybit.parsing import (
    envelope_creation_time,
    envelope_time,
    order_ids,
    parse_coin,
    parse_fill,
    parse_order,
    parse_page,
    parse_position,
    parse_result,
    parse_server_time,
    parse_stream_message,
    parse_wallet,
    result_category,
)

L = Category.LINEAR
HUGE_MS = str(2 ** 63)

BAD_ORDER_FIELDS: list[tuple[str, object]] = [
    ("positionIdx", "--1"),  # not read for orders: must not matter
    ("qty", "1e999999999"), ("qty", "١٢"), ("qty", "²"), ("qty", {"a": 1}), ("qty", None),
    ("qty", ["1"]), ("qty", 1.5), ("qty", True), ("qty", "NaN"), ("qty", "1_000"),
    ("qty", "9" * 5000), ("price", "-0"), ("price", " 12"), ("cumExecQty", "1e-999999"),
    ("symbol", {"a": 1}), ("symbol", "ETH\ud800"), ("symbol", "ETH\x00"), ("symbol", "E" * 65),
    ("symbol", 7), ("orderId", ["x"]), ("orderId", "\udfff"), ("orderLinkId", None),
    ("side", {"a": 1}), ("side", ["Buy"]), ("orderStatus", {"New": 1}), ("orderType", None),
    ("timeInForce", 1), ("reduceOnly", "false"), ("createdTime", HUGE_MS),
    ("createdTime", "-1"), ("createdTime", "١٧٠٠"), ("updatedTime", 2 ** 63),
    ("updatedTime", "1.5"), ("createdTime", {"t": 1}), ("category", {"a": 1}),
    ("triggerPrice", "١"), ("avgPrice", None),
]


def expect_field(call: Any, field: str) -> MalformedVenueDataError:
    with pytest.raises(MalformedVenueDataError) as err:
        call()
    text = str(err.value)
    assert field in text, text
    assert err.value.code != UNEXPECTED_CODE, text  # a field check named it, not the backstop
    assert len(text) < 400, text  # a 5,000-digit value is not quoted whole
    text.encode("utf-8")  # the message itself is loggable (no lone surrogate)
    return err.value


@pytest.mark.parametrize(("field", "value"),
                         [c for c in BAD_ORDER_FIELDS if c[0] != "positionIdx"])
def test_every_malformed_order_field_is_typed_and_named(field: str, value: object) -> None:
    expect_field(lambda: parse_order(order_json(**{field: value}), account="a", category=L),
                 f".{field}")


def test_an_unexpected_field_value_that_the_parser_does_not_read_is_ignored() -> None:
    assert parse_order(order_json(positionIdx="--1"), account="a", category=L).qty == D("0.1")


@pytest.mark.parametrize("value", ["--1", "3", "-1", "١", "²", "1.0", 1.0, True, None, {}, [],
                                   " 1", "99999999999999999999999"])
def test_a_malformed_position_idx_is_typed(value: object) -> None:
    expect_field(lambda: parse_position(position_json(positionIdx=value), account="a",
                                        category=Category.INVERSE), "positionIdx")


@pytest.mark.parametrize(("field", "value"), [
    ("size", "1e999999999"), ("size", {"a": 1}), ("side", {"a": 1}), ("side", ["Buy"]),
    ("symbol", ["BTCUSD"]), ("avgPrice", "nan"), ("markPrice", "Infinity"),
    ("unrealisedPnl", "1e25"), ("updatedTime", HUGE_MS), ("updatedTime", None),
])
def test_malformed_position_fields_are_typed(field: str, value: object) -> None:
    expect_field(lambda: parse_position(position_json(**{field: value}), account="a",
                                        category=Category.INVERSE), field)


@pytest.mark.parametrize("value", ["1", 3, "-1", {"a": 1}])
def test_a_malformed_trigger_direction_is_typed(value: object) -> None:
    if value == "1":  # ASCII digits are fine
        order = parse_order(order_json(triggerPrice="1500", triggerDirection=value),
                            account="a", category=L)
        assert order.trigger_direction is not None
        return
    expect_field(lambda: parse_order(order_json(triggerPrice="1500", triggerDirection=value),
                                     account="a", category=L), "triggerDirection")


@pytest.mark.parametrize(("field", "value"), [
    ("execQty", "1e999999999"), ("execPrice", {"p": 1}), ("execFee", "١"),
    ("execTime", HUGE_MS), ("execId", None), ("execId", "x\ud800"), ("feeCurrency", 5),
    ("feeCurrency", "U" * 33), ("isMaker", "true"), ("execType", ["Trade"]),
])
def test_malformed_execution_fields_are_typed(field: str, value: object) -> None:
    expect_field(lambda: parse_fill(execution_json(**{field: value}), account="a",
                                    category=L), field)


@pytest.mark.parametrize(("field", "value"), [
    ("walletBalance", "1e999999999"), ("walletBalance", None), ("locked", {"a": 1}),
    ("totalOrderIM", "²"), ("availableToWithdraw", "1e-40"), ("coin", "US\ud800DT"),
    ("coin", None),
])
def test_malformed_coin_fields_are_typed(field: str, value: object) -> None:
    expect_field(lambda: parse_coin(coin_json(**{field: value}), account="a"), field)


def test_missing_keys_non_objects_and_null_lists_are_typed() -> None:
    for field in ("orderId", "qty", "side", "createdTime", "orderStatus"):
        raw = order_json()
        del raw[field]
        expect_field(lambda raw=raw: parse_order(raw, account="a", category=L), field)
    for item in (None, [], "order", 5, ["orderId"]):
        expect_field(lambda item=item: parse_order(item, account="a", category=L),
                     "order: expected an object")
    expect_field(lambda: parse_page({"list": None}, "/v5/order/realtime"), ".list")
    expect_field(lambda: parse_page({"list": [], "nextPageCursor": {"c": 1}}, "/x"),
                 "nextPageCursor")
    expect_field(lambda: parse_page(None, "/v5/order/realtime"),  # type: ignore[arg-type]
                 "expected an object")
    expect_field(lambda: parse_wallet({"list": [{"coin": None}]}, account="a"),
                 "wallet[0].coin")
    expect_field(lambda: parse_wallet({"list": [None]}, account="a"), "wallet[0]")
    expect_field(lambda: parse_wallet({"list": [{"coin": [None]}]}, account="a"), "coin")
    expect_field(lambda: result_category({"category": {"x": 1}}, "/x"), "category")
    expect_field(lambda: order_ids({"orderId": None}, "/v5/order/create"), "orderId")


def test_envelopes_are_strict() -> None:
    for code in (False, 0.0, "0", None, [0]):
        expect_field(lambda code=code: parse_result({"retCode": code, "result": {}}, "/x"),
                     "retCode")
    expect_field(lambda: parse_result({"retCode": 0, "result": None}, "/x"), "result")
    expect_field(lambda: parse_result([1], "/x"), "expected an object")
    assert envelope_time({"retCode": 0}) == 0
    assert envelope_time({"time": 1_700_000_000_000}) == 1_700_000_000_000
    for bad in ("²", HUGE_MS, -1, "1.5", {"t": 1}):
        expect_field(lambda bad=bad: envelope_time({"time": bad}), "time")
        expect_field(lambda bad=bad: envelope_creation_time({"creationTime": bad}),
                     "creationTime")
    assert envelope_creation_time({"topic": "order"}) == 0


def test_server_time_is_strict() -> None:
    assert parse_server_time({"timeNano": "1700000000123456789"}, {}) == 1_700_000_000_123
    assert parse_server_time({"timeSecond": "1700000000"}, {}) == 1_700_000_000_000
    assert parse_server_time({}, {"time": 5}) == 5
    assert parse_server_time({}, {}) is None
    for nano in ("²" * 19, "1" * 30, "-1", None):
        expect_field(lambda nano=nano: parse_server_time({"timeNano": nano}, {}), "timeNano")
    for second in ("٥", "9" * 17, None):
        expect_field(lambda second=second: parse_server_time({"timeSecond": second}, {}),
                     "timeSecond")


def test_stream_messages_type_every_failure() -> None:
    def parse(message: object) -> tuple[list[Any], list[str]]:
        return parse_stream_message(message, account="a", received_at=1)

    expect_field(lambda: parse("not json"), "stream message: expected an object")
    expect_field(lambda: parse({"topic": {"t": 1}, "data": []}), "stream message.topic")
    expect_field(lambda: parse({"topic": "order", "data": None}), "stream message.data")
    expect_field(lambda: parse({"topic": "order", "creationTime": HUGE_MS, "data": []}),
                 "creationTime")
    events, problems = parse({"topic": "position", "data": [
        position_json(category="inverse", positionIdx="--1"),
        position_json(category="inverse"),
        None,
        {"coin": []},
    ]})
    assert len(events) == 1
    assert ["positionIdx" in problems[0], "position[2]" in problems[1] or
            "expected an object" in problems[1]] == [True, True]
    assert len(problems) == 3
    events, problems = parse({"topic": "wallet", "data": [{"coin": "USDT"}, {"coin": []}]})
    assert events == [] and "wallet[0].coin" in problems[0] and len(problems) == 1


def test_exact_arithmetic_on_accepted_numbers() -> None:
    # 40 significant digits: beyond the default 28-digit context, within MAX_DIGITS
    size = "1234567890.123456789012345678901234567891"
    short = parse_position(position_json(size=size), account="a", category=Category.INVERSE)
    assert short.size == D("-" + size)  # unary minus would round to 28 digits
    assert str(short.size) == "-" + size
    coin = parse_coin(coin_json(walletBalance="100000000000000000000000.5", locked="0",
                                totalOrderIM="0.000000000000000000000000001",
                                totalPositionIM="0"), account="a")
    assert coin.free == D("100000000000000000000000.499999999999999999999999999")
