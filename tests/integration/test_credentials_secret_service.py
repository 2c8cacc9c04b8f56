"""A real Secret Service round trip: keyring's own backend choice, a real gnome-keyring.

Run inside a D-Bus session with an unlocked gnome-keyring:
    bash .ci/with-keyring.sh .venv/bin/python -m pytest tests/integration
Without a reachable Secret Service the test is skipped locally and fails under CI, where a
silent skip would hide a keyring the app cannot use.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import keyring
import keyring.backend
import keyring.core
import pytest
from canary import CANARY_KEY, CANARY_SECRET
from keyring.backends import SecretService

from console.credentials import ApiCredentials, CredentialStore, MissingCredentialsError

HOW = ("run the tests inside a D-Bus session with an unlocked gnome-keyring: "
       "bash .ci/with-keyring.sh .venv/bin/python -m pytest ...")


def _secret_service_problem() -> str:
    """Why the Secret Service is unusable here, or "" when it is reachable."""
    try:
        SecretService.Keyring.priority  # noqa: B018  (raises RuntimeError when unreachable)
    except RuntimeError as exc:
        return str(exc)
    return ""


@pytest.fixture
def default_keyring() -> Iterator[None]:
    """keyring's default detection (as at first use), restoring whatever tests set before."""
    problem = _secret_service_problem()
    if problem:
        message = f"no Secret Service reachable ({problem}); {HOW}"
        if os.environ.get("CI"):
            pytest.fail(f"Secret Service round trip cannot run under CI: {message}",
                        pytrace=False)
        pytest.skip(f"skipped locally only: {message}")
    previous = keyring.get_keyring()
    # keyring probes the backends once per process; an earlier test may have done so in a
    # patched environment, so probe again as a fresh process would.
    keyring.backend.get_all_keyring.reset()  # type: ignore[attr-defined]
    keyring.core.init_backend()
    try:
        yield
    finally:
        keyring.set_keyring(previous)


def test_round_trip_through_gnome_keyring(default_keyring: None) -> None:
    # A service name of its own: the test never reads or clobbers real entries.
    store = CredentialStore(f"recon-console-test-{uuid.uuid4().hex[:12]}")
    assert store.backend_name() == "keyring.backends.SecretService.Keyring"
    assert store.check() == "keyring.backends.SecretService.Keyring"
    profile = "bybit-testnet"
    creds = ApiCredentials(CANARY_KEY, CANARY_SECRET)
    try:
        assert not store.has(profile)
        store.set(profile, creds)
        assert store.has(profile)
        # A fresh store (as after a restart) reads the same entry back.
        assert CredentialStore(store.service).get(profile) == creds
        replaced = ApiCredentials(creds.api_key, creds.api_secret + "-rotated")
        store.set(profile, replaced)
        assert store.get(profile) == replaced
        # One Secret Service item per profile, holding key and secret together.
        assert keyring.get_password(store.service, profile) is not None
    finally:
        store.delete(profile)
    assert not store.has(profile)
    with pytest.raises(MissingCredentialsError, match="recon-console credentials set"):
        store.get(profile)
