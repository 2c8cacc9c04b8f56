"""The listenKey lifecycle of the USD-M user-data stream, as Binance runs it.

``POST /fapi/v1/listenKey`` returns the account's live key if it has one (and extends it
60 minutes), else a new one; ``PUT`` extends a live key 60 minutes (a dead one is -1125,
told by `keepalive` returning False); ``DELETE`` closes it. A key not kept alive expires
60 minutes after its last extension: `sweep` (run periodically by the server) expires due
keys and calls the `on_expired` callbacks with (key, account), so the stream can push
``listenKeyExpired`` and close that key's connections. `on_closed` callbacks hear of
DELETEs. Keys are 64 letters and digits drawn from a seeded generator: the same seed and
calls give the same keys.
"""

from __future__ import annotations

import logging
import random
import string
from collections.abc import Callable
from typing import Final

log = logging.getLogger(__name__)

KEY_LENGTH: Final = 64
_ALPHABET: Final = string.ascii_letters + string.digits

Callback = Callable[[str, str], None]


class ListenKeys:
    """Keys by account and by key; runs on the server's loop."""

    def __init__(self, clock_ms: Callable[[], int], ttl_ms: int = 3_600_000, *,
                 seed: int = 7) -> None:
        if ttl_ms < 1:
            raise ValueError(f"listenKey ttl {ttl_ms} must be >= 1 ms")
        self.clock_ms = clock_ms
        self.ttl_ms = ttl_ms
        self._rng = random.Random(f"binance-listen-keys:{seed}")
        self._expiry: dict[str, int] = {}
        self._account: dict[str, str] = {}
        self._by_account: dict[str, str] = {}
        self._expired_callbacks: list[Callback] = []
        self._closed_callbacks: list[Callback] = []

    def _live(self, key: str) -> bool:
        expiry = self._expiry.get(key)
        return expiry is not None and self.clock_ms() < expiry

    def create(self, account: str) -> str:
        """The account's live key (extended), else a new one."""
        self.sweep()
        key = self._by_account.get(account)
        if key is None or not self._live(key):
            key = "".join(self._rng.choice(_ALPHABET) for _ in range(KEY_LENGTH))
            self._account[key] = account
            self._by_account[account] = key
        self._expiry[key] = self.clock_ms() + self.ttl_ms
        return key

    def live_key(self, account: str) -> str | None:
        key = self._by_account.get(account)
        return key if key is not None and self._live(key) else None

    def keepalive(self, key: str) -> bool:
        """Extend a live key; False for an unknown or expired one (Binance's -1125)."""
        if not self._live(key):
            if key in self._expiry:
                self._expire(key)
            return False
        self._expiry[key] = self.clock_ms() + self.ttl_ms
        return True

    def close(self, key: str) -> None:
        account = self._forget(key)
        if account is not None:
            for callback in list(self._closed_callbacks):
                self._call(callback, key, account)

    def account_of(self, key: str) -> str | None:
        return self._account.get(key) if self._live(key) else None

    def expire_now(self, key: str) -> None:
        if key in self._expiry:
            self._expire(key)

    def on_expired(self, callback: Callback) -> None:
        self._expired_callbacks.append(callback)

    def on_closed(self, callback: Callback) -> None:
        self._closed_callbacks.append(callback)

    def sweep(self) -> None:
        now = self.clock_ms()
        for key in [k for k, expiry in self._expiry.items() if expiry <= now]:
            self._expire(key)

    def _forget(self, key: str) -> str | None:
        self._expiry.pop(key, None)
        account = self._account.pop(key, None)
        if account is not None and self._by_account.get(account) == key:
            del self._by_account[account]
        return account

    def _expire(self, key: str) -> None:
        account = self._forget(key)
        if account is not None:
            for callback in list(self._expired_callbacks):
                self._call(callback, key, account)

    @staticmethod
    def _call(callback: Callback, key: str, account: str) -> None:
        try:
            callback(key, account)
        except Exception:  # a listener's bug must not stop the sweep or the request
            log.exception("listenKey callback failed for account %s", account)
