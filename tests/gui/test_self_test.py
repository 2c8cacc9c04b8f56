"""`recon-console --self-test`, as a packaged binary runs it: its own process, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys


def test_self_test_opens_the_window_reconciles_and_exits_0() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "console", "--self-test"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    for line in ("Python ", "Qt ", "PySide6 ", "pybit ", "SQLAlchemy ", "keyring backend: "):
        assert any(row.startswith(line) for row in out.splitlines()), (line, out)
    assert "window: " in out and "SIMULATED" in out
    assert "reconciliation: run " in out and " ok in " in out
    assert out.rstrip().endswith("self-test: OK")
