"""Bybit v5 authentication, checked the way Bybit checks it.

REST: headers X-BAPI-API-KEY, X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW (default 5000) and
X-BAPI-SIGN = hex HMAC-SHA256(secret, timestamp + api_key + recv_window + payload), where
payload is the query string exactly as it arrived (GET) or the raw body bytes (POST).
Nothing is re-serialised: a client that signs one string and sends another must fail
here as it fails on Bybit. Checks, in order: key known (10003), timestamp inside
[server - recv_window, server + 1000) (10002), signature (10004); then the key's
permission for the endpoint (10005).

WebSocket: {"op": "auth", "args": [api_key, expires, signature]} with signature = hex
HMAC-SHA256(secret, "GET/realtime" + expires) and expires (ms) in the future.

The keys themselves (secret, account, permissions) live in the shared key store
(`console.sim.protocol.keys`); no error text here contains a secret.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

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

DEFAULT_RECV_WINDOW = 5000
FUTURE_TOLERANCE_MS = 1000


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
    if not timestamp.isdigit() or not recv_window.isdigit():
        raise BybitError(TIMESTAMP_OUT_OF_WINDOW)
    ts, window = int(timestamp), int(recv_window)
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
    if not expires_text.isdigit():
        raise WsAuthError("Params Error")
    if int(expires_text) <= now_ms:
        raise WsAuthError("Params Error: auth expired")
    if not _same(sign, ws_signature(entry.secret, expires_text)):
        raise WsAuthError("error:USER_AUTH_FAILED, signature mismatch")
    return entry
