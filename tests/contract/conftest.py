"""Fixtures of the venue-port contract suite: `contract` runs a test body once per
backend (see `venue_harness`)."""

from __future__ import annotations

from typing import Any

import pytest
from venue_harness import BACKENDS, Contract


@pytest.fixture(params=BACKENDS)
def contract(request: Any) -> Contract:
    return Contract(request.param)
