"""Every registered venue has the files the template lists (console/venues/_template/
README.md is the source of the file sets: this test reads its tables), a connector and a
sim front-end, and nothing outside its two packages names it."""

from __future__ import annotations

import re
from pathlib import Path

from console.sim.frontends import FRONT_ENDS
from console.venues.registry import VENUES

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "console" / "venues" / "_template" / "README.md"


def _files(section: str) -> set[str]:
    text = TEMPLATE.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z_]+\.py)` \|", body, flags=re.MULTILINE))


def test_the_template_lists_both_file_sets() -> None:
    assert {"spec.py", "client.py", "parsing.py", "errors.py", "stream.py"} <= _files(
        "The connector")
    assert {"spec.py", "server.py", "auth.py", "shapes.py", "ws.py"} <= _files(
        "The sim front-end")


def test_every_connector_has_exactly_the_template_files() -> None:
    wanted = _files("The connector")
    for name in VENUES:
        package = ROOT / "console" / "venues" / name
        have = {p.name for p in package.glob("*.py")}
        assert have == wanted, f"{name}: missing {wanted - have}, extra {have - wanted}"


def test_every_connector_has_a_sim_front_end_with_the_template_files() -> None:
    wanted = _files("The sim front-end")
    for name in VENUES:
        assert name in FRONT_ENDS, f"{name}: no sim front-end registered"
        package = ROOT / "console" / "sim" / name
        have = {p.name for p in package.glob("*.py")}
        assert wanted <= have, f"{name}: the front-end lacks {wanted - have}"


def test_no_module_outside_a_venue_package_imports_one() -> None:
    registries = ("console/venues/registry.py", "console/sim/frontends.py")
    for name in VENUES:
        pattern = re.compile(rf"^\s*(from|import) console\.(venues|sim)\.{name}\b",
                             re.MULTILINE)
        for path in (ROOT / "console").rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if rel.startswith((f"console/venues/{name}/", f"console/sim/{name}/")):
                continue
            if rel in registries:
                continue
            text = path.read_text(encoding="utf-8")
            assert not pattern.search(text), f"{rel} imports the {name} package"
