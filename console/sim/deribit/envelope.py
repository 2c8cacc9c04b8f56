"""Deribit's JSON-RPC 2.0 envelope: decoding requests, writing answers and errors.

An answer is ``{"jsonrpc": "2.0", "id": <the request's id>, "result": ..., "usIn",
"usOut", "usDiff", "testnet"}`` (microsecond stamps: when the request arrived, when the
answer left, their difference; ``testnet`` true: the sim stands for test.deribit.com).
An error has ``error: {"code", "message", "data"?}`` instead of ``result``.

Deribit writes every number as a JSON number, so this module has its own encoder:
Decimals leave as plain digits (never an exponent, never through a binary float).

Over HTTP the parameters come from the query string (GET: values are text, ``true`` and
``false`` booleans) or from a JSON-RPC body (POST, or a GET with a body, as Deribit's own
curl examples send); the body's ``id`` is echoed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qsl

from aiohttp import web

from console.domain.values import DomainValueError
from console.sim.deribit.codes import (
    BAD_REQUEST,
    HTTP_ERROR_STATUS,
    INTERNAL_SERVER_ERROR,
    PARSE_ERROR,
    DeribitError,
    for_sim,
)
from console.sim.errors import SimOrderNotFoundError, SimRejectedError
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.pipeline import Call
from console.sim.protocol.wire import Params

TESTNET: Final = True
RPC_ID_KEY: Final = web.RequestKey("deribit_rpc_id", object)
US_IN_KEY: Final = web.RequestKey("deribit_us_in", int)


def number(value: Decimal) -> str:
    """A Decimal as a JSON number: plain digits, no exponent, no negative zero."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def dumps(body: object) -> str:
    """JSON with Decimals as numbers (Deribit's wire), everything else as `json` does."""
    parts: list[str] = []
    _encode(body, parts)
    return "".join(parts)


def _encode(value: object, out: list[str]) -> None:
    if isinstance(value, Decimal):
        out.append(number(value))
    elif isinstance(value, Mapping):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif value is None or isinstance(value, bool | int | str):
        out.append(json.dumps(value))
    else:
        raise TypeError(f"{type(value).__name__} is not a Deribit wire value")


def stamps(us_in: int, us_out: int) -> dict[str, Any]:
    return {"usIn": us_in, "usOut": us_out, "usDiff": us_out - us_in, "testnet": TESTNET}


def result_body(rpc_id: object, result: object, us_in: int, us_out: int) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0"}
    if rpc_id is not None:
        body["id"] = rpc_id
    body["result"] = result
    body.update(stamps(us_in, us_out))
    return body


def error_body(rpc_id: object, error: ProtocolError, us_in: int,
               us_out: int) -> dict[str, Any]:
    body: dict[str, Any] = {"jsonrpc": "2.0"}
    if rpc_id is not None:
        body["id"] = rpc_id
    body["error"] = error.body() if isinstance(error, DeribitError) else \
        {"message": error.message, "code": error.code}
    body.update(stamps(us_in, us_out))
    return body


def parse_json(raw: str | bytes) -> Any:
    """A JSON text with its numbers as Decimals (money stays exact); -32700 otherwise."""
    try:
        return json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise DeribitError(PARSE_ERROR) from None


def query_params(raw_query: str) -> dict[str, Any]:
    """A GET query string as Deribit reads it: text values, ``true``/``false`` booleans."""
    params: dict[str, Any] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        params[name] = {"true": True, "false": False}.get(value, value)
    return params


def rpc_params(body: Any, method: str | None) -> tuple[object, dict[str, Any]]:
    """The id and params of a JSON-RPC request body; -32700/11050 for what is not one.
    `method`: the method the URL names (a body naming another one is refused)."""
    if not isinstance(body, dict):
        raise DeribitError(BAD_REQUEST)
    params = body.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise DeribitError(BAD_REQUEST)
    named = body.get("method")
    if method is not None and named is not None and named != method:
        raise DeribitError(BAD_REQUEST, "bad_request", {"reason": "method does not match "
                                                                  "the URL"})
    return body.get("id"), params


def translate(exc: Exception) -> ProtocolError | None:
    """Deribit's error for a handler exception it knows; None for a bug."""
    if isinstance(exc, SimRejectedError | SimOrderNotFoundError):
        return for_sim(exc.sim_code)
    if isinstance(exc, DomainValueError):
        return DeribitError(BAD_REQUEST)
    return None


class DeribitEnvelope:
    """The HTTP pipeline's envelope hook. `method_of(path)` names the RPC method."""

    def __init__(self, clock_us: Callable[[], int],
                 method_of: Callable[[str], str]) -> None:
        self.clock_us = clock_us
        self.method_of = method_of

    async def decode(self, call: Call) -> Params:
        call.request[US_IN_KEY] = call.now_ms * 1000
        body = await call.body()
        params = query_params(call.raw_query)
        if body.strip():
            rpc_id, from_body = rpc_params(parse_json(body),
                                           self.method_of(call.endpoint.path))
            call.request[RPC_ID_KEY] = rpc_id
            params.update(from_body)
        return params

    def _response(self, call: Call, body: dict[str, Any], status: int) -> web.Response:
        return web.Response(text=dumps(body), status=status,
                            content_type="application/json", headers=call.headers)

    def _us_in(self, call: Call) -> int:
        stamp = call.request.get(US_IN_KEY)
        return stamp if isinstance(stamp, int) else call.now_ms * 1000

    def render(self, call: Call, result: object) -> web.StreamResponse:
        body = result_body(call.request.get(RPC_ID_KEY), result, self._us_in(call),
                           self.clock_us())
        return self._response(call, body, 200)

    def render_error(self, call: Call, error: ProtocolError) -> web.StreamResponse:
        body = error_body(call.request.get(RPC_ID_KEY), error, self._us_in(call),
                          self.clock_us())
        return self._response(call, body, HTTP_ERROR_STATUS)

    def translate(self, exc: Exception) -> ProtocolError | None:
        return translate(exc)

    def server_error(self) -> ProtocolError:
        return DeribitError(INTERNAL_SERVER_ERROR)
