"""The window's fleet pieces: File > "Attach to a fleet ledger…" (asks for a PostgreSQL URL
and opens every account of that ledger as a remote account: `Workspace.attach_fleet`),
and the tooltips that say why the actions needing a venue connection are disabled on a
remote account (docs/architecture.md, "The console as a fleet view").

The URL is asked in a dialog that is never remembered (no setting holds it, nothing logs
it); every text shown of it has its password masked by the composition root.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLineEdit, QMenu

from console.ui.controller import ConsoleController
from console.ui.window_ref import WindowPart

if TYPE_CHECKING:
    import asyncio

    from console.ui.main_window import MainWindow

ATTACH_TEXT = "Attach to a fleet ledger…"
URL_HINT = "postgresql://user:password@host:5432/ledger"


def explain_remote(controller: ConsoleController | None, actions: Iterable[QAction]) -> None:
    """On a remote account, disable `actions` (they need the venue connection itself) and
    say why in their tooltips; elsewhere leave them as the window set them."""
    if controller is None or controller.capabilities.venue_direct:
        return
    why = controller.capabilities.why_not
    for action in actions:
        action.setEnabled(False)
        tip = str(action.property("tip") or action.text())
        action.setToolTip(f"{tip}. Not available on {why}.")


class FleetMenu(QObject, WindowPart):
    """File > Attach to a fleet ledger…"""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._hold_window(window)
        self.dialog: QInputDialog | None = None
        self.act_attach = QAction(ATTACH_TEXT, window)
        self.act_attach.setObjectName("actAttachFleet")
        tip = ("Watch and command engines running elsewhere through their shared PostgreSQL "
               "ledger: every account it holds opens as a remote account")
        self.act_attach.setToolTip(tip)
        self.act_attach.setStatusTip(tip)
        self.act_attach.setProperty("tip", tip)
        self.act_attach.triggered.connect(self.ask)
        file = self._file_menu()
        if file is not None:
            file.insertAction(window.act_close_account, self.act_attach)

    def _file_menu(self) -> QMenu | None:
        w = self.window
        for action in w.menuBar().actions():
            menu = action.menu()
            if isinstance(menu, QMenu) and w.act_close_account in menu.actions():
                return menu
        return None

    def ask(self) -> QInputDialog:
        """Ask for the URL (not modal to the loop: `open`, answered by a signal)."""
        dialog = QInputDialog(self.window)
        dialog.setWindowTitle(ATTACH_TEXT.rstrip("…"))
        dialog.setLabelText("PostgreSQL URL of the ledger the engines share (it is not "
                            "stored; a SQLite ledger is one process: open its profile "
                            f"instead):\n{URL_HINT}")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.textValueSelected.connect(self.attach)
        self.dialog = dialog
        dialog.open()
        return dialog

    def attach(self, url: str) -> asyncio.Task[object] | None:
        if self.dialog is not None:
            self.dialog.setTextValue("")  # the typed password goes with the dialog
            self.dialog.deleteLater()
            self.dialog = None
        if not url.strip():
            return None
        return self.window.run(self.window.workspace.attach_fleet(url.strip()),
                               "attach to a fleet ledger")
