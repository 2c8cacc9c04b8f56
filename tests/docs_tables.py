"""The machinery that holds a simulated answer to a venue's documented field tables,
shared by the Binance and Deribit conformance suites (tests/sim_binance/binance_docs.py,
tests/sim_deribit/deribit_docs.py hold the tables themselves, with their provenance).

A `DocsChecker` over a venue's tables checks that every required field is present,
every documented field present has a documented type, and no undocumented field is
there; a venue may add its own rule for a value (`value_problem`). Every (table, field)
evaluated is recorded in its `tally`, so a suite can prove that no table went unchecked.

Imported by name (tests/ is on sys.path, as for the other shared test helpers).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class J(Enum):
    """A JSON type as the docs name it."""

    STR = "string"
    INT = "integer"
    NUM = "number"
    BOOL = "boolean"
    ARR = "array"
    OBJ = "object"
    NULL = "null"


def json_type(value: object) -> J | None:
    """The JSON type of a decoded value; an integral number is INT (a NUM field takes
    both: JSON has one number type)."""
    if value is None:
        return J.NULL
    if isinstance(value, bool):
        return J.BOOL
    if isinstance(value, int):
        return J.INT
    if isinstance(value, float):
        return J.NUM
    if isinstance(value, str):
        return J.STR
    if isinstance(value, list):
        return J.ARR
    if isinstance(value, dict):
        return J.OBJ
    return None


@dataclass(frozen=True)
class F:
    """One documented field. `item`: the table of its elements (array) or of itself
    (object), when the docs give one."""

    name: str
    types: tuple[J, ...]
    required: bool = True
    item: str | None = None

    def accepts(self, got: J | None) -> bool:
        return got in self.types or (got is J.INT and J.NUM in self.types)


class TableLike(Protocol):
    """What the checker reads of a venue's table (which also records its provenance)."""

    @property
    def key(self) -> str: ...

    @property
    def fields(self) -> tuple[F, ...]: ...

    def names(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class Deviation:
    table: str
    path: str
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.table}: {self.path}: expected {self.expected}, got {self.got}"


@dataclass
class Tally:
    """Every (table, field) evaluated, and how many evaluations in all."""

    tables: Mapping[str, TableLike]
    pairs: set[tuple[str, str]] = field(default_factory=set)
    count: int = 0

    def add(self, table: str, name: str) -> None:
        self.pairs.add((table, name))
        self.count += 1

    def missing(self) -> list[tuple[str, str]]:
        return sorted((t.key, f.name) for t in self.tables.values() for f in t.fields
                      if (t.key, f.name) not in self.pairs)


ValueProblem = Callable[[Any], tuple[str, str] | None]
"""A venue's own rule for a value of a documented type: (expected, got) when it breaks."""


class DocsChecker:
    def __init__(self, venue: str, tables: Mapping[str, TableLike], *,
                 value_problem: ValueProblem | None = None) -> None:
        self.venue = venue
        self.tables = tables
        self.tally = Tally(tables)
        self.value_problem = value_problem

    def field_count(self) -> int:
        """How many (table, field) pairs the docs tables hold."""
        return sum(len(t.fields) for t in self.tables.values())

    def check(self, key: str, answer: Any, path: str = "") -> list[Deviation]:
        """How `answer` (one decoded JSON object) deviates from table `key`; records every
        field evaluated in the tally. Nested tables are checked for every element."""
        table = self.tables[key]
        where = path or key
        if not isinstance(answer, dict):
            return [Deviation(key, where, "a JSON object", f"{type(answer).__name__}: "
                              f"{str(answer)[:200]}")]
        out: list[Deviation] = []
        for spec in table.fields:
            self.tally.add(key, spec.name)
            if spec.name not in answer:
                if spec.required:
                    out.append(Deviation(key, f"{where}.{spec.name}", "present", "absent"))
                continue
            value = answer[spec.name]
            got = json_type(value)
            if not spec.accepts(got):
                out.append(Deviation(key, f"{where}.{spec.name}",
                                     "|".join(t.value for t in spec.types),
                                     f"{got.value if got else type(value).__name__} "
                                     f"{value!r:.60}"))
                continue
            problem = self.value_problem(value) if self.value_problem is not None else None
            if problem is not None:
                out.append(Deviation(key, f"{where}.{spec.name}", *problem))
            if spec.item is not None and isinstance(value, list):
                for index, element in enumerate(value):
                    out += self.check(spec.item, element, f"{where}.{spec.name}[{index}]")
            elif spec.item is not None and isinstance(value, dict):
                out += self.check(spec.item, value, f"{where}.{spec.name}")
        for extra in sorted(set(answer) - table.names()):
            out.append(Deviation(key, f"{where}.{extra}", "no undocumented field",
                                 f"{extra}={answer[extra]!r:.60}"))
        return out

    def check_list(self, key: str, answer: Any) -> list[Deviation]:
        """A listed answer: a JSON array whose every element matches table `key`."""
        if not isinstance(answer, list):
            return [Deviation(key, key, "a JSON array", f"{type(answer).__name__}: "
                              f"{str(answer)[:200]}")]
        out: list[Deviation] = []
        for index, element in enumerate(answer):
            out += self.check(key, element, f"{key}[{index}]")
        return out

    def explain(self, deviations: list[Deviation]) -> str:
        return (f"the sim deviates from {self.venue}'s docs:\n"
                + "\n".join(map(str, deviations)))
