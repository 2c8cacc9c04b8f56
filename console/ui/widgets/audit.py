"""The operator audit log (newest first): every decision, automatic or by an operator.
Like the alerts pane, never squeezed below a few rows."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton, QVBoxLayout, QWidget

from console.ui.models.audit import AuditRow
from console.ui.scope import ScopeView
from console.ui.settings import UiSettings
from console.ui.widgets.alerts import keep_rows
from console.ui.widgets.headers import fit_headers
from console.ui.widgets.table import TablePanel


class AuditPanel(QWidget):
    def __init__(self, controller: ScopeView, *, settings: UiSettings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table: TablePanel[AuditRow] = TablePanel(
            "audit", controller.audit, settings=settings, placeholder="Filter the audit log…",
            parent=self)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.clicked.connect(lambda: controller.refresh_soon("audit", delay_ms=0))
        self.table.toolbar.insertWidget(0, self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        keep_rows(self.table)
        fit_headers(self.table.view)
