"""API credentials in the OS keyring, and nowhere else.

Why so strict: an API key with trading rights is as good as the account's money. The
keyring library silently falls back to whatever backend it can find (a plaintext or
base64 file from keyrings.alt, or one that cannot store anything), so this store checks
which backend keyring chose and refuses the insecure ones unless the operator opts in
explicitly (`allow_insecure=True`, wired to `ALLOW_INSECURE_ENV`).

One keyring entry per profile (username = profile, password = a small JSON with the key
and the secret) so that a key and its secret are always written and replaced together.
No secret ever reaches an exception text, a repr or a log line.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import keyring
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.errors import (
    InitError,
    KeyringError,
    KeyringLocked,
    NoKeyringError,
    PasswordDeleteError,
    PasswordSetError,
)

from console.errors import UserFacingError

log = logging.getLogger(__name__)

DEFAULT_SERVICE = "recon-console"
ALLOW_INSECURE_ENV = "RECON_CONSOLE_ALLOW_INSECURE_KEYRING"
"""Set to 1 to store secrets in an insecure keyring backend anyway (explicit opt-in)."""

_FORMAT_VERSION = 1
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# Modules whose backends keep secrets in a file (plaintext, base64, or "encrypted" with a
# password typed at a prompt): readable by anything that reads the user's files.
_FILE_BACKEND_MODULES = ("keyrings.alt", "keyrings.cryptfile")
# Exceptions of the D-Bus stack under the Secret Service backend that keyring does not wrap.
_DBUS_MODULES = ("secretstorage", "jeepney", "dbus")

_T = TypeVar("_T")


class CredentialsError(UserFacingError):
    """Credentials could not be stored, found or read."""


class MissingCredentialsError(CredentialsError):
    """The keyring has no credentials for the profile."""


class NoSecureKeyringError(CredentialsError):
    """keyring picked a backend that is insecure or cannot store anything."""


class KeyringUnavailableError(CredentialsError):
    """The keyring backend is secure but not usable right now (locked, D-Bus down...)."""


def insecure_allowed_by_env(environ: dict[str, str] | None = None) -> bool:
    """Whether the operator opted in to insecure backends through `ALLOW_INSECURE_ENV`."""
    value = (os.environ if environ is None else environ).get(ALLOW_INSECURE_ENV, "")
    return value.strip().lower() in {"1", "true", "yes"}


def fix_command(profile: str, config: str | os.PathLike[str] | None = None) -> str:
    """The command that stores the profile's credentials. `config` is the profiles file
    in use when it is not the default one: `credentials set` reads the profile from it
    (the profile must exist), so without `--config PATH` the hint failed as given."""
    command = f"recon-console credentials set {shlex.quote(profile)}"
    if config is not None and str(config):
        command += f" --config {shlex.quote(os.fspath(config))}"
    return command


def _key_hint(api_key: str) -> str:
    shown = min(4, len(api_key) // 3)
    return f"{api_key[:shown]}…"


@dataclass(frozen=True, slots=True, repr=False)
class ApiCredentials:
    """A venue API key and its secret. The repr shows a short key prefix, never the secret."""

    api_key: str
    api_secret: str

    def __post_init__(self) -> None:
        # The messages name the field only: a mistyped secret is still a secret.
        for field_name in ("api_key", "api_secret"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value:
                raise CredentialsError(f"{field_name} must be a non-empty string")
            if value != value.strip():
                raise CredentialsError(
                    f"{field_name} starts or ends with whitespace (a copy-paste slip?)")
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
                raise CredentialsError(f"{field_name} contains control characters")

    @property
    def key_hint(self) -> str:
        """Enough of the key to tell two keys apart on screen, not enough to use it."""
        return _key_hint(self.api_key)

    def __repr__(self) -> str:
        return f"ApiCredentials(api_key={self.key_hint!r}, api_secret=<hidden>)"

    __str__ = __repr__


def backend_id(backend: KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _priority(backend: KeyringBackend) -> float | None:
    try:
        return float(type(backend).priority)
    except (RuntimeError, ImportError, AttributeError, NotImplementedError, KeyringError,
            OSError, TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What the store makes of the backend keyring chose."""

    chosen: KeyringBackend
    effective: KeyringBackend
    problem: str = ""
    unusable: bool = False  # nothing can be stored there, even with the opt-in


def _judge_single(backend: KeyringBackend) -> tuple[str, bool]:
    """(problem, unusable) for one non-chainer backend; an empty problem means secure."""
    module = type(backend).__module__
    if isinstance(backend, fail.Keyring):
        return "keyring found no usable backend and fell back to one that fails every call", True
    if isinstance(backend, null.Keyring):
        return "the null backend discards every secret", True
    if module.startswith(_FILE_BACKEND_MODULES):
        return ("it keeps secrets in a file on disk (plaintext, base64, or encrypted with a "
                "password typed at a prompt)"), False
    priority = _priority(backend)
    if priority is None:
        return "it is not viable in this environment", True
    if priority < 1:
        return f"keyring rates it as not recommended (priority {priority:g} < 1)", False
    return "", False


def _judge(backend: KeyringBackend) -> _Verdict:
    if not isinstance(backend, chainer.ChainerBackend):
        problem, unusable = _judge_single(backend)
        return _Verdict(backend, backend, problem, unusable)
    subs: list[KeyringBackend] = list(type(backend).backends)
    judged = [(sub, *_judge_single(sub)) for sub in subs]
    secure = [sub for sub, problem, _ in judged if not problem]
    if secure:
        # Talk to the best secure backend directly: through the chainer a read that misses
        # there would fall through to a file backend.
        return _Verdict(backend, secure[0])
    usable = [sub for sub, _, unusable in judged if not unusable]
    names = ", ".join(backend_id(sub) for sub in subs) or "none"
    problem = f"it chains only insecure or unusable backends ({names})"
    return _Verdict(backend, usable[0] if usable else backend, problem, not usable)


def _platform_help(platform: str, environ: dict[str, str] | os._Environ[str]) -> str:
    if platform.startswith("linux"):
        text = (
            "No Secret Service is reachable over D-Bus. Start gnome-keyring-daemon in a D-Bus "
            "session and unlock it (a desktop login does both; headless: dbus-run-session -- "
            "sh -c 'echo -n KEYRING_PASSWORD | gnome-keyring-daemon --unlock "
            "--components=secrets; recon-console ...'), or install and unlock KWallet.")
        if not environ.get("DBUS_SESSION_BUS_ADDRESS"):
            text += " DBUS_SESSION_BUS_ADDRESS is not set: this process has no D-Bus session."
        return text
    if platform == "darwin":
        return ("The macOS Keychain is not reachable: run from a logged-in user session and "
                "unlock the login keychain (security unlock-keychain).")
    if platform in {"win32", "cygwin"}:
        return ("Windows Credential Manager is not reachable: run as a logged-in user with a "
                "loaded profile (not a service account without one).")
    return ("No OS keyring is reachable (Secret Service on Linux, Keychain on macOS, "
            "Credential Manager on Windows).")


def _opt_in_help() -> str:
    return (f"To use an insecure backend anyway, opt in explicitly with {ALLOW_INSECURE_ENV}=1; "
            "to choose a backend yourself, set PYTHON_KEYRING_BACKEND "
            "(e.g. keyring.backends.SecretService.Keyring).")


class CredentialStore:
    """Per-profile API credentials in the OS keyring (see the module docstring)."""

    def __init__(self, service: str = DEFAULT_SERVICE, *, allow_insecure: bool = False,
                 platform: str = sys.platform,
                 config: str | os.PathLike[str] | None = None) -> None:
        """`config`: the profiles file in use when it is not the default one (`--config
        PATH`), named in the hints that say how to store missing credentials."""
        if not service or not service.strip():
            raise CredentialsError("the keyring service name must not be empty")
        self.service = service
        self.config = config
        self.allow_insecure = allow_insecure
        self._platform = platform

    # -- public API ----------------------------------------------------------------------

    def set(self, profile: str, creds: ApiCredentials) -> None:
        """Store (or replace) the profile's credentials in one keyring entry."""
        _check_profile(profile)
        if not isinstance(creds, ApiCredentials):
            raise CredentialsError("credentials must be ApiCredentials")
        payload = json.dumps({"v": _FORMAT_VERSION, "api_key": creds.api_key,
                              "api_secret": creds.api_secret}, separators=(",", ":"))
        backend = self._backend()
        self._call("store", profile, backend,
                   lambda: backend.set_password(self.service, profile, payload),
                   sensitive=(creds.api_key, creds.api_secret, payload))
        log.info("stored API credentials for profile %r in %s", profile, backend_id(backend))

    def get(self, profile: str) -> ApiCredentials:
        """The profile's credentials; `MissingCredentialsError` says how to store them."""
        _check_profile(profile)
        backend = self._backend()
        payload = self._call("read", profile, backend,
                             lambda: backend.get_password(self.service, profile))
        if payload is None:
            raise MissingCredentialsError(
                f"No API credentials for profile {profile!r} in the keyring "
                f"({backend_id(backend)}, service {self.service!r}). "
                f"Store them with: {fix_command(profile, self.config)}")
        return self._decode(profile, payload)

    def has(self, profile: str) -> bool:
        _check_profile(profile)
        backend = self._backend()
        return self._call("read", profile, backend,
                          lambda: backend.get_password(self.service, profile)) is not None

    def delete(self, profile: str) -> bool:
        """Remove the profile's entry; False when there was none."""
        _check_profile(profile)
        backend = self._backend()
        if self._call("read", profile, backend,
                      lambda: backend.get_password(self.service, profile)) is None:
            return False
        self._call("delete", profile, backend,
                   lambda: backend.delete_password(self.service, profile))
        log.info("deleted API credentials for profile %r from %s", profile, backend_id(backend))
        return True

    def backend_name(self) -> str:
        """The backend that would be used (module.Class), whether or not it is refused."""
        return backend_id(self._verdict().effective)

    def check(self) -> str:
        """Raise unless the backend is acceptable; return its name (for a status command)."""
        return backend_id(self._backend())

    # -- internals -----------------------------------------------------------------------

    def _verdict(self) -> _Verdict:
        try:
            chosen = keyring.get_keyring()
        except (RuntimeError, ImportError, AttributeError, KeyringError, OSError) as exc:
            raise KeyringUnavailableError(
                "keyring could not load its configured backend (PYTHON_KEYRING_BACKEND or "
                f"keyringrc.cfg): {type(exc).__name__}: {exc}. "
                + _platform_help(self._platform, os.environ)) from exc
        try:
            return _judge(chosen)
        except (RuntimeError, KeyringError, OSError) as exc:
            # Listing a chainer's backends probes each one; a broken D-Bus can surface here.
            raise KeyringUnavailableError(
                f"keyring could not probe its backends ({backend_id(chosen)}): "
                f"{type(exc).__name__}: {exc}. "
                + _platform_help(self._platform, os.environ)) from exc

    def _backend(self) -> KeyringBackend:
        verdict = self._verdict()
        if not verdict.problem:
            return verdict.effective
        name = backend_id(verdict.chosen)
        if verdict.unusable or not self.allow_insecure:
            tail = ("Opting in to insecure backends does not help: this one cannot store "
                    "anything." if verdict.unusable else _opt_in_help())
            raise NoSecureKeyringError(
                f"Refusing to keep API credentials in the keyring backend keyring chose, "
                f"{name}: {verdict.problem}. "
                f"{_platform_help(self._platform, os.environ)} {tail}")
        log.warning("using insecure keyring backend %s for API credentials (explicit opt-in)",
                    name)
        return verdict.effective

    def _decode(self, profile: str, payload: str) -> ApiCredentials:
        bad = CredentialsError(
            f"The keyring entry for profile {profile!r} (service {self.service!r}) is not in "
            f"the format recon-console writes. Replace it with: "
            f"{fix_command(profile, self.config)}")
        try:
            data = json.loads(payload)
        except ValueError:
            raise bad from None
        if not isinstance(data, dict) or data.get("v") != _FORMAT_VERSION:
            raise bad
        key, secret = data.get("api_key"), data.get("api_secret")
        if not isinstance(key, str) or not isinstance(secret, str):
            raise bad
        try:
            return ApiCredentials(key, secret)
        except CredentialsError:
            raise bad from None

    def _call(self, what: str, profile: str, backend: KeyringBackend,
              fn: Callable[[], _T], sensitive: Iterable[str] = ()) -> _T:
        """Run one keyring call, translating its failures into operator-facing errors."""
        name = backend_id(backend)
        secrets = tuple(s for s in sensitive if s)
        try:
            return fn()
        except NoKeyringError as exc:
            _raise(exc, secrets, NoSecureKeyringError(
                f"Cannot {what} API credentials for profile {profile!r}: {name} reports that "
                f"no keyring backend is available. {_platform_help(self._platform, os.environ)}"
            ))
        except KeyringLocked as exc:
            _raise(exc, secrets, KeyringUnavailableError(
                f"Cannot {what} API credentials for profile {profile!r}: the keyring "
                f"collection ({name}) is locked and was not unlocked (the unlock prompt was "
                "dismissed or cannot be shown). Unlock it, e.g. log in to the desktop or run "
                "gnome-keyring-daemon --unlock, then try again."))
        except InitError as exc:
            _raise(exc, secrets, KeyringUnavailableError(
                f"Cannot {what} API credentials for profile {profile!r}: {name} could not open "
                f"its default collection ({_scrub(str(exc), secrets)}). Make sure the Secret "
                "Service daemon (gnome-keyring-daemon or KWallet) is running, has a default "
                "collection and is unlocked."))
        except (PasswordSetError, PasswordDeleteError) as exc:
            _raise(exc, secrets, KeyringUnavailableError(
                f"Cannot {what} API credentials for profile {profile!r} in {name}: "
                f"{_scrub(str(exc), secrets) or type(exc).__name__}."))
        except KeyringError as exc:
            _raise(exc, secrets, KeyringUnavailableError(
                f"Cannot {what} API credentials for profile {profile!r} in {name}: "
                f"{type(exc).__name__}: {_scrub(str(exc), secrets)}. "
                f"{_platform_help(self._platform, os.environ)}"))
        except Exception as exc:
            if not isinstance(exc, OSError) and not type(exc).__module__.startswith(_DBUS_MODULES):
                raise
            _raise(exc, secrets, KeyringUnavailableError(
                f"Cannot {what} API credentials for profile {profile!r}: {name} cannot reach "
                f"the Secret Service over D-Bus ({type(exc).__name__}: "
                f"{_scrub(str(exc), secrets)}). "
                f"{_platform_help(self._platform, os.environ)}"))



def _raise(cause: BaseException, secrets: tuple[str, ...], error: CredentialsError) -> NoReturn:
    """Keep the backend's exception as the cause for debugging unless it quotes a secret."""
    text = f"{cause!s} {cause!r}"
    if any(s in text for s in secrets):
        raise error from None
    raise error from cause


def _scrub(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        text = text.replace(secret, "<hidden>")
    return text


def _check_profile(profile: str) -> None:
    if not isinstance(profile, str) or not _PROFILE_NAME.match(profile):
        raise CredentialsError(
            f"profile name {profile!r} is not valid: use 1-64 letters, digits, '.', '_' or "
            "'-', starting with a letter or digit")
