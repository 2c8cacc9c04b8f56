"""The issue's acceptance list, driven through the window as an operator would: real
engine, real sim, real SQLite ledger; only the operator's answers are scripted."""

from __future__ import annotations

from decimal import Decimal

from console.domain import OrderStatus
from console.domain.reconciliation import ActionKind, DiscrepancyKind
from console.ui.models.inbox import InboxItem
from console.ui.widgets.inbox import evidence_rows

from .conftest import Harness, MakeConsole


def _awaiting(h: Harness, symbol: str) -> InboxItem:
    items = [i for i in h.controller.pending
             if i.discrepancy is not None and i.discrepancy.symbol == symbol]
    assert items, f"no awaiting action for {symbol}: {h.controller.pending}"
    first: InboxItem = items[0]
    return first


def _cid(item: InboxItem) -> str:
    order = item.planned.action.order
    assert order is not None
    return order.client_order_id


def _sim_status(h: Harness, client_id: str) -> OrderStatus:
    order = h.exchange.order_by_client_id("main", client_id)
    assert order is not None
    return order.status


def _select(h: Harness, item: InboxItem) -> None:
    h.window.inbox.show_pending()
    h.window.inbox.select_items([item.key])
    assert [i.key for i in h.window.inbox.selected()] == [item.key]


def _audit_actions(h: Harness) -> list[tuple[str, str, str]]:
    return [(r.entry.actor, r.entry.action, r.entry.subject) for r in h.controller.audit.records()]


def test_startup_reconciliation_shows_the_discrepancy_with_its_evidence(
        make_console: MakeConsole) -> None:
    h = make_console("crashed-session")
    inbox = h.window.inbox
    assert inbox.run_id is None  # the inbox opens on what awaits the operator
    shown = h.controller.inbox.records()
    assert {i.planned.action.kind for i in shown} == {ActionKind.CANCEL_ORDER}
    assert {i.discrepancy.kind for i in shown if i.discrepancy} == {DiscrepancyKind.UNKNOWN_OURS}
    assert "2</b> actions awaiting approval" in inbox.heading.text()

    item = _awaiting(h, "BTCUSDT")
    _select(h, item)
    pane = inbox.evidence
    assert pane.item is not None and pane.item.key == item.key
    rows = {pane.table.item(r, 0).text(): (pane.table.item(r, 1).text(),
                                           pane.table.item(r, 2).text())
            for r in range(pane.table.rowCount())}
    assert rows["order"][0] == "absent"                    # the ledger side
    assert rows["status"] == ("–", "NEW")                  # the venue side
    assert rows["price"][1] == "59000"
    assert rows["client_order_id"][1].startswith("rc-w1-e-")
    assert rows["seen at"][1] != "–"                       # when the venue was seen
    assert "unknown_ours" in pane.title.text()
    assert "awaiting approval" in pane.details.text()
    assert inbox.approve_button.isEnabled() and inbox.reject_button.isEnabled()


def test_auto_applied_actions_show_as_done_in_the_run_history(
        make_console: MakeConsole) -> None:
    h = make_console("missed-fill")
    assert h.controller.pending == []
    startup = h.controller.run_history[-1]
    h.window.inbox.show_run(startup.run_id)
    items = {i.planned.action.kind: i for i in h.controller.inbox.records()}
    marked = items[ActionKind.MARK_FILLED]
    assert marked.state_text == "done (auto)"
    rows = {name: (ledger, venue) for name, ledger, venue in evidence_rows(marked)}
    assert rows["status"] == ("NEW", "FILLED")
    assert rows["filled_qty"] == ("0", "0.01")
    assert "awaiting" not in h.window.inbox.heading.text().split(":")[0]


def test_approving_a_cancel_orphan_cancels_it_on_the_sim_and_logs_it(
        make_console: MakeConsole) -> None:
    h = make_console("crashed-session")
    item = _awaiting(h, "BTCUSDT")
    client_id = _cid(item)
    other = _cid(_awaiting(h, "ETHUSDT"))
    _select(h, item)
    h.window.inbox.approve_button.click()
    h.idle()

    assert _sim_status(h, client_id) is OrderStatus.CANCELLED
    assert _sim_status(h, other) is OrderStatus.NEW
    operator = f"operator:{h.window.settings.operator}"
    assert (operator, "cancel_order:applied", client_id) in _audit_actions(h)
    assert [i.key for i in h.controller.pending] == [_awaiting(h, "ETHUSDT").key]
    assert h.window.tasks.errors == []


def test_rejecting_leaves_the_order_on_the_sim(make_console: MakeConsole) -> None:
    h = make_console("crashed-session")
    item = _awaiting(h, "ETHUSDT")
    client_id = _cid(item)
    _select(h, item)
    h.window.inbox.reject_button.click()
    h.idle()

    assert _sim_status(h, client_id) is OrderStatus.NEW
    operator = f"operator:{h.window.settings.operator}"
    assert (operator, "cancel_order:rejected", client_id) in _audit_actions(h)
    assert item.key not in {i.key for i in h.controller.pending}
    h.window.inbox.show_run(item.run_id)
    rejected = h.controller.inbox.get(item.key)
    assert rejected is not None and rejected.state_text.startswith("rejected")


def test_emergency_stop_leaves_no_open_orders_and_the_window_reports_it(
        make_console: MakeConsole) -> None:
    h = make_console("clean", demo=True, answers=[True])
    h.pump(0.3)
    assert h.session.demo is not None and h.session.demo.running
    assert h.sim_open(), "the scenario and the demo leave orders resting"

    h.window.emergency_button.click()  # halt: no confirmation
    h.idle()
    assert h.session.engine.halted
    assert not getattr(h.session.demo, "running")  # noqa: B009
    assert h.confirmer.asked == []
    assert "HALTED" in h.window.status.risk_text
    dialog = h.window.emergency_dialog
    assert dialog is not None and dialog.isVisible()

    dialog.cancel_all.click()  # confirms once, listing the side effects
    h.idle()
    assert len(h.confirmer.asked) == 1
    title, _text, details = h.confirmer.asked[0]
    assert "cancel all" in title.lower()
    assert any(d.strip().startswith("cancel BTCUSDT Buy") for d in details)
    assert any("refused until an operator resumes" in d for d in details)

    assert h.sim_open() == []
    report = h.controller.last_report
    assert report is not None and report.open_orders == () and report.cancelled
    text = h.window.report_panel.text()
    # no order is left, the ETH position is (cancel-all does not flatten): the headline
    # says exactly that (it once read "Nothing is left open" above the open position)
    assert "Still open: 1 position (ETHUSDT long 0.2)" in text
    assert f"Cancelled: {len(report.cancelled)}" in text
    assert "Still open orders: 0" in text
    assert h.window.report_dock.isVisible()
    assert not dialog.isVisible()

    # pressed again: safe, and says so
    h.window.emergency_button.click()
    h.idle()
    assert "already halted" in h.controller.results[-1]
    h.confirmer.answers.append(True)
    h.window.act_cancel_all.trigger()
    h.idle()
    assert h.controller.last_report.already_halted
    assert h.sim_open() == []
    assert h.window.tasks.errors == []


def test_emergency_flatten_closes_the_positions(make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[True])
    assert h.exchange.positions("main"), "the clean scenario holds an ETH long"
    h.window.act_flatten.trigger()
    h.idle()
    details = h.confirmer.asked[0][2]
    assert any("ETHUSDT long 0.2" in d for d in details)
    assert h.exchange.positions("main") == []
    assert h.sim_open() == []
    text = h.window.report_panel.text()
    assert "Flattened: 1" in text and "Still open positions: 0" in text


def test_declining_the_emergency_confirmation_sends_nothing(make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[False])
    before = len(h.sim_open())
    h.window.act_cancel_all.trigger()
    h.idle()
    assert len(h.sim_open()) == before
    assert h.controller.last_report is None


def test_a_hand_cancel_on_the_exchange_appears_after_reconcile(
        make_console: MakeConsole) -> None:
    h = make_console("clean")
    target = next(o for o in h.sim_open() if o.symbol == "SOLUSDT")
    row = h.controller.orders.get(target.client_order_id)
    assert row is not None and row.status is OrderStatus.NEW

    h.controller.chaos_action("hand_cancel", target.venue_order_id)  # its events are lost
    h.idle()
    assert h.controller.orders.get(target.client_order_id).status is OrderStatus.NEW

    h.window.act_reconcile.trigger()
    h.idle()
    after = h.controller.orders.get(target.client_order_id)
    assert after is not None and after.status is OrderStatus.CANCELLED
    h.window.orders_table.filter.setText("cancelled")
    visible = [h.controller.orders.record(r).ident
               for r in h.window.orders_table.visible_rows()]
    assert visible == [target.client_order_id]
    assert "Reconciliation ok" in h.controller.results[-1]


def test_amend_dialog_changes_the_order_on_the_sim(make_console: MakeConsole) -> None:
    h = make_console("clean")
    target = next(o for o in h.sim_open() if o.symbol == "BTCUSDT")
    assert h.window.orders_table.select_key(target.client_order_id)
    h.window.update_actions()
    assert h.window.act_amend.isEnabled()
    h.window.act_amend.trigger()
    h.pump(0.1)
    dialog = h.window.amend_dialogs[-1]
    assert dialog.isVisible()
    dialog.price.setText("59010")
    dialog.accept()
    h.idle()
    live = [o for o in h.sim_open() if o.symbol == "BTCUSDT"]
    assert [o.price for o in live] == [Decimal("59010")]
    assert h.controller.results[-1].startswith("Amend: BTCUSDT: ")
    assert "59010" in h.controller.results[-1]


def test_cancel_orphans_lists_exactly_what_it_cancels(make_console: MakeConsole) -> None:
    h = make_console("crashed-session", answers=[False, True])
    ids = {i.planned.action.order.client_order_id for i in h.controller.pending}
    h.window.act_orphans.trigger()
    h.idle()
    assert {o.client_order_id for o in h.sim_open()} == ids  # declined: nothing sent
    _title, _text, listed = h.confirmer.asked[0]
    assert len(listed) == 2 and all(any(i in line for i in ids) for line in listed)

    h.window.act_orphans.trigger()
    h.idle()
    assert h.sim_open() == []
    assert h.controller.pending == []
