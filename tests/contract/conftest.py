"""Fixtures of the venue-port contract suite: `contract` runs a test body once per
(registered venue, market) and the in-process sim (see `venue_harness`); a registered
venue without a harness fails every test of the suite."""

from __future__ import annotations

from typing import Any

import pytest
from venue_harness import Contract, MissingHarness, suite_targets


@pytest.fixture(params=suite_targets())
def contract(request: Any) -> Contract:
    try:
        return Contract(request.param)
    except MissingHarness as exc:
        pytest.fail(str(exc), pytrace=False)
