"""Binance request authentication, checked over the exact bytes that arrived.

SIGNED endpoints (TRADE, USER_DATA): header ``X-MBX-APIKEY``; ``signature`` = hex
HMAC-SHA256(secret, totalParams) where totalParams is the query string concatenated,
without separator, to the request body, each exactly as sent (percent-encoded payloads
are verified over their encoded bytes, which is what Binance checks since 2026-01-15);
the ``signature=...`` pair itself is left out wherever it sits (query or body). Hex
signatures are compared case-insensitively (the docs: HMAC signatures are not
case-sensitive).

Checks, in order: the key's format (-2014) and the key (-2015, HTTP 401); ``timestamp``
present and an integer (-1102), ``recvWindow`` at most 60000 (-1131); the timing rule of
the docs, ``timestamp < server + 1000 and server - timestamp <= recvWindow`` (-1021; a
timestamp above 10^14 is read as microseconds, as Binance accepts both, and recvWindow
may carry three decimals); the signature (-1102 when absent, -1022 when wrong); then the
key's permission for the endpoint (-2015). USER_STREAM endpoints (listenKey) need the key
only. No error text contains a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection
from decimal import Decimal, InvalidOperation
from typing import Final

from console.sim.binance.codes import (
    BAD_API_KEY_FMT,
    BAD_RECV_WINDOW,
    INVALID_SIGNATURE,
    INVALID_TIMESTAMP,
    REJECTED_MBX_KEY,
    BinanceError,
    mandatory,
)
from console.sim.binance.params import split_pairs
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.keys import ApiKey, KeyStore
from console.sim.protocol.pipeline import Call

API_KEY_HEADER: Final = "X-MBX-APIKEY"
DEFAULT_RECV_WINDOW: Final = Decimal(5000)
MAX_RECV_WINDOW: Final = Decimal(60_000)
FUTURE_TOLERANCE_MS: Final = 1000
MICROS_ABOVE: Final = 10**14
"""A timestamp above this is in microseconds (ms epochs stay below it until year 5138)."""
_KEY_FORMAT: Final = re.compile(r"[A-Za-z0-9]{1,128}")
_HEX: Final = re.compile(r"[0-9A-Fa-f]{64}")


def sign(secret: str, payload: bytes) -> str:
    """Binance's HMAC signature of `payload` (hex, lower case)."""
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def strip_signature(raw: bytes) -> tuple[bytes, list[bytes]]:
    """`raw` (a query string or body) without its ``signature=`` pairs, and their values."""
    kept: list[bytes] = []
    found: list[bytes] = []
    for part in raw.split(b"&"):
        if part.startswith(b"signature="):
            found.append(part[len(b"signature="):])
        else:
            kept.append(part)
    if not found:
        return raw, []
    return b"&".join(kept), found


def check_timing(timestamp: str, recv_window: str, now_ms: int) -> None:
    """The docs' rule; raises -1102/-1131/-1021."""
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() \
            or len(timestamp) > 19:
        raise mandatory("timestamp")
    window = DEFAULT_RECV_WINDOW
    if recv_window:
        try:
            window = Decimal(recv_window)
        except InvalidOperation:
            raise mandatory("recvWindow") from None
        exponent = window.as_tuple().exponent
        if not window.is_finite() or window <= 0 or (isinstance(exponent, int)
                                                     and exponent < -3):
            raise mandatory("recvWindow")
        if window > MAX_RECV_WINDOW:
            raise BinanceError(BAD_RECV_WINDOW)
    ts = Decimal(int(timestamp))
    if ts > MICROS_ABOVE:
        ts = ts / 1000
    if ts >= now_ms + FUTURE_TOLERANCE_MS:
        raise BinanceError(INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead "
                                              "of the server's time.")
    if now_ms - ts > window:
        raise BinanceError(INVALID_TIMESTAMP)


def _key(call: Call, keys: KeyStore) -> ApiKey:
    api_key = call.request.headers.get(API_KEY_HEADER, "")
    if _KEY_FORMAT.fullmatch(api_key) is None:
        raise BinanceError(BAD_API_KEY_FMT)
    entry = keys.get(api_key)
    if entry is None:
        raise BinanceError(REJECTED_MBX_KEY)
    return entry


class BinanceAuth:
    """The pipeline's auth hook. `key_only`: (method, path) of the USER_STREAM endpoints,
    which need the key and no signature."""

    def __init__(self, keys: KeyStore, *, key_only: Collection[tuple[str, str]] = ()) -> None:
        self.keys = keys
        self.key_only = frozenset(key_only)

    async def authenticate(self, call: Call) -> ApiKey:
        entry = _key(call, self.keys)
        endpoint = call.endpoint
        if (endpoint.method, endpoint.path) in self.key_only:
            return entry
        query_raw = call.raw_query.encode("utf-8", "surrogateescape")
        body_raw = b"" if endpoint.method == "GET" else await call.body()
        query, query_sigs = strip_signature(query_raw)
        body, body_sigs = strip_signature(body_raw)
        params = dict(split_pairs(body.decode("utf-8", "replace")))
        params.update(split_pairs(query.decode("utf-8", "replace")))
        check_timing(params.get("timestamp", ""), params.get("recvWindow", ""), call.now_ms)
        signatures = query_sigs or body_sigs  # the query wins, as for every parameter
        if not signatures or not signatures[0]:
            raise mandatory("signature")
        given = signatures[0].decode("ascii", "replace")
        expected = sign(entry.secret, query + body)
        if _HEX.fullmatch(given) is None or not hmac.compare_digest(
                given.lower().encode("ascii"), expected.encode("ascii")):
            raise BinanceError(INVALID_SIGNATURE)
        return entry

    def forbidden(self, call: Call, key: ApiKey) -> ProtocolError:
        return BinanceError(REJECTED_MBX_KEY)
