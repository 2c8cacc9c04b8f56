"""Request parameters the way Binance reads them, and strict readers for them.

Binance takes the parameters of a POST, PUT or DELETE from the query string, the
form-encoded body, or both ("If a parameter sent in both the query string and request
body, the query string parameter will be used"); GET takes the query string. A name sent
twice in one place is -1101. `signature` is not a parameter: authentication reads it
(`console.sim.binance.auth`), decoding drops it. Values stay text until a reader parses
them: numbers become Decimals from their digits, never floats.

Readers raise Binance's errors: -1102 for a missing or malformed mandatory parameter,
-1130 for an invalid value, -1104 for parameters an endpoint does not read (spot only:
the USD-M API ignores unknown parameters; UNVERIFIED for every endpoint).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from urllib.parse import unquote_plus

from console.sim.binance.codes import (
    ILLEGAL_CHARS,
    TOO_MANY_PARAMETERS,
    UNREAD_PARAMETERS,
    BinanceError,
    invalid,
    mandatory,
)
from console.sim.protocol.wire import Params

ALWAYS: Final = frozenset({"timestamp", "recvWindow"})
_MAX_DIGITS: Final = 40


def split_pairs(raw: str) -> list[tuple[str, str]]:
    """name=value pairs of a query string or form body, percent-decoded (UTF-8)."""
    pairs: list[tuple[str, str]] = []
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        pairs.append((unquote_plus(name, errors="replace"), unquote_plus(value, errors="replace")))
    return pairs


def _unique(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in pairs:
        if name in out:
            raise BinanceError(TOO_MANY_PARAMETERS)
        out[name] = value
    return out


def merge(query: str, body: str) -> dict[str, str]:
    """The request's parameters: the body's, overridden by the query's; no signature."""
    params = _unique(split_pairs(body))
    params.update(_unique(split_pairs(query)))
    params.pop("signature", None)
    return params


def only(params: Params, allowed: Collection[str]) -> None:
    """-1104 when the request carries a parameter the endpoint does not read (spot)."""
    unread = [name for name in params if name not in allowed and name not in ALWAYS]
    if unread:
        read = len(params) - len(unread)
        raise BinanceError(UNREAD_PARAMETERS, "Not all sent parameters were read; read "
                                              f"'{read}' parameter(s) but was sent "
                                              f"'{len(params)}'.")


def text(params: Params, name: str, *, required: bool = False) -> str:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise mandatory(name)
        return ""
    if not isinstance(value, str):
        raise invalid(name)
    return value


def choice(params: Params, name: str, values: Collection[str], *, required: bool = False,
           default: str = "", error: BinanceError | None = None) -> str:
    value = text(params, name, required=required)
    if not value:
        return default
    if value not in values:
        raise error if error is not None else invalid(name)
    return value


def decimal(params: Params, name: str, *, required: bool = False) -> Decimal | None:
    """A DECIMAL parameter: plain digits with an optional point and sign."""
    raw = text(params, name, required=required)
    if not raw:
        return None
    if len(raw) > _MAX_DIGITS or not all(c.isascii() and (c.isdigit() or c in ".-")
                                          for c in raw):
        raise mandatory(name)
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise mandatory(name) from None
    if not value.is_finite():
        raise mandatory(name)
    return value


def integer(params: Params, name: str, *, required: bool = False,
            default: int | None = None) -> int | None:
    """A LONG/INT parameter: ASCII digits (optionally signed)."""
    raw = text(params, name, required=required)
    if not raw:
        return default
    body = raw[1:] if raw.startswith("-") else raw
    if not body or len(body) > 19 or not (body.isascii() and body.isdigit()):
        raise mandatory(name)
    return int(raw)


def boolean(params: Params, name: str, *, default: bool = False) -> bool:
    raw = text(params, name)
    if not raw:
        return default
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise invalid(name)
    return lowered == "true"


def limit(params: Params, *, default: int, maximum: int) -> int:
    value = integer(params, "limit", default=default)
    assert value is not None
    if value < 1:
        raise invalid("limit")
    return min(value, maximum)


def client_id(params: Params, name: str, pattern: Any) -> str:
    """A client order id checked against the market's legal range (-1100 otherwise)."""
    value = text(params, name)
    if value and pattern.fullmatch(value) is None:
        raise BinanceError(ILLEGAL_CHARS, f"Illegal characters found in parameter '{name}'; "
                                          f"legal range is '{pattern.pattern}'.")
    return value


def json_list(params: Params, name: str, *, required: bool = True) -> list[Any] | None:
    """A parameter holding a JSON array (batchOrders, orderIdList)."""
    raw = text(params, name, required=required)
    if not raw:
        return None
    try:
        data = json.loads(raw, parse_float=Decimal)
    except ValueError:
        raise mandatory(name) from None
    if not isinstance(data, list):
        raise mandatory(name)
    return data


def lookup(params: Params, *names: str) -> str:
    """The first of `names` present, case-insensitively (ccxt sends `orderidlist`)."""
    lowered = {key.lower(): key for key in params}
    for name in names:
        key = lowered.get(name.lower())
        if key is not None:
            return key
    return ""
