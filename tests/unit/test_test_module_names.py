"""pytest imports a test folder without `__init__.py` by basename ("rootdir" insertion): two
such modules with one basename in different folders stop the whole run at collection
(it happened when a second venue's sim tests copied the first's names). Found here, by
name, instead of as a collection error of the full suite."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_module_basenames_are_unique_outside_packages() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for path in TESTS.rglob("*.py"):
        if path.name == "conftest.py" or (path.parent / "__init__.py").exists():
            continue
        seen[path.stem].append(str(path.relative_to(TESTS)))
    clashes = {name: paths for name, paths in seen.items() if len(paths) > 1}
    assert not clashes, f"rename one of each: {clashes}"
