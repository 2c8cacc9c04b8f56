"""The emergency report's headline says exactly what is still open and what could not be
verified; it is the all-clear only when nothing is open, both lists were read back and
no step failed (a report once read "Nothing is left open." above an open position)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from console.domain import Category, Order, OrderStatus, OrderType, Position, Side
from console.domain.reconciliation import Severity
from console.engine.emergency import EmergencyReport, headline, position_text


def order(n: int) -> Order:
    return Order(venue="bybit", account="main", category=Category.LINEAR, symbol="ETHUSDT",
                 side=Side.SELL, type=OrderType.LIMIT, qty=Decimal("0.5"),
                 status=OrderStatus.NEW, client_order_id=f"rc-w1-o-1-{n}",
                 venue_order_id=f"v{n}", price=Decimal("3100"))


def position(symbol: str, size: str) -> Position:
    return Position(venue="bybit", account="main", category=Category.LINEAR, symbol=symbol,
                    size=Decimal(size), entry_price=Decimal("60000"))


def report(**fields: object) -> EmergencyReport:
    base: dict[str, object] = {"operator": "alice", "started_at": 1, "finished_at": 2,
                               "flatten": False, "already_halted": False,
                               "open_orders": (), "open_positions": ()}
    base.update(fields)
    return EmergencyReport(**base)  # type: ignore[arg-type]


def test_an_open_position_is_never_reported_as_nothing_open() -> None:
    """The case that misled: no flatten asked, a position left, the stop otherwise fine."""
    left = report(open_positions=(position("BTCUSDT", "0.010"),))
    line = headline(left)
    assert line.text == "Still open: 1 position (BTCUSDT long 0.01)"
    assert not line.all_clear and line.severity is Severity.WARNING
    assert not left.nothing_open
    assert left.clean  # what was asked was done: the exit code stays 0
    data = json.loads(json.dumps(left.to_dict()))
    assert data["headline"] == line.text and data["nothing_open"] is False


@pytest.mark.parametrize(("fields", "text", "severity"), [
    ({"open_orders": (order(1), order(2)),
      "open_positions": (position("BTCUSDT", "0.01"),), "flatten": True},
     "Still open: 2 orders, 1 position (BTCUSDT long 0.01)", Severity.CRITICAL),
    ({"open_orders": (order(1), order(2)), "open_positions": None},
     "Still open: 2 orders; could not verify positions", Severity.CRITICAL),
    ({"open_positions": None}, "No order left open; could not verify positions",
     Severity.CRITICAL),
    ({"open_orders": None, "open_positions": None},
     "Could not verify orders or positions", Severity.CRITICAL),
    ({"open_positions": (position("SOLUSDT", "-5"),), "errors": ("strategy mm: hung",)},
     "Still open: 1 position (SOLUSDT short 5); 1 step failed (see the errors)",
     Severity.WARNING),
    ({"errors": ("audit x: down", "strategy y: hung")},
     "Nothing is left open: no order, no position; 2 steps failed (see the errors)",
     Severity.WARNING),
    ({"open_positions": tuple(position(s, "1") for s in ("A", "B", "C", "D", "E"))},
     "Still open: 5 positions (A long 1, B long 1, C long 1, 2 more)", Severity.WARNING),
])
def test_the_headline_names_what_is_open_and_what_was_not_verified(
        fields: dict[str, object], text: str, severity: Severity) -> None:
    line = headline(report(**fields))
    assert line.text == text
    assert line.severity is severity
    assert not line.all_clear


def test_only_a_verified_empty_venue_is_the_all_clear() -> None:
    line = headline(report())
    assert line.all_clear and line.severity is Severity.INFO
    assert line.text == "Nothing is left open: no order, no position"
    assert report().nothing_open


def test_position_text_reads_like_a_trader_says_it() -> None:
    assert position_text(position("BTCUSDT", "0.0100")) == "BTCUSDT long 0.01"
    assert position_text(position("ETHUSDT", "-2")) == "ETHUSDT short 2"
    assert position_text(position("XRPUSDT", "0")) == "XRPUSDT flat 0"
