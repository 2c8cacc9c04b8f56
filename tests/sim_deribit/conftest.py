"""Quiet the HTTP clients' DEBUG loggers in the Deribit front-end tests: urllib3 logs
every request line, and Deribit's public/auth carries client_id and client_secret in a
GET query (the session's secrets canary fails on such records); ccxt logs headers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from canary import quiet_stranger_loggers


@pytest.fixture(autouse=True)
def quiet_http_loggers() -> Iterator[None]:
    with quiet_stranger_loggers():
        yield
