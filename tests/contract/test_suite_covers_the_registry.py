"""The contract suite runs once per registered venue, and a registered venue that has no
harness fails it: shown by running the suite in a subprocess with one more venue
registered (a plugin replaces the registry's mapping before the suite is collected)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from venue_harness import HARNESSES, suite_venues

from console.venues.registry import VENUES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def test_every_registered_venue_is_in_the_suite() -> None:
    assert set(suite_venues()) == {"sim", *VENUES}
    assert set(VENUES) <= set(HARNESSES)


def test_a_registered_venue_without_a_harness_fails_the_suite(tmp_path: Path) -> None:
    plugin = tmp_path / "ghost_venue_plugin.py"
    plugin.write_text(textwrap.dedent('''
        from dataclasses import replace
        from types import MappingProxyType

        import console.venues.registry as registry

        bybit = registry.VENUES["bybit"]
        registry.VENUES = MappingProxyType({**registry.VENUES,
                                            "ghost": replace(bybit, name="ghost")})
    '''))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), str(ROOT), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider",
         "-p", "ghost_venue_plugin", str(HERE / "test_venue_contract.py"),
         "-k", "fetch_order_is_none"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "venue 'ghost' is registered" in output and "has no contract harness" in output
    assert "unknown_order[ghost] ERROR" in output, output
    assert "unknown_order[sim] PASSED" in output and "unknown_order[bybit] PASSED" in output
    passed = len(VENUES) + 1  # every registered venue and the in-process sim
    assert f"{passed} passed" in output and "1 error" in output, output
