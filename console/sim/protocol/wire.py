"""JSON on the wire: the types requests and answers are made of, and exact encoding.

Money is Decimal end to end: an answer may echo a Decimal parsed from a request body, and
it must leave as the same digits, never through a binary float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

JsonObj = dict[str, Any]
Params = Mapping[str, Any]


def dumps(body: object) -> str:
    """`json.dumps` with Decimals written as plain digits (no exponent), compact as
    Bybit writes its answers (no blank after "," or ":")."""
    return json.dumps(body, default=_json_default, separators=(",", ":"))


def _json_default(value: object) -> str:
    """Decimals echoed from a request stay exact text; anything else is a bug."""
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
