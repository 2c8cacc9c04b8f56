"""The account summary (issue 14, item 3) against the sims themselves: equity, available
margin, unrealised PnL, realised PnL (session and day) per account, and the exposure
per symbol netted across accounts, in Decimal."""

from __future__ import annotations

from decimal import Decimal

from console.domain import Category, OrderType, Side
from console.domain.values import ZERO
from console.ui.summary_figures import utc_midnight_ms
from console.ui.widgets.summary import fmt_amounts

from . import accounts_harness
from .accounts_harness import MakeAccounts

make_accounts = accounts_harness.make_accounts


def test_summary_figures_are_the_sims_own(make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    ws, panel = a.workspace, a.window.summary_panel
    alpha = a.controller("alpha")
    # a hand close of half alpha's ETH long on its exchange; a reconciliation brings the fill
    baseline = ws.account("alpha").baseline
    assert baseline is not None
    [held] = [p for p in baseline.positions if p.symbol == "ETHUSDT"]
    a.sim("alpha").place_order("main", category=Category.LINEAR, symbol="ETHUSDT",
                               side=Side.SELL, order_type=OrderType.MARKET,
                               qty=Decimal("0.1"), reduce_only=True,
                               client_order_id="rc-w9-o-handclose-1")
    a.run(alpha.reconcile_now())
    a.idle()
    summary = a.run(panel.refresh())
    assert [f.label for f in summary.accounts] == ["alpha", "beta", "gamma"]

    for label in ws.labels():
        sim = a.sim(label)
        figures = panel.figures(label)
        assert figures is not None
        balances = {b.asset: b for b in sim.balances("main")}
        positions = sim.positions("main")
        upnl = sum((p.unrealised_pnl for p in positions if p.unrealised_pnl is not None), ZERO)
        assert dict(figures.available) == {k: b.free for k, b in balances.items()}
        assert dict(figures.equity) == {"USDT": balances["USDT"].total + upnl}
        assert dict(figures.unrealised) == ({"USDT": upnl} if positions else {})
        assert figures.venue_unrealised  # the sim sends its own unrealised PnL
        assert all(isinstance(v, Decimal) for _, v in figures.equity)

    # realised: alpha's hand close, at the fill's price and fee, against the entry
    [close] = [f for f in a.sim("alpha").fills("main")
               if f.client_order_id == "rc-w9-o-handclose-1"]
    session = close.qty * (close.price - held.entry_price) - close.fee
    assert panel.figures("alpha").realised_session == (("USDT", session),)
    opened_today = [f for f in alpha.book.fills("sim", "main", utc_midnight_ms(baseline.at))
                    if f.exec_time <= baseline.at]
    day = session - sum((f.fee for f in opened_today), ZERO)
    assert panel.figures("alpha").realised_day == (("USDT", day),)
    for label in ("beta", "gamma"):  # nothing traded since they opened
        assert panel.figures(label).realised_session == ()

    # exposure: ETHUSDT netted across the three accounts, at the venue's mark
    all_positions = [p for n in ws.labels() for p in a.sim(n).positions("main")]
    [eth] = summary.exposure
    assert (eth.symbol, eth.unit) == ("ETHUSDT", "USDT")
    assert eth.net_size == sum((p.size for p in all_positions), ZERO) == Decimal("0.5")
    assert eth.net_notional == sum((p.size * p.mark_price for p in all_positions
                                    if p.mark_price is not None), ZERO)
    assert dict(eth.by_account) == {"alpha": Decimal("0.1"), "beta": Decimal("0.2"),
                                    "gamma": Decimal("0.2")}

    # the dock shows them, formatted only there
    table = panel.accounts_table
    rows = {table.item(r, 0).text(): r for r in range(table.rowCount())}
    assert table.item(rows["alpha"], 4).text() == fmt_amounts(
        (("USDT", session),), signed=True)
    assert panel.exposure_table.item(0, 2).text() == "+0.5"
