"""What every simulated venue's front-end shares: the venue-neutral protocol machinery.

A front-end (`console.sim.bybit`, and the ones to come) serves one venue's REST API and
private stream over a `SimExchange`. Everything that does not depend on the venue lives
here, one module per concern:

* `frontend`: the `FrontEnd` protocol the server runs, and `HttpFrontEnd`, the aiohttp
  lifecycle (start, stop, URLs, `describe()`);
* `pipeline`: the request pipeline (latency, HTTP faults, auth, decoding, rate limit,
  injected codes, after-place faults, dispatch) with the venue's four hooks;
* `faults`: the fault grammar and controller;
* `limits`: rolling-window budgets;
* `paging`: cursors over newest-first listings, and their snapshot cache;
* `hub`: the private event hub and the WebSocket session base;
* `keys`: the API-key store (key -> secret, account, permissions);
* `spec`: `FrontEndSpec`, how a front-end package registers (`console.sim.frontends`).

A venue writes its endpoint table and handlers, its shapes and codes, its signature
checks (the `AuthHook`), its quota headers (`RateLimitHook`), its fault rendering
(`FaultHook`), its envelope (`EnvelopeHook`), its `PushSource` and `Session` subclass,
and a `spec.py`. This package imports no front-end (an import-linter contract).
"""

from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.faults import AfterPlace, Faults, FaultSpecError, WsAction
from console.sim.protocol.frontend import FrontEnd, HttpFrontEnd
from console.sim.protocol.hub import EventHub, PushSource, Session
from console.sim.protocol.keys import ApiKey, KeyStore, Permission
from console.sim.protocol.limits import Quota, RateLimiter
from console.sim.protocol.pipeline import (
    AuthHook,
    Call,
    Endpoint,
    EnvelopeHook,
    FaultHook,
    Hooks,
    Pipeline,
    RateLimitHook,
    Request,
)
from console.sim.protocol.spec import FrontEndBuilder, FrontEndSpec

__all__ = [
    "AfterPlace", "ApiKey", "AuthHook", "Call", "Endpoint", "EnvelopeHook", "EventHub",
    "FaultHook", "FaultSpecError", "Faults", "FrontEnd", "FrontEndBuilder", "FrontEndSpec",
    "Hooks", "HttpFrontEnd", "KeyStore", "Permission", "Pipeline", "ProtocolError",
    "PushSource", "Quota", "RateLimitHook", "RateLimiter", "Request", "Session", "WsAction",
]
