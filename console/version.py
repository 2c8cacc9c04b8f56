"""What `recon-console --version` prints: the app version, the commit it was built from and
the versions of the libraries that decide its behaviour.

The commit comes from `console/_build_info.json`, which `packaging/build.sh` generates
into the PyInstaller bundle (it is not in the source tree). A development checkout has no
such file: there the commit is read with `git rev-parse`; anywhere else it is "unknown".
Library versions come from the installed distributions' metadata (the bundle carries the
metadata of the libraries listed here), so a frozen app reports what it was built with.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from console import __version__

BUILD_INFO = "_build_info.json"
NOT_INSTALLED = "not installed"

# (label, distribution name) in the order they are printed after Python, Qt and PySide6.
LIBRARIES: tuple[tuple[str, str], ...] = (
    ("pybit", "pybit"),
    ("ccxt", "ccxt"),
    ("SQLAlchemy", "SQLAlchemy"),
    ("alembic", "alembic"),
    ("aiohttp", "aiohttp"),
    ("keyring", "keyring"),
    ("psycopg", "psycopg"),
    ("qasync", "qasync"),
    ("pyqtgraph", "pyqtgraph"),
    ("numpy", "numpy"),
)


def is_frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def build_info() -> dict[str, Any] | None:
    """The build-info record packed into the bundle, or None (development install)."""
    try:
        text = resources.files("console").joinpath(BUILD_INFO).read_text("utf-8")
    except (OSError, ValueError):
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(root: Path | None = None) -> tuple[str, bool] | None:
    """(commit, has uncommitted changes) of the checkout this package runs from, if any."""
    root = root or Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    commit = _git(root, "rev-parse", "HEAD")
    if not commit:
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    return commit, bool(status)


def commit_line() -> str:
    info = build_info()
    if info is not None:
        commit = str(info.get("commit") or "unknown")
        extras = []
        if info.get("dirty"):
            extras.append("with uncommitted changes")
        if info.get("built_at"):
            extras.append(f"built {info['built_at']}")
        extras.append("frozen bundle" if is_frozen() else "build info")
        return f"commit {commit} ({', '.join(extras)})"
    if not is_frozen():
        found = git_commit()
        if found is not None:
            commit, dirty = found
            changes = ", uncommitted changes" if dirty else ""
            return f"commit {commit} (development checkout{changes})"
    return "commit unknown"


def dist_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return NOT_INSTALLED


def qt_versions() -> tuple[str, str]:
    """(Qt, PySide6) versions; "not installed" when PySide6 cannot be imported."""
    try:
        import PySide6
        from PySide6.QtCore import qVersion
    except ImportError:
        return NOT_INSTALLED, NOT_INSTALLED
    return str(qVersion()), str(PySide6.__version__)


def version_report() -> str:
    """Several lines: app version, commit, Python, Qt, PySide6 and the key libraries."""
    qt, pyside = qt_versions()
    lines = [
        f"recon-console {__version__}",
        commit_line(),
        f"Python {platform.python_version()} ({platform.python_implementation()}, "
        f"{sys.platform}-{platform.machine().lower()})",
        f"Qt {qt}",
        f"PySide6 {pyside}",
        *(f"{label} {dist_version(dist)}" for label, dist in LIBRARIES),
    ]
    return "\n".join(lines)
