"""A protocol-faithful Bybit v5 front-end for the simulated exchange.

`BybitFrontEnd` serves Bybit's REST API (v5 envelope, HMAC auth, rate limits, cursor
pagination, batch endpoints) and its private WebSocket over one `SimExchange`, on
127.0.0.1, inside the caller's asyncio loop. `Faults` injects what real venues and
networks do (latency, 5xx and 429, chosen retCodes, lost answers after a place,
dropped/duplicated/reordered pushes, disconnects). The real pybit client works against
it unchanged except for its URLs (see `console.sim.bybit.server`).
"""

from console.sim.bybit.codes import SIM_CODES, BybitError
from console.sim.bybit.faults import Faults, FaultSpecError
from console.sim.bybit.limits import DEFAULT_LIMITS, RateLimiter
from console.sim.bybit.server import PRIVATE_WS_PATH, BybitFrontEnd

__all__ = [
    "DEFAULT_LIMITS", "PRIVATE_WS_PATH", "SIM_CODES", "BybitError", "BybitFrontEnd",
    "FaultSpecError", "Faults", "RateLimiter",
]
