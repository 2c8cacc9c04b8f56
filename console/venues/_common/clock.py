"""Local wall-clock time in milliseconds: the default clock of every connector (tests
inject their own)."""

from __future__ import annotations

import time


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000
