"""API key and secret into the OS keyring, and nowhere else.

The fields are password fields (a screenshot or a shoulder never shows them), they are
cleared the moment Save is pressed, whatever happens next, and nothing of them is ever
shown again, logged or written anywhere but the keyring (through `CredentialsPort`,
in a worker thread: D-Bus calls can block). When no secure backend exists the dialog
says precisely what to start or unlock, and Save stays disabled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.errors import UserFacingError
from console.ui.ports import CredentialsPort, KeyringStatus

log = logging.getLogger(__name__)


class CredentialsDialog(QDialog):
    def __init__(self, port: CredentialsPort, profiles: list[str], *, profile: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = port
        self.setWindowTitle("API credentials (OS keyring)")
        self.profile = QComboBox(self)
        self.profile.setEditable(True)
        self.profile.addItems(profiles)
        if profile:
            self.profile.setCurrentText(profile)
        self.profile.currentTextChanged.connect(lambda _t: self.spawn(self.check_profile()))
        self.api_key = QLineEdit(self)
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("API key")
        self.api_secret = QLineEdit(self)
        self.api_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_secret.setPlaceholderText("API secret")
        for field in (self.api_key, self.api_secret):
            field.setContextMenuPolicy(field.contextMenuPolicy().NoContextMenu)
        self.backend = QLabel("Keyring: checking…", self)
        self.backend.setWordWrap(True)
        self.stored = QLabel(self)
        self.stored.setTextFormat(Qt.TextFormat.PlainText)  # venue/exception text
        self.outcome = QLabel(self)
        self.outcome.setTextFormat(Qt.TextFormat.PlainText)  # venue/exception text
        self.outcome.setWordWrap(True)
        self.save_button = QPushButton("Save to keyring", self)
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(lambda: self.spawn(self.save()))
        close = QPushButton("Close", self)
        close.clicked.connect(self.close)
        form = QFormLayout()
        form.addRow("Profile", self.profile)
        form.addRow("API key", self.api_key)
        form.addRow("API secret", self.api_secret)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.backend)
        layout.addLayout(form)
        layout.addWidget(self.stored)
        layout.addWidget(self.outcome)
        layout.addLayout(buttons)
        self.status: KeyringStatus | None = None
        self._tasks: set[asyncio.Task[object]] = set()
        self.resize(560, 280)

    def spawn(self, coro: Coroutine[Any, Any, object]) -> asyncio.Task[object]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def idle(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def check(self) -> KeyringStatus:
        """Which backend would hold the secrets; Save is enabled only for a secure one."""
        try:
            status = await asyncio.to_thread(self.port.status)
        except UserFacingError as exc:
            status = KeyringStatus("unknown", False, str(exc))
        self.status = status
        if status.usable:
            self.backend.setObjectName("")
            self.backend.setText(f"Keyring: {status.backend}")
        else:
            self.backend.setObjectName("errorText")
            self.backend.setText(f"No secure keyring: {status.problem}")
        self.backend.style().unpolish(self.backend)
        self.backend.style().polish(self.backend)
        self.save_button.setEnabled(status.usable)
        await self.check_profile()
        return status

    async def check_profile(self) -> None:
        name = self.profile.currentText().strip()
        if not name or self.status is None or not self.status.usable:
            self.stored.setText("")
            return
        try:
            has = await asyncio.to_thread(self.port.has, name)
        except UserFacingError as exc:
            self.stored.setText(str(exc))
            return
        self.stored.setText(f"A key is stored for profile {name!r}." if has
                            else f"No key is stored for profile {name!r} yet.")

    async def save(self) -> bool:
        """Take the key and secret out of the fields at once, then store them."""
        name = self.profile.currentText().strip()
        key, secret = self.api_key.text(), self.api_secret.text()
        self.api_key.clear()
        self.api_secret.clear()
        if not name or not key or not secret:
            self.outcome.setText("Enter a profile, an API key and its secret.")
            return False
        self.save_button.setEnabled(False)
        port = self.port
        try:
            # a closure, not arguments: executors log their callbacks' arguments at DEBUG
            # (qasync's does), and a closure's repr shows none of what it holds
            await asyncio.to_thread(lambda: port.save(name, key, secret))
        except UserFacingError as exc:
            self.outcome.setText(f"Not saved: {exc}")
            return False
        finally:
            key = secret = ""  # drop our references at once
            self.save_button.setEnabled(self.status is not None and self.status.usable)
        self.outcome.setText(f"Saved for profile {name!r} in the OS keyring. It will not be "
                             "shown again.")
        log.info("credentials saved for profile %r", name)
        await self.check_profile()
        return True
