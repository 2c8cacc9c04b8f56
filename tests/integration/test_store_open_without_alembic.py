"""A ledger already at the head revision opens without loading alembic (a quarter of a
second of every start); anything else still goes through alembic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text

from console.errors import LedgerError
from console.store import Ledger, db

PROBE = """
import sys
from console.store import Ledger
Ledger.open(sys.argv[1], migrate=sys.argv[2] == "migrate").close()
print(sorted({m.split(".")[0] for m in sys.modules if m.split(".")[0] == "alembic"}))
"""


def test_the_scripts_names_give_the_head_alembic_reads() -> None:
    assert db.shipped_head() == db.head_revision()


@pytest.mark.parametrize("mode", ["migrate", "check"])
def test_a_ledger_at_head_opens_without_alembic(tmp_path: Path, mode: str) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url).close()  # created and migrated (alembic, in this process)
    probe = subprocess.run([sys.executable, "-c", PROBE, url, mode], capture_output=True,
                           text=True, check=True, timeout=60)
    assert probe.stdout.strip() == "[]"


def test_a_ledger_behind_head_is_still_refused_or_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url).close()
    with Ledger.open(url) as ledger, ledger.engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "0005")  # a ledger of an older release
    with pytest.raises(LedgerError, match=r"not migrated .*0005"):
        Ledger.open(url, migrate=False)
    with Ledger.open(url) as ledger, ledger.engine.connect() as conn:
        assert db.current_revision(conn) == db.head_revision()


def test_an_unknown_revision_is_refused_as_a_newer_release(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    Ledger.open(url).close()
    with Ledger.open(url) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(LedgerError, match="unknown to this version"):
        Ledger.open(url)
