"""The files the window reads from the `console.resources` package: its stylesheets and the
application icon.

`console.resources` is the top-level resources/ directory (resources/README.md), installed
as a package by setup.py and carried by the PyInstaller bundle. Reading it through
importlib.resources, never by a path relative to this file, is what lets a wheel, an
editable install and the frozen app find the same files the same way. A missing or
unreadable file is a broken installation, not something to paper over: it raises, and the
self-test (`recon-console --self-test`, run on the bundle by .ci/bundle.sh) fails on it.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from PySide6.QtGui import QIcon, QPixmap

PACKAGE = "console.resources"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
"""The rendered sizes in icons/png/ (resources/icons/build_icons.py writes them)."""


def resource(relative: str) -> Traversable:
    """One file of resources/, by its path there ("styles/dark.qss")."""
    return resources.files(PACKAGE).joinpath(relative)


def stylesheet_text(name: str) -> str:
    """The Qt stylesheet of theme `name` (resources/styles/NAME.qss)."""
    return resource(f"styles/{name}.qss").read_text("utf-8")


def icon_png(size: int) -> bytes:
    """The application icon rendered at `size` px, as PNG bytes."""
    return resource(f"icons/png/recon-console-{size}.png").read_bytes()


def app_icon() -> QIcon:
    """Every rendered size in one QIcon, so each platform picks the one it draws (title
    bar, task switcher, dock) instead of scaling a single image.

    The pixmaps are decoded from bytes rather than handed to Qt as file names: Qt loads
    file-based icons lazily, and a resource need not be a file on disk (a zipped install)."""
    icon = QIcon()
    for size in ICON_SIZES:
        pixmap = QPixmap()
        if not pixmap.loadFromData(icon_png(size), "PNG") or pixmap.width() != size:
            raise ValueError(f"{PACKAGE}: icons/png/recon-console-{size}.png is not a "
                             f"{size} px PNG; run resources/icons/build_icons.py")
        icon.addPixmap(pixmap)
    return icon
