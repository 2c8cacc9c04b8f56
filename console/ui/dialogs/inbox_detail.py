"""One inbox action in a window of its own: what was found, the ledger's and the venue's
values side by side, what the action does and where it stands. Opened with Enter on an
inbox row (or a double click), so the evidence is readable without the mouse and larger
than the docked pane allows. Non-modal; Escape closes it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QVBoxLayout, QWidget

from console.ui.models.inbox import InboxItem
from console.ui.theme import Tone


class InboxDetailDialog(QDialog):
    def __init__(self, item: InboxItem, tone_hex: Callable[[Tone], str],
                 parent: QWidget | None = None) -> None:
        from console.ui.widgets.inbox import EvidencePane  # the pane the inbox docks

        super().__init__(parent)
        self.item = item
        self.setObjectName("inboxDetail")
        self.setWindowTitle(f"Inbox: {item.planned.action.kind.value} "
                            f"{item.planned.action.subject}")
        self.setModal(False)
        self.evidence = EvidencePane(tone_hex, self)
        self.evidence.show_item(item)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.evidence, 1)
        layout.addWidget(buttons)
        self.resize(640, 420)
