"""Strict conversions from venue strings to domain values.

Money arrives as text and stays exact: `Decimal` parsed from the string the venue sent.
A float, a NaN, an infinity or a bare `None` is refused with a message naming the field,
because guessing here is how a ledger silently drifts.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)

ZERO = Decimal(0)


class DomainValueError(ValueError):
    """A value that cannot become a domain value. The text names the field and the value."""


def to_decimal(raw: object, field: str, *, allow_empty: bool = False) -> Decimal | None:
    """Parse a venue number. Empty means "absent" only where the caller allows it."""
    if isinstance(raw, Decimal):
        value = raw
    elif isinstance(raw, bool | float):
        raise DomainValueError(
            f"{field}: {raw!r} is not an exact decimal (got {type(raw).__name__})")
    elif isinstance(raw, int):
        value = Decimal(raw)
    elif isinstance(raw, str):
        text = raw.strip()
        if text == "":
            if allow_empty:
                return None
            raise DomainValueError(f"{field}: missing (empty string)")
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise DomainValueError(f"{field}: {raw!r} is not a number") from None
    elif raw is None:
        if allow_empty:
            return None
        raise DomainValueError(f"{field}: missing")
    else:
        raise DomainValueError(f"{field}: {raw!r} is not a number (got {type(raw).__name__})")
    if not value.is_finite():
        raise DomainValueError(f"{field}: {raw!r} is not a finite number")
    return value


def require_decimal(raw: object, field: str) -> Decimal:
    value = to_decimal(raw, field)
    assert value is not None
    return value


def non_negative(raw: object, field: str) -> Decimal:
    value = require_decimal(raw, field)
    if value < 0:
        raise DomainValueError(f"{field}: {raw!r} is negative")
    return value


def positive(raw: object, field: str) -> Decimal:
    value = require_decimal(raw, field)
    if value <= 0:
        raise DomainValueError(f"{field}: {raw!r} must be greater than zero")
    return value


def to_enum(enum: type[E], raw: object, field: str, mapping: dict[str, E] | None = None) -> E:
    """Map a venue string onto our enum; an unknown value is an error, never a default."""
    if isinstance(raw, enum):
        return raw
    if not isinstance(raw, str):
        raise DomainValueError(f"{field}: {raw!r} is not a string")
    if mapping is not None:
        if raw in mapping:
            return mapping[raw]
        known = ", ".join(sorted(mapping))
        raise DomainValueError(f"{field}: unknown value {raw!r} (known: {known})")
    try:
        return enum(raw)
    except ValueError:
        known = ", ".join(str(m.value) for m in enum)
        raise DomainValueError(f"{field}: unknown value {raw!r} (known: {known})") from None


def to_epoch_ms(raw: object, field: str) -> int:
    if isinstance(raw, bool):
        raise DomainValueError(f"{field}: {raw!r} is not a timestamp")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isdigit():
        value = int(raw.strip())
    else:
        raise DomainValueError(f"{field}: {raw!r} is not an epoch-millisecond timestamp")
    if value < 0:
        raise DomainValueError(f"{field}: {raw!r} is negative")
    return value


def require_text(raw: object, field: str) -> str:
    if not isinstance(raw, str) or raw == "":
        raise DomainValueError(f"{field}: missing")
    return raw
