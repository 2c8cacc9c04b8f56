"""The credentials gate: one refusal opens an episode (one ERROR line), requests fail
fast until the probe time, refusals of requests already in flight do not lengthen the
wait, a refused probe doubles it (bounded), and an accepted request ends the episode."""

from __future__ import annotations

import logging

import pytest

from console.venues._common.auth_gate import AuthGate
from console.venues._common.errors import VenueAuthError


def test_an_episode_fails_fast_doubles_per_probe_and_ends_when_accepted(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [1_000_000]
    gate = AuthGate("acme", "acct", base_ms=10_000, max_ms=25_000, clock_ms=lambda: now[0])
    gate.check()  # no episode: nothing held back
    with caplog.at_level(logging.INFO):
        first = gate.refused("acme: bad signature for profile 'main'", source="REST")
        assert (first.refusals, first.retry_at) == (1, 1_010_000)
        assert gate.refused("in flight", source="REST") is first  # not a new refusal
        with pytest.raises(VenueAuthError, match=r"bad signature.*for 10 s") as err:
            gate.check()
        assert err.value.code == "auth_refused"
        now[0] = 1_010_000
        gate.check()  # the probe goes out
        second = gate.refused("again", source="stream login")
        assert (second.refusals, second.retry_at, second.reason) == (
            2, 1_030_000, first.reason)
        now[0] = 1_030_000
        assert gate.refused("again", source="REST").retry_at == 1_055_000  # capped
        gate.accepted()
        assert gate.episode is None
        gate.check()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "authentication was refused" in errors[0].getMessage()
    assert any("accepted again after 3" in r.getMessage() for r in caplog.records)


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError):
        AuthGate("acme", "acct", base_ms=10, max_ms=5)
