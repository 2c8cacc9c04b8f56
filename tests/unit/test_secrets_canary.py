"""The secrets canary's checker finds a planted canary in files and log records, in every
form it claims to search, and names where; the session runs with it installed.

Everything planted here lives outside pytest's basetemp and goes through a logger outside
logging's registry: the real session check must not see these plants."""

from __future__ import annotations

import base64
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path

import canary
import pytest
from canary import CANARY_KEY, CANARY_SECRET, CanaryLogHandler, Finding, scan_file, scan_tree


@pytest.fixture
def outside() -> Iterator[Path]:
    """A directory outside basetemp, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="canary-plant-") as where:
        yield Path(where)


@pytest.fixture
def private_log() -> tuple[logging.Logger, CanaryLogHandler]:
    """A logger outside logging's registry: no parent, so no root handler, and neither
    pytest nor the session check attaches to it. The session must never see a plant."""
    handler = CanaryLogHandler()
    logger = logging.Logger("tests.canary.plant", logging.DEBUG)
    logger.addHandler(handler)
    return logger, handler


def test_the_canary_has_the_shape_of_a_bybit_key_and_secret() -> None:
    assert len(CANARY_KEY) == 18 and len(CANARY_SECRET) == 36
    assert CANARY_KEY.isalnum() and CANARY_SECRET.isalnum()


SECRET = CANARY_SECRET.encode()


@pytest.mark.parametrize(("blob", "form"), [
    (b"SQLite format 3\0" + SECRET + b"\0", "canary secret"),
    (b'[profiles.x]\napi_key = "' + CANARY_KEY.encode() + b'"\n', "canary key"),
    (b"\xff\xfe" + CANARY_SECRET.encode("utf-16-le"), "canary secret as UTF-16-LE"),
    (b"blob=" + SECRET.hex().encode() + b";", "canary secret as hex"),
    (b"X'" + SECRET.hex().upper().encode() + b"'", "canary secret as upper-case hex"),
    (base64.b64encode(SECRET), "canary secret as base64 (offset 0)"),
    (b"auth:" + base64.b64encode(b"u:" + SECRET + b"!"), "canary secret as base64 (offset 2)"),
    (b"=" + base64.b64encode(b"k" + SECRET), "canary secret as base64 (offset 1)"),
])
def test_a_planted_file_is_found_and_named(outside: Path, blob: bytes, form: str) -> None:
    wal = outside / "sub" / "ledger.db-wal"
    wal.parent.mkdir()
    wal.write_bytes(b"\0" * 100 + blob + b"\0" * 100)
    (outside / "clean.csv").write_text("symbol,qty\nBTCUSDT,1\n")
    assert scan_tree(outside) == [Finding(str(wal), form)]


def test_a_canary_across_two_read_chunks_is_found(outside: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(canary, "_CHUNK", 64)
    path = outside / "big.log"
    path.write_bytes(b"x" * 50 + SECRET + b"y" * 500)  # straddles the 64-byte boundary
    assert [f.form for f in scan_file(path)] == ["canary secret"]


def test_clean_files_and_a_missing_tree_have_no_findings(outside: Path) -> None:
    (outside / "ledger.db").write_bytes(b"SQLite format 3\0" + b"CANARY" + b"\0" * 4096)
    assert scan_tree(outside) == []
    assert scan_tree(outside / "absent") == []


def test_log_records_are_searched_in_message_arguments_exceptions_and_extras(
        private_log: tuple[logging.Logger, CanaryLogHandler]) -> None:
    logger, handler = private_log
    logger.debug("request headers %s", {"X-BAPI-API-KEY": CANARY_KEY})
    try:
        raise RuntimeError(f"signing with {CANARY_SECRET} failed")
    except RuntimeError:
        logger.exception("order failed")
    logger.info("decoded", extra={"payload": base64.b64encode(SECRET).decode()})
    logger.warning("nothing to see: key hint %s", CANARY_KEY[:4])
    assert handler.checked == 4
    assert [(f.where.split(" (")[0], f.form) for f in handler.findings] == [
        ("log record tests.canary.plant DEBUG", "canary key"),
        ("log record tests.canary.plant ERROR", "canary secret"),
        ("log record tests.canary.plant INFO", "canary secret as base64 (offset 0)"),
    ]
    assert "test_secrets_canary.py:" in handler.findings[0].where


def test_a_record_whose_arguments_do_not_fit_is_still_searched(
        private_log: tuple[logging.Logger, CanaryLogHandler]) -> None:
    logger, handler = private_log
    logger.error("two %s %s", CANARY_SECRET)  # noqa: PLE1206 - a mistake, on purpose
    assert [f.form for f in handler.findings] == ["canary secret"]


def test_the_session_checks_every_record_from_debug_up() -> None:
    root = logging.getLogger()
    [handler] = [h for h in root.handlers if isinstance(h, CanaryLogHandler)]
    assert root.level == logging.DEBUG
    before = handler.checked
    logging.getLogger("console.anything").debug("an ordinary debug line")
    assert handler.checked == before + 1
