"""The simulated exchange: a deterministic, protocol-neutral core (`SimExchange`), the
in-process venue port over it (`SimVenue`) and named scenarios (`console.sim.scenarios`).

Protocol front-ends (Bybit, Binance, Deribit over HTTP + WebSocket) are layered on the
same core. See `console.sim.core` for how the sim works, `console.sim.accounting` for
the money rules of linear and inverse contracts.
"""

from console.sim.book import BookLevel, BookView
from console.sim.core import Page, SimExchange, wall_clock_ms
from console.sim.errors import SimErrorCode, SimOrderNotFoundError, SimRejectedError
from console.sim.events import EventKind, SimEvent
from console.sim.instruments import (
    DEFAULT_INSTRUMENTS,
    INVERSE_INSTRUMENTS,
    Instrument,
    inverse,
    linear,
    numbered_linear_instruments,
    spot,
)
from console.sim.state import PositionFigures, PositionMode
from console.sim.venue import DEFAULT_PAGE_LIMITS, SimVenue

__all__ = [
    "DEFAULT_INSTRUMENTS", "DEFAULT_PAGE_LIMITS", "INVERSE_INSTRUMENTS", "BookLevel",
    "BookView", "EventKind", "Instrument", "Page", "PositionFigures", "PositionMode",
    "SimErrorCode", "SimEvent", "SimExchange", "SimOrderNotFoundError", "SimRejectedError",
    "SimVenue", "inverse", "linear", "numbered_linear_instruments", "spot", "wall_clock_ms",
]
