"""The contract suite runs once per (registered venue, market), and a registered venue
that has no harness fails it: shown by running the suite in a subprocess with one more
venue registered (a plugin replaces the registry's mapping before the suite is
collected). A market a spec declares is either run or said uncovered, with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

from venue_harness import HARNESSES, SIM, UNCOVERED_MARKETS, market_gaps, suite_targets

from console.domain import Category
from console.venues.registry import VENUES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent


def test_every_registered_venue_is_in_the_suite() -> None:
    targets = suite_targets()
    assert targets[0] == SIM and len(set(targets)) == len(targets)
    assert set(targets) == set(HARNESSES)  # every target runs; every run has a harness
    assert {HARNESSES[t].venue for t in targets} == {SIM, *VENUES}


def test_every_declared_market_is_run_or_said_uncovered() -> None:
    assert market_gaps(VENUES) == []
    assert all(reason.strip() for reason in UNCOVERED_MARKETS.values())
    assert {(t.venue, t.market) for t in HARNESSES.values()} >= {
        ("binance", Category.SPOT), ("binance", Category.LINEAR)}


def test_a_market_declared_without_a_target_is_a_gap() -> None:
    binance = VENUES["binance"]
    wider = replace(binance, markets=binance.markets | {Category.INVERSE})
    assert market_gaps({**VENUES, "binance": wider}) == [
        f"binance {Category.INVERSE}: declared by its spec, but no target in HARNESSES "
        "and no reason in UNCOVERED_MARKETS"]
    narrower = replace(binance, markets=frozenset({Category.LINEAR}))
    assert market_gaps({**VENUES, "binance": narrower}) == [
        f"binance {Category.SPOT}: has a target, but its spec does not declare it"]
    bybit = VENUES["bybit"]
    linear_only = replace(bybit, markets=frozenset({Category.LINEAR}))
    assert len(market_gaps({**VENUES, "bybit": linear_only})) == len(UNCOVERED_MARKETS)


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
    for target in suite_targets():  # every (venue, market) with a harness ran and passed
        assert f"unknown_order[{target}] PASSED" in output, (target, output)
    assert f"{len(suite_targets())} passed" in output and "1 error" in output, output
