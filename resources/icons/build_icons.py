"""Render the application icon from its SVG master into what each platform wants.

    python resources/icons/build_icons.py            # rewrites resources/icons/ in place
    python resources/icons/build_icons.py --out DIR  # writes the same files into DIR

Writes, beside the master recon-console.svg:
- png/recon-console-N.png for N in 16, 24, 32, 48, 64, 128, 256, 512: the window icon
  (console/ui/assets.py loads them) and the Linux hicolor theme sizes;
- recon-console.ico: Windows, 16 to 256 px in one file (the PyInstaller executable's icon);
- recon-console.icns: macOS, 16 to 1024 px including the @2x slots (the .app's icon).

Why Qt renders it (QtSvg, already a dependency of the console) and the .ico and .icns are
written here by hand: nothing to install beyond the project itself, and both formats are a
small index over PNG images, which every Windows since Vista and every macOS since 10.7
read. Run it after editing the SVG and commit what it writes; the output is byte-for-byte
reproducible with a given Qt version (tests/unit/test_app_icons.py checks the committed
PNGs still match the master).
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MASTER = HERE / "recon-console.svg"
NAME = "recon-console"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
"""256 is the largest an .ico entry can describe."""
ICNS_TYPES = (
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
    (b"ic09", 512), (b"ic10", 1024), (b"ic11", 32), (b"ic12", 64), (b"ic13", 256),
    (b"ic14", 512))
"""The PNG-carrying icns slots: 1x sizes, then the @2x ones (ic11 is 16@2x, ...)."""


def render_png(svg: bytes, size: int) -> bytes:
    """The master drawn on a transparent size x size canvas, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise ValueError(f"{MASTER.name}: Qt cannot parse the SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    # PySide6 takes the format as str at run time, though its stubs say bytes
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]
        raise ValueError(f"Qt could not encode the {size} px PNG")
    buffer.close()
    return bytes(data.data())


def ico(pngs: dict[int, bytes]) -> bytes:
    """An ICONDIR, one ICONDIRENTRY per size (0 stands for 256), then the PNGs."""
    sizes = sorted(pngs)
    offset = 6 + 16 * len(sizes)
    head = struct.pack("<HHH", 0, 1, len(sizes))
    entries, images = b"", b""
    for size in sizes:
        data = pngs[size]
        side = 0 if size == 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(data), offset)
        images += data
        offset += len(data)
    return head + entries + images


def icns(pngs: dict[int, bytes]) -> bytes:
    """'icns', the total length, then (type, length including its 8-byte header, PNG)."""
    body = b"".join(kind + struct.pack(">I", 8 + len(pngs[size])) + pngs[size]
                    for kind, size in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def build(out: Path) -> list[Path]:
    """Write every derived file into `out`; returns their paths."""
    svg = MASTER.read_bytes()
    wanted = sorted({*PNG_SIZES, *ICO_SIZES, *(size for _, size in ICNS_TYPES)})
    pngs = {size: render_png(svg, size) for size in wanted}
    (out / "png").mkdir(parents=True, exist_ok=True)
    written = []
    for size in PNG_SIZES:
        path = out / "png" / f"{NAME}-{size}.png"
        path.write_bytes(pngs[size])
        written.append(path)
    for path, data in ((out / f"{NAME}.ico", ico({s: pngs[s] for s in ICO_SIZES})),
                       (out / f"{NAME}.icns", icns(pngs))):
        path.write_bytes(data)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE,
                        help="directory to write into (default: beside the master)")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    for path in build(args.out):
        sys.stdout.write(f"{path.stat().st_size:>8} {path}\n")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
