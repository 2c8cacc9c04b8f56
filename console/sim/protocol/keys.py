"""The API keys a front-end accepts: key -> secret, sim account and permissions.

Venues sign differently (Bybit and Binance HMAC a payload, Deribit also signs a nonce) but
all of them look the key up first, map it to one account and check what the key may do;
that part is here. Secrets never leave a key: `ApiKey.__repr__` hides them and no error
text contains one.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

KEY_BYTES: Final = 9      # 18 hex characters, like a Bybit API key
SECRET_BYTES: Final = 18  # 36 hex characters


class Permission(StrEnum):
    """What a key may do: read the account, or also trade (place, amend, cancel)."""

    READ = "read"
    TRADE = "trade"


ALL_PERMISSIONS: Final = frozenset(Permission)


@dataclass(frozen=True, slots=True)
class ApiKey:
    key: str
    secret: str = field(repr=False)
    account: str
    permissions: frozenset[Permission] = ALL_PERMISSIONS

    def allows(self, permission: Permission) -> bool:
        return permission in self.permissions


class KeyStore:
    """The accepted keys, in the order given (the first is the one a `describe()` shows).
    Read-only once built: a front-end subscribes to the accounts its keys name."""

    def __init__(self, keys: Iterable[ApiKey] = ()) -> None:
        entries: dict[str, ApiKey] = {}
        for entry in keys:
            if not entry.key or not entry.secret or not entry.account:
                raise ValueError("credentials need a non-empty api key, secret and account")
            if entry.key in entries:
                raise ValueError("an api key is given twice")
            entries[entry.key] = entry
        self._keys = entries

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, tuple[str, str]], *,
                         permissions: frozenset[Permission] = ALL_PERMISSIONS) -> KeyStore:
        """From ``{api_key: (api_secret, account)}``, every key with `permissions`."""
        return cls(ApiKey(key, secret, account, permissions)
                   for key, (secret, account) in credentials.items())

    @classmethod
    def generate(cls, accounts: Iterable[str]) -> KeyStore:
        """A fresh random key with every permission for each account."""
        return cls(ApiKey(secrets.token_hex(KEY_BYTES), secrets.token_hex(SECRET_BYTES),
                          account) for account in accounts)

    def get(self, key: str) -> ApiKey | None:
        return self._keys.get(key)

    @property
    def primary(self) -> ApiKey | None:
        """The first key given (None when there is none)."""
        return next(iter(self._keys.values()), None)

    @property
    def accounts(self) -> frozenset[str]:
        return frozenset(k.account for k in self._keys.values())

    def __iter__(self) -> Iterator[ApiKey]:
        return iter(self._keys.values())

    def __len__(self) -> int:
        return len(self._keys)


def as_key_store(keys: KeyStore | Mapping[str, tuple[str, str]]) -> KeyStore:
    """A `KeyStore` as given, or one built from ``{api_key: (api_secret, account)}``."""
    return keys if isinstance(keys, KeyStore) else KeyStore.from_credentials(keys)
