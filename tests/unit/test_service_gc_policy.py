"""The headless engine's start-up collector policy (console.service.gc_policy): what is
alive when the session is built is frozen, so a cold start's full collections do not
walk the program again; objects made afterwards are still collected."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from console.service.gc_policy import freeze_program


@pytest.fixture
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the cyclic collector frees it


def test_what_lives_at_start_is_frozen_and_later_cycles_are_still_collected(
        thawed: None) -> None:
    assert gc.get_freeze_count() == 0
    freeze_program()
    assert gc.get_freeze_count() > 1000  # the modules, classes and functions loaded
    later = Node()
    ref = weakref.ref(later)
    del later
    gc.collect()
    assert ref() is None


def test_garbage_made_before_the_freeze_is_collected_first(thawed: None) -> None:
    before = Node()
    ref = weakref.ref(before)
    del before
    freeze_program()
    assert ref() is None  # collected, not frozen
