"""The window's icon and stylesheets come from resources/ through the installed package
(console/ui/assets.py): the application gets the icon in every size, the themes apply the
top-level stylesheets unchanged, and a missing file fails loudly (the bundle's self-test
relies on that to prove the frozen app found them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QWidget

from console.ui import assets
from console.ui.app import ensure_app
from console.ui.theme import ThemeState, stylesheet

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
SIZES = [16, 24, 32, 48, 64, 128, 256, 512]


def test_the_application_and_its_windows_get_the_icon_in_every_size(
        qapp: QApplication) -> None:
    before = qapp.windowIcon()
    qapp.setWindowIcon(QIcon())
    try:
        app = ensure_app()
        assert app is qapp
        assert sorted(s.width() for s in app.windowIcon().availableSizes()) == SIZES
        window = QWidget()  # a window with no icon of its own shows the application's
        assert sorted(s.width() for s in window.windowIcon().availableSizes()) == SIZES
        window.deleteLater()
    finally:
        qapp.setWindowIcon(before)


def test_a_host_application_keeps_its_own_icon(qapp: QApplication) -> None:
    before = qapp.windowIcon()
    pixmap = QPixmap(20, 20)
    pixmap.fill(QColor("#123456"))
    host = QIcon(pixmap)
    qapp.setWindowIcon(host)
    try:
        ensure_app()
        assert [s.width() for s in qapp.windowIcon().availableSizes()] == [20]
    finally:
        qapp.setWindowIcon(before)


@pytest.mark.parametrize("name", ["dark", "light"])
def test_the_themes_apply_the_stylesheets_of_resources(qapp: QApplication, name: str) -> None:
    text = (RESOURCES / "styles" / f"{name}.qss").read_text("utf-8")
    assert stylesheet(name) == text
    before = qapp.styleSheet()
    try:
        ThemeState(name).apply(name, qapp)
        assert qapp.styleSheet() == text
    finally:
        qapp.setStyleSheet(before)


def test_a_missing_or_broken_resource_raises(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path, qapp: QApplication) -> None:
    monkeypatch.setattr(assets, "resource", lambda relative: tmp_path / relative)
    with pytest.raises(FileNotFoundError):
        assets.stylesheet_text("dark")
    with pytest.raises(FileNotFoundError):
        assets.app_icon()
    (tmp_path / "icons" / "png").mkdir(parents=True)
    for size in SIZES:  # every file there, but one is the wrong size
        source = RESOURCES / "icons" / "png" / f"recon-console-{16 if size == 24 else size}.png"
        (tmp_path / "icons" / "png" / f"recon-console-{size}.png").write_bytes(
            source.read_bytes())
    with pytest.raises(ValueError, match=r"recon-console-24\.png is not a 24 px PNG"):
        assets.app_icon()
