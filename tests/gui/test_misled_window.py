"""What misled a new user in the window (issue "what misled", window side), each driven as
an operator would on the real engine, the real sim and a real SQLite ledger: the badge
that vanished behind status messages, a critical alert that outlived its clearing, an
empty orders table over orders resting on the venue, flatten orders never listed, an
approval sent without a question, a quit that left everything open without a word,
clipped texts and "1 rows"."""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtGui import QStatusTipEvent
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow

from console.domain import Category, OrderStatus, OrderType, Side
from console.domain.enums import TriggerDirection
from console.domain.reconciliation import RunTrigger, Severity
from console.ui.models.orders import NOT_IN_LEDGER
from console.ui.theme import Tone
from console.ui.widgets.table import ROW_HEIGHT

from .conftest import Harness, MakeConsole


def _status_texts(window: QMainWindow) -> list[str]:
    """Everything the status bar shows: its message and its visible labels."""
    bar = window.statusBar()
    shown = [bar.currentMessage()] if bar.currentMessage() else []
    shown += [label.text() for label in bar.findChildren(QLabel) if label.isVisible()]
    return shown


def _wait_for(h: Harness, check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        h.pump(0.02)


def _column(model: object, title: str) -> int:
    return [c.title for c in model.columns].index(title)  # type: ignore[attr-defined]


def test_the_badge_stays_in_view_whatever_the_status_bar_says(
        make_console: MakeConsole) -> None:
    h = make_console("clean")
    status, bar = h.window.status, h.window.statusBar()
    assert status.badge.isVisible() and status.badge.text() == "SIMULATED"
    bar.showMessage("Reconciliation ok: 0 discrepancies", 15_000)
    assert status.badge.isVisible() and status.identity.isVisible()
    assert any("Reconciliation ok" in t for t in _status_texts(h.window))
    # what the controller says goes the same way
    h.controller.say("Amend: BTCUSDT: amended in place")
    assert status.badge.isVisible()
    assert status.message.isVisible() and "amended in place" in status.message.text()
    # Qt shows an action's status tip by itself (a menu item under the mouse)
    QApplication.sendEvent(bar, QStatusTipEvent(h.window.act_reconcile.statusTip()))
    assert status.badge.isVisible()
    bar.clearMessage()
    assert status.badge.isVisible() and status.message.text() == ""


def test_a_critical_alert_leaves_the_status_bar_when_it_clears(
        make_console: MakeConsole) -> None:
    h = make_console("crashed-session")
    critical = [a for a in h.controller.alerts_model.records()
                if a.is_active and a.severity is Severity.CRITICAL]
    assert [a.rule for a in critical] == ["trading_paused"]
    assert any(n.critical and "trading_paused" in n.title for n in h.console.notifier.sent)
    assert any("trading_paused" in t for t in _status_texts(h.window))

    # the orphans get cancelled and the next periodic run finds the book clean: the pause
    # ends and the alert clears, with nothing else said in between
    engine = h.session.engine
    for item in list(h.controller.pending):
        h.run(engine.executor.approve(item.run_id, item.index, "elsewhere"))
    h.run(engine.reconciler.run_once(RunTrigger.PERIODIC))
    h.idle()
    assert not h.session.engine.risk.paused
    assert not any(a.is_active and a.severity is Severity.CRITICAL
                   for a in h.controller.alerts_model.records())
    shown = _status_texts(h.window)
    assert not any("trading_paused" in t for t in shown), shown
    assert not h.window.status.alert.isVisible()


def test_orders_resting_on_the_venue_unknown_to_the_ledger_are_listed(
        make_console: MakeConsole) -> None:
    h = make_console("crashed-session")
    on_venue = {o.client_order_id for o in h.sim_open()}
    assert len(on_venue) == 2 and h.session.ledger.orders("sim", "main") == []
    model = h.controller.orders
    rows = {o.client_order_id: o for o in model.records()}
    assert set(rows) == on_venue  # the table showed 0 rows over these
    origin = _column(model, "Origin")
    for client_id in on_venue:
        index = model.index(model.row_of(client_id), origin)
        assert index.data() == NOT_IN_LEDGER
        assert index.data(Qt.ItemDataRole.ForegroundRole) == h.window.theme.color(Tone.WARNING)
        assert "inbox" in index.data(Qt.ItemDataRole.ToolTipRole)
    h.window.orders_table.filter.setText("not in ledger")
    assert len(h.window.orders_table.visible_rows()) == 2
    h.window.orders_table.filter.setText("")

    # one more of ours the ledger never saw, reported by the private stream: listed at once
    extra = h.exchange.place_order("main", category=Category.LINEAR, symbol="SOLUSDT",
                                   side=Side.BUY, order_type=OrderType.LIMIT,
                                   qty=Decimal("1"), price=Decimal("100"),
                                   client_order_id="rc-w1-o-lost0001")
    _wait_for(h, lambda: model.get(extra.client_order_id) is not None)
    seen = model.get(extra.client_order_id)
    assert seen is not None and model.index(model.row_of(extra.client_order_id),
                                            origin).data() == NOT_IN_LEDGER

    # cancelling one from the inbox: the ledger records it, the mark goes
    item = next(i for i in h.controller.pending
                if i.planned.action.order is not None
                and i.planned.action.order.symbol == "BTCUSDT")
    h.run(h.controller.approve([item]))
    h.idle()
    btc = item.planned.action.order.client_order_id
    row = model.get(btc)
    assert row is not None and row.status is OrderStatus.CANCELLED
    assert model.index(model.row_of(btc), origin).data() != NOT_IN_LEDGER


def test_the_emergency_flatten_orders_are_listed(make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[True])
    h.window.act_flatten.trigger()
    h.idle()
    report = h.controller.last_report
    assert report is not None and report.flattened
    flatten_ids = {f.order.client_order_id for f in report.flattened if f.order is not None}
    assert flatten_ids
    shown = {o.client_order_id: o for o in h.controller.orders.records()}
    assert flatten_ids <= set(shown), "the flatten orders fill at once and were never listed"
    for client_id in flatten_ids:
        assert shown[client_id].status is OrderStatus.FILLED and shown[client_id].reduce_only
    visible = {h.controller.orders.record(r).client_order_id
               for r in h.window.orders_table.visible_rows()}
    assert flatten_ids <= visible  # "Show finished (10 min)" is on by default


def test_approving_one_venue_action_asks_first_listing_what_is_sent(
        make_console: MakeConsole) -> None:
    h = make_console("crashed-session", answers=[False, True])
    item = next(i for i in h.controller.pending
                if i.planned.action.order is not None
                and i.planned.action.order.symbol == "BTCUSDT")
    client_id = item.planned.action.order.client_order_id
    h.window.inbox.show_pending()
    h.window.inbox.select_items([item.key])
    h.window.inbox.approve_button.click()
    h.idle()
    assert len(h.confirmer.asked) == 1, "one venue action went out without a question"
    title, _text, details = h.confirmer.asked[0]
    assert "1 venue action" in title
    assert any(d.startswith("Send: cancel BTCUSDT Buy 0.01 @ 59000") and client_id in d
               for d in details)
    assert any("leaves the venue's book" in d for d in details)
    order = h.exchange.order_by_client_id("main", client_id)
    assert order is not None and order.status is OrderStatus.NEW  # declined: nothing sent
    assert item.key in {i.key for i in h.controller.pending}

    h.window.inbox.select_items([item.key])
    h.window.inbox.approve_button.click()
    h.idle()
    order = h.exchange.order_by_client_id("main", client_id)
    assert order is not None and order.status is OrderStatus.CANCELLED


class _CloseButton:
    """What the window manager's close button delivers: a spontaneous close event (Qt
    offers no way to make one from Python, and offscreen windows get none)."""

    ignored = False

    def spontaneous(self) -> bool:
        return True

    def ignore(self) -> None:
        self.ignored = True


class _ProgramClose(_CloseButton):
    def spontaneous(self) -> bool:
        return False


def test_quitting_with_positions_open_and_trading_halted_asks_first(
        make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[False, False])
    w = h.window
    w.emergency_button.click()  # halt: nothing sent, no question
    h.idle()
    assert h.session.engine.halted and h.confirmer.asked == []

    w.act_quit.trigger()  # Ctrl+Q
    h.idle()
    assert w.isVisible(), "the window quit without a word"
    title, text, details = h.confirmer.asked[-1]
    assert "Quit" in title and "stays as it is on the venues" in text
    assert any("HALTED" in d for d in details)
    assert any("position ETHUSDT long 0.2" in d for d in details)
    open_orders = [o for o in h.sim_open()]
    assert open_orders and any(f"{len(open_orders)} open orders" in d for d in details)
    assert any(open_orders[0].client_order_id in d for d in details)
    assert "Quit cancelled" in w.statusBar().currentMessage()

    # the window's close button goes through the same question
    button = _CloseButton()
    w.closeEvent(button)
    h.idle()
    assert button.ignored and w.isVisible() and len(h.confirmer.asked) == 2
    # a close the program asks for (a host, this test's harness) is not an operator's quit
    assert not w.quit_guard.intercept(_ProgramClose())

    h.confirmer.answers.append(True)
    w.act_quit.trigger()
    h.idle()
    assert not w.isVisible()


def test_quitting_with_nothing_open_does_not_ask(make_console: MakeConsole) -> None:
    h = make_console("clean", answers=[True])
    h.run(h.controller.emergency_stop(flatten=True))
    h.run(h.controller.resume())
    h.idle()
    h.confirmer.asked.clear()
    assert h.sim_open() == [] and h.exchange.positions("main") == []
    h.window.act_quit.trigger()
    h.idle()
    assert not h.window.isVisible() and h.confirmer.asked == []


def test_texts_are_not_cut(make_console: MakeConsole) -> None:
    h = make_console("crashed-session")
    w = h.window
    # the PAUSED reason: a whole phrase, the full reason on hover (not cut mid-word)
    risk = w.status.risk
    reason = h.session.engine.risk.reason
    assert "PAUSED" in risk.text() and "hard desync" in risk.text()
    assert "…" not in risk.text() and reason in risk.toolTip()
    # every column of the run history shows, its headers uncut
    runs = w.inbox.runs_view
    header = runs.horizontalHeader()
    for section in range(header.count()):
        title = str(runs.model().headerData(section, Qt.Orientation.Horizontal))
        assert header.sectionSize(section) >= header.fontMetrics().horizontalAdvance(title), (
            title)
    assert runs.horizontalScrollBar().maximum() == 0, "run history columns cut off"
    # the alerts and audit panes show more than two rows
    for panel in (w.alerts_panel, w.audit_panel):
        assert panel.table.view.viewport().height() >= 5 * ROW_HEIGHT


def test_counts_agree_in_number(make_console: MakeConsole) -> None:
    h = make_console("clean")
    # a stop placed by hand on the exchange, its events lost: the next run finds one thing
    h.controller.chaos_action("drop_private_events", 5)
    h.exchange.place_order("main", category=Category.LINEAR, symbol="ETHUSDT", side=Side.SELL,
                           order_type=OrderType.MARKET, qty=Decimal("0.1"),
                           trigger_price=Decimal("2000"), trigger_direction=TriggerDirection.FALL,
                           reduce_only=True, client_order_id="hand-stop-1")
    h.run(h.controller.reconcile_now())
    h.idle()
    assert len(h.controller.last_outcome.run.discrepancies) == 1
    said = h.controller.results[-1]
    assert said.startswith("Reconciliation ok: 1 discrepancy, "), said
    w = h.window
    assert w.balances_table.model.rowCount() == 1
    assert w.balances_table.count.text() == "1 row"
    w.orders_table.filter.setText("hand-stop-1")
    assert w.orders_table.count.text().startswith("1 of ")
