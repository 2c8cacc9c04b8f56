"""What the console remembers between runs (QSettings): window geometry and dock layout,
column widths and order per table, theme, sound, operator name, and whether destructive
keyboard shortcuts are enabled (off by default: a stray key must not cancel orders).

Nothing secret is ever written here. Tests hand in a QSettings on a temporary file.
"""

from __future__ import annotations

import getpass

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QHeaderView, QMainWindow

ORG = "recon-console"
APP = "console"


def _user() -> str:
    try:
        return getpass.getuser() or "operator"
    except (OSError, KeyError):
        return "operator"


class UiSettings:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else QSettings(ORG, APP)

    # -- preferences -----------------------------------------------------------------------

    def _bool(self, key: str, default: bool) -> bool:
        value = self.store.value(key, default)
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes"}
        return bool(value)

    @property
    def theme(self) -> str:
        return str(self.store.value("ui/theme", "dark"))

    @theme.setter
    def theme(self, name: str) -> None:
        self.store.setValue("ui/theme", name)

    @property
    def sound_on_critical(self) -> bool:
        return self._bool("ui/sound_on_critical", False)

    @sound_on_critical.setter
    def sound_on_critical(self, on: bool) -> None:
        self.store.setValue("ui/sound_on_critical", on)

    @property
    def destructive_shortcuts(self) -> bool:
        return self._bool("ui/destructive_shortcuts", False)

    @destructive_shortcuts.setter
    def destructive_shortcuts(self, on: bool) -> None:
        self.store.setValue("ui/destructive_shortcuts", on)

    @property
    def operator(self) -> str:
        return str(self.store.value("ui/operator", "") or _user())

    @operator.setter
    def operator(self, name: str) -> None:
        self.store.setValue("ui/operator", name.strip())

    # -- layout ----------------------------------------------------------------------------

    def save_window(self, window: QMainWindow) -> None:
        self.store.setValue("window/geometry", window.saveGeometry())
        self.store.setValue("window/state", window.saveState())

    def restore_window(self, window: QMainWindow) -> bool:
        """True when a saved layout was applied."""
        geometry = self.store.value("window/geometry")
        state = self.store.value("window/state")
        done = False
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            done = window.restoreGeometry(geometry) or done
        if isinstance(state, QByteArray) and not state.isEmpty():
            done = window.restoreState(state) or done
        return done

    def save_header(self, name: str, header: QHeaderView) -> None:
        self.store.setValue(f"tables/{name}/header", header.saveState())

    def restore_header(self, name: str, header: QHeaderView) -> bool:
        state = self.store.value(f"tables/{name}/header")
        if isinstance(state, QByteArray) and not state.isEmpty():
            return header.restoreState(state)
        return False

    def sync(self) -> None:
        self.store.sync()
