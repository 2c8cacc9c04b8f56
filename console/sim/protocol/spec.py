"""How a front-end package declares itself to the sim's registry (`console.sim.frontends`).

Each front-end package has a `spec.py` with ``SPEC = FrontEndSpec(...)``: its registry
name, a one-line title, the categories it serves and a `build` function that makes the
front-end over a `SimExchange`. The server, the CLI and the profile dialog learn what
venues the sim speaks from the registry only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

from console.domain.enums import Category
from console.sim.core import SimExchange
from console.sim.protocol.faults import Faults
from console.sim.protocol.frontend import FrontEnd
from console.sim.protocol.keys import KeyStore
from console.sim.protocol.limits import RateLimiter

_NAME: Final = re.compile(r"^[a-z][a-z0-9_]*$")


class FrontEndBuilder(Protocol):
    def __call__(self, exchange: SimExchange, *,
                 keys: KeyStore | Mapping[str, tuple[str, str]] | None = None,
                 faults: str | Faults | None = None,
                 rate_limits: RateLimiter | Mapping[str, int] | None = None,
                 clock_ms: Callable[[], int] | None = None,
                 seed: int = 7) -> FrontEnd:
        """A front-end (not started) over `exchange`.

        keys: a `KeyStore` or ``{api_key: (api_secret, account)}``; None: a fresh key per
        account of the exchange. faults: a spec in the fault grammar, or a `Faults`.
        rate_limits: budget overrides by bucket, or a ready limiter. seed: the faults' and
        the stream's randomness."""
        ...


@dataclass(frozen=True, slots=True)
class FrontEndSpec:
    """One sim front-end as the registry lists it."""

    name: str
    title: str
    categories: frozenset[Category]
    build: FrontEndBuilder

    def __post_init__(self) -> None:
        if _NAME.match(self.name) is None:
            raise ValueError(f"front-end name {self.name!r}: lower-case letters, digits, _")
        if not self.title.strip() or "\n" in self.title:
            raise ValueError(f"front-end {self.name}: the title is one non-empty line")
        if not self.categories:
            raise ValueError(f"front-end {self.name}: serves no category")
