"""Alembic environment: online only, on the connection `console.store.db` hands in.

There is no alembic.ini: `console.store.db.run_migrations` builds the Config in code and
puts an open connection (already inside its transaction) in `config.attributes`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

config = context.config
connection = config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "recon-console migrations run through console.store (Ledger.open), "
        "which passes an open connection; offline mode is not supported")

context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
