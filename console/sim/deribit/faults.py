"""Faults as Deribit shows them; the grammar and the controller are shared
(`console.sim.protocol.faults`, where the spec grammar is documented).

Deribit's part:

* targets are the method paths of both transports: ``/api/v2/private/buy`` names the
  HTTP endpoint and the same method over the WebSocket (latency, injected codes and
  after-place rules apply to both); an ``*_after_place`` or ``late_create`` rule without a
  target applies to every placing method (``private/buy``, ``private/sell``);
* an injected HTTP error (HTTP only) answers before anything else: 429 is Deribit's
  10028 body, anything else the gateway's bare page (a 5xx: the outcome is unknown);
* an injected code (``retcode=10028``, ``retcode=11094``) is Deribit's JSON-RPC error
  with that code and its message word; 10028 also ends a WebSocket session, as the
  real limit does;
* ws_drop / ws_dup / ws_reorder take a channel as target (``ws_drop=1@user.orders.*``).
"""

from __future__ import annotations

from aiohttp import web

from console.sim.deribit.codes import TOO_MANY_REQUESTS, DeribitError
from console.sim.deribit.envelope import dumps
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.faults import Faults
from console.sim.protocol.pipeline import plain_http_error


class DeribitFaults(Faults):
    """The shared controller; after-place rules without a target hit every placing
    method (`place_target` None)."""

    def __init__(self, spec: str = "", *, seed: int = 7) -> None:
        super().__init__(spec, seed=seed, place_target=None)


def as_faults(faults: str | Faults | None, *, seed: int) -> Faults:
    return faults if isinstance(faults, Faults) else DeribitFaults(faults or "", seed=seed)


class DeribitFaultHook:
    """The pipeline's fault hook."""

    def http_response(self, status: int) -> web.StreamResponse:
        if status == 429:
            body = {"jsonrpc": "2.0", "error": DeribitError(TOO_MANY_REQUESTS).body(),
                    "testnet": True}
            return web.Response(text=dumps(body), status=status,
                                content_type="application/json")
        return plain_http_error(status)

    def injected(self, code: int) -> ProtocolError:
        return DeribitError(code)
