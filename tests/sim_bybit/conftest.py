"""Fixtures of the Bybit front-end tests: a real server on loopback in a thread, and the
real pybit HTTP client pointed at it. Every server started here is stopped."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bybit_helpers import StartServer, make_http
from canary import CANARY_KEY, CANARY_SECRET, quiet_stranger_loggers
from pybit.unified_trading import HTTP

from console.sim.server import SimServerHandle, run_sim_server_in_thread


@pytest.fixture(autouse=True)
def quiet_stranger_clients() -> Iterator[None]:
    """ccxt, driven here as a stranger's client, logs its request headers (the API key)
    at DEBUG: tests/canary.py."""
    with quiet_stranger_loggers():
        yield


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    handles: list[SimServerHandle] = []

    def start(**kwargs: Any) -> SimServerHandle:
        if "api_key" not in kwargs and "api_secret" not in kwargs:  # None, None: generated
            kwargs.update(api_key=CANARY_KEY, api_secret=CANARY_SECRET)
        handle = run_sim_server_in_thread(**kwargs)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


@pytest.fixture
def server(start_server: StartServer) -> SimServerHandle:
    return start_server(seed=7)


@pytest.fixture
def http(server: SimServerHandle) -> HTTP:
    return make_http(server.rest_url, server.api_key, server.api_secret)
