"""Deribit authentication: ``public/auth`` tokens and per-request signatures.

``public/auth`` grants an access token (and a refresh token) for three grant types:

* ``client_credentials``: ``client_id`` and ``client_secret`` in the clear;
* ``client_signature``: ``client_id``, ``timestamp`` (ms), ``nonce``, ``data`` (may be
  empty) and ``signature`` = hex HMAC-SHA256(secret, "timestamp\\nnonce\\ndata");
* ``refresh_token``: a refresh token handed out before (it is then spent).

The answer is ``access_token, expires_in (s), refresh_token, scope, token_type="bearer",
sid``. Tokens expire after `TokenStore.ttl_ms` (Deribit: 900 s; configurable so a test
can see one expire). Over HTTP a private method takes ``Authorization: Bearer <token>``,
or a per-request signature ``Authorization: deri-hmac-sha256 id=..,ts=..,sig=..,
nonce=..`` (fields in any order: ccxt sends id,ts,sig,nonce, typed-deribit id,ts,nonce,
sig) with sig = HMAC-SHA256(secret, "ts\\nnonce\\nMETHOD\\nURI\\nBODY\\n") where URI is
the path with its query exactly as sent, or HTTP Basic ``client_id:client_secret``.

Refusals: 13004 invalid_credentials (unknown id, wrong secret or signature, stale
timestamp), 13009 unauthorized (no or expired token), 13010 value_required (a grant
without its fields), 13021 forbidden (a read-only key on a trading method). Signature
timestamps older or newer than `MAX_SKEW_MS` are refused (the window is UNVERIFIED).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from console.sim.deribit import envelope
from console.sim.deribit.codes import (
    FORBIDDEN,
    INVALID_CREDENTIALS,
    UNAUTHORIZED,
    VALUE_REQUIRED,
    DeribitError,
    invalid_param,
)
from console.sim.protocol.errors import ProtocolError
from console.sim.protocol.keys import ApiKey, KeyStore, Permission
from console.sim.protocol.pipeline import Call
from console.sim.protocol.wire import Params

DEFAULT_TOKEN_TTL_MS: Final = 900_000
MAX_SKEW_MS: Final = 60_000
HMAC_SCHEME: Final = "deri-hmac-sha256"
GRANTS: Final = ("client_credentials", "client_signature", "refresh_token")


def sign(secret: str, message: str) -> str:
    """Hex HMAC-SHA256 of `message` under `secret` (both of Deribit's signatures)."""
    return hmac.new(secret.encode("utf-8"), message.encode("utf-8"),
                    hashlib.sha256).hexdigest()


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.lower().encode("utf-8", "replace"),
                               expected.encode("ascii"))


def scope_of(key: ApiKey) -> str:
    """The scope a key's token carries (trading keys: read_write everywhere)."""
    access = "read_write" if key.allows(Permission.TRADE) else "read"
    return f"connection mainaccount account:{access} trade:{access} wallet:{access}"


@dataclass(frozen=True, slots=True)
class Token:
    key: ApiKey
    expires_ms: int


class TokenStore:
    """Access and refresh tokens granted by ``public/auth``."""

    def __init__(self, keys: KeyStore, clock: Callable[[], int], *,
                 ttl_ms: int = DEFAULT_TOKEN_TTL_MS) -> None:
        if ttl_ms < 1:
            raise ValueError("token ttl must be >= 1 ms")
        self.keys = keys
        self.clock = clock
        self.ttl_ms = ttl_ms
        self._access: dict[str, Token] = {}
        self._refresh: dict[str, ApiKey] = {}

    def _key(self, client_id: str) -> ApiKey:
        key = self.keys.get(client_id)
        if key is None:
            raise DeribitError(INVALID_CREDENTIALS)
        return key

    def grant(self, params: Params, now_ms: int) -> tuple[ApiKey, dict[str, Any]]:
        """Check a ``public/auth`` request; the key and Deribit's answer."""
        grant_type = params.get("grant_type")
        if grant_type in (None, ""):
            raise DeribitError(VALUE_REQUIRED, data={"param": "grant_type"})
        if grant_type not in GRANTS:
            raise invalid_param("grant_type", "invalid value")
        key = self._check(str(grant_type), params, now_ms)
        return key, self.issue(key, now_ms)

    def _check(self, grant_type: str, params: Params, now_ms: int) -> ApiKey:
        def need(name: str) -> str:
            value = params.get(name)
            if value in (None, ""):
                raise DeribitError(VALUE_REQUIRED, data={"param": name})
            return str(value)

        if grant_type == "refresh_token":
            key = self._refresh.pop(need("refresh_token"), None)
            if key is None:
                raise DeribitError(INVALID_CREDENTIALS)
            return key
        key = self._key(need("client_id"))
        if grant_type == "client_credentials":
            if not hmac.compare_digest(need("client_secret").encode("utf-8"),
                                       key.secret.encode("utf-8")):
                raise DeribitError(INVALID_CREDENTIALS)
            return key
        timestamp, signature, nonce = need("timestamp"), need("signature"), need("nonce")
        data = str(params.get("data") or "")
        if not timestamp.isdigit() or abs(now_ms - int(timestamp)) > MAX_SKEW_MS:
            raise DeribitError(INVALID_CREDENTIALS, data={"reason": "stale timestamp"})
        if not _same(signature, sign(key.secret, f"{timestamp}\n{nonce}\n{data}")):
            raise DeribitError(INVALID_CREDENTIALS)
        return key

    def issue(self, key: ApiKey, now_ms: int) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self._access[access] = Token(key, now_ms + self.ttl_ms)
        self._refresh[refresh] = key
        self._sweep(now_ms)
        return {"access_token": access, "expires_in": self.ttl_ms // 1000 or 1,
                "refresh_token": refresh, "scope": scope_of(key), "token_type": "bearer",
                "sid": f"sim.{secrets.token_hex(4)}", "enabled_features": []}

    def bearer(self, token: str, now_ms: int) -> ApiKey:
        """The key of a live access token; 13009 for an unknown or expired one."""
        found = self._access.get(token)
        if found is None or found.expires_ms <= now_ms:
            raise DeribitError(UNAUTHORIZED)
        return found.key

    def revoke_all(self, key: ApiKey) -> None:
        """``private/logout`` with invalidate_token: forget the key's tokens."""
        for name in [t for t, v in self._access.items() if v.key == key]:
            del self._access[name]

    def _sweep(self, now_ms: int) -> None:
        for name in [t for t, v in self._access.items() if v.expires_ms <= now_ms]:
            del self._access[name]


def parse_hmac_header(value: str) -> dict[str, str]:
    """The ``k=v`` fields of a deri-hmac-sha256 header, in any order."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        name, sep, item = part.strip().partition("=")
        if sep:
            fields[name.strip()] = item.strip()
    return fields


class DeribitAuth:
    """The HTTP pipeline's auth hook (private methods)."""

    def __init__(self, keys: KeyStore, tokens: TokenStore) -> None:
        self.keys = keys
        self.tokens = tokens

    async def authenticate(self, call: Call) -> ApiKey:
        body = await call.body()
        _note_rpc_id(call, body)
        header = call.request.headers.get("Authorization", "").strip()
        scheme, _sep, rest = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and rest.strip():
            return self.tokens.bearer(rest.strip(), call.now_ms)
        if scheme == HMAC_SCHEME:
            return self._hmac(call, rest, body)
        if scheme == "basic":
            return self._basic(rest.strip())
        raise DeribitError(UNAUTHORIZED)

    def _hmac(self, call: Call, rest: str, body: bytes) -> ApiKey:
        fields = parse_hmac_header(rest)
        missing = [name for name in ("id", "ts", "sig", "nonce") if not fields.get(name)]
        if missing:
            raise DeribitError(UNAUTHORIZED, data={"reason": f"missing {missing[0]}"})
        key = self.keys.get(fields["id"])
        if key is None:
            raise DeribitError(INVALID_CREDENTIALS)
        ts = fields["ts"]
        if not ts.isdigit() or abs(call.now_ms - int(ts)) > MAX_SKEW_MS:
            raise DeribitError(INVALID_CREDENTIALS, data={"reason": "stale timestamp"})
        request_data = (f"{call.request.method.upper()}\n{call.request.raw_path}\n"
                        f"{body.decode('utf-8', 'replace')}\n")
        expected = sign(key.secret, f"{ts}\n{fields['nonce']}\n{request_data}")
        if not _same(fields["sig"], expected):
            raise DeribitError(INVALID_CREDENTIALS)
        return key

    def _basic(self, encoded: str) -> ApiKey:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise DeribitError(UNAUTHORIZED) from None
        client_id, _sep, secret = decoded.partition(":")
        key = self.keys.get(client_id)
        if key is None or not hmac.compare_digest(secret.encode("utf-8"),
                                                  key.secret.encode("utf-8")):
            raise DeribitError(INVALID_CREDENTIALS)
        return key

    def forbidden(self, call: Call, key: ApiKey) -> ProtocolError:
        return DeribitError(FORBIDDEN)


def _note_rpc_id(call: Call, body: bytes) -> None:
    """Remember a JSON-RPC body's id early, so that an auth refusal echoes it too."""
    if not body.strip():
        return
    try:
        parsed = envelope.parse_json(body)
    except DeribitError:
        return
    if isinstance(parsed, dict):
        call.request[envelope.RPC_ID_KEY] = parsed.get("id")
