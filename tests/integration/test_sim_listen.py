"""`recon-console sim` listens on loopback unless told otherwise in so many words, says
clearly when it cannot listen, and the CLI process never dumps core (it holds secrets)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from console.errors import ConfigError
from console.sim.server import check_listen_host


def _sim(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "console", "sim", "--port", "0", *args],
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(("host", "want"), [("127.0.0.1", "127.0.0.1"), ("::1", "::1"),
                                            ("[::1]", "::1"), ("localhost", "127.0.0.1"),
                                            ("127.0.0.2", "127.0.0.2")])
def test_loopback_hosts_are_accepted(host: str, want: str) -> None:
    assert check_listen_host(host) == want


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "10.0.0.1"])
def test_hosts_beyond_this_machine_need_allow_remote(host: str) -> None:
    with pytest.raises(ConfigError, match="--allow-remote"):
        check_listen_host(host)
    assert check_listen_host(host, allow_remote=True)


def test_every_interface_is_refused_from_the_cli_without_a_traceback() -> None:
    result = _sim("--host", "0.0.0.0")
    assert result.returncode == 1
    assert "refusing to listen on every interface" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (("--host", "no such host"), "is not an IP address"),
    (("--host", "192.0.2.1", "--allow-remote"), "cannot listen on 192.0.2.1"),
])
def test_an_unusable_host_gives_a_clear_error(args: tuple[str, ...], message: str) -> None:
    result = _sim(*args)
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_the_cli_process_cannot_dump_core() -> None:
    code = ("import resource; from console.__main__ import main; main(['scenarios']); "
            "print('core', resource.getrlimit(resource.RLIMIT_CORE))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True, env={"PATH": "/usr/bin:/bin"})
    assert "core (0, 0)" in result.stdout
