"""How a connector's parsers turn bad venue data into `MalformedVenueDataError`, once for
every venue: a failure names the venue, the record and the field, quotes the value
bounded, and a parser's unforeseen failure comes out typed (never a bare ValueError that
would end a stream task or turn a reconciliation into "ledger unavailable").

Each venue's `parsing.py` holds one `Malformed(VENUE)` and reads its own fields; what is
the same for every venue (the error's shape, the bounds, the backstop) lives here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, ParamSpec, TypeVar

from console.domain.values import DomainValueError
from console.errors import MalformedVenueDataError

P = ParamSpec("P")
R = TypeVar("R")

UNEXPECTED: Final = "could not be read"
"""The text of a failure the field checks did not foresee (see `Malformed.typed`)."""
UNEXPECTED_CODE: Final = "malformed_unforeseen"
"""Its `code` (the text alone cannot tell: a venue's value may quote anything); the fuzz
tests assert it never occurs."""
REFUSAL_CHARS: Final = 300
_UNFORESEEN: Final = (ValueError, TypeError, KeyError, AttributeError, ArithmeticError,
                      RecursionError, UnicodeError)


def shown(value: object, limit: int = 60) -> str:
    """A venue value quoted in an error: its repr, bounded (a 1 MB string or a deep list
    must not become a 1 MB log line); reprs escape lone surrogates and control
    characters, so the text is safe to log."""
    try:
        text = repr(value)
    except RecursionError:
        text = f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True, slots=True)
class Malformed:
    """The malformed-data errors of one venue's parsers."""

    venue: str

    def fail(self, message: str, code: str = "malformed") -> MalformedVenueDataError:
        return MalformedVenueDataError(f"{self.venue}: {message}", venue=self.venue,
                                       code=code)

    def refused(self, exc: DomainValueError, prefix: str = "") -> MalformedVenueDataError:
        """A `console.domain.values` refusal as ours. Its text starts with the field's
        name; it quotes the value unbounded for some types (a list's repr): cut here."""
        text = f"{prefix}{exc}"
        return self.fail(text if len(text) <= REFUSAL_CHARS
                         else text[:REFUSAL_CHARS] + "...")

    def build(self, what: str, factory: Any, **kwargs: Any) -> Any:
        """Construct a domain record; its own validation errors become malformed data."""
        try:
            return factory(**kwargs)
        except DomainValueError as exc:
            raise self.refused(exc, f"{what}: ") from None

    def typed(self, what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Last line of defence for a public parser: whatever its field checks did not
        foresee still comes out as `MalformedVenueDataError` naming the record and the
        Python error. A parser that reaches this has a gap, which the fuzz tests report
        (they look for `UNEXPECTED` in the text and `UNEXPECTED_CODE`)."""

        def wrap(parse: Callable[P, R]) -> Callable[P, R]:
            @functools.wraps(parse)
            def typed(*args: P.args, **kwargs: P.kwargs) -> R:
                try:
                    return parse(*args, **kwargs)
                except _UNFORESEEN as exc:
                    raise self.fail(f"{what} {UNEXPECTED} ({type(exc).__name__}: "
                                    f"{shown(str(exc), 120)})", UNEXPECTED_CODE) from None
            return typed
        return wrap
