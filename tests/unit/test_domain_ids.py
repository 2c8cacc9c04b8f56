"""Client order ids: format limits, uniqueness, and reading our own ids back."""

from __future__ import annotations

import itertools
import re

import pytest

from console.domain import DomainValueError, OrderRole
from console.domain.ids import (
    ClientOrderIdGenerator,
    bracket_label,
    has_our_prefix,
    is_valid_client_id,
    label_prefix,
    parse_client_id,
    parse_label,
)


def test_ids_fit_bybit_and_binance_limits_even_at_the_extremes() -> None:
    counter = itertools.count(36**7 - 2)
    gen = ClientOrderIdGenerator("rcabcd", "worker99", lambda: next(counter),
                                 lambda: 4_102_444_800_000)  # year 2100
    for role in OrderRole:
        value = gen.next(role)
        assert len(value) <= 36 and re.fullmatch(r"[A-Za-z0-9_-]+", value)
        assert is_valid_client_id(value)


def test_ids_do_not_repeat_when_the_clock_steps_back() -> None:
    counter = itertools.count(1)
    clock = iter([1000, 999, 999, 1000] * 50)
    gen = ClientOrderIdGenerator("rc", "w1", lambda: next(counter), lambda: next(clock))
    ids = [gen.next() for _ in range(200)]
    assert len(set(ids)) == 200


def test_our_ids_parse_back_and_others_do_not() -> None:
    gen = ClientOrderIdGenerator("rc", "w7", lambda: 42, lambda: 1_700_000_000_000)
    value = gen.next(OrderRole.STOP_LOSS)
    parsed = parse_client_id(value)
    assert parsed is not None
    assert (parsed.prefix, parsed.worker, parsed.role, parsed.epoch_ms, parsed.counter) == (
        "rc", "w7", OrderRole.STOP_LOSS, 1_700_000_000_000, 42)
    assert has_our_prefix(value, "rc")
    assert not has_our_prefix(value, "rcx")
    for foreign in ("", "web_1234", "rc-w7-z-1-1", "rc-w7-e-1", "other-bot-e-1-1x!"):
        assert not has_our_prefix(foreign, "rc")


@pytest.mark.parametrize(("prefix", "worker"), [("", "w"), ("r-c", "w"), ("rc", "w_1"),
                                                ("toolongp", "w"), ("rc", "waytoolong")])
def test_bad_prefix_or_worker_is_refused(prefix: str, worker: str) -> None:
    with pytest.raises(DomainValueError):
        ClientOrderIdGenerator(prefix, worker, lambda: 1, lambda: 1)


def test_bracket_labels_are_prefix_filterable_and_bounded() -> None:
    label = bracket_label("rc", "ema-rsi-scalper", "w1", OrderRole.TAKE_PROFIT)
    assert label == "rc_ema-rsi-scalper_w1_tp"
    assert label.startswith(label_prefix("rc", "ema-rsi-scalper"))
    parsed = parse_label(label)
    assert parsed is not None and parsed.role is OrderRole.TAKE_PROFIT
    assert parse_label("strategy_x_entry") is None
    with pytest.raises(DomainValueError):
        bracket_label("rc", "s" * 70, "w1", OrderRole.ENTRY)
