"""The one definition of a venue number, timestamp and text (console.domain.values):
narrower than Python's own parsers, and bounded, so that nothing a venue sends can
overflow arithmetic or a database column far from the border."""

from __future__ import annotations

from decimal import Decimal

import pytest

from console.domain.values import (
    MAX_EPOCH_MS,
    DomainValueError,
    check_text,
    require_text,
    to_decimal,
    to_epoch_ms,
)


@pytest.mark.parametrize(("raw", "want"), [
    ("1", "1"), ("-1.5", "-1.5"), ("+3", "3"), (".5", "0.5"), ("1.", "1"), ("1e-5", "0.00001"),
    ("1E+3", "1000"), ("0", "0"), ("0.000000000000000000000000000001", "1E-30"),
    ("999999999999999999999999", "999999999999999999999999"), (7, "7"),
])
def test_plain_ascii_numbers_parse_exactly(raw: object, want: str) -> None:
    assert to_decimal(raw, "f") == Decimal(want)


@pytest.mark.parametrize("raw", [
    "1_000", " 12 ", "12 ", "\t1", "١٢", "１２", "nan", "NaN", "inf", "-Infinity", "1e", "e5",
    "0x10", "1,5", "--1", "", "1" * 81, 1.5, True, None, {"a": 1}, ["1"],
])
def test_everything_else_is_refused_naming_the_field(raw: object) -> None:
    with pytest.raises(DomainValueError, match=r"^qty: "):
        to_decimal(raw, "qty")


@pytest.mark.parametrize("raw", ["1e999999999", "-1e999999999", "1e24", "1e-31",
                                 "1" * 25, Decimal("1e30"), 10**30])
def test_magnitudes_no_venue_means_are_refused_before_any_arithmetic(raw: object) -> None:
    with pytest.raises(DomainValueError, match=r"out of range|not a number"):
        to_decimal(raw, "walletBalance")


def test_too_many_significant_digits_are_refused() -> None:
    with pytest.raises(DomainValueError, match="significant digits"):
        to_decimal("1." + "1" * 60, "price")


@pytest.mark.parametrize("raw", ["1e3", "９", "١", " 12", "12 ", "1_0", "-1", 2**63,
                                 str(2**63), MAX_EPOCH_MS + 1, "1.0", 1.0, True])
def test_timestamps_are_ascii_integers_below_the_year_10000(raw: object) -> None:
    with pytest.raises(DomainValueError, match=r"^updatedTime: "):
        to_epoch_ms(raw, "updatedTime")


def test_valid_timestamps_parse() -> None:
    assert to_epoch_ms("1700000000000", "t") == 1_700_000_000_000
    assert to_epoch_ms(MAX_EPOCH_MS, "t") == MAX_EPOCH_MS
    assert to_epoch_ms("0", "t") == 0


@pytest.mark.parametrize("raw", ["a\ud800b", "x\x00", "bell\x07", "esc\x1b[31m"])
def test_text_with_lone_surrogates_or_control_characters_is_refused(raw: str) -> None:
    with pytest.raises(DomainValueError, match=r"^orderLinkId: "):
        check_text(raw, "orderLinkId")
    with pytest.raises(DomainValueError):
        require_text(raw, "orderLinkId")


def test_error_texts_quote_venue_text_safely() -> None:
    with pytest.raises(DomainValueError) as caught:
        to_decimal("\ud800" * 100, "qty")
    message = str(caught.value)
    message.encode("utf-8")  # printable and loggable
    assert len(message) < 120


def test_a_hostile_value_is_quoted_bounded() -> None:
    with pytest.raises(DomainValueError) as caught:
        to_decimal(["x"] * 10_000, "qty")
    assert len(str(caught.value)) < 150
    with pytest.raises(DomainValueError) as caught:
        to_epoch_ms({"k": "v" * 10_000}, "t")
    assert len(str(caught.value)) < 150
