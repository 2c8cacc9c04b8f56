"""Conformance of the simulated Deribit front-end through typed-deribit 0.4.1, a client
generated from Deribit's OpenAPI spec, with its defaults: `HmacHttpRpcClient` (POSTs of
a JSON-RPC body, each signed with its own deri-hmac-sha256 header) at
``<origin>/api/v2``. Every result is checked twice: against the docs tables
(`deribit_docs`: a missing field, a wrong JSON type, an undocumented field) and by
typed-deribit's own validator for the method's result type (what a strict client
accepts). The envelope of each answer is checked from a plain HTTP call.

One front-end serves the module (on its own thread); each test runs its client on a
fresh loop with `asyncio.run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from deribit_docs import Deviation, check, check_list, explain
from deribit_helpers import BTC, KEY, SECRET, Sim
from typed_core.exceptions import ValidationError
from typed_core.validation import validator
from typed_deribit.account.get_account_summary import AccountSummary
from typed_deribit.auth.authenticate import AuthResult
from typed_deribit.core.auth import Credentials
from typed_deribit.core.transport.http import HmacHttpRpcClient
from typed_deribit.market_data.get_currencies import CurrencyResponse
from typed_deribit.market_data.get_instruments import InstrumentResponse
from typed_deribit.schemas import Order, OrderTradesResult, Position, UserTradesPage
from typed_deribit.session.get_cancel_on_disconnect import CancelOnDisconnectStatus

T = TypeVar("T")
Call = Callable[[HmacHttpRpcClient], Awaitable[T]]


@pytest.fixture(scope="module")
def sim() -> Iterator[Sim]:
    handle = Sim(seed=11)
    try:
        yield handle
    finally:
        handle.stop()


def typed(sim: Sim, call: Call[T]) -> T:
    """`call` with typed-deribit's HMAC transport at the sim (its defaults otherwise)."""
    async def main() -> T:
        client = HmacHttpRpcClient(base_url=f"{sim.url}/api/v2",
                                   credentials=Credentials(KEY, SECRET))
        async with client:
            return await call(client)
    return asyncio.run(main())


def raw(sim: Sim, method: str, params: dict[str, Any] | None = None, *,
        public: bool = False) -> Any:
    """One call through typed-deribit's transport with validation off: the result as
    the sim sent it (decoded), for the docs tables."""
    async def call(client: HmacHttpRpcClient) -> Any:
        send = client.request if public else client.authed_request
        return await send(method, params=params, validate=False)
    return typed(sim, call)


def strict(kind: Any, value: Any) -> list[Deviation]:
    """typed-deribit's own verdict on a result (its validator for the result type)."""
    try:
        validator(kind).python(value)
    except ValidationError as exc:
        return [Deviation("typed-deribit", getattr(kind, "__name__", str(kind)),
                          "accepted by its validator", str(exc)[:400])]
    return []


def test_public_methods(sim: Sim) -> None:
    instruments = raw(sim, "public/get_instruments", {"currency": "BTC", "kind": "future"},
                      public=True)
    assert BTC in {i["instrument_name"] for i in instruments}
    currencies = raw(sim, "public/get_currencies", public=True)
    assert {"BTC", "ETH"} <= {c["currency"] for c in currencies}
    auth = raw(sim, "public/auth", {"grant_type": "client_credentials", "client_id": KEY,
                                    "client_secret": SECRET}, public=True)
    assert auth["token_type"] == "bearer" and auth["expires_in"] > 0
    found = (check_list("public/get_instruments[]", instruments)
             + check_list("public/get_currencies[]", currencies)
             + check("public/auth", auth)
             + strict(InstrumentResponse, instruments) + strict(CurrencyResponse, currencies)
             + strict(AuthResult, auth))
    assert not found, explain(found)


def test_order_lifecycle(sim: Sim) -> None:
    placed = raw(sim, "private/buy", {"instrument_name": BTC, "amount": 100, "type": "limit",
                                      "price": 50000, "label": "typed-1"})
    order_id = placed["order"]["order_id"]
    assert placed["order"]["order_state"] == "open" and placed["trades"] == []
    listed = raw(sim, "private/get_open_orders_by_currency", {"currency": "BTC"})
    assert [o["order_id"] for o in listed] == [order_id]
    state = raw(sim, "private/get_order_state", {"order_id": order_id})
    edited = raw(sim, "private/edit", {"order_id": order_id, "amount": 200, "price": 49000})
    assert edited["order"]["amount"] == 200 and edited["order"]["price"] == 49000
    by_label = raw(sim, "private/get_order_state_by_label",
                   {"currency": "BTC", "label": "typed-1"})
    cancelled = raw(sim, "private/cancel", {"order_id": order_id})
    assert cancelled["order_state"] == "cancelled"
    found = (check("private/buy", placed) + check_list("order", listed)
             + check("order", state) + check("private/buy", edited)
             + check_list("order", by_label) + check("order", cancelled)
             + strict(OrderTradesResult, placed) + strict(list[Order], listed)
             + strict(Order, state) + strict(OrderTradesResult, edited)
             + strict(Order, cancelled))
    assert not found, explain(found)


def test_a_fill_its_trades_position_and_summary(sim: Sim) -> None:
    filled = raw(sim, "private/buy", {"instrument_name": BTC, "amount": 50,
                                      "type": "market", "label": "typed-2"})
    assert filled["order"]["order_state"] == "filled" and filled["trades"]
    page = raw(sim, "private/get_user_trades_by_instrument",
               {"instrument_name": BTC, "count": 10})
    assert page["trades"] and page["has_more"] is False
    by_order = raw(sim, "private/get_user_trades_by_order",
                   {"order_id": filled["order"]["order_id"]})
    positions = raw(sim, "private/get_positions", {"currency": "BTC", "kind": "future"})
    assert [p["size"] for p in positions if p["instrument_name"] == BTC] == [50]
    position = raw(sim, "private/get_position", {"instrument_name": BTC})
    summary = raw(sim, "private/get_account_summary", {"currency": "BTC"})
    assert summary["currency"] == "BTC" and summary["balance"] > 0
    found = (check("private/buy", filled) + check("trades page", page)
             + check_list("user trade", by_order) + check_list("position", positions)
             + check("position", position) + check("private/get_account_summary", summary)
             + strict(OrderTradesResult, filled) + strict(UserTradesPage, page)
             + strict(list[Position], positions) + strict(AccountSummary, summary))
    assert not found, explain(found)


def test_trigger_orders_and_cancel_all(sim: Sim) -> None:
    stop = raw(sim, "private/sell", {"instrument_name": BTC, "amount": 10,
                                     "type": "stop_market", "trigger": "mark_price",
                                     "trigger_price": 40000, "label": "typed-3"})
    assert stop["order"]["order_state"] == "untriggered"
    assert stop["order"]["price"] == "market_price"
    hidden = raw(sim, "private/get_open_orders_by_currency", {"currency": "BTC"})
    shown = raw(sim, "private/get_open_orders_by_currency",
                {"currency": "BTC", "type": "trigger_all"})
    assert stop["order"]["order_id"] not in {o["order_id"] for o in hidden}
    assert [o["order_id"] for o in shown] == [stop["order"]["order_id"]]
    count = raw(sim, "private/cancel_all_by_currency", {"currency": "BTC", "type": "all"})
    assert count == 1
    found = (check("private/buy", stop) + check_list("order", shown)
             + strict(OrderTradesResult, stop) + strict(list[Order], shown))
    assert not found, explain(found)


def test_typed_calls_sign_and_validate_by_default(sim: Sim) -> None:
    """typed-deribit's own endpoint sections (validation on), over its signing."""
    from typed_deribit.account import Account
    from typed_deribit.trading import Trading

    async def call(client: HmacHttpRpcClient) -> tuple[Any, Any, Any]:
        trading, account = Trading.new(client), Account.new(client)
        placed = await trading.buy({"instrument_name": BTC, "amount": 30, "type": "limit",
                                    "price": 51000, "label": "typed-4"})
        state = await trading.get_order_state(placed["order"]["order_id"])
        await trading.cancel(placed["order"]["order_id"])
        summary = await account.get_account_summary("BTC")
        return placed, state, summary

    placed, state, summary = typed(sim, call)
    assert placed["order"]["label"] == "typed-4" and state["order_state"] == "open"
    assert summary["currency"] == "BTC"


def test_cancel_on_disconnect_status_and_envelopes(sim: Sim) -> None:
    status = raw(sim, "private/get_cancel_on_disconnect", {"scope": "account"})
    ok = sim.post("public/get_time")
    refused = sim.post("private/get_account_summary", {"currency": "BTC"})
    assert ok.status_code == 200 and refused.status_code == 400
    found = (check("private/get_cancel_on_disconnect", status)
             + strict(CancelOnDisconnectStatus, status)
             + check("envelope", ok.json()) + check("error envelope", refused.json()))
    assert not found, explain(found)
