"""A protocol-faithful Bybit v5 front-end for the simulated exchange.

`BybitFrontEnd` serves Bybit's REST API (v5 envelope, HMAC auth, rate limits, cursor
pagination, batch endpoints) and its private WebSocket over one `SimExchange`, on
127.0.0.1, inside the caller's asyncio loop. The machinery is shared with the other
front-ends (`console.sim.protocol`: pipeline, faults, limits, paging, event hub, keys);
this package holds Bybit's endpoint table, shapes, codes and signature rules. The real
pybit client works against it unchanged except for its URLs (see
`console.sim.bybit.server`). `Faults` is the shared fault controller with Bybit's place
endpoint as the default target of the after-place rules.
"""

from console.sim.bybit.codes import SIM_CODES, BybitError
from console.sim.bybit.faults import BybitFaults
from console.sim.bybit.limits import DEFAULT_LIMITS
from console.sim.bybit.server import PRIVATE_WS_PATH, BybitFrontEnd

Faults = BybitFaults  # the name callers construct faults by

__all__ = [
    "DEFAULT_LIMITS", "PRIVATE_WS_PATH", "SIM_CODES", "BybitError", "BybitFaults",
    "BybitFrontEnd", "Faults",
]
