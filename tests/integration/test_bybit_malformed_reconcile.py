"""A reconciliation through BybitVenue when one of Bybit's listings carries a malformed
field: that list is reported unverified (a partial run naming the field), the others are
compared as usual; it is never "ledger unavailable". The venue is a scripted pybit
stand-in (no network), the ledger a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from console.domain.reconciliation import RunStatus, RunTrigger
from console.engine.session import EngineSession
from console.reconcile import ReconcileConfig
from console.store import Ledger
from console.venues.bybit import BybitConfig, BybitVenue

NOW = 1_700_000_000_000


def ok(result: dict[str, Any]) -> tuple[dict[str, Any], float, dict[str, str]]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {},
            "time": NOW}, 0.001, {}


def position(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {"positionIdx": 0, "symbol": "BTCUSDT", "side": "Buy", "size": "1",
                           "avgPrice": "50000", "markPrice": "50000", "unrealisedPnl": "0",
                           "updatedTime": str(NOW)}
    raw.update(changes)
    return raw


class Venue:
    """pybit's HTTP methods answered from a table (one session per worker thread)."""

    def __init__(self, handlers: dict[str, Callable[[dict[str, Any]], Any]]) -> None:
        self.handlers = {
            "get_server_time": lambda p: ok({"timeSecond": str(NOW // 1000),
                                             "timeNano": str(NOW * 1_000_000)}),
            "get_open_orders": lambda p: ok({"category": "linear", "list": [],
                                             "nextPageCursor": ""}),
            "get_executions": lambda p: ok({"category": "linear", "list": [],
                                            "nextPageCursor": ""}),
            "get_wallet_balance": lambda p: ok({"list": [{"coin": []}]}),
            **handlers}

    def session(self) -> Any:
        handlers = self.handlers

        class Session:
            def __getattr__(self, name: str) -> Callable[..., Any]:
                return lambda **params: handlers[name](params)

        return Session()


@pytest.mark.parametrize(("answer", "field"), [
    ({"list": [position(positionIdx="--1")]}, "positionIdx"),
    ({"list": [position(size="1e999999999")]}, "size"),
    ({"list": [position(symbol={"a": 1})]}, "symbol"),
    ({"list": [position(updatedTime=str(2 ** 63))]}, "updatedTime"),
    ({"list": [position(symbol="BTC\ud800USDT")]}, "symbol"),
    ({"list": [None]}, "expected an object"),
    ({"list": None}, "list"),
])
def test_a_malformed_positions_list_is_unverified_not_ledger_unavailable(
        tmp_path: Path, answer: dict[str, Any], field: str) -> None:
    fake = Venue({"get_positions": lambda p: ok({"category": "linear", "nextPageCursor": "",
                                                 **answer})})
    config = BybitConfig(account="main", rest_url="http://127.0.0.1:9",
                         ws_private_url="ws://127.0.0.1:9/v5/private")
    venue = BybitVenue(config, "key-0123456789", "secret-0123456789abcdef",
                       clock_ms=lambda: NOW, session_factory=fake.session)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}")

    async def main() -> Any:
        engine = EngineSession(venue, ledger, ReconcileConfig(), clock_ms=lambda: NOW)
        try:
            return (await engine.reconciler.run_once(RunTrigger.MANUAL)).run
        finally:
            await venue.aclose()

    try:
        run = asyncio.run(main())
        assert run.status is RunStatus.PARTIAL, run.errors
        assert len(run.errors) == 1
        assert run.errors[0].startswith("positions:") and field in run.errors[0], run.errors
        assert not any("ledger" in e for e in run.errors)
        # the run was recorded, and nothing unreadable reached the ledger
        assert ledger.list_runs("bybit", "main", 1)[0].status is RunStatus.PARTIAL
        assert ledger.positions("bybit", "main") == []
    finally:
        ledger.close()
