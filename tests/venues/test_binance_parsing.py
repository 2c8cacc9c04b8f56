"""Binance's JSON to domain objects and back, on the docs' own example payloads
(`binance_payloads`): explicit maps both ways, Decimal from strings, strict refusals naming
the field, and the stream event parsers the private stream uses."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from binance_payloads import (
    account_update,
    algo_order,
    algo_update,
    balance_update,
    execution_report,
    futures_account,
    futures_modify,
    futures_order,
    futures_trailing_order,
    my_trade,
    open_algo_order,
    order_trade_update,
    outbound_account_position,
    position_risk,
    spot_account,
    spot_cancel,
    spot_order,
    spot_result,
    trade_lite,
    user_trade,
)

from console.domain import Category, Order, OrderStatus, OrderType, Side, TimeInForce
from console.domain.enums import ExecType, OrderRole, PositionSide, TriggerDirection
from console.domain.events import BalanceEvent, FillEvent, OrderEvent, PositionEvent
from console.errors import FatalVenueError, MalformedVenueDataError
from console.venues.binance import parsing as p

ACCT = "acct"


def intent(**changes: Any) -> Order:
    base = Order(venue="binance", account=ACCT, category=Category.LINEAR, symbol="BTCUSDT",
                 side=Side.BUY, type=OrderType.LIMIT, qty=D("0.010"), price=D("65000.50"),
                 status=OrderStatus.PENDING_NEW, client_order_id="rc-w1-e-lq2x8k0a-1f")
    return base.evolve(**changes)


# -- USD-M orders -----------------------------------------------------------------------

def test_a_futures_order_is_read_with_decimals_and_explicit_maps() -> None:
    order = p.parse_futures_order(futures_order(), account=ACCT)
    assert (order.venue_order_id, order.client_order_id, order.symbol) == (
        "1573346959", "abc", "BTCUSDT")
    assert (order.side, order.type, order.status, order.time_in_force) == (
        Side.BUY, OrderType.LIMIT, OrderStatus.NEW, TimeInForce.GTC)
    assert (order.qty, order.price, order.filled_qty, order.avg_price) == (
        D("0.40"), D("9000"), D(0), None)
    assert order.trigger_price is None and order.category is Category.LINEAR
    assert (order.created_at, order.updated_at) == (1579276756075, 1579276756075)


def test_the_docs_trailing_stop_is_a_conditional_market_order() -> None:
    order = p.parse_futures_order(futures_trailing_order(), account=ACCT)
    assert (order.type, order.price, order.trigger_price) == (OrderType.MARKET, None,
                                                             D("9300"))
    assert order.trigger_direction is TriggerDirection.RISE  # a buy stop fires on a rise


def test_a_modify_answer_has_no_time_and_takes_its_update_time() -> None:
    order = p.parse_futures_order(futures_modify(), account=ACCT)
    assert (order.price, order.qty, order.created_at) == (D("30005"), D(1), 1629182711600)


@pytest.mark.parametrize(("wire", "status"), [
    ("NEW", OrderStatus.NEW), ("PARTIALLY_FILLED", OrderStatus.PARTIALLY_FILLED),
    ("FILLED", OrderStatus.FILLED), ("CANCELED", OrderStatus.CANCELLED),
    ("REJECTED", OrderStatus.REJECTED), ("EXPIRED", OrderStatus.CANCELLED),
    ("EXPIRED_IN_MATCH", OrderStatus.CANCELLED), ("NEW_INSURANCE", OrderStatus.NEW),
    ("NEW_ADL", OrderStatus.NEW)])
def test_every_futures_status_maps(wire: str, status: OrderStatus) -> None:
    executed = "0.40" if status is OrderStatus.FILLED else "0"
    order = p.parse_futures_order(futures_order(status=wire, executedQty=executed),
                                  account=ACCT)
    assert order.status is status


@pytest.mark.parametrize(("wire", "tif"), [
    ("GTC", TimeInForce.GTC), ("IOC", TimeInForce.IOC), ("FOK", TimeInForce.FOK),
    ("GTX", TimeInForce.POST_ONLY), ("RPI", TimeInForce.POST_ONLY), ("GTD", TimeInForce.GTC)])
def test_futures_time_in_force(wire: str, tif: TimeInForce) -> None:
    assert p.parse_futures_order(futures_order(timeInForce=wire),
                                 account=ACCT).time_in_force is tif


def test_a_triggered_conditional_order_keeps_its_trigger_and_direction() -> None:
    order = p.parse_futures_order(futures_order(type="MARKET", origType="STOP_MARKET",
                                                side="SELL", stopPrice="8000", price="0"),
                                  account=ACCT)
    assert (order.type, order.trigger_price, order.trigger_direction) == (
        OrderType.MARKET, D("8000"), TriggerDirection.FALL)


def test_venue_made_orders_are_read_as_they_are() -> None:
    for client_id in ("autoclose-1568879465650", "adl_autoclose", "settlement_autoclose-1"):
        order = p.parse_futures_order(futures_order(clientOrderId=client_id), account=ACCT)
        assert order.client_order_id == client_id and order.role is OrderRole.OTHER


def test_our_client_id_gives_the_role() -> None:
    order = p.parse_futures_order(futures_order(clientOrderId="rc-w1-s-lq2x8k0a-1f"),
                                  account=ACCT)
    assert order.role is OrderRole.STOP_LOSS


@pytest.mark.parametrize(("field", "value", "named"), [
    ("price", 9000.0, "price"),                 # a float is not an exact decimal
    ("origQty", "abc", "origQty"),
    ("status", "PENDING", "status"),            # unknown status: refused, never defaulted
    ("type", "OCO", "type"),
    ("side", "buy", "side"),
    ("orderId", "1573346959", "orderId"),      # ids are JSON integers
    ("orderId", True, "orderId"),
    ("reduceOnly", "false", "reduceOnly"),
    ("updateTime", -1, "updateTime"),
    ("timeInForce", "DAY", "timeInForce"),
    ("price", "0", "price"),                    # a LIMIT order needs a price
])
def test_strict_futures_order_fields(field: str, value: object, named: str) -> None:
    with pytest.raises(MalformedVenueDataError) as caught:
        p.parse_futures_order(futures_order(**{field: value}), account=ACCT)
    assert named in str(caught.value)


def test_a_missing_field_is_named() -> None:
    raw = futures_order()
    del raw["executedQty"]
    with pytest.raises(MalformedVenueDataError, match="executedQty: missing"):
        p.parse_futures_order(raw, account=ACCT)


def test_more_filled_than_ordered_is_malformed() -> None:
    with pytest.raises(MalformedVenueDataError, match="filled_qty"):
        p.parse_futures_order(futures_order(executedQty="0.5"), account=ACCT)


# -- algo orders ------------------------------------------------------------------------

def test_an_open_algo_order_is_untriggered_with_the_algo_id() -> None:
    order = p.parse_algo_order(open_algo_order(), account=ACCT)
    assert (order.venue_order_id, order.client_order_id) == (
        "algo:2148627", "MRumok0dkhrP4kCm12AHaB")
    assert (order.status, order.type, order.price, order.trigger_price) == (
        OrderStatus.UNTRIGGERED, OrderType.LIMIT, D("750.000"), D("750.000"))
    assert order.trigger_direction is TriggerDirection.RISE  # a take-profit sell: a rise
    assert order.filled_qty == 0 and order.created_at == 1750514941540


def test_a_cancelled_algo_order_never_counts_the_docs_actual_qty() -> None:
    """The docs' example is CANCELED (never triggered) with an actualQty: not a fill."""
    order = p.parse_algo_order(algo_order(), account=ACCT)
    assert (order.status, order.filled_qty, order.avg_price) == (OrderStatus.CANCELLED,
                                                                 D(0), None)


@pytest.mark.parametrize(("status", "actual_qty", "want", "filled"), [
    ("TRIGGERING", None, OrderStatus.NEW, D(0)),
    ("TRIGGERED", "0.004", OrderStatus.PARTIALLY_FILLED, D("0.004")),
    ("FINISHED", "0.01", OrderStatus.FILLED, D("0.01")),
    ("FINISHED", "0.004", OrderStatus.CANCELLED, D("0.004")),
    ("FINISHED", None, OrderStatus.CANCELLED, D(0)),
    ("EXPIRED", None, OrderStatus.CANCELLED, D(0)),
    ("REJECTED", None, OrderStatus.REJECTED, D(0)),
    ("NEW", None, OrderStatus.UNTRIGGERED, D(0)),
])
def test_algo_statuses(status: str, actual_qty: str | None, want: OrderStatus,
                       filled: D) -> None:
    raw = algo_order(algoStatus=status, actualOrderId="283194212" if status in (
        "TRIGGERED", "FINISHED") else "", actualPrice="750.5")
    if actual_qty is None:
        del raw["actualQty"]
    else:
        raw["actualQty"] = actual_qty
    order = p.parse_algo_order(raw, account=ACCT)
    assert (order.status, order.filled_qty) == (want, filled)
    triggered = status in ("TRIGGERED", "FINISHED")
    # once it reached the matching engine, the regular order's id is the venue id
    assert order.venue_order_id == ("283194212" if triggered else "algo:2146760")


def test_algo_answer_helpers() -> None:
    assert p.algo_actual_order(algo_order(algoStatus="TRIGGERED",
                                          actualOrderId="77")) == ("TRIGGERED", "77")
    assert p.algo_ids({"algoId": 2146760, "clientAlgoId": "6B2I9XVcJpCjqPAJ4YoFX7",
                       "code": "200", "msg": "success"}, "cancel") == (
        "algo:2146760", "6B2I9XVcJpCjqPAJ4YoFX7")
    assert p.is_close_all(open_algo_order(closePosition=True))
    assert not p.is_close_all(open_algo_order())


def test_a_close_all_algo_order_cannot_be_an_order() -> None:
    with pytest.raises(MalformedVenueDataError, match="quantity"):
        p.parse_algo_order(open_algo_order(closePosition=True, quantity="0"), account=ACCT)


# -- spot orders ------------------------------------------------------------------------

def test_a_spot_order() -> None:
    order = p.parse_spot_order(spot_order(), account=ACCT)
    assert (order.venue_order_id, order.client_order_id, order.category) == (
        "1", "myOrder1", Category.SPOT)
    assert (order.price, order.qty, order.status, order.trigger_price) == (
        D("0.1"), D("1.0"), OrderStatus.NEW, None)


def test_a_spot_cancel_answer_carries_the_orders_own_client_id() -> None:
    order = p.parse_spot_order(spot_cancel(), account=ACCT)
    assert order.client_order_id == "myOrder1"  # not the cancel's "cancelMyOrder1"
    assert (order.status, order.updated_at) == (OrderStatus.CANCELLED, 1684804350068)


def test_a_spot_market_result_has_an_average_price() -> None:
    order = p.parse_spot_order(spot_result(), account=ACCT)
    assert (order.type, order.price, order.status) == (OrderType.MARKET, None,
                                                       OrderStatus.FILLED)
    assert (order.filled_qty, order.avg_price) == (D(10), D(1))


def test_spot_limit_maker_is_post_only_and_stops_wait_untriggered() -> None:
    maker = p.parse_spot_order(spot_order(type="LIMIT_MAKER"), account=ACCT)
    assert (maker.type, maker.time_in_force) == (OrderType.LIMIT, TimeInForce.POST_ONLY)
    stop = p.parse_spot_order(spot_order(type="STOP_LOSS_LIMIT", side="SELL",
                                         stopPrice="0.09", isWorking=False), account=ACCT)
    assert (stop.status, stop.trigger_price, stop.trigger_direction) == (
        OrderStatus.UNTRIGGERED, D("0.09"), TriggerDirection.FALL)


@pytest.mark.parametrize(("wire", "status"), [
    ("PENDING_NEW", OrderStatus.PENDING_NEW), ("PENDING_CANCEL", OrderStatus.PENDING_CANCEL),
    ("EXPIRED_IN_MATCH", OrderStatus.CANCELLED), ("EXPIRED", OrderStatus.CANCELLED)])
def test_spot_only_statuses(wire: str, status: OrderStatus) -> None:
    assert p.parse_spot_order(spot_order(status=wire), account=ACCT).status is status


def test_spot_statuses_are_not_futures_statuses() -> None:
    with pytest.raises(MalformedVenueDataError, match="NEW_ADL"):
        p.parse_spot_order(spot_order(status="NEW_ADL"), account=ACCT)


# -- fills, positions, balances ---------------------------------------------------------

def test_a_futures_trade() -> None:
    fill = p.parse_futures_trade(user_trade(), account=ACCT)
    assert (fill.exec_id, fill.symbol, fill.side, fill.price, fill.qty) == (
        "BTCUSDT:698759:S", "BTCUSDT", Side.SELL, D("7819.01"), D("0.002"))
    assert (fill.venue_order_id, fill.client_order_id, fill.fee, fill.fee_asset) == (
        "25851813", "", D("0.07819010"), "USDT")
    assert (fill.exec_time, fill.is_maker, fill.exec_type) == (1569514978020, False,
                                                               ExecType.TRADE)


def test_a_spot_trade_and_its_side() -> None:
    fill = p.parse_spot_trade(my_trade(), account=ACCT)
    assert (fill.exec_id, fill.side, fill.qty, fill.fee, fill.fee_asset) == (
        "BNBBTC:28457:B", Side.BUY, D(12), D("10.1"), "BNB")
    assert p.parse_spot_trade(my_trade(isBuyer=False), account=ACCT).exec_id == \
        "BNBBTC:28457:S"
    assert p.trade_cursor(my_trade()) == (28457, 1499865549590)


def test_positions_are_signed_and_per_side() -> None:
    one_way = p.parse_position(position_risk(), account=ACCT)
    assert (one_way.size, one_way.entry_price, one_way.position_side) == (
        D(30), D("0.385"), PositionSide.ONE_WAY)
    assert (one_way.mark_price, one_way.unrealised_pnl) == (D("0.41047590"), D("0.764277"))
    short = p.parse_position(position_risk(positionSide="SHORT", positionAmt="-5"),
                             account=ACCT)
    assert (short.size, short.position_side) == (D(-5), PositionSide.SHORT)
    with pytest.raises(MalformedVenueDataError, match=r"position\.size"):
        p.parse_position(position_risk(positionSide="LONG", positionAmt="-5"), account=ACCT)


def test_futures_balances_map_wallet_available_and_margin() -> None:
    [docs] = p.parse_futures_account(futures_account(), account=ACCT)
    assert (docs.asset, docs.total, docs.free, docs.locked, docs.updated_at) == (
        "USDT", D("23.72469206"), D("23.72469206"), D(0), 1625474304765)
    raw = futures_account()
    # 3.5 of margin held, 1.25 of unrealised profit (availableBalance includes it)
    raw["assets"][0].update(initialMargin="3.5", unrealizedProfit="1.25",
                            availableBalance="21.47469206")
    raw["assets"].append(dict(raw["assets"][0], asset="BNB", walletBalance="0",
                              unrealizedProfit="0", initialMargin="0", availableBalance="0"))
    [usdt] = p.parse_futures_account(raw, account=ACCT)  # an empty asset is left out
    assert (usdt.total, usdt.free, usdt.locked) == (D("23.72469206"), D("20.22469206"),
                                                    D("3.5"))
    raw["assets"][0].update(availableBalance="30", unrealizedProfit="0")
    with pytest.raises(MalformedVenueDataError, match="nothing can be held"):
        p.parse_futures_account(raw, account=ACCT)


def test_spot_balances_are_free_plus_locked() -> None:
    balances = {b.asset: b for b in p.parse_spot_account(spot_account(), account=ACCT)}
    assert set(balances) == {"BTC", "LTC"}
    ltc = balances["LTC"]
    assert (ltc.total, ltc.free, ltc.locked) == (D("4763370.18006011"),
                                                 D("4763368.68006011"), D("1.5"))


def test_small_answers() -> None:
    assert p.parse_server_time({"serverTime": 1499827319559}) == 1499827319559
    assert p.parse_listen_key({"listenKey": "pqia91ma19a5s61cv6a81va65sdf19v8a6"}) == \
        "pqia91ma19a5s61cv6a81va65sdf19v8a6"
    assert p.parse_position_mode({"dualSidePosition": True}) is True
    assert p.parse_multi_assets({"multiAssetsMargin": False}) is False
    assert p.parse_countdown({"symbol": "BTCUSDT", "countdownTime": "100000"}) == (
        "BTCUSDT", 100000)
    with pytest.raises(MalformedVenueDataError, match="dualSidePosition"):
        p.parse_position_mode({"dualSidePosition": "true"})
    with pytest.raises(MalformedVenueDataError, match="serverTime"):
        p.parse_server_time({"serverTime": 1.5e12})


def test_an_unforeseen_shape_is_still_malformed() -> None:
    with pytest.raises(MalformedVenueDataError):
        p.parse_futures_order(["not", "an", "object"], account=ACCT)
    with pytest.raises(MalformedVenueDataError):
        p.as_list({"code": 200}, "openOrders")


# -- USD-M stream events ----------------------------------------------------------------

def test_order_trade_update_new() -> None:
    [event] = p.parse_futures_event(order_trade_update(), venue="binance", account=ACCT)
    assert isinstance(event, OrderEvent)
    order = event.order
    assert (order.venue_order_id, order.client_order_id, order.status) == (
        "8886774", "TEST", OrderStatus.NEW)
    assert (order.type, order.trigger_price, order.trigger_direction) == (
        OrderType.MARKET, D("7103.04"), TriggerDirection.FALL)
    assert (order.updated_at, order.venue, order.account) == (1568879465650, "binance",
                                                              ACCT)


def test_order_trade_update_trade_gives_a_fill_with_its_fee() -> None:
    message = order_trade_update(o="LIMIT", ot="LIMIT", p="7100", sp="0", x="TRADE",
                                 X="PARTIALLY_FILLED", l="0.0004", z="0.0004", L="7100.5",
                                 ap="7100.5", n="0.00113608", t=77, m=True)
    order_event, fill_event = p.parse_futures_event(message, venue="binance", account=ACCT)
    assert isinstance(order_event, OrderEvent) and isinstance(fill_event, FillEvent)
    assert order_event.order.status is OrderStatus.PARTIALLY_FILLED
    fill = fill_event.fill
    assert (fill.exec_id, fill.qty, fill.price, fill.fee, fill.fee_asset, fill.is_maker) == (
        "BTCUSDT:77:S", D("0.0004"), D("7100.5"), D("0.00113608"), "USDT", True)
    assert (fill.venue_order_id, fill.client_order_id) == ("8886774", "TEST")


def test_a_trade_without_commission_fields_has_no_fee() -> None:
    message = order_trade_update(o="MARKET", ot="MARKET", sp="0", x="TRADE", X="FILLED",
                                 l="0.001", z="0.001", L="7100", t=78)
    del message["o"]["N"], message["o"]["n"]
    _, fill_event = p.parse_futures_event(message, venue="binance", account=ACCT)
    assert isinstance(fill_event, FillEvent)
    assert (fill_event.fill.fee, fill_event.fill.fee_asset) == (D(0), "")


def test_a_liquidation_execution_is_a_liquidation_fill() -> None:
    message = order_trade_update(c="autoclose-1568879465650", o="LIQUIDATION",
                                 ot="LIQUIDATION", sp="0", x="CALCULATED", X="FILLED",
                                 l="0.001", z="0.001", L="7000", t=79)
    order_event, fill_event = p.parse_futures_event(message, venue="binance", account=ACCT)
    assert isinstance(order_event, OrderEvent) and isinstance(fill_event, FillEvent)
    assert order_event.order.client_order_id == "autoclose-1568879465650"
    assert fill_event.fill.exec_type is ExecType.LIQUIDATION


def test_account_update_gives_positions_per_side_and_no_balances() -> None:
    events = p.parse_futures_event(account_update(), venue="binance", account=ACCT)
    assert all(isinstance(e, PositionEvent) for e in events)
    sides = {e.position.position_side: e.position.size for e in events
             if isinstance(e, PositionEvent)}
    assert sides == {PositionSide.ONE_WAY: D(0), PositionSide.LONG: D(20),
                     PositionSide.SHORT: D(-10)}
    assert all(e.position.updated_at == 1564745798938 for e in events
               if isinstance(e, PositionEvent))


def test_algo_update() -> None:
    [event] = p.parse_futures_event(algo_update(), venue="binance", account=ACCT)
    assert isinstance(event, OrderEvent)
    order = event.order
    assert (order.venue_order_id, order.client_order_id, order.status) == (
        "algo:2148719", "Q5xaq5EGKgXXa0fD7fs0Ip", OrderStatus.CANCELLED)
    assert (order.type, order.price, order.trigger_price, order.updated_at) == (
        OrderType.LIMIT, D(750), D(750), 1750515742303)
    [new] = p.parse_futures_event(algo_update(X="NEW"), venue="binance", account=ACCT)
    assert isinstance(new, OrderEvent) and new.order.status is OrderStatus.UNTRIGGERED
    [done] = p.parse_futures_event(algo_update(X="FINISHED", ai="9001", aq="0.01",
                                               ap="751"), venue="binance", account=ACCT)
    assert isinstance(done, OrderEvent)
    assert (done.order.venue_order_id, done.order.status, done.order.avg_price) == (
        "9001", OrderStatus.FILLED, D(751))


@pytest.mark.parametrize("message", [
    trade_lite(), {"e": "ACCOUNT_CONFIG_UPDATE", "E": 1, "T": 1,
                   "ac": {"s": "BTCUSDT", "l": 25}},
    {"e": "listenKeyExpired", "E": 1576653824250, "listenKey": "x"}])
def test_futures_events_without_domain_events(message: dict[str, Any]) -> None:
    assert p.parse_futures_event(message, venue="binance", account=ACCT) == []


def test_an_unknown_futures_event_is_malformed() -> None:
    with pytest.raises(MalformedVenueDataError, match="unknown event"):
        p.parse_futures_event({"e": "SOMETHING_NEW", "E": 1}, venue="binance", account=ACCT)
    with pytest.raises(MalformedVenueDataError, match=r"ORDER_TRADE_UPDATE\.o"):
        p.parse_futures_event({"e": "ORDER_TRADE_UPDATE", "E": 1, "T": 1, "o": []},
                              venue="binance", account=ACCT)


def test_a_malformed_event_field_is_named() -> None:
    with pytest.raises(MalformedVenueDataError, match=r"\.z"):
        p.parse_futures_event(order_trade_update(z=0.001), venue="binance", account=ACCT)


# -- spot stream events -----------------------------------------------------------------

def test_execution_report_new() -> None:
    [event] = p.parse_spot_event(execution_report(), venue="binance", account=ACCT)
    assert isinstance(event, OrderEvent)
    order = event.order
    assert (order.venue_order_id, order.client_order_id, order.symbol, order.category) == (
        "4293153", "mUvoqJxFIILMdfAW5iGSOW", "ETHBTC", Category.SPOT)
    assert (order.price, order.qty, order.created_at, order.updated_at) == (
        D("0.10264410"), D(1), 1499405658657, 1499405658657)


def test_a_cancel_report_carries_the_original_client_id() -> None:
    [event] = p.parse_spot_event(execution_report(c="cancelId1", C="myOrder1", x="CANCELED",
                                                  X="CANCELED"), venue="binance",
                                 account=ACCT)
    assert isinstance(event, OrderEvent)
    assert (event.order.client_order_id, event.order.status) == ("myOrder1",
                                                                 OrderStatus.CANCELLED)


def test_a_trade_report_gives_a_fill() -> None:
    report = execution_report(x="TRADE", X="PARTIALLY_FILLED", l="0.4", z="0.4",
                              L="0.1026", Z="0.04104", n="0.0004", N="ETH", t=42, m=True)
    order_event, fill_event = p.parse_spot_event(report, venue="binance", account=ACCT)
    assert isinstance(order_event, OrderEvent) and isinstance(fill_event, FillEvent)
    assert order_event.order.avg_price == D("0.1026")
    fill = fill_event.fill
    assert (fill.exec_id, fill.qty, fill.price, fill.fee, fill.fee_asset, fill.is_maker) == (
        "ETHBTC:42:B", D("0.4"), D("0.1026"), D("0.0004"), "ETH", True)


def test_an_stp_expiry_is_cancelled_and_not_a_fill() -> None:
    events = p.parse_spot_event(execution_report(x="TRADE_PREVENTION",
                                                 X="EXPIRED_IN_MATCH"),
                                venue="binance", account=ACCT)
    assert [type(e) for e in events] == [OrderEvent]
    assert isinstance(events[0], OrderEvent)
    assert events[0].order.status is OrderStatus.CANCELLED


def test_outbound_account_position_gives_balances() -> None:
    [event] = p.parse_spot_event(outbound_account_position(), venue="binance", account=ACCT)
    assert isinstance(event, BalanceEvent)
    assert (event.balance.asset, event.balance.total, event.balance.free,
            event.balance.locked, event.balance.updated_at) == (
        "ETH", D(10000), D(10000), D(0), 1564034571073)


def test_spot_events_without_domain_events() -> None:
    assert p.parse_spot_event(balance_update(), venue="binance", account=ACCT) == []
    with pytest.raises(MalformedVenueDataError, match="unknown event"):
        p.parse_spot_event({"e": "somethingElse", "E": 1}, venue="binance", account=ACCT)


# -- requests ---------------------------------------------------------------------------

def test_futures_order_params_use_binance_words_not_enum_values() -> None:
    params = p.futures_order_params(intent(time_in_force=TimeInForce.POST_ONLY,
                                           reduce_only=True))
    assert params == {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
                      "quantity": "0.01", "price": "65000.5", "timeInForce": "GTX",
                      "newClientOrderId": "rc-w1-e-lq2x8k0a-1f", "reduceOnly": "true",
                      "newOrderRespType": "RESULT"}
    market = p.futures_order_params(intent(type=OrderType.MARKET, price=None))
    assert market["type"] == "MARKET" and "price" not in market and "timeInForce" not in market


@pytest.mark.parametrize(("order_type", "side", "direction", "wire"), [
    (OrderType.MARKET, Side.BUY, TriggerDirection.RISE, "STOP_MARKET"),
    (OrderType.MARKET, Side.SELL, TriggerDirection.FALL, "STOP_MARKET"),
    (OrderType.MARKET, Side.SELL, TriggerDirection.RISE, "TAKE_PROFIT_MARKET"),
    (OrderType.MARKET, Side.BUY, TriggerDirection.FALL, "TAKE_PROFIT_MARKET"),
    (OrderType.LIMIT, Side.BUY, TriggerDirection.RISE, "STOP"),
    (OrderType.LIMIT, Side.SELL, TriggerDirection.FALL, "STOP"),
    (OrderType.LIMIT, Side.SELL, TriggerDirection.RISE, "TAKE_PROFIT"),
    (OrderType.LIMIT, Side.BUY, TriggerDirection.FALL, "TAKE_PROFIT"),
])
def test_algo_order_types_follow_side_and_direction(order_type: OrderType, side: Side,
                                                    direction: TriggerDirection,
                                                    wire: str) -> None:
    order = intent(type=order_type, side=side, trigger_price=D("64000"),
                   trigger_direction=direction,
                   price=D("63990") if order_type is OrderType.LIMIT else None)
    params = p.algo_order_params(order)
    assert (params["algoType"], params["type"], params["triggerPrice"],
            params["clientAlgoId"]) == ("CONDITIONAL", wire, "64000", order.client_order_id)
    # and what we send reads back the same way
    assert p._direction(wire, side) is direction


def test_a_conditional_order_needs_a_direction_and_our_client_id() -> None:
    with pytest.raises(FatalVenueError, match="direction"):
        p.algo_order_params(intent(trigger_price=D(1)))
    with pytest.raises(FatalVenueError, match="client id"):
        p.futures_order_params(intent(client_order_id="", venue_order_id="1"))
    with pytest.raises(FatalVenueError, match="not valid"):
        p.futures_order_params(intent(client_order_id="bad id!"))


def test_spot_order_params() -> None:
    spot = intent(category=Category.SPOT)
    assert p.spot_order_params(spot.evolve(time_in_force=TimeInForce.POST_ONLY)) == {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "price": "65000.5",
        "quantity": "0.01", "newClientOrderId": "rc-w1-e-lq2x8k0a-1f",
        "newOrderRespType": "RESULT"}
    assert p.spot_order_params(spot.evolve(time_in_force=TimeInForce.IOC))[
        "timeInForce"] == "IOC"
    with pytest.raises(FatalVenueError, match="conditional spot"):
        p.spot_order_params(spot.evolve(trigger_price=D(1),
                                        trigger_direction=TriggerDirection.FALL))
    with pytest.raises(FatalVenueError, match="reduce-only"):
        p.spot_order_params(spot.evolve(reduce_only=True))


def test_modify_and_cancel_replace_params_send_both_quantity_and_price() -> None:
    live = intent(venue_order_id="283194212", status=OrderStatus.NEW)
    assert p.modify_params(live, qty=None, price=D("64000")) == {
        "symbol": "BTCUSDT", "orderId": "283194212", "side": "BUY", "quantity": "0.01",
        "price": "64000"}
    replace = p.cancel_replace_params(live.evolve(category=Category.SPOT), qty=D("0.02"),
                                      price=None)
    assert replace == {
        "symbol": "BTCUSDT", "cancelOrderId": "283194212", "side": "BUY",
        "cancelReplaceMode": "STOP_ON_FAILURE", "cancelRestrictions": "ONLY_NEW",
        "quantity": "0.02", "newClientOrderId": "rc-w1-e-lq2x8k0a-1f",
        "newOrderRespType": "RESULT", "type": "LIMIT", "price": "65000.5",
        "timeInForce": "GTC"}
    with pytest.raises(FatalVenueError, match="LIMIT"):
        p.modify_params(live.evolve(type=OrderType.MARKET, price=None), qty=D(1), price=None)
    with pytest.raises(FatalVenueError, match="new qty or a new price"):
        p.modify_params(live, qty=None, price=None)


def test_order_references() -> None:
    assert p.order_ref(intent(venue_order_id="5")) == {"symbol": "BTCUSDT", "orderId": "5"}
    assert p.order_ref(intent()) == {"symbol": "BTCUSDT",
                                     "origClientOrderId": "rc-w1-e-lq2x8k0a-1f"}
    assert p.algo_ref(intent(venue_order_id="algo:12")) == {"algoId": "12"}
    assert p.algo_ref(intent()) == {"clientAlgoId": "rc-w1-e-lq2x8k0a-1f"}


def test_numbers_go_out_in_plain_notation() -> None:
    assert p.dec_str(D("1E-7")) == "0.0000001"
    assert p.dec_str(D("65000.500")) == "65000.5"
    assert p.dec_str(D("1E+3")) == "1000"
    with pytest.raises(FatalVenueError):
        p.decimal_arg("-1", "qty")
    assert p.decimal_arg("2.5", "price") == D("2.5")
