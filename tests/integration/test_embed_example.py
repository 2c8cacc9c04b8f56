"""examples/embed_bot.py, run as a bot runs it (its own process, the embedded sim), on
each ledger backend and on its own temporary SQLite: every line it prints is asserted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "embed_bot.py"

EXPECTED = [
    "started: stream connected=True, startup reconciliation ok",
    "placed: Buy 0.01 BTCUSDT -> FILLED, client id rc-bot1-...: True",
    "settled: pending nothing",
    "read: orders of bot1: [('BTCUSDT', 'FILLED', '0.01')]",
    "read: position BTCUSDT 0.01, fills on BTCUSDT: 1",
    "read: get_order finds it: True",
    "stopped cleanly",
    "restarted: the ledger recorded 1 clean stop(s), stream drained: yes",
    "kept: orders of bot1: [('BTCUSDT', 'FILLED', '0.01')]",
    "kept: position BTCUSDT 0.01, fills on BTCUSDT: 1",
    "kept: get_order finds it: True",
    "startup reconciliation after restart: ok, 0 discrepancies",
    "done",
]


def run_example(*args: str) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT, env=env, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_the_embedding_example_trades_settles_stops_and_restarts(ledger_url: str) -> None:
    assert run_example(ledger_url) == EXPECTED


def test_the_embedding_example_runs_with_no_arguments() -> None:
    assert run_example() == EXPECTED
