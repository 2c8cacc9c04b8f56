"""The venue registry: the connectors this build has, by name.

`VENUES` is the one list the composition roots (`bootstrap.build_venue`), the CLI
(`profiles add --venue` and its venue options), the profile dialog (through
`console.bootstrap_gui`) and the profile reader (`console.profiles`, which takes it as its
`venues` argument) iterate over. A venue is offered when, and only when, its connector
package has a `spec.py` whose `SPEC` is listed here; a profile naming any other venue is
refused when created or read ("venue 'binance' has no connector in this build; available:
bybit, sim"). "sim", the embedded simulated exchange, is always available and is not a
connector: the composition root wires it.

This is the only module outside the composition roots that imports the venue packages
(an import-linter contract). Importing it does not import any venue's client library.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from console.errors import ConfigError
from console.profiles import SIM_VENUE, available_venues, unavailable_venue
from console.venues.binance.spec import SPEC as BINANCE
from console.venues.bybit.spec import SPEC as BYBIT
from console.venues.deribit.spec import SPEC as DERIBIT
from console.venues.spec import Connection, ConnectorSpec, Endpoints, SettingField

VENUES: Final[Mapping[str, ConnectorSpec[Any]]] = MappingProxyType({
    spec.name: spec for spec in (BINANCE, BYBIT, DERIBIT)
})
"""Every venue connector of this build, by name."""

DEFAULT_VENUE: Final = BYBIT.name
"""The venue `profiles add` assumes without `--venue`: the first connector this product
had, kept so that scripts written before Binance existed still mean the same."""


def connector(name: str) -> ConnectorSpec[Any]:
    """The spec of venue `name`; ConfigError naming the available ones otherwise."""
    try:
        return VENUES[name]
    except KeyError:
        if name == SIM_VENUE:
            raise ConfigError("venue 'sim' is the embedded simulated exchange: it has no "
                              "connector (the composition root builds it)") from None
        raise ConfigError(unavailable_venue(name, VENUES)) from None


def venue_names() -> tuple[str, ...]:
    """Every venue a profile may name: the connectors, then "sim"."""
    return available_venues(VENUES)


__all__ = [
    "DEFAULT_VENUE", "SIM_VENUE", "VENUES", "Connection", "ConnectorSpec", "Endpoints",
    "SettingField", "connector", "venue_names",
]
