"""Add a venue profile (no secret: the key goes to the keyring in the next step).

The venues, and each venue's own fields (Bybit's category and settle coin), come from the
port (`ProfilesPort.venues`, the build's venue registry): the dialog offers exactly the
venues this build can connect to and knows none of them by name.
"""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console.errors import UserFacingError
from console.ui.ports import ProfileDraft, ProfilesPort, VenueChoice

FieldWidget = QComboBox | QLineEdit


class ProfileDialog(QDialog):
    saved = Signal(str)
    """The new profile's name."""

    def __init__(self, port: ProfilesPort, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = port
        self.setWindowTitle("Add a venue profile")
        self.name = QLineEdit(self)
        self.venue = QComboBox(self)
        for choice in port.venues:
            self.venue.addItem(choice.name)
            self.venue.setItemData(self.venue.count() - 1, choice.title,
                                   Qt.ItemDataRole.ToolTipRole)
        self.network = QComboBox(self)
        self.network.addItems(["testnet", "mainnet", "custom"])
        self.network.currentTextChanged.connect(self._network)
        self.account = QLineEdit("main", self)
        self.symbols = QLineEdit(self)
        self.symbols.setPlaceholderText("BTCUSDT, ETHUSDT (empty: all)")
        self.rest_url = QLineEdit(self)
        self.ws_url = QLineEdit(self)
        self.read_only = QCheckBox("Read-only (no venue-changing action)", self)
        self.error = QLabel(self)
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        self.form = form = QFormLayout()
        for label, widget in (("Name", self.name), ("Venue", self.venue),
                              ("Network", self.network), ("Account", self.account)):
            form.addRow(label, widget)
        self.fields: dict[str, dict[str, FieldWidget]] = {
            choice.name: self._add_fields(choice) for choice in port.venues}
        for label, widget in (("Symbols", self.symbols), ("REST URL", self.rest_url),
                              ("WebSocket URL", self.ws_url)):
            form.addRow(label, widget)
        form.addRow("", self.read_only)
        self.venue.currentTextChanged.connect(self._venue)
        self._venue(self.venue.currentText())
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, parent=self)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        if not self.fields:
            self.error.setText("This build has no venue connector: profiles cannot be added.")
            save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
            if save is not None:
                save.setEnabled(False)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Mainnet trades real money; start on testnet.", self))
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._network(self.network.currentText())
        self._tasks: set[asyncio.Task[bool]] = set()

    def _add_fields(self, choice: VenueChoice) -> dict[str, FieldWidget]:
        """Rows for the venue's own fields, shown while it is the selected venue."""
        widgets: dict[str, FieldWidget] = {}
        for spec in choice.fields:
            widget: FieldWidget
            if spec.choices:
                widget = QComboBox(self)
                widget.addItems(list(spec.choices))
                widget.setCurrentText(spec.default)
            else:
                widget = QLineEdit(spec.default, self)
            widget.setToolTip(spec.help)
            widgets[spec.key] = widget
            self.form.addRow(spec.label, widget)
        return widgets

    def _venue(self, venue: str) -> None:
        for name, widgets in self.fields.items():
            for widget in widgets.values():
                self.form.setRowVisible(widget, name == venue)

    def _network(self, network: str) -> None:
        custom = network == "custom"
        self.rest_url.setEnabled(custom)
        self.ws_url.setEnabled(custom)

    def field(self, key: str) -> FieldWidget:
        """The selected venue's widget for `key` (KeyError when the venue has none)."""
        return self.fields[self.venue.currentText()][key]

    def draft(self) -> ProfileDraft:
        symbols = tuple(s.strip().upper() for s in self.symbols.text().split(",") if s.strip())
        custom = self.network.currentText() == "custom"
        settings = tuple(
            (key, (w.currentText() if isinstance(w, QComboBox) else w.text()).strip())
            for key, w in self.fields.get(self.venue.currentText(), {}).items())
        return ProfileDraft(
            name=self.name.text().strip(), venue=self.venue.currentText(),
            network=self.network.currentText(), account=self.account.text().strip() or "main",
            symbols=symbols, read_only=self.read_only.isChecked(),
            rest_url=(self.rest_url.text().strip() or None) if custom else None,
            ws_url=(self.ws_url.text().strip() or None) if custom else None,
            settings=settings)

    def _save(self) -> None:
        task = asyncio.ensure_future(self.save())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def save(self) -> bool:
        draft = self.draft()
        try:
            await asyncio.to_thread(self.port.save, draft)
        except UserFacingError as exc:
            self.error.setText(str(exc))
            return False
        self.saved.emit(draft.name)
        self.accept()
        return True
