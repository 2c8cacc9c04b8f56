"""Faults as Bybit shows them; the grammar and the controller are shared
(`console.sim.protocol.faults`, where the spec grammar is documented).

Bybit's part: a ``*_after_place`` rule without a target applies to /v5/order/create;
an injected HTTP error is a bare gateway page (403 is Bybit's IP-limit text "access too
frequent"); an injected code is a v5 error envelope with that retCode and Bybit's message
for it (HTTP 200).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from aiohttp import web

from console.sim.bybit.codes import BybitError
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.faults import Faults
from console.sim.protocol.pipeline import HTTP_REASONS, plain_http_error

PLACE_PATH: Final = "/v5/order/create"
HTTP_TEXT: Final[Mapping[int, str]] = MappingProxyType(
    {**HTTP_REASONS, 403: "access too frequent"})


class BybitFaults(Faults):
    """The shared fault controller, with Bybit's place endpoint as the default target of
    the after-place rules."""

    def __init__(self, spec: str = "", *, seed: int = 7) -> None:
        super().__init__(spec, seed=seed, place_target=PLACE_PATH)


def as_faults(faults: str | Faults | None, *, seed: int) -> Faults:
    """A controller as given, or one parsed from a spec (with Bybit's place target)."""
    return faults if isinstance(faults, Faults) else BybitFaults(faults or "", seed=seed)


class BybitFaultHook:
    """The pipeline's fault hook."""

    def http_response(self, status: int) -> web.StreamResponse:
        return plain_http_error(status, HTTP_TEXT)

    def injected(self, code: int) -> ProtocolError:
        return BybitError(code)
