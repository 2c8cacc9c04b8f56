"""The wheel carries resources/ as console/resources/ (setup.py maps it): stylesheets, icons,
desktop entry, AppStream metadata and the Grafana dashboard, byte for byte, beside every
module of the console package. Built offline from a copy of the tree, so the test writes
nothing into the repository. And the desktop entry and metadata name what exists."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"
SHIPPED = [
    "__init__.py", "styles/dark.qss", "styles/light.qss", "icons/recon-console.svg",
    *(f"icons/png/recon-console-{n}.png" for n in (16, 24, 32, 48, 64, 128, 256, 512)),
    "icons/recon-console.ico", "icons/recon-console.icns", "recon-console.desktop",
    "io.github.recon_console.ReconConsole.metainfo.xml", "grafana/recon-console.json",
    "recon-console.service",
]
"""What must be installed under console/resources/; the build script and README are not."""


def _build_wheel(tmp_path: Path) -> zipfile.ZipFile:
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("console", "resources"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    out = tmp_path / "dist"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
         "--no-build-isolation", "-q", "-w", str(out), str(src)],
        capture_output=True, text=True, timeout=240, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("recon_console-*.whl")
    return zipfile.ZipFile(wheel)


def test_the_wheel_carries_resources_and_every_module(tmp_path: Path) -> None:
    with _build_wheel(tmp_path) as wheel:
        names = set(wheel.namelist())
        carried = sorted(n.removeprefix("console/resources/") for n in names
                         if n.startswith("console/resources/"))
        assert carried == sorted(SHIPPED)
        for rel in SHIPPED:
            assert wheel.read(f"console/resources/{rel}") == (RESOURCES / rel).read_bytes(), rel
        src = tmp_path / "src"  # the copy: other files may appear in the tree meanwhile
        modules = {p.relative_to(src).as_posix() for p in (src / "console").rglob("*.py")}
        assert modules - names == set(), "modules of console/ missing from the wheel"
        assert not [n for n in names if n.startswith("console/ui/resources/")]
        assert "console/store/migrations/script.py.mako" in names


def test_the_desktop_entry_and_metadata_name_what_exists() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(RESOURCES / "recon-console.desktop", encoding="utf-8")
    desktop = entry["Desktop Entry"]
    with (ROOT / "pyproject.toml").open("rb") as f:
        scripts = tomllib.load(f)["project"]["scripts"]
    assert desktop["Type"] == "Application" and desktop["Terminal"] == "false"
    assert desktop["Exec"] == desktop["TryExec"] == "recon-console"
    assert desktop["Exec"] in scripts  # the console script pip installs
    assert desktop["Icon"] == "recon-console"
    assert (RESOURCES / "icons" / f"{desktop['Icon']}.svg").is_file()
    assert desktop["Categories"].endswith(";") and "Finance" in desktop["Categories"]

    meta = ET.parse(RESOURCES / "io.github.recon_console.ReconConsole.metainfo.xml").getroot()
    assert meta.tag == "component" and meta.get("type") == "desktop-application"
    assert meta.findtext("id") == "io.github.recon_console.ReconConsole"
    assert meta.findtext("launchable") == "recon-console.desktop"
    assert meta.findtext("icon") == desktop["Icon"]
    assert meta.findtext("provides/binary") == desktop["Exec"]
    assert meta.findtext("name") == desktop["Name"]
    with (ROOT / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert version in [r.get("version") for r in meta.iter("release")]
