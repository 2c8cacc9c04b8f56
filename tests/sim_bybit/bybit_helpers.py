"""Helpers of the Bybit front-end tests (imported by name: tests/sim_bybit is on sys.path).

`LoopbackWebSocket` is the least intrusive way to point pybit's private stream at a
local server: pybit's WebSocket builds its URL from the module constant PRIVATE_WSS and
connects inside its constructor (and again from `_on_error` after a drop), always
through `_connect(url)`; overriding `_connect` to use our URL covers both, without
patching the module for every other user of pybit in the process.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import queue
import time
from collections.abc import Callable
from typing import Any

import requests
from pybit.unified_trading import HTTP, WebSocket

from console.sim.server import SimServerHandle

StartServer = Callable[..., SimServerHandle]


class LoopbackWebSocket(WebSocket):  # type: ignore[misc]
    def __init__(self, url: str, **kwargs: Any) -> None:
        self._loopback_url = url
        super().__init__(**kwargs)

    def _connect(self, url: str) -> None:
        super()._connect(self._loopback_url)


def make_http(rest_url: str, api_key: str, api_secret: str, **kwargs: Any) -> HTTP:
    """A real pybit HTTP session aimed at the sim. retry_codes={-1}: pybit retries
    nothing (an empty set would mean its defaults, which sleep on 10006/10002)."""
    kwargs.setdefault("retry_codes", {-1})
    session = HTTP(api_key=api_key, api_secret=api_secret, **kwargs)
    session.endpoint = rest_url
    return session


def sign(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


def raw_get(rest_url: str, path: str, query: str, api_key: str, api_secret: str, *,
            timestamp: int | None = None, recv_window: int = 5000,
            signed_query: str | None = None, timeout: float = 5.0) -> requests.Response:
    """A hand-made signed GET: sign `signed_query` (default: `query`) and send `query`."""
    ts = str(now_ms() if timestamp is None else timestamp)
    payload = query if signed_query is None else signed_query
    headers = {"X-BAPI-API-KEY": api_key, "X-BAPI-TIMESTAMP": ts,
               "X-BAPI-RECV-WINDOW": str(recv_window),
               "X-BAPI-SIGN": sign(api_secret, ts + api_key + str(recv_window) + payload)}
    return requests.get(f"{rest_url}{path}?{query}", headers=headers, timeout=timeout)


def raw_post(rest_url: str, path: str, body: str, api_key: str, api_secret: str, *,
             signed_body: str | None = None, timeout: float = 5.0) -> requests.Response:
    ts = str(now_ms())
    payload = body if signed_body is None else signed_body
    headers = {"X-BAPI-API-KEY": api_key, "X-BAPI-TIMESTAMP": ts,
               "X-BAPI-RECV-WINDOW": "5000", "Content-Type": "application/json",
               "X-BAPI-SIGN": sign(api_secret, ts + api_key + "5000" + payload)}
    return requests.post(f"{rest_url}{path}", data=body.encode(), headers=headers,
                         timeout=timeout)


class Inbox:
    """Collects pybit callback messages (called on pybit's thread)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []

    def __call__(self, message: dict[str, Any]) -> None:
        self.queue.put(message)

    def next(self, timeout: float = 5.0) -> dict[str, Any]:
        message = self.queue.get(timeout=timeout)
        self.seen.append(message)
        return message

    def until(self, predicate: Callable[[dict[str, Any]], bool],
              timeout: float = 5.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching message; seen {json.dumps(self.seen)[:800]}")
            message = self.next(left)
            if predicate(message):
                return message

    def by_topic(self, topics: tuple[str, ...], timeout: float = 5.0) -> dict[str, Any]:
        """The first message of each topic (others are kept in `seen`)."""
        found: dict[str, Any] = {}
        deadline = time.monotonic() + timeout
        while len(found) < len(topics):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"missing {set(topics) - set(found)}")
            message = self.next(left)
            if message.get("topic") in topics:
                found.setdefault(message["topic"], message)
        return found

    def drain(self, wait: float = 0.3) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return out
            try:
                out.append(self.next(left))
            except queue.Empty:
                return out


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0,
               interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(interval)
