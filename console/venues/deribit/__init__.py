"""Deribit futures (BTC/ETH inverse, USDC linear) over its JSON-RPC API v2 with aiohttp:
`DeribitVenue` is the engine's `VenuePort` for one account and settlement currency. The
same code talks to Deribit and to the simulated Deribit front-end on loopback: only
`DeribitConfig.rest_url` and `ws_private_url` differ."""

# The names are loaded on first use (PEP 562): the venue registry imports this package's
# `spec`, and a command that never connects need not import the client and aiohttp.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.venues.deribit.client import DeribitVenue
    from console.venues.deribit.config import DeribitConfig
    from console.venues.deribit.errors import SessionTerminatedError, VenueAuthError
    from console.venues.deribit.stream import DeribitPrivateStream

_WHERE = {
    "DeribitVenue": "client", "DeribitConfig": "config", "SessionTerminatedError": "errors",
    "VenueAuthError": "errors", "DeribitPrivateStream": "stream",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = [
    "DeribitConfig", "DeribitPrivateStream", "DeribitVenue", "SessionTerminatedError",
    "VenueAuthError",
]
