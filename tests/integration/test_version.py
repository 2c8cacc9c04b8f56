"""`console.version.version_report`: what `recon-console --version` prints.

In a development checkout there is no build-info file, so the commit comes from git (or is
"unknown" outside a checkout); the frozen bundle's build-info path is covered by
`.ci/bundle.sh`, which checks the frozen app's `--version` against the file it packed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

import console
from console import version as v

REPO = Path(console.__file__).resolve().parent.parent


def _line(report: str, label: str) -> str:
    found = [line for line in report.splitlines() if line.startswith(f"{label} ")]
    assert found, f"no {label!r} line in:\n{report}"
    return found[0][len(label) + 1:]


def test_report_names_app_version_commit_and_libraries() -> None:
    report = v.version_report()
    assert report.splitlines()[0] == f"recon-console {console.__version__}"
    assert re.fullmatch(r"([0-9a-f]{7,40}|unknown)", _line(report, "commit").split()[0])
    assert _line(report, "Python").startswith(
        f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}")
    from PySide6 import __version__ as pyside
    from PySide6.QtCore import qVersion

    assert _line(report, "Qt") == qVersion()
    assert _line(report, "PySide6") == pyside
    for label, dist in (("pybit", "pybit"), ("SQLAlchemy", "SQLAlchemy"),
                        ("aiohttp", "aiohttp"), ("keyring", "keyring")):
        assert _line(report, label) == version(dist)
    ccxt = _line(report, "ccxt")
    assert ccxt == "not installed" or re.fullmatch(r"\d+\.\d+.*", ccxt)


def test_dev_checkout_reports_the_git_head() -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not running from a git checkout")
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                          text=True, check=True).stdout.strip()
    assert v.build_info() is None  # build.sh writes it under build/, never into the tree
    line = v.commit_line()
    assert line.startswith(f"commit {head} (development checkout")


def test_build_info_wins_over_git(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "build_info", lambda: {
        "commit": "0123456789abcdef0123456789abcdef01234567", "dirty": True,
        "built_at": "2025-01-02T03:04:05Z"})
    line = v.commit_line()
    assert line.startswith("commit 0123456789abcdef0123456789abcdef01234567 (")
    assert "uncommitted changes" in line
    assert "built 2025-01-02T03:04:05Z" in line


def test_no_build_info_and_no_checkout_is_unknown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "build_info", lambda: None)
    monkeypatch.setattr(v, "git_commit", lambda root=None: None)
    assert v.commit_line() == "commit unknown"
    assert "\ncommit unknown\n" in v.version_report()


def test_frozen_app_never_asks_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bundle without build info must not report the commit of whatever checkout it
    happens to be started from."""
    monkeypatch.setattr(v, "build_info", lambda: None)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert v.commit_line() == "commit unknown"


def test_git_commit_outside_a_checkout(tmp_path: Path) -> None:
    assert v.git_commit(tmp_path) is None


def test_missing_distribution_is_not_installed() -> None:
    assert v.dist_version("recon-console-no-such-distribution") == "not installed"
