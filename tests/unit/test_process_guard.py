"""Core dumps are off for the process (RLIMIT_CORE 0 soft and hard, not dumpable on Linux)
unless RECON_CONSOLE_ALLOW_CORE_DUMPS=1; each run in a child process of its own, since the
call cannot be undone in the process that makes it."""

from __future__ import annotations

import ctypes
import json
import logging
import os
import resource
import subprocess
import sys
from typing import Any

import pytest

from console import process_guard
from console.process_guard import ALLOW_ENV, CoreDumpGuard, disable_core_dumps

LINUX = sys.platform.startswith("linux")

# The child first raises its soft limit as far as the hard one allows, so that a limit
# left alone is visible as such, then calls the guard and reports what the kernel says.
CHILD = """
import ctypes, json, resource
from console.process_guard import PR_GET_DUMPABLE, disable_core_dumps
_, hard = resource.getrlimit(resource.RLIMIT_CORE)
resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
before = resource.getrlimit(resource.RLIMIT_CORE)
guard = disable_core_dumps()
libc = ctypes.CDLL(None, use_errno=True)
with open("/proc/self/status") as f:
    status = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
print(json.dumps({"before": before, "after": resource.getrlimit(resource.RLIMIT_CORE),
                  "dumpable": libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0),
                  "core_dumping": status.get("CoreDumping", "").strip(),
                  "guard": [guard.allowed, guard.core_limit_zero, guard.not_dumpable]}))
"""


def run_child(**env: str) -> dict[str, Any]:
    environ = {k: v for k, v in os.environ.items() if k != ALLOW_ENV} | env
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                          env=environ, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.skipif(not LINUX, reason="prctl and /proc/self/status are Linux's")
@pytest.mark.parametrize("env", [{}, {ALLOW_ENV: "0"}, {ALLOW_ENV: ""}, {ALLOW_ENV: "yes"}])
def test_core_dumps_are_disabled_for_the_process(env: dict[str, str]) -> None:
    seen = run_child(**env)
    assert seen["after"] == [0, 0]
    assert seen["dumpable"] == 0
    assert seen["core_dumping"] == "0"
    assert seen["guard"] == [False, True, True]


@pytest.mark.skipif(not LINUX, reason="prctl and /proc/self/status are Linux's")
def test_the_environment_can_allow_core_dumps() -> None:
    seen = run_child(**{ALLOW_ENV: "1"})
    assert seen["after"] == seen["before"]
    assert seen["dumpable"] == 1
    assert seen["guard"] == [True, False, False]


CAP_SYS_RESOURCE = 24


def has_cap_sys_resource() -> bool:
    with open("/proc/self/status") as f:
        [effective] = [line.split()[1] for line in f if line.startswith("CapEff:")]
    return bool(int(effective, 16) >> CAP_SYS_RESOURCE & 1)


@pytest.mark.skipif(not LINUX, reason="capabilities are read from /proc/self/status")
def test_a_lowered_hard_limit_cannot_be_raised_again() -> None:
    """Only CAP_SYS_RESOURCE may raise a hard limit (root in a container usually lacks it)."""
    child = ("import resource\nfrom console.process_guard import disable_core_dumps\n"
             "disable_core_dumps()\n"
             "try:\n    resource.setrlimit(resource.RLIMIT_CORE, (1024, 1024))\n"
             "except ValueError:\n    print('refused')\nelse:\n    print('raised')\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != ALLOW_ENV},
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ("raised" if has_cap_sys_resource() else "refused")


def test_steps_that_are_unavailable_are_logged_at_debug_not_raised(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def refuse_limit(*_args: object) -> None:
        raise ValueError("not allowed here")

    def no_libc(*_args: object, **_kwargs: object) -> None:
        raise OSError("no libc")

    monkeypatch.setattr(resource, "setrlimit", refuse_limit)
    monkeypatch.setattr(ctypes, "CDLL", no_libc)
    with caplog.at_level(logging.DEBUG, logger=process_guard.__name__):
        guard = disable_core_dumps({})
    assert guard == CoreDumpGuard(allowed=False, core_limit_zero=False, not_dumpable=False)
    messages = [r.getMessage() for r in caplog.records if r.name == process_guard.__name__]
    assert all(r.levelno == logging.DEBUG for r in caplog.records
               if r.name == process_guard.__name__)
    assert "core dumps: could not set RLIMIT_CORE to 0: not allowed here" in messages
    expected = "core dumps: prctl is not available: no libc" if LINUX \
        else "core dumps: prctl(PR_SET_DUMPABLE) exists on Linux only"
    assert expected in messages
