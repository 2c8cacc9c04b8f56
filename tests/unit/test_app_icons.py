"""The application icon in resources/icons/: every size each platform needs, in the formats
it reads, and still the master SVG rendered (resources/icons/build_icons.py regenerates
them; a master edited without regenerating fails here)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

ICONS = Path(__file__).resolve().parents[2] / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_SLOTS = {b"icp4": 16, b"icp5": 32, b"icp6": 64, b"ic07": 128, b"ic08": 256,
              b"ic09": 512, b"ic10": 1024, b"ic11": 32, b"ic12": 64, b"ic13": 256,
              b"ic14": 512}
"""Apple's PNG slots: 1x from 16 to 1024 (ic10 is 512@2x), and @2x of 16, 32, 128, 256."""


def _png(data: bytes, size: int) -> QImage:
    """Decode with Qt and check it is a square RGBA PNG of `size` px."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, _depth, color_type = struct.unpack(">IIBB", data[16:26])
    assert (width, height) == (size, size)
    assert color_type == 6, "RGBA: the icon has transparent corners"
    image = QImage.fromData(data)
    assert not image.isNull() and image.width() == size and image.hasAlphaChannel()
    return image


def _pixels(image: QImage) -> np.ndarray:
    rgba = image.convertToFormat(QImage.Format.Format_RGBA8888)
    raw = np.frombuffer(bytes(rgba.constBits()), dtype=np.uint8)
    return raw.reshape(rgba.height(), rgba.bytesPerLine())[:, :rgba.width() * 4].astype(int)


def test_the_pngs_cover_every_size_and_show_the_icon(qapp: QApplication) -> None:
    for size in PNG_SIZES:
        image = _png((ICONS / "png" / f"recon-console-{size}.png").read_bytes(), size)
        pixels = _pixels(image)
        alpha = pixels[:, 3::4]
        assert alpha[0, 0] == 0, "the rounded tile leaves the corner transparent"
        assert alpha[size // 2, size // 2] == 255, "the middle is opaque"
        # not a blank or single-colour image: the tile, the sheets and the badge
        assert len({tuple(p) for p in pixels.reshape(-1, 4)[::7].tolist()}) > 8


def test_the_ico_holds_16_to_256_px_for_windows(qapp: QApplication) -> None:
    data = (ICONS / "recon-console.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count == len(ICO_SIZES)
    sizes = []
    for i in range(count):
        w, h, _colors, _res, planes, bpp, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i:22 + 16 * i])
        size = w or 256  # 0 stands for 256
        assert (w, planes, bpp) == (h, 1, 32)
        _png(data[offset:offset + length], size)
        sizes.append(size)
    assert sorted(sizes) == list(ICO_SIZES)


def test_the_icns_fills_every_png_slot_for_macos(qapp: QApplication) -> None:
    data = (ICONS / "recon-console.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    seen: dict[bytes, int] = {}
    at = 8
    while at < len(data):
        kind, length = data[at:at + 4], struct.unpack(">I", data[at + 4:at + 8])[0]
        assert length > 8 and at + length <= len(data)
        size = ICNS_SLOTS[kind]
        _png(data[at + 8:at + length], size)
        seen[kind] = size
        at += length
    assert seen == ICNS_SLOTS


def test_the_committed_files_are_the_master_rendered(qapp: QApplication,
                                                     tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, str(ICONS / "build_icons.py"), "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")
                     if p.is_file())
    assert written == sorted([*(f"png/recon-console-{s}.png" for s in PNG_SIZES),
                              "recon-console.ico", "recon-console.icns"])
    for size in PNG_SIZES:
        name = f"png/recon-console-{size}.png"
        fresh = _pixels(_png((tmp_path / name).read_bytes(), size))
        committed = _pixels(_png((ICONS / name).read_bytes(), size))
        diff = np.abs(fresh - committed)
        # another Qt version may anti-alias an edge a little differently; a changed
        # master moves whole shapes and colours
        assert diff.mean() < 1.0 and (diff > 48).mean() < 0.01, (
            f"{name} is not the master rendered: run resources/icons/build_icons.py")


def _ico_images(data: bytes) -> dict[int, bytes]:
    count = struct.unpack("<H", data[4:6])[0]
    out = {}
    for i in range(count):
        w, _h, _c, _r, _p, _b, length, offset = struct.unpack("<BBBBHHII",
                                                             data[6 + 16 * i:22 + 16 * i])
        out[w or 256] = data[offset:offset + length]
    return out


def _icns_images(data: bytes) -> dict[bytes, bytes]:
    out, at = {}, 8
    while at < len(data):
        length = struct.unpack(">I", data[at + 4:at + 8])[0]
        out[data[at:at + 4]] = data[at + 8:at + length]
        at += length
    return out


def test_the_ico_and_icns_hold_the_same_images_as_the_pngs() -> None:
    """All three come from one render (build_icons.py): an .ico or .icns left over from an
    older master differs from the PNGs beside it."""
    pngs = {size: (ICONS / "png" / f"recon-console-{size}.png").read_bytes()
            for size in PNG_SIZES}
    ico = _ico_images((ICONS / "recon-console.ico").read_bytes())
    assert ico == {size: pngs[size] for size in ICO_SIZES}
    icns = _icns_images((ICONS / "recon-console.icns").read_bytes())
    for kind, size in ICNS_SLOTS.items():
        if size in pngs:
            assert icns[kind] == pngs[size], kind
