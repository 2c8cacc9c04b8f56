"""Words and times for people, shared by every layer that writes text: the pure core's
summaries, the engine's log lines and audit details, the CLI and the window.

Standard library only, and no I/O: the reconciler's texts must not depend on the machine
they were made on, so a time in a text is ISO 8601 in UTC with its "Z" (a zone always
written, never the local clock). The window shows local times with their zone on top of
these (`console.ui.format`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

DASH: Final = "–"
"""What a missing time or value shows as."""


def plural(count: int, word: str, many: str | None = None) -> str:
    """"1 row", "2 rows", "0 discrepancies": the count and the word that goes with it
    (`many` for irregular plurals; a word ending in a consonant and "y" takes "ies")."""
    if count == 1:
        return f"{count} {word}"
    if many is None:
        many = (word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou"
                else word + "es" if word.endswith(("s", "x", "ch", "sh")) else word + "s")
    return f"{count} {many}"


def iso_utc(ms: int | None) -> str:
    """Epoch ms as ISO 8601 UTC with milliseconds and its zone ("2026-12-05T10:30:48.405Z");
    DASH for a missing (None or non-positive) time."""
    if ms is None or ms <= 0:
        return DASH
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def duration_ms(ms: float) -> str:
    """A duration for reading: "20.2 ms", "845 ms", "12.5 s" (never sixteen digits)."""
    if ms < 100:
        return f"{ms:.1f} ms"
    if ms < 10_000:
        return f"{ms:.0f} ms"
    return f"{ms / 1000:.1f} s"
