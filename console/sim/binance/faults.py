"""Faults as Binance shows them; the grammar and the controller are shared
(`console.sim.protocol.faults`, where the spec grammar is documented).

Binance's part:

* an ``*_after_place`` or ``late_create`` rule without a target applies to every endpoint
  that places orders (both markets: ``/fapi/v1/order``, ``/fapi/v1/batchOrders``,
  ``/fapi/v1/algoOrder``, ``/api/v3/order``, ``/api/v3/order/cancelReplace``); give a
  target (``timeout_after_place=1@/fapi/v1/order``) to narrow it;
* an injected HTTP error answers before anything else: 429 is Binance's -1003 body with
  ``Retry-After``, 418 the same for a ban, 403 the WAF's page, a 5xx the gateway's page
  (HTTP 5xx: the execution status is unknown);
* an injected code (``retcode=-1007``) is Binance's error body for that code with its
  status (-1006/-1007/-1008/-1001: 503, the "unknown outcome" family; -1003/-1015: 429;
  -2014/-2015: 401; anything else 400; see `console.sim.binance.codes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from aiohttp import web

from console.sim.binance.codes import TOO_MANY_REQUESTS, BinanceError
from console.sim.binance.envelope import json_response
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.faults import Faults
from console.sim.protocol.pipeline import HTTP_REASONS, plain_http_error

HTTP_TEXT: Final[Mapping[int, str]] = MappingProxyType({**HTTP_REASONS, 418: "I'm a teapot"})
RETRY_AFTER_S: Final = 1


class BinanceFaults(Faults):
    """The shared fault controller; after-place rules without a target apply to every
    placing endpoint (`place_target` None)."""

    def __init__(self, spec: str = "", *, seed: int = 7) -> None:
        super().__init__(spec, seed=seed, place_target=None)


def as_faults(faults: str | Faults | None, *, seed: int) -> Faults:
    return faults if isinstance(faults, Faults) else BinanceFaults(faults or "", seed=seed)


class BinanceFaultHook:
    """The pipeline's fault hook."""

    def http_response(self, status: int) -> web.StreamResponse:
        retry = {"Retry-After": str(RETRY_AFTER_S)}
        if status == 429:
            return json_response({"code": TOO_MANY_REQUESTS,
                                  "msg": "Too many requests queued."},
                                 status=429, headers=retry)
        if status == 418:
            return json_response({"code": TOO_MANY_REQUESTS,
                                  "msg": "Way too much request weight used; IP banned. "
                                         "Please use WebSocket Streams for live updates to "
                                         "avoid bans."}, status=418, headers=retry)
        return plain_http_error(status, HTTP_TEXT)

    def injected(self, code: int) -> ProtocolError:
        return BinanceError(code)
