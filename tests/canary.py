"""The session's canary credentials, and the checker that fails the session if they leak.

Every test that needs an API key and secret (the sim front-ends, profiles, keyring round
trips, CLI runs, the credentials dialog) uses `CANARY_KEY` / `CANARY_SECRET`, shaped like a
Bybit key (18 characters) and secret (36), so the sim, pybit and the credential store
accept them as they would a real one. tests/conftest.py then searches everything the
session left behind for them: every log record (message, exception text, extra fields),
every file under pytest's basetemp (ledgers and their -wal files, profile and settings
files, CSV exports, logs) and, through `scan_pg_schema`, each PostgreSQL test schema
before it is dropped. A hit anywhere is a secret that leaked, whichever test caused it.

Imported by name (tests/ is on sys.path, as for the other shared test helpers).
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, text

CANARY_KEY: Final = "CANARYKEY7f3a9c2e1"
CANARY_SECRET: Final = "CANARYSECRETd41d8cd98f00b204e9800998"

_CHUNK: Final = 4 << 20

# What a LogRecord carries of its own; anything else on it came through `extra=`.
_RECORD_FIELDS: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


@dataclass(frozen=True, slots=True)
class Finding:
    """One leak: where the canary was found and in which form."""

    where: str
    form: str

    def __str__(self) -> str:
        return f"{self.where}: {self.form}"


def _base64_forms(label: str, raw: bytes) -> Iterator[tuple[str, bytes]]:
    """`raw` inside a longer base64 stream encodes differently at each of the 3 byte
    offsets; the groups made of `raw`'s bytes only are the same wherever it sits."""
    for offset in range(3):
        padded = b"\0" * offset + raw
        encoded = base64.b64encode(padded)[4 if offset else 0:len(padded) // 3 * 4]
        yield f"{label} as base64 (offset {offset})", encoded
        urlsafe = encoded.translate(bytes.maketrans(b"+/", b"-_"))
        if urlsafe != encoded:
            yield f"{label} as url-safe base64 (offset {offset})", urlsafe


@cache
def needles() -> tuple[tuple[str, bytes], ...]:
    """(form, bytes) for every form searched in bytes: the key and the secret as text
    (UTF-8, UTF-16 both ways), as hex (both cases) and as base64 at every alignment."""
    out: list[tuple[str, bytes]] = []
    for form, needle in text_needles():
        out.append((form, needle.encode()))
    for label, value in (("canary key", CANARY_KEY), ("canary secret", CANARY_SECRET)):
        out += [(f"{label} as UTF-16-LE", value.encode("utf-16-le")),
                (f"{label} as UTF-16-BE", value.encode("utf-16-be"))]
    return tuple(out)


@cache
def text_needles() -> tuple[tuple[str, str], ...]:
    """(form, text) for every form searched in text: as typed, as hex, as base64."""
    out: list[tuple[str, bytes]] = []
    for label, value in (("canary key", CANARY_KEY), ("canary secret", CANARY_SECRET)):
        raw = value.encode()
        out += [(label, raw), (f"{label} as hex", raw.hex().encode()),
                (f"{label} as upper-case hex", raw.hex().upper().encode())]
        out += _base64_forms(label, raw)
    return tuple((form, needle.decode("ascii")) for form, needle in out)


def find_in_bytes(data: bytes) -> list[str]:
    """The forms of the canary that occur in `data`."""
    return [form for form, needle in needles() if needle in data]


def find_in_text(text: str) -> list[str]:
    """The forms of the canary that occur in `text`."""
    return [form for form, needle in text_needles() if needle in text]


def scan_file(path: Path) -> list[Finding]:
    """Read `path` in chunks that overlap by the longest needle, so no hit straddles two."""
    overlap = max(len(n) for _, n in needles()) - 1
    found: dict[str, None] = {}
    tail = b""
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            window = tail + chunk
            found.update(dict.fromkeys(find_in_bytes(window)))
            tail = window[-overlap:]
    return [Finding(str(path), form) for form in found]


def scan_tree(root: Path) -> list[Finding]:
    """Every regular file under `root` (symbolic links are not followed)."""
    findings: list[Finding] = []
    if not root.is_dir():
        return findings
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            try:
                findings += scan_file(path)
            except OSError as exc:  # a file that vanished or cannot be read is reported too
                findings.append(Finding(str(path), f"unreadable, not checked ({exc})"))
    return findings


def record_texts(record: logging.LogRecord, formatter: logging.Formatter) -> Iterator[str]:
    """What a log record can put in a log: the formatted line (message, exception and
    stack text) and every `extra=` field."""
    try:
        yield formatter.format(record)
    except (TypeError, ValueError, KeyError):  # arguments that do not fit the message
        yield f"{record.msg!r} % {record.args!r}"
        if record.exc_info:
            yield formatter.formatException(record.exc_info)
    for name, value in vars(record).items():
        if name not in _RECORD_FIELDS:
            yield f"{name}={value!r}"


class CanaryLogHandler(logging.Handler):
    """Checks each record as it is emitted and keeps only the findings: a whole session's
    DEBUG records would not fit in memory, and a record's arguments may change later."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.findings: list[Finding] = []
        self.checked = 0
        self._guard = threading.local()

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(self._guard, "busy", False):  # formatting that logs must not recurse
            return
        self._guard.busy = True
        try:
            formatter = self.formatter or logging.Formatter()
            forms = {form for text in record_texts(record, formatter)
                     for form in find_in_text(text)}
            self.checked += 1
            where = f"log record {record.name} {record.levelname} ({record.pathname}:" \
                    f"{record.lineno})"
            self.findings += [Finding(where, form) for form in sorted(forms)]
        finally:
            self._guard.busy = False


def scan_pg_schema(connection: Connection, schema: str) -> list[Finding]:
    """Every row of every table of `schema`, as PostgreSQL renders the row as text:
    bytea columns come out as hex, which is searched too."""
    tables = [str(row[0]) for row in connection.execute(text(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = :schema AND table_type = 'BASE TABLE' ORDER BY table_name"),
        {"schema": schema})]
    findings: list[Finding] = []
    for table in tables:
        quoted = '"{}"."{}"'.format(schema.replace('"', '""'), table.replace('"', '""'))
        forms: dict[str, None] = {}
        for (row,) in connection.execute(text(f"SELECT t::text FROM {quoted} AS t")):
            forms.update(dict.fromkeys(find_in_text(str(row))))
        findings += [Finding(f"PostgreSQL table {schema}.{table}", form) for form in forms]
    return findings


# Findings from fixtures that check stores outside basetemp (PostgreSQL schemas, which are
# dropped before the session ends); tests/conftest.py reports them with the rest.
COLLECTED: list[Finding] = []


def report(findings: Iterable[Finding]) -> str:
    return "\n".join(f"  {finding}" for finding in findings)


STRANGER_LOGGERS: Final = ("ccxt", "urllib3")
"""Third-party clients the sim tests drive as a stranger would: ccxt logs every request at
DEBUG with its headers (the API key among them), urllib3 every request line (Deribit's
public/auth carries the client secret in its query)."""


@contextmanager
def quiet_stranger_loggers(names: Iterable[str] = STRANGER_LOGGERS) -> Iterator[None]:
    """Hold those clients' loggers at INFO while a test drives them: their DEBUG records
    would hold the canary by the clients' own doing, not ours (our connectors hold ccxt
    at WARNING themselves, console.venues.binance.client)."""
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)
