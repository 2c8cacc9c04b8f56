"""Bybit v5 (unified account) over pybit: `BybitVenue` is the engine's `VenuePort` for one
account. The same code talks to api.bybit.com and to the simulated Bybit front-end on
loopback: only `BybitConfig.rest_url` and `ws_private_url` differ."""

from console.venues.bybit.client import BybitVenue
from console.venues.bybit.config import BybitConfig
from console.venues.bybit.errors import (
    ClockSkewError,
    DuplicateClientOrderIdError,
    VenueAuthError,
)
from console.venues.bybit.stream import BybitPrivateStream

__all__ = [
    "BybitConfig", "BybitPrivateStream", "BybitVenue", "ClockSkewError",
    "DuplicateClientOrderIdError", "VenueAuthError",
]
