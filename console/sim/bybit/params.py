"""Request parameters: strict readers that refuse what Bybit refuses, with 10001.

GET parameters arrive as text (parsed from the raw query string); POST bodies are JSON
parsed with `parse_float=Decimal`, so a number written as 0.1 is the Decimal 0.1 and never
a binary float. Every reader names the parameter in its error, as Bybit's "params error"
messages do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qsl

from console.domain.enums import Category
from console.domain.values import DomainValueError, to_decimal
from console.sim.bybit.codes import params_error
from console.sim.bybit.shapes import CATEGORY_OF
from console.sim.protocol.wire import Params

ORDER_LINK_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def parse_query(raw: str) -> dict[str, Any]:
    """The raw query string as parameters (percent-decoding applies; last value wins)."""
    return dict(parse_qsl(raw, keep_blank_values=True))


def parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = json.loads(body, parse_float=Decimal)
    except (ValueError, UnicodeDecodeError):
        raise params_error("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise params_error("request body must be a JSON object")
    return data


def present(params: Params, name: str) -> bool:
    value = params.get(name)
    return value is not None and value != ""


def text(params: Params, name: str, *, required: bool = False) -> str:
    """A string parameter ("" when absent and optional)."""
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise params_error(f"{name} is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise params_error(f"{name} must be a string")
    return str(value)


def decimal(params: Params, name: str, *, required: bool = False) -> Decimal | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise params_error(f"{name} is required")
        return None
    try:
        parsed = to_decimal(value, name)
    except DomainValueError as exc:
        raise params_error(str(exc)) from None
    assert parsed is not None
    return parsed


def integer(params: Params, name: str, *, default: int | None = None) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise params_error(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise params_error(f"{name} {value!r} must be an integer")


def boolean(params: Params, name: str, *, default: bool = False) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return str(value) == "true"
    if value in (0, 1):
        return bool(value)
    raise params_error(f"{name} {value!r} must be true or false")


def limit(params: Params, *, default: int, maximum: int) -> int:
    value = integer(params, "limit", default=default)
    assert value is not None
    if not 1 <= value <= maximum:
        raise params_error(f"limit {value} must be in [1, {maximum}]")
    return value


def category(params: Params, served: Collection[Category]) -> Category:
    """The request's category: required and one of Bybit's four. A category this sim
    holds no instruments of is answered as Bybit answers an account that trades none
    there (empty listings, "symbol invalid"), never with a refusal of our own: `served`
    only decides what the listings hold (`Scope.instruments`)."""
    del served
    raw = params.get("category")
    if raw is None or raw == "":
        raise params_error("category is required")
    found = CATEGORY_OF.get(raw) if isinstance(raw, str) else None
    if found is None:
        raise params_error(f"category {raw!r} is invalid")
    return found


def order_link_id(params: Params) -> str:
    """orderLinkId: optional; at most 36 characters of [A-Za-z0-9_-] (Bybit's rule)."""
    value = text(params, "orderLinkId")
    if value and ORDER_LINK_ID.match(value) is None:
        raise params_error("orderLinkId must be at most 36 characters of letters, digits, "
                           "'-' and '_'")
    return value


def time_ms(params: Params, name: str) -> int | None:
    value = integer(params, name)
    if value is not None and value < 0:
        raise params_error(f"{name} must not be negative")
    return value
