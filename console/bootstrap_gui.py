"""Composition root for the Qt console (the window's half of `console.bootstrap`).

Placeholder until the console lands: it keeps `recon-console` with no command honest.
"""

from __future__ import annotations

from console.errors import UserFacingError


def main_gui(*, self_test: bool = False, profile: str | None = None) -> int:
    raise UserFacingError("the operator console window is not built yet; use the CLI "
                          "commands (`recon-console --help`)")
