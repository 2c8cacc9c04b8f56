"""Dark and light themes: a stylesheet (resources/styles/NAME.qss, read from the installed
package by console/ui/assets.py so that wheels and frozen binaries carry it) and the
colours the models use for meaning (buy/sell, gain/loss, severity). Colour is never the
only signal: sides and signs are in the text too."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from console.ui.assets import stylesheet_text


class Tone(StrEnum):
    BUY = "buy"
    SELL = "sell"
    GAIN = "gain"
    LOSS = "loss"
    MUTED = "muted"
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Theme:
    name: str
    tones: dict[Tone, str]
    window: str
    base: str
    text: str
    highlight: str
    chart_background: str
    chart_foreground: str
    series: tuple[str, str, str]
    """rest, ws, reconcile"""


DARK = Theme(
    name="dark",
    tones={Tone.BUY: "#4cc38a", Tone.SELL: "#ff6b6b", Tone.GAIN: "#4cc38a",
           Tone.LOSS: "#ff6b6b", Tone.MUTED: "#8b949e", Tone.OK: "#4cc38a",
           Tone.WARNING: "#f0b429", Tone.CRITICAL: "#ff5c5c", Tone.INFO: "#6cb6ff"},
    window="#1e2227", base="#16191d", text="#e6e6e6", highlight="#2f5d8a",
    chart_background="#16191d", chart_foreground="#c9d1d9",
    series=("#6cb6ff", "#f0b429", "#c297ff"),
)
LIGHT = Theme(
    name="light",
    tones={Tone.BUY: "#11803d", Tone.SELL: "#c62828", Tone.GAIN: "#11803d",
           Tone.LOSS: "#c62828", Tone.MUTED: "#6e7781", Tone.OK: "#11803d",
           Tone.WARNING: "#9a6700", Tone.CRITICAL: "#c62828", Tone.INFO: "#0969da"},
    window="#f6f8fa", base="#ffffff", text="#1f2328", highlight="#b6d4fe",
    chart_background="#ffffff", chart_foreground="#1f2328",
    series=("#0969da", "#bf8700", "#8250df"),
)
THEMES = {t.name: t for t in (DARK, LIGHT)}


def stylesheet(name: str) -> str:
    """The stylesheet of theme `name`: the chrome's look, which the colours above do not set."""
    return stylesheet_text(name)


class ThemeState(QObject):
    """The current theme; models and charts repaint on `changed`."""

    changed = Signal()

    def __init__(self, name: str = "dark", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._theme = THEMES.get(name, DARK)
        self._colors: dict[Tone, QColor] = {}
        self._cache()

    @property
    def theme(self) -> Theme:
        return self._theme

    @property
    def name(self) -> str:
        return self._theme.name

    def _cache(self) -> None:
        self._colors = {tone: QColor(hex_) for tone, hex_ in self._theme.tones.items()}

    def color(self, tone: Tone) -> QColor:
        return self._colors[tone]

    def hex(self, tone: Tone) -> str:
        return self._theme.tones[tone]

    def apply(self, name: str, app: QApplication | None = None) -> None:
        """Switch theme (unknown names fall back to dark) and restyle the application."""
        self._theme = THEMES.get(name, DARK)
        self._cache()
        target = app or QApplication.instance()
        if isinstance(target, QApplication):
            palette = QPalette()
            t = self._theme
            for role, color in (
                    (QPalette.ColorRole.Window, t.window), (QPalette.ColorRole.Base, t.base),
                    (QPalette.ColorRole.AlternateBase, t.window),
                    (QPalette.ColorRole.Text, t.text), (QPalette.ColorRole.WindowText, t.text),
                    (QPalette.ColorRole.ButtonText, t.text), (QPalette.ColorRole.Button, t.window),
                    (QPalette.ColorRole.Highlight, t.highlight),
                    (QPalette.ColorRole.HighlightedText, t.text)):
                palette.setColor(role, QColor(color))
            target.setPalette(palette)
            target.setStyleSheet(stylesheet(self._theme.name))
        self.changed.emit()
