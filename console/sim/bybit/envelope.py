"""The v5 envelope: how Bybit reads parameters and writes every answer.

Every answer is ``{"retCode", "retMsg", "result", "retExtInfo", "time"}`` with HTTP 200,
errors included, plus the quota headers gathered by the pipeline and ``Timenow``. GET
parameters come from the raw query string, POST parameters from the JSON body (public
endpoints read the query). Handler exceptions Bybit has a code for become that code:
sim refusals through the table in `console.sim.bybit.codes`, bad values and unknown
cursors as 10001; anything else is 10016.
"""

from __future__ import annotations

from aiohttp import web

from console.domain.values import DomainValueError
from console.sim.bybit import codes
from console.sim.bybit.base import Result, sim_error
from console.sim.bybit.codes import BybitError, params_error
from console.sim.bybit.params import parse_body, parse_query
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.paging import CursorError
from console.sim.protocol.pipeline import Call
from console.sim.protocol.wire import JsonObj, Params, dumps


def envelope(code: int, message: str, result: JsonObj, ext: JsonObj, *, now: int,
             headers: dict[str, str]) -> web.Response:
    body = {"retCode": code, "retMsg": message, "result": result, "retExtInfo": ext,
            "time": now}
    return web.Response(text=dumps(body), content_type="application/json",
                        headers={**headers, "Timenow": str(now)})


class BybitEnvelope:
    """The pipeline's envelope hook."""

    async def decode(self, call: Call) -> Params:
        endpoint = call.endpoint
        if not endpoint.private or endpoint.method == "GET":
            return parse_query(call.raw_query)
        return parse_body(await call.body())

    def render(self, call: Call, result: Result) -> web.StreamResponse:
        return envelope(codes.OK, "OK", result.result, result.ext, now=call.now_ms,
                        headers=call.headers)

    def render_error(self, call: Call, error: ProtocolError) -> web.StreamResponse:
        return envelope(error.code, error.message, {}, {}, now=call.now_ms,
                        headers=call.headers)

    def translate(self, exc: Exception) -> ProtocolError | None:
        if isinstance(exc, SimRejectedError | SimOrderNotFoundError):
            return sim_error(exc)
        if isinstance(exc, DomainValueError | CursorError):
            return params_error(str(exc))
        return None

    def server_error(self) -> ProtocolError:
        return BybitError(codes.SERVER_ERROR)
