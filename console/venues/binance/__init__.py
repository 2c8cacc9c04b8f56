"""Binance spot and USD-M futures over ccxt's raw endpoint methods: `BinanceVenue` is the
engine's `VenuePort` for one account and one market. The same code talks to Binance and
to the simulated Binance front-end on loopback: only `BinanceConfig.rest_url` and
`ws_private_url` differ."""

# The names are loaded on first use (PEP 562): the venue registry imports this package's
# `spec`, and a command that never connects must not pay for importing ccxt (~1 s).
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.venues.binance.client import BinanceVenue
    from console.venues.binance.config import BinanceConfig
    from console.venues.binance.errors import (
        ClockSkewError,
        DuplicateClientOrderIdError,
        HedgeModeError,
        InvalidListenKeyError,
        VenueAuthError,
    )
    from console.venues.binance.stream import BinancePrivateStream

_WHERE = {
    "BinanceVenue": "client", "BinanceConfig": "config", "ClockSkewError": "errors",
    "DuplicateClientOrderIdError": "errors", "HedgeModeError": "errors",
    "InvalidListenKeyError": "errors", "VenueAuthError": "errors",
    "BinancePrivateStream": "stream",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


__all__ = [
    "BinanceConfig", "BinancePrivateStream", "BinanceVenue", "ClockSkewError",
    "DuplicateClientOrderIdError", "HedgeModeError", "InvalidListenKeyError",
    "VenueAuthError",
]
