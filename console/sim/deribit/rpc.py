"""The method table both transports dispatch through, and what a handler is given.

Deribit is one JSON-RPC API over two transports: every method answers the same over
HTTP and over the WebSocket, except the few that need a connection (subscriptions,
heartbeats, cancel-on-disconnect with scope connection). A `Method` says whether it is
private, whether it places orders (after-place faults), which permission it needs and
whether it needs a WebSocket; a handler gets a `Context` and returns the ``result``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from console.sim.protocol.keys import Permission
from console.sim.protocol.wire import Params

if TYPE_CHECKING:
    from console.sim.deribit.ws import DeribitSession

API_PREFIX: Final = "/api/v2/"


@dataclass(frozen=True, slots=True)
class Context:
    """One call: the caller's account ("" on a public method), its parameters, the
    server's time, and the WebSocket session it came on (None: HTTP)."""

    account: str
    params: Params
    now_ms: int
    session: DeribitSession | None = None


Handler = Callable[[Context], Any]


@dataclass(frozen=True, slots=True)
class Method:
    name: str  # "private/buy"
    handler: Handler
    places: bool = False
    permission: Permission = Permission.READ
    ws_only: bool = False

    @property
    def private(self) -> bool:
        return self.name.startswith("private/")

    @property
    def path(self) -> str:
        """The HTTP path, also the fault target of the method on both transports."""
        return API_PREFIX + self.name


def table(*methods: Method) -> Mapping[str, Method]:
    found: dict[str, Method] = {}
    for method in methods:
        if method.name in found:
            raise ValueError(f"method {method.name} is given twice")
        found[method.name] = method
    return found
