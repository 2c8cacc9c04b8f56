"""Alerts panel: active alerts (critical first) with first/last seen, and acknowledge.
Acknowledging records who has seen an alert; only its condition going away clears it.
The table is never squeezed below `MIN_ROWS` rows (a docked pane two rows tall hid the
second alert)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QPushButton, QVBoxLayout, QWidget

from console.domain.alerts import Alert
from console.ui.scope import ScopeView
from console.ui.settings import UiSettings
from console.ui.widgets.headers import fit_headers
from console.ui.widgets.table import ROW_HEIGHT, TablePanel

MIN_ROWS = 5
"""Rows a docked alerts or audit pane always shows."""


def keep_rows(table: TablePanel[Any], rows: int = MIN_ROWS) -> None:
    """Never let `table` shrink below `rows` rows (header and frame included)."""
    view = table.view
    header = view.horizontalHeader().sizeHint().height()
    scroll = view.horizontalScrollBar().sizeHint().height()
    view.setMinimumHeight(header + rows * ROW_HEIGHT + scroll + 2 * view.frameWidth())


class AlertsPanel(QWidget):
    acknowledge_requested = Signal(list)

    def __init__(self, controller: ScopeView, *, settings: UiSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.table: TablePanel[Alert] = TablePanel(
            "alerts", controller.alerts_model, settings=settings,
            placeholder="Filter alerts…", parent=self)
        self.ack_button = QPushButton("Acknowledge", self)
        self.ack_button.clicked.connect(
            lambda: self.acknowledge_requested.emit(self.table.selected()))
        self.show_cleared = QCheckBox("Show cleared", self)
        self.show_cleared.toggled.connect(controller.set_show_cleared)
        self.table.toolbar.insertWidget(0, self.show_cleared)
        self.table.toolbar.insertWidget(0, self.ack_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        keep_rows(self.table)
        fit_headers(self.table.view)
        if not controller.can_acknowledge:
            self.ack_button.setEnabled(False)
            self.table.filter.setPlaceholderText("Alerts are not available in this session")
