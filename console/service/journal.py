"""Log lines for journald: "<N>logger: message" on stderr, N the syslog priority.

sd-daemon(3): a line on a service's stderr that starts with "<N>" is stored at priority N
(3 error, 4 warning, 6 info, 7 debug); journald stamps the time itself, so the line has
none. Used when JOURNAL_STREAM is set (systemd connected stderr to the journal) or stderr
is not a terminal (a supervisor or a pipe reads it); a terminal keeps the readable format.
Secrets never reach a log record in the first place (the credential store and connectors
scrub them); this module formats, it does not filter.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import IO

from console.domain.text import iso_utc

HUMAN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class HumanFormatter(logging.Formatter):
    """The readable format for a terminal, its time ISO 8601 in UTC with its zone
    ("2026-12-05T10:30:48.405Z"): a log time without a zone is a guess, and UTC is what
    the audit log, the run listings and the journal's own export show."""

    def __init__(self) -> None:
        super().__init__(HUMAN_FORMAT)

    def formatTime(self, record: logging.LogRecord,
                   datefmt: str | None = None) -> str:
        del datefmt
        return iso_utc(round(record.created * 1000))


def syslog_priority(levelno: int) -> int:
    if levelno >= logging.CRITICAL:
        return 2
    if levelno >= logging.ERROR:
        return 3
    if levelno >= logging.WARNING:
        return 4
    if levelno >= logging.INFO:
        return 6
    return 7


class JournalFormatter(logging.Formatter):
    """Every line of a record (a traceback too) carries the record's priority, so a
    multi-line record is not split into lines of the default priority."""

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.splitlines() or [""])


def wants_journal_format(stream: IO[str], environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    if env.get("JOURNAL_STREAM"):
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return not (isatty is not None and isatty())
    except ValueError:  # a closed stream
        return True


def log_formatter(stream: IO[str], environ: Mapping[str, str] | None = None) -> logging.Formatter:
    """The formatter for log lines written to `stream` (normally stderr)."""
    if wants_journal_format(stream, environ):
        return JournalFormatter("%(name)s: %(message)s")
    return HumanFormatter()
