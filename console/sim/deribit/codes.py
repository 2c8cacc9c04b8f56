"""Deribit's error codes, and how the sim's refusals read in them.

Deribit answers an error as ``{"jsonrpc": "2.0", "id": .., "error": {"code", "message",
"data"?}}``. The code table is the classic one (the one ccxt and NautilusTrader map):
10004 order_not_found, 10009 not_enough_funds, 11044 not_open_order, 10028
too_many_requests, 13004 invalid_credentials, 13009 unauthorized, -32602 "Invalid
params" (with ``data: {"reason", "param"}``), -32601 "Method not found". Over HTTP
every error answer is status 400 (UNVERIFIED: Deribit documents errors by code only).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from console.sim.errors import SimErrorCode
from console.sim.protocol.errors import ProtocolError

ERROR: Final = 10001
QTY_TOO_LOW: Final = 10002
ORDER_NOT_FOUND: Final = 10004
NOT_ENOUGH_FUNDS: Final = 10009
ALREADY_CLOSED: Final = 10010
BOOK_CLOSED: Final = 10012
INVALID_INSTRUMENT: Final = 10020
INVALID_AMOUNT: Final = 10021
INVALID_PRICE: Final = 10023
TOO_MANY_REQUESTS: Final = 10028
NOT_IMPLEMENTED: Final = 10033
PRICE_WRONG_TICK: Final = 10043
INVALID_ARGUMENTS: Final = 11029
OTHER_REJECT: Final = 11030
INVALID_STOPPX: Final = 11036
NOT_OPEN_ORDER: Final = 11044
UNSUPPORTED_ARG_COMBINATION: Final = 11047
BAD_REQUEST: Final = 11050
POST_ONLY_REJECT: Final = 11054
INTERNAL_SERVER_ERROR: Final = 11094
INVALID_CREDENTIALS: Final = 13004
UNAUTHORIZED: Final = 13009
VALUE_REQUIRED: Final = 13010
FORBIDDEN: Final = 13021
INVALID_PARAMS: Final = -32602
METHOD_NOT_FOUND: Final = -32601
PARSE_ERROR: Final = -32700

MESSAGES: Final[Mapping[int, str]] = MappingProxyType({
    ERROR: "error", QTY_TOO_LOW: "qty_too_low", ORDER_NOT_FOUND: "order_not_found",
    NOT_ENOUGH_FUNDS: "not_enough_funds", ALREADY_CLOSED: "already_closed",
    BOOK_CLOSED: "book_closed", INVALID_INSTRUMENT: "invalid_or_unsupported_instrument",
    INVALID_AMOUNT: "invalid_amount", INVALID_PRICE: "invalid_price",
    TOO_MANY_REQUESTS: "too_many_requests", NOT_IMPLEMENTED: "not_implemented",
    PRICE_WRONG_TICK: "price_wrong_tick", INVALID_ARGUMENTS: "invalid_arguments",
    OTHER_REJECT: "other_reject", INVALID_STOPPX: "invalid_stoppx_for_index_or_last",
    NOT_OPEN_ORDER: "not_open_order",
    UNSUPPORTED_ARG_COMBINATION: "unsupported_arg_combination",
    BAD_REQUEST: "bad_request", POST_ONLY_REJECT: "post_only_reject",
    INTERNAL_SERVER_ERROR: "internal_server_error",
    INVALID_CREDENTIALS: "invalid_credentials", UNAUTHORIZED: "unauthorized",
    VALUE_REQUIRED: "value_required", FORBIDDEN: "forbidden",
    10040: "retry", 10047: "matching_engine_queue_full", 11051: "system_maintenance",
    INVALID_PARAMS: "Invalid params", METHOD_NOT_FOUND: "Method not found",
    PARSE_ERROR: "Parse error"})

HTTP_ERROR_STATUS: Final = 400


class DeribitError(ProtocolError):
    """A Deribit JSON-RPC error: code, Deribit's message word, optional `data`."""

    def __init__(self, code: int, message: str | None = None,
                 data: Mapping[str, Any] | None = None) -> None:
        super().__init__(code, message or MESSAGES.get(code, "error"))
        self.data: dict[str, Any] | None = None if data is None else dict(data)

    def body(self) -> dict[str, Any]:
        """The ``error`` member of the answer."""
        error: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.data is not None:
            error["data"] = self.data
        return error


def invalid_param(param: str, reason: str = "must be present") -> DeribitError:
    """-32602 with Deribit's ``data`` naming the parameter (the shape ccxt documents)."""
    return DeribitError(INVALID_PARAMS, data={"reason": reason, "param": param})


_SIM: Final[Mapping[SimErrorCode, int]] = MappingProxyType({
    SimErrorCode.UNKNOWN_ACCOUNT: UNAUTHORIZED,
    SimErrorCode.UNKNOWN_SYMBOL: INVALID_INSTRUMENT,
    SimErrorCode.INVALID_REQUEST: INVALID_ARGUMENTS,
    SimErrorCode.INVALID_PRICE: PRICE_WRONG_TICK,
    SimErrorCode.INVALID_QTY: INVALID_AMOUNT,
    SimErrorCode.INVALID_TRIGGER: INVALID_STOPPX,
    SimErrorCode.NO_MARKET_PRICE: BOOK_CLOSED,
    SimErrorCode.DUPLICATE_CLIENT_ID: INVALID_ARGUMENTS,
    SimErrorCode.ORDER_NOT_FOUND: ORDER_NOT_FOUND,
    SimErrorCode.NOT_MODIFIABLE: NOT_OPEN_ORDER,
    SimErrorCode.INSUFFICIENT_BALANCE: NOT_ENOUGH_FUNDS,
    SimErrorCode.REDUCE_ONLY_REJECTED: OTHER_REJECT,
    SimErrorCode.POST_ONLY_WOULD_TAKE: POST_ONLY_REJECT,
    SimErrorCode.NO_POSITION: OTHER_REJECT,
    SimErrorCode.MALFORMED: BAD_REQUEST,
})


def for_sim(code: SimErrorCode) -> DeribitError:
    """The Deribit error for a sim refusal (11030 other_reject names the reason, as
    Deribit's ``other_reject <Reason>`` does)."""
    number = _SIM.get(code, ERROR)
    if number == OTHER_REJECT:
        return DeribitError(number, f"other_reject {code.value}")
    return DeribitError(number)
