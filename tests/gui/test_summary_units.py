"""The account summary shows every money figure with its unit: a zero is "0 USDT", not a
bare "0" (which reads as a count, or as nothing known); a figure the venue does not publish
says "not published" rather than 0; one the ledger cannot give says "unknown"."""

from __future__ import annotations

import dataclasses
import re
from decimal import Decimal as D

from PySide6.QtWidgets import QTableWidget

from console.domain import Balance, Category, Position
from console.ui.summary_figures import Baseline, account_figures, money_units, settle_asset
from console.ui.widgets.summary import ACCOUNT_HEADERS, NO_UNIT, fmt_amounts

from . import accounts_harness
from .accounts_harness import MakeAccounts

make_accounts = accounts_harness.make_accounts

AMOUNT = re.compile(r"^[+-]?\d+(\.\d+)? [A-Z][A-Z0-9]*$")
"""One amount with its unit: "+12.5 USDT", "0 BTC"."""
WORDS = re.compile(r"^([A-Z][A-Z0-9]* )?not published$|^unknown$")


def _cells(table: QTableWidget) -> dict[str, dict[str, str]]:
    """Account label -> column title -> the text shown."""
    return {table.item(r, 0).text(): {ACCOUNT_HEADERS[c]: table.item(r, c).text()
                                      for c in range(1, table.columnCount())}
            for r in range(table.rowCount())}


def _every_figure_has_a_unit(cells: dict[str, dict[str, str]]) -> None:
    for label, row in cells.items():
        for title, text in row.items():
            for part in text.split(" · "):
                assert AMOUNT.match(part) or WORDS.match(part), (label, title, text)


def test_a_zero_realised_pnl_shows_its_unit(make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    panel = a.window.summary_panel
    a.run(panel.refresh())
    cells = _cells(panel.accounts_table)
    # beta and gamma traded nothing since this window opened them: zero, in their coin
    for label in ("beta", "gamma"):
        assert panel.figures(label).realised_session == ()
        assert cells[label]["Realised PnL (session)"] == "0 USDT", cells[label]
    _every_figure_has_a_unit(cells)


def test_an_unrealised_pnl_the_venue_does_not_publish_is_not_shown_as_zero(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    panel = a.window.summary_panel
    beta = a.controller("beta")
    held = [p for p in beta.positions.records() if p.size != 0]
    assert held, "the scenario gives beta a position"
    # as a venue that sends neither an unrealised PnL nor a mark price shows them
    beta.positions.upsert([dataclasses.replace(p, mark_price=None, unrealised_pnl=None)
                           for p in held])
    beta.positions.flush()
    a.run(panel.refresh())
    row = _cells(panel.accounts_table)["beta"]
    assert row["Unrealised PnL"] == "not published", row
    assert row["Equity"] == "not published", row  # the wallet + an unknown PnL
    assert row["Available margin"].endswith(" USDT")  # the venue's own figure stands
    tip = panel.accounts_table.item(1, 3).toolTip()
    assert all(p.symbol in tip for p in held), tip
    alpha = _cells(panel.accounts_table)["alpha"]  # the others are untouched
    assert "not published" not in alpha["Unrealised PnL"] + alpha["Equity"]
    _every_figure_has_a_unit(_cells(panel.accounts_table))


def test_units_for_empty_figures_and_dashed_symbols() -> None:
    usdt = Balance("deribit", "main", "USDT", D(10), D(10))
    btc = Balance("deribit", "main", "BTC", D(1), D(1))
    assert settle_asset(Category.INVERSE, "BTC-PERPETUAL") == "BTC"
    assert settle_asset(Category.LINEAR, "ETH_USDC-PERPETUAL") == "USDC"
    assert money_units([btc, usdt], [(Category.INVERSE, "ETH-PERPETUAL")]) == ("ETH",)
    assert money_units([btc, usdt], []) == ("USDT",)  # a spot wallet: its quote coin
    assert money_units([btc], [(Category.SPOT, "BTCUSDT")]) == ("BTC",)
    assert money_units([], []) == ()
    assert fmt_amounts((), signed=True, units=("BTC", "USDC")) == "0 BTC · 0 USDC"
    assert fmt_amounts((), units=()) == NO_UNIT
    assert fmt_amounts(None) == "unknown"
    assert fmt_amounts((("BTC", D("0.5")), ("USDT", D(3))), unpublished=("USDT",)) == \
        "0.5 BTC · USDT not published"

    # a Deribit inverse account with nothing realised: its figures are in BTC
    position = Position("deribit", "main", Category.INVERSE, "BTC-PERPETUAL", D(100),
                        D(60000), unrealised_pnl=D("0.001"))
    wallet = Balance("deribit", "main", "BTC", D("0.5"), D("0.4"))
    figures = account_figures("d", [wallet], [position], [],
                              baseline=Baseline(1, (position,)), now_ms=2)
    assert figures.units == ("BTC",)
    assert figures.unrealised == (("BTC", D("0.001")),)
    assert fmt_amounts(figures.realised_session, signed=True, units=figures.units) == "0 BTC"
