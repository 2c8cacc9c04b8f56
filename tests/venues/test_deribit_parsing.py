"""Deribit's wire vocabulary, strictly: the docs' example payloads (decoded as the client
decodes them: JSON numbers as Decimal), labels that carry our client ids, the error
table by outcome, and requests written as exact JSON numbers."""

from __future__ import annotations

import json
from decimal import Decimal as D
from typing import Any

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Side, TriggerDirection
from console.domain.enums import ExecType, OrderRole, TimeInForce
from console.domain.events import BalanceEvent, FillEvent, OrderEvent, PositionEvent
from console.errors import (
    FatalVenueError,
    MalformedVenueDataError,
    OrderNotFoundError,
    TransientVenueError,
    UnknownOutcomeError,
)
from console.venues._common.errors import ErrorContext
from console.venues.deribit import parsing as p
from console.venues.deribit.errors import (
    SessionTerminatedError,
    VenueAuthError,
    decode_body,
    decode_frame,
    error_for_answer,
    refuses_credentials,
)

CID = "rc-w1-e-lq2x8k0a-1f"

# the docs' user.changes.(kind).(currency).(interval) example (docs.deribit.com)
CHANGES = """{"jsonrpc": "2.0", "method": "subscription", "params": {
 "channel": "user.changes.future.BTC.raw", "data": {
 "trades": [{"trade_seq": 866638, "trade_id": "1430914", "timestamp": 1605780344032,
   "tick_direction": 1, "state": "filled", "reduce_only": false, "profit_loss": 0.00004898,
   "price": 17391, "post_only": false, "order_type": "market", "order_id": "3398016",
   "matching_id": null, "mark_price": 17391, "liquidity": "T",
   "instrument_name": "BTC-PERPETUAL", "index_price": 17501.88, "fee_currency": "BTC",
   "fee": 1.6e-7, "direction": "sell", "amount": 10}],
 "positions": [{"total_profit_loss": 1.69711368, "size_currency": 10.646886321,
   "size": 185160, "settlement_price": 16025.83, "realized_profit_loss": 0.012454598,
   "realized_funding": 0.01235663, "mark_price": 17391, "maintenance_margin": 0.234575865,
   "leverage": 33, "kind": "future", "interest_value": 1.7362511643080387,
   "instrument_name": "BTC-PERPETUAL", "initial_margin": 0.319750953,
   "index_price": 17501.88, "floating_profit_loss": 0.906961435, "direction": "buy",
   "delta": 10.646886321, "average_price": 15000}],
 "orders": [{"web": true, "time_in_force": "good_til_cancelled", "replaced": false,
   "reduce_only": false, "price": 15665.5, "post_only": false, "order_type": "market",
   "order_state": "filled", "order_id": "3398016", "max_show": 10,
   "last_update_timestamp": 1605780344032, "label": "", "is_rebalance": false,
   "is_liquidation": false, "instrument_name": "BTC-PERPETUAL", "filled_amount": 10,
   "direction": "sell", "creation_timestamp": 1605780344032, "average_price": 17391,
   "api": false, "amount": 10}]}}}"""


def order(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "order_id": "4008978075", "order_state": "open", "order_type": "limit",
        "instrument_name": "BTC-PERPETUAL", "direction": "buy", "amount": 100,
        "filled_amount": 0, "price": 8947.5, "average_price": 0, "label": CID,
        "time_in_force": "good_til_cancelled", "post_only": False, "reduce_only": False,
        "api": True, "creation_timestamp": 1590484255886,
        "last_update_timestamp": 1590484255886}
    raw.update(changes)
    return decode_body(json.dumps(raw))  # type: ignore[no-any-return]


def intent(**changes: Any) -> Order:
    base = Order(venue="deribit", account="a", category=Category.INVERSE,
                 symbol="BTC-PERPETUAL", side=Side.BUY, type=OrderType.LIMIT, qty=D(100),
                 price=D("60000.5"), status=OrderStatus.PENDING_NEW, client_order_id=CID)
    return base.evolve(**changes)


def test_json_numbers_are_read_as_decimals_never_floats() -> None:
    decoded = decode_body('{"fee": 1.6e-7, "price": 17501.88, "n": 3}')
    assert decoded == {"fee": D("1.6e-7"), "price": D("17501.88"), "n": 3}
    with pytest.raises(ValueError, match="NaN"):
        decode_body('{"x": NaN}')
    assert decode_frame("not json") == "not json"


def test_the_docs_user_changes_example_becomes_domain_events() -> None:
    events = p.parse_notification(decode_body(CHANGES), account="a", received_at=7)
    kinds = [type(e) for e in events]
    assert kinds == [OrderEvent, FillEvent, PositionEvent]
    placed = events[0].order  # type: ignore[union-attr]
    assert (placed.status, placed.type, placed.side, placed.filled_qty, placed.avg_price,
            placed.client_order_id, placed.label, placed.category) == (
        OrderStatus.FILLED, OrderType.MARKET, Side.SELL, D(10), D(17391), "", "",
        Category.INVERSE)
    fill = events[1].fill  # type: ignore[union-attr]
    assert (fill.exec_id, fill.fee, fill.fee_asset, fill.qty, fill.is_maker) == (
        "1430914", D("1.6E-7"), "BTC", D(10), False)
    position = events[2].position  # type: ignore[union-attr]
    assert (position.size, position.entry_price, position.unrealised_pnl) == (
        D(185160), D(15000), D("0.906961435"))
    assert all(e.received_at == 7 for e in events)  # type: ignore[union-attr]


def test_a_portfolio_push_is_a_balance_in_the_coin() -> None:
    message = decode_body(json.dumps({"method": "subscription", "params": {
        "channel": "user.portfolio.btc", "data": {
            "currency": "BTC", "balance": 10.5, "equity": 10.7, "available_funds": 10.2}}}))
    [event] = p.parse_notification(message, account="a", received_at=1)
    assert isinstance(event, BalanceEvent)
    # free = available - (equity - balance) = 10.0; locked = 0.5 (the margin)
    assert (event.balance.total, event.balance.free, event.balance.locked) == (
        D("10.5"), D("10.0"), D("0.5"))


def test_states_types_and_flags_go_through_explicit_maps() -> None:
    partial = p.parse_order(order(filled_amount=40, average_price=8947.5), account="a")
    assert (partial.status, partial.filled_qty, partial.avg_price) == (
        OrderStatus.PARTIALLY_FILLED, D(40), D("8947.5"))
    assert partial.role is OrderRole.ENTRY and partial.client_order_id == CID
    post = p.parse_order(order(post_only=True), account="a")
    assert post.time_in_force is TimeInForce.POST_ONLY
    stop = p.parse_order(order(order_type="stop_market", order_state="untriggered",
                               price="market_price", trigger="mark_price",
                               trigger_price=8000, direction="sell"), account="a")
    assert (stop.status, stop.type, stop.price, stop.trigger_price,
            stop.trigger_direction) == (OrderStatus.UNTRIGGERED, OrderType.MARKET, None,
                                        D(8000), TriggerDirection.FALL)
    take = p.parse_order(order(order_type="take_limit", trigger_price=9000,
                               order_state="untriggered", direction="sell"), account="a")
    assert take.trigger_direction is TriggerDirection.RISE
    linear = p.parse_order(order(instrument_name="BTC_USDC-PERPETUAL", amount=0.5),
                           account="a")
    assert (linear.category, linear.qty) == (Category.LINEAR, D("0.5"))
    assert p.parse_order(order(order_state="cancelled", cancel_reason="cancel_on_disconnect"),
                         account="a").status is OrderStatus.CANCELLED


@pytest.mark.parametrize(("changes", "field"), [
    ({"order_state": "archived"}, "order_state"),
    ({"order_type": "iceberg"}, "order_type"),
    ({"direction": "long"}, "direction"),
    ({"time_in_force": "gtc"}, "time_in_force"),
    ({"cancel_reason": "because"}, "cancel_reason"),
    ({"amount": "100"}, "amount"),
    ({"last_update_timestamp": 1.5}, "last_update_timestamp"),
    ({"price": "market_price"}, "price"),
])
def test_unknown_or_ill_typed_values_are_refused_naming_the_field(
        changes: dict[str, Any], field: str) -> None:
    with pytest.raises(MalformedVenueDataError, match=field):
        p.parse_order(order(**changes), account="a")


def test_a_float_that_was_not_decoded_as_decimal_is_refused() -> None:
    raw = order()
    raw["amount"] = 100.5
    with pytest.raises(MalformedVenueDataError, match="amount"):
        p.parse_order(raw, account="a")


def test_labels_carry_the_client_id_and_the_domain_label() -> None:
    assert p.wire_label(intent()) == CID
    assert p.wire_label(intent(label="rc_s1_w1_entry")) == f"rc_s1_w1_entry~{CID}"
    assert p.split_label(f"rc_s1_w1_entry~{CID}") == (CID, "rc_s1_w1_entry")
    assert p.split_label(f"a~b~{CID}") == (CID, "a~b")
    assert p.split_label(CID) == (CID, "")
    assert p.split_label("manual order") == ("", "manual order")
    assert p.split_label("") == ("", "")
    too_long = intent(label="x" * (64 - len(CID)))
    with pytest.raises(FatalVenueError) as refused:
        p.wire_label(too_long)
    assert refused.value.code == "label_too_long"
    assert len(p.wire_label(intent(label="x" * (63 - len(CID))))) == 64


def test_positions_must_agree_with_their_direction() -> None:
    raw = decode_body(json.dumps({"instrument_name": "BTC-PERPETUAL", "size": -300,
                                  "direction": "sell", "average_price": 60000,
                                  "mark_price": 60100, "floating_profit_loss": -0.0001}))
    assert p.parse_position(raw, account="a", updated_at=1).size == D(-300)
    raw["direction"] = "buy"
    with pytest.raises(MalformedVenueDataError, match="size"):
        p.parse_position(raw, account="a", updated_at=1)


def test_a_trade_on_our_liquidated_side_is_a_liquidation() -> None:
    raw = decode_body(json.dumps({"trade_id": "9", "instrument_name": "BTC-PERPETUAL",
                                  "direction": "sell", "price": 50000, "amount": 10,
                                  "timestamp": 5, "order_id": "1", "fee": -0.0000001,
                                  "fee_currency": "BTC", "liquidity": "M",
                                  "liquidation": "M", "label": CID}))
    fill = p.parse_trade(raw, account="a")
    assert (fill.exec_type, fill.is_maker, fill.fee, fill.client_order_id) == (
        ExecType.LIQUIDATION, True, D("-1E-7"), CID)


def test_requests_are_exact_json_numbers() -> None:
    method, params = p.order_params(intent(qty=D("100"), price=D("60000.50"),
                                           time_in_force=TimeInForce.POST_ONLY))
    assert method == "private/buy"
    body = p.rpc_body(3, method, params)
    assert '"price":60000.5' in body and '"amount":100' in body
    assert json.loads(body)["params"] == {
        "instrument_name": "BTC-PERPETUAL", "amount": 100, "label": CID, "type": "limit",
        "time_in_force": "good_til_cancelled", "price": 60000.5, "post_only": True,
        "reject_post_only": True}
    method, params = p.order_params(intent(
        side=Side.SELL, type=OrderType.MARKET, price=None, trigger_price=D("0.00001"),
        trigger_direction=TriggerDirection.FALL, reduce_only=True))
    assert (method, params["type"], params["trigger"], params["reduce_only"]) == (
        "private/sell", "stop_market", "mark_price", True)
    assert '"trigger_price":0.00001' in p.rpc_body(1, method, params)
    with pytest.raises(FatalVenueError):
        p.order_params(intent(type=OrderType.MARKET, price=None,
                              time_in_force=TimeInForce.POST_ONLY))


def test_edit_keeps_the_amount_and_the_post_only_flag() -> None:
    placed = intent(venue_order_id="77", time_in_force=TimeInForce.POST_ONLY,
                    status=OrderStatus.NEW)
    assert p.edit_params(placed, qty=None, price=D(61000)) == {
        "order_id": "77", "amount": D(100), "price": D(61000), "post_only": True,
        "reject_post_only": True}
    with pytest.raises(FatalVenueError):
        p.edit_params(placed, qty=None, price=None)


CTX = ErrorContext(endpoint="private/buy", write=True, venue="deribit", profile="desk",
                   secrets=("s3cr3t-value",))


def answer(code: int, message: str = "x") -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": 1, "error": {"code": code, "message": message}}


def test_the_error_table_decides_by_outcome() -> None:
    assert isinstance(error_for_answer(400, None, answer(10028), CTX), SessionTerminatedError)
    assert isinstance(error_for_answer(400, None, answer(10004), CTX), OrderNotFoundError)
    assert isinstance(error_for_answer(400, None, answer(11094), CTX), UnknownOutcomeError)
    read = ErrorContext(endpoint="private/get_positions", write=False, venue="deribit")
    assert isinstance(error_for_answer(400, None, answer(11094), read), TransientVenueError)
    assert isinstance(error_for_answer(400, None, answer(10040), CTX), TransientVenueError)
    assert isinstance(error_for_answer(502, None, None, CTX), UnknownOutcomeError)
    refused = error_for_answer(400, None, answer(13004, "invalid_credentials s3cr3t-value"),
                               CTX)
    assert isinstance(refused, VenueAuthError) and refuses_credentials(refused)
    assert "s3cr3t-value" not in str(refused)
    expired = error_for_answer(400, None, answer(13009), CTX)
    assert isinstance(expired, VenueAuthError) and not refuses_credentials(expired)
    fatal = error_for_answer(400, None, answer(11054, "post_only_reject"), CTX)
    assert type(fatal) is FatalVenueError and fatal.code == "11054"
    assert error_for_answer(200, None, {"jsonrpc": "2.0", "id": 1, "result": 3}, CTX) is None
    assert isinstance(error_for_answer(200, None, {"id": 1}, CTX), UnknownOutcomeError)
