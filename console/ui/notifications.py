"""Telling the operator about critical alerts when the window is not in front: a desktop
notification (QSystemTrayIcon.showMessage where a tray exists) and, if enabled, a sound.
Where neither exists (offscreen, some desktops) the window's status bar still shows it."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QStyle, QSystemTrayIcon

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Notice:
    title: str
    text: str
    critical: bool
    shown_by: str
    """"tray", or "window" when no tray exists."""
    sound: bool


class Notifier(QObject):
    notified = Signal(object)
    """A `Notice`, for the window (status bar) and for tests."""

    def __init__(self, parent: QObject | None = None, *, sound: bool = False,
                 use_tray: bool = True) -> None:
        super().__init__(parent)
        self.sound = sound
        self.sent: list[Notice] = []
        self._tray: QSystemTrayIcon | None = None
        if use_tray and QSystemTrayIcon.isSystemTrayAvailable():
            app = QApplication.instance()
            icon = (app.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
                    if isinstance(app, QApplication) else QIcon())
            self._tray = QSystemTrayIcon(icon, self)
            self._tray.setToolTip("Recon Console")
            self._tray.show()

    @property
    def has_tray(self) -> bool:
        return self._tray is not None

    def notify(self, title: str, text: str, *, critical: bool = True) -> Notice:
        shown_by = "window"
        if self._tray is not None and QSystemTrayIcon.supportsMessages():
            icon = (QSystemTrayIcon.MessageIcon.Critical if critical
                    else QSystemTrayIcon.MessageIcon.Information)
            self._tray.showMessage(title, text, icon, 10_000)
            shown_by = "tray"
        sound = self.sound and critical
        if sound:
            QApplication.beep()
        notice = Notice(title, text, critical, shown_by, sound)
        self.sent.append(notice)
        log.info("notified: %s: %s", title, text)
        self.notified.emit(notice)
        return notice

    def close(self) -> None:
        if self._tray is not None:
            self._tray.hide()
            self._tray = None
