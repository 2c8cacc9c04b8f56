"""The conversion of sim events into Binance's user-data events (no server): which events,
in which order, with every documented field and its JSON type, and the figures right."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from binance_ws_helpers import ACCOUNT, Rig, check_event, make_rig, types

from console.domain.enums import Category, OrderType, PositionSide, Side, TimeInForce
from console.sim.binance import events as ev
from console.sim.binance.pushes import Market, operations
from console.sim.state import PositionMode

LINEAR, SPOT = Category.LINEAR, Category.SPOT
USDM, SPOT_MARKET = Market.USDM, Market.SPOT


def place(rig: Rig, category: Category = LINEAR, **kwargs: Any) -> Any:
    args: dict[str, Any] = {"symbol": "BTCUSDT", "side": Side.BUY,
                            "order_type": OrderType.MARKET, "qty": Decimal("0.01")}
    args.update(kwargs)
    return lambda: rig.exchange.place_order(ACCOUNT, category=category, **args)


@pytest.fixture
def rig() -> Rig:
    return make_rig()


def test_market_fill_is_new_then_trade_then_account_update(rig: Rig) -> None:
    events = rig.events(place(rig, client_order_id="m-1"), USDM)
    assert types(events) == ["ORDER_TRADE_UPDATE", "TRADE_LITE", "ORDER_TRADE_UPDATE",
                             "ACCOUNT_UPDATE"]
    for event in events:
        check_event(event)
    new, lite, trade, account = events
    assert (new["o"]["x"], new["o"]["X"], new["o"]["z"]) == ("NEW", "NEW", "0")
    o = trade["o"]
    assert (o["x"], o["X"], o["c"], o["S"], o["o"], o["q"], o["z"], o["l"]) == (
        "TRADE", "FILLED", "m-1", "BUY", "MARKET", "0.01", "0.01", "0.01")
    assert o["i"] == new["o"]["i"] == lite["i"] and o["t"] == lite["t"] > 0
    fill = rig.exchange.fills(ACCOUNT)[-1]
    assert (Decimal(o["L"]), Decimal(o["n"]), o["N"], o["m"]) == (
        fill.price, fill.fee, "USDT", False)
    assert Decimal(o["ap"]) == fill.price and o["rp"] == "0"
    assert rig.ids.sim_order(o["i"]) == fill.venue_order_id
    assert (account["a"]["m"], account["T"]) == ("ORDER", o["T"])
    (usdt,) = account["a"]["B"]
    assert (usdt["a"], Decimal(usdt["wb"]), usdt["bc"]) == (
        "USDT", rig.exchange.balance(ACCOUNT, "USDT").total, "0")
    (pos,) = account["a"]["P"]
    assert (pos["s"], pos["pa"], pos["ps"], pos["mt"]) == ("BTCUSDT", "0.01", "BOTH", "cross")
    assert Decimal(pos["ep"]) == fill.price
    # raw JSON: numbers never travel as floats
    assert '": 0.0' not in json.dumps(events) and "E-" not in json.dumps(events)


def test_a_sweep_is_one_trade_update_per_execution(rig: Rig) -> None:
    """1.2 BTC walks three 0.5 levels: three TRADEs with growing z, the last FILLED."""
    events = rig.events(place(rig, qty=Decimal("1.2"), client_order_id="sweep"), USDM)
    trades = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "TRADE"]
    assert [(t["l"], t["z"], t["X"]) for t in trades] == [
        ("0.5", "0.5", "PARTIALLY_FILLED"), ("0.5", "1", "PARTIALLY_FILLED"),
        ("0.2", "1.2", "FILLED")]
    fills = rig.exchange.fills(ACCOUNT)
    first_avg = fills[0].price
    assert Decimal(trades[0]["ap"]) == first_avg
    order = rig.exchange.order_by_client_id(ACCOUNT, "sweep")
    assert order is not None and Decimal(trades[-1]["ap"]) == order.avg_price
    assert len({t["t"] for t in trades}) == 3
    assert types(events).count("TRADE_LITE") == 3
    assert types(events)[-1] == "ACCOUNT_UPDATE"


def test_resting_limit_then_maker_fill_then_cancel_rest(rig: Rig) -> None:
    mark = rig.exchange.mark_price(LINEAR, "BTCUSDT")
    assert mark is not None
    price = mark - 100
    rested = rig.events(place(rig, order_type=OrderType.LIMIT, qty=Decimal("5"), price=price,
                              client_order_id="lim"), USDM)
    assert types(rested) == ["ORDER_TRADE_UPDATE"]  # locks moved: no ACCOUNT_UPDATE
    o = rested[0]["o"]
    assert (o["x"], o["X"], o["p"], o["f"], o["b"], o["a"]) == (
        "NEW", "NEW", str(price), "GTC", str(5 * price), "0")
    filled = rig.events(lambda: rig.exchange.set_price(LINEAR, "BTCUSDT", price - Decimal(
        "0.2")), USDM)
    trade = next(e["o"] for e in filled if e["e"] == "ORDER_TRADE_UPDATE")
    assert (trade["x"], trade["m"], trade["L"], trade["i"]) == ("TRADE", True, str(price),
                                                                 o["i"])
    assert trade["X"] == "PARTIALLY_FILLED" and Decimal(trade["z"]) < 5
    assert Decimal(trade["b"]) == (5 - Decimal(trade["z"])) * price
    cancelled = rig.events(lambda: rig.exchange.cancel_order(ACCOUNT, "lim"), USDM)
    assert types(cancelled) == ["ORDER_TRADE_UPDATE"]
    assert (cancelled[0]["o"]["x"], cancelled[0]["o"]["X"], cancelled[0]["o"]["z"]) == (
        "CANCELED", "CANCELED", trade["z"])


def test_amend_is_amendment_and_ioc_remainder_expires(rig: Rig) -> None:
    mark = rig.exchange.mark_price(LINEAR, "BTCUSDT")
    assert mark is not None
    rig.run(place(rig, order_type=OrderType.LIMIT, price=mark - 500, client_order_id="am"))
    amended = rig.events(lambda: rig.exchange.amend_order(ACCOUNT, "am", qty=Decimal("0.02")),
                         USDM)
    assert [(e["o"]["x"], e["o"]["X"], e["o"]["q"]) for e in amended] == [
        ("AMENDMENT", "NEW", "0.02")]
    # an IOC that cannot fill: NEW, then EXPIRED (er 2: IOC remainder)
    ioc = rig.events(place(rig, order_type=OrderType.LIMIT, price=mark - 500,
                           time_in_force=TimeInForce.IOC, client_order_id="ioc"), USDM)
    assert [(e["o"]["x"], e["o"]["X"], e["o"]["er"]) for e in ioc] == [
        ("NEW", "NEW", "0"), ("EXPIRED", "EXPIRED", "2")]


def test_closing_a_position_books_realised_pnl_on_the_trade(rig: Rig) -> None:
    rig.run(place(rig, qty=Decimal("0.1")))
    entry = rig.exchange.fills(ACCOUNT)[-1].price
    rig.exchange.set_price(LINEAR, "BTCUSDT", entry + 1000)
    events = rig.events(place(rig, side=Side.SELL, qty=Decimal("0.1"), reduce_only=True,
                              client_order_id="close"), USDM)
    trade = next(e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"
                 and e["o"]["x"] == "TRADE")
    exit_price = Decimal(trade["L"])
    assert Decimal(trade["rp"]) == (exit_price - entry) * Decimal("0.1")
    assert trade["R"] is True
    account = events[-1]
    assert account["e"] == "ACCOUNT_UPDATE"
    (pos,) = account["a"]["P"]
    assert (pos["pa"], pos["ep"]) == ("0", "0")
    assert Decimal(pos["cr"]) == Decimal(trade["rp"])


def test_conditional_order_is_an_algo_order_until_it_triggers(rig: Rig) -> None:
    mark = rig.exchange.mark_price(LINEAR, "BTCUSDT")
    assert mark is not None
    placed = rig.events(place(rig, side=Side.SELL, trigger_price=mark - 1000,
                              client_order_id="stop-1"), USDM)
    assert types(placed) == ["ALGO_UPDATE"]
    check_event(placed[0])
    algo = placed[0]["o"]
    assert (algo["caid"], algo["X"], algo["o"], algo["at"], algo["tp"], algo["ai"]) == (
        "stop-1", "NEW", "STOP_MARKET", "CONDITIONAL", str(mark - 1000), "")
    sim_id = rig.exchange.order_by_client_id(ACCOUNT, "stop-1")
    assert sim_id is not None and rig.ids.sim_algo(algo["aid"]) == sim_id.venue_order_id
    # not reduce-only: once triggered it sells into a short
    fired = rig.events(lambda: rig.exchange.set_price(LINEAR, "BTCUSDT", mark - 1500), USDM)
    for event in fired:
        check_event(event)
    assert types(fired)[:3] == ["ALGO_UPDATE", "ORDER_TRADE_UPDATE", "TRADE_LITE"]
    triggered = fired[0]["o"]
    assert (triggered["X"], triggered["act"], triggered["aq"], triggered["tt"]) == (
        "TRIGGERED", "MARKET", "0", rig.clock.now)
    regular = [e["o"] for e in fired if e["e"] == "ORDER_TRADE_UPDATE"]
    assert regular[0]["x"] == "NEW" and regular[-1]["X"] == "FILLED"
    assert {o["i"] for o in regular} == {int(triggered["ai"])}
    assert {o["c"] for o in regular} == {"stop-1"}
    assert {o["ot"] for o in regular} == {"STOP_MARKET"}
    assert rig.ids.sim_order(regular[0]["i"]) == sim_id.venue_order_id
    finished = [e["o"] for e in fired if e["e"] == "ALGO_UPDATE"][-1]
    assert (finished["X"], finished["aq"], finished["ai"]) == (
        "FINISHED", "0.01", triggered["ai"])
    assert types(fired)[-1] == "ACCOUNT_UPDATE"


def test_cancelled_algo_order(rig: Rig) -> None:
    mark = rig.exchange.mark_price(LINEAR, "BTCUSDT")
    assert mark is not None
    rig.run(place(rig, side=Side.BUY, order_type=OrderType.LIMIT, price=mark + 2000,
                  trigger_price=mark + 1000, client_order_id="tp-1"))
    cancelled = rig.events(lambda: rig.exchange.cancel_order(ACCOUNT, "tp-1"), USDM)
    assert [(e["e"], e["o"]["X"], e["o"]["o"]) for e in cancelled] == [
        ("ALGO_UPDATE", "CANCELED", "STOP")]


def test_spot_trade_and_account_position(rig: Rig) -> None:
    pushes = rig.run(place(rig, SPOT, qty=Decimal("0.001"), client_order_id="s-1"))
    assert {p.market for p in pushes} == {SPOT_MARKET}
    events = [p.event for p in pushes]
    assert types(events) == ["executionReport", "executionReport", "outboundAccountPosition"]
    for event in events:
        check_event(event)
    new, trade, position = events
    assert (new["x"], new["X"], new["N"], new["t"]) == ("NEW", "NEW", None, -1)
    fill = rig.exchange.fills(ACCOUNT)[-1]
    assert (trade["x"], trade["X"], trade["z"], trade["l"], Decimal(trade["L"])) == (
        "TRADE", "FILLED", "0.001", "0.001", fill.price)
    assert (Decimal(trade["n"]), trade["N"]) == (fill.fee, "BTC")
    assert Decimal(trade["Z"]) == Decimal(trade["Y"]) == fill.price * fill.qty
    assert trade["I"] > new["I"] and trade["O"] == new["O"] and trade["w"] is False
    assert "W" not in new and "W" not in trade  # a market order is never on the book
    assets = {b["a"]: b for b in position["B"]}
    assert set(assets) == {"USDT", "BTC"}
    usdt = rig.exchange.balance(ACCOUNT, "USDT")
    assert (Decimal(assets["USDT"]["f"]), Decimal(assets["USDT"]["l"])) == (usdt.free,
                                                                           usdt.locked)


def test_spot_cancel_names_the_order_in_C(rig: Rig) -> None:
    mark = rig.exchange.mark_price(SPOT, "BTCUSDT")
    assert mark is not None
    placed = rig.events(place(rig, SPOT, order_type=OrderType.LIMIT, price=mark - 100,
                              qty=Decimal("0.001"), client_order_id="s-lim"), SPOT_MARKET)
    assert [(e["e"], e.get("x"), e.get("w")) for e in placed] == [
        ("executionReport", "NEW", True), ("outboundAccountPosition", None, None)]
    cancelled = rig.events(lambda: rig.exchange.cancel_order(ACCOUNT, "s-lim"), SPOT_MARKET)
    report = cancelled[0]
    check_event(report)
    assert (report["x"], report["X"], report["C"]) == ("CANCELED", "CANCELED", "s-lim")
    assert placed[0]["W"] == report["W"] == placed[0]["O"]  # it was on the book
    assert report["c"] != "s-lim" and len(report["c"]) == 22
    assert report["i"] == placed[0]["i"]


def test_spot_post_only_is_limit_maker_and_ioc_remainder_expires(rig: Rig) -> None:
    mark = rig.exchange.mark_price(SPOT, "BTCUSDT")
    assert mark is not None
    events = rig.events(place(rig, SPOT, order_type=OrderType.LIMIT, price=mark - 100,
                              qty=Decimal("0.001"), time_in_force=TimeInForce.POST_ONLY),
                        SPOT_MARKET)
    assert (events[0]["o"], events[0]["f"]) == ("LIMIT_MAKER", "GTC")
    ioc = rig.events(place(rig, SPOT, order_type=OrderType.LIMIT, price=mark - 100,
                           qty=Decimal("0.001"), time_in_force=TimeInForce.IOC),
                     SPOT_MARKET)
    reports = [e for e in ioc if e["e"] == "executionReport"]
    for report in reports:
        check_event(report)
    assert [(r["x"], r["X"], r.get("eR")) for r in reports] == [
        ("NEW", "NEW", None), ("EXPIRED", "EXPIRED", "UNFILLED_IOC_QUANTITY_EXPIRED")]


def test_deposit_goes_to_both_markets(rig: Rig) -> None:
    pushes = rig.run(lambda: rig.exchange.deposit(ACCOUNT, "USDT", Decimal(50)))
    futures = [p.event for p in pushes if p.market is USDM]
    spot = [p.event for p in pushes if p.market is SPOT_MARKET]
    assert types(futures) == ["ACCOUNT_UPDATE"]
    check_event(futures[0])
    assert futures[0]["a"]["m"] == "DEPOSIT" and futures[0]["a"]["P"] == []
    assert futures[0]["a"]["B"][0]["bc"] == "50"
    assert types(spot) == ["balanceUpdate", "outboundAccountPosition"]
    for event in spot:
        check_event(event)
    assert (spot[0]["a"], spot[0]["d"]) == ("USDT", "50")


def test_non_margin_asset_deposit_is_spot_only(rig: Rig) -> None:
    pushes = rig.run(lambda: rig.exchange.deposit(ACCOUNT, "BTC", Decimal(1)))
    assert {p.market for p in pushes} == {SPOT_MARKET}


def test_hedge_mode_positions_name_their_side(rig: Rig) -> None:
    rig.exchange.set_position_mode(ACCOUNT, PositionMode.HEDGE, category=LINEAR,
                                   symbol="BTCUSDT")
    events = rig.events(place(rig, position_side=PositionSide.LONG), USDM)
    assert {e["o"]["ps"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"} == {"LONG"}
    (pos,) = events[-1]["a"]["P"]
    assert pos["ps"] == "LONG"


def test_topics_are_event_types_and_operations_split(rig: Rig) -> None:
    pushes = rig.run(place(rig))
    assert {p.topic for p in pushes} == {"ORDER_TRADE_UPDATE", "TRADE_LITE",
                                         "ACCOUNT_UPDATE"}
    rig.pending.clear()
    rig.exchange.place_order(ACCOUNT, category=LINEAR, symbol="BTCUSDT", side=Side.BUY,
                             order_type=OrderType.MARKET, qty=Decimal("0.01"))
    rig.exchange.place_order(ACCOUNT, category=SPOT, symbol="BTCUSDT", side=Side.BUY,
                             order_type=OrderType.MARKET, qty=Decimal("0.001"))
    batch = list(rig.pending)
    assert len(list(operations(batch))) == 2
    merged = rig.stream.convert(ACCOUNT, batch)
    assert [p.event["e"] for p in merged if p.market is USDM][-1] == "ACCOUNT_UPDATE"
    assert [p.event["e"] for p in merged if p.market is SPOT_MARKET][-1] == \
        "outboundAccountPosition"


def test_num_is_plain_decimal_text() -> None:
    assert [ev.num(Decimal(v)) for v in ("0E-8", "1E+3", "0.010", "-0.0", "12.5000")] == [
        "0", "1000", "0.01", "0", "12.5"]
    assert ev.num(None) == "0"
