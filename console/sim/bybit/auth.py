"""Bybit v5 authentication, checked the way Bybit checks it.

REST: headers X-BAPI-API-KEY, X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW (default 5000) and
X-BAPI-SIGN = hex HMAC-SHA256(secret, timestamp + api_key + recv_window + payload), where
payload is the query string exactly as it arrived (GET) or the raw body bytes (POST).
Nothing is re-serialised: a client that signs one string and sends another must fail
here as it fails on Bybit. Checks, in order: key known (10003), timestamp inside
[server - recv_window, server + 1000) (10002), signature (10004); then the key's
permission for the endpoint (10005).

The timestamp and recv_window headers must be plain ASCII integers (a "²", "١٧٠٠",
"1e12", "-5" or 30-digit header is refused with 10002, "invalid request, please check
your server timestamp or recv_window param", never an HTTP 500), and recv_window must
lie in 1..`MAX_RECV_WINDOW_MS`. Bybit documents the default (5000) and the rule above,
not a ceiling; an unbounded window would make any old request replayable, so the sim
refuses more than a minute, the usual exchange ceiling (and the connector's own limit,
`BybitConfig.recv_window_ms`).

WebSocket: {"op": "auth", "args": [api_key, expires, signature]} with signature = hex
HMAC-SHA256(secret, "GET/realtime" + expires); expires (ms, an integer or its ASCII
digits) must lie in the future, and no further than `MAX_WS_EXPIRES_AHEAD_MS`: a login
signed to stay valid for a century could be replayed for a century. Bybit refuses a
malformed or stale expiry with "Params Error"; so does the sim, and for one too far
ahead.

The keys themselves (secret, account, permissions) live in the shared key store
(`console.sim.protocol.keys`); no error text here contains a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Final

from console.sim.bybit.codes import (
    INVALID_API_KEY,
    INVALID_SIGN,
    PERMISSION_DENIED,
    TIMESTAMP_OUT_OF_WINDOW,
    BybitError,
)
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.keys import ApiKey, KeyStore
from console.sim.protocol.pipeline import Call

DEFAULT_RECV_WINDOW: Final = 5000
FUTURE_TOLERANCE_MS: Final = 1000
MAX_RECV_WINDOW_MS: Final = 60_000
MAX_WS_EXPIRES_AHEAD_MS: Final = 300_000
"""Clients sign a login valid for 1 s (pybit's default) to a minute; five minutes
leaves room for a local clock behind Bybit's."""
_HEADER_INT: Final = re.compile(r"[0-9]{1,15}")
"""ASCII digits only: str.isdigit() accepts "²" (which int() refuses) and "١" (which
int() reads)."""


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def rest_signature(secret: str, timestamp: str, api_key: str, recv_window: str,
                   payload: bytes) -> str:
    return hmac_hex(secret, (timestamp + api_key + recv_window).encode("utf-8") + payload)


def ws_signature(secret: str, expires: int | str) -> str:
    return hmac_hex(secret, f"GET/realtime{expires}".encode())


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.lower().encode("ascii", "replace"),
                               expected.encode("ascii"))


def verify_rest(headers: Mapping[str, str], payload: bytes, *, keys: KeyStore,
                now_ms: int) -> ApiKey:
    """The caller's key if the request is authentic; BybitError otherwise."""
    api_key = headers.get("X-BAPI-API-KEY", "")
    entry = keys.get(api_key) if api_key else None
    if entry is None:
        raise BybitError(INVALID_API_KEY)
    timestamp = headers.get("X-BAPI-TIMESTAMP", "")
    recv_window = headers.get("X-BAPI-RECV-WINDOW", str(DEFAULT_RECV_WINDOW))
    if not _HEADER_INT.fullmatch(timestamp) or not _HEADER_INT.fullmatch(recv_window):
        raise BybitError(TIMESTAMP_OUT_OF_WINDOW)
    ts, window = int(timestamp), int(recv_window)
    if not 0 < window <= MAX_RECV_WINDOW_MS:
        raise BybitError(TIMESTAMP_OUT_OF_WINDOW)
    if not now_ms - window <= ts < now_ms + FUTURE_TOLERANCE_MS:
        raise BybitError(
            TIMESTAMP_OUT_OF_WINDOW,
            f"invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts}],server_timestamp[{now_ms}],recv_window[{window}]")
    sign = headers.get("X-BAPI-SIGN", "")
    expected = rest_signature(entry.secret, timestamp, api_key, recv_window, payload)
    if not sign or not _same(sign, expected):
        raise BybitError(INVALID_SIGN)
    return entry


class BybitAuth:
    """The pipeline's auth hook: what is signed is the raw query (GET) or body (POST)."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    async def authenticate(self, call: Call) -> ApiKey:
        if call.endpoint.method == "GET":
            payload = call.raw_query.encode("utf-8", "surrogateescape")
        else:
            payload = await call.body()
        return verify_rest(call.request.headers, payload, keys=self.keys, now_ms=call.now_ms)

    def forbidden(self, call: Call, key: ApiKey) -> ProtocolError:
        return BybitError(PERMISSION_DENIED)


class WsAuthError(Exception):
    """A refused WebSocket auth; the text is Bybit's `ret_msg`."""


def verify_ws(args: object, *, keys: KeyStore, now_ms: int) -> ApiKey:
    if not isinstance(args, list) or len(args) != 3:
        raise WsAuthError("Params Error")
    api_key, expires, sign = args
    if not isinstance(api_key, str) or not isinstance(sign, str) \
            or isinstance(expires, bool) or not isinstance(expires, int | str):
        raise WsAuthError("Params Error")
    entry = keys.get(api_key)
    if entry is None:
        raise WsAuthError("error:USER_AUTH_FAILED, invalid api key")
    expires_text = str(expires)
    if not _HEADER_INT.fullmatch(expires_text):
        raise WsAuthError("Params Error")
    if int(expires_text) <= now_ms:
        raise WsAuthError("Params Error: auth expired")
    if int(expires_text) > now_ms + MAX_WS_EXPIRES_AHEAD_MS:
        raise WsAuthError("Params Error: expires too far in the future")
    if not _same(sign, ws_signature(entry.secret, expires_text)):
        raise WsAuthError("error:USER_AUTH_FAILED, signature mismatch")
    return entry
