"""What both Binance WebSocket sessions share: the 24-hour life of a connection and a
clean close that lets what is already queued go out first.

Binance closes a user-data connection (and a WebSocket API one) 24 hours after it opened
("expect to be disconnected at the 24 hour mark"), and closes a listenKey connection
right after telling it ``listenKeyExpired``; in both cases the client must see every
message sent before the close frame, so the close waits (briefly) for the session's
outbound queue to empty.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC
from typing import Final

from aiohttp import WSCloseCode, web

from console.sim.binance.pushes import Push
from console.sim.protocol.hub import EventHub, Session

MAX_CONNECTION_AGE_S: Final = 24 * 3600.0
DRAIN_TIMEOUT_S: Final = 1.0
_DRAIN_STEP_S: Final = 0.01


class BinanceSession(Session[Push], ABC):
    """A session that closes itself `max_age_s` after it opened."""

    def __init__(self, hub: EventHub[Push], ws: web.WebSocketResponse, request: web.Request,
                 conn_id: str, *, max_age_s: float = MAX_CONNECTION_AGE_S) -> None:
        super().__init__(hub, ws, request, conn_id)
        self.connected_since = hub.clock()
        self.closing = False
        self._closers: set[asyncio.Future[None]] = set()
        self._age_timer: asyncio.TimerHandle | None = asyncio.get_running_loop().call_later(
            max_age_s, self.close_soon, "connection older than its maximum age")

    def close_soon(self, reason: str) -> None:
        """Close with a close frame once the queued messages have gone out (or after
        `DRAIN_TIMEOUT_S`); nothing more is offered meanwhile."""
        if self.closing:
            return
        self.closing = True
        task = asyncio.ensure_future(self._drain_and_close(reason))
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _drain_and_close(self, reason: str) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_TIMEOUT_S
        while not self.queue.empty() and loop.time() < deadline:
            await asyncio.sleep(_DRAIN_STEP_S)
        await asyncio.sleep(_DRAIN_STEP_S)  # the frame the write loop may still be sending
        self.cancel_timers()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self.ws.close(code=WSCloseCode.GOING_AWAY, message=reason.encode())

    def cancel_timers(self) -> None:
        super().cancel_timers()
        if self._age_timer is not None:
            self._age_timer.cancel()
            self._age_timer = None
