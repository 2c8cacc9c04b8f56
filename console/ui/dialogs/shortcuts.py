"""The keyboard shortcut sheet (F1, Help > Keyboard shortcuts): every action of the window
that has a key, read from the actions themselves, so the sheet cannot drift from what
the keys do. A destructive action whose key waits for the operator's opt-in (Settings >
Enable shortcuts for destructive actions) is listed with its key and says so; an action
whose key works only in one place (Delete in an orders table) says where."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from console.ui.widgets.text_table import set_rows

OPT_IN = "after Settings > Enable shortcuts for destructive actions"


def action_name(action: QAction) -> str:
    """The action's text as a menu shows it, without its mnemonic marker."""
    return action.text().replace("&&", "\x00").replace("&", "").replace("\x00", "&")


def shortcut_rows(actions: Iterable[QAction]) -> list[tuple[str, str, str]]:
    """(action, keys, note) for every action with a key (given or waiting for the
    destructive opt-in), once each, sorted by key."""
    rows: dict[tuple[str, str], tuple[str, str, str]] = {}
    for action in actions:
        name = action_name(action)
        if not name:
            continue
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText)
                for k in action.shortcuts() if not k.isEmpty()]
        notes: list[str] = []
        if not keys and action.property("destructive"):
            wanted = str(action.property("wanted_shortcut") or "")
            if wanted:
                keys = [QKeySequence(wanted).toString(QKeySequence.SequenceFormat.NativeText)]
                notes.append(OPT_IN)
        if not keys:
            continue
        where = str(action.property("shortcut_where") or "")
        if where:
            notes.append(where)
        if not action.isEnabled():
            notes.append("not available now")
        text = " or ".join(keys)
        rows[(name, text)] = (name, text, "; ".join(notes))
    return sorted(rows.values(), key=lambda r: (r[1].lower(), r[0].lower()))


class ShortcutSheet(QDialog):
    """Non-modal: it can stay open beside the window while the keys are tried."""

    def __init__(self, actions: Iterable[QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutSheet")
        self.setWindowTitle("Keyboard shortcuts")
        self.setModal(False)
        self.rows = shortcut_rows(actions)
        intro = QLabel("Every action with a key. Approving and cancelling from a table ask "
                       "first, listing what is sent; cancel-all and flatten keys work only "
                       "after the opt-in in Settings.", self)
        intro.setWordWrap(True)
        self.table = QTableWidget(len(self.rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Action", "Keys", "Note"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        set_rows(self.table, self.rows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(760, 560)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
