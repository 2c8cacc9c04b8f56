"""How Binance reads parameters and writes answers: no envelope at all.

A success is the bare JSON object or array with HTTP 200 (a cancelReplace that half
succeeded is an error body with HTTP 409: the handler says so in its `Reply`); an error is
``{"code": <int>, "msg": <str>}`` with the status of `console.sim.binance.codes`. Every
answer carries the quota headers the pipeline gathered. Parameters come from the query
string and the form body (`console.sim.binance.params.merge`).

Handler exceptions Binance has a code for become that code: sim refusals through the
market's table in `codes`, bad domain values as -1130. Anything else is a bug: -1000
"An unknown error occurred while processing the request." with HTTP 500, Binance's own
text (the outcome is unknown to the client, which is what a 5xx tells it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from console.domain.enums import Category
from console.domain.values import DomainValueError
from console.sim.binance.codes import INVALID_PARAMETER, UNKNOWN, BinanceError, for_sim
from console.sim.binance.params import merge
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.pipeline import Call
from console.sim.protocol.wire import Params, dumps


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer: the JSON body, its HTTP status and extra headers."""

    body: Any
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)


def json_response(body: object, *, status: int, headers: Mapping[str, str]) -> web.Response:
    return web.Response(text=dumps(body), status=status, content_type="application/json",
                        headers=dict(headers))


class BinanceEnvelope:
    """The pipeline's envelope hook for one market (sim refusals differ by market)."""

    def __init__(self, market: Category) -> None:
        self.market = market

    async def decode(self, call: Call) -> Params:
        body = b"" if call.endpoint.method == "GET" else await call.body()
        return merge(call.raw_query, body.decode("utf-8", "replace"))

    def render(self, call: Call, result: Reply) -> web.StreamResponse:
        return json_response(result.body, status=result.status,
                             headers={**call.headers, **result.headers})

    def render_error(self, call: Call, error: ProtocolError) -> web.StreamResponse:
        if isinstance(error, BinanceError):
            return json_response(error.body(), status=error.status,
                                 headers={**call.headers, **error.headers})
        return json_response({"code": error.code, "msg": error.message}, status=400,
                             headers=call.headers)

    def translate(self, exc: Exception) -> ProtocolError | None:
        if isinstance(exc, SimRejectedError | SimOrderNotFoundError):
            return for_sim(exc.sim_code, self.market)
        if isinstance(exc, DomainValueError):
            return BinanceError(INVALID_PARAMETER)
        return None

    def server_error(self) -> ProtocolError:
        return BinanceError(UNKNOWN)
