"""Bybit v5 (unified account) over pybit: `BybitVenue` is the engine's `VenuePort` for one
account. The same code talks to api.bybit.com and to the simulated Bybit front-end on
loopback: only `BybitConfig.rest_url` and `ws_private_url` differ."""

# The names are loaded on first use (PEP 562): the venue registry imports this package's
# `spec`, and a command that never connects must not pay for importing pybit (~0.3 s).
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.venues.bybit.client import BybitVenue
    from console.venues.bybit.config import BybitConfig
    from console.venues.bybit.errors import (
        ClockSkewError,
        DuplicateClientOrderIdError,
        VenueAuthError,
    )
    from console.venues.bybit.stream import BybitPrivateStream

_WHERE = {
    "BybitVenue": "client", "BybitConfig": "config", "ClockSkewError": "errors",
    "DuplicateClientOrderIdError": "errors", "VenueAuthError": "errors",
    "BybitPrivateStream": "stream",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = [
    "BybitConfig", "BybitPrivateStream", "BybitVenue", "ClockSkewError",
    "DuplicateClientOrderIdError", "VenueAuthError",
]
