"""The ledger reads a program embedding the engine makes on its event loop, as coroutines.

The ledger is synchronous (SQLAlchemy): a read on the loop's thread stalls the stream
consumer, the order manager and the reconciler for as long as the database takes (a
PostgreSQL round trip, a SQLite lock held by another writer). These forms run the same
reads on a worker thread (`asyncio.to_thread`), scoped to the session's (venue, account),
so a bot never has to remember either.
"""

from __future__ import annotations

import asyncio

from console.domain import Balance, Fill, Order, Position
from console.engine.ports import LedgerPort


class LedgerReads:
    """Async reads of one (venue, account) in a ledger: `session.reads`."""

    def __init__(self, ledger: LedgerPort, venue: str, account: str) -> None:
        self.ledger = ledger
        self.venue = venue
        self.account = account

    async def orders(self, *, active_only: bool = False) -> list[Order]:
        """The account's orders (only the live ones with `active_only`)."""
        return await asyncio.to_thread(self.ledger.orders, self.venue, self.account,
                                       active_only)

    async def get_order(self, ident: str) -> Order | None:
        """One order by its ledger identity (`Order.ident`: the client id when it has one)."""
        return await asyncio.to_thread(self.ledger.get_order, self.venue, self.account, ident)

    async def positions(self) -> list[Position]:
        return await asyncio.to_thread(self.ledger.positions, self.venue, self.account)

    async def balances(self) -> list[Balance]:
        return await asyncio.to_thread(self.ledger.balances, self.venue, self.account)

    async def fills(self, *, since: int | None = None, until: int | None = None) -> list[Fill]:
        """Fills with since <= exec_time <= until (either bound may be left open)."""
        return await asyncio.to_thread(self.ledger.fills, self.venue, self.account, since,
                                       until)
