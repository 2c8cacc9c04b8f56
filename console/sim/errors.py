"""Why the sim refuses a request: one `code` per reason, readable by protocol front-ends.

Every refusal is a `console.errors.FatalVenueError` (the request is wrong, retrying it
cannot help) carrying `code`, a `SimErrorCode` value that a Bybit, Binance or Deribit
front-end maps onto its own error numbers. An unknown order raises the
`OrderNotFoundError` subclass so that callers can catch "not found" on its own.
"""

from __future__ import annotations

from enum import StrEnum

from console.errors import DuplicateClientOrderIdError, FatalVenueError, OrderNotFoundError


class SimErrorCode(StrEnum):
    UNKNOWN_ACCOUNT = "unknown_account"
    ACCOUNT_EXISTS = "account_exists"
    UNKNOWN_SYMBOL = "unknown_symbol"
    INVALID_REQUEST = "invalid_request"
    INVALID_PRICE = "invalid_price"
    INVALID_QTY = "invalid_qty"
    INVALID_TRIGGER = "invalid_trigger"
    NO_MARKET_PRICE = "no_market_price"
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    ORDER_NOT_FOUND = "order_not_found"
    NOT_MODIFIABLE = "not_modifiable"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    REDUCE_ONLY_REJECTED = "reduce_only_rejected"
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    NO_POSITION = "no_position"
    REPLAY_UNAVAILABLE = "replay_unavailable"
    MALFORMED = "malformed"


class SimRejectedError(FatalVenueError):
    """The sim refused the request; `code` says why (a `SimErrorCode` value)."""

    def __init__(self, code: SimErrorCode, message: str, *, venue: str = "sim") -> None:
        super().__init__(f"{venue}: {message}", venue=venue, code=code.value)
        self.sim_code = code


class SimDuplicateClientIdError(SimRejectedError, DuplicateClientOrderIdError):
    """The account already has an order with that client id (code duplicate_client_id)."""


def rejection(code: SimErrorCode, message: str, *, venue: str = "sim") -> SimRejectedError:
    """The error for `code`: the typed subclass where callers must tell it apart."""
    if code is SimErrorCode.DUPLICATE_CLIENT_ID:
        return SimDuplicateClientIdError(code, message, venue=venue)
    return SimRejectedError(code, message, venue=venue)


class SimOrderNotFoundError(OrderNotFoundError):
    """No order with that venue id or client id exists on the account (code order_not_found)."""

    def __init__(self, message: str, *, venue: str = "sim") -> None:
        super().__init__(f"{venue}: {message}", venue=venue,
                         code=SimErrorCode.ORDER_NOT_FOUND.value)
        self.sim_code = SimErrorCode.ORDER_NOT_FOUND
