"""Strict conversions from venue strings to domain values: the one definition every
venue parser, front-end and codec uses.

Money arrives as text and stays exact: `Decimal` parsed from the string the venue sent.
A float, a NaN, an infinity or a bare `None` is refused with a message naming the field,
because guessing here is how a ledger silently drifts.

The accepted grammar is deliberately narrower than Python's: ASCII digits only (Python
also reads Arabic-Indic and full-width digits), no underscores ("1_000"), no surrounding
whitespace (" 12 "), an optional sign, a decimal point and an exponent. Values are bounded
(`MAX_MAGNITUDE_EXP`, `MIN_MAGNITUDE_EXP`, `MAX_DIGITS`): "1e999999999" parses in Python
and then overflows the first subtraction far from here, so it is refused at the border.
Timestamps are non-negative ASCII integers below `MAX_EPOCH_MS` (the year 9999), which
also keeps them inside a signed 64-bit database column. Text must be valid Unicode (no
lone surrogates, which no database driver can encode) and free of control characters.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Final, TypeVar

E = TypeVar("E", bound=Enum)

ZERO = Decimal(0)

MAX_MAGNITUDE_EXP: Final = 24
"""|value| < 10**24: above every price, quantity or balance a venue reports (wei-scaled
token balances included), far below what would overflow Decimal arithmetic."""
MIN_MAGNITUDE_EXP: Final = -30
"""Non-zero values are >= 10**-30 in magnitude."""
MAX_DIGITS: Final = 50
"""Significant digits kept exactly (the ledger's Money column holds the text)."""
MAX_EPOCH_MS: Final = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z."""

_NUMBER: Final = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,10})?")
_PLAIN: Final = re.compile(r"[+-]?[0-9]{1,20}(?:\.[0-9]{1,30})?")
"""The common well-formed number: at most 20 integer and 30 fraction digits, so within
every bound above by construction (|value| < 10**20, non-zero ones >= 10**-30, at most
50 digits); such a string is taken without the checks that name a fault."""
_INTEGER: Final = re.compile(r"[0-9]{1,19}")
_SPECIAL: Final = frozenset({"nan", "snan", "inf", "infinity"})
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class DomainValueError(ValueError):
    """A value that cannot become a domain value. The text names the field and the value."""


def to_decimal(raw: object, field: str, *, allow_empty: bool = False) -> Decimal | None:
    """Parse a venue number. Empty means "absent" only where the caller allows it."""
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, bool | float):
        raise DomainValueError(
            f"{field}: {_shown(raw)} is not an exact decimal (got {type(raw).__name__})")
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        if _PLAIN.fullmatch(raw) is not None:
            return Decimal(raw)
        if raw == "":
            if allow_empty:
                return None
            raise DomainValueError(f"{field}: missing (empty string)")
        if len(raw) > 80 or _NUMBER.fullmatch(raw) is None:
            what = "a finite number" if raw.lower().lstrip("+-") in _SPECIAL else "a number"
            raise DomainValueError(f"{field}: {_clip(raw)!r} is not {what}")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise DomainValueError(f"{field}: {_clip(raw)!r} is not a number") from None
    elif raw is None:
        if allow_empty:
            return None
        raise DomainValueError(f"{field}: missing")
    else:
        raise DomainValueError(f"{field}: {_shown(raw)} is not a number (got {type(raw).__name__})")
    if not value.is_finite():
        raise DomainValueError(f"{field}: {_clip(str(raw))!r} is not a finite number")
    check_bounds(value, field)
    return value


def check_bounds(value: Decimal, field: str) -> Decimal:
    """`value` within the magnitudes a venue can mean (see the module docstring)."""
    if value.is_zero():
        return value
    if not value.is_finite() or not (
            MIN_MAGNITUDE_EXP <= value.adjusted() < MAX_MAGNITUDE_EXP):
        raise DomainValueError(f"{field}: {_clip(str(value))} is out of range "
                               f"(10^{MIN_MAGNITUDE_EXP} to 10^{MAX_MAGNITUDE_EXP})")
    digits = value.as_tuple().digits
    if len(digits) <= MAX_DIGITS:  # the common case: no digit to count
        return value
    # counted on the digits themselves: normalize() would round to the context first
    significant = "".join(map(str, digits)).strip("0")
    if len(significant) > MAX_DIGITS:
        raise DomainValueError(f"{field}: {_clip(str(value))} has more than {MAX_DIGITS} "
                               "significant digits")
    return value


def _shown(raw: object, limit: int = 60) -> str:
    """A venue value quoted in an error: its repr (which escapes lone surrogates and
    control characters), bounded, so a hostile list or string cannot flood a log."""
    text = repr(raw)
    return text if len(text) <= limit else text[:limit] + "..."


def _clip(text: str, limit: int = 40) -> str:
    """Venue text quoted in an error: bounded, and safe to log (no lone surrogates)."""
    safe = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return safe if len(safe) <= limit else safe[:limit] + "..."


def require_decimal(raw: object, field: str) -> Decimal:
    value = to_decimal(raw, field)
    assert value is not None
    return value


def non_negative(raw: object, field: str) -> Decimal:
    value = require_decimal(raw, field)
    if value < 0:
        raise DomainValueError(f"{field}: {_shown(raw)} is negative")
    return value


def positive(raw: object, field: str) -> Decimal:
    value = require_decimal(raw, field)
    if value <= 0:
        raise DomainValueError(f"{field}: {_shown(raw)} must be greater than zero")
    return value


def to_enum(enum: type[E], raw: object, field: str, mapping: dict[str, E] | None = None) -> E:
    """Map a venue string onto our enum; an unknown value is an error, never a default."""
    if isinstance(raw, enum):
        return raw
    if not isinstance(raw, str):
        raise DomainValueError(f"{field}: {_shown(raw)} is not a string")
    if mapping is not None:
        if raw in mapping:
            return mapping[raw]
        known = ", ".join(sorted(mapping))
        raise DomainValueError(f"{field}: unknown value {_shown(raw)} (known: {known})")
    try:
        return enum(raw)
    except ValueError:
        known = ", ".join(str(m.value) for m in enum)
        raise DomainValueError(f"{field}: unknown value {_shown(raw)} (known: {known})") from None


def to_epoch_ms(raw: object, field: str) -> int:
    if isinstance(raw, bool):
        raise DomainValueError(f"{field}: {_shown(raw)} is not a timestamp")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and _INTEGER.fullmatch(raw):
        value = int(raw)
    else:
        shown = _clip(raw) if isinstance(raw, str) else raw
        raise DomainValueError(f"{field}: {_shown(shown)} is not an epoch-millisecond timestamp")
    if value < 0:
        raise DomainValueError(f"{field}: {_shown(raw)} is negative")
    if value > MAX_EPOCH_MS:
        raise DomainValueError(f"{field}: {_shown(raw)} is beyond the year 9999")
    return value


def check_text(raw: str, field: str, *, max_len: int = 1000) -> str:
    """Venue text fit for the ledger and the log: valid Unicode, no control characters,
    bounded length."""
    if len(raw) <= max_len and raw.isascii() and raw.isprintable():
        return raw  # the common case: ASCII has no surrogate, printable no control
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise DomainValueError(f"{field}: {_clip(raw)!r} is not valid Unicode "
                               "(lone surrogate)") from None
    if _CONTROL.search(raw):
        raise DomainValueError(f"{field}: {_clip(raw)!r} contains control characters")
    if len(raw) > max_len:
        raise DomainValueError(f"{field}: {len(raw)} characters, more than {max_len}")
    return raw


def require_text(raw: object, field: str) -> str:
    if not isinstance(raw, str) or raw == "":
        raise DomainValueError(f"{field}: missing")
    return check_text(raw, field)
