"""The headless engine's garbage-collector policy at start-up (the window has its own,
`console.ui.models.base.freeze_startup`, with the same reasoning).

Why: a cold start parses the venue's whole book (at ten times the cold-start bench's
book, 10k orders, 2k positions and 50k fills) within its first seconds, and every record
parsed is a tracked object. Each full collection during that parse also walks the
program's own objects (modules, classes, the SQLAlchemy and pybit machinery, the
session): several hundred thousand objects that live for the whole run. Those pauses fall
in the first rate-limit windows of the longest listing, where they are carried to its end
(bench/cold_start.py: one collection of 54–70 ms in each of the first two windows).
Collecting once and freezing what is left before the first request moves those objects
to the permanent generation, which no collection walks again.

Sound because frozen objects are only exempt from the cyclic collector: refcounting
still frees them, and a cycle among them (rare: they are the program itself) lives until
exit. Not done for an embedding bot: it owns its process and its collector
(`console.bootstrap` builds sessions and leaves the collector alone); the CLI and the
daemon, which own theirs, call this once the session is built.
"""

from __future__ import annotations

import gc


def freeze_program() -> None:
    """Collect once, then freeze every object alive now (see the module docstring)."""
    gc.collect()
    gc.freeze()
