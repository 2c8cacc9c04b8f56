"""Bybit v5 authentication, checked the way Bybit checks it.

REST: headers X-BAPI-API-KEY, X-BAPI-TIMESTAMP, X-BAPI-RECV-WINDOW (default 5000) and
X-BAPI-SIGN = hex HMAC-SHA256(secret, timestamp + api_key + recv_window + payload), where
payload is the query string exactly as it arrived (GET) or the raw body bytes (POST).
Nothing is re-serialised: a client that signs one string and sends another must fail
here as it fails on Bybit. Checks, in order: key known (10003), timestamp inside
[server - recv_window, server + 1000) (10002), signature (10004).

WebSocket: {"op": "auth", "args": [api_key, expires, signature]} with signature = hex
HMAC-SHA256(secret, "GET/realtime" + expires) and expires (ms) in the future.

Secrets never leave this module: `ApiKey.__repr__` hides them and no error text
contains one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field

from console.sim.bybit.codes import (
    INVALID_API_KEY,
    INVALID_SIGN,
    TIMESTAMP_OUT_OF_WINDOW,
    BybitError,
)

DEFAULT_RECV_WINDOW = 5000
FUTURE_TOLERANCE_MS = 1000


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str
    secret: str = field(repr=False)
    account: str


class KeyRing:
    """api_key -> (secret, sim account). Read-only once built."""

    def __init__(self, credentials: Mapping[str, tuple[str, str]]) -> None:
        keys: dict[str, ApiKey] = {}
        for key, (secret, account) in credentials.items():
            if not key or not secret or not account:
                raise ValueError("credentials need a non-empty api key, secret and account")
            keys[key] = ApiKey(key, secret, account)
        self._keys = keys

    def get(self, key: str) -> ApiKey | None:
        return self._keys.get(key)

    @property
    def accounts(self) -> frozenset[str]:
        return frozenset(k.account for k in self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)


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


def verify_rest(headers: Mapping[str, str], payload: bytes, *, keys: KeyRing,
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


class WsAuthError(Exception):
    """A refused WebSocket auth; the text is Bybit's `ret_msg`."""


def verify_ws(args: object, *, keys: KeyRing, now_ms: int) -> ApiKey:
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
