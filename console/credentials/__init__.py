"""API credentials, kept in the OS keyring only: insecure keyring backends are refused
unless the operator opts in explicitly. See `console.credentials.store`."""

from console.credentials.store import (
    ALLOW_INSECURE_ENV,
    DEFAULT_SERVICE,
    ApiCredentials,
    CredentialsError,
    CredentialStore,
    KeyringUnavailableError,
    MissingCredentialsError,
    NoSecureKeyringError,
    insecure_allowed_by_env,
)

__all__ = [
    "ALLOW_INSECURE_ENV", "DEFAULT_SERVICE", "ApiCredentials", "CredentialStore",
    "CredentialsError", "KeyringUnavailableError", "MissingCredentialsError",
    "NoSecureKeyringError", "insecure_allowed_by_env",
]
