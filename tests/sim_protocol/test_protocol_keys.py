"""The API-key store: key -> secret, account, permissions."""

from __future__ import annotations

import pytest

from console.sim.protocol.keys import (
    ALL_PERMISSIONS,
    ApiKey,
    KeyStore,
    Permission,
    as_key_store,
)


def test_keys_map_to_their_secret_and_account_in_the_order_given() -> None:
    store = KeyStore.from_credentials({"k2": ("s2", "acct-b"), "k1": ("s1", "acct-a")})
    entry = store.get("k1")
    assert entry is not None and (entry.secret, entry.account) == ("s1", "acct-a")
    assert store.get("nope") is None
    assert store.primary is not None and store.primary.key == "k2"
    assert store.accounts == {"acct-a", "acct-b"}
    assert [k.key for k in store] == ["k2", "k1"] and len(store) == 2


def test_permissions_default_to_everything_and_can_be_narrowed() -> None:
    full = ApiKey("k", "s", "a")
    assert full.permissions == ALL_PERMISSIONS and full.allows(Permission.TRADE)
    store = KeyStore.from_credentials({"ro": ("s", "a")},
                                      permissions=frozenset({Permission.READ}))
    read_only = store.get("ro")
    assert read_only is not None
    assert read_only.allows(Permission.READ) and not read_only.allows(Permission.TRADE)


def test_secrets_stay_out_of_reprs() -> None:
    store = KeyStore([ApiKey("visible-key", "hidden-secret", "a")])
    assert "hidden-secret" not in repr(store.get("visible-key"))
    assert "visible-key" in repr(store.get("visible-key"))


@pytest.mark.parametrize("entry", [ApiKey("", "s", "a"), ApiKey("k", "", "a"),
                                   ApiKey("k", "s", "")])
def test_empty_parts_are_refused(entry: ApiKey) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        KeyStore([entry])


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        KeyStore([ApiKey("k", "s1", "a"), ApiKey("k", "s2", "b")])


def test_generated_keys_are_fresh_and_sized_like_bybit_keys() -> None:
    first, second = KeyStore.generate(["a", "b"]), KeyStore.generate(["a"])
    keys = list(first)
    assert [k.account for k in keys] == ["a", "b"]
    assert all(len(k.key) == 18 and len(k.secret) == 36 for k in keys)
    assert keys[0].key != keys[1].key and second.primary != first.primary


def test_an_empty_store_has_no_primary() -> None:
    assert KeyStore().primary is None and KeyStore().accounts == frozenset()


def test_as_key_store_keeps_a_store_and_builds_one_from_a_mapping() -> None:
    store = KeyStore([ApiKey("k", "s", "a")])
    assert as_key_store(store) is store
    built = as_key_store({"k": ("s", "a")})
    assert built.get("k") == ApiKey("k", "s", "a")
