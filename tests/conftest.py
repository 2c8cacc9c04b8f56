"""Session-wide secrets canary (see tests/canary.py): every log record is checked as it is
emitted, and at the end every file under pytest's basetemp; a canary key or secret found
anywhere fails the session, naming the file or record."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from canary import COLLECTED, CanaryLogHandler, Finding, report, scan_tree

_HANDLER = pytest.StashKey[CanaryLogHandler]()
_BASETEMP = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    handler = CanaryLogHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # every record reaches the handler, not just warnings
    config.stash[_HANDLER] = handler
    if config.getoption("log_level") is None and not config.getini("log_level"):
        # ...but pytest's captured-log sections (and caplog) keep showing warnings and up,
        # as before the root went to DEBUG (pytest lowers the root to this, never raises it)
        config.option.log_level = "WARNING"


def _loggers_off_the_root() -> list[logging.Logger]:
    return [logger for logger in logging.root.manager.loggerDict.values()
            if isinstance(logger, logging.Logger) and not logger.propagate]


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Records of a logger that does not propagate never reach the root: attach there too
    (as pytest's own log capture does), for every such logger known when a test starts."""
    handler = item.config.stash[_HANDLER]
    for logger in _loggers_off_the_root():
        logger.addHandler(handler)


@pytest.fixture(scope="session", autouse=True)
def _canary_basetemp(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> None:
    request.config.stash[_BASETEMP] = tmp_path_factory.getbasetemp()


def session_findings(config: pytest.Config) -> list[Finding]:
    """Everything the canary check found in this session so far."""
    handler = config.stash.get(_HANDLER, None)
    basetemp = config.stash.get(_BASETEMP, None)
    return [*(handler.findings if handler else ()), *COLLECTED,
            *(scan_tree(basetemp) if basetemp else ())]


@pytest.hookimpl(tryfirst=True)  # before tmp_path's own clean-up may remove directories
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    findings = session_findings(config)
    handler = config.stash.get(_HANDLER, None)
    if handler is not None:
        for logger in (logging.getLogger(), *_loggers_off_the_root()):
            logger.removeHandler(handler)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("")  # after the progress line
    if not findings:
        if reporter is not None and handler is not None:
            reporter.write_line(f"secrets canary: nothing found ({handler.checked} log records, "
                                f"basetemp {config.stash.get(_BASETEMP, '-')})")
        return
    message = f"secrets canary: the canary API key or secret leaked\n{report(findings)}"
    if reporter is not None:
        reporter.write_line(message, red=True, bold=True)
    else:
        print(message)
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
