"""The listenKey endpoints (USER_STREAM: keyed, unsigned).

USD-M: ``POST /fapi/v1/listenKey`` returns the account's live key (extended) or a new
one; ``PUT`` extends it (-1125 "This listenKey does not exist." when it is dead or was
never made); ``DELETE`` closes it and answers ``{}``. The documented PUT and DELETE take
no parameter (the key is the account's); a ``listenKey`` parameter, which some clients
send, must then name the account's key.

Spot's listenKey endpoints (``/api/v3/userDataStream``) were retired on 2026-02-20 (the
spot changelog); spot user data now comes over the WebSocket API. What Binance answers
there now is UNVERIFIED: the sim says HTTP 410 Gone with -1020 "This operation is not
supported.".
"""

from __future__ import annotations

from typing import Final

from console.sim.binance import codes
from console.sim.binance import params as p
from console.sim.binance.codes import BinanceError
from console.sim.binance.envelope import Reply
from console.sim.binance.listen_keys import ListenKeys
from console.sim.protocol.pipeline import Request

UNSUPPORTED: Final = -1020
RETIRED_STATUS: Final = 410


class UserStream:
    def __init__(self, listen_keys: ListenKeys) -> None:
        self.keys = listen_keys

    def _named(self, req: Request) -> str:
        """The key a PUT or DELETE means: the one given (if it is the account's), else the
        account's live one."""
        given = p.text(req.params, "listenKey")
        if given:
            if self.keys.account_of(given) != req.account:
                raise BinanceError(codes.INVALID_LISTEN_KEY)
            return given
        live = self.keys.live_key(req.account)
        if live is None:
            raise BinanceError(codes.INVALID_LISTEN_KEY)
        return live

    def start(self, req: Request) -> Reply:
        return Reply({"listenKey": self.keys.create(req.account)})

    def keepalive(self, req: Request) -> Reply:
        given = p.text(req.params, "listenKey")
        if given and self.keys.account_of(given) not in (None, req.account):
            raise BinanceError(codes.INVALID_LISTEN_KEY)  # another account's key
        key = given or self.keys.live_key(req.account) or ""
        if not key or not self.keys.keepalive(key):
            raise BinanceError(codes.INVALID_LISTEN_KEY)
        return Reply({"listenKey": key})

    def close(self, req: Request) -> Reply:
        self.keys.close(self._named(req))
        return Reply({})

    def retired(self, req: Request) -> Reply:
        del req
        raise BinanceError(UNSUPPORTED, "This operation is not supported.",
                           status=RETIRED_STATUS)
