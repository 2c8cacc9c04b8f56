"""Many accounts in one window (issue 14, items 1 and 2): three sim profiles, each its own
engine, exchange and ledger, in one window on one loop; the accounts bar; every table
scoped to one account or showing all with an Account column; opening and closing an
account while the window runs; the emergency stop of every account at once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt

from console.domain import Category, Order, OrderType, Side
from console.engine.emergency import HALT_ACTION
from console.errors import UserFacingError
from console.ui.account_records import account_of
from console.ui.all_accounts import ACCOUNT_TITLE, KEY_SEPARATOR
from console.ui.global_stop import GLOBAL_SCOPE

from . import accounts_harness
from .accounts_harness import MakeAccounts

make_accounts = accounts_harness.make_accounts


def _titles(table: object) -> list[str]:
    return [c.title for c in table.model.columns]  # type: ignore[attr-defined]


def _active(orders: list[Order]) -> list[Order]:
    return [o for o in orders if o.is_active]


def test_three_accounts_share_one_window_and_the_accounts_bar_shows_each(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    ws, w = a.workspace, a.window
    assert ws.labels() == ["alpha", "beta", "gamma"]
    sessions = {id(c.session) for c in ws.controllers()}
    sims = {id(a.sim(label)) for label in ws.labels()}
    assert len(sessions) == len(sims) == 3  # one engine and one exchange per account
    for label in ws.labels():
        c = a.controller(label)
        assert c.started and c.last_ok_at is not None  # each ran its startup reconciliation
        assert len(_active(c.orders.records())) == len(a.sim_open(label)) == 3
    bar = w.accounts_bar
    assert list(bar.entries) == ["alpha", "beta", "gamma"]
    assert w.accounts_toolbar.isVisible() and w.global_button.isVisible()
    assert bar.all_button.text() == "All accounts (3)" and bar.all_button.isChecked()
    for label, entry in bar.entries.items():
        assert entry.badge.text() == "SIMULATED"
        assert entry.badge.property("badge") == "SIMULATED"
        text = entry.plain_text()
        assert text.startswith(f"SIMULATED {label}: connected · OK ")
        assert text.endswith("· TRADING · 0 alerts"), text
    assert "3 accounts" in w.windowTitle() and "showing all accounts" in w.windowTitle()

    # one account halted: its entry says so, the others do not change
    a.run(a.controller("beta").halt())
    bar.refresh()
    assert "· HALTED ·" in bar.entries["beta"].plain_text()
    assert "· TRADING ·" in bar.entries["alpha"].plain_text()
    assert not a.controller("alpha").session.halted


def test_all_accounts_tables_carry_an_account_column_and_one_account_scopes_them(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    ws, w = a.workspace, a.window
    view = ws.all_view
    # "All accounts": every table is the all-accounts one, the Account column shown first
    assert w.orders_table.model is view.orders
    for table in (*w.tables.values(), w.inbox.action_table, w.alerts_panel.table,
                  w.audit_panel.table):
        titles = _titles(table)
        assert ACCOUNT_TITLE in titles
        header = table.view.horizontalHeader()
        assert header.visualIndex(titles.index(ACCOUNT_TITLE)) == 0
    rows = view.orders.records()
    assert {account_of(o) for o in rows} == {"alpha", "beta", "gamma"}
    assert len(_active(rows)) == sum(len(a.sim_open(n)) for n in ws.labels()) == 9
    assert all(k.split(KEY_SEPARATOR)[0] in ws.labels() for k in view.orders.row_keys())
    column = _titles(w.orders_table).index(ACCOUNT_TITLE)
    shown = {view.orders.cell_text(r, column) for r in range(view.orders.rowCount())}
    assert shown == {"alpha", "beta", "gamma"}
    assert len(view.positions.records()) == 3  # the ETH long of each account
    assert {account_of(r.entry) or account_of(r) for r in view.audit.records()} <= {
        "alpha", "beta", "gamma"}
    assert {account_of(r) for r in view.runs.records()} == {"alpha", "beta", "gamma"}

    # one account: its own tables, no Account column, only its rows
    w.select_scope("beta")
    beta = a.controller("beta")
    assert ws.scope == "beta" and w.accounts_bar.entries["beta"].button.isChecked()
    assert w.orders_table.model is beta.orders
    assert ACCOUNT_TITLE not in _titles(w.orders_table)
    assert w.inbox.controller is beta and w.alerts_panel.table.model is beta.alerts_model
    assert w.audit_panel.table.model is beta.audit
    assert {o.client_order_id for o in _active(w.orders_table.model.records())} == {
        o.client_order_id for o in a.sim_open("beta")}
    assert w.status.controller is beta and "beta" in w.windowTitle()
    assert not view.active and view.orders.rowCount() == 0  # not followed while hidden

    # actions that need one account: enabled on one, disabled with a reason on all
    assert w.act_reconcile.isEnabled()
    w.select_scope(None)
    assert view.active and len(_active(view.orders.records())) == 9
    for action in (w.act_reconcile, w.act_orphans, w.act_cancel_all, w.act_resume):
        assert not action.isEnabled()
        assert "Select one account" in action.toolTip()
    assert not w.emergency_button.isEnabled()
    assert "STOP ALL ACCOUNTS" in w.emergency_button.toolTip()


def test_a_row_action_from_all_accounts_acts_on_the_rows_account(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    w, view = a.window, a.workspace.all_view
    target = next(o for o in view.orders.records()
                  if account_of(o) == "gamma" and o.symbol == "BTCUSDT" and o.is_active)
    before = {n: {o.client_order_id: o.price for o in a.sim_open(n)} for n in ("alpha", "beta")}
    assert w.orders_table.select_key(view.orders.key(target))
    w.update_actions()
    assert w.act_amend.isEnabled()
    asked: list[Order] = []

    async def ask(order: Order) -> tuple[Decimal | None, Decimal | None]:
        asked.append(order)
        return Decimal("59010"), None

    w.amend_asker = ask
    w.act_amend.trigger()
    a.idle()
    assert [o.client_order_id for o in asked] == [target.client_order_id]
    live = [o for o in a.sim_open("gamma") if o.symbol == "BTCUSDT"]
    assert [o.price for o in live] == [Decimal("59010")]
    for n in ("alpha", "beta"):  # the other accounts' sims are untouched
        assert {o.client_order_id: o.price for o in a.sim_open(n)} == before[n]


def test_opening_and_closing_an_account_while_the_window_runs(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts(["alpha"], answers=[False, True])
    ws, w = a.workspace, a.window
    assert not w.accounts_toolbar.isVisible()  # one account: no bar, no Account column
    assert ACCOUNT_TITLE not in _titles(w.orders_table)
    w.fill_open_menu()
    offered = [act.text() for act in w.open_menu.actions()]
    assert offered == ["beta", "delta", "gamma"]  # the profiles not open yet (sorted)
    next(act for act in w.open_menu.actions() if act.text() == "delta").trigger()
    a.idle()
    assert ws.labels() == ["alpha", "delta"]
    delta = a.controller("delta")
    assert delta.started and delta.last_ok_at is not None
    assert len(_active(delta.orders.records())) == len(a.sim_open("delta")) == 3
    assert list(w.accounts_bar.entries) == ["alpha", "delta"]
    assert w.accounts_toolbar.isVisible() and ws.showing_all
    assert ACCOUNT_TITLE in _titles(w.orders_table)
    w.fill_open_menu()
    assert [act.text() for act in w.open_menu.actions()] == ["beta", "gamma"]

    # closing: it holds orders and a position, so the operator is asked, told what stays
    w.select_scope("delta")
    held_sim = a.sim("delta")
    held = {o.client_order_id for o in a.sim_open("delta")}
    w.act_close_account.trigger()
    a.idle()
    title, text, lines = a.confirmer.asked[-1]
    assert title == "Close delta" and "stay open on the venue" in text
    assert sum(1 for line in lines if line.strip().startswith("order ")) == 3
    assert any(line.strip().startswith("position ETHUSDT long 0.2") for line in lines)
    assert ws.labels() == ["alpha", "delta"]  # declined: still open
    w.act_close_account.trigger()
    a.idle()
    assert ws.labels() == ["alpha"] and "delta" not in w.panes
    assert list(w.accounts_bar.entries) == ["alpha"]
    assert not delta.session.stream_connected  # its engine stopped
    assert {o.client_order_id for o in held_sim.open_orders("main")} == held  # left as said
    assert w.orders_table.model is a.controller("alpha").orders
    assert ACCOUNT_TITLE not in _titles(w.orders_table)
    w.set_theme("light")  # nothing of the closed account still listens to the theme
    w.set_theme("dark")
    with pytest.raises(UserFacingError, match="only open account"):
        a.run(ws.close("alpha"))
    assert w.tasks.errors == []


def test_the_global_stop_halts_every_account_before_any_cancel_and_leaves_nothing_open(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    ws, w = a.workspace, a.window
    sessions = [c.session for c in ws.controllers()]
    halted_at_first_cancel: list[list[bool]] = []
    for session in sessions:
        original = session.emergency_stop

        async def spy(*args: object, _original: object = original, **kwargs: object) -> object:
            halted_at_first_cancel.append([s.risk.halted for s in sessions])
            return await _original(*args, **kwargs)  # type: ignore[operator]

        session.emergency_stop = spy  # type: ignore[method-assign]

    w.global_button.click()  # halt every account at once, nothing sent, then offer
    a.idle()
    assert all(s.risk.halted for s in sessions)
    assert all(len(a.sim_open(n)) == 3 for n in ws.labels())  # nothing sent yet
    dialog = w.global_dialog
    assert dialog is not None and dialog.isVisible() and "every account" in dialog.windowTitle()
    dialog.cancel_all.click()
    a.idle()
    assert len(a.confirmer.asked) == 1  # one confirmation for every account
    title, _text, lines = a.confirmer.asked[0]
    assert title == "Emergency stop of every account: cancel all orders"
    for label in ws.labels():
        assert any(line.startswith(f"SIMULATED {label} (sim/main): halt, cancel every "
                                   "open order (3 in the ledger)") for line in lines)
    assert halted_at_first_cancel == [[True, True, True]] * 3

    for label in ws.labels():  # ask each sim
        assert a.sim_open(label) == []
        assert len(a.sim_positions(label)) == 1  # no flatten asked: the ETH long stays
    report = ws.last_global
    assert report is not None and len(report.accounts) == 3
    assert [p.label for p in report.accounts] == ["alpha", "beta", "gamma"]
    for part in report.accounts:
        assert part.report is not None and part.report.open_orders == ()
        assert part.cancelled == 3 and part.cancel_acknowledged_ms is not None
    assert (report.cancelled, report.open_orders, report.open_positions) == (9, 0, 3)
    assert report.last_cancel_acknowledged_ms == max(
        p.cancel_acknowledged_ms for p in report.accounts if p.cancel_acknowledged_ms)
    assert report.headline.startswith("Still open: 3 positions (on alpha, beta, gamma)")
    text = w.global_report_panel.text()
    assert "Total (3 accounts)" in text
    for label in ws.labels():
        assert f"SIMULATED {label} (sim/main)" in text
        c = a.controller(label)
        assert c.last_report is part_report(report, label)
        entries = c.session.ledger.audit_log(50)
        assert any(e.action == HALT_ACTION and dict(e.details).get("scope") == GLOBAL_SCOPE
                   for e in entries)
    assert w.global_report_dock.isVisible()
    assert w.tasks.errors == []


def part_report(report: object, label: str) -> object:
    return next(p.report for p in report.accounts if p.label == label)  # type: ignore[attr-defined]


def test_the_global_stop_only_halts_a_read_only_account_and_says_so(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts(answers=[True], read_only=["beta"])
    ws = a.workspace
    report = a.run(ws.global_stop(flatten=True))
    a.idle()
    assert report is not None
    lines = a.confirmer.asked[0][2]
    assert any(line.startswith("SIMULATED beta (sim/main): halt only. Read-only profile")
               for line in lines)
    assert all(c.session.halted for c in ws.controllers())
    for label in ("alpha", "gamma"):
        assert a.sim_open(label) == [] and a.sim_positions(label) == []
    assert len(a.sim_open("beta")) == 3 and len(a.sim_positions("beta")) == 1  # untouched
    beta = next(p for p in report.accounts if p.label == "beta")
    assert beta.read_only and beta.report is None and beta.newly_halted
    assert "halted only (read-only profile: nothing was sent" in beta.summary
    assert "halted only (read-only): beta" in report.headline
    assert not report.nothing_open
    text = a.window.global_report_panel.text()
    assert "not asked (read-only)" in text and "halted only" in text
    assert report.open_orders == 0  # of the accounts it stopped


def test_the_account_column_is_shown_only_with_several_accounts(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts(["alpha", "beta"])
    w = a.window
    assert ACCOUNT_TITLE in _titles(w.orders_table)
    a.run(a.workspace.close("beta", ask=False))
    a.idle()
    assert ACCOUNT_TITLE not in _titles(w.orders_table)
    assert not w.accounts_toolbar.isVisible() and not w.global_button.isVisible()
    assert "SIMULATED — sim/main (alpha)" in w.windowTitle()
    assert w.orders_table.model.rowCount() == len(a.controller("alpha").orders.records())
    assert w.orders_table.view.model().index(0, 0).data(Qt.ItemDataRole.DisplayRole)


def test_approving_from_all_accounts_reaches_the_items_account(
        make_accounts: MakeAccounts) -> None:
    a = make_accounts()
    w = a.window
    lost = "rc-w7-o-mwq1lost-9"  # ours by its prefix, unknown to beta's ledger
    a.sim("beta").place_order("main", category=Category.LINEAR, symbol="XRPUSDT",
                              side=Side.BUY, order_type=OrderType.LIMIT, qty=Decimal(2000),
                              price=Decimal("0.48"), client_order_id=lost)
    a.run(a.controller("beta").reconcile_now())
    a.idle()
    w.inbox.show_pending()
    shown = w.inbox.action_table.model.records()
    [item] = [i for i in shown if i.planned.action.order is not None
              and i.planned.action.order.client_order_id == lost]
    assert account_of(item) == "beta"
    assert "beta" in {w.inbox.action_table.model.cell_text(r, _titles(
        w.inbox.action_table).index(ACCOUNT_TITLE)) for r in range(len(shown))}
    w.inbox.select_items([item.key])
    w.inbox.approve_button.click()
    a.idle()
    assert "sim/main" in a.confirmer.asked[-1][1]  # the venue action was confirmed
    assert lost not in {o.client_order_id for o in a.sim_open("beta")}
    assert a.controller("beta").pending == []
    for label in ("alpha", "gamma"):
        assert len(a.sim_open(label)) == 3
