"""The fault control endpoint: change a running front-end's faults over loopback HTTP.

A harness that runs the sim in another process (`recon-console sim`, a benchmark's own
sim process) cannot reach its `Faults` object, so every `HttpFrontEnd` serves it on its
own aiohttp app, beside the venue's routes and outside the venue's request pipeline (no
latency, no injected error ever touches it)::

    GET    /__sim/faults        {"rules": [{"id": 3, "rule": "http503=1@/v5/order/create"}],
                                 "spec": "<describe()>"}
    POST   /__sim/faults        body: a spec in the fault grammar (text, or JSON
                                {"spec": "..."}); all rules or none are added
                                -> {"ids": [4, 5]}; 400 {"error": ...} if it does not parse
    DELETE /__sim/faults/{id}   -> {"removed": 4}; 404 when no such rule is in force (a
                                count rule is gone once spent)
    DELETE /__sim/faults        clear: -> {"cleared": <rules that were in force>}

The grammar is `console.sim.protocol.faults`'s. Only loopback peers are answered (403
otherwise): the endpoint changes what the exchange does, and a sim started with
``--host 0.0.0.0`` must not let the network do that.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Final

from aiohttp import web

from console.sim.protocol.faults import Faults, FaultSpecError

CONTROL_PATH: Final = "/__sim/faults"


def is_loopback(remote: str | None) -> bool:
    """Whether a peer address is loopback (IPv4, IPv6, or IPv4 mapped into IPv6)."""
    if not remote:
        return False
    try:
        address = ipaddress.ip_address(remote.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _error(status: int, text: str) -> web.Response:
    return web.json_response({"error": text}, status=status)


class FaultControl:
    """The endpoint's handlers over one fault controller."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults

    async def list_rules(self, request: web.Request) -> web.Response:
        del request
        return web.json_response({
            "rules": [{"id": rule_id, "rule": text} for rule_id, text in self.faults.rules()],
            "spec": self.faults.describe()})

    async def add(self, request: web.Request) -> web.Response:
        raw = await request.text()
        spec: object = raw
        if request.content_type == "application/json":
            try:
                body = json.loads(raw)
            except ValueError:
                return _error(400, "the body is not JSON")
            spec = body.get("spec") if isinstance(body, dict) else None
        if not isinstance(spec, str):
            return _error(400, 'expected {"spec": "<fault spec>"}')
        if not spec.strip():
            return _error(400, "an empty spec adds nothing")
        try:
            ids = self.faults.add(spec)
        except FaultSpecError as exc:
            return _error(400, str(exc))
        return web.json_response({"ids": ids})

    async def remove(self, request: web.Request) -> web.Response:
        text = request.match_info["rule_id"]
        if not text.isdigit():
            return _error(400, f"rule id {text!r} is not a number")
        rule_id = int(text)
        if not self.faults.remove(rule_id):
            return _error(404, f"no rule {rule_id} is in force")
        return web.json_response({"removed": rule_id})

    async def clear(self, request: web.Request) -> web.Response:
        del request
        return web.json_response({"cleared": self.faults.clear()})


Handler = Callable[[web.Request], Awaitable[web.Response]]


def loopback_only(handler: Handler) -> Handler:
    """`handler`, answering loopback peers only (403 for anyone else)."""
    async def guarded(request: web.Request) -> web.Response:
        if not is_loopback(request.remote):
            return _error(403, "the fault control endpoint answers loopback peers only")
        return await handler(request)
    return guarded


def mount_control(app: web.Application, faults: Faults) -> FaultControl:
    """Serve the control endpoint for `faults` on `app` (before the app starts)."""
    control = FaultControl(faults)
    app.router.add_get(CONTROL_PATH, loopback_only(control.list_rules))
    app.router.add_post(CONTROL_PATH, loopback_only(control.add))
    app.router.add_delete(CONTROL_PATH, loopback_only(control.clear))
    app.router.add_delete(CONTROL_PATH + "/{rule_id}", loopback_only(control.remove))
    return control
