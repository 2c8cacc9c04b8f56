"""Bybit v5 return codes and the one table that maps the sim's refusals onto them.

Codes come from Bybit's v5 error page (docs/v5/error, "UTA" section). Where the page has
no exact match for a sim refusal, the closest documented code is used and the choice is
marked "closest" below, so that an adapter written against this front-end meets the codes
a real account returns:

    sim code               retCode  Bybit text (documented unless marked)
    invalid_request        10001    Request parameter error
    unknown_symbol         10001    params error: symbol invalid (real-world text)
    invalid_price          10001    (closest: Bybit reports price grid errors as 10001)
    invalid_qty            10001    (closest; 110064 when an amend goes <= filled qty)
    invalid_trigger        110092 / 110093  expect Rising / Falling, but trigger_price ...
    no_market_price        110118   Unable to retrieve a price of the market order ...
    duplicate_client_id    110072   OrderLinkedID is duplicate
    order_not_found        110001   Order does not exist
    not_modifiable         110001   order not exists or too late to cancel/replace
                                    (what Bybit answers for a filled/cancelled order;
                                    110008 "completed or cancelled" is documented too)
    insufficient_balance   110007   Available balance is insufficient
    reduce_only_rejected   110017   Reduce-only rule not satisfied
    post_only_would_take   10001    (closest: Bybit cancels such an amend; no own code)
    no_position            110017   (closest)
    unknown_account        10003    API key is invalid (the key's account is gone)
    account_exists, replay_unavailable, malformed
                           10016    Server error (never expected on this path)

Spot answers with its own codes (docs/v5/error, "Spot" section), not the 110xxx above:

    duplicate_client_id    170141   Duplicate clientOrderId
    order_not_found, not_modifiable
                           170213   Order does not exist.
    insufficient_balance   170131   Balance insufficient
    invalid_price          170134   Order price decimal too long.
    invalid_qty            170137   Order volume decimal too long (170136 "Order
                                    quantity lower than the minimum." when below it)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from console.domain.enums import Category
from console.sim.errors import SimErrorCode
from console.sim.protocol.errors import ProtocolError

OK: Final = 0
PARAMS_ERROR: Final = 10001
TIMESTAMP_OUT_OF_WINDOW: Final = 10002
INVALID_API_KEY: Final = 10003
INVALID_SIGN: Final = 10004
PERMISSION_DENIED: Final = 10005
TOO_MANY_VISITS: Final = 10006
SERVER_ERROR: Final = 10016
ORDER_NOT_EXISTS: Final = 110001
INSUFFICIENT_AVAILABLE: Final = 110007
REDUCE_ONLY_RULE: Final = 110017
AMEND_QTY_NOT_ABOVE_FILLED: Final = 110064
DUPLICATE_ORDER_LINK_ID: Final = 110072
TRIGGER_EXPECT_RISING: Final = 110092
TRIGGER_EXPECT_FALLING: Final = 110093
MARKET_NO_PRICE: Final = 110118
SPOT_BALANCE_INSUFFICIENT: Final = 170131
SPOT_PRICE_DECIMAL_TOO_LONG: Final = 170134
SPOT_QTY_BELOW_MINIMUM: Final = 170136
SPOT_QTY_DECIMAL_TOO_LONG: Final = 170137
SPOT_DUPLICATE_CLIENT_ID: Final = 170141
SPOT_ORDER_NOT_EXISTS: Final = 170213

MESSAGES: Final[Mapping[int, str]] = MappingProxyType({
    OK: "OK",
    PARAMS_ERROR: "params error",
    TIMESTAMP_OUT_OF_WINDOW: "invalid request, please check your server timestamp or "
                             "recv_window param",
    INVALID_API_KEY: "API key is invalid.",
    INVALID_SIGN: "error sign! please check your signature generation algorithm",
    PERMISSION_DENIED: "Permission denied, please check your API key permissions.",
    TOO_MANY_VISITS: "Too many visits!",
    SERVER_ERROR: "Server error.",
    ORDER_NOT_EXISTS: "Order does not exist.",
    INSUFFICIENT_AVAILABLE: "Available balance is insufficient",
    REDUCE_ONLY_RULE: "Reduce-only rule not satisfied",
    AMEND_QTY_NOT_ABOVE_FILLED: "The modified contract quantity cannot be less than or "
                                "equal to the filled quantity.",
    DUPLICATE_ORDER_LINK_ID: "OrderLinkedID is duplicate",
    MARKET_NO_PRICE: "Unable to retrieve a price of the market order due to low liquidity",
    SPOT_BALANCE_INSUFFICIENT: "Balance insufficient",
    SPOT_PRICE_DECIMAL_TOO_LONG: "Order price decimal too long.",
    SPOT_QTY_BELOW_MINIMUM: "Order quantity lower than the minimum.",
    SPOT_QTY_DECIMAL_TOO_LONG: "Order volume decimal too long",
    SPOT_DUPLICATE_CLIENT_ID: "Duplicate clientOrderId",
    SPOT_ORDER_NOT_EXISTS: "Order does not exist.",
})

SPOT_CODES: Final[Mapping[SimErrorCode, int]] = MappingProxyType({
    SimErrorCode.DUPLICATE_CLIENT_ID: SPOT_DUPLICATE_CLIENT_ID,
    SimErrorCode.ORDER_NOT_FOUND: SPOT_ORDER_NOT_EXISTS,
    SimErrorCode.NOT_MODIFIABLE: SPOT_ORDER_NOT_EXISTS,
    SimErrorCode.INSUFFICIENT_BALANCE: SPOT_BALANCE_INSUFFICIENT,
    SimErrorCode.INVALID_PRICE: SPOT_PRICE_DECIMAL_TOO_LONG,
    SimErrorCode.INVALID_QTY: SPOT_QTY_DECIMAL_TOO_LONG,
})
"""Where spot differs from `SIM_CODES`; every other refusal has the same code."""

SIM_CODES: Final[Mapping[SimErrorCode, int]] = MappingProxyType({
    SimErrorCode.INVALID_REQUEST: PARAMS_ERROR,
    SimErrorCode.UNKNOWN_SYMBOL: PARAMS_ERROR,
    SimErrorCode.INVALID_PRICE: PARAMS_ERROR,
    SimErrorCode.INVALID_QTY: PARAMS_ERROR,
    SimErrorCode.INVALID_TRIGGER: TRIGGER_EXPECT_RISING,
    SimErrorCode.NO_MARKET_PRICE: MARKET_NO_PRICE,
    SimErrorCode.DUPLICATE_CLIENT_ID: DUPLICATE_ORDER_LINK_ID,
    SimErrorCode.ORDER_NOT_FOUND: ORDER_NOT_EXISTS,
    SimErrorCode.NOT_MODIFIABLE: ORDER_NOT_EXISTS,
    SimErrorCode.INSUFFICIENT_BALANCE: INSUFFICIENT_AVAILABLE,
    SimErrorCode.REDUCE_ONLY_REJECTED: REDUCE_ONLY_RULE,
    SimErrorCode.POST_ONLY_WOULD_TAKE: PARAMS_ERROR,
    SimErrorCode.NO_POSITION: REDUCE_ONLY_RULE,
    SimErrorCode.UNKNOWN_ACCOUNT: INVALID_API_KEY,
    SimErrorCode.ACCOUNT_EXISTS: SERVER_ERROR,
    SimErrorCode.REPLAY_UNAVAILABLE: SERVER_ERROR,
    SimErrorCode.MALFORMED: SERVER_ERROR,
})


class BybitError(ProtocolError):
    """A request refused with a Bybit retCode; becomes the v5 error envelope (HTTP 200)."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(code, message if message is not None else MESSAGES.get(code, "error"))


def params_error(detail: str) -> BybitError:
    return BybitError(PARAMS_ERROR, f"params error: {detail}")


def ret_code_for(sim_code: SimErrorCode, *, spot: bool = False) -> int:
    """The retCode for a sim refusal; every `SimErrorCode` has one (checked by a test).
    `spot`: the spot code where spot has its own."""
    if spot and sim_code in SPOT_CODES:
        return SPOT_CODES[sim_code]
    return SIM_CODES[sim_code]


def duplicate_link_id(category: Category) -> BybitError:
    return BybitError(SPOT_DUPLICATE_CLIENT_ID if category is Category.SPOT
                      else DUPLICATE_ORDER_LINK_ID)


def order_not_exists(category: Category, verb: str) -> BybitError:
    """An order that is unknown or already final, as the category's API words it."""
    if category is Category.SPOT:
        return BybitError(SPOT_ORDER_NOT_EXISTS)
    return BybitError(ORDER_NOT_EXISTS, f"order not exists or too late to {verb}")
