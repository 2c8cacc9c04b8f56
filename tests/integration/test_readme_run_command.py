"""The README's run command, run twice on one fresh database, does what the README says
of it: the second run finds no discrepancy, and every action it applies is the one the
README names (it once said "nothing left to do" while the second run resumed trading)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from console.domain.reconciliation import ActionKind

README = Path(__file__).resolve().parents[2] / "README.md"


def run_section() -> tuple[list[str], str]:
    """(the command's arguments after the program, the paragraph that follows it)."""
    section = README.read_text(encoding="utf-8").split("\n## Run\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.+?)\n```\n\n(.+?)(?:\n\n|$)", section, re.S)
    assert block is not None, "the Run section lost its command or its explanation"
    words = shlex.split(block.group(1))
    assert words[0].endswith("recon-console"), words
    return words[1:], " ".join(block.group(2).split())


def test_the_second_run_does_what_the_readme_says(tmp_path: Path) -> None:
    args, paragraph = run_section()
    assert "--db" not in args
    db = f"sqlite:///{tmp_path / 'readme.db'}"
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-m", "console", *args, "--db", db],
                             capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, out.stderr
        runs.append(json.loads(out.stdout))
    first, second = runs
    assert first["discrepancies"]["total"] > 0
    assert second["discrepancies"]["total"] == 0
    assert "no discrepancy" in paragraph
    named = set(re.findall(r"`([a-z_]+)`", paragraph)) & {k.value for k in ActionKind}
    applied = set(second["actions"]["applied_by_kind"])
    assert applied == named, (applied, paragraph)
    if applied:
        assert "nothing left to do" not in paragraph and "nothing to do" not in paragraph
    assert second["mode"] == "trading"
