"""Add a venue profile (no secret: the key goes to the keyring in the next step)."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import Signal
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
from console.ui.ports import ProfileDraft, ProfilesPort


class ProfileDialog(QDialog):
    saved = Signal(str)
    """The new profile's name."""

    def __init__(self, port: ProfilesPort, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = port
        self.setWindowTitle("Add a venue profile")
        self.name = QLineEdit(self)
        self.venue = QComboBox(self)
        self.venue.addItems(["bybit", "binance", "deribit"])
        self.network = QComboBox(self)
        self.network.addItems(["testnet", "mainnet", "custom"])
        self.network.currentTextChanged.connect(self._network)
        self.account = QLineEdit("main", self)
        self.category = QComboBox(self)
        self.category.addItems(["linear", "spot", "inverse", "option"])
        self.symbols = QLineEdit(self)
        self.symbols.setPlaceholderText("BTCUSDT, ETHUSDT (empty: all)")
        self.rest_url = QLineEdit(self)
        self.ws_url = QLineEdit(self)
        self.read_only = QCheckBox("Read-only (no venue-changing action)", self)
        self.error = QLabel(self)
        self.error.setObjectName("errorText")
        self.error.setWordWrap(True)
        form = QFormLayout()
        for label, widget in (("Name", self.name), ("Venue", self.venue),
                              ("Network", self.network), ("Account", self.account),
                              ("Category", self.category), ("Symbols", self.symbols),
                              ("REST URL", self.rest_url), ("WebSocket URL", self.ws_url)):
            form.addRow(label, widget)
        form.addRow("", self.read_only)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel, parent=self)
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Mainnet trades real money; start on testnet.", self))
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self._network(self.network.currentText())
        self._tasks: set[asyncio.Task[bool]] = set()

    def _network(self, network: str) -> None:
        custom = network == "custom"
        self.rest_url.setEnabled(custom)
        self.ws_url.setEnabled(custom)

    def draft(self) -> ProfileDraft:
        symbols = tuple(s.strip().upper() for s in self.symbols.text().split(",") if s.strip())
        custom = self.network.currentText() == "custom"
        return ProfileDraft(
            name=self.name.text().strip(), venue=self.venue.currentText(),
            network=self.network.currentText(), account=self.account.text().strip() or "main",
            category=self.category.currentText(), symbols=symbols,
            read_only=self.read_only.isChecked(),
            rest_url=(self.rest_url.text().strip() or None) if custom else None,
            ws_url=(self.ws_url.text().strip() or None) if custom else None)

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
