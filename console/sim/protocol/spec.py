"""How a front-end package declares itself to the sim's registry (`console.sim.frontends`).

Each front-end package has a `spec.py` with ``SPEC = FrontEndSpec(...)``: its registry
name, a one-line title, the categories it serves and a `build` function that makes the
front-end over a `SimExchange`. The server, the CLI and the profile dialog learn what
venues the sim speaks from the registry only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from console.domain.enums import Category
from console.errors import ConfigError
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
                 seed: int = 7, market: Category | None = None) -> FrontEnd:
        """A front-end (not started) over `exchange`.

        keys: a `KeyStore` or ``{api_key: (api_secret, account)}``; None: a fresh key per
        account of the exchange. faults: a spec in the fault grammar, or a `Faults`.
        rate_limits: budget overrides by bucket, or a ready limiter. seed: the faults' and
        the stream's randomness. market: for a venue that serves its markets from
        separate hosts (`FrontEndSpec.markets`), the market whose URLs it describes; None
        for its default (the first of `markets`)."""
        ...


@dataclass(frozen=True, slots=True)
class FrontEndSpec:
    """One sim front-end as the registry lists it."""

    name: str
    title: str
    categories: frozenset[Category]
    build: FrontEndBuilder
    markets: Mapping[str, Category] = field(default_factory=dict)
    """For a venue whose markets live on separate hosts (Binance spot and USD-M): the
    `--market` names it accepts, first the default. Empty: one set of URLs serves every
    category, and `--market` is refused."""

    def market(self, name: str | None) -> Category | None:
        """The category `--market name` selects; ConfigError naming the choices."""
        if name is None:
            return None
        if name not in self.markets:
            if not self.markets:
                raise ConfigError(f"sim venue {self.name!r} serves every market from one "
                                  "set of URLs: it takes no --market")
            raise ConfigError(f"sim venue {self.name!r} has no market {name!r}; markets: "
                              f"{', '.join(self.markets)}")
        return self.markets[name]

    def __post_init__(self) -> None:
        if _NAME.match(self.name) is None:
            raise ValueError(f"front-end name {self.name!r}: lower-case letters, digits, _")
        if not self.title.strip() or "\n" in self.title:
            raise ValueError(f"front-end {self.name}: the title is one non-empty line")
        if not self.categories:
            raise ValueError(f"front-end {self.name}: serves no category")
        if not set(self.markets.values()) <= self.categories:
            raise ValueError(f"front-end {self.name}: a market outside its categories")
