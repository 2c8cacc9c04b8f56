"""A rejection holds in the window: the next run does not bring the action back to the
inbox while the venue is unchanged; the inbox lists the held rejections and Un-reject
lifts one (nothing sent), after which the next run proposes it again."""

from __future__ import annotations

from console.domain import OrderStatus

from .conftest import MakeConsole


def test_a_rejection_holds_is_listed_and_can_be_lifted(make_console: MakeConsole) -> None:
    h = make_console("crashed-session")
    w = h.window
    inbox = w.inbox
    eth = next(i for i in h.controller.pending
               if i.planned.action.order is not None
               and i.planned.action.order.symbol == "ETHUSDT")
    client_id = eth.planned.action.order.client_order_id
    inbox.show_pending()
    inbox.select_items([eth.key])
    inbox.reject_button.click()
    h.idle()

    h.run(h.controller.reconcile_now())  # the venue is unchanged: the rejection holds
    h.idle()
    subjects = {i.planned.action.subject for i in h.controller.pending}
    assert eth.planned.action.subject not in subjects
    assert inbox.held_button.text() == "Held rejections (1)"

    inbox.held_button.click()
    held = h.controller.inbox.records()
    assert [i.planned.action.subject for i in held] == [eth.planned.action.subject]
    state = [c.title for c in h.controller.inbox.columns].index("State")
    text = h.controller.inbox.cell_text(0, state)
    assert text.startswith("rejection holds (operator:") and "venue unchanged" in text
    assert "holding" in inbox.heading.text()
    inbox.select_items([held[0].key])
    assert inbox.lift_button.isEnabled()
    assert not inbox.approve_button.isEnabled() and not inbox.reject_button.isEnabled()

    inbox.lift_button.click()  # Un-reject: nothing is sent
    h.idle()
    order = h.exchange.order_by_client_id("main", client_id)
    assert order is not None and order.status is OrderStatus.NEW
    operator = f"operator:{w.settings.operator}"
    assert any(r.entry.actor == operator and r.entry.action == "cancel_order:rejection_lifted"
               for r in h.controller.audit.records())
    assert inbox.held_button.text() == "Held rejections (0)"

    h.run(h.controller.reconcile_now())  # proposed again, awaiting approval
    h.idle()
    assert eth.planned.action.subject in {i.planned.action.subject
                                          for i in h.controller.pending}
