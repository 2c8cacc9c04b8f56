"""Plain records (str → text/number/bool) to and from domain objects, strictly.

Venue adapters turn a venue's JSON into these neutral records (their field names are ours)
and parse them here; the store keeps action payloads in the same form. Parsing refuses
anything it would have to guess about: an unknown enum value, a missing field, a
non-numeric or non-finite number, a float, a negative quantity. The error names the
record type, the field and the offending value, never a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar

from console.domain.model import Balance, BracketState, Fill, Order, Position, RunnerState
from console.domain.values import DomainValueError, to_decimal, to_enum, to_epoch_ms

T = TypeVar("T")

Record = dict[str, Any]

_TIME_FIELDS = frozenset({"created_at", "updated_at", "exec_time", "opened_at",
                          "last_execution_time"})


def to_record(obj: object) -> Record:
    """Decimals as their exact text, enums as values, nested records recursively."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        raise TypeError(f"{obj!r} is not a domain record")
    out: Record = {}
    for f in dataclasses.fields(obj):
        out[f.name] = _encode(getattr(obj, f.name))
    return out


def _encode(value: object) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_record(value)
    if isinstance(value, tuple):
        return [_encode(v) for v in value]
    return value


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def from_record(cls: type[T], record: Mapping[str, Any], *, what: str = "") -> T:
    """Build `cls` from `record`; fields with defaults may be absent, others may not."""
    name = what or cls.__name__.lower()
    if not isinstance(record, Mapping):
        raise DomainValueError(f"{name}: expected an object, got {type(record).__name__}")
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a domain record type")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        label = f"{name}.{f.name}"
        if f.name not in record:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise DomainValueError(f"{label}: missing")
            continue
        kwargs[f.name] = _decode(hints[f.name], record[f.name], label)
    try:
        return cls(**kwargs)
    except DomainValueError as exc:
        raise DomainValueError(f"{name}: {exc}") from None


def _decode(hint: Any, raw: Any, label: str) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            if inner[0] is Decimal:
                return to_decimal(raw, label, allow_empty=True)
            return _decode(inner[0], raw, label)
        raise TypeError(f"{label}: unsupported union {hint!r}")
    if origin is tuple:
        if not isinstance(raw, list | tuple):
            raise DomainValueError(f"{label}: expected a list, got {type(raw).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_decode(args[0], v, f"{label}[{i}]") for i, v in enumerate(raw))
        if len(raw) != len(args):
            raise DomainValueError(f"{label}: expected {len(args)} items, got {len(raw)}")
        return tuple(_decode(a, v, f"{label}[{i}]") for i, (a, v) in enumerate(zip(args, raw,
                                                                                 strict=True)))
    if hint is Decimal:
        return to_decimal(raw, label)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return to_enum(hint, raw, label)
    if hint is bool:
        if not isinstance(raw, bool):
            raise DomainValueError(f"{label}: {raw!r} is not true or false")
        return raw
    if hint is int:
        if label.rsplit(".", 1)[-1] in _TIME_FIELDS:
            return to_epoch_ms(raw, label)
        if isinstance(raw, bool) or not isinstance(raw, int | str):
            raise DomainValueError(f"{label}: {raw!r} is not an integer")
        try:
            return int(raw)
        except ValueError:
            raise DomainValueError(f"{label}: {raw!r} is not an integer") from None
    if hint is str:
        if not isinstance(raw, str):
            raise DomainValueError(f"{label}: {raw!r} is not text")
        return raw
    if dataclasses.is_dataclass(hint):
        return from_record(typing.cast(type, hint), raw, what=label)
    raise TypeError(f"{label}: unsupported field type {hint!r}")


def order_from_record(record: Mapping[str, Any]) -> Order:
    return from_record(Order, record)


def fill_from_record(record: Mapping[str, Any]) -> Fill:
    return from_record(Fill, record)


def position_from_record(record: Mapping[str, Any]) -> Position:
    return from_record(Position, record)


def balance_from_record(record: Mapping[str, Any]) -> Balance:
    return from_record(Balance, record)


def bracket_from_record(record: Mapping[str, Any]) -> BracketState:
    return from_record(BracketState, record)


def runner_state_from_record(record: Mapping[str, Any]) -> RunnerState:
    return from_record(RunnerState, record)
