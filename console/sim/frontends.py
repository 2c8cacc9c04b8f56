"""The sim's front-end registry: every venue protocol the simulated exchange can speak.

Each front-end package declares itself in its `spec.py` (``SPEC = FrontEndSpec(...)``);
this module collects them, in the order the CLI lists them (the first is the default of
`recon-console sim`). The server, the CLI and the profile dialog iterate over
`FRONT_ENDS`; nothing else names a front-end package. Adding a venue: write its package
over `console.sim.protocol`, give it a `spec.py`, add its SPEC below.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from console.errors import ConfigError
from console.sim.binance.spec import SPEC as BINANCE
from console.sim.bybit.spec import SPEC as BYBIT
from console.sim.deribit.spec import SPEC as DERIBIT
from console.sim.protocol.spec import FrontEndBuilder, FrontEndSpec


def _registry(*specs: FrontEndSpec) -> Mapping[str, FrontEndSpec]:
    table: dict[str, FrontEndSpec] = {}
    for spec in specs:
        if spec.name in table:
            raise ValueError(f"two sim front-ends are named {spec.name!r}")
        table[spec.name] = spec
    return MappingProxyType(table)


FRONT_ENDS: Final[Mapping[str, FrontEndSpec]] = _registry(BYBIT, BINANCE, DERIBIT)
DEFAULT_FRONT_END: Final = next(iter(FRONT_ENDS))


def front_end(name: str) -> FrontEndSpec:
    """The registered front-end `name`; ConfigError naming the known ones otherwise."""
    spec = FRONT_ENDS.get(name)
    if spec is None:
        raise ConfigError(f"sim venue {name!r} is not available; available: "
                          f"{', '.join(FRONT_ENDS)}")
    return spec


__all__ = ["DEFAULT_FRONT_END", "FRONT_ENDS", "FrontEndBuilder", "FrontEndSpec", "front_end"]
