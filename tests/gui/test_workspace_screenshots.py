"""Screenshots of the window over three accounts: every account at once (Account column,
accounts bar, STOP ALL ACCOUNTS), one account, and the report of the emergency stop of
every account. Saved to build/screenshots/ (RECON_SCREENSHOTS_DIR when set:
docs/refresh-screenshots.sh points it at docs/screenshots/); a test run never writes
into docs/."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from console.ui.all_accounts import ACCOUNT_TITLE

from . import accounts_harness
from .accounts_harness import Accounts, MakeAccounts
from .conftest import SCREENSHOTS
from .shown_texts import assert_no_canary_shown

make_accounts = accounts_harness.make_accounts


def _save(a: Accounts, name: str) -> QImage:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    a.run(a.window.summary_panel.refresh())
    a.idle()
    assert_no_canary_shown(a.window)
    image: QImage = a.window.grab().toImage()
    assert not image.isNull() and image.width() >= 1200
    assert image.save(str(SCREENSHOTS / name))
    return image


def test_accounts_screenshots(make_accounts: MakeAccounts) -> None:
    a = make_accounts(answers=[True])
    w = a.window
    w.summary_dock.raise_()
    titles = [c.title for c in w.orders_table.model.columns]
    assert ACCOUNT_TITLE in titles and w.accounts_toolbar.isVisible()
    _save(a, "accounts-all.png")

    w.select_scope("beta")
    w.inbox_dock.raise_()
    assert ACCOUNT_TITLE not in [c.title for c in w.orders_table.model.columns]
    _save(a, "accounts-one.png")

    w.select_scope(None)
    w.global_button.click()
    a.idle()
    assert w.global_dialog is not None
    w.global_dialog.cancel_all.click()
    a.idle()
    w.global_dialog.close()
    w.resizeDocks([w.charts_dock], [1000], Qt.Orientation.Horizontal)
    # the charts keep their readable minimum height: the report takes height from the
    # bottom docks instead
    w.resizeDocks([w.inbox_dock], [200], Qt.Orientation.Vertical)
    w.resizeDocks([w.charts_dock, w.global_report_dock], [160, 760], Qt.Orientation.Vertical)
    assert all(a.sim_open(label) == [] for label in a.workspace.labels())
    assert w.global_report_dock.isVisible()
    assert "Total (3 accounts)" in w.global_report_panel.text()
    _save(a, "emergency-report-global.png")
