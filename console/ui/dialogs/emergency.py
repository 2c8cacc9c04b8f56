"""After the red button halts trading: the two escalations, each confirmed once with
the list of side effects (by the controller), offered in a non-modal dialog."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from console.ui.format import plural


class EmergencyDialog(QDialog):
    cancel_all_requested = Signal()
    flatten_requested = Signal()

    def __init__(self, parent: QWidget | None = None, *, read_only: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("Emergency stop")
        self.setModal(False)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)  # venue/exception text
        self.status.setWordWrap(True)
        self.cancel_all = QPushButton("Cancel all orders…", self)
        self.cancel_all.setToolTip("Bulk-cancel every open order (asks once, listing them)")
        self.flatten = QPushButton("Cancel all orders and flatten positions…", self)
        self.flatten.setToolTip("Also close every position with reduce-only market orders")
        self.close_button = QPushButton("Close", self)
        for button in (self.cancel_all, self.flatten):
            button.setObjectName("emergencyStop")
            button.setEnabled(not read_only)
        self.cancel_all.clicked.connect(self._cancel_all)
        self.flatten.clicked.connect(self._flatten)
        self.close_button.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.cancel_all)
        layout.addWidget(self.flatten)
        layout.addWidget(self.close_button)
        if read_only:
            self.status.setText("Trading is halted. This profile is read-only: orders cannot "
                                "be cancelled from here.")

    def set_halted(self, newly: bool, open_orders: int, positions: int) -> None:
        first = ("Trading is HALTED: new orders are refused and strategies are stopped. "
                 if newly else "Trading was already halted. ")
        self.status.setText(f"{first}Nothing has been sent to the venue. "
                            f"{plural(open_orders, 'open order')} and "
                            f"{plural(positions, 'position')} in the ledger.")

    def _cancel_all(self) -> None:
        self.cancel_all_requested.emit()

    def _flatten(self) -> None:
        self.flatten_requested.emit()
