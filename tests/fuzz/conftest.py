"""The fuzz tests start from the realistic payloads of tests/venues (`bybit_payloads`),
which that directory's tests import by name: put it on sys.path for these too."""

from __future__ import annotations

import sys
from pathlib import Path

_VENUES = str(Path(__file__).resolve().parent.parent / "venues")
if _VENUES not in sys.path:
    sys.path.append(_VENUES)
