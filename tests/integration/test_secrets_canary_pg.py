"""The secrets canary's PostgreSQL check finds a planted canary in a schema's rows (text
and bytea columns) and names the table; the session's own check runs it on every test
schema before the drop (tests/integration/conftest.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from canary import CANARY_KEY, CANARY_SECRET, Finding, scan_pg_schema
from sqlalchemy import Engine, text

pytestmark = pytest.mark.postgres


@pytest.fixture
def schema(pg_admin: Engine) -> Iterator[str]:
    """A schema of its own, outside the `ledger_url` fixture (whose check would report the
    plant as a real leak), dropped afterwards."""
    name = f"recon_canary_{uuid.uuid4().hex[:12]}"
    with pg_admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
        conn.execute(text(f'CREATE TABLE "{name}".notes (id int, body text, raw bytea)'))
        conn.execute(text(f'CREATE TABLE "{name}"."Mixed Case" (body text)'))
    try:
        yield name
    finally:
        with pg_admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))


def test_planted_rows_are_found_and_the_table_named(pg_admin: Engine, schema: str) -> None:
    with pg_admin.begin() as conn:
        conn.execute(text(f'INSERT INTO "{schema}".notes VALUES (1, :body, :raw)'),
                     {"body": "ordinary", "raw": b"\x00" + CANARY_SECRET.encode()})
        conn.execute(text(f'INSERT INTO "{schema}"."Mixed Case" VALUES (:body)'),
                     {"body": f"key={CANARY_KEY}"})
        found = scan_pg_schema(conn, schema)
    assert sorted(found, key=str) == [
        Finding(f"PostgreSQL table {schema}.Mixed Case", "canary key"),
        Finding(f"PostgreSQL table {schema}.notes", "canary secret as hex"),
    ]


def test_a_clean_schema_has_no_findings(pg_admin: Engine, schema: str) -> None:
    with pg_admin.begin() as conn:
        conn.execute(text(f'INSERT INTO "{schema}".notes VALUES (1, :body, :raw)'),
                     {"body": "CANARY", "raw": b"CANARY"})
        assert scan_pg_schema(conn, schema) == []
