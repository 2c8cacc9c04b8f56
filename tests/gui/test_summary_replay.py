"""The pure parts of the multi-account window: realised PnL replayed from fills (average
cost, fees, flips, rewinding to midnight), settle assets, tagging records with their
account, the all-accounts tables following each account's, and `--profile` lists."""

from __future__ import annotations

from decimal import Decimal as D

from console.bootstrap_gui import profile_names
from console.domain import (
    Category,
    ExecType,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
)
from console.ui.account_records import account_of, tag
from console.ui.all_accounts import ACCOUNT_TITLE, Mirror, merged
from console.ui.models.orders import OrdersModel, VenueOnlyOrder, in_ledger
from console.ui.summary_figures import (
    Baseline,
    Leg,
    account_figures,
    exposures,
    replay,
    rewind,
    settle_asset,
    utc_midnight_ms,
)

BTC = (Category.LINEAR, "BTCUSDT")
DAY = 1_796_428_800_000  # a midnight UTC
assert utc_midnight_ms(DAY + 5) == DAY


def fill(side: Side, qty: str, price: str, at: int, *, fee: str = "0",
         symbol: str = "BTCUSDT", category: Category = Category.LINEAR,
         kind: ExecType = ExecType.TRADE) -> Fill:
    return Fill("sim", "main", f"e{at}{side.value}", symbol, side, D(price), D(qty), at,
                category=category, fee=D(fee), fee_asset="USDT" if fee != "0" else "",
                exec_type=kind)


def test_replay_averages_entries_realises_closes_and_flips() -> None:
    book, realised = replay({}, [
        fill(Side.BUY, "1", "100", 1, fee="0.1"), fill(Side.BUY, "1", "200", 2),
        fill(Side.SELL, "1", "300", 3, fee="0.2"),       # +150 against the 150 average
        fill(Side.SELL, "2", "100", 4),                  # -50, then short 1 @ 100
        fill(Side.BUY, "0", "0", 5, fee="-0.05", kind=ExecType.FUNDING)])  # funding received
    assert book == {BTC: Leg(D(-1), D(100))}
    assert realised == {"USDT": D("150") - D("50") - D("0.1") - D("0.2") + D("0.05")}


def test_inverse_contracts_realise_in_the_coin() -> None:
    inverse = (Category.INVERSE, "BTCUSD")
    book, realised = replay({inverse: Leg(D(1000), D(50000))}, [
        fill(Side.SELL, "1000", "40000", 1, symbol="BTCUSD", category=Category.INVERSE)])
    assert book == {}
    assert realised == {"BTC": D(1000) * (1 / D(50000) - 1 / D(40000))}
    assert realised["BTC"] < 0


def test_rewind_recovers_the_entry_unless_a_position_was_closed_outright() -> None:
    end = {BTC: Leg(D(2), D(150))}
    assert rewind(end, [fill(Side.BUY, "1", "200", 1)]) == {BTC: Leg(D(1), D(100))}
    assert rewind(end, [fill(Side.SELL, "1", "300", 1)]) == {BTC: Leg(D(3), D(150))}
    assert rewind(end, [fill(Side.BUY, "2", "150", 1)]) == {}  # it started flat
    # bought after a full close: the entry of the closed position is gone
    assert rewind({BTC: Leg(D(1), D(120))}, [fill(Side.SELL, "1", "130", 1),
                                              fill(Side.BUY, "1", "120", 2)]) is None


def test_day_pnl_is_unknown_rather_than_guessed() -> None:
    opened = DAY + 3_600_000
    position = Position("sim", "main", Category.LINEAR, "BTCUSDT", D(1), D(120))
    baseline = Baseline(opened, (position,))
    fills = [fill(Side.SELL, "1", "130", DAY + 1000), fill(Side.BUY, "1", "120", DAY + 2000),
             fill(Side.SELL, "1", "125", opened + 1000)]
    figures = account_figures("a", [], [], fills, baseline=baseline, now_ms=opened + 5000)
    assert figures.realised_session == (("USDT", D(5)),)
    assert figures.realised_day is None
    assert any("day realised PnL unknown" in note for note in figures.notes)
    # opened before midnight: the session's replay gives midnight's position exactly
    early = Baseline(DAY - 3_600_000, (position,))
    figures = account_figures("a", [], [], fills, baseline=early, now_ms=opened + 5000)
    assert figures.realised_day == (("USDT", D(10) + D(5)),)
    # hedge mode: a fill does not say which side it hits; left out, and said
    hedged = Position("sim", "main", Category.LINEAR, "BTCUSDT", D(1), D(120),
                      position_side=PositionSide.LONG)
    figures = account_figures("a", [], [hedged], fills, baseline=Baseline(opened, (hedged,)),
                              now_ms=opened + 5000)
    assert figures.realised_session == ()
    assert any("hedge-mode" in note for note in figures.notes)


def test_settle_assets_and_exposure_netting() -> None:
    assert settle_asset(Category.LINEAR, "ETHUSDC") == "USDC"
    assert settle_asset(Category.LINEAR, "ETHPERP", ["USDC"]) == ""
    assert settle_asset(Category.INVERSE, "BTCUSDH25") == "BTC"
    long_a = Position("x", "a", Category.LINEAR, "ETHUSDT", D("0.5"), D(3000),
                      mark_price=D(3100))
    short_b = Position("y", "b", Category.LINEAR, "ETHUSDT", D("-0.2"), D(3000))
    [eth] = exposures({"A": [long_a], "B": [short_b]})
    assert (eth.net_size, eth.net_notional) == (D("0.3"), D("1550") - D("600"))
    assert eth.gross_notional == D("2150") and eth.by_account == (("A", D("0.5")),
                                                                   ("B", D("-0.2")))


def _order(cid: str, price: str) -> Order:
    return Order("sim", "main", Category.LINEAR, "BTCUSDT", Side.BUY, OrderType.LIMIT, D(1),
                 OrderStatus.NEW, client_order_id=cid, price=D(price))


def test_tagged_records_keep_their_kind_and_carry_their_account() -> None:
    plain = _order("c1", "100")
    tagged = tag(plain, "alpha")
    assert isinstance(tagged, Order) and account_of(tagged) == "alpha"
    assert account_of(plain) is None and tagged.ident == plain.ident
    assert tag(tagged, "alpha") is tagged and account_of(tag(tagged, "beta")) == "beta"
    venue_only = tag(VenueOnlyOrder.of(plain), "beta")
    assert not in_ledger(venue_only) and account_of(venue_only) == "beta"


def test_the_all_accounts_table_keeps_two_accounts_rows_with_one_client_id(qapp: object) -> None:
    alpha, beta = OrdersModel(flush_ms=1), OrdersModel(flush_ms=1)
    target = merged(OrdersModel(flush_ms=1))
    mirrors = [Mirror("alpha", alpha, target), Mirror("beta", beta, target)]
    for mirror in mirrors:
        mirror.attach()
    alpha.upsert([_order("same-id", "100")])
    beta.upsert([_order("same-id", "200"), _order("only-beta", "300")])
    for model in (alpha, beta, target):
        model.flush()
    target.flush()
    column = [c.title for c in target.columns].index(ACCOUNT_TITLE)
    rows = sorted((target.cell_text(r, column), target.record(r).client_order_id,
                   target.record(r).price) for r in range(target.rowCount()))
    assert rows == [("alpha", "same-id", D(100)), ("beta", "only-beta", D(300)),
                    ("beta", "same-id", D(200))]
    # a change, a removal and a reset in one account's table reach the merged one
    beta.upsert([_order("same-id", "250")])
    beta.remove(["only-beta"])
    beta.flush()
    target.flush()
    assert sorted((account_of(o), o.price) for o in target.records()) == [
        ("alpha", D(100)), ("beta", D(250))]
    mirrors[0].detach()
    target.flush()
    assert [account_of(o) for o in target.records()] == ["beta"]


def test_profile_lists_from_the_command_line() -> None:
    assert profile_names(None) == [] and profile_names("a") == ["a"]
    assert profile_names(["a,b", "c", "a", " d "]) == ["a", "b", "c", "d"]


def test_a_big_table_is_copied_in_steps_without_undoing_a_change(qapp: object) -> None:
    source = OrdersModel(flush_ms=1)
    source.upsert([_order(f"c{i}", "100") for i in range(5)])
    source.flush()
    target = merged(OrdersModel(flush_ms=1))
    mirror = Mirror("alpha", source, target)
    mirror.attach(sync=False)
    steps = mirror.sync_steps(chunk=2)
    assert next(steps) == 2
    last = source.row_keys()[-1]
    source.upsert([_order(last, "150")])  # changed while the copy is under way
    source.flush()
    assert list(steps) == [2, 1]
    target.flush()
    assert target.rowCount() == 5
    assert {o.client_order_id: o.price for o in target.records()}[last] == D(150)
