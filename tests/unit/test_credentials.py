"""CredentialStore against in-memory keyring backends: round trips, refusals, error texts.

The backends here set `viable = False` so keyring's own detection never picks them up in
other tests of the same process (keyring registers every subclass it sees).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import InitError, KeyringLocked, PasswordDeleteError, PasswordSetError

from console.credentials import (
    ALLOW_INSECURE_ENV,
    ApiCredentials,
    CredentialsError,
    CredentialStore,
    KeyringUnavailableError,
    MissingCredentialsError,
    NoSecureKeyringError,
    insecure_allowed_by_env,
)
from console.errors import UserFacingError

KEY = "AKIAKEY1234567890"
SECRET = "s3cr3t-VALUE-never-shown-0123456789"
CREDS = ApiCredentials(KEY, SECRET)


class MemoryKeyring(KeyringBackend):
    """A secure-looking backend (priority 5) that keeps entries in a dict."""

    priority = 5  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if (service, username) not in self.entries:
            raise PasswordDeleteError("no such password")
        del self.entries[(service, username)]


class PlaintextKeyring(MemoryKeyring):
    """Poses as keyrings.alt's plaintext file backend."""

    priority = 0.5  # type: ignore[assignment]


PlaintextKeyring.__module__ = "keyrings.alt.file"


class LowPriorityKeyring(MemoryKeyring):
    priority = 0.2  # type: ignore[assignment]


class FailingKeyring(MemoryKeyring):
    """Raises `error` on every call. A write echoes the password it was given into the
    message, the worst a careless backend could do, to prove the store scrubs it."""

    error: Exception = KeyringLocked("Failed to unlock the collection!")

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error

    def set_password(self, service: str, username: str, password: str) -> None:
        raise type(self.error)(f"{self.error} (while storing {password})")

    def delete_password(self, service: str, username: str) -> None:
        raise self.error


@pytest.fixture(autouse=True)
def restore_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    previous = keyring.get_keyring()  # before patching the environment it may probe
    monkeypatch.delenv(ALLOW_INSECURE_ENV, raising=False)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent")
    yield
    keyring.set_keyring(previous)


@pytest.fixture
def memory() -> MemoryKeyring:
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    return backend


def store(*, allow_insecure: bool = False) -> CredentialStore:
    return CredentialStore("recon-console-test", platform="linux", allow_insecure=allow_insecure)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert KEY not in text


def exc_texts(exc: BaseException) -> list[str]:
    """The exception's own text and every chained one's."""
    texts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen)]
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return texts


# -- ApiCredentials -------------------------------------------------------------------------


def test_repr_and_str_hide_secret_and_most_of_key() -> None:
    for text in (repr(CREDS), str(CREDS), f"{CREDS}", f"{CREDS!r}", str([CREDS])):
        assert_no_secret(text)
        assert "AKIA…" in text
    assert CREDS.key_hint == "AKIA…"
    assert ApiCredentials("abc", "x").key_hint == "a…"


@pytest.mark.parametrize(("key", "secret", "field"), [
    ("", SECRET, "api_key"), (KEY, "", "api_secret"),
    (KEY, f" {SECRET}", "api_secret"), (KEY, f"{SECRET}\n", "api_secret"),
    (KEY, f"ab\x00{SECRET}", "api_secret"),
])
def test_invalid_credentials_name_the_field_not_the_value(key: str, secret: str,
                                                          field: str) -> None:
    with pytest.raises(CredentialsError, match=field) as info:
        ApiCredentials(key, secret)
    assert_no_secret(*exc_texts(info.value))


def test_credentials_are_frozen() -> None:
    with pytest.raises(AttributeError):
        CREDS.api_secret = "other"  # type: ignore[misc]


# -- round trips ------------------------------------------------------------------------------


def test_round_trip_one_entry_per_profile(memory: MemoryKeyring) -> None:
    s = store()
    assert not s.has("bybit-test")
    s.set("bybit-test", CREDS)
    assert s.has("bybit-test")
    assert s.get("bybit-test") == CREDS
    assert list(memory.entries) == [("recon-console-test", "bybit-test")]
    other = ApiCredentials("KEY2KEY2KEY2", "secret-2")
    s.set("bybit-test", other)  # replaces key and secret together
    assert s.get("bybit-test") == other
    assert len(memory.entries) == 1
    assert s.delete("bybit-test") is True
    assert s.delete("bybit-test") is False
    assert not s.has("bybit-test")


def test_backend_name(memory: MemoryKeyring) -> None:
    assert store().backend_name() == f"{__name__}.MemoryKeyring"
    assert store().check() == f"{__name__}.MemoryKeyring"


def test_missing_profile_names_profile_and_fix(memory: MemoryKeyring) -> None:
    with pytest.raises(MissingCredentialsError) as info:
        store().get("deribit-main")
    text = str(info.value)
    assert "'deribit-main'" in text
    assert "recon-console credentials set deribit-main" in text
    assert isinstance(info.value, UserFacingError)


def test_foreign_entry_is_reported_without_its_content(memory: MemoryKeyring) -> None:
    memory.entries[("recon-console-test", "p")] = SECRET
    with pytest.raises(CredentialsError, match="not in the format") as info:
        store().get("p")
    assert_no_secret(*exc_texts(info.value))
    memory.entries[("recon-console-test", "p")] = '{"v": 1, "api_key": "k", "api_secret": ""}'
    with pytest.raises(CredentialsError, match="recon-console credentials set p"):
        store().get("p")


@pytest.mark.parametrize("name", ["", "a b", "../x", "-x", "x" * 65, "é"])
def test_bad_profile_names(memory: MemoryKeyring, name: str) -> None:
    with pytest.raises(CredentialsError, match="profile name"):
        store().set(name, CREDS)


# -- insecure backends ------------------------------------------------------------------------


def test_fail_backend_is_refused_even_with_opt_in() -> None:
    keyring.set_keyring(fail.Keyring())
    for allow in (False, True):
        with pytest.raises(NoSecureKeyringError) as info:
            store(allow_insecure=allow).set("p", CREDS)
        text = str(info.value)
        assert "keyring.backends.fail.Keyring" in text
        assert "Secret Service" in text
        assert "gnome-keyring-daemon" in text and "KWallet" in text
        assert "DBUS_SESSION_BUS_ADDRESS" not in text  # it is set by the fixture
        assert_no_secret(*exc_texts(info.value))


def test_null_backend_is_refused() -> None:
    keyring.set_keyring(null.Keyring())
    with pytest.raises(NoSecureKeyringError, match="null"):
        store(allow_insecure=True).get("p")


def test_plaintext_backend_is_refused_with_opt_in_hint() -> None:
    keyring.set_keyring(PlaintextKeyring())
    with pytest.raises(NoSecureKeyringError) as info:
        store().set("p", CREDS)
    text = str(info.value)
    assert "keyrings.alt.file.PlaintextKeyring" in text
    assert "file on disk" in text
    assert f"{ALLOW_INSECURE_ENV}=1" in text
    assert "PYTHON_KEYRING_BACKEND" in text


def test_low_priority_backend_is_refused() -> None:
    keyring.set_keyring(LowPriorityKeyring())
    with pytest.raises(NoSecureKeyringError, match="not recommended"):
        store().has("p")


def test_opt_in_allows_insecure_backend(caplog: pytest.LogCaptureFixture) -> None:
    backend = PlaintextKeyring()
    keyring.set_keyring(backend)
    s = store(allow_insecure=True)
    with caplog.at_level(logging.DEBUG):
        s.set("p", CREDS)
    assert s.get("p") == CREDS
    assert "insecure keyring backend" in caplog.text
    assert s.backend_name() == "keyrings.alt.file.PlaintextKeyring"


def test_opt_in_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not insecure_allowed_by_env()
    monkeypatch.setenv(ALLOW_INSECURE_ENV, "1")
    assert insecure_allowed_by_env()
    assert not insecure_allowed_by_env({ALLOW_INSECURE_ENV: "0"})


def test_missing_dbus_session_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS")
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(NoSecureKeyringError, match="DBUS_SESSION_BUS_ADDRESS is not set"):
        store().get("p")


@pytest.mark.parametrize(("platform", "needle"), [
    ("darwin", "Keychain"), ("win32", "Credential Manager"), ("freebsd13", "Secret Service")])
def test_platform_specific_help(platform: str, needle: str) -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(NoSecureKeyringError, match=needle):
        CredentialStore("svc", platform=platform).get("p")


class _Chainer(chainer.ChainerBackend):
    viable = False  # type: ignore[assignment]
    backends: list[KeyringBackend] = []  # type: ignore[assignment]  # noqa: RUF012


def _chain(monkeypatch: pytest.MonkeyPatch, *subs: KeyringBackend) -> None:
    monkeypatch.setattr(_Chainer, "backends", list(subs))
    keyring.set_keyring(_Chainer())


def test_chainer_of_only_insecure_backends_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _chain(monkeypatch, PlaintextKeyring(), LowPriorityKeyring())
    with pytest.raises(NoSecureKeyringError, match="chains only insecure") as info:
        store().set("p", CREDS)
    assert "keyrings.alt.file.PlaintextKeyring" in str(info.value)


def test_chainer_uses_its_secure_backend_only(monkeypatch: pytest.MonkeyPatch) -> None:
    secure, plain = MemoryKeyring(), PlaintextKeyring()
    plain.entries[("recon-console-test", "p")] = '{"v":1,"api_key":"K1234","api_secret":"x"}'
    _chain(monkeypatch, secure, plain)
    s = store()
    assert s.backend_name() == f"{__name__}.MemoryKeyring"
    assert not s.has("p")  # never falls through to the file backend
    s.set("p", CREDS)
    assert s.get("p") == CREDS
    assert ("recon-console-test", "p") in secure.entries
    assert SECRET not in plain.entries[("recon-console-test", "p")]


# -- keyring errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(("error", "cls", "needle"), [
    (KeyringLocked("Failed to unlock the collection!"), KeyringUnavailableError, "locked"),
    (InitError("Failed to create the collection: no default."), KeyringUnavailableError,
     "default collection"),
    (PasswordSetError(f"cannot store {SECRET}"), KeyringUnavailableError, "Cannot store"),
    (ConnectionRefusedError(111, "Connection refused"), KeyringUnavailableError, "D-Bus"),
    (keyring.errors.NoKeyringError("no backend"), NoSecureKeyringError, "no keyring backend"),
])
def test_keyring_errors_become_user_facing(error: Exception, cls: type[Exception],
                                           needle: str, caplog: pytest.LogCaptureFixture) -> None:
    backend = FailingKeyring()
    backend.error = error
    keyring.set_keyring(backend)
    with caplog.at_level(logging.DEBUG), pytest.raises(cls, match=needle) as info:
        store().set("p", CREDS)
    assert "'p'" in str(info.value)
    assert_no_secret(*exc_texts(info.value), caplog.text)


def test_dbus_library_errors_are_translated() -> None:
    DBusErr = type("DBusErrorResponse", (Exception,), {"__module__": "jeepney.wrappers"})
    backend = FailingKeyring()
    backend.error = DBusErr("org.freedesktop.DBus.Error.ServiceUnknown")
    keyring.set_keyring(backend)
    with pytest.raises(KeyringUnavailableError, match="cannot reach the Secret Service"):
        store().get("p")


def test_unrelated_bugs_are_not_disguised() -> None:
    backend = FailingKeyring()
    backend.error = ZeroDivisionError("bug")
    keyring.set_keyring(backend)
    with pytest.raises(ZeroDivisionError):
        store().get("p")


def test_secret_never_appears_in_errors_or_logs(caplog: pytest.LogCaptureFixture,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """Every error path, with the secret in hand, leaves no trace of it."""
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)

    def attempt(s: CredentialStore) -> None:
        for call in (lambda: s.set("p", CREDS), lambda: s.get("p"), lambda: s.has("p"),
                     lambda: s.delete("p")):
            try:
                call()
            except UserFacingError as exc:
                texts.extend(exc_texts(exc))

    for backend in (fail.Keyring(), null.Keyring(), PlaintextKeyring(), LowPriorityKeyring()):
        keyring.set_keyring(backend)
        attempt(store())
    for error in (KeyringLocked("locked"), InitError("init"), PasswordSetError("set"),
                  PasswordDeleteError("delete"), OSError("socket"),
                  keyring.errors.NoKeyringError("none"), keyring.errors.KeyringError("other")):
        failing = FailingKeyring()
        failing.error = error
        keyring.set_keyring(failing)
        attempt(store())
    memory = MemoryKeyring()
    memory.entries[("recon-console-test", "p")] = f'{{"v":1,"api_key":"{KEY}","api_secret":7}}'
    keyring.set_keyring(memory)
    attempt(store())
    memory.entries[("recon-console-test", "p")] = f'{{"v":1,"api_key":"{KEY}",'
    attempt(store())
    plain = PlaintextKeyring()
    keyring.set_keyring(plain)
    attempt(store(allow_insecure=True))  # success paths log too
    assert len(texts) > 20
    assert_no_secret(*texts, caplog.text, *(r.getMessage() for r in caplog.records))
