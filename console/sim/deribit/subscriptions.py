"""The private channels a WebSocket session subscribes to, and what each delivers.

Channels (Deribit's names): ``user.orders.{instrument}.{interval}`` and
``user.orders.{kind}.{currency}.{interval}``, the same for ``user.trades`` and
``user.changes``, and ``user.portfolio.{currency}``. Intervals: ``raw`` (one message per
order; needs an authenticated connection, as every ``user.*`` channel here), ``100ms``
and ``agg2`` (the sim sends one message per sim operation: its batch). kind: future or
any (options, spot and combos are not simulated); currency: a served one or any.

Messages are notifications ``{"jsonrpc": "2.0", "method": "subscription", "params":
{"channel", "data"}}``: ``user.orders ... raw`` carries one order, the aggregated
intervals a list of orders; ``user.trades`` a list of trades; ``user.portfolio`` an
account summary; ``user.changes`` ``{"instrument_name", "orders", "trades",
"positions"}`` per instrument.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from console.sim.deribit.views import Views

FAMILIES: Final = ("orders", "trades", "changes")
INTERVALS: Final = ("raw", "100ms", "agg2")
KINDS: Final = ("future", "option", "spot", "future_combo", "option_combo", "any")


@dataclass(frozen=True, slots=True)
class Push:
    """One converted sim event: its kind (order, trade, position, portfolio), the
    instrument it is about ("" for portfolio), its currency and the Deribit record."""

    kind: str
    instrument: str
    currency: str
    record: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Channel:
    name: str
    family: str  # orders, trades, changes, portfolio
    instrument: str | None = None
    kind: str | None = None
    currency: str | None = None  # None: any
    interval: str = "raw"

    def wants(self, push: Push) -> bool:
        if self.family == "portfolio":
            return push.kind == "portfolio" and push.currency == self.currency
        if push.kind == "portfolio":
            return False
        if self.family == "orders" and push.kind != "order":
            return False
        if self.family == "trades" and push.kind != "trade":
            return False
        if self.instrument is not None:
            return push.instrument == self.instrument
        return self.kind in ("future", "any") and (self.currency is None
                                                   or push.currency == self.currency)

    def messages(self, pushes: Sequence[Push]) -> list[object]:
        """The ``data`` of each notification this channel sends for one batch."""
        mine = [push for push in pushes if self.wants(push)]
        if not mine:
            return []
        if self.family == "portfolio":
            return [mine[-1].record]
        if self.family == "orders":
            records = [push.record for push in mine]
            return list(records) if self.interval == "raw" else [records]
        if self.family == "trades":
            return [[push.record for push in mine]]
        grouped: dict[str, dict[str, Any]] = {}
        for push in mine:
            group = grouped.setdefault(push.instrument, {
                "instrument_name": push.instrument, "orders": [], "trades": [],
                "positions": []})
            group[{"order": "orders", "trade": "trades"}.get(push.kind, "positions")].append(
                push.record)
        return list(grouped.values())


def parse(name: object, views: Views) -> Channel | None:
    """The channel `name` names, or None when it is not a private channel served here."""
    if not isinstance(name, str):
        return None
    parts = name.split(".")
    if len(parts) < 3 or parts[0] != "user":
        return None
    family = parts[1]
    if family == "portfolio" and len(parts) == 3:
        currency = parts[2].upper()
        if currency not in views.names.currencies():
            return None
        return Channel(name, "portfolio", currency=currency, interval="raw")
    if family not in FAMILIES or parts[-1] not in INTERVALS:
        return None
    if len(parts) == 4:
        if views.names.instrument(parts[2]) is None:
            return None
        return Channel(name, family, instrument=parts[2], interval=parts[3])
    if len(parts) == 5 and parts[2] in KINDS:
        currency = parts[3].upper()
        if currency != "ANY" and currency not in views.names.currencies():
            return None
        return Channel(name, family, kind=parts[2],
                       currency=None if currency == "ANY" else currency,
                       interval=parts[4])
    return None
