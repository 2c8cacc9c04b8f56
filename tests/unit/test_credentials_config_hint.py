"""The missing-credentials hint names the profiles file in use when it is not the default
one: `credentials set NAME` reads the profile from that file, so a hint without
`--config PATH` failed when followed as given."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend

from console.bootstrap import build_profile_session
from console.credentials import CredentialStore, MissingCredentialsError
from console.credentials.store import fix_command
from console.profiles import parse_profile, save_profile
from console.venues.registry import VENUES


class EmptyKeyring(KeyringBackend):
    """A secure-looking backend (priority 5) that holds nothing."""

    priority = 5  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise AssertionError("nothing is stored here")

    def delete_password(self, service: str, username: str) -> None:
        raise AssertionError("nothing is deleted here")


@pytest.fixture
def empty_keyring() -> Iterator[None]:
    before = keyring.get_keyring()
    keyring.set_keyring(EmptyKeyring())
    try:
        yield
    finally:
        keyring.set_keyring(before)


def test_the_hint_carries_the_profiles_file_quoted() -> None:
    assert fix_command("main") == "recon-console credentials set main"
    assert fix_command("main", "/tmp/my profiles.toml") == (
        "recon-console credentials set main --config '/tmp/my profiles.toml'")


def test_a_store_told_the_file_names_it(empty_keyring: None, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    with pytest.raises(MissingCredentialsError) as info:
        CredentialStore("recon-console-test", config=str(config)).get("main")
    assert f"recon-console credentials set main --config {config}" in str(info.value)
    with pytest.raises(MissingCredentialsError) as default:
        CredentialStore("recon-console-test").get("main")
    assert "--config" not in str(default.value)


def test_a_profile_session_from_another_file_names_it(empty_keyring: None,
                                                      tmp_path: Path) -> None:
    config = tmp_path / "elsewhere.toml"
    profile = parse_profile("x", {"venue": "bybit", "network": "testnet",
                                  "db_url": f"sqlite:///{tmp_path / 'ledger.db'}"},
                            venues=VENUES)
    save_profile(profile, config, venues=VENUES)
    with pytest.raises(MissingCredentialsError) as info:
        build_profile_session("x", config_path=str(config))
    assert f"recon-console credentials set x --config {config}" in str(info.value)
