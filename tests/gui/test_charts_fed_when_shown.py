"""The window's chart timer feeds only the charts on screen: each feed takes the account's
metrics snapshot (up to 14 ms a tick with three accounts, bench/ui_load.py); an account's
charts take theirs again, from the snapshot's recent samples, once it is shown."""

from __future__ import annotations

import pytest

from . import accounts_harness
from .accounts_harness import MakeAccounts

make_accounts = accounts_harness.make_accounts


def test_only_the_shown_accounts_charts_are_fed(make_accounts: MakeAccounts,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    a = make_accounts(["alpha", "beta"])
    w = a.window
    w.feed_timer.stop()  # its ticks are the calls below
    asked: list[str] = []
    for label in ("alpha", "beta"):
        pane = w.panes[label]
        feed = pane.feed_charts

        def counted(label: str = label, feed=feed) -> None:  # type: ignore[no-untyped-def]
            asked.append(label)
            feed()
        monkeypatch.setattr(pane, "feed_charts", counted)

    w.select_scope("alpha")
    a.idle()
    w._feed_charts()
    assert asked == ["alpha"]

    asked.clear()
    w.select_scope("beta")
    a.idle()
    w._feed_charts()
    assert asked == ["beta"]

    asked.clear()
    w.charts_dock.close()  # no account's charts on screen: nobody is asked
    a.idle()
    w._feed_charts()
    assert asked == []
