"""A `supervisor.StreamConnection` over an aiohttp WebSocket, for connectors whose
private stream is read on the loop (Deribit's JSON-RPC socket, Binance's user-data
stream).

Why a class of its own: the supervisor needs "messages until the connection is lost"
and "close everything", while aiohttp hands out frames of several kinds. Text frames
are decoded as JSON (an undecodable one is passed on as the raw text, for the connector's
parser to report as malformed, never fatal); a close or an error frame ends the stream
as `ConnectionLost` naming the close code, and the supervisor rebuilds. Keep-alive is
aiohttp's own (`heartbeat`: a ping every `heartbeat_s`, the socket closed when the pong
does not come), so a silently dead TCP connection is noticed.

`open_websocket` turns every failure to connect into `RetryConnect` (scrubbed text);
the connector logs in and subscribes with `send_json`/`receive` before handing the
connection to the supervisor, and raises `ConnectRefused` itself when the venue says no.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp

from console.venues._common.clock import wall_clock_ms
from console.venues._common.supervisor import ConnectionLost, Received, RetryConnect


def _decode(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data


class WebSocketConnection:
    """One open aiohttp WebSocket (and, when it owns it, its client session)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, *,
                 session: aiohttp.ClientSession | None = None,
                 clock_ms: Callable[[], int] = wall_clock_ms,
                 decode: Callable[[str], Any] = _decode) -> None:
        self._ws = ws
        self._session = session
        self._clock_ms = clock_ms
        self._decode = decode
        """Text frame -> message (a venue sending JSON numbers for money passes one that
        reads them as Decimal); it must return the raw text when it cannot decode."""

    async def send_json(self, message: Any) -> None:
        await self._ws.send_str(json.dumps(message))

    async def send_text(self, text: str) -> None:
        """A frame already encoded by the caller (e.g. with exact Decimal numbers)."""
        await self._ws.send_str(text)

    async def receive(self, timeout_s: float) -> Any:
        """The next message, decoded (for a handshake); `ConnectionLost` if the socket
        closes, `RetryConnect` on a timeout."""
        try:
            msg = await self._ws.receive(timeout=timeout_s)
        except TimeoutError:
            raise RetryConnect(f"no answer within {timeout_s:g} s") from None
        return self._payload(msg)

    def _payload(self, msg: aiohttp.WSMessage) -> Any:
        if msg.type is aiohttp.WSMsgType.TEXT:
            return self._decode(msg.data)
        if msg.type is aiohttp.WSMsgType.BINARY:
            return msg.data
        if msg.type is aiohttp.WSMsgType.ERROR:
            raise ConnectionLost(f"socket error: {self._ws.exception()}")
        raise ConnectionLost(f"closed (code {self._ws.close_code})")

    async def messages(self) -> AsyncIterator[Received]:
        while True:
            msg = await self._ws.receive()
            if msg.type in (aiohttp.WSMsgType.PING, aiohttp.WSMsgType.PONG):
                continue
            yield Received(self._payload(msg), self._clock_ms())

    async def close(self) -> None:
        try:
            await self._ws.close()
        finally:
            if self._session is not None:
                await self._session.close()


async def open_websocket(url: str, *, heartbeat_s: float, timeout_s: float,
                         session: aiohttp.ClientSession | None = None,
                         clock_ms: Callable[[], int] = wall_clock_ms,
                         scrub: Callable[[str], str] = lambda text: text,
                         decode: Callable[[str], Any] = _decode
                         ) -> WebSocketConnection:
    """Connect to `url` (with a session of its own unless one is given, which the
    caller then closes); `timeout_s` bounds the opening handshake of an own session.
    Raises `RetryConnect` when the socket cannot be opened."""
    owned = session is None
    client = session or aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))
    try:
        ws = await client.ws_connect(url, heartbeat=heartbeat_s)
    except (aiohttp.ClientError, OSError) as exc:
        if owned:
            await client.close()
        raise RetryConnect(scrub(f"could not connect to {url}: {type(exc).__name__}: "
                                 f"{exc}")) from exc
    except asyncio.CancelledError:
        if owned:
            await client.close()
        raise
    return WebSocketConnection(ws, session=client if owned else None, clock_ms=clock_ms,
                               decode=decode)
