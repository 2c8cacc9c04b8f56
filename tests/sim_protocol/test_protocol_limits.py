"""Rolling-window budgets (venue-neutral: the headers are each venue's)."""

from __future__ import annotations

import pytest

from console.sim.protocol.limits import RateLimiter, as_limiter


def test_rolling_window_frees_the_budget() -> None:
    limiter = RateLimiter({"/x": 2}, window_ms=1000)
    assert limiter.take("u", "/x", 1000).granted == 1
    assert limiter.take("u", "/x", 1500).granted == 1
    refused = limiter.take("u", "/x", 1800)
    assert refused.exceeded and refused.reset_ms == 2000
    assert limiter.take("other-uid", "/x", 1800).granted == 1
    assert limiter.take("u", "/x", 2001).granted == 1
    assert limiter.take("u", "/x", 2001).exceeded


def test_overrides_beat_the_venue_defaults_and_others_get_the_default_budget() -> None:
    limiter = RateLimiter({"/a": 3}, defaults={"/a": 10, "/b": 4}, default=7)
    assert (limiter.limit("/a"), limiter.limit("/b"), limiter.limit("/c")) == (3, 4, 7)
    limiter.set_limit("/c", 1)
    assert limiter.limit("/c") == 1


def test_a_costly_request_gets_what_is_left() -> None:
    limiter = RateLimiter({"/batch": 5})
    first = limiter.take("u", "/batch", 0, units=3)
    assert (first.granted, first.remaining, first.reset_ms) == (3, 2, 0)
    second = limiter.take("u", "/batch", 10, units=4)
    assert (second.granted, second.remaining, second.exceeded) == (2, 0, False)
    third = limiter.take("u", "/batch", 20, units=1)
    assert third.exceeded and third.reset_ms == 1000  # when the first units leave


def test_reset_forgets_what_was_used() -> None:
    limiter = RateLimiter({"/x": 1})
    limiter.take("u", "/x", 0)
    assert limiter.take("u", "/x", 1).exceeded
    limiter.reset()
    assert limiter.take("u", "/x", 2).granted == 1


@pytest.mark.parametrize("kwargs", [{"window_ms": 0}, {"default": 0}, {"limits": {"/x": 0}}])
def test_budgets_below_one_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        RateLimiter(**kwargs)  # type: ignore[arg-type]


def test_as_limiter_keeps_a_limiter_and_builds_one_from_overrides() -> None:
    ready = RateLimiter()
    assert as_limiter(ready, defaults={"/x": 1}) is ready
    built = as_limiter({"/y": 2}, defaults={"/x": 1})
    assert (built.limit("/x"), built.limit("/y")) == (1, 2)
