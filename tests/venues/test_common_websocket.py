"""The supervisor over a real aiohttp WebSocket on loopback, as an async connector
(Deribit, Binance) would run it: log in with `send_json`/`receive`, pushes arrive as
events, a socket the server drops is rebuilt and reported as reconnected, a refused login is
DOWN once and tried again, a refused port is a retried attempt, and closing leaves no
session open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import WSMsgType, web

from console.domain.events import ConnectionEvent, ConnectionState
from console.venues._common.supervisor import (
    ConnectRefused,
    Received,
    ReconnectPolicy,
    RetryConnect,
    StreamSupervisor,
)
from console.venues._common.websocket import WebSocketConnection, open_websocket


class Server:
    """A tiny venue: answers {"op": "auth"} and keeps the sockets for the test to drive."""

    def __init__(self) -> None:
        self.sockets: list[web.WebSocketResponse] = []
        self.connected = asyncio.Event()
        self.refuse_login = False

    async def handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is WSMsgType.TEXT and msg.json().get("op") == "auth":
                await ws.send_json({"op": "auth", "success": not self.refuse_login})
                self.sockets.append(ws)
                self.connected.set()
        return ws


@asynccontextmanager
async def serving(server: Server) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/ws", server.handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        await runner.cleanup()


def parse(received: Received) -> list[Any]:
    return [received.message]


def supervisor(url: str) -> StreamSupervisor:
    async def connect(generation: int) -> WebSocketConnection:
        connection = await open_websocket(url, heartbeat_s=5, timeout_s=2)
        await connection.send_json({"op": "auth", "generation": generation})
        answer = await connection.receive(2)
        if not answer.get("success"):
            await connection.close()
            raise ConnectRefused("login refused")
        return connection

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    return StreamSupervisor(connect, parse, venue="acme", account="acct",
                            policy=ReconnectPolicy(3, 1, 4), sleep=sleep)


async def take(events: Any, n: int) -> list[Any]:
    return [await asyncio.wait_for(events.__anext__(), 5) for _ in range(n)]


def states(items: list[Any]) -> list[tuple[ConnectionState, bool]]:
    return [(e.state, e.reconnected) for e in items if isinstance(e, ConnectionEvent)]


def test_pushes_arrive_and_a_dropped_socket_is_rebuilt() -> None:
    async def main() -> None:
        server = Server()
        async with serving(server) as url:
            events = supervisor(url).events()
            assert states(await take(events, 2)) == [(ConnectionState.CONNECTING, False),
                                                     (ConnectionState.CONNECTED, False)]
            await server.sockets[0].send_json({"topic": "order", "n": 1})
            await server.sockets[0].send_str("not json")
            assert await take(events, 2) == [{"topic": "order", "n": 1}, "not json"]
            await server.sockets[0].close()  # the venue drops us
            got = await take(events, 2)
            assert states(got) == [(ConnectionState.RECONNECTING, False),
                                   (ConnectionState.CONNECTED, True)]
            assert "closed (code" in got[0].detail
            await server.sockets[1].send_json({"topic": "order", "n": 2})
            assert await take(events, 1) == [{"topic": "order", "n": 2}]
            await events.aclose()

    asyncio.run(main())


def test_a_refused_login_is_down_once_and_retried_until_accepted() -> None:
    async def main() -> list[Any]:
        server = Server()
        server.refuse_login = True
        async with serving(server) as url:
            events = supervisor(url).events()
            got = await take(events, 2)
            while len(server.sockets) < 3:  # refused again (after the long wait)
                await asyncio.sleep(0.01)
            server.refuse_login = False
            got.extend(await take(events, 1))
            await events.aclose()
            return got

    got = asyncio.run(main())
    assert states(got) == [(ConnectionState.CONNECTING, False), (ConnectionState.DOWN, False),
                           (ConnectionState.CONNECTED, True)]


def test_a_port_nobody_listens_on_is_a_retried_attempt() -> None:
    async def main() -> None:
        async with serving(Server()) as url:
            dead = url  # the server is stopped below; the port stays unused
        with pytest.raises(RetryConnect, match="could not connect"):
            await open_websocket(dead, heartbeat_s=5, timeout_s=1)
        events = supervisor(dead).events()
        got = await take(events, 4)
        assert states(got)[-1] == (ConnectionState.DOWN, False)
        await events.aclose()

    asyncio.run(main())
