"""Keep the process's memory out of core dumps: it holds venue API secrets in the clear.

A crash that dumps core writes the whole address space to disk (or hands it to a dump
collector such as systemd-coredump or apport), secrets included, where any process of the
same user, a backup or a bug report can pick it up. `disable_core_dumps()` closes both
doors, best effort, with the standard library only; it is meant to run early in
`main()`, before any secret is read:

* RLIMIT_CORE 0, soft and hard: no core file, and a dump collector that honours the limit
  stores nothing; the hard limit stops a child (or a later call) from raising it again.
* On Linux, prctl(PR_SET_DUMPABLE, 0): the kernel then dumps nothing at all unless the
  administrator set fs.suid_dumpable (and then only root can read the core), and the
  process can no longer be ptrace-attached or have its /proc/<pid>/mem read by other
  processes of the same user.

`RECON_CONSOLE_ALLOW_CORE_DUMPS=1` leaves both alone, for debugging a crash on purpose.
What could not be done is logged at DEBUG: a platform without the call is not an error.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

log = logging.getLogger(__name__)

ALLOW_ENV: Final = "RECON_CONSOLE_ALLOW_CORE_DUMPS"
PR_GET_DUMPABLE: Final = 3
PR_SET_DUMPABLE: Final = 4


@dataclass(frozen=True, slots=True)
class CoreDumpGuard:
    """What `disable_core_dumps()` did: each step either took effect or was not possible
    here (and was logged at DEBUG); `allowed` means the environment asked to skip both."""

    allowed: bool
    core_limit_zero: bool
    not_dumpable: bool


def _zero_core_limit() -> bool:
    if sys.platform == "win32":
        log.debug("core dumps: no RLIMIT_CORE on Windows")
        return False
    import resource

    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError) as exc:
        log.debug("core dumps: could not set RLIMIT_CORE to 0: %s", exc)
        return False
    return True


def _clear_dumpable() -> bool:
    if not sys.platform.startswith("linux"):
        log.debug("core dumps: prctl(PR_SET_DUMPABLE) exists on Linux only")
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (OSError, AttributeError) as exc:
        log.debug("core dumps: prctl is not available: %s", exc)
        return False
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    if prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        log.debug("core dumps: prctl(PR_SET_DUMPABLE, 0) failed: %s",
                  os.strerror(ctypes.get_errno()))
        return False
    return True


def disable_core_dumps(environ: Mapping[str, str] | None = None) -> CoreDumpGuard:
    """Forbid core dumps of this process (see the module docstring), unless `environ`
    (default: os.environ) sets RECON_CONSOLE_ALLOW_CORE_DUMPS=1. Never raises."""
    env = os.environ if environ is None else environ
    if env.get(ALLOW_ENV, "").strip() == "1":
        log.debug("core dumps: allowed by %s=1", ALLOW_ENV)
        return CoreDumpGuard(allowed=True, core_limit_zero=False, not_dumpable=False)
    return CoreDumpGuard(allowed=False, core_limit_zero=_zero_core_limit(),
                         not_dumpable=_clear_dumpable())
