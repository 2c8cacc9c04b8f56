"""Client order ids and bracket labels.

A client id is minted before the request leaves and must never repeat, across restarts
and across processes sharing a ledger. Format (≤ 36 chars of ``[A-Za-z0-9-]``, so it
fits the client-id fields of Bybit and Binance)::

    {prefix}-{worker}-{role}-{epoch_ms base36}-{counter base36}

`counter` comes from a persisted sequence (the ledger hands out blocks atomically), so
two processes on the same worker id, or a clock that steps back, still cannot collide.
The time part makes ids sortable and readable; the role letter lets a cold start tell
entry, stop-loss and take-profit apart from the venue's open orders alone.

Labels (Deribit's free-text field, ≤ 64 chars) follow ``{prefix}_{strategy}_{worker}_{role}``
so that ``{prefix}_{strategy}_`` is a usable prefix filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from console.domain.enums import OrderRole
from console.domain.values import DomainValueError

MAX_CLIENT_ID = 36
MAX_LABEL = 64
_TOKEN = re.compile(r"^[A-Za-z0-9]+$")
_STRATEGY = re.compile(r"^[A-Za-z0-9-]+$")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_ROLE_CODES = {OrderRole.ENTRY: "e", OrderRole.STOP_LOSS: "s", OrderRole.TAKE_PROFIT: "t",
               OrderRole.OTHER: "o"}
_CODE_ROLES = {code: role for role, code in _ROLE_CODES.items()}
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def to_base36(value: int) -> str:
    if value < 0:
        raise DomainValueError(f"base36: {value} is negative")
    if value == 0:
        return "0"
    digits = []
    while value:
        value, rem = divmod(value, 36)
        digits.append(_B36[rem])
    return "".join(reversed(digits))


def is_valid_client_id(value: str) -> bool:
    return bool(_CLIENT_ID.match(value))


@dataclass(frozen=True, slots=True)
class ParsedClientId:
    prefix: str
    worker: str
    role: OrderRole
    epoch_ms: int
    counter: int


def parse_client_id(value: str) -> ParsedClientId | None:
    """Read back one of our ids; anything else (another bot's, a hand order's) is None."""
    parts = value.split("-")
    if len(parts) != 5:
        return None
    prefix, worker, role_code, ts, counter = parts
    if not (_TOKEN.match(prefix) and _TOKEN.match(worker)) or role_code not in _CODE_ROLES:
        return None
    try:
        return ParsedClientId(prefix, worker, _CODE_ROLES[role_code], int(ts, 36), int(counter, 36))
    except ValueError:
        return None


def has_our_prefix(client_order_id: str, prefix: str) -> bool:
    return client_order_id.startswith(prefix + "-") and parse_client_id(client_order_id) is not None


class ClientOrderIdGenerator:
    """Mints client ids. `next_counter` must be backed by persisted, atomic storage."""

    def __init__(self, prefix: str, worker: str, next_counter: Callable[[], int],
                 clock_ms: Callable[[], int]) -> None:
        if not _TOKEN.match(prefix) or len(prefix) > 6:
            raise DomainValueError(f"client id prefix {prefix!r}: 1-6 letters or digits")
        if not _TOKEN.match(worker) or len(worker) > 8:
            raise DomainValueError(f"worker id {worker!r}: 1-8 letters or digits")
        self.prefix = prefix
        self.worker = worker
        self._next_counter = next_counter
        self._clock_ms = clock_ms

    def next(self, role: OrderRole = OrderRole.OTHER) -> str:
        counter = self._next_counter()
        value = "-".join((self.prefix, self.worker, _ROLE_CODES[role],
                          to_base36(self._clock_ms()), to_base36(counter)))
        if len(value) > MAX_CLIENT_ID:
            raise DomainValueError(f"client id {value!r} is longer than {MAX_CLIENT_ID}")
        return value


def bracket_label(prefix: str, strategy_id: str, worker: str, role: OrderRole) -> str:
    if not _TOKEN.match(prefix) or not _TOKEN.match(worker):
        raise DomainValueError("label: prefix and worker must be letters or digits")
    if not _STRATEGY.match(strategy_id):
        raise DomainValueError(f"label: strategy id {strategy_id!r} must be letters, digits or -")
    label = f"{prefix}_{strategy_id}_{worker}_{role.value}"
    if len(label) > MAX_LABEL:
        raise DomainValueError(f"label {label!r} is longer than {MAX_LABEL}")
    return label


def label_prefix(prefix: str, strategy_id: str) -> str:
    return f"{prefix}_{strategy_id}_"


@dataclass(frozen=True, slots=True)
class ParsedLabel:
    prefix: str
    strategy_id: str
    worker: str
    role: OrderRole


def parse_label(label: str) -> ParsedLabel | None:
    parts = label.split("_")
    if len(parts) != 4:
        return None
    prefix, strategy, worker, role = parts
    try:
        parsed_role = OrderRole(role)
    except ValueError:
        return None
    if not (_TOKEN.match(prefix) and _STRATEGY.match(strategy) and _TOKEN.match(worker)):
        return None
    return ParsedLabel(prefix, strategy, worker, parsed_role)
