"""Reading Deribit request parameters, whichever way they came.

A GET query carries text (``amount=10``, ``post_only=true``), a JSON-RPC body carries
JSON values (numbers arrive as Decimals: `envelope.parse_json`). These readers accept
both and refuse the rest the way Deribit does: -32602 "Invalid params" with
``data: {"reason", "param"}`` (``must be present`` for a missing required one).
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Final

from console.sim.deribit.codes import invalid_param
from console.sim.protocol.wire import Params

_INVALID: Final = "invalid value"


def present(params: Params, name: str) -> bool:
    return params.get(name) not in (None, "")


def text(params: Params, name: str, default: str | None = None) -> str:
    """A string parameter; required when `default` is None."""
    value = params.get(name)
    if value is None or value == "":
        if default is None:
            raise invalid_param(name)
        return default
    if not isinstance(value, str):
        raise invalid_param(name, _INVALID)
    return value


def choice(params: Params, name: str, options: Collection[str],
           default: str | None = None) -> str:
    value = text(params, name, default)
    if value not in options:
        raise invalid_param(name, _INVALID)
    return value


def decimal(params: Params, name: str) -> Decimal | None:
    """A number (JSON number or its text); None when absent."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise invalid_param(name, _INVALID)
    if isinstance(value, int | Decimal):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise invalid_param(name, _INVALID) from None
    else:
        raise invalid_param(name, _INVALID)
    if not result.is_finite():
        raise invalid_param(name, _INVALID)
    return result


def integer(params: Params, name: str, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise invalid_param(name, _INVALID)
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise invalid_param(name, _INVALID)


def flag(params: Params, name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    raise invalid_param(name, _INVALID)
