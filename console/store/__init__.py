"""The ledger: SQLAlchemy 2 tables, the `Ledger` repository and its Alembic migrations.

The store satisfies `console.engine.ports.LedgerPort` structurally; it imports only the
domain, `console.errors`, SQLAlchemy, Alembic, platformdirs and the standard library.
"""

from console.store.db import default_ledger_path, mask_url
from console.store.ledger import Ledger

__all__ = ["Ledger", "default_ledger_path", "mask_url"]
