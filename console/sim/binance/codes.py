"""Binance error codes, their messages and HTTP statuses, and the table that maps the
sim's refusals onto them (one table per market: spot and USD-M answer the same refusal
with different codes).

Codes and texts come from Binance's error pages (spot ``errors.md``, the USD-M futures
error list) and the docs' own examples; where the page offers no exact match for a sim
refusal the closest documented code is used and marked "closest" below. An error body is
``{"code": <int>, "msg": <str>}``; the HTTP status is 400 for request errors, 401 for a
key problem (-2014/-2015), 429 for rate limits (-1003/-1015), 5xx where the outcome is
unknown (-1006/-1007, and -1000 for a sim bug). Statuses other than 400/401/429 are
UNVERIFIED: Binance documents "5XX = execution status unknown", not which 5xx.

    sim code               USD-M                               spot
    invalid_request        -1130 invalid data                  -1130
    unknown_symbol         -1121 Invalid symbol.               -1121
    invalid_price          -4014 tick size (closest)           -1013 Filter failure: PRICE_FILTER
    invalid_qty            -4023 step size (closest)           -1013 Filter failure: LOT_SIZE
    invalid_trigger        -2021 Order would immediately trigger.  -2010 (same text)
    no_market_price        -2020 Unable to fill. (closest)     -2010 liquidity (closest)
    duplicate_client_id    -4116 ClientOrderId is duplicated.  -2010 Duplicate order sent.
    order_not_found        -2013 / -2011 (query / cancel)      -2013 / -2011
    not_modifiable         -2011 Unknown order sent.           -2011
    insufficient_balance   -2019 Margin is insufficient.       -2010 insufficient balance
    reduce_only_rejected   -2022 ReduceOnly Order is rejected. -2010 (closest)
    post_only_would_take   -5022 post only rejected            -2010 would immediately match
    no_position            -2022 (closest)                     -2010 (closest)
    unknown_account        -2015                               -2015
    account_exists, replay_unavailable, malformed   -1000 (HTTP 500)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from console.domain.enums import Category
from console.sim.errors import SimErrorCode
from console.sim.protocol.errors import ProtocolError

UNKNOWN: Final = -1000
DISCONNECTED: Final = -1001
TOO_MANY_REQUESTS: Final = -1003
UNEXPECTED_RESP: Final = -1006
TIMEOUT: Final = -1007
SERVER_BUSY: Final = -1008
INVALID_MESSAGE: Final = -1013
TOO_MANY_ORDERS: Final = -1015
INVALID_TIMESTAMP: Final = -1021
INVALID_SIGNATURE: Final = -1022
ILLEGAL_CHARS: Final = -1100
TOO_MANY_PARAMETERS: Final = -1101
MANDATORY_PARAM: Final = -1102
UNREAD_PARAMETERS: Final = -1104
PARAM_NOT_REQUIRED: Final = -1106
BAD_PRECISION: Final = -1111
INVALID_TIF: Final = -1115
INVALID_ORDER_TYPE: Final = -1116
INVALID_SIDE: Final = -1117
BAD_SYMBOL: Final = -1121
INVALID_LISTEN_KEY: Final = -1125
MORE_THAN_XX_HOURS: Final = -1127
BAD_COMBO: Final = -1128
INVALID_PARAMETER: Final = -1130
BAD_RECV_WINDOW: Final = -1131
NEW_ORDER_REJECTED: Final = -2010
CANCEL_REJECTED: Final = -2011
NO_SUCH_ORDER: Final = -2013
BAD_API_KEY_FMT: Final = -2014
REJECTED_MBX_KEY: Final = -2015
MARGIN_INSUFFICIENT: Final = -2019
UNABLE_TO_FILL: Final = -2020
WOULD_TRIGGER: Final = -2021
REDUCE_ONLY_REJECT: Final = -2022
PRICE_LT_ZERO: Final = -4001
QTY_LE_ZERO: Final = -4003
QTY_LT_MIN: Final = -4004
QTY_GT_MAX: Final = -4005
PRICE_TICK: Final = -4014
QTY_STEP: Final = -4023
NO_NEED_POSITION_SIDE: Final = -4059
POSITION_SIDE_MISMATCH: Final = -4061
POSITION_SIDE_OPEN_ORDERS: Final = -4067
POSITION_SIDE_OPEN_POSITION: Final = -4068
DUPLICATE_CLIENT_ORDER_ID: Final = -4116
USE_ALGO_ENDPOINT: Final = -4120
MIN_NOTIONAL: Final = -4164
NO_NEED_MULTI_ASSETS: Final = -4171
GTX_REJECTED: Final = -5022
CANCEL_REPLACE_PARTIAL: Final = -2021
CANCEL_REPLACE_FAILED: Final = -2022

MESSAGES: Final[Mapping[int, str]] = MappingProxyType({
    UNKNOWN: "An unknown error occurred while processing the request.",
    DISCONNECTED: "Internal error; unable to process your request. Please try again.",
    TOO_MANY_REQUESTS: "Too many requests queued.",
    UNEXPECTED_RESP: "An unexpected response was received from the message bus. Execution "
                     "status unknown.",
    TIMEOUT: "Timeout waiting for response from backend server. Send status unknown; "
             "execution status unknown.",
    SERVER_BUSY: "Server is currently overloaded with other requests. Please try again in "
                 "a few minutes.",
    INVALID_MESSAGE: "The request is rejected by the API.",
    TOO_MANY_ORDERS: "Too many new orders.",
    INVALID_TIMESTAMP: "Timestamp for this request is outside of the recvWindow.",
    INVALID_SIGNATURE: "Signature for this request is not valid.",
    ILLEGAL_CHARS: "Illegal characters found in a parameter.",
    TOO_MANY_PARAMETERS: "Duplicate values for a parameter detected.",
    MANDATORY_PARAM: "A mandatory parameter was not sent, was empty/null, or malformed.",
    UNREAD_PARAMETERS: "Not all sent parameters were read.",
    PARAM_NOT_REQUIRED: "A parameter was sent when not required.",
    BAD_PRECISION: "Precision is over the maximum defined for this asset.",
    INVALID_TIF: "Invalid timeInForce.",
    INVALID_ORDER_TYPE: "Invalid orderType.",
    INVALID_SIDE: "Invalid side.",
    BAD_SYMBOL: "Invalid symbol.",
    INVALID_LISTEN_KEY: "This listenKey does not exist.",
    MORE_THAN_XX_HOURS: "Lookup interval is too big.",
    BAD_COMBO: "Combination of optional parameters invalid.",
    INVALID_PARAMETER: "Invalid data sent for a parameter.",
    BAD_RECV_WINDOW: "recvWindow must be less than 60000",
    NEW_ORDER_REJECTED: "NEW_ORDER_REJECTED",
    CANCEL_REJECTED: "Unknown order sent.",
    NO_SUCH_ORDER: "Order does not exist.",
    BAD_API_KEY_FMT: "API-key format invalid.",
    REJECTED_MBX_KEY: "Invalid API-key, IP, or permissions for action.",
    MARGIN_INSUFFICIENT: "Margin is insufficient.",
    UNABLE_TO_FILL: "Unable to fill.",
    WOULD_TRIGGER: "Order would immediately trigger.",
    REDUCE_ONLY_REJECT: "ReduceOnly Order is rejected.",
    PRICE_LT_ZERO: "Price less than 0.",
    QTY_LE_ZERO: "Quantity less than or equal to zero.",
    QTY_LT_MIN: "Quantity less than min quantity.",
    QTY_GT_MAX: "Quantity greater than max quantity.",
    PRICE_TICK: "Price not increased by tick size.",
    QTY_STEP: "Quantity not increased by step size.",
    NO_NEED_POSITION_SIDE: "No need to change position side.",
    POSITION_SIDE_MISMATCH: "Order's position side does not match user's setting.",
    POSITION_SIDE_OPEN_ORDERS: "Position side cannot be changed if there exists open orders.",
    POSITION_SIDE_OPEN_POSITION: "Position side cannot be changed if there exists position.",
    DUPLICATE_CLIENT_ORDER_ID: "ClientOrderId is duplicated.",
    USE_ALGO_ENDPOINT: "Order type not supported for this endpoint. Please use the Algo "
                       "Order API endpoints instead.",
    MIN_NOTIONAL: "Order's notional must be no smaller than 5 (unless you choose reduce "
                  "only).",
    NO_NEED_MULTI_ASSETS: "Multi-Assets mode is already set.",  # UNVERIFIED text
    GTX_REJECTED: "Due to the order could not be executed as maker, the Post Only order will "
                  "be rejected. The order will not be recorded in the order history",
})

# HTTP status per code where it is not 400 (see the module docstring)
STATUSES: Final[Mapping[int, int]] = MappingProxyType({
    TOO_MANY_REQUESTS: 429, TOO_MANY_ORDERS: 429,
    BAD_API_KEY_FMT: 401, REJECTED_MBX_KEY: 401,
    UNKNOWN: 500, DISCONNECTED: 503, UNEXPECTED_RESP: 503, TIMEOUT: 503, SERVER_BUSY: 503,
})

# spot -2010 texts (errors.md, "Messages for -1010, -2010, -2011")
DUPLICATE_ORDER: Final = "Duplicate order sent."
INSUFFICIENT_BALANCE: Final = "Account has insufficient balance for requested action."
WOULD_TAKE: Final = "Order would immediately match and take."
NO_LIQUIDITY: Final = "Order book liquidity is less than symbol minimum quantity."


class BinanceError(ProtocolError):
    """A refused request: Binance's code and message, the HTTP status it travels with,
    extra headers (Retry-After) and, for cancelReplace, the `data` object."""

    def __init__(self, code: int, message: str | None = None, *, status: int | None = None,
                 headers: Mapping[str, str] | None = None,
                 data: Mapping[str, Any] | None = None) -> None:
        super().__init__(code, message if message is not None else MESSAGES.get(code, "error"))
        self.status = status if status is not None else STATUSES.get(code, 400)
        self.headers = dict(headers or {})
        self.data = None if data is None else dict(data)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "msg": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


def mandatory(name: str) -> BinanceError:
    return BinanceError(MANDATORY_PARAM, f"Mandatory parameter '{name}' was not sent, was "
                                         "empty/null, or malformed.")


def invalid(name: str) -> BinanceError:
    return BinanceError(INVALID_PARAMETER, f"Data sent for parameter '{name}' is not valid.")


def filter_failure(name: str) -> BinanceError:
    return BinanceError(INVALID_MESSAGE, f"Filter failure: {name}")


def rejected(text: str) -> BinanceError:
    return BinanceError(NEW_ORDER_REJECTED, text)


_FUTURES: Final[Mapping[SimErrorCode, tuple[int, str | None]]] = MappingProxyType({
    SimErrorCode.INVALID_REQUEST: (INVALID_PARAMETER, None),
    SimErrorCode.UNKNOWN_SYMBOL: (BAD_SYMBOL, None),
    SimErrorCode.INVALID_PRICE: (PRICE_TICK, None),
    SimErrorCode.INVALID_QTY: (QTY_STEP, None),
    SimErrorCode.INVALID_TRIGGER: (WOULD_TRIGGER, None),
    SimErrorCode.NO_MARKET_PRICE: (UNABLE_TO_FILL, None),
    SimErrorCode.DUPLICATE_CLIENT_ID: (DUPLICATE_CLIENT_ORDER_ID, None),
    SimErrorCode.ORDER_NOT_FOUND: (NO_SUCH_ORDER, None),
    SimErrorCode.NOT_MODIFIABLE: (CANCEL_REJECTED, None),
    SimErrorCode.INSUFFICIENT_BALANCE: (MARGIN_INSUFFICIENT, None),
    SimErrorCode.REDUCE_ONLY_REJECTED: (REDUCE_ONLY_REJECT, None),
    SimErrorCode.POST_ONLY_WOULD_TAKE: (GTX_REJECTED, None),
    SimErrorCode.NO_POSITION: (REDUCE_ONLY_REJECT, None),
    SimErrorCode.UNKNOWN_ACCOUNT: (REJECTED_MBX_KEY, None),
    SimErrorCode.ACCOUNT_EXISTS: (UNKNOWN, None),
    SimErrorCode.REPLAY_UNAVAILABLE: (UNKNOWN, None),
    SimErrorCode.MALFORMED: (UNKNOWN, None),
})

_SPOT: Final[Mapping[SimErrorCode, tuple[int, str | None]]] = MappingProxyType({
    SimErrorCode.INVALID_REQUEST: (INVALID_PARAMETER, None),
    SimErrorCode.UNKNOWN_SYMBOL: (BAD_SYMBOL, None),
    SimErrorCode.INVALID_PRICE: (INVALID_MESSAGE, "Filter failure: PRICE_FILTER"),
    SimErrorCode.INVALID_QTY: (INVALID_MESSAGE, "Filter failure: LOT_SIZE"),
    SimErrorCode.INVALID_TRIGGER: (NEW_ORDER_REJECTED, "Order would trigger immediately."),
    SimErrorCode.NO_MARKET_PRICE: (NEW_ORDER_REJECTED, NO_LIQUIDITY),
    SimErrorCode.DUPLICATE_CLIENT_ID: (NEW_ORDER_REJECTED, DUPLICATE_ORDER),
    SimErrorCode.ORDER_NOT_FOUND: (NO_SUCH_ORDER, None),
    SimErrorCode.NOT_MODIFIABLE: (CANCEL_REJECTED, None),
    SimErrorCode.INSUFFICIENT_BALANCE: (NEW_ORDER_REJECTED, INSUFFICIENT_BALANCE),
    SimErrorCode.REDUCE_ONLY_REJECTED: (NEW_ORDER_REJECTED, "Unsupported order combination"),
    SimErrorCode.POST_ONLY_WOULD_TAKE: (NEW_ORDER_REJECTED, WOULD_TAKE),
    SimErrorCode.NO_POSITION: (NEW_ORDER_REJECTED, "Unsupported order combination"),
    SimErrorCode.UNKNOWN_ACCOUNT: (REJECTED_MBX_KEY, None),
    SimErrorCode.ACCOUNT_EXISTS: (UNKNOWN, None),
    SimErrorCode.REPLAY_UNAVAILABLE: (UNKNOWN, None),
    SimErrorCode.MALFORMED: (UNKNOWN, None),
})

SIM_CODES: Final[Mapping[Category, Mapping[SimErrorCode, tuple[int, str | None]]]] = \
    MappingProxyType({Category.LINEAR: _FUTURES, Category.SPOT: _SPOT})


def for_sim(sim_code: SimErrorCode, market: Category, *, cancel: bool = False) -> BinanceError:
    """Binance's error for a sim refusal in `market`; `cancel`: the request was a cancel
    (an unknown or finished order is then -2011 "Unknown order sent.", as Binance says)."""
    if cancel and sim_code in (SimErrorCode.ORDER_NOT_FOUND, SimErrorCode.NOT_MODIFIABLE):
        return BinanceError(CANCEL_REJECTED)
    if not cancel and sim_code is SimErrorCode.NOT_MODIFIABLE:
        return BinanceError(NO_SUCH_ORDER)
    code, text = SIM_CODES[market][sim_code]
    return BinanceError(code, text)
