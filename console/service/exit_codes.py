"""Exit codes of `recon-console run --headless`, chosen so a supervisor can tell "restart
me" from "a human must fix something first" (sysexits(3) values; resources/README.md).

    0   clean stop on SIGTERM or SIGINT
    1   any other error (a bug, an unexpected failure): restart
    64  EX_USAGE: bad command line (missing --headless, unknown option)
    75  EX_TEMPFAIL: try again later: the venue was unreachable at start (the startup
        reconciliation failed), the keyring is locked or D-Bus is down, the ledger is
        unreachable
    77  EX_NOPERM: no credentials for the profile, or no secure keyring to keep them in
    78  EX_CONFIG: the profile is missing or wrong, the metrics port cannot be bound

The unit file (resources/recon-console.service) restarts on 1 and 75 and not on 64, 77 or
78: restarting cannot fix those. The other commands keep their codes (0, 1, 2).
"""

from __future__ import annotations

from enum import IntEnum

from console.credentials.store import CredentialsError, KeyringUnavailableError
from console.errors import ConfigError, LedgerError, TransientVenueError


class ServiceExit(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 64
    TEMPFAIL = 75
    NOPERM = 77
    CONFIG = 78


def exit_code_for(exc: BaseException) -> ServiceExit:
    """The exit code for an error that ended the daemon (see the table above)."""
    if isinstance(exc, KeyringUnavailableError | LedgerError | TransientVenueError):
        return ServiceExit.TEMPFAIL
    if isinstance(exc, CredentialsError):
        return ServiceExit.NOPERM
    if isinstance(exc, ConfigError):
        return ServiceExit.CONFIG
    return ServiceExit.ERROR
