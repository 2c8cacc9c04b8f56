"""The cheap paths of `console.domain.values` (a plain number, a short digit string, a
printable ASCII text) accept exactly what the full checks accept: every malformed value
near their edges is still refused with the same typed error and message."""

from __future__ import annotations

from decimal import Decimal

import pytest

from console.domain.values import DomainValueError, check_bounds, check_text, to_decimal


@pytest.mark.parametrize("raw", [
    "0", "-0", "+7", "42", "12345.678", "0.00012", "-3.5",
    "9" * 20, "1" + "0" * 19 + ".5",                  # widest the plain form takes
    "0." + "0" * 29 + "1",                              # 10**-30, the smallest allowed
    "9" * 24,                                           # beyond the plain form, in range
    "1." + "0" * 60,                                    # trailing zeros are not significant
    "1e3", "1.", ".5", "1E-30",
])
def test_well_formed_numbers_are_taken_exactly(raw: str) -> None:
    value = to_decimal(raw, "price")
    assert value == Decimal(raw)
    assert str(value) == str(Decimal(raw))


@pytest.mark.parametrize(("raw", "message"), [
    ("1" + "0" * 24, "price: 1000000000000000000000000 is out of range (10^-30 to 10^24)"),
    ("0." + "0" * 30 + "1", "price: 1E-31 is out of range (10^-30 to 10^24)"),
    ("1." + "1" * 50, "has more than 50 significant digits"),
    (" 1", "price: ' 1' is not a number"),
    ("1 ", "price: '1 ' is not a number"),
    ("1_000", "price: '1_000' is not a number"),
    ("\u0661\u0662", "is not a number"),              # Arabic-Indic digits
    ("\uff11", "is not a number"),                     # a full-width digit
    ("nan", "price: 'nan' is not a finite number"),
    ("-Infinity", "price: '-Infinity' is not a finite number"),
    ("1e999999999", "is out of range"),
    ("--1", "price: '--1' is not a number"),
    ("1.2.3", "price: '1.2.3' is not a number"),
    ("", "price: missing (empty string)"),
    ("1" * 81, "is not a number"),
])
def test_malformed_numbers_are_refused_with_their_message(raw: str, message: str) -> None:
    with pytest.raises(DomainValueError) as caught:
        to_decimal(raw, "price")
    assert message in str(caught.value)


def test_decimals_are_bounded_whatever_their_digit_count() -> None:
    assert check_bounds(Decimal("1." + "0" * 70), "qty") == 1
    with pytest.raises(DomainValueError, match="more than 50 significant digits"):
        check_bounds(Decimal("0." + "1" * 51), "qty")
    with pytest.raises(DomainValueError, match="out of range"):
        check_bounds(Decimal("1e24"), "qty")


@pytest.mark.parametrize("raw", ["BTCUSDT", "order-1_a", "tab\there", "line\nbreak", "é ü"])
def test_fit_text_is_returned_unchanged(raw: str) -> None:
    assert check_text(raw, "label") is raw


@pytest.mark.parametrize(("raw", "message"), [
    ("a\x00b", "contains control characters"),
    ("bell\x07", "contains control characters"),
    ("del\x7f", "contains control characters"),
    ("lone\ud800", "is not valid Unicode (lone surrogate)"),
    ("x" * 1001, "1001 characters, more than 1000"),
])
def test_unfit_text_is_refused_with_its_message(raw: str, message: str) -> None:
    with pytest.raises(DomainValueError) as caught:
        check_text(raw, "label")
    assert message in str(caught.value)
