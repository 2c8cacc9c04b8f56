"""Quiet the HTTP clients' DEBUG loggers in the Deribit front-end tests: urllib3 logs
every request line, and Deribit's public/auth carries client_id and client_secret in a
GET query (the session's secrets canary fails on such records); ccxt logs headers."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def quiet_http_loggers() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("urllib3", "ccxt")]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    yield
    for logger, level in zip(loggers, before, strict=True):
        logger.setLevel(level)
